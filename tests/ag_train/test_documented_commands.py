"""Every KEY=VALUE example of docs/ and of the recipes' comments is accepted by `agnostics train --dry-run`,
for the number of processes its launch command starts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RECIPE = "recipes/grpo/qwen3-4b-lua.yaml"
KEY_VALUE = re.compile(r"^(?:[a-z_]+\.)?[a-z_]+=\S+$")


def _commands(text: str) -> list[str]:
    """Shell command lines (continuations joined) that run `agnostics train`."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines()
            if "agnostics train" in line and line.split()[0] in ("agnostics", "accelerate", "torchrun")
            or line.startswith("CUDA_VISIBLE_DEVICES") and "agnostics train" in line]


def _launch(line: str) -> dict:
    """recipe, overrides and process count of one documented `agnostics train` command."""
    before, after = line.split("agnostics train", 1)
    words = shlex.split(after.split("#", 1)[0])
    recipe = words[0] if words and words[0].endswith(".yaml") else DEFAULT_RECIPE
    launcher = shlex.split(before.lstrip("# "))
    processes = 1
    if "--config_file" in launcher:
        processes = yaml.safe_load((ROOT / launcher[launcher.index("--config_file") + 1]).read_text())["num_processes"]
    for flag in ("--num_processes", "--nproc_per_node"):
        if flag in launcher:
            processes = int(launcher[launcher.index(flag) + 1])
    if "--num-processes" in words:
        processes = int(words[words.index("--num-processes") + 1])
    return {"recipe": recipe, "overrides": [w for w in words if KEY_VALUE.match(w)], "processes": processes}


def _examples() -> list[tuple[str, dict]]:
    out = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text()
        where = path.relative_to(ROOT)
        blocks = "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S))
        out += [(f"{where}: {line.strip()}", _launch(line)) for line in _commands(blocks)]
        for span in re.findall(r"`([^`\n]+)`", text):  # inline examples in the prose about training
            if path.name == "training.md" and KEY_VALUE.match(span):
                out.append((f"{where}: `{span}`", {"recipe": DEFAULT_RECIPE, "overrides": [span], "processes": 1}))
    for path in sorted((ROOT / "recipes").rglob("*.yaml")):
        comments = "\n".join(m.strip() for m in re.findall(r"#(.*)$", path.read_text(), flags=re.M))
        where = path.relative_to(ROOT)
        recipe = str(where) if where.parts[1] == "grpo" else DEFAULT_RECIPE
        for line in _commands(comments):
            example = _launch(line.replace("RECIPE", recipe))
            out.append((f"{where}: {line.strip()}", example))
        for word in re.findall(r"\S+", re.sub(r"agnostics train.*", "", comments)):
            if KEY_VALUE.match(word.strip("`,.;()")):
                out.append((f"{where}: {word}", {"recipe": recipe, "overrides": [word.strip("`,.;()")],
                                                 "processes": 1}))
    unique: dict[tuple, tuple[str, dict]] = {}
    for where, e in out:
        if e["overrides"] or e["processes"] > 1:  # a bare recipe: test_recipe.py dry-runs every one
            unique.setdefault((e["recipe"], tuple(e["overrides"]), e["processes"]), (where, e))
    return list(unique.values())


EXAMPLES = _examples()


def test_the_docs_and_recipes_have_examples_to_check():
    assert len(EXAMPLES) >= 10
    assert any("grpo.report_to=wandb" in e["overrides"] for _, e in EXAMPLES)
    assert any(e["processes"] == 8 for _, e in EXAMPLES) and any(e["processes"] == 16 for _, e in EXAMPLES)


@pytest.mark.parametrize("example", [e for _, e in EXAMPLES], ids=[w for w, _ in EXAMPLES])
def test_documented_example_is_accepted_by_dry_run(example, tmp_path, tiny_dataset):
    from agnostics.cli import main

    args = ["train", str(ROOT / example["recipe"]), *example["overrides"], "--dry-run",
            "--num-processes", str(example["processes"]), "--output-dir", str(tmp_path / "run")]
    if example["recipe"].endswith("tiny-cpu.yaml"):
        args.append(f"dataset={tiny_dataset}")  # keep the test off the embedded build
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
