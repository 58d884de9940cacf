"""PPI++ means, classical intervals and the cross-fitted combination: hand-computed cases and
``ppi_py`` (package ppi-python) as the reference, to 1e-8."""

from __future__ import annotations

import numpy as np
import pytest

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.combine import cross_fit, cross_ppi_mean, least_squares
from dwa_rater.inference.ppi import classical_mean, power_tuning, ppi_mean, z_value

Z95 = 1.959963984540054


def _synthetic(n: int, big_n: int, seed: int, k: int = 1) -> tuple[np.ndarray, ...]:
    """Exposure-like labels on {0, 0.5, 1} and noisy, biased predictions of them."""
    rng = np.random.default_rng(seed)
    truth = rng.choice([0.0, 0.5, 1.0], size=n + big_n, p=[0.55, 0.3, 0.15])
    noise = rng.normal(0.0, 0.3, size=(n + big_n, k))
    predictions = np.clip(truth[:, None] * 0.8 + 0.15 + noise, 0.0, 1.0)
    return truth[:n], predictions[:n], predictions[n:]


def test_z_value() -> None:
    assert z_value(0.95) == pytest.approx(Z95, abs=1e-12)
    with pytest.raises(ConfigError):
        z_value(1.0)


def test_plain_ppi_by_hand() -> None:
    # Y - Yhat = [0, 0, 1, 0] (mean 0.25, var 0.1875); Yhat_u = [1, 1, 0, 0] (mean 0.5, var 0.25)
    result = ppi_mean([1, 0, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0], lam=1.0)
    se = np.sqrt(0.25 / 4 + 0.1875 / 4)
    assert result.estimate == pytest.approx(0.75, abs=1e-12)
    assert result.se == pytest.approx(se, abs=1e-12)
    assert result.ci_low == pytest.approx(0.75 - Z95 * se, abs=1e-12)
    assert result.ci_high == pytest.approx(0.75 + Z95 * se, abs=1e-12)
    assert (result.n_gold, result.n, result.lam) == (4, 8, 1.0)
    # classical variance var(Y)/n = 0.25/4, so the 4 labels are worth 0.0625 / se^2 * 4
    assert result.n_effective == pytest.approx(4 * 0.0625 / se**2, abs=1e-12)


def test_lambda_zero_is_the_classical_mean() -> None:
    gold, predicted, unlabelled = _synthetic(50, 400, seed=1)
    tuned_off = ppi_mean(gold, predicted[:, 0], unlabelled[:, 0], lam=0.0)
    classical = classical_mean(gold)
    assert tuned_off.estimate == pytest.approx(gold.mean(), abs=1e-12)
    assert tuned_off.ci_low == pytest.approx(classical.ci_low, abs=1e-12)
    assert classical.se == pytest.approx(gold.std() / np.sqrt(50), abs=1e-12)


def test_power_tuning_is_clipped_and_zero_for_constant_predictions() -> None:
    gold = np.array([0.0, 1.0, 0.5, 1.0])
    ones = np.ones(4)
    assert power_tuning(gold, np.full(4, 0.3), np.full(6, 0.3), ones, np.ones(6)) == 0.0
    # predictions anti-correlated with the labels: the optimum is negative, clipped to 0
    assert power_tuning(gold, 1 - gold, np.array([0.2, 0.9]), ones, np.ones(2)) == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="at least 2"):
        ppi_mean([1.0], [1.0], [0.0, 1.0])
    with pytest.raises(DataError, match="missing"):
        ppi_mean([1.0, np.nan], [1.0, 0.0], [0.0])
    with pytest.raises(DataError, match="predictions for them"):
        ppi_mean([1.0, 0.0], [1.0], [0.0])
    with pytest.raises(DataError, match="non-negative"):
        ppi_mean([1.0, 0.0], [1.0, 0.0], [0.0], weights=[1.0, -1.0])


def test_least_squares_recovers_an_exact_combination() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 2))
    y = 0.2 + 0.5 * x[:, 0] - 0.3 * x[:, 1]
    assert least_squares(y, x, np.ones(40)) == pytest.approx([0.2, 0.5, -0.3], abs=1e-6)


def test_cross_fit_falls_back_to_the_mean_with_few_gold_items() -> None:
    combined = cross_fit([0.0, 1.0, 0.5], [[0.2, 0.4], [0.6, 0.8], [0.1, 0.3]], [[1.0, 0.0]])
    assert combined.folds == 1
    assert combined.unlabelled == pytest.approx([0.5])
    assert cross_ppi_mean(
        [0.0, 1.0, 0.5], [[0.2, 0.4], [0.6, 0.8], [0.1, 0.3]], [[1.0, 0.0]]
    ).method == ("ppi++ (mean of raters)")


