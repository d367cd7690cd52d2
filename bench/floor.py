"""Both sides of the floor comparison: the sandboxed verifier, and the same work bare.

The bare floor does what the verifier must do and nothing more: per program, write the
source to a temp folder, compile once if the language compiles, then ``subprocess.run`` every
test's command with its stdin and compare stdout with the same comparator as the verifier.
No jail, no limits beyond a generous timeout. Same worker count (a thread pool).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ag_eval.compare import parse_compare
from ag_eval.runners import get_runner
from ag_eval.sandbox import JAIL_WORKDIR

BARE_TIMEOUT_S = 30.0


@dataclass
class Outcome:
    verdict: str
    passed: int


@dataclass
class Timing:
    """Median wall time of several repetitions of one batch, and the last run's outcomes."""

    walls: list[float] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")


def _host_path(arg: str, folder: str) -> str:
    if arg == JAIL_WORKDIR:
        return folder
    return arg.replace(JAIL_WORKDIR + "/", folder + "/")


def _bare_env(runner, folder: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            **dict(runner.env), "HOME": folder, "TMPDIR": folder}


def run_bare_job(job: dict) -> Outcome:
    """Judge one job bare: compile once, run each test with plain subprocess, compare."""
    runner = get_runner(job["language"])
    comparator = parse_compare(job.get("compare"))
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as folder:
        with open(os.path.join(folder, runner.source_file), "w", encoding="utf-8") as f:
            f.write(job["code"])
        env = _bare_env(runner, folder)
        compile_argv = runner.compile_argv()
        if compile_argv:
            done = subprocess.run([_host_path(a, folder) for a in compile_argv], cwd=folder, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=BARE_TIMEOUT_S)
            if done.returncode != 0:
                return Outcome("compile_error", 0)
        argv = [_host_path(a, folder) for a in runner.run_argv()]
        verdicts = []
        for case in job["tests"]:
            try:
                done = subprocess.run(argv, cwd=folder, env=env, input=case["input"].encode(), capture_output=True,
                                      timeout=BARE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                verdicts.append("timeout")
                continue
            if done.returncode != 0:
                verdicts.append("runtime_error")
            elif comparator(done.stdout.decode("utf-8", "surrogateescape"), case["output"]):
                verdicts.append("pass")
            else:
                verdicts.append("wrong_output")
    failing = [v for v in verdicts if v != "pass"]
    return Outcome(failing[0] if failing else "pass", len(verdicts) - len(failing))


def run_bare(jobs: list[dict], workers: int) -> tuple[float, list[Outcome]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(run_bare_job, jobs))
    return time.perf_counter() - start, outcomes


def run_sandboxed(jobs: list[dict], workers: int) -> tuple[float, list[Outcome]]:
    """The verifier through its public API, as a user calls it."""
    from ag_eval import verify_many

    start = time.perf_counter()
    results = verify_many(jobs, workers=workers)
    wall = time.perf_counter() - start
    return wall, [Outcome(r.verdict.value, r.passed) for r in results]


def measure(jobs: list[dict], workers: int, repeat: int, sides=("bare", "sandboxed")) -> dict[str, Timing]:
    """Run each side ``repeat`` times, alternating which goes first, so drift hits both alike."""
    funcs = {"bare": run_bare, "sandboxed": run_sandboxed}
    timings = {side: Timing() for side in sides}
    for r in range(repeat):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for side in order:
            wall, outcomes = funcs[side](jobs, workers)
            timings[side].walls.append(wall)
            timings[side].outcomes = outcomes
    return timings
