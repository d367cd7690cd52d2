"""io_pass_at_k: pass@k of generated programs in any language, judged on stdin/stdout tests."""

import logging
from collections import Counter

import datasets
import evaluate
import numpy as np

try:  # indented so that evaluate's import scan does not suggest `pip install ag_eval`
    import ag_eval
    from ag_eval.compare import parse_compare
    from ag_eval.executors.remote import remote_verifier
    from ag_eval.passk import estimate_pass_at_k
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("io_pass_at_k needs the Agnostics verifier: `pip install agnostics`.") from exc

logger = logging.getLogger("ag_eval.io_pass_at_k")

DEFAULT_K = (1, 10, 100)
SANDBOX_ERROR_POLICIES = ("retry", "exclude", "raise")

_CITATION = """\
@article{chen2021codex,
  title   = {Evaluating Large Language Models Trained on Code},
  author  = {Mark Chen and Jerry Tworek and Heewoo Jun and Qiming Yuan and Henrique Ponde de Oliveira Pinto
             and Jared Kaplan and Harri Edwards and Yuri Burda and Nicholas Joseph and Greg Brockman
             and others},
  journal = {arXiv preprint arXiv:2107.03374},
  year    = {2021},
}
"""

_DESCRIPTION = """\
io_pass_at_k scores candidate programs in any language Agnostics has a runner for (Lua, R,
OCaml, Fortran, Julia, Python, C, C++, ...) by what they print: every candidate runs in an
nsjail sandbox on each test's stdin and its stdout is compared with the expected output.
It reports pass@k with the unbiased estimator of Chen et al. (2021), as `code_eval` does,
plus every candidate's verdict. Verifier faults (`sandbox_error`) are retried, then left out
of the sample counts and reported, never scored as wrong answers.
"""

_KWARGS_DESCRIPTION = """
Scores candidate programs against stdin/stdout tests and estimates pass@k.

Args:
    predictions: one list of candidates per problem. A candidate is a raw model completion
        (prose around a fenced code block; the last block is taken, preferring the language's
        fence tags) or, with `extract_code=False`, the bare program.
    references: one list of tests per problem; a test is `{"input": str, "output": str}`.
    language: the language of every problem (e.g. "lua"), or a list with one per problem.
        Required, unless the metric was loaded with a language as its config name
        (`evaluate.load("agnostics/io_pass_at_k", "lua")`). Names and aliases come from the
        runner YAML files (`agnostics languages` lists them).
    k: an int or a tuple of ints, default (1, 10, 100). pass@k is reported only when every
        scored problem has at least k candidates; other k are left out of the output and a
        warning is logged.
    compare: how output is compared, one for all or a list per problem: "lines" (default:
        trailing whitespace per line and trailing blank lines ignored), "exact", "tokens"
        or "float:<tol>".
    extract_code: True (default) to extract the program from each completion; a completion
        without a code block gets the verdict `no_code`. False to run candidates as given.
    num_workers: programs verified in parallel (default: the verifier's choice).
    time_limit_s: CPU time limit per test in seconds (default 5).
    memory_limit_mb: memory limit per run in MB (default 512).
    dedupe: True (default) to judge identical candidates of the same problem once, the copies
        sharing its verdict (a nondeterministic program is then run once for all its copies);
        False to run every candidate.
    sandbox_error: what to do with candidates whose verdict is `sandbox_error` (a fault of
        the verifier, not of the program). "retry" (default): run them once more, then
        exclude those still failing from the sample counts. "exclude": exclude them at once.
        "raise": retry once, then raise if any remain.
    progress: True to show a progress bar while programs run.
    verifier_url: the base URL of a verifier service (`agnostics serve`) to run the programs
        on instead of this machine, e.g. "http://verifier.internal:8080" (default: the
        AGNOSTICS_VERIFIER_URL environment variable, else this machine); `num_workers` is
        then the programs kept in flight there. A service that stays unreachable gives
        `sandbox_error` verdicts, handled as `sandbox_error` says.
    verifier_token: the service's bearer token (default: AGNOSTICS_VERIFIER_TOKEN).

Returns:
    A dict with
    "pass@k": mean pass@k over the scored problems, for each computable k;
    "sandbox_errors": candidates excluded because the verifier failed on them;
    "excluded_problems": problems left out because every candidate was excluded;
    "verdict_counts": candidates per verdict, every verdict listed;
    "results": per problem, per candidate, {"verdict", "passed", "total"}.

Raises:
    ValueError or an AgnosticsError (unknown language, missing toolchain, bad limit or
    comparison), with the fix, before any program runs.

Examples:
    >>> io_pass_at_k = evaluate.load("agnostics/io_pass_at_k")  # doctest: +SKIP
    >>> tests = [{"input": "2 3\\n", "output": "5\\n"}, {"input": "10 -4\\n", "output": "6\\n"}]
    >>> candidates = [
    ...     "Read both numbers and print the sum:\\n```lua\\nlocal a, b = io.read('n', 'n')\\nprint(a + b)\\n```",
    ...     "```lua\\nprint(5)\\n```",
    ... ]
    >>> out = io_pass_at_k.compute(predictions=[candidates], references=[tests], language="lua", k=(1, 2))
    >>> out["pass@1"], out["pass@2"], out["sandbox_errors"]
    (0.5, 1.0, 0)
    >>> [c["verdict"] for c in out["results"][0]]
    ['pass', 'wrong_output']
"""


