"""Codeforces problems in the ``open-r1/codeforces`` layout -> stdin/stdout problems.

Kept: problems read from stdin (``input_mode == "stdio"``), judged by plain output
comparison (no ``generated_checker``) and not interactive (no ``interaction_format``).
Tests are the official tests when ``official_tests_complete``, else the statement's
examples. Splits are seeded: validation 200, test 105, the rest train (as the paper).
"""

from __future__ import annotations

import random
from typing import Any, Iterator

from ..errors import SourceError
from ..report import BuildReport
from ..schema import Problem, Provenance
from .files import collect_problems, read_rows, require
from .livecodebench import compare_for

HUB_ID = "open-r1/codeforces"
LICENSE = "cc-by-4.0"
LICENSE_NOTE = ("CC BY 4.0, as open-r1/codeforces; the problems are Codeforces' "
                "(https://codeforces.com), see its terms for their use.")
CITATION = """@misc{penedo2025codeforces,
  title        = {CodeForces},
  author       = {Guilherme Penedo and Anton Lozhkov and Hynek Kydl{\\'\\i}{\\v{c}}ek and Loubna Ben Allal and Edward Beeching and Agust{\\'\\i}n Piqueres Lajar{\\'\\i}n and Quentin Gallou{\\'e}dec and Nathan Habib and Lewis Tunstall and Leandro von Werra},
  year         = {2025},
  publisher    = {Hugging Face},
  howpublished = {\\url{https://huggingface.co/datasets/open-r1/codeforces}}
}"""
COLUMNS = ("id", "title", "description", "input_format", "output_format", "examples", "official_tests",
           "official_tests_complete", "input_mode", "generated_checker", "interaction_format",
           "time_limit", "memory_limit")
DEFAULT_SEED = 0
N_VALIDATION = 200
N_TEST = 105


def _hub_rows(repo_id: str) -> Iterator[dict[str, Any]]:
    try:
        from datasets import load_dataset

        dsd = load_dataset(repo_id)
    except Exception as exc:  # offline, missing, auth: one message for all
        raise SourceError(
            f"cannot load {repo_id} from the Hub ({type(exc).__name__}); go online or pass a local Parquet/JSONL with --source."
        ) from None
    for split in sorted(dsd):
        yield from dsd[split]


def _line_end(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _pairs(tests: Any) -> list[dict[str, str]]:
    """{input, output} pairs; inputs end with a newline, as a judge feeds them."""
    return [{"input": _line_end(str(t["input"])), "output": str(t["output"])} for t in (tests or [])
            if t and t.get("input") is not None and t.get("output") is not None]


def _section(title: str, body: Any) -> str:
    return f"## {title}\n\n{str(body).strip()}\n\n" if body and str(body).strip() else ""


def render_statement(row: dict[str, Any], examples: list[dict[str, str]]) -> str:
    parts = [str(row["description"]).strip() + "\n\n", _section("Input format", row["input_format"]),
             _section("Output format", row["output_format"])]
    for i, ex in enumerate(examples, 1):
        label = "" if len(examples) == 1 else f" {i}"
        parts.append(f"## Example{label}\n\nInput:\n\n```\n{ex['input'].rstrip()}\n```\n\n"
                     f"Output:\n\n```\n{ex['output'].rstrip()}\n```\n\n")
    parts.append(_section("Note", row.get("note")))
    return "".join(parts).rstrip() + "\n"


def row_to_problem(row: dict[str, Any]) -> tuple[Problem | None, str, str]:
    """(problem, "", "") or (None, reason, detail)."""
    require(row, COLUMNS, "open-r1/codeforces")
    if (row.get("input_mode") or "stdio") != "stdio":
        return None, "not_stdio", f"input mode {row['input_mode']!r}: the program reads files, not stdin"
    if row.get("interaction_format") and str(row["interaction_format"]).strip():
        return None, "interactive", "an interactive problem needs an interactor"
    if row.get("generated_checker") and str(row["generated_checker"]).strip():
        return None, "custom_checker", "answers are judged by a custom checker, not by comparing output"
    examples = _pairs(row.get("examples"))
    official = _pairs(row.get("official_tests"))
    if row.get("official_tests_complete") and official:
        tests, note = official, f"{len(official)} official tests (complete)"
    elif examples:
        tests, note = examples, f"{len(examples)} statement examples (official tests incomplete)"
    else:
        return None, "no_tests", "neither complete official tests nor examples"
    statement = render_statement(row, examples)
    rating = row.get("rating")
    return Problem(
        problem_id=f"codeforces/{row['id']}",
        source="codeforces",
        source_id=str(row["id"]),
        title=str(row["title"]),
        statement=statement,
        tests=tests,
        public_tests=examples,
        compare=compare_for(str(row.get("output_format") or "") + "\n" + str(row["description"])),
        time_limit_s=float(row.get("time_limit") or 2.0),
        memory_limit_mb=int(row.get("memory_limit") or 256),
        difficulty=str(int(rating)) if rating is not None else "",
        tags=[str(t) for t in (row.get("tags") or [])],
        provenance=Provenance(converter="source", validation="not run: official tests", notes=note),
    ), "", ""


def load_problems(source: str | None = None) -> tuple[list[Problem], BuildReport]:
    """Kept problems and a report of every dropped one."""
    report = BuildReport(name="ag-codeforces-x", source=str(source or HUB_ID), converter="source")
    problems = collect_problems(read_rows(source or HUB_ID, _hub_rows), report,
                                pid_of=lambda r: f"codeforces/{r.get('id')}", id_column="id", convert=row_to_problem)
    return problems, report


def split_problems(problems: list[Problem], *, seed: int = DEFAULT_SEED, n_validation: int = N_VALIDATION,
                   n_test: int = N_TEST) -> dict[str, list[Problem]]:
    """Shuffle by ``seed`` (over ids sorted first, so input order does not matter): validation
    takes the first ``n_validation``, test the next ``n_test``, train the rest."""
    if n_validation < 0 or n_test < 0:
        raise SourceError(f"split sizes must be >= 0, got validation={n_validation}, test={n_test}.")
    ordered = sorted(problems, key=lambda p: p.problem_id)
    random.Random(seed).shuffle(ordered)
    return {
        "train": ordered[n_validation + n_test:],
        "validation": ordered[:n_validation],
        "test": ordered[n_validation:n_validation + n_test],
    }
