"""Shared fixtures: tiny problem rows in the view's columns and a Hub-layout folder of them."""

from __future__ import annotations

import pytest

# Two stdin/stdout problems with known programs in Lua and Python.
SUM = {"statement": "Read two integers a and b from one line and print a + b.",
       "tests": [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]}
DOUBLE = {"statement": "Read one integer n and print 2 * n.",
          "tests": [{"input": "21\n", "output": "42\n"}, {"input": "-1\n", "output": "-2\n"}]}

SOLUTIONS = {
    ("sum", "lua"): "local a, b = io.read('n', 'n')\nprint(a + b)\n",
    ("sum", "python"): "a, b = map(int, input().split())\nprint(a + b)\n",
    ("double", "lua"): "print(2 * io.read('n'))\n",
    ("double", "python"): "print(2 * int(input()))\n",
}


def problem(pid: str, spec: dict, split: str) -> dict:
    from ag_datasets.schema import Problem

    return Problem(problem_id=f"{pid}-{split}", source="test", source_id=pid, title=pid, statement=spec["statement"],
                   tests=spec["tests"], time_limit_s=2.0, memory_limit_mb=256).to_row()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A Hub-layout folder with both problems in each of train, validation and test."""
    from ag_datasets.hub import CardInfo, write_hub_folder
    from ag_datasets.report import BuildReport

    folder = tmp_path_factory.mktemp("tiny-problems")
    splits = {split: [problem("sum", SUM, split), problem("double", DOUBLE, split)]
              for split in ("train", "validation", "test")}
    card = CardInfo(pretty_name="Tiny", repo_id="local/tiny", license="mit", license_note="test data",
                    citation="", description="Two problems for tests.")
    write_hub_folder(folder, {"default": splits}, BuildReport(name="tiny", source="tests", converter="source"), card)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from ag_train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
