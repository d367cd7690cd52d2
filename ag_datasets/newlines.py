"""One rule for line ends, applied wherever a source's text enters a dataset.

Sources publish tests and statements with CRLF line ends (open-r1's Codeforces official
tests) beside LF ones (their examples). A program that reads a line would get ``abc\\r``
from the first and fail a test it should pass, so every line end becomes ``\\n``:

- ``\\r\\n`` (and any run of ``\\r`` before ``\\n``) becomes ``\\n``;
- in text with no ``\\n`` at all, each ``\\r`` is a line end (old Mac files);
- ``\\r`` at the very end of the text ended its last line.

A lone ``\\r`` inside a line of LF text may be data (a progress bar, say) and is kept.
"""

from __future__ import annotations

import re
from typing import Any

_CR_BEFORE_LF = re.compile(r"\r+\n")
_CR_AT_END = re.compile(r"\r+\Z")


def normalize_newlines(text: str) -> str:
    """``text`` with every clear line end written as ``\\n``."""
    if "\r" not in text:
        return text
    text = _CR_BEFORE_LF.sub("\n", text)
    if "\n" not in text:
        return text.replace("\r", "\n")
    return _CR_AT_END.sub("\n", text)


def normalize_newlines_in(value: Any) -> Any:
    """``value`` with :func:`normalize_newlines` applied to every string in it (dicts, lists)."""
    if isinstance(value, str):
        return normalize_newlines(value)
    if isinstance(value, dict):
        return {k: normalize_newlines_in(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize_newlines_in(v) for v in value]
    return value
