"""pass@1 of a model through the verifier: generate with ``transformers`` (the evaluation harness's
loop, :func:`ag_harness.backends.hf_backend.generate_chats`), judge with ``ag_eval``.

:class:`PassAtOneCallback` measures it before and after training (written to the run
folder) and every N training steps on a held-out split. With several processes each rank
generates for its own share of the problems and the counts are gathered.

Every rank makes the same number of ``generate`` calls: under ZeRO-3 or FSDP transformers
generates with ``synced_gpus=True``, where each decoding step is a collective, so a rank with
one call fewer would meet another rank's decoding step with its own gather and hang. A share
shorter than the longest is padded with copies of a row whose completions are dropped.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


def judge(rows: list[dict[str, Any]], completions: list[list[str]], *, workers: int | None = None,
          verifier_url: Any = None, dedupe: bool = True) -> dict[str, Any]:
    """Raw counts from verifying each row's completions: per language, passes and samples.
    ``verifier_url``: a verifier service to judge on (see :func:`ag_eval.engine.iter_verify`);
    ``dedupe=False`` judges every copy of an identical program."""
    from ag_eval.engine import verify_many

    from .rewards import row_job

    jobs, owners = [], []
    for i, (row, samples) in enumerate(zip(rows, completions)):
        for j, text in enumerate(samples):
            jobs.append(row_job(row, text, f"{row['problem_id']}#{j}"))
            owners.append(i)
    results = verify_many(jobs, workers=workers, fail_fast=True, dedupe=dedupe, verifier_url=verifier_url)
    counts: dict[str, Any] = {"languages": {}, "verdicts": Counter()}
    per_row: dict[int, list[bool]] = {}
    for owner, result in zip(owners, results):
        counts["verdicts"][result.verdict.value] += 1
        if result.verdict.value == "sandbox_error":
            continue  # the verifier's fault: never counted as the model's failure
        per_row.setdefault(owner, []).append(result.ok)
    for owner, oks in per_row.items():
        lang = counts["languages"].setdefault(rows[owner]["language"], {"problems": 0, "pass_sum": 0.0})
        lang["problems"] += 1
        lang["pass_sum"] += sum(oks) / len(oks)
    return counts


def summarize(counts_list: list[dict[str, Any]]) -> dict[str, Any]:
    """pass@1 overall and per language from the counts of every rank."""
    languages: dict[str, dict[str, float]] = {}
    verdicts: Counter = Counter()
    for counts in counts_list:
        verdicts.update(counts["verdicts"])
        for lang, c in counts["languages"].items():
            acc = languages.setdefault(lang, {"problems": 0, "pass_sum": 0.0})
            acc["problems"] += c["problems"]
            acc["pass_sum"] += c["pass_sum"]
    by_language = {lang: round(c["pass_sum"] / c["problems"], 6) for lang, c in sorted(languages.items()) if c["problems"]}
    total = sum(c["problems"] for c in languages.values())
    overall = round(sum(c["pass_sum"] for c in languages.values()) / total, 6) if total else None
    return {"pass@1": overall, "by_language": by_language,
            "problems": {lang: int(c["problems"]) for lang, c in sorted(languages.items())},
            "verdicts": dict(sorted(verdicts.items()))}


def share_rows(rows: list[dict[str, Any]], rank: int, world: int) -> tuple[list[dict[str, Any]], int]:
    """This rank's rows (``rows[rank::world]``) padded to the longest share, and how many are real.

    Every rank gets ``ceil(len(rows) / world)`` rows, so every rank makes the same number of
    ``generate`` calls; the padding copies the first row and its completions are dropped.
    """
    if world <= 1 or not rows:
        return list(rows), len(rows)
    mine = list(rows[rank::world])
    longest = -(-len(rows) // world)
    return mine + [rows[0]] * (longest - len(mine)), len(mine)


def evaluate_pass_at_1(model, tokenizer, rows: list[dict[str, Any]], *, max_new_tokens: int, temperature: float = 0.0,
                       num_samples: int = 1, batch_size: int = 8, accelerator=None,
                       chat_template_kwargs: dict[str, Any] | None = None, workers: int | None = None,
                       synced_gpus: bool | None = None, verifier_url: Any = None,
                       dedupe: bool = True) -> dict[str, Any]:
    """pass@1 of ``model`` on view rows; with an ``accelerator`` the rows are shared among ranks."""
    from ag_harness.backends.hf_backend import generate_chats

    started = time.monotonic()
    distributed = accelerator is not None and accelerator.num_processes > 1
    if distributed:
        padded, real = share_rows(rows, accelerator.process_index, accelerator.num_processes)
    else:
        padded, real = list(rows), len(rows)
    mine = padded[:real]
    was_training = model.training
    model.eval()
    try:
        completions = generate_chats(model, tokenizer, [r["prompt"] for r in padded], max_new_tokens=max_new_tokens,
                                     temperature=temperature, num_samples=num_samples, batch_size=batch_size,
                                     chat_template_kwargs=chat_template_kwargs, synced_gpus=synced_gpus)
    finally:
        if was_training:
            model.train()
    counts = judge(mine, completions[:real], workers=workers, verifier_url=verifier_url, dedupe=dedupe)
    if distributed:
        from accelerate.utils import gather_object

        all_counts = gather_object([counts])
    else:
        all_counts = [counts]
    summary = summarize(all_counts)
    summary["seconds"] = round(time.monotonic() - started, 2)
    return summary


class PassAtOneCallback(TrainerCallback):
    """pass@1 through the verifier while training.

    - every ``every_n_steps`` optimizer steps on ``rows`` (a held-out split), logged as
      ``eval_pass@1`` and ``eval_pass@1/<language>``;
    - on ``final_rows`` when training begins (step 0 only: a resumed run keeps its first
      measurement) and when it ends: :attr:`before` and :attr:`after`.

    Both generate with the trained model through TRL's ``unwrap_model_for_generation``, which
    gathers the weights only under DeepSpeed ZeRO-3; under FSDP each forward pass gathers its
    layers' shards, so every rank takes part in every call (see the module docstring). Call
    :meth:`attach` with the trainer once it exists.
    """

    def __init__(self, rows: list[dict[str, Any]] | None = None, *, every_n_steps: int = 0, max_new_tokens: int,
                 final_rows: list[dict[str, Any]] | None = None, temperature: float = 0.0, num_samples: int = 1,
                 batch_size: int = 8, workers: int | None = None, verifier_url: Any = None, dedupe: bool = True):
        self.rows = rows or []
        self.final_rows = final_rows or []
        self.every_n_steps = every_n_steps
        self.options = dict(max_new_tokens=max_new_tokens, temperature=temperature, num_samples=num_samples,
                            batch_size=batch_size, workers=workers, verifier_url=verifier_url, dedupe=dedupe)
        self.trainer = None
        self.history: list[dict[str, Any]] = []
        self.before: dict[str, Any] | None = None
        self.after: dict[str, Any] | None = None

    def attach(self, trainer) -> "PassAtOneCallback":
        self.trainer = trainer
        return self

    def _evaluate(self, rows: list[dict[str, Any]], args) -> dict[str, Any]:
        from trl.models.utils import unwrap_model_for_generation

        trainer = self.trainer
        with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator) as model:
            return evaluate_pass_at_1(model, trainer.processing_class, rows, accelerator=trainer.accelerator,
                                      chat_template_kwargs=args.chat_template_kwargs, **self.options)

    def on_train_begin(self, args, state, control, **kwargs):
        if self.trainer is not None and self.final_rows and state.global_step == 0:
            self.before = self._evaluate(self.final_rows, args)
            logger.info("pass@1 before training: %s %s", self.before["pass@1"], self.before["by_language"])
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.trainer is not None and self.final_rows:
            self.after = self._evaluate(self.final_rows, args)
            logger.info("pass@1 after training: %s %s", self.after["pass@1"], self.after["by_language"])
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.trainer is None or not self.rows or self.every_n_steps <= 0:
            return control
        if state.global_step == 0 or state.global_step % self.every_n_steps:
            return control
        trainer = self.trainer
        summary = self._evaluate(self.rows, args)
        logs = {"eval_pass@1": summary["pass@1"]}
        logs.update({f"eval_pass@1/{lang}": v for lang, v in summary["by_language"].items()})
        # Logged with the model in eval mode, as Trainer.evaluate does: the trainer's pending
        # training metrics stay for this step's regular training log, which logging here must
        # not cancel (on_log clears should_log).
        should_log = control.should_log
        was_training = trainer.model.training
        trainer.model.eval()
        try:
            trainer.log(logs)
        finally:
            trainer.model.train(was_training)
            control.should_log = trainer.control.should_log = should_log
        self.history.append({"step": state.global_step, **summary})
        logger.info("step %d: pass@1 %s %s", state.global_step, summary["pass@1"], summary["by_language"])
        return control
