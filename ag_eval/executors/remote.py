"""A batch judged by a verifier service (``agnostics serve``) over HTTP: GPU nodes verify on a CPU pool.

    verify_many(jobs, verifier_url="http://verifier.internal:8080")   # or AGNOSTICS_VERIFIER_URL

Jobs go in small chunks to the service's ``POST /verify/stream``, several chunks at once;
each result line comes back as its program finishes. At most ``workers`` jobs (default
:data:`DEFAULT_INFLIGHT`) are held at once, so memory stays flat for any number of jobs.

Failures of the service are never a program's failure:

- a 429 or 5xx answer, a refused or broken connection, a stream cut short (the service
  died mid-batch): the chunk's unanswered jobs are sent again after a backoff (doubling
  from :data:`FIRST_BACKOFF_S`, or the service's ``Retry-After``), at most ``retries`` times;
- a job still unanswered after that gets a ``sandbox_error`` result saying why;
- an answer that no retry can mend (a wrong token, a URL that is not a verifier service)
  raises :class:`ag_eval.errors.AgnosticsError` naming the fix.

Identical jobs are still judged once, on this side (:mod:`.dedupe`), before they travel.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import AgnosticsError
from ..jobs import Job, Result, job_id
from ..retry import Backoff, retry_after_s
from ..verdicts import Verdict
from .base import IDLE, Judge, numbered

logger = logging.getLogger(__name__)

#: The base URL of the verifier service every batch goes to, when the caller names none.
VERIFIER_URL_ENV = "AGNOSTICS_VERIFIER_URL"
#: The bearer token the service was started with (``agnostics serve --token-file``).
VERIFIER_TOKEN_ENV = "AGNOSTICS_VERIFIER_TOKEN"
#: Times a job is sent again after the service failed to answer it (default :data:`DEFAULT_RETRIES`).
VERIFIER_RETRIES_ENV = "AGNOSTICS_VERIFIER_RETRIES"
#: Jobs held at once (sent, or waiting to be sent again) when the caller gives no ``workers``.
DEFAULT_INFLIGHT = 256
#: Jobs per request: small, so a lost request costs little and a balancer spreads the load.
DEFAULT_CHUNK_SIZE = 16
#: Times a job is sent again after the service failed to answer it.
DEFAULT_RETRIES = 6
#: The first wait before sending again; it doubles with each attempt (up to :data:`MAX_BACKOFF_S`).
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
BACKOFF = Backoff(first_s=FIRST_BACKOFF_S, max_s=MAX_BACKOFF_S)
#: Seconds to wait for the next result line of a request before giving it up (and retrying).
DEFAULT_READ_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class RemoteVerifier:
    """Where and how to reach a verifier service."""

    url: str
    token: str | None = field(default=None, repr=False)
    retries: int = DEFAULT_RETRIES
    chunk_size: int = DEFAULT_CHUNK_SIZE
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S

    def __post_init__(self) -> None:
        url = self.url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
            raise AgnosticsError(f"verifier URL {self.url!r} is not an http(s) URL; give the base URL of "
                                 "`agnostics serve`, e.g. http://verifier.internal:8080.")
        for key in ("/verify/stream", "/verify", "/run_code"):
            if url.endswith(key):
                raise AgnosticsError(f"verifier URL {self.url!r} names an endpoint; give the service's base URL "
                                     f"({url[: -len(key)]}).")
        object.__setattr__(self, "url", url)
        if self.token is not None and not self.token.strip():
            raise AgnosticsError("the verifier token is empty; give the token the service was started with, "
                                 f"or leave it out (--verifier-token-file, {VERIFIER_TOKEN_ENV}).")
        if self.retries < 0 or self.chunk_size < 1 or self.read_timeout_s <= 0:
            raise AgnosticsError(f"retries={self.retries}, chunk_size={self.chunk_size} and read_timeout_s="
                                 f"{self.read_timeout_s} must be >= 0, >= 1 and > 0.")


def read_token(path: str | os.PathLike) -> str:
    """The token in a file (surrounding whitespace dropped), with one clear error if it cannot be used."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AgnosticsError(f"the verifier token file {path} cannot be read ({exc.strerror}); "
                             "give the file the service's token is in.") from None
    if not token:
        raise AgnosticsError(f"the verifier token file {path} is empty; write the service's token to it.")
    return token


