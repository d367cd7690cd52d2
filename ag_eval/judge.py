"""From how a run ended to a verdict.

Kept apart from the engine so the rules read in one place: a kill is a timeout or a
memory verdict by the evidence (cgroup counters, CPU time), never by guesswork about
the caller's process. The limits a job's runs get are in :mod:`ag_eval.limits`.
"""

from __future__ import annotations

import math
import signal

from .sandbox import ExecLimits, ExecResult
from .verdicts import Verdict

_MEMORY_MESSAGES = (
    "MemoryError", "Cannot allocate memory", "out of memory", "Out of memory", "std::bad_alloc",
    "OutOfMemoryError", "heap exhausted", "cannot allocate vector", "vector memory exhausted",
    "Reached heap limit", "memory allocation failed", "Insufficient memory", "failed to allocate",
)


def classify(res: ExecResult, limits: ExecLimits) -> Verdict | None:
    """The verdict of one run from how it ended; None means it exited 0 (compare next)."""
    if res.sandbox_error:
        return Verdict.SANDBOX_ERROR
    if res.output_exceeded:
        return Verdict.OUTPUT_LIMIT
    killed = res.signal in (signal.SIGKILL, signal.SIGXCPU)
    stderr = res.stderr.decode("utf-8", "replace")
    if res.timed_out or res.cpu_s > limits.cpu_s:
        return Verdict.TIMEOUT
    if killed:
        # Who sent the kill? With cgroups, the jail's own counters say whether memory hit
        # its limit. Without, CPU time near the limit means the CPU rlimit (rusage is
        # tick-based: allow for a loaded host); peak RSS is only a hint (it inherits the
        # caller's peak).
        if res.memory_limit_hit is not None:
            if res.memory_limit_hit:
                return Verdict.MEMORY_LIMIT
            if res.signal == signal.SIGXCPU or res.cpu_s >= 0.5 * max(1, math.ceil(limits.cpu_s)):
                return Verdict.TIMEOUT
        else:
            if res.signal == signal.SIGXCPU or res.cpu_s >= 0.5 * max(1, math.ceil(limits.cpu_s)):
                return Verdict.TIMEOUT
            if res.signal == signal.SIGKILL and res.max_rss_mb >= 0.8 * limits.memory_mb:
                return Verdict.MEMORY_LIMIT
    if (res.exit_code not in (0, None) or res.signal) and any(m in stderr for m in _MEMORY_MESSAGES):
        return Verdict.MEMORY_LIMIT
    if (res.exit_code not in (0, None) or res.signal) and res.cpu_exceeded:
        # The CPU rlimit is per process: a child killed at it (a compiler's cc1plus, a
        # command a shell ran) fails its parent, which exits with an ordinary error code
        # while the CPU time of them all sits at the limit.
        return Verdict.TIMEOUT
    if res.signal == signal.SIGXFSZ:
        return Verdict.OUTPUT_LIMIT
    if res.signal is not None or res.exit_code != 0:
        return Verdict.RUNTIME_ERROR
    return None


def waited_out(res: ExecResult, limits: ExecLimits) -> bool:
    """The run reached its wall-clock limit having used under half its CPU time: it waited
    rather than computed.

    The wait may be the machine's, not the program's: a toolchain's first start on a cold
    page cache (a lazily pulled container image, a network file system) reads its binaries
    from disk, and a loaded host makes everything wait. Such a run is run once more, and the
    second run is judged; a program that sleeps, blocks or deadlocks waits out both.
    """
    return res.timed_out and res.sandbox_error is None and not res.cpu_exceeded and res.cpu_s < 0.5 * limits.cpu_s


def judge_run(res: ExecResult, case, limits: ExecLimits, comparator, mode: str) -> Verdict:
    verdict = classify(res, limits)
    if verdict is not None:
        return verdict
    if mode == "exit_code":
        return Verdict.PASS
    actual = res.stdout.decode("utf-8", "surrogateescape")
    return Verdict.PASS if comparator(actual, case.output) else Verdict.WRONG_OUTPUT
