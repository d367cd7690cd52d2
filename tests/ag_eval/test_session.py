"""One jail serves all tests of a program, yet every test starts from a clean jail."""

import pytest

from ag_eval.engine import verify

ISOLATION = r'''
import os, subprocess, sys
seen = os.path.exists("/tmp/marker")
open("/tmp/marker", "w").write("x")
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
print("seen" if seen else "fresh", len(others))
if sys.stdin.read().strip() == "spawn":
    subprocess.Popen(["/bin/sleep", "30"], start_new_session=True)
'''


@pytest.fixture(params=["session", "jail-per-test"])
def mode(request, monkeypatch):
    if request.param == "jail-per-test":
        monkeypatch.setenv("AGNOSTICS_ONE_JAIL_PER_TEST", "1")
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
