"""A batch of more workers than one process keeps busy runs in child verifier processes:
same verdicts, same order, nothing lost or doubled when a child dies."""

import os
import signal

import pytest

from ag_eval import AgnosticsError, verify_many
from ag_eval.engine import iter_verify
from ag_eval.executors import processes
from ag_eval.executors.plan import process_plan

SPIN = "local t0 = os.clock() while os.clock() - t0 < 0.03 do end\n"


def _jobs(n: int, spin: str = "") -> list[dict]:
    return [{"id": f"p{i}", "language": "lua",
             "code": spin + ("print(io.read('n') * 2)" if i % 3 else "print(io.read('n') + 1)"),
             "tests": [{"input": f"{i}\n", "output": f"{2 * i}\n"}, {"input": "5\n", "output": "10\n"}]}
            for i in range(n)]


@pytest.fixture
def in_processes(monkeypatch, requires):
    requires("lua")
    monkeypatch.setenv("AGNOSTICS_THREADS_PER_PROCESS", "1")  # 2 workers -> 2 processes of 1 thread
    assert process_plan(2) == (2, 1)
    yield
    processes.close_processes()


def test_processes_give_the_verdicts_and_order_of_one_process(in_processes, monkeypatch):
    jobs = _jobs(24)
    apart = verify_many(jobs, workers=2)
    monkeypatch.setenv("AGNOSTICS_THREADS_PER_PROCESS", "0")
    together = verify_many(jobs, workers=2)
    assert [r.id for r in apart] == [j["id"] for j in jobs]
    assert [(r.verdict, r.passed) for r in apart] == [(r.verdict, r.passed) for r in together]
    assert [r.verdict.value for r in apart[:3]] == ["wrong_output", "pass", "pass"]


def test_a_bad_line_and_an_abandoned_batch_do_not_leak_into_the_next(in_processes):
    bad = ValueError("line 2: not valid JSON")
    got = dict(iter_verify([_jobs(1)[0], bad, _jobs(3)[2]], workers=2))
    assert got[1].verdict.value == "sandbox_error" and "not valid JSON" in got[1].error
    assert got[0].id == "p0" and got[2].id == "p2" and got[2].verdict.value == "pass"
    stream = iter_verify(_jobs(12, SPIN), workers=2)
    next(stream)
    stream.close()  # results still on their way belong to that batch, not the next
    again = verify_many(_jobs(6), workers=2)
    assert [r.id for r in again] == [f"p{i}" for i in range(6)]
    assert [r.verdict.value for r in again] == ["wrong_output", "pass", "pass"] * 2


def test_a_killed_child_loses_and_doubles_nothing(in_processes, caplog):
    from ag_eval.engine import work_base

    jobs = _jobs(40, SPIN)
    seen, killed = [], None
    for index, result in iter_verify(jobs, workers=2):
        seen.append(index)
        if len(seen) == 3:
            killed = processes._group.children[0].process.pid
            os.kill(killed, signal.SIGKILL)
        assert result.id == f"p{index}"
        assert result.verdict.value == ("wrong_output" if index % 3 == 0 else "pass")
    assert sorted(seen) == list(range(40))
    assert "a verifier process died" in caplog.text
    from pathlib import Path

    assert not list(Path(work_base()).glob(f"job-{killed}-*"))  # its work folders went with it


def test_the_setting_is_checked(monkeypatch):
    monkeypatch.setenv("AGNOSTICS_THREADS_PER_PROCESS", "many")
    with pytest.raises(AgnosticsError, match="AGNOSTICS_THREADS_PER_PROCESS='many' is not a whole number"):
        process_plan(4)
    monkeypatch.setenv("AGNOSTICS_THREADS_PER_PROCESS", "8")
    assert process_plan(8) is None and process_plan(16) == (2, 8) and process_plan(20) == (3, 7)
