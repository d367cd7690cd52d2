"""The run folder: ``run.json``, ``completions.jsonl`` and ``samples.jsonl``.

Completions are appended as soon as they are generated and samples (completion plus
verdict) as soon as they are verified, one JSON object per line, flushed at once. A
sample is keyed by ``(dataset, language, problem_id, sample)``; a rerun reads both files,
skips verified samples, verifies stored completions without generating them again, and
generates only what is missing. A truncated last line (a killed run) is ignored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import GENERATION_KEYS, EvalConfig
from .errors import EvalError

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
COMPLETIONS_FILE = "completions.jsonl"
SAMPLES_FILE = "samples.jsonl"

SampleKey = tuple[str, str, str, int]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s line %d is not JSON (an interrupted write?); ignored", path, lineno)


def sample_key(row: dict[str, Any]) -> SampleKey:
    return (row["dataset"], row["language"], row["problem_id"], int(row["sample"]))


def load_samples(out_dir: str | Path) -> dict[SampleKey, dict[str, Any]]:
    """Verified samples of a run, the last line winning for a key."""
    return {sample_key(r): r for r in read_jsonl(Path(out_dir) / SAMPLES_FILE)}


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"


class RunStore:
    """Appends to the run's files from any thread."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self._lock = threading.Lock()
        self._completions = None
        self._samples = None

    def check_and_record(self, cfg: EvalConfig, extra: dict[str, Any]) -> dict[str, Any]:
        """Create the folder or check that its earlier run used the same generation settings."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvalError(f"output folder {self.dir} cannot be created ({exc.strerror}); choose another --out.") from None
        path = self.dir / RUN_FILE
        record: dict[str, Any] = {}
        if path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                raise EvalError(f"{path} is not valid JSON; delete it or choose another --out.") from None
            old = record.get("config", {})
            new = cfg.to_dict()
            diff = [k for k in GENERATION_KEYS if k in old and old[k] != new[k]]
            if diff:
                pairs = "; ".join(f"{k}: {old[k]!r} before, {new[k]!r} now" for k in diff)
                raise EvalError(f"{self.dir} holds a run with other settings ({pairs}); "
                                "use another --out, or the same settings to resume it.")
        record["config"] = cfg.to_dict()
        record.setdefault("created", now())
        record.setdefault("sessions", []).append({"started": now(), **extra})
        self.write_run(record)
        return record

    def write_run(self, record: dict[str, Any]) -> None:
        tmp = self.dir / (RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.dir / RUN_FILE)

    def read_run(self) -> dict[str, Any]:
        path = self.dir / RUN_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def completions(self) -> dict[SampleKey, str]:
        return {sample_key(r): r["completion"] for r in read_jsonl(self.dir / COMPLETIONS_FILE)}

    def samples(self) -> dict[SampleKey, dict[str, Any]]:
        return load_samples(self.dir)

    def _append(self, attr: str, name: str, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            handle = getattr(self, attr)
            if handle is None:
                path = self.dir / name
                handle = path.open("a", encoding="utf-8")
                if path.stat().st_size and not _ends_with_newline(path):
                    handle.write("\n")  # a killed run left half a line: start on a fresh one
                setattr(self, attr, handle)
            handle.write(line)
            handle.flush()

    def add_completion(self, key: SampleKey, completion: str) -> None:
        dataset, language, problem_id, sample = key
        self._append("_completions", COMPLETIONS_FILE, {"dataset": dataset, "language": language,
                                                         "problem_id": problem_id, "sample": sample,
                                                         "completion": completion})

    def add_sample(self, row: dict[str, Any]) -> None:
        self._append("_samples", SAMPLES_FILE, row)

    def close(self) -> None:
        with self._lock:
            for attr in ("_completions", "_samples"):
                handle = getattr(self, attr)
                if handle is not None:
                    handle.close()
                    setattr(self, attr, None)
