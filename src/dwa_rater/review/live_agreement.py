"""Agreement among annotators while a review round runs: pure functions on annotation rows.

Input: the rows of :func:`dwa_rater.review.convert.annotation_rows` (one per submitted
annotation: item_id, annotator, label, score, confidence, lead_time in seconds, ...). Output:

- per annotator: annotations submitted and skipped, how many were marked unsure, the median and
  mean lead time (Label Studio's time from opening a task to submitting it, seconds per item);
- between annotators: every pair's percent agreement, Cohen's kappa and Krippendorff's alpha
  (nominal), and all annotators' Krippendorff's alpha (nominal and ordinal, missing allowed),
  with percentile-bootstrap intervals over items, all from :func:`dwa_rater.agreement.summary.
  assess_agreement` (so the formulas and their tests are those of ``dwa-rater agree``);
- each annotator against the consensus of the *others* (leave-one-out: the label most of the
  other annotators of the item gave, items with a tie or no other annotator left out): percent
  agreement and Cohen's kappa. Leaving the annotator out keeps their own label from pulling the
  consensus toward them;
- a flag on annotators far below the others: with at least three annotators having
  ``min_items`` items with a consensus each, an annotator is flagged when their percent
  agreement with the consensus is more than ``margin`` below the median of the other
  annotators' values. Percent agreement is used because kappa is undefined on small samples
  where one label dominates; kappa is shown beside it.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.agreement import metrics as m
from dwa_rater.agreement.bootstrap import BootstrapSpec
from dwa_rater.agreement.scale import LabelScale
from dwa_rater.agreement.summary import assess_agreement

#: Default margin (percent agreement, 0-1) below the others' median that flags an annotator.
FLAG_MARGIN = 0.2
#: Default minimum of items with a consensus before an annotator can be flagged.
MIN_ITEMS = 5


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's counts, speed and agreement with the others' consensus."""

    rater: str
    submitted: int
    skipped: int
    unsure: int
    lead_time_median_s: float | None
    lead_time_mean_s: float | None
    n_consensus: int
    agreement_with_consensus: float | None
    kappa_with_consensus: float | None
    flagged: bool = False
    flag_reason: str = ""


@dataclass(frozen=True)
class LiveAgreement:
    """The live agreement of a review round (see the module docstring); JSON-ready parts."""

    annotators: tuple[AnnotatorAgreement, ...]
    pairs: tuple[dict[str, Any], ...]
    overall: dict[str, Any]
    lead_time_median_s: float | None
    lead_time_mean_s: float | None
    n_items: int
    n_items_two_or_more: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def _lead_times(rows: pd.DataFrame) -> list[float]:
    values = pd.to_numeric(rows.get("lead_time", pd.Series(dtype=float)), errors="coerce")
    return [float(v) for v in values.dropna() if v >= 0]


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _mean(values: list[float]) -> float | None:
    return float(statistics.fmean(values)) if values else None


def leave_one_out_consensus(rows: pd.DataFrame, annotator: str) -> pd.DataFrame:
    """Items ``annotator`` labelled, with their label and the others' majority label.

    Columns: item_id, label, consensus. Items where no other annotator gave a label, or the
    others tie, are left out.
    """
    labelled = rows[rows["label"].notna()]
    own = labelled[labelled["annotator"] == annotator].drop_duplicates("item_id", keep="last")
    others = labelled[labelled["annotator"] != annotator]
    by_item = {str(k): list(g["label"]) for k, g in others.groupby("item_id", sort=False)}
    records = []
    for item_id, label in zip(own["item_id"].astype(str), own["label"], strict=True):
        ranked = Counter(by_item.get(item_id, [])).most_common()
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            continue
        records.append({"item_id": item_id, "label": label, "consensus": ranked[0][0]})
    return pd.DataFrame.from_records(records, columns=["item_id", "label", "consensus"])


def _agreement_with(
    pairs: pd.DataFrame, scale: LabelScale
) -> tuple[float | None, float | None, str | None]:
    """(percent agreement, Cohen's kappa, note) of an annotator's labels vs the consensus."""
    if pairs.empty:
        return None, None, None
    lookup = {label: i for i, label in enumerate(scale.labels)}
    own = np.array([lookup[v] for v in pairs["label"]])
    consensus = np.array([lookup[v] for v in pairs["consensus"]])
    percent = float(np.mean(own == consensus))
    try:
        kappa = m.cohen_kappa(own, consensus, scale.size)
    except m.UndefinedMetricError as exc:
        return percent, None, str(exc)
    return percent, float(kappa) if np.isfinite(kappa) else None, None


