"""Second stage of posting-line matching: an LLM rater chooses among the embedding's candidates.

The first stage (:mod:`dwa_rater.indices.mapping`) ranks DWAs for each distinct duty line by
embedding similarity. This stage shows a rater the line with its ``k`` best candidates
(numbered 1..k, by rank) under the rubric ``line-choice`` (``prompts/line-choice/v1``) and reads
back a number or ``none``. The ratings are ordinary rating rows (run id, model, prompt
name/version/hash, sampling parameters, tokens, latency), cached and resumable like every
other rating; this module holds the pure parts:

- :func:`choice_items`: the items to rate (one per distinct line; id ``L<sha[:16]>``);
- :func:`read_choices`: one decision per line from the ratings (a majority over raters and
  samples; ties go to ``none``, then to the better-ranked candidate);
- :func:`apply_choices`: the new line mapping: the chosen DWA with weight 1, nothing for
  ``none``, and the first stage's mapping where the rater gave no valid answer.

The report (2024 PKU NSD / Zhaopin) says only that postings were split and matched to DWAs "with
machine learning"; this two-stage design, its prompt and its cut-off are the tool's choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.mapping import LINE_MAPPING_COLUMNS

#: The rubric of the second stage and the answer that maps a line to nothing.
CHOICE_RUBRIC = "line-choice@v1"
NONE_LABEL = "none"
#: Candidates shown per line under ``line-choice@v1`` (its labels are none and 1..8).
CHOICE_K = 8
ITEM_TYPE = "custom"

#: Columns of ``line_choices.parquet``: the decision per line and where it came from.
CHOICE_COLUMNS: tuple[str, ...] = (
    "line_sha",
    "item_id",
    "decision",
    "rank",
    "dwa_id",
    "n_votes",
    "n_answers",
    "confidence",
    "source",
)


def item_id_for(line_sha: str) -> str:
    """The item id of a line: ``L`` + the first 16 hex digits of its SHA-256."""
    return f"L{line_sha[:16]}"


def choice_items(
    lines: pd.DataFrame, candidates: pd.DataFrame, titles: pd.Series, k: int = CHOICE_K
) -> pd.DataFrame:
    """Items to rate: id, text (the line), context (its numbered candidates), item_type.

    ``lines``: line_sha, line (distinct lines); ``candidates``: line_sha, rank, dwa_id;
    ``titles``: DWA title by dwa_id. Lines without candidates are left out.
    """
    if not 1 <= k <= CHOICE_K:
        raise DataError(f"k must be between 1 and {CHOICE_K} (the rubric's labels), not {k}")
    top = candidates[candidates["rank"] <= k].sort_values(["line_sha", "rank"])
    missing = sorted(set(top["dwa_id"]) - set(titles.index))
    if missing:
        raise DataError(f"candidates name DWAs missing from the catalogue: {missing[:5]}")
    listed = (
        top.assign(entry=top["rank"].astype(str) + " = " + top["dwa_id"].map(titles).astype(str))
        .groupby("line_sha", sort=False)["entry"]
        .agg("; ".join)
    )
    distinct = lines.drop_duplicates("line_sha")
    distinct = distinct[distinct["line_sha"].isin(listed.index)]
    ids = [item_id_for(sha) for sha in distinct["line_sha"]]
    if len(set(ids)) != len(ids):
        raise DataError("two lines share the first 16 hex digits of their SHA-256")
    return pd.DataFrame(
        {
            "id": ids,
            "text": distinct["line"].astype(str).to_numpy(),
            "context": ("candidates: " + distinct["line_sha"].map(listed)).to_numpy(),
            "item_type": ITEM_TYPE,
        }
    )


def read_choices(ratings: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """One decision per item: item_id, decision, n_votes, n_answers, confidence.

    Only rows with status ``ok`` and a label in ``labels`` count. The decision is the most
    frequent label; ties go to the label earliest in ``labels`` (``none`` first, then the
    better-ranked candidate). ``confidence`` is the mean score of the rows that chose it.
    """
    ok = ratings[(ratings["status"] == "ok") & ratings["label"].isin(list(labels))]
    columns = ["item_id", "decision", "n_votes", "n_answers", "confidence"]
    if ok.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    position = {label: i for i, label in enumerate(labels)}
    votes = (
        ok.groupby(["item_id", "label"])
        .agg(n_votes=("label", "size"), confidence=("score", "mean"))
        .reset_index()
    )
    votes["position"] = votes["label"].map(position)
    votes["n_answers"] = votes.groupby("item_id")["n_votes"].transform("sum")
    best = votes.sort_values(["item_id", "n_votes", "position"], ascending=[True, False, True])
    best = best.drop_duplicates("item_id").rename(columns={"label": "decision"})
    return best[columns].reset_index(drop=True)


def apply_choices(
    first_stage: pd.DataFrame,
    candidates: pd.DataFrame,
    decisions: pd.DataFrame,
    line_shas: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The second stage's line mapping (columns of ``LINE_MAPPING_COLUMNS``) and the choice table.

    For each line of ``line_shas``: a decided candidate number maps it to that candidate's DWA
    with weight 1 (similarity: the first stage's); ``none`` maps it to nothing; a line without a
    decision keeps the ``first_stage`` mapping (source ``embedding``).
    """
    by_item = decisions.set_index("item_id") if len(decisions) else None
    ranked = candidates.set_index(["line_sha", "rank"])
    mapped: list[pd.DataFrame] = []
    rows: list[dict[str, object]] = []
    for sha in dict.fromkeys(line_shas):
        item = item_id_for(sha)
        decided = by_item is not None and item in by_item.index
        if not decided:
            kept = first_stage[first_stage["line_sha"] == sha]
            mapped.append(kept)
            rows.append(
                {
                    "line_sha": sha,
                    "item_id": item,
                    "decision": None,
                    "rank": np.nan,
                    "dwa_id": kept["dwa_id"].iloc[0] if len(kept) else None,
                    "n_votes": 0,
                    "n_answers": 0,
                    "confidence": np.nan,
                    "source": "embedding",
                }
            )
            continue
        assert by_item is not None
        choice = by_item.loc[item]
        decision = str(choice["decision"])
        row: dict[str, object] = {
            "line_sha": sha,
            "item_id": item,
            "decision": decision,
            "rank": np.nan,
            "dwa_id": None,
            "n_votes": int(choice["n_votes"]),
            "n_answers": int(choice["n_answers"]),
            "confidence": float(choice["confidence"]),
            "source": "llm",
        }
        if decision != NONE_LABEL:
            rank = int(decision)
            if (sha, rank) not in ranked.index:
                raise DataError(f"line {sha[:12]}: the rater chose candidate {rank}, not listed")
            candidate = ranked.loc[(sha, rank)]
            row.update(rank=rank, dwa_id=candidate["dwa_id"])
            mapped.append(
                pd.DataFrame(
                    {
                        "line_sha": [sha],
                        "dwa_id": [candidate["dwa_id"]],
                        "similarity": [float(candidate["similarity"])],
                        "weight": [1.0],
                    }
                )
            )
        rows.append(row)
    frames = [m[list(LINE_MAPPING_COLUMNS)] for m in mapped if len(m)]
    line_mapping = (
        pd.concat(frames, ignore_index=True)
        if frames
        else first_stage.iloc[0:0][list(LINE_MAPPING_COLUMNS)].reset_index(drop=True)
    )
    choices = pd.DataFrame(rows, columns=list(CHOICE_COLUMNS))
    return line_mapping, choices
