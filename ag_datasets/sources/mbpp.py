"""MBPP (Austin et al. 2021, CC BY 4.0): 974 tasks with three asserts each.

The full release ships with this package (``ag_datasets/data/mbpp/mbpp.jsonl``).
Splits as the Agnostics paper: test = task ids 11-510, train = 601-974 plus the
prompt tasks 1-10; the standard validation tasks 511-600 form the validation split.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..convert import SourceTask
from ..errors import SourceError

LICENSE = "cc-by-4.0"
CITATION = """@article{austin2021program,
  title   = {Program Synthesis with Large Language Models},
  author  = {Austin, Jacob and Odena, Augustus and Nye, Maxwell and Bosma, Maarten and Michalewski, Henryk and Dohan, David and Jiang, Ellen and Cai, Carrie and Terry, Michael and Le, Quoc and Sutton, Charles},
  journal = {arXiv preprint arXiv:2108.07732},
  year    = {2021}
}"""


def shipped_path() -> Path:
    """The MBPP file shipped with the package."""
    return Path(str(resources.files("ag_datasets") / "data" / "mbpp" / "mbpp.jsonl"))


def split_of(task_id: int) -> str:
    """test = 11-510, validation = 511-600, train = 601-974 and 1-10."""
    if 11 <= task_id <= 510:
        return "test"
    if 511 <= task_id <= 600:
        return "validation"
    return "train"


def load_tasks(path: str | Path | None = None) -> list[SourceTask]:
    """MBPP tasks from a JSONL file of the original layout (default: the shipped copy)."""
    path = Path(path) if path else shipped_path()
    if not path.is_file():
        raise SourceError(f"MBPP file {path} does not exist; pass the path of mbpp.jsonl (or omit --source).")
    tasks = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                tasks.append(
                    SourceTask(
                        source="mbpp",
                        source_id=str(row["task_id"]),
                        text=row["text"],
                        code=row["code"],
                        tests=list(row["test_list"]),
                        setup_code=row.get("test_setup_code") or "",
                        extra={"split": split_of(int(row["task_id"]))},
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise SourceError(
                    f"{path} line {lineno} is not an MBPP row ({exc}); give a JSONL file with "
                    "task_id, text, code and test_list."
                ) from None
    return tasks
