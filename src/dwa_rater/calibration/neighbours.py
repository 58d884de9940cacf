"""Neighbour features for calibration: what the human labels of similar statements say.

The ratings table carries ``item_text``, so ``calibrate`` can build, from the human-labelled
items of its own input, a reference-rater vote for every item (:func:`dwa_rater.reference.
vote.neighbour_vote`: the ``k`` most similar human-labelled statements, softmax of cosine /
temperature). A human-labelled item never votes for itself (leave-one-out), so the features of
the training items look like those of the items the mapping is applied to, whose labelled
neighbours are the same human-labelled set. Features per item:

- ``neighbour_log_p_<label>``: log of the vote's class probabilities (floored at 0.01), one per
  label of the rubric's scale (E0..E2 for the exposure rubric);
- ``neighbour_max_similarity``: the nearest labelled statement's cosine (how much the vote is
  worth; the mean where no text is known);
- ``neighbour_missing``: 1 when the item has no text (its vote is uniform).

Also :func:`rater_label_shares`: each LLM rater's own share of labels (not only the pooled
shares), so the mapping can weigh raters differently; and :func:`rater_probabilities`: the
class probabilities raters such as the reference rater wrote themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.scale import or_default, probability_columns
from dwa_rater.embedding import EmbeddingCache
from dwa_rater.reference.vote import neighbour_vote
from dwa_rater.rubric import RubricScale

FloatArray = NDArray[np.float64]


def neighbour_feature_names(scale: RubricScale | None = None) -> tuple[str, ...]:
    """Names of the columns of :attr:`NeighbourEvidence.features` for a scale."""
    return (
        *(f"neighbour_log_p_{label}" for label in or_default(scale).labels),
        "neighbour_max_similarity",
        "neighbour_missing",
    )


#: Names of the columns of :attr:`NeighbourEvidence.features` for the exposure rubric.
NEIGHBOUR_FEATURE_NAMES: tuple[str, ...] = neighbour_feature_names()

_PROBABILITY_FLOOR = 0.01


@dataclass(frozen=True)
class NeighbourEvidence:
    """Neighbour features (items, classes + 2) aligned on the evidence's items, and how they
    were made."""

    features: FloatArray
    probabilities: FloatArray
    k: int
    temperature: float
    n_labelled: int
    encoder: str

    def describe(self) -> str:
        return (
            f"vote of the {self.k} most similar of {self.n_labelled} human-labelled statements "
            f"of the input ({self.encoder}, softmax of cosine / {self.temperature:g}, "
            "each labelled item leaving itself out)"
        )


def item_texts(frame: pd.DataFrame, item_ids: Sequence[str]) -> list[str | None]:
    """The first non-empty ``item_text`` of each item in a ratings table (None if none)."""
    if "item_text" not in frame.columns:
        return [None] * len(item_ids)
    texts = frame[["item_id", "item_text"]].dropna()
    texts = texts[texts["item_text"].astype(str).str.strip() != ""]
    first = texts.drop_duplicates("item_id").set_index("item_id")["item_text"]
    return [None if pd.isna(v) else str(v) for v in first.reindex(list(item_ids)).tolist()]


def neighbour_evidence(
    item_ids: Sequence[str],
    texts: Sequence[str | None],
    labelled: dict[str, int],
    embeddings: EmbeddingCache,
    *,
    k: int = 15,
    temperature: float = 0.02,
    scale: RubricScale | None = None,
) -> NeighbourEvidence | None:
    """Neighbour features for ``item_ids`` (with ``texts``) from the ``labelled`` items
    (item id -> class position among the scale's labels). None when fewer than ``k`` labelled
    items have a text."""
    n_classes = len(or_default(scale).labels)
    text_of = dict(zip(item_ids, texts, strict=True))
    reference_ids = [i for i in sorted(labelled) if text_of.get(i)]
    if len(reference_ids) < max(k, 2):
        return None
    reference_texts = [str(text_of[i]) for i in reference_ids]
    reference_vectors = embeddings.embed(reference_texts, role="query")
    with_text = [n for n, t in enumerate(texts) if t]
    queries = embeddings.embed([str(texts[n]) for n in with_text], role="query")
    votes = neighbour_vote(
        queries,
        reference_vectors,
        [labelled[i] for i in reference_ids],
        k=k,
        temperature=temperature,
        query_groups=[item_ids[n] for n in with_text],
        reference_groups=reference_ids,
        n_classes=n_classes,
    )
    n = len(item_ids)
    probabilities = np.full((n, n_classes), 1.0 / n_classes)
    similarity = np.full(n, np.nan)
    probabilities[with_text] = votes.probabilities
    similarity[with_text] = votes.max_similarity
    missing = np.isnan(similarity)
    fill = float(np.nanmean(similarity)) if (~missing).any() else 0.0
    features = np.column_stack(
        [
            np.log(np.clip(probabilities, _PROBABILITY_FLOOR, 1.0)),
            np.where(missing, fill, similarity),
            missing.astype(np.float64),
        ]
    )
    return NeighbourEvidence(
        features=features,
        probabilities=probabilities,
        k=k,
        temperature=temperature,
        n_labelled=len(reference_ids),
        encoder=embeddings.encoder.name,
    )


def rater_probabilities(
    rows: pd.DataFrame,
    items: Sequence[str],
    raters: Sequence[str],
    *,
    scale: RubricScale | None = None,
) -> tuple[FloatArray | None, tuple[str, ...]]:
    """Class probabilities that raters wrote themselves (``p_<label>`` for each label of the
    scale, e.g. the reference rater's ``p_E0``..``p_E2``), averaged over samples, as log
    features (floored at 0.01).

    Returns (items, classes x raters with probabilities) and the feature names, or (None, ())
    when no rater wrote any. An item such a rater did not rate gets the rater's mean
    probabilities.
    """
    labels = or_default(scale).labels
    columns = list(probability_columns(or_default(scale)))
    if not set(columns) <= set(rows.columns):
        return None, ()
    known = rows.dropna(subset=columns)
    with_probabilities = [r for r in raters if (known["rater"] == r).any()]
    if not with_probabilities:
        return None, ()
    parts, names = [], []
    for rater in with_probabilities:
        mine = known[known["rater"] == rater]
        values = mine[columns].astype("float64").groupby(mine["item_id"].astype(str)).mean()
        table = values.reindex(list(items)).fillna(values.mean())
        parts.append(np.log(np.clip(table.to_numpy(dtype=np.float64), _PROBABILITY_FLOOR, 1.0)))
        names += [f"{rater}_log_p_{label}" for label in labels]
    return np.concatenate(parts, axis=1), tuple(names)


def rater_label_shares(counts: FloatArray) -> FloatArray:
    """Each rater's share of labels, flattened: (..., raters, classes) -> (..., raters * classes).

    A rater who did not rate an item contributes zeros.
    """
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, 0.0)
    return shares.reshape(*shares.shape[:-2], shares.shape[-2] * shares.shape[-1])


def rater_share_names(raters: Sequence[str], scale: RubricScale | None = None) -> tuple[str, ...]:
    """Feature names of :func:`rater_label_shares`."""
    labels = or_default(scale).labels
    return tuple(f"{rater}_share_{label}" for rater in raters for label in labels)
