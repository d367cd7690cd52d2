"""Build a named Agnostics dataset from its source into a Hub-layout folder.

    build_dataset("ag-mbpp-x", out_dir="out/ag-mbpp-x")                      # shipped MBPP, mechanical
    build_dataset("ag-mbpp-x", converter="both", llm={"model": "...", ...})
    build_dataset("ag-livecodebench-x", source="lcb.jsonl", since="2024-08-01")
    build_dataset("ag-codeforces-x", source="open-r1/codeforces")

Unit-test sources (MBPP, HumanEval) are converted, then validated by execution; sources
that already are stdin/stdout (LiveCodeBench, Codeforces) are filtered and kept as published.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .errors import DatasetError
from .hub import CardInfo, write_hub_folder
from .report import BuildReport

logger = logging.getLogger(__name__)

DATASETS = ("ag-mbpp-x", "ag-humaneval-x", "ag-livecodebench-x", "ag-codeforces-x")
HUB_ORG = "agnostics"
PAPER_CITATION = """@article{boruch2025agnostics,
  title   = {Agnostics: Learning to Code in Any Programming Language via Reinforcement with a Universal Learning Environment},
  author  = {Boruch-Gruszecki, Aleksander and Greenberg, Yangtian Zi and others},
  journal = {arXiv preprint arXiv:2508.04865},
  year    = {2025}
}"""


def check_name(name: str) -> str:
    key = name.lower()
    if key not in DATASETS:
        raise DatasetError(f"dataset {name!r} is unknown; build one of {', '.join(DATASETS)}.")
    return key


def build_dataset(name: str, *, source: str | None = None, converter: str = "mechanical",
                  out_dir: str | Path | None = None, workers: int | None = None, progress: bool = False,
                  llm: dict[str, Any] | None = None, config: str = "default", **options: Any) -> Path:
    """Build ``name`` into ``out_dir`` (default ``./<name>``); returns the folder.

    ``options`` go to the source: ``release``/``since``/``until`` (LiveCodeBench),
    ``seed``/``n_validation``/``n_test`` (Codeforces).
    """
    name = check_name(name)
    out = Path(out_dir) if out_dir else Path(name)
    started = time.monotonic()
    if name in ("ag-mbpp-x", "ag-humaneval-x"):
        configs, report, card = _build_converted(name, source, converter, workers, progress, llm or {}, config)
    else:
        if converter != "mechanical":
            logger.info("%s is stdin/stdout already; --converter %s is not used", name, converter)
        configs, report, card = _build_stdio(name, source, config, options)
    report.options = {k: v for k, v in options.items() if v is not None}
    report.timings_s["total"] = round(time.monotonic() - started, 2)
    write_hub_folder(out, configs, report, card)
    logger.info("wrote %s (%d problems kept of %d)", out, report.kept, report.total)
    return out


def _build_converted(name, source, converter_name, workers, progress, llm_options, config):
    from .convert import get_converter
    from .validate import validate

    if name == "ag-mbpp-x":
        from .sources import mbpp as src
    else:
        from .sources import humaneval as src
    tasks = src.load_tasks(source)
    converter = get_converter(converter_name, **llm_options)
    report = BuildReport(name=name, source=str(source or f"{src.__name__.rsplit('.', 1)[-1]} (shipped)"),
                         converter=converter_name, total=len(tasks))
    t0 = time.monotonic()
    conversions = converter.convert(tasks)
    report.timings_s["convert"] = round(time.monotonic() - t0, 2)
    for conv in conversions:
        if not conv.ok:
            report.drop(conv.task.problem_id, "convert", conv.reason, conv.detail)
    t0 = time.monotonic()
    kept = validate(conversions, report, workers=workers, progress=progress)
    report.timings_s["validate"] = round(time.monotonic() - t0, 2)
    report.validation = "every kept problem's Python stdin/stdout solution passed all its tests in the sandbox"
    by_conv: dict[str, int] = {}
    splits: dict[str, list[dict]] = {}
    for conv in kept:
        by_conv[conv.problem.provenance.converter] = by_conv.get(conv.problem.provenance.converter, 0) + 1
        splits.setdefault(conv.task.extra.get("split", "test"), []).append(conv.problem.to_row())
    report.kept_by_converter = by_conv
    models = sorted({c.problem.provenance.model for c in kept if c.problem.provenance.model})
    if name == "ag-mbpp-x":
        card = CardInfo(
            pretty_name="Ag-MBPP-X", repo_id=f"{HUB_ORG}/{name}", license=src.LICENSE,
            license_note="CC BY 4.0, as MBPP (Austin et al. 2021), from which every problem is derived.",
            citation=src.CITATION + "\n\n" + PAPER_CITATION,
            description=(
                "MBPP rewritten as language-agnostic stdin/stdout problems. Each task's asserts were "
                "converted to input/output tests and every kept problem was validated by running a "
                "Python stdin/stdout solution (the MBPP reference wrapped with an I/O driver"
                + (", or one written by " + ", ".join(models) if models else "") + ") on all its tests."
            ),
            split_note=("Splits follow MBPP's task ids: test = 11-510, validation = 511-600 (MBPP's own "
                        "validation tasks), train = 601-974 plus the prompt tasks 1-10."),
            rebuild_command=f"agnostics datasets build {name} --converter {converter_name}",
        )
    else:
        card = CardInfo(
            pretty_name="Ag-HumanEval-X", repo_id=f"{HUB_ORG}/{name}", license=src.LICENSE,
            license_note="MIT, as HumanEval (Chen et al. 2021).",
            citation=src.CITATION + "\n\n" + PAPER_CITATION,
            description=(
                "HumanEval rewritten as language-agnostic stdin/stdout problems; each kept problem "
                "was validated by running a Python stdin/stdout solution on all its tests."
            ),
            split_note="One test split.",
            rebuild_command=f"agnostics datasets build {name} --converter {converter_name}",
        )
    return {config: splits}, report, card


def _build_stdio(name, source, config, options):
    if name == "ag-livecodebench-x":
        from .sources import livecodebench as src

        release = options.get("release") or src.DEFAULT_RELEASE
        problems, report = src.load_problems(source, release=release, since=options.get("since"),
                                             until=options.get("until"))
        splits = {"test": [p.to_row() for p in problems]}
        card = CardInfo(
            pretty_name="Ag-LiveCodeBench-X", repo_id=f"{HUB_ORG}/{name}", license=src.LICENSE,
            license_note=src.LICENSE_NOTE, citation=src.CITATION + "\n\n" + PAPER_CITATION,
            description=(
                "The stdin/stdout problems of LiveCodeBench code generation"
                + (f" ({release})" if source is None else "") + ", with their "
                "public and private tests decoded into plain `{input, output}` pairs."
            ),
            split_note="One test split." + (f" Contest dates from {options['since']}" if options.get("since") else "")
            + (f" up to {options['until']}" if options.get("until") else "") + ".",
            rebuild_command=f"agnostics datasets build {name} --release {release}"
            + (f" --since {options['since']}" if options.get("since") else "")
            + (f" --until {options['until']}" if options.get("until") else ""),
        )
    else:
        from .sources import codeforces as src

        problems, report = src.load_problems(source)
        pick = lambda key, default: default if options.get(key) is None else options[key]  # noqa: E731
        seed = pick("seed", src.DEFAULT_SEED)
        n_val, n_test = pick("n_validation", src.N_VALIDATION), pick("n_test", src.N_TEST)
        splits = src.split_problems(problems, seed=seed, n_validation=n_val, n_test=n_test)
        splits = {k: [p.to_row() for p in v] for k, v in splits.items()}
        card = CardInfo(
            pretty_name="Ag-Codeforces-X", repo_id=f"{HUB_ORG}/{name}", license=src.LICENSE,
            license_note=src.LICENSE_NOTE, citation=src.CITATION + "\n\n" + PAPER_CITATION,
            description=(
                "Codeforces problems (from open-r1/codeforces) that read stdin, write stdout and are "
                "judged by plain output comparison: no custom checker, not interactive. Tests are the "
                "complete official tests where published, else the statement's examples."
            ),
            split_note=f"A seeded split (seed {seed}): validation {n_val}, test {n_test}, the rest train.",
            rebuild_command=f"agnostics datasets build {name} --seed {seed}",
        )
    report.validation = "not run: the tests are the source's own"
    report.kept_by_converter = {"source": len(problems)}
    return {config: splits}, report, card
