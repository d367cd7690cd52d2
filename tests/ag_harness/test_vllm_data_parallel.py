"""Data parallel evaluation through the stand-in vLLM: two engines (CUDA_VISIBLE_DEVICES=0,1),
each building its engine core in a child process as vLLM does; an engine that dies mid-run ends
the run with an error naming it, leaves no process behind, and the rerun resumes."""

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from ag_harness import BackendError, EvalConfig, run_eval
from ag_harness.store import load_samples

from .standin import standin_model, standin_vllm  # noqa: F401 (fixtures)

SUM_PROGRAM = ("```python\n# gpu {device} sample {sample}\n"
               "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n```")


@pytest.fixture
def sum_problems(tmp_path):
    """Eight stdin/stdout problems a summing program passes."""
    path = tmp_path / "sums.jsonl"
    rows = [{"problem_id": f"sum/{i}", "title": "Sum", "statement": f"SUM {i}: add the integers.",
             "tests": [{"input": f"{i} 2\n", "output": f"{i + 2}\n"}], "compare": "lines", "time_limit_s": 5.0,
             "memory_limit_mb": 512} for i in range(8)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def two_gpus(standin_vllm, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")


def config(model, dataset, out, **kw):
    return EvalConfig(model=model, dataset=str(dataset), languages=["python"], backend="vllm", n_samples=2,
                      out_dir=str(out), workers=2, **kw)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def assert_gone(pids, within_s=10.0):
    """Every pid has exited (a zombie waiting for init counts as gone)."""
    deadline = time.monotonic() + within_s
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError):
                state = "gone"
            if state in ("gone", "Z", "X"):
                alive.discard(pid)
        time.sleep(0.1)
    assert not alive, f"processes left running: {sorted(alive)}"


@pytest.mark.timeout(180)
def test_two_engines_share_the_evaluation(two_gpus, standin_model, sum_problems, tmp_path, requires):
    requires("python")
    log = tmp_path / "requests.jsonl"
    model = standin_model(reply=SUM_PROGRAM, record=str(log), delay_s=0.1)
    summary = run_eval(config(model, sum_problems, tmp_path / "run"))

    [result] = summary["results"]
    assert result["problems"] == 8 and result["samples"] == 16 and result["pass@1"] == 1.0
    served = records(log)
    assert sorted(r["device"] for r in served).count("1") >= 1 and {r["device"] for r in served} == {"0", "1"}
    assert len(served) == 8  # each problem asked once, with n=2
    completions = [r["completion"] for r in load_samples(tmp_path / "run").values()]
    assert any("# gpu 0 " in c for c in completions) and any("# gpu 1 " in c for c in completions)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["sessions"][0]["backend"]["data_parallel_size"] == 2
    assert_gone({r["pid"] for r in served})


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["kill", "raise"])
def test_an_engine_dying_mid_run_is_named_and_the_rerun_resumes(how, two_gpus, standin_model, sum_problems,
                                                                 tmp_path, requires):
    requires("python")
    log = tmp_path / "requests.jsonl"
    model = standin_model(reply=SUM_PROGRAM, record=str(log), delay_s=0.3,
                          die={"device": "1", "after_requests": 1, "how": how})
    cfg = config(model, sum_problems, tmp_path / "run")
    with pytest.raises(BackendError, match=r"vLLM engine on GPU 1 .*(killed by signal 9|EngineDeadError)"):
        run_eval(cfg)
    served = records(log)
    assert_gone({r["pid"] for r in served})
    kept = load_samples(tmp_path / "run")
    assert 0 < len(kept) < 16  # what was generated before the failure is kept

    standin_model(reply=SUM_PROGRAM, record=str(log))  # the same model without the fault
    summary = run_eval(cfg)
    assert summary["results"][0]["samples"] == 16 and summary["results"][0]["pass@1"] == 1.0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["sessions"][-1]["generated"] == 16 - len(kept)
    assert_gone({r["pid"] for r in records(log)})


@pytest.mark.timeout(120)
def test_an_engine_that_cannot_start_is_named(two_gpus, standin_model, tmp_path):
    from ag_harness.backends import GenRequest, SamplingSpec
    from ag_harness.backends.vllm_backend import VLLMBackend

    backend = VLLMBackend({"model": standin_model(fail_startup=True), "tensor_parallel_size": 1},
                          data_parallel_size=2)
    with pytest.raises(BackendError, match=r"engine on GPU [01] failed to start .*Engine core initialization failed"):
        list(backend.generate([GenRequest(index=0, n=1, text="x")], SamplingSpec(0.2, 0.95, 8)))
    backend.close()
    assert multiprocessing.active_children() == []
