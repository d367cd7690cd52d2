"""One jail serves all tests of a program (and, warm, the programs after it), yet every
test starts from a clean jail: with an exec per test, and with a runner's zygote."""

import pytest

from ag_eval.engine import verify
from ag_eval.sandbox import JAIL_WORKDIR

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
