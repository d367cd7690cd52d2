"""Reward functions for TRL's ``GRPOTrainer``, judged by the ``ag_eval`` verifier.

They keep TRL's contract: called as ``reward(prompts=..., completions=..., **columns)``
where the columns are the dataset's (``language``, ``tests``, ``compare``, ``time_limit_s``,
``memory_limit_mb``, ``problem_id``), they return one float per completion, or ``None``
where the verifier itself failed (``sandbox_error``), so an infrastructure fault never
trains the model.

    from ag_train.rewards import get_reward_function
    reward = get_reward_function("io_pass")                  # 1.0 when every test passes
    GRPOTrainer(..., reward_funcs=[reward])

The default reward is binary. Partial credit (fraction of tests passed) and penalties for
answers without code or that do not compile are options, off by default: partial credit
is easily exploited (empty programs, hard-coded visible tests).

Each call reports, through TRL's ``log_metric`` hook, the rate of every verdict
(``verdicts/<verdict>``), the pass rate per language (``pass_rate/<language>``), the
reward latency (``reward/latency_s``) and the share of completions whose verdict was shared
with an identical program's (``reward/reused``); the per-completion verdict goes to the
completions table through ``log_extra``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ag_eval.batch import JobLineError
from ag_eval.errors import JobError
from ag_eval.jobs import Job
from ag_eval.verdicts import Verdict

from .errors import RewardError

logger = logging.getLogger(__name__)

_HOOKS = ("log_metric", "log_extra", "trainer_state", "completion_ids", "environments")
#: The row columns a job is built from (:meth:`ag_eval.jobs.Job.from_problem_row`).
JOB_COLUMNS = ("problem_id", "language", "tests", "compare", "time_limit_s", "memory_limit_mb", "mode")


def row_job(row: dict[str, Any], completion: str, job_id: str) -> Job | JobLineError:
    """The job judging ``completion`` on ``row`` (limits left out: :mod:`ag_eval.limits`' defaults).
    A malformed row gives its error instead, which the verifier reports as that job's
    ``sandbox_error`` (reward None) while the rest of the batch is judged."""
    try:
        return Job.from_problem_row(row, completion, id=job_id)
    except JobError as exc:
        return JobLineError(str(exc), job_id)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string, or the last assistant message of a conversation."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content(completion.get("content"))
    if isinstance(completion, Sequence):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                return _content(message.get("content"))
        return ""
    return "" if completion is None else str(completion)


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: [{"type": "text", "text": ...}]
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content)


class VerifierReward:
    """Score completions by running them on their row's I/O tests in their row's language.

    Options (all off by default):

    - ``partial_credit``: the fraction of tests passed instead of all-or-nothing (every
      test is run, not just up to the first failure).
    - ``no_code_penalty`` / ``compile_error_penalty``: subtracted from 0.0 for an answer
      with no program, or with one that does not compile.
    - ``workers``: programs judged at once (default: the verifier's, one per CPU).
    - ``sandbox``: the sandbox object the verifier runs programs in (default: nsjail).
    - ``log_metrics``: report verdict rates and latency through TRL's ``log_metric``.
    - ``dedupe``: identical programs in a batch are judged once, the copies sharing the verdict
      (on by default; off runs every copy, e.g. for programs whose verdict is not deterministic).
    - ``verifier_url``, ``verifier_token``: judge on a verifier service (``agnostics serve``)
      instead of this node (default: ``$AGNOSTICS_VERIFIER_URL`` and ``$AGNOSTICS_VERIFIER_TOKEN``);
      ``workers`` is then the jobs kept in flight there. A service that stays unreachable
      gives ``sandbox_error``, so the reward is None, never 0.
    """

    is_async = True

    def __init__(self, name: str = "io_pass", *, partial_credit: bool = False, no_code_penalty: float = 0.0,
                 compile_error_penalty: float = 0.0, workers: int | None = None, sandbox: Any = None,
                 log_metrics: bool = True, verifier_url: Any = None, verifier_token: str | None = None,
                 dedupe: bool = True) -> None:
        for key, value in (("no_code_penalty", no_code_penalty), ("compile_error_penalty", compile_error_penalty)):
            if not isinstance(value, (int, float)) or value < 0:
                raise RewardError(f"reward option {key}={value!r} must be a number >= 0 (it is subtracted from 0.0).")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise RewardError(f"reward option workers={workers!r} must be a positive integer.")
        if not isinstance(dedupe, bool):
            raise RewardError(f"reward option dedupe={dedupe!r} must be True or False (False judges every copy).")
        self.__name__ = name
        self.partial_credit = bool(partial_credit)
        self.no_code_penalty = float(no_code_penalty)
        self.compile_error_penalty = float(compile_error_penalty)
        self.workers = workers
        self.sandbox = sandbox
        self.log_metrics = log_metrics
        self.verifier_url = verifier_url  # a base URL, or an ag_eval RemoteVerifier
        self.verifier_token = verifier_token
        self.dedupe = dedupe

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.__name__!r}, partial_credit={self.partial_credit}, "
                f"no_code_penalty={self.no_code_penalty}, compile_error_penalty={self.compile_error_penalty})")

    # -- the pieces ----------------------------------------------------------------------

    def jobs(self, completions: Sequence[Any], columns: dict[str, Any]) -> list[Job | JobLineError]:
        """One verifier job per completion, from the row columns TRL passes along."""
        n = len(completions)
        if "language" not in columns or "tests" not in columns:
            missing = [c for c in ("language", "tests") if c not in columns]
            raise RewardError(
                f"the training dataset has no {' or '.join(missing)} column; build it with the "
                "per-language view (ag_datasets.language_view), which adds language, tests and limits."
            )

        rows = [{key: columns[key][i] for key in JOB_COLUMNS if columns.get(key) is not None} for i in range(n)]
        return [row_job(row, completion_text(completions[i]), f"{row.get('problem_id') or 'row'}#{i}")
                for i, row in enumerate(rows)]

    def score(self, result) -> float | None:
        """The reward of one verifier result."""
        verdict = result.verdict
        if verdict is Verdict.SANDBOX_ERROR:
            return None
        if verdict is Verdict.PASS:
            return 1.0
        if verdict is Verdict.NO_CODE:
            return 0.0 - self.no_code_penalty
        if verdict is Verdict.COMPILE_ERROR:
            return 0.0 - self.compile_error_penalty
        if self.partial_credit and result.total:
            return result.passed / result.total
        return 0.0

    def report(self, results: list, rewards: list[float | None], latency_s: float, columns: dict[str, Any]) -> None:
        """Send verdict rates, per-language pass rates and latency to TRL's hooks."""
        faults = [r for r in results if r.verdict is Verdict.SANDBOX_ERROR]
        if faults:
            logger.warning("%d of %d completions could not be judged (sandbox_error, reward None): %s",
                           len(faults), len(results), faults[0].error)
        log_extra = columns.get("log_extra")
        if callable(log_extra):
            log_extra("verdict", [r.verdict.value for r in results])
        log_metric = columns.get("log_metric")
        if not (self.log_metrics and callable(log_metric) and results):
            return
        n = len(results)
        counts = Counter(r.verdict for r in results)
        for verdict in Verdict:
            log_metric(f"verdicts/{verdict.value}", counts.get(verdict, 0) / n)
        by_language: dict[str, list[bool]] = {}
        for r in results:
            by_language.setdefault(r.language or "unknown", []).append(r.verdict is Verdict.PASS)
        for language, passes in sorted(by_language.items()):
            log_metric(f"pass_rate/{language}", sum(passes) / len(passes))
        log_metric("reward/latency_s", latency_s)
        log_metric("reward/reused", sum(r.reused for r in results) / n)
        log_metric("reward/program_time_s", sum(r.time_s for r in results) / n)

    # -- TRL entry point -----------------------------------------------------------------

    async def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                       **columns: Any) -> list[float | None]:
        from ag_eval.engine import averify_many

        started = time.monotonic()
        jobs = self.jobs(completions, columns)
        results = await averify_many(jobs, workers=self.workers, sandbox=self.sandbox,
                                     fail_fast=not self.partial_credit, dedupe=self.dedupe,
                                     verifier_url=self.verifier_url, verifier_token=self.verifier_token)
        rewards = [self.score(r) for r in results]
        self.report(results, rewards, time.monotonic() - started, columns)
        return rewards


class SyncVerifierReward(VerifierReward):
    """The same reward for callers without an event loop: judges the batch in a thread pool."""

    is_async = False

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),  # type: ignore[override]
                 **columns: Any) -> list[float | None]:
        from ag_eval.engine import verify_many

        started = time.monotonic()
        jobs = self.jobs(completions, columns)
        results = verify_many(jobs, workers=self.workers, sandbox=self.sandbox, fail_fast=not self.partial_credit,
                              dedupe=self.dedupe, verifier_url=self.verifier_url, verifier_token=self.verifier_token)
        rewards = [self.score(r) for r in results]
        self.report(results, rewards, time.monotonic() - started, columns)
        return rewards


#: name -> (class, preset options). The name is what TRL logs the reward under.
REWARD_FUNCTIONS: dict[str, tuple[type[VerifierReward], dict[str, Any]]] = {
    "io_pass": (VerifierReward, {}),
    "io_pass_sync": (SyncVerifierReward, {}),
    "io_partial": (VerifierReward, {"partial_credit": True}),
}

_OPTIONS = ("partial_credit", "no_code_penalty", "compile_error_penalty", "workers", "sandbox", "log_metrics",
            "verifier_url", "verifier_token", "dedupe")


def reward_names() -> list[str]:
    return sorted(REWARD_FUNCTIONS)


def get_reward_function(name: str = "io_pass", **options: Any) -> VerifierReward:
    """The reward function registered as ``name``, configured with ``options``."""
    if name not in REWARD_FUNCTIONS:
        raise RewardError(f"unknown reward function {name!r}; choose one of {', '.join(reward_names())}.")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise RewardError(f"unknown reward option(s) {', '.join(unknown)}; valid options are {', '.join(_OPTIONS)}.")
    cls, preset = REWARD_FUNCTIONS[name]
    return cls(name, **{**preset, **options})
