"""Calibration: Dawid-Skene EM, the mapping to human labels, evaluation metrics, the pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwa_rater.calibration import (
    LABELS,
    SCORE_COLUMNS,
    CalibrationOptions,
    brier_score,
    calibrate_ratings,
    count_tensor,
    cross_validate,
    expected_calibration_error,
    fit_dawid_skene,
    fit_score_mapping,
    occupation_weights,
    select_training_items,
    vote_shares,
)
from dwa_rater.calibration.evaluate import classification_metrics, reliability_table
from dwa_rater.calibration.latent_class import e_step, m_step, posteriors_given
from dwa_rater.errors import ConfigError, DataError

#: Five raters' confusion matrices (row: true class E0, E1, E2; column: label given).
TRUE_CONFUSION = np.array(
    [
        [[0.80, 0.05, 0.15], [0.10, 0.75, 0.15], [0.15, 0.15, 0.70]],
        [[0.70, 0.10, 0.20], [0.05, 0.85, 0.10], [0.20, 0.10, 0.70]],
        [[0.85, 0.05, 0.10], [0.15, 0.70, 0.15], [0.10, 0.20, 0.70]],
        [[0.60, 0.10, 0.30], [0.10, 0.80, 0.10], [0.10, 0.10, 0.80]],
        [[0.75, 0.15, 0.10], [0.10, 0.65, 0.25], [0.15, 0.10, 0.75]],
    ]
)


def draw_labels(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One class per row of a (n, K) probability matrix."""
    return (rng.random(len(probabilities))[:, None] > np.cumsum(probabilities, axis=1)).sum(1)


