"""One jail serves all tests of a program (and, warm, the programs after it), yet every
test starts from a clean jail: with an exec per test, and with a runner's zygote."""

import pytest

from ag_eval.engine import verify
from ag_eval.sandbox import JAIL_WORKDIR
from tests.programs import TMP_FLOOD

ISOLATION = r'''
import os, subprocess, sys
seen = os.path.exists("/tmp/marker")
open("/tmp/marker", "w").write("x")
def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""
others = [p for p in os.listdir("/proc") if p.isdigit() and b"sleep" in cmdline(p)]
print("seen" if seen else "fresh", len(others))
if sys.stdin.read().strip() == "spawn":
    subprocess.Popen(["/bin/sleep", "30"], start_new_session=True)
'''


@pytest.fixture(params=["zygote", "exec", "jail-per-test"])
def mode(request, monkeypatch):
    if request.param == "jail-per-test":
        monkeypatch.setenv("AGNOSTICS_ONE_JAIL_PER_TEST", "1")
    if request.param == "exec":
        monkeypatch.setenv("AGNOSTICS_NO_ZYGOTE", "1")
    return request.param


def test_each_test_sees_no_files_or_processes_of_the_previous_one(mode, requires):
    requires("python")
    tests = [{"input": "spawn\n", "output": "fresh 0\n"}, {"input": "spawn\n", "output": "fresh 0\n"},
             {"input": "\n", "output": "fresh 0\n"}]
    result = verify({"id": "iso", "language": "python", "code": ISOLATION, "tests": tests})
    assert result.verdict.value == "pass", [t.stdout for t in result.tests]


def test_verdicts_agree_between_session_and_jail_per_test(mode, requires):
    requires("lua")
    code = "local n = io.read('n') if n == 0 then error('zero') elseif n < 0 then while true do end end print(10 // n)"
    tests = [{"input": "5\n", "output": "2\n"}, {"input": "3\n", "output": "4\n"}, {"input": "0\n", "output": "x"},
             {"input": "-1\n", "output": "x"}, {"input": "1\n", "output": "10\n"}]
    result = verify({"id": "agree", "language": "lua", "code": code, "tests": tests, "time_limit_s": 1})
    assert [t.verdict.value for t in result.tests] == ["pass", "wrong_output", "runtime_error", "timeout", "pass"]


def test_large_input_and_output_round_trip(requires):
    requires("python")
    data = "".join(f"{i}\n" for i in range(200_000))
    result = verify({"id": "big", "language": "python", "code": "import sys\nsys.stdout.write(sys.stdin.read())",
                     "tests": [{"input": data, "output": data}, {"input": "a\n", "output": "a\n"}]})
    assert result.verdict.value == "pass"


def test_a_killed_zygote_is_restarted_and_nothing_passes_between_programs(requires):
    requires("python")
    killer = "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) not in (1, os.getpid()):\n        try: os.kill(int(p), signal.SIGKILL)\n        except OSError: pass\nprint('ok')"
    first = verify({"id": "k", "language": "python", "code": killer, "tests": [{"input": "", "output": "ok\n"}] * 3})
    after = verify({"id": "n", "language": "python", "code": "print(input())", "tests": [{"input": "7\n", "output": "7\n"}]})
    assert first.verdict.value == "pass", first.to_dict()
    assert after.verdict.value == "pass", after.to_dict()


def test_zygote_runs_the_program_as_main_with_normal_exit_semantics(requires):
    requires("python")
    code = "import sys\nif __name__ == '__main__':\n    print(__file__, sys.argv[0])\n    sys.exit(3)"
    result = verify({"id": "m", "language": "python", "code": code, "tests": [{"input": "", "output": ""}]})
    assert result.tests[0].exit_code == 3 and result.tests[0].stdout == f"{JAIL_WORKDIR}/main.py main.py\n"
    crash = verify({"id": "c", "language": "python", "code": "print('a')\nraise ValueError('boom')",
                    "tests": [{"input": "", "output": "a\n"}]})
    assert crash.verdict.value == "runtime_error" and "ValueError: boom" in crash.tests[0].stderr
    assert crash.tests[0].stdout == "a\n"  # buffered output before the crash is kept


