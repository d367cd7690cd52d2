"""The LLM converter: an OpenAI-compatible model rewrites a task as a stdin/stdout problem.

The model gets the task's text, reference code and asserts, and answers with one JSON
object (in a ```json block): ``title``, ``statement`` (with "## Input format" and
"## Output format" sections), ``tests`` ([{input, output}]), ``solution`` (a Python
program reading stdin) and optionally ``compare``. Answers are cached on disk (see
:mod:`~ag_datasets.convert.llm_client`); the solution is validated like any other.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Sequence

from ag_eval.progress import Progress

from ..errors import LLMError
from ..schema import Problem, Provenance
from .base import Conversion, SourceTask
from .llm_client import ChatClient

logger = logging.getLogger(__name__)

PROMPT_VERSION = "1"
SYSTEM = (
    "You convert Python programming exercises that are tested with asserts into "
    "language-agnostic problems that read standard input and write standard output."
)
USER_TEMPLATE = """Rewrite this Python exercise as a stdin/stdout programming problem.

# Exercise

{text}

# Reference solution (Python)

```python
{code}
```

# Tests

```python
{tests}
```

# What to produce

Answer with exactly one JSON object inside a ```json code block, with these keys:

- "title": a short title.
- "statement": the full problem for a programmer who may use any language. Say what the program
  reads and prints, with a section "## Input format" and a section "## Output format" that fix the
  layout exactly (one value per line; a list as a line with its length then a line with its items
  separated by spaces; booleans as `true`/`false`). Do not mention Python or functions.
- "tests": a list of {{"input": ..., "output": ...}} objects, one per test above, with the same
  meaning, every input and output ending with a newline.
- "solution": a complete Python 3 program that reads standard input and prints the answer, so that
  it passes every test.
- "compare": "tokens", or "float:1e-6" when the output holds floating-point numbers.
"""

_JSON_BLOCK = re.compile(r"```(?:json)?\s*\n(.*?)\n```", re.S)
_COMPARES = re.compile(r"^(lines|exact|tokens|float:[0-9.eE+-]+)$")


class BadAnswer(Exception):
    pass


def messages_for(task: SourceTask) -> list[dict[str, str]]:
    user = USER_TEMPLATE.format(text=task.text.strip(), code=task.code.strip(),
                                tests="\n".join(t.strip() for t in task.tests))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_answer(content: str) -> dict[str, Any]:
    """The JSON object of an answer, checked; raise BadAnswer saying what is wrong."""
    candidates = [m.group(1) for m in _JSON_BLOCK.finditer(content)]
    if "{" in content:
        candidates.append(content[content.index("{"): content.rindex("}") + 1])
    data = None
    for text in candidates:
        try:
            data = json.loads(text)
            break
        except json.JSONDecodeError:
            continue
    if not isinstance(data, dict):
        raise BadAnswer("the answer holds no JSON object")
    for key in ("statement", "tests", "solution"):
        if not data.get(key):
            raise BadAnswer(f"the answer lacks {key!r}")
    statement = str(data["statement"])
    if "input format" not in statement.lower() or "output format" not in statement.lower():
        raise BadAnswer("the statement lacks an Input format or Output format section")
    tests = data["tests"]
    if not isinstance(tests, list) or not all(
        isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str) for t in tests
    ):
        raise BadAnswer("'tests' is not a list of {input, output} strings")
    compare = str(data.get("compare") or "tokens")
    if not _COMPARES.match(compare):
        raise BadAnswer(f"compare {compare!r} is not lines, exact, tokens or float:<tol>")
    return {"title": str(data.get("title") or ""), "statement": statement.strip() + "\n", "tests": tests,
            "solution": _strip_fence(str(data["solution"])), "compare": compare}


def _strip_fence(code: str) -> str:
    m = re.match(r"^\s*```[\w+-]*\s*\n(.*?)\n```\s*$", code, re.S)
    return (m.group(1) if m else code).rstrip() + "\n"


class LLMConverter:
    """Convert tasks with an OpenAI-compatible chat model; answers cached on disk."""

    name = "llm"

    def __init__(self, *, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 cache_dir: str | Path | None = None, concurrency: int = 8, progress: bool = False,
                 **client_options: Any):
        if concurrency < 1:
            raise LLMError(f"LLM concurrency {concurrency} must be at least 1; pass e.g. --llm-concurrency 8.")
        self.client = ChatClient(base_url=base_url, model=model, api_key=api_key, cache_dir=cache_dir, **client_options)
        self.concurrency = concurrency
        self.progress = progress

    def convert_one(self, task: SourceTask) -> Conversion:
        try:
            content = self.client.chat(messages_for(task))
        except LLMError as exc:
            return Conversion(task, reason="llm_request_failed", detail=str(exc))
        try:
            answer = parse_answer(content)
        except BadAnswer as exc:
            return Conversion(task, reason="llm_bad_answer", detail=str(exc))
        tests = [{"input": t["input"], "output": t["output"]} for t in answer["tests"]]
        problem = Problem(
            problem_id=task.problem_id, source=task.source, source_id=task.source_id,
            title=answer["title"] or task.title or task.entry_point or task.problem_id,
            statement=answer["statement"], tests=tests, public_tests=tests[:1], compare=answer["compare"],
            time_limit_s=task.time_limit_s, memory_limit_mb=task.memory_limit_mb,
            difficulty=str(task.extra.get("difficulty", "")), tags=list(task.extra.get("tags", [])),
            provenance=Provenance(converter="llm", model=self.client.model, notes=f"prompt v{PROMPT_VERSION}"),
        )
        return Conversion(task, problem=problem, solution=answer["solution"])

    def convert(self, tasks: Sequence[SourceTask]) -> list[Conversion]:
        results: list[Conversion | None] = [None] * len(tasks)
        name = f"LLM conversion ({self.client.model})"
        bar = Progress({name: len(tasks)}) if self.progress else None
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ag-llm") as pool:
                futures = {pool.submit(self.convert_one, t): i for i, t in enumerate(tasks)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    if bar:
                        bar.advance(name)
        finally:
            if bar:
                bar.close()
        return results  # type: ignore[return-value]