def live_agreement(
    rows: pd.DataFrame,
    skipped: Mapping[str, int] | None = None,
    *,
    scale: LabelScale | None = None,
    bootstrap: BootstrapSpec | None = None,
    margin: float = FLAG_MARGIN,
    min_items: int = MIN_ITEMS,
) -> LiveAgreement:
    """Counts, lead times and agreement of the annotators in ``rows`` (see the module docstring).

    ``skipped`` counts skipped tasks per annotator (they have no row). ``bootstrap`` sets the
    intervals (default 1,000 resamples, seed 0, 95%).
    """
    scale = scale or LabelScale()
    spec = bootstrap or BootstrapSpec()
    skipped = dict(skipped or {})
    notes: list[str] = []
    annotators = sorted(set(rows["annotator"].astype(str)) | set(skipped)) if len(rows) else []
    annotators = annotators or sorted(skipped)
    per_item = rows.groupby("item_id")["annotator"].nunique() if len(rows) else pd.Series()
    pairs: list[dict[str, Any]] = []
    overall: dict[str, Any] = {}
    labelled = rows[rows["label"].notna()] if len(rows) else rows
    raters = sorted(set(labelled["annotator"].astype(str))) if len(labelled) else []
    if len(raters) >= 2 and int((per_item >= 2).sum()) >= 1:
        ratings = pd.DataFrame(
            {
                "item_id": rows["item_id"].astype(str),
                "rater": rows["annotator"].astype(str),
                "sample": 0,
                "status": "ok",
                "label": rows["label"],
                "score": rows["score"],
            }
        )
        result = assess_agreement(ratings, scale, raters=raters, bootstrap=spec)
        summary = result.summary
        keep = ("percent_agreement", "cohen_kappa", "krippendorff_alpha_nominal")
        for pair in summary["pairs"]:
            pairs.append(
                {
                    "rater_a": pair["rater_a"],
                    "rater_b": pair["rater_b"],
                    "n": pair["n"],
                    **{k: pair.get(k) for k in keep},
                    "ci": {k: (pair.get("ci") or {}).get(k) for k in keep},
                }
            )
        whole = summary["overall"]
        wanted = ("krippendorff_alpha_nominal", "krippendorff_alpha_ordinal", "fleiss_kappa")
        overall = {
            "n_items_pairable": whole.get("n_items_pairable"),
            **{k: whole.get(k) for k in wanted},
            "ci": {k: (whole.get("ci") or {}).get(k) for k in wanted},
            "notes": list(whole.get("notes", [])),
        }
    else:
        notes.append("agreement needs two annotators with a label on a common item")

    summaries = []
    for annotator in annotators:
        own = rows[rows["annotator"] == annotator] if len(rows) else rows
        times = _lead_times(own)
        pairs_with = leave_one_out_consensus(rows, annotator) if len(rows) else pd.DataFrame()
        percent, kappa, note = _agreement_with(pairs_with, scale)
        if note:
            notes.append(f"{annotator} vs consensus: kappa undefined ({note})")
        unsure = int((own.get("confidence", pd.Series(dtype=object)) == "unsure").sum())
        summaries.append(
            AnnotatorAgreement(
                rater=annotator,
                submitted=len(own),
                skipped=int(skipped.get(annotator, 0)),
                unsure=unsure,
                lead_time_median_s=_median(times),
                lead_time_mean_s=_mean(times),
                n_consensus=len(pairs_with),
                agreement_with_consensus=percent,
                kappa_with_consensus=kappa,
            )
        )
    summaries = flag_annotators(summaries, margin, min_items, notes)
    times = _lead_times(rows) if len(rows) else []
    return LiveAgreement(
        annotators=tuple(summaries),
        pairs=tuple(pairs),
        overall=overall,
        lead_time_median_s=_median(times),
        lead_time_mean_s=_mean(times),
        n_items=len(per_item),
        n_items_two_or_more=int((per_item >= 2).sum()) if len(per_item) else 0,
        notes=tuple(notes),
    )


def flag_annotators(
    summaries: list[AnnotatorAgreement], margin: float, min_items: int, notes: list[str]
) -> list[AnnotatorAgreement]:
    """Flag annotators whose agreement with the consensus is ``margin`` below the others' median.

    Only annotators with at least ``min_items`` consensus items take part; fewer than three
    such annotators flag nobody (with two, each one's consensus is the other), with a note.
    """
    eligible = {
        s.rater: s.agreement_with_consensus
        for s in summaries
        if s.n_consensus >= min_items and s.agreement_with_consensus is not None
    }
    if len(eligible) < 3:
        if summaries:
            notes.append(
                f"flagging needs three annotators with {min_items}+ items that have a consensus "
                f"({len(eligible)} so far)"
            )
        return summaries
    flagged = []
    for summary in summaries:
        value = eligible.get(summary.rater)
        if value is None:
            flagged.append(summary)
            continue
        others = statistics.median(v for r, v in eligible.items() if r != summary.rater)
        if value < others - margin:
            reason = (
                f"agrees with the consensus on {value:.0%} of items, others' median {others:.0%}"
            )
            summary = dataclasses.replace(summary, flagged=True, flag_reason=reason)
        flagged.append(summary)
    return flagged
