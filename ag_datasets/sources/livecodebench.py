"""LiveCodeBench code generation (``livecodebench/code_generation_lite``) -> stdin/stdout problems.

``private_test_cases`` is stored either as a JSON string or as base64 of zlib of a pickled
JSON string. The pickle is read by an unpickler that refuses every global, and the result
must be built from strings and built-in containers only, so a crafted row cannot run code.
Only problems whose tests are all ``stdin`` are kept (LeetCode-style ``functional`` tests
need a harness per language).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import zlib
from typing import Any, Iterator

from ..errors import SourceError
from ..report import BuildReport
from ..schema import Problem, Provenance
from .files import collect_problems, read_rows, require

HUB_ID = "livecodebench/code_generation_lite"
DEFAULT_RELEASE = "release_v5"
LICENSE = "other"
LICENSE_NOTE = ("The problems come from AtCoder, Codeforces and LeetCode as collected by LiveCodeBench "
                "(Jain et al. 2024); see the LiveCodeBench terms for their use.")
CITATION = """@article{jain2024livecodebench,
  title   = {LiveCodeBench: Holistic and Contamination Free Evaluation of Large Language Models for Code},
  author  = {Jain, Naman and Han, King and Gu, Alex and Li, Wen-Ding and Yan, Fanjia and Zhang, Tianjun and Wang, Sida and Solar-Lezama, Armando and Sen, Koushik and Stoica, Ion},
  journal = {arXiv preprint arXiv:2403.07974},
  year    = {2024}
}"""
COLUMNS = ("question_title", "question_content", "platform", "question_id", "contest_date",
           "public_test_cases", "private_test_cases")
_RELEASE_RE = re.compile(r"^(release_)?v(\d+)$")
_PLAIN = (str, int, float, bool, type(None))


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only strings and built-in containers are allowed")


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def decode_tests(raw: Any) -> list[dict[str, Any]]:
    """Test cases from plain JSON, or from base64 -> zlib -> pickle -> JSON."""
    if isinstance(raw, list):
        return raw
    if not isinstance(raw, str):
        raise SourceError(f"test cases of type {type(raw).__name__} cannot be decoded; expected a string.")
    if not raw.strip():
        return []
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    try:
        data = zlib.decompress(base64.b64decode(raw, validate=False))
        value = _NoGlobals(io.BytesIO(data)).load()
    except (ValueError, zlib.error, pickle.UnpicklingError, EOFError) as exc:
        raise SourceError(f"test cases are neither JSON nor base64/zlib/pickle ({exc}); check the source file.") from None
    if not _plain(value):
        raise SourceError("decoded test cases hold objects other than strings and containers; refusing them.")
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        raise SourceError("decoded test cases are not a list of {input, output, testtype} objects.")
    return value


def release_files(release: str) -> list[str]:
    """The files of a release: ``release_v5`` = test.jsonl .. test5.jsonl; ``v5`` = test5.jsonl only."""
    m = _RELEASE_RE.match(release)
    if not m:
        raise SourceError(f"release {release!r} is unknown; use release_vN (cumulative) or vN (that update only).")
    n = int(m.group(2))
    name = lambda i: "test.jsonl" if i == 1 else f"test{i}.jsonl"  # noqa: E731
    return [name(i) for i in range(1, n + 1)] if m.group(1) else [name(n)]


def _hub_rows(release: str):
    def load(repo_id: str) -> Iterator[dict[str, Any]]:
        from huggingface_hub import hf_hub_download

        from .files import read_local

        for filename in release_files(release):
            try:
                path = hf_hub_download(repo_id, filename, repo_type="dataset")
            except Exception as exc:  # offline, missing file, auth: one message for all
                raise SourceError(
                    f"cannot fetch {filename} of {repo_id} from the Hub ({type(exc).__name__}); "
                    "go online or pass a local JSONL with --source."
                ) from None
            yield from read_local(path)
    return load


_ICASE_RE = re.compile(r"in any (letter )?case|case[- ]insensitive", re.I)
_TOL_RE = re.compile(r"(absolute|relative) error", re.I)
_EXP_RE = re.compile(r"10\s*\^\s*\{?\s*[-−]\s*(\d+)")


def compare_for(statement: str) -> str:
    """``float:1e-k`` when the statement accepts answers within an error bound, else ``tokens``;
    ``+icase`` when it accepts the answer in any letter case ("yEs")."""
    mode = "tokens"
    found = _TOL_RE.search(statement)
    if found:
        m = _EXP_RE.search(statement[found.start():])
        mode = f"float:1e-{m.group(1)}" if m else "float:1e-6"
    return mode + ("+icase" if _ICASE_RE.search(statement) else "")


_SECTION_RE = {
    "Input format": re.compile(r"^(Input|Input Format)[ \t]*$", re.M),
    "Output format": re.compile(r"^(Output|Output Format)[ \t]*$", re.M),
}


def with_format_headings(statement: str) -> str:
    """Mark the source's bare "Input" / "Output" lines as "## Input format" / "## Output format"."""
    for heading, pattern in _SECTION_RE.items():
        if f"## {heading}" not in statement:
            statement = pattern.sub(f"## {heading}", statement, count=1)
    return statement


def row_to_problem(row: dict[str, Any]) -> tuple[Problem | None, str, str]:
    """(problem, "", "") or (None, reason, detail)."""
    require(row, COLUMNS, "LiveCodeBench")
    public = decode_tests(row["public_test_cases"])
    private = decode_tests(row["private_test_cases"])
    tests = public + private
    if not tests:
        return None, "no_tests", "the problem has no test cases"
    kinds = sorted({t.get("testtype", "stdin") for t in tests})
    if kinds != ["stdin"]:
        return None, "functional_tests", f"test types {kinds}: only all-stdin problems are kept"
    pair = lambda t: {"input": str(t["input"]), "output": str(t["output"])}  # noqa: E731
    statement = with_format_headings(row["question_content"].strip())
    return Problem(
        problem_id=f"livecodebench/{row['question_id']}",
        source="livecodebench",
        source_id=str(row["question_id"]),
        title=row["question_title"],
        statement=statement + "\n",
        tests=[pair(t) for t in tests],
        public_tests=[pair(t) for t in public],
        compare=compare_for(statement),
        difficulty=str(row.get("difficulty") or ""),
        tags=[row["platform"]] + ([f"contest:{row['contest_id']}"] if row.get("contest_id") else []),
        provenance=Provenance(converter="source", validation="not run: official tests",
                              notes=f"contest_date {row['contest_date']}"),
    ), "", ""


def load_problems(source: str | None = None, *, release: str = DEFAULT_RELEASE, since: str | None = None,
                  until: str | None = None) -> tuple[list[Problem], BuildReport]:
    """Kept problems and a report of every dropped one. ``since``/``until``: ISO dates, inclusive."""
    release_files(release)  # fail early on a bad release name
    report = BuildReport(name="ag-livecodebench-x", source=str(source or f"{HUB_ID} ({release})"), converter="source")
    def outside_dates(row: dict[str, Any]) -> tuple[str, str] | None:
        date = str(row.get("contest_date") or "")[:10]
        if (since and date < since) or (until and date > until):
            return "contest_date", f"contest date {date} outside [{since or '...'}, {until or '...'}]"
        return None

    problems = collect_problems(read_rows(source or HUB_ID, _hub_rows(release)), report,
                                pid_of=lambda r: f"livecodebench/{r.get('question_id')}", id_column="question_id",
                                convert=row_to_problem, skip=outside_dates)
    return problems, report
