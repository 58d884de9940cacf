"""Adjudication of annotator disagreements: which items, what the adjudicator sees, the merge.

Pure functions. An item is *disputed* when its submitted annotations carry two or more distinct
labels. The adjudication project is an ``assisted`` review project whose rater table lists each
annotator's answer (pseudonym, label, score, confidence, comment; ``model`` = ``annotator``)
and, when given, the LLM ratings. The adjudicator's answer there becomes the final ``human``
label of the item: :func:`apply_adjudication` replaces the ``human`` rows of the round's ratings
with the adjudication project's ``human`` rows, with ``consensus`` = ``adjudicated``.
"""

from __future__ import annotations

import pandas as pd

from dwa_rater.review.convert import CONSENSUS_RATER

#: The selection reason of disputed items.
DISPUTE_REASON = "annotator_disagreement"
#: The ``model`` column of annotator answers shown to the adjudicator.
ANNOTATOR_MODEL = "annotator"


def disputed_items(rows: pd.DataFrame) -> pd.DataFrame:
    """Items whose annotations (rows of ``annotation_rows``) carry two or more labels.

    Returns a selection table (item_id, item_type, item_text, reason, reasons, labels,
    n_raters), sorted by item_id; ``labels`` lists the distinct labels joined by " vs ".
    """
    columns = ["item_id", "item_type", "item_text", "reason", "reasons", "labels", "n_raters"]
    labelled = rows[rows["label"].notna()] if len(rows) else rows
    records = []
    for item_id, group in labelled.groupby("item_id", sort=True):
        labels = sorted(set(group["label"]))
        if len(labels) < 2:
            continue
        records.append(
            {
                "item_id": str(item_id),
                "item_type": "dwa",
                "item_text": str(group["item_text"].iloc[0]),
                "reason": DISPUTE_REASON,
                "reasons": DISPUTE_REASON,
                "labels": " vs ".join(labels),
                "n_raters": int(group["annotator"].nunique()),
            }
        )
    return pd.DataFrame.from_records(records, columns=columns)


def annotator_ratings(rows: pd.DataFrame) -> pd.DataFrame:
    """Annotation rows as ratings rows the adjudication screen shows (rater = pseudonym)."""
    confidence = rows.get("confidence", pd.Series(None, index=rows.index, dtype=object))
    comment = rows["comment"].fillna("").astype(str)
    marked = [
        f"[{level}] {text}".strip() if level else text
        for level, text in zip(confidence, comment, strict=True)
    ]
    return pd.DataFrame(
        {
            "item_id": rows["item_id"].astype(str),
            "item_type": "dwa",
            "item_text": rows["item_text"],
            "rater": rows["annotator"].astype(str),
            "model": ANNOTATOR_MODEL,
            "sample": 0,
            "status": "ok",
            "label": rows["label"],
            "score": rows["score"],
            "rationale": marked,
        }
    )


def apply_adjudication(ratings: pd.DataFrame, adjudicated: pd.DataFrame) -> pd.DataFrame:
    """The round's ratings with each adjudicated item's ``human`` row replaced.

    ``adjudicated`` is the ratings table of the adjudication project (its ``human`` rows are
    used; an item whose adjudication has no label is left as it was). Replaced rows keep the
    round's task and annotator counts and get ``consensus`` = ``adjudicated``.
    """
    if ratings.empty or adjudicated.empty:
        return ratings
    final = adjudicated[(adjudicated["rater"] == CONSENSUS_RATER) & adjudicated["label"].notna()]
    decided = final.set_index(final["item_id"].astype(str))
    out = ratings.copy()
    target = (out["rater"] == CONSENSUS_RATER) & out["item_id"].astype(str).isin(decided.index)
    for index in out.index[target]:
        row = decided.loc[str(out.at[index, "item_id"])]
        if isinstance(row, pd.DataFrame):
            row = row.iloc[-1]
        out.at[index, "label"] = row["label"]
        out.at[index, "score"] = row["score"]
        out.at[index, "rationale"] = row.get("rationale")
        out.at[index, "consensus"] = "adjudicated"
        if "confidence" in out.columns:
            out.at[index, "confidence"] = row.get("confidence")
    return out
