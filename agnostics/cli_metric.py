"""``agnostics metric``: the io_pass_at_k metric's Hub Space."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("metric")
def metric_group() -> None:
    """The io_pass_at_k evaluate metric and its Hub Space."""


@metric_group.command("push")
@click.option("--repo-id", required=True, help="The Space to create or update, ORG/io_pass_at_k.")
@click.option("--dry-run", is_flag=True, help="Only write the Space folder (to --out); upload nothing.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the Space files with --dry-run (default: ./io_pass_at_k-space).")
@click.option("--private", is_flag=True, help="Create the Space private.")
@click.option("--requirement", default=None,
              help="pip requirement installing the verifier on the Space (default: this agnostics version).")
@click.option("--language", "languages", multiple=True,
              help="Install only this language's toolchain on the Space (repeatable; default: all shipped).")
def push(repo_id: str, dry_run: bool, out_dir: Path | None, private: bool, requirement: str | None,
         languages: tuple[str, ...]) -> None:
    """Build the Space folder (card, module, app, requirements) and upload it to the Hub."""
    from ag_eval import space

    if dry_run:
        folder = space.build_space(out_dir or Path("io_pass_at_k-space"), repo_id=repo_id, requirement=requirement,
                                   languages=list(languages))
        click.echo(f"wrote {folder} (dry run: nothing uploaded)")
        return
    if out_dir is not None:
        raise click.UsageError("--out is only used with --dry-run.")
    url = space.push_space(repo_id, private=private, requirement=requirement, languages=list(languages))
    click.echo(f"uploaded {repo_id}: {url}")
