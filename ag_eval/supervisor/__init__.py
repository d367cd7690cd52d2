"""The in-jail test supervisor: one jail per program, one fresh process per test.

``supervisor.c`` is compiled once per host (with the system C compiler) into the cache
folder and bind-mounted read-only into each jail. :class:`JailSession` speaks its small
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
_built: Path | None | bool = None


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


def supervisor_binary() -> Path | None:
    """The compiled supervisor (built on first use), or None when it cannot be built here."""
    global _built
    if _built is not None:
        return _built or None
    src = _source()
    digest = hashlib.sha256(src).hexdigest()[:16]
    target = cache_dir() / f"supervisor-{digest}"
    if not (target.exists() and os.access(target, os.X_OK)):
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if cc is None:
            logger.warning("no C compiler found: each test starts its own jail (slower). Fix: apt-get install gcc.")
            _built = False
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / ".supervisor.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.exists():
                c_file = target.parent / f"supervisor-{digest}.c"
                c_file.write_bytes(src)
                tmp = target.with_suffix(".tmp")
                proc = subprocess.run([cc, "-O2", "-o", str(tmp), str(c_file)], capture_output=True, text=True)
                if proc.returncode != 0:
                    logger.warning("cannot build the test supervisor (%s); each test starts its own jail.",
                                   proc.stderr.strip()[-300:])
                    _built = False
                    return None
                os.chmod(tmp, 0o755)
                os.replace(tmp, target)
    _built = target
    return target