def test_several_raters_beat_one_on_average() -> None:
    ratios = []
    for seed in range(5):
        gold, predicted, unlabelled = _synthetic(300, 2700, seed=seed, k=3)
        one = ppi_mean(gold, predicted[:, 0], unlabelled[:, 0])
        several = cross_ppi_mean(gold, predicted, unlabelled, seed=seed)
        assert several.method == "cross-ppi++"
        ratios.append(several.width / one.width)
    # three independent noisy raters average out part of the noise
    assert np.mean(ratios) < 0.9


# --------------------------------------------------------------------------------------------
# ppi_py as the reference (a dev dependency)


@pytest.fixture(scope="module")
def ppi_py():  # type: ignore[no-untyped-def]
    return pytest.importorskip("ppi_py")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_ppi_mean_matches_ppi_py(ppi_py, seed: int, level: float) -> None:  # type: ignore[no-untyped-def]
    gold, predicted, unlabelled = _synthetic(120, 900, seed=seed)
    ours = ppi_mean(gold, predicted[:, 0], unlabelled[:, 0], level=level)
    low, high = ppi_py.ppi_mean_ci(gold, predicted[:, 0], unlabelled[:, 0], alpha=1 - level)
    point = ppi_py.ppi_mean_pointestimate(gold, predicted[:, 0], unlabelled[:, 0])
    assert ours.ci_low == pytest.approx(float(np.ravel(low)[0]), abs=1e-8)
    assert ours.ci_high == pytest.approx(float(np.ravel(high)[0]), abs=1e-8)
    assert ours.estimate == pytest.approx(float(np.ravel(point)[0]), abs=1e-8)
    assert 0.0 < ours.lam < 1.0


@pytest.mark.parametrize("lam", [0.0, 0.4, 1.0])
def test_fixed_lambda_matches_ppi_py(ppi_py, lam: float) -> None:  # type: ignore[no-untyped-def]
    gold, predicted, unlabelled = _synthetic(80, 500, seed=7)
    ours = ppi_mean(gold, predicted[:, 0], unlabelled[:, 0], lam=lam)
    low, high = ppi_py.ppi_mean_ci(gold, predicted[:, 0], unlabelled[:, 0], alpha=0.05, lam=lam)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(
        (float(np.ravel(low)[0]), float(np.ravel(high)[0])), abs=1e-8
    )


def test_weighted_ppi_matches_ppi_py(ppi_py) -> None:  # type: ignore[no-untyped-def]
    gold, predicted, unlabelled = _synthetic(150, 1000, seed=11)
    rng = np.random.default_rng(11)
    w = rng.choice([1.0, 2.0], size=150)
    w_u = rng.choice([1.0, 2.0], size=1000)
    ours = ppi_mean(gold, predicted[:, 0], unlabelled[:, 0], weights=w, weights_unlabelled=w_u)
    low, high = ppi_py.ppi_mean_ci(
        gold, predicted[:, 0], unlabelled[:, 0], alpha=0.05, w=w, w_unlabeled=w_u
    )
    point = ppi_py.ppi_mean_pointestimate(
        gold, predicted[:, 0], unlabelled[:, 0], w=w, w_unlabeled=w_u
    )
    assert ours.ci_low == pytest.approx(float(np.ravel(low)[0]), abs=1e-8)
    assert ours.ci_high == pytest.approx(float(np.ravel(high)[0]), abs=1e-8)
    assert ours.estimate == pytest.approx(float(np.ravel(point)[0]), abs=1e-8)


def test_classical_matches_ppi_py(ppi_py) -> None:  # type: ignore[no-untyped-def]
    from ppi_py.baselines import classical_mean_ci

    gold, _, _ = _synthetic(60, 0, seed=5)
    w = np.random.default_rng(5).choice([1.0, 2.0], size=60)
    for weights in (None, w):
        ours = classical_mean(gold, level=0.9, weights=weights)
        low, high = classical_mean_ci(gold, w=weights, alpha=0.1)
        assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-8)


def test_cross_fitted_matches_crossppi(ppi_py) -> None:  # type: ignore[no-untyped-def]
    gold, predicted, unlabelled = _synthetic(200, 1500, seed=4, k=3)
    combined = cross_fit(gold, predicted, unlabelled, folds=5, seed=4)
    ours = cross_ppi_mean(gold, predicted, unlabelled, folds=5, seed=4, lam=1.0)
    low, high = ppi_py.crossppi_mean_ci(gold, combined.gold, combined.fold_unlabelled, alpha=0.05)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(
        (float(np.ravel(low)[0]), float(np.ravel(high)[0])), abs=1e-8
    )
    tuned = cross_ppi_mean(gold, predicted, unlabelled, folds=5, seed=4)
    low, high = ppi_py.ppi_mean_ci(gold, combined.gold, combined.unlabelled, alpha=0.05)
    assert (tuned.ci_low, tuned.ci_high) == pytest.approx(
        (float(np.ravel(low)[0]), float(np.ravel(high)[0])), abs=1e-8
    )
