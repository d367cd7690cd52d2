"""The one module that owns the nsjail command line, and runs one jailed process.

Every program (and every compile) runs in fresh namespaces with no network, as uid/gid
65534 inside and outside, with read-only toolchain mounts, a private tmpfs, CPU/wall/
memory/process/file limits, a cap on captured output and a seccomp deny-list. Expected
outputs never enter the jail: the caller compares on the host.
"""

from __future__ import annotations

import logging
import math
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .cgroups import CgroupSlot, slot_for_thread
from .host import SANDBOX_UID, HostInfo, host_info

logger = logging.getLogger(__name__)

#: Read-only mounts every jail gets (only those that exist on the host are mounted).
BASE_MOUNTS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/alternatives", "/etc/ld.so.cache",
               "/etc/localtime", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
#: Where the program's folder appears inside the jail (its working directory).
JAIL_WORKDIR = "/program"

BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp"}

#: Syscalls a solution never needs. ERRNO rather than KILL, so runtimes that probe them
#: (libuv probes io_uring) fall back cleanly instead of dying.
SECCOMP_POLICY = (
    "POLICY agnostics { "
    "ERRNO(1) { ptrace, process_vm_readv, process_vm_writev, mount, umount, pivot_root, chroot, unshare, setns, "
    "bpf, keyctl, add_key, request_key, perf_event_open, kexec_load, kexec_file_load, init_module, finit_module, "
    "delete_module, reboot, swapon, swapoff, acct, userfaultfd, open_by_handle_at, name_to_handle_at, "
    "fanotify_init, quotactl, syslog, settimeofday, clock_settime, sethostname, setdomainname, iopl, ioperm, "
    "fsopen, fsmount, fsconfig, move_mount, open_tree, pidfd_getfd, process_madvise, "
    # A program may change its own limits, priority and CPUs, never another process's: the
    # jail's supervisor and zygote (same uid) outlive the program, and so would the change.
    "prlimit64(pid, resource, new_limit, old_limit) { pid != 0 && new_limit != 0 }, "
    "setpriority(which, who, prio) { which != 0 || who != 0 }, "
    "sched_setaffinity(pid, size, mask) { pid != 0 }, "
    "sched_setscheduler(pid, policy, param) { pid != 0 }, "
    "sched_setparam(pid, param) { pid != 0 }, "
    "sched_setattr(pid, attr, flags) { pid != 0 }, "
    "ioprio_set(which, who, prio) { which != 1 || who != 0 }, "
    "migrate_pages(pid, maxnode, old_nodes, new_nodes) { pid != 0 }, "
    "move_pages(pid, count, pages, nodes, status, flags) { pid != 0 } }, "
    "ERRNO(38) { io_uring_setup, io_uring_enter, io_uring_register, "
    # IPC objects outlive a process: refused, so nothing passes between tests of a warm jail.
    "msgget, msgsnd, msgrcv, msgctl, semget, semop, semtimedop, semctl, shmget, shmat, shmdt, shmctl, "
    "mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr } "
    "} USE agnostics DEFAULT ALLOW"
)

_READ_CHUNK = 65536


@dataclass(frozen=True)
class ExecLimits:
    cpu_s: float
    wall_s: float
    memory_mb: int
    processes: int = 64
    open_files: int = 256
    file_size_mb: int = 64
    stack_mb: int = 256
    output_bytes: int = 16 * 1024 * 1024
    stderr_bytes: int = 64 * 1024
    tmpfs_mb: int = 64
    rlimit_as: bool = True


@dataclass
class ExecResult:
    exit_code: int | None
    signal: int | None
    wall_s: float
    cpu_s: float
    stdout: bytes
    stderr: bytes
    max_rss_mb: float = 0.0
    timed_out: bool = False        # wall-clock limit reached
    cpu_exceeded: bool = False     # CPU limit reached
    output_exceeded: bool = False  # stdout cap reached; the process was killed
    sandbox_error: str | None = None
    #: Peak memory of the jail's cgroup and whether it hit its limit (None: no cgroup evidence).
    memory_peak_mb: float | None = None
    memory_limit_hit: bool | None = None
    #: A second run: the first waited out its wall-clock limit (see ag_eval.judge.waited_out).
    rerun: bool = False


