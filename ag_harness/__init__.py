"""Generation + scoring harness: ``agnostics eval`` and ``agnostics report`` as a library.

    from ag_harness import EvalConfig, run_eval, write_report
    run_eval(EvalConfig(model="Qwen/Qwen3-4B", dataset="ag-livecodebench-x", languages=["lua"],
                        out_dir="runs/base"))
    text, table = write_report(["runs/base", "runs/trained"], out_dir="runs/compare")

Importing this package starts nothing (no model, no sandbox).
"""

from .config import EvalConfig
from .errors import BackendError, EvalError

__all__ = ["EvalConfig", "EvalError", "BackendError", "run_eval", "write_report", "summarize", "write_summary"]


def __getattr__(name: str):
    if name == "run_eval":
        from .run import run_eval

        return run_eval
    if name == "write_report":
        from .report import write_report

        return write_report
    if name in ("summarize", "write_summary"):
        from . import summary

        return getattr(summary, name)
    raise AttributeError(name)
