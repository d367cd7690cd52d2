"""Comparison of a program's stdout with the expected output, on the host.

Modes (``compare`` in a job):

- ``lines`` (default): trailing whitespace of every line and trailing blank lines are
  ignored; everything else must match, line count included.
- ``exact``: byte-for-byte.
- ``tokens``: whitespace-separated tokens must match.
- ``float:<tol>``: tokens must match, numeric tokens within absolute *or* relative
  tolerance ``tol`` (Kattis-style), e.g. ``float:1e-6``.

Append ``+icase`` for case-insensitive comparison (``tokens+icase``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

from .errors import JobError

MODES = ("lines", "exact", "tokens", "float")


@dataclass(frozen=True)
class Comparator:
    mode: str
    tolerance: float = 0.0
    icase: bool = False

    def __call__(self, actual: str, expected: str) -> bool:
        if self.icase:
            actual, expected = actual.casefold(), expected.casefold()
        return _FUNCS[self.mode](actual, expected, self.tolerance)


@functools.lru_cache(maxsize=256)
def parse_compare(spec: str | None) -> Comparator:
    """Parse a compare spec, with one clear error naming the valid forms."""
    raw = (spec or "lines").strip()
    body, _, flag = raw.partition("+")
    if flag and flag != "icase":
        raise JobError(f"compare={spec!r}: unknown flag {flag!r}; the only flag is '+icase'.")
    mode, _, arg = body.partition(":")
    if mode not in MODES:
        raise JobError(f"compare={spec!r} is not a comparison mode; use lines, exact, tokens or float:<tol> (e.g. float:1e-6).")
    tol = 0.0
    if mode == "float":
        try:
            tol = float(arg) if arg else 1e-6
        except ValueError:
            raise JobError(f"compare={spec!r}: tolerance {arg!r} is not a number; write e.g. float:1e-6.") from None
        if not (tol >= 0 and math.isfinite(tol)):
            raise JobError(f"compare={spec!r}: tolerance must be a finite number >= 0.")
    elif arg:
        raise JobError(f"compare={spec!r}: mode {mode!r} takes no argument.")
    return Comparator(mode=mode, tolerance=tol, icase=bool(flag))


def normalise_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _lines(actual: str, expected: str, _tol: float) -> bool:
    return normalise_lines(actual) == normalise_lines(expected)


def _exact(actual: str, expected: str, _tol: float) -> bool:
    return actual == expected


def _tokens(actual: str, expected: str, _tol: float) -> bool:
    return actual.split() == expected.split()


def _to_float(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value


def _float(actual: str, expected: str, tol: float) -> bool:
    a_tokens, e_tokens = actual.split(), expected.split()
    if len(a_tokens) != len(e_tokens):
        return False
    for a, e in zip(a_tokens, e_tokens):
        if a == e:
            continue
        fe, fa = _to_float(e), _to_float(a)
        if fe is None or fa is None:
            return False
        if math.isnan(fe) or math.isnan(fa):
            return False
        if math.isinf(fe) or math.isinf(fa):
            if fe != fa:
                return False
            continue
        diff = abs(fa - fe)
        if diff > tol and diff > tol * abs(fe):
            return False
    return True


_FUNCS: dict[str, Callable[[str, str, float], bool]] = {
    "lines": _lines, "exact": _exact, "tokens": _tokens, "float": _float,
}


def outputs_match(actual: str, expected: str, compare: str | None = "lines") -> bool:
    return parse_compare(compare)(actual, expected)
