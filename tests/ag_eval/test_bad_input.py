"""Input a user can get wrong ends in one clear error, and nothing else is lost.

Unknown language, missing toolchain, empty code, non-UTF-8 output, an oversized program,
a malformed runner file, a malformed job line, and a batch interrupted mid-write.
"""

from __future__ import annotations

import json

import pytest

from ag_eval.batch import finished_ids, run_batch
from ag_eval.engine import safe_verify, verify, verify_many
from ag_eval.errors import JobError, RunnerError, ToolchainMissingError, UnknownLanguageError
from ag_eval.jobs import MAX_CODE_BYTES, Job, Result
from ag_eval.limits import compile_limits
from ag_eval.runners import RUNNERS_PATH_ENV, get_registry
from ag_eval.verdicts import Verdict

ECHO = {"id": "good", "language": "python", "code": "print(input())", "tests": [{"input": "hi\n", "output": "hi\n"}]}


def _job(**changes) -> dict:
    return {**ECHO, **changes}


@pytest.fixture
def runners_folder(tmp_path, monkeypatch):
    """An extra runners folder for this test; the shipped registry is restored afterwards."""
    folder = tmp_path / "runners"
    folder.mkdir()
    monkeypatch.setenv(RUNNERS_PATH_ENV, str(folder))
    yield folder
    monkeypatch.undo()
    get_registry(reload=True)


@pytest.fixture(autouse=True)
def python_installed(requires):
    requires("python")


def test_unknown_language_is_one_clear_error_and_the_batch_goes_on():
    with pytest.raises(UnknownLanguageError) as err:
        verify(_job(id="x", language="klingon"))
    message = str(err.value)
    assert message.startswith("unknown language 'klingon'")
    assert "known languages:" in message and "python" in message and "runners/<name>.yaml" in message

    bad, good = verify_many([_job(id="x", language="klingon"), _job()], workers=2)
    assert bad.verdict is Verdict.SANDBOX_ERROR and bad.error == message and bad.language == "klingon"
    assert good.verdict is Verdict.PASS


def test_missing_toolchain_names_the_executable_and_how_to_install_it(runners_folder):
    (runners_folder / "ghostlang.yaml").write_text(
        "name: ghostlang\nsource_file: main.ghost\nrun: ghostlang-run {{ source }}\n"
        "version: ghostlang-run --version\nexecutables: [ghostlang-run]\npackages: [ghostlang-tools]\n"
    )
    registry = get_registry(reload=True)
    assert "ghostlang" in registry and "python" in registry  # shipped runners are still there

    with pytest.raises(ToolchainMissingError) as err:
        verify(_job(id="g", language="ghostlang"))
    message = str(err.value)
    assert message.startswith("ghostlang toolchain not found (ghostlang-run missing)")
    assert "apt-get install ghostlang-tools" in message

    ghost, good = verify_many([_job(id="g", language="ghostlang"), _job()], workers=2)
    assert ghost.verdict is Verdict.SANDBOX_ERROR and ghost.error == message
    assert good.verdict is Verdict.PASS


@pytest.mark.parametrize("code", ["", "   \n\t\n"], ids=["empty", "blank"])
def test_empty_code_is_no_code(code):
    result = verify(_job(code=code))
    assert result.verdict is Verdict.NO_CODE
    assert result.error == "empty program"
    assert result.total == 1 and result.tests == []


def test_completion_without_a_program_is_no_code():
    job = _job(completion="I am not sure how to solve this.")
    del job["code"]
    result = verify(job)
    assert result.verdict is Verdict.NO_CODE and result.error == "no program found"


def test_non_utf8_output_is_wrong_output_and_the_result_is_json():
    code = 'import sys\nsys.stdout.buffer.write(b"\\xff\\xfe h\\x80i\\n")\n'
    result = verify(_job(code=code))
    assert result.verdict is Verdict.WRONG_OUTPUT
    assert "\ufffd" in result.tests[0].stdout  # undecodable bytes shown as replacement characters
    for ascii_only in (True, False):
        line = json.dumps(result.to_dict(), ensure_ascii=ascii_only)
        line.encode("utf-8")  # no lone surrogates leak into the result
        assert Result.from_dict(json.loads(line)).verdict is Verdict.WRONG_OUTPUT