def simulate_observations(
    n_items: int, seed: int, coverage: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """(item, rater, label) rows from TRUE_CONFUSION; raters 0 and 1 rate twice (samples)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, n_items, p=[0.4, 0.3, 0.3])
    blocks = []
    for rater, matrix in enumerate(TRUE_CONFUSION):
        rated = np.flatnonzero(rng.random(n_items) < coverage)
        for _ in range(2 if rater < 2 else 1):
            labels = draw_labels(rng, matrix[truth])
            blocks.append(np.c_[rated, np.full(len(rated), rater), labels[rated]])
    return np.vstack(blocks), truth


# --- Dawid-Skene ------------------------------------------------------------------------------


def test_one_em_iteration_by_hand() -> None:
    # Two raters, two classes. Item 1: A=0, B=0; item 2: A=0, B=1; item 3: A=1, B=0.
    counts = count_tensor([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [0, 0, 0, 1, 1, 0], 3, 2, 2)
    start = vote_shares(counts)
    np.testing.assert_allclose(start, [[1, 0], [0.5, 0.5], [0.5, 0.5]])
    priors, confusion = m_step(counts, start)
    # Priors: mean of the vote shares. Rater A, true 0: weight 1 + 0.5 on label 0, 0.5 on
    # label 1 -> (3/4, 1/4); true 1: 0.5 and 0.5 -> (1/2, 1/2). Rater B is the mirror image.
    np.testing.assert_allclose(priors, [2 / 3, 1 / 3])
    np.testing.assert_allclose(confusion[0], [[0.75, 0.25], [0.5, 0.5]], atol=1e-9)
    np.testing.assert_allclose(confusion[1], [[0.75, 0.25], [0.5, 0.5]], atol=1e-9)
    posteriors, _ = e_step(counts, priors, confusion)
    # Item 1: 2/3 * 3/4 * 3/4 = 3/8 vs 1/3 * 1/2 * 1/2 = 1/12 -> 9/11.
    # Items 2 and 3: 2/3 * 3/4 * 1/4 = 1/8 vs 1/12 -> 3/5.
    np.testing.assert_allclose(posteriors[:, 0], [9 / 11, 3 / 5, 3 / 5], atol=1e-9)
    fit = fit_dawid_skene(counts, max_iter=1)
    np.testing.assert_allclose(fit.posteriors[:, 0], [9 / 11, 3 / 5, 3 / 5], atol=1e-9)
    assert fit.n_iterations == 1


def test_repeated_samples_count_as_observations_of_one_rater() -> None:
    # Rater 0 says class 1 twice on item 0: its tally holds 2, and the vote share follows.
    counts = count_tensor([0, 0, 0], [0, 0, 1], [1, 1, 0], 1, 2, 3)
    assert counts[0, 0, 1] == 2
    np.testing.assert_allclose(vote_shares(counts), [[1 / 3, 2 / 3, 0]])


def test_recovers_known_confusion_matrices() -> None:
    observations, truth = simulate_observations(2000, seed=0)
    counts = count_tensor(*observations.T, 2000, 5, 3)
    rated = counts.sum(axis=(1, 2)) > 0
    fit = fit_dawid_skene(counts[rated])
    assert fit.converged
    assert np.abs(fit.confusion - TRUE_CONFUSION).max() < 0.05
    assert np.abs(fit.priors - np.bincount(truth[rated]) / rated.sum()).max() < 0.02
    assert np.all(np.diff(fit.history) > -1e-9)  # EM never lowers the likelihood
    accuracy = np.mean(fit.posteriors.argmax(1) == truth[rated])
    majority = np.mean(vote_shares(counts[rated]).argmax(1) == truth[rated])
    assert accuracy > majority
    np.testing.assert_allclose(fit.posteriors.sum(axis=1), 1.0, atol=1e-12)
    again = posteriors_given(counts[rated][None], fit.priors, fit.confusion)
    assert again.shape == (1, rated.sum(), 3)


@pytest.mark.filterwarnings("ignore:The (inplace|copy) keyword")
def test_matches_crowdkit_dawid_skene() -> None:
    aggregation = pytest.importorskip("crowdkit.aggregation")
    observations, _ = simulate_observations(600, seed=3, coverage=0.7)
    counts = count_tensor(*observations.T, 600, 5, 3)
    rated = np.flatnonzero(counts.sum(axis=(1, 2)) > 0)
    ours = fit_dawid_skene(counts[rated], max_iter=25, tol=0.0)
    data = pd.DataFrame(observations, columns=["task", "worker", "label"])
    theirs = aggregation.DawidSkene(n_iter=25, tol=-np.inf).fit(data)
    probas = theirs.probas_.loc[rated, [0, 1, 2]].to_numpy()
    np.testing.assert_allclose(ours.posteriors, probas, atol=1e-6)
    np.testing.assert_allclose(ours.priors, theirs.priors_.loc[[0, 1, 2]].to_numpy(), atol=1e-6)
    for worker in range(5):
        errors = theirs.errors_.loc[worker].loc[[0, 1, 2], [0, 1, 2]].to_numpy()  # label x true
        np.testing.assert_allclose(ours.confusion[worker], errors.T, atol=1e-6)


def test_rejects_items_without_votes() -> None:
    with pytest.raises(DataError, match="at least one rating"):
        fit_dawid_skene(np.zeros((2, 1, 3)))


# --- metrics ----------------------------------------------------------------------------------


def test_brier_and_ece_by_hand() -> None:
    probabilities = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    labels = np.array([0, 1])
    # Item 1 is exact; item 2 misses by 0.5 on two classes: (0.25 + 0.25) / 2 items.
    assert brier_score(probabilities, labels) == pytest.approx(0.25)
    # Bins: confidence 1.0 right (gap 0), confidence 0.5 wrong (gap 0.5); half the weight each.
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.25)
    table = reliability_table(probabilities, labels)
    assert table["n"].tolist() == [1, 1]
    weighted = brier_score(probabilities, labels, np.array([3.0, 1.0]))
    assert weighted == pytest.approx(0.5 / 4)


def test_kappa_matches_sklearn() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, 200)
    probabilities = rng.dirichlet([1, 1, 1], 200)
    metrics = classification_metrics(probabilities, labels)
    assert metrics["kappa"] == pytest.approx(cohen_kappa_score(labels, probabilities.argmax(1)))
    assert metrics["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == labels))


def test_occupation_weights_follow_tasks() -> None:
    task_dwas = pd.DataFrame(
        {
            "onetsoc_code": ["A", "A", "A", "B"],
            "task_id": ["1", "1", "2", "3"],
            "dwa_id": ["d1", "d2", "d1", "d2"],
        }
    )
    weights = occupation_weights(task_dwas, ["d1", "d2"]).set_index(["group", "item_id"])
    # Task 1 has two DWAs (1/2 each), task 2 one: d1 weighs 1/2 + 1 in A, d2 1/2; B: d2 = 1.
    assert weights.loc[("A", "d1"), "weight"] == pytest.approx(1.5)
    assert weights.loc[("A", "d2"), "weight"] == pytest.approx(0.5)
    assert weights.loc[("B", "d2"), "weight"] == pytest.approx(1.0)
    by_task = occupation_weights(task_dwas, ["1", "3"])
    assert sorted(zip(by_task["group"], by_task["item_id"], strict=True)) == [
        ("A", "1"),
        ("B", "3"),
    ]


# --- mappings and training items --------------------------------------------------------------


def test_training_items_follow_the_review_design() -> None:
    items = [f"i{k}" for k in range(6)]
    human = pd.DataFrame(
        {
            "item_id": items,
            "label": ["E0", "E1", "E2", "E0", "E1", "E2"],
            "reason": ["audit", "audit", "audit", "label_disagreement", "score_spread", "audit"],
        }
    )
    audit, notes = select_training_items(items, human, min_audit=3)
    assert audit.scheme == "audit" and len(audit) == 4 and not notes
    everything, notes = select_training_items(items, human, min_audit=5)
    assert everything.scheme == "all" and len(everything) == 6 and "only 4" in notes[0]
    weighted, _ = select_training_items(
        items, human.assign(selection_probability=[0.1, 0.1, 0.1, 1, 1, 0.5])
    )
    assert weighted.scheme == "weighted"
    np.testing.assert_allclose(weighted.weights, [10, 10, 10, 1, 1, 2])
    with pytest.raises(DataError, match="selection_probability"):
        select_training_items(items, human.assign(selection_probability=0.0), "weighted")


def test_isotonic_score_mapping_is_monotone_and_bounded() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    scores = np.clip(np.array([0.1, 0.9, 0.5])[labels] + rng.normal(0, 0.2, 300), 0, 1)
    mapping = fit_score_mapping(scores, labels)
    assert mapping is not None
    grid = mapping.predict(np.linspace(0, 1, 50))
    assert np.all(np.diff(grid) >= 0) and grid.min() >= 0 and grid.max() <= 1
    assert np.isnan(mapping.predict(np.array([np.nan]))[0])


# --- the pipeline -----------------------------------------------------------------------------

SCORE_OF_LABEL = np.array([0.1, 0.9, 0.55])


def simulate_biased_ratings(n_items: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three LLM raters sharing a bias (40% of true E0 items look like E2 to all of them) and a
    human who labelled a random audit sample of 300 items plus 80 'contested' items."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, n_items, p=[0.6, 0.2, 0.2])
    misleading = (truth == 0) & (rng.random(n_items) < 0.4)
    base = np.array([[0.85, 0.05, 0.10], [0.05, 0.85, 0.10], [0.10, 0.15, 0.75]])
    ids = np.array([f"D{i:05d}" for i in range(n_items)])
    frames = []
    for rater, samples in (("gpt", 2), ("llama", 1), ("qwen", 1)):
        for sample in range(samples):
            probabilities = base[truth]
            probabilities[misleading] = [0.10, 0.05, 0.85]
            labels = draw_labels(rng, probabilities)
            score = np.clip(SCORE_OF_LABEL[labels] + rng.normal(0, 0.08, n_items), 0, 1)
            frames.append(
                pd.DataFrame(
                    {
                        "item_id": ids,
                        "rater": rater,
                        "sample": sample,
                        "label": [LABELS[k] for k in labels],
                        "score": score,
                    }
                )
            )
    audit = rng.choice(n_items, 300, replace=False)
    contested = rng.choice(np.setdiff1d(np.arange(n_items), audit), 80, replace=False)
    chosen = np.r_[audit, contested]
    frames.append(
        pd.DataFrame(
            {
                "item_id": ids[chosen],
                "rater": "human",
                "label": [LABELS[k] for k in truth[chosen]],
                "reason": ["audit"] * 300 + ["label_disagreement"] * 80,
            }
        )
    )
    return pd.concat(frames, ignore_index=True), truth


@pytest.fixture(scope="module")
def biased() -> tuple[pd.DataFrame, np.ndarray, object]:
    ratings, truth = simulate_biased_ratings()
    groups = pd.DataFrame(
        {
            "group": [f"occ{i % 40}" for i in range(1200)],
            "item_id": [f"D{i:05d}" for i in range(1200)],
            "weight": 1.0,
        }
    )
    result = calibrate_ratings(ratings, CalibrationOptions(human="human", bootstrap=100), groups)
    return ratings, truth, result


def test_pipeline_output_is_complete_and_coherent(biased) -> None:
    ratings, _, result = biased
    scores = result.scores
    assert tuple(scores.columns) == SCORE_COLUMNS
    assert sorted(scores["item_id"]) == sorted(ratings["item_id"].unique())
    probabilities = scores[["p_E0", "p_E1", "p_E2"]].to_numpy()
    assert np.all(np.abs(probabilities.sum(axis=1) - 1.0) < 1e-9)
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(scores["alpha"], scores["p_E1"])
    np.testing.assert_allclose(scores["beta"], scores["p_E1"] + 0.5 * scores["p_E2"])
    np.testing.assert_allclose(scores["gamma"], scores["p_E1"] + scores["p_E2"])
    assert (scores["label"] == [LABELS[k] for k in probabilities.argmax(1)]).all()
    assert set(scores["source"]) == {"human", "calibrated"}
    assert (scores["ci_low"] <= scores["ci_high"] + 1e-12).all()
    assert scores[["score", "ci_low", "ci_high"]].stack().between(0, 1).all()
    assert (scores["n_raters"] == 3).all()


def test_human_labels_are_final(biased) -> None:
    ratings, _, result = biased
    human = ratings[ratings["rater"] == "human"].set_index("item_id")["label"]
    scores = result.scores.set_index("item_id")
    assert (scores.loc[human.index, "source"] == "human").all()
    assert (scores.loc[human.index, "label"] == human).all()
    assert (scores.loc[human.index, ["p_E0", "p_E1", "p_E2"]].max(axis=1) == 1.0).all()
    assert result.training.scheme == "audit" and len(result.training) == 300


def test_calibration_beats_raw_on_held_out_items(biased) -> None:
    _, truth, result = biased
    evaluation = result.evaluation
    # Cross-validated on the audit items ...
    for metric in ("brier", "ece"):
        assert evaluation.metric("calibrated", metric) < evaluation.metric("majority", metric)
        assert evaluation.metric("calibrated", metric) < evaluation.metric("latent_class", metric)
    assert abs(evaluation.metric("calibrated", "beta_bias")) < abs(
        evaluation.metric("majority", "beta_bias")
    )
    assert evaluation.metric("isotonic_score", "beta_mae") < evaluation.metric(
        "raw_score", "beta_mae"
    )
    assert evaluation.metric("calibrated", "occupation_mae") < evaluation.metric(
        "majority", "occupation_mae"
    )
    assert evaluation.metric("calibrated", "occupation_n") == 40
    # ... and on every item no human saw, against the simulated truth.
    scores = result.scores
    unseen = scores[scores["source"] == "calibrated"]
    rows = unseen["item_id"].str[1:].astype(int).to_numpy()
    position = {item: i for i, item in enumerate(result.evidence.item_ids)}
    evidence_rows = [position[i] for i in unseen["item_id"]]
    calibrated = unseen[["p_E0", "p_E1", "p_E2"]].to_numpy()
    majority = result.evidence.vote_shares[evidence_rows]
    assert brier_score(calibrated, truth[rows]) < 0.7 * brier_score(majority, truth[rows])
    true_beta = np.array([0.0, 1.0, 0.5])[truth[rows]].mean()
    assert abs(unseen["beta"].mean() - true_beta) < abs(
        (majority @ [0.0, 1.0, 0.5]).mean() - true_beta
    )


def test_cross_validate_without_enough_items_skips_calibration(biased) -> None:
    _, _, result = biased
    small = result.training.__class__(
        rows=result.training.rows[:10],
        labels=result.training.labels[:10],
        weights=result.training.weights[:10],
        scheme="audit",
        description="10 items",
    )
    evaluation = cross_validate(result.evidence, small, folds=5)
    assert list(evaluation.table["method"]) == ["majority", "latent_class", "raw_score"]
    assert "10 training item(s)" in evaluation.notes[0]


def _tiny(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "rater", "label"])


def test_unknown_human_rater_lists_raters() -> None:
    ratings = _tiny([("a", "gpt", "E0"), ("a", "llama", "E1")])
    with pytest.raises(DataError, match="raters present: gpt, llama"):
        calibrate_ratings(ratings, CalibrationOptions(human="human"))


def test_label_off_the_scale() -> None:
    ratings = _tiny([("a", "gpt", "E3"), ("a", "human", "E1")])
    with pytest.raises(DataError, match="'E3' is outside the scale E0, E1, E2"):
        calibrate_ratings(ratings, CalibrationOptions(human="human"))


def test_score_off_the_scale() -> None:
    ratings = _tiny([("a", "gpt", "E0"), ("a", "human", "E1")]).assign(score=[1.5, None])
    with pytest.raises(DataError, match="outside 0-1"):
        calibrate_ratings(ratings, CalibrationOptions(human="human"))


def test_item_without_any_rating() -> None:
    ratings = _tiny([("a", "gpt", "E0"), ("b", "gpt", None), ("a", "human", "E1")])
    ratings["status"] = ["ok", "failed", "ok"]
    with pytest.raises(DataError, match=r"1 item.* no usable rating.*: b"):
        calibrate_ratings(ratings, CalibrationOptions(human="human"))


def test_single_rater_passes_through() -> None:
    ratings = _tiny(
        [
            ("a", "gpt", "E0"),
            ("a", "gpt", "E2"),
            ("b", "gpt", "E1"),
            ("c", "gpt", "E2"),
            ("c", "human", "E0"),
        ]
    )
    result = calibrate_ratings(ratings, CalibrationOptions(human="human", bootstrap=20))
    assert result.method == "single_rater_pass_through"
    assert any("only one rater" in w for w in result.warnings)
    scores = result.scores.set_index("item_id")
    np.testing.assert_allclose(scores.loc["a", ["p_E0", "p_E1", "p_E2"]], [0.5, 0, 0.5])
    assert scores.loc["a", "source"] == "raw" and scores.loc["c", "source"] == "human"
    assert scores.loc["c", "label"] == "E0"


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="folds"):
        CalibrationOptions(human="human", folds=1)
    with pytest.raises(ConfigError, match="confidence"):
        CalibrationOptions(human="human", confidence=1.0)
