import json
import subprocess
import sys

from click.testing import CliRunner

from ag_eval.engine import iter_verify, verify_many
from agnostics.cli import main
from tests.programs import SLOW_TO_COMPILE

DOUBLE = {"lua": "print(io.read('n') * 2)", "python": "print(int(input()) * 2)"}


def _jobs(n: int):
    jobs = []
    for i in range(n):
        lang = "lua" if i % 2 else "python"
        code = DOUBLE[lang] if i % 3 else "print(0)"
        jobs.append({"id": f"j{i}", "language": lang, "code": code,
                     "tests": [{"input": f"{k}\n", "output": f"{2 * k}\n"} for k in range(1, 4)]})
    return jobs


def test_verify_many_keeps_input_order_and_judges_each():
    jobs = _jobs(8)
    results = verify_many(jobs, workers=2)
    assert [r.id for r in results] == [j["id"] for j in jobs]
    for i, r in enumerate(results):
        assert r.verdict.value == ("pass" if i % 3 else "wrong_output")
        assert r.total == 3


def test_iter_verify_yields_every_index_once():
    seen = sorted(i for i, _ in iter_verify(_jobs(6), workers=2, max_pending=2))
    assert seen == list(range(6))


def test_verify_batch_cli_streams_results_and_reports_bad_lines(tmp_path):
    jobs_file = tmp_path / "jobs.jsonl"
    lines = [json.dumps(j) for j in _jobs(4)]
    lines.insert(2, "{not json")
    lines.append(json.dumps({"id": "nolang", "code": "print(1)", "tests": [{"input": "", "output": "1"}]}))
    lines.append(json.dumps({"id": "cobol", "language": "cobol-85", "code": "x", "tests": [{"input": "", "output": ""}]}))
    jobs_file.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results.jsonl"
    res = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out),
                                    "--workers", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    results = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert len(results) == 7
    assert results["line-3"]["verdict"] == "sandbox_error" and "line 3: not valid JSON" in results["line-3"]["error"]
    assert "no 'language'" in results["nolang"]["error"]
    assert "unknown language 'cobol-85'" in results["cobol"]["error"]
    assert results["j1"]["verdict"] == "pass" and results["j0"]["verdict"] == "wrong_output"
    assert "7 job(s) judged" in res.output


def test_verify_batch_resumes_without_repeating(tmp_path):
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("\n".join(json.dumps(j) for j in _jobs(4)) + "\n")
    out = tmp_path / "results.jsonl"
    first = _jobs(4)[:2]
    out.write_text("\n".join(json.dumps({"id": j["id"], "verdict": "pass", "passed": 3, "total": 3}) for j in first)
                   + "\n" + '{"id": "j2", "verd')  # a torn line from a crash
    res = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == ["j0", "j1", "j2", "j3"]  # j0, j1 kept; torn j2 redone; nothing twice
    assert "2 already done" in res.output


