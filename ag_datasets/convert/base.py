"""The types every converter shares: a source task in, a conversion out, the converter protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from ag_eval.limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S

from ..newlines import normalize_newlines_in
from ..schema import Problem


@dataclass
class SourceTask:
    """A function-level problem with assert-style tests, before conversion."""

    source: str                 # "mbpp" | "humaneval"
    source_id: str
    text: str                   # the natural-language description
    code: str                   # the reference solution (Python)
    tests: list[str]            # assert statements calling ``entry_point`` by name
    entry_point: str | None = None
    title: str = ""
    setup_code: str = ""
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # MBPP's reference code ends its lines with CRLF; every converter sees LF only.
        for name in ("text", "code", "tests", "setup_code", "title"):
            setattr(self, name, normalize_newlines_in(getattr(self, name)))

    @property
    def problem_id(self) -> str:
        return f"{self.source}/{self.source_id}"


@dataclass
class Conversion:
    """The outcome of converting one task: a problem and its solution, or a drop reason."""

    task: SourceTask
    problem: Problem | None = None
    solution: str | None = None     # a Python stdin/stdout program that should pass problem.tests
    reason: str = ""                # report key when dropped, e.g. "mixed_types"
    detail: str = ""                # one sentence saying what exactly was refused

    @property
    def ok(self) -> bool:
        return self.problem is not None


class Converter(Protocol):
    name: str

    def convert(self, tasks: Sequence[SourceTask]) -> list[Conversion]:
        """One conversion per task, in input order."""
        ...


class CombinedConverter:
    """Mechanical first; the LLM rewrites only what the mechanical converter refused."""

    name = "both"

    def __init__(self, mechanical: Converter, llm: Converter):
        self.mechanical = mechanical
        self.llm = llm

    def convert(self, tasks: Sequence[SourceTask]) -> list[Conversion]:
        out = self.mechanical.convert(tasks)
        retry = [i for i, c in enumerate(out) if not c.ok]
        if retry:
            for i, conv in zip(retry, self.llm.convert([tasks[i] for i in retry])):
                if not conv.ok:
                    conv.detail = f"{conv.detail} (mechanical: {out[i].reason}: {out[i].detail})"
                out[i] = conv
        return out
