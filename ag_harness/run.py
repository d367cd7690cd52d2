"""One evaluation run: generate, verify while generating, stream samples, summarise.

    from ag_harness import EvalConfig, run_eval
    summary = run_eval(EvalConfig(model="Qwen/Qwen3-4B", dataset="ag-livecodebench-x",
                                  languages=["lua"], out_dir="runs/qwen3-4b"))

The main thread drives the backend; every finished request's completions are stored at
once and handed to the verifier (:mod:`.verifier`: the verifier's scheduler, on threads,
processes or Ray), so the sandbox works while the model generates. A rerun with the same
folder resumes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ag_eval.progress import Progress

from .backends import Backend, GenRequest, SamplingSpec, get_backend
from .config import EvalConfig
from .multiple import is_multiple, multiple_tasks
from .store import RunStore, SampleKey, now
from .summary import write_summary
from .tasks import Task, agnostics_tasks
from .verifier import Verifier, remote_verifier_of, sample_row  # noqa: F401  (sample_row: the samples.jsonl line, for callers)

logger = logging.getLogger(__name__)


def plan(tasks: list[Task], n: int, verified: set[SampleKey], completions: dict[SampleKey, str], seed: int):
    """What is left: completions to verify only, and generation requests for the rest."""
    to_verify: list[tuple[Task, int, str]] = []
    requests: list[GenRequest] = []
    owners: list[tuple[Task, list[int]]] = []
    for task in tasks:
        missing = []
        for sample in range(n):
            key = (*task.key, sample)
            if key in verified:
                continue
            if key in completions:
                to_verify.append((task, sample, completions[key]))
            else:
                missing.append(sample)
        if missing:
            requests.append(GenRequest(index=len(owners), n=len(missing), messages=task.messages, text=task.text,
                                       stop=task.stop, seed=task.seed(seed, missing[0])))
            owners.append((task, missing))
    return to_verify, requests, owners


def load_tasks(cfg: EvalConfig) -> list[Task]:
    """The tasks of a run: MultiPL-E rows or Ag-*-X problems, as ``cfg.format`` says (or guessed)."""
    if cfg.format == "multiple" or (cfg.format == "auto" and is_multiple(cfg.dataset, cfg.config)):
        return multiple_tasks(cfg)
    return agnostics_tasks(cfg)


def _check_toolchains(tasks: list[Task]) -> None:
    from ag_eval.runners import get_runner

    for language in sorted({t.language for t in tasks}):
        get_runner(language).require_installed()


def run_eval(cfg: EvalConfig, *, backend: Backend | None = None, progress: bool = False) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``cfg.out_dir``; returns the summary."""
    tasks = load_tasks(cfg)
    if remote_verifier_of(cfg) is None:  # a verifier service's toolchains are the ones that count
        _check_toolchains(tasks)
    store = RunStore(cfg.out_dir)
    counts: dict[str, int] = {}
    for t in tasks:
        counts[f"{t.dataset}|{t.language}"] = counts.get(f"{t.dataset}|{t.language}", 0) + 1
    record = store.check_and_record(cfg, {"tasks": counts})
    record["tasks"] = {**record.get("tasks", {}), **counts}
    samples = store.samples()
    verified = {k for k, r in samples.items() if not (cfg.retry_sandbox_errors and r.get("verdict") == "sandbox_error")}
    to_verify, requests, owners = plan(tasks, cfg.n_samples, verified, store.completions(), cfg.seed)
    n_generate = sum(r.n for r in requests)
    logger.info("%d samples verified already, %d to verify, %d to generate", len(verified), len(to_verify), n_generate)
    bar = Progress({"generate": n_generate, "verify": len(to_verify) + n_generate}) if progress else None
    verifier = Verifier(store, cfg, bar)
    started = time.monotonic()
    own_backend = backend is None and bool(requests)
    try:
        for task, sample, completion in to_verify:
            verifier.submit(task, sample, completion)
        if requests:
            backend = backend or get_backend(cfg)
            record["sessions"][-1]["backend"] = backend.describe()
            store.write_run(record)
            for index, texts in backend.generate(requests, SamplingSpec.from_config(cfg)):
                task, missing = owners[index]
                for sample, text in zip(missing, texts):
                    store.add_completion((*task.key, sample), text)
                    verifier.submit(task, sample, text)
                if bar is not None:
                    bar.advance("generate", len(texts))
    finally:
        verifier.finish()  # what was generated is verified and kept, even when generation failed
        if bar is not None:
            bar.close()
        if own_backend and backend is not None:
            backend.close()
        store.close()
    session = record["sessions"][-1]
    session.update(finished=now(), seconds=round(time.monotonic() - started, 1), generated=n_generate,
                   verified=len(to_verify) + n_generate, verdicts=verifier.counts, executor=cfg.executor,
                   reused=verifier.reused)
    if backend is not None and requests:
        session["backend"] = backend.describe()
    store.write_run(record)
    return write_summary(Path(cfg.out_dir), record)
