"""`agnostics eval` (generate, verify, score) and `agnostics report` (runs side by side)."""

from __future__ import annotations

import json

import click

from .cli_common import executor_options


def _template_kwargs(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE (e.g. enable_thinking=false).",
                                     param_hint="--chat-template-kwarg")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@click.command("eval")
@click.option("--model", "-m", required=True, help="Model: a Hub id or local folder (vllm, transformers) or the served name (openai).")
@click.option("--dataset", "-d", required=True,
              help="ag-mbpp-x, ag-livecodebench-x, ... a Hub id, a Hub-layout folder, a JSONL/Parquet file of problem rows, "
                   "or nuprl/MultiPL-E (or a local folder of its layout).")
@click.option("--config", "dataset_config", default=None, help="Dataset config (MultiPL-E: humaneval, mbpp or e.g. humaneval-lua).")
@click.option("--split", default="test", show_default=True, help="Dataset split.")
@click.option("--language", "-l", "languages", multiple=True, help="Language to evaluate (repeat for several).")
@click.option("--backend", type=click.Choice(["vllm", "transformers", "openai"]), default="vllm", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder (rerun to resume).")
@click.option("--samples", "-n", "n_samples", type=int, default=20, show_default=True, help="Samples per problem.")
@click.option("--temperature", type=float, default=0.2, show_default=True)
@click.option("--top-p", type=float, default=0.95, show_default=True)
@click.option("--max-new-tokens", type=int, default=1024, show_default=True)
@click.option("--system-prompt", default=None, help="System message, e.g. '/nothink' for Qwen3.")
@click.option("--chat-template-kwarg", "template_kwargs", multiple=True, metavar="KEY=VALUE",
              help="Extra chat template variable, e.g. enable_thinking=false (repeatable).")
@click.option("--prompt-template", default=None, type=click.Path(exists=True, dir_okay=False),
              help="jinja2 prompt template replacing the paper's (Ag-*-X datasets).")
@click.option("--prompt-hint/--no-prompt-hint", default=False, show_default=True,
              help="Append the language runner's short I/O hint to the prompt (Ag-*-X datasets).")
@click.option("--limit", type=int, default=None, help="Only the first N problems (per language).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["auto", "agnostics", "multiple"]), default="auto", show_default=True,
              help="Dataset layout: Ag-*-X problem rows or MultiPL-E rows (auto: guessed from the name).")
@click.option("--multiple-style", type=click.Choice(["completion", "chat"]), default="completion", show_default=True,
              help="MultiPL-E: continue the raw prompt (cut at stop tokens) or ask a chat model for the function.")
@click.option("--workers", type=int, default=None, help="Programs verified at once (default: all cores).")
@executor_options
@click.option("--retry-sandbox-errors/--keep-sandbox-errors", default=True, show_default=True,
              help="On resume, verify again samples whose verification failed in the sandbox.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="transformers: prompts per generate call.")
@click.option("--device", default=None, help="transformers: cpu, cuda, cuda:1 (default: cuda when available).")
@click.option("--dtype", default="auto", show_default=True, help="Weights dtype (vllm, transformers).")
@click.option("--tensor-parallel-size", type=int, default=1, show_default=True, help="vllm: GPUs per engine.")
@click.option("--data-parallel-size", type=int, default=None, help="vllm: engines (default: visible GPUs / tensor parallel).")
@click.option("--gpu-memory-utilization", type=float, default=0.9, show_default=True, help="vllm.")
@click.option("--max-model-len", type=int, default=None, help="vllm: context length.")
@click.option("--base-url", default=None, help="openai: endpoint, e.g. http://localhost:8000/v1 (default: $OPENAI_BASE_URL).")
@click.option("--api-key", default=None, help="openai: key (default: $OPENAI_API_KEY); never written to run.json.")
@click.option("--concurrency", type=int, default=16, show_default=True, help="openai: requests in flight.")
@click.option("--max-retries", type=int, default=6, show_default=True, help="openai: retries of a failed request.")
@click.option("--retry-wait", "retry_wait_s", type=float, default=1.0, show_default=True,
              help="openai: first backoff in seconds (doubles each retry).")
@click.option("--request-timeout", "request_timeout_s", type=float, default=600.0, show_default=True)
@click.option("--use-n/--repeat-requests", default=True, show_default=True,
              help="openai: ask for all samples with `n` in one request, or one request per sample.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def eval_command(dataset_config, languages, fmt, template_kwargs, progress, no_dedupe, **options) -> None:
    """Generate with a model, verify every sample in the sandbox, and report pass@1.

    Defaults follow the Agnostics paper: 20 samples, temperature 0.2, top-p 0.95, 1024 new
    tokens, the model's chat template. Results stream to OUT/samples.jsonl; rerunning the
    same command resumes. OUT/summary.md, summary.json and pass_at_1.png hold the scores.
    """
    from ag_harness import EvalConfig, run_eval
    from ag_harness.summary import SUMMARY_MD

    cfg = EvalConfig(config=dataset_config, languages=list(languages), format=fmt, dedupe=not no_dedupe,
                     chat_template_kwargs=_template_kwargs(template_kwargs), **options)
    run_eval(cfg, progress=progress)
    from pathlib import Path

    click.echo((Path(cfg.out_dir) / SUMMARY_MD).read_text(encoding="utf-8"))
    click.echo(f"Samples: {Path(cfg.out_dir) / 'samples.jsonl'}", err=True)


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for report.md, report.json and report.png (default: print only).")
@click.option("--label", "labels", multiple=True, help="Name of each run in order (default: model names).")
def report_command(run_dirs, out_dir, labels) -> None:
    """Put evaluation runs side by side: pass@1 per dataset x language, deltas against the first."""
    from ag_harness import write_report

    text, _ = write_report(list(run_dirs), out_dir, list(labels) or None)
    click.echo(text)
