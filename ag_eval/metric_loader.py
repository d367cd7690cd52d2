"""Load the ``io_pass_at_k`` metric from the installed package, without the Hub.

    from ag_eval import load_metric
    metric = load_metric()
    metric.compute(predictions=[[completion]], references=[tests], language="lua", k=1)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

METRIC_NAME = "io_pass_at_k"


def metric_dir() -> Path:
    """The folder of the installed ``io_pass_at_k`` module (its script and metric card)."""
    return Path(str(resources.files("ag_eval") / METRIC_NAME))


def metric_script() -> Path:
    """The installed ``io_pass_at_k.py``: the file a Space or ``evaluate.load`` needs."""
    return metric_dir() / f"{METRIC_NAME}.py"


def load_metric(**kwargs: Any):
    """``evaluate.load`` of the installed metric folder; works offline.

    Keyword arguments go to :func:`evaluate.load` (``experiment_id``, ``keep_in_memory``, ...).
    """
    import evaluate

    return evaluate.load(str(metric_dir()), **kwargs)
