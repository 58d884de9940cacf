"""The label scale agreement is measured on: category order and the numeric code of each label.

Order and codings come from a rubric's ``[scale]`` (:mod:`dwa_rater.rubric`); the default is the
``exposure`` rubric's: E0 < E2 < E1 (no exposure, exposure with extra software, direct
exposure), with the codings of Eloundou et al. (2023), "GPTs are GPTs", section 3.3: alpha = E1,
beta = E1 + 0.5 * E2, gamma = E1 + E2. Ordinal statistics (weighted kappa, ordinal alpha, rank
correlations) use the order; interval statistics (interval alpha, Pearson) use the codes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dwa_rater.errors import ConfigError
from dwa_rater.prompts import exposure_scale
from dwa_rater.rubric import RubricScale

Coding = Literal["beta", "alpha", "gamma"]

#: The default rubric's labels in order, lowest exposure first (from its manifest).
DEFAULT_ORDER: tuple[str, ...] = exposure_scale().order

#: Numeric code of each label under the default rubric's codings (from its manifest).
CODINGS: dict[str, dict[str, float]] = {
    name: exposure_scale().coding(name) for name in exposure_scale().codings
}


@dataclass(frozen=True)
class LabelScale:
    """An ordered set of labels with one numeric code each.

    ``labels`` runs from the lowest category to the highest; ``codes[i]`` is the code of
    ``labels[i]`` and never decreases along the order (ties are allowed: the alpha coding gives
    E0 and E2 the same code). ``coding`` names where the codes came from: ``beta``, ``alpha``,
    ``gamma``, ``custom`` (given explicitly) or ``rank`` (0, 1, 2, ... for a non-exposure scale).
    """

    labels: tuple[str, ...] = DEFAULT_ORDER
    codes: tuple[float, ...] = (0.0, 0.5, 1.0)
    coding: str = "beta"

    def __post_init__(self) -> None:
        if len(self.labels) < 2:
            raise ConfigError("a label scale needs at least two labels")
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError(f"label order {','.join(self.labels)} repeats a label")
        if any(not label for label in self.labels):
            raise ConfigError("label order holds an empty label")
        if len(self.codes) != len(self.labels):
            raise ConfigError(
                f"{len(self.codes)} numeric codes given for {len(self.labels)} labels "
                f"({','.join(self.labels)})"
            )
        if not all(math.isfinite(c) for c in self.codes):
            raise ConfigError("numeric codes must be finite numbers")
        if any(b < a for a, b in zip(self.codes, self.codes[1:], strict=False)):
            raise ConfigError(
                "numeric codes must not decrease along the label order: "
                + ", ".join(
                    f"{lab}={code:g}" for lab, code in zip(self.labels, self.codes, strict=True)
                )
                + "; reorder the labels or give matching codes"
            )

    @property
    def size(self) -> int:
        return len(self.labels)

    def position(self, label: str) -> int:
        """Index of ``label`` along the order (0 = lowest)."""
        return self.labels.index(label)

    def describe(self) -> str:
        """``E0 < E2 < E1`` style text for messages."""
        return " < ".join(self.labels)

    def to_dict(self) -> dict[str, object]:
        return {
            "order": list(self.labels),
            "codes": dict(zip(self.labels, self.codes, strict=True)),
            "coding": self.coding,
        }


def build_scale(
    order: Sequence[str] | None = None,
    codes: Sequence[float] | None = None,
    coding: str | None = None,
    rubric: RubricScale | None = None,
) -> LabelScale:
    """Make a :class:`LabelScale` from the user's options.

    ``rubric`` (a rubric's scale, default the ``exposure`` rubric's) gives the default order and
    the named codings. ``codes`` (one per label, in order) and ``coding`` (a coding named in the
    rubric) are mutually exclusive. With neither, labels of the rubric get its default coding
    and any other labels get their ranks 0, 1, 2, ... as codes.
    """
    scale = rubric or exposure_scale()
    labels = tuple(label.strip() for label in (order or scale.order))
    if codes is not None and coding is not None:
        raise ConfigError("give either numeric codes or a named coding, not both")
    if codes is not None:
        return LabelScale(labels, tuple(float(c) for c in codes), "custom")
    of_rubric = set(labels) == set(scale.order)
    if coding is None:
        if not of_rubric:
            return LabelScale(labels, tuple(float(i) for i in range(len(labels))), "rank")
        coding = scale.default_coding
    if coding not in scale.codings:
        raise ConfigError(f"unknown coding {coding!r} (use {', '.join(scale.codings)})")
    if not of_rubric:
        raise ConfigError(
            f"the {coding} coding is defined for the labels {', '.join(scale.labels)}, not "
            f"{','.join(labels)}; give numeric codes instead"
        )
    table = scale.coding(coding)
    return LabelScale(labels, tuple(table[label] for label in labels), coding)
