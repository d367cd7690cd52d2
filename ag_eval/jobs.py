"""The batch-job and result contract (see ARCHITECTURE.md).

A job is one program plus its I/O tests; a result is the verdict with per-test details.
Both round-trip through plain JSON dicts so they travel in JSONL files, over Ray and
between processes.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import JobError
from .limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S
from .verdicts import Verdict
#: Largest accepted program source, in bytes (a 10 MB "program" is rejected with a clear error).
MAX_CODE_BYTES = 1_000_000

_JOB_KEYS = {
    "id", "language", "code", "completion", "tests", "compare", "time_limit_s",
    "memory_limit_mb", "compile_time_s", "mode", "metadata",
}
_MODES = ("stdio", "exit_code")
#: Surrogates that UTF-8 with ``surrogateescape`` cannot write (that handler keeps only U+DC80..U+DCFF).
_UNWRITABLE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _writable(text: str) -> str:
    """``text`` with every lone surrogate held as the bytes it stands for, so that encoding
    with ``surrogateescape`` (as the program's source, stdin and expected output are) never
    fails: U+DC80..U+DCFF already stand for one undecodable byte each (a file read with
    ``surrogateescape``); any other, e.g. JSON's "\\ud800", for its three UTF-8 bytes
    (``surrogatepass``), which the program then gets as they are."""
    try:
        text.encode("utf-8", "surrogateescape")
        return text
    except UnicodeEncodeError:
        return _UNWRITABLE_SURROGATE.sub(
            lambda m: m.group().encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape"), text)


def _limit(job_id: str, key: str, value: Any, *, whole: bool) -> int | float:
    """A limit as a number; strings, booleans, NaN, infinities (and fractions where ``whole``) refused."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or (whole and value != int(value))):
        fix = "a whole number of MB, e.g. 512" if whole else "a number of seconds, e.g. 5"
        raise JobError(f"job {job_id!r}: {key}={value!r} is not valid; give {fix}.")
    return int(value) if whole else float(value)


@dataclass(frozen=True)
class TestCase:
    input: str
    output: str = ""


@dataclass
class Job:
    """One program to judge.

    Give either ``code`` (the program) or ``completion`` (a model's raw answer, from
    which the program is extracted; ``no_code`` when it holds none).

    ``mode="stdio"`` (default) judges stdout against each test's expected output;
    ``mode="exit_code"`` judges by exit status alone (MultiPL-E style: the tests are
    inside the program), running it once with the tests' inputs or empty stdin.
    """

    id: str
    language: str
    tests: list[TestCase]
    code: str | None = None
    completion: str | None = None
    compare: str = "lines"
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    #: CPU seconds for the compile step; None: the runner's own (``limits.compile_time_s``)
    compile_time_s: float | None = None
    mode: str = "stdio"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code is None and self.completion is None:
            raise JobError(f"job {self.id!r} has neither 'code' nor 'completion': give the program in 'code'.")
        if self.mode not in _MODES:
            raise JobError(f"job {self.id!r}: mode {self.mode!r} is unknown; use one of {', '.join(_MODES)}.")
        self.time_limit_s = _limit(self.id, "time_limit_s", self.time_limit_s, whole=False)
        self.memory_limit_mb = _limit(self.id, "memory_limit_mb", self.memory_limit_mb, whole=True)
        if not (0 < self.time_limit_s <= 600):
            raise JobError(f"job {self.id!r}: time_limit_s={self.time_limit_s!r} must be in (0, 600] seconds.")
        if not (16 <= self.memory_limit_mb <= 65536):
            raise JobError(f"job {self.id!r}: memory_limit_mb={self.memory_limit_mb!r} must be in [16, 65536].")
        if self.compile_time_s is not None:
            self.compile_time_s = _limit(self.id, "compile_time_s", self.compile_time_s, whole=False)
            if not (0 < self.compile_time_s <= 600):
                raise JobError(f"job {self.id!r}: compile_time_s={self.compile_time_s!r} must be in (0, 600] seconds "
                               "(or absent: the runner's own compile limit).")
        if self.code is not None:
            self.code = _writable(self.code)
        if self.completion is not None:
            self.completion = _writable(self.completion)
        self.tests = [TestCase(_writable(t.input), _writable(t.output)) for t in self.tests]
        source = self.code if self.code is not None else self.completion
        size = len(source.encode("utf-8", "surrogateescape"))
        if size > MAX_CODE_BYTES:
            raise JobError(
                f"job {self.id!r}: the program is {size} bytes, over the "
                f"{MAX_CODE_BYTES}-byte limit; send the source program, not data or a binary."
            )
        if self.mode == "stdio" and not self.tests:
            raise JobError(f"job {self.id!r} has no tests: give at least one {{'input', 'output'}} pair.")

    @classmethod
    def from_dict(cls, data: Any, *, default_id: str | None = None) -> "Job":
        """Build a job from a JSON object, with one clear error for anything malformed."""
        if not isinstance(data, dict):
            raise JobError(f"a job must be a JSON object, got {type(data).__name__}.")
        unknown = set(data) - _JOB_KEYS
        if unknown:
            raise JobError(
                f"job {data.get('id', default_id)!r} has unknown key(s) {sorted(unknown)}; "
                f"valid keys are {sorted(_JOB_KEYS)}."
            )
        job_id = data.get("id")
        if job_id is None:
            job_id = default_id
        if job_id is None:
            raise JobError("job has no 'id': give every job a unique id.")
        job_id = str(job_id)
        language = data.get("language")
        if not isinstance(language, str) or not language:
            raise JobError(f"job {job_id!r} has no 'language': name one, e.g. \"lua\" (see `agnostics languages`).")
        for key in ("code", "completion"):
            if key in data and data[key] is not None and not isinstance(data[key], str):
                raise JobError(f"job {job_id!r}: '{key}' must be a string.")
        raw_tests = data.get("tests", [])
        if not isinstance(raw_tests, list):
            raise JobError(f"job {job_id!r}: 'tests' must be a list of {{'input', 'output'}} objects.")
        tests = []
        for i, t in enumerate(raw_tests):
            if not isinstance(t, dict) or not isinstance(t.get("input", ""), str) or not isinstance(t.get("output", ""), str):
                raise JobError(f"job {job_id!r}: test {i} must be an object with string 'input' and 'output'.")
            tests.append(TestCase(input=t.get("input", ""), output=t.get("output", "")))
        kwargs: dict[str, Any] = {}
        for key, example in (("compare", "lines"), ("mode", "stdio")):
            if data.get(key) is not None:
                if not isinstance(data[key], str):
                    raise JobError(f"job {job_id!r}: {key}={data[key]!r} is not valid; give a string, e.g. {example!r}.")
                kwargs[key] = data[key]
        for key in ("time_limit_s", "memory_limit_mb", "compile_time_s"):  # numbers are checked in __post_init__
            if data.get(key) is not None:
                kwargs[key] = data[key]
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise JobError(f"job {job_id!r}: 'metadata' must be an object.")
        return cls(
            id=job_id, language=language, tests=tests, code=data.get("code"),
            completion=data.get("completion"), metadata=metadata, **kwargs,
        )

    @classmethod
    def from_problem_row(cls, row: dict[str, Any], completion: str | None = None, language: str | None = None, *,
                         code: str | None = None, id: str | None = None) -> "Job":
        """The job judging one answer to one problem row.

        ``row`` is a problem row or its per-language view: ``tests``, and optionally
        ``compare``, ``time_limit_s``, ``memory_limit_mb`` (missing or None: the defaults of
        :mod:`ag_eval.limits`), ``mode``, ``language`` and ``problem_id``. The answer is a
        model's raw ``completion`` (the program is extracted from it) or the bare ``code``.
        ``language`` defaults to the row's; ``id`` to the row's ``problem_id``.
        """
        language = language or row.get("language")
        job_id = id if id is not None else row.get("problem_id", "row")
        data: dict[str, Any] = {
            "id": job_id, "language": language, "mode": row.get("mode") or "stdio",
            "tests": [{"input": t.get("input") or "", "output": t.get("output") or ""} for t in row.get("tests") or []],
            "compare": row.get("compare") or "lines",
            "time_limit_s": DEFAULT_TIME_LIMIT_S if row.get("time_limit_s") is None else row["time_limit_s"],
            "memory_limit_mb": DEFAULT_MEMORY_LIMIT_MB if row.get("memory_limit_mb") is None else row["memory_limit_mb"],
        }
        if code is not None:
            data["code"] = code
        else:
            data["completion"] = completion if completion is not None else ""
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_id(job: Any, index: int) -> str:
    """The id to report a job under: its own, or what a parse error carries, or ``job-<index>``."""
    if isinstance(job, Job):
        return job.id
    if isinstance(job, dict) and job.get("id") is not None:
        return str(job["id"])
    return str(getattr(job, "job_id", None) or f"job-{index}")  # JobLineError carries its id


@dataclass
class TestResult:
    """The outcome of running the program on one test."""

    verdict: Verdict
    time_s: float = 0.0
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    detail: str = ""
    #: stdout or stderr was cut to the characters a result keeps (``verify(keep_output=True)`` keeps them whole)
    truncated: bool = False
    #: the first run waited out its wall-clock limit with little CPU time, and this is the
    #: second run (see :func:`ag_eval.judge.waited_out`)
    rerun: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        for flag in ("truncated", "rerun"):  # kept only when set
            if not d[flag]:
                del d[flag]
        return d


@dataclass
class CompileResult:
    """The outcome of the (single) compile step; ``skipped`` for interpreted languages."""

    status: str  # "ok" | "skipped" | "error" | "timeout" | "sandbox_error"
    time_s: float = 0.0
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    #: the first compile waited out its wall-clock limit, and this is the second (as for a test)
    rerun: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not self.rerun:  # kept only when set
            del d["rerun"]
        return d


@dataclass
class Result:
    """The verdict on one job."""

    id: str
    verdict: Verdict
    passed: int = 0
    total: int = 0
    language: str | None = None
    compile: CompileResult | None = None
    tests: list[TestResult] = field(default_factory=list)
    error: str | None = None
    code: str | None = None
    time_s: float = 0.0
    #: True on a copy of another job's judgment (identical job, or the result cache); see ag_eval.executors.dedupe
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.PASS

    def to_dict(self, *, include_code: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict.value,
            "passed": self.passed,
            "total": self.total,
            "language": self.language,
            "compile": self.compile.to_dict() if self.compile else None,
            "tests": [t.to_dict() for t in self.tests],
            "time_s": round(self.time_s, 4),
        }
        if self.error:
            d["error"] = self.error
        if include_code:
            d["code"] = self.code
        if self.reused:
            d["reused"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Result":
        comp = d.get("compile")
        return cls(
            id=str(d["id"]),
            verdict=Verdict(d["verdict"]),
            passed=int(d.get("passed", 0)),
            total=int(d.get("total", 0)),
            language=d.get("language"),
            compile=CompileResult(**comp) if comp else None,
            tests=[TestResult(**{**t, "verdict": Verdict(t["verdict"])}) for t in d.get("tests", [])],
            error=d.get("error"),
            code=d.get("code"),
            time_s=float(d.get("time_s", 0.0)),
            reused=bool(d.get("reused", False)),
        )

    @classmethod
    def failure(cls, job_id: str, verdict: Verdict, error: str, *, language: str | None = None, total: int = 0) -> "Result":
        return cls(id=job_id, verdict=verdict, error=error, language=language, total=total)
