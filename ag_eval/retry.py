"""Retrying a request that failed for a reason a later try can mend: one backoff for every client.

    def attempt():
        response = client.post(...)
        if response.status_code in RETRY_STATUS:
            raise TryAgain(f"HTTP {response.status_code}", retry_after_s(response.headers.get("retry-after")))
        return response.json()

    data = call_with_retries(attempt, retries=5, backoff=Backoff(first_s=1.0))

The wait doubles from ``first_s`` up to ``max_s``, or is what the server asked for in
``Retry-After`` (up to ``max_retry_after_s``), and is stretched by up to ``jitter`` of itself
at random, so that clients that failed together retry apart. Used by the LLM conversion
client, the OpenAI-compatible generation backend and the verifier-service executor.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")

#: HTTP statuses worth another try: timeouts, conflicts, rate limits, a server's own failures.
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class TryAgain(Exception):
    """Raised by an attempt that failed for a passing reason; ``retry_after`` (seconds): the server's wish."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


class RetriesExhausted(Exception):
    """Every attempt failed; ``problem`` is the last one's reason, ``attempts`` how many were made."""

    def __init__(self, problem: str, attempts: int):
        super().__init__(f"{attempts} attempt(s) failed; last: {problem}")
        self.problem = problem
        self.attempts = attempts


@dataclass(frozen=True)
class Backoff:
    """How long to wait before each retry."""

    first_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.25
    max_retry_after_s: float = 120.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1 for the first); ``retry_after`` as the server asked."""
        if retry_after is not None:
            wait = min(max(retry_after, 0.0), self.max_retry_after_s)
        else:
            wait = min(self.max_s, self.first_s * 2 ** (max(retry, 1) - 1))
        return wait * (1 + random.random() * self.jitter)


def retry_after_s(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (delay-seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def call_with_retries(attempt: Callable[[], T], *, retries: int, backoff: Backoff = Backoff(),
                      on_retry: Callable[[int, str, float], None] | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """``attempt()``'s value, calling it again after a wait each time it raises :class:`TryAgain`,
    at most ``retries`` times more; then :class:`RetriesExhausted`. Any other exception ends it.
    ``on_retry(retry, problem, wait_s)`` is told of each retry before its wait (e.g. to log it)."""
    for tries in range(1, retries + 2):
        try:
            return attempt()
        except TryAgain as exc:
            if tries > retries:
                raise RetriesExhausted(exc.problem, tries) from None
            wait = backoff.delay(tries, exc.retry_after)
            if on_retry is not None:
                on_retry(tries, exc.problem, wait)
            sleep(wait)
    raise AssertionError("unreachable")
