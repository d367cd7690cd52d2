"""`agnostics train`: GRPO training from a recipe (TRL's GRPOTrainer, verifier rewards)."""

from __future__ import annotations

import shlex

import click


@click.command("train", context_settings={"ignore_unknown_options": False})
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Resolve the recipe into a GRPOConfig and the dataset view, print them, stop.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Run folder (checkpoints, model, pass_at_1.json, model card). Default: grpo.output_dir, "
                   "else runs/<recipe name>.")
@click.option("--resume", "resume", is_flag=True, help="Continue from the newest checkpoint in the run folder.")
@click.option("--resume-from", "resume_from", type=click.Path(file_okay=False, exists=True), default=None,
              help="Continue from this checkpoint folder.")
@click.option("--push-to-hub", is_flag=True, help="Upload the final model and its card (repo: grpo.hub_model_id).")
@click.option("--num-processes", type=click.IntRange(min=1), default=None,
              help="With --dry-run: derive the per-device batch and gradient accumulation for this many training "
                   "processes (default: this launch's WORLD_SIZE).")
@click.option("--verifier-url", default=None, metavar="URL",
              help="Judge rewards and evaluations on a verifier service (`agnostics serve`) at this base URL, "
                   "e.g. a CPU pool at http://verifier.internal:8080 (default: $AGNOSTICS_VERIFIER_URL).")
@click.option("--verifier-token-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File holding the verifier service's token (default: $AGNOSTICS_VERIFIER_TOKEN).")
def train_command(recipe: str, overrides: tuple[str, ...], dry_run: bool, output_dir: str | None, resume: bool,
                  resume_from: str | None, push_to_hub: bool, num_processes: int | None, verifier_url: str | None,
                  verifier_token_file: str | None) -> None:
    """Train with GRPO as RECIPE says; OVERRIDES are key=value pairs (grpo.learning_rate=1e-5).

    Precedence: TRL's defaults < the recipe YAML < OVERRIDES. Launch on several GPUs with
    `accelerate launch --config_file recipes/accelerate/... -m agnostics train RECIPE`: the recipe's
    batch section is shared among the launched processes, so every launch trains the same steps.
    """
    from ag_eval.errors import AgnosticsError

    try:
        from ag_train.train import train
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"training needs {exc.name}, which is not installed; install the extra: pip install 'agnostics[train]'."
        ) from None
    try:
        from ag_eval.executors.remote import read_token

        token = read_token(verifier_token_file) if verifier_token_file else None
        result = train(recipe, list(overrides), dry_run=dry_run, output_dir=output_dir,
                       resume=resume_from or resume, push_to_hub=push_to_hub, num_processes=num_processes,
                       command=" ".join(shlex.quote(a) for a in ("agnostics", "train", recipe, *overrides)),
                       verifier_url=verifier_url, verifier_token=token)
    except AgnosticsError as exc:
        raise click.ClickException(str(exc)) from None
    if dry_run:
        click.echo(result.describe(), nl=False)
        click.echo("dry run: the recipe resolves to a valid GRPOConfig; nothing was trained.")
        return
    if not result.is_main_process:
        return
    for entry in result.log_history:
        if "reward" in entry:
            click.echo(f"step {entry['step']}: mean reward {entry['reward']:.4f}")
    for name, summary in (("before", result.before), ("after", result.after)):
        if summary:
            click.echo(f"pass@1 {name}: {summary['pass@1']} {summary['by_language']}")
    click.echo(f"run folder: {result.output_dir} (pass_at_1.json, README.md)")
