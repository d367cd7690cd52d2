"""A batch in threads of this process, each judging one program at a time in its warm jails."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ..affinity import thread_initializer
from ..jobs import Result
from .base import IDLE, Judge, numbered


def iter_threads(jobs: Iterable[Any], judge: Judge, *, workers: int,
                 max_pending: int | None = None) -> Iterator[tuple[int | None, Result]]:
    """``(index, result)`` as jobs finish on ``workers`` threads. At most ``max_pending`` jobs
    (default ``4 * workers``) are held at once, so memory stays flat for any number of jobs."""
    max_pending = max_pending or workers * 4
    pending: dict[Future, int] = {}

    def finished(block: bool) -> Iterator[tuple[int, Result]]:
        done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for fut in done:
            yield pending.pop(fut), fut.result()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ag-verify",
                            initializer=thread_initializer(workers)) as pool:
        for index, job in numbered(jobs):
            if job is IDLE:
                if pending:
                    yield from finished(block=False)
                yield None, IDLE
                continue
            while len(pending) >= max_pending:
                yield from finished(block=True)
            pending[pool.submit(judge, job, index=index)] = index
        while pending:
            yield from finished(block=True)
