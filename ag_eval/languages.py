"""What each runner offers, for tools (JSON) and for the README's table (Markdown).

Start-up is measured in the sandbox: the runner's ``echo`` self-test run on a few one-line
tests in one job, and the median time of a test taken (the runtime's start paid per test,
plus the jail's own few milliseconds).
"""

from __future__ import annotations

import statistics
from typing import Any

from .runners import Runner

#: Tests per start-up measurement (the median is reported).
STARTUP_TESTS = 5


def language_info(runner: Runner, *, version: bool = True) -> dict[str, Any]:
    """One runner as a JSON-ready mapping (``version`` runs the toolchain's version command)."""
    return {
        "name": runner.name,
        "display_name": runner.display_name,
        "aliases": list(runner.aliases),
        "fence_tags": list(runner.fence_tags),
        "installed": runner.installed,
        "missing": runner.missing_executables(),
        "version": runner.detect_version() if version else None,
        "packages": list(runner.packages),
        "source_file": runner.entry_point.source_template if runner.entry_point else runner.source_file,
        "compile": _one_line(runner.compile),
        "run": _one_line(runner.run),
        "entry_point": ({"pattern": list(runner.entry_point.patterns), "default": runner.entry_point.default}
                        if runner.entry_point else None),
        "zygote": runner.zygote is not None,
        "selftests": len(runner.selftests),
    }


def measure_startup(runner: Runner) -> float | None:
    """Median seconds of one test of the runner's ``echo`` self-test in the sandbox (None when
    the toolchain is missing, the runner has no ``echo`` self-test, or the program did not pass)."""
    from .engine import verify  # the sandbox only when measuring

    echo = next((st for st in runner.selftests if st.name == "echo"), None)
    if echo is None or not runner.installed:
        return None
    result = verify({"id": f"{runner.name}/startup", "language": runner.name, "code": echo.code,
                     "time_limit_s": 10, "tests": [{"input": "hi\n", "output": "hi\n"}] * STARTUP_TESTS})
    if result.verdict.value != "pass":
        return None
    return statistics.median(t.time_s for t in result.tests)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The README's languages table from :func:`language_info` rows (with ``startup_s`` where measured)."""
    lines = ["| Language | Toolchain | Compile | Run | Start-up | Self-tests |",
             "|---|---|---|---|---:|---:|"]
    for row in rows:
        startup = row.get("startup_s")
        cells = [
            f"{row['display_name']} (`{row['name']}`)",
            row["version"] or ("not installed" if not row["installed"] else "-"),
            f"`{row['compile']}`" if row["compile"] else "-",
            f"`{row['run']}`" + (" (zygote)" if row["zygote"] else ""),
            f"{startup * 1000:.0f} ms" if startup is not None else "-",
            str(row["selftests"]),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _one_line(command: str | None) -> str | None:
    return " ".join(command.split()) if command else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
