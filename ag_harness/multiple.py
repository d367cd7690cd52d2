"""MultiPL-E (``nuprl/MultiPL-E``) evaluated the way MultiPL-E does, through our sandbox.

A row holds ``name``, ``language`` (MultiPL-E's code: ``lua``, ``r``, ``jl``, ``ml``...),
``prompt`` (a function signature with its doc comment), ``tests`` (code that calls it and
exits non-zero on a failure) and ``stop_tokens``. The completion is cut at the first stop
token; the program is ``prompt + completion + "\\n" + tests``; it passes when it exits 0
(verification mode ``exit_code``), run by the language's runner in the same jail as
every other program.

``--multiple-style chat`` asks a chat model for the whole function in a code block
instead; the program is then the extracted function (after the prompt, when the model did
not repeat the signature) plus the tests.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .config import EvalConfig
from .errors import EvalError
from .programs import LUAUNIT_FALLBACK, cut_at_stop  # noqa: F401  (MultiPL-E's pieces, named here too)
from .tasks import Task, resolve_language

logger = logging.getLogger(__name__)

HUB_ID = "nuprl/MultiPL-E"
#: Seconds a whole MultiPL-E program (all its asserts) may run; MultiPL-E's own default.
TIME_LIMIT_S = 15.0

#: MultiPL-E language codes judged correctly by exit status alone, and our runner for each.
LANGUAGES = {
    "lua": "lua", "r": "r", "jl": "julia", "ml": "ocaml", "py": "python", "rb": "ruby", "js": "javascript",
    "php": "php", "pl": "perl", "sh": "bash", "cpp": "cpp", "rs": "rust",
}
#: Codes MultiPL-E has whose tests need more than an exit status here (with the reason).
UNSUPPORTED = {
    "rkt": "rackunit reports failures on stderr and still exits 0",
    "d": "its tests are unittest blocks that only run under rdmd -unittest",
    "go_test.go": "its tests run under `go test`", "go": "its tests run under `go test`",
    "java": "its programs declare class Problem, not the runner's main class",
    "hs": "its tests need MultiPL-E's own Haskell harness",
}
_CONFIG_RE = re.compile(r"^(?P<bench>humaneval|mbpp)-(?P<code>[\w.]+?)(?:-(?P<variant>keep|transform|reworded|remove))?$")

def is_multiple(dataset: str, config: str | None) -> bool:
    """Whether a dataset name (or local folder) is MultiPL-E's layout."""
    if "multipl-e" in dataset.lower() or "multipl_e" in dataset.lower():
        return True
    folder = Path(dataset).expanduser()
    if folder.is_dir():
        subdirs = [p.name for p in folder.iterdir() if p.is_dir()] + [p.name for p in (folder / "data").glob("*") if p.is_dir()]
        if any(_CONFIG_RE.match(name) for name in subdirs):
            return True
    return bool(config and _CONFIG_RE.match(config) and (folder.is_dir() or "/" in dataset))


def to_code(language: str) -> str:
    """MultiPL-E's code for a runner name or alias (``julia`` -> ``jl``); codes pass through."""
    if language in LANGUAGES or language in UNSUPPORTED:
        return language
    name = resolve_language(language)
    for code, runner in LANGUAGES.items():
        if runner == name:
            return code
    raise EvalError(f"MultiPL-E has no {language} benchmark judged here; use one of {', '.join(sorted(LANGUAGES))}.")


def to_runner(code: str) -> str:
    if code in UNSUPPORTED:
        raise EvalError(f"MultiPL-E {code} is not judged by exit status alone ({UNSUPPORTED[code]}); "
                        f"use one of {', '.join(sorted(LANGUAGES))}.")
    if code not in LANGUAGES:
        raise EvalError(f"MultiPL-E language code {code!r} is unknown here; use one of {', '.join(sorted(LANGUAGES))}.")
    return resolve_language(LANGUAGES[code])