def remote_verifier(url: str | None = None, token: str | None = None, *,
                    token_file: str | os.PathLike | None = None, from_env: bool = True,
                    **settings: Any) -> RemoteVerifier | None:
    """The verifier service to use: ``url``, else (``from_env``) ``$AGNOSTICS_VERIFIER_URL``;
    None when neither names one (an empty ``url`` means none: judge here). The token:
    ``token``, else the one in ``token_file``, else ``$AGNOSTICS_VERIFIER_TOKEN``. Retries:
    ``settings["retries"]``, else ``$AGNOSTICS_VERIFIER_RETRIES``, else :data:`DEFAULT_RETRIES`."""
    if url is None and from_env:
        url = os.environ.get(VERIFIER_URL_ENV)
    if not url or not url.strip():
        return None
    if token is None and token_file is not None:
        token = read_token(token_file)
    if token is None:
        token = os.environ.get(VERIFIER_TOKEN_ENV) or None
    raw = os.environ.get(VERIFIER_RETRIES_ENV, "").strip()
    if raw and "retries" not in settings:
        if not raw.isdigit():
            raise AgnosticsError(f"{VERIFIER_RETRIES_ENV}={raw!r} is not a whole number; use e.g. 6 (or 0: never retry).")
        settings["retries"] = int(raw)
    return RemoteVerifier(url, token, **settings)


@dataclass
class _Chunk:
    number: int
    jobs: list[tuple[int, dict[str, Any]]]  # (index, job as sent)
    answered: set[int] = field(default_factory=set)


class _Fatal(Exception):
    pass


def _post(client, remote: RemoteVerifier, chunk: _Chunk, params: dict[str, str], events: queue.Queue,
          stop: threading.Event) -> None:
    """Send one chunk; put ``("result", chunk, index, Result)`` per answer, then ``("end", chunk, error, wait)``."""
    import httpx

    error, wait = None, None
    try:
        body = json.dumps({"jobs": [job for _, job in chunk.jobs]})
        headers = {"Content-Type": "application/json"}
        if remote.token:
            headers["Authorization"] = f"Bearer {remote.token}"
        with client.stream("POST", remote.url + "/verify/stream", params=params, content=body,
                           headers=headers) as response:
            status = response.status_code
            if status != 200:
                response.read()
                try:
                    message = response.json().get("error", "")
                except ValueError:
                    message = response.text[:200]
                if status in (401, 403):
                    raise _Fatal(f"the verifier service at {remote.url} refused the token ({status}: {message}); "
                                 f"give the token it was started with (--verifier-token-file or {VERIFIER_TOKEN_ENV}).")
                if status in (404, 405):
                    raise _Fatal(f"{remote.url} does not serve POST /verify/stream ({status}); give the base URL "
                                 "of `agnostics serve`, e.g. http://verifier.internal:8080.")
                if status == 413:
                    error = "413"
                elif status == 429 or status >= 500:
                    error, wait = f"HTTP {status} {message}".strip(), retry_after_s(response.headers.get("retry-after"))
                else:
                    raise _Fatal(f"the verifier service at {remote.url} refused a batch ({status}: {message}); "
                                 "check that it runs the same version of agnostics.")
            else:
                for line in response.iter_lines():
                    if stop.is_set():
                        return
                    if not line.strip():
                        continue
                    data = json.loads(line)
                    events.put(("result", chunk, int(data["id"]), Result.from_dict(data)))
    except _Fatal as exc:
        events.put(("fatal", chunk, str(exc), None))
        return
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except (ValueError, KeyError, TypeError) as exc:
        error = f"an answer that is not a result ({exc})"
    except Exception as exc:  # never lose the chunk's jobs: they are sent again
        logger.exception("sending jobs to %s failed", remote.url)
        error = f"{type(exc).__name__}: {exc}"
    events.put(("end", chunk, error, wait))


