"""The distribution ships every code package, the runners, recipes, cards and the supervisor source."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("agnostics", "ag_eval", "ag_datasets", "ag_harness", "ag_train")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject [tool.setuptools] packages: {sorted(found - listed)}"


def test_data_folders_are_shipped():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert data["package-dir"]["agnostics.runners"] == "runners"
    assert "*.c" in data["package-data"]["ag_eval.supervisor"]
    assert list((ROOT / "runners").glob("*.yaml"))
