"""Per-program work folders, and which of them are still in use.

The owner of a work folder ``job-<pid>-<random>`` holds an exclusive ``flock`` on the folder
itself (an open descriptor of the directory) for the folder's whole life. The kernel drops
the lock when the owner ends, however it ends, so a verifier process starting on the same
base removes exactly the folders whose lock it can take: never one of a live process, even
one in another PID namespace sharing ``/dev/shm``, where its pid says nothing. The jailed
program cannot take the lock away: it can neither remove nor replace its own folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import threading
from pathlib import Path

from .errors import SandboxUnavailableError
from .host import SANDBOX_UID
from .tree import remove_folder

logger = logging.getLogger(__name__)

WORKDIR_ENV = "AGNOSTICS_WORKDIR"

_checked_bases: set[str] = set()
_held: dict[str, int] = {}  # work folder -> its open, locked descriptor, which keeps it live
_held_lock = threading.Lock()


def work_base() -> str:
    """Where per-program work folders go: $AGNOSTICS_WORKDIR, else a folder on /dev/shm.

    On a tmpfs, whatever a compile step writes is charged to the jail's memory cgroup,
    so code run at compile time (Nim staticExec, Template Haskell...) cannot fill a disk.
    """
    base = os.environ.get(WORKDIR_ENV)
    if not base:
        shm = Path("/dev/shm")
        base = str(shm / f"agnostics-{os.geteuid()}") if shm.is_dir() and os.access(shm, os.W_OK) else \
            os.path.join(tempfile.gettempdir(), f"agnostics-{os.geteuid()}")
    if base not in _checked_bases:
        os.makedirs(base, mode=0o755, exist_ok=True)
        for folder in (Path(base), *Path(base).resolve().parents):
            if not folder.stat().st_mode & 0o001:
                raise SandboxUnavailableError(
                    f"the jail's user cannot reach the work folder {base}: {folder} is not searchable by others "
                    f"(mode {oct(folder.stat().st_mode & 0o777)}); set {WORKDIR_ENV} to a folder under a "
                    "world-searchable path such as /dev/shm or /tmp.")
        sweep_dead_workdirs(base)
        _checked_bases.add(base)
    return base


def _is_same_file(fd: int, path: str) -> bool:
    """Whether ``path`` still names the folder open as ``fd`` (not removed, nor made anew)."""
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _locked(path: str, *, wait: bool) -> int | None:
    """An open descriptor of the folder with its lock taken, or None (gone, or locked by another)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    if not _is_same_file(fd, path):  # a sweep removed it before the lock was ours
        os.close(fd)
        return None
    return fd


def make_workdir() -> Path:
    """A fresh work folder, live (its lock held) until :func:`remove_workdir`."""
    base = work_base()
    fd = None
    while fd is None:  # a sweep may take a new folder for a dead one's before it is locked: then anew
        path = tempfile.mkdtemp(prefix=f"job-{os.getpid()}-", dir=base)
        fd = _locked(path, wait=True)
    if os.geteuid() == 0:
        os.chown(path, SANDBOX_UID, SANDBOX_UID)
    os.chmod(path, 0o755)
    with _held_lock:
        _held[path] = fd
    return Path(path)


def remove_workdir(path: Path | str) -> None:
    """Remove a work folder, then let go of the lock that kept it live."""
    remove_folder(path)
    with _held_lock:
        fd = _held.pop(str(path), None)
    if fd is not None:
        os.close(fd)


def sweep_dead_workdirs(base: str) -> None:
    """Remove the work folders of verifier processes that ended before they could."""
    for folder in Path(base).glob("job-*"):
        fd = _locked(str(folder), wait=False)
        if fd is None:  # its owner lives (or it is gone already)
            continue
        try:
            remove_folder(folder)
            logger.debug("removed the work folder %s of an ended process", folder)
        finally:
            os.close(fd)
