"""Judge programs: compile once inside the jail, run every test, compare on the host.

    verify(job) -> Result                      one job, synchronously
    await averify(job) -> Result               the same, off the event loop
    verify_many(jobs, workers=N) -> [Result]   a batch, results in input order
    iter_verify(jobs, workers=N)               a batch, (index, Result) as they finish,
                                               with bounded memory for any number of jobs
    await averify_many(jobs) -> [Result]       a batch, off the event loop

Batches run through the scheduler (:mod:`ag_eval.executors`): threads, child processes or
Ray, chosen by cores and ``executor``; identical jobs are judged once (``dedupe=False``
judges every copy).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import stats
from .affinity import thread_cpu
from .compare import parse_compare
from .errors import AgnosticsError
from .executors import Dedupe, choose_plan, iter_results
from .executors import default_workers  # noqa: F401  (for callers)
from .extract import extract_code
from .jobs import CompileResult, Job, Result, TestResult, job_id
from .runners import Runner, get_registry
from .judge import classify, judge_run, waited_out
from .limits import compile_limits, test_limits
from .sandbox import ExecLimits, ExecResult, NsjailSandbox
from .pool import POOL
from .progress import Progress
from .session import JailSession, SessionDied
from .tree import empty_folder
from .supervisor import supervisor_binary, zygote_library
from .verdicts import Verdict
from .workdirs import WORKDIR_ENV, remove_workdir, work_base  # noqa: F401  (WORKDIR_ENV for callers)
from .workdirs import make_workdir as _make_workdir
from .workdirs import sweep_dead_workdirs as _sweep_dead_workdirs  # noqa: F401  (for callers)

if TYPE_CHECKING:
    from .executors.remote import RemoteVerifier

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


def _as_job(job: Job | dict) -> Job:
    return job if isinstance(job, Job) else Job.from_dict(job)


def _truncate(data: bytes, limit: int = KEEP_OUTPUT_CHARS) -> str:
    return _kept(data, limit)[0]


def _kept(data: bytes, limit: int | None = KEEP_OUTPUT_CHARS) -> tuple[str, bool]:
    """``(text, cut)``: the output as text, its first ``limit`` characters (None: all of it)."""
    if limit is None:
        return data.decode("utf-8", "replace"), False
    text = data[: limit * 4].decode("utf-8", "replace")
    if len(text) <= limit and len(data) <= limit * 4:
        return text, False
    return text[:limit] + "…", True


def _test_result(res: ExecResult, verdict: Verdict, keep_output: bool, limits: ExecLimits) -> TestResult:
    limit = None if keep_output else KEEP_OUTPUT_CHARS
    (stdout, cut_out), (stderr, cut_err) = _kept(res.stdout, limit), _kept(res.stderr, limit)
    return TestResult(verdict=verdict, time_s=round(res.wall_s, 4), exit_code=res.exit_code, signal=res.signal,
                      stdout=stdout, stderr=stderr, detail=res.sandbox_error or "", rerun=res.rerun,
                      truncated=cut_out or cut_err or res.output_exceeded or len(res.stderr) >= limits.stderr_bytes)


def _judged_run(run: Callable[[], ExecResult], limits: ExecLimits,
                before_rerun: Callable[[], None] | None = None) -> ExecResult:
    """``run()``, and once more if it waited out its wall limit (:func:`ag_eval.judge.waited_out`):
    the second run is the one judged."""
    res = run()
    if not waited_out(res, limits):
        return res
    stats.count("reruns")
    if before_rerun is not None:
        before_rerun()
    res = run()
    res.rerun = True
    return res


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
        res = _judged_run(lambda: sandbox.execute(argv, stdin=stdin, workdir=workdir, writable=False, limits=limits,
                                                  env=env, mounts=mounts), limits)
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
    rerun = -1  # the test run again after it waited out its wall limit (see waited_out)

    def go_on() -> JailSession:
        """After a halt: a fresh jail if this one could not be made clean, else the same one."""
        if session.poisoned:
            fresh = holder[0] = session.restarted()
            fresh.begin(limits, stop_on_failure=fail_fast)
            return fresh
        session.resume()
        return session

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
            if rerun == len(results):
                res.rerun = True
            elif session.halted and waited_out(res, limits):  # run it again; the second run is judged
                stats.count("reruns")
                rerun = len(results)
                session = go_on()
                submitted = len(results)
                continue
            verdict = judge(res, cases[len(results)])
            results.append((res, verdict))
            if verdict is Verdict.SANDBOX_ERROR or (fail_fast and verdict is not Verdict.PASS):
                break
            if session.halted and len(results) < len(stdins):  # the ones queued behind this test come back unrun
                session = go_on()  # a fresh jail if this one was poisoned, else the same after the signal
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


def verify(job: Job | dict, *, sandbox=None, fail_fast: bool = False, keep_output: bool = False) -> Result:
    """Judge one job. User errors (unknown language, malformed job) raise AgnosticsError.

    A test's ``stdout``/``stderr`` keep their first :data:`KEEP_OUTPUT_CHARS` characters
    (``truncated`` marks a cut); ``keep_output=True`` keeps them whole, up to the sandbox's
    own output cap (:attr:`ag_eval.sandbox.ExecLimits.output_bytes`)."""
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
            climits = compile_limits(runner, job)

            def from_the_source_alone() -> None:  # what the first compile left must not reach the second
                empty_folder(workdir)
                (workdir / runner.source_file).write_bytes(code.encode("utf-8", "surrogateescape"))

            res = _judged_run(lambda: sandbox.execute(argv, workdir=workdir, writable=True, limits=climits, env=env,
                                                      mounts=mounts), climits, before_rerun=from_the_source_alone)
            compile_result = CompileResult(
                status="ok", time_s=round(res.wall_s, 4), exit_code=res.exit_code,
                stdout=_truncate(res.stdout, 4096), stderr=_truncate(res.stderr, 4096), rerun=res.rerun,
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
    tests = [_test_result(res, verdict, keep_output, limits) for res, verdict in runs]
    passed = sum(t.verdict is Verdict.PASS for t in tests)
    failing = [t.verdict for t in tests if t.verdict is not Verdict.PASS]
    if Verdict.SANDBOX_ERROR in failing:
        overall = Verdict.SANDBOX_ERROR
    else:
        overall = failing[0] if failing else Verdict.PASS
    return Result(id=job.id, verdict=overall, passed=passed, total=total, language=runner.name,
                  compile=compile_result, tests=tests, code=code, time_s=time.monotonic() - started,
                  error=next((t.detail for t in tests if t.verdict is Verdict.SANDBOX_ERROR), None))


def safe_verify(job: Job | dict | BaseException, *, sandbox=None, fail_fast: bool = False, index: int = 0,
                keep_output: bool = False) -> Result:
    """Like :func:`verify`, but every failure becomes a Result (for batches: one bad job loses nothing else).

    A job that cannot be judged (malformed, unknown language, missing toolchain) gets
    verdict ``sandbox_error`` with ``error`` saying why: it is not the program's failure.
    """
    the_id = job_id(job, index)
    if isinstance(job, BaseException):
        return Result.failure(the_id, Verdict.SANDBOX_ERROR, str(job))
    try:
        return verify(job, sandbox=sandbox, fail_fast=fail_fast, keep_output=keep_output)
    except AgnosticsError as exc:
        return Result.failure(the_id, Verdict.SANDBOX_ERROR, str(exc),
                              language=job.get("language") if isinstance(job, dict) else getattr(job, "language", None))
    except Exception as exc:  # the verifier's own fault: report it, never score it
        logger.exception("verifier failure on job %s", the_id)
        return Result.failure(the_id, Verdict.SANDBOX_ERROR, f"verifier failure: {type(exc).__name__}: {exc}")


def iter_verify(jobs: Iterable[Job | dict | BaseException], *, workers: int | None = None, sandbox=None,
                fail_fast: bool = False, max_pending: int | None = None, executor: str = "local",
                dedupe: bool = True, cache_dir: str | os.PathLike | None = None,
                verifier_url: "str | RemoteVerifier | None" = None, verifier_token: str | None = None,
                **executor_options: Any) -> Iterator[tuple[int, Result]]:
    """Yield ``(index, result)`` as jobs finish, with bounded memory for any number of jobs.

    ``executor``: ``local`` (threads, or child processes on many cores), ``threads``,
    ``processes`` or ``ray`` (options such as ``address`` go to it; see
    :mod:`ag_eval.executors`). ``dedupe``: identical jobs share one judgment, the copies
    marked ``reused``; ``cache_dir``: a folder where judgments outlive the batch.
    ``jobs`` may hold :data:`ag_eval.executors.IDLE` marks (a live stream with no job yet).

    ``verifier_url``: the base URL of a verifier service (``agnostics serve``) to judge the
    batch there (``workers``: jobs in flight to it); None: ``$AGNOSTICS_VERIFIER_URL`` if set
    and the batch would run on the local executor; ``""``: here. A
    :class:`~ag_eval.executors.remote.RemoteVerifier` sets retries and chunk size too.
    ``verifier_token``: its bearer token (default ``$AGNOSTICS_VERIFIER_TOKEN``).
    """
    remote = _remote(verifier_url, verifier_token, executor=executor, sandbox=sandbox)
    plan = choose_plan(executor, workers, custom_sandbox=sandbox is not None, options=executor_options, remote=remote)
    judge = functools.partial(safe_verify, sandbox=sandbox, fail_fast=fail_fast)
    if remote is not None:
        executor_options = {**executor_options, "fail_fast": fail_fast}
    sharing = None
    if dedupe:
        where = f"remote:{remote.url}" if remote is not None else type(sandbox).__name__ if sandbox else "default"
        sharing = Dedupe(salt=f"fail_fast={fail_fast};sandbox={where}", cache_dir=cache_dir)
    elif cache_dir is not None:
        raise AgnosticsError("cache_dir needs dedupe=True (a cached judgment is shared like a copy's); "
                             "drop cache_dir or turn dedupe on.")
    yield from iter_results(jobs, judge, plan, dedupe=sharing, max_pending=max_pending, **executor_options)


def _remote(url: "str | RemoteVerifier | None", token: str | None, *, executor: str, sandbox) -> "RemoteVerifier | None":
    """The verifier service a batch goes to: the one named, else ``$AGNOSTICS_VERIFIER_URL`` unless
    the caller chose where to judge (an executor other than local, or a sandbox)."""
    from .executors.remote import RemoteVerifier, remote_verifier

    if isinstance(url, RemoteVerifier):
        return url
    return remote_verifier(url, token, from_env=executor == "local" and sandbox is None)


def verify_many(jobs: Iterable[Job | dict], *, workers: int | None = None, sandbox=None, fail_fast: bool = False,
                progress: bool | Callable[[Result], None] = False, executor: str = "local", dedupe: bool = True,
                cache_dir: str | os.PathLike | None = None, **executor_options: Any) -> list[Result]:
    """Judge a batch; results come back in input order. ``progress=True`` shows a progress bar.

    Options as :func:`iter_verify`; ``executor="ray"`` spreads the jobs over a Ray cluster,
    ``verifier_url="http://host:8080"`` sends them to a verifier service.
    """
    jobs = list(jobs)
    results: list[Result | None] = [None] * len(jobs)
    bar = Progress({"verifying": len(jobs)}) if progress is True else None
    try:
        for index, result in iter_verify(jobs, workers=workers, sandbox=sandbox, fail_fast=fail_fast,
                                         executor=executor, dedupe=dedupe, cache_dir=cache_dir, **executor_options):
            results[index] = result
            if bar is not None:
                bar.advance("verifying")
            elif callable(progress):
                progress(result)
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


async def averify(job: Job | dict, *, sandbox=None, fail_fast: bool = False, keep_output: bool = False) -> Result:
    """Async :func:`verify` (runs in a worker thread; never blocks the event loop)."""
    return await asyncio.to_thread(safe_verify, job, sandbox=sandbox, fail_fast=fail_fast, keep_output=keep_output)


async def averify_many(jobs: Iterable[Job | dict], *, workers: int | None = None, sandbox=None,
                       fail_fast: bool = False, executor: str = "local", dedupe: bool = True,
                       cache_dir: str | os.PathLike | None = None, **executor_options: Any) -> list[Result]:
    """Async batch through the scheduler, off the event loop; results in input order.

    Options as :func:`iter_verify`. Cancelling the call stops handing out new jobs: the
    ones already running finish, the rest are dropped."""
    jobs = list(jobs)
    cancelled = threading.Event()

    def until_cancelled() -> Iterator[Job | dict]:
        for job in jobs:
            if cancelled.is_set():
                return
            yield job

    def run() -> list[Result]:
        results: list[Result | None] = [None] * len(jobs)
        for index, result in iter_verify(until_cancelled(), workers=workers, sandbox=sandbox, fail_fast=fail_fast,
                                         executor=executor, dedupe=dedupe, cache_dir=cache_dir, **executor_options):
            results[index] = result
        return results  # type: ignore[return-value]

    try:
        return await asyncio.to_thread(run)
    finally:
        cancelled.set()
