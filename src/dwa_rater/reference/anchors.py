"""Anchored rubrics: show each item with the most similar human-labelled statements.

For a rater with an anchored rubric (``rubric = "exposure-anchored"``, with ``reference``,
``reference_rater``, ``k`` and ``exclude`` as for a reference rater), every item gets, from
the reference, its ``k`` nearest labelled statements (the project's embedding model; by default
never from the item's own occupation when the reference knows it), rendered under the item as

    examples labelled by people:
    - "Prepare financial reports." -> E1

The neighbours' ids (joined by ``|``) and the SHA-256 of ids and labels are recorded on every
rating (``exemplar_ids``, ``exemplar_sha256``) and keyed in the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from dwa_rater.reference.rater import ReferenceRater
from dwa_rater.reference.vote import LABELS
from dwa_rater.schemas import Item


def _quoted(text: str) -> str:
    return '"' + " ".join(text.split()).replace('"', "'") + '"'


def anchor_items(items: Sequence[Item], rater: ReferenceRater) -> list[Item]:
    """The items with their labelled examples (see the module docstring)."""
    if not items:
        return []
    votes = rater.vote(items)
    reference = rater.reference
    out = []
    for row, item in enumerate(items):
        neighbours = [int(j) for j in votes.neighbours[row] if j >= 0]
        ids = [reference.item_ids[j] for j in neighbours]
        labels = [LABELS[int(reference.labels[j])] for j in neighbours]
        lines = ["    examples labelled by people:"]
        lines += [
            f"    - {_quoted(reference.texts[j])} -> {label}"
            for j, label in zip(neighbours, labels, strict=True)
        ]
        digest = hashlib.sha256(
            "|".join(f"{i}={label}" for i, label in zip(ids, labels, strict=True)).encode()
        ).hexdigest()
        out.append(
            item.model_copy(
                update={
                    "examples": "\n".join(lines) if ids else "",
                    "exemplar_ids": "|".join(ids),
                    "exemplar_sha256": digest if ids else "",
                }
            )
        )
    return out
