"""Run under ``accelerate launch --config_file CONFIG``: one GRPO step of a shipped recipe on the tiny
model (CPU), and which share of the trainable weights it changed.

The recipe keeps its precision settings (``bf16``, ``model_init_kwargs``) and learning rate; only
what makes it small changes: the tiny model, a few problems, short completions, no vLLM, one step
without warm-up. Rank 0 writes ``{"changed": share, "dtypes": [...], "distributed_type": ..., "mixed_precision": ...}``
to ``argv[4]``.

    accelerate launch --config_file CONFIG one_step.py RECIPE DATASET OUTPUT_DIR RESULT.json
"""

from __future__ import annotations

import json
import random
import sys


def main(recipe: str, dataset: str, output_dir: str, result_path: str) -> None:
    import torch
    from transformers import TrainerCallback

    from ag_train.train import train

    def local(t):
        return t.to_local() if hasattr(t, "to_local") else t

    class Changed(TrainerCallback):
        """The trainable weights before the first step, compared after it."""

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.before = {n: local(p).detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}
            self.dtypes = sorted({str(local(p).dtype) for p in model.parameters()})
            from accelerate.state import AcceleratorState

            state = AcceleratorState()
            self.setup = {"distributed_type": str(state.distributed_type).split(".")[-1],
                          "mixed_precision": str(state.mixed_precision), "processes": state.num_processes}

        def on_step_end(self, args, state, control, model=None, **kwargs):
            changed = total = 0
            for n, p in model.named_parameters():
                if n in self.before:
                    changed += int((local(p).detach().float() != self.before[n]).sum())
                    total += self.before[n].numel()
            counts = torch.tensor([changed, total], dtype=torch.float64)
            if torch.distributed.is_initialized():
                torch.distributed.all_reduce(counts)
            self.changed = float(counts[0] / counts[1])

    def random_reward(completions, **kwargs):
        return [random.random() for _ in completions]

    random.seed(0)
    changed = Changed()
    overrides = ["model=tiny", f"dataset={dataset}", "config=null", "languages=python", "max_problems=2",
                 "grpo.use_cpu=true", "grpo.use_vllm=false", "grpo.max_steps=1", "grpo.warmup_steps=0",
                 "grpo.max_completion_length=8", "grpo.log_completions=false", "grpo.save_strategy='no'",
                 "eval.every_n_steps=0", "eval.before_after=false", "batch.prompts_per_step=2",
                 "batch.generations_per_prompt=2", "batch.max_per_device=4"]
    outcome = train(recipe, overrides, output_dir=output_dir, reward_funcs=[random_reward], callbacks=[changed])
    if outcome.is_main_process:
        with open(result_path, "w") as f:
            json.dump({"changed": changed.changed, "dtypes": changed.dtypes, **changed.setup}, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
