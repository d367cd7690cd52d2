"""Evaluation verifies through the verifier's scheduler: processes on many cores, and
identical samples judged once unless the run says otherwise."""

from __future__ import annotations

import json

import pytest

from ag_harness import EvalConfig, EvalError, run_eval
from ag_harness.store import load_samples
from ag_harness.verifier import verification_plan

SUM = "```lua\nlocal a, b = io.read('n', 'n')\nprint(a + b)\n```"


def _cfg(**options) -> EvalConfig:
    return EvalConfig(**{"model": "m", "dataset": "d", "languages": ["lua"], "out_dir": "o", **options})


def test_eval_uses_verifier_processes_on_a_many_core_machine(monkeypatch):
    monkeypatch.delenv("AGNOSTICS_THREADS_PER_PROCESS", raising=False)
    assert verification_plan(_cfg(), cores=16).kind == "processes"
    assert verification_plan(_cfg(), cores=4).kind == "threads"
    assert verification_plan(_cfg(executor="threads"), cores=16).kind == "threads"
    assert verification_plan(_cfg(executor="ray", ray_address="auto")).kind == "ray"
    assert verification_plan(_cfg(workers=24), cores=2).processes == 3


def test_cache_without_dedupe_is_refused():
    with pytest.raises(EvalError, match="drop one of them"):
        _cfg(dedupe=False, cache_dir="cache")


@pytest.mark.parametrize("dedupe", [True, False])
def test_identical_samples_are_judged_once_unless_asked(io_problems, tmp_path, scripted, requires, dedupe):
    requires("lua")
    out = tmp_path / "run"
    cfg = EvalConfig(model="scripted", dataset=str(io_problems), languages=["lua"], n_samples=5, limit=1,
                     out_dir=str(out), workers=2, dedupe=dedupe)
    run_eval(cfg, backend=scripted(lambda req, i: SUM))
    samples = load_samples(out)
    assert len(samples) == 5 and {r["verdict"] for r in samples.values()} == {"pass"}
    reused = sum(bool(r["result"].get("reused")) for r in samples.values())
    session = json.loads((out / "run.json").read_text())["sessions"][-1]
    assert reused == session["reused"] == (4 if dedupe else 0)
