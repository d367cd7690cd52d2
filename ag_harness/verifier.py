"""Verify completions while the model writes them, through the verifier's one scheduler.

Completions are submitted one by one from the generation loop; a background thread feeds
them as jobs to :func:`ag_eval.iter_verify` (threads, verifier processes or Ray, as
:func:`ag_eval.executors.choose_plan` picks by cores and ``--executor``) and appends each
verdict to the run store as it comes back (or, with ``--verifier-url``, sends them to a
verifier service). Identical programs are judged once unless the
run says ``dedupe=False``. A completion whose verdict never arrives (a crash, Ctrl-C) has
no sample, so a rerun verifies it.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from ag_eval import iter_verify
from ag_eval.errors import AgnosticsError
from ag_eval.executors import IDLE, Plan, choose_plan
from ag_eval.executors.remote import RemoteVerifier, remote_verifier

from .config import EvalConfig
from .errors import EvalError
from .store import RunStore
from .tasks import Task

logger = logging.getLogger(__name__)

_END = object()
#: Seconds the feeding thread waits for a completion before handing out finished verdicts.
POLL_S = 0.2


def sample_row(task: Task, sample: int, completion: str, result) -> dict[str, Any]:
    """The line of samples.jsonl for one verified completion."""
    return {
        "dataset": task.dataset, "language": task.language, "problem_id": task.problem_id, "sample": sample,
        "completion": completion, "code": result.code, "verdict": result.verdict.value,
        "passed": result.passed, "total": result.total, "result": result.to_dict(),
    }


def remote_verifier_of(cfg: EvalConfig) -> RemoteVerifier | None:
    """The verifier service a run's samples go to (``--verifier-url`` or ``$AGNOSTICS_VERIFIER_URL``), if any."""
    return remote_verifier(cfg.verifier_url, token_file=cfg.verifier_token_file, from_env=cfg.executor == "local")


def verification_plan(cfg: EvalConfig, cores: int | None = None) -> Plan:
    """Where a run's samples are verified (``cores``: the CPUs to plan for; default this machine's)."""
    return choose_plan(cfg.executor, cfg.workers, cores=cores,
                       options=("address",) if cfg.ray_address else (), remote=remote_verifier_of(cfg))


class Verifier:
    """A stream of ``(task, sample, completion)`` in, verdicts appended to the store."""

    def __init__(self, store: RunStore, cfg: EvalConfig, progress=None):
        self.store = store
        self.cfg = cfg
        self.remote = remote_verifier_of(cfg)
        self.plan = verification_plan(cfg)
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.reused = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max(256, 8 * (self.plan.workers or 0)))
        self._pending: dict[int, tuple[Task, int, str]] = {}  # background thread only
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._error_raised = False
        self._cancel = threading.Event()
        self._stop_ray = False

    def _start(self) -> None:
        if self.plan.kind == "ray":  # joined or started here, in the calling thread
            from ag_eval.executors.ray_cluster import connect

            try:
                self._stop_ray = connect(self.cfg.ray_address)
            except AgnosticsError as exc:
                raise EvalError(f"{exc} (--ray-address, or --executor local)") from exc
        logger.info("verifying on %s", self.plan.describe())
        self._thread = threading.Thread(target=self._run, name="ag-eval-verify", daemon=True)
        self._thread.start()

    def submit(self, task: Task, sample: int, completion: str) -> None:
        if self._thread is None:
            self._start()
        while True:
            self._raise_failure()
            try:
                self._queue.put((task, sample, completion), timeout=POLL_S)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error
        if not self._thread.is_alive():
            raise EvalError("the verifier stopped before the run ended; rerun the same command to resume.")

    def _jobs(self):
        index = 0
        while not self._cancel.is_set():
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                yield IDLE  # nothing new: the scheduler hands out what is finished meanwhile
                continue
            if item is _END:
                return
            task, sample, completion = item
            self._pending[index] = item  # the scheduler numbers the jobs as they are drawn
            index += 1
            yield task.make_job(completion, sample)

    def _run(self) -> None:
        cfg = self.cfg
        options = {"address": cfg.ray_address} if cfg.ray_address else {}
        try:
            results = iter_verify(self._jobs(), workers=cfg.workers, executor=cfg.executor, dedupe=cfg.dedupe,
                                  cache_dir=cfg.cache_dir, verifier_url=self.remote or "", **options)
            try:
                for index, result in results:
                    item = self._pending.pop(index, None)
                    if item is None:
                        logger.error("a verdict came back for job %d twice or unasked; ignored", index)
                        continue
                    task, sample, completion = item
                    self.store.add_sample(sample_row(task, sample, completion, result))
                    self.counts[result.verdict.value] = self.counts.get(result.verdict.value, 0) + 1
                    self.reused += result.reused
                    if self.progress is not None:
                        self.progress.advance("verify")
                    if self._cancel.is_set():
                        break
            finally:
                results.close()
            if self._pending and not self._cancel.is_set():
                raise EvalError(f"{len(self._pending)} completion(s) came back without a verdict; "
                                "rerun the same command to verify them.")
        except BaseException as exc:  # re-raised in the caller by submit() or finish()
            self._error = exc

    def finish(self) -> None:
        if self._thread is None:
            return
        try:
            while self._thread.is_alive():  # end the stream; the thread drains what is queued
                try:
                    self._queue.put(_END, timeout=POLL_S)
                    break
                except queue.Full:
                    continue
            while self._thread.is_alive():
                self._thread.join(timeout=POLL_S)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting; unverified completions are verified on rerun
            self._cancel.set()
            self._thread.join(timeout=10)
            raise
        finally:
            if self._stop_ray and not self._thread.is_alive():
                import ray

                ray.shutdown()
                self._stop_ray = False
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error
