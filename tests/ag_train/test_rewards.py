"""The verifier reward, fed known completions: every reward checked exactly."""

from __future__ import annotations

import asyncio

import pytest
from trl.trainer.utils import get_callable_name, is_async_callable

from ag_eval.sandbox import ExecResult
from ag_train.errors import RewardError
from ag_train.rewards import completion_text, get_reward_function, reward_names

from .conftest import SOLUTIONS, SUM

LUA_SUM = SOLUTIONS[("sum", "lua")]
PY_SUM = SOLUTIONS[("sum", "python")]


def fenced(language: str, code: str) -> str:
    return f"Here is my answer.\n\n```{language}\n{code}```\n"


def columns(languages: list[str], *, time_limit_s: float = 1.0) -> dict:
    n = len(languages)
    return {"language": languages, "tests": [SUM["tests"]] * n, "compare": ["lines"] * n,
            "time_limit_s": [time_limit_s] * n, "memory_limit_mb": [256] * n, "problem_id": ["sum"] * n}


def call(reward, completions, languages, **extra):
    out = reward(prompts=[[{"role": "user", "content": "p"}]] * len(completions), completions=completions,
                 **columns(languages), **extra)
    return asyncio.run(out) if asyncio.iscoroutine(out) else out


CASES = [  # (name, language, completion, reward)
    ("correct lua", "lua", fenced("lua", LUA_SUM), 1.0),
    ("correct python", "python", fenced("python", PY_SUM), 1.0),
    ("wrong output", "lua", fenced("lua", "print(5)\n"), 0.0),
    ("crash", "python", fenced("python", "raise SystemExit(3)\n"), 0.0),
    ("lua runtime error", "lua", fenced("lua", "error('boom')\n"), 0.0),
    ("no code", "lua", "I do not know how to solve this.", 0.0),
    ("empty block", "python", "```python\n```", 0.0),
    ("python syntax error", "python", fenced("python", "def (:\n"), 0.0),
    ("sleep", "python", fenced("python", "import time\ntime.sleep(30)\n"), 0.0),
    ("busy loop", "lua", fenced("lua", "while true do end\n"), 0.0),
    ("fork bomb", "python", fenced("python", "import os\nwhile True:\n    os.fork()\n"), 0.0),
]


@pytest.mark.hostile
def test_rewards_are_exact_for_known_completions(requires):
    requires("lua")
    requires("python")
    reward = get_reward_function("io_pass")
    logged: dict[str, float] = {}
    extras: dict[str, list] = {}
    rewards = call(reward, [c[2] for c in CASES], [c[1] for c in CASES],
                   log_metric=logged.__setitem__, log_extra=extras.__setitem__)
    assert rewards == [c[3] for c in CASES], list(zip([c[0] for c in CASES], rewards))
    assert logged["verdicts/pass"] == pytest.approx(2 / len(CASES))
    assert logged["verdicts/no_code"] == pytest.approx(2 / len(CASES))
    assert logged["verdicts/sandbox_error"] == 0.0
    assert sum(v for k, v in logged.items() if k.startswith("verdicts/")) == pytest.approx(1.0)
    assert logged["pass_rate/lua"] == pytest.approx(1 / 5) and logged["pass_rate/python"] == pytest.approx(1 / 6)
    assert logged["reward/latency_s"] > 0
    assert extras["verdict"][:3] == ["pass", "pass", "wrong_output"]
    assert extras["verdict"][5] == "no_code" and extras["verdict"][8] == "timeout"


def test_chat_message_completions_use_the_last_assistant_message(requires):
    requires("lua")
    reward = get_reward_function("io_pass")
    completion = [{"role": "assistant", "content": "thinking"},
                  {"role": "tool", "content": "```lua\nprint(0)\n```"},
                  {"role": "assistant", "content": fenced("lua", LUA_SUM)}]
    assert call(reward, [completion], ["lua"]) == [1.0]
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]) == "ab"


class FaultySandbox:
    """A sandbox that cannot start: every execution reports a sandbox error."""

    def execute(self, argv, **kwargs):
        return ExecResult(exit_code=None, signal=None, wall_s=0.0, cpu_s=0.0, stdout=b"", stderr=b"",
                          sandbox_error="nsjail could not start (simulated)")


