"""Counters of this process's warm jails and reruns, for monitoring (the service's ``/metrics``).

    from ag_eval import stats
    stats.snapshot()
    # {"jails_started": 12, "jails_restarted": 1, "jails_poisoned": 0, "jails_discarded": 1, "reruns": 0}

- ``jails_started``: jails started (each warm jail, restarts included);
- ``jails_restarted``: jails started again in place of one that died or was poisoned
  mid-program, or found dead when taken from the pool;
- ``jails_poisoned``: jails the supervisor could not make clean after a test (ended, never reused);
- ``jails_discarded``: jails ended instead of going back to the pool (dead, poisoned, or a
  work folder the host could not empty);
- ``reruns``: test runs and compile steps run a second time because the first waited out its
  wall-clock limit with little CPU time (:func:`ag_eval.judge.waited_out`).

Counts only grow, from the start of the process; they are per process (child verifier
processes keep their own).
"""

from __future__ import annotations

import threading

#: The counters, in the order :func:`snapshot` lists them.
NAMES = ("jails_started", "jails_restarted", "jails_poisoned", "jails_discarded", "reruns")

_lock = threading.Lock()
_counts = dict.fromkeys(NAMES, 0)


def count(name: str, n: int = 1) -> None:
    """Add ``n`` to the counter ``name`` (one of :data:`NAMES`)."""
    if name not in _counts:
        raise KeyError(f"unknown counter {name!r}; the counters are {', '.join(NAMES)}.")
    with _lock:
        _counts[name] += n


def snapshot() -> dict[str, int]:
    """Every counter's value now."""
    with _lock:
        return dict(_counts)
