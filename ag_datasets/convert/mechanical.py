"""The mechanical converter: ``assert f(args) == expected`` -> stdin/stdout tests. No LLM.

For each task it parses the asserts with :mod:`ast`, infers one type per argument and one
for the result over all tests, writes the input and expected output in the format of
:mod:`~ag_datasets.convert.ioruntime`, appends "Input format" / "Output format" sections to
the statement, and wraps the reference code with a generated ``main`` that reads the input
and prints the result the same way. Deterministic: the same task gives the same bytes.
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

from ..schema import Problem, Provenance
from . import ioruntime
from .base import Conversion, SourceTask
from .iotypes import Unsupported, depth, describe, for_output, has, infer, name, resolve, unify

#: Default tolerance of ``float:<tol>`` comparison when the source compares floats exactly.
FLOAT_TOL = "1e-6"
#: Deepest nesting (list of lists of pairs = 3) still given a readable format.
MAX_DEPTH = 3
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
           ast.Pow: lambda a, b: a ** b}
_SAFE_CALLS = {"set": set, "frozenset": frozenset, "tuple": tuple, "list": list}


@dataclass
class _Case:
    args: list[Any]
    expected: Any
    as_set: bool = False
    tol: str | None = None


def _value(node: ast.AST) -> Any:
    """The value of a literal expression (constants, containers, arithmetic on numbers)."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_value(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items if isinstance(node, ast.List) else set(items)
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (left, right))
        if numbers or (isinstance(left, str) and isinstance(right, str) and isinstance(node.op, ast.Add)):
            op = _BINOPS.get(type(node.op))
            if op is not None and not (isinstance(node.op, ast.Pow) and abs(right) > 64):
                return op(left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SAFE_CALLS \
            and len(node.args) <= 1 and not node.keywords:
        return _SAFE_CALLS[node.func.id](*[_value(a) for a in node.args])
    raise Unsupported("non_literal_test", f"`{ast.unparse(node)[:60]}` is not a literal value")


def _call(node: ast.AST, entry: str | None) -> tuple[str, list[Any]] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tuple", "list") \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Call) and not node.keywords:
        node = node.args[0]  # assert tuple(f(x)) == tuple(y): sequences print alike
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (entry is None or node.func.id == entry):
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise Unsupported("unsupported_test", f"`{ast.unparse(node)[:60]}` uses keyword or starred arguments")
        return node.func.id, [_value(a) for a in node.args]
    return None


def parse_assert(source: str, entry: str | None) -> tuple[str, _Case]:
    """Parse one assert statement into (function name, case); raise Unsupported otherwise."""
    try:
        tree = ast.parse(source.strip())
    except SyntaxError:
        raise Unsupported("unsupported_test", f"`{source.strip()[:60]}` is not valid Python") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        raise Unsupported("unsupported_test", f"`{source.strip()[:60]}` is not a single assert")
    test = tree.body[0].test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        left, right = test.left, test.comparators[0]
        for a, b in ((left, right), (right, left)):
            found = _call(a, entry)
            if found:
                return found[0], _Case(found[1], _value(b))
            if _is_set_of_call(a, entry) and isinstance(b, ast.Call) and getattr(b.func, "id", "") == "set":
                found = _call(a.args[0], entry)
                return found[0], _Case(found[1], _value(b), as_set=True)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Lt, ast.LtE)):
        # assert abs(f(x) - y) < tol
        a = test.left
        if isinstance(a, ast.Call) and getattr(a.func, "id", "") == "abs" and len(a.args) == 1 \
                and isinstance(a.args[0], ast.BinOp) and isinstance(a.args[0].op, ast.Sub):
            found = _call(a.args[0].left, entry)
            if found:
                return found[0], _Case(found[1], _value(a.args[0].right), tol=repr(float(_value(test.comparators[0]))))
    if isinstance(test, ast.Call) and ast.unparse(test.func) == "math.isclose" and len(test.args) == 2:
        found = _call(test.args[0], entry)
        if found:
            tols = [float(_value(k.value)) for k in test.keywords if k.arg in ("rel_tol", "abs_tol")]
            return found[0], _Case(found[1], _value(test.args[1]), tol=repr(max(tols)) if tols else FLOAT_TOL)
    found = _call(test, entry)
    if found:
        return found[0], _Case(found[1], True)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        found = _call(test.operand, entry)
        if found:
            return found[0], _Case(found[1], False)
    raise Unsupported("unsupported_test", f"`{source.strip()[:60]}` is not of the form assert f(...) == value")


