"""`agnostics languages`, `agnostics verify`, `agnostics verify-batch`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ag_eval.limits import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIME_LIMIT_S

from .cli_common import executor_options


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list (name, display name, aliases, installed, "
              "version, packages, compile/run commands, zygote, self-test count) for tools.")
@click.option("--markdown", is_flag=True, help="Print the README's Markdown table of languages.")
@click.option("--startup", is_flag=True, help="Also measure each installed language's start-up in the sandbox "
              "(median seconds of one test of its echo self-test).")
@click.pass_context
def languages(ctx: click.Context, as_json: bool, markdown: bool, startup: bool) -> None:
    """List languages, whether their toolchain is installed, and its version."""
    if ctx.invoked_subcommand is not None:
        if as_json or markdown or startup:
            raise click.UsageError("--json, --markdown and --startup go without a subcommand "
                                   "(`agnostics languages --json`).")
        return
    from ag_eval.runners import get_registry

    if as_json or markdown:
        from ag_eval.languages import language_info, markdown_table, measure_startup

        if as_json and markdown:
            raise click.UsageError("choose one of --json and --markdown.")
        runners = list(get_registry())
        bar = None
        if startup:  # seconds per language: say how far it is (on stderr)
            from ag_eval.progress import Progress

            bar = Progress({"start-up": len(runners)})
        rows = []
        try:
            for r in runners:
                row = language_info(r)
                if startup:
                    row["startup_s"] = measure_startup(r)
                    bar.advance("start-up")
                rows.append(row)
        finally:
            if bar is not None:
                bar.close()
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False) if as_json else markdown_table(rows), nl=as_json)
        return
    if startup:
        raise click.UsageError("--startup goes with --json or --markdown.")
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Agnostics languages")
    for col in ("language", "aliases", "toolchain", "version", "compiled", "debian packages"):
        table.add_column(col)
    for r in get_registry():
        missing = r.missing_executables()
        table.add_row(r.name, ", ".join(r.aliases), "[green]found[/]" if not missing else f"[red]missing[/] ({', '.join(missing)})",
                      r.detect_version() or "-", "yes" if r.compiled else "no", " ".join(r.packages))
    Console().print(table)


@languages.command("check")
@click.argument("language", nargs=-1)
@click.option("--workers", type=int, default=None, help="Programs run at once (default: all cores).")
def languages_check(language: tuple[str, ...], workers: int | None) -> None:
    """Run the self-tests of LANGUAGE... (default: every installed language) and print a table."""
    from rich.console import Console
    from rich.table import Table

    from ag_eval.selftest import run_selftests

    report = run_selftests(list(language) or None, workers=workers)
    table = Table(title="Language self-tests")
    for col in ("language", "status", "passed", "failures", "time (s)"):
        table.add_column(col)
    for row in report:
        status = {"ok": "[green]ok[/]", "fail": "[red]FAIL[/]", "missing": "[yellow]not installed[/]"}[row.status]
        table.add_row(row.language, status, f"{row.passed}/{row.total}", "; ".join(row.failures) or "-", f"{row.seconds:.2f}")
    Console().print(table)
    if any(r.status == "fail" for r in report):
        raise click.ClickException("some self-tests failed (see the table above).")


@languages.command("install")
@click.argument("language", nargs=-1)
@click.option("--print-only", is_flag=True, help="Only print the Debian package names, one line.")
def languages_install(language: tuple[str, ...], print_only: bool) -> None:
    """Install the Debian packages of LANGUAGE... (default: all) with apt-get (needs root)."""
    import os
    import subprocess

    from ag_eval.runners import get_registry

    reg = get_registry()
    runners = [reg.get(lang) for lang in language] if language else list(reg)
    pkgs = sorted({p for r in runners for p in r.packages})
    if print_only:
        click.echo(" ".join(pkgs))
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *pkgs]
    if os.geteuid() != 0:
        raise click.ClickException(f"installing packages needs root; run: sudo {' '.join(cmd)}")
    click.echo(" ".join(cmd))
    subprocess.run(cmd, check=True)


@click.command()
@click.option("--language", "-l", required=True, help="Language name or alias (see `agnostics languages`).")
@click.option("--code", "code_path", required=True, type=click.Path(exists=True, dir_okay=False), help="Program source file.")
@click.option("--tests", "tests_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON list (or JSONL) of {\"input\": ..., \"output\": ...} tests.")
@click.option("--compare", default="lines", show_default=True, help="lines | exact | tokens | float:<tol> (+icase).")
@click.option("--time-limit", "time_limit_s", type=float, default=DEFAULT_TIME_LIMIT_S, show_default=True,
              help="CPU seconds per test.")
@click.option("--memory-limit", "memory_limit_mb", type=int, default=DEFAULT_MEMORY_LIMIT_MB, show_default=True,
              help="MB per test.")
@click.option("--compile-time-limit", "compile_time_s", type=float, default=None,
              help="CPU seconds for the compile step  [default: the language's own]")
def verify(language: str, code_path: str, tests_path: str, compare: str, time_limit_s: float, memory_limit_mb: int,
           compile_time_s: float | None) -> None:
    """Judge one program against its I/O tests; prints the result as JSON."""
    from ag_eval.engine import verify as run_verify
    from ag_eval.errors import JobError

    text = Path(tests_path).read_text(encoding="utf-8")
    try:
        tests = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    except json.JSONDecodeError as exc:
        raise JobError(f"{tests_path} is not a JSON list or JSONL of tests ({exc}).") from None
    code = Path(code_path).read_text(encoding="utf-8", errors="surrogateescape")
    result = run_verify({"id": Path(code_path).name, "language": language, "code": code, "tests": tests,
                         "compare": compare, "time_limit_s": time_limit_s, "memory_limit_mb": memory_limit_mb,
                         "compile_time_s": compile_time_s})
    click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    sys.exit(0 if result.ok else 1)


@click.command("verify-batch")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False), help="jobs.jsonl")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False), help="results.jsonl (resumed if present).")
@click.option("--workers", type=int, default=None, help="Programs run at once (default: all cores).")
@click.option("--fail-fast", is_flag=True, help="Stop a program at its first failing test.")
@executor_options
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def verify_batch(input_path: str, output_path: str, workers: int | None, fail_fast: bool, executor: str,
                 ray_address: str | None, no_dedupe: bool, cache_dir: str | None, verifier_url: str | None,
                 verifier_token_file: str | None, no_progress: bool) -> None:
    """Judge every job of a JSONL file; results stream to OUTPUT as they finish (keyed by id)."""
    from ag_eval.batch import run_batch
    from ag_eval.executors.remote import read_token

    if ray_address and executor != "ray":
        raise click.UsageError("--ray-address needs --executor ray (or drop --ray-address).")
    if cache_dir and no_dedupe:
        raise click.UsageError("--cache-dir shares judgments, which --no-dedupe turns off; drop one of them.")
    summary = run_batch(input_path, output_path, workers=workers, fail_fast=fail_fast, executor=executor,
                        progress=not no_progress, dedupe=not no_dedupe, cache_dir=cache_dir, verifier_url=verifier_url,
                        verifier_token=read_token(verifier_token_file) if verifier_token_file else None,
                        **({"address": ray_address} if ray_address else {}))
    click.echo(summary.format())
