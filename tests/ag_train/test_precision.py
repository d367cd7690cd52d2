"""One optimizer step at the recipes' learning rate changes essentially every weight: the GPU recipes keep
fp32 weights (bf16 compute), so AdamW's small updates are not rounded away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ag_train.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("one_step.py")
GPU_RECIPES = [r for r in sorted((ROOT / "recipes" / "grpo").glob("*.yaml")) if r.stem != "tiny-cpu"]
PRECISION_KEYS = ("bf16", "fp16", "model_init_kwargs", "learning_rate", "optim", "tf32")


def _precision(path: Path) -> str:
    grpo = load_recipe(path).grpo
    return json.dumps({k: grpo.get(k) for k in PRECISION_KEYS}, sort_keys=True)


# One recipe per distinct precision setting (model size does not matter to rounding).
DISTINCT = list({_precision(p): p for p in GPU_RECIPES}.values())
# accelerate runs DeepSpeed and FSDP only on GPUs; the launch configurations without them run here.
CONFIGS = [c for c in sorted((ROOT / "recipes" / "accelerate").glob("*.yaml"))
           if yaml.safe_load(c.read_text())["distributed_type"] == "NO"]


def test_a_launch_configuration_runs_on_the_cpu():
    assert [c.name for c in CONFIGS] == ["single-gpu.yaml"]


@pytest.mark.parametrize("path", GPU_RECIPES, ids=[p.stem for p in GPU_RECIPES])
def test_gpu_recipes_load_fp32_weights_and_compute_in_bf16(path):
    grpo = load_recipe(path).grpo
    assert grpo["bf16"] is True and grpo["model_init_kwargs"].get("dtype", "float32") == "float32"


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
@pytest.mark.parametrize("recipe", DISTINCT, ids=[p.stem for p in DISTINCT])
def test_one_step_at_the_recipes_learning_rate_changes_essentially_every_weight(config, recipe, tiny_dataset, tmp_path):
    result = tmp_path / "result.json"
    accelerate = Path(sys.executable).with_name("accelerate")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    run = subprocess.run([str(accelerate), "launch", "--config_file", str(config), str(WORKER), str(recipe),
                          str(tiny_dataset), str(tmp_path / "run"), str(result)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    outcome = json.loads(result.read_text())
    assert outcome["mixed_precision"] == "bf16" and outcome["dtypes"] == ["torch.float32"]
    assert outcome["changed"] > 0.95, outcome  # bf16 weights: about 8%