def iter_remote(jobs: Iterable[Any], judge: Judge, remote: RemoteVerifier, *, inflight: int | None = None,
                fail_fast: bool = False) -> Iterator[tuple[int | None, Result]]:
    """``(index, result)`` as the service at ``remote.url`` judges ``jobs``. A job that cannot be
    sent (a line that did not parse, a malformed job) gets ``judge``'s error result here."""
    import httpx

    cap = max(1, inflight or DEFAULT_INFLIGHT)
    size = min(remote.chunk_size, cap)
    streams = -(-cap // size)
    params = {"include_code": "1", **({"fail_fast": "1"} if fail_fast else {})}
    client = httpx.Client(timeout=httpx.Timeout(30.0, read=remote.read_timeout_s),
                          limits=httpx.Limits(max_connections=streams, max_keepalive_connections=streams))
    pool = ThreadPoolExecutor(max_workers=streams, thread_name_prefix="ag-remote")
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    held: dict[int, tuple[Any, dict[str, Any]]] = {}  # index -> (job as given, as sent): sent or waiting to be
    attempts: dict[int, int] = {}
    waiting: list[tuple[float, list[tuple[int, dict[str, Any]]]]] = []  # (when, jobs) to send again
    building: list[tuple[int, dict[str, Any]]] = []
    numbers = iter(range(1, 1 << 62))
    running = 0
    source = numbered(jobs)
    exhausted = False

    def send(chunk_jobs: list[tuple[int, dict[str, Any]]]) -> None:
        nonlocal running
        running += 1
        pool.submit(_post, client, remote, _Chunk(next(numbers), chunk_jobs), params, events, stop)

    def give_up(index: int, why: str) -> Result:
        job, sent = held.pop(index)
        tries = attempts.pop(index, 0)
        return Result.failure(job_id(job, index), Verdict.SANDBOX_ERROR,
                              f"the verifier service at {remote.url} did not judge this job ({tries} attempt(s); "
                              f"last: {why}); rerun it when the service is back.", language=sent.get("language"))

    try:
        while True:
            now = time.monotonic()
            for when, chunk_jobs in [w for w in waiting if w[0] <= now]:
                waiting.remove((when, chunk_jobs))
                send(chunk_jobs)
            idle = False
            while not exhausted and len(building) < size and len(held) < cap:
                try:
                    index, job = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if job is IDLE:
                    idle = True
                    break
                try:
                    parsed = job if isinstance(job, Job) else Job.from_dict(job)
                except Exception:  # noqa: BLE001 - its error result, as the local judge gives it
                    yield index, judge(job, index=index)
                    continue
                sent = {k: v for k, v in parsed.to_dict().items() if v is not None and k != "metadata"}
                sent["id"] = str(index)
                held[index] = (job, sent)
                building.append((index, sent))
            if building and (len(building) >= size or exhausted or idle or running == 0):
                send(building)
                building = []
            if exhausted and not held:
                return
            if idle:
                timeout = 0.0
            elif waiting:
                timeout = max(0.0, min(w[0] for w in waiting) - time.monotonic())
            else:
                timeout = None
            try:
                event = events.get(timeout=timeout) if timeout != 0.0 else events.get_nowait()
            except queue.Empty:
                event = None
            while event is not None:
                kind, chunk, a, b = event
                if kind == "fatal":
                    raise AgnosticsError(a)
                if kind == "result":
                    index = a
                    if index in held and index not in chunk.answered and any(i == index for i, _ in chunk.jobs):
                        chunk.answered.add(index)
                        job = held.pop(index)[0]
                        attempts.pop(index, None)
                        yield index, replace(b, id=job_id(job, index))
                else:  # the chunk's request ended
                    running -= 1
                    error, wait = a, b
                    left = [(i, sent) for i, sent in chunk.jobs if i not in chunk.answered and i in held]
                    if left and error == "413":
                        if len(left) == 1:
                            attempts[left[0][0]] = attempts.get(left[0][0], 0) + 1
                            yield left[0][0], give_up(left[0][0], "the job is over the service's body limit (413)")
                        else:
                            half = len(left) // 2
                            waiting += [(0.0, left[:half]), (0.0, left[half:])]
                    elif left:
                        why = error or "the service ended the answer early"
                        again = []
                        for i, sent in left:
                            attempts[i] = attempts.get(i, 0) + 1
                            if attempts[i] > remote.retries:
                                yield i, give_up(i, why)
                            else:
                                again.append((i, sent))
                        if again:
                            tries = max(attempts[i] for i, _ in again)
                            delay = BACKOFF.delay(tries, wait)  # jittered: clients that failed together retry apart
                            logger.warning("the verifier service at %s did not answer %d job(s) (%s); sending them "
                                           "again in %.1f s", remote.url, len(again), why, delay)
                            waiting.append((time.monotonic() + delay, again))
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    event = None
            if idle:
                yield None, IDLE
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        client.close()
