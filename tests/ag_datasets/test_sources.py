import base64
import json
import pickle
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ag_datasets.errors import SourceError
from ag_datasets.sources import codeforces, livecodebench
from ag_datasets.sources.livecodebench import decode_tests, release_files

from .conftest import CF_CRLF_SAMPLE, CF_SAMPLE, LCB_SAMPLE


def lcb_row():
    return json.loads(LCB_SAMPLE.read_text().splitlines()[0])


def encode(obj):
    return base64.b64encode(zlib.compress(pickle.dumps(obj))).decode()


def test_the_real_livecodebench_row_decodes_to_stdin_tests():
    row = lcb_row()
    private = decode_tests(row["private_test_cases"])  # base64 -> zlib -> pickle -> JSON
    public = decode_tests(row["public_test_cases"])    # plain JSON
    assert private and public and all(t["testtype"] == "stdin" for t in private + public)
    problems, report = livecodebench.load_problems(str(LCB_SAMPLE))
    [p] = problems
    assert p.problem_id == "livecodebench/1873_A" and p.title == "A. Short Sort"
    assert len(p.tests) == len(public) + len(private) and p.public_tests == [
        {"input": t["input"], "output": t["output"]} for t in public]
    assert p.tests[0] == {"input": "6\nabc\nacb\nbac\nbca\ncab\ncba\n", "output": "YES\nYES\nYES\nNO\nNO\nYES\n"}
    assert "## Input format" in p.statement and "## Output format" in p.statement
    assert p.compare == "tokens+icase"  # "You can output the answer in any case"
    assert p.difficulty == "easy" and report.dropped == 0


def test_the_unpickler_refuses_anything_but_strings_and_containers():
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    with pytest.raises(SourceError):
        decode_tests(encode(Evil()))
    assert decode_tests(encode(json.dumps([{"input": "1\n", "output": "2\n", "testtype": "stdin"}])))[0]["output"] == "2\n"


def test_functional_problems_and_contest_dates_are_filtered_with_reasons(tmp_path):
    row = lcb_row()
    functional = dict(row, question_id="abc", public_test_cases=json.dumps(
        [{"input": "[1]", "output": "1", "testtype": "functional"}]), private_test_cases="[]")
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(functional) + "\n")
    problems, report = livecodebench.load_problems(str(path))
    assert [p.source_id for p in problems] == ["1873_A"]
    assert [(d.problem_id, d.reason) for d in report.drops] == [("livecodebench/abc", "functional_tests")]
    problems, report = livecodebench.load_problems(str(path), since="2023-09-01")
    assert not problems and {d.reason for d in report.drops} == {"contest_date"}
    problems, _ = livecodebench.load_problems(str(path), until="2023-08-21")
    assert len(problems) == 1


def test_releases_name_their_files():
    assert release_files("release_v3") == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    assert release_files("v5") == ["test5.jsonl"]
    with pytest.raises(SourceError):
        release_files("latest")


def test_float_answers_get_a_tolerance():
    text = "Your answer is considered correct if its absolute or relative error does not exceed $10^{-9}$."
    assert livecodebench.compare_for(text) == "float:1e-9"


def test_codeforces_keeps_plain_stdio_problems_only():
    problems, report = codeforces.load_problems(str(CF_SAMPLE))
    assert [p.problem_id for p in problems] == ["codeforces/4/A", "codeforces/71/A"]
    assert {d.problem_id: d.reason for d in report.drops} == {
        "codeforces/1/A": "custom_checker", "codeforces/1807/E": "interactive",
        "codeforces/120/A": "not_stdio", "codeforces/2000/Z": "no_tests"}
    watermelon, words = problems
    assert len(watermelon.tests) == 4 and "official tests (complete)" in watermelon.provenance.notes
    assert words.tests == words.public_tests and "examples" in words.provenance.notes  # official incomplete
    assert words.tests[0]["input"].endswith("\n")
    assert (watermelon.time_limit_s, watermelon.memory_limit_mb, watermelon.difficulty) == (1.0, 64, "800")
    assert watermelon.tags == ["brute force", "math"]
    for heading in ("## Input format", "## Output format", "## Example", "## Note"):
        assert heading in watermelon.statement


