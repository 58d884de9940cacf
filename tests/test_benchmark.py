"""``dwa-rater benchmark``: stratified sample, leaderboard metrics, and a run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from dwa_rater.benchmark.metrics import ORDINAL, occupation_beta_r, rater_metrics
from dwa_rater.benchmark.run import LEADERBOARD_COLUMNS, run_benchmark
from dwa_rater.benchmark.sample import allocate, stratified_sample
from dwa_rater.config import RaterSpec
from dwa_rater.errors import ConfigError
from dwa_rater.report.benchmark import write_benchmark_report
from dwa_rater.testing.encoders import KeywordEncoder
from dwa_rater.testing.fake_openai import FakeOpenAIServer

LABELS = ("E0", "E1", "E2")


def test_largest_remainder_allocation_by_hand() -> None:
    sizes = pd.Series([50, 30, 20], index=["a", "b", "c"])
    assert allocate(sizes, 10).tolist() == [5, 3, 2]
    # quotas 3.5 / 2.1 / 1.4 -> floors 3, 2, 1 and one more seat to the largest remainder (a)
    assert allocate(sizes, 7).tolist() == [4, 2, 1]
    with pytest.raises(ConfigError):
        allocate(sizes, 101)


def test_stratified_sample_keeps_the_mix_and_the_seed() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "item_id": [str(i) for i in range(400)],
            "label": rng.choice(LABELS, 400, p=[0.5, 0.2, 0.3]),
            "onetsoc_code": rng.choice(["11-1011.00", "15-1252.00", "47-2061.00"], 400),
        }
    )
    sample = stratified_sample(table, 100, seed=3)
    assert len(sample) == 100 and sample["item_id"].is_unique
    expected = table["label"].value_counts(normalize=True) * 100
    got = sample["label"].value_counts()
    assert (got - expected).abs().max() <= 3
    assert sample.equals(stratified_sample(table, 100, seed=3))
    assert not sample.equals(stratified_sample(table, 100, seed=4))


def test_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    ids = [str(i) for i in range(300)]
    truth = pd.Series(rng.choice(LABELS, 300), index=ids)
    noisy = truth.where(rng.random(300) < 0.6, pd.Series(rng.choice(LABELS, 300), index=ids))
    predicted = noisy.drop(ids[:30])  # 30 items failed
    metrics = rater_metrics(truth, predicted, resamples=300, seed=0)
    common = predicted.index
    assert metrics["kappa"] == pytest.approx(cohen_kappa_score(truth[common], predicted))
    binary = cohen_kappa_score(truth[common] != "E0", predicted != "E0")
    assert metrics["kappa_binary"] == pytest.approx(binary)
    weighted = cohen_kappa_score(
        truth[common].map(ORDINAL), predicted.map(ORDINAL), labels=[0, 1, 2], weights="linear"
    )
    assert metrics["weighted_kappa"] == pytest.approx(weighted)
    assert metrics["kappa_low"] < metrics["kappa"] < metrics["kappa_high"]
    assert metrics["failed_share"] == pytest.approx(0.1)


def test_occupation_beta_r_by_hand() -> None:
    truth = ["E1"] * 5 + ["E0"] * 5 + ["E2"] * 5 + ["E1"]
    predicted = ["E1"] * 4 + ["E0"] + ["E0"] * 5 + ["E2"] * 5 + ["E0"]
    occupations = ["a"] * 5 + ["b"] * 5 + ["c"] * 5 + ["d"]  # d has too few tasks
    core = [True] + [False] * 15
    r, n = occupation_beta_r(truth, predicted, occupations, core)
    # a: human 1, rater (2*1 + 1+1+1 + 0) / 6 = 5/6; b: 0, 0; c: 0.5, 0.5
    assert n == 3
    assert r == pytest.approx(float(np.corrcoef([1.0, 0.0, 0.5], [5 / 6, 0.0, 0.5])[0, 1]))


def _reference(path: Path) -> Path:
    topics = {
        "E0": ["Lift boxes", "Repair engines", "Drive trucks", "Lift and repair pumps"],
        "E1": ["Write reports", "Draft letters", "Summarise meetings", "Write and draft memos"],
        "E2": ["Analyse data", "Analyse sales data", "Data entry and analyse", "Analyse logs"],
    }
    rows = []
    for label, texts in topics.items():
        for copy in range(3):
            for number, text in enumerate(texts):
                item = f"{label}{copy}{number}"
                occupation = f"{11 + copy}-10{number}1.00"
                for rater, value in (("human", label), ("gpt4", "E2" if copy == 0 else label)):
                    rows.append(
                        {"item_id": item, "rater": rater, "label": value, "item_text": text,
                         "onetsoc_code": occupation, "task_type": "Core", "status": "ok"}
                    )  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_benchmark_end_to_end(tmp_path: Path) -> None:
    reference = _reference(tmp_path / "labels.csv")
    with FakeOpenAIServer() as server:
        raters = [
            RaterSpec(
                name="ref", provider="reference", reference=str(reference), k=3,
                exclude="onetsoc_code",
            ),
            RaterSpec(name="fake", base_url=server.base_url, model="fake-model", max_retries=1),
        ]  # fmt: skip
        result = run_benchmark(
            reference,
            raters,
            n=24,
            seed=0,
            out_dir=tmp_path / "bench",
            cache_dir=tmp_path / "cache",
            environ={},
            resamples=200,
            encoder=KeywordEncoder(),
        )
    board = pd.read_csv(tmp_path / "bench" / "leaderboard.csv")
    assert list(board.columns) == list(LEADERBOARD_COLUMNS)
    assert set(board["rater"]) == {"ref", "fake", "gpt4"}
    rows = board.set_index("rater")
    assert rows.loc["gpt4", "provider"] == "published"
    assert rows.loc["ref", "provider"] == "reference"
    assert rows.loc["ref", "kappa"] > 0.8  # topics decide the label, and never its own item
    assert rows.loc["ref", "kappa"] > rows.loc["fake", "kappa"]
    assert (board["n"] <= 24).all() and rows.loc["ref", "n"] == 24
    assert rows.loc["ref", "kappa_vs_gpt4"] < 1
    sample = pd.read_csv(tmp_path / "bench" / "sample.csv")
    assert len(sample) == 24 and sample["label"].value_counts().tolist() == [8, 8, 8]
    report = write_benchmark_report(result, tmp_path / "bench" / "report.html")
    text = report.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") >= 2 and "Leaderboard" in text


def test_a_reference_rater_on_its_own_labels_must_exclude_the_occupation(
    tmp_path: Path,
) -> None:
    reference = _reference(tmp_path / "labels.csv")
    spec = RaterSpec(name="ref", provider="reference", reference=str(reference), k=3)
    with pytest.raises(ConfigError, match="exclude"):
        run_benchmark(
            reference, [spec], n=10, seed=0, out_dir=tmp_path / "b", cache_dir=tmp_path / "c",
            environ={}, encoder=KeywordEncoder(),
        )  # fmt: skip
