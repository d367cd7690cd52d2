"""The HTTP service: SandboxFusion's ``/run_code`` and the project's own ``/verify`` over the verifier.

    GET  /health          version, languages and their toolchains (no token needed)
    GET  /metrics         Prometheus text format
    POST /run_code        SandboxFusion RunCodeRequest -> RunCodeResponse
    POST /verify          one job -> one result; {"jobs": [...]} -> {"results": [...]}
    POST /verify/stream   JSON lines (or {"jobs": [...]}) -> result lines as they finish

Thin over :mod:`ag_eval`: jobs are :class:`ag_eval.Job`, results ``Result.to_dict()`` as
``verify-batch`` writes them. A client can cause a 4xx, never a fault of another client's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ag_eval import Job, Result, Verdict, get_registry

from .. import __version__
from .metrics import Metrics
from .sandbox_fusion import LANGUAGE_ALIASES, RequestError, job_from_request, response_from_result
from .scheduler import Scheduler

logger = logging.getLogger(__name__)

#: Seconds a /health answer's toolchain lookup is reused (a load balancer may poll it often).
TOOLCHAINS_TTL_S = 10.0


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one service process."""

    workers: int = 2  #: programs judged at once
    max_inflight: int = 128  #: jobs accepted and not yet judged, beyond which requests get 429
    max_body_bytes: int = 64 * 2**20  #: larger request bodies get 413
    token: str | None = None  #: when set, every request but /health needs ``Authorization: Bearer <token>``
    stream_window: int | None = None  #: jobs of one /verify/stream request in flight at once (default 4 x workers)

    def __post_init__(self) -> None:
        for key in ("workers", "max_inflight", "max_body_bytes"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}={getattr(self, key)!r} must be at least 1.")
        if self.token is not None and not self.token:
            raise ValueError("the token is empty; give a long random one (e.g. `openssl rand -hex 32`).")


class Problem(Exception):
    """A request answered with an error status and one sentence saying why and what to do."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # ensure_ascii: a lone surrogate from a client's JSON ("\ud800") stays valid JSON on the way back
    return Response(json.dumps(content, allow_nan=False) + "\n", status, headers=headers, media_type="application/json")


def _line(result: Result, include_code: bool = False) -> bytes:
    return (json.dumps(result.to_dict(include_code=include_code), allow_nan=False) + "\n").encode()


@dataclass(frozen=True)
class JudgeOptions:
    """How a /verify or /verify/stream request's jobs are judged: ``?fail_fast=1`` stops a program at
    its first failing test; ``?include_code=1`` adds each result's ``code`` (the program as judged)."""

    fail_fast: bool = False
    include_code: bool = False

    @classmethod
    def from_request(cls, request: Request) -> "JudgeOptions":
        unknown = set(request.query_params) - {"fail_fast", "include_code"}
        if unknown:
            raise Problem(400, f"unknown query parameter(s) {sorted(unknown)}; /verify takes fail_fast and include_code.")
        values = {}
        for key in ("fail_fast", "include_code"):
            raw = request.query_params.get(key, "0").lower()
            if raw not in ("0", "1", "true", "false"):
                raise Problem(400, f"{key}={raw!r} is not valid; give 1 or 0.")
            values[key] = raw in ("1", "true")
        return cls(**values)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, f"the body is not valid JSON ({exc}); send one JSON object (application/json).") from None


def _job_or_failure(data: Any, index: int) -> Job | Result:
    """A batch entry as a job, or the error result that stands for it (a bad job fails alone)."""
    default_id = f"job-{index}"
    try:
        return Job.from_dict(data, default_id=default_id)
    except Exception as exc:  # JobError and anything else a malformed job could raise
        job_id = str(data["id"]) if isinstance(data, dict) and data.get("id") is not None else default_id
        language = data.get("language") if isinstance(data, dict) and isinstance(data.get("language"), str) else None
        return Result.failure(job_id, Verdict.SANDBOX_ERROR, str(exc), language=language)


