"""Judge programs: compile once inside the jail, run every test, compare on the host.

    verify(job) -> Result                      one job, synchronously
    await averify(job) -> Result               the same, off the event loop
    verify_many(jobs, workers=N) -> [Result]   a batch, results in input order
    iter_verify(jobs, workers=N)               a batch, (index, Result) as they finish,
                                               with bounded memory for any number of jobs
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .affinity import thread_cpu, thread_initializer
from .compare import parse_compare
from .errors import AgnosticsError
from .extract import extract_code
from .jobs import CompileResult, Job, Result, TestResult
from .runners import Runner, get_registry
from .judge import classify, compile_limits, judge_run, test_limits
from .sandbox import ExecLimits, ExecResult, NsjailSandbox
from .pool import POOL
from .procs import process_plan
from .session import JailSession, SessionDied
from .supervisor import supervisor_binary, zygote_library
from .verdicts import Verdict
from .workdirs import WORKDIR_ENV, remove_workdir, work_base  # noqa: F401  (WORKDIR_ENV for callers)
from .workdirs import make_workdir as _make_workdir
from .workdirs import sweep_dead_workdirs as _sweep_dead_workdirs  # noqa: F401  (for callers)

logger = logging.getLogger(__name__)

#: Set to 1 to start one jail per test instead of one per program (slower; for comparison).
ONE_JAIL_PER_TEST_ENV = "AGNOSTICS_ONE_JAIL_PER_TEST"
#: Set to 1 to exec the runtime for every test even where the runner has a zygote.
NO_ZYGOTE_ENV = "AGNOSTICS_NO_ZYGOTE"
#: Characters of stdout/stderr kept per test in a result.
KEEP_OUTPUT_CHARS = 1024

_default_sandbox = None


def default_sandbox():
    global _default_sandbox
    if _default_sandbox is None:
        _default_sandbox = NsjailSandbox()
    return _default_sandbox


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _as_job(job: Job | dict) -> Job:
    return job if isinstance(job, Job) else Job.from_dict(job)


def _truncate(data: bytes, limit: int = KEEP_OUTPUT_CHARS) -> str:
    text = data[: limit * 4].decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


#: Tests queued ahead in a warm jail when the first failure ends the run (fail_fast):
#: the next test runs while the host judges the last, and at most one runs in vain.
FAIL_FAST_PIPELINE = 2


def _run_tests(sandbox, argv: list[str], cases: list, *, workdir: Path, limits: ExecLimits, env: dict[str, str],
               mounts: list[str], judge: Callable, fail_fast: bool,
               session_holder: list | None) -> list[tuple[ExecResult, Verdict]]:
    """Run the tests in order; stops after a sandbox error, or the first failure with fail_fast.

    With a warm jail (``session_holder``), each test is a fresh process in it, and the
    tests are pipelined; otherwise each test gets its own jail.
    """
    stdins = [(case.input if case is not None else "").encode("utf-8", "surrogateescape") for case in cases]
    if session_holder is not None:
        return _run_tests_warm(session_holder, stdins, cases, limits=limits, judge=judge, fail_fast=fail_fast)
    results: list[tuple[ExecResult, Verdict]] = []
    for stdin, case in zip(stdins, cases):
        res = sandbox.execute(argv, stdin=stdin, workdir=workdir, writable=False, limits=limits, env=env, mounts=mounts)
        verdict = judge(res, case)
        results.append((res, verdict))
        if verdict is Verdict.SANDBOX_ERROR or (fail_fast and verdict is not Verdict.PASS):
            break
    return results


def _run_tests_warm(holder: list, stdins: list[bytes], cases: list, *, limits: ExecLimits, judge: Callable,
                    fail_fast: bool) -> list[tuple[ExecResult, Verdict]]:
    """The tests of one program in a warm jail, pipelined: ``holder[0]`` is replaced if the jail dies."""
    results: list[tuple[ExecResult, Verdict]] = []
    window = FAIL_FAST_PIPELINE if fail_fast else len(stdins)
    session = holder[0]
    session.begin(limits, stop_on_failure=fail_fast)
    submitted = 0
    retried = False
    try:
        while len(results) < len(stdins):
            while submitted < len(stdins) and submitted - len(results) < window:
                session.submit(stdins[submitted])
                submitted += 1
            try:
                res = session.result()
            except SessionDied as exc:
                memory_hit = session.slot is not None and session.slot.memory_evidence(limits.memory_mb)[1]
                log = session.close(keep_workdir=True)
                session = holder[0] = session.restarted()
                session.begin(limits, stop_on_failure=fail_fast)
                submitted = len(results)  # what was queued is lost with the jail
                if memory_hit:  # the OOM killer took the supervisor along with the program
                    res = ExecResult(None, signal.SIGKILL, 0.0, 0.0, b"", b"", memory_limit_hit=True)
                elif not retried:
                    retried = True
                    continue
                else:
                    detail = next((ln for ln in log.splitlines() if ln.startswith(("[E]", "[F]"))), "")
                    res = ExecResult(None, None, 0.0, 0.0, b"", b"", sandbox_error=f"{exc} {detail}".strip())
            verdict = judge(res, cases[len(results)])
            results.append((res, verdict))
            if verdict is Verdict.SANDBOX_ERROR or (fail_fast and verdict is not Verdict.PASS):
                break
            if session.halted:  # the ones queued behind this test come back unrun
                if session.poisoned:  # the jail could not be made clean: a fresh one for the rest
                    session = holder[0] = session.restarted()
                    session.begin(limits, stop_on_failure=fail_fast)
                else:  # a test died by a signal
                    session.resume()
                submitted = len(results)
    finally:
        try:
            session.drain()
        except SessionDied:
            pass  # the pool closes a dead jail
    return results


@contextmanager
def _workspace(sandbox, runner: Runner, limits: ExecLimits, env: dict[str, str], mounts: list[str]):
    """(work folder, warm-jail holder or None) for one program."""
    supervisor = _supervisor_for(sandbox)
    if supervisor is None:
        workdir = _make_workdir()
        try:
            yield workdir, None
        finally:
            remove_workdir(workdir)
        return
    zygote_lib = zygote_library() if runner.zygote and not os.environ.get(NO_ZYGOTE_ENV) else None
    argv = runner.zygote_argv() if zygote_lib else runner.run_argv()
    key = (id(sandbox), thread_cpu(), work_base(), zygote_lib, tuple(argv), tuple(sorted(env.items())), tuple(mounts),
           replace(limits, cpu_s=0, wall_s=0, memory_mb=0, processes=0))

    def start() -> JailSession:
        return JailSession(sandbox, supervisor, argv, workdir=_make_workdir(), limits=limits, env=env, mounts=mounts,
                           zygote_lib=zygote_lib)

    with POOL.lease(key, start) as holder:
        yield holder[0].workdir, holder


def _supervisor_for(sandbox):
    if not isinstance(sandbox, NsjailSandbox) or os.environ.get(ONE_JAIL_PER_TEST_ENV):
        return None
    return supervisor_binary()


def verify(job: Job | dict, *, sandbox=None, fail_fast: bool = False) -> Result:
    """Judge one job. User errors (unknown language, malformed job) raise AgnosticsError."""
    started = time.monotonic()
    job = _as_job(job)
    runner = get_registry().get(job.language)
    runner.require_installed()
    comparator = parse_compare(job.compare)
    total = len(job.tests) if job.mode == "stdio" else 1
    code = job.code if job.code is not None else extract_code(job.completion, runner)
    if code is None or not code.strip():
        return Result(id=job.id, verdict=Verdict.NO_CODE, total=total, language=runner.name,
                      error="no program found" if job.code is None else "empty program", code=code)
    runner = runner.for_program(code)  # file and commands named after the program's class or module, if the runner asks
    sandbox = sandbox or default_sandbox()
    env = dict(runner.env)
    mounts = runner.host_mounts()
    limits = test_limits(job, runner)
    with _workspace(sandbox, runner, limits, env, mounts) as (workdir, session_holder):
        (workdir / runner.source_file).write_bytes(code.encode("utf-8", "surrogateescape"))  # see Job: bytes kept
        compile_result = CompileResult(status="skipped")
        argv = runner.compile_argv()
        if argv:
            climits = compile_limits(runner)
            res = sandbox.execute(argv, workdir=workdir, writable=True, limits=climits, env=env, mounts=mounts)
            compile_result = CompileResult(
                status="ok", time_s=round(res.wall_s, 4), exit_code=res.exit_code,
                stdout=_truncate(res.stdout, 4096), stderr=_truncate(res.stderr, 4096),
            )
            verdict = classify(res, climits)
            if verdict is Verdict.SANDBOX_ERROR:
                compile_result.status = "sandbox_error"
                return Result(id=job.id, verdict=Verdict.SANDBOX_ERROR, total=total, language=runner.name,
                              compile=compile_result, error=f"compile step: {res.sandbox_error}", code=code,
                              time_s=time.monotonic() - started)
            if verdict is not None:
                compile_result.status = "timeout" if verdict is Verdict.TIMEOUT else "error"
                return Result(id=job.id, verdict=Verdict.COMPILE_ERROR, total=total, language=runner.name,
                              compile=compile_result, code=code, time_s=time.monotonic() - started)
        cases = job.tests if job.mode == "stdio" else (job.tests[:1] or [None])
        runs = _run_tests(sandbox, runner.run_argv(), cases, workdir=workdir, limits=limits, env=env, mounts=mounts,
                          judge=lambda res, case: judge_run(res, case, limits, comparator, job.mode), fail_fast=fail_fast,
                          session_holder=session_holder)
    tests = [TestResult(verdict=verdict, time_s=round(res.wall_s, 4), exit_code=res.exit_code, signal=res.signal,
                        stdout=_truncate(res.stdout), stderr=_truncate(res.stderr), detail=res.sandbox_error or "")
             for res, verdict in runs]
    passed = sum(t.verdict is Verdict.PASS for t in tests)
    failing = [t.verdict for t in tests if t.verdict is not Verdict.PASS]
    if Verdict.SANDBOX_ERROR in failing:
        overall = Verdict.SANDBOX_ERROR
    else:
        overall = failing[0] if failing else Verdict.PASS
    return Result(id=job.id, verdict=overall, passed=passed, total=total, language=runner.name,
                  compile=compile_result, tests=tests, code=code, time_s=time.monotonic() - started,
                  error=next((t.detail for t in tests if t.verdict is Verdict.SANDBOX_ERROR), None))


def safe_verify(job: Job | dict | BaseException, *, sandbox=None, fail_fast: bool = False, index: int = 0) -> Result:
    """Like :func:`verify`, but every failure becomes a Result (for batches: one bad job loses nothing else).

    A job that cannot be judged (malformed, unknown language, missing toolchain) gets
    verdict ``sandbox_error`` with ``error`` saying why: it is not the program's failure.
    """
    job_id = _job_id(job, index)
    if isinstance(job, BaseException):
        return Result.failure(job_id, Verdict.SANDBOX_ERROR, str(job))
    try:
        return verify(job, sandbox=sandbox, fail_fast=fail_fast)
    except AgnosticsError as exc:
        return Result.failure(job_id, Verdict.SANDBOX_ERROR, str(exc),
                              language=job.get("language") if isinstance(job, dict) else getattr(job, "language", None))
    except Exception as exc:  # the verifier's own fault: report it, never score it
        logger.exception("verifier failure on job %s", job_id)
        return Result.failure(job_id, Verdict.SANDBOX_ERROR, f"verifier failure: {type(exc).__name__}: {exc}")


def _job_id(job: Any, index: int) -> str:
    if isinstance(job, Job):
        return job.id
    if isinstance(job, dict) and job.get("id") is not None:
        return str(job["id"])
    return str(getattr(job, "job_id", None) or f"job-{index}")  # JobLineError carries its id


def iter_verify(jobs: Iterable[Job | dict | BaseException], *, workers: int | None = None, sandbox=None,
                fail_fast: bool = False, max_pending: int | None = None) -> Iterator[tuple[int, Result]]:
    """Yield ``(index, result)`` as jobs finish. At most ``max_pending`` jobs are held at once,
    so memory stays flat however many jobs the iterable yields."""
    workers = workers or default_workers()
    plan = process_plan(workers) if sandbox is None else None
    if plan is not None:  # more workers than one process's threads keep busy
        from .procs import iter_verify_processes

        yield from iter_verify_processes(jobs, processes=plan[0], threads=plan[1], fail_fast=fail_fast)
        return
    max_pending = max_pending or workers * 4
    sandbox = sandbox or default_sandbox()
    pending: dict[Future, int] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ag-verify",
                            initializer=thread_initializer(workers)) as pool:
        for index, job in enumerate(jobs):
            if len(pending) >= max_pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
            fut = pool.submit(safe_verify, job, sandbox=sandbox, fail_fast=fail_fast, index=index)
            pending[fut] = index
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()


def verify_many(jobs: Iterable[Job | dict], *, workers: int | None = None, sandbox=None, fail_fast: bool = False,
                progress: bool | Callable[[Result], None] = False, executor: str = "local",
                **executor_options: Any) -> list[Result]:
    """Judge a batch; results come back in input order. ``progress=True`` shows a progress bar.

    ``executor="ray"`` spreads the jobs over a Ray cluster (each node runs its own sandbox
    pool; options as :func:`ag_eval.ray_executor.iter_verify_ray`).
    """
    if executor == "ray":
        if sandbox is not None:
            raise AgnosticsError("a custom sandbox cannot travel to Ray workers; drop sandbox= or use executor='local'.")
        from .ray_executor import verify_many_ray

        return verify_many_ray(jobs, workers=workers, fail_fast=fail_fast, **executor_options)
    if executor != "local" or executor_options:
        raise AgnosticsError(f"executor={executor!r} with options {sorted(executor_options)} is not valid; "
                             "use executor='local' (no options) or executor='ray'.")
    jobs = list(jobs)
    results: list[Result | None] = [None] * len(jobs)
    bar = _progress_bar(len(jobs)) if progress is True else None
    try:
        for index, result in iter_verify(jobs, workers=workers, sandbox=sandbox, fail_fast=fail_fast):
            results[index] = result
            if bar is not None:
                bar.advance()
            elif callable(progress):
                progress(result)
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


async def averify(job: Job | dict, *, sandbox=None, fail_fast: bool = False) -> Result:
    """Async :func:`verify` (runs in a worker thread; never blocks the event loop)."""
    return await asyncio.to_thread(safe_verify, job, sandbox=sandbox, fail_fast=fail_fast)


async def averify_many(jobs: Iterable[Job | dict], *, workers: int | None = None, sandbox=None,
                       fail_fast: bool = False) -> list[Result]:
    """Async batch: at most ``workers`` programs run at once (in threads of its own, never
    blocking the event loop); results in input order."""
    jobs = list(jobs)
    workers = workers or default_workers()
    if sandbox is None and process_plan(workers) is not None:  # verifier processes (see ag_eval.procs)
        return await asyncio.to_thread(verify_many, jobs, workers=workers, fail_fast=fail_fast)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ag-averify",
                              initializer=thread_initializer(workers))
    try:
        futures = [loop.run_in_executor(pool, functools.partial(safe_verify, job, sandbox=sandbox, fail_fast=fail_fast,
                                                                index=i))
                   for i, job in enumerate(jobs)]
        return list(await asyncio.gather(*futures))
    finally:  # never blocks the loop: a cancelled batch drops the jobs not yet started
        pool.shutdown(wait=False, cancel_futures=True)


class _progress_bar:
    """A small rich progress bar (to stderr) for library callers that ask for one."""

    def __init__(self, total: int, description: str = "verifying"):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=False)
        self._p.start()
        self._task = self._p.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._task, n)

    def close(self) -> None:
        self._p.stop()
