import pytest

from ag_datasets.convert import SourceTask
from ag_datasets.convert.iotypes import Unsupported
from ag_datasets.convert.mechanical import MechanicalConverter, convert_task, parse_assert


def task(code, tests, text="Write a function to do it.", source_id="1"):
    return SourceTask(source="mbpp", source_id=source_id, text=text, code=code, tests=tests)


@pytest.mark.parametrize("src,args,expected", [
    ("assert f(1, [2, 3]) == 4", [1, [2, 3]], 4),
    ("assert 4 == f(1)", [1], 4),
    ("assert f('a')", ["a"], True),
    ("assert not f('a')", ["a"], False),
    ("assert f(10, 1.0/4) == 0.25", [10, 0.25], 0.25),
    ("assert f((3 + 5, 2 * 4)) == 'x' + 'y'", [(8, 8)], "xy"),
])
def test_assert_forms_are_parsed(src, args, expected):
    name, case = parse_assert(src, None)
    assert name == "f" and case.args == args and case.expected == expected


def test_tolerance_asserts_give_the_tolerance():
    _, case = parse_assert("assert abs(f(2) - 1.41) < 1e-3", None)
    assert case.tol == "0.001" and case.expected == 1.41
    _, case = parse_assert("assert math.isclose(f(2), 1.41, rel_tol=0.01)", None)
    assert case.tol == "0.01"


def test_non_literal_arguments_are_refused_with_the_reason():
    with pytest.raises(Unsupported) as info:
        parse_assert("assert f(Pair(1, 2)) == 3", None)
    assert info.value.reason == "non_literal_test"


def test_a_converted_problem_states_its_formats_and_wraps_the_reference():
    conv = convert_task(task("def add_all(xs, k):\n    return [x + k for x in xs]\n",
                             ["assert add_all([1, 2], 3) == [4, 5]", "assert add_all([], 1) == []"],
                             text="Write a python function to add k to every element."))
    p = conv.problem
    assert p.statement.startswith("Write a program to add k to every element.")
    assert "## Input format" in p.statement and "## Output format" in p.statement
    assert "`xs`, a list of integers" in p.statement and "`k`: an integer on one line" in p.statement
    assert p.tests == [{"input": "2\n1 2\n3\n", "output": "2\n4 5\n"}, {"input": "0\n\n1\n", "output": "0\n\n"}]
    assert p.compare == "tokens" and p.public_tests == p.tests[:1]
    assert p.provenance.converter == "mechanical"
    scope = {"__name__": "not_main"}
    exec(compile(conv.solution, "solution", "exec"), scope)  # the driver defines, the guard keeps it idle
    assert "_ag_main" in scope


def test_float_results_compare_with_a_tolerance_and_strings_with_spaces_by_lines():
    conv = convert_task(task("def half(x):\n    return x / 2\n", ["assert half(3) == 1.5"]))
    assert conv.problem.compare == "float:1e-6"
    conv = convert_task(task("def greet(x):\n    return 'hi ' + x\n", ["assert greet('bob') == 'hi bob'"]))
    assert conv.problem.compare == "lines"


def test_conversion_is_deterministic():
    t = task("def f(d):\n    return {k: v * 2 for k, v in d.items()}\n", ["assert f({'b': 1, 'a': 2}) == {'a': 4, 'b': 2}"])
    a, b = MechanicalConverter().convert([t, t])
    assert a.problem.to_row() == b.problem.to_row() and a.solution == b.solution


@pytest.mark.parametrize("tests,reason", [
    (["assert f([1, 'a']) == 1"], "mixed_types"),
    (["assert f(' x') == 1"], "ambiguous_string"),
    (["assert f(1) == None"], "unsupported_type"),
    (["assert f(1) == 1", "assert f(1) == 2"], "inconsistent_tests"),
])
def test_refused_tasks_carry_a_reason_and_a_detail(tests, reason):
    conv = convert_task(task("def f(x):\n    return x\n", tests))
    assert not conv.ok and conv.reason == reason and conv.detail


def test_python2_reference_code_is_refused():
    conv = convert_task(task("def f(x):\n    print x\n", ["assert f(1) == 1"]))
    assert conv.reason == "reference_syntax_error"
