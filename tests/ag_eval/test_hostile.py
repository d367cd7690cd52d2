"""Hostile programs never pass, leave no trace on the host and end within their limits.

Ten attacks, each written in Lua, Python, R, OCaml and Fortran (OCaml has no Unix library
here, so it shells out with Sys.command; Fortran with execute_command_line). Every case
is judged through the real sandbox and then checked the same way:

- the verdict is the program's failure (never pass, never the verifier's sandbox_error);
- it ended within the engine's wall limit (2 * cpu + 1 s) plus one second;
- no process is left: none still bound to one of this test's work folders (seen in
  /proc/<pid>/mountinfo, so other jails running on the host do not count) and none
  carrying the test's marker (a sleep of an odd length) on its command line;
- no jail cgroup is left behind, and the engine's work folders are gone.

Where an attack can show on stdout that it worked (a connection, a host file's content, a
kill, a child that outlived its parent, a found expected output, a sleep nobody stopped),
the expected output is exactly that: the program would pass if the attack succeeded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ag_eval.engine import WORKDIR_ENV, verify
from ag_eval.errors import SandboxUnavailableError
from ag_eval.host import CGROUP_PARENT, CGROUP_ROOT, SANDBOX_UID, host_info
from ag_eval.jobs import Result
from ag_eval.pool import POOL
from ag_eval.supervisor import JAIL_PATH as SUPERVISOR_JAIL_PATH
from ag_eval.supervisor import ZYGOTE_LIB_JAIL_PATH
from ag_eval.runners import get_runner
from ag_eval.sandbox import UnsafeLocalSandbox
from ag_eval.verdicts import Verdict

pytestmark = pytest.mark.hostile

LANGUAGES = ("lua", "python", "r", "ocaml", "fortran")
TIME_LIMIT_S = 1
MEMORY_LIMIT_MB = 128
SETTLE_S = 1.0  # how long the host may take to tear a jail down after the verdict

# Shell commands the languages without sockets or fork use. Values in @NAME@ are filled per test.
BOMB = "f(){ f|f& };f"
NET = "bash -c 'exec 3<>/dev/tcp/127.0.0.1/@PORT@'"
BACKGROUND = "(sleep 2; echo survived; sleep @NAP@) &"
SEARCH = ("grep -rhoas -m1 -D skip -E 'AGSECRET-[0-9a-f]{32}' / --exclude-dir=usr --exclude-dir=bin "
          "--exclude-dir=sbin --exclude-dir=lib* --exclude-dir=proc /proc/*/environ /proc/*/cmdline | head -n1")

PROGRAMS: dict[str, dict[str, str]] = {
    "fork_bomb": {
        "lua": f'while true do os.execute("{BOMB}") end\n',
        "python": "import os\nwhile True:\n    os.fork()\n",
        "r": "f <- function() repeat parallel::mcparallel(f())\nf()\n",
        "ocaml": f'let () = while true do ignore (Sys.command "{BOMB}") done\n',
        "fortran": "program main\n  do\n    call execute_command_line(@BOMB@)\n  end do\nend program main\n",
    },
    "memory_bomb": {
        "lua": 'local t = {}\nwhile true do t[#t + 1] = string.rep("x", 1 << 24) end\n',
        "python": 'x = []\nwhile True:\n    x.append(b"x" * (1 << 24))\n',
        "r": "x <- list()\nrepeat x[[length(x) + 1]] <- rep(1.5, 2^21)\n",
        "ocaml": "let l = ref []\nlet () = while true do l := Bytes.make (1 lsl 24) 'x' :: !l done\n",
        "fortran": ("program main\n  real(8), allocatable :: a(:)\n  allocate(a(200000000))\n  a = 1.5d0\n"
                    "  print *, sum(a)\nend program main\n"),
    },
    "output_flood": {
        "lua": 'local s = string.rep("x", 65535) .. "\\n"\nwhile true do io.write(s) end\n',
        "python": 'import sys\ns = "x" * 65535 + "\\n"\nwhile True:\n    sys.stdout.write(s)\n',
        "r": 's <- strrep("x", 65535)\nrepeat cat(s, "\\n", sep = "")\n',
        "ocaml": "let s = String.make 65535 'x'\nlet () = while true do print_endline s done\n",
        "fortran": "program main\n  do\n    write(*, '(A)') repeat('x', 65535)\n  end do\nend program main\n",
    },
    "sleep": {
        "lua": 'os.execute("sleep @NAP@")\n',
        "python": "import time\ntime.sleep(@NAP@)\n",
        "r": "Sys.sleep(@NAP@)\n",
        "ocaml": 'let () = ignore (Sys.command "sleep @NAP@")\n',
        "fortran": "program main\n  call sleep(30)\nend program main\n",
    },
    "network": {
        "lua": f'if os.execute("{NET}") then print("connected") end\n',
        "python": 'import socket\nsocket.create_connection(("127.0.0.1", @PORT@), timeout=1)\nprint("connected")\n',
        "r": 'con <- socketConnection("127.0.0.1", @PORT@, blocking = TRUE, timeout = 1)\ncat("connected\\n")\n',
        "ocaml": f'let () = if Sys.command "{NET}" = 0 then print_endline "connected"\n',
        "fortran": ("program main\n  integer :: st\n  call execute_command_line(@NET@, exitstat=st)\n"
                    "  if (st == 0) print '(A)', 'connected'\nend program main\n"),
    },
    "write_outside": {
        "lua": 'local f = assert(io.open("@CANARY@", "w"))\nf:write("x")\nf:close()\n',
        "python": 'open("@CANARY@", "w").write("x")\n',
        "r": 'writeLines("x", "@CANARY@")\n',
        "ocaml": 'let () = let oc = open_out "@CANARY@" in output_string oc "x"; close_out oc\n',
        "fortran": "program main\n  open(10, file=@CANARY@)\n  write(10, '(A)') 'x'\n  close(10)\nend program main\n",
    },
    "read_host_file": {
        "lua": 'io.write(assert(io.open("@SECRET_FILE@")):read("a"))\n',
        "python": 'print(open("@SECRET_FILE@").read(), end="")\n',
        "r": 'cat(readLines("@SECRET_FILE@"), sep = "\\n")\n',
        "ocaml": 'let () = print_endline (input_line (open_in "@SECRET_FILE@"))\n',
        "fortran": ("program main\n  character(len=200) :: s\n  open(10, file=@SECRET_FILE@, status='old')\n"
                    "  read(10, '(A)') s\n  print '(A)', trim(s)\nend program main\n"),
    },
    "kill_host_process": {
        "lua": ('local pid = io.read("n")\nos.execute("kill -9 -1")\n'
                'if os.execute("kill -9 " .. pid) then print("killed") end\n'),
        "python": ("import os\npid = int(input())\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass\n"
                   'os.kill(pid, 9)\nprint("killed")\n'),
        "r": ('pid <- scan(file("stdin"), quiet = TRUE)\nsystem("kill -9 -1")\n'
              'if (tools::pskill(pid, 9L)) cat("killed\\n")\n'),
        "ocaml": ('let () =\n  let pid = read_line () in\n  ignore (Sys.command "kill -9 -1");\n'
                  '  if Sys.command ("kill -9 " ^ pid) = 0 then print_endline "killed"\n'),
        "fortran": ("program main\n  character(len=32) :: pid\n  integer :: st\n  read(*, '(A)') pid\n"
                    "  call execute_command_line('kill -9 -1')\n"
                    "  call execute_command_line('kill -9 ' // trim(pid), exitstat=st)\n"
                    "  if (st == 0) print '(A)', 'killed'\nend program main\n"),
    },
    "background_child": {
        "lua": f'os.execute("{BACKGROUND}")\n',
        "python": ('import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(2)\n'
                   '    print("survived", flush=True)\n    time.sleep(@NAP@)\n'),
        "r": f'system("{BACKGROUND}")\n',
        "ocaml": f'let () = ignore (Sys.command "{BACKGROUND}")\n',
        "fortran": "program main\n  call execute_command_line(@BACKGROUND@)\nend program main\n",
    },
    "find_expected_output": {
        "lua": f'os.execute("{SEARCH}")\n',
        "python": f'import os\nos.system("{SEARCH}")\n',
        "r": f'system("{SEARCH}")\n',
        "ocaml": f'let () = ignore (Sys.command "{SEARCH}")\n',
        "fortran": "program main\n  call execute_command_line(@SEARCH@)\nend program main\n",
    },
}


def _fortran_string(text: str) -> str:
    """A Fortran string expression for text, split so no source line passes 132 characters."""
    chunks = [text[i:i + 60].replace('"', '""') for i in range(0, len(text), 60)] or [""]
    return " // &\n    ".join(f'"{c}"' for c in chunks)


def render(language: str, template: str, values: dict[str, str]) -> str:
    """Fill @NAME@ slots. In Fortran a slot stands for a whole string literal."""
    commands = {"BOMB": BOMB, "NET": NET, "BACKGROUND": BACKGROUND, "SEARCH": SEARCH}
    values = {**commands, **values}
    for name, value in values.items():
        slot = f"@{name}@"
        if slot in template:
            if language == "fortran" and (name in commands or name in ("CANARY", "SECRET_FILE")):
                value = _fortran_string(render("python", value, values))
            template = template.replace(slot, value)
    assert "@" not in template, f"unfilled slot in:\n{template}"
    return template


# ---- what the host looks like --------------------------------------------------------------
def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()


def sandbox_processes(workbase: Path, marker: str, exclude: set[int]) -> list[str]:
    """Processes that belong to this test: bound to one of its work folders, or carrying its
    marker on their command line. Any user counts, so a jail that failed to drop to the
    sandbox user is caught too; other jails on the host never match."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = _cmdline(int(entry.name))
            mounts = Path(f"/proc/{entry.name}/mountinfo").read_text()
        except OSError:  # it ended meanwhile
            continue
        if str(workbase) in mounts or marker in cmdline:
            found.append(f"pid {entry.name}: {cmdline!r}")
    return found


