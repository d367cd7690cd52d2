"""One scheduler: the plan it picks, identical jobs judged once, live streams, the contract."""

from __future__ import annotations

import pytest

from ag_eval import AgnosticsError, Job, Result, Verdict, iter_verify, verify_many
from ag_eval.executors import IDLE, choose_plan
from ag_eval.executors.dedupe import job_key
from ag_eval.limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S

DOUBLE = "print(io.read('n') * 2)"
#: Lua 5.4 seeds its generator randomly: every run of this program prints another number.
RANDOM = "print(math.random(1, 1000000000))"


def _job(i: int, code: str = DOUBLE, **extra) -> dict:
    return {"id": f"j{i}", "language": "lua", "code": code, "tests": [{"input": "21\n", "output": "42\n"}], **extra}


@pytest.mark.parametrize("cores, kind, shape", [(1, "threads", (1, 1)), (8, "threads", (1, 8)),
                                                (16, "processes", (2, 8)), (64, "processes", (8, 8))])
def test_local_plan_uses_processes_on_many_cores(cores, kind, shape, monkeypatch):
    monkeypatch.delenv("AGNOSTICS_THREADS_PER_PROCESS", raising=False)
    plan = choose_plan("local", cores=cores)
    assert (plan.kind, (plan.processes, plan.threads), plan.workers) == (kind, shape, cores)


def test_plan_follows_the_callers_choice(monkeypatch):
    monkeypatch.delenv("AGNOSTICS_THREADS_PER_PROCESS", raising=False)
    assert choose_plan("threads", cores=32).kind == "threads"
    assert choose_plan("processes", 4).kind == "processes"
    assert choose_plan("ray", options=["address"]).kind == "ray"
    assert choose_plan("local", cores=32, custom_sandbox=True).kind == "threads"  # a sandbox object stays here
    with pytest.raises(AgnosticsError, match="executor 'dask' is unknown"):
        choose_plan("dask")
    with pytest.raises(AgnosticsError, match=r"options \['address'\] need executor='ray'"):
        choose_plan("local", options=["address"])
    with pytest.raises(AgnosticsError, match="cannot travel to child processes"):
        choose_plan("processes", custom_sandbox=True)
    monkeypatch.setenv("AGNOSTICS_THREADS_PER_PROCESS", "0")
    assert choose_plan("local", cores=64).kind == "threads"


def test_identical_jobs_are_judged_once_and_copies_marked(requires):
    requires("lua")
    jobs = [_job(i, RANDOM) for i in range(20)]
    shared = verify_many(jobs, workers=2)
    assert [r.id for r in shared] == [j["id"] for j in jobs]
    assert len({r.tests[0].stdout for r in shared}) == 1  # one run's output for all twenty
    assert [r.reused for r in shared].count(False) == 1
    first = next(r for r in shared if not r.reused)
    copy = next(r for r in shared if r.reused)
    assert "reused" not in first.to_dict() and copy.to_dict()["reused"] is True
    assert Result.from_dict(copy.to_dict()).reused and copy.verdict is first.verdict
    apart = verify_many(jobs, workers=2, dedupe=False)
    assert not any(r.reused for r in apart)
    assert len({r.tests[0].stdout for r in apart}) > 1  # each copy ran


def test_what_is_not_identical_is_judged_apart(requires):
    requires("lua")
    base = _job(0, DOUBLE + "\n")  # as a fenced block's program ends
    other_tests = {**_job(1), "tests": [{"input": "1\n", "output": "2\n"}]}
    other_limit = {**_job(2), "time_limit_s": 2}
    same_code_in_prose = {"id": "j3", "language": "lua", "tests": base["tests"],
                          "completion": f"Here it is:\n```lua\n{DOUBLE}\n```\nDone."}
    results = verify_many([base, other_tests, other_limit, same_code_in_prose], workers=2)
    assert [r.reused for r in results] == [False, False, False, True]
    assert all(r.verdict is Verdict.PASS for r in results)
    assert job_key(base) != job_key(base, salt="fail_fast=True")
    assert job_key(base) != job_key({**base, "compile_time_s": 3}) != job_key({**base, "compile_time_s": 4})
    assert job_key({**base, "language": "no-such-language"}) is None


def test_a_cache_folder_carries_judgments_to_the_next_run(tmp_path, requires):
    requires("lua")
    first = verify_many([_job(0, RANDOM)], cache_dir=tmp_path)[0]
    again = verify_many([_job(1, RANDOM)], cache_dir=tmp_path)[0]
    assert not first.reused and again.reused and again.id == "j1"
    assert again.tests[0].stdout == first.tests[0].stdout
    assert list(tmp_path.glob("*/*.json"))
    with pytest.raises(AgnosticsError, match="cache_dir needs dedupe=True"):
        verify_many([_job(2)], cache_dir=tmp_path, dedupe=False)


def test_a_live_stream_gets_verdicts_before_it_ends(requires):
    requires("lua")
    seen: list[int] = []

    def stream():
        yield _job(0)
        for _ in range(200):  # the stream waits; the first verdict must come out meanwhile
            if seen:
                break
            yield IDLE
        yield _job(1, "print(1)")

    for index, result in iter_verify(stream(), workers=1):
        seen.append(index)
    assert seen == [0, 1]


def test_a_problem_row_becomes_a_job_with_the_default_limits():
    row = {"problem_id": "p7", "language": "lua", "tests": [{"input": "1\n", "output": None}],
           "compare": None, "time_limit_s": None, "memory_limit_mb": None}
    job = Job.from_problem_row(row, "```lua\nprint(1)\n```")
    assert (job.id, job.language, job.compare) == ("p7", "lua", "lines")
    assert (job.time_limit_s, job.memory_limit_mb) == (DEFAULT_TIME_LIMIT_S, DEFAULT_MEMORY_LIMIT_MB)
    assert job.tests[0].output == "" and job.completion.startswith("```lua")
    coded = Job.from_problem_row({**row, "memory_limit_mb": 256}, language="python", code="print(1)", id="x")
    assert (coded.id, coded.language, coded.code, coded.memory_limit_mb) == ("x", "python", "print(1)", 256)
