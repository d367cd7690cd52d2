"""One retry helper for every client: doubling waits with jitter, Retry-After honoured, a clear end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from ag_eval.retry import Backoff, RetriesExhausted, TryAgain, call_with_retries, retry_after_s


def flaky(failures: list[TryAgain], value="ok"):
    """An attempt that raises each of ``failures`` in turn, then returns ``value``; counts its calls."""
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return value

    return attempt, calls


def test_waits_double_with_jitter_until_an_attempt_succeeds():
    attempt, calls = flaky([TryAgain("HTTP 503")] * 3)
    waits, told = [], []
    backoff = Backoff(first_s=1.0, max_s=3.0, jitter=0.25)
    result = call_with_retries(attempt, retries=5, backoff=backoff, sleep=waits.append,
                               on_retry=lambda retry, problem, wait: told.append((retry, problem)))
    assert result == "ok" and len(calls) == 4
    assert [(1, "HTTP 503"), (2, "HTTP 503"), (3, "HTTP 503")] == told
    for wait, base in zip(waits, [1.0, 2.0, 3.0]):  # doubling, capped at max_s
        assert base <= wait <= base * 1.25


def test_retry_after_is_honoured_and_capped():
    attempt, _ = flaky([TryAgain("HTTP 429", retry_after=7.0), TryAgain("HTTP 429", retry_after=500.0)])
    waits = []
    call_with_retries(attempt, retries=2, backoff=Backoff(first_s=0.1, jitter=0.0, max_retry_after_s=60.0),
                      sleep=waits.append)
    assert waits == [7.0, 60.0]


def test_spent_retries_end_with_the_last_problem_and_other_errors_are_not_retried():
    attempt, calls = flaky([TryAgain("refused")] * 2 + [TryAgain("HTTP 502")] * 5)
    with pytest.raises(RetriesExhausted) as info:
        call_with_retries(attempt, retries=2, sleep=lambda s: None)
    assert info.value.attempts == 3 and info.value.problem == "HTTP 502" and len(calls) == 3

    def refused():
        calls.append(1)
        raise PermissionError("bad key")

    calls.clear()
    with pytest.raises(PermissionError):
        call_with_retries(refused, retries=5, sleep=lambda s: None)
    assert len(calls) == 1


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_s("3") == 3.0 and retry_after_s("-2") == 0.0
    assert retry_after_s(None) is None and retry_after_s("") is None and retry_after_s("soon") is None
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25.0 <= retry_after_s(format_datetime(later, usegmt=True)) <= 30.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
