"""A batch spread over a Ray cluster: each node runs its own sandbox pool.

    verify_many(jobs, executor="ray", address="auto")      # through the scheduler

Jobs travel in small chunks to verifier actors (one per ``threads_per_actor`` cores); each
actor judges its chunk in threads (:mod:`ag_eval.executors.threads`) on its own node. At most ``max_inflight`` chunks are out at once, so the driver's memory stays
flat however many jobs the iterable yields. When an actor dies mid-batch (node lost, process
killed), its chunks go to a fresh actor; a chunk's results come back whole or not at all, so
no result is lost or yielded twice. A chunk whose actors keep dying is reported as
``sandbox_error`` results, never dropped.

Ray is an optional extra: ``pip install 'agnostics[ray]'``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import AgnosticsError
from ..jobs import Result, job_id
from ..verdicts import Verdict
from .base import IDLE, Judge, numbered

logger = logging.getLogger(__name__)

#: Jobs per chunk sent to one actor; small, so a lost actor costs little work.
DEFAULT_CHUNK_SIZE = 16
#: Verifier threads (and Ray CPUs) per actor.
DEFAULT_THREADS_PER_ACTOR = 4
#: Times a chunk is sent again after the actor running it died.
DEFAULT_MAX_RETRIES = 3

_actor_class = None


def require_ray():
    """Import Ray, or fail with one sentence saying how to install it."""
    try:
        import ray
    except ImportError:
        raise AgnosticsError(
            "the Ray executor needs Ray, which is not installed; install agnostics[ray] "
            "(pip install 'agnostics[ray]') or use --executor local."
        ) from None
    return ray


def connect(address: str | None = None) -> bool:
    """Join the Ray cluster at ``address`` (or start a local one) unless Ray is initialised;
    True when it was started here (the caller then shuts it down)."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise AgnosticsError(f"cannot start or join {where} ({exc}); check the Ray address "
                             "or use the local executor.") from exc
    return True


class _VerifierActor:
    """Judges chunks of jobs on its node, a thread per core."""

    def __init__(self, threads: int, judge: Judge):
        self.threads = threads
        self.judge = judge

    def pid(self) -> int:
        import os

        return os.getpid()

    def verify_chunk(self, chunk: list[tuple[int, Any]]) -> list[tuple[int, Result]]:
        from .threads import iter_threads

        indices = [i for i, _ in chunk]
        return [(indices[local], result) for local, result in
                iter_threads((job for _, job in chunk), self.judge, workers=self.threads)]


def _remote_class(ray):
    global _actor_class
    if _actor_class is None:
        _actor_class = ray.remote(max_restarts=0, max_task_retries=0)(_VerifierActor)
    return _actor_class


@dataclass
class _Chunk:
    items: list[tuple[int, Any]]
    attempts: int = 0
    actor: Any = None


@dataclass
class _Pool:
    """The live actors and how many chunks each holds."""

    ray: Any
    threads: int
    judge: Judge
    size: int
    load: dict[Any, int] = field(default_factory=dict)

    def spawn(self) -> Any:
        cls = _remote_class(self.ray)
        actor = cls.options(num_cpus=self.threads).remote(self.threads, self.judge)
        self.load[actor] = 0
        return actor

    def fill(self) -> None:
        while len(self.load) < self.size:
            self.spawn()

    def least_loaded(self) -> Any:
        self.fill()
        return min(self.load, key=self.load.__getitem__)

    def drop(self, actor: Any) -> None:
        if self.load.pop(actor, None) is not None:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass

    def shutdown(self) -> None:
        for actor in list(self.load):
            self.drop(actor)


