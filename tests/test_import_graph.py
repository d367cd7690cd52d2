"""The packages import one way: ag_eval <- ag_datasets <- ag_harness <- ag_train <- agnostics.

Every import counts, at the top of a module or inside a function (a lazy import is still a
dependency), except those under ``if TYPE_CHECKING:``. Parent packages a submodule import
runs implicitly are not edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each package may import only packages of a lower floor (and itself).
FLOORS = {"ag_eval": 0, "ag_datasets": 1, "ag_harness": 2, "ag_train": 3, "agnostics": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for top in FLOORS for p in (ROOT / top).rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _walk(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if _type_checking(child):
            continue
        yield child
        yield from _walk(child)


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """``(imported module, names taken from it, line)`` for every import of ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [alias.name for alias in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            found += [(sub, [], node.lineno) for sub in submodules]
            rest = [n for n in names if f"{base}.{n}" not in MODULES]
            if rest or not submodules:  # `from . import sub` alone takes nothing from the package itself
                found.append((base, rest, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in imports(module):
            while target and target not in MODULES and "." in target:
                target = target.rpartition(".")[0]  # `import a.b.C`-style: the module part
            if target in MODULES and target != module:
                edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_packages_are_all_found():
    assert {"ag_eval.engine", "ag_eval.executors", "ag_harness.run", "ag_datasets.view", "ag_train.rewards",
            "agnostics.cli"} <= set(MODULES)


def test_no_module_import_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize("pair", [("ag_eval.engine", "ag_eval.executors.processes"),
                                  ("ag_eval.executors.processes", "ag_eval.executors.ray_cluster"),
                                  ("ag_harness.multiple", "ag_harness.tasks")])
def test_the_cycles_once_named_are_gone(pair):
    edges = graph()

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            v = todo.pop()
            if v == b:
                return True
            if v not in seen:
                seen.add(v)
                todo += edges[v]
        return False

    a, b = pair
    assert not (reaches(a, b) and reaches(b, a))


def test_no_package_imports_a_higher_one_or_private_names_of_another():
    wrong = []
    for module in MODULES:
        mine = module.split(".")[0]
        for target, names, line in imports(module):
            theirs = target.split(".")[0]
            if theirs not in FLOORS or theirs == mine:
                continue
            where = f"{MODULES[module].relative_to(ROOT)}:{line}"
            if FLOORS[theirs] > FLOORS[mine]:
                wrong.append(f"{where} imports {target} (a higher floor)")
            private = [n for n in names if n.startswith("_")] + [p for p in target.split(".") if p.startswith("_")]
            if private:
                wrong.append(f"{where} takes private {private} from {target}")
    assert wrong == []


def test_the_checker_sees_an_upward_import_and_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert [t for t, _, _ in imports("ag_eval.engine")].count("ag_eval.executors") >= 1
