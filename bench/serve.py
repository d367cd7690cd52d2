"""`agnostics serve` against the verifier in process, on the same jobs, side by side.

    python -m bench serve [--quick] [--workers N]     (or python -m bench.serve)

The service runs as `agnostics serve` on a loopback port in a subprocess with the same
number of workers as the in-process side; the clients are threads of this process with a
keep-alive connection each (on a small machine they share its cores with the service, as
a trainer on the same node would). Measured:

- /run_code: tiny Lua programs, one run each (as verl sends one request per test case);
  in process: the same runs as jobs (``mode="exit_code"``, one test).
- /verify: generated Lua programs with 10 tests each, one job per request; and the same
  jobs as one ``{"jobs": [...]}`` batch and through /verify/stream.

One client, one request at a time: the added latency per request. ``clients`` clients at
once: requests/s against ``verify_many`` over the same jobs (the ratio is the share of the
in-process throughput the service keeps), and latency p50/p99 against ``averify`` calls
made the way the service makes them (at most ``workers`` running, ``clients`` waiting).
Writes bench/RESULTS-serve.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import report, workload

HERE = Path(__file__).resolve().parent


def _say(text: str = "") -> None:
    print(text, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_code_jobs(count: int) -> tuple[list[dict], list[dict]]:
    """(/run_code request bodies, the same runs as verifier jobs)."""
    bodies, jobs = [], []
    for i in range(count):
        code = "print(io.read('n') * 2)"
        bodies.append({"code": code, "language": "lua", "stdin": f"{i}\n", "run_timeout": 5, "compile_timeout": 5,
                       "files": {}, "fetch_files": []})
        jobs.append({"id": f"r{i}", "language": "lua", "code": code, "mode": "exit_code",
                     "tests": [{"input": f"{i}\n"}], "time_limit_s": 5})
    return bodies, jobs


class Service:
    def __init__(self, workers: int, max_inflight: int):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agnostics", "serve", "--port", str(self.port), "--workers", str(workers),
             "--max-inflight", str(max_inflight)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError("agnostics serve did not start within 60 s")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def http_clients(url: str, path: str, bodies: list[dict], clients: int) -> tuple[float, list[float], list[dict]]:
    """Send every body, ``clients`` at a time, each client on its own keep-alive connection."""
    import httpx

    local = threading.local()
    latencies: list[float] = [0.0] * len(bodies)
    answers: list[dict] = [{}] * len(bodies)

    def one(i: int) -> None:
        client = getattr(local, "client", None) or httpx.Client(timeout=300)
        local.client = client
        t0 = time.perf_counter()
        r = client.post(url + path, content=json.dumps(bodies[i]), headers={"Content-Type": "application/json"})
        latencies[i] = time.perf_counter() - t0
        answers[i] = r.json()

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(bodies))))
    return time.perf_counter() - start, latencies, answers


def inprocess_latencies(jobs: list[dict], workers: int, clients: int) -> tuple[float, list[float]]:
    """``averify`` as the service calls it: ``clients`` callers, at most ``workers`` jobs running."""
    from ag_eval import averify

    async def main() -> tuple[float, list[float]]:
        running = asyncio.Semaphore(workers)
        waiting = asyncio.Semaphore(clients)
        lat: list[float] = [0.0] * len(jobs)
        from concurrent.futures import ThreadPoolExecutor as Pool

        asyncio.get_running_loop().set_default_executor(Pool(workers + 2))

        async def one(i: int) -> None:
            async with waiting:
                t0 = time.perf_counter()
                async with running:
                    await averify(jobs[i])
                lat[i] = time.perf_counter() - t0

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(jobs))))
        return time.perf_counter() - start, lat

    return asyncio.run(main())


def batch_wall(jobs: list[dict], workers: int) -> float:
    from ag_eval import verify_many

    start = time.perf_counter()
    verify_many(jobs, workers=workers)
    return time.perf_counter() - start


def measure(args) -> dict:
    import httpx

    from ag_eval import verify

    w, c = args.workers, args.clients
    bodies, rc_jobs = run_code_jobs(args.runs)
    progs = [p.job for p in workload.programs("lua", args.programs, tests=10)]
    service = Service(w, max_inflight=max(4 * c, len(progs)))
    rows: dict[str, dict] = {}
    try:
        http_clients(service.url, "/run_code", bodies[:20], c)  # warm jails on both sides
        batch_wall(rc_jobs[:20], w)
        for name, path, http_bodies, jobs in (("/run_code", "/run_code", bodies, rc_jobs),
                                              ("/verify", "/verify", progs, progs)):
            seq = min(len(jobs), args.sequential)
            _, http_seq, _ = http_clients(service.url, path, http_bodies[:seq], 1)
            local_seq = []
            for job in jobs[:seq]:
                t0 = time.perf_counter()
                verify(job)
                local_seq.append(time.perf_counter() - t0)
            walls_http, walls_local, walls_async, lats_http, lats_async = [], [], [], [], []
            for _ in range(args.repeat):
                wall, lat, answers = http_clients(service.url, path, http_bodies, c)
                walls_http.append(wall)
                lats_http += lat
                walls_local.append(batch_wall(jobs, w))
                wall_a, lat_a = inprocess_latencies(jobs, w, c)
                walls_async.append(wall_a)
                lats_async += lat_a
            ok = sum(a.get("status") == "Success" or a.get("verdict") in ("pass", "wrong_output", "runtime_error")
                     for a in answers)
            n = len(jobs)
            rows[name] = {
                "requests": n, "answered": ok,
                "seq_http_p50_ms": 1000 * statistics.median(http_seq), "seq_local_p50_ms": 1000 * statistics.median(local_seq),
                "seq_http_p99_ms": 1000 * _pct(http_seq, 0.99), "seq_local_p99_ms": 1000 * _pct(local_seq, 0.99),
                "http_rps": n / statistics.median(walls_http), "local_rps": n / statistics.median(walls_local),
                "async_rps": n / statistics.median(walls_async),
                "http_p50_ms": 1000 * statistics.median(lats_http), "http_p99_ms": 1000 * _pct(lats_http, 0.99),
                "async_p50_ms": 1000 * statistics.median(lats_async), "async_p99_ms": 1000 * _pct(lats_async, 0.99),
            }
            rows[name]["ratio"] = rows[name]["http_rps"] / rows[name]["local_rps"]
            r = rows[name]
            _say(f"  {name:10s} 1 client: p50 {r['seq_http_p50_ms']:.1f} ms over HTTP vs {r['seq_local_p50_ms']:.1f} ms "
                 f"in process;  {c} clients: {r['http_rps']:.0f} req/s vs verify_many {r['local_rps']:.0f} jobs/s "
                 f"(ratio {r['ratio']:.2f}), averify {r['async_rps']:.0f} jobs/s, p50/p99 {r['http_p50_ms']:.0f}/{r['http_p99_ms']:.0f} ms vs averify "
                 f"{r['async_p50_ms']:.0f}/{r['async_p99_ms']:.0f} ms")
        for name, path, payload in (("/verify batch", "/verify", {"jobs": progs}),
                                    ("/verify/stream", "/verify/stream", {"jobs": progs})):
            walls = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                httpx.post(service.url + path, json=payload, timeout=600).raise_for_status()
                walls.append(time.perf_counter() - t0)
            local = rows["/verify"]["local_rps"]
            rps = len(progs) / statistics.median(walls)
            rows[name] = {"requests": 1, "jobs": len(progs), "http_rps": rps, "local_rps": local, "ratio": rps / local}
            _say(f"  {name:14s} {len(progs)} jobs in one request: {rps:.0f} jobs/s vs verify_many {local:.0f} jobs/s "
                 f"(ratio {rps / local:.2f})")
    finally:
        service.close()
    return rows


def markdown(meta: dict, rows: dict, args) -> str:
    rc, vf = rows["/run_code"], rows["/verify"]
    out = [
        "# `agnostics serve` benchmark: HTTP against the verifier in process",
        "",
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gb']} GB, Linux {meta['kernel']}, "
        f"Python {meta['python']}; load average {meta['load_avg_1m_at_start']} at start, {meta['load_avg_1m_at_end']} "
        f"at the end (a shared machine: read the ratios, measured side by side, more than the absolute numbers). "
        f"Commit {meta['commit']}, "
        f"{meta['date']}.",
        f"Mode: **{args.mode}**; medians of {args.repeat} run(s); {args.workers} worker(s) on both sides; "
        f"{args.clients} concurrent clients (threads of the benchmark process, one keep-alive connection each, "
        "sharing the machine's cores with the service). Produced by `python -m bench serve`.",
        "",
        f"Workloads: `/run_code` — {rc['requests']} tiny Lua runs (read a number, print its double), one request "
        f"each, as verl sends one request per test case; `/verify` — {vf['requests']} generated Lua programs × 10 "
        "tests (some wrong, some crashing), one job per request.",
        "",
        "## Throughput and latency under load",
        "",
        "| endpoint | HTTP req/s | in-process `verify_many` jobs/s | **HTTP / `verify_many`** "
        "| in-process `averify` jobs/s | HTTP / `averify` | HTTP p50 / p99 ms | in-process `averify` p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("/run_code", "/verify"):
        r = rows[name]
        out.append(f"| `{name}` | {r['http_rps']:.0f} | {r['local_rps']:.0f} | **{r['ratio']:.2f}** | "
                   f"{r['async_rps']:.0f} | {r['http_rps'] / r['async_rps']:.2f} | "
                   f"{r['http_p50_ms']:.1f} / {r['http_p99_ms']:.1f} | {r['async_p50_ms']:.1f} / {r['async_p99_ms']:.1f} |")
    for name in ("/verify batch", "/verify/stream"):
        r = rows[name]
        out.append(f"| `{name}` ({r['jobs']} jobs, 1 request) | {r['http_rps']:.0f} jobs/s | {r['local_rps']:.0f} | "
                   f"**{r['ratio']:.2f}** | | | | |")
    out += [
        "",
        "## One client, one request at a time (the cost HTTP adds to a request)",
        "",
        "| endpoint | HTTP p50 / p99 ms | in-process `verify` p50 / p99 ms | added p50 ms |",
        "|---|---:|---:|---:|",
    ]
    for name in ("/run_code", "/verify"):
        r = rows[name]
        out.append(f"| `{name}` | {r['seq_http_p50_ms']:.2f} / {r['seq_http_p99_ms']:.2f} | "
                   f"{r['seq_local_p50_ms']:.2f} / {r['seq_local_p99_ms']:.2f} | "
                   f"{r['seq_http_p50_ms'] - r['seq_local_p50_ms']:.2f} |")
    out += [
        "",
        "Reading it: the ratio is the share of the in-process batch throughput that the service keeps with "
        "one request per job; a batch in one request (`{\"jobs\": [...]}` or `/verify/stream`) keeps more. "
        "In-process `verify_many` pins each worker's jails to a core when there is one worker per core, which "
        "the service (one `averify` thread per job) does not; the `averify` column is the same scheduling as "
        "the service's without HTTP.",
        "",
    ]
    return "\n".join(out)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a scaled-down workload (printed as such)")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="workers on both sides")
    p.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default: %(default)s)")
    p.add_argument("--repeat", type=int, help="repetitions (full: 3, quick: 1)")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS-serve.md", help="where the table goes")
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "full"
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.runs, args.programs, args.sequential = (100, 24, 30) if args.quick else (1000, 128, 200)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ag_eval.runners import get_runner

    if not get_runner("lua").installed:
        _say("skipped: the serve benchmark runs Lua programs; install lua5.4 (`agnostics languages install lua`)")
        return 0
    meta = report.machine()
    _say(f"\n== serve: HTTP vs in process, {args.workers} workers, {args.clients} clients ({args.mode} mode)")
    rows = measure(args)
    meta["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    args.out.write_text(markdown(meta, rows, args))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "serve.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    _say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
