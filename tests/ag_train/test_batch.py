"""The batch section: one global step, the same on any number of processes; bad splits are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ag_train.errors import RecipeError
from ag_train.recipe import load_recipe
from ag_train.train import plan

ROOT = Path(__file__).resolve().parents[2]
GPU_RECIPES = [r for r in sorted((ROOT / "recipes" / "grpo").glob("*.yaml")) if r.stem != "tiny-cpu"]


def _step(config, processes: int) -> int:
    return config.per_device_train_batch_size * processes * config.gradient_accumulation_steps


@pytest.mark.parametrize("processes, per_device, accumulation", [(1, 8, 16), (4, 8, 4), (8, 8, 2), (16, 8, 1),
                                                                  (32, 4, 1)])
def test_the_same_recipe_trains_four_prompts_of_32_on_any_number_of_gpus(processes, per_device, accumulation):
    c = plan(ROOT / "recipes/grpo/qwen3-4b-lua.yaml", load_data=False, strict_data=False, processes=processes).config
    assert (c.per_device_train_batch_size, c.gradient_accumulation_steps) == (per_device, accumulation)
    assert _step(c, processes) == 128 and c.num_generations == 32 and c.generation_batch_size == 128


@pytest.mark.parametrize("path", GPU_RECIPES, ids=[p.stem for p in GPU_RECIPES])
def test_every_gpu_recipe_states_the_global_batch(path):
    recipe = load_recipe(path)
    assert recipe.batch.prompts_per_step == 4 and recipe.batch.generations_per_prompt == 32
    for processes in (1, 8):
        assert _step(plan(recipe, load_data=False, strict_data=False, processes=processes).config, processes) == 128


def test_a_launch_the_batch_cannot_divide_among_stops_with_the_numbers_and_the_fix():
    recipe = load_recipe(ROOT / "recipes/grpo/qwen3-4b-lua.yaml")
    with pytest.raises(RecipeError, match=r"4 prompts x 32 generations = 128 completions per step cannot be shared "
                                          r"equally among 3 processes.*divides 128 \(1, 2, 4, 8, 16, 32, 64, 128\)"
                                          r".*batch.prompts_per_step to a multiple of 3"):
        plan(recipe, load_data=False, strict_data=False, processes=3)


def test_micro_batches_are_the_largest_that_divide_a_share(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model: tiny\ndataset: ag-mbpp-x\nlanguages: [lua]\ngrpo: {use_cpu: true}\n"
                    "batch: {prompts_per_step: 3, generations_per_prompt: 8, max_per_device: 8}\n")
    c = plan(path, load_data=False, strict_data=False, processes=2).config  # 12 per process: 6 x 2
    assert (c.per_device_train_batch_size, c.gradient_accumulation_steps) == (6, 2)


def test_batch_fields_in_grpo_next_to_a_batch_section_are_refused():
    with pytest.raises(RecipeError, match="drop grpo.gradient_accumulation_steps and set batch"):
        load_recipe(ROOT / "recipes/grpo/qwen3-4b-lua.yaml", ["grpo.gradient_accumulation_steps=2"])


def test_dry_run_prints_the_batch_for_the_number_of_processes_given(tmp_path):
    from agnostics.cli import main

    result = CliRunner().invoke(main, ["train", str(ROOT / "recipes/grpo/qwen3-4b-lua.yaml"), "--dry-run",
                                       "--num-processes", "4", "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    batch = result.output.split("batch:\n", 1)[1]
    for line in ("processes: 4", "prompts_per_step: 4", "completions_per_step: 128",
                 "per_device_train_batch_size: 8", "gradient_accumulation_steps: 4"):
        assert f"  {line}\n" in batch
    result = CliRunner().invoke(main, ["train", str(ROOT / "recipes/grpo/qwen3-4b-lua.yaml"), "--dry-run",
                                       "--num-processes", "6"])
    assert result.exit_code != 0 and "among 6 processes" in result.output
