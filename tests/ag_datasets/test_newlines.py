"""Line ends: CRLF and clear lone-CR line ends become LF wherever a source's text enters."""

import pytest

from ag_datasets.convert import SourceTask
from ag_datasets.newlines import normalize_newlines, normalize_newlines_in
from ag_datasets.schema import Problem


@pytest.mark.parametrize("text, expected", [
    ("abc\r\ndef\r\n", "abc\ndef\n"),          # CRLF (open-r1's Codeforces official tests)
    ("1 2\r\r\n3\r\n", "1 2\n3\n"),            # CR doubled before LF
    ("a\rb\rc\r", "a\nb\nc\n"),                # CR-only line ends
    ("def f():\r\n  return 1\r", "def f():\n  return 1\n"),  # a last line ended by CR alone (MBPP code)
    ("progress\r50%\nend\n", "progress\r50%\nend\n"),         # a CR inside a line of LF text is data: kept
    ("plain\n", "plain\n"),
    ("", ""),
])
def test_line_ends_become_lf_and_a_cr_inside_a_line_is_kept(text, expected):
    assert normalize_newlines(text) == expected


def test_nested_rows_are_normalised_and_other_values_kept():
    row = {"t": [{"input": "1\r\n", "output": "2\r\n"}], "n": 3, "ok": True, "none": None}
    assert normalize_newlines_in(row) == {"t": [{"input": "1\n", "output": "2\n"}], "n": 3, "ok": True, "none": None}


def test_unit_test_tasks_and_problems_hold_lf_only():
    task = SourceTask(source="mbpp", source_id="1", text="Sum two.\r\n", code="def f(a, b):\r\n    return a + b\r",
                      tests=["assert f(1, 2) == 3\r\n"], setup_code="x = 1\r\n")
    assert (task.text, task.code, task.tests, task.setup_code) == (
        "Sum two.\n", "def f(a, b):\n    return a + b\n", ["assert f(1, 2) == 3\n"], "x = 1\n")
    problem = Problem(problem_id="x/1", source="x", source_id="1", title="T\r\n", statement="S\r\nT\r\n",
                      tests=[{"input": "1\r\n", "output": "2\r\n"}], public_tests=[{"input": "1\r", "output": "2\r"}])
    assert (problem.title, problem.statement) == ("T\n", "S\nT\n")
    assert problem.tests == [{"input": "1\n", "output": "2\n"}]
    assert problem.public_tests == [{"input": "1\n", "output": "2\n"}]
