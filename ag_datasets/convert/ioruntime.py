"""Reading and writing values in the Agnostics stdin/stdout format.

This module is standard-library only and self-contained: the mechanical converter
embeds its source verbatim into every reference solution it writes, and uses the same
functions to write the tests' input and expected output, so both always agree.

A *spec* is a small JSON-able dict naming a type:

    {"t": "int"} | {"t": "float"} | {"t": "bool"} | {"t": "tok"} (a word) | {"t": "str"} (a line)
    {"t": "seq", "of": SPEC, "kind": "list" | "tuple" | "set"}
    {"t": "rec", "fields": [SPEC, ...]}                     (a fixed-size tuple)
    {"t": "dict", "k": SPEC, "v": SPEC, "sort": bool}

Layout: scalars on one line; a sequence of scalars is a line with its length then a line
with its items; a sequence of scalar sequences is a line with the row count then one line
per row, the row's length first; a record of scalars is one line; a dictionary is a line
with its size then one line per entry (key, then value).
"""

_AG_SCALARS = ("int", "float", "bool", "tok")


def _ag_inline(spec):
    """True when a value of this spec is written on one line as space-separated words."""
    t = spec["t"]
    if t in _AG_SCALARS:
        return True
    if t == "rec":
        return all(f["t"] in _AG_SCALARS for f in spec["fields"])
    return False


def _ag_row(spec):
    """True for a sequence of scalars nested in a sequence: written as one 'length items' line."""
    return spec["t"] == "seq" and spec["of"]["t"] in _AG_SCALARS


def _ag_items(spec, value):
    if spec.get("kind") == "set":
        return sorted(value)
    return list(value)


def _ag_word(spec, value):
    t = spec["t"]
    if t == "bool":
        return "true" if value else "false"
    if t == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(int(value))
    if t == "float":
        if isinstance(value, bool):
            value = int(value)
        return repr(value) if isinstance(value, float) else str(value)
    return str(value)


def _ag_words(spec, value):
    if spec["t"] == "rec":
        return " ".join(_ag_word(f, x) for f, x in zip(spec["fields"], value))
    return _ag_word(spec, value)


def _ag_format(spec, value):
    """The lines (without newlines) that write ``value``."""
    t = spec["t"]
    if t in _AG_SCALARS:
        return [_ag_word(spec, value)]
    if t == "str":
        return [str(value)]
    if t == "rec":
        if _ag_inline(spec):
            return [_ag_words(spec, value)]
        out = []
        for f, x in zip(spec["fields"], value):
            out += _ag_format(f, x)
        return out
    if t == "seq":
        items = _ag_items(spec, value)
        elem = spec["of"]
        if elem["t"] in _AG_SCALARS:
            return [str(len(items)), " ".join(_ag_word(elem, x) for x in items)]
        out = [str(len(items))]
        for x in items:
            if _ag_row(elem):
                xs = _ag_items(elem, x)
                out.append(" ".join([str(len(xs))] + [_ag_word(elem["of"], y) for y in xs]))
            elif _ag_inline(elem):
                out.append(_ag_words(elem, x))
            else:
                out += _ag_format(elem, x)
        return out
    if t == "dict":
        entries = sorted(value.items()) if spec.get("sort") else list(value.items())
        out = [str(len(entries))]
        for k, v in entries:
            if _ag_inline(spec["k"]) and _ag_inline(spec["v"]):
                out.append(_ag_words(spec["k"], k) + " " + _ag_words(spec["v"], v))
            else:
                out += _ag_format(spec["k"], k) + _ag_format(spec["v"], v)
        return out
    raise ValueError("unknown spec " + repr(spec))


def _ag_text(spec, value):
    return "\n".join(_ag_format(spec, value)) + "\n"


def _ag_parse_word(spec, word):
    t = spec["t"]
    if t == "int":
        return int(word)
    if t == "float":
        try:
            return int(word)
        except ValueError:
            return float(word)
    if t == "bool":
        return word == "true"
    return word


def _ag_wrap(spec, items):
    kind = spec.get("kind", "list")
    if kind == "tuple":
        return tuple(items)
    if kind == "set":
        return set(items)
    return items


class _AgReader:
    """Reads values of given specs from the whole of stdin, line by line."""

    def __init__(self, text):
        self.lines = text.split("\n")
        self.i = 0

    def line(self):
        s = self.lines[self.i] if self.i < len(self.lines) else ""
        self.i += 1
        return s.rstrip("\r")

    def _inline(self, spec, words):
        if spec["t"] == "rec":
            return tuple(_ag_parse_word(f, w) for f, w in zip(spec["fields"], words))
        return _ag_parse_word(spec, words[0])

    def read(self, spec):
        t = spec["t"]
        if t in _AG_SCALARS:
            return _ag_parse_word(spec, self.line().strip())
        if t == "str":
            return self.line()
        if t == "rec":
            if _ag_inline(spec):
                return self._inline(spec, self.line().split())
            return tuple(self.read(f) for f in spec["fields"])
        if t == "seq":
            n = int(self.line())
            elem = spec["of"]
            if elem["t"] in _AG_SCALARS:
                items = [_ag_parse_word(elem, w) for w in self.line().split()[:n]]
            elif _ag_row(elem):
                items = []
                for _ in range(n):
                    words = self.line().split()
                    k = int(words[0])
                    items.append(_ag_wrap(elem, [_ag_parse_word(elem["of"], w) for w in words[1:1 + k]]))
            elif _ag_inline(elem):
                items = [self._inline(elem, self.line().split()) for _ in range(n)]
            else:
                items = [self.read(elem) for _ in range(n)]
            return _ag_wrap(spec, items)
        if t == "dict":
            n = int(self.line())
            out = {}
            for _ in range(n):
                if _ag_inline(spec["k"]) and _ag_inline(spec["v"]):
                    words = self.line().split()
                    nk = len(spec["k"]["fields"]) if spec["k"]["t"] == "rec" else 1
                    out[self._inline(spec["k"], words[:nk])] = self._inline(spec["v"], words[nk:])
                else:
                    key = self.read(spec["k"])
                    out[key] = self.read(spec["v"])
            return out
        raise ValueError("unknown spec " + repr(spec))