class NsjailSandbox:
    """Runs commands inside nsjail. Thread-safe: one instance serves many workers."""

    def __init__(self, host: HostInfo | None = None):
        self.host = host or host_info()

    # ---- argv ------------------------------------------------------------------------------
    def argv(self, cmd: list[str], *, workdir: Path, writable: bool, limits: ExecLimits,
             env: dict[str, str] | None = None, mounts: list[str] | tuple[str, ...] = (), log_fd: int | None = None,
             cgroup_parent: str | None = None, extra_binds: tuple[tuple[str, str], ...] = ()) -> list[str]:
        h = self.host
        a = [h.nsjail, "-Mo", "--quiet" if log_fd is not None else "--really_quiet",
             "--user", f"{SANDBOX_UID}:{h.outside_uid}", "--group", f"{SANDBOX_UID}:{h.outside_gid}",
             "--hostname", "sandbox", "--cwd", JAIL_WORKDIR,
             "--time_limit", str(max(1, math.ceil(limits.wall_s)) + 1),
             "--rlimit_cpu", str(max(1, math.ceil(limits.cpu_s))),
             "--rlimit_fsize", str(limits.file_size_mb),
             "--rlimit_nofile", str(limits.open_files),
             "--rlimit_stack", str(limits.stack_mb),
             "--rlimit_core", "0",
             "--seccomp_string", SECCOMP_POLICY]
        if log_fd is not None:
            a += ["--log_fd", str(log_fd)]
        if h.cgroup == "v1":
            a += ["--cgroup_mem_max", str(limits.memory_mb * 1024 * 1024),
                  "--cgroup_pids_max", str(limits.processes), "--rlimit_as", "inf", "--rlimit_nproc", "max"]
            if h.memsw:  # with swap on the host, memory+swap together stay under the limit
                a += ["--cgroup_mem_memsw_max", str(limits.memory_mb * 1024 * 1024)]
            if cgroup_parent:
                a += ["--cgroup_mem_parent", cgroup_parent, "--cgroup_pids_parent", cgroup_parent]
        elif h.cgroup == "v2":
            a += ["--use_cgroupv2", "--cgroup_mem_max", str(limits.memory_mb * 1024 * 1024),
                  "--cgroup_mem_swap_max", "0", "--cgroup_pids_max", str(limits.processes),
                  "--rlimit_as", "inf", "--rlimit_nproc", "max"]
        else:
            a += ["--rlimit_as", str(limits.memory_mb) if limits.rlimit_as else "inf",
                  "--rlimit_nproc", str(limits.processes)]
        for m in BASE_MOUNTS:
            if os.path.exists(m):
                a += ["-R", m]
        for m in mounts:
            if os.path.exists(m) and m not in BASE_MOUNTS:
                a += ["-R", m]
        a += ["-B" if writable else "-R", f"{workdir}:{JAIL_WORKDIR}"]
        for src, dst in extra_binds:
            a += ["-R", f"{src}:{dst}"]
        a += ["-m", f"none:/tmp:tmpfs:size={limits.tmpfs_mb * 1024 * 1024}"]
        for k, v in {**BASE_ENV, **(env or {})}.items():
            a += ["-E", f"{k}={v}"]
        a += ["--", *cmd]
        return a

    # ---- run ------------------------------------------------------------------------------
    def execute(self, cmd: list[str], *, stdin: bytes = b"", workdir: Path, writable: bool = False,
                limits: ExecLimits, env: dict[str, str] | None = None, mounts: tuple[str, ...] | list[str] = ()) -> ExecResult:
        slot: CgroupSlot | None = slot_for_thread() if self.host.cgroup == "v1" else None
        log_r, log_w = os.pipe()
        try:
            if slot is not None:
                slot.reset()
            argv = self.argv(cmd, workdir=workdir, writable=writable, limits=limits, env=env, mounts=mounts,
                             log_fd=log_w, cgroup_parent=slot.name if slot is not None else None)
        except BaseException:
            os.close(log_w)
            os.close(log_r)
            raise
        try:  # run_process owns (and closes) log_w; closing it twice could close another thread's fd
            result = run_process(argv, stdin=stdin, limits=limits, extra_fds=(log_w,), log_r=log_r)
        finally:
            os.close(log_r)
        if slot is not None:
            peak, hit = slot.memory_evidence(limits.memory_mb)
            result.memory_peak_mb, result.memory_limit_hit = peak, hit
            slot.clean_children()
        return result


class UnsafeLocalSandbox:
    """Runs commands directly on the host with rlimits only. NOT a sandbox.

    Exists for benchmarks (the bare floor) and hosts where nsjail cannot start, behind an
    explicit flag; every use logs a loud warning. Paths under JAIL_WORKDIR in commands are
    rewritten to the real work folder.
    """

    def __init__(self, warn: bool = True):
        if warn:
            logger.warning("UNSANDBOXED EXECUTION: programs run directly on this host with your privileges. "
                           "Use only for trusted code.")

    def execute(self, cmd: list[str], *, stdin: bytes = b"", workdir: Path, writable: bool = False,
                limits: ExecLimits, env: dict[str, str] | None = None, mounts=()) -> ExecResult:
        real = [f"{workdir}/{c[len(JAIL_WORKDIR) + 1:]}" if c.startswith(JAIL_WORKDIR + "/") else c for c in cmd]
        full_env = {**BASE_ENV, **(env or {}), "HOME": str(workdir), "TMPDIR": str(workdir)}

        def limit() -> None:
            import resource

            cpu = max(1, math.ceil(limits.cpu_s))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb << 20,) * 2)
            if limits.rlimit_as:
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20,) * 2)

        return run_process(real, stdin=stdin, limits=limits, cwd=str(workdir), env=full_env, preexec=limit)


