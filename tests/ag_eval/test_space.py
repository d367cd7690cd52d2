"""The metric card and the io_pass_at_k Hub Space folder (built, loaded, uploaded to a fake Hub)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")

import json
import runpy
import sys
import types
from pathlib import Path

import evaluate
import pytest
import yaml
from click.testing import CliRunner

from ag_eval import space
from ag_eval.metric_loader import metric_dir, metric_script
from agnostics.cli import main

SECTIONS = [
    "## Metric Description", "## How to Use", "### Inputs", "### Output Values", "### Examples",
    "## Limitations and Bias", "## Citation",
]


def _header_and_body(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


def test_packaged_card_is_the_rendered_template():
    assert space.card_in_sync(), "re-render ag_eval/io_pass_at_k/README.md with ag_eval.space.render_metric_card()"


def test_card_has_the_space_header_and_the_fixed_sections_in_order():
    header, body = _header_and_body(space.render_metric_card("me/io_pass_at_k"))
    assert header["sdk"] == "gradio" and header["app_file"] == "app.py"
    assert {"evaluate", "metric"} <= set(header["tags"])
    assert header["title"] == "io_pass_at_k" and header["emoji"]
    positions = [body.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert 'evaluate.load("me/io_pass_at_k")' in body


@pytest.fixture()
def dry_run_folder(tmp_path) -> Path:
    out = tmp_path / "io_pass_at_k"
    result = CliRunner().invoke(
        main, ["metric", "push", "--repo-id", "me/io_pass_at_k", "--dry-run", "--out", str(out), "--language", "lua"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_dry_run_writes_the_space_folder_and_uploads_nothing(dry_run_folder):
    names = sorted(p.name for p in dry_run_folder.iterdir())
    assert names == ["README.md", "app.py", "io_pass_at_k.py", "packages.txt", "requirements.txt"]
    assert (dry_run_folder / "io_pass_at_k.py").read_text() == metric_script().read_text()
    reqs = (dry_run_folder / "requirements.txt").read_text().split()
    assert any(r.startswith("agnostics") for r in reqs) and any(r.startswith("evaluate") for r in reqs)
    assert (dry_run_folder / "packages.txt").read_text().split() == ["lua5.4"]
    assert "evaluate.load(\"me/io_pass_at_k\")" in (dry_run_folder / "README.md").read_text()


def test_dry_run_module_loads_with_evaluate_from_the_folder_and_scores(dry_run_folder):
    metric = evaluate.load(str(dry_run_folder), keep_in_memory=True)
    assert metric.name == "io_pass_at_k"
    out = metric.compute(
        predictions=[["```lua\nprint(io.read('n') + 1)\n```"]], references=[[{"input": "41\n", "output": "42\n"}]],
        language="lua", k=1,
    )
    assert out["pass@1"] == 1.0


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside evaluate's widget helper
def test_space_app_serves_the_widget_for_its_language(dry_run_folder, monkeypatch):
    """app.py runs under a stand-in gradio; the widget's compute scores a Lua candidate."""
    built = {}

    class Interface:
        def __init__(self, **kwargs):
            built.update(kwargs)

        def launch(self):
            built["launched"] = True

    fake = types.ModuleType("gradio")
    fake.Interface = Interface
    fake.inputs = types.SimpleNamespace(Dataframe=lambda **kw: ("dataframe", kw))
    fake.outputs = types.SimpleNamespace(Textbox=lambda **kw: ("textbox", kw))
    monkeypatch.setitem(sys.modules, "gradio", fake)
    monkeypatch.setenv("IO_PASS_AT_K_LANGUAGE", "lua")
    monkeypatch.setattr(sys, "path", [str(dry_run_folder), *sys.path])  # a Space runs app.py from its folder
    runpy.run_path(str(dry_run_folder / "app.py"), run_name="__main__")
    assert built["launched"] and built["title"] == "Metric: io_pass_at_k"
    assert "## How to Use" in built["article"]

    import pandas as pd

    table = pd.DataFrame({
        "predictions": [json.dumps(["```lua\nprint(42)\n```", "```lua\nprint(7)\n```"])],
        "references": [json.dumps([{"input": "", "output": "42\n"}])],
    })
    out = built["fn"](table)
    assert out["pass@1"] == 0.5 and "pass@10" not in out  # default k=(1, 10, 100), two candidates


def test_push_creates_a_gradio_space_and_uploads_the_folder(monkeypatch):
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))
            return f"https://huggingface.co/spaces/{repo_id}"

        def upload_folder(self, *, repo_id, repo_type, folder_path, commit_message):
            files = sorted(p.name for p in Path(folder_path).iterdir())
            calls.append(("upload_folder", repo_id, {"repo_type": repo_type, "files": files}))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    result = CliRunner().invoke(main, ["metric", "push", "--repo-id", "me/io_pass_at_k", "--private"])
    assert result.exit_code == 0, result.output
    assert calls[0] == (
        "create_repo", "me/io_pass_at_k",
        {"repo_type": "space", "space_sdk": "gradio", "private": True, "exist_ok": True},
    )
    assert calls[1][2] == {
        "repo_type": "space", "files": ["README.md", "app.py", "io_pass_at_k.py", "packages.txt", "requirements.txt"],
    }
    assert "https://huggingface.co/spaces/me/io_pass_at_k" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo-id", "io_pass_at_k"], "is not of the form ORG/NAME"),
        (["--repo-id", "me/io_pass_at_k", "--language", "klingon"], "unknown language 'klingon'"),
    ],
)
def test_bad_push_arguments_are_one_clear_error_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "space"
    result = CliRunner().invoke(main, ["metric", "push", *args, "--dry-run", "--out", str(out)])
    assert result.exit_code != 0 and message in result.output
    assert not out.exists()


def test_installed_metric_folder_holds_module_and_card():
    assert (metric_dir() / "io_pass_at_k.py").is_file() and (metric_dir() / "README.md").is_file()
