"""A transparent sentence encoder for tests and examples: keyword counts, L2-normalised.

It implements :class:`dwa_rater.embedding.Encoder`, so reference raters, anchored rubrics and
calibration's neighbour features can be tested exactly (which statements are nearest is plain
to see) and fast, without the embedding model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dwa_rater.embedding import Role

#: Words the encoder counts, one dimension each (plus a constant dimension).
KEYWORDS: tuple[str, ...] = (
    "lift",
    "repair",
    "write",
    "draft",
    "analyse",
    "data",
    "drive",
    "summarise",
)


class KeywordEncoder:
    """Counts of :data:`KEYWORDS` (substring matches, lower case) plus a small constant."""

    name = "keyword-test-encoder"
    dim = len(KEYWORDS) + 1

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        rows = []
        for text in texts:
            lower = text.lower()
            rows.append([float(lower.count(word)) for word in KEYWORDS] + [0.05])
        array = np.array(rows, dtype=np.float32).reshape(len(rows), self.dim)
        return array / np.linalg.norm(array, axis=1, keepdims=True)
