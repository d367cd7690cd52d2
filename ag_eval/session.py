"""A jail that runs many tests of one program: nsjail + the in-jail supervisor.

One jail start per program instead of per test; each test is still a fresh process,
and between tests the supervisor kills every other process of the jail and empties
/tmp. Limits per test (CPU, wall, output) are applied by the supervisor; memory and
process limits are the jail's cgroup, whose counters are reset before each test.
"""

from __future__ import annotations

import math
import os
import selectors
import signal
import struct
import subprocess
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from . import stats
from .affinity import jail_affinity
from .cgroups import CgroupSlot, new_slot, release_slot
from .sandbox import ExecLimits, ExecResult, NsjailSandbox, _reap
from .supervisor import JAIL_PATH, ZYGOTE_LIB_JAIL_PATH

_FRAME = struct.Struct("<cI")
#: How long past a test's wall limit the host waits for its reply: the supervisor's own
#: work after a test (killing, reaping, emptying /tmp, a zygote started again) is not the
#: program's time, but a supervisor that says nothing this long is gone.
REPLY_SLACK_S = 5.0
#: Reply flags (see supervisor.c).
_WALL, _OUTPUT_CAP, _NOT_STARTED, _SKIPPED, _POISONED = 1, 2, 4, 8, 16


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
            with jail_affinity():
                self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, pass_fds=(log_w,), start_new_session=True)
        finally:
            os.close(log_w)
        self._out = self.proc.stdout.fileno()
        self._in = self.proc.stdin.fileno()
        os.set_blocking(self._out, False)
        os.set_blocking(self._in, False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._out, selectors.EVENT_READ)
        self._buf = bytearray()  # replies read, not yet parsed
        self._wbuf = bytearray()  # requests not yet written
        self._want_write = False
        self._queue: deque[float] = deque()  # submit times of the tests awaiting a result
        self._discard = 0  # skipped replies still to come (requests dropped at a halt)
        self._halted = False
        self._halt_mask = 1
        #: The jail could not be made clean after a test: it must be replaced, not reused.
        self.poisoned = False
        self._limits_now = limits
        self._clock = time.monotonic()
        self.alive = True
        stats.count("jails_started")

    def restarted(self) -> "JailSession":
        """A fresh jail over the same work folder (after this one died)."""
        self.close(keep_workdir=True)
        stats.count("jails_restarted")
        return JailSession(self.sandbox, self.supervisor, self.cmd, workdir=self.workdir, limits=self.limits,
                           env=self.env, mounts=self.mounts, zygote_lib=self.zygote_lib)

    # ---- protocol ---------------------------------------------------------------------
    # Tests are pipelined: ``submit`` queues requests without waiting, ``result`` returns
    # their results in order, so the jail runs the next test while the host judges the last.
    # A test that dies by a signal halts the supervisor (its cgroup evidence is then read
    # while nothing else runs); the requests queued behind it come back skipped and the
    # caller re-submits them after ``resume``.

    def begin(self, limits: ExecLimits, *, stop_on_failure: bool = False) -> None:
        """Start a batch of tests with these limits (nothing may be queued)."""
        if not self.alive:
            raise SessionDied("session closed")
        assert not self._queue and not self._halted and not self.poisoned
        self._limits_now = limits
        self._halt_mask = 3 if stop_on_failure else 1
        if self.slot is not None:
            self.slot.apply_limits(limits.memory_mb, limits.processes, self.sandbox.host.memsw)
            self.slot.reset()
        self._clock = time.monotonic()

    def submit(self, stdin: bytes) -> None:
        """Queue one test of the batch (its result comes from a later ``result()``)."""
        limits = self._limits_now
        cpu = max(1, math.ceil(limits.cpu_s))
        header = (f"R {cpu} {int(limits.wall_s * 1000)} {limits.output_bytes} {limits.stderr_bytes} {len(stdin)} "
                  f"{self._halt_mask}\n").encode()
        self._queue.append(time.monotonic())
        self._wbuf += header
        self._wbuf += stdin
        self._flush()

    @property
    def halted(self) -> bool:
        """The last result halted the supervisor: queued tests will not run until ``resume``."""
        return self._halted

    def resume(self) -> None:
        """Go on after a halt: the tests queued before are dropped (re-submit them)."""
        self._discard += len(self._queue)
        self._queue.clear()
        if self.slot is not None:  # nothing runs in the jail now
            self.slot.reset()
        self._halted = False
        self._wbuf += b"G\n"
        self._flush()
        self._clock = time.monotonic()

    def drain(self) -> None:
        """End the batch: wait out (or drop) what is still queued, leave the supervisor ready.
        A poisoned jail is left as it is, marked dead: the pool ends it."""
        if self.poisoned:
            self.alive = False
            return
        while self._queue:
            if self._halted:
                self.resume()
            else:
                self.result()
        if self._halted:
            self.resume()

    def run(self, stdin: bytes, limits: ExecLimits) -> ExecResult:
        """Run one test. Raises SessionDied if the jail went away (then close() and restart)."""
        self.begin(limits)
        self.submit(stdin)
        res = self.result()
        self.drain()
        return res

    def _flush(self) -> None:
        if not self._wbuf:
            return
        try:
            n = os.write(self._in, self._wbuf)
        except BlockingIOError:
            n = 0
        except OSError:
            self.alive = False
            raise SessionDied("the supervisor is gone") from None
        del self._wbuf[:n]
        if self._wbuf and not self._want_write:
            self._sel.register(self._in, selectors.EVENT_WRITE)
            self._want_write = True
        elif not self._wbuf and self._want_write:
            self._sel.unregister(self._in)
            self._want_write = False

    def _wait_io(self, deadline: float) -> bool:
        """Write what is pending and read what has come; False if nothing came by ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        events = self._sel.select(timeout=remaining)
        if not events:
            return False
        for key, _ in events:
            if key.fd == self._in:
                self._flush()
                continue
            try:
                chunk = os.read(self._out, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                raise SessionDied("the supervisor ended")
            self._buf += chunk
        return True

    def _reply(self, deadline: float) -> tuple[list[int], bytes, bytes]:
        out, err = bytearray(), bytearray()
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
                    fields = [int(f) for f in buf[2:nl].split()]
                    del buf[:nl + 1]
                    return fields, bytes(out), bytes(err)
            elif buf:
                self.alive = False
                raise SessionDied(f"bad frame from the supervisor: {bytes(buf[:16])!r}")
            try:
                ok = self._wait_io(deadline)
            except SessionDied:
                self.alive = False
                raise
            if not ok:
                self.alive = False
                raise SessionDied("the supervisor did not answer in time")

    def result(self) -> ExecResult:
        """The result of the oldest queued test. Raises SessionDied if the jail went away."""
        if not self.alive:
            raise SessionDied("session closed")
        limits = self._limits_now
        while self._discard:  # replies of requests dropped at a halt
            fields, _, _ = self._reply(time.monotonic() + limits.wall_s + REPLY_SLACK_S)
            if not fields[4] & _SKIPPED:
                self.alive = False
                raise SessionDied("the supervisor ran a test it should have skipped")
            self._discard -= 1
        submitted = self._queue[0]
        fields, out, err = self._reply(max(submitted, self._clock) + limits.wall_s + REPLY_SLACK_S)
        self._queue.popleft()
        self._clock = time.monotonic()
        status, utime, stime, wall_us, flags, maxrss = fields
        if flags & _SKIPPED:
            self.alive = False
            raise SessionDied("the supervisor skipped a test it should have run")
        cpu = max(1, math.ceil(limits.cpu_s))
        code = os.waitstatus_to_exitcode(status)
        exit_code, sig = (code, None) if code >= 0 else (None, -code)
        cpu_s = (utime + stime) / 1e6
        # Mirrors the supervisor's rule (report() in supervisor.c).
        if flags & _POISONED:  # judged on what it printed; the jail is replaced before the next test
            self.poisoned = self._halted = True
            stats.count("jails_poisoned")
        if (self._halt_mask & 1 and (sig is not None or flags & _NOT_STARTED)) or \
                (self._halt_mask & 2 and (status or flags)):
            self._halted = True
        result = ExecResult(
            exit_code=exit_code, signal=sig, wall_s=wall_us / 1e6, cpu_s=cpu_s, stdout=out, stderr=err,
            max_rss_mb=maxrss / 1024.0, timed_out=bool(flags & _WALL),
            cpu_exceeded=cpu_s >= 0.9 * cpu or sig == signal.SIGXCPU, output_exceeded=bool(flags & _OUTPUT_CAP),
            sandbox_error="the program could not be started" if flags & _NOT_STARTED else None,
        )
        if self.slot is not None and sig is not None:  # halted: only this test's evidence is in the counters
            result.memory_peak_mb, result.memory_limit_hit = self.slot.memory_evidence(limits.memory_mb)
        return result

    def close(self, keep_workdir: bool = False) -> str:
        """End the jail (and remove its work folder); returns nsjail's log (for error reports)."""
        if getattr(self, "_closed", False):
            return ""
        self._closed = True
        if self.alive and not self._wbuf:  # else a request is half written: the end of stdin ends it too
            try:
                os.write(self._in, b"Q\n")
            except OSError:
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
            from .workdirs import remove_workdir  # the folder, then the lock that kept it live

            remove_workdir(self.workdir)
        return log

    def __enter__(self) -> "JailSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
