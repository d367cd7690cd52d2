"""ag_eval: the language-agnostic verifier.

    from ag_eval import verify, verify_many, Job, Verdict
    result = verify({"id": "1", "language": "lua", "code": "print(io.read('n') * 2)",
                     "tests": [{"input": "21\n", "output": "42\n"}]})
    assert result.verdict is Verdict.PASS
"""

from .errors import (
    AgnosticsError,
    JobError,
    RunnerError,
    SandboxUnavailableError,
    ToolchainMissingError,
    UnknownLanguageError,
)
from .jobs import CompileResult, Job, Result, TestCase, TestResult
from .verdicts import Verdict

__all__ = [
    "AgnosticsError", "JobError", "RunnerError", "SandboxUnavailableError", "ToolchainMissingError",
    "UnknownLanguageError", "CompileResult", "Job", "Result", "TestCase", "TestResult", "Verdict",
    "verify", "averify", "verify_many", "averify_many", "iter_verify", "extract_code", "get_runner",
    "get_registry", "pass_at_k", "load_metric",
]


def __getattr__(name: str):  # lazy: importing ag_eval starts nothing
    if name in ("verify", "averify", "verify_many", "averify_many", "iter_verify"):
        from . import engine

        return getattr(engine, name)
    if name == "extract_code":
        from .extract import extract_code

        return extract_code
    if name in ("get_runner", "get_registry"):
        from . import runners

        return getattr(runners, name)
    if name == "pass_at_k":
        from .passk import pass_at_k

        return pass_at_k
    if name == "load_metric":
        from .metric_loader import load_metric

        return load_metric
    raise AttributeError(name)
