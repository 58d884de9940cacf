"""Calibration with neighbour features built from the texts of the human-labelled items."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwa_rater.calibration.combine import CalibrationOptions
from dwa_rater.calibration.evaluate import occupation_weights_from_ratings
from dwa_rater.calibration.neighbours import (
    NEIGHBOUR_FEATURE_NAMES,
    item_texts,
    neighbour_evidence,
    rater_label_shares,
)
from dwa_rater.calibration.pipeline import calibrate_ratings
from dwa_rater.embedding import EmbeddingCache, Role

LABELS = ("E0", "E1", "E2")
TOPICS = ("lift", "write", "analyse", "drive", "draft", "compute")
TOPIC_LABEL = (0, 1, 2, 0, 1, 2)


class TopicEncoder:
    """Texts "<topic> <n>" -> a vector near the topic's axis (small item-specific noise)."""

    name = "topic-test-encoder"
    dim = len(TOPICS) + 4

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        rows = []
        for text in texts:
            topic, number = text.split()
            row = np.zeros(self.dim)
            row[TOPICS.index(topic)] = 1.0
            noise = np.random.default_rng(int(number)).normal(0, 0.15, 4)
            row[len(TOPICS) :] = noise
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, dtype=np.float32)


def _ratings(n: int = 600, share: float = 0.3, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two noisy LLM raters on every item, a human on a random share; the topic decides."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, len(TOPICS), n)
    truth = np.array(TOPIC_LABEL)[topic]
    ids = [f"t{i}" for i in range(n)]
    texts = [f"{TOPICS[t]} {i}" for i, t in enumerate(topic)]
    occupations = [f"occ{i % 40}" for i in range(n)]
    frames = []
    for rater in ("llm_a", "llm_b"):
        correct = rng.random(n) < 0.55
        labels = np.where(correct, truth, rng.integers(0, 3, n))
        frames.append(
            pd.DataFrame(
                {
                    "item_id": ids,
                    "rater": rater,
                    "label": [LABELS[k] for k in labels],
                    "item_text": texts,
                    "onetsoc_code": occupations,
                    "task_type": "Core",
                }
            )
        )
    human = rng.random(n) < share
    frames.append(
        pd.DataFrame(
            {
                "item_id": np.array(ids)[human],
                "rater": "human",
                "label": [LABELS[k] for k in truth[human]],
                "item_text": np.array(texts)[human],
                "onetsoc_code": np.array(occupations)[human],
                "task_type": "Core",
            }
        )
    )
    return pd.concat(frames, ignore_index=True), truth


def test_neighbour_votes_leave_the_item_itself_out(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, TopicEncoder())
    ids = ["a", "b", "c", "d"]
    texts = ["lift 1", "lift 2", "write 3", "write 4"]
    labelled = {"a": 0, "b": 2, "c": 1}
    evidence = neighbour_evidence(ids, texts, labelled, cache, k=1, temperature=0.02)
    assert evidence is not None
    # "a" may not vote for itself: its nearest other labelled statement is "b" (E2)
    assert evidence.probabilities[0] == pytest.approx([0.0, 0.0, 1.0])
    assert evidence.probabilities[1] == pytest.approx([1.0, 0.0, 0.0])
    assert evidence.probabilities[3] == pytest.approx([0.0, 1.0, 0.0])
    assert evidence.features.shape == (4, len(NEIGHBOUR_FEATURE_NAMES))
    assert neighbour_evidence(ids, texts, labelled, cache, k=5) is None  # too few labelled


def test_item_texts_and_rater_shares() -> None:
    frame = pd.DataFrame(
        {"item_id": ["1", "1", "2"], "item_text": [None, "x", ""], "rater": "r", "label": "E0"}
    )
    assert item_texts(frame, ["1", "2", "3"]) == ["x", None, None]
    counts = np.array([[[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    assert rater_label_shares(counts).tolist() == [
        [1.0, 0.0, 0.0, 0.0, 0.5, 0.5],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    ]


def test_neighbours_lift_calibration_on_unlabelled_items(tmp_path: Path) -> None:
    ratings, truth = _ratings()
    options = CalibrationOptions(human="human", bootstrap=20, c_grid=(1.0,))
    groups = occupation_weights_from_ratings(ratings)
    assert groups is not None and set(groups["weight"]) == {2.0}
    plain = calibrate_ratings(ratings, CalibrationOptions(human="human", bootstrap=0,
                              c_grid=(1.0,), neighbours=False), groups)  # fmt: skip
    cache = EmbeddingCache(tmp_path, TopicEncoder())
    with_neighbours = calibrate_ratings(ratings, options, groups, cache)
    assert with_neighbours.method == "calibrated"
    assert set(NEIGHBOUR_FEATURE_NAMES) <= set(with_neighbours.feature_names)
    assert "llm_a_share_E1" in with_neighbours.feature_names
    human_ids = set(ratings.loc[ratings["rater"] == "human", "item_id"])
    position = {f"t{i}": i for i in range(len(truth))}

    def accuracy(scores: pd.DataFrame) -> float:
        rest = scores[~scores["item_id"].isin(human_ids)]
        expected = [LABELS[truth[position[i]]] for i in rest["item_id"]]
        return float(np.mean(rest["label"].to_numpy() == np.array(expected)))

    assert accuracy(with_neighbours.scores) > 0.95
    assert accuracy(with_neighbours.scores) > accuracy(plain.scores) + 0.15
    evaluation = with_neighbours.evaluation
    assert evaluation is not None
    assert any("groups whole" in note for note in evaluation.notes)
    assert evaluation.metric("calibrated", "kappa") > evaluation.metric("latent_class", "kappa")
    summary = with_neighbours.summary()
    assert "human-labelled statements" in summary["mapping"]["neighbours"]
    scores = with_neighbours.scores
    assert scores[["p_E0", "p_E1", "p_E2"]].sum(axis=1).sub(1).abs().max() < 1e-9
    assert (scores["ci_low"] <= scores["score"] + 1e-9).all()


def test_a_single_rater_is_calibrated_when_neighbours_exist(tmp_path: Path) -> None:
    ratings, _ = _ratings(seed=1)
    ratings = ratings[ratings["rater"] != "llm_b"]
    cache = EmbeddingCache(tmp_path, TopicEncoder())
    result = calibrate_ratings(
        ratings, CalibrationOptions(human="human", bootstrap=0, c_grid=(1.0,)), None, cache
    )
    assert result.method == "calibrated"
    assert result.source_counts()["calibrated"] > 0
    without = calibrate_ratings(
        ratings, CalibrationOptions(human="human", bootstrap=0, neighbours=False)
    )
    assert without.method == "single_rater_pass_through"


def test_probabilities_written_by_a_rater_become_features(tmp_path: Path) -> None:
    ratings, truth = _ratings(seed=2)
    llm_b = ratings["rater"] == "llm_b"
    # llm_b is a reference-like rater: it writes class probabilities that track the truth
    position = {f"t{i}": i for i in range(len(truth))}
    onehot = np.eye(3)[[truth[position[i]] for i in ratings.loc[llm_b, "item_id"]]]
    for k, label in enumerate(LABELS):
        ratings.loc[llm_b, f"p_{label}"] = 0.1 + 0.7 * onehot[:, k]
    result = calibrate_ratings(
        ratings, CalibrationOptions(human="human", bootstrap=0, c_grid=(1.0,), neighbours=False)
    )
    assert "llm_b_log_p_E1" in result.feature_names
    assert "llm_a_log_p_E1" not in result.feature_names
    assert result.method == "calibrated"
    evaluation = result.evaluation
    assert evaluation is not None and evaluation.metric("calibrated", "kappa") > 0.9