def _is_set_of_call(node: ast.AST, entry: str | None) -> bool:
    return (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "set" and len(node.args) == 1
            and _call_safe(node.args[0], entry))


def _call_safe(node: ast.AST, entry: str | None) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (entry is None or node.func.id == entry)


def _param_names(code: str, entry: str, count: int) -> list[str]:
    names: list[str] = []
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
    if len(names) < count or len(set(names)) != len(names):
        names = [f"arg{i + 1}" for i in range(count)]
    return names[:count]


def _statement_intro(text: str) -> str:
    text = text.strip()
    text = re.sub(r"(?i)^(write\s+an?\s+)(python\s+)?(function|method)\b", r"\1program", text)
    return text


def _layout(spec: dict) -> str:
    if spec["t"] in ("int", "float", "bool", "tok", "str"):
        return f": {describe(spec)}"
    return f", {name(spec)}: {describe(spec)}"


def _code_block(text: str) -> str:
    return "```\n" + text + ("" if text.endswith("\n") else "\n") + "```"


def render_statement(intro: str, params: list[tuple[str, dict]], result: dict, tol: str | None,
                     example: dict[str, str]) -> str:
    """The statement: the task's text, then Input format, Output format and an example."""
    lines = [intro, "",
             "Write a program that reads the input from standard input and prints the answer to standard output.",
             "", "## Input format", ""]
    if not params:
        lines.append("The input is empty.")
    else:
        lines.append("The input holds the following values, one after another:")
        lines.append("")
        for pname, spec in params:
            lines.append(f"- `{pname}`{_layout(spec)}.")
    lines += ["", "## Output format", "", f"Print the answer{_layout(result)}."]
    if tol is not None:
        lines.append(f"Numbers are accepted within an absolute or relative error of {tol}.")
    lines += ["", "## Example", "", "Input:", "", _code_block(example["input"]), "",
              "Output:", "", _code_block(example["output"])]
    return "\n".join(lines) + "\n"


def _runtime_source() -> str:
    source = inspect.getsource(ioruntime)
    # drop the module docstring: the driver is code, not documentation
    tree = ast.parse(source)
    first = tree.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        source = "\n".join(source.splitlines()[first.end_lineno:])
    return source.strip() + "\n"


def render_solution(code: str, entry: str, arg_specs: list[dict], result: dict, as_set: bool) -> str:
    """The reference code wrapped with a main that reads stdin and prints the result."""
    post = "set(result)" if as_set else "result"
    return (
        code.rstrip() + "\n\n\n"
        "# ---- stdin/stdout driver (generated by the Agnostics mechanical converter) ----\n"
        + _runtime_source() + "\n\n"
        f"_AG_ARGS = {arg_specs!r}\n"
        f"_AG_RESULT = {result!r}\n\n\n"
        "def _ag_main():\n"
        "    import sys\n"
        "    reader = _AgReader(sys.stdin.read())\n"
        "    args = [reader.read(spec) for spec in _AG_ARGS]\n"
        f"    result = {entry}(*args)\n"
        f"    sys.stdout.write(_ag_text(_AG_RESULT, {post}))\n\n\n"
        "if __name__ == \"__main__\":\n"
        "    _ag_main()\n"
    )


