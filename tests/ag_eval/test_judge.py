"""How a run's end becomes a verdict (ag_eval.judge), on runs made up and on real ones."""

from __future__ import annotations

import signal

import pytest

from ag_eval import Verdict, verify
from ag_eval.judge import classify
from ag_eval.sandbox import ExecLimits, ExecResult

LIMITS = ExecLimits(cpu_s=1.0, wall_s=3.0, memory_mb=256)


def _run(exit_code=0, sig=None, cpu_s=0.1, stderr=b"", **flags) -> ExecResult:
    return ExecResult(exit_code, sig, 0.5, cpu_s, b"", stderr, **flags)


@pytest.mark.parametrize(("run", "verdict"), [
    (_run(), None),
    (_run(exit_code=1), Verdict.RUNTIME_ERROR),
    (_run(cpu_s=1.2), Verdict.TIMEOUT),
    (_run(timed_out=True), Verdict.TIMEOUT),
    (_run(sig=signal.SIGXCPU, cpu_s=1.0, cpu_exceeded=True), Verdict.TIMEOUT),
    # a child killed at the per-process CPU rlimit; its parent exits with an error of its own
    (_run(exit_code=152, cpu_s=0.99, cpu_exceeded=True), Verdict.TIMEOUT),
    (_run(exit_code=1, cpu_s=1.0, cpu_exceeded=True, stderr=b"g++: fatal error: Killed signal terminated program cc1plus"),
     Verdict.TIMEOUT),
    # at the limit and ended well: compared, not a timeout
    (_run(exit_code=0, cpu_s=0.95, cpu_exceeded=True), None),
    # a memory error says so, whatever the CPU time
    (_run(exit_code=1, cpu_s=0.95, cpu_exceeded=True, stderr=b"MemoryError"), Verdict.MEMORY_LIMIT),
], ids=["ok", "error", "cpu", "wall", "sigxcpu", "child-sigxcpu", "compiler-child", "ok-at-limit", "memory-message"])
def test_classify(run, verdict):
    assert classify(run, LIMITS) is verdict


def test_a_shell_whose_child_hits_the_cpu_limit_is_a_timeout(requires):
    # An integer CPU limit (bash adds no start-up time): the child dies at the rlimit, so the
    # CPU time of the whole run sits at the limit, and the shell goes on to exit 3.
    requires("bash")
    code = "sh -c 'while :; do :; done'\necho \"child: $?\"\nexit 3\n"
    result = verify({"id": "child", "language": "bash", "code": code, "time_limit_s": 1,
                     "tests": [{"input": "", "output": "x\n"}]})
    assert result.verdict is Verdict.TIMEOUT, result.to_dict()
    assert result.tests[0].stdout == "child: 152\n"  # 128 + SIGXCPU: the child was stopped at the limit
