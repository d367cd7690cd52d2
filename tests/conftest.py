import os

import pytest

# Tests never reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")


def require_language(name: str) -> None:
    """Skip the calling test, with the reason, when a language's toolchain is absent."""
    from ag_eval.runners import get_runner

    runner = get_runner(name)
    if not runner.installed:
        pytest.skip(f"{runner.display_name} toolchain not installed ({', '.join(runner.missing_executables())} missing)")


@pytest.fixture
def requires():
    return require_language
