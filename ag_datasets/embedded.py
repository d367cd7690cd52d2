"""The embedded default: Ag-MBPP-X built mechanically from the shipped MBPP, offline.

The first call builds it (convert + validate, about a minute or two) into a cache folder
keyed by a hash of the MBPP file and of the converter's code; later calls load it from
there. ``AGNOSTICS_CACHE`` moves the cache (default ``~/.cache/agnostics``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

MARKER = ".agnostics-build"


def content_key() -> str:
    """Hash of the shipped MBPP file and of every module that shapes the built rows."""
    from . import build, convert, hub, newlines, schema, validate
    from .convert import ioruntime, iotypes, mechanical
    from .sources import mbpp

    h = hashlib.sha256()
    h.update(mbpp.shipped_path().read_bytes())
    for module in (newlines, convert, ioruntime, iotypes, mechanical, mbpp, schema, validate, hub, build):
        h.update(Path(module.__file__).read_bytes())
    from .hub import CARD_TEMPLATE, cards_dir

    h.update((cards_dir() / CARD_TEMPLATE).read_bytes())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("AGNOSTICS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "agnostics")
    return Path(base) / "ag-mbpp-x"


def is_built(folder: Path, key: str) -> bool:
    try:
        return (folder / MARKER).read_text().strip() == key and (folder / "README.md").is_file()
    except OSError:
        return False


def ensure_ag_mbpp_x(out_dir: str | os.PathLike | None = None, *, workers: int | None = None,
                     progress: bool = False, rebuild: bool = False) -> Path:
    """The folder of the embedded Ag-MBPP-X: loaded if already built with this code, else built."""
    from .build import build_dataset

    key = content_key()
    folder = Path(out_dir) if out_dir else cache_root() / key
    if not rebuild and is_built(folder, key):
        logger.info("Ag-MBPP-X already built in %s", folder)
        return folder
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build_dataset("ag-mbpp-x", out_dir=tmp, workers=workers, progress=progress)
    (tmp / MARKER).write_text(key + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, folder)
    if out_dir is None:  # builds made by older code are never read again
        for stale in folder.parent.iterdir():
            if stale.is_dir() and stale != folder and not stale.name.startswith("."):
                shutil.rmtree(stale, ignore_errors=True)
    return folder
