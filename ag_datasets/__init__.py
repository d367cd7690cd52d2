"""ag_datasets: sources -> language-agnostic problem rows -> validated Hub-layout datasets.

    from ag_datasets import build_dataset, load_problems, language_view
    folder = build_dataset("ag-mbpp-x", out_dir="ag-mbpp-x")      # convert, validate, write
    rows = load_problems(folder, split="test")                    # or "ag-codeforces-x"
    lua_rows = language_view(rows, "lua")                          # prompt, tests, language

Importing this package starts nothing; heavy libraries load on first use.
"""

from .errors import DatasetError, LLMError, PublishError, SourceError
from .schema import Problem, Provenance

__all__ = [
    "DatasetError", "LLMError", "PublishError", "SourceError", "Problem", "Provenance",
    "build_dataset", "load_problems", "language_view", "ensure_ag_mbpp_x", "write_hub_folder", "push",
]


def __getattr__(name: str):
    if name == "build_dataset":
        from .build import build_dataset

        return build_dataset
    if name in ("load_problems", "language_view"):
        from . import view

        return getattr(view, name)
    if name == "ensure_ag_mbpp_x":
        from .embedded import ensure_ag_mbpp_x

        return ensure_ag_mbpp_x
    if name in ("write_hub_folder", "push"):
        from . import hub

        return getattr(hub, name)
    raise AttributeError(name)
