import pytest

from ag_datasets.convert import ioruntime as rt
from ag_datasets.convert.iotypes import Unsupported, describe, for_output, infer, resolve, unify

CASES = [
    (5, "5\n"),
    (-2.5, "-2.5\n"),
    (True, "true\n"),
    ("hello", "hello\n"),
    ("two words", "two words\n"),
    ([1, 2, 3], "3\n1 2 3\n"),
    ([], "0\n\n"),
    (["a b", "c"], "2\na b\nc\n"),
    ([[1, 2], [3]], "2\n2 1 2\n1 3\n"),
    ([(1, "x"), (2, "y")], "2\n1 x\n2 y\n"),
    ((1, "x", 2.5), "1 x 2.5\n"),
    ({"b": 2, "a": 1}, "2\nb 2\na 1\n"),
    ([[[1, 2], [3, 4]], [[5, 6]]], "2\n2\n2 1 2\n2 3 4\n1\n2 5 6\n"),
]


@pytest.mark.parametrize("value,text", CASES)
def test_values_round_trip_through_the_text_format(value, text):
    spec = resolve(infer(value))
    assert rt._ag_text(spec, value) == text
    assert rt._AgReader(text).read(spec) == value
    assert describe(spec)


def test_sets_and_output_dicts_print_in_increasing_order():
    assert rt._ag_text(resolve(infer({3, 1, 2})), {3, 1, 2}) == "3\n1 2 3\n"
    spec = for_output(resolve(infer({"b": 2, "a": 1})))
    assert rt._ag_text(spec, {"b": 2, "a": 1}) == "2\na 1\nb 2\n"


def test_integers_and_floats_unify_to_numbers_that_keep_their_kind():
    spec = unify(infer(3), infer(2.5))
    assert spec == {"t": "float"}
    assert rt._AgReader("3\n").read(spec) == 3 and isinstance(rt._AgReader("3\n").read(spec), int)


def test_tuples_keep_their_kind_when_read():
    spec = resolve(infer((1, 2, 3)))
    assert rt._AgReader("3\n1 2 3\n").read(spec) == (1, 2, 3)


@pytest.mark.parametrize("value,reason", [
    (" padded", "ambiguous_string"),
    ("two\nlines", "ambiguous_string"),
    ([1, "a"], "mixed_types"),
    (None, "unsupported_type"),
    (1j, "unsupported_type"),
    (2**70, "int_out_of_range"),
])
def test_values_no_language_can_read_unambiguously_are_refused(value, reason):
    with pytest.raises(Unsupported) as info:
        infer(value)
    assert info.value.reason == reason
