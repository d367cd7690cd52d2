"""`agnostics eval --executor ray`: samples verified on a local Ray cluster started here
(loopback only, 2 CPUs) get the verdicts the local verifier gives, and a run that stops
mid-way resumes from its folder, under either executor."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ag_harness import EvalConfig, EvalError, run_eval
from ag_harness.store import load_samples

N_SAMPLES = 7  # 3 problems x 7 samples = 21 jobs: one full chunk of 16 and a partial one

SOLUTIONS = {
    "SUM": "local a, b = io.read('n', 'n')\nprint(a + b)",
    "REVERSE": "print(io.read('l'):reverse())",
    "LARGEST": "local m\nfor x in io.read('l'):gmatch('%-?%d+') do\n"
               "  x = tonumber(x) if not m or x > m then m = x end\nend\nprint(m)",
}


def answer(req, i: int) -> str:
    """Right, wrong, no code or a crash, by sample number; the right program for the problem asked."""
    prompt = json.dumps(req.messages) if req.messages else req.text
    [solution] = [code for name, code in SOLUTIONS.items() if f"{name}:" in prompt]
    sample = req.seed + i  # distinct per sample of a problem
    kind = sample % 4
    if kind == 1:
        return "```lua\nprint('no')\n```"
    if kind == 2:
        return "I cannot solve this."
    if kind == 3:
        return "```lua\nerror('boom')\n```"
    return f"```lua\n{solution}\n```"


def _config(problems, out, **options) -> EvalConfig:
    return EvalConfig(model="scripted", dataset=str(problems), languages=["lua"], n_samples=N_SAMPLES,
                      out_dir=str(out), workers=2, **options)


def _verdicts(out) -> dict:
    return {key: (row["verdict"], row["passed"], row["total"], row["completion"])
            for key, row in load_samples(out).items()}


def _pass_at_1(summary: dict) -> list:
    return [(r["dataset"], r["language"], r["problems"], r["samples"], r["pass@1"]) for r in summary["results"]]


def test_ray_executor_gives_the_local_verdicts(ray_cluster, io_problems, tmp_path, scripted, monkeypatch):
    from ag_eval.executors import threads

    local = run_eval(_config(io_problems, tmp_path / "local"), backend=scripted(answer))

    def no_local_pool(*_args, **_kwargs):
        raise AssertionError("executor='ray' used this process's threads")

    monkeypatch.setattr(threads, "iter_threads", no_local_pool)  # Ray's actors import their own
    on_ray = run_eval(_config(io_problems, tmp_path / "ray", executor="ray"), backend=scripted(answer))

    expected = _verdicts(tmp_path / "local")
    assert len(expected) == 3 * N_SAMPLES
    assert {v[0] for v in expected.values()} == {"pass", "wrong_output", "no_code", "runtime_error"}
    assert {key[2] for key, v in expected.items() if v[0] == "pass"} == {"toy/sum", "toy/reverse", "toy/largest"}
    assert _verdicts(tmp_path / "ray") == expected
    ray_lines = (tmp_path / "ray" / "samples.jsonl").read_text().splitlines()
    assert len(ray_lines) == 3 * N_SAMPLES  # each sample stored once
    assert _pass_at_1(on_ray) == _pass_at_1(local) and 0 < local["results"][0]["pass@1"] < 1

    run = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert run["config"]["executor"] == "ray" and run["config"]["ray_address"] is None
    session = run["sessions"][-1]
    assert session["executor"] == "ray" and sum(session["verdicts"].values()) == 3 * N_SAMPLES
    assert session["verdicts"] == json.loads((tmp_path / "local" / "run.json").read_text())["sessions"][-1]["verdicts"]
    assert ray_cluster.is_initialized()  # a Ray it did not start is left running


class CrashingBackend:
    """Answers the first two problems, then fails as a lost server would."""

    name = "crashing"

    def generate(self, requests, sampling):
        for req in requests[:2]:
            yield req.index, [answer(req, i) for i in range(req.n)]
        raise ConnectionError("server went away")

    def describe(self):
        return {"backend": self.name}

    def close(self):
        pass


def test_a_run_stopped_mid_way_on_ray_resumes_with_either_executor(ray_cluster, io_problems, tmp_path, scripted):
    out = tmp_path / "run"
    with pytest.raises(ConnectionError):
        run_eval(_config(io_problems, out, executor="ray"), backend=CrashingBackend())
    first = load_samples(out)
    assert len(first) == 2 * N_SAMPLES  # what was generated before the crash is verified and kept

    rest = scripted(answer)
    run_eval(_config(io_problems, out), backend=rest)  # the executor is not a generation setting
    assert [r.n for r in rest.requests] == [N_SAMPLES]  # only the third problem is generated
    reference = tmp_path / "reference"
    run_eval(_config(io_problems, reference), backend=scripted(answer))
    assert _verdicts(out) == _verdicts(reference)
    sessions = json.loads((out / "run.json").read_text())["sessions"]
    assert [s.get("executor") for s in sessions] == [None, "local"]  # the crashed session never finished


def test_stored_completions_are_verified_on_ray_without_generating(ray_cluster, io_problems, tmp_path, scripted,
                                                                     monkeypatch):
    from ag_harness import run as run_module

    out = tmp_path / "run"
    run_eval(_config(io_problems, out), backend=scripted(answer))
    expected = _verdicts(out)
    (out / "samples.jsonl").unlink()  # completions kept, verdicts lost

    def no_backend(_cfg):
        raise AssertionError("nothing should be generated")

    monkeypatch.setattr(run_module, "get_backend", no_backend)
    summary = run_eval(_config(io_problems, out, executor="ray"))
    assert _verdicts(out) == expected
    assert summary["results"][0]["samples"] == 3 * N_SAMPLES


def test_a_failure_of_the_ray_stream_reaches_the_caller_and_the_run_resumes(ray_cluster, io_problems, tmp_path,
                                                                             scripted, monkeypatch):
    from ag_eval.executors import IDLE, ray_cluster

    def failing_after_five(jobs, judge, **_options):
        index = 0
        for job in jobs:
            if job is IDLE:
                continue
            if index == 5:
                raise RuntimeError("cluster lost")
            yield index, judge(job, index=index)
            index += 1

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(ray_cluster, "iter_ray", failing_after_five)
        with pytest.raises(RuntimeError, match="cluster lost"):
            run_eval(_config(io_problems, out, executor="ray", dedupe=False), backend=scripted(answer))
    assert len(load_samples(out)) == 5  # what came back is kept, nothing twice
    stored = len((out / "completions.jsonl").read_text().splitlines())
    assert stored >= 5

    again = scripted(answer)
    run_eval(_config(io_problems, out, executor="ray"), backend=again)
    assert sum(r.n for r in again.requests) == 3 * N_SAMPLES - stored  # stored completions are only verified
    reference = tmp_path / "reference"
    run_eval(_config(io_problems, reference), backend=scripted(answer))
    assert _verdicts(out) == _verdicts(reference)
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3 * N_SAMPLES


def test_unknown_executor_is_refused_with_the_fix():
    with pytest.raises(EvalError, match=r"executor 'dask' is unknown; use --executor local .* or --executor ray"):
        EvalConfig(model="m", dataset="d", languages=["lua"], out_dir="o", executor="dask")
    with pytest.raises(EvalError, match=r"add --executor ray or drop --ray-address"):
        EvalConfig(model="m", dataset="d", languages=["lua"], out_dir="o", ray_address="auto")


def test_cli_takes_executor_and_ray_address(tmp_path, monkeypatch):
    from ag_harness import run as run_module
    from agnostics.cli import main

    seen = {}

    def fake_run_eval(cfg, progress=False):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(run_module, "run_eval", fake_run_eval)
    monkeypatch.setattr("ag_harness.run_eval", fake_run_eval)
    args = ["eval", "-m", "m", "-d", "d", "-l", "lua", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, [*args, "--executor", "ray", "--ray-address", "auto"])
    assert result.exit_code == 0, result.output
    assert (seen["cfg"].executor, seen["cfg"].ray_address) == ("ray", "auto")

    result = CliRunner().invoke(main, [*args, "--executor", "dask"])
    assert result.exit_code == 2 and "'local'" in result.output and "'ray'" in result.output
