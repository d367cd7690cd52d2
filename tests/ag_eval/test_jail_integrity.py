"""A hostile program may poison only itself: what it does to its warm jail never reaches
the next program judged there.

Each case judges a hostile program, then a correct program in the same warm jail (same
language, same limits, same thread: the pool hands the jail back). The hostile program
is judged on what it printed (its own failure, never ``sandbox_error``); the correct one
must pass, every test of it, within its limits.
"""

from __future__ import annotations

import time

import pytest

from ag_eval.engine import NO_ZYGOTE_ENV, verify
from ag_eval.pool import POOL
from ag_eval.verdicts import Verdict
from tests.programs import TMP_FLOOD

pytestmark = pytest.mark.hostile

TIME_LIMIT_S = 2

# Every other process the program can see: the supervisor (pid 1) and, in zygote mode,
# the zygote; the program's own pid is left alone.
OTHERS = "others = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (os.getpid(),)]\n"


def _prlimit_attack(limits: str) -> str:
    return ("import os, resource\n" + OTHERS +
            "for pid in others:\n"
            f"    for res, value in {limits}:\n"
            "        try:\n"
            "            resource.prlimit(pid, res, (value, value))\n"
            "        except OSError:\n"
            "            pass\n"
            "print('done')\n")


HOSTILE = {
    # Lower the limits of every other process: later tests would inherit them.
    "prlimit_fsize": _prlimit_attack("((resource.RLIMIT_FSIZE, 0),)"),
    "prlimit_as": _prlimit_attack("((resource.RLIMIT_AS, 1 << 20),)"),
    "prlimit_all": _prlimit_attack(
        "((resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NOFILE, 4), (resource.RLIMIT_AS, 1 << 20), "
        "(resource.RLIMIT_NPROC, 1), (resource.RLIMIT_CPU, 1), (resource.RLIMIT_STACK, 1 << 16))"),
    # Lower the priority and the CPUs of every other process (and of the whole uid).
    "priority": (
        "import os\n" + OTHERS +
        "for pid in others:\n"
        "    for call in (lambda: os.setpriority(os.PRIO_PROCESS, pid, 19), lambda: os.sched_setaffinity(pid, {0}),\n"
        "                 lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))):\n"
        "        try:\n"
        "            call()\n"
        "        except OSError:\n"
        "            pass\n"
        "try:\n"
        "    os.setpriority(os.PRIO_USER, 0, 19)\n"
        "except OSError:\n"
        "    pass\n"
        "print('done')\n"
    ),
    # A folder far deeper than PATH_MAX, holding a secret and most of /tmp's space.
    "deep_tmp": (
        "import os\n"
        "os.chdir('/tmp')\n"
        "open('/tmp/secret', 'w').write('leaked')\n"
        "for _ in range(1100):\n"
        "    os.mkdir('deep-folder')\n"
        "    os.chdir('deep-folder')\n"
        "open('secret', 'w').write('leaked')\n"
        "for i in range(4):  # 60 MB of the 64 MB /tmp, in files under the output cap\n"
        "    with open(f'fill{i}', 'wb') as f:\n"
        "        f.write(b'x' * (15 << 20))\n"
        "os.chmod('.', 0)\n"
        "print('done')\n"
    ),
    # The zygote's capture files replaced: stdin by a deep folder, stdout/stderr by FIFOs.
    "capture_files": (
        "import os, sys\n"
        "print('done', flush=True)\n"
        "for name in ('/tmp/.ag-stdin', '/tmp/.ag-stdout', '/tmp/.ag-stderr'):\n"
        "    try:\n"
        "        os.unlink(name)\n"
        "    except OSError:\n"
        "        pass\n"
        "os.mkfifo('/tmp/.ag-stdout')\n"
        "os.mkfifo('/tmp/.ag-stderr')\n"
        "os.mkdir('/tmp/.ag-stdin')\n"
        "os.chdir('/tmp/.ag-stdin')\n"
        "for _ in range(1100):\n"
        "    os.mkdir('deep-folder')\n"
        "    os.chdir('deep-folder')\n"
    ),
    # Stop every other process (the zygote would stay stopped).
    "stop": (
        "import os, signal\n" + OTHERS +
        "for pid in others:\n"
        "    os.kill(pid, signal.SIGSTOP)\n"
        "print('done')\n"
    ),
    # Signals a runtime handles or ignores, left for it to meet later.
    "signals": (
        "import os, signal\n" + OTHERS +
        "for sig in (signal.SIGINT, signal.SIGCHLD, signal.SIGWINCH, signal.SIGUSR1):\n"
        "    for pid in others:\n"
        "        try:\n"
        "            os.kill(pid, sig)\n"
        "        except OSError:\n"
        "            pass\n"
        "print('done')\n"
    ),
}

# The program judged after: it writes to /tmp, opens files, forks, and prints what it
# sees of its jail (files in /tmp but the jail's own capture files, its priority, scheduler,
# CPUs and limits). It must print exactly what it prints in a fresh jail.
CORRECT = (
    "import os, resource, subprocess, sys\n"
    "left = sorted(n for n in os.listdir('/tmp') if not n.startswith('.ag-'))\n"
    "with open('/tmp/scratch', 'wb') as f:\n"
    "    f.write(b'y' * (8 << 20))\n"
    "files = [open('/dev/null') for _ in range(32)]\n"
    "child = subprocess.run(['/bin/echo', 'child'], capture_output=True, text=True).stdout.strip()\n"
    "limits = [resource.getrlimit(r) for r in range(16) if r != resource.RLIMIT_CPU]\n"
    "n = int(sys.stdin.read())\n"
    "print(n * 2, left, child, os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0),\n"
    "      sorted(os.sched_getaffinity(0)), limits)\n"
)


