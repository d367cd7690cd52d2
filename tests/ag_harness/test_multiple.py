"""MultiPL-E mode: rows of the real layout, cut at stop tokens, judged by exit status."""

import json

import pytest

from ag_harness import EvalConfig, EvalError, run_eval
from ag_harness.multiple import LUAUNIT_FALLBACK, configs_for, cut_at_stop, is_multiple, to_code
from ag_harness.store import load_samples

from .conftest import MULTIPLE

LUA = {
    "HumanEval_23_strlen": ["    return #string\nend\n\nlocal function unused()\nend",  # right, junk after a stop token
                            "    return 0\nend\n"],                                   # wrong
    "HumanEval_30_get_positive": [
        "    local out = {}\n    for _, v in ipairs(l) do\n        if v > 0 then table.insert(out, v) end\n"
        "    end\n    return out\nend\n-- a trailing comment",
    ] * 2,
}
R = {
    "HumanEval_23_strlen": ["\n    return(nchar(string))\n}",  # an integer, not the double the tests want
                            "\n    nchar(string) + 1\n}"],
    "HumanEval_30_get_positive": ["\n    p <- l[l > 0]\n    if (length(p) == 0) return(c())\n    p\n}\n# trailing",
                                  "\n    l\n}"],
}


def answer(req, i):
    name = "HumanEval_23_strlen" if "strlen" in req.text else "HumanEval_30_get_positive"
    return (LUA if "local function" in req.text else R)[name][i]


def test_multiple_rows_are_judged_by_exit_status(tmp_path, requires, scripted):
    requires("lua")
    requires("r")
    backend = scripted(answer)
    cfg = EvalConfig(model="scripted", dataset=str(MULTIPLE), config="humaneval", languages=["lua", "r"],
                     n_samples=2, out_dir=str(tmp_path / "run"), workers=2)
    summary = run_eval(cfg, backend=backend)
    scores = {(r["dataset"], r["language"]): r["pass@1"] for r in summary["results"]}
    assert scores == {("multipl-e/humaneval", "lua"): pytest.approx(0.75), ("multipl-e/humaneval", "r"): pytest.approx(0.25)}
    lua_rows = [json.loads(line) for line in (MULTIPLE / "humaneval-lua" / "test.jsonl").read_text().splitlines()]
    sent = {r.text: r for r in backend.requests}
    for row in lua_rows:  # the raw prompt and MultiPL-E's stop tokens reach the backend
        assert sent[row["prompt"]].stop == row["stop_tokens"]
    samples = load_samples(tmp_path / "run")
    right = samples[("multipl-e/humaneval", "lua", "HumanEval_23_strlen", 0)]
    assert right["verdict"] == "pass" and "unused" not in right["code"]
    assert right["code"].endswith(lua_rows[0]["tests"])
    assert samples[("multipl-e/humaneval", "lua", "HumanEval_23_strlen", 1)]["verdict"] == "runtime_error"


def test_chat_style_extracts_the_function(tmp_path, requires, scripted):
    requires("lua")

    def reply(req, i):
        if "strlen" in req.messages[-1]["content"]:
            return "Here:\n```lua\nlocal function strlen(string)\n    return #string\nend\n```"
        return "No idea."

    cfg = EvalConfig(model="scripted", dataset=str(MULTIPLE), config="humaneval-lua", n_samples=1,
                     multiple_style="chat", out_dir=str(tmp_path / "run"), workers=2)
    summary = run_eval(cfg, backend=scripted(reply))
    [result] = summary["results"]
    assert result["pass@1"] == pytest.approx(0.5)
    assert result["verdicts"]["no_code"] == 1


def test_stop_tokens_cut_at_the_first():
    assert cut_at_stop("a\nb\n--c\nlocal d", ["\nlocal", "\n--"]) == "a\nb"
    assert cut_at_stop("nothing to cut", ["\n\n"]) == "nothing to cut"


def test_language_names_map_to_multiple_codes():
    assert to_code("julia") == "jl" and to_code("ocaml") == "ml" and to_code("lua") == "lua"
    cfg = EvalConfig(model="m", dataset="nuprl/MultiPL-E", config="mbpp", languages=["julia", "r"], out_dir="x")
    assert configs_for(cfg) == [("mbpp-jl", "jl"), ("mbpp-r", "r")]
    assert is_multiple("nuprl/MultiPL-E", None) and is_multiple(str(MULTIPLE), None)
    assert not is_multiple("ag-mbpp-x", None)


def test_config_and_language_must_agree():
    cfg = EvalConfig(model="m", dataset="nuprl/MultiPL-E", config="humaneval-lua", languages=["r"], out_dir="x")
    with pytest.raises(EvalError, match="humaneval-lua"):
        configs_for(cfg)


def test_unsupported_language_is_refused_with_reason(tmp_path):
    cfg = EvalConfig(model="m", dataset="nuprl/MultiPL-E", config="humaneval-rkt", out_dir=str(tmp_path))
    with pytest.raises(EvalError, match="rackunit"):
        run_eval(cfg, backend=object())


def test_luaunit_stand_in_is_only_used_without_luaunit():
    assert LUAUNIT_FALLBACK.startswith('if not pcall(require, "luaunit")')
