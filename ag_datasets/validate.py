"""Execution validation: every converted problem's Python solution must pass all its tests.

Problems whose solution fails are dropped with the verdict as the reason (e.g.
``wrong_output``) and the first failing test as the detail. ``sandbox_error`` is the
verifier's failure, not the problem's: it is counted apart and, when every job hits it,
the build stops with the verifier's message instead of dropping everything.
"""

from __future__ import annotations

import logging
from typing import Sequence

from .convert import Conversion
from .errors import DatasetError
from .report import BuildReport

logger = logging.getLogger(__name__)

VALIDATION_LANGUAGE = "python"


def _job(conv: Conversion):
    from ag_eval import Job

    p = conv.problem
    assert p is not None and conv.solution is not None
    row = {"problem_id": p.problem_id, "tests": p.tests, "compare": p.compare, "time_limit_s": p.time_limit_s,
           "memory_limit_mb": p.memory_limit_mb}
    return Job.from_problem_row(row, language=VALIDATION_LANGUAGE, code=conv.solution)


def _detail(result) -> str:
    if result.error:
        return result.error
    for i, t in enumerate(result.tests):
        if t.verdict.value != "pass":
            tail = (t.stderr.strip().splitlines() or [""])[-1][:200]
            if t.verdict.value == "wrong_output":
                return f"test {i + 1}: printed {t.stdout[:120]!r}"
            return f"test {i + 1}: {t.verdict.value}" + (f" ({tail})" if tail else "")
    return result.verdict.value


def validate(conversions: Sequence[Conversion], report: BuildReport, *, workers: int | None = None,
             progress: bool = False) -> list[Conversion]:
    """Run each converted problem's solution; return the ones that pass, record the others in ``report``."""
    from ag_eval import Verdict, verify_many

    todo = [c for c in conversions if c.ok and c.solution]
    for c in conversions:
        if c.ok and not c.solution:
            report.drop(c.problem.problem_id, "validate", "no_solution", "the converter gave no solution to check the tests with")
    if not todo:
        return []
    results = verify_many([_job(c) for c in todo], workers=workers, progress=progress)
    if all(r.verdict is Verdict.SANDBOX_ERROR for r in results):
        raise DatasetError(
            f"validation could not run any program ({results[0].error}); "
            "check the sandbox with `agnostics languages check python` and rebuild."
        )
    kept = []
    for conv, result in zip(todo, results):
        if result.verdict is Verdict.PASS:
            conv.problem.provenance.validation = f"pass ({result.passed}/{result.total} tests, python)"
            kept.append(conv)
        else:
            if result.verdict is Verdict.SANDBOX_ERROR:
                logger.warning("sandbox error while validating %s: %s", conv.problem.problem_id, result.error)
            report.drop(conv.problem.problem_id, "validate", result.verdict.value, _detail(result))
    return kept
