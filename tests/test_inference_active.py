"""Active statistical inference: sampling probabilities and the IPW mean (hand-computed cases
and a seeded simulation of unbiasedness and coverage)."""

from __future__ import annotations

import numpy as np
import pytest

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.active import (
    capped_proportional,
    draw_sample,
    horvitz_thompson_mean,
    ipw_mean,
    sampling_probabilities,
)

Z95 = 1.959963984540054


def test_capped_proportional_by_hand() -> None:
    # 10/13 * 2 > 1: capped at 1, the remaining budget of 1 is shared by the other three
    assert capped_proportional(np.array([10.0, 1.0, 1.0, 1.0]), 2.0) == pytest.approx(
        [1.0, 1 / 3, 1 / 3, 1 / 3]
    )
    assert capped_proportional(np.array([1.0, 3.0]), 1.0) == pytest.approx([0.25, 0.75])


def test_sampling_probabilities_mix_with_uniform() -> None:
    pi = sampling_probabilities([0.0, 1.0, 3.0, 0.0], budget=1.0, uniform_share=0.2)
    assert pi == pytest.approx([0.05, 0.2 + 0.05, 0.6 + 0.05, 0.05])
    assert pi.sum() == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        sampling_probabilities([1.0, 1.0], budget=3.0)
    with pytest.raises(DataError):
        sampling_probabilities([1.0, -1.0], budget=1.0)


def test_ipw_mean_by_hand() -> None:
    # lam = 1: T = Yhat + (Y - Yhat) * xi / pi = [0.5 + 0.5 / 0.5, 0.5, 0 + 0, 1] = [1.5, .5, 0, 1]
    result = ipw_mean(
        predicted=[0.5, 0.5, 0.0, 1.0],
        gold=[1.0, np.nan, 0.0, np.nan],
        probabilities=[0.5, np.nan, 1.0, np.nan],
        lam=1.0,
    )
    se = np.sqrt(0.3125) / 2  # population sd of T over sqrt(4)
    assert result.estimate == pytest.approx(0.75)
    assert result.se == pytest.approx(se)
    assert result.ci_high == pytest.approx(0.75 + Z95 * se)
    assert (result.n_gold, result.n, result.method) == (2, 4, "active-ipw")


def test_horvitz_thompson_is_ipw_without_predictions() -> None:
    ht = horvitz_thompson_mean([1.0, 0.0, 1.0], [0.5, 0.5, 0.25], size=10)
    assert ht.estimate == pytest.approx((2.0 + 0.0 + 4.0) / 10)
    assert ht.lam == 0.0


def test_ipw_rejects_gold_without_probability() -> None:
    with pytest.raises(DataError, match="probability"):
        ipw_mean([0.1, 0.2, 0.3], [1.0, 0.0, np.nan], [0.5, np.nan, np.nan])


def _population(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels whose error from the prediction is larger where the uncertainty is larger."""
    rng = np.random.default_rng(seed)
    uncertainty = np.where(rng.random(size) < 0.2, 0.4, 0.02)
    predicted = rng.uniform(0.1, 0.9, size)
    truth = 0.9 * predicted + rng.normal(0, uncertainty)
    return truth, predicted, uncertainty


def test_active_sampling_is_unbiased_covers_and_beats_uniform() -> None:
    truth, predicted, uncertainty = _population(2000, seed=0)
    target = truth.mean()
    budget = 200
    designs = {
        "active": sampling_probabilities(uncertainty, budget, uniform_share=0.1),
        "uniform": np.full(len(truth), budget / len(truth)),
    }
    summary = {}
    for name, pi in designs.items():
        estimates, covered, widths = [], [], []
        for draw in range(400):
            sampled = draw_sample(pi, seed=draw)
            gold = np.where(sampled, truth, np.nan)
            result = ipw_mean(predicted, gold, pi)
            estimates.append(result.estimate)
            covered.append(result.ci_low <= target <= result.ci_high)
            widths.append(result.width)
        spread = np.std(estimates) / np.sqrt(len(estimates))
        assert abs(np.mean(estimates) - target) < 4 * spread, name  # unbiased
        # sd(T) also counts the spread of the predictions across items, so for a fixed set of
        # items (as here) the interval is conservative
        assert np.mean(covered) >= 0.92, name
        summary[name] = np.mean(widths)
    assert summary["active"] < 0.9 * summary["uniform"]
