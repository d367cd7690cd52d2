"""The pass@k estimator against exact enumeration, and the pass@1 interval."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest

from ag_eval.passk import estimate_pass_at_k, pass_at_1_interval, pass_at_k


def _enumerated(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of the n samples that hold at least one correct sample."""
    correct = set(range(c))
    subsets = list(itertools.combinations(range(n), k))
    return sum(1 for s in subsets if correct.intersection(s)) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_estimator_equals_exact_enumeration_for_small_n(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert math.isclose(pass_at_k(n, c, k), _enumerated(n, c, k), rel_tol=1e-12, abs_tol=1e-12), (n, c, k)


def test_estimator_equals_binomial_ratio_and_stays_finite_for_large_n():
    assert math.isclose(pass_at_k(10_000, 1, 100), 100 / 10_000, rel_tol=1e-9)
    n, c, k = 2_000, 37, 250
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert math.isclose(pass_at_k(n, c, k), exact, rel_tol=1e-9)


def test_k_larger_than_the_samples_is_an_error():
    with pytest.raises(ValueError, match="larger than the 3 samples"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_vectorised_estimate_matches_the_scalar_one():
    samples, correct = [5, 6, 7, 5], [0, 1, 3, 5]
    got = estimate_pass_at_k(samples, correct, 2)
    assert got.shape == (4,)
    assert np.allclose(got, [pass_at_k(n, c, 2) for n, c in zip(samples, correct)])
    assert np.allclose(estimate_pass_at_k(5, [0, 5], 1), [0.0, 1.0])
    with pytest.raises(ValueError, match="one per problem"):
        estimate_pass_at_k([5, 5], [1, 2, 3], 1)


def test_normal_interval_is_mean_plus_minus_z_standard_errors():
    correct = [3, 0, 5, 2, 4, 1]
    scores = np.array(correct) / 5
    iv = pass_at_1_interval(5, correct)
    half = NormalDist().inv_cdf(0.975) * scores.std(ddof=1) / math.sqrt(len(scores))
    assert iv.method == "normal" and iv.num_problems == 6
    assert math.isclose(iv.mean, scores.mean())
    assert math.isclose(iv.low, scores.mean() - half) and math.isclose(iv.high, scores.mean() + half)


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    correct = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    a = pass_at_1_interval(1, correct, method="bootstrap", seed=3)
    b = pass_at_1_interval(1, correct, method="bootstrap", seed=3)
    assert a == b
    assert 0.0 <= a.low < a.mean < a.high <= 1.0


def test_interval_rejects_bad_arguments_with_the_fix():
    with pytest.raises(ValueError, match="between 0 and 1"):
        pass_at_1_interval(1, [1], confidence=95)
    with pytest.raises(ValueError, match="'normal' or 'bootstrap'"):
        pass_at_1_interval(1, [1], method="wilson")
    with pytest.raises(ValueError, match="at least one problem"):
        pass_at_1_interval(1, [])
