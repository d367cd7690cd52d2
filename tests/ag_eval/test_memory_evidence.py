"""A CPU-limit kill is a timeout even when the calling process is large (a trainer or an
evaluate process): the peak RSS Linux reports for a spawned child starts at the caller's."""

from ag_eval.engine import verify


def test_loop_is_timeout_and_bomb_is_memory_limit_from_a_large_caller(requires):
    requires("lua")
    ballast = bytearray(700 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    loop = verify({"id": "loop", "language": "lua", "code": "while true do end\n",
                   "tests": [{"input": "", "output": ""}], "time_limit_s": 1})
    bomb = verify({"id": "bomb", "language": "lua", "code": "local t = {} for i = 1, 1e9 do t[i] = i end\n",
                   "tests": [{"input": "", "output": ""}], "time_limit_s": 5, "memory_limit_mb": 128})
    del ballast
    assert loop.verdict.value == "timeout"
    assert bomb.verdict.value == "memory_limit"
