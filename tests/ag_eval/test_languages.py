"""Every runner's self-tests, through the real sandbox: correct, wrong, crashing,
non-compiling and looping programs get their verdicts in every installed language."""

import pytest

from ag_eval.engine import verify
from ag_eval.runners import get_registry
from ag_eval.selftest import selftest_jobs

CASES = [(r, st, job) for r in get_registry() for st, job in zip(r.selftests, selftest_jobs(r))]


@pytest.mark.parametrize("runner, selftest, job", CASES, ids=[job["id"] for _, _, job in CASES])
def test_selftest_gets_its_expected_verdict(runner, selftest, job, requires):
    requires(runner.name)
    result = verify(job)
    assert result.verdict is selftest.expect, result.to_dict()


@pytest.mark.parametrize("name", ["lua", "julia", "r", "ocaml", "fortran", "python"])
def test_required_languages_are_shipped_with_selftests(name):
    runner = get_registry().get(name)
    verdicts = {st.expect.value for st in runner.selftests}
    assert {"pass", "wrong_output", "runtime_error", "timeout"} <= verdicts
    if runner.compiled:
        assert "compile_error" in verdicts
    assert runner.prompt_hint


def test_compiled_language_compiles_once_for_many_tests(requires):
    requires("c")
    code = '#include <stdio.h>\nint main(){long a,b; scanf("%ld %ld",&a,&b); printf("%ld\\n",a+b); return 0;}\n'
    tests = [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"} for i in range(10)]
    result = verify({"id": "c10", "language": "c", "code": code, "tests": tests})
    assert result.verdict.value == "pass" and result.passed == 10
    assert result.compile.status == "ok"
    assert len(result.tests) == 10


def test_fail_fast_stops_at_first_failure(requires):
    requires("lua")
    tests = [{"input": "", "output": "1\n"}, {"input": "", "output": "2\n"}, {"input": "", "output": "1\n"}]
    result = verify({"id": "ff", "language": "lua", "code": "print(1)", "tests": tests}, fail_fast=True)
    assert result.verdict.value == "wrong_output"
    assert result.passed == 1 and len(result.tests) == 2 and result.total == 3


def test_exit_code_mode_judges_by_status(requires):
    requires("python")
    ok = verify({"id": "a", "language": "python", "code": "assert 1 + 1 == 2\n", "tests": [], "mode": "exit_code"})
    bad = verify({"id": "b", "language": "python", "code": "assert 1 + 1 == 3\n", "tests": [], "mode": "exit_code"})
    assert ok.verdict.value == "pass" and bad.verdict.value == "runtime_error"


def test_completion_is_extracted_before_running(requires):
    requires("python")
    completion = "Here is my solution:\n\n```python\nprint(int(input()) * 2)\n```\nIt doubles the input."
    result = verify({"id": "c", "language": "python", "completion": completion,
                     "tests": [{"input": "21\n", "output": "42\n"}]})
    assert result.verdict.value == "pass"
    none = verify({"id": "d", "language": "python", "completion": "I cannot solve this.",
                   "tests": [{"input": "", "output": ""}]})
    assert none.verdict.value == "no_code"
