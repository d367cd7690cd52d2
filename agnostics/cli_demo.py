"""`agnostics demo`: the main job on the embedded default, offline, on a CPU.

1. every installed language's self-tests through the sandbox;
2. the embedded Ag-MBPP-X, built from the shipped MBPP and validated by execution;
3. a short GRPO run of a tiny model on it, with rewards per step.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs/demo", show_default=True,
              help="Where the dataset and the training run are written.")
@click.option("--steps", type=int, default=3, show_default=True, help="GRPO steps of the tiny-model run.")
@click.option("--skip-train", is_flag=True, help="Stop after the dataset step.")
def demo_command(out_dir: str, steps: int, skip_train: bool) -> None:
    """Run the main job on the embedded default (no network, no GPU)."""
    from rich.console import Console

    console = Console()
    out = Path(out_dir)
    console.rule("[bold]1. Language self-tests (nsjail sandbox)")
    ctx = click.get_current_context()
    from .cli_verify import languages_check

    try:
        ctx.invoke(languages_check, language=(), workers=None)
    except click.ClickException as exc:
        console.print(f"[red]{exc.message}[/]")

    folder = None
    if _have("ag_datasets.embedded"):
        console.rule("[bold]2. Ag-MBPP-X (embedded, built from the shipped MBPP)")
        from ag_datasets.embedded import ensure_ag_mbpp_x
        from ag_datasets.report import BuildReport

        folder = ensure_ag_mbpp_x(progress=True)  # cached: built once, then loaded
        console.print(f"dataset folder: {folder}  (load it with datasets.load_dataset('{folder}', 'default'))")
        for line in BuildReport.load(folder).summary_lines():
            console.print(line)

    if not skip_train and _have("ag_train.demo"):
        console.rule("[bold]3. GRPO on a tiny model (CPU), verifier rewards")
        from ag_train.demo import tiny_grpo_demo

        rewards = tiny_grpo_demo(out / "grpo-tiny", steps=steps, dataset=folder)
        for i, r in enumerate(rewards, start=1):
            console.print(f"step {i}: mean reward {r:.3f}")
    console.rule("[bold green]done")
