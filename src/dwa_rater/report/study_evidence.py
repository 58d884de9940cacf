"""The study report's account of its evidence: which numbers rest on human labels, which on LLMs.

Rendering only. The facts come from the study's step records (reference, estimate,
labour_market), the calibration result and the ratings table (each rater's model and rubric).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwa_rater.report.html import HtmlReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from dwa_rater.study.pipeline import StudyResult

_ON_LLM = "an LLM only"
_ON_HUMANS = "human labels"


def rater_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per rater: model, rubric (name@version) and endpoint of its ok ratings."""
    ok = ratings[ratings["status"] == "ok"]
    rows = []
    for rater, group in ok.groupby("rater", sort=True):
        first = group.iloc[0]
        rows.append(
            {
                "rater": rater,
                "model": first.get("model"),
                "rubric": f"{first.get('prompt_name')}@{first.get('prompt_version')}",
                "endpoint": first.get("endpoint"),
                "items": group["item_id"].nunique(),
            }
        )
    return pd.DataFrame(rows)


def _describe_raters(table: pd.DataFrame) -> str:
    return "; ".join(f"{r.rater}: {r.model}, rubric {r.rubric}" for r in table.itertuples())


def evidence_rows(ratings: pd.DataFrame, result: StudyResult) -> list[dict[str, str]]:
    """The rows of the evidence table: number, what it rests on, rubric and model, human sample."""
    steps = result.steps
    reference = steps.get("reference", {})
    reference_name = reference.get("rater")
    raters = rater_table(ratings)
    llm = raters[raters["endpoint"] != "reference"] if len(raters) else raters
    rows = [
        {
            "numbers": "labels of the panel raters (ratings.csv)",
            "rest on": _ON_LLM,
            "rubric and model": _describe_raters(llm),
            "human sample": "none",
        }
    ]
    if reference_name:
        rows.append(
            {
                "numbers": f"labels of the reference rater {reference_name} (ratings.csv)",
                "rest on": f"{_ON_HUMANS} (a vote of the {reference.get('k')} most similar "
                "human-labelled task statements; no LLM)",
                "rubric and model": "the annotators' E0/E1/E2 rubric of Eloundou et al., on "
                "task statements (carried to DWA statements by similarity, not validated on "
                f"DWAs); similarity by {reference.get('embedding_model', 'the embedding model')}",
                "human sample": str(reference.get("human_sample", "")),
            }
        )
    else:
        rows.append(
            {
                "numbers": "reference rater",
                "rest on": "skipped",
                "rubric and model": "",
                "human sample": str(reference.get("reason", "the step did not run")),
            }
        )
    calibration = result.artifacts.calibration
    if calibration is not None:
        sources = calibration.source_counts()
        if sources["human"] or sources["calibrated"]:
            rest = (
                f"{_ON_HUMANS} for {sources['human']} DWAs (the reviewers' label is the score) "
                f"and {sources['calibrated']} calibrated on them; {sources['raw']} from the "
                "raters' labels alone"
            )
        elif reference_name:
            rest = (
                "the raters' labels combined without human labels: the LLM panel and the "
                "reference rater (human labels, indirectly)"
            )
        else:
            rest = f"{_ON_LLM} (no human labels: the raters' labels combined)"
        rows.append(
            {
                "numbers": "activity scores (dwa_scores.csv) and every index built on them",
                "rest on": rest,
                "rubric and model": f"calibration method {calibration.method}",
                "human sample": f"{sources['human']} DWAs labelled by the study's reviewers"
                if sources["human"]
                else "none in this run",
            }
        )
    for step, what in (
        ("estimate", "interval of the mean exposure (indices/exposure_estimate.csv)"),
        ("labour_market", "intervals of the occupation, change and city indices"),
    ):
        record = steps.get(step, {})
        sample = record.get("human_sample")
        rows.append(
            {
                "numbers": what,
                "rest on": _ON_HUMANS if sample else "no interval",
                "rubric and model": "PPI / difference estimator (human labels correct the "
                "raters' predictions)",
                "human sample": str(sample or record.get("reason", "the step did not run")),
            }
        )
    return rows


def add_evidence_section(report: HtmlReport, ratings: pd.DataFrame, result: StudyResult) -> None:
    """The table of :func:`evidence_rows` with a paragraph saying how to read it."""
    report.paragraph(
        "Each number of this report rests either on human judgement or only on a language "
        "model. Human labels enter in three ways: the reference rater votes with published "
        "human labels; calibration and the confidence intervals use the study's own human "
        "labels (Label Studio reviews: a random audit sample; contested items are left out "
        "of the intervals). The panel's labels rest on the LLM alone; numbers built from "
        "several raters' labels rest on both, as the table says."
    )
    report.table(pd.DataFrame(evidence_rows(ratings, result)))
    report.heading("Raters of this run", level=3)
    report.table(rater_table(ratings))


def interval_note(record: dict[str, Any]) -> str:
    """A sentence for the labour-market sections: the intervals' human sample, or why none."""
    if record.get("intervals"):
        return (
            "Intervals (ci_low, ci_high; bars in the plots): 95%, design-based difference "
            "estimator (PPI) around ci_estimate, an estimate of the same index; they rest on "
            f"{record['human_sample']}."
        )
    return f"No intervals: {record.get('reason', 'no human sample')}."


def draw_intervals(
    ax: Axes,
    positions: np.ndarray | pd.Series,
    low: pd.Series,
    high: pd.Series,
    *,
    horizontal: bool = False,
    colour: Any = "#333",
) -> None:
    """Draw each interval as a line with caps (at ``positions`` on the other axis); rows
    without an interval are skipped."""
    keep = low.notna().to_numpy() & high.notna().to_numpy()
    if not keep.any():
        return
    where = np.asarray(positions)[keep]
    lows, highs = low.to_numpy(dtype=float)[keep], high.to_numpy(dtype=float)[keep]
    if horizontal:
        ax.hlines(where, lows, highs, color=colour, linewidth=1.2, zorder=4)
        for edge in (lows, highs):
            ax.plot(edge, where, "|", color=colour, markersize=7, zorder=4)
    else:
        ax.vlines(where, lows, highs, color=colour, linewidth=1.2, zorder=4)
        for edge in (lows, highs):
            ax.plot(where, edge, "_", color=colour, markersize=7, zorder=4)
