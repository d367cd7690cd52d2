"""The language-agnostic problem row shared by every Agnostics dataset.

A row says what a program must do on stdin/stdout, never in which language: the
per-language view (:mod:`ag_datasets.view`) adds the language when a row is used.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ag_eval.limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S

from .errors import DatasetError
from .newlines import normalize_newlines_in

#: Comparison modes understood by the verifier (``float:<tol>`` carries a tolerance).
_COMPARE_RE = re.compile(r"^(lines|exact|tokens|float:[0-9.eE+-]+)(\+icase)?$")


@dataclass
class Provenance:
    """How a row was made: the converter, the model (LLM conversions) and the validation."""

    converter: str            # "mechanical" | "llm" | "source" (tests taken as published)
    model: str = ""           # the LLM that rewrote the problem, "" otherwise
    validation: str = ""      # "pass (3/3 tests)" | "not run: official tests" | ...
    notes: str = ""           # anything a reader needs to trust the row (skipped asserts, ...)


@dataclass
class Problem:
    """One language-agnostic stdin/stdout problem."""

    problem_id: str           # stable and unique across datasets, e.g. "mbpp/11"
    source: str               # "mbpp" | "humaneval" | "livecodebench" | "codeforces"
    source_id: str            # the id in the source dataset
    title: str
    statement: str            # self-contained, with "Input format" and "Output format" sections
    tests: list[dict[str, str]]
    public_tests: list[dict[str, str]] = field(default_factory=list)
    compare: str = "lines"
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    difficulty: str = ""      # the source's difficulty word or rating, "" when it has none
    tags: list[str] = field(default_factory=list)
    provenance: Provenance = field(default_factory=lambda: Provenance(converter="source"))

    def __post_init__(self) -> None:
        # Line ends are LF whatever the source wrote (CRLF tests would feed programs "abc\r").
        self.title, self.statement = normalize_newlines_in(self.title), normalize_newlines_in(self.statement)
        self.tests, self.public_tests = normalize_newlines_in(self.tests), normalize_newlines_in(self.public_tests)
        if not self.tests:
            raise DatasetError(f"problem {self.problem_id!r} has no tests: every row needs at least one I/O test.")
        if not _COMPARE_RE.match(self.compare):
            raise DatasetError(
                f"problem {self.problem_id!r}: compare={self.compare!r} is unknown; "
                "use lines, exact, tokens or float:<tol> (optionally +icase)."
            )
        for t in [*self.tests, *self.public_tests]:
            if not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str):
                raise DatasetError(f"problem {self.problem_id!r}: every test needs string 'input' and 'output'.")

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["tests"] = [{"input": t["input"], "output": t["output"]} for t in self.tests]
        row["public_tests"] = [{"input": t["input"], "output": t["output"]} for t in self.public_tests]
        row["time_limit_s"] = float(self.time_limit_s)
        row["memory_limit_mb"] = int(self.memory_limit_mb)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Problem":
        data = dict(row)
        prov = data.pop("provenance", None) or {}
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known}, provenance=Provenance(**prov))


def features():
    """The ``datasets.Features`` of a problem row (imported lazily: datasets is heavy)."""
    from datasets import Features, List, Value

    test = {"input": Value("string"), "output": Value("string")}
    return Features(
        {
            "problem_id": Value("string"),
            "source": Value("string"),
            "source_id": Value("string"),
            "title": Value("string"),
            "statement": Value("string"),
            "tests": List(test),
            "public_tests": List(test),
            "compare": Value("string"),
            "time_limit_s": Value("float64"),
            "memory_limit_mb": Value("int64"),
            "difficulty": Value("string"),
            "tags": List(Value("string")),
            "provenance": {
                "converter": Value("string"),
                "model": Value("string"),
                "validation": Value("string"),
                "notes": Value("string"),
            },
        }
    )