# The tests of a program are pipelined into its warm jail: a test that dies, runs out of
# memory or time in the middle must not disturb the verdicts of the tests queued behind it.
MIXED = """
local n = io.read('n')
if n == 1 then local t = {} for i = 1, 1e9 do t[i] = i end
elseif n == 2 then while true do end
elseif n == 3 then error('three')
end
print(n * 2)
"""


def test_a_failing_test_mid_program_does_not_disturb_the_ones_queued_behind_it(mode, requires):
    requires("lua")
    inputs = [5, 1, 6, 2, 7, 3, 8, 1, 9]
    tests = [{"input": f"{n}\n", "output": f"{n * 2}\n"} for n in inputs]
    result = verify({"id": "mixed", "language": "lua", "code": MIXED, "tests": tests, "time_limit_s": 1,
                     "memory_limit_mb": 128})
    assert [t.verdict.value for t in result.tests] == [
        "pass", "memory_limit", "pass", "timeout", "pass", "runtime_error", "pass", "memory_limit", "pass"]
    assert [t.stdout for t in result.tests if t.verdict.value == "pass"] == ["10\n", "12\n", "14\n", "16\n", "18\n"]


def test_fail_fast_stops_at_the_first_failure_and_the_jail_serves_the_next_program(mode, requires):
    requires("lua")
    tests = [{"input": f"{n}\n", "output": f"{n * 2}\n"} for n in (4, 3, 5, 6, 7)]
    crash = verify({"id": "ff", "language": "lua", "code": MIXED, "tests": tests}, fail_fast=True)
    wrong = verify({"id": "ff2", "language": "lua", "code": "print(io.read('n') * 3)", "tests": tests},
                   fail_fast=True)
    right = verify({"id": "ff3", "language": "lua", "code": "print(io.read('n') * 2)", "tests": tests},
                   fail_fast=True)
    assert [t.verdict.value for t in crash.tests] == ["pass", "runtime_error"]
    assert [t.verdict.value for t in wrong.tests] == ["wrong_output"]
    assert right.verdict.value == "pass" and right.passed == 5 and [t.stdout for t in right.tests] == \
        ["8\n", "6\n", "10\n", "12\n", "14\n"]


def test_session_pipeline_skips_what_is_queued_behind_a_halt_until_resumed(requires, tmp_path):
    requires("lua")
    from ag_eval.engine import _make_workdir, default_sandbox
    from ag_eval.limits import test_limits
    from ag_eval.jobs import Job
    from ag_eval.runners import get_runner
    from ag_eval.session import JailSession
    from ag_eval.supervisor import supervisor_binary

    runner = get_runner("lua")
    limits = test_limits(Job.from_dict({"id": "s", "language": "lua", "code": "x", "tests": [{"input": "", "output": ""}],
                                        "memory_limit_mb": 128}), runner)
    session = JailSession(default_sandbox(), supervisor_binary(), runner.run_argv(), workdir=_make_workdir(),
                          limits=limits, env=dict(runner.env), mounts=runner.host_mounts())
    try:
        (session.workdir / runner.source_file).write_text("local n = io.read('n') if n < 0 then os.exit(3) end "
                                                         "if n == 0 then local t = {} for i = 1, 1e9 do t[i] = i end end print(n)")
        session.begin(limits)
        for n in (1, 0, 2, 3):
            session.submit(f"{n}\n".encode())
        assert session.result().stdout == b"1\n"
        killed = session.result()  # a signal death (the memory limit): the supervisor halts
        assert killed.signal is not None and killed.memory_limit_hit and session.halted
        session.resume()  # the two queued behind it come back unrun, and are dropped
        for n in (2, 3):
            session.submit(f"{n}\n".encode())
        assert [session.result().stdout for _ in range(2)] == [b"2\n", b"3\n"]
        session.drain()
        session.begin(limits, stop_on_failure=True)  # the next batch stops at any failure
        for n in (4, -1, 5):
            session.submit(f"{n}\n".encode())
        assert session.result().stdout == b"4\n"
        assert session.result().exit_code == 3 and session.halted
        session.drain()
        assert session.run(b"6\n", limits).stdout == b"6\n"
    finally:
        session.close()


