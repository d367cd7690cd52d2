import os
import shutil
import tempfile

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


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster on this machine (loopback only, 2 CPUs), for the module's tests."""
    import ray  # in the dev extra: these tests run in CI

    require_language("lua")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             _node_ip_address="127.0.0.1")
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
