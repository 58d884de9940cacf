"""What the fake OpenAI server answers: deterministic ratings, item lines, faults, error bodies.

Pure functions shared by :mod:`dwa_rater.testing.fake_openai` and test servers built on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dwa_rater.errors import ConfigError

LABELS: Final = ("E0", "E1", "E2")
INVALID_LABEL: Final = "E9"
REDACTED: Final = "[REDACTED]"

HTTP_ERROR_FAULTS: Final[Mapping[str, int]] = {"400": 400, "429": 429, "500": 500, "503": 503}
ITEM_LEVEL_FAULTS: Final = frozenset({"invalid", "drop", "unknown", "dup"})
FAULT_KINDS: Final = frozenset(
    {"ok", "reset", "slow", "malformed", "length", *HTTP_ERROR_FAULTS, *ITEM_LEVEL_FAULTS}
)

# Scores live in a band per label so that score and label never contradict each other.
SCORE_BANDS: Final[Mapping[str, tuple[float, float]]] = {
    "E0": (0.02, 0.30),
    "E2": (0.40, 0.65),
    "E1": (0.70, 0.98),
}
SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key"}
)
ITEM_LINE: Final = re.compile(r"^\[([^\]]+)\] (.*)$", re.MULTILINE)
CONTEXT_SUFFIX: Final = re.compile(r"\s*\(context:.*\)\s*$")
ERROR_TYPES: Final[Mapping[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


def unit_draw(*parts: object) -> float:
    """A deterministic number in [0, 1) drawn from the SHA-256 of the parts."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def other_label(label: str, draw: float) -> str:
    others = [candidate for candidate in LABELS if candidate != label]
    return others[int(draw * len(others))]


def score_for(label: str, draw: float) -> float:
    low, high = SCORE_BANDS[label]
    return round(low + (high - low) * draw, 3)


def fake_rating(
    text: str,
    *,
    temperature: float | None = 0.0,
    seed: int | None = None,
    salt: str = "",
    salt_disagreement: float = 0.3,
    temperature_flip: float = 0.25,
) -> tuple[str, float]:
    """Return the (label, score) the fake server gives an item; a pure function of its arguments.

    The statement (``text`` without a trailing `` (context: ...)``) draws a base label (E0 45 %,
    E1 30 %, E2 25 %). A non-empty ``salt`` moves a share ``salt_disagreement`` of statements to
    another label, so servers with different salts act as raters who disagree on some items
    (``salt_disagreement=1.0`` makes every label differ from the unsalted one). A temperature
    ``t > 0`` (``None`` counts as the API default 1.0) moves a further share
    ``min(t, 1) * temperature_flip`` to another label, drawn afresh for each seed. The score is in
    a band per label: E0 0.02-0.30, E2 0.40-0.65, E1 0.70-0.98.
    """
    statement = CONTEXT_SUFFIX.sub("", text).strip()
    base = unit_draw("base", statement)
    label = "E0" if base < 0.45 else "E1" if base < 0.75 else "E2"
    if salt and unit_draw("salt", salt, statement) < salt_disagreement:
        label = other_label(label, unit_draw("salt-label", salt, statement))
    temp = 1.0 if temperature is None else float(temperature)
    sample_key: tuple[object, ...] = (repr(temp), seed) if temp > 0 else ("t0",)
    flip_share = min(temp, 1.0) * temperature_flip
    if temp > 0 and unit_draw("sample", salt, statement, *sample_key) < flip_share:
        label = other_label(label, unit_draw("sample-label", salt, statement, *sample_key))
    return label, score_for(label, unit_draw("score", salt, statement, *sample_key))


def parse_item_lines(text: str) -> list[tuple[str, str]]:
    """Return (id, rest of line) for every line of ``text`` that starts with ``[<id>] ``."""
    return [(match.group(1), match.group(2)) for match in ITEM_LINE.finditer(text)]


def message_text(message: object) -> str:
    """The text of one chat message, whose content may be a string or a list of parts."""
    if not isinstance(message, Mapping):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def requested_items(messages: Sequence[object]) -> list[tuple[str, str]]:
    """Items listed in the user messages, first occurrence of each id, in order.

    All user messages are read because a re-ask (instructor's retry) appends a user message that
    names no items after the one that does.
    """
    seen: dict[str, str] = {}
    for message in messages:
        if isinstance(message, Mapping) and message.get("role") == "user":
            for item_id, text in parse_item_lines(message_text(message)):
                seen.setdefault(item_id, text)
    return list(seen.items())


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case the header names and hide credentials."""
    return {
        name.lower(): REDACTED if name.lower() in SENSITIVE_HEADERS else value
        for name, value in headers.items()
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    error_type, code = ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def check_fault_kind(kind: str, where: str) -> None:
    if kind not in FAULT_KINDS:
        known = ", ".join(sorted(FAULT_KINDS))
        raise ConfigError(f"Unknown fault kind {kind!r} in {where}; expected one of: {known}")


def is_number_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def unknown_id(ids: set[str]) -> str:
    number = 1
    while f"unknown-{number}" in ids:
        number += 1
    return f"unknown-{number}"


def conflicting_copy(entry: Mapping[str, Any]) -> dict[str, Any]:
    label = str(entry["label"])
    other = other_label(label, 0.0) if label in LABELS else "E0"
    return {**entry, "label": other, "score": score_for(other, 0.5)}


def tool_name(body: Mapping[str, Any]) -> str:
    """The function the request forces (``tool_choice``), else its first tool."""
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and function.get("name"):
            return str(function["name"])
    first = body["tools"][0]
    if isinstance(first, Mapping) and isinstance(first.get("function"), Mapping):
        return str(first["function"].get("name", "ratings"))
    return "ratings"


def label_enum(body: Mapping[str, Any]) -> list[str]:
    """The label enum of the requested JSON schema, if the request carries one."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    try:
        item = schema["properties"]["ratings"]["items"]
        return [str(v) for v in item["properties"]["label"]["enum"]]
    except (KeyError, TypeError):
        return []
