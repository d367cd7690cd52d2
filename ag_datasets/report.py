"""The build report: what went in, what was kept, and why every dropped problem was dropped."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "build_report.json"


@dataclass
class Drop:
    """One dropped problem: at which stage, the reason key and one sentence of detail."""

    problem_id: str
    stage: str          # "filter" | "convert" | "validate"
    reason: str
    detail: str = ""


@dataclass
class BuildReport:
    name: str
    source: str
    converter: str
    total: int = 0
    drops: list[Drop] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    kept_by_converter: dict[str, int] = field(default_factory=dict)
    validation: str = ""            # how rows were validated, in words
    timings_s: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return sum(self.splits.values())

    @property
    def dropped(self) -> int:
        return len(self.drops)

    def drop(self, problem_id: str, stage: str, reason: str, detail: str = "") -> None:
        self.drops.append(Drop(problem_id, stage, reason, detail))

    def dropped_by_reason(self) -> dict[str, int]:
        counts = Counter(f"{d.stage}: {d.reason}" for d in self.drops)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kept"] = self.kept
        d["dropped"] = self.dropped
        d["dropped_by_reason"] = self.dropped_by_reason()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BuildReport":
        known = set(cls.__dataclass_fields__)
        data = {k: v for k, v in d.items() if k in known}
        data["drops"] = [Drop(**x) for x in d.get("drops", [])]
        return cls(**data)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / REPORT_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "BuildReport":
        from .errors import DatasetError

        path = Path(folder) / REPORT_FILE
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise DatasetError(
                f"{folder} has no {REPORT_FILE}; give a folder written by `agnostics datasets build`."
            ) from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise DatasetError(f"{path} is not a valid build report ({exc}); rebuild the dataset.") from None

    def summary_lines(self) -> list[str]:
        """A short plain-text summary, for the CLI and logs."""
        pct = f" ({100 * self.kept / self.total:.1f}%)" if self.total else ""
        lines = [
            f"{self.name}: {self.kept} of {self.total} problems kept{pct}, {self.dropped} dropped",
            "splits: " + (", ".join(f"{k}={v}" for k, v in self.splits.items()) or "none"),
        ]
        if self.kept_by_converter:
            lines.append("kept by converter: " + ", ".join(f"{k}={v}" for k, v in self.kept_by_converter.items()))
        if self.validation:
            lines.append(f"validation: {self.validation}")
        for reason, n in self.dropped_by_reason().items():
            lines.append(f"  dropped {n:4d}  {reason}")
        return lines
