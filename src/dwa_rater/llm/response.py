"""The structured output a rater returns, as sent to the model and as validated on receipt.

Two views of one batch response:

- the **schema sent** is strict: exactly ``n`` ratings, ids from the request, labels from the
  rubric, the score from a 0.05 grid, and a rationale bounded by a regular expression (grammar
  back-ends such as llama.cpp ignore ``maxLength``, so a pattern keeps the JSON closable);
- the **validation on receipt** is per item: the envelope must parse, then each rating is checked
  on its own, so one bad or missing item leads to a re-ask of that item only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dwa_rater.prompts import PromptOutput

#: Scores are asked for on this grid: grammar back-ends do not enforce minimum/maximum.
SCORE_GRID: tuple[float, ...] = tuple(round(i * 0.05, 2) for i in range(21))
RATIONALE_PATTERN = r'^[^"\\\n]{1,160}$'


class ExposureRating(BaseModel):
    """One item's rating under the exposure rubric (rationale first: it helps small models)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    rationale: str = Field(min_length=1, max_length=400)
    label: str = Field(min_length=1)  # checked against the rubric's labels in split_valid
    score: float = Field(ge=0.0, le=1.0)


class ScoreRating(BaseModel):
    """One item's rating under a score-only rubric."""

    model_config = ConfigDict(extra="ignore")

    id: str
    rationale: str = Field(min_length=1, max_length=400)
    score: float = Field(ge=0.0, le=1.0)


ITEM_MODELS: dict[str, type[BaseModel]] = {"exposure": ExposureRating, "score": ScoreRating}


def item_schema(output: PromptOutput, ids: Sequence[str] | None = None) -> dict[str, Any]:
    """JSON schema of one rating as sent to the model."""
    properties: dict[str, Any] = {
        "id": {"type": "string", "enum": list(ids)} if ids else {"type": "string"},
        "rationale": {"type": "string", "pattern": RATIONALE_PATTERN},
    }
    if output.kind == "exposure":
        properties["label"] = {"type": "string", "enum": list(output.labels)}
    properties["score"] = {"type": "number", "enum": list(SCORE_GRID)}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def schema_sha256(output: PromptOutput) -> str:
    """Fingerprint of the response schema (independent of a batch's ids and size)."""
    text = json.dumps(item_schema(output), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RatingBatch(BaseModel):
    """The envelope: a list of ratings. Items are validated one by one afterwards."""

    model_config = ConfigDict(extra="ignore")

    ratings: list[dict[str, Any]]
    sent_schema: ClassVar[dict[str, Any]] = {}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        # This schema is sent; the class validates leniently on receipt.
        return cls.sent_schema or super().model_json_schema(*args, **kwargs)


def batch_model(output: PromptOutput, ids: Sequence[str]) -> type[RatingBatch]:
    """A response model whose sent schema demands exactly these ids, once each."""
    return _batch_model(output, tuple(ids))


@cache
def _batch_model(output: PromptOutput, ids: tuple[str, ...]) -> type[RatingBatch]:
    schema = {
        "type": "object",
        "properties": {
            "ratings": {
                "type": "array",
                "items": item_schema(output, ids),
                "minItems": len(ids),
                "maxItems": len(ids),
            }
        },
        "required": ["ratings"],
        "additionalProperties": False,
    }
    return type("RatingBatch", (RatingBatch,), {"sent_schema": schema})


def split_valid(
    output: PromptOutput, batch: RatingBatch, requested: Sequence[str]
) -> tuple[dict[str, BaseModel], dict[str, str]]:
    """Valid ratings by id, and a reason for every requested id that has none.

    An id counts only if it comes back exactly once with a valid rating; unknown ids are
    ignored, duplicated ids count as missing (which answer would be the right one?).
    """
    model = ITEM_MODELS[output.kind]
    allowed = set(output.labels)
    counts: dict[str, int] = {}
    for entry in batch.ratings:
        key = str(entry.get("id", ""))
        counts[key] = counts.get(key, 0) + 1
    valid: dict[str, BaseModel] = {}
    problems: dict[str, str] = {}
    wanted = set(requested)
    for entry in batch.ratings:
        key = str(entry.get("id", ""))
        if key not in wanted or counts[key] != 1:
            continue
        try:
            label = entry.get("label")
            if isinstance(label, str) and label not in allowed:
                # " e1 " is E1: models vary in case and spacing
                canonical = {a.casefold(): a for a in allowed}.get(label.strip().casefold())
                entry = {**entry, "label": canonical or label}
            rating = model.model_validate({**entry, "id": key})
        except ValidationError as exc:
            first = exc.errors()[0]
            problems[key] = f"invalid {'.'.join(map(str, first['loc']))}: {first['msg']}"
            continue
        label = getattr(rating, "label", None)
        if label is not None and label not in allowed:
            problems[key] = f"invalid label: {label!r} is not one of {sorted(allowed)}"
            continue
        valid[key] = rating
    for key in requested:
        if key in valid or key in problems:
            continue
        problems[key] = "duplicated in response" if counts.get(key, 0) > 1 else "missing"
    return valid, problems


_FENCE = re.compile(r"```[ \t]*(?:json|JSON|json5)?[ \t]*\r?\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The JSON value in an answer: plain JSON, a fenced block, or the outermost object in prose.

    Models asked for JSON in the prompt (``json_object`` and ``md_json`` modes) often wrap it in
    a ```json fence or a sentence; this finds it. Raises ``ValueError`` when there is none.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(text[start : end + 1])
        except ValueError:
            pass
    raise ValueError("no JSON object found in the answer")


def read_envelope(value: Any) -> RatingBatch:
    """The ratings envelope from a parsed answer, forgiving the usual small deviations.

    A bare list of ratings, a single rating object, or an object whose only list holds the
    ratings under another name are all read as ``{"ratings": [...]}``. Raises
    ``ValidationError`` when nothing fits.
    """
    if isinstance(value, list):
        value = {"ratings": value}
    elif isinstance(value, dict) and "ratings" not in value:
        if "id" in value:
            value = {"ratings": [value]}
        else:
            lists = [v for v in value.values() if isinstance(v, list)]
            if len(lists) == 1:
                value = {"ratings": lists[0]}
    return RatingBatch.model_validate(value)


def envelope_schema(output: PromptOutput, ids: Sequence[str] | None = None) -> dict[str, Any]:
    """The schema of a whole answer; without ``ids``, the generic one written into prompts."""
    if ids is not None:
        return batch_model(output, ids).sent_schema
    return {
        "type": "object",
        "properties": {"ratings": {"type": "array", "items": item_schema(output)}},
        "required": ["ratings"],
        "additionalProperties": False,
    }
