"""Records at the tool's boundaries: the items to rate and the long ratings table.

The ratings table is the interchange format of the whole project. The rating engine writes it;
agreement, review, calibration and the indices read it; human annotations and published labels
enter it the same way, as one more ``rater``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

ItemType = Literal["dwa", "task", "custom"]
RatingStatus = Literal["ok", "failed"]


class Item(BaseModel):
    """One statement to rate: a DWA, an O*NET task, or a user-supplied line.

    ``context`` is free text shown to the rater after the statement (for a DWA: its IWA and GWA
    titles); it is part of the cache key because it changes the prompt. ``examples`` are the
    labelled statements an anchored rubric shows with the item (see
    :mod:`dwa_rater.reference.anchors`).
    """

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1)
    item_type: ItemType
    text: str = Field(min_length=1)
    context: str = ""
    # Anchored rubrics only: labelled examples shown after the statement, their ids (joined by
    # "|") and the SHA-256 of the ids and labels; part of the cache key when present.
    examples: str = ""
    exemplar_ids: str = ""
    exemplar_sha256: str = ""


class RatingRecord(BaseModel):
    """One row of the long ratings table: one rater's judgement of one item, for one sample."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    item_type: str
    item_text: str
    rater: str
    model: str
    endpoint: str = ""
    prompt_name: str = ""
    prompt_version: str = ""
    prompt_sha256: str = ""
    schema_sha256: str = ""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    batch_size: int | None = None
    sample: int = 0
    status: RatingStatus = "ok"
    label: str | None = None
    score: float | None = None
    rationale: str | None = None
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    cached: bool = False
    cache_key: str = ""
    run_id: str = ""
    created_at: str = ""
    # Added with provider presets; older journals without them stay readable and appendable.
    provider: str = ""
    structured_output: str = ""
    reasoning_tokens: int | None = None
    # Raters that give class probabilities (the reference rater, calibrated raters): p_E0..p_E2.
    p_E0: float | None = None
    p_E1: float | None = None
    p_E2: float | None = None
    # Cosine of the nearest reference statement (reference rater); low = unlike anything labelled.
    max_similarity: float | None = None
    # Reference statements shown to or used by the rater (ids joined by "|") and their SHA-256.
    exemplar_ids: str | None = None
    exemplar_sha256: str | None = None
    # Space-separated flags, e.g. "far_from_reference".
    rating_flags: str | None = None


#: Column order of the ratings table. Every column the issues name is here; readers accept
#: tables holding only the required subset (e.g. human labels) and fill the rest with nulls.
RATING_COLUMNS: tuple[str, ...] = tuple(RatingRecord.model_fields)

#: Columns every ratings table must have, whoever wrote it.
REQUIRED_RATING_COLUMNS: tuple[str, ...] = ("item_id", "rater")


@dataclass(frozen=True)
class NotedTable:
    """A result table with one-line notes on how it was made (what was averaged, dropped or
    left out), for the CLI to print and a caller to log."""

    table: pd.DataFrame
    notes: tuple[str, ...] = ()
