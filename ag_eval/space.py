"""The ``io_pass_at_k`` Hub Space: render its card, build its folder, upload it.

The Space folder holds what ``evaluate.load("ORG/io_pass_at_k")`` and the Space's widget need:

    README.md          Space YAML header + metric card (from hub_cards/metric_card.md.j2)
    io_pass_at_k.py    the metric module, copied from the installed package
    app.py             the gradio widget (evaluate.utils.launch_gradio_widget)
    requirements.txt   agnostics (the verifier the module imports) and evaluate
    packages.txt       apt packages of the shipped language toolchains

Uploading uses ``huggingface_hub`` directly (``evaluate-cli`` does not work with
huggingface_hub >= 1.0).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

from .errors import AgnosticsError
from .metric_loader import METRIC_NAME, metric_dir, metric_script

logger = logging.getLogger(__name__)

DEFAULT_REPO_ID = f"agnostics/{METRIC_NAME}"
#: ``launch_gradio_widget`` uses ``gr.inputs``/``gr.outputs``, which gradio 4 removed.
GRADIO_VERSION = "3.50.2"
PYTHON_VERSION = "3.11"
CARD_TEMPLATE = "metric_card.md.j2"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")

APP_PY = '''\
"""Gradio widget of the io_pass_at_k metric.

The widget has no field for the language: it scores the language named by the
IO_PASS_AT_K_LANGUAGE variable of this Space (default: python).
"""

import os
from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(
    str(Path(__file__).with_name("io_pass_at_k.py")),
    os.environ.get("IO_PASS_AT_K_LANGUAGE", "python"),
)
launch_gradio_widget(module)
'''


def hub_cards_dir() -> Path:
    """The folder of the card templates (installed package data, or the repository's)."""
    try:
        shipped = Path(str(resources.files("agnostics.hub_cards")))
        if (shipped / CARD_TEMPLATE).is_file():
            return shipped
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "hub_cards"


def render_metric_card(repo_id: str = DEFAULT_REPO_ID) -> str:
    """The Space README: YAML header and metric card, for a Space at ``repo_id``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(hub_cards_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(CARD_TEMPLATE).render(
        name=METRIC_NAME, repo_id=repo_id, gradio_version=GRADIO_VERSION, python_version=PYTHON_VERSION,
    )


def check_repo_id(repo_id: str) -> str:
    if not _REPO_ID.match(repo_id or ""):
        raise AgnosticsError(f"--repo-id {repo_id!r} is not of the form ORG/NAME; e.g. my-org/{METRIC_NAME}.")
    return repo_id


def _apt_packages(languages: list[str] | None) -> list[str]:
    from .runners import get_registry

    registry = get_registry()
    runners = list(registry) if not languages else [registry.get(name) for name in languages]
    return sorted({pkg for runner in runners for pkg in runner.packages})


def _agnostics_requirement() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"agnostics=={version('agnostics')}"
    except PackageNotFoundError:
        return "agnostics"


def build_space(
    out_dir: str | Path,
    *,
    repo_id: str = DEFAULT_REPO_ID,
    requirement: str | None = None,
    languages: list[str] | None = None,
) -> Path:
    """Write the Space folder into ``out_dir`` (created; existing files are overwritten).

    ``requirement`` is the pip requirement installing the verifier on the Space
    (default: this installed version of ``agnostics``). ``languages`` limits the
    toolchains the Space installs (``packages.txt``; default: every shipped runner).
    """
    check_repo_id(repo_id)
    packages = _apt_packages(languages)  # an unknown language fails before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(render_metric_card(repo_id), encoding="utf-8")
    shutil.copyfile(metric_script(), out / f"{METRIC_NAME}.py")
    (out / "app.py").write_text(APP_PY, encoding="utf-8")
    reqs = [requirement or _agnostics_requirement(), "evaluate>=0.4.6"]  # gradio: sdk_version
    (out / "requirements.txt").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    (out / "packages.txt").write_text("\n".join(packages) + "\n", encoding="utf-8")
    logger.info("wrote the %s Space folder to %s", repo_id, out)
    return out


def push_space(
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    requirement: str | None = None,
    languages: list[str] | None = None,
    commit_message: str = f"Upload {METRIC_NAME}",
) -> str:
    """Build the Space folder and upload it; returns the Space's URL."""
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix=f"{METRIC_NAME}-space-") as tmp:
        folder = build_space(Path(tmp) / METRIC_NAME, repo_id=repo_id, requirement=requirement, languages=languages)
        url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=str(folder), commit_message=commit_message)
    logger.info("uploaded %s", url)
    return str(url)


def card_in_sync() -> bool:
    """True when the packaged metric card equals a fresh render of the template."""
    packaged = metric_dir() / "README.md"
    return packaged.is_file() and packaged.read_text(encoding="utf-8") == render_metric_card()