def test_codeforces_reads_parquet_too(tmp_path):
    rows = [json.loads(line) for line in CF_SAMPLE.read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train-00000-of-00001.parquet")
    problems, report = codeforces.load_problems(str(tmp_path))
    assert len(problems) == 2 and report.total == 6


def test_codeforces_split_is_seeded_and_sized():
    problems, _ = codeforces.load_problems(str(CF_SAMPLE))
    many = [type(problems[0])(**{**problems[0].__dict__, "problem_id": f"codeforces/{i}/A"}) for i in range(400)]
    a = codeforces.split_problems(many, seed=0)
    b = codeforces.split_problems(list(reversed(many)), seed=0)
    assert {k: len(v) for k, v in a.items()} == {"train": 95, "validation": 200, "test": 105}
    assert [p.problem_id for p in a["test"]] == [p.problem_id for p in b["test"]]
    assert [p.problem_id for p in codeforces.split_problems(many, seed=1)["test"]] != [p.problem_id for p in a["test"]]


def test_a_source_of_the_wrong_layout_names_the_missing_columns(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "1/A"}) + "\n")
    with pytest.raises(SourceError, match="lacks column"):
        codeforces.load_problems(str(path))


# The `default` config of open-r1/codeforces, column by column, as its dataset card publishes it.
_TEST_LIST = pa.list_(pa.struct([("input", pa.string()), ("output", pa.string())]))
OPEN_R1_CODEFORCES = pa.schema([
    ("id", pa.string()), ("aliases", pa.list_(pa.string())), ("contest_id", pa.string()),
    ("contest_name", pa.string()), ("contest_type", pa.string()), ("contest_start", pa.int64()),
    ("contest_start_year", pa.int64()), ("index", pa.string()), ("time_limit", pa.float64()),
    ("memory_limit", pa.float64()), ("title", pa.string()), ("description", pa.string()),
    ("input_format", pa.string()), ("output_format", pa.string()), ("interaction_format", pa.string()),
    ("note", pa.string()), ("examples", _TEST_LIST), ("editorial", pa.string()), ("rating", pa.int64()),
    ("tags", pa.list_(pa.string())), ("testset_size", pa.int64()), ("official_tests", _TEST_LIST),
    ("official_tests_complete", pa.bool_()), ("input_mode", pa.string()), ("generated_checker", pa.string()),
    ("executable", pa.bool_()), ("generated_tests", pa.int64()),
])
READ_A_LINE = 's = input()\nprint(f"{s}:{len(s)}")\n'


def verdict_of_a_line_reader(problem):
    from ag_eval import verify

    return verify({"id": problem.problem_id, "language": "python", "code": READ_A_LINE,
                   "tests": problem.tests, "compare": problem.compare}).verdict


def no_carriage_return(problem):
    return not any("\r" in t["input"] + t["output"] for t in problem.tests + problem.public_tests) \
        and "\r" not in problem.statement


def test_codeforces_crlf_official_tests_come_out_lf_and_a_correct_line_reader_passes(tmp_path, sandbox):
    from ag_eval import Verdict

    rows = [json.loads(line) for line in CF_CRLF_SAMPLE.read_text().splitlines()]
    assert list(rows[0]) == OPEN_R1_CODEFORCES.names  # the fixture has open-r1's columns, in order
    assert rows[0]["official_tests"][1] == {"input": "abc\r\n", "output": "abc:3\r\n"}
    pq.write_table(pa.Table.from_pylist(rows, schema=OPEN_R1_CODEFORCES), tmp_path / "train-00000-of-00001.parquet")
    [problem], report = codeforces.load_problems(str(tmp_path))
    assert report.dropped == 0 and "3 official tests" in problem.provenance.notes
    assert problem.tests[1] == {"input": "abc\n", "output": "abc:3\n"}
    assert problem.public_tests == [{"input": "codeforces\n", "output": "codeforces:10"}]
    assert no_carriage_return(problem)
    assert verdict_of_a_line_reader(problem) is Verdict.PASS


def test_livecodebench_crlf_tests_in_both_encodings_come_out_lf_and_a_correct_line_reader_passes(tmp_path, sandbox):
    from ag_eval import Verdict

    def crlf_test(s):
        return [{"input": f"{s}\r\n", "output": f"{s}:{len(s)}\r\n", "testtype": "stdin"}]

    row = lcb_row()
    row.update(question_content=row["question_content"].replace("\n", "\r\n"),
               public_test_cases=json.dumps(crlf_test("abc")),                 # plain JSON string
               private_test_cases=encode(json.dumps(crlf_test("codeforces"))))  # base64/zlib/pickle
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [problem], _ = livecodebench.load_problems(str(path))
    assert problem.tests == [{"input": "abc\n", "output": "abc:3\n"},
                             {"input": "codeforces\n", "output": "codeforces:10\n"}]
    assert no_carriage_return(problem)
    assert "## Input format" in problem.statement and "## Output format" in problem.statement
    assert verdict_of_a_line_reader(problem) is Verdict.PASS
