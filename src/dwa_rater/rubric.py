"""A rubric's label scale: labels, their order, numeric codings, names and definitions.

The scale lives in the ``[scale]`` table of a rubric's ``prompts/<name>/<version>/manifest.toml``
and nowhere else: the response schema, agreement statistics, calibration, the indices' codings
and the Label Studio screen all read it from the loaded rubric (:attr:`Prompt.scale`). A rubric
with other labels therefore needs no code change. ``[scale]`` holds::

    labels = [...]            # as the model answers them (the response schema's enum order)
    order = [...]             # the same labels, lowest first (ordinal statistics)
    default_coding = "NAME"   # one of the codings below
    [scale.codings.NAME]      # one numeric code per label; codes never decrease along order
    [scale.names]             # short display name per label (optional)
    [scale.definitions]       # what each label means, for annotators (optional)
    [scale.definitions_zh]    # the same in Chinese (optional)
    [scale.names_zh]          # the names in Chinese (optional)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dwa_rater.errors import PromptError


@dataclass(frozen=True, eq=False)
class RubricScale:
    """The label scale of one rubric version (see the module docstring)."""

    labels: tuple[str, ...]
    order: tuple[str, ...]
    codings: Mapping[str, Mapping[str, float]]
    default_coding: str
    names: Mapping[str, str] = field(default_factory=dict)
    definitions: Mapping[str, str] = field(default_factory=dict)
    definitions_zh: Mapping[str, str] = field(default_factory=dict)
    names_zh: Mapping[str, str] = field(default_factory=dict)

    def coding(self, name: str | None = None) -> dict[str, float]:
        """Numeric code per label under coding ``name`` (default: the rubric's default)."""
        chosen = name or self.default_coding
        if chosen not in self.codings:
            known = ", ".join(self.codings)
            raise PromptError(f"unknown coding {chosen!r} for this rubric (known: {known})")
        return dict(self.codings[chosen])

    def position(self, label: str) -> int:
        """Ordinal position of ``label`` (0 = lowest)."""
        return self.order.index(label)

    def name_of(self, label: str) -> str:
        return self.names.get(label, label)


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise PromptError(f"{where}: [scale] {what} must be a non-empty list of labels")
    if len(set(value)) != len(value):
        raise PromptError(f"{where}: [scale] {what} repeats a label")
    return tuple(value)


def _label_map(value: Any, labels: tuple[str, ...], where: str, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - set(labels):
        raise PromptError(f"{where}: [scale.{what}] must map labels of the scale to text")
    return {str(k): str(v) for k, v in value.items()}


def parse_scale(table: Mapping[str, Any], where: str) -> RubricScale:
    """Validate a manifest's ``[scale]`` table; raise :class:`PromptError` naming ``where``."""
    labels = _strings(table.get("labels"), where, "labels")
    order = _strings(table.get("order", list(labels)), where, "order")
    if set(order) != set(labels):
        raise PromptError(f"{where}: [scale] order must hold exactly the labels {list(labels)}")
    raw_codings = table.get("codings") or {}
    if not isinstance(raw_codings, dict) or not raw_codings:
        raise PromptError(f"{where}: [scale.codings] needs at least one coding")
    codings: dict[str, dict[str, float]] = {}
    for name, codes in raw_codings.items():
        if not isinstance(codes, dict) or set(codes) != set(labels):
            raise PromptError(f"{where}: coding {name!r} needs one code for each of {list(labels)}")
        values = {str(k): float(v) for k, v in codes.items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise PromptError(f"{where}: coding {name!r} holds a non-finite code")
        along = [values[label] for label in order]
        if any(b < a for a, b in itertools.pairwise(along)):
            raise PromptError(f"{where}: coding {name!r} decreases along the order {list(order)}")
        codings[str(name)] = values
    default = str(table.get("default_coding") or next(iter(codings)))
    if default not in codings:
        raise PromptError(f"{where}: default_coding {default!r} is not one of {list(codings)}")
    return RubricScale(
        labels=labels,
        order=order,
        codings=codings,
        default_coding=default,
        names=_label_map(table.get("names"), labels, where, "names"),
        definitions=_label_map(table.get("definitions"), labels, where, "definitions"),
        definitions_zh=_label_map(table.get("definitions_zh"), labels, where, "definitions_zh"),
        names_zh=_label_map(table.get("names_zh"), labels, where, "names_zh"),
    )
