"""Unit-test problems -> stdin/stdout problems, behind one interface.

A :class:`SourceTask` is a function-level problem as MBPP or HumanEval publish it (text,
reference code, ``assert f(...) == ...`` tests). A converter turns each into a
:class:`Conversion`: a language-agnostic :class:`~ag_datasets.schema.Problem` plus a Python
stdin/stdout solution to validate it with, or a drop reason.

    converter = get_converter("mechanical")        # or "llm" (options), or "both"
    conversions = converter.convert(tasks)
"""

from __future__ import annotations

from typing import Any

from ..errors import DatasetError
from .base import CombinedConverter, Conversion, Converter, SourceTask

__all__ = ["SourceTask", "Conversion", "Converter", "CombinedConverter", "CONVERTERS", "get_converter"]


CONVERTERS = ("mechanical", "llm", "both")


def get_converter(name: str, **llm_options: Any) -> Converter:
    """A converter by name; ``llm_options`` go to :class:`~ag_datasets.convert.llm.LLMConverter`."""
    from .mechanical import MechanicalConverter

    if name == "mechanical":
        return MechanicalConverter()
    if name in ("llm", "both"):
        from .llm import LLMConverter

        llm = LLMConverter(**llm_options)
        return llm if name == "llm" else CombinedConverter(MechanicalConverter(), llm)
    raise DatasetError(f"converter {name!r} is unknown; use one of {', '.join(CONVERTERS)}.")