class Service:
    def __init__(self, config: ServeConfig):
        self.config = config
        self.metrics = Metrics()
        self.scheduler = Scheduler(config.workers, config.max_inflight, self.metrics)
        self.registry = get_registry()
        self.versions: dict[str, str | None] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._toolchains_cache: dict[str, dict[str, Any]] = {}
        self._toolchains_at = -math.inf

    # ---- plumbing -----------------------------------------------------------------------
    def _authorize(self, request: Request) -> None:
        if self.config.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.config.token.encode()):
            raise Problem(401, "missing or wrong token; send the header 'Authorization: Bearer <token>' with the "
                               "token the service was started with.", {"WWW-Authenticate": "Bearer"})

    async def _body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        too_big = Problem(413, f"the body is over the service's {limit / 2**20:g} MB limit; send fewer jobs per "
                               "request (or start the service with a larger --max-body-mb).")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def _admit(self, n: int) -> None:
        if not self.scheduler.try_admit(n):
            self.metrics.rejected.inc(n)
            retry = self.scheduler.retry_after_s()
            raise Problem(429, f"the service has {self.scheduler.inflight} job(s) in flight (limit "
                               f"{self.config.max_inflight}); retry after {retry} s.", {"Retry-After": str(retry)})

    def endpoint(self, name: str, handler, *, auth: bool = True, timed: bool = True):
        async def wrapped(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if auth:
                    self._authorize(request)
                response = await handler(request)
            except Problem as p:
                response = _json({"error": p.message}, p.status, p.headers)
            except Exception:  # the service's own fault: logged, answered, never fatal
                logger.exception("%s failed", name)
                response = _json({"error": "internal error of the service (see its log)"}, 500)
            self.metrics.requests.labels(name, str(response.status_code)).inc()
            if timed or response.status_code != 200:
                self.metrics.latency.labels(name).observe(time.perf_counter() - started)
            return response
        return wrapped

    # ---- endpoints ----------------------------------------------------------------------
    def _toolchains(self) -> dict[str, dict[str, Any]]:
        languages = {}
        for runner in self.registry:
            missing = runner.missing_executables()
            languages[runner.name] = {"installed": not missing, "missing": missing, "compiled": runner.compiled,
                                      "version": self.versions.get(runner.name), "aliases": list(runner.aliases)}
        return languages

    async def health(self, request: Request) -> Response:
        now = time.monotonic()
        if now - self._toolchains_at > TOOLCHAINS_TTL_S:  # looked up off the loop, at most every few seconds
            self._toolchains_cache = await asyncio.get_running_loop().run_in_executor(self._executor, self._toolchains)
            self._toolchains_at = now
        languages = self._toolchains_cache
        return _json({"status": "ok", "version": __version__, "workers": self.config.workers,
                      "max_inflight": self.config.max_inflight, "inflight": self.scheduler.inflight,
                      "languages": languages, "sandbox_fusion_languages": LANGUAGE_ALIASES})

    async def metrics_text(self, request: Request) -> Response:
        body, content_type = self.metrics.render()
        return Response(body, 200, media_type=content_type)

    async def run_code(self, request: Request) -> Response:
        data = _parse_json(await self._body(request))
        try:
            job = job_from_request(data, self.registry)
        except RequestError as exc:
            raise Problem(400, str(exc)) from None
        self._admit(1)
        result = await self.scheduler.start(job, keep_output=True)  # the client compares stdout itself: all of it
        return _json(response_from_result(result))

    async def verify(self, request: Request) -> Response:
        options = JudgeOptions.from_request(request)
        data = _parse_json(await self._body(request))
        if not isinstance(data, dict):
            raise Problem(400, f"the body must be one job object or {{\"jobs\": [...]}}, got {type(data).__name__}.")
        if "jobs" not in data:
            job = _job_or_failure(data, 0)
            if isinstance(job, Result):
                raise Problem(400, job.error or "malformed job")
            if job.language not in self.registry:
                raise Problem(400, f"unknown language {job.language!r}; known languages: "
                                   f"{', '.join(self.registry.names())}.")
            self._admit(1)
            result = await self.scheduler.start(job, fail_fast=options.fail_fast)
            return _json(result.to_dict(include_code=options.include_code))
        if set(data) != {"jobs"} or not isinstance(data["jobs"], list):
            raise Problem(400, "a batch body is {\"jobs\": [job, ...]} and nothing else.")
        entries = [_job_or_failure(d, i) for i, d in enumerate(data["jobs"])]
        jobs = [e for e in entries if isinstance(e, Job)]
        if len(jobs) > self.config.max_inflight:
            raise Problem(413, f"a batch of {len(jobs)} jobs is over the service's limit of "
                               f"{self.config.max_inflight} in flight; send it to /verify/stream, or split it.")
        self._admit(len(jobs))
        tasks = {id(e): self.scheduler.start(e, fail_fast=options.fail_fast) for e in jobs}
        results = [e if isinstance(e, Result) else await tasks[id(e)] for e in entries]
        return _json({"results": [r.to_dict(include_code=options.include_code) for r in results]})

    async def verify_stream(self, request: Request) -> Response:
        started = time.perf_counter()
        options = JudgeOptions.from_request(request)
        body = await self._body(request)
        entries = self._stream_entries(body)
        if self.scheduler.inflight >= self.config.max_inflight:
            self._admit(1)  # raises the 429
        window = self.config.stream_window or 4 * self.config.workers
        return StreamingResponse(self._stream(entries, window, started, options), media_type="application/x-ndjson")

    def _stream_entries(self, body: bytes) -> list[Job | Result]:
        try:
            whole = json.loads(body)
        except (ValueError, RecursionError):
            whole = None
        if isinstance(whole, dict) and set(whole) == {"jobs"} and isinstance(whole["jobs"], list):
            return [_job_or_failure(d, i) for i, d in enumerate(whole["jobs"])]
        if isinstance(whole, dict):
            return [_job_or_failure(whole, 0)]
        entries: list[Job | Result] = []
        for number, line in enumerate(body.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (ValueError, RecursionError) as exc:
                data = exc
            if isinstance(data, Exception):
                entries.append(Result.failure(f"line-{number}", Verdict.SANDBOX_ERROR,
                                              f"line {number} is not valid JSON ({data}); write one job object per line."))
            else:
                entries.append(_job_or_failure(data, number - 1))
        if not entries:
            raise Problem(400, "the body holds no jobs; send one job object per line, or {\"jobs\": [...]}.")
        return entries

    async def _stream(self, entries: list[Job | Result], window: int, started: float, options: JudgeOptions):
        pending: set[asyncio.Task] = set()

        async def finished(block: bool):
            nonlocal pending
            if not pending:
                return []
            done, pending = await asyncio.wait(pending, timeout=None if block else 0,
                                               return_when=asyncio.FIRST_COMPLETED)
            return [t.result() for t in done]

        try:
            for entry in entries:
                if isinstance(entry, Result):
                    yield _line(entry, options.include_code)
                    continue
                while len(pending) >= window or not self.scheduler.try_admit(1):
                    if pending:
                        for result in await finished(block=True):
                            yield _line(result, options.include_code)
                    else:
                        await self.scheduler.wait_freed()
                pending.add(self.scheduler.start(entry, fail_fast=options.fail_fast))
                for result in await finished(block=False):
                    yield _line(result, options.include_code)
            while pending:
                for result in await finished(block=True):
                    yield _line(result, options.include_code)
        finally:  # a client that hangs up leaves its started jobs to finish and free their places
            self.metrics.latency.labels("/verify/stream").observe(time.perf_counter() - started)

    # ---- lifetime ------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=self.config.workers + 2, thread_name_prefix="ag-serve")
        loop.set_default_executor(self._executor)
        versions = loop.run_in_executor(self._executor, self._detect_versions)
        logger.info("serving with %d worker(s), at most %d job(s) in flight", self.config.workers,
                    self.config.max_inflight)
        try:
            yield
        finally:
            logger.info("shutting down: finishing %d job(s) in flight", self.scheduler.inflight)
            await self.scheduler.drain()
            versions.cancel()
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _detect_versions(self) -> None:
        for runner in self.registry:
            self.versions[runner.name] = runner.detect_version()
        self._toolchains_at = -math.inf  # the next /health shows them


def create_app(config: ServeConfig) -> Starlette:
    """The ASGI application (serve it with uvicorn, or any ASGI server, one process)."""
    service = Service(config)
    e = service.endpoint
    routes = [
        Route("/health", e("/health", service.health, auth=False), methods=["GET"]),
        Route("/metrics", e("/metrics", service.metrics_text), methods=["GET"]),
        Route("/run_code", e("/run_code", service.run_code), methods=["POST"]),
        Route("/verify", e("/verify", service.verify), methods=["POST"]),
        Route("/verify/stream", e("/verify/stream", service.verify_stream, timed=False), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan)
    app.state.service = service
    return app
