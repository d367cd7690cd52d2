"""Version floors: pyproject states what the code and recipes need; a too-old library is named."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ag_train.errors import TrainError
from ag_train.versions import FLOORS, check_versions, installed_version

ROOT = Path(__file__).resolve().parents[2]


def test_the_train_extra_states_the_floors_the_code_checks():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    floors = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec).groups() for spec in extra)
    assert floors == {package: floor for package, (floor, _) in FLOORS.items()}


def test_the_installed_libraries_meet_the_floors():
    check_versions()


def test_the_recipes_use_what_the_transformers_floor_provides():
    """activation_checkpointing (transformers 5.23) and fractional warmup_steps (5.0) are TrainingArguments
    fields here; an older transformers refuses the recipes, which is why the floor is 5.23."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name: f for f in dataclasses.fields(TrainingArguments)}
    assert "activation_checkpointing" in names and "float" in str(names["warmup_steps"].type)
    assert FLOORS["transformers"][0] == "5.23"


@pytest.mark.parametrize("package, old", [("transformers", "4.56.2"), ("trl", "0.29.1"), ("torch", "2.5.1+cu121"),
                                          ("accelerate", "1.4.0")])
def test_a_library_older_than_its_floor_is_named_with_the_upgrade(package, old):
    versions = {p: installed_version(p) for p in FLOORS} | {package: old}
    floor = FLOORS[package][0]
    with pytest.raises(TrainError, match=rf"^{package} {re.escape(old)} is too old for agnostics train .* upgrade it: "
                                         rf"pip install -U '{package}>={floor}'\.$"):
        check_versions(versions.get)


def test_agnostics_train_reports_a_too_old_library(monkeypatch):
    """The command says which package to upgrade (the installed version is replaced: an old transformers cannot be
    installed next to the new one)."""
    from agnostics.cli import main

    monkeypatch.setattr("ag_train.versions.installed_version",
                        lambda package: "5.20.0" if package == "transformers" else installed_version(package))
    result = CliRunner().invoke(main, ["train", str(ROOT / "recipes/grpo/tiny-cpu.yaml"), "--dry-run"])
    assert result.exit_code != 0
    assert "transformers 5.20.0 is too old for agnostics train" in result.output
    assert "pip install -U 'transformers>=5.23'" in result.output