def is_jail_resident(entry: str) -> bool:
    """The supervisor, or a runner's zygote (which, unlike the test processes it forks,
    never leads its own process group)."""
    if SUPERVISOR_JAIL_PATH in entry:
        return True
    if ZYGOTE_LIB_JAIL_PATH not in entry:
        return False
    pid = int(entry.split(":")[0].split()[1])
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # gone meanwhile
    pgrp = int(stat.rsplit(")", 1)[1].split()[2])
    return pgrp != pid


def stale_cgroups() -> set[str]:
    """Jail cgroups whose process is gone (nsjail removes them when the jail ends)."""
    stale = set()
    for path in [*CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}/{CGROUP_PARENT}.*"),
                 *CGROUP_ROOT.glob(f"*/{CGROUP_PARENT}/slot-*/{CGROUP_PARENT}.*")]:
        pid = path.name.rsplit(".", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            stale.add(str(path))
    return stale


def settle(probe, timeout: float = SETTLE_S):
    """Call probe until it finds nothing or timeout passes; return what it last found."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


# ---- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def old_stale_cgroups() -> set[str]:
    if os.geteuid() != 0:
        pytest.skip("containment tests need root: only then do jailed programs run as nobody on the host")
    try:
        host_info()
    except SandboxUnavailableError as exc:
        pytest.skip(f"nsjail cannot run here: {exc}")
    return stale_cgroups()


@dataclass
class Outcome:
    result: Result
    elapsed_s: float
    wall_limit_s: float


class Jail:
    """Judges hostile programs and checks what every case shares; owns the host-side helpers."""

    def __init__(self, old_stale: set[str]):
        self.old_stale = old_stale
        # The engine's work folders go here; nsjail needs every folder above them searchable.
        self.workbase = Path(tempfile.mkdtemp(prefix="agnostics-hostile-work-"))
        self.workbase.chmod(0o755)
        self.nap = f"30.{secrets.randbelow(10 ** 6):06d}"  # a sleep nothing else on the host runs
        self.helpers: list[subprocess.Popen] = []
        self.sockets: list[socket.socket] = []
        self.host_dir = Path(tempfile.mkdtemp(prefix="agnostics-hostile-"))
        self.host_dir.chmod(0o755)  # readable by the sandbox user, were it visible in the jail
        self.canary = Path(tempfile.gettempdir()) / f"agnostics-canary-{secrets.token_hex(8)}"

    # host-side helpers
    def listener(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    def host_sleeper(self) -> subprocess.Popen:
        """A `sleep 60` on the host running as the sandbox user itself."""
        proc = subprocess.Popen(["sleep", "60"], user=SANDBOX_UID, group=SANDBOX_UID,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.helpers.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.helpers:
            proc.kill()
            proc.wait()
        for sock in self.sockets:
            sock.close()
        shutil.rmtree(self.host_dir, ignore_errors=True)
        shutil.rmtree(self.workbase, ignore_errors=True)
        self.canary.unlink(missing_ok=True)

    # judging
    def job(self, language: str, attack: str, *, expected: str, stdin: str = "", **values: str) -> dict:
        code = render(language, PROGRAMS[attack][language], {"NAP": self.nap, "CANARY": str(self.canary), **values})
        return {"id": f"{attack}-{language}", "language": language, "code": code,
                "tests": [{"input": stdin, "output": expected}],
                "time_limit_s": TIME_LIMIT_S, "memory_limit_mb": MEMORY_LIMIT_MB}

    def judge(self, job: dict) -> Outcome:
        """Run a job in the jail and assert the containment every hostile case shares."""
        runner = get_runner(job["language"])
        limits = runner.limits
        cpu = job["time_limit_s"] * limits.time_factor + limits.extra_time_s
        wall = 2 * cpu + 1.0
        # Start the jail (and the runner's zygote) first, with a program of the runner's own
        # self-tests under the same limits: the time bound below is the hostile program's,
        # not the runtime's start, which a cold page cache can stretch to seconds.
        warm = verify({**job, "id": f"warm-{job['id']}", "code": runner.selftests[0].code,
                       "tests": [{"input": "", "output": ""}]})
        assert warm.verdict is not Verdict.SANDBOX_ERROR, warm.to_dict()
        started = time.monotonic()
        result = verify(job)
        outcome = Outcome(result, time.monotonic() - started, wall)
        details = json.dumps(result.to_dict(), indent=1)[:3000]

        assert result.verdict.is_model_failure, details
        assert result.verdict is not Verdict.COMPILE_ERROR, f"the hostile program must run:\n{details}"
        compile_s = result.compile.time_s if result.compile else 0.0
        # A test that waited out its wall limit is run once more (ag_eval.judge.waited_out).
        runs = 1 + sum(t.rerun for t in result.tests)
        assert outcome.elapsed_s - compile_s <= runs * wall + 1.0, (
            f"took {outcome.elapsed_s:.2f} s ({compile_s:.2f} s compiling) against {runs} x {wall:.1f} s "
            f"wall limit:\n{details}")
        exclude = {p.pid for p in self.helpers}
        # While the warm jail waits for its next program, only its supervisor may live in it,
        # and its work folder must be empty.
        left = settle(lambda: [p for p in sandbox_processes(self.workbase, self.nap, exclude)
                               if not is_jail_resident(p)])
        assert not left, f"processes outlived their test: {left}"
        dirty = [d for d in self.workbase.iterdir() if any(d.iterdir())] if self.workbase.exists() else []
        assert not dirty, f"work folders were not emptied: {dirty}"
        # When the jails end, nothing at all is left.
        POOL.close_all()
        left = settle(lambda: sandbox_processes(self.workbase, self.nap, exclude))
        assert not left, f"processes outlived the jail: {left}"
        cgroups = settle(lambda: stale_cgroups() - self.old_stale)
        assert not cgroups, f"jail cgroups were left behind: {sorted(cgroups)}"
        workdirs = list(self.workbase.iterdir()) if self.workbase.exists() else []
        assert not workdirs, f"work folders were left behind: {workdirs}"
        return outcome


@pytest.fixture
def jail(old_stale_cgroups, monkeypatch, requires, request):
    language = getattr(request.node, "callspec", None) and request.node.callspec.params.get("language")
    if language:
        requires(language)
    j = Jail(old_stale_cgroups)
    monkeypatch.setenv(WORKDIR_ENV, str(j.workbase))
    yield j
    j.close()


languages = pytest.mark.parametrize("language", LANGUAGES)


# ---- the attacks -------------------------------------------------------------------------------
@languages
def test_fork_bomb_is_contained(jail, language):
    outcome = jail.judge(jail.job(language, "fork_bomb", expected="done\n"))
    # Processes cost memory too: a fork bomb may hit the memory limit before the process limit.
    assert outcome.result.verdict in (Verdict.RUNTIME_ERROR, Verdict.TIMEOUT, Verdict.MEMORY_LIMIT), outcome.result.to_dict()


@languages
def test_memory_bomb_is_stopped_at_the_memory_limit(jail, language):
    outcome = jail.judge(jail.job(language, "memory_bomb", expected=""))
    assert outcome.result.verdict is Verdict.MEMORY_LIMIT, outcome.result.to_dict()


@languages
def test_output_flood_is_cut_at_the_output_limit(jail, language):
    outcome = jail.judge(jail.job(language, "output_flood", expected=""))
    assert outcome.result.verdict is Verdict.OUTPUT_LIMIT, outcome.result.to_dict()


@languages
def test_sleep_is_stopped_at_the_wall_limit(jail, language):
    # Empty output is the right answer: only the wall limit keeps this from passing.
    outcome = jail.judge(jail.job(language, "sleep", expected=""))
    assert outcome.result.verdict is Verdict.TIMEOUT, outcome.result.to_dict()


@languages
def test_network_connect_to_a_host_listener_fails(jail, language):
    listener = jail.listener()
    port = str(listener.getsockname()[1])
    jail.judge(jail.job(language, "network", expected="connected\n", PORT=port))
    with pytest.raises(BlockingIOError):
        conn, peer = listener.accept()
        conn.close()
        pytest.fail(f"the jailed program reached the host listener from {peer}")


@languages
def test_writes_outside_the_work_dir_never_reach_the_host(jail, language):
    jail.judge(jail.job(language, "write_outside", expected=secrets.token_hex(8) + "\n"))
    assert not jail.canary.exists()


@languages
def test_host_files_cannot_be_read(jail, language):
    secret = secrets.token_hex(16)
    secret_file = jail.host_dir / "secret.txt"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o644)
    outcome = jail.judge(jail.job(language, "read_host_file", expected=secret + "\n", SECRET_FILE=str(secret_file)))
    assert secret not in outcome.result.tests[0].stdout


@languages
def test_host_processes_cannot_be_killed(jail, language):
    victim = jail.host_sleeper()
    jail.judge(jail.job(language, "kill_host_process", expected="killed\n", stdin=f"{victim.pid}\n"))
    time.sleep(0.05)
    assert victim.poll() is None, f"the host process died with status {victim.returncode}"


@languages
def test_background_child_does_not_outlive_the_program(jail, language):
    # The child prints "survived" two seconds in, well inside the wall limit: had it outlived
    # the program on a still-open stdout, the program would pass.
    outcome = jail.judge(jail.job(language, "background_child", expected="survived\n"))
    assert "survived" not in outcome.result.tests[0].stdout


@languages
def test_expected_outputs_cannot_be_found_from_inside(jail, language):
    secret = f"AGSECRET-{secrets.token_hex(16)}"
    job = jail.job(language, "find_expected_output", expected=secret + "\n")
    jobs_file = jail.host_dir / "jobs.jsonl"  # where a batch's expected outputs live on the host
    jobs_file.write_text(json.dumps(job) + "\n")
    jobs_file.chmod(0o644)
    outcome = jail.judge(job)
    assert secret not in outcome.result.tests[0].stdout


# ---- the checks are real -------------------------------------------------------------------------
def test_leftover_check_sees_a_program_still_in_its_jail(jail, requires):
    """The process check is not vacuous: while a program runs, it is found by its work folder."""
    requires("python")
    job = {"id": "nap", "language": "python", "code": "import time\ntime.sleep(1.5)\n",
           "tests": [{"input": "", "output": ""}], "time_limit_s": TIME_LIMIT_S}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(verify, job)
        seen: list[str] = []
        deadline = time.monotonic() + 1.2
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = sandbox_processes(jail.workbase, jail.nap, set())
        assert running.result().verdict is Verdict.PASS
    assert any("main.py" in p for p in seen), seen


# ---- the attacks are real: without the jail they reach the host -------------------------------
@languages
def test_attack_programs_reach_the_host_when_run_bare(jail, language):
    """Without nsjail the same programs do connect, write and read, so the cases above
    fail because of the jail and not because of a broken program."""
    bare = UnsafeLocalSandbox(warn=False)
    listener = jail.listener()
    net = verify(jail.job(language, "network", expected="connected\n", PORT=str(listener.getsockname()[1])),
                 sandbox=bare)
    conn, _ = listener.accept()
    conn.close()
    assert net.verdict is Verdict.PASS, net.to_dict()

    verify(jail.job(language, "write_outside", expected=""), sandbox=bare)
    assert jail.canary.exists()

    secret = secrets.token_hex(16)
    secret_file = jail.host_dir / "secret.txt"
    secret_file.write_text(secret + "\n")
    read = verify(jail.job(language, "read_host_file", expected=secret + "\n", SECRET_FILE=str(secret_file)),
                  sandbox=bare)
    assert read.verdict is Verdict.PASS, read.to_dict()
