"""The oldest versions of the training libraries that ``ag_train`` and the shipped recipes work with.

Checked before anything imports them, so a too-old install ends in one sentence naming the
package to upgrade instead of a failure deep inside a library. The ``train`` extra of
``pyproject.toml`` states the same floors (a test keeps them equal).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata

from .errors import TrainError

#: package -> (oldest version, what needs it)
FLOORS: dict[str, tuple[str, str]] = {
    "torch": ("2.6", "FSDP2 (recipes/accelerate/fsdp2.yaml)"),
    "transformers": ("5.23", "the recipes' activation_checkpointing and fractional warmup_steps"),
    "trl": ("1.0", "reward functions that log through log_metric and log_extra"),
    "accelerate": ("1.6", "FSDP2 (fsdp_version: 2)"),
}


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: ``"2.13.0+cpu"`` -> ``(2, 13, 0)``."""
    match = re.match(r"\d+(\.\d+)*", version.strip())
    return tuple(int(x) for x in match.group(0).split(".")) if match else ()


def check_versions(version_of: Callable[[str], str | None] | None = None) -> None:
    """Raise :class:`TrainError` naming the first training library older than its floor."""
    version_of = version_of or installed_version
    for package, (floor, reason) in FLOORS.items():
        found = version_of(package)
        if found is None:
            raise TrainError(f"agnostics train needs {package} >= {floor}, which is not installed; "
                             f"install it: pip install 'agnostics[train]'.")
        release = _release(found)
        if release and release < _release(floor):
            raise TrainError(f"{package} {found} is too old for agnostics train ({reason} needs {package} >= "
                             f"{floor}); upgrade it: pip install -U '{package}>={floor}'.")
