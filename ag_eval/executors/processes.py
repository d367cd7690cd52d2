"""A batch in child verifier processes, each of a few threads on its own slice of the CPUs.

Chosen by :func:`ag_eval.executors.plan.choose_plan` when a batch has more workers than
one process's threads keep busy. The children (``python -m ag_eval.executors.processes``:
no re-import of the caller's main module) are started once and serve every later batch of
the same shape. Jobs go to the least-loaded child; a child that dies has its unfinished
jobs judged again by a fresh one, so no job is lost or judged twice in the output.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import AgnosticsError
from ..jobs import Result, job_id
from ..verdicts import Verdict
from .base import IDLE, Judge, numbered
from .plan import THREADS_PER_PROCESS_ENV

logger = logging.getLogger(__name__)

#: Jobs handed to a child ahead of its threads.
AHEAD = 4
#: Times a job is handed to a fresh child after its child died, before it is reported.
MAX_RETRIES = 2
#: Children that may die in a row, none having answered, before the batch gives up.
MAX_DEATHS_IN_A_ROW = 3


# ---- the child ------------------------------------------------------------------------

def _child_main(jobs_in: Connection, results_out: Connection, cpus: list[int], threads: int) -> None:
    """A verifier process: jobs in, results out, until told to stop (or its parent is gone)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..affinity import thread_initializer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the children stop
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)  # this process's slice; its threads pin its jails within it
    send_lock = threading.Lock()

    def done(batch: int, index: int, future) -> None:
        with send_lock:
            try:
                results_out.send((batch, index, future.result()))
            except OSError:  # the parent is gone
                os._exit(0)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ag-verify",
                            initializer=thread_initializer(threads)) as pool:
        while True:
            try:
                message = jobs_in.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            batch, index, job, judge = message
            future = pool.submit(judge, job, index=index)
            future.add_done_callback(lambda f, b=batch, i=index: done(b, i, f))


# ---- the parent -----------------------------------------------------------------------

class _Child:
    def __init__(self, cpus: list[int], threads: int):
        jobs_r, jobs_w = os.pipe()
        results_r, results_w = os.pipe()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if isinstance(p, str) and p))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ag_eval.executors.processes", str(jobs_r), str(results_w), ",".join(map(str, cpus)),
                 str(threads)], pass_fds=(jobs_r, results_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=env)
        finally:
            os.close(jobs_r)
            os.close(results_w)
        self.jobs = Connection(jobs_w, readable=False)
        self.results = Connection(results_r, writable=False)
        self.cpus, self.threads = cpus, threads
        self.inflight: dict[int, Any] = {}  # index -> job, handed over and not yet answered

    def stop(self, wait_s: float = 10.0) -> None:
        try:
            self.jobs.send(None)
        except OSError:
            pass
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.jobs.close()
        self.results.close()


class ProcessGroup:
    """Child verifier processes, started once and reused by every batch of the same shape."""

    def __init__(self, processes: int, threads: int):
        self.processes, self.threads = processes, threads
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self._slices = [cpus[i::processes] for i in range(processes)] if len(cpus) >= processes else \
            [[] for _ in range(processes)]
        self.children = [_Child(s, threads) for s in self._slices]
        self.lock = threading.Lock()  # one batch at a time
        self.batch = 0

    def _replace(self, k: int) -> None:
        old = self.children[k]
        old.stop(wait_s=1.0)
        self.children[k] = _Child(old.cpus, self.threads)

    def run(self, jobs: Iterable[Any], judge: Judge) -> Iterator[tuple[int | None, Result]]:
        self.batch += 1
        batch = self.batch
        for child in self.children:  # what an abandoned batch left is answered under its own number
            child.inflight.clear()
        cap = self.threads * AHEAD
        attempts: dict[int, int] = {}
        waiting: list[tuple[int, Any]] = []  # not yet handed over (no room, or its child died)
        source = numbered(jobs)
        exhausted = False
        deaths = 0  # children dead in a row, none having answered

        def hand_over(index: int, job: Any) -> bool:
            child = min(self.children, key=lambda c: len(c.inflight))
            if len(child.inflight) >= cap:
                return False
            try:
                child.jobs.send((batch, index, job, judge))
            except (OSError, ValueError):  # a dead child: found and replaced below
                return False
            child.inflight[index] = job
            return True

        def receive(child: _Child) -> Iterator[tuple[int, Result]]:
            """What the child has sent; raises EOFError/OSError once it is gone."""
            while child.results.poll():
                got_batch, index, result = child.results.recv()
                if got_batch == batch and child.inflight.pop(index, None) is not None:
                    yield index, result

        while True:
            while waiting and hand_over(*waiting[0]):
                waiting.pop(0)
            idle = False
            while not exhausted and not waiting:
                try:
                    index, job = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if job is IDLE:  # a live stream with nothing new: hand out what is finished
                    idle = True
                    break
                if isinstance(job, BaseException):  # a line that did not parse: its error result, here
                    yield index, judge(job, index=index)
                elif not hand_over(index, job):
                    waiting.append((index, job))
            if exhausted and not waiting and not any(c.inflight for c in self.children):
                return
            conns = {c.results: k for k, c in enumerate(self.children)}
            dead: list[int] = []
            for ready in wait(list(conns), timeout=0 if idle else None):
                try:
                    for item in receive(self.children[conns[ready]]):
                        deaths = 0
                        yield item
                except (EOFError, OSError):  # the end of its results: the child is gone
                    dead.append(conns[ready])
            for k in dead:
                child = self.children[k]
                lost = list(child.inflight.items())
                deaths += 1
                if deaths > MAX_DEATHS_IN_A_ROW * self.processes:
                    raise AgnosticsError(f"verifier processes keep dying before they answer (exit code "
                                         f"{child.process.poll()}); run with {THREADS_PER_PROCESS_ENV}=0 to judge "
                                         "in this process and see the error.")
                logger.warning("a verifier process died (exit code %s); the %d job(s) it held are judged again",
                               child.process.poll(), len(lost))
                self._replace(k)
                for index, job in lost:
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] > MAX_RETRIES:
                        yield index, Result.failure(job_id(job, index), Verdict.SANDBOX_ERROR,
                                                    f"its verifier process died {attempts[index]} times; rerun this job")
                    else:
                        waiting.append((index, job))
            if idle:
                yield None, IDLE

    def close(self, wait_s: float = 5.0) -> None:
        """Ask every child to stop, wait for them together, kill the ones still busy."""
        for child in self.children:
            try:
                child.jobs.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        for child in self.children:
            child.stop(wait_s=max(0.0, deadline - time.monotonic()))


_group: ProcessGroup | None = None
_group_lock = threading.Lock()


def iter_processes(jobs: Iterable[Any], judge: Judge, *, processes: int,
                   threads: int) -> Iterator[tuple[int | None, Result]]:
    """``(index, result)`` as jobs finish in ``processes`` child processes of ``threads`` threads."""
    global _group
    with _group_lock:
        if _group is None or (_group.processes, _group.threads) != (processes, threads):
            if _group is not None:
                _group.close()
            _group = ProcessGroup(processes, threads)
        group = _group
    with group.lock:
        yield from group.run(jobs, judge)


@atexit.register
def close_processes() -> None:
    global _group
    with _group_lock:
        if _group is not None:
            _group.close()
            _group = None


if __name__ == "__main__":  # a child: python -m ag_eval.executors.processes JOBS_FD RESULTS_FD CPUS THREADS
    _child_main(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False),
                [int(c) for c in sys.argv[3].split(",") if c], int(sys.argv[4]))
