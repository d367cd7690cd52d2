"""Per-worker cgroup v1 slots: the evidence that tells a memory kill from a CPU kill.

nsjail creates (and removes) one cgroup per jail under a parent we name. Each worker
thread owns one parent slot, ``NSJAIL/slot-<pid>-<n>``, whose counters are reset before a
run and read after it: the peak memory of the hierarchy and whether it hit the limit.
(``ru_maxrss`` cannot serve: Linux carries the caller's peak RSS into a spawned child's.)
Slots are removed when the process exits.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time

from .host import CGROUP_PARENT, CGROUP_ROOT

logger = logging.getLogger(__name__)

_CONTROLLERS = ("memory", "pids")
_local = threading.local()
_counter = itertools.count()
_slots: list["CgroupSlot"] = []
_lock = threading.Lock()


class CgroupSlot:
    def __init__(self, name: str):
        self.name = name  # relative to each controller's root, e.g. NSJAIL/slot-12-0
        self.dirs = {c: CGROUP_ROOT / c / name for c in _CONTROLLERS}
        for d in self.dirs.values():
            d.mkdir(exist_ok=True)

    def _write(self, controller: str, file: str, value: str) -> None:
        try:
            fd = os.open(self.dirs[controller] / file, os.O_WRONLY)
        except OSError:
            return
        try:
            os.write(fd, value.encode())
        except OSError:
            pass
        finally:
            os.close(fd)

    def _read_int(self, controller: str, file: str) -> int | None:
        try:
            return int((self.dirs[controller] / file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def apply_limits(self, memory_mb: int, processes: int, memsw: bool) -> None:
        """Set the slot's memory and process limits (they bound every jail below it)."""
        want = (memory_mb, processes)
        if getattr(self, "_limits", None) == want:
            return
        mem = str(memory_mb * 1024 * 1024)
        files = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"] if memsw else ["memory.limit_in_bytes"]
        # memory+swap must stay >= memory: raise memsw first, lower memory first.
        old = self._read_int("memory", "memory.limit_in_bytes")
        if old is not None and memory_mb * 1024 * 1024 > old:
            files.reverse()
        for f in files:
            self._write("memory", f, mem)
        self._write("pids", "pids.max", str(processes))
        self._limits = want

    def reset(self) -> None:
        self._write("memory", "memory.max_usage_in_bytes", "0")
        self._write("memory", "memory.failcnt", "0")

    def memory_evidence(self, limit_mb: int) -> tuple[float | None, bool | None]:
        peak = self._read_int("memory", "memory.max_usage_in_bytes")
        failcnt = self._read_int("memory", "memory.failcnt")
        if peak is None:
            return None, None
        peak_mb = peak / (1024 * 1024)
        return peak_mb, bool(failcnt) or peak_mb >= 0.95 * limit_mb

    def clean_children(self, wait_s: float = 0.0) -> None:
        """Remove jail cgroups nsjail left behind (killed before it could, or its last
        processes were still exiting); waits up to ``wait_s`` for them to empty."""
        deadline = time.monotonic() + wait_s
        for d in self.dirs.values():
            for child in d.glob("NSJAIL.*"):
                while True:
                    try:
                        child.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        if time.monotonic() >= deadline:
                            break
                        time.sleep(0.01)

    def remove(self) -> None:
        self.clean_children(wait_s=2.0)
        for d in self.dirs.values():
            try:
                d.rmdir()
            except OSError:
                pass


_swept = False


def _sweep_dead_slots() -> None:
    """Remove the slots of processes that died without cleaning up (killed)."""
    global _swept
    if _swept:
        return
    _swept = True
    for controller in _CONTROLLERS:
        for slot_dir in (CGROUP_ROOT / controller / CGROUP_PARENT).glob("slot-*-*"):
            pid = slot_dir.name.split("-")[1]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                for child in slot_dir.glob("NSJAIL.*"):
                    try:
                        child.rmdir()
                    except OSError:
                        pass
                try:
                    slot_dir.rmdir()
                except OSError:
                    pass


def new_slot() -> CgroupSlot | None:
    """A slot of its own (for a long-lived jail); removed by ``remove()`` or at exit."""
    _sweep_dead_slots()
    try:
        slot = CgroupSlot(f"{CGROUP_PARENT}/slot-{os.getpid()}-{next(_counter)}")
    except OSError as exc:
        logger.warning("cannot create a cgroup slot (%s); memory kills are told apart less reliably", exc)
        return None
    with _lock:
        _slots.append(slot)
    return slot


def release_slot(slot: CgroupSlot) -> None:
    slot.remove()
    with _lock:
        if slot in _slots:
            _slots.remove(slot)


def slot_for_thread() -> CgroupSlot | None:
    slot = getattr(_local, "slot", None)
    if slot is None:
        try:
            slot = CgroupSlot(f"{CGROUP_PARENT}/slot-{os.getpid()}-{next(_counter)}")
        except OSError as exc:
            logger.warning("cannot create a cgroup slot (%s); memory kills are told apart less reliably", exc)
            return None
        _local.slot = slot
        with _lock:
            _slots.append(slot)
    return slot


@atexit.register
def _remove_all() -> None:
    with _lock:
        for slot in _slots:
            slot.remove()
        _slots.clear()