def _cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def iter_ray(jobs: Iterable[Any], judge: Judge, *, workers: int | None = None, address: str | None = None,
                    threads_per_actor: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                    max_inflight: int | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
                    init_kwargs: dict[str, Any] | None = None) -> Iterator[tuple[int | None, Result]]:
    """Yield ``(index, result)`` as chunks finish on the Ray cluster.

    ``workers``: programs judged at once across the cluster (default: every CPU Ray knows of).
    ``address``: the cluster to join (``"auto"``, ``"ray://host:10001"``); when Ray is not yet
    initialised and no address is given, a local Ray is started and shut down at the end.
    Items that are exceptions (a malformed job line) become ``sandbox_error`` results here.
    """
    ray = require_ray()
    if chunk_size < 1:
        raise AgnosticsError(f"chunk_size={chunk_size} must be at least 1.")
    started_ray = False
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, **(init_kwargs or {}))
        started_ray = True
    pool = None
    try:
        total = workers or _cluster_cpus(ray)
        threads = max(1, min(threads_per_actor or DEFAULT_THREADS_PER_ACTOR, total))
        pool = _Pool(ray=ray, threads=threads, judge=judge, size=max(1, math.ceil(total / threads)))
        limit = max_inflight or 2 * pool.size
        logger.info("Ray executor: %d actor(s) x %d thread(s), chunks of %d, at most %d in flight",
                    pool.size, threads, chunk_size, limit)
        yield from _drive(ray, pool, jobs, judge, chunk_size=chunk_size, limit=limit, max_retries=max_retries)
    finally:
        if pool is not None:
            pool.shutdown()
        if started_ray:
            ray.shutdown()


def _drive(ray, pool: _Pool, jobs: Iterable[Any], judge: Judge, *, chunk_size: int, limit: int,
           max_retries: int) -> Iterator[tuple[int | None, Result]]:
    pending: dict[Any, _Chunk] = {}

    def submit(chunk: _Chunk) -> None:
        actor = pool.least_loaded()
        chunk.actor = actor
        chunk.attempts += 1
        pool.load[actor] += 1
        pending[actor.verify_chunk.remote(chunk.items)] = chunk

    def collect(block: bool) -> Iterator[tuple[int, Result]]:
        refs = list(pending)
        ready, _ = ray.wait(refs, num_returns=1 if block else len(refs), timeout=None if block else 0)
        for ref in ready:
            chunk = pending.pop(ref)
            if chunk.actor in pool.load:
                pool.load[chunk.actor] -= 1
            try:
                results = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                    ray.exceptions.ObjectLostError) as exc:
                yield from retry(chunk, f"{type(exc).__name__}")
                continue
            except ray.exceptions.RayTaskError as exc:  # the verifier itself failed on this chunk
                logger.warning("a chunk of %d job(s) failed on its actor: %s", len(chunk.items), exc)
                yield from retry(chunk, "verifier failure")
                continue
            wanted = {i for i, _ in chunk.items}
            for index, result in results:
                if index in wanted:  # each index of the chunk exactly once
                    wanted.discard(index)
                    yield index, result
            for index in sorted(wanted):  # the actor returned fewer results than jobs: never silently
                yield index, Result.failure(_chunk_job_id(chunk, index), Verdict.SANDBOX_ERROR,
                                            "the Ray worker returned no result for this job")

    def retry(chunk: _Chunk, why: str) -> Iterator[tuple[int, Result]]:
        pool.drop(chunk.actor)
        if chunk.attempts > max_retries:
            logger.error("a chunk of %d job(s) lost its worker %d times (%s); reporting sandbox_error",
                         len(chunk.items), chunk.attempts, why)
            for index, job in chunk.items:
                yield index, Result.failure(_chunk_job_id(chunk, index), Verdict.SANDBOX_ERROR,
                                            f"Ray worker lost {chunk.attempts} times ({why}); rerun this job")
            return
        logger.warning("Ray worker lost (%s); retrying its chunk of %d job(s) on a fresh actor (attempt %d)",
                       why, len(chunk.items), chunk.attempts + 1)
        submit(chunk)

    batch: list[tuple[int, Any]] = []
    for index, job in numbered(jobs):
        if job is IDLE:  # a live stream with nothing new: send what is gathered, hand out what is back
            if batch:
                while len(pending) >= limit:
                    yield from collect(block=True)
                submit(_Chunk(batch))
                batch = []
            if pending:
                yield from collect(block=False)
            yield None, IDLE
            continue
        if isinstance(job, BaseException):  # a parse error: becomes its error result here, runs nothing
            yield index, judge(job, index=index)
            continue
        batch.append((index, job))
        if len(batch) >= chunk_size:
            while len(pending) >= limit:
                yield from collect(block=True)
            submit(_Chunk(batch))
            batch = []
            yield from collect(block=False)
    if batch:
        submit(_Chunk(batch))
    while pending:
        yield from collect(block=True)


def _chunk_job_id(chunk: _Chunk, index: int) -> str:
    return next((job_id(job, i) for i, job in chunk.items if i == index), f"job-{index}")


__all__ = ["iter_ray", "connect", "require_ray"]
