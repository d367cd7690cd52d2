"""A work folder lives as long as its owner holds its lock, whatever process or PID
namespace looks at it: a sweep removes only the folders of owners that are gone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ag_eval.engine import WORKDIR_ENV, _sweep_dead_workdirs

# Makes a work folder, puts a file in it, prints its path, then waits for a line on stdin:
# "remove" removes the folder as a verifier does when a program is judged.
OWNER = """
import os, sys
from pathlib import Path
if os.environ.get("NEW_PID"):  # in a fresh PID namespace: be reborn under a PID the host need not have
    import subprocess
    Path("/proc/sys/kernel/ns_last_pid").write_text(os.environ.pop("NEW_PID"))
    sys.exit(subprocess.run(sys.orig_argv).returncode)
from ag_eval.engine import _make_workdir
folder = _make_workdir()
(folder / "main.py").write_text("print(1)")
print(folder, flush=True)
if sys.stdin.readline().strip() == "remove":
    from ag_eval.workdirs import remove_workdir
    remove_workdir(folder)
    print("removed", flush=True)
"""


@pytest.fixture
def base():
    folder = Path(tempfile.mkdtemp(prefix="agnostics-workdirs-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _free_pid() -> int:
    """A PID that no process has in this namespace (the live owner takes it in its own)."""
    return next(pid for pid in range(30001, 32000) if not os.path.exists(f"/proc/{pid}"))


def _wait_gone(pgid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process group {pgid} outlived SIGKILL")


def _owner(base: Path, pid_namespace: bool) -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ, **{WORKDIR_ENV: str(base)}, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    argv = [sys.executable, "-c", OWNER]
    if pid_namespace:
        argv = ["unshare", "--pid", "--fork", "--kill-child", *argv]
        env["NEW_PID"] = str(_free_pid() - 1)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    return proc, Path(proc.stdout.readline().strip())


@pytest.mark.parametrize("pid_namespace", [False, True], ids=["same-pid-namespace", "own-pid-namespace"])
def test_a_sweep_keeps_live_folders_of_other_processes_and_removes_dead_ones(base, pid_namespace):
    if pid_namespace and (os.geteuid() != 0 or not shutil.which("unshare")):
        pytest.skip("a PID namespace needs root and unshare(1)")
    live, live_folder = _owner(base, pid_namespace)
    dead, dead_folder = _owner(base, pid_namespace)
    try:
        assert (dead_folder / "main.py").is_file()
        assert (live_folder / "main.py").is_file(), "the second owner's start swept the first's live folder"
        os.killpg(dead.pid, signal.SIGKILL)  # ends before it could remove its folder
        dead.wait()
        _wait_gone(dead.pid)  # in its own PID namespace the owner is a grandchild
        assert dead_folder.is_dir()

        _sweep_dead_workdirs(str(base))  # as a verifier process starting on the same base does
        assert (live_folder / "main.py").is_file(), "a live folder of another process was swept"
        assert not dead_folder.exists(), "a dead process's folder was kept"

        live.stdin.write("remove\n")
        live.stdin.flush()
        assert live.stdout.readline().strip() == "removed"
        assert live.wait(timeout=30) == 0
        assert list(base.iterdir()) == []
    finally:
        for proc in (live, dead):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_a_folder_whose_owner_exited_without_removing_it_is_swept(base, monkeypatch):
    live, folder = _owner(base, pid_namespace=False)
    live.stdin.write("keep\n")  # exits, leaving the folder behind
    live.stdin.close()
    assert live.wait(timeout=30) == 0 and folder.is_dir()
    _sweep_dead_workdirs(str(base))
    assert list(base.iterdir()) == []