def _check_depth(spec: dict, what: str) -> None:
    if depth(spec) > MAX_DEPTH:
        raise Unsupported("unsupported_type", f"{what} nests containers more than {MAX_DEPTH} deep")


def convert_task(task: SourceTask) -> Conversion:
    """Convert one task, or say precisely why not."""
    try:
        return _convert(task)
    except Unsupported as exc:
        return Conversion(task, reason=exc.reason, detail=exc.detail)


def _convert(task: SourceTask) -> Conversion:
    if task.setup_code.strip():
        raise Unsupported("setup_code", "the tests need setup code (objects built before the asserts)")
    code = task.code
    try:
        with warnings.catch_warnings():  # old escapes in reference code are not our warnings
            warnings.simplefilter("ignore")
            compile(code, f"<{task.problem_id}>", "exec")
    except SyntaxError as exc:
        raise Unsupported("reference_syntax_error", f"the reference code is not valid Python 3 ({exc.msg})") from None
    cases: list[_Case] = []
    entry = task.entry_point
    for src in task.tests:
        fn, case = parse_assert(src, entry)
        if entry is None:
            entry = fn
        cases.append(case)
    if not cases:
        raise Unsupported("no_tests", "the task has no asserts")
    nargs = {len(c.args) for c in cases}
    if len(nargs) != 1:
        raise Unsupported("unsupported_test", f"the tests call {entry} with {sorted(nargs)} arguments")
    as_set = any(c.as_set for c in cases)
    if as_set and not all(c.as_set for c in cases):
        raise Unsupported("unsupported_test", "some asserts compare sets and others values")
    n = nargs.pop()
    arg_specs = [resolve(_unify_all([infer(c.args[i]) for c in cases])) for i in range(n)]
    expected = [set(c.expected) if as_set else c.expected for c in cases]
    result = for_output(resolve(_unify_all([infer(v) for v in expected])))
    for i, spec in enumerate(arg_specs):
        _check_depth(spec, f"argument {i + 1}")
    _check_depth(result, "the result")
    tols = {c.tol for c in cases if c.tol}
    tol = max(tols, key=float) if tols else (FLOAT_TOL if has(result, "float") else None)
    compare = f"float:{tol}" if tol else ("lines" if has(result, "str") else "tokens")

    tests: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for case, exp in zip(cases, expected):
        inp = "".join(ioruntime._ag_text(s, a) for s, a in zip(arg_specs, case.args))
        out = ioruntime._ag_text(result, exp)
        if inp in seen:
            if seen[inp] != out:
                raise Unsupported("inconsistent_tests", "two asserts give the same input different results")
            continue
        seen[inp] = out
        tests.append({"input": inp, "output": out})

    params = list(zip(_param_names(code, entry, n), arg_specs))
    statement = render_statement(_statement_intro(task.text), params, result, tol, tests[0])
    problem = Problem(
        problem_id=task.problem_id,
        source=task.source,
        source_id=task.source_id,
        title=task.title or entry.replace("_", " ").strip().capitalize(),
        statement=statement,
        tests=tests,
        public_tests=tests[:1],
        compare=compare,
        time_limit_s=task.time_limit_s,
        memory_limit_mb=task.memory_limit_mb,
        difficulty=str(task.extra.get("difficulty", "")),
        tags=list(task.extra.get("tags", [])),
        provenance=Provenance(converter="mechanical"),
    )
    return Conversion(task, problem=problem, solution=render_solution(code, entry, arg_specs, result, as_set))


def _unify_all(specs: list[dict]) -> dict:
    out = specs[0]
    for s in specs[1:]:
        out = unify(out, s)
    return out


class MechanicalConverter:
    """Deterministic, free converter for ``assert f(args) == expected`` tests."""

    name = "mechanical"

    def convert(self, tasks: Sequence[SourceTask]) -> list[Conversion]:
        return [convert_task(t) for t in tasks]


__all__ = ["MechanicalConverter", "convert_task", "parse_assert", "render_statement", "render_solution"]
