"""Training recipes: a short YAML file -> a checked :class:`Recipe` -> a real ``trl.GRPOConfig``.

Precedence is defaults < YAML < command line: ``load_recipe(path, ["grpo.learning_rate=1e-5",
"languages=lua,julia"])``. Unknown keys are fatal and the error lists the valid names; any
``GRPOConfig`` field a recipe does not name keeps TRL's default.

    model: Qwen/Qwen3-4B
    dataset: agnostics/ag-codeforces-x      # Hub id, local Hub-layout folder, or "embedded:ag-mbpp-x"
    languages: [lua]
    batch: {prompts_per_step: 4, generations_per_prompt: 32, max_per_device: 8}
    grpo: {learning_rate: 5.0e-6, ...}      # any GRPOConfig field
    reward: {name: io_pass}
    eval: {every_n_steps: 50, split: test, num_problems: 100}
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import RecipeError

_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class RewardSettings:
    """Which reward function scores completions (see ``ag_train.rewards``) and its options."""

    name: str = "io_pass"
    partial_credit: bool = False
    no_code_penalty: float = 0.0
    compile_error_penalty: float = 0.0
    workers: int | None = None
    dedupe: bool = True                    # identical programs judged once (rewards and evaluations)

    def __post_init__(self) -> None:
        if not isinstance(self.dedupe, bool):
            raise RecipeError(f"reward.dedupe={self.dedupe!r} must be true or false (false judges every copy).")

    def options(self) -> dict[str, Any]:
        opts = {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}
        return {k: v for k, v in opts.items() if v is not None}


@dataclass
class EvalSettings:
    """pass@1 through the verifier: during training on a held-out split, and before/after."""

    every_n_steps: int = 0                 # 0: no evaluation during training
    split: str = "test"                    # held-out split of the training dataset
    num_problems: int | None = 64          # per language; None: the whole split
    num_samples: int = 1                   # completions per problem (pass@1 is their mean)
    temperature: float = 0.0               # 0: greedy
    max_new_tokens: int | None = None      # None: grpo.max_completion_length
    batch_size: int = 8                    # prompts per generate() call
    final_dataset: str | None = None       # before/after pass@1 here; None: the training dataset
    final_config: str | None = None
    final_split: str = "test"
    final_num_problems: int | None = None  # per language; None: the whole split
    before_after: bool = True              # measure pass@1 before and after training

    def __post_init__(self) -> None:
        if self.every_n_steps < 0:
            raise RecipeError(f"eval.every_n_steps={self.every_n_steps} must be >= 0 (0 turns it off).")
        if self.num_samples < 1:
            raise RecipeError(f"eval.num_samples={self.num_samples} must be >= 1.")


#: GRPOConfig fields the batch section derives; a recipe with a batch section leaves them out.
BATCH_FIELDS = ("per_device_train_batch_size", "gradient_accumulation_steps", "num_generations",
                "generation_batch_size", "steps_per_generation")


@dataclass
class BatchSettings:
    """The global batch of one optimizer step, the same whatever the number of processes.

    ``prompts_per_step`` prompts with ``generations_per_prompt`` completions each make
    ``prompts_per_step x generations_per_prompt`` completions per optimizer step; at launch they
    are shared among the processes, at most ``max_per_device`` per forward pass on one device
    (None: a process's whole share at once), the rest by gradient accumulation.
    """

    prompts_per_step: int | None = None
    generations_per_prompt: int | None = None
    max_per_device: int | None = None

    def __post_init__(self) -> None:
        for key in ("prompts_per_step", "generations_per_prompt", "max_per_device"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise RecipeError(f"batch.{key}={value!r} must be a positive integer.")
        if self.generations_per_prompt == 1:
            raise RecipeError("batch.generations_per_prompt=1: GRPO compares completions of one prompt, so it "
                              "needs at least 2; set batch.generations_per_prompt=2 or more.")
        if self.is_set and (self.prompts_per_step is None or self.generations_per_prompt is None):
            raise RecipeError("the batch section needs both prompts_per_step and generations_per_prompt, "
                              "e.g. batch: {prompts_per_step: 4, generations_per_prompt: 32}.")

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in dataclasses.asdict(self).values())

    @property
    def completions_per_step(self) -> int:
        return int(self.prompts_per_step or 0) * int(self.generations_per_prompt or 0)

    def for_processes(self, processes: int) -> dict[str, int]:
        """The GRPOConfig batch fields for ``processes`` training processes.

        Each process takes an equal share of the step's completions, in micro-batches of the
        largest size that divides its share and is at most ``max_per_device``.
        """
        total = self.completions_per_step
        if processes < 1:
            raise RecipeError(f"{processes} processes: the number of training processes must be at least 1.")
        if total % processes:
            import math

            fits = ", ".join(str(n) for n in range(1, total + 1) if total % n == 0)
            step = processes // math.gcd(int(self.generations_per_prompt), processes)
            raise RecipeError(
                f"batch: {self.prompts_per_step} prompts x {self.generations_per_prompt} generations = {total} "
                f"completions per step cannot be shared equally among {processes} processes; launch on a number "
                f"of processes that divides {total} ({fits}) or set batch.prompts_per_step to a multiple of {step}.")
        share = total // processes
        cap = min(self.max_per_device or share, share)
        per_device = max(n for n in range(1, cap + 1) if share % n == 0)
        return {"per_device_train_batch_size": per_device, "gradient_accumulation_steps": share // per_device,
                "num_generations": int(self.generations_per_prompt), "generation_batch_size": total}


@dataclass
class Recipe:
    """One GRPO training run, as written in a recipe YAML file."""

    model: str
    dataset: str
    languages: list[str]
    name: str = ""
    description: str = ""
    config: str | None = None              # dataset config (Hub configuration name)
    split: str = "train"
    max_problems: int | None = None        # per language; None: all
    shuffle_seed: int = 0                  # order of rows, and the mix of languages
    prompt_template: str | None = None     # jinja2 over the problem row ({{ statement }}, {{ language }})
    system_prompt: str | None = None
    batch: BatchSettings = field(default_factory=BatchSettings)
    grpo: dict[str, Any] = field(default_factory=dict)
    reward: RewardSettings = field(default_factory=RewardSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    source: str = ""                       # the file it came from (not a YAML key)

    def __post_init__(self) -> None:
        if isinstance(self.languages, str):
            self.languages = [x.strip() for x in self.languages.split(",") if x.strip()]
        if not self.languages or not all(isinstance(x, str) and x for x in self.languages):
            raise RecipeError(f"recipe languages={self.languages!r} must name at least one language, e.g. [lua].")
        if len(set(self.languages)) != len(self.languages):
            raise RecipeError(f"recipe languages={self.languages!r} names a language twice; list each once.")
        for key in ("model", "dataset"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise RecipeError(f"recipe key {key!r} must be a non-empty string (a Hub id or a local folder).")
        clash = [k for k in BATCH_FIELDS if k in self.grpo]
        if self.batch.is_set and clash:
            raise RecipeError(f"recipe {self.source or self.name} sets grpo.{clash[0]} and a batch section, which "
                              f"sets it from batch.* and the number of processes; drop grpo.{clash[0]} and set batch.* instead.")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS = {"batch": BatchSettings, "reward": RewardSettings, "eval": EvalSettings}


def _field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name != "source"]


def grpo_field_names() -> list[str]:
    from trl import GRPOConfig

    return sorted(f.name for f in dataclasses.fields(GRPOConfig) if f.init)


def _check_keys(where: str, keys, valid: list[str], *, many: str | None = None) -> None:
    """Fail on unknown keys, naming the valid ones (or, for a long list, the closest ones)."""
    import difflib

    unknown = sorted(set(keys) - set(valid))
    if not unknown:
        return
    if many is None:
        raise RecipeError(f"unknown key(s) {', '.join(unknown)} in {where}; valid keys are {', '.join(sorted(valid))}.")
    close = sorted({m for k in unknown for m in difflib.get_close_matches(k, valid, n=3, cutoff=0.6)})
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise RecipeError(f"unknown key(s) {', '.join(unknown)} in {where}; {hint}valid keys are {many}.")


def parse_value(text: str) -> Any:
    """A command-line value as YAML would read it, with ``1e-5`` read as a number."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return _number(value)


def _number(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        return float(value) if any(c in value for c in ".eE") else int(value)
    return value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``key=value`` overrides (dotted keys reach into sections) to a recipe dict."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"override {item!r} is not key=value; write e.g. grpo.learning_rate=1e-5.")
        value = parse_value(raw)
        parts = key.split(".")
        if len(parts) == 1:
            data[key] = value
        elif len(parts) == 2:
            section = data.setdefault(parts[0], {})
            if not isinstance(section, dict):
                raise RecipeError(f"override {item!r}: {parts[0]!r} is not a section; set it whole instead.")
            section[parts[1]] = value
        else:
            raise RecipeError(f"override {item!r}: keys go at most one level deep (section.key), e.g. eval.split=test.")
    return data


def recipe_from_dict(data: dict[str, Any], *, source: str = "<dict>") -> Recipe:
    """Build and check a :class:`Recipe` from a plain dict (the YAML with overrides applied)."""
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {source} must be a YAML mapping of keys to values, got {type(data).__name__}.")
    misplaced = sorted((set(data) - set(_field_names(Recipe))) & set(grpo_field_names()))
    if misplaced:
        raise RecipeError(f"{misplaced[0]} is a GRPOConfig field, which goes in the grpo section: write "
                          f"grpo.{misplaced[0]}=... on the command line (or under grpo: in recipe {source}).")
    _check_keys(f"recipe {source}", data, _field_names(Recipe))
    missing = [k for k in ("model", "dataset", "languages") if k not in data]
    if missing:
        raise RecipeError(f"recipe {source} lacks {', '.join(missing)}; every recipe names model, dataset and languages.")
    kwargs = dict(data)
    for name, cls in _SECTIONS.items():
        section = kwargs.get(name) or {}
        if not isinstance(section, dict):
            raise RecipeError(f"recipe {source}: {name!r} must be a mapping of keys to values.")
        _check_keys(f"the {name} section of recipe {source}", section, _field_names(cls))
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        coerced = {k: (_number(v) if ("float" in types[k] or "int" in types[k]) else v) for k, v in section.items()}
        try:
            kwargs[name] = cls(**coerced)
        except TypeError as exc:
            raise RecipeError(f"recipe {source}: bad {name} section ({exc}).") from None
    grpo = kwargs.get("grpo") or {}
    if not isinstance(grpo, dict):
        raise RecipeError(f"recipe {source}: 'grpo' must be a mapping of GRPOConfig fields to values.")
    _check_keys(f"the grpo section of recipe {source}", grpo, grpo_field_names(),
                many="the fields of trl.GRPOConfig (python -c 'import trl; help(trl.GRPOConfig)')")
    kwargs["grpo"] = {k: _number(v) for k, v in grpo.items()}
    for key in ("max_problems", "shuffle_seed"):
        if key in kwargs:
            kwargs[key] = _number(kwargs[key])
    for key in ("model", "dataset"):
        if isinstance(kwargs.get(key), Path):
            kwargs[key] = str(kwargs[key])
    return Recipe(**kwargs, source=source)


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe YAML file, apply command-line overrides and check every key.

    Relative local paths in ``model`` and ``dataset`` are read relative to the recipe file
    when they exist there.
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {path} does not exist; give the path to a recipe YAML (see recipes/grpo/).")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe {path} is not valid YAML ({exc}); fix the syntax.") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {path} must be a YAML mapping of keys to values.")
    data.setdefault("name", path.stem)
    data = apply_overrides(data, overrides)
    for key in ("model", "dataset"):
        value = data.get(key)
        if isinstance(value, str) and value.startswith((".", "..")) and (path.parent / value).exists():
            data[key] = str((path.parent / value).resolve())
    return recipe_from_dict(data, source=str(path))


def grpo_config(recipe: Recipe, *, processes: int = 1, **extra: Any):
    """The ``trl.GRPOConfig`` a recipe resolves to for ``processes`` training processes.

    A batch section fills the batch fields for that many processes; ``extra`` wins over the
    recipe's grpo section.
    """
    from trl import GRPOConfig

    derived = recipe.batch.for_processes(processes) if recipe.batch.is_set else {}
    kwargs = {**recipe.grpo, **derived, **{k: v for k, v in extra.items() if v is not None}}
    kwargs.setdefault("output_dir", str(Path("runs") / (recipe.name or "grpo")))
    try:
        return GRPOConfig(**kwargs)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"recipe {recipe.source or recipe.name}: the grpo section is not a valid GRPOConfig: {exc}") from None


def non_default_fields(config) -> dict[str, Any]:
    """The fields of a ``GRPOConfig`` that differ from TRL's defaults (for printing)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        value = getattr(config, f.name, None)
        if value != default:
            out[f.name] = value
    return out
