"""A jail that runs many tests of one program: nsjail + the in-jail supervisor.

One jail start per program instead of per test; each test is still a fresh process,
and between tests the supervisor kills every other process of the jail and empties
/tmp. Limits per test (CPU, wall, output) are applied by the supervisor; memory and
process limits are the jail's cgroup, whose counters are reset before each test.
"""

from __future__ import annotations

import math
import os
import shutil
import selectors
import signal
import struct
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from .cgroups import CgroupSlot, new_slot, release_slot
from .sandbox import ExecLimits, ExecResult, NsjailSandbox, _reap
from .supervisor import JAIL_PATH, ZYGOTE_LIB_JAIL_PATH

_FRAME = struct.Struct("<cI")


class SessionDied(Exception):
    """The supervisor ended between or during tests (the jail must be restarted)."""


class JailSession:
    """A long-lived jail over one host work folder, for one language's run command.

    The jail's own limits are wide; each test's memory and process limits are set on the
    jail's parent cgroup slot, and its CPU, wall and output limits by the supervisor.
    """

    #: nsjail-level ceilings for a warm jail (the per-test limits are far below).
    JAIL_MEMORY_MB = 65536
    JAIL_PROCESSES = 4096

    def __init__(self, sandbox: NsjailSandbox, supervisor: Path, cmd: list[str], *, workdir: Path,
                 limits: ExecLimits, env: dict[str, str] | None, mounts: list[str] | tuple[str, ...],
                 zygote_lib: Path | None = None):
        """``zygote_lib`` set: ``cmd`` is a runner's zygote command, forked for each test."""
        self.sandbox, self.supervisor, self.cmd, self.zygote_lib = sandbox, supervisor, list(cmd), zygote_lib
        self.workdir, self.limits, self.env, self.mounts = workdir, limits, env, tuple(mounts)
        self.slot: CgroupSlot | None = new_slot() if sandbox.host.cgroup == "v1" else None
        forever = 10 ** 6
        jail_limits = replace(limits, cpu_s=forever, wall_s=forever,
                              memory_mb=self.JAIL_MEMORY_MB if self.slot else limits.memory_mb,
                              processes=self.JAIL_PROCESSES if self.slot else limits.processes)
        self._log_r, log_w = os.pipe()
        binds = [(str(supervisor), JAIL_PATH)]
        head = [JAIL_PATH]
        if zygote_lib is not None:
            binds.append((str(zygote_lib), ZYGOTE_LIB_JAIL_PATH))
            head.append("--zygote")
        argv = sandbox.argv([*head, "--", *cmd], workdir=workdir, writable=False, limits=jail_limits, env=env,
                            mounts=mounts, log_fd=log_w, cgroup_parent=self.slot.name if self.slot else None,
                            extra_binds=tuple(binds))
        if self.slot is not None:
            self.slot.apply_limits(limits.memory_mb, limits.processes, sandbox.host.memsw)
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         pass_fds=(log_w,), start_new_session=True)
        finally:
            os.close(log_w)
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._out, False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._out, selectors.EVENT_READ)
        self._buf = bytearray()
        self.alive = True

    def restarted(self) -> "JailSession":
        """A fresh jail over the same work folder (after this one died)."""
        self.close(keep_workdir=True)
        return JailSession(self.sandbox, self.supervisor, self.cmd, workdir=self.workdir, limits=self.limits,
                           env=self.env, mounts=self.mounts, zygote_lib=self.zygote_lib)

    # ---- protocol ---------------------------------------------------------------------
    def _read_more(self, deadline: float, sel: selectors.BaseSelector) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if not sel.select(timeout=remaining):
            return False
        try:
            chunk = os.read(self._out, 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            raise SessionDied("the supervisor ended")
        self._buf += chunk
        return True

    def run(self, stdin: bytes, limits: ExecLimits) -> ExecResult:
        """Run one test. Raises SessionDied if the jail went away (then close() and restart)."""
        if not self.alive:
            raise SessionDied("session closed")
        if self.slot is not None:
            self.slot.apply_limits(limits.memory_mb, limits.processes, self.sandbox.host.memsw)
            self.slot.reset()
        cpu = max(1, math.ceil(limits.cpu_s))
        header = (f"R {cpu} {int(limits.wall_s * 1000)} {limits.output_bytes} {limits.stderr_bytes} {len(stdin)}\n"
                  ).encode()
        try:
            self.proc.stdin.write(header + stdin)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.alive = False
            raise SessionDied("the supervisor is gone") from None
        deadline = time.monotonic() + limits.wall_s + 2.0
        out, err = bytearray(), bytearray()
        sel = self._sel
        while True:
            buf = self._buf
            if buf[:1] in (b"O", b"E"):
                if len(buf) >= 5:
                    tag, n = _FRAME.unpack_from(buf)
                    if len(buf) >= 5 + n:
                        (out if tag == b"O" else err).extend(buf[5:5 + n])
                        del buf[:5 + n]
                        continue
            elif buf[:1] == b"X":
                nl = buf.find(b"\n")
                if nl >= 0:
                    fields = buf[2:nl].split()
                    del buf[:nl + 1]
                    break
            elif buf:
                self.alive = False
                raise SessionDied(f"bad frame from the supervisor: {bytes(buf[:16])!r}")
            try:
                ok = self._read_more(deadline, sel)
            except SessionDied:
                self.alive = False
                raise
            if not ok:
                self.alive = False
                raise SessionDied("the supervisor did not answer in time")
        status, utime, stime, wall_us, flags, maxrss = (int(f) for f in fields)
        code = os.waitstatus_to_exitcode(status)
        exit_code, sig = (code, None) if code >= 0 else (None, -code)
        cpu_s = (utime + stime) / 1e6
        result = ExecResult(
            exit_code=exit_code, signal=sig, wall_s=wall_us / 1e6, cpu_s=cpu_s, stdout=bytes(out), stderr=bytes(err),
            max_rss_mb=maxrss / 1024.0, timed_out=bool(flags & 1),
            cpu_exceeded=cpu_s >= 0.9 * cpu or sig == signal.SIGXCPU, output_exceeded=bool(flags & 2),
            sandbox_error="the program could not be started" if flags & 4 else None,
        )
        if self.slot is not None and sig is not None:  # the evidence only matters for a killed test
            result.memory_peak_mb, result.memory_limit_hit = self.slot.memory_evidence(limits.memory_mb)
        return result

    def close(self, keep_workdir: bool = False) -> str:
        """End the jail (and remove its work folder); returns nsjail's log (for error reports)."""
        if getattr(self, "_closed", False):
            return ""
        self._closed = True
        if self.alive:
            try:
                self.proc.stdin.write(b"Q\n")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        self.alive = False
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pid, status, _ = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.001)
        else:
            _reap(self.proc, kill=True)
        self.proc.returncode = 0
        self._sel.close()
        self.proc.stdout.close()
        os.set_blocking(self._log_r, False)
        try:
            log = os.read(self._log_r, 1 << 16).decode("utf-8", "replace")
        except (BlockingIOError, OSError):
            log = ""
        os.close(self._log_r)
        if self.slot is not None:
            release_slot(self.slot)
        if not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return log

    def __enter__(self) -> "JailSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
