"""The scheduler: every batch of verification jobs runs through :func:`iter_results`.

    plan = choose_plan("local", workers=None)        # threads or processes, by cores
    for index, result in iter_results(jobs, judge, plan, dedupe=Dedupe()):
        ...

The contract: ``iter_results(jobs, judge, plan) -> (index, Result)`` as jobs finish, each
index of ``jobs`` exactly once, whatever the executor:

- threads (:mod:`.threads`): this process's threads, each with its warm jails;
- processes (:mod:`.processes`): child verifier processes, when one process's lock would
  be the limit (many cores);
- Ray (:mod:`.ray_cluster`): verifier actors on a Ray cluster;
- remote (:mod:`.remote`): a verifier service (``agnostics serve``) over HTTP.

:func:`choose_plan` (:mod:`.plan`) is the one place that picks among them, by cores and by
the caller's ``executor``. Identical jobs share one judgment (:mod:`.dedupe`).
``ag_eval.verify_many``, ``iter_verify``, ``averify_many``, ``verify-batch``, the evaluation
harness, the training rewards and the metric all come here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..jobs import Result
from .base import IDLE, Judge
from .dedupe import Dedupe
from .plan import EXECUTORS, Plan, choose_plan, default_workers

__all__ = ["IDLE", "EXECUTORS", "Dedupe", "Plan", "choose_plan", "default_workers", "iter_results"]


def iter_results(jobs: Iterable[Any], judge: Judge, plan: Plan | None = None, *, dedupe: Dedupe | None = None,
                 max_pending: int | None = None, **options: Any) -> Iterator[tuple[int, Result]]:
    """``(index, result)`` as jobs finish, ``judge`` run on ``plan``'s executor.

    ``jobs`` may be any iterable (lazily drawn, with bounded memory) and may hold
    :data:`IDLE` marks (a live stream waiting for its next job). ``options`` go to the Ray
    executor (``address``, ``threads_per_actor``, ``chunk_size``...) or the remote one
    (``fail_fast``: sent to the service, which runs the judge there).
    """
    plan = plan or choose_plan(options=options)

    def run(items: Iterable[Any]) -> Iterator[tuple[int | None, Result]]:
        if plan.kind == "remote":
            from .remote import iter_remote

            return iter_remote(items, judge, plan.remote, inflight=plan.workers, **options)
        if plan.kind == "processes":
            from .processes import iter_processes

            return iter_processes(items, judge, processes=plan.processes, threads=plan.threads)
        if plan.kind == "ray":
            from .ray_cluster import iter_ray

            return iter_ray(items, judge, workers=plan.workers, **options)
        from .threads import iter_threads

        return iter_threads(items, judge, workers=plan.threads, max_pending=max_pending)

    stream = dedupe.apply(jobs, run) if dedupe is not None else run(jobs)
    try:
        for index, result in stream:
            if result is not IDLE:
                yield index, result
    finally:
        stream.close()
