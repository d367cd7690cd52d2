"""One evaluation run: generate, verify while generating, stream samples, summarise.

    from ag_eval.harness import EvalConfig, run_eval
    summary = run_eval(EvalConfig(model="Qwen/Qwen3-4B", dataset="ag-livecodebench-x",
                                  languages=["lua"], out_dir="runs/qwen3-4b"))

The main thread drives the backend; every finished request's completions are stored at
once and handed to a pool of verifier threads (each runs programs in the sandbox), so
the sandbox works while the model generates. With ``executor="ray"`` the completions stream
to verifier actors on a Ray cluster instead. A rerun with the same folder resumes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .backends import Backend, GenRequest, SamplingSpec, get_backend
from .config import EvalConfig
from .errors import EvalError
from .store import RunStore, SampleKey, now
from .summary import write_summary
from .tasks import Task, load_tasks

logger = logging.getLogger(__name__)


def sample_row(task: Task, sample: int, completion: str, result) -> dict[str, Any]:
    """The line of samples.jsonl for one verified completion."""
    return {
        "dataset": task.dataset, "language": task.language, "problem_id": task.problem_id, "sample": sample,
        "completion": completion, "code": result.code, "verdict": result.verdict.value,
        "passed": result.passed, "total": result.total, "result": result.to_dict(),
    }


class _Verifier:
    """A bounded pool of verifier threads that appends each verdict to the store."""

    def __init__(self, store: RunStore, workers: int, progress=None):
        from ..affinity import thread_initializer
        from ..engine import default_sandbox, safe_verify

        self._safe_verify = safe_verify
        self._sandbox = default_sandbox()
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ag-eval-verify",
                                       initializer=thread_initializer(workers))
        self.slots = threading.BoundedSemaphore(workers * 8)
        self.progress = progress
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._futures: list[Future] = []

    def submit(self, task: Task, sample: int, completion: str) -> None:
        self.slots.acquire()
        fut = self.pool.submit(self._one, task, sample, completion)
        fut.add_done_callback(lambda _f: self.slots.release())
        self._futures.append(fut)
        if len(self._futures) > 4096:
            self._futures = [f for f in self._futures if not f.done()]

    def _one(self, task: Task, sample: int, completion: str) -> None:
        result = self._safe_verify(task.make_job(completion, sample), sandbox=self._sandbox)
        self.store.add_sample(sample_row(task, sample, completion, result))
        with self._lock:
            self.counts[result.verdict.value] = self.counts.get(result.verdict.value, 0) + 1
        if self.progress is not None:
            self.progress.advance("verify")

    def finish(self) -> None:
        for fut in self._futures:
            fut.result()
        self.pool.shutdown(wait=True)


_END = object()


class _RayVerifier:
    """Verifies on a Ray cluster, with the interface of :class:`_Verifier`.

    Submitted completions go through a bounded queue to one background thread, which feeds
    them as jobs to :func:`ag_eval.ray_executor.iter_verify_ray` and appends each verdict to
    the store as its chunk comes back. Ray is joined (``address``) or started on the first
    submit, in the calling thread, and shut down by :meth:`finish` if it was started here.
    Each job's index maps back to its ``(task, sample, completion)``; a completion whose
    verdict never arrives (a crash, Ctrl-C) has no sample, so a rerun verifies it.
    """

    def __init__(self, store: RunStore, workers: int | None, progress=None, address: str | None = None):
        self.store = store
        self.workers = workers
        self.address = address
        self.progress = progress
        self.counts: dict[str, int] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=max(256, 8 * (workers or 0)))
        self._pending: dict[int, tuple[Task, int, str]] = {}  # background thread only
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._error_raised = False
        self._cancel = threading.Event()
        self._ray = None
        self._started_ray = False

    def _start(self) -> None:
        from ..ray_executor import require_ray

        ray = require_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                raise EvalError(f"cannot start or join {where} ({exc}); check --ray-address "
                                "or use --executor local.") from exc
            self._started_ray = True
        self._ray = ray
        self._thread = threading.Thread(target=self._run, name="ag-eval-ray", daemon=True)
        self._thread.start()

    def submit(self, task: Task, sample: int, completion: str) -> None:
        if self._thread is None:
            self._start()
        while True:
            self._raise_failure()
            try:
                self._queue.put((task, sample, completion), timeout=0.2)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error
        if not self._thread.is_alive():
            raise EvalError("the Ray verifier stopped before the run ended; rerun the same command to resume.")

    def _jobs(self):
        index = 0
        while not self._cancel.is_set():
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _END:
                return
            task, sample, completion = item
            job = task.make_job(completion, sample)
            self._pending[index] = item  # iter_verify_ray numbers the jobs as they are drawn
            index += 1
            yield job

    def _run(self) -> None:
        from ..ray_executor import iter_verify_ray

        try:
            results = iter_verify_ray(self._jobs(), workers=self.workers, address=self.address)
            try:
                for index, result in results:
                    item = self._pending.pop(index, None)
                    if item is None:
                        logger.error("Ray returned a verdict for job %d twice or unasked; ignored", index)
                        continue
                    task, sample, completion = item
                    self.store.add_sample(sample_row(task, sample, completion, result))
                    self.counts[result.verdict.value] = self.counts.get(result.verdict.value, 0) + 1
                    if self.progress is not None:
                        self.progress.advance("verify")
                    if self._cancel.is_set():
                        break
            finally:
                results.close()
            if self._pending and not self._cancel.is_set():
                raise EvalError(f"{len(self._pending)} completion(s) came back from Ray without a verdict; "
                                "rerun the same command to verify them.")
        except BaseException as exc:  # re-raised in the caller by submit() or finish()
            self._error = exc

    def finish(self) -> None:
        if self._thread is None:
            return
        try:
            while self._thread.is_alive():  # end the stream; the thread drains what is queued
                try:
                    self._queue.put(_END, timeout=0.2)
                    break
                except queue.Full:
                    continue
            while self._thread.is_alive():
                self._thread.join(timeout=0.2)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting; unverified completions are verified on rerun
            self._cancel.set()
            self._thread.join(timeout=10)
            raise
        finally:
            if self._started_ray and not self._thread.is_alive():
                self._ray.shutdown()
                self._started_ray = False
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error


class _Progress:
    def __init__(self, total_gen: int, total_verify: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           console=Console(stderr=True))
        self._ids = {"generate": self._p.add_task("generate", total=total_gen),
                     "verify": self._p.add_task("verify", total=total_verify)}
        self._p.start()

    def advance(self, name: str, n: int = 1) -> None:
        self._p.advance(self._ids[name], n)

    def close(self) -> None:
        self._p.stop()


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


def _check_toolchains(tasks: list[Task]) -> None:
    from ..runners import get_runner

    for language in sorted({t.language for t in tasks}):
        get_runner(language).require_installed()


def run_eval(cfg: EvalConfig, *, backend: Backend | None = None, progress: bool = False) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``cfg.out_dir``; returns the summary."""
    from ..engine import default_workers

    tasks = load_tasks(cfg)
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
    bar = _Progress(n_generate, len(to_verify) + n_generate) if progress else None
    if cfg.executor == "ray":
        verifier = _RayVerifier(store, cfg.workers, bar, address=cfg.ray_address)
    else:
        verifier = _Verifier(store, cfg.workers or default_workers(), bar)
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
                   verified=len(to_verify) + n_generate, verdicts=verifier.counts, executor=cfg.executor)
    if backend is not None and requests:
        session["backend"] = backend.describe()
    store.write_run(record)
    return write_summary(Path(cfg.out_dir), record)
