"""Admission and execution of the service's jobs: a bound on jobs in flight, a bound on
jobs running, and tasks that finish their job whatever becomes of the request.

Every job runs through :func:`ag_eval.averify` (a worker thread each; never the event
loop). A job's task is never cancelled with its request: a client that hangs up leaves its
running jobs to finish and free their places, so the counts stay true.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from ag_eval import Job, Result, Verdict, averify

from .metrics import Metrics

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, workers: int, max_inflight: int, metrics: Metrics):
        self.workers = workers
        self.max_inflight = max_inflight
        self.inflight = 0
        self._metrics = metrics
        self._running = asyncio.Semaphore(workers)
        self._freed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._mean_job_s = 0.05  # a running mean, for Retry-After

    # ---- admission --------------------------------------------------------------------
    def try_admit(self, n: int = 1) -> bool:
        """Take ``n`` places if they are free (no await: nothing runs between the check and the take)."""
        if self.inflight + n > self.max_inflight:
            return False
        self.inflight += n
        self._metrics.inflight.set(self.inflight)
        return True

    async def wait_freed(self) -> None:
        """Return once some job has finished (and freed its place)."""
        await self._freed.wait()

    def retry_after_s(self) -> int:
        """Seconds until the jobs in flight are likely done, for a 429's Retry-After (1..60)."""
        estimate = self._mean_job_s * self.inflight / self.workers
        return max(1, min(60, math.ceil(estimate)))

    def _release(self) -> None:
        self.inflight -= 1
        self._metrics.inflight.set(self.inflight)
        freed, self._freed = self._freed, asyncio.Event()
        freed.set()

    # ---- execution --------------------------------------------------------------------
    def start(self, job: Job, *, fail_fast: bool = False, keep_output: bool = False) -> asyncio.Task:
        """Run an admitted job; the task's result is its :class:`ag_eval.Result` (never an exception).
        ``fail_fast`` and ``keep_output`` as :func:`ag_eval.verify`."""
        task = asyncio.get_running_loop().create_task(self._run(job, fail_fast, keep_output))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, job: Job, fail_fast: bool, keep_output: bool) -> Result:
        try:
            async with self._running:
                self._metrics.running.inc()
                started = time.monotonic()
                try:
                    result = await averify(job, fail_fast=fail_fast, keep_output=keep_output)
                except Exception as exc:  # averify turns the verifier's faults into results; this is ours
                    logger.exception("service failure on job %s", job.id)
                    result = Result.failure(job.id, Verdict.SANDBOX_ERROR, f"service failure: {type(exc).__name__}: {exc}",
                                            language=job.language)
                finally:
                    self._metrics.running.dec()
                self._mean_job_s = 0.9 * self._mean_job_s + 0.1 * (time.monotonic() - started)
            self._metrics.verdicts.labels(result.verdict.value).inc()
            return result
        finally:
            self._release()

    async def drain(self) -> None:
        """Wait for every job started so far (graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
