"""Limits in one place: a job's defaults, and how a language's runner adjusts them.

A job asks for a CPU time and a memory limit per test (defaults below); its runner's
``limits:`` (``runners/<language>.yaml``) scale the time and add the runtime's own
overhead, and fix the compile step's limits. Every caller (batch jobs, datasets, rewards,
evaluation, the metric, the CLI) takes its defaults from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sandbox import ExecLimits

if TYPE_CHECKING:
    from .jobs import Job
    from .runners import Runner

#: CPU seconds per test when a job or a problem row names none.
DEFAULT_TIME_LIMIT_S = 5.0
#: Memory per test, in MB, when a job or a problem row names none.
DEFAULT_MEMORY_LIMIT_MB = 512


def test_limits(job: "Job", runner: "Runner") -> ExecLimits:
    """The limits of every test run of ``job``: the job's, adjusted by its runner."""
    lim = runner.limits
    cpu = job.time_limit_s * lim.time_factor + lim.extra_time_s
    return ExecLimits(
        cpu_s=cpu, wall_s=2 * cpu + 1.0, memory_mb=job.memory_limit_mb + lim.extra_memory_mb,
        processes=lim.processes, open_files=lim.open_files, file_size_mb=lim.file_size_mb,
        stack_mb=min(lim.stack_mb, job.memory_limit_mb), rlimit_as=lim.rlimit_as,
    )


test_limits.__test__ = False  # a function of the library, not a test for pytest to collect


def compile_limits(runner: "Runner", job: "Job | None" = None) -> ExecLimits:
    """The limits of the compile step: the runner's, with the job's ``compile_time_s`` if it
    names one (its time and memory limits are for its tests)."""
    lim = runner.limits
    cpu = lim.compile_time_s if job is None or job.compile_time_s is None else job.compile_time_s
    return ExecLimits(
        cpu_s=cpu, wall_s=2 * cpu + 1.0, memory_mb=lim.compile_memory_mb,
        processes=max(lim.processes, 128), open_files=max(lim.open_files, 512), file_size_mb=max(lim.file_size_mb, 256),
        stack_mb=lim.stack_mb, tmpfs_mb=256, rlimit_as=lim.rlimit_as,
    )
