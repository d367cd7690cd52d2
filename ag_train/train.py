"""Train a model with TRL's ``GRPOTrainer`` from a recipe, rewarded by the verifier.

    from ag_train.train import train
    outcome = train("recipes/grpo/tiny-cpu.yaml", ["grpo.max_steps=2"])
    outcome.rewards            # mean reward of every logged step

The run folder (``grpo.output_dir``, default ``runs/<recipe name>``) receives the
checkpoints, the final model, ``pass_at_1.json`` (before and after training),
``recipe.yaml`` (the resolved recipe) and a model card, ``README.md``.

The model ``tiny`` builds the tiny offline model of :mod:`ag_train.tiny` into the run folder.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import data as data_mod
from .errors import TrainError
from .recipe import (BATCH_FIELDS, Recipe, apply_overrides, grpo_config, load_recipe, non_default_fields,
                     recipe_from_dict)

logger = logging.getLogger(__name__)

TINY_MODEL = "tiny"
RESULTS_FILE = "pass_at_1.json"


@dataclass
class Plan:
    """What a recipe resolves to: the recipe, the GRPOConfig and (when loaded) the rows."""

    recipe: Recipe
    config: Any                                   # trl.GRPOConfig
    train_rows: list[dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)
    processes: int = 1                            # training processes the batch was derived for

    @property
    def output_dir(self) -> Path:
        return Path(self.config.output_dir)

    def batch(self) -> dict[str, Any]:
        """One optimizer step for :attr:`processes` processes: prompts, completions and how they are split."""
        c = self.config
        completions = c.per_device_train_batch_size * self.processes * c.gradient_accumulation_steps
        prompts = completions / c.num_generations
        prompts = int(prompts) if prompts.is_integer() else prompts
        return {"processes": self.processes, "prompts_per_step": prompts,
                "generations_per_prompt": c.num_generations, "completions_per_step": completions,
                "per_device_train_batch_size": c.per_device_train_batch_size,
                "gradient_accumulation_steps": c.gradient_accumulation_steps,
                "derived_from": "the batch section" if self.recipe.batch.is_set else "the grpo section as written"}

    def describe(self) -> str:
        """The resolved recipe, the GRPOConfig fields that differ from TRL's defaults and the data."""
        from .card import _plain

        doc: dict[str, Any] = {"recipe": _plain(self.recipe.to_dict()),
                               "batch": self.batch(),
                               "grpo_config (differs from TRL defaults)": _plain(non_default_fields(self.config))}
        if self.train_rows is not None:
            doc["train_dataset"] = _plain(data_mod.describe(self.train_rows))
        if self.notes:
            doc["notes"] = self.notes
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


@dataclass
class Outcome:
    """The result of a training run."""

    output_dir: Path
    global_step: int
    rewards: list[float]                          # mean reward of each logged step
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    log_history: list[dict[str, Any]]
    is_main_process: bool = True


def _as_recipe(recipe: str | Path | Recipe, overrides: list[str] | tuple[str, ...]) -> Recipe:
    if isinstance(recipe, Recipe):
        if not overrides:
            return recipe
        data = apply_overrides(recipe.to_dict(), overrides)
        return recipe_from_dict(data, source=recipe.source)
    return load_recipe(recipe, overrides)


