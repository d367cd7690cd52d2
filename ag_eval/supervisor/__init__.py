"""The in-jail test supervisor: one jail per program, one fresh process per test.

``supervisor.c`` (and ``zygote.c``, a small library that lets a runner's pre-started
runtime fork each test) are compiled once per host with the system C compiler into the
cache folder and bind-mounted read-only into each jail. :class:`JailSession` speaks its small
protocol; see the C source for it. When no C compiler is present, the engine falls back
to one jail per test (slower, same isolation).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import SandboxUnavailableError

logger = logging.getLogger(__name__)

CACHE_ENV = "AGNOSTICS_CACHE"
#: Where the supervisor binary appears inside the jail.
JAIL_PATH = "/.agnostics/supervisor"
#: Where libagzygote appears inside the jail (runner `zygote:` commands load it from there).
ZYGOTE_LIB_JAIL_PATH = "/.agnostics/libagzygote.so"
_built: Path | None | bool = None
_zygote_lib: Path | None | bool = None


def cache_dir() -> Path:
    """A folder the jail can traverse (so not under a private home), owned by us and
    writable by nobody else: the binary in it decides verdicts."""
    base = Path(os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), f"agnostics-{os.geteuid()}"))
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    st = base.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SandboxUnavailableError(
            f"{base} is not owned by this user or is writable by others; remove it or set {CACHE_ENV} "
            "to a folder only you can write to.")
    return base


def _source() -> bytes:
    return resources.files(__package__).joinpath("supervisor.c").read_bytes()


def _build(name: str, source: str, shared: bool) -> Path | None:
    src = resources.files(__package__).joinpath(source).read_bytes()
    digest = hashlib.sha256(src).hexdigest()[:16]
    target = cache_dir() / f"{name}-{digest}"
    if target.exists() and os.access(target, os.R_OK):
        return target
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        logger.warning("no C compiler found: each test starts its own jail (slower). Fix: apt-get install gcc.")
        return None
    with open(cache_dir() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            c_file = cache_dir() / f"{name}-{digest}.c"
            c_file.write_bytes(src)
            tmp = target.with_name(target.name + ".tmp")
            flags = ["-shared", "-fPIC"] if shared else []
            proc = subprocess.run([cc, "-O2", *flags, "-o", str(tmp), str(c_file)], capture_output=True, text=True)
            if proc.returncode != 0:
                logger.warning("cannot build %s (%s); falling back to slower execution.", name,
                               proc.stderr.strip()[-300:])
                return None
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)
    return target


def supervisor_binary() -> Path | None:
    """The compiled supervisor (built on first use), or None when it cannot be built here."""
    global _built
    if _built is None:
        _built = _build("supervisor", "supervisor.c", shared=False) or False
    return _built or None


def zygote_library() -> Path | None:
    """libagzygote (built on first use), through which a runner's pre-started runtime forks tests."""
    global _zygote_lib
    if _zygote_lib is None:
        _zygote_lib = _build("libagzygote", "zygote.c", shared=True) or False
    return _zygote_lib or None
