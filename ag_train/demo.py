"""A short GRPO run of the tiny offline model on the embedded Ag-MBPP-X, for the demo."""

from __future__ import annotations

from pathlib import Path

from .recipe import load_recipe


def tiny_recipe_path() -> Path:
    """The shipped ``tiny-cpu`` recipe (repository copy, or the installed one)."""
    local = Path(__file__).resolve().parent.parent / "recipes" / "grpo" / "tiny-cpu.yaml"
    if local.is_file():
        return local
    from importlib import resources

    return Path(str(resources.files("agnostics.recipes"))) / "grpo" / "tiny-cpu.yaml"


def tiny_grpo_demo(out_dir: str | Path, steps: int = 3, *, dataset: str | Path | None = None) -> list[float]:
    """Train the tiny model for ``steps`` GRPO steps (Lua and Python); return the mean reward per step.

    ``dataset`` is an Ag-MBPP-X folder already built (default: the embedded build's cache).
    The model starts from random weights, so its rewards stay near zero: the run shows the
    loop (generate, verify in the sandbox, update) working, not learning.
    """
    from .train import train

    overrides = [f"grpo.max_steps={int(steps)}", "grpo.logging_steps=1", "eval.every_n_steps=0"]
    if dataset is not None:
        overrides.append(f"dataset={Path(dataset).resolve()}")
    recipe = load_recipe(tiny_recipe_path(), overrides)
    outcome = train(recipe, output_dir=Path(out_dir))
    return outcome.rewards
