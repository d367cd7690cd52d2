"""The Ray executor on a local Ray cluster started here (loopback only, 2 CPUs)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from ag_eval import AgnosticsError, Verdict

N_JOBS = 96
# Every test burns ~40 ms of CPU, so the batch outlasts the kill however fast the verifier gets.
SPIN = "local t0 = os.clock() while os.clock() - t0 < 0.04 do end\n"


def _job(i: int) -> dict:
    wrong = i % 4 == 0
    code = SPIN + ("print(tonumber(io.read('l')) + 1)\n" if wrong else "print(tonumber(io.read('l')) * 2)\n")
    return {"id": f"job-{i}", "language": "lua", "code": code,
            "tests": [{"input": f"{i}\n", "output": f"{2 * i}\n"}, {"input": "7\n", "output": "14\n"}]}


def _actor_pids() -> list[int]:
    """Verifier actor processes descended from this test process (never anyone else's)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"_VerifierActor" not in cmdline:
            continue
        pid = int(entry.name)
        while pid > 1:
            try:
                pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                break
            if pid == me:
                found.append(int(entry.name))
                break
    return found


def _kill_an_actor_mid_batch(output: Path, total: int, record: dict) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lines = output.read_text().count("\n") if output.exists() else 0
        pids = _actor_pids()
        if lines >= 4 and pids:
            os.kill(pids[0], signal.SIGKILL)
            record.update(pid=pids[0], lines_before_kill=lines, total=total)
            return
        time.sleep(0.02)


def test_killed_worker_loses_and_duplicates_no_result(ray_cluster, tmp_path, caplog):
    from ag_eval.batch import run_batch

    jobs_path, out_path = tmp_path / "jobs.jsonl", tmp_path / "results.jsonl"
    lines = [json.dumps(_job(i)) for i in range(N_JOBS)]
    lines.insert(10, "{not json")  # line 11: a malformed line becomes its own error result
    jobs_path.write_text("\n".join(lines) + "\n")

    record: dict = {}
    killer = threading.Thread(target=_kill_an_actor_mid_batch, args=(out_path, N_JOBS + 1, record), daemon=True)
    killer.start()
    with caplog.at_level(logging.WARNING, logger="ag_eval.executors.ray_cluster"):
        summary = run_batch(jobs_path, out_path, workers=2, executor="ray")
    killer.join(timeout=5)

    assert record, "no verifier actor was found to kill"
    assert record["lines_before_kill"] < N_JOBS + 1, "the kill came after the batch ended"
    assert any("retrying" in r.getMessage() for r in caplog.records), "the lost chunk was not retried"

    results = [json.loads(line) for line in out_path.read_text().splitlines()]
    ids = [r["id"] for r in results]
    assert len(ids) == len(set(ids)) == N_JOBS + 1 == summary.total
    by_id = {r["id"]: r for r in results}
    assert by_id["line-11"]["verdict"] == "sandbox_error" and "not valid JSON" in by_id["line-11"]["error"]
    for i in range(N_JOBS):
        r = by_id[f"job-{i}"]
        assert r["verdict"] == ("wrong_output" if i % 4 == 0 else "pass"), r
        assert r["total"] == 2 and len(r["tests"]) == 2


def test_verify_many_on_ray_keeps_input_order(ray_cluster):
    from ag_eval import verify_many

    jobs = [{"id": f"o{i}", "language": "lua", "code": f"print({i})", "tests": [{"input": "", "output": f"{i}\n"}]}
            for i in range(20)]
    results = verify_many(jobs, workers=2, executor="ray", chunk_size=3)
    assert [r.id for r in results] == [j["id"] for j in jobs]
    assert all(r.verdict is Verdict.PASS for r in results)


def test_verify_many_takes_the_ray_executor(ray_cluster):
    from ag_eval import verify_many

    jobs = [{"id": f"e{i}", "language": "lua", "code": f"print({i})", "tests": [{"input": "", "output": "1\n"}]}
            for i in range(4)]
    results = verify_many(jobs, workers=2, executor="ray", chunk_size=2)
    assert [r.verdict.value for r in results] == ["wrong_output", "pass", "wrong_output", "wrong_output"]
    with pytest.raises(AgnosticsError, match="cannot travel to Ray"):
        verify_many(jobs, executor="ray", sandbox=object())


def test_missing_ray_says_how_to_install(monkeypatch):
    from ag_eval import iter_verify

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(AgnosticsError, match=r"install agnostics\[ray\]"):
        list(iter_verify([{"id": "x"}], executor="ray"))


def test_verify_batch_cli_takes_a_ray_address(ray_cluster, tmp_path):
    from click.testing import CliRunner

    from agnostics.cli import main

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": f"c{i}", "language": "lua", "code": f"print({i})",
                                        "tests": [{"input": "", "output": "2\n"}]}) + "\n" for i in range(3)))
    out = tmp_path / "out.jsonl"
    address = ray_cluster.get_runtime_context().gcs_address
    done = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs), "--output", str(out), "--executor", "ray",
                                     "--ray-address", address, "--no-progress"])
    assert done.exit_code == 0, done.output
    verdicts = {r["id"]: r["verdict"] for r in map(json.loads, out.read_text().splitlines())}
    assert verdicts == {"c0": "wrong_output", "c1": "wrong_output", "c2": "pass"}
    refused = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs), "--output", str(tmp_path / "x.jsonl"),
                                        "--ray-address", address])
    assert refused.exit_code != 0 and "--ray-address needs --executor ray" in refused.output
