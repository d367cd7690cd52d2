"""``agnostics datasets``: build, show and publish the Agnostics datasets. Thin: parse, call, print."""

from __future__ import annotations

import click

from .cli_common import AgnosticsGroup

NAMES = ("ag-mbpp-x", "ag-humaneval-x", "ag-livecodebench-x", "ag-codeforces-x")


@click.group("datasets", cls=AgnosticsGroup)
def datasets_group() -> None:
    """Build language-agnostic datasets from their sources, inspect them, publish them."""


def _echo_report(folder) -> None:
    from ag_datasets.report import BuildReport

    report = BuildReport.load(folder)
    click.echo(f"{folder}")
    for line in report.summary_lines():
        click.echo(line)


@datasets_group.command("build")
@click.argument("name", type=click.Choice(NAMES, case_sensitive=False))
@click.option("--source", default=None, help="Local JSONL/Parquet file or folder, or a Hub id (default: the shipped or canonical source).")
@click.option("--converter", type=click.Choice(["mechanical", "llm", "both"]), default="mechanical", show_default=True,
              help="How MBPP/HumanEval asserts become I/O tests; 'both' uses the LLM only where the mechanical converter fails.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: ./NAME; for ag-mbpp-x with no options, the offline cache).")
@click.option("--workers", type=int, default=None, help="Programs validated at once (default: all cores).")
@click.option("--llm-base-url", default=None, help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")
@click.option("--llm-model", default=None, help="Model name (default: $AGNOSTICS_LLM_MODEL or $OPENAI_MODEL).")
@click.option("--llm-concurrency", type=int, default=8, show_default=True, help="LLM requests in flight at once.")
@click.option("--llm-cache", type=click.Path(file_okay=False), default=None, help="Answer cache folder (default: ~/.cache/agnostics/llm).")
@click.option("--release", default=None, help="LiveCodeBench release: release_vN (cumulative) or vN (default release_v5).")
@click.option("--since", default=None, help="LiveCodeBench: keep contests on or after this date (YYYY-MM-DD).")
@click.option("--until", default=None, help="LiveCodeBench: keep contests on or before this date (YYYY-MM-DD).")
@click.option("--seed", type=int, default=None, help="Codeforces: seed of the validation/test/train split (default 0).")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def build_command(name, source, converter, out_dir, workers, llm_base_url, llm_model, llm_concurrency, llm_cache,
                  release, since, until, seed, no_progress) -> None:
    """Build dataset NAME into a Hub-layout folder and print its report."""
    name = name.lower()
    progress = not no_progress
    if name == "ag-mbpp-x" and source is None and converter == "mechanical":
        from ag_datasets.embedded import ensure_ag_mbpp_x

        folder = ensure_ag_mbpp_x(out_dir, workers=workers, progress=progress)
    else:
        from ag_datasets.build import build_dataset

        llm = None
        if converter != "mechanical":
            llm = {"base_url": llm_base_url, "model": llm_model, "concurrency": llm_concurrency,
                   "cache_dir": llm_cache, "progress": progress}
        folder = build_dataset(name, source=source, converter=converter, out_dir=out_dir, workers=workers,
                               progress=progress, llm=llm, release=release, since=since, until=until, seed=seed)
    _echo_report(folder)


@datasets_group.command("show")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--drops", is_flag=True, help="Also list every dropped problem with its reason.")
def show_command(folder, drops) -> None:
    """Print the build report of a built FOLDER."""
    from ag_datasets.report import BuildReport

    _echo_report(folder)
    if drops:
        for d in BuildReport.load(folder).drops:
            click.echo(f"{d.problem_id}\t{d.stage}: {d.reason}\t{d.detail}")


@datasets_group.command("push")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--repo-id", required=True, help="Hub dataset repo, ORG/NAME (e.g. agnostics/ag-mbpp-x).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--dry-run", is_flag=True, help="Check the folder and list what would be uploaded; upload nothing.")
def push_command(folder, repo_id, private, dry_run) -> None:
    """Upload a built FOLDER to the Hugging Face Hub as a dataset repo."""
    from ag_datasets.hub import push

    files = push(folder, repo_id, private=private, dry_run=dry_run)
    verb = "would upload" if dry_run else "uploaded"
    click.echo(f"{verb} {len(files)} files to https://huggingface.co/datasets/{repo_id}")
    for f in files:
        click.echo(f"  {f}")