@pytest.fixture(params=["zygote", "exec"])
def mode(request, monkeypatch):
    if request.param == "exec":
        monkeypatch.setenv(NO_ZYGOTE_ENV, "1")
    POOL.close_all()  # start from a fresh jail, so the hostile program and the next one share it
    yield request.param
    POOL.close_all()


def _job(job_id: str, code: str, tests: list[dict]) -> dict:
    return {"id": job_id, "language": "python", "code": code, "tests": tests, "time_limit_s": TIME_LIMIT_S,
            "memory_limit_mb": 256}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_program_poisons_only_itself(attack, mode, requires):
    requires("python")
    # What the correct program prints in a fresh jail (one of its own, closed after).
    baseline = verify(_job("baseline", CORRECT, [{"input": f"{i}\n", "output": ""} for i in range(4)]))
    fresh = [t.stdout for t in baseline.tests]
    assert all(t.exit_code == 0 and t.stdout.startswith(f"{2 * i} [] child") for i, t in enumerate(baseline.tests)), fresh
    POOL.close_all()
    started = time.monotonic()
    hostile = verify(_job(f"hostile-{attack}", HOSTILE[attack], [{"input": "", "output": "not this"}] * 2))
    hostile_s = time.monotonic() - started
    details = [(t.verdict.value, t.stdout, t.stderr[-300:], t.detail) for t in hostile.tests]
    assert hostile.verdict is not Verdict.SANDBOX_ERROR, details
    assert hostile.verdict.is_model_failure, details
    # Judged on what it printed, within its own limits (2 tests, wall 2 * cpu + 1 s each).
    assert all(t.verdict is Verdict.WRONG_OUTPUT for t in hostile.tests), details
    assert hostile_s < 2 * (2 * TIME_LIMIT_S + 2), f"the hostile program took {hostile_s:.1f} s"

    tests = [{"input": f"{i}\n", "output": expected} for i, expected in enumerate(fresh)]
    started = time.monotonic()
    after = verify(_job(f"after-{attack}", CORRECT, tests))
    after_s = time.monotonic() - started
    assert after.verdict is Verdict.PASS, [(t.verdict.value, t.stdout, t.stderr[-300:], t.detail)
                                           for t in after.tests]
    assert max(t.time_s for t in after.tests) < TIME_LIMIT_S, [t.time_s for t in after.tests]
    assert after_s < 10, f"the program after took {after_s:.1f} s"


def _idle_jails() -> set[int]:
    return {id(session) for _, session in POOL._idle.values()}


def test_a_jail_that_cannot_be_emptied_in_time_is_replaced(requires):
    """The backstop: more files in /tmp than the supervisor removes in its time budget
    poison the jail; the program is still judged on what it printed, the jail is ended,
    and the next program gets a fresh one."""
    requires("python")
    POOL.close_all()
    flood = TMP_FLOOD
    warm = verify(_job("warm", "print('warm')", [{"input": "", "output": "warm"}]))
    assert warm.verdict is Verdict.PASS
    before = _idle_jails()
    assert len(before) == 1
    job = _job("flood", flood, [{"input": "", "output": "not this"}] * 2)
    job["time_limit_s"], job["memory_limit_mb"] = 5, 1024
    hostile = verify(job)
    assert [(t.verdict, t.stdout) for t in hostile.tests] == [(Verdict.WRONG_OUTPUT, "done\n")] * 2, hostile.to_dict()
    assert not _idle_jails() & before, "the poisoned jail went back to the pool"
    after = verify(_job("after", "import os\nprint(sorted(os.listdir('/tmp')))",
                        [{"input": "", "output": "['.ag-stderr', '.ag-stdin', '.ag-stdout']"}]))
    assert after.verdict is Verdict.PASS, after.to_dict()
    POOL.close_all()


# Code run by the compiler (Nim's staticExec) writes into the work folder, the one time it
# is writable: a tree deeper than PATH_MAX and Python's recursion limit, a locked folder,
# a link out of it.
COMPILE_TIME_TREE = '''
static:
  discard staticExec("""cd /program && ln -s / root-link && mkdir locked && touch locked/f && chmod 0 locked &&
    python3 -c "import os
for _ in range(1100):
    os.mkdir('deep-folder')
    os.chdir('deep-folder')
open('secret', 'w').write('leaked')"
    """)
echo "done"
'''


def test_what_a_compile_step_leaves_in_the_work_folder_never_reaches_the_next_program(requires):
    requires("nim")
    POOL.close_all()
    hostile = verify({"id": "compile-tree", "language": "nim", "code": COMPILE_TIME_TREE,
                      "tests": [{"input": "", "output": "not this"}], "time_limit_s": TIME_LIMIT_S})
    assert hostile.verdict is Verdict.WRONG_OUTPUT, hostile.to_dict()
    after = verify({"id": "after-compile-tree", "language": "nim", "time_limit_s": TIME_LIMIT_S,
                    "code": 'import os\nfor kind, path in walkDir("/program"): echo path\necho "end"\n',
                    "tests": [{"input": "", "output": "/program/main\n/program/main.nim\nend\n"}]})
    assert after.verdict is Verdict.PASS, after.to_dict()
    POOL.close_all()
