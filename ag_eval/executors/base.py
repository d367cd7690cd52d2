"""What every executor shares: the judge it is given, job numbering, and the idle mark.

An executor runs ``judge(job, index=i) -> Result`` over a stream of jobs and yields
``(index, result)`` as results come. ``judge`` never raises (``ag_eval.engine.safe_verify``
turns every failure into a result) and must pickle (a module-level function or a
``functools.partial`` of one) for child processes and Ray.

A stream may hold :data:`IDLE` between jobs: "no job yet". The executor then yields the
results already finished without waiting and one ``(None, IDLE)``, so a caller feeding a
live stream (completions as a model writes them) gets verdicts as they are ready.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..jobs import Result

Judge = Callable[..., Result]


class _Idle:
    def __repr__(self) -> str:
        return "IDLE"


#: "No job yet" in a stream of jobs; "no result now" in a stream of results.
IDLE: Any = _Idle()


def numbered(jobs: Iterable[Any]) -> Iterator[tuple[int | None, Any]]:
    """``(index, job)`` for each job, numbered from 0; ``(None, IDLE)`` for each idle mark."""
    index = 0
    for job in jobs:
        if job is IDLE:
            yield None, IDLE
            continue
        yield index, job
        index += 1
