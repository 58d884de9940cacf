"""Linear indices with design-based intervals: hand-computed cases, a seeded coverage simulation,
and the occupation index of the published labels (Core tasks weigh 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwa_rater.errors import DataError
from dwa_rater.indices.uncertainty import (
    compose_links,
    core_task_links,
    index_change_intervals,
    index_intervals,
    posting_links,
)
from dwa_rater.inference.linear import linear_estimate

Z95 = 1.959963984540054


def test_srs_difference_estimate_by_hand() -> None:
    # N = 4, labelled items 0 and 2 (n = 2), a = 1/4 each, lam = 1
    # theta = sum a Yhat + (N/n) sum_L a (Y - Yhat) = 0.5 + 2 * (0.25 * 0.5 + 0.25 * -0.2) = 0.65
    # residual terms [0.125, -0.05]: s^2 = 0.0153125; var = 16 * (1 - 0.5) / 2 * s^2
    result = linear_estimate([0.25] * 4, [0.5, 0.2, 0.2, 1.1], [1.0, np.nan, 0.0, np.nan], lam=1.0)
    assert result.estimate == pytest.approx(0.65)
    se = np.sqrt(4 * 0.0153125)
    assert result.se == pytest.approx(se)
    assert result.ci_low == pytest.approx(0.65 - Z95 * se)
    assert (result.n_gold, result.n, result.method) == (2, 4, "difference (srs)")


def test_every_item_labelled_gives_the_exact_index() -> None:
    gold = np.array([0.0, 0.5, 1.0, 0.5])
    a = np.array([0.1, 0.2, 0.3, 0.4])
    result = linear_estimate(a, [0.3, 0.3, 0.3, 0.3], gold)
    assert result.estimate == pytest.approx(a @ gold)
    assert result.se == pytest.approx(0.0)


def test_poisson_variance_by_hand_and_certain_items() -> None:
    # lam = 0: theta = sum_L a Y / pi = 0.5 * 1 / 0.5 + 0.5 * 1 / 1 = 1.5
    # var = 0.25 * 1 * 0.5 / 0.25 + (pi = 1 adds nothing) = 0.5
    result = linear_estimate([0.5, 0.5, 0.0], [0, 0, 0], [1.0, 1.0, np.nan], [0.5, 1.0, 0.3], lam=0)
    assert result.estimate == pytest.approx(1.5)
    assert result.se == pytest.approx(np.sqrt(0.5))
    with pytest.raises(DataError, match="probability"):
        linear_estimate([0.5, 0.5], [0, 0], [1.0, 1.0], [0.5, np.nan])


def test_group_index_covers_over_repeated_samples() -> None:
    """A 300-item group inside 3,000 items; 10% labelled at random, many draws."""
    rng = np.random.default_rng(0)
    size = 3000
    truth = rng.choice([0.0, 0.5, 1.0], size=size, p=[0.5, 0.3, 0.2])
    predicted = np.clip(0.7 * truth + 0.1 + rng.normal(0, 0.15, size), 0, 1)
    a = np.zeros(size)
    a[:300] = rng.choice([1.0, 2.0], 300)
    a /= a.sum()
    target = a @ truth
    covered, ratios = [], []
    for _ in range(600):
        gold = np.full(size, np.nan)
        chosen = rng.choice(size, 300, replace=False)
        gold[chosen] = truth[chosen]
        result = linear_estimate(a, predicted, gold)
        covered.append(result.ci_low <= target <= result.ci_high)
        ratios.append(result.se / linear_estimate(a, predicted, gold, lam=0.0).se)
    assert 0.91 <= np.mean(covered) <= 0.98  # about 30 labelled items in the group
    assert np.mean(ratios) < 0.8


def test_links_and_changes() -> None:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "gold": [1.0, np.nan, 0.0, 0.5],
            "p": [0.8, 0.4, 0.1, 0.5],
        }
    )
    links = pd.DataFrame(
        {"group": ["x", "x", "y", "y"], "item_id": ["a", "b", "c", "d"], "weight": [1, 3, 1, 1]}
    )
    table = index_intervals(items, links, ["p"])
    assert table["group"].tolist() == ["x", "y"]
    assert table["predicted_index"].tolist() == pytest.approx([0.25 * 0.8 + 0.75 * 0.4, 0.3])
    cities = pd.DataFrame({"group": ["c1"], "item_id": ["x"], "weight": [1.0]})
    composed = compose_links(cities, links)
    assert composed["weight"].tolist() == pytest.approx([0.25, 0.75])
    same = index_change_intervals(items, links, links, ["p"])
    assert same["estimate"].tolist() == pytest.approx([0.0, 0.0])


def test_core_weighted_occupation_index_matches_the_published_one(data_dir: Path) -> None:
    from dwa_rater.reference.labelsets import eloundou_tasks

    folder = data_dir / "exposure" / "eloundou_2023"
    if not (folder / "full_labelset_dev.tsv").is_file():
        pytest.skip("Eloundou dev labels not found")
    tasks = eloundou_tasks(folder / "full_labelset_dev.tsv")
    beta = {"E0": 0.0, "E1": 1.0, "E2": 0.5}
    items = pd.DataFrame(
        {
            "item_id": tasks["item_id"],
            "gold": tasks["human_exposure_agg"].map(beta),
            "gpt4": tasks["gpt4_exposure"].map(beta),
        }
    )
    table = index_intervals(items, core_task_links(tasks), ["gpt4"]).set_index("group")
    published = pd.read_csv(folder / "occ_level_dev.csv").set_index("O*NET-SOC Code")
    both = table.index.intersection(published.index)
    assert len(both) > 400
    # every task labelled: the index is exact (zero width) and equals the published human beta
    difference = (table.loc[both, "estimate"] - published.loc[both, "human_rating_beta"]).abs()
    assert difference.quantile(0.95) < 1e-6
    assert table["se"].max() == pytest.approx(0.0, abs=1e-12)


def test_posting_links_reproduce_the_mean_posting_score() -> None:
    posting_dwas = pd.DataFrame(
        {
            "posting_id": ["p1", "p1", "p2", "p3"],
            "dwa_id": ["a", "b", "a", "c"],
            "weight": [1.0, 3.0, 2.0, 1.0],
        }
    )
    postings = pd.DataFrame(
        {"posting_id": ["p1", "p2", "p3"], "occupation_category": ["x", "x", "y"]}
    )
    scores = pd.Series({"a": 0.2, "b": 1.0, "c": 0.5})
    links = posting_links(posting_dwas, postings)
    # x: mean of p1 (0.25 * 0.2 + 0.75 * 1.0 = 0.8) and p2 (0.2) = 0.5; y: 0.5
    index = (links["weight"] * links["item_id"].map(scores)).groupby(links["group"]).sum()
    assert index.to_dict() == pytest.approx({"x": 0.5, "y": 0.5})
    assert links.groupby("group")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
