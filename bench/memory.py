"""Peak memory of ``agnostics verify-batch`` over many jobs (it must not grow with their number).

The command runs as a child process; its own resident set (``VmRSS``, and the kernel's
high-water mark ``VmHWM``) is read from /proc every few milliseconds. Jailed programs are
other processes and are not counted: this is the verifier's memory alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .workload import tiny_lua_jobs

SAMPLE_EVERY_S = 0.02


@dataclass
class MemoryRun:
    jobs: int
    peak_rss_mb: float
    wall_s: float
    results: int
    passed: int


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def run_verify_batch(count: int, workers: int, executor: str = "local") -> MemoryRun:
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as folder:
        jobs_path, out_path = Path(folder) / "jobs.jsonl", Path(folder) / "results.jsonl"
        with jobs_path.open("w") as f:
            for job in tiny_lua_jobs(count):
                f.write(json.dumps(job) + "\n")
        argv = [sys.executable, "-m", "agnostics", "verify-batch", "--input", str(jobs_path), "--output",
                str(out_path), "--workers", str(workers), "--executor", executor, "--no-progress"]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_kb = 0
        while proc.poll() is None:
            st = _status_kb(proc.pid)
            peak_kb = max(peak_kb, st.get("VmRSS", 0), st.get("VmHWM", 0))
            time.sleep(SAMPLE_EVERY_S)
        wall = time.perf_counter() - start
        stderr = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        if proc.returncode != 0:
            raise RuntimeError(f"verify-batch exited with {proc.returncode}: {stderr.strip()[-2000:]}")
        results = passed = 0
        with out_path.open() as f:
            for line in f:
                results += 1
                passed += json.loads(line)["verdict"] == "pass"
    return MemoryRun(jobs=count, peak_rss_mb=peak_kb / 1024.0, wall_s=wall, results=results, passed=passed)