def _per_problem(value, name, num_problems):
    """One value for all problems, or a list with one per problem."""
    if isinstance(value, (list, tuple)):
        if len(value) != num_problems:
            raise ValueError(f"{name} has {len(value)} entries for {num_problems} problems; give one per problem.")
        return list(value)
    return [value] * num_problems


def _normalise_k(k):
    ks = DEFAULT_K if k is None else (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    if not ks or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1 for x in ks):
        raise ValueError(f"k={k!r} must be a positive int or a tuple of positive ints, e.g. (1, 10).")
    return tuple(sorted({int(x) for x in ks}))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class IOPassAtK(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.List(datasets.Value("string")),
                "references": datasets.List({"input": datasets.Value("string"), "output": datasets.Value("string")}),
            }),
            reference_urls=["https://arxiv.org/abs/2107.03374"],
        )

    def _compute(
        self, predictions, references, language=None, k=DEFAULT_K, compare="lines", extract_code=True,
        num_workers=None, time_limit_s=None, memory_limit_mb=None, sandbox_error="retry", progress=False,
        dedupe=True, verifier_url=None, verifier_token=None,
    ):
        ks = _normalise_k(k)
        if sandbox_error not in SANDBOX_ERROR_POLICIES:
            raise ValueError(f"sandbox_error={sandbox_error!r} is unknown; use one of {', '.join(SANDBOX_ERROR_POLICIES)}.")
        if language is None and self.config_name not in (None, "default"):
            language = self.config_name  # evaluate.load(path, "lua")
        if language is None:
            raise ValueError(
                'language is required: pass language="lua" (or one per problem), or load the metric '
                'with the language as its config name: evaluate.load(path, "lua").'
            )
        num_problems = len(predictions)
        languages = _per_problem(language, "language", num_problems)
        compares = _per_problem(compare, "compare", num_problems)
        remote = remote_verifier(verifier_url, verifier_token)  # one clear error for a bad URL, before anything runs
        registry = ag_eval.get_registry()
        for name in sorted(set(languages)):
            runner = registry.get(name)  # one clear error before anything runs
            if remote is None:
                runner.require_installed()  # (with a service, its toolchains are the ones that count)
        for spec in sorted(set(compares)):
            parse_compare(spec)

        jobs, owner = [], []
        for i, (cands, tests) in enumerate(zip(predictions, references)):
            if not cands:
                raise ValueError(f"problem {i} has no candidates; give at least one per problem.")
            if not tests:
                raise ValueError(f"problem {i} has no tests; give at least one {{'input', 'output'}} pair.")
            row = {"tests": tests, "compare": compares[i], "time_limit_s": time_limit_s, "memory_limit_mb": memory_limit_mb}
            for j, cand in enumerate(cands):
                answer = {"code": cand or ""} if not extract_code else {"completion": cand or ""}
                # a malformed value fails here, not per candidate
                jobs.append(ag_eval.Job.from_problem_row(row, language=languages[i], id=f"{i}/{j}", **answer))
                owner.append(i)

        where = {"verifier_url": remote or ""}
        results = ag_eval.verify_many(jobs, workers=num_workers, progress=progress, dedupe=dedupe, **where)
        is_fault = [r.verdict is ag_eval.Verdict.SANDBOX_ERROR for r in results]
        if sandbox_error != "exclude" and any(is_fault):
            again = [x for x, bad in enumerate(is_fault) if bad]
            logger.warning("io_pass_at_k: retrying %d candidate(s) that hit a sandbox error.", len(again))
            for x, r in zip(again, ag_eval.verify_many([jobs[x] for x in again], workers=num_workers, **where)):
                results[x] = r
            is_fault = [r.verdict is ag_eval.Verdict.SANDBOX_ERROR for r in results]
        faults = sum(is_fault)
        if faults and sandbox_error == "raise":
            first = next(r for r in results if r.verdict is ag_eval.Verdict.SANDBOX_ERROR)
            raise ag_eval.AgnosticsError(
                f"{faults} candidate(s) hit a sandbox error after a retry (first: {first.error}); "
                "check the host with `agnostics languages`, or pass sandbox_error='exclude'."
            )
        if faults:
            logger.warning("io_pass_at_k: %d candidate(s) hit a sandbox error and are left out of n.", faults)

        n, c = np.zeros(num_problems, dtype=np.int64), np.zeros(num_problems, dtype=np.int64)
        per_problem = [[] for _ in range(num_problems)]
        for i, r, bad in zip(owner, results, is_fault):
            per_problem[i].append({"verdict": r.verdict.value, "passed": r.passed, "total": r.total})
            n[i] += 0 if bad else 1
            c[i] += int(r.verdict is ag_eval.Verdict.PASS)
        scored = n > 0
        out = {}
        for kk in ks:
            short = int(np.sum(n[scored] < kk))
            if not scored.any():
                logger.warning("io_pass_at_k: pass@%d left out: no problem has a scored candidate.", kk)
                continue
            if short:
                logger.warning(
                    "io_pass_at_k: pass@%d left out: %d problem(s) have fewer than %d scored candidates.",
                    kk, short, kk,
                )
                continue
            out[f"pass@{kk}"] = float(estimate_pass_at_k(n[scored], c[scored], kk).mean())
        counts = Counter(r.verdict.value for r in results)
        out["sandbox_errors"] = faults
        out["excluded_problems"] = int(np.sum(~scored))
        out["verdict_counts"] = {v.value: counts.get(v.value, 0) for v in ag_eval.Verdict}
        out["results"] = per_problem
        return out
