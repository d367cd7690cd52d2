"""The one vocabulary of verdicts used everywhere in Agnostics."""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Outcome of judging a program (or one test of it).

    ``SANDBOX_ERROR`` is the verifier's own failure, never the program's: it is
    reported apart and never silently scored as a model failure.
    """

    PASS = "pass"
    WRONG_OUTPUT = "wrong_output"
    RUNTIME_ERROR = "runtime_error"
    COMPILE_ERROR = "compile_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    NO_CODE = "no_code"
    SANDBOX_ERROR = "sandbox_error"

    def __str__(self) -> str:  # "pass", not "Verdict.PASS"
        return self.value

    @property
    def is_model_failure(self) -> bool:
        """True for every verdict that is the program's fault (everything but pass and sandbox_error)."""
        return self not in (Verdict.PASS, Verdict.SANDBOX_ERROR)


#: Order in which a program's overall verdict is chosen from its tests' verdicts:
#: the first failing test decides, except that a sandbox fault anywhere wins.
ALL_VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