def launch_processes() -> int:
    """The number of training processes of this launch (``WORLD_SIZE``, set by accelerate and torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def plan(recipe: str | Path | Recipe, overrides: list[str] | tuple[str, ...] = (), *, output_dir: str | Path | None = None,
         load_data: bool = True, strict_data: bool = True, processes: int | None = None) -> Plan:
    """Resolve a recipe into a ``GRPOConfig`` and its training rows, without training.

    The batch section is shared among ``processes`` training processes (default: this launch's).
    With ``strict_data=False`` a dataset that cannot be loaded here (a Hub id offline) or a
    missing toolchain becomes a note instead of an error: what ``--dry-run`` wants.
    """
    from ag_eval.errors import ToolchainMissingError

    recipe = _as_recipe(recipe, overrides)
    extra: dict[str, Any] = {"output_dir": str(output_dir) if output_dir else None, "push_to_hub": False}
    notes = []
    if not strict_data and not recipe.grpo.get("use_cpu") and not _has_accelerator():
        # A GPU recipe checked on a host without one: TrainingArguments refuses bf16 there.
        extra["use_cpu"] = True
        notes.append("no GPU here: checked with use_cpu=true added; on a GPU host the recipe runs as written.")
    processes = processes or launch_processes()
    config = grpo_config(recipe, processes=processes, **extra)
    if recipe.batch.is_set and config.world_size != processes:
        # Checked in a process that is not part of such a launch: show what TRL derives on `processes`.
        config.steps_per_generation = config.gradient_accumulation_steps
        notes.append(f"batch derived for {processes} processes; this check ran in {config.world_size}.")
    result = Plan(recipe=recipe, config=config, notes=notes, processes=processes)
    try:
        recipe.languages = data_mod.check_languages(recipe.languages, require_installed=True)
    except ToolchainMissingError as exc:
        if strict_data:
            raise
        result.notes.append(str(exc))
    if load_data:
        try:
            result.train_rows = data_mod.train_rows(recipe)
        except Exception as exc:  # noqa: BLE001 - reported, then re-raised when strict
            from ag_eval.errors import AgnosticsError

            if strict_data or not isinstance(exc, AgnosticsError):
                raise
            result.notes.append(f"training data not loaded here: {exc}")
    return result


def _has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())


def _model_and_tokenizer(recipe: Recipe, out: Path):
    from transformers import AutoTokenizer

    model = recipe.model
    if model == TINY_MODEL:
        from .tiny import build_tiny_model

        target = out / "tiny-model"
        if not (target / "config.json").is_file():
            build_tiny_model(target, seed=recipe.shuffle_seed)
        model = str(target)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except OSError as exc:
        raise TrainError(f"cannot load the tokenizer of model {recipe.model!r} ({exc}); "
                         "give a Hub id or a local folder with a saved model.") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def reward_workers(recipe: Recipe, remote: Any = None) -> int | None:
    """Programs one process judges at once: ``reward.workers``, else this node's cores shared
    among the node's training processes (``LOCAL_WORLD_SIZE``), so the ranks of one node do not
    oversubscribe its cores. With a verifier service (``remote``), the jobs kept in flight
    there: ``reward.workers``, else the remote executor's default."""
    if recipe.reward.workers:
        return recipe.reward.workers
    if remote is not None:
        return None
    from ag_eval.engine import default_workers

    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, default_workers() // local)


def _reward_functions(recipe: Recipe, remote: Any = None):
    from .rewards import get_reward_function

    where = {"verifier_url": remote or ""}  # resolved once: the service, or this node
    return [get_reward_function(recipe.reward.name, **{**recipe.reward.options(),
                                                       "workers": reward_workers(recipe, remote), **where})]


def _previous_results(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def train(recipe: str | Path | Recipe, overrides: list[str] | tuple[str, ...] = (), *, dry_run: bool = False,
          resume: bool | str = False, output_dir: str | Path | None = None, push_to_hub: bool = False,
          callbacks: list | None = None, reward_funcs: list | None = None,
          command: str | None = None, num_processes: int | None = None, verifier_url: str | None = None,
          verifier_token: str | None = None) -> Plan | Outcome:
    """Resolve the recipe and train; with ``dry_run`` return the :class:`Plan` without training.

    ``verifier_url`` / ``verifier_token``: judge rewards and evaluations on a verifier service
    (``agnostics serve``) instead of this node (default: ``$AGNOSTICS_VERIFIER_URL``,
    ``$AGNOSTICS_VERIFIER_TOKEN``).

    ``resume=True`` continues from the newest checkpoint in the run folder; a path names one.
    ``reward_funcs`` replaces the recipe's reward (any TRL reward functions).
    ``num_processes`` (dry run only) derives the batch for that many processes instead of this launch's.
    """
    from .versions import check_versions

    check_versions()
    if dry_run:
        return plan(recipe, overrides, output_dir=output_dir, strict_data=False, processes=num_processes)
    if num_processes is not None and num_processes != launch_processes():
        raise TrainError(f"num_processes={num_processes} but this launch has {launch_processes()} processes; "
                         "start the processes with accelerate launch --num_processes N (num_processes is for dry runs).")
    from ag_eval.executors.remote import remote_verifier

    remote = remote_verifier(verifier_url, verifier_token)  # a bad URL fails before anything loads
    p = plan(recipe, overrides, output_dir=output_dir, load_data=False)
    recipe, args = p.recipe, p.config
    if recipe.batch.is_set and args.world_size != p.processes:
        raise TrainError(f"the batch was derived for {p.processes} processes (WORLD_SIZE) but training runs on "
                         f"{args.world_size}; launch with accelerate launch or torchrun, which set WORLD_SIZE.")
    out = p.output_dir
    out.mkdir(parents=True, exist_ok=True)
    if resume is True and not any(out.glob("checkpoint-*")):
        raise TrainError(f"--resume found no checkpoint-* folder in {out}; train once first or drop --resume.")

    from accelerate import PartialState
    from trl import GRPOTrainer

    from .evaluation import PassAtOneCallback

    ev = recipe.eval
    # The first process builds what is shared on disk (embedded dataset, tiny model); the
    # others then read it.
    with PartialState().main_process_first():
        p.train_rows = data_mod.train_rows(recipe)
        model, tokenizer = _model_and_tokenizer(recipe, out)
        eval_rows = data_mod.eval_rows(recipe) if ev.every_n_steps > 0 else []
        final_rows = data_mod.final_rows(recipe) if ev.before_after else []
    previous = _previous_results(out) if resume else {}
    evaluator = PassAtOneCallback(eval_rows, every_n_steps=ev.every_n_steps, final_rows=final_rows,
                                  max_new_tokens=ev.max_new_tokens or args.max_completion_length,
                                  temperature=ev.temperature, num_samples=ev.num_samples, batch_size=ev.batch_size,
                                  workers=reward_workers(recipe, remote), verifier_url=remote or "",
                                  dedupe=recipe.reward.dedupe)
    if remote is not None:
        logger.info("rewards and evaluations judged on %s", remote.url)
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs or _reward_functions(recipe, remote), args=args,
                          train_dataset=data_mod.to_dataset(p.train_rows), processing_class=tokenizer,
                          callbacks=[evaluator, *(callbacks or [])])
    evaluator.attach(trainer)
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    logger.info("training %s on %d rows (%s) into %s", recipe.model, len(p.train_rows),
                ", ".join(recipe.languages), out)
    trainer.train(resume_from_checkpoint=resume if resume else None)
    trainer.save_model(str(out))

    before = evaluator.before or previous.get("before")
    outcome = Outcome(output_dir=out, global_step=trainer.state.global_step,
                      rewards=[h["reward"] for h in trainer.state.log_history if "reward" in h],
                      before=before, after=evaluator.after, log_history=list(trainer.state.log_history),
                      is_main_process=trainer.accelerator.is_main_process)
    if trainer.accelerator.is_main_process:
        _write_results(recipe, args, outcome, evaluator, command)
        if push_to_hub:
            _push(out, args.hub_model_id or recipe.name, args)
    return outcome


def _write_results(recipe: Recipe, args, outcome: Outcome, evaluator, command: str | None) -> None:
    from .card import render_model_card

    out = outcome.output_dir
    results = {"recipe": recipe.name, "model": recipe.model, "global_step": outcome.global_step,
               "before": outcome.before, "after": outcome.after, "during": evaluator.history}
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    if command is None:
        source = Path(recipe.source or f"{recipe.name}.yaml")
        try:
            source = source.resolve().relative_to(Path.cwd())
        except ValueError:
            pass
        command = f"agnostics train {shlex.quote(str(source))}"
    batch = {k: getattr(args, k) for k in BATCH_FIELDS} if recipe.batch.is_set else {}
    card = render_model_card(recipe, grpo_fields={**recipe.grpo, **batch}, global_step=outcome.global_step,
                             before=outcome.before, after=outcome.after, command=command,
                             model_name=(args.hub_model_id or recipe.name).split("/")[-1])
    (out / "README.md").write_text(card)
    logger.info("wrote %s and README.md in %s", RESULTS_FILE, out)


def _push(out: Path, repo_id: str, args) -> None:
    from huggingface_hub import HfApi

    if "/" not in repo_id:
        logger.info("pushing to %s under your user namespace", repo_id)
    try:
        api = HfApi(token=args.hub_token)
        url = api.create_repo(repo_id, private=bool(args.hub_private_repo), exist_ok=True)
        api.upload_folder(repo_id=url.repo_id, folder_path=str(out), commit_message=f"GRPO run {out.name}",
                          ignore_patterns=["checkpoint-*", "checkpoint-*/**", "tiny-model/**", "runs/**"])
    except Exception as exc:  # noqa: BLE001 - any Hub failure is one user-facing sentence
        raise TrainError(f"pushing {out} to the Hub as {repo_id} failed ({exc}); "
                         "log in with `hf auth login` or set grpo.hub_model_id, then push again.") from None
