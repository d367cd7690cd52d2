"""io_pass_at_k loaded through evaluate.load from its folder, offline, on real programs."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")

import doctest
import logging

import evaluate
import numpy as np
import pytest

import ag_eval
from ag_eval import Result, Verdict
from ag_eval.metric_loader import load_metric, metric_dir
from ag_eval.passk import estimate_pass_at_k

LANGUAGES = ("lua", "r", "ocaml", "fortran", "python")


def _installed(language: str) -> bool:
    return ag_eval.get_runner(language).installed


needs_toolchains = pytest.mark.skipif(
    not all(_installed(lang) for lang in LANGUAGES), reason="needs lua5.4, Rscript, ocamlopt, gfortran and python3"
)


def fence(lang: str, code: str) -> str:
    return f"```{lang}\n{code}\n```"


DOUBLE = [{"input": "21\n", "output": "42\n"}, {"input": "-5\n", "output": "-10\n"}]
SUM = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]

# (language, tests, candidates, expected verdict per candidate); the first candidate is correct.
PROBLEMS = [
    ("lua", DOUBLE, [
        "Read n and print twice n:\n\n" + fence("lua", "local n = io.read('n')\nprint(n * 2)") + "\n\nThis runs in O(1).",
        fence("lua", "print(41)"),
        fence("lua", "error('boom')"),
    ], ["pass", "wrong_output", "runtime_error"]),
    ("r", SUM, [
        "Here is an R solution.\n" + fence("r", 'x <- scan(file("stdin"), quiet = TRUE)\ncat(sum(x), "\\n", sep = "")'),
        "I am not able to write R code for this.",
        fence("r", 'stop("no")'),
    ], ["pass", "no_code", "runtime_error"]),
    ("ocaml", DOUBLE, [
        "Use read_int:\n" + fence("ocaml", 'let () = Printf.printf "%d\\n" (read_int () * 2)') + "\nDone.",
        fence("ocaml", 'let () = print_int "x"'),
        fence("ocaml", "let () = raise Not_found"),
    ], ["pass", "compile_error", "runtime_error"]),
    ("fortran", DOUBLE, [
        "```fortran\nprogram double\n  integer :: n\n  read *, n\n  print '(i0)', 2 * n\nend program double\n```",
        fence("fortran", "program broken\n  x = \nend program broken"),
        fence("fortran", "program wrong\n  print '(i0)', 0\nend program wrong"),
    ], ["pass", "compile_error", "wrong_output"]),
    ("python", SUM, [
        "Sum the two numbers:\n" + fence("python", "print(sum(map(int, input().split())))"),
        fence("python", "buf = bytearray(4 * 1024 ** 3)"),
        fence("python", "while True:\n    print('x' * 4096)"),
        fence("python", "print(undefined_name)"),
    ], ["pass", "memory_limit", "output_limit", "runtime_error"]),
]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def metric():
    return evaluate.load(str(metric_dir()), keep_in_memory=True)


@pytest.fixture(scope="module")
def scored(metric):
    records = _Records()
    log = logging.getLogger("ag_eval.io_pass_at_k")
    log.addHandler(records)
    try:
        out = metric.compute(
            predictions=[p[2] for p in PROBLEMS], references=[p[1] for p in PROBLEMS],
            language=[p[0] for p in PROBLEMS], k=(1, 3, 4), time_limit_s=2, num_workers=2,
        )
    finally:
        log.removeHandler(records)
    return out, records.messages


def test_module_loads_offline_from_its_folder(metric):
    assert metric.name == "io_pass_at_k"
    assert set(metric.features) == {"predictions", "references"}
    assert "pass@k" in metric.inputs_description


@needs_toolchains
@pytest.mark.parametrize("index", range(len(PROBLEMS)), ids=[p[0] for p in PROBLEMS])
def test_every_candidate_gets_its_verdict_class(scored, index):
    out, _ = scored
    verdicts = [c["verdict"] for c in out["results"][index]]
    assert verdicts == PROBLEMS[index][3]


@needs_toolchains
def test_correct_candidates_with_prose_around_the_code_pass_every_test(scored):
    out, _ = scored
    for problem in out["results"]:
        assert problem[0] == {"verdict": "pass", "passed": 2, "total": 2}


@needs_toolchains
def test_pass_at_k_is_the_mean_unbiased_estimate_over_problems(scored):
    out, _ = scored
    n = np.array([len(p[2]) for p in PROBLEMS])
    c = np.ones(len(PROBLEMS), dtype=int)
    assert out["pass@1"] == pytest.approx(estimate_pass_at_k(n, c, 1).mean())
    assert out["pass@3"] == pytest.approx(estimate_pass_at_k(n, c, 3).mean())
    assert out["pass@1"] == pytest.approx(np.mean([1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 4]))


@needs_toolchains
def test_k_larger_than_some_problems_samples_is_left_out_and_logged(scored):
    out, messages = scored
    assert "pass@4" not in out  # four problems have only 3 candidates
    assert any("pass@4 left out" in m for m in messages)


@needs_toolchains
def test_verdict_counts_list_every_verdict_and_add_up(scored):
    out, _ = scored
    counts = out["verdict_counts"]
    assert list(counts) == [v.value for v in Verdict]
    assert sum(counts.values()) == sum(len(p[2]) for p in PROBLEMS)
    assert counts["pass"] == 5 and counts["sandbox_error"] == 0 and out["sandbox_errors"] == 0


@needs_toolchains
def test_endless_loop_is_a_timeout(metric):
    # Alone and on one worker, so that the loop's CPU time reaches the limit before the wall clock does.
    out = metric.compute(
        predictions=[[fence("lua", "while true do end")]], references=[DOUBLE[:1]], language="lua",
        k=1, time_limit_s=1, num_workers=1,
    )
    assert out["results"][0][0]["verdict"] == "timeout" and out["pass@1"] == 0.0


def test_bare_programs_run_when_extraction_is_off(metric):
    tests = [{"input": "4\n", "output": "8\n"}]
    code = "local n = io.read('n')\nprint(n * 2)\n"
    on = metric.compute(predictions=[[code]], references=[tests], language="lua", k=1)
    off = metric.compute(predictions=[[code]], references=[tests], language="lua", k=1, extract_code=False)
    assert on["results"][0][0]["verdict"] == "no_code" and on["pass@1"] == 0.0
    assert off["results"][0][0]["verdict"] == "pass" and off["pass@1"] == 1.0


def test_language_can_be_the_config_name():
    metric = evaluate.load(str(metric_dir()), "lua", keep_in_memory=True)
    out = metric.compute(predictions=[[fence("lua", "print(7)")]], references=[[{"input": "", "output": "7\n"}]], k=1)
    assert out["pass@1"] == 1.0


def test_docstring_examples_hold(metric):
    module = __import__(type(metric).__module__, fromlist=["_KWARGS_DESCRIPTION"])
    test = doctest.DocTestParser().get_doctest(
        module._KWARGS_DESCRIPTION, {"evaluate": evaluate, "io_pass_at_k": metric}, "io_pass_at_k", None, 0
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_load_metric_helper_loads_the_installed_module():
    assert load_metric(keep_in_memory=True).name == "io_pass_at_k"


# ---- sandbox_error handling (verifier replaced by a fake: no program runs) -------------


def _fake_verifier(monkeypatch, *, always_fault=(), fault_once=()):
    calls: list[list[str]] = []
    seen: set[str] = set()

    def verify_many(jobs, *, workers=None, progress=False, **_options):
        calls.append([j.id for j in jobs])
        out = []
        for job in jobs:
            fault = job.id in always_fault or (job.id in fault_once and job.id not in seen)
            seen.add(job.id)
            if fault:
                out.append(Result.failure(job.id, Verdict.SANDBOX_ERROR, "nsjail could not start", total=len(job.tests)))
            else:
                passed = "ok" in (job.completion or job.code)
                verdict = Verdict.PASS if passed else Verdict.WRONG_OUTPUT
                out.append(Result(id=job.id, verdict=verdict, passed=int(passed), total=1))
        return out

    monkeypatch.setattr(ag_eval, "verify_many", verify_many, raising=False)
    return calls


CANDS = [["```lua\nok\n```", "```lua\nok\n```", "```lua\nbad\n```"], ["```lua\nok\n```", "```lua\nbad\n```"]]
REFS = [[{"input": "", "output": "x"}]] * 2


def test_sandbox_errors_are_retried_once_then_excluded_from_n(metric, monkeypatch):
    calls = _fake_verifier(monkeypatch, always_fault={"0/0"}, fault_once={"1/1"})
    out = metric.compute(predictions=CANDS, references=REFS, language="lua", k=(1, 2, 3))
    assert calls[1] == ["0/0", "1/1"]  # only the faulty candidates are retried
    assert out["sandbox_errors"] == 1 and out["verdict_counts"]["sandbox_error"] == 1
    assert out["results"][0][0]["verdict"] == "sandbox_error"
    # problem 0 scores n=2 (one excluded), c=1; problem 1 scores n=2, c=1
    assert out["pass@1"] == pytest.approx(0.5)
    assert out["pass@2"] == pytest.approx(1.0)
    assert "pass@3" not in out


def test_exclude_policy_does_not_retry(metric, monkeypatch):
    calls = _fake_verifier(monkeypatch, fault_once={"1/1"})
    out = metric.compute(predictions=CANDS, references=REFS, language="lua", k=1, sandbox_error="exclude")
    assert len(calls) == 1 and out["sandbox_errors"] == 1
    assert out["pass@1"] == pytest.approx(np.mean([2 / 3, 1.0]))


def test_raise_policy_raises_when_faults_survive_the_retry(metric, monkeypatch):
    _fake_verifier(monkeypatch, always_fault={"1/0"})
    with pytest.raises(ag_eval.AgnosticsError, match="1 candidate"):
        metric.compute(predictions=CANDS, references=REFS, language="lua", k=1, sandbox_error="raise")


def test_problem_whose_candidates_all_fault_is_excluded_and_counted(metric, monkeypatch):
    _fake_verifier(monkeypatch, always_fault={"1/0", "1/1"})
    out = metric.compute(predictions=CANDS, references=REFS, language="lua", k=(1, 2))
    assert out["excluded_problems"] == 1 and out["sandbox_errors"] == 2
    assert out["pass@1"] == pytest.approx(2 / 3)  # problem 0 alone


# ---- user errors: one clear sentence, before anything runs --------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "language is required"),
        ({"language": "klingon"}, "unknown language 'klingon'"),
        ({"language": ["lua"]}, "language has 1 entries for 2 problems"),
        ({"language": "lua", "k": 0}, "positive int"),
        ({"language": "lua", "k": (1, "10")}, "positive int"),
        ({"language": "lua", "compare": "fuzzy"}, "not a comparison mode"),
        ({"language": "lua", "sandbox_error": "ignore"}, "sandbox_error='ignore' is unknown"),
        ({"language": "lua", "time_limit_s": 0}, "time_limit_s"),
    ],
)
def test_bad_arguments_are_one_clear_error(metric, monkeypatch, kwargs, message):
    calls = _fake_verifier(monkeypatch)
    with pytest.raises((ValueError, ag_eval.AgnosticsError), match=message):
        metric.compute(predictions=CANDS, references=REFS, **kwargs)
    assert calls == []
