"""Reading source rows from a local JSONL/Parquet file or folder, or from the Hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import SourceError
from ..newlines import normalize_newlines_in

LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")


def is_local(source: str | Path) -> bool:
    return Path(source).exists() or str(source).endswith(LOCAL_SUFFIXES) or str(source).startswith((".", "/", "~"))


def read_local(source: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL or Parquet file, or of every such file in a folder (sorted by name)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"source {source} does not exist; give a JSONL/Parquet file, a folder of them, or a Hub id.")
    files = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise SourceError(f"folder {source} holds no .jsonl or .parquet file; point --source at the data files.")
    for file in files:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            yield from pq.read_table(str(file)).to_pylist()
            continue
        with file.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{file} line {lineno} is not JSON ({exc.msg}); give one JSON object per line.") from None


def read_rows(source: str | Path, hub: Callable[[str], Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Local rows when ``source`` is a path, else ``hub(source)``."""
    if is_local(source):
        return read_local(source)
    return hub(str(source))


def collect_problems(rows: Iterator[dict[str, Any]], report, *, pid_of: Callable[[dict[str, Any]], str],
                     id_column: str, convert: Callable[[dict[str, Any]], tuple[Any, str, str]],
                     skip: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None) -> list:
    """The problems ``convert`` makes of ``rows``; every row dropped (by ``skip``, as a
    duplicate id, or by ``convert``) goes into ``report`` with its reason. Line ends in the
    rows' text are made LF first (:mod:`ag_datasets.newlines`)."""
    problems: list = []
    seen: set[str] = set()
    for row in rows:
        report.total += 1
        row = normalize_newlines_in(row)
        pid = pid_of(row)
        why = skip(row) if skip else None
        if why:
            report.drop(pid, "filter", *why)
            continue
        if pid in seen:
            report.drop(pid, "filter", "duplicate", f"the same {id_column} appears twice")
            continue
        problem, reason, detail = convert(row)
        if problem is None:
            report.drop(pid, "filter", reason, detail)
            continue
        seen.add(pid)
        problems.append(problem)
    return problems


def require(row: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise SourceError(
            f"a {what} row lacks column(s) {', '.join(missing)}; give data with the {what} layout "
            f"(columns {', '.join(keys)})."
        )
