"""One CPU per verifier worker: the jails a worker drives stay on one core.

A test is a relay of short steps between processes (host thread -> supervisor -> runtime
-> test -> supervisor -> host); left to itself the scheduler spreads each relay over the
cores, and with one relay per core they keep waking each other on the wrong one. Pinned,
each worker's jail processes stay on their core and the cores stay busy; the host's
threads themselves stay free to run wherever a core is idle (``python -m bench scaling``).

``AGNOSTICS_PIN_CPUS``: ``auto`` (default) pins when a batch has exactly one worker per
CPU this process may use (so several such processes on a machine spread evenly);
``1`` pins whatever the number of workers (round robin over the CPUs); ``0`` never pins.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager

from .errors import AgnosticsError

logger = logging.getLogger(__name__)

PIN_ENV = "AGNOSTICS_PIN_CPUS"
_local = threading.local()


def allowed_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin_plan(workers: int) -> list[int] | None:
    """The CPUs a batch of ``workers`` threads pins to, in order (None: do not pin)."""
    mode = os.environ.get(PIN_ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "0", "1"):
        raise AgnosticsError(f"{PIN_ENV}={mode!r} is not valid; use auto, 1 or 0.")
    cpus = allowed_cpus()
    if mode == "0" or not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    if mode == "auto" and (workers != len(cpus) or workers < 2):
        return None
    return cpus


def thread_initializer(workers: int) -> Callable[[], None] | None:
    """An ``initializer`` for a ThreadPoolExecutor of ``workers`` threads (None: no pinning)."""
    plan = pin_plan(workers)
    if plan is None:
        return None
    turn = itertools.count()
    lock = threading.Lock()

    def pin() -> None:
        with lock:
            _local.cpu = plan[next(turn) % len(plan)]

    return pin


@contextmanager
def jail_affinity():
    """Around the start of a jail: the jail's processes are pinned to this worker's CPU
    (they inherit the affinity of the thread that starts them); the thread itself stays
    free, so the host's threads go wherever a core is idle."""
    cpu = thread_cpu()
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})  # this thread only
    except OSError as exc:
        logger.debug("cannot pin a jail to CPU %d: %s", cpu, exc)
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def thread_cpu() -> int | None:
    """The CPU this thread was pinned to (None if it was not)."""
    return getattr(_local, "cpu", None)
