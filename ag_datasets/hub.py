"""Hub-layout folders: write them, check them, publish them.

    folder/
      README.md                                  dataset card (YAML `configs:` + data_files)
      build_report.json                          kept/dropped counts, every drop with its reason
      data/<config>/<split>-00000-of-00001.parquet

``datasets.load_dataset(folder, config)`` reads such a folder offline, and
``push(folder, repo_id)`` uploads it unchanged with ``huggingface_hub``.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from .errors import DatasetError, PublishError
from .report import REPORT_FILE, BuildReport

logger = logging.getLogger(__name__)

SPLIT_ORDER = ("train", "validation", "test")
CARD_TEMPLATE = "dataset_card.md.j2"


@dataclass
class CardInfo:
    """What the dataset card says beyond the counts."""

    pretty_name: str
    repo_id: str
    license: str
    license_note: str
    citation: str
    description: str
    split_note: str = ""
    rebuild_command: str = ""


def cards_dir() -> Path:
    """The folder of jinja2 card templates (the repository's hub_cards/ or the installed copy)."""
    local = Path(__file__).resolve().parent.parent / "hub_cards"
    if (local / CARD_TEMPLATE).is_file():
        return local
    return Path(str(resources.files("agnostics.hub_cards")))


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def render_card(card: CardInfo, counts: dict[str, dict[str, int]], report: BuildReport,
                default_config: str = "default", sizes: dict[tuple[str, str], int] | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(cards_dir())), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=True,
    )
    first_split = next((s for splits in counts.values() for s in splits), "test")
    return env.get_template(CARD_TEMPLATE).render(
        **card.__dict__, counts=counts, report=report, default_config=default_config,
        first_split=first_split, sizes=sizes or {}, size_category=_size_category(sum(sum(s.values()) for s in counts.values())),
    )


def write_hub_folder(folder: str | Path, configs: dict[str, dict[str, list[dict[str, Any]]]],
                     report: BuildReport, card: CardInfo) -> Path:
    """Write rows as ``data/<config>/<split>-00000-of-00001.parquet`` plus card and report.

    Empty splits are left out (a split with no file cannot be loaded); the folder's old
    ``data/`` is replaced so no stale split survives a rebuild. When no row is kept at all,
    the report (every drop with its reason) is still saved, the old card is removed, and a
    :class:`DatasetError` says how to read the report.
    """
    import pyarrow.parquet as pq
    from datasets import Dataset

    from .schema import features

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "data").exists():
        shutil.rmtree(folder / "data")
    for stale in ("README.md", REPORT_FILE):  # written again below: a failed build leaves neither behind
        (folder / stale).unlink(missing_ok=True)
    counts: dict[str, dict[str, int]] = {}
    sizes: dict[tuple[str, str], int] = {}
    feats = features()
    for config, splits in configs.items():
        ordered = sorted(splits, key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s))
        for split in ordered:
            rows = splits[split]
            if not rows:
                continue
            path = folder / "data" / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            table = Dataset.from_list(rows, features=feats).data.table
            pq.write_table(table, str(path))
            counts.setdefault(config, {})[split] = len(rows)
            sizes[(config, split)] = table.nbytes
    if not counts:
        report.splits = {}
        report.save(folder)
        raise DatasetError(
            f"no problem was kept for {report.name} in {folder} ({report.dropped} of {report.total} dropped); "
            f"see why with `agnostics datasets show {folder} --drops`."
        )
    report.splits = {s: n for splits in counts.values() for s, n in splits.items()} if len(counts) == 1 else \
        {f"{c}/{s}": n for c, splits in counts.items() for s, n in splits.items()}
    report.save(folder)
    (folder / "README.md").write_text(render_card(card, counts, report, next(iter(counts)), sizes), encoding="utf-8")
    return folder


def card_counts(folder: str | Path) -> dict[str, dict[str, int]]:
    """The per-split counts stated in a card's YAML header (``dataset_info``)."""
    import yaml

    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise DatasetError(f"{folder}/README.md has no YAML header; rebuild the folder with `agnostics datasets build`.")
    header = yaml.safe_load(text.split("---\n", 2)[1])
    return {
        info["config_name"]: {s["name"]: int(s["num_examples"]) for s in info.get("splits", [])}
        for info in header.get("dataset_info", [])
    }


def check_folder(folder: str | Path) -> list[Path]:
    """The files a push would upload; raise if the folder is not a built dataset."""
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise PublishError(f"{folder} has no README.md dataset card; build it with `agnostics datasets build` first.")
    data = sorted((folder / "data").rglob("*.parquet")) if (folder / "data").is_dir() else []
    if not data:
        raise PublishError(f"{folder} has no data/<config>/<split>-*.parquet files; build it with `agnostics datasets build` first.")
    files = [folder / "README.md", *data]
    if (folder / REPORT_FILE).is_file():
        files.insert(1, folder / REPORT_FILE)
    return files


def push(folder: str | Path, repo_id: str, *, private: bool = False, dry_run: bool = False,
         token: str | None = None, commit_message: str | None = None) -> list[str]:
    """Upload a built folder as a Hub dataset repo; returns the uploaded paths (relative).

    ``dry_run`` checks the folder and returns what would be uploaded, touching no network.
    """
    folder = Path(folder)
    if "/" not in repo_id or repo_id.count("/") != 1:
        raise PublishError(f"repo id {repo_id!r} is not of the form ORG/NAME; pass e.g. --repo-id agnostics/ag-mbpp-x.")
    files = [str(p.relative_to(folder)) for p in check_folder(folder)]
    if dry_run:
        logger.info("dry run: would upload %d files to datasets/%s", len(files), repo_id)
        return files
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token or os.environ.get("HF_TOKEN"))
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
            allow_patterns=["README.md", REPORT_FILE, "data/**"],
            commit_message=commit_message or f"Upload {folder.name} built with agnostics",
        )
    except HfHubHTTPError as exc:
        raise PublishError(
            f"upload of {folder} to datasets/{repo_id} failed ({exc}); check `hf auth login` and that you may write to that org."
        ) from None
    return files
