"""Scores of a run folder: ``summary.json``, ``summary.md`` and ``pass_at_1.png``.

Per dataset x language: pass@1 (mean over problems of c/n) with a 95% interval over
problems, pass@k for every k in :data:`KS` that the sample count allows (unbiased
estimator), and the breakdown of verdicts. ``sandbox_error`` samples are the verifier's
failures, not the model's: they are left out of n (and counted apart); a problem whose
samples all hit one is left out of the score and counted as unscored.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ag_eval.verdicts import ALL_VERDICTS
from .store import load_samples

logger = logging.getLogger(__name__)

KS = (1, 2, 5, 10, 20, 50, 100)
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
PLOT_PNG = "pass_at_1.png"
CONFIG_KEYS = ("model", "backend", "dataset", "config", "split", "n_samples", "temperature", "top_p",
               "max_new_tokens", "system_prompt", "limit", "multiple_style", "prompt_hint")


def score_group(per_problem: dict[str, list[str]], expected_problems: int | None, n_target: int | None) -> dict[str, Any]:
    """Scores of one dataset x language from each problem's list of verdicts."""
    from ag_eval.passk import estimate_pass_at_k, pass_at_1_interval

    verdicts = {v: 0 for v in ALL_VERDICTS}
    ns, cs = [], []
    unscored = 0
    for verdict_list in per_problem.values():
        for v in verdict_list:
            verdicts[v] = verdicts.get(v, 0) + 1
        n = sum(v != "sandbox_error" for v in verdict_list)
        if n == 0:
            unscored += 1
            continue
        ns.append(n)
        cs.append(sum(v == "pass" for v in verdict_list))
    total = sum(verdicts.values())
    out: dict[str, Any] = {
        "problems": len(ns), "problems_expected": expected_problems, "problems_unscored": unscored,
        "samples": total, "samples_per_problem": {"min": min(ns, default=0), "max": max(ns, default=0)},
        "verdicts": verdicts, "verdict_rates": {v: (c / total if total else 0.0) for v, c in verdicts.items()},
        "sandbox_errors": verdicts.get("sandbox_error", 0),
    }
    out["complete"] = bool(
        (expected_problems is None or len(per_problem) >= expected_problems)
        and (n_target is None or all(len(v) >= n_target for v in per_problem.values()))
        and not verdicts.get("sandbox_error")
    )
    if not ns:
        out.update({"pass@1": None, "pass@1_ci": None, "pass@k": {}})
        return out
    iv = pass_at_1_interval(ns, cs, confidence=0.95)
    out["pass@1"] = iv.mean
    out["pass@1_ci"] = [iv.low, iv.high]
    out["ci"] = {"confidence": iv.confidence, "method": iv.method}
    out["pass@k"] = {str(k): float(estimate_pass_at_k(ns, cs, k).mean()) for k in KS if k <= min(ns)}
    return out


def summarize(out_dir: str | Path, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a run folder, computed from its samples.jsonl (and run.json)."""
    out_dir = Path(out_dir)
    if record is None:
        path = out_dir / "run.json"
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    cfg = record.get("config", {})
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (dataset, language, problem_id, _sample), row in sorted(load_samples(out_dir).items()):
        groups.setdefault((dataset, language), {}).setdefault(problem_id, []).append(row["verdict"])
    expected = record.get("tasks", {})
    results = []
    for (dataset, language), per_problem in sorted(groups.items()):
        results.append({"dataset": dataset, "language": language,
                        **score_group(per_problem, expected.get(f"{dataset}|{language}"), cfg.get("n_samples"))})
    return {"run": out_dir.name, "model": cfg.get("model"), "config": {k: cfg.get(k) for k in CONFIG_KEYS if k in cfg},
            "results": results}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def markdown(summary: dict[str, Any]) -> str:
    cfg = summary.get("config", {})
    ks = sorted({int(k) for r in summary["results"] for k in r.get("pass@k", {})} - {1})
    lines = [f"# {summary.get('model') or summary['run']}", ""]
    settings = ", ".join(f"{k}={cfg[k]}" for k in ("backend", "n_samples", "temperature", "top_p", "max_new_tokens",
                                                   "system_prompt", "limit") if cfg.get(k) is not None)
    if settings:
        lines += [f"Settings: {settings}.", ""]
    head = ["Dataset", "Language", "Problems", "Samples/problem", "pass@1 (%)", "95% CI", *[f"pass@{k} (%)" for k in ks]]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary["results"]:
        ci = r.get("pass@1_ci")
        spp = r["samples_per_problem"]
        cells = [r["dataset"], r["language"],
                 f"{r['problems']}" + (f"/{r['problems_expected']}" if r.get("problems_expected") not in (None, r["problems"]) else ""),
                 str(spp["min"]) if spp["min"] == spp["max"] else f"{spp['min']}-{spp['max']}",
                 pct(r.get("pass@1")), f"[{pct(ci[0])}, {pct(ci[1])}]" if ci else "-",
                 *[pct(r.get("pass@k", {}).get(str(k))) for k in ks]]
        lines.append("| " + " | ".join(cells) + " |")
    shown = [v for v in ALL_VERDICTS if any(r["verdicts"].get(v) for r in summary["results"])]
    if shown:
        lines += ["", "Verdicts (% of samples):", "", "| Dataset | Language | " + " | ".join(shown) + " |",
                  "|---|---|" + "---|" * len(shown)]
        for r in summary["results"]:
            lines.append(f"| {r['dataset']} | {r['language']} | " +
                         " | ".join(pct(r["verdict_rates"].get(v)) for v in shown) + " |")
    notes = [f"{r['dataset']}/{r['language']}: {r['sandbox_errors']} sandbox errors (verifier failures, left out of n)"
             for r in summary["results"] if r.get("sandbox_errors")]
    notes += [f"{r['dataset']}/{r['language']}: incomplete" for r in summary["results"] if not r.get("complete", True)
              and not r.get("sandbox_errors")]
    if notes:
        lines += ["", "Notes:", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def plot_bars(series: dict[str, dict[str, tuple[float, float, float]]], path: Path, title: str) -> Path:
    """Grouped bars: ``series[name][group] = (value, low, high)`` in [0, 1]; written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({g for s in series.values() for g in s})
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) * max(1, len(series)) ** 0.5 + 2), 3.6))
    for i, (name, values) in enumerate(series.items()):
        xs = [j + (i - (len(series) - 1) / 2) * width for j, g in enumerate(groups) if g in values]
        vals = [values[g] for g in groups if g in values]
        ys = [100 * v[0] for v in vals]
        err = [[100 * (v[0] - v[1]) for v in vals], [100 * (v[2] - v[0]) for v in vals]]
        bars = ax.bar(xs, ys, width=width, yerr=err, capsize=3, label=name)
        ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20 if len(groups) > 5 else 0, ha="right" if len(groups) > 5 else "center")
    ax.set_ylabel("pass@1 (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_summary(out_dir: str | Path, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compute the summary and write summary.json, summary.md and pass_at_1.png into the folder."""
    out_dir = Path(out_dir)
    summary = summarize(out_dir, record)
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / SUMMARY_MD).write_text(markdown(summary), encoding="utf-8")
    series: dict[str, dict[str, tuple[float, float, float]]] = {}
    for r in summary["results"]:
        if r.get("pass@1") is not None:
            series.setdefault(r["dataset"], {})[r["language"]] = (r["pass@1"], *r["pass@1_ci"])
    if series:
        plot_bars(series, out_dir / PLOT_PNG, f"pass@1: {summary.get('model') or summary['run']}")
    return summary
