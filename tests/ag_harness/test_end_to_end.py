"""End to end on a CPU: a tiny model generates for Ag-MBPP-X in Lua and Python, every sample
is verified in the sandbox, scores are written, and a rerun repeats nothing."""

import json

import pytest

from ag_harness import EvalConfig, run_eval
from ag_harness import run as run_module
from ag_harness.store import load_samples


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from ag_train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), seed=0)


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_tiny_model_run_is_verified_summarised_and_resumed(tmp_path, tiny_model, small_ag_mbpp_x, requires, monkeypatch):
    requires("lua")
    requires("python")
    out = tmp_path / "run"
    cfg = EvalConfig(model=str(tiny_model), dataset=str(small_ag_mbpp_x), languages=["lua", "python"],
                     backend="transformers", n_samples=2, max_new_tokens=12, limit=2, batch_size=2,
                     device="cpu", out_dir=str(out), workers=2, system_prompt="/nothink")
    summary = run_eval(cfg)

    samples = load_samples(out)
    assert len(samples) == 2 * 2 * 2  # problems x languages x samples
    assert {k[1] for k in samples} == {"lua", "python"}
    assert all(r["verdict"] and r["completion"] is not None and "tests" in r["result"] for r in samples.values())
    assert {(r["dataset"], r["language"]) for r in summary["results"]} == {("ag-mbpp-x", "lua"), ("ag-mbpp-x", "python")}
    for r in summary["results"]:
        assert r["problems"] == 2 and r["samples"] == 4 and 0.0 <= r["pass@1"] <= 1.0
        assert set(r["pass@k"]) == {"1", "2"} and r["complete"]
    assert (out / "summary.md").read_text().count("| ag-mbpp-x |") == 4  # scores and verdict tables
    assert (out / "pass_at_1.png").read_bytes()[:4] == b"\x89PNG"
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["n_samples"] == 2 and run["config"]["temperature"] == 0.2
    assert run["config"]["system_prompt"] == "/nothink"
    assert run["sessions"][0]["backend"]["backend"] == "transformers"

    # A rerun finds everything done: no model is loaded and nothing is generated or verified again.
    def no_backend(_cfg):
        raise AssertionError("the rerun started a backend")

    monkeypatch.setattr(run_module, "get_backend", no_backend)
    before = lines(out / "samples.jsonl")
    again = run_eval(cfg)
    assert lines(out / "samples.jsonl") == before
    assert again["results"] == summary["results"]
    assert json.loads((out / "run.json").read_text())["sessions"][-1]["generated"] == 0


def test_interrupted_run_verifies_stored_completions_and_generates_only_the_rest(tmp_path, small_ag_mbpp_x,
                                                                                 scripted, requires):
    requires("lua")
    out = tmp_path / "run"
    cfg = EvalConfig(model="scripted", dataset=str(small_ag_mbpp_x), languages=["lua"], n_samples=2, limit=2,
                     out_dir=str(out), workers=2)
    run_eval(cfg, backend=scripted(lambda req, i: "```lua\nprint(1)\n```"))
    kept = lines(out / "samples.jsonl")
    (out / "samples.jsonl").write_text("\n".join(kept[:1]) + "\n" + kept[1][:20])  # killed mid-write
    more = scripted(lambda req, i: "```lua\nprint(2)\n```")
    cfg.n_samples = 3
    summary = run_eval(cfg, backend=more)
    assert [r.n for r in more.requests] == [1, 1]  # only the third sample of each problem
    samples = load_samples(out)
    assert len(samples) == 6
    assert sum(r["completion"].endswith("print(1)\n```") for r in samples.values()) == 4  # re-verified, not regenerated
    assert summary["results"][0]["samples"] == 6


def test_other_settings_in_the_same_folder_are_refused(tmp_path, small_ag_mbpp_x, scripted, requires):
    requires("lua")
    from ag_harness import EvalError

    cfg = EvalConfig(model="scripted", dataset=str(small_ag_mbpp_x), languages=["lua"], n_samples=1, limit=1,
                     out_dir=str(tmp_path), workers=1)
    run_eval(cfg, backend=scripted(lambda req, i: "no code"))
    cfg.temperature = 0.8
    with pytest.raises(EvalError, match="temperature"):
        run_eval(cfg, backend=scripted(lambda req, i: "no code"))


def test_missing_vllm_gives_a_clear_message(monkeypatch):
    import builtins

    from ag_harness import BackendError
    from ag_harness.backends import get_backend

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "vllm" or name.startswith("vllm."):
            raise ImportError("No module named 'vllm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(BackendError, match=r"pip install 'agnostics\[vllm\]'"):
        get_backend(EvalConfig(model="m", dataset="d", languages=["lua"], out_dir="o", backend="vllm"))
