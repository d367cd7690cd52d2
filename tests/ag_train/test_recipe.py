"""Recipes: every shipped one resolves into a GRPOConfig; precedence and unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from trl import GRPOConfig

from ag_train.errors import RecipeError
from ag_train.recipe import load_recipe, parse_value
from ag_train.train import plan

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes" / "grpo").glob("*.yaml"))
PAPER = [r for r in RECIPES if r.stem.startswith("qwen3-") and not r.stem.endswith("multi")]


def test_the_papers_recipes_are_all_shipped():
    names = {r.stem for r in RECIPES}
    for size in ("4b", "8b"):
        for language in ("lua", "julia", "r", "ocaml", "fortran"):
            assert f"qwen3-{size}-{language}" in names
    assert {"deepseek-coder-6.7b-instruct-lua", "phi-4-mini-instruct-lua", "smollm3-3b-lua", "qwen3-4b-multi",
            "tiny-cpu"} <= names


@pytest.mark.parametrize("path", RECIPES, ids=[r.stem for r in RECIPES])
def test_every_shipped_recipe_dry_runs_into_a_grpo_config(path, tiny_dataset, tmp_path):
    from agnostics.cli import main

    args = ["train", str(path), "--dry-run", "--output-dir", str(tmp_path / "run")]
    if path.stem == "tiny-cpu":
        args.append(f"dataset={tiny_dataset}")  # keep the test off the embedded build
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "dry run: the recipe resolves to a valid GRPOConfig" in result.output
    p = plan(path, [f"dataset={tiny_dataset}"] if path.stem == "tiny-cpu" else [], load_data=False, strict_data=False)
    assert isinstance(p.config, GRPOConfig)


@pytest.mark.parametrize("path", PAPER, ids=[p.stem for p in PAPER])
def test_paper_recipes_keep_the_papers_settings(path):
    c = plan(path, load_data=False, strict_data=False).config
    assert c.learning_rate == 5e-6 and str(c.lr_scheduler_type.value) == "cosine" and c.warmup_steps == 0.1
    assert c.num_generations == 32 and c.temperature == 0.7 and c.top_p == 0.95
    assert c.bf16 and c.model_init_kwargs == {"dtype": "float32"}  # bf16 compute over fp32 weights
    assert c.max_completion_length == 1024 and c.beta == 0.0 and c.num_train_epochs == 1 and c.max_grad_norm == 1.0
    assert c.generation_batch_size == 128  # 4 prompts x 32 completions per optimizer step (one process)
    assert c.use_vllm and c.vllm_mode in ("colocate", "server")


def test_precedence_defaults_then_yaml_then_command_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model: tiny\ndataset: ag-mbpp-x\nlanguages: [lua]\ngrpo: {learning_rate: 5.0e-6, seed: 3}\n")
    recipe = load_recipe(path, ["grpo.learning_rate=1e-5", "languages=lua,python", "eval.every_n_steps=7"])
    assert recipe.grpo == {"learning_rate": 1e-5, "seed": 3}
    assert recipe.languages == ["lua", "python"] and recipe.eval.every_n_steps == 7
    assert recipe.eval.split == "test" and recipe.reward.name == "io_pass"      # defaults
    config = plan(recipe, ["grpo.use_cpu=true"], load_data=False, strict_data=False).config
    assert config.learning_rate == 1e-5 and config.seed == 3
    assert config.num_generations == GRPOConfig(output_dir=str(tmp_path), use_cpu=True).num_generations  # TRL's


@pytest.mark.parametrize("override, message", [
    ("grpo.learnin_rate=1", "did you mean learning_rate"),
    ("evals.split=test", "valid keys are batch, config, dataset, description, eval"),
    ("eval.splt=test", "valid keys are batch_size, before_after"),
    ("reward.bonus=1", "valid keys are compile_error_penalty"),
    ("languages", "is not key=value"),
    ("a.b.c=1", "at most one level deep"),
])
def test_unknown_or_malformed_keys_are_fatal_with_the_valid_names(tmp_path, override, message):
    path = tmp_path / "r.yaml"
    path.write_text("model: tiny\ndataset: ag-mbpp-x\nlanguages: [lua]\n")
    with pytest.raises(RecipeError, match=message):
        load_recipe(path, [override])


def test_command_line_values_read_as_yaml_with_exponents_as_numbers():
    assert parse_value("1e-5") == 1e-5 and parse_value("3") == 3 and parse_value("true") is True
    assert parse_value("[lua, r]") == ["lua", "r"] and parse_value("cosine") == "cosine"


def test_unknown_language_and_missing_recipe_are_one_line_errors(tmp_path):
    from agnostics.cli import main

    result = CliRunner().invoke(main, ["train", str(RECIPES[0]), "--dry-run", "languages=klingon"])
    assert result.exit_code != 0 and "unknown language 'klingon'" in result.output
    result = CliRunner().invoke(main, ["train", str(tmp_path / "none.yaml")])
    assert result.exit_code != 0 and "does not exist" in result.output
