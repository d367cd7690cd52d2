"""Fixtures that put the stand-in ``vllm`` (the package beside this file) in place of vLLM."""

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _drop_vllm_modules() -> None:
    for name in [m for m in sys.modules if m == "vllm" or m.startswith("vllm.")]:
        del sys.modules[name]


@pytest.fixture
def standin_vllm(monkeypatch):
    """``import vllm`` finds the stand-in, here and in every process started from here; one GPU is visible."""
    monkeypatch.syspath_prepend(str(HERE))  # spawned processes start with the parent's sys.path
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    _drop_vllm_modules()
    yield
    _drop_vllm_modules()


@pytest.fixture
def standin_model(tmp_path):
    """A model folder whose ``config.json`` sets the stand-in's reply and test hooks."""

    def make(**standin) -> str:
        folder = tmp_path / "standin-model"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "standin", "standin": standin}), encoding="utf-8")
        return str(folder)

    return make
