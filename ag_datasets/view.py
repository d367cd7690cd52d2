"""Per-language views of problem rows, and loading problem rows by name or path.

    rows = load_problems("ag-codeforces-x", split="test")    # Hub id, short name or local folder
    lua = language_view(rows, "lua")                          # prompt, language, tests, ...

A view row holds ``prompt`` (chat messages), ``language``, ``tests``, ``compare``,
``time_limit_s``, ``memory_limit_mb`` and ``problem_id``: what evaluation and the GRPO
reward functions consume. The prompt is language-agnostic except for the language's name
and its runner's optional ``prompt_hint``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import jinja2

from .errors import DatasetError

DEFAULT_TEMPLATE = (
    "# Problem\n\n{{ statement.strip() }}\n\n# Task\n\n"
    "Provide a full implementation of the specified program in a Markdown code block. "
    "Use the following programming language: {{ language }}"
    "{% if hint %}\n\n{{ hint }}{% endif %}"
)
HUB_ORG = "agnostics"
SHORT_NAMES = ("ag-mbpp-x", "ag-humaneval-x", "ag-livecodebench-x", "ag-codeforces-x")
#: Names served by the copy built locally from the shipped MBPP (no network needed).
EMBEDDED_NAMES = ("ag-mbpp-x", "embedded")
VIEW_COLUMNS = ("problem_id", "prompt", "language", "tests", "compare", "time_limit_s", "memory_limit_mb")


def _template(template: str | os.PathLike | None) -> jinja2.Template:
    text = DEFAULT_TEMPLATE
    if template is not None:
        path = Path(template)
        if isinstance(template, os.PathLike) or (len(str(template)) < 4096 and "\n" not in str(template) and path.is_file()):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise DatasetError(f"prompt template {template} cannot be read ({exc.strerror}); give a readable jinja2 file.") from None
        else:
            text = str(template)
    try:
        return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                                  keep_trailing_newline=True).from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise DatasetError(f"prompt template has a syntax error on line {exc.lineno} ({exc.message}); fix the template.") from None


def render_prompt(row: dict[str, Any], language: str, *, template: str | os.PathLike | None = None,
                  include_hint: bool = False) -> str:
    """The user message for one problem in one language."""
    from ag_eval import get_runner

    runner = get_runner(language)
    try:
        return _template(template).render(
            statement=row["statement"], title=row.get("title", ""), language=runner.display_name,
            language_name=runner.name, hint=runner.prompt_hint.strip() if include_hint else "", problem=row,
        )
    except jinja2.UndefinedError as exc:
        raise DatasetError(f"prompt template uses an unknown variable ({exc.message}); "
                           "use statement, title, language, language_name, hint or problem.") from None


def view_row(row: dict[str, Any], language: str, *, template: str | os.PathLike | None = None,
             include_hint: bool = False) -> dict[str, Any]:
    from ag_eval import get_runner
    from ag_eval.limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S

    return {
        "problem_id": row["problem_id"],
        "prompt": [{"role": "user", "content": render_prompt(row, language, template=template, include_hint=include_hint)}],
        "language": get_runner(language).name,
        "tests": [{"input": t["input"], "output": t["output"]} for t in row["tests"]],
        "compare": row.get("compare") or "lines",
        "time_limit_s": float(row.get("time_limit_s") or DEFAULT_TIME_LIMIT_S),
        "memory_limit_mb": int(row.get("memory_limit_mb") or DEFAULT_MEMORY_LIMIT_MB),
    }


def language_view(rows: Iterable[dict[str, Any]], language: str, *, template: str | os.PathLike | None = None,
                  include_hint: bool = False):
    """The per-language view of problem rows: a ``datasets.Dataset`` in, a Dataset out; else a list."""
    try:
        from datasets import Dataset
    except ImportError:  # pragma: no cover - datasets is a dependency
        Dataset = None  # type: ignore[assignment]
    if Dataset is not None and isinstance(rows, Dataset):
        return rows.map(lambda r: view_row(r, language, template=template, include_hint=include_hint),
                        remove_columns=[c for c in rows.column_names if c not in VIEW_COLUMNS],
                        desc=f"{language} view")
    return [view_row(r, language, template=template, include_hint=include_hint) for r in rows]


def resolve_name(name_or_path: str | os.PathLike) -> str:
    """A local folder, the embedded build (``ag-mbpp-x``), or a Hub id (short names get ``agnostics/``)."""
    text = str(name_or_path)
    if Path(text).expanduser().is_dir():
        return str(Path(text).expanduser())
    key = text.lower()
    if key in EMBEDDED_NAMES:
        from .embedded import ensure_ag_mbpp_x

        return str(ensure_ag_mbpp_x())
    if key in SHORT_NAMES:
        return f"{HUB_ORG}/{key}"
    return text


def load_problems(name_or_path: str | os.PathLike, config: str | None = None, split: str | None = "test"):
    """Problem rows as a ``datasets.Dataset`` (a ``DatasetDict`` when ``split`` is None)."""
    from datasets import load_dataset

    target = resolve_name(name_or_path)
    if not Path(target).is_dir() and "/" not in target:
        raise DatasetError(
            f"dataset {name_or_path!r} is neither a folder nor a Hub id; use one of {', '.join(SHORT_NAMES)}, "
            "ORG/NAME, or a folder built with `agnostics datasets build`."
        )
    try:
        return load_dataset(target, config, split=split)
    except (ValueError, KeyError) as exc:
        raise DatasetError(f"cannot read split {split!r} of {name_or_path} ({exc}); check --split and the config.") from None
    except (FileNotFoundError, ConnectionError, OSError) as exc:
        raise DatasetError(
            f"cannot load {name_or_path} ({type(exc).__name__}); go online for Hub datasets "
            "or pass a local folder built with `agnostics datasets build`."
        ) from None
