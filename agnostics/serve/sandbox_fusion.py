"""SandboxFusion's ``/run_code`` contract, translated to one verifier job and back.

A request runs one program once on ``stdin`` with no expected output: it becomes a job in
``mode="exit_code"`` with one test whose input is ``stdin``, and the job's result becomes a
``RunCodeResponse`` (``status``, ``message``, ``compile_result``, ``run_result``, ``files``).

What maps and what does not (see docs/serving.md):

- ``run_timeout`` is the job's ``time_limit_s`` (CPU seconds; the wall limit is 2x + 1 s);
  ``memory_limit_MB`` its ``memory_limit_mb`` (-1 or absent: the verifier's default).
- ``compile_timeout`` is the job's ``compile_time_s`` (CPU seconds for the compile step; the wall
  limit is 2x + 1 s); absent or null: the runner's own compile limit.
- ``files`` and ``fetch_files`` are accepted when empty; anything in them is refused.
- The job is judged with ``keep_output=True`` (:func:`response_from_result` expects it): stdout
  and stderr come back whole, up to the sandbox's caps (a run stopped at the stdout cap is
  ``Failed``, verdict ``output_limit``), so a client comparing stdout sees all of it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ag_eval import Job, Result, TestCase, Verdict

#: SandboxFusion language names this service takes, and the runner each one means.
LANGUAGE_ALIASES = {"nodejs": "javascript", "R": "r", "cpp": "cpp", "python": "python", "go": "go", "java": "java",
                    "bash": "bash", "lua": "lua", "perl": "perl", "php": "php", "ruby": "ruby", "rust": "rust",
                    "julia": "julia", "racket": "racket"}
#: SandboxFusion execution modes that wrap a test framework around the program: not offered.
TEST_FRAMEWORK_MODES = ("pytest", "go_test", "junit", "jest", "D_ut", "gtest", "python_gpu", "cuda")

_FIELDS = {"code", "language", "stdin", "compile_timeout", "run_timeout", "memory_limit_MB", "files", "fetch_files"}


class RequestError(ValueError):
    """A request the service cannot take; its message is the reason and the fix (answered 400)."""


def _number(data: dict, key: str, default: float | None) -> float | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise RequestError(f"{key}={value!r} is not valid; give a number.")
    return float(value)


def resolve_language(name: Any, registry) -> str:
    """Our runner name for a SandboxFusion (or our own) language name, or a RequestError listing the known ones."""
    if not isinstance(name, str) or not name:
        raise RequestError("'language' is missing; name one, e.g. \"python\" (GET /health lists them).")
    if name in TEST_FRAMEWORK_MODES:
        raise RequestError(f"language {name!r} is a SandboxFusion test-framework mode, which this service does not "
                           "offer; send the program itself with its language (e.g. \"python\") and judge it by "
                           "stdin/stdout.")
    ours = LANGUAGE_ALIASES.get(name, name)
    if ours not in registry:
        known = sorted(set(registry.names()) | set(LANGUAGE_ALIASES))
        raise RequestError(f"unknown language {name!r}; known languages: {', '.join(known)}.")
    runner = registry.get(ours)
    if not runner.installed:
        raise RequestError(f"language {name!r} is known but its toolchain is not installed on this server "
                           f"({', '.join(runner.missing_executables())} missing); GET /health lists the installed ones.")
    return runner.name


def job_from_request(data: Any, registry, *, job_id: str = "run_code") -> Job:
    """The verifier job for one ``/run_code`` request body; RequestError for anything it cannot take."""
    if not isinstance(data, dict):
        raise RequestError(f"the body must be a JSON object (a RunCodeRequest), got {type(data).__name__}.")
    unknown = set(data) - _FIELDS
    if unknown:
        raise RequestError(f"unknown field(s) {sorted(unknown)}; valid fields are {sorted(_FIELDS)}.")
    if data.get("files"):
        raise RequestError("'files' is not supported: the program runs with stdin only; send the data on stdin "
                           "and leave 'files' empty.")
    if data.get("fetch_files"):
        raise RequestError("'fetch_files' is not supported: only stdout, stderr and the exit code come back; "
                           "leave 'fetch_files' empty.")
    for key, kind in (("files", dict), ("fetch_files", list)):
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise RequestError(f"'{key}' must be {'an object' if kind is dict else 'a list'} (and empty).")
    code = data.get("code")
    if not isinstance(code, str):
        raise RequestError("'code' is missing or not a string; give the program's source.")
    stdin = data.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        raise RequestError("'stdin' must be a string (or null).")
    language = resolve_language(data.get("language"), registry)
    run_timeout = _number(data, "run_timeout", 10.0)
    compile_timeout = _number(data, "compile_timeout", None)
    memory = _number(data, "memory_limit_MB", None)
    job: dict[str, Any] = {"id": job_id, "language": language, "code": code, "mode": "exit_code",
                           "tests": [{"input": stdin or ""}], "time_limit_s": run_timeout,
                           "compile_time_s": compile_timeout}
    if memory is not None and memory > 0:
        job["memory_limit_mb"] = int(memory) if memory == int(memory) else memory
    from ag_eval import JobError

    try:
        return Job.from_dict(job)
    except JobError as exc:
        raise RequestError(str(exc).replace("time_limit_s", "run_timeout").replace("memory_limit_mb", "memory_limit_MB")
                           .replace("compile_time_s", "compile_timeout")) from None


def _return_code(exit_code: int | None, signal: int | None) -> int | None:
    if exit_code is not None:
        return exit_code
    return -signal if signal else None  # as Python's subprocess reports a signal


def _command(status: str, time_s: float, return_code: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    return {"status": status, "execution_time": time_s, "return_code": return_code, "stdout": stdout,
            "stderr": stderr}


def response_from_result(result: Result) -> dict[str, Any]:
    """The RunCodeResponse for the verifier's result on a job made by :func:`job_from_request`
    and judged with ``keep_output=True``."""
    response: dict[str, Any] = {"status": "Failed", "message": "", "compile_result": None, "run_result": None,
                                "executor_pod_name": None, "files": {}}
    comp = result.compile
    if result.verdict is Verdict.SANDBOX_ERROR:
        response["status"] = "SandboxError"
        response["message"] = result.error or "the verifier failed on this program"
        return response
    if result.verdict is Verdict.NO_CODE:
        response["message"] = "the program is empty"
        return response
    if comp is not None and comp.status != "skipped":
        if comp.status == "timeout":
            response["compile_result"] = _command("TimeLimitExceeded", comp.time_s, None, comp.stdout, comp.stderr)
        else:
            code = comp.exit_code if comp.exit_code is not None else (0 if comp.status == "ok" else 1)
            response["compile_result"] = _command("Finished", comp.time_s, code, comp.stdout, comp.stderr)
    if result.verdict is Verdict.COMPILE_ERROR:
        response["message"] = "compile error" if comp is None or comp.status != "timeout" else "compile time limit"
        return response
    run = result.tests[0]
    code = _return_code(run.exit_code, run.signal)
    notes = []
    if run.verdict is Verdict.TIMEOUT:
        status = "TimeLimitExceeded"
        notes.append("time limit exceeded")
    elif code is None:
        status = "Error"  # ended without an exit status we can report (e.g. stopped at the output cap)
    else:
        status = "Finished"
    if run.verdict in (Verdict.MEMORY_LIMIT, Verdict.OUTPUT_LIMIT):
        notes.append(f"verdict {run.verdict.value}")
    if run.truncated and run.verdict is not Verdict.OUTPUT_LIMIT:  # judged with keep_output: the stderr cap
        notes.append("stderr cut at the sandbox's cap")
    response["run_result"] = _command(status, run.time_s, code, run.stdout, run.stderr)
    if run.verdict is Verdict.PASS:
        response["status"] = "Success"
    response["message"] = "; ".join(notes)
    return response
