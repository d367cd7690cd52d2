"""Warm jails, kept between programs: one jail start serves many programs of a language.

A jail is taken from the pool for one program and given back after it. Between tests,
and so between programs, the supervisor kills every process of the jail and empties
/tmp; the host empties the work folder. What one program leaves cannot reach the next:
the work folder is read-only inside, SysV IPC and POSIX message queues are refused by
the seccomp policy, and the supervisor cannot be signalled, traced or read.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from pathlib import Path

from . import stats
from .session import JailSession
from .tree import empty_folder

#: Idle warm jails kept at most (each is two small processes and an empty tmpfs).
MAX_IDLE_ENV = "AGNOSTICS_MAX_IDLE_JAILS"


class SessionPool:
    def __init__(self, max_idle: int | None = None):
        self.max_idle = max_idle or int(os.environ.get(MAX_IDLE_ENV, 0)) or 2 * (os.cpu_count() or 1) + 2
        self._idle: OrderedDict[int, tuple[Hashable, JailSession]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: Hashable, factory: Callable[[], JailSession]) -> JailSession:
        with self._lock:
            for token, (k, session) in reversed(self._idle.items()):
                if k == key:
                    del self._idle[token]
                    if session.alive and session.proc.poll() is None:
                        return session
                    session.close()
                    stats.count("jails_discarded")
                    stats.count("jails_restarted")  # the factory below starts its replacement
                    break
        return factory()

    def release(self, key: Hashable, session: JailSession) -> None:
        if not _empty(session.workdir):  # what is left there must not reach the next program
            session.alive = False
        if not session.alive:
            session.close()
            stats.count("jails_discarded")
            return
        evicted = []
        with self._lock:
            self._idle[id(session)] = (key, session)
            while len(self._idle) > self.max_idle:
                evicted.append(self._idle.popitem(last=False)[1][1])
        for old in evicted:
            old.close()

    def close_all(self) -> None:
        with self._lock:
            sessions = [s for _, s in self._idle.values()]
            self._idle.clear()
        for s in sessions:
            s.close()

    @contextmanager
    def lease(self, key: Hashable, factory: Callable[[], JailSession]):
        """A warm jail for one program; ``holder[0]`` may be replaced if the jail dies."""
        holder = [self.acquire(key, factory)]
        try:
            yield holder
        finally:
            self.release(key, holder[0])


def _empty(folder: Path) -> bool:
    return empty_folder(folder)  # whatever a compile step left: any depth, links, locked folders


POOL = SessionPool()
atexit.register(POOL.close_all)
