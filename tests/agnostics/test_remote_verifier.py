"""Our own commands judged on a verifier service (`agnostics serve` on loopback): the same
results as judging here, retries through a 429 and through a service that dies and comes
back, and `sandbox_error` (never a program's failure) once the retries are spent."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time

import pytest
from click.testing import CliRunner

from ag_eval import AgnosticsError, Verdict, load_metric, verify_many
from ag_eval.executors.remote import RemoteVerifier

LUA_SUM = "local a, b = io.read('n', 'n')\nprint(a + b)\n"
SUM_TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "40 2\n", "output": "42\n"}, {"input": "5 5\n", "output": "10\n"}]
SLEEPY_PY = "import time\ntime.sleep({s})\nprint(input())\n"


def _jobs() -> list[dict]:
    """Every kind of outcome, with copies (judged once) and a malformed job."""
    lua = lambda code, **kw: {"language": "lua", "code": code, "tests": SUM_TESTS, **kw}  # noqa: E731
    jobs = [
        {"id": "pass", **lua(LUA_SUM)},
        {"id": "pass-copy", **lua(LUA_SUM)},
        {"id": "wrong-second", **lua("local a = io.read('n')\nprint(a == 1 and 3 or 0)\n")},
        {"id": "crash", **lua("error('boom')")},
        {"id": "timeout", **lua("while true do end", time_limit_s=1)},
        {"id": "no-code", "language": "lua", "completion": "I cannot answer.", "tests": SUM_TESTS},
        {"id": "fenced", "language": "lua", "completion": f"Sum:\n```lua\n{LUA_SUM}```\n", "tests": SUM_TESTS},
        {"id": "unknown-language", "language": "no-such-language", "code": "x", "tests": SUM_TESTS},
        {"id": "malformed", "language": "lua", "tests": SUM_TESTS},
    ]
    return jobs


def _comparable(result) -> dict:
    d = result.to_dict(include_code=True)
    d.pop("time_s")
    for test in d["tests"]:
        test.pop("time_s")
    if d["compile"]:
        d["compile"].pop("time_s")
    return d


def _metric_value(server, name: str) -> float:
    text = server.get("/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


@pytest.fixture(scope="module")
def pool(serve):
    """The CPU pool: a service with a token, as GPU nodes reach it."""
    return serve("--workers", "2", token="pool-token-for-tests")


@pytest.fixture
def no_env(monkeypatch):
    for name in ("AGNOSTICS_VERIFIER_URL", "AGNOSTICS_VERIFIER_TOKEN", "AGNOSTICS_VERIFIER_RETRIES"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("fail_fast", [False, True])
def test_verify_many_on_a_service_gives_the_local_results(pool, requires, no_env, fail_fast):
    requires("lua")
    local = verify_many(_jobs(), workers=2, fail_fast=fail_fast)
    judged_before = _metric_value(pool, "agnostics_verdicts_total")
    remote = verify_many(_jobs(), fail_fast=fail_fast, verifier_url=pool.url, verifier_token=pool.token)
    assert [_comparable(r) for r in remote] == [_comparable(r) for r in local]
    assert [r.verdict for r in remote][:5] == [Verdict.PASS, Verdict.PASS, Verdict.WRONG_OUTPUT,
                                              Verdict.RUNTIME_ERROR, Verdict.TIMEOUT]
    assert remote[1].reused and not remote[0].reused  # the copy was judged once, on this side
    # sent: every job but the two copies (one fenced in a completion) and the malformed one
    assert _metric_value(pool, "agnostics_verdicts_total") - judged_before == len(_jobs()) - 3


def test_verify_batch_with_verifier_url_writes_the_local_results(pool, requires, no_env, tmp_path):
    from agnostics.cli import main

    requires("lua")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(j) + "\n" for j in _jobs()) + "{not json\n", encoding="utf-8")
    token = tmp_path / "token"
    token.write_text(pool.token + "\n")
    token.chmod(0o600)
    here, there = tmp_path / "here.jsonl", tmp_path / "there.jsonl"
    res = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs), "--output", str(here), "--no-progress"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["verify-batch", "--input", str(jobs), "--output", str(there), "--no-progress",
                                    "--verifier-url", pool.url, "--verifier-token-file", str(token)])
    assert res.exit_code == 0, res.output

    def rows(path):
        out = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row.pop("time_s")
            for test in row["tests"]:
                test.pop("time_s")
            if row["compile"]:
                row["compile"].pop("time_s")
            out[row["id"]] = row
        return out

    assert rows(there) == rows(here) and len(rows(here)) == len(_jobs()) + 1


def test_a_wrong_token_is_one_clear_error(pool, requires, no_env):
    requires("lua")
    with pytest.raises(AgnosticsError, match="refused the token"):
        verify_many(_jobs()[:1], verifier_url=pool.url, verifier_token="wrong")


def test_metric_on_a_service_from_the_environment(pool, requires, monkeypatch):
    requires("lua")
    candidates = [[f"```lua\n{LUA_SUM}```", "```lua\nprint(3)\n```", "no code"]]
    metric = load_metric()
    monkeypatch.delenv("AGNOSTICS_VERIFIER_URL", raising=False)
    local = metric.compute(predictions=candidates, references=[SUM_TESTS], language="lua", k=[1, 2])
    monkeypatch.setenv("AGNOSTICS_VERIFIER_URL", pool.url)
    monkeypatch.setenv("AGNOSTICS_VERIFIER_TOKEN", pool.token)
    judged_before = _metric_value(pool, "agnostics_verdicts_total")
    remote = metric.compute(predictions=candidates, references=[SUM_TESTS], language="lua", k=[1, 2])
    assert remote == local and local["results"][0][1]["verdict"] == "wrong_output"
    assert _metric_value(pool, "agnostics_verdicts_total") - judged_before == 3  # every candidate, judged there


def test_reward_function_on_a_service_scores_as_here(pool, requires, monkeypatch):
    from ag_train.rewards import get_reward_function

    requires("lua")
    completions = [f"```lua\n{LUA_SUM}```", "```lua\nprint(3)\n```", "no code at all"]
    columns = {"language": ["lua"] * 3, "tests": [SUM_TESTS] * 3, "problem_id": ["sum"] * 3}
    reward = get_reward_function("io_partial")
    monkeypatch.setenv("AGNOSTICS_VERIFIER_URL", pool.url)
    monkeypatch.setenv("AGNOSTICS_VERIFIER_TOKEN", pool.token)
    judged_before = _metric_value(pool, "agnostics_verdicts_total")
    rewards = asyncio.run(reward(prompts=["p"] * 3, completions=completions, **columns))
    assert rewards == [1.0, pytest.approx(1 / 3), 0.0]
    assert _metric_value(pool, "agnostics_verdicts_total") - judged_before == 3  # judged there


def test_reward_function_built_with_a_verifier_url(pool, requires, no_env):
    from ag_train.rewards import get_reward_function

    requires("lua")
    reward = get_reward_function("io_pass_sync", verifier_url=pool.url, verifier_token=pool.token)
    judged_before = _metric_value(pool, "agnostics_verdicts_total")
    rewards = reward(prompts=["p"] * 2, completions=[f"```lua\n{LUA_SUM}```", "```lua\nprint(3)\n```"],
                     language=["lua"] * 2, tests=[SUM_TESTS] * 2)
    assert rewards == [1.0, 0.0]
    assert _metric_value(pool, "agnostics_verdicts_total") - judged_before == 2


def test_training_rewards_go_to_the_service_with_its_own_in_flight_default(pool, requires, no_env):
    from ag_eval.executors.remote import remote_verifier
    from ag_train.demo import tiny_recipe_path
    from ag_train.recipe import load_recipe
    from ag_train.train import _reward_functions

    requires("lua")
    recipe = load_recipe(tiny_recipe_path(), ["reward.workers=null"])
    reward = _reward_functions(recipe, remote_verifier(pool.url, pool.token))[0]
    assert reward.workers is None  # the remote executor's default, not this node's cores
    judged_before = _metric_value(pool, "agnostics_verdicts_total")
    out = reward(prompts=["p"], completions=[f"```lua\n{LUA_SUM}```"], language=["lua"], tests=[SUM_TESTS])
    out = asyncio.run(out) if asyncio.iscoroutine(out) else out
    assert out == [1.0] and _metric_value(pool, "agnostics_verdicts_total") - judged_before == 1


def test_a_busy_service_answers_429_and_the_batch_waits_its_turn(serve, requires, no_env):
    requires("python")
    busy = serve("--workers", "1", "--max-inflight", "1")
    hog = threading.Thread(target=busy.post, args=("/verify",), kwargs={"json": {
        "id": "hog", "language": "python", "code": SLEEPY_PY.format(s=2), "tests": [{"input": "h\n", "output": "h\n"}]}})
    hog.start()
    deadline = time.monotonic() + 30
    while _metric_value(busy, "agnostics_inflight_jobs") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    rejected_before = _metric_value(busy, "agnostics_rejected_jobs_total")
    results = verify_many([{"id": "mine", "language": "python", "code": "print(input())",
                            "tests": [{"input": "m\n", "output": "m\n"}]}], verifier_url=busy.url)
    hog.join()
    assert results[0].verdict is Verdict.PASS, results[0].to_dict()
    assert _metric_value(busy, "agnostics_rejected_jobs_total") > rejected_before  # it was told 429 first


def _sleepy_jobs(n: int, seconds: float) -> list[dict]:
    return [{"id": f"s{i}", "language": "python", "code": SLEEPY_PY.format(s=seconds),
             "tests": [{"input": f"{i}\n", "output": f"{i}\n"}]} for i in range(n)]


def _run_in_thread(jobs, remote) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.extend(verify_many(jobs, verifier_url=remote, dedupe=False)))
    thread.start()
    return thread, out


def _wait_running(server, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while _metric_value(server, "agnostics_running_jobs") < 1:
        assert time.monotonic() < deadline, "the service never started a job"
        time.sleep(0.05)


def test_jobs_in_flight_when_the_service_dies_are_judged_by_its_successor(serve, requires, no_env):
    requires("python")
    first = serve("--workers", "2")
    port = int(first.url.rsplit(":", 1)[1])
    thread, results = _run_in_thread(_sleepy_jobs(6, 1.0), RemoteVerifier(first.url, chunk_size=2, retries=8))
    _wait_running(first)
    first.stop(signal.SIGKILL)
    second = serve("--workers", "2", port=port)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert [r.verdict for r in results] == [Verdict.PASS] * 6, [r.to_dict() for r in results]
    assert _metric_value(second, "agnostics_verdicts_total") >= 1  # the successor judged what was lost


def test_a_service_that_stays_down_gives_sandbox_errors_never_wrong_verdicts(serve, requires, no_env):
    requires("python")
    server = serve("--workers", "2")
    thread, results = _run_in_thread(_sleepy_jobs(6, 1.0), RemoteVerifier(server.url, chunk_size=1, retries=2))
    _wait_running(server)
    server.stop(signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    verdicts = [r.verdict for r in results]
    assert set(verdicts) <= {Verdict.PASS, Verdict.SANDBOX_ERROR} and Verdict.SANDBOX_ERROR in verdicts, verdicts
    lost = next(r for r in results if r.verdict is Verdict.SANDBOX_ERROR)
    assert server.url in lost.error and "3 attempt(s)" in lost.error and lost.id.startswith("s")


def test_rewards_are_none_when_the_service_stays_down(requires, monkeypatch):
    from ag_train.rewards import get_reward_function

    from .conftest import free_port

    requires("lua")
    monkeypatch.setenv("AGNOSTICS_VERIFIER_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AGNOSTICS_VERIFIER_RETRIES", "1")
    reward = get_reward_function("io_pass")
    rewards = asyncio.run(reward(prompts=["p"] * 2, completions=[f"```lua\n{LUA_SUM}```", "```lua\nprint(3)\n```"],
                                 language=["lua"] * 2, tests=[SUM_TESTS] * 2))
    assert rewards == [None, None]


def test_a_verifier_url_and_another_executor_are_refused(no_env):
    with pytest.raises(AgnosticsError, match="drop one of them"):
        verify_many(_jobs()[:1], executor="threads", verifier_url="http://127.0.0.1:9")
    with pytest.raises(AgnosticsError, match="base URL"):
        verify_many(_jobs()[:1], verifier_url="http://127.0.0.1:9/verify")


class _Scripted:
    """A generation backend answering every prompt with the same completions."""

    name = "scripted"

    def __init__(self, answers: list[str]):
        self.answers = answers

    def generate(self, requests, sampling):
        for req in requests:
            yield req.index, [self.answers[i % len(self.answers)] for i in range(req.n)]

    def describe(self):
        return {"backend": self.name}

    def close(self):
        pass


def test_eval_on_a_service_gives_the_local_verdicts(pool, requires, no_env, tmp_path):
    from ag_harness import EvalConfig, run_eval
    from ag_harness.store import load_samples

    requires("lua")
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps({"problem_id": "toy/sum", "title": "Sum", "statement": "Print the sum.",
                                    "tests": SUM_TESTS}) + "\n", encoding="utf-8")
    token = tmp_path / "token"
    token.write_text(pool.token)
    answers = [f"```lua\n{LUA_SUM}```", "```lua\nprint(3)\n```", "no code"]
    runs = {}
    for where, options in (("here", {}), ("there", {"verifier_url": pool.url, "verifier_token_file": str(token)})):
        cfg = EvalConfig(model="scripted", dataset=str(problems), languages=["lua"], n_samples=6,
                         out_dir=str(tmp_path / where), workers=2, **options)
        run_eval(cfg, backend=_Scripted(answers))
        runs[where] = {key: (row["verdict"], row["passed"], row["code"])
                       for key, row in load_samples(tmp_path / where).items()}
    assert runs["there"] == runs["here"] and len(runs["here"]) == 6
    assert sorted(v for v, _, _ in runs["here"].values()) == ["no_code"] * 2 + ["pass"] * 2 + ["wrong_output"] * 2
