"""Live agreement among annotators (dwa_rater.review.live_agreement), against references.

Cohen's kappa is compared with scikit-learn, Krippendorff's alpha with the ``krippendorff``
package; the leave-one-out consensus and the flags with hand-computed cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwa_rater.agreement.bootstrap import BootstrapSpec
from dwa_rater.review.live_agreement import leave_one_out_consensus, live_agreement

ORDER = {"E0": 0, "E2": 1, "E1": 2}  # the default scale order of the agreement module


def _rows(
    answers: dict[str, list[str | None]], lead: dict[str, float] | None = None
) -> pd.DataFrame:
    """Annotation rows: answers[annotator][i] is the label of item i (None: not annotated)."""
    records = []
    for annotator, labels in answers.items():
        for i, label in enumerate(labels):
            if label is None:
                continue
            records.append(
                {
                    "item_id": f"D{i}",
                    "item_text": f"Do {i}.",
                    "annotator": annotator,
                    "label": label,
                    "score": 0.5,
                    "confidence": "unsure" if label == "E2" else "sure",
                    "lead_time": (lead or {}).get(annotator, 10.0) + i,
                    "comment": "",
                }
            )
    return pd.DataFrame.from_records(records)


A = ["E0", "E1", "E2", "E1", "E0", "E1", "E2", "E0", "E1", "E1"]
B = ["E0", "E1", "E2", "E1", "E1", "E1", "E2", "E0", "E0", "E1"]
C = ["E0", "E1", "E1", "E1", "E0", "E1", "E2", "E0", "E1", None]
D = ["E2", "E0", "E0", "E2", "E1", "E0", "E0", "E2", "E2", "E0"]


def test_pairs_and_overall_match_scikit_learn_and_krippendorff() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    krippendorff = pytest.importorskip("krippendorff")
    rows = _rows({"a": A, "b": B, "c": C})
    live = live_agreement(rows, bootstrap=BootstrapSpec(n_resamples=200))
    pairs = {(p["rater_a"], p["rater_b"]): p for p in live.pairs}
    ab = pairs[("a", "b")]
    assert ab["n"] == 10
    assert ab["percent_agreement"] == pytest.approx(0.8)
    assert ab["cohen_kappa"] == pytest.approx(sklearn_metrics.cohen_kappa_score(A, B))
    ac = pairs[("a", "c")]
    assert ac["n"] == 9 and ac["cohen_kappa"] == pytest.approx(
        sklearn_metrics.cohen_kappa_score(A[:9], C[:9])
    )
    low, high = ab["ci"]["cohen_kappa"]["low"], ab["ci"]["cohen_kappa"]["high"]
    assert low <= ab["cohen_kappa"] <= high
    data = np.array([[ORDER[x] if x else np.nan for x in labels] for labels in (A, B, C)])
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert live.overall["krippendorff_alpha_nominal"] == pytest.approx(expected)
    assert live.overall["ci"]["krippendorff_alpha_nominal"]["low"] is not None
    assert (live.n_items, live.n_items_two_or_more) == (10, 10)


def test_leave_one_out_consensus_by_hand() -> None:
    rows = _rows({"a": ["E1", "E0", "E2"], "b": ["E1", "E1", None], "c": ["E0", "E1", None]})
    # Item 0: others of a say E1, E0 (tie: left out); item 1: E1, E1; item 2: nobody else.
    found = leave_one_out_consensus(rows, "a")
    assert found.to_dict("records") == [{"item_id": "D1", "label": "E0", "consensus": "E1"}]
    # For c, item 0's others say E1, E1; item 1's say E0, E1 (tie).
    assert leave_one_out_consensus(rows, "c")["consensus"].tolist() == ["E1"]


def test_counts_lead_times_and_the_flag() -> None:
    rows = _rows({"a": A, "b": B, "c": C, "d": D}, lead={"a": 10.0, "d": 100.0})
    live = live_agreement(rows, {"d": 2}, bootstrap=BootstrapSpec(n_resamples=0), min_items=5)
    by = {s.rater: s for s in live.annotators}
    assert by["d"].flagged and "consensus" in by["d"].flag_reason
    assert not any(by[r].flagged for r in "abc")
    assert (by["d"].submitted, by["d"].skipped) == (10, 2)
    assert by["a"].unsure == A.count("E2")
    assert by["a"].lead_time_median_s == pytest.approx(14.5)  # 10 + median of 0..9
    assert by["d"].lead_time_mean_s == pytest.approx(104.5)
    # a vs the others' majority: items 2 (E2/E1/E0), 8 (E0/E1/E2) and 9 (E1/-/E0) tie and are
    # left out; of the other 7, a differs on item 4 only (E0 vs b E1, c E0, d E1 -> E1).
    assert by["a"].n_consensus == 7 and by["a"].agreement_with_consensus == pytest.approx(6 / 7)


def test_two_annotators_are_never_flagged_and_empty_rounds_work() -> None:
    live = live_agreement(_rows({"a": A, "d": D}), bootstrap=BootstrapSpec(n_resamples=0))
    assert not any(s.flagged for s in live.annotators)
    assert any("three annotators" in n for n in live.notes)
    empty = live_agreement(_rows({}).reindex(columns=["item_id", "annotator", "label", "score"]))
    assert empty.annotators == () and empty.pairs == () and empty.lead_time_median_s is None
