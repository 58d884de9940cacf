"""Second stage of the occupation crosswalk: an LLM rater chooses among the embedding's proposal.

:mod:`dwa_rater.indices.crosswalk` proposes, for each Chinese occupation category, the O*NET-SOC
occupations nearest by embedding. This stage shows a rater the category with its ``k`` best
candidates (numbered 1..k by rank, with the start of each O*NET description) under the rubric
``crosswalk-choice`` (``prompts/crosswalk-choice/v1``) and reads back a number or ``none``. The
ratings are ordinary rating rows (cached, resumable, with provenance); this module holds the pure
parts:

- :func:`crosswalk_choice_items`: one item per category (id ``C<sha256(category)[:16]>``);
- :func:`apply_crosswalk_choices`: the decided crosswalk. The decision per category is the
  majority answer over raters and samples (ties go to ``none``, then to the better-ranked
  candidate; :func:`dwa_rater.indices.line_choice.read_choices`). With a candidate decided,
  the weights are the shares of the candidate answers: ``w_o = votes_o / sum_c votes_c`` (one
  rater, one sample: weight 1 on its choice). ``none`` leaves the category out of the
  crosswalk (as an override of weight 0 does). A category without a valid answer keeps the
  embedding's proposal.

The report (2024 PKU NSD / Zhaopin) says only that it matched the two classifications; this
two-stage design and its prompt are the tool's choices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import CROSSWALK_COLUMNS
from dwa_rater.indices.line_choice import NONE_LABEL, read_choices

CROSSWALK_CHOICE_RUBRIC = "crosswalk-choice@v1"
#: Candidates shown per category under ``crosswalk-choice@v1`` (its labels are none and 1..8).
CROSSWALK_CHOICE_K = 8
#: Characters of an O*NET description shown beside its title.
DESCRIPTION_CHARS = 160
ITEM_TYPE = "custom"

#: Columns of the decisions table: one row per category.
DECISION_COLUMNS: tuple[str, ...] = (
    "category",
    "category_name",
    "item_id",
    "decision",
    "onetsoc_code",
    "onet_title",
    "n_votes",
    "n_answers",
    "confidence",
    "source",
)


def category_item_id(category: str) -> str:
    """The item id of a category: ``C`` + the first 16 hex digits of SHA-256 of its code."""
    return "C" + hashlib.sha256(str(category).encode("utf-8")).hexdigest()[:16]


def crosswalk_choice_items(
    proposal: pd.DataFrame,
    k: int = CROSSWALK_CHOICE_K,
    descriptions: pd.Series | None = None,
) -> pd.DataFrame:
    """Items to rate: id, text (the category's text), context (its numbered candidates).

    ``proposal``: the embedding rows of a crosswalk (category, category_name, rank,
    onetsoc_code, onet_title[, category_text]); the text is ``category_text`` where it is
    given (``crosswalk build`` writes the text it matched), else the name. ``descriptions``:
    O*NET descriptions by onetsoc_code, shown shortened after each title when given.
    """
    if not 1 <= k <= CROSSWALK_CHOICE_K:
        raise DataError(f"k must be between 1 and {CROSSWALK_CHOICE_K}, not {k}")
    top = proposal[proposal["rank"].astype(int) <= k].sort_values(["category", "rank"])
    if top.empty:
        return pd.DataFrame(columns=["id", "text", "context", "item_type"])
    entry = top["rank"].astype(int).astype(str) + " = " + top["onet_title"].astype(str)
    if descriptions is not None:
        shown = top["onetsoc_code"].map(descriptions).fillna("").astype(str)
        shown = shown.map(_shorten)
        entry = entry + np.where(shown != "", ": " + shown, "")
    listed = top.assign(entry=entry).groupby("category", sort=False)["entry"].agg(" | ".join)
    first = top.drop_duplicates("category").set_index("category")
    names = first["category_name"].astype(str)
    if "category_text" in first:  # what `crosswalk build` matched: name, English name, ...
        text = first["category_text"].fillna("").astype(str)
        names = text.where(text.str.strip() != "", names)
    ids = [category_item_id(c) for c in listed.index]
    if len(set(ids)) != len(ids):
        raise DataError("two categories share the first 16 hex digits of their SHA-256")
    return pd.DataFrame(
        {
            "id": ids,
            "text": [str(names[c]) for c in listed.index],
            "context": ("candidates: " + listed).to_numpy(),
            "item_type": ITEM_TYPE,
        }
    )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"


def apply_crosswalk_choices(
    proposal: pd.DataFrame, ratings: pd.DataFrame, labels: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decided crosswalk (``CROSSWALK_COLUMNS`` plus n_votes, n_answers, confidence) and the
    decisions table (``DECISION_COLUMNS``), from the embedding ``proposal`` and the ratings
    (item_id, status, label, score) of :func:`crosswalk_choice_items`' items."""
    by_item = read_choices(ratings, labels).set_index("item_id")
    ok = ratings[(ratings["status"] == "ok") & ratings["label"].isin(list(labels))]
    created = datetime.now(UTC).isoformat(timespec="seconds")
    tables: list[pd.DataFrame] = []
    rows: list[dict[str, object]] = []
    for category, group in proposal.groupby("category", sort=False):
        group = group.sort_values("rank")
        item = category_item_id(str(category))
        name = group["category_name"].iloc[0]
        if item not in by_item.index:
            tables.append(group.assign(n_votes=0, n_answers=0, confidence=np.nan))
            rows.append(_decision(category, name, item, None, group.iloc[0], 0, 0, np.nan))
            continue
        choice = by_item.loc[item]
        decision = str(choice["decision"])
        answers = int(choice["n_answers"])
        if decision == NONE_LABEL:
            rows.append(
                _decision(
                    category, name, item, decision, None, int(choice["n_votes"]), answers,
                    float(choice["confidence"]),
                )
            )  # fmt: skip
            continue
        votes = ok[(ok["item_id"] == item) & (ok["label"] != NONE_LABEL)]
        counts = votes.groupby(votes["label"].astype(int)).agg(
            n_votes=("label", "size"), confidence=("score", "mean")
        )
        by_rank = group.set_index(group["rank"].astype(int))
        unknown = sorted(set(counts.index) - set(by_rank.index))
        if unknown:
            raise DataError(
                f"category {category}: the rater chose candidate {unknown[0]}, not listed"
            )
        chosen = by_rank.loc[counts.index].copy()
        chosen["weight"] = (counts["n_votes"] / counts["n_votes"].sum()).to_numpy()
        chosen["n_votes"] = counts["n_votes"].to_numpy()
        chosen["n_answers"] = answers
        chosen["confidence"] = counts["confidence"].to_numpy()
        chosen["method"] = "llm"
        chosen["created_at"] = created
        tables.append(chosen.reset_index(drop=True))
        best = by_rank.loc[int(decision)]
        rows.append(
            _decision(
                category, name, item, decision, best, int(choice["n_votes"]), answers,
                float(choice["confidence"]),
            )
        )  # fmt: skip
    columns = [*CROSSWALK_COLUMNS, "n_votes", "n_answers", "confidence"]
    frames = [t[columns] for t in tables if len(t)]
    table = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    )
    return table, pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def _decision(
    category: object,
    name: object,
    item: str,
    decision: str | None,
    candidate: pd.Series | None,
    n_votes: int,
    n_answers: int,
    confidence: float,
) -> dict[str, object]:
    return {
        "category": category,
        "category_name": name,
        "item_id": item,
        "decision": decision,
        "onetsoc_code": None if candidate is None else candidate["onetsoc_code"],
        "onet_title": None if candidate is None else candidate["onet_title"],
        "n_votes": n_votes,
        "n_answers": n_answers,
        "confidence": confidence,
        "source": "embedding" if decision is None else "llm",
    }