def test_invalid_bytes_that_match_byte_for_byte_still_compare():
    # The expected output holds the same undecodable bytes (as a JSON loader with
    # surrogateescape would give them): the program is judged, not the encoding.
    code = 'import sys\nsys.stdout.buffer.write(b"a\\xffb\\n")\n'
    result = verify(_job(code=code, tests=[{"input": "", "output": b"a\xffb\n".decode("utf-8", "surrogateescape")}]))
    assert result.verdict is Verdict.PASS
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


def test_a_10_mb_program_is_rejected_naming_the_size_limit():
    big = "# padding\n" * 1_000_000  # 10 MB
    with pytest.raises(JobError) as err:
        Job.from_dict(_job(id="big", code=big))
    message = str(err.value)
    assert "job 'big'" in message and f"{len(big.encode())} bytes" in message
    assert f"over the {MAX_CODE_BYTES}-byte limit" in message and "send the source program" in message

    result = safe_verify(_job(id="big", code=big))
    assert result.verdict is Verdict.SANDBOX_ERROR and result.error == message


def test_malformed_runner_yaml_names_the_file_and_judges_nothing_as_a_model_failure(runners_folder):
    broken = runners_folder / "broken.yaml"
    broken.write_text("name: broken\nrun: [unclosed\n")
    with pytest.raises(RunnerError) as err:
        get_registry(reload=True)
    message = str(err.value)
    assert message.startswith(f"{broken}: not valid YAML") and "fix the file's syntax" in message

    # While the registry cannot load, every job says why; none is scored as the program's failure.
    results = verify_many([_job(id="a"), _job(id="b")], workers=2)
    assert [r.verdict for r in results] == [Verdict.SANDBOX_ERROR] * 2
    assert all(str(broken) in r.error for r in results)

    broken.unlink()
    assert verify(_job()).verdict is Verdict.PASS  # fixed folder: back to work


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _results(path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"an id was judged twice: {ids}"
    return {r["id"]: r for r in rows}


def test_malformed_job_lines_get_an_error_result_and_the_rest_are_judged(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    _write_lines(jobs, [
        json.dumps(_job(id="first")),
        "{not json",
        json.dumps({"id": "nocode", "language": "python", "tests": [{"input": "", "output": ""}]}),
        "",
        json.dumps(_job(id="wrong", code="print('no')")),
        json.dumps(_job(id="first")),
        json.dumps(["a", "list"]),
    ])
    out = tmp_path / "results.jsonl"
    summary = run_batch(jobs, out, workers=2)
    results = _results(out)

    assert results["first"]["verdict"] == "pass" and results["wrong"]["verdict"] == "wrong_output"
    assert results["line-2"]["verdict"] == "sandbox_error"
    assert results["line-2"]["error"].startswith("line 2: not valid JSON")
    assert results["nocode"]["error"].startswith("line 3: job 'nocode' has neither 'code' nor 'completion'")
    assert results["line-6"]["error"] == "line 6: duplicate id 'first'; give every job a unique id."
    assert results["line-7"]["error"].startswith("line 7: a job must be a JSON object, got list")
    assert summary.total == 6 and summary.verdicts["sandbox_error"] == 4


def test_rerun_skips_finished_ids_and_repairs_a_torn_last_line(tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    _write_lines(jobs, [json.dumps(_job(id=f"j{i}", code="print('no')")) for i in range(4)])
    out = tmp_path / "results.jsonl"
    # j0 and j1 were judged before a crash that tore the line of j2. The recorded verdicts
    # are made up: were they judged again, they would become wrong_output.
    done = [json.dumps({"id": f"j{i}", "verdict": "pass", "passed": 1, "total": 1}) for i in range(2)]
    out.write_text("\n".join(done) + '\n{"id": "j2", "verdict": "pa', encoding="utf-8")

    summary = run_batch(jobs, out, workers=2)
    results = _results(out)
    assert sorted(results) == ["j0", "j1", "j2", "j3"]
    assert results["j0"]["verdict"] == results["j1"]["verdict"] == "pass"  # kept, not redone
    assert results["j2"]["verdict"] == results["j3"]["verdict"] == "wrong_output"
    assert summary.skipped == 2 and summary.total == 2

    again = run_batch(jobs, out, workers=2)
    assert again.skipped == 4 and again.total == 0
    done = finished_ids(out)
    assert len(done) == 4 and all(f"j{i}" in done for i in range(4)) and "j4" not in done


@pytest.mark.parametrize(("key", "value", "fix"), [
    ("time_limit_s", "5", "a number of seconds, e.g. 5"),
    ("time_limit_s", True, "a number of seconds, e.g. 5"),
    ("memory_limit_mb", "512", "a whole number of MB, e.g. 512"),
    ("memory_limit_mb", False, "a whole number of MB, e.g. 512"),
    ("memory_limit_mb", 100.7, "a whole number of MB, e.g. 512"),
    ("memory_limit_mb", float("inf"), "a whole number of MB, e.g. 512"),
    ("time_limit_s", float("nan"), "a number of seconds, e.g. 5"),
    ("compile_time_s", "30", "a number of seconds, e.g. 5"),
], ids=["time-string", "time-bool", "memory-string", "memory-bool", "memory-fraction", "memory-inf", "time-nan",
        "compile-string"])
def test_limits_must_be_numbers(key, value, fix):
    with pytest.raises(JobError) as err:
        Job.from_dict(_job(id="n", **{key: value}))
    assert str(err.value) == f"job 'n': {key}={value!r} is not valid; give {fix}."
    with pytest.raises(JobError):  # a Job built in Python is held to the same rule
        Job(id="n", language="python", code="x", tests=[], mode="exit_code", **{key: value})


def test_a_jobs_compile_limit_replaces_the_runners_and_is_checked():
    cpp = get_registry().get("cpp")
    assert compile_limits(cpp).cpu_s == cpp.limits.compile_time_s
    job = Job.from_dict(_job(language="cpp", compile_time_s=90))
    assert job.compile_time_s == 90.0 and compile_limits(cpp, job).cpu_s == 90.0
    assert compile_limits(cpp, job).wall_s == 2 * 90.0 + 1.0
    assert Job.from_dict(_job(compile_time_s=None)).compile_time_s is None
    for bad in (0, -1, 601):
        with pytest.raises(JobError, match="compile_time_s=.* must be in \\(0, 600\\] seconds"):
            Job.from_dict(_job(compile_time_s=bad))


def test_whole_numbers_are_taken_as_limits():
    job = Job.from_dict(_job(time_limit_s=2, memory_limit_mb=256.0))
    assert job.time_limit_s == 2.0 and isinstance(job.time_limit_s, float)
    assert job.memory_limit_mb == 256 and isinstance(job.memory_limit_mb, int)


ECHO_BYTES = "import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read())\n"
LATIN1_ECHO = "# -*- coding: latin-1 -*-\nprint(input())  # \ud800 \udcff\n"


def test_lone_surrogates_anywhere_in_a_job_are_judged_by_the_program(tmp_path, caplog):
    jobs = tmp_path / "jobs.jsonl"
    _write_lines(jobs, [json.dumps(job) for job in [  # json.dumps writes them as \ud800 escapes
        _job(id="in-code", code=LATIN1_ECHO),
        {**{k: v for k, v in _job(id="in-completion").items() if k != "code"},
         "completion": f"Here:\n```python\n{LATIN1_ECHO}```\n"},
        _job(id="in-tests", code=ECHO_BYTES, tests=[{"input": "a\ud800b\udcff\n", "output": "a\ud800b\udcff\n"}]),
        _job(id="wrong-bytes", code=ECHO_BYTES, tests=[{"input": "\ud800", "output": "\ud801"}]),
        _job(id="id-\ud800"),
        _job(id="python-refuses", code='print("\ud800")\n'),  # not UTF-8: Python's own error
    ]])
    out = tmp_path / "results.jsonl"
    summary = run_batch(jobs, out, workers=2)
    results = _results(out)
    assert {k: r["verdict"] for k, r in results.items()} == {
        "in-code": "pass", "in-completion": "pass", "in-tests": "pass", "wrong-bytes": "wrong_output",
        "id-\ud800": "pass", "python-refuses": "runtime_error"}
    assert "SyntaxError" in results["python-refuses"]["tests"][0]["stderr"]
    assert "verifier failure" not in caplog.text and "Traceback" not in caplog.text
    assert summary.total == 6
    assert run_batch(jobs, out, workers=2).total == 0  # every id, the odd one too, is found on resume
