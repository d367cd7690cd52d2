import pytest

from ag_eval.compare import outputs_match, parse_compare
from ag_eval.errors import JobError


@pytest.mark.parametrize(
    "actual, expected, mode, ok",
    [
        ("1 2\n3\n", "1 2\n3\n", "lines", True),
        ("1 2   \n3\n\n\n", "1 2\n3", "lines", True),          # trailing spaces and blank lines ignored
        ("1 2\n\n3\n", "1 2\n3\n", "lines", False),             # an inner blank line counts
        (" 1 2\n", "1 2\n", "lines", False),                    # leading whitespace counts
        ("1  2\n", "1 2\n", "lines", False),                    # inner spacing counts
        ("1 2\r\n3\r\n", "1 2\n3\n", "lines", True),            # CRLF is a line ending
        ("a\n", "a", "exact", False),
        ("a", "a", "exact", True),
        ("1\n2  3\n", "1 2 3", "tokens", True),
        ("1 2", "1 2 3", "tokens", False),
        ("0.3333333\n", "0.333333333\n", "float:1e-6", True),
        ("0.34\n", "0.333\n", "float:1e-6", False),
        ("1000001\n", "1000000\n", "float:1e-6", True),          # relative tolerance
        ("1e-7\n", "0\n", "float:1e-6", True),                   # absolute tolerance
        ("YES 1.0\n", "YES 1.0000001\n", "float:1e-6", True),
        ("NO 1.0\n", "YES 1.0\n", "float:1e-6", False),
        ("nan\n", "nan\n", "float:1e-6", True),                  # identical tokens
        ("inf\n", "1e308\n", "float:1e-6", False),
        ("Yes\n", "YES\n", "lines", False),
        ("Yes\n", "YES\n", "lines+icase", True),
        ("yes no", "YES NO", "tokens+icase", True),
    ],
)
def test_comparison_modes(actual, expected, mode, ok):
    assert outputs_match(actual, expected, mode) is ok


@pytest.mark.parametrize("spec, words", [("fuzzy", "not a comparison mode"), ("float:abc", "not a number"),
                                         ("lines:2", "takes no argument"), ("lines+nocase", "only flag")])
def test_bad_compare_spec_is_one_clear_error(spec, words):
    with pytest.raises(JobError, match=words):
        parse_compare(spec)


def test_float_default_tolerance():
    assert parse_compare("float").tolerance == 1e-6
