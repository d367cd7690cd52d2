"""The shipped runner YAML files are well-formed, and malformed ones are rejected clearly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ag_eval.errors import RunnerError
from ag_eval.runners import RunnerRegistry, load_runner_file
from ag_eval.verdicts import Verdict

RUNNERS_DIR = Path(__file__).resolve().parents[2] / "runners"
RUNNER_FILES = sorted(RUNNERS_DIR.glob("*.yaml"))
REQUIRED_LANGUAGES = {"lua", "julia", "r", "ocaml", "fortran", "python"}
STANDARD_CASES = {"echo": Verdict.PASS, "sum": Verdict.PASS, "float": Verdict.PASS,
                  "wrong": Verdict.WRONG_OUTPUT, "runtime_error": Verdict.RUNTIME_ERROR,
                  "infinite_loop": Verdict.TIMEOUT}

MINIMAL = """\
name: {name}
source_file: main.x
run: xrun {{{{ source }}}}
version: xrun --version
executables: [xrun]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ---- the shipped runners --------------------------------------------------------------------
def test_required_languages_are_shipped():
    assert REQUIRED_LANGUAGES <= {p.stem for p in RUNNER_FILES}


@pytest.mark.parametrize("path", RUNNER_FILES, ids=lambda p: p.stem)
def test_shipped_runner_parses_and_is_named_after_its_file(path):
    runner = load_runner_file(path)
    assert runner.name == path.stem
    assert runner.display_name and runner.prompt_hint
    assert runner.fence_tags and runner.executables and runner.version
    assert runner.run_argv()
    if runner.compiled:
        assert runner.compile_argv()


@pytest.mark.parametrize("path", RUNNER_FILES, ids=lambda p: p.stem)
def test_shipped_runner_has_the_standard_selftests(path):
    runner = load_runner_file(path)
    cases = {st.name: st for st in runner.selftests}
    for name, verdict in STANDARD_CASES.items():
        assert name in cases, f"{path.name}: selftest {name!r} missing"
        assert cases[name].expect is verdict, f"{path.name}: selftest {name!r} should expect {verdict.value}"
        assert cases[name].code.strip()
    assert cases["float"].compare.startswith("float:")
    assert cases["infinite_loop"].time_limit_s <= 1
    if runner.compiled:
        assert cases["compile_error"].expect is Verdict.COMPILE_ERROR


def test_names_aliases_and_fence_tags_do_not_collide_across_files():
    owner: dict[str, str] = {}
    for path in RUNNER_FILES:
        runner = load_runner_file(path)
        for key in {k.lower() for k in (runner.name, *runner.aliases, *runner.fence_tags)}:
            assert owner.setdefault(key, runner.name) == runner.name, (
                f"{key!r} is claimed by both {owner[key]} and {runner.name}")


def test_registry_finds_every_shipped_runner_by_name_and_alias():
    registry = RunnerRegistry.from_dirs([RUNNERS_DIR])
    assert registry.names() == [p.stem for p in RUNNER_FILES]
    for runner in registry:
        for key in (runner.name, *runner.aliases):
            assert registry.get(key).name == runner.name


# ---- malformed runners ----------------------------------------------------------------------
def test_a_new_language_is_one_yaml_file(tmp_path):
    _write(tmp_path, "toy", MINIMAL.format(name="toy"))
    registry = RunnerRegistry.from_dirs([RUNNERS_DIR, tmp_path])
    toy = registry.get("toy")
    assert toy.run_argv() == ["xrun", "main.x"]
    assert toy.fence_tags == ("toy",)


def test_malformed_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "broken", "name: broken\nrun: [unclosed\n")
    with pytest.raises(RunnerError, match=r"broken\.yaml.*not valid YAML"):
        load_runner_file(path)


def test_malformed_yaml_in_a_folder_stops_the_registry_naming_the_file(tmp_path):
    _write(tmp_path, "broken", "name: broken\n  run: : :\n")
    with pytest.raises(RunnerError, match=r"broken\.yaml"):
        RunnerRegistry.from_dirs([tmp_path])


def test_unknown_key_names_the_file_and_the_key(tmp_path):
    path = _write(tmp_path, "toy", MINIMAL.format(name="toy") + "compile_flags: -O2\n")
    with pytest.raises(RunnerError, match=r"toy\.yaml.*unknown key 'compile_flags'"):
        load_runner_file(path)


def test_unknown_limit_names_the_file_and_the_key(tmp_path):
    path = _write(tmp_path, "toy", MINIMAL.format(name="toy") + "limits:\n  cpu_seconds: 3\n")
    with pytest.raises(RunnerError, match=r"toy\.yaml.*limits\.cpu_seconds"):
        load_runner_file(path)


def test_unknown_selftest_key_names_the_file_and_the_key(tmp_path):
    text = MINIMAL.format(name="toy") + "selftest:\n  - name: echo\n    code: x\n    expected: pass\n"
    path = _write(tmp_path, "toy", text)
    with pytest.raises(RunnerError, match=r"toy\.yaml.*selftest\[0\].*'expected'"):
        load_runner_file(path)


def test_unknown_verdict_in_a_selftest_is_rejected(tmp_path):
    text = MINIMAL.format(name="toy") + "selftest:\n  - name: echo\n    code: x\n    expect: passed\n"
    path = _write(tmp_path, "toy", text)
    with pytest.raises(RunnerError, match=r"toy\.yaml.*'passed' is not a verdict"):
        load_runner_file(path)


@pytest.mark.parametrize("key", ["name", "source_file", "run", "version", "executables"])
def test_missing_required_key_names_the_file_and_the_key(tmp_path, key):
    text = "\n".join(line for line in MINIMAL.format(name="toy").splitlines() if not line.startswith(f"{key}:"))
    path = _write(tmp_path, "toy", text + "\n")
    with pytest.raises(RunnerError, match=rf"toy\.yaml.*{key!r}"):
        load_runner_file(path)


def test_name_must_match_the_file_name(tmp_path):
    path = _write(tmp_path, "toy", MINIMAL.format(name="other"))
    with pytest.raises(RunnerError, match=r"toy\.yaml.*'other'.*'toy'"):
        load_runner_file(path)


def test_a_template_that_does_not_render_is_rejected(tmp_path):
    text = MINIMAL.format(name="toy").replace("{{ source }}", "{{ sauce }}")
    path = _write(tmp_path, "toy", text)
    with pytest.raises(RunnerError, match=r"toy\.yaml.*'run' template"):
        load_runner_file(path)


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path):
    path = _write(tmp_path, "toy", "- just\n- a list\n")
    with pytest.raises(RunnerError, match=r"toy\.yaml.*mapping"):
        load_runner_file(path)
