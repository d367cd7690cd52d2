import json

from click.testing import CliRunner

from ag_datasets import hub
from ag_datasets.build import build_dataset
from agnostics.cli import main

from .conftest import CF_SAMPLE, LCB_SAMPLE, write_jsonl


def test_build_show_and_dry_run_push_from_the_command_line(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cf"
    result = runner.invoke(main, ["datasets", "build", "ag-codeforces-x", "--source", str(CF_SAMPLE),
                                  "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "2 of 6 problems kept" in result.output and "filter: custom_checker" in result.output
    result = runner.invoke(main, ["datasets", "show", str(out), "--drops"])
    assert result.exit_code == 0 and "codeforces/1807/E\tfilter: interactive" in result.output
    result = runner.invoke(main, ["datasets", "push", str(out), "--repo-id", "me/ag-codeforces-x", "--dry-run"])
    assert result.exit_code == 0 and "would upload 3 files" in result.output


def test_a_build_that_keeps_nothing_reports_why_and_leaves_no_stale_dataset(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cf"
    build = ["datasets", "build", "ag-codeforces-x", "--out", str(out), "--no-progress", "--source"]
    assert runner.invoke(main, build + [str(CF_SAMPLE)]).exit_code == 0  # an earlier build in the same folder
    watermelon = json.loads(CF_SAMPLE.read_text().splitlines()[0])
    source = write_jsonl(tmp_path / "file_input.jsonl", [dict(watermelon, input_mode="file")])
    result = runner.invoke(main, build + [str(source)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"`agnostics datasets show {out} --drops`" in result.output
    assert not (out / "README.md").exists() and not (out / "data").exists()  # nothing stale to load or push
    result = runner.invoke(main, ["datasets", "show", str(out), "--drops"])
    assert result.exit_code == 0, result.output
    assert "0 of 1 problems kept" in result.output and "codeforces/4/A\tfilter: not_stdio" in result.output
    assert "1807/E" not in result.output  # the earlier build's drops are gone


def test_user_errors_are_one_clear_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["datasets", "build", "ag-livecodebench-x", "--source", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["datasets", "push", str(tmp_path), "--repo-id", "me/x", "--dry-run"])
    assert result.exit_code == 1 and "has no README.md" in result.output
    result = runner.invoke(main, ["datasets", "show", str(tmp_path)])
    assert result.exit_code == 1 and "build_report.json" in result.output


def test_push_creates_a_dataset_repo_and_uploads_the_folder(tmp_path, monkeypatch):
    folder = build_dataset("ag-livecodebench-x", source=str(LCB_SAMPLE), out_dir=tmp_path / "lcb")
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            calls.append(("upload_folder", kw["repo_id"], kw))

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    files = hub.push(folder, "org/ag-livecodebench-x", private=True)
    assert files == ["README.md", "build_report.json", "data/default/test-00000-of-00001.parquet"]
    (op1, repo1, kw1), (op2, repo2, kw2) = calls
    assert (op1, repo1, kw1["repo_type"], kw1["private"], kw1["exist_ok"]) == (
        "create_repo", "org/ag-livecodebench-x", "dataset", True, True)
    assert (op2, kw2["repo_type"], kw2["folder_path"]) == ("upload_folder", "dataset", str(folder))
