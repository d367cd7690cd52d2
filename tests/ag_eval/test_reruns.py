"""A run that waits out its wall-clock limit with little CPU time is run once more.

The wait can be the machine's: a toolchain's first start on a cold page cache reads its
binaries from disk (seconds on a lazily pulled image), a loaded host makes everything
wait. The programs here wait only while the clock is before a moment set by the test, so
the first run waits and the second does not, as a cold then warm machine would; a
program that always waits is still a timeout, and one that computes is never rerun.
"""

from __future__ import annotations

import time

import pytest

from ag_eval import Job, Verdict, get_runner, stats, verify
from ag_eval.engine import NO_ZYGOTE_ENV, ONE_JAIL_PER_TEST_ENV
from ag_eval.judge import waited_out
from ag_eval.limits import test_limits
from ag_eval.runners import RUNNERS_PATH_ENV, get_registry
from ag_eval.sandbox import ExecLimits, ExecResult

TIME_LIMIT_S = 1.0
#: How far ahead the moment is: the first run must start before it (the jail is started
#: first), and the second starts a wall limit (3.4 s) after the first, so after it.
AHEAD_S = 3.0

#: Echoes stdin; before the moment UNTIL, sleeps instead (on the inputs in WAIT_ON, or all).
WAITS_UNTIL = """\
import sys, time
data = sys.stdin.read()
if time.time() < {until} and ({wait_on!r} is None or data in {wait_on!r}):
    time.sleep(60)
sys.stdout.write(data)
"""


@pytest.fixture(params=["zygote", "exec", "jail per test"])
def mode(request, monkeypatch, requires):
    requires("python")
    if request.param == "exec":
        monkeypatch.setenv(NO_ZYGOTE_ENV, "1")
    elif request.param == "jail per test":
        monkeypatch.setenv(ONE_JAIL_PER_TEST_ENV, "1")
    # Start the jail (and the zygote) first: the programs below must start before their moment.
    assert verify(_job("print(input())", ["warm"])).verdict is Verdict.PASS
    return request.param


def _job(code: str, inputs: list[str], **extra) -> dict:
    return {"id": "rerun", "language": "python", "code": code, "time_limit_s": TIME_LIMIT_S,
            "tests": [{"input": i + "\n", "output": i + "\n"} for i in inputs], **extra}


def _wall_s() -> float:
    return test_limits(Job.from_dict(_job("", ["x"])), get_runner("python")).wall_s


def test_waited_out_means_the_wall_limit_with_little_cpu_time():
    limits = ExecLimits(cpu_s=2.0, wall_s=5.0, memory_mb=256)
    waited = ExecResult(None, 9, 5.0, 0.1, b"", b"", timed_out=True)
    assert waited_out(waited, limits)
    assert not waited_out(ExecResult(None, 9, 5.0, 1.5, b"", b"", timed_out=True), limits)  # it computed
    assert not waited_out(ExecResult(None, 9, 2.1, 2.1, b"", b"", cpu_exceeded=True), limits)
    assert not waited_out(ExecResult(0, None, 0.5, 0.1, b"", b""), limits)
    assert not waited_out(ExecResult(None, None, 5.0, 0.0, b"", b"", timed_out=True, sandbox_error="x"), limits)


def test_a_first_run_that_waits_is_rerun_and_the_second_run_judged(mode):
    before = stats.snapshot()["reruns"]
    result = verify(_job(WAITS_UNTIL.format(until=time.time() + AHEAD_S, wait_on=None), ["hello"]))
    assert result.verdict is Verdict.PASS, result.to_dict()
    assert result.tests[0].rerun and result.to_dict()["tests"][0]["rerun"] is True
    assert stats.snapshot()["reruns"] - before == 1


@pytest.mark.parametrize("fail_fast", [False, True], ids=["all tests", "fail fast"])
def test_a_rerun_in_the_middle_keeps_every_test_in_its_place(mode, fail_fast):
    inputs = ["a", "b", "c", "d"]
    code = WAITS_UNTIL.format(until=time.time() + AHEAD_S, wait_on=["b\n"])
    result = verify(_job(code, inputs), fail_fast=fail_fast)
    assert result.verdict is Verdict.PASS and result.passed == 4, result.to_dict()
    assert [t.stdout for t in result.tests] == [i + "\n" for i in inputs]
    assert [t.rerun for t in result.tests] == [False, True, False, False]
    assert "rerun" not in result.to_dict()["tests"][0]  # kept only when set


def test_a_program_that_always_waits_is_a_timeout_after_two_runs(mode):
    started = time.monotonic()
    result = verify(_job("import time\ntime.sleep(60)\n", ["x"]))
    elapsed = time.monotonic() - started
    assert result.verdict is Verdict.TIMEOUT and result.tests[0].rerun, result.to_dict()
    assert 2 * _wall_s() - 0.5 <= elapsed <= 2 * _wall_s() + 3.0, elapsed


def test_a_program_that_computes_past_its_limit_is_not_rerun(mode):
    before = stats.snapshot()["reruns"]
    result = verify(_job("while True:\n    pass\n", ["x"]))
    assert result.verdict is Verdict.TIMEOUT and not result.tests[0].rerun, result.to_dict()
    assert stats.snapshot()["reruns"] == before


@pytest.fixture
def waiting_compiler(tmp_path, monkeypatch):
    """A runner whose compile step is the program itself, a shell script, with a 1 s limit."""
    folder = tmp_path / "runners"
    folder.mkdir()
    (folder / "shbuild.yaml").write_text(
        "name: shbuild\nsource_file: build.sh\ncompile: sh {{ source }}\nrun: sh prog.sh\n"
        "version: sh -c 'echo sh'\nexecutables: [sh, date, sleep]\npackages: [dash, coreutils]\n"
        "limits:\n  compile_time_s: 1\n"
    )
    monkeypatch.setenv(RUNNERS_PATH_ENV, str(folder))
    get_registry(reload=True)
    yield
    monkeypatch.undo()
    get_registry(reload=True)


def test_a_compile_step_that_waits_is_rerun_from_the_source_alone(waiting_compiler):
    until = int(time.time()) + 3  # after the first compile starts, before the second (3 s later)
    # The first compile leaves a file behind and waits; the second must not find it.
    build = (f"[ -e stale ] && exit 3\n"
             f"if [ \"$(date +%s)\" -lt {until} ]; then touch stale; sleep 60; fi\n"
             "printf 'cat\\n' > prog.sh\n")
    result = verify({"id": "build", "language": "shbuild", "code": build,
                     "tests": [{"input": "ok\n", "output": "ok\n"}]})
    assert result.verdict is Verdict.PASS, result.to_dict()
    assert result.compile.status == "ok" and result.compile.time_s < 3.0 and result.compile.rerun
    assert result.to_dict()["compile"]["rerun"] is True
