import pytest
from datasets import Dataset

from ag_datasets.build import build_dataset
from ag_datasets.errors import DatasetError
from ag_datasets.view import language_view, load_problems, render_prompt, resolve_name

from .conftest import CF_SAMPLE, LCB_SAMPLE

ROW = {"problem_id": "p/1", "title": "T", "statement": "Add two numbers.\n\n## Input format\n\nTwo integers.\n",
       "tests": [{"input": "1 2\n", "output": "3\n"}], "compare": "tokens", "time_limit_s": 2.0, "memory_limit_mb": 256}


def test_the_prompt_is_the_papers_language_agnostic_one_and_the_hint_is_opt_in():
    from ag_eval import get_runner

    lua = get_runner("lua")
    text = render_prompt(ROW, "lua")
    assert text.startswith("# Problem\n\nAdd two numbers.\n\n## Input format\n\nTwo integers.\n\n# Task\n\n")
    assert text.rstrip().endswith("Provide a full implementation of the specified program in a Markdown code block. "
                                  f"Use the following programming language: {lua.display_name}")
    assert lua.prompt_hint.strip() not in text
    assert render_prompt(ROW, "lua", include_hint=True).rstrip().endswith(lua.prompt_hint.strip())


def test_view_rows_hold_what_evaluation_and_rewards_need():
    [row] = language_view([ROW], "lua")
    assert set(row) == {"problem_id", "prompt", "language", "tests", "compare", "time_limit_s", "memory_limit_mb"}
    assert row["prompt"][0]["role"] == "user" and row["language"] == "lua"
    assert row["tests"] == ROW["tests"] and row["compare"] == "tokens" and row["time_limit_s"] == 2.0


def test_a_dataset_in_gives_a_dataset_out_and_aliases_resolve():
    ds = Dataset.from_list([ROW])
    out = language_view(ds, "py3")
    assert isinstance(out, Dataset) and out[0]["language"] == "python"
    assert "Use the following programming language: Python" in out[0]["prompt"][0]["content"]


def test_a_custom_template_renders_with_the_problem_fields(tmp_path):
    path = tmp_path / "prompt.j2"
    path.write_text("Solve '{{ title }}' in {{ language }}:\n{{ statement }}")
    assert render_prompt(ROW, "lua", template=path).startswith("Solve 'T' in Lua:\nAdd two numbers.")
    with pytest.raises(DatasetError, match="unknown variable"):
        render_prompt(ROW, "lua", template="{{ nope }}")


def test_load_problems_reads_built_folders_and_names(tmp_path):
    folder = build_dataset("ag-livecodebench-x", source=str(LCB_SAMPLE), out_dir=tmp_path / "lcb")
    rows = load_problems(folder)
    assert rows.num_rows == 1 and rows[0]["problem_id"] == "livecodebench/1873_A"
    lua = language_view(rows, "lua")
    assert lua[0]["tests"] == rows[0]["tests"]
    cf = build_dataset("ag-codeforces-x", source=str(CF_SAMPLE), out_dir=tmp_path / "cf", n_validation=1, n_test=1)
    assert load_problems(cf, "default", split="validation").num_rows == 1
    assert resolve_name("ag-codeforces-x") == "agnostics/ag-codeforces-x"
    assert resolve_name("someone/else") == "someone/else"
    with pytest.raises(DatasetError, match="neither a folder nor a Hub id"):
        load_problems("no-such-thing")