def configs_for(cfg: EvalConfig) -> list[tuple[str, str]]:
    """``(config, code)`` pairs: ``humaneval-lua`` as given, or ``humaneval`` x ``--language``."""
    config = cfg.config or "humaneval"
    m = _CONFIG_RE.match(config)
    if m:
        code = m.group("code")
        if cfg.languages and any(to_code(lang) != code for lang in cfg.languages):
            raise EvalError(f"--config {config} is MultiPL-E's {code} benchmark but --language asks for "
                            f"{', '.join(cfg.languages)}; give --config {m.group('bench')} with the languages instead.")
        return [(config, code)]
    if config not in ("humaneval", "mbpp"):
        raise EvalError(f"MultiPL-E config {config!r} is unknown; use humaneval, mbpp or e.g. humaneval-lua.")
    if not cfg.languages:
        raise EvalError("no language given for MultiPL-E; pass --language lua (repeat for several) or --config humaneval-lua.")
    return [(f"{config}-{to_code(lang)}", to_code(lang)) for lang in cfg.languages]


def load_rows(dataset: str, config: str, split: str) -> list[dict]:
    """Rows of one MultiPL-E config from the Hub or a local folder of the same layout."""
    from datasets import load_dataset

    folder = Path(dataset).expanduser()
    if folder.is_dir():
        for sub in (folder / config, folder / "data" / config):
            files = sorted(sub.glob(f"{split}*.parquet")) or sorted(sub.glob(f"{split}*.jsonl"))
            if files:
                builder = "parquet" if files[0].suffix == ".parquet" else "json"
                return list(load_dataset(builder, data_files=[str(f) for f in files], split="train"))
    try:
        return list(load_dataset(str(folder) if folder.is_dir() else dataset, config, split=split))
    except (ValueError, KeyError) as exc:
        raise EvalError(f"MultiPL-E config {config!r} split {split!r} cannot be read from {dataset} ({exc}); "
                        "check --config and --split.") from None
    except (FileNotFoundError, ConnectionError, OSError) as exc:
        raise EvalError(f"cannot load {dataset} {config} ({type(exc).__name__}); go online for {HUB_ID} "
                        "or pass a local folder of the same layout.") from None


def chat_messages(row: dict, runner_name: str, system_prompt: str | None) -> list[dict[str, str]]:
    from ag_eval.runners import get_runner

    runner = get_runner(runner_name)
    fence = runner.fence_tags[0] if runner.fence_tags else runner.name
    content = (f"Complete the following {runner.display_name} function. Provide the whole function in a "
               f"Markdown code block.\n\n```{fence}\n{row['prompt'].strip()}\n```")
    messages = [{"role": "user", "content": content}]
    return [{"role": "system", "content": system_prompt}, *messages] if system_prompt else messages


def multiple_tasks(cfg: EvalConfig) -> list[Task]:
    tasks: list[Task] = []
    for config, code in configs_for(cfg):
        runner_name = to_runner(code)
        rows = load_rows(cfg.dataset, config, cfg.split)
        if cfg.limit is not None:
            rows = rows[: cfg.limit]
        label = f"multipl-e/{_CONFIG_RE.match(config).group('bench') if _CONFIG_RE.match(config) else config}"
        for row in rows:
            missing = {"name", "prompt", "tests", "stop_tokens"} - set(row)
            if missing:
                raise EvalError(f"{cfg.dataset} {config} rows lack {sorted(missing)}; give MultiPL-E's layout "
                                "(name, language, prompt, tests, stop_tokens).")
            chat = cfg.multiple_style == "chat"
            tasks.append(Task(
                dataset=label, problem_id=str(row["name"]), language=runner_name, kind="multiple",
                messages=chat_messages(row, runner_name, cfg.system_prompt) if chat else None,
                text=None if chat else row["prompt"],
                stop=[] if chat else list(row["stop_tokens"] or []),
                prefix=row["prompt"], suffix=row["tests"],
                job={"mode": "exit_code", "tests": [], "time_limit_s": TIME_LIMIT_S},
            ))
    return tasks