def test_pinned_workers_run_their_jails_on_their_own_cpu(requires, monkeypatch):
    requires("python")
    from ag_eval.affinity import allowed_cpus
    from ag_eval.engine import verify_many

    cpus = allowed_cpus()
    code = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('Cpus_allowed_list')][0])"
    jobs = [{"id": str(i), "language": "python", "code": code, "tests": [{"input": "", "output": ""}]}
            for i in range(4 * len(cpus))]
    monkeypatch.setenv("AGNOSTICS_PIN_CPUS", "0")
    unpinned = {r.tests[0].stdout.strip() for r in verify_many(jobs, workers=len(cpus), dedupe=False)}
    monkeypatch.setenv("AGNOSTICS_PIN_CPUS", "1")
    pinned = [r.tests[0].stdout.strip() for r in verify_many(jobs, workers=len(cpus), dedupe=False)]
    if len(cpus) > 1:
        assert len(unpinned) == 1 and not next(iter(unpinned)).isdigit(), unpinned  # a list or range of CPUs
    assert all(p.isdigit() and int(p) in cpus for p in pinned), pinned
    if len(cpus) > 1:
        assert len(set(pinned)) > 1  # the workers spread over the CPUs


def test_pin_plan_follows_the_setting(monkeypatch):
    from ag_eval.affinity import allowed_cpus, pin_plan
    from ag_eval.errors import AgnosticsError

    n = len(allowed_cpus())
    monkeypatch.delenv("AGNOSTICS_PIN_CPUS", raising=False)
    assert pin_plan(n) == (allowed_cpus() if n > 1 else None)  # auto: one worker per CPU
    assert pin_plan(n + 1) is None
    monkeypatch.setenv("AGNOSTICS_PIN_CPUS", "1")
    assert pin_plan(n + 1) == allowed_cpus()
    monkeypatch.setenv("AGNOSTICS_PIN_CPUS", "0")
    assert pin_plan(n) is None
    monkeypatch.setenv("AGNOSTICS_PIN_CPUS", "yes")
    with pytest.raises(AgnosticsError, match="AGNOSTICS_PIN_CPUS='yes' is not valid"):
        pin_plan(n)


def test_output_is_cut_and_marked_unless_kept_whole(requires):
    requires("python")
    text = "é" * 3000 + "\n"
    job = {"id": "long", "language": "python", "code": f"print({'é' * 3000!r})", "tests": [{"input": "", "output": text}]}
    cut = verify(job)
    assert cut.verdict.value == "pass" and cut.tests[0].truncated and cut.tests[0].to_dict()["truncated"] is True
    assert cut.tests[0].stdout == "é" * 1024 + "…"
    whole = verify(job, keep_output=True)
    assert whole.verdict.value == "pass" and whole.tests[0].stdout == text
    assert not whole.tests[0].truncated and "truncated" not in whole.tests[0].to_dict()


def test_jail_counters_count_starts_and_restarts(requires):
    """A poisoned jail mid-program is counted, and so is the fresh one that replaces it."""
    from ag_eval import stats
    from ag_eval.pool import POOL

    requires("python")
    POOL.close_all()
    before = stats.snapshot()
    flood = TMP_FLOOD
    result = verify({"id": "flood", "language": "python", "code": flood, "time_limit_s": 5, "memory_limit_mb": 1024,
                     "tests": [{"input": "", "output": "done\n"}] * 2})
    after = stats.snapshot()
    assert result.verdict.value == "pass", result.to_dict()
    assert after["jails_started"] - before["jails_started"] == 2
    assert after["jails_poisoned"] - before["jails_poisoned"] == 2
    assert after["jails_restarted"] - before["jails_restarted"] == 1
    assert after["jails_discarded"] - before["jails_discarded"] == 1
    POOL.close_all()
