"""Programs are run by the class or module name they declare: a runner's `entry_point`
finds it in the source, and the file and commands are named after it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ag_eval.engine import verify
from ag_eval.errors import RunnerError
from ag_eval.runners import get_registry, load_runner_file

RUNNERS_DIR = Path(__file__).resolve().parents[2] / "runners"

JAVA_SOLUTION = """\
import java.util.*;

public class Solution {
    static class Pair { long a, b; }
    public static void main(String[] args) {
        Scanner sc = new Scanner(System.in);
        Pair p = new Pair();
        p.a = sc.nextLong(); p.b = sc.nextLong();
        System.out.println(p.a + p.b);
    }
}
"""
JAVA_NOT_PUBLIC = """\
import java.io.*;

class Helper {
    static long add(long a, long b) { return a + b; }
}

class Program {
    static class Reader {}
    public static void main(String[] args) throws IOException {
        String[] t = new BufferedReader(new InputStreamReader(System.in)).readLine().trim().split(" ");
        System.out.println(Helper.add(Long.parseLong(t[0]), Long.parseLong(t[1])));
    }
}
"""
JAVA_MAIN = JAVA_SOLUTION.replace("Solution", "Main")
JAVA_FINAL_WITH_INNER_PUBLIC = JAVA_SOLUTION.replace("public class Solution", "public final class Sum").replace(
    "static class Pair", "public static class Pair")
SUM_TESTS = [{"input": "40 2\n", "output": "42\n"}, {"input": "-5 5\n", "output": "0\n"}]


def _java():
    return get_registry().get("java")


# ---- finding the entry (no sandbox) --------------------------------------------------------
@pytest.mark.parametrize("code, entry", [
    (JAVA_SOLUTION, "Solution"), (JAVA_NOT_PUBLIC, "Program"), (JAVA_MAIN, "Main"),
    (JAVA_FINAL_WITH_INNER_PUBLIC, "Sum"), ("int main() {}", "Main"),
])
def test_java_file_and_command_are_named_after_the_class(code, entry):
    runner = _java().for_program(code)
    assert runner.source_file == f"{entry}.java"
    assert runner.compile_argv()[-1] == f"{entry}.java"
    assert runner.run_argv()[-1] == entry


def test_a_runner_without_entry_point_is_unchanged():
    lua = get_registry().get("lua")
    assert lua.for_program("print(1)") is lua


@pytest.mark.parametrize("language, code, entry", [
    ("kotlin", "fun main() {\n    println(1)\n}\n", "MainKt"),
    ("kotlin", "object Solution {\n    @JvmStatic\n    fun main(args: Array<String>) {}\n}\n", "Solution"),
    ("kotlin", "object Solution {\n    @JvmStatic fun main(args: Array<String>) {}\n}\nfun main() {}\n", "MainKt"),
    ("scala", "object Main extends App {\n  println(1)\n}\n", "Main"),
    ("scala", "case class P(a: Int)\nobject Helper { def f = 1 }\nobject Sol {\n  def main(args: Array[String]) = ()\n}\n",
     "Sol"),
    ("groovy", "println 1\n", "main"),
    ("groovy", "import java.util.*\n\nclass Solution {\n    static void main(String[] args) {}\n}\n", "Solution"),
    ("groovy", "class Solution {\n    static void main(String[] args) {}\n}\nprintln 1\n", "main"),
])
def test_entry_is_found_for_jvm_languages(language, code, entry):
    assert get_registry().get(language).for_program(code).run_argv()[-1] == entry


def test_a_name_that_is_not_an_identifier_falls_back_to_the_default(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(textwrap.dedent("""\
        name: toy
        entry_point: {pattern: 'module (\\S+)', default: Main}
        source_file: "{{ entry }}.x"
        run: xrun {{ source }}
        version: xrun --version
        executables: [xrun]
        """), encoding="utf-8")
    toy = load_runner_file(path)
    assert toy.for_program("module Good_1").source_file == "Good_1.x"
    assert toy.for_program("module ../../etc/passwd").source_file == "Main.x"
    assert toy.for_program("module a;rm").run_argv() == ["xrun", "Main.x"]


# ---- malformed entry points ---------------------------------------------------------------
def _toy(tmp_path: Path, entry_point: str, source_file: str = '"{{ entry }}.x"') -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(f"name: toy\n{entry_point}source_file: {source_file}\nrun: xrun {{{{ source }}}}\n"
                    "version: xrun --version\nexecutables: [xrun]\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("entry_point, message", [
    ("entry_point: {pattern: 'class (\\w+)', default: Main, fallback: X}\n", r"unknown key 'entry_point\.fallback'"),
    ("entry_point: {default: Main}\n", r"'entry_point\.pattern' is missing"),
    ("entry_point: {pattern: 'class \\w+', default: Main}\n", r"has 0 groups"),
    ("entry_point: {pattern: 'class (\\w+', default: Main}\n", r"not a regular expression"),
    ("entry_point: {pattern: 'class (\\w+)', default: 'my class'}\n", r"'entry_point\.default'"),
    ("entry_point: class\n", r"'entry_point' must be a mapping"),
])
def test_a_malformed_entry_point_names_the_file_and_the_problem(tmp_path, entry_point, message):
    with pytest.raises(RunnerError, match=r"toy\.yaml.*" + message):
        load_runner_file(_toy(tmp_path, entry_point))


def test_an_entry_point_no_template_uses_is_rejected(tmp_path):
    with pytest.raises(RunnerError, match=r"toy\.yaml.*no template uses \{\{ entry \}\}"):
        load_runner_file(_toy(tmp_path, "entry_point: {pattern: 'class (\\w+)', default: Main}\n", "main.x"))


def test_entry_without_an_entry_point_is_rejected(tmp_path):
    with pytest.raises(RunnerError, match=r"toy\.yaml.*'source_file' template"):
        load_runner_file(_toy(tmp_path, ""))


# ---- through the sandbox (Kotlin, Scala and Groovy: their runners' *_entry self-tests) -----
@pytest.mark.parametrize("code", [JAVA_SOLUTION, JAVA_NOT_PUBLIC, JAVA_MAIN, JAVA_FINAL_WITH_INNER_PUBLIC],
                         ids=["public-Solution", "non-public-Program", "public-Main", "final-Sum"])
def test_java_programs_pass_whatever_their_class_is_called(code, requires):
    requires("java")
    result = verify({"id": "java-entry", "language": "java", "code": code, "tests": SUM_TESTS})
    assert result.verdict.value == "pass", result.to_dict()

