"""GRPO end to end on the CPU: the tiny model, a few problems in Lua and Python, real sandboxed rewards."""

from __future__ import annotations

import json

import pytest

from ag_train.demo import tiny_recipe_path
from ag_train.recipe import load_recipe
from ag_train.rewards import VerifierReward
from ag_train.train import train

from .conftest import SOLUTIONS


class ProgramOfChoiceReward(VerifierReward):
    """The verifier reward, judging a known program chosen by the completion's length instead of the
    tiny model's noise: an even length gets the problem's solution, an odd one a wrong program, so
    rewards vary within a group and GRPO has a gradient. Verdicts come from the real sandbox."""

    def jobs(self, completions, columns):
        jobs = super().jobs(completions, columns)
        for job, completion in zip(jobs, completions):
            key = ("sum" if job.id.startswith("sum") else "double", job.language)
            job.code, job.completion = (SOLUTIONS[key] if len(str(completion)) % 2 == 0 else "print(0)\n"), None
        return jobs


def test_tiny_recipe_trains_checkpoints_and_resumes(tmp_path, tiny_dataset, requires):
    requires("lua")
    requires("python")
    out = tmp_path / "run"
    recipe = load_recipe(tiny_recipe_path(), [f"dataset={tiny_dataset}", "grpo.max_steps=2", "grpo.save_steps=2",
                                              "eval.every_n_steps=1", "eval.num_problems=1"])
    reward = ProgramOfChoiceReward("io_pass", workers=2)
    first = train(recipe, output_dir=out, reward_funcs=[reward])
    assert first.global_step == 2
    assert len(first.rewards) == 2 and all(0.0 <= r <= 1.0 for r in first.rewards)
    assert (out / "checkpoint-2" / "trainer_state.json").is_file()
    logged = [h for h in first.log_history if "reward" in h]
    assert all("verdicts/pass" in h and "reward/latency_s" in h for h in logged)
    # Both outcomes were judged in the sandbox: passes and wrong outputs.
    assert sum(h["verdicts/pass"] for h in logged) > 0 and sum(h["verdicts/wrong_output"] for h in logged) > 0
    for h in logged:  # a group with differing rewards moves the weights
        assert h["frac_reward_zero_std"] == 1.0 or h["grad_norm"] > 0
    assert any("eval_pass@1" in h for h in first.log_history)
    results = json.loads((out / "pass_at_1.json").read_text())
    assert set(results["before"]["by_language"]) == {"lua", "python"}
    assert results["after"]["pass@1"] is not None
    card = (out / "README.md").read_text()
    assert "| lua |" in card and "base_model: tiny" in card

    resumed = train(recipe, ["grpo.max_steps=3"], output_dir=out, resume=True, reward_funcs=[reward])
    assert resumed.global_step == 3
    steps = [h["step"] for h in resumed.log_history if "reward" in h]
    assert steps == [1, 2, 3]  # the resumed run continued the first one's history
    assert (out / "checkpoint-3").is_dir()
    assert json.loads((out / "pass_at_1.json").read_text())["before"] == results["before"]


def test_demo_reports_one_mean_reward_per_step(tmp_path, tiny_dataset, requires):
    requires("lua")
    requires("python")
    from ag_train.demo import tiny_grpo_demo

    rewards = tiny_grpo_demo(tmp_path / "demo", steps=2, dataset=tiny_dataset)
    assert len(rewards) == 2 and all(r == 0.0 for r in rewards)  # random weights write no programs


@pytest.mark.parametrize("local_world_size", ["1", "2", "8"])
def test_reward_workers_share_the_node_among_its_training_processes(monkeypatch, local_world_size):
    from ag_eval.engine import default_workers
    from ag_train.train import _reward_functions

    monkeypatch.setenv("LOCAL_WORLD_SIZE", local_world_size)
    recipe = load_recipe(tiny_recipe_path(), ["reward.workers=null"])
    assert _reward_functions(recipe)[0].workers == max(1, default_workers() // int(local_world_size))
    assert _reward_functions(load_recipe(tiny_recipe_path(), ["reward.workers=3"]))[0].workers == 3
