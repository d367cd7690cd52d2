"""Where a batch runs: threads, child processes or a Ray cluster, chosen here and only here.

``executor="local"`` (the default of every command and function) picks by cores: the
threads of one process share one interpreter lock, and past about eight busy workers that
lock, not the cores, sets the pace (``python -m bench scaling`` on a 16-core machine:
8 workers ~7 400 tests/s, 16 in one process no more). So a batch of more workers than
:data:`THREADS_PER_PROCESS_ENV` allows (default 8) runs in child processes of at most that
many threads each; fewer run in threads. ``"threads"`` and ``"processes"`` force one;
``"ray"`` spreads the batch over a Ray cluster. Given a verifier service
(:class:`~ag_eval.executors.remote.RemoteVerifier`), the batch is judged there instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import AgnosticsError

if TYPE_CHECKING:
    from .remote import RemoteVerifier

EXECUTORS = ("local", "threads", "processes", "ray")
#: Most verifier threads in one process (0: never use child processes).
THREADS_PER_PROCESS_ENV = "AGNOSTICS_THREADS_PER_PROCESS"
DEFAULT_THREADS_PER_PROCESS = 8


def default_workers() -> int:
    """Programs judged at once by default: one per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def threads_per_process() -> int:
    raw = os.environ.get(THREADS_PER_PROCESS_ENV, "").strip()
    try:
        return int(raw) if raw else DEFAULT_THREADS_PER_PROCESS
    except ValueError:
        raise AgnosticsError(f"{THREADS_PER_PROCESS_ENV}={raw!r} is not a whole number; use e.g. 8, "
                             "or 0 to keep every worker in this process.") from None


def process_plan(workers: int) -> tuple[int, int] | None:
    """``(processes, threads each)`` for a local batch of ``workers``, or None for one process."""
    per = threads_per_process()
    if per <= 0 or workers <= per:
        return None
    processes = math.ceil(workers / per)
    return processes, math.ceil(workers / processes)


@dataclass(frozen=True)
class Plan:
    """How a batch runs: ``kind`` is ``threads``, ``processes``, ``ray`` or ``remote``."""

    kind: str
    workers: int | None  # programs at once; None for Ray: every CPU of the cluster; remote: jobs in flight
    processes: int = 1
    threads: int = 1     # threads per process (threads, processes)
    remote: "RemoteVerifier | None" = field(default=None, compare=False)  # the service (remote)

    def describe(self) -> str:
        if self.kind == "remote":
            return f"the verifier service at {self.remote.url}, {self.workers} job(s) in flight"
        if self.kind == "processes":
            return f"{self.processes} verifier processes x {self.threads} threads"
        if self.kind == "ray":
            return f"Ray, {self.workers or 'every CPU of the cluster'} at once"
        return f"{self.threads} verifier threads"


def choose_plan(executor: str = "local", workers: int | None = None, *, cores: int | None = None,
                custom_sandbox: bool = False, options: Iterable[str] = (),
                remote: "RemoteVerifier | None" = None) -> Plan:
    """The plan for a batch. ``cores``: the CPUs to plan for (default: this process's);
    ``custom_sandbox``: the caller passes its own sandbox object, which cannot travel to
    another process; ``options``: names of executor options given (Ray's only);
    ``remote``: a verifier service to judge the batch (``workers``: jobs held in flight there)."""
    if executor not in EXECUTORS:
        raise AgnosticsError(f"executor {executor!r} is unknown; use one of {', '.join(EXECUTORS)} "
                             "(local: threads or processes by cores).")
    options = sorted(options)
    if options and executor != "ray":
        raise AgnosticsError(f"executor options {options} need executor='ray'; the {executor} executor takes none.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise AgnosticsError(f"workers={workers!r} must be a positive whole number.")
    if remote is not None:
        if executor != "local" or custom_sandbox:
            chosen = "a custom sandbox" if custom_sandbox else f"executor={executor!r}"
            raise AgnosticsError(f"a verifier URL ({remote.url}) sends the batch to a service, and {chosen} judges it "
                                 "here; drop one of them.")
        from .remote import DEFAULT_INFLIGHT

        return Plan("remote", workers or DEFAULT_INFLIGHT, remote=remote)
    if custom_sandbox and executor in ("processes", "ray"):
        where = "Ray workers" if executor == "ray" else "child processes"
        raise AgnosticsError(f"a custom sandbox cannot travel to {where}; drop sandbox= or use executor='threads'.")
    if executor == "ray":
        return Plan("ray", workers)
    workers = workers or cores or default_workers()
    if executor == "threads" or (executor == "local" and custom_sandbox):
        return Plan("threads", workers, 1, workers)
    split = process_plan(workers)
    if executor == "processes":
        per = max(1, threads_per_process() or DEFAULT_THREADS_PER_PROCESS)
        processes = split[0] if split else max(1, math.ceil(workers / per))
        return Plan("processes", workers, processes, math.ceil(workers / processes))
    if split is None:
        return Plan("threads", workers, 1, workers)
    return Plan("processes", workers, *split)
