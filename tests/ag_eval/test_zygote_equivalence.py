"""A runner's zygote is only a faster start: every program must print the same stdout and
stderr, and end with the same status, as through the runner's plain `run` command.

Each runner with a `zygote:` command runs its self-tests and its corpus
(tests/data/zygote_equivalence/<runner>.yaml: programs that lean on the interpreter's own
semantics: auto-printing, exits, errors, warnings, stdin, teardown) both ways, and any
difference fails. The corpus prints nothing that differs between two plain runs (no pids,
addresses or clocks), so every difference is the zygote's.
"""

from pathlib import Path

import pytest
import yaml

from ag_eval.engine import NO_ZYGOTE_ENV, verify_many
from ag_eval.runners import get_registry
from ag_eval.selftest import selftest_jobs

CORPUS = Path(__file__).parent.parent / "data" / "zygote_equivalence"
ZYGOTE_RUNNERS = [r for r in get_registry() if r.zygote]


def corpus(runner) -> list[dict]:
    path = CORPUS / f"{runner.name}.yaml"
    assert path.is_file(), f"runner {runner.name!r} has a zygote but no equivalence corpus: write {path}"
    return yaml.safe_load(path.read_text())


def corpus_jobs(runner) -> list[dict]:
    jobs = [{"id": f"{runner.name}/{p['name']}", "language": runner.name, "code": p["code"], "time_limit_s": 5,
             "tests": [{"input": i, "output": ""} for i in p.get("inputs", [""])]}
            for p in corpus(runner)]
    return jobs + [dict(job, id=f"{runner.name}/selftest/{job['id']}") for job in selftest_jobs(runner)]


def observed(results) -> dict[str, list]:
    # The one thing normalised: a timed-out test's signal, which says whether the CPU limit
    # (SIGXCPU) or the wall-clock deadline (SIGKILL) came first, a race decided by the load
    # of the machine, not by the program.
    return {r.id: [r.verdict.value, r.compile and r.compile.status]
            + [(t.verdict.value, t.exit_code, None if t.verdict.value == "timeout" else t.signal, t.stdout, t.stderr)
               for t in r.tests] for r in results}


def test_shipped_zygote_runners_are_covered():
    names = {r.name for r in ZYGOTE_RUNNERS}
    assert {"python", "r", "lua"} <= names
    for runner in ZYGOTE_RUNNERS:
        assert (CORPUS / f"{runner.name}.yaml").is_file(), f"no equivalence corpus for {runner.name}"


@pytest.mark.parametrize("runner", ZYGOTE_RUNNERS, ids=[r.name for r in ZYGOTE_RUNNERS])
def test_zygote_prints_and_exits_as_the_plain_run_does(runner, requires, monkeypatch):
    requires(runner.name)
    jobs = corpus_jobs(runner)
    monkeypatch.delenv(NO_ZYGOTE_ENV, raising=False)
    zygote = observed(verify_many(jobs, workers=2))
    monkeypatch.setenv(NO_ZYGOTE_ENV, "1")
    plain = observed(verify_many(jobs, workers=2))
    known = {f"{runner.name}/{p['name']}" for p in corpus(runner) if p.get("known_difference")}
    differences = [f"{job_id}\n  zygote: {zygote[job_id]!r}\n  plain:  {plain[job_id]!r}"
                   for job_id in plain if (zygote[job_id] != plain[job_id]) != (job_id in known)]
    assert not differences, (f"{len(differences)} of {len(jobs)} programs differ (or, marked known_difference, "
                             "no longer differ):\n" + "\n".join(differences))