def test_verify_command_prints_json_and_exit_status(tmp_path):
    code = tmp_path / "main.lua"
    code.write_text("print(io.read('n') + 1)\n")
    tests = tmp_path / "tests.json"
    tests.write_text(json.dumps([{"input": "1\n", "output": "2\n"}]))
    res = CliRunner().invoke(main, ["verify", "-l", "lua", "--code", str(code), "--tests", str(tests)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["verdict"] == "pass"
    tests.write_text(json.dumps([{"input": "1\n", "output": "3\n"}]))
    res = CliRunner().invoke(main, ["verify", "-l", "lua", "--code", str(code), "--tests", str(tests)])
    assert res.exit_code == 1 and json.loads(res.output)["verdict"] == "wrong_output"


def test_verify_command_takes_a_compile_limit(tmp_path, requires):
    requires("cpp")
    code = tmp_path / "main.cpp"
    code.write_text(SLOW_TO_COMPILE)
    tests = tmp_path / "tests.json"
    tests.write_text(json.dumps([{"input": "", "output": ""}]))
    args = ["verify", "-l", "cpp", "--code", str(code), "--tests", str(tests), "--compile-time-limit"]
    res = CliRunner().invoke(main, args + ["1"])
    result = json.loads(res.output)
    assert res.exit_code == 1 and result["verdict"] == "compile_error" and result["compile"]["status"] == "timeout"
    assert result["compile"]["time_s"] < 2 * 1 + 1.5
    res = subprocess.run([sys.executable, "-m", "agnostics", *args, "0"], capture_output=True, text=True)
    assert res.returncode == 1 and "compile_time_s=0.0 must be in (0, 600] seconds" in res.stderr, res.stderr


def test_unknown_language_is_one_clear_cli_error(tmp_path):
    code = tmp_path / "x.txt"
    code.write_text("x")
    tests = tmp_path / "t.json"
    tests.write_text(json.dumps([{"input": "", "output": ""}]))
    res = subprocess.run([sys.executable, "-m", "agnostics", "verify", "-l", "klingon", "--code", str(code),
                          "--tests", str(tests)], capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.startswith("Error: unknown language 'klingon'") and "Traceback" not in res.stderr


def test_id_set_keeps_every_id_through_growth_and_rejects_others():
    from ag_eval.batch import IdSet

    ids = [f"problem-{i}/sample-{i % 7}" for i in range(20_000)] + ["", "ünï", "\udcff-surrogate"]
    s = IdSet(ids[:100])
    for job_id in ids[100:]:
        s.add(job_id)
    s.add(ids[5])  # again: no change
    assert len(s) == len(ids)
    assert all(job_id in s for job_id in ids)
    assert not any(f"other-{i}" in s for i in range(20_000))
    assert 42 not in s


def _locked(path, timeout_s: float = 30.0) -> bool:
    """Whether some process holds a flock on ``path`` (read from /proc/locks, taking no lock)."""
    import os
    import time

    inode = os.stat(path).st_ino if os.path.exists(path) else None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if inode is None and os.path.exists(path):
            inode = os.stat(path).st_ino
        if inode is not None:
            with open("/proc/locks") as locks:
                if any(line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}") for line in locks):
                    return True
        time.sleep(0.05)
    return False


def test_a_second_run_on_the_same_output_is_refused_naming_the_file(tmp_path, requires):
    requires("python")
    jobs_file = tmp_path / "jobs.jsonl"
    slow = {"id": "slow", "language": "python", "code": "import time\ntime.sleep(1.5)\nprint(input())",
            "tests": [{"input": "x\n", "output": "x\n"}]}
    jobs_file.write_text(json.dumps(slow) + "\n" + json.dumps({**slow, "id": "slow2"}) + "\n")
    out = tmp_path / "results.jsonl"
    first = subprocess.Popen([sys.executable, "-m", "agnostics", "verify-batch", "--input", str(jobs_file),
                              "--output", str(out), "--workers", "1", "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _locked(out), "the first run took no lock on its output file"
        second = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out),
                                           "--no-progress"])
        assert second.exit_code == 1
        assert f"{out} is being written by another verify-batch run" in second.output
        assert "Traceback" not in second.output
    finally:
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == ["slow", "slow2"]  # each judged once
    again = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out), "--no-progress"])
    assert again.exit_code == 0 and "2 already done" in again.output  # the lock went with the first run


def test_error_results_of_bad_lines_never_share_an_id_and_are_not_repeated_on_resume(tmp_path, requires):
    requires("python")
    good = {"language": "python", "code": "print(input())", "tests": [{"input": "x\n", "output": "x\n"}]}
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("\n".join([
        "{not json",                                  # line 1: its error result is line-1
        json.dumps({**good, "id": "line-1"}),          # a job may not take the form of a line's id
        json.dumps({**good, "id": "a"}),
        json.dumps({**good, "id": "a"}),               # duplicate: reported under its line, not under 'a'
        json.dumps(good),                              # no id: known by its line
    ]) + "\n")
    out = tmp_path / "results.jsonl"
    res = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted(["line-1", "line-2", "a", "line-4", "line-5"]) and len(set(ids)) == len(ids)
    by_id = {r["id"]: r for r in rows}
    assert by_id["line-1"]["error"].startswith("line 1: not valid JSON")
    assert by_id["line-2"]["verdict"] == "sandbox_error"
    assert by_id["line-2"]["error"].startswith("line 2: job id 'line-1' has the form line-<number>, which is kept")
    assert by_id["line-4"]["error"] == "line 4: duplicate id 'a'; give every job a unique id."
    assert by_id["a"]["verdict"] == by_id["line-5"]["verdict"] == "pass"

    before = out.read_bytes()
    for _ in range(2):  # reruns append nothing, error results included
        again = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs_file), "--output", str(out),
                                          "--no-progress"])
        assert again.exit_code == 0 and "0 job(s) judged, 5 already done" in again.output
    assert out.read_bytes() == before
