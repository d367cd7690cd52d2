"""Tasks: one prompt in one language, and how to turn a completion into a verification job.

Ag-*-X problems become stdin/stdout tasks through the per-language view of
:mod:`ag_datasets.view`; MultiPL-E rows become exit-status tasks (:mod:`.multiple`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ag_eval.jobs import Job

from .config import EvalConfig
from .errors import EvalError
from .programs import assemble_program

logger = logging.getLogger(__name__)

_FILE_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


@dataclass
class Task:
    """One problem in one language, to be sampled ``n`` times."""

    dataset: str                      # label in reports, e.g. "ag-mbpp-x" or "multipl-e/humaneval"
    problem_id: str
    language: str                     # runner name
    messages: list[dict[str, str]] | None = None   # chat prompt
    text: str | None = None                         # raw prompt (completion style)
    stop: list[str] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)  # tests, compare, limits, mode
    kind: str = "io"                  # "io" | "multiple"
    prefix: str = ""                  # multiple: the prompt the completion continues
    suffix: str = ""                  # multiple: the tests appended to the program

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dataset, self.language, self.problem_id)

    def seed(self, base: int, first_sample: int) -> int:
        """A per-request seed that does not depend on batching or on the order of requests."""
        text = f"{base}|{self.dataset}|{self.language}|{self.problem_id}|{first_sample}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF

    def make_job(self, completion: str, sample: int) -> Job:
        """The verification job for one completion."""
        job_id = f"{self.dataset}|{self.language}|{self.problem_id}|{sample}"
        if self.kind == "multiple":
            program = assemble_program(self, completion)
            if program is not None:
                return Job.from_problem_row(self.job, language=self.language, code=program, id=job_id)
            return Job.from_problem_row(self.job, "", self.language, id=job_id)  # a reply without code: no_code
        return Job.from_problem_row(self.job, completion, self.language, id=job_id)


def with_system_prompt(messages: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    """The chat messages with ``system_prompt`` as first (replacing any system message there)."""
    if not system_prompt:
        return [dict(m) for m in messages]
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    return [{"role": "system", "content": system_prompt}, *rest]


def dataset_label(name: str, config: str | None, split: str) -> str:
    base = Path(name).name if Path(name).expanduser().exists() else name.rsplit("/", 1)[-1]
    base = base.rsplit(".", 1)[0] if Path(name).suffix in _FILE_SUFFIXES else base
    label = base.lower()
    if config and config != "default":
        label += f"/{config}"
    if split and split != "test":
        label += f":{split}"
    return label


def load_problem_rows(name: str, config: str | None, split: str):
    """Problem rows from a JSONL/Parquet file of problem rows, or through :func:`ag_datasets.load_problems`."""
    path = Path(name).expanduser()
    if path.is_file():
        builder = _FILE_SUFFIXES.get(path.suffix.lower())
        if builder is None:
            raise EvalError(f"dataset file {name} is not .jsonl, .json or .parquet; give a file of problem rows or a folder.")
        from datasets import load_dataset

        return load_dataset(builder, data_files=str(path), split="train")
    from ag_datasets import load_problems

    return load_problems(name, config, split=split)


def resolve_language(language: str) -> str:
    from ag_eval.runners import get_registry

    registry = get_registry()
    if language not in registry:
        from ag_eval.errors import UnknownLanguageError

        raise UnknownLanguageError(
            f"language {language!r} has no runner; use one of {', '.join(registry.names())} (see `agnostics languages`)."
        )
    return registry.get(language).name


def agnostics_tasks(cfg: EvalConfig) -> list[Task]:
    """stdin/stdout tasks for every requested language of an Ag-*-X dataset."""
    if not cfg.languages:
        raise EvalError("no language given; pass --language NAME (repeat it for several), e.g. --language lua.")
    from ag_datasets.view import language_view

    rows = load_problem_rows(cfg.dataset, cfg.config, cfg.split)
    if cfg.limit is not None:
        rows = rows.select(range(min(cfg.limit, len(rows)))) if hasattr(rows, "select") else rows[: cfg.limit]
    label = dataset_label(cfg.dataset, cfg.config, cfg.split)
    tasks: list[Task] = []
    for language in cfg.languages:
        name = resolve_language(language)
        for row in language_view(list(rows), name, template=cfg.prompt_template, include_hint=cfg.prompt_hint):
            tasks.append(Task(
                dataset=label, problem_id=str(row["problem_id"]), language=name,
                messages=with_system_prompt(row["prompt"], cfg.system_prompt),
                job={"tests": row["tests"], "compare": row["compare"], "time_limit_s": row["time_limit_s"],
                     "memory_limit_mb": row["memory_limit_mb"]},
            ))
    logger.info("%d tasks from %s (%s)", len(tasks), label, ", ".join(cfg.languages))
    return tasks