def run_process(argv: list[str], *, stdin: bytes, limits: ExecLimits, extra_fds: tuple[int, ...] = (),
                log_r: int | None = None, cwd: str | None = None, env: dict[str, str] | None = None,
                preexec=None) -> ExecResult:
    """Start argv, feed stdin, capture capped stdout/stderr, enforce the wall limit, reap with rusage."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=extra_fds, start_new_session=True, cwd=cwd, env=env, preexec_fn=preexec)
    except OSError as exc:
        for fd in extra_fds:
            os.close(fd)
        return ExecResult(None, None, 0.0, 0.0, b"", b"", sandbox_error=f"cannot start {argv[0]}: {exc}")
    for fd in extra_fds:
        os.close(fd)
    deadline = start + limits.wall_s
    out, err, log = bytearray(), bytearray(), bytearray()
    timed_out = output_exceeded = False
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    if log_r is not None:
        os.set_blocking(log_r, False)
        sel.register(log_r, selectors.EVENT_READ, "log")
    view = memoryview(stdin)
    if view:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, "in")
    else:
        proc.stdin.close()
    open_readers = 2 + (log_r is not None)
    try:
        while open_readers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                if key.data == "in":
                    try:
                        n = os.write(key.fd, view[:_READ_CHUNK])
                        view = view[n:]
                    except (BrokenPipeError, OSError):
                        view = view[:0]
                    if not view:
                        sel.unregister(key.fileobj)
                        proc.stdin.close()
                    continue
                try:
                    chunk = os.read(key.fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_readers -= 1
                    continue
                if key.data == "out":
                    out += chunk
                    if len(out) > limits.output_bytes:
                        output_exceeded = True
                        del out[limits.output_bytes:]
                        break
                elif key.data == "err":
                    if len(err) < limits.stderr_bytes:
                        err += chunk[: limits.stderr_bytes - len(err)]
                else:
                    log += chunk
            if output_exceeded:
                break
    finally:
        sel.close()
    status, rusage = _reap(proc, kill=timed_out or output_exceeded)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for f in (proc.stdout, proc.stderr):
        f.close()
    if not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    cpu = rusage.ru_utime + rusage.ru_stime
    rc = proc.returncode
    exit_code, sig = (rc, None) if rc >= 0 else (None, -rc)
    # nsjail reports a jailed child killed by signal N as exit status 128+N.
    if log_r is not None and exit_code is not None and exit_code > 128 and exit_code - 128 < 65:
        exit_code, sig = None, exit_code - 128
    log_text = log.decode("utf-8", "replace")
    sandbox_error = None
    if log_r is not None and ("[F]" in log_text or "[E]" in log_text) and not (timed_out or output_exceeded):
        fatal = [line for line in log_text.splitlines() if line.startswith(("[F]", "[E]"))]
        # nsjail logs these as errors when the *program* misbehaves; they are not sandbox faults.
        benign = ("terminated with signal", "run time >= time limit", "exited with status")
        real = [line for line in fatal if not any(b in line for b in benign)]
        if real and "Executing" not in log_text and exit_code == 255:
            sandbox_error = real[-1]
    if "run time >= time limit" in log_text:
        timed_out = True
    return ExecResult(
        exit_code=exit_code, signal=sig, wall_s=wall, cpu_s=cpu, stdout=bytes(out), stderr=bytes(err),
        max_rss_mb=rusage.ru_maxrss / 1024.0, timed_out=timed_out or wall >= limits.wall_s,
        cpu_exceeded=cpu >= 0.9 * max(1, math.ceil(limits.cpu_s)) or sig == signal.SIGXCPU,
        output_exceeded=output_exceeded, sandbox_error=sandbox_error,
    )


def _reap(proc: subprocess.Popen, *, kill: bool):
    """Wait for nsjail (after asking it to stop, if kill) and return (status, rusage).

    SIGTERM makes nsjail tear the jail down itself (everything in the PID namespace dies
    and its cgroups are removed); SIGKILL to the whole group is the fallback.
    """
    if kill:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                return status, rusage
            time.sleep(0.005)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status, rusage = os.wait4(proc.pid, 0)
    return status, rusage