@pytest.mark.parametrize("name", ["io_pass", "io_pass_sync"])
def test_sandbox_fault_gives_none_never_zero(name, requires):
    requires("lua")
    reward = get_reward_function(name, sandbox=FaultySandbox())
    logged: dict[str, float] = {}
    rewards = call(reward, [fenced("lua", LUA_SUM), fenced("lua", "print(5)\n"), "no code at all"],
                   ["lua"] * 3, log_metric=logged.__setitem__)
    # A program that cannot be judged is None; an answer without a program needs no sandbox.
    assert rewards == [None, None, 0.0]
    assert logged["verdicts/sandbox_error"] == pytest.approx(2 / 3)


def test_partial_credit_and_penalties_are_opt_in(requires):
    requires("lua")
    half = fenced("lua", "local a, b = io.read('n', 'n')\nif a == 2 then print(5) else print(0) end\n")
    completions = [half, "no code", fenced("lua", LUA_SUM)]
    assert call(get_reward_function("io_pass"), completions, ["lua"] * 3) == [0.0, 0.0, 1.0]
    assert call(get_reward_function("io_partial"), completions, ["lua"] * 3) == [0.5, 0.0, 1.0]
    penalised = get_reward_function("io_pass", no_code_penalty=0.5, compile_error_penalty=0.25)
    assert call(penalised, completions, ["lua"] * 3) == [0.0, -0.5, 1.0]



def test_compile_error_penalty_applies_to_compiled_languages(requires):
    requires("ocaml")
    penalised = get_reward_function("io_pass", compile_error_penalty=0.25)
    assert call(penalised, [fenced("ocaml", "let x = \n")], ["ocaml"]) == [-0.25]
    assert call(get_reward_function("io_pass"), [fenced("ocaml", "let x = \n")], ["ocaml"]) == [0.0]


@pytest.mark.parametrize("name", ["io_pass", "io_pass_sync"])
def test_identical_programs_are_judged_once_unless_dedupe_is_off(name, requires):
    requires("lua")
    answer = fenced("lua", LUA_SUM)
    completions = [answer, "Same program, other words.\n" + answer, fenced("lua", "print(5)\n")]
    shared: dict[str, float] = {}
    assert call(get_reward_function(name), completions, ["lua"] * 3, log_metric=shared.__setitem__) == [1.0, 1.0, 0.0]
    assert shared["reward/reused"] == pytest.approx(1 / 3)  # the second answer's program was judged once
    each: dict[str, float] = {}
    every_copy = get_reward_function(name, dedupe=False)
    assert call(every_copy, completions, ["lua"] * 3, log_metric=each.__setitem__) == [1.0, 1.0, 0.0]
    assert each["reward/reused"] == 0.0
    with pytest.raises(RewardError, match="dedupe='no' must be True or False"):
        get_reward_function(name, dedupe="no")


def test_a_malformed_row_is_none_and_the_rest_are_judged(requires):
    requires("lua")
    cols = columns(["lua", "lua"])
    cols["memory_limit_mb"] = [8, 256]  # under the verifier's 16 MB floor
    rewards = get_reward_function("io_pass_sync")(completions=[fenced("lua", LUA_SUM)] * 2, **cols)
    assert rewards == [None, 1.0]


def test_registry_keeps_names_and_lists_valid_ones():
    for name in reward_names():
        reward = get_reward_function(name)
        assert get_callable_name(reward) == name
    assert is_async_callable(get_reward_function("io_pass"))
    assert not is_async_callable(get_reward_function("io_pass_sync"))
    with pytest.raises(RewardError, match="io_partial, io_pass, io_pass_sync"):
        get_reward_function("pass_everything")
    with pytest.raises(RewardError, match="valid options are"):
        get_reward_function("io_pass", partial=True)
    with pytest.raises(RewardError, match="must be a number >= 0"):
        get_reward_function("io_pass", no_code_penalty=-1)


def test_missing_language_column_is_a_clear_error():
    reward = get_reward_function("io_pass_sync")
    with pytest.raises(RewardError, match="no language column"):
        reward(prompts=["p"], completions=["x"], tests=[SUM["tests"]])
