"""The training and evaluation rows a recipe names: problem rows -> per-language views, mixed.

Several languages make one dataset: every selected problem appears once per language and
the rows are shuffled together (seeded), so each GRPO step sees a mix of languages.
"""

from __future__ import annotations

import logging
from typing import Any

from .errors import TrainError
from .recipe import Recipe

logger = logging.getLogger(__name__)


def check_languages(languages: list[str], *, require_installed: bool = True) -> list[str]:
    """Canonical runner names; unknown languages always fail, missing toolchains when asked."""
    from ag_eval.runners import get_runner

    names = []
    for language in languages:
        runner = get_runner(language)  # UnknownLanguageError names the valid languages
        if require_installed:
            runner.require_installed()
        names.append(runner.name)
    return names


def _with_system_prompt(prompt: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    if not system_prompt:
        return prompt
    return [{"role": "system", "content": system_prompt}, *prompt]


def view_rows(dataset: str, *, config: str | None, split: str, languages: list[str], max_problems: int | None,
              seed: int, prompt_template: str | None = None, system_prompt: str | None = None) -> list[dict[str, Any]]:
    """Per-language view rows of ``max_problems`` problems (seeded choice) in each language, mixed."""
    import random

    from ag_datasets.view import language_view, load_problems

    problems = load_problems(dataset, config, split=split)
    rows = [dict(r) for r in problems]
    if not rows:
        raise TrainError(f"split {split!r} of dataset {dataset} is empty; choose a split with problems.")
    rng = random.Random(seed)
    if max_problems is not None and max_problems < len(rows):
        rows = rng.sample(rows, max_problems)
    out: list[dict[str, Any]] = []
    for language in languages:
        for row in language_view(rows, language, template=prompt_template):
            row["prompt"] = _with_system_prompt(row["prompt"], system_prompt)
            out.append(row)
    rng.shuffle(out)
    return out


def train_rows(recipe: Recipe) -> list[dict[str, Any]]:
    return view_rows(recipe.dataset, config=recipe.config, split=recipe.split, languages=recipe.languages,
                     max_problems=recipe.max_problems, seed=recipe.shuffle_seed,
                     prompt_template=recipe.prompt_template, system_prompt=recipe.system_prompt)


def eval_rows(recipe: Recipe) -> list[dict[str, Any]]:
    """Held-out rows for pass@1 during training (the eval split of the training dataset)."""
    return view_rows(recipe.dataset, config=recipe.config, split=recipe.eval.split, languages=recipe.languages,
                     max_problems=recipe.eval.num_problems, seed=recipe.shuffle_seed,
                     prompt_template=recipe.prompt_template, system_prompt=recipe.system_prompt)


def final_rows(recipe: Recipe) -> list[dict[str, Any]]:
    """Rows for pass@1 before and after training (``eval.final_dataset``, else the training dataset)."""
    ev = recipe.eval
    dataset = ev.final_dataset or recipe.dataset
    config = ev.final_config if ev.final_dataset else recipe.config
    return view_rows(dataset, config=config, split=ev.final_split, languages=recipe.languages,
                     max_problems=ev.final_num_problems, seed=recipe.shuffle_seed,
                     prompt_template=recipe.prompt_template, system_prompt=recipe.system_prompt)


def to_dataset(rows: list[dict[str, Any]]):
    """A ``datasets.Dataset`` with the view columns, as ``GRPOTrainer`` wants it."""
    from datasets import Dataset

    if not rows:
        raise TrainError("the training dataset is empty; check the recipe's dataset, split and languages.")
    return Dataset.from_list(rows)


def describe(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per language and the first prompt, for ``--dry-run``."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["language"]] = counts.get(row["language"], 0) + 1
    return {"rows": len(rows), "by_language": counts,
            "first_prompt": rows[0]["prompt"] if rows else None,
            "first_languages": [r["language"] for r in rows[:8]]}
