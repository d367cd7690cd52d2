"""The benchmark's outputs: a Markdown table, a PNG plot, the raw numbers as JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

#: Targets from the performance issue, shown beside the measured ratios.
FLOOR_TARGET = {"lua": 0.8, "python": 0.8, "ocaml": 0.8, "fortran": 0.8}
PYEXEC_TARGET = 1.0
SCALING_TARGET = 1.8
LUA_BATCH_TARGET_S = 3.0


def machine() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = "", False
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gb": mem_gb,
        "kernel": platform.release(), "python": sys.version.split()[0],
        "commit": commit + ("+local changes" if dirty else ""), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _f(x, nd=1) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return f"{x:.{nd}f}"


def _target(value, target, higher=True) -> str:
    if value is None or target is None:
        return ""
    ok = value >= target if higher else value <= target
    return f"{'✓' if ok else '✗'} ({'≥' if higher else '≤'} {target:g})"


def markdown(res: dict) -> str:
    m = res["meta"]
    lines = ["# Agnostics verifier benchmark", ""]
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}, "
                 f"Python {m['python']}; load average {m['load_avg_1m_at_start']} at start. "
                 f"Commit {m['commit'] or '?'}, {m['date']}.")
    lines.append(f"Mode: **{m['mode']}**; medians of {m['repeat']} run(s); {m['workers']} worker(s) unless stated. "
                 "Throughput ratios are sandboxed / reference (higher is better).")
    if m["mode"] == "quick":
        lines.append("")
        lines.append("> Quick mode: a scaled-down workload (see the counts below); run `make bench` for the full one.")
    fl = res.get("floor")
    if fl:
        lines += ["", "## 1. Sandboxed verifier vs. bare subprocess (the floor)", "",
                  "| language | programs × tests | bare tests/s | sandboxed tests/s | sandboxed/bare | target | verdicts agree |",
                  "|---|---|---:|---:|---:|---|---|"]
        for lang, r in fl.items():
            lines.append(f"| {lang} | {r['programs']} × {r['tests_per_program']} | {_f(r['bare_tps'])} | "
                         f"{_f(r['sandboxed_tps'])} | **{_f(r['ratio'], 2)}** | "
                         f"{_target(r['ratio'], FLOOR_TARGET.get(lang))} | {r['agree']}/{r['programs']} |")
    py = res.get("pyexec")
    if py:
        lines += ["", "## 2. Python: sandboxed verifier vs. an unsandboxed Python executor", "",
                  f"HumanEval problems converted to stdin/stdout by the mechanical converter ({py['problems']} "
                  f"problems, {py['tests']} I/O tests). Reference: {py['executor']}, one process per problem "
                  "running all its asserts; ours: one jailed process per I/O test.", "",
                  "| executor | problems/s | passed | wall s |", "|---|---:|---:|---:|",
                  f"| {py['executor_short']} | {_f(py['theirs_pps'])} | {py['theirs_passed']}/{py['problems']} | "
                  f"{_f(py['theirs_wall'], 2)} |",
                  f"| agnostics (sandboxed) | {_f(py['ours_pps'])} | {py['ours_passed']}/{py['problems']} | "
                  f"{_f(py['ours_wall'], 2)} |", "",
                  f"Ratio sandboxed / {py['executor_short']}: **{_f(py['ratio'], 2)}** "
                  f"{_target(py['ratio'], PYEXEC_TARGET)}"]
    sc = res.get("scaling")
    if sc:
        curve = sc.get("curve") or [{"workers": 1, "tps": sc["one_tps"], "speedup": 1.0},
                                    {"workers": sc["workers"], "tps": sc["all_tps"], "speedup": sc["ratio"]}]
        lines += ["", f"## 3. Scaling (sandboxed, Lua, {sc.get('programs', '')} programs)", "",
                  "| workers | tests/s | speed-up |", "|---:|---:|---:|"]
        lines += [f"| {p['workers']} | {_f(p['tps'])} | {_f(p['speedup'], 2)} |" for p in curve]
        if sc.get("unpinned_tps"):
            lines.append(f"| {sc['workers']}, not pinned (`AGNOSTICS_PIN_CPUS=0`) | {_f(sc['unpinned_tps'])} | "
                         f"{_f(sc['unpinned_ratio'], 2)} |")
        lines += ["", f"{sc['workers']} workers / 1 worker: **{_f(sc['ratio'], 2)}** "
                      f"{_target(sc['ratio'], SCALING_TARGET if sc['workers'] == 2 else None)}"]
    lat = res.get("latency")
    if lat:
        lines += ["", "## 4. Latency of one RL batch (sandboxed, all workers)", "",
                  "| language | batch | wall s | bare wall s | target |", "|---|---|---:|---:|---|"]
        for lang, r in lat.items():
            target = LUA_BATCH_TARGET_S if lang == "lua" and r["programs"] >= 256 else None
            lines.append(f"| {lang} | {r['programs']} × {r['tests_per_program']} | **{_f(r['sandboxed_wall'], 2)}** | "
                         f"{_f(r.get('bare_wall'), 2)} | {_target(r['sandboxed_wall'], target, higher=False)} |")
    mem = res.get("memory")
    if mem:
        lines += ["", "## 5. Peak memory of `agnostics verify-batch` (the verifier process)", "",
                  "| jobs | peak RSS MB | wall s | jobs/s | results |", "|---:|---:|---:|---:|---:|"]
        for r in mem["runs"]:
            lines.append(f"| {r['jobs']} | {_f(r['peak_rss_mb'])} | {_f(r['wall_s'], 1)} | "
                         f"{_f(r['jobs'] / r['wall_s'] if r['wall_s'] else None)} | {r['results']} |")
        lines += ["", f"Peak RSS {mem['runs'][-1]['jobs']} jobs / {mem['runs'][0]['jobs']} jobs: "
                      f"**{_f(mem['ratio'], 2)}** (flat is 1.0)"]
    dd = res.get("dedupe")
    if dd:
        lines += ["", "## 6. Evaluation with 20 identical samples per problem vs. 1 (`agnostics eval`)", "",
                  "Every sample of a problem is the same program (scripted backend); 10 tests per problem. "
                  "Identical jobs share one judgment by default; `--no-dedupe` judges every copy.", "",
                  "| language | problems | samples | dedupe | wall s | × one sample | judged | shared |",
                  "|---|---:|---:|---|---:|---:|---:|---:|"]
        for r in dd["runs"]:
            lines.append(f"| {r['language']} | {r['problems']} | {r['samples']} | {'on' if r['dedupe'] else 'off'} | "
                         f"{_f(r['wall_s'], 2)} | **{_f(r['vs_one'], 2)}** | {r['judged']} | {r['reused']} |")
    return "\n".join(lines) + "\n"


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    fl = res.get("floor") or {}
    ax = axes[0][0]
    if fl:
        langs = list(fl)
        x = range(len(langs))
        ax.bar([i - 0.2 for i in x], [fl[lang]["bare_tps"] for lang in langs], 0.4, label="bare subprocess")
        ax.bar([i + 0.2 for i in x], [fl[lang]["sandboxed_tps"] for lang in langs], 0.4, label="sandboxed")
        ax.set_xticks(list(x), langs)
        ax.set_yscale("log")
        ax.set_ylabel("tests / s (log)")
        ax.legend()
    ax.set_title("Throughput")
    ax = axes[0][1]
    ratios = {lang: r["ratio"] for lang, r in fl.items()}
    if res.get("pyexec"):
        ratios["python vs\nhuman-eval"] = res["pyexec"]["ratio"]
    if res.get("scaling"):
        ratios[f"{res['scaling']['workers']}w / 1w"] = res["scaling"]["ratio"]
    if ratios:
        ax.bar(list(ratios), list(ratios.values()), color="tab:green")
        ax.axhline(0.8, color="grey", linestyle="--", linewidth=1)
        ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_title("Ratios (sandboxed / reference)")
    ax = axes[1][0]
    lat = res.get("latency") or {}
    if lat:
        ax.bar(list(lat), [r["sandboxed_wall"] for r in lat.values()], color="tab:orange")
        ax.set_ylabel("wall s")
        some = next(iter(lat.values()))
        ax.set_title(f"RL batch latency ({some['programs']} × {some['tests_per_program']})")
    else:
        ax.set_title("RL batch latency")
    ax = axes[1][1]
    mem = res.get("memory")
    if mem:
        runs = mem["runs"]
        ax.plot([r["jobs"] for r in runs], [r["peak_rss_mb"] for r in runs], marker="o")
        ax.set_xscale("log")
        ax.set_xlabel("jobs")
        ax.set_ylabel("peak RSS MB")
        ax.set_ylim(0, 1.3 * max(r["peak_rss_mb"] for r in runs))
    ax.set_title("verify-batch peak memory")
    m = res["meta"]
    fig.suptitle(f"Agnostics verifier — {m['cpu']}, {m['cores']} cores, {m['mode']} mode")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(res: dict, out_dir: Path, results_md: Path | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = markdown(res)
    written = [out_dir / "latest.md", out_dir / "latest.json", out_dir / "latest.png"]
    written[0].write_text(md, encoding="utf-8")
    written[1].write_text(json.dumps(res, indent=2), encoding="utf-8")
    plot(res, written[2])
    if results_md is not None:
        results_md.write_text(md, encoding="utf-8")
        written.append(results_md)
    return written
