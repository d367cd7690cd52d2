"""Runs side by side: ``agnostics report BASE_DIR OTHER_DIR ...``.

One row per dataset x language, one pass@1 column per run (with its 95% interval) and,
for every run after the first, its difference from the first in percentage points.
Written as Markdown and as a PNG of grouped bars.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import EvalError
from .summary import SUMMARY_JSON, pct, plot_bars, summarize


def load_summary(run_dir: str | Path) -> dict[str, Any]:
    """A run's summary: summary.json, or computed from samples.jsonl when that is missing."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise EvalError(f"run folder {run_dir} does not exist; give folders written by `agnostics eval --out`.")
    path = folder / SUMMARY_JSON
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    if not (folder / "samples.jsonl").is_file():
        raise EvalError(f"{run_dir} has neither summary.json nor samples.jsonl; run `agnostics eval --out {run_dir}` first.")
    return summarize(folder)


def run_labels(summaries: list[dict[str, Any]], labels: list[str] | None) -> list[str]:
    if labels:
        if len(labels) != len(summaries):
            raise EvalError(f"{len(labels)} labels for {len(summaries)} runs; give one --label per run, in order.")
        return labels
    names = [Path(s.get("model") or s["run"]).name for s in summaries]
    if len(set(names)) < len(names):
        names = [s["run"] for s in summaries]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def compare(summaries: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """The comparison table: rows of (dataset, language) with each run's pass@1 and delta to the first."""
    keys = sorted({(r["dataset"], r["language"]) for s in summaries for r in s["results"]})
    rows = []
    for dataset, language in keys:
        cells = []
        for s in summaries:
            r = next((r for r in s["results"] if (r["dataset"], r["language"]) == (dataset, language)), None)
            cells.append(None if r is None or r.get("pass@1") is None else
                         {"pass@1": r["pass@1"], "ci": r["pass@1_ci"], "problems": r["problems"]})
        base = cells[0]["pass@1"] if cells[0] else None
        deltas = [None if c is None or base is None else c["pass@1"] - base for c in cells[1:]]
        rows.append({"dataset": dataset, "language": language, "runs": cells, "delta": deltas})
    return {"labels": labels, "rows": rows}


def markdown(table: dict[str, Any]) -> str:
    labels = table["labels"]
    head = ["Dataset", "Language", *[f"{lab} pass@1 (%)" for lab in labels], *[f"Δ {lab}" for lab in labels[1:]]]
    lines = ["# pass@1 side by side", "", f"Baseline: {labels[0]}. Δ is in percentage points; intervals are 95%.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table["rows"]:
        runs = [("-" if c is None else f"{pct(c['pass@1'])} [{pct(c['ci'][0])}, {pct(c['ci'][1])}]") for c in row["runs"]]
        deltas = [("-" if d is None else f"{100 * d:+.1f}") for d in row["delta"]]
        lines.append("| " + " | ".join([row["dataset"], row["language"], *runs, *deltas]) + " |")
    return "\n".join(lines) + "\n"


def write_report(run_dirs: list[str | Path], out_dir: str | Path | None = None, labels: list[str] | None = None) -> tuple[str, dict]:
    """Compare runs; write report.md and report.png into ``out_dir`` when given. Returns (markdown, table)."""
    if not run_dirs:
        raise EvalError("no run folder given; pass one or more folders written by `agnostics eval --out`.")
    summaries = [load_summary(d) for d in run_dirs]
    table = compare(summaries, run_labels(summaries, labels))
    text = markdown(table)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(text, encoding="utf-8")
        (out / "report.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
        series: dict[str, dict[str, tuple[float, float, float]]] = {}
        for label, i in zip(table["labels"], range(len(summaries))):
            for row in table["rows"]:
                cell = row["runs"][i]
                if cell is not None:
                    group = row["language"] if len({r["dataset"] for r in table["rows"]}) == 1 else \
                        f"{row['dataset']}\n{row['language']}"
                    series.setdefault(label, {})[group] = (cell["pass@1"], *cell["ci"])
        if series:
            plot_bars(series, out / "report.png", "pass@1 by run")
    return text, table
