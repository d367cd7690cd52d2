"""Regenerate the languages table in README.md (toolchain versions and start-up measured here).

    python scripts/languages_table.py            # rewrite the table between its markers
    python scripts/languages_table.py --check    # exit 1 if a runner is missing from the table

Start-up is measured in the sandbox (see ag_eval/languages.py), so run it on a machine with
every runner's packages installed (`agnostics languages install`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ag_eval.languages import language_info, markdown_table, measure_startup
from ag_eval.runners import get_registry

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- languages-table:start -->", "<!-- languages-table:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every runner has a row")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        sys.exit(f"{README}: the markers {START} and {END} are missing; put them where the table goes.")
    if args.check:
        table = text.split(START, 1)[1].split(END, 1)[0]
        missing = [n for n in get_registry().names() if f"(`{n}`)" not in table]
        if missing:
            print(f"not in the README table: {', '.join(missing)}; run python scripts/languages_table.py")
        return 1 if missing else 0
    rows = []
    for runner in get_registry():
        row = language_info(runner)
        row["startup_s"] = measure_startup(runner)
        rows.append(row)
        print(f"{runner.name}: {row['startup_s']}", file=sys.stderr)
    table = f"{START}\n{markdown_table(rows)}{END}"
    README.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: table, text, flags=re.S),
                      encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
