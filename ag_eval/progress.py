"""One progress display (rich, to stderr) for every long job: batches, builds, evaluation runs.

    bar = Progress({"generate": 100, "verify": 2000})   # a total, or None when unknown
    bar.advance("verify")
    bar.close()
"""

from __future__ import annotations


class Progress:
    """Named bars with a count, a total (when known) and the time left or elapsed."""

    def __init__(self, bars: dict[str, int | None]):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        known = all(total is not None for total in bars.values())
        width = max(len(name) for name in bars)
        self._p = RichProgress(TextColumn(f"{{task.description:>{width}}}"), BarColumn(), MofNCompleteColumn(),
                               TimeRemainingColumn() if known else TimeElapsedColumn(), console=Console(stderr=True))
        self._ids = {name: self._p.add_task(name, total=total) for name, total in bars.items()}
        self._p.start()

    def advance(self, name: str, n: int = 1) -> None:
        self._p.advance(self._ids[name], n)

    def close(self) -> None:
        self._p.stop()
