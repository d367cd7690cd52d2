"""`agnostics languages --json` and `--markdown` (ag_eval.languages) describe every runner, for tools and the README."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ag_eval.languages import language_info, markdown_table, measure_startup
from ag_eval.runners import get_registry
from agnostics.cli import main

KEYS = {"name", "display_name", "aliases", "installed", "version", "packages", "compile", "run", "zygote", "selftests"}


@pytest.fixture(scope="module")
def listing():
    result = CliRunner().invoke(main, ["languages", "--json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)}


def test_json_lists_every_runner_with_its_facts(listing):
    registry = get_registry()
    assert sorted(listing) == registry.names()
    for name, row in listing.items():
        runner = registry.get(name)
        assert KEYS <= set(row), name
        assert row["installed"] is runner.installed
        assert row["selftests"] == len(runner.selftests)
        assert row["zygote"] is (runner.zygote is not None)
        assert row["packages"] == list(runner.packages)
        assert (row["compile"] is None) is (not runner.compiled)
        assert (row["version"] is None) is (not runner.installed)


def test_json_shows_the_templates_and_entry_point(listing):
    java = listing["java"]
    assert java["source_file"] == "{{ entry }}.java"
    assert java["run"].startswith("java ") and java["run"].endswith("{{ entry }}")
    assert java["entry_point"]["default"] == "Main"
    assert listing["lua"]["entry_point"] is None and listing["lua"]["zygote"] is True


def test_markdown_table_has_one_row_per_runner_and_escapes_pipes():
    rows = [language_info(r, version=False) for r in get_registry()]
    rows[0] = {**rows[0], "run": "sh -c 'a | b'", "startup_s": 0.0123}
    table = markdown_table(rows).splitlines()
    assert table[0].startswith("| Language |") and len(table) == 2 + len(rows)
    assert "a \\| b" in table[2] and "12 ms" in table[2]
    assert all(line.count(" | ") == 5 for line in table[2:])


def test_startup_is_measured_in_the_sandbox(requires):
    requires("lua")
    seconds = measure_startup(get_registry().get("lua"))
    assert seconds is not None and 0 < seconds < 1


def test_json_and_subcommand_do_not_mix():
    result = CliRunner().invoke(main, ["languages", "--json", "check", "lua"])
    assert result.exit_code != 0 and "without a subcommand" in result.output
