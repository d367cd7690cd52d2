"""The model card of a trained run, rendered from ``hub_cards/model_card.md.j2``."""

from __future__ import annotations

from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml

from .recipe import Recipe

TEMPLATE = "model_card.md.j2"


def cards_dir() -> Path:
    """The repository's hub_cards/ folder, or the installed copy."""
    local = Path(__file__).resolve().parent.parent / "hub_cards"
    if (local / TEMPLATE).is_file():
        return local
    return Path(str(resources.files("agnostics.hub_cards")))


def _results(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    languages = sorted(set((before or {}).get("by_language", {})) | set((after or {}).get("by_language", {})))

    def fmt(summary, language):
        value = (summary or {}).get("by_language", {}).get(language)
        return "—" if value is None else f"{100 * value:.1f}%"

    rows = []
    for language in languages:
        problems = ((after or before or {}).get("problems") or {}).get(language, "")
        rows.append({"language": language, "problems": problems, "before": fmt(before, language),
                     "after": fmt(after, language)})
    if len(languages) > 1:
        overall = {"by_language": {"all": (before or {}).get("pass@1")}}, {"by_language": {"all": (after or {}).get("pass@1")}}
        total = sum(((after or before or {}).get("problems") or {}).values())
        rows.append({"language": "all", "problems": total, "before": fmt(overall[0], "all"),
                     "after": fmt(overall[1], "all")})
    return rows


def render_model_card(recipe: Recipe, *, grpo_fields: dict[str, Any], global_step: int,
                      before: dict[str, Any] | None, after: dict[str, Any] | None, command: str,
                      model_name: str | None = None, license: str = "other") -> str:
    import transformers
    import trl

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(cards_dir())), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    shown = {k: v for k, v in grpo_fields.items() if k not in ("output_dir", "logging_dir", "hub_token")}
    reward_options = ", ".join(f"{k}={v}" for k, v in recipe.reward.options().items()
                               if v not in (False, 0, 0.0) and k not in ("workers", "dedupe"))
    ev = recipe.eval
    return env.get_template(TEMPLATE).render(
        model_name=model_name or recipe.name or "agnostics-grpo", base_model=recipe.model, license=license,
        languages=recipe.languages, dataset=recipe.dataset, config=recipe.config, split=recipe.split,
        description=recipe.description.strip(), final_dataset=ev.final_dataset or recipe.dataset,
        final_split=ev.final_split, eval_temperature=ev.temperature,
        max_new_tokens=ev.max_new_tokens or grpo_fields.get("max_completion_length", 512),
        results=_results(before, after), recipe_name=recipe.name, reward_name=recipe.reward.name,
        reward_options=reward_options, trl_version=trl.__version__, transformers_version=transformers.__version__,
        global_step=global_step, grpo_yaml=yaml.safe_dump(_plain(shown), sort_keys=True), command=command,
    )


def _plain(value: Any) -> Any:
    """Enums and other objects as plain YAML scalars."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
