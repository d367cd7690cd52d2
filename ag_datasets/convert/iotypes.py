"""Infer I/O specs (see :mod:`ag_datasets.convert.ioruntime`) from Python values and describe them.

Types are inferred per argument position over all of a problem's tests and unified, so one
problem has one input format. A value every language cannot read unambiguously is refused
with an :class:`Unsupported` naming the reason.
"""

from __future__ import annotations

import math
from typing import Any

from .ioruntime import _ag_inline

INT64 = 2**63


class Unsupported(Exception):
    """A value or test the mechanical converter cannot express; ``reason`` is a report key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


ANY = {"t": "any"}


def infer(value: Any) -> dict:
    """The spec of one Python value."""
    if isinstance(value, bool):
        return {"t": "bool"}
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise Unsupported("int_out_of_range", f"integer {value} does not fit in 64 bits")
        return {"t": "int"}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unsupported("unsupported_type", f"non-finite float {value!r}")
        return {"t": "float"}
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise Unsupported("ambiguous_string", f"string {value[:40]!r} contains a line break")
        if value != value.strip():
            raise Unsupported("ambiguous_string", f"string {value[:40]!r} has leading or trailing spaces")
        return {"t": "tok"} if value and not any(c.isspace() for c in value) else {"t": "str"}
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = "list" if isinstance(value, list) else "tuple" if isinstance(value, tuple) else "set"
        elems = [infer(x) for x in value]
        if kind == "set":
            try:
                sorted(value)
            except TypeError:
                raise Unsupported("mixed_types", "a set whose elements cannot be ordered") from None
        elem: dict | None = ANY
        for e in elems:
            elem = _unify_or_none(elem, e)
            if elem is None:
                break
        if elem is not None:
            return {"t": "seq", "of": elem, "kind": kind}
        if kind == "tuple":
            return {"t": "rec", "fields": elems}
        raise Unsupported("mixed_types", f"a {kind} mixing element types: {_short(value)}")
    if isinstance(value, dict):
        k: dict | None = ANY
        v: dict | None = ANY
        for key, val in value.items():
            k = unify(k, infer(key))
            v = unify(v, infer(val))
        return {"t": "dict", "k": k, "v": v, "sort": False}
    if value is None:
        raise Unsupported("unsupported_type", "None as a value")
    raise Unsupported("unsupported_type", f"a value of type {type(value).__name__}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unify_or_none(a: dict, b: dict) -> dict | None:
    try:
        return unify(a, b)
    except Unsupported:
        return None


def unify(a: dict, b: dict) -> dict:
    """The one spec that can hold values of both specs."""
    ta, tb = a["t"], b["t"]
    if ta == "any":
        return b
    if tb == "any":
        return a
    if ta == tb and ta in ("int", "float", "bool", "tok", "str"):
        return a
    if {ta, tb} == {"int", "float"}:
        return {"t": "float"}
    if {ta, tb} == {"tok", "str"}:
        return {"t": "str"}
    if ta == tb == "seq":
        return {"t": "seq", "of": unify(a["of"], b["of"]), "kind": a["kind"]}
    if ta == tb == "rec" and len(a["fields"]) == len(b["fields"]):
        return {"t": "rec", "fields": [unify(x, y) for x, y in zip(a["fields"], b["fields"])]}
    if {ta, tb} == {"seq", "rec"}:
        seq, rec = (a, b) if ta == "seq" else (b, a)
        elem = seq["of"]
        for f in rec["fields"]:
            elem = unify(elem, f)
        return {"t": "seq", "of": elem, "kind": seq["kind"]}
    if ta == tb == "dict":
        return {"t": "dict", "k": unify(a["k"], b["k"]), "v": unify(a["v"], b["v"]), "sort": a.get("sort", False)}
    raise Unsupported("mixed_types", f"values of types {name(a)} and {name(b)} in the same place")


def resolve(spec: dict) -> dict:
    """Replace element types never seen (only empty containers) by int."""
    t = spec["t"]
    if t == "any":
        return {"t": "int"}
    if t == "seq":
        return {**spec, "of": resolve(spec["of"])}
    if t == "rec":
        return {**spec, "fields": [resolve(f) for f in spec["fields"]]}
    if t == "dict":
        return {**spec, "k": resolve(spec["k"]), "v": resolve(spec["v"])}
    return spec


def for_output(spec: dict) -> dict:
    """The spec used to print a result: dictionaries sorted by key, so equal dicts print alike."""
    t = spec["t"]
    if t == "seq":
        return {**spec, "of": for_output(spec["of"])}
    if t == "rec":
        return {**spec, "fields": [for_output(f) for f in spec["fields"]]}
    if t == "dict":
        return {**spec, "k": for_output(spec["k"]), "v": for_output(spec["v"]), "sort": True}
    return spec


def depth(spec: dict) -> int:
    t = spec["t"]
    if t == "seq":
        return 1 + depth(spec["of"])
    if t == "rec":
        return 1 + max((depth(f) for f in spec["fields"]), default=0)
    if t == "dict":
        return 1 + max(depth(spec["k"]), depth(spec["v"]))
    return 0


def has(spec: dict, t: str) -> bool:
    if spec["t"] == t:
        return True
    return any(has(s, t) for s in _children(spec))


def _children(spec: dict) -> list[dict]:
    t = spec["t"]
    if t == "seq":
        return [spec["of"]]
    if t == "rec":
        return list(spec["fields"])
    if t == "dict":
        return [spec["k"], spec["v"]]
    return []


_NOUNS = {
    "int": ("an integer", "integers"),
    "float": ("a number", "numbers"),
    "bool": ("a boolean (`true` or `false`)", "booleans (`true` or `false`)"),
    "tok": ("a word", "words"),
    "str": ("a string", "strings"),
}


def name(spec: dict, plural: bool = False) -> str:
    """A short noun phrase for a spec: "a list of integers", "pairs (an integer, a word)"."""
    t = spec["t"]
    if t in _NOUNS:
        return _NOUNS[t][1 if plural else 0]
    if t == "seq":
        what = {"list": "list", "tuple": "sequence", "set": "set"}[spec.get("kind", "list")]
        return f"{what}s of {name(spec['of'], True)}" if plural else f"a {what} of {name(spec['of'], True)}"
    if t == "rec":
        inner = ", ".join(name(f) for f in spec["fields"])
        return f"tuples ({inner})" if plural else f"a tuple ({inner})"
    if t == "dict":
        inner = f"{name(spec['k'], True)} to {name(spec['v'], True)}"
        return f"dictionaries from {inner}" if plural else f"a dictionary from {inner}"
    return "values"


def describe(spec: dict) -> str:
    """How a value of this spec is laid out on lines, as a sentence fragment."""
    t = spec["t"]
    if t == "float":
        return "a number on one line (written as an integer or a decimal, e.g. `3` or `2.5`)"
    if t in ("int", "bool"):
        return f"{name(spec)} on one line"
    if t == "tok":
        return "a word (no spaces) on one line"
    if t == "str":
        return "one line holding the string exactly (it may contain spaces and may be empty)"
    order = " in increasing order" if spec.get("kind") == "set" else ""
    if t == "rec":
        if _ag_inline(spec):
            return "one line holding " + ", ".join(name(f) for f in spec["fields"]) + ", separated by spaces"
        parts = "; then ".join(describe(f) for f in spec["fields"])
        return f"its {len(spec['fields'])} parts one after another: {parts}"
    if t == "seq":
        elem = spec["of"]
        if elem["t"] in ("int", "float", "bool", "tok"):
            return (
                f"a line with the number of elements n, then one line with the n {name(elem, True)}"
                f"{order} separated by spaces (an empty line when n is 0)"
            )
        if elem["t"] == "str":
            return f"a line with the number of strings n, then n lines{order}, one string per line, each exactly as is"
        if elem["t"] == "seq" and elem["of"]["t"] in ("int", "float", "bool", "tok"):
            inner_order = " (in increasing order)" if elem.get("kind") == "set" else ""
            return (
                f"a line with the number of rows n, then n lines{order}; each line holds the row's length k "
                f"followed by its k {name(elem['of'], True)}{inner_order}, separated by spaces"
            )
        if elem["t"] == "rec" and _ag_inline(elem):
            fields = ", ".join(name(f) for f in elem["fields"])
            return f"a line with the number of items n, then n lines{order}, each holding {fields}, separated by spaces"
        return f"a line with the number of items n, then the n items one after another{order}, each written as {describe(elem)}"
    if t == "dict":
        order = ", in increasing order of key" if spec.get("sort") else ""
        k, v = spec["k"], spec["v"]
        inline = _ag_inline(k) and _ag_inline(v)
        if inline:
            return (
                f"a line with the number of entries n, then n lines{order}, each holding a key ({name(k)}) "
                f"and its value ({name(v)}), separated by spaces"
            )
        return f"a line with the number of entries n, then the n entries{order}, each as the key written as {describe(k)}, then the value written as {describe(v)}"
    raise ValueError(f"unknown spec {spec!r}")
