"""pass@k: the unbiased estimator and a confidence interval for pass@1.

The estimator is the one of Chen et al. (2021), "Evaluating Large Language Models
Trained on Code", also used by the Hugging Face ``code_eval`` metric. With ``n`` samples
of which ``c`` are correct, the probability that at least one of ``k`` samples drawn
without replacement is correct is

    pass@k = 1 - C(n - c, k) / C(n, k)
           = 1 - prod_{i = n-c+1}^{n} (1 - k / i)

The product form never builds a large binomial coefficient, so it is numerically stable
for any ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["pass_at_k", "estimate_pass_at_k", "PassAt1Interval", "pass_at_1_interval"]


def _check(n: int, c: int, k: int) -> None:
    if n < 0 or c < 0 or c > n:
        raise ValueError(f"need 0 <= num_correct <= num_samples, got n={n}, c={c}.")
    if k < 1:
        raise ValueError(f"k={k} must be a positive integer.")
    if k > n:
        raise ValueError(f"k={k} is larger than the {n} samples; pass@{k} needs at least {k} samples per problem.")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``n`` samples of which ``c`` are correct.

    >>> pass_at_k(10, 0, 1), pass_at_k(10, 10, 5)
    (0.0, 1.0)
    >>> round(pass_at_k(10, 3, 1), 6), round(pass_at_k(10, 3, 2), 6)
    (0.3, 0.533333)

    Raises ``ValueError`` when ``k`` exceeds ``n`` (the estimate is undefined there).
    """
    n, c, k = int(n), int(c), int(k)
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def estimate_pass_at_k(
    num_samples: int | Sequence[int] | np.ndarray,
    num_correct: Sequence[int] | np.ndarray,
    k: int,
) -> np.ndarray:
    """pass@k of every problem, as an array (take ``.mean()`` for the benchmark score).

    ``num_samples`` is one count for all problems or one per problem.

    >>> estimate_pass_at_k([4, 4], [1, 4], 2).round(3).tolist()
    [0.5, 1.0]
    >>> estimate_pass_at_k(5, [0, 5], 1).tolist()
    [0.0, 1.0]
    """
    correct = np.asarray(num_correct, dtype=np.int64).reshape(-1)
    if np.ndim(num_samples) == 0:
        samples = np.full(correct.shape, int(num_samples), dtype=np.int64)
    else:
        samples = np.asarray(num_samples, dtype=np.int64).reshape(-1)
        if samples.shape != correct.shape:
            raise ValueError(
                f"num_samples has {samples.size} entries but num_correct has {correct.size}; give one per problem."
            )
    return np.array([pass_at_k(n, c, k) for n, c in zip(samples.tolist(), correct.tolist())], dtype=np.float64)


@dataclass(frozen=True)
class PassAt1Interval:
    """Mean pass@1 over problems with a two-sided confidence interval."""

    mean: float
    low: float
    high: float
    confidence: float
    method: str
    num_problems: int

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "mean": self.mean, "low": self.low, "high": self.high, "confidence": self.confidence,
            "method": self.method, "num_problems": self.num_problems,
        }


def pass_at_1_interval(
    num_samples: int | Sequence[int] | np.ndarray,
    num_correct: Sequence[int] | np.ndarray,
    *,
    confidence: float = 0.95,
    method: str = "normal",
    num_resamples: int = 10_000,
    seed: int = 0,
) -> PassAt1Interval:
    """A confidence interval for mean pass@1, treating problems as the sampled unit.

    Each problem's pass@1 is ``c_i / n_i``; the score is their mean over problems. The
    interval says how much that mean would move on another draw of problems of the same
    kind, which is the uncertainty that dominates when comparing models on a benchmark
    (the variance across a problem's own samples is smaller and is not added).

    ``method="normal"``: mean +- z * s / sqrt(P), with ``s`` the sample standard deviation
    of the per-problem scores (ddof=1) and ``P`` problems; clipped to [0, 1]. Good for a
    few dozen problems or more.

    ``method="bootstrap"``: percentile interval of the mean over ``num_resamples``
    resamplings of the problems with replacement (seeded, so reproducible). Preferable for
    few problems or scores piled up at 0 or 1.

    >>> iv = pass_at_1_interval(1, [1, 0, 1, 1])
    >>> iv.mean, round(iv.low, 3), round(iv.high, 3)
    (0.75, 0.26, 1.0)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be strictly between 0 and 1 (e.g. 0.95).")
    correct = np.asarray(num_correct, dtype=np.float64).reshape(-1)
    samples = np.broadcast_to(np.asarray(num_samples, dtype=np.float64), correct.shape)
    if correct.size == 0:
        raise ValueError("no problems to score: give at least one problem.")
    if np.any(samples < 1) or np.any(correct < 0) or np.any(correct > samples):
        raise ValueError("need 0 <= num_correct <= num_samples and num_samples >= 1 for every problem.")
    scores = correct / samples
    mean = float(scores.mean())
    p = scores.size
    if method == "normal":
        if p < 2:
            low, high = 0.0, 1.0
        else:
            z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
            half = z * float(scores.std(ddof=1)) / math.sqrt(p)
            low, high = max(0.0, mean - half), min(1.0, mean + half)
    elif method == "bootstrap":
        if num_resamples < 100:
            raise ValueError(f"num_resamples={num_resamples} is too few for a bootstrap interval; use 1000 or more.")
        rng = np.random.default_rng(seed)
        step = max(1, 4_000_000 // p)  # bounded memory for large benchmarks
        means = np.concatenate([
            scores[rng.integers(0, p, size=(min(step, num_resamples - i), p))].mean(axis=1)
            for i in range(0, num_resamples, step)
        ])
        alpha = (1.0 - confidence) / 2.0
        low, high = (float(x) for x in np.quantile(means, [alpha, 1.0 - alpha]))
    else:
        raise ValueError(f"method={method!r} is unknown; use 'normal' or 'bootstrap'.")
    return PassAt1Interval(mean, low, high, confidence, method, p)
