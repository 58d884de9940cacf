"""The annotators' screen: a Label Studio labelling config generated from the rubric, and tasks.

The rubric is the exposure rubric of ``prompts/exposure/v1`` (Eloundou, Manning, Mishkin and
Rock 2023) in plain words: labels E0/E1/E2 (keys 1/2/3), a 0-1 score on a 0.05 grid, and a free
comment. A task shows one DWA: its statement, its IWA/GWA context and example occupations. In
``assisted`` mode it also shows every LLM rating of the item (rater, model, label, score,
rationale) as an HTML table whose every value is escaped; in ``blind`` mode the task data holds
no model output at all (and no predictions are ever imported: Label Studio's quick view
pre-fills the form from predictions even when collaborator predictions are hidden).
"""

from __future__ import annotations

import hashlib
import html
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from dwa_rater.catalog import OnetTables, example_occupations
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import exposure_scale
from dwa_rater.rubric import RubricScale
from dwa_rater.store import ok_ratings

ReviewMode = Literal["blind", "assisted"]
REVIEW_MODES: tuple[str, ...] = ("blind", "assisted")

#: Names of the controls in the config; the converter reads results by these names.
LABEL_CONTROL = "label"
SCORE_CONTROL = "score"
COMMENT_CONTROL = "comment"
OBJECT_NAME = "statement"

#: Data keys that carry model output; none of them may appear in a blind task.
MODEL_OUTPUT_KEYS: frozenset[str] = frozenset({"raters", "raters_html", "disagreement", "reason"})


@dataclass(frozen=True)
class LabelDefinition:
    """One label of the rubric as annotators see it."""

    label: str
    name: str
    definition: str


def label_definitions(scale: RubricScale | None = None) -> tuple[LabelDefinition, ...]:
    """A rubric's labels as annotators see them (default: the exposure rubric), in the order
    the model answers them; names and definitions come from the rubric's manifest."""
    scale = scale or exposure_scale()
    return tuple(
        LabelDefinition(label, scale.name_of(label), scale.definitions.get(label, ""))
        for label in scale.labels
    )


#: The exposure rubric (prompts/exposure/v1) in the annotators' words.
RUBRIC: tuple[LabelDefinition, ...] = label_definitions()
SCORE_DEFINITION = (
    "Score from 0 to 1: how much of the activity an LLM or LLM-based software could do "
    "(0 = nothing, 1 = all of it), in steps of 0.05."
)

_STYLE = """
.dwa-card { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 10px 14px; margin-bottom: 10px; }
.dwa-card .lsf-richtext__line { font-size: 1.35em; font-weight: 600; line-height: 1.4; }
.dwa-context { color: #57606a; font-size: 0.95em; margin-top: 4px; }
.dwa-context b { color: #24292f; font-weight: 600; }
.dwa-models { margin-bottom: 10px; }
.dwa-raters { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.dwa-raters th, .dwa-raters td { border: 1px solid #d0d7de; padding: 3px 6px;
  text-align: left; vertical-align: top; }
.dwa-raters th { background: #f6f8fa; }
.dwa-answer { border-top: 1px solid #d0d7de; padding-top: 8px; }
"""


def _check_mode(mode: str) -> None:
    if mode not in REVIEW_MODES:
        raise ConfigError(f"unknown review mode {mode!r} (use {' or '.join(REVIEW_MODES)})")


def build_label_config(mode: ReviewMode, scale: RubricScale | None = None) -> str:
    """The Label Studio labelling config (XML) for a review project in ``mode``.

    Controls: ``label`` (single radio E0/E1/E2, hotkeys 1/2/3, required), ``score`` (Number,
    0-1, step 0.05, required), ``comment`` (TextArea, optional). Blind configs reference no data
    key that carries model output. The text is deterministic, so its SHA-256 identifies it.
    """
    _check_mode(mode)
    definitions = label_definitions(scale)
    labels = [definition.label for definition in definitions]
    if len(labels) > 9:
        raise ConfigError(f"a rubric with {len(labels)} labels has more than the 9 hotkeys")
    root = ET.Element("View")
    ET.SubElement(root, "Style").text = _STYLE
    card = ET.SubElement(root, "View", className="dwa-card")
    ET.SubElement(card, "Header", value="Work activity $dwa_id", size="6")
    ET.SubElement(card, "Text", name=OBJECT_NAME, value="$statement", granularity="word")
    ET.SubElement(card, "HyperText", name="context", value="$context_html", inline="true")
    if mode == "assisted":
        models = ET.SubElement(root, "View", className="dwa-models")
        ET.SubElement(models, "Header", value="LLM ratings: $disagreement", size="6")
        ET.SubElement(models, "HyperText", name="raters", value="$raters_html", inline="true")
    answer = ET.SubElement(root, "View", className="dwa-answer")
    keys = ", ".join(str(n) for n in range(1, len(labels) + 1))
    ET.SubElement(answer, "Header", value=f"Exposure label (keys {keys})", size="6")
    choices = ET.SubElement(
        answer,
        "Choices",
        name=LABEL_CONTROL,
        toName=OBJECT_NAME,
        choice="single-radio",
        showInline="true",
        required="true",
        requiredMessage="Choose " + ", ".join(labels[:-1]) + f" or {labels[-1]}.",
    )
    for hotkey, definition in enumerate(definitions, start=1):
        ET.SubElement(
            choices,
            "Choice",
            value=definition.label,
            hotkey=str(hotkey),
            hint=definition.definition,
            html=f"<b>{definition.label}</b> {html.escape(definition.name)}",
        )
    ET.SubElement(
        answer, "Header", value="Score from 0 to 1: share of the activity an LLM could do", size="6"
    )
    ET.SubElement(
        answer,
        "Number",
        name=SCORE_CONTROL,
        toName=OBJECT_NAME,
        min="0",
        max="1",
        step="0.05",
        required="true",
        requiredMessage="Give a score from 0 to 1.",
    )
    ET.SubElement(answer, "Header", value="Comment (why; optional)", size="6")
    ET.SubElement(
        answer,
        "TextArea",
        name=COMMENT_CONTROL,
        toName=OBJECT_NAME,
        rows="3",
        maxSubmissions="1",
        editable="true",
        placeholder="One sentence: what decided your label?",
    )
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def config_sha256(label_config: str) -> str:
    """SHA-256 (hex) of a labelling config, whitespace at both ends ignored."""
    return hashlib.sha256(label_config.strip().encode("utf-8")).hexdigest()


def reference_config_text() -> str:
    """The text of ``annotations/labeling_config.xml``: the assisted config, with a note."""
    note = (
        "<!-- Generated by dwa_rater.review.labeling.build_label_config('assisted'); do not edit.\n"
        "     Blind mode is the same without the 'dwa-models' view (no model output). -->\n"
    )
    return note + build_label_config("assisted")


def instructions_html() -> str:
    """The project instructions (shown by Label Studio before labelling): the rubric."""
    items = "".join(
        f"<li><b>{html.escape(d.label)} ({html.escape(d.name)})</b>: "
        f"{html.escape(d.definition)}</li>"
        for d in RUBRIC
    )
    return (
        "<p>Would access to a large language model (LLM) cut the time a worker needs for this "
        "activity by at least half, at the same quality?</p>"
        f"<ul>{items}</ul><p>{html.escape(SCORE_DEFINITION)}</p>"
        "<p>Use <b>Label All Tasks</b> (the label stream). Think about what the activity "
        "physically requires before you choose.</p>"
    )


# --------------------------------------------------------------------------------------------
# Items and task payloads


@dataclass(frozen=True)
class RaterView:
    """One LLM rating of an item, as shown to annotators in assisted mode."""

    rater: str
    model: str
    sample: int
    label: str | None
    score: float | None
    rationale: str | None


@dataclass(frozen=True)
class ReviewItem:
    """Everything a task needs about one DWA."""

    dwa_id: str
    statement: str
    iwa_title: str
    gwa_title: str
    occupations: tuple[str, ...]
    reason: str
    disagreement: str
    raters: tuple[RaterView, ...]


def external_id(dwa_id: str) -> str:
    """The stable id of an item's task (``data.ext_id``), used to never import it twice."""
    return f"dwa:{dwa_id}"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _optional_float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def raters_table_html(raters: Sequence[RaterView]) -> str:
    """An HTML table of the ratings; every value is escaped (rationales are model output)."""
    show_sample = len({(r.rater, r.sample) for r in raters}) > len({r.rater for r in raters})
    header = ["Rater", "Model"] + (["Sample"] if show_sample else []) + ["Label", "Score"]
    header.append("Rationale")
    rows = []
    for view in raters:
        cells = [view.rater, view.model] + ([str(view.sample)] if show_sample else [])
        cells += [view.label or "", "" if view.score is None else f"{view.score:.2f}"]
        cells.append(view.rationale or "")
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f'<table class="dwa-raters"><tr>{head}</tr>{"".join(rows)}</table>'


def context_html(item: ReviewItem) -> str:
    """The activity's place in O*NET (GWA > IWA) and example occupations, escaped."""
    group = " › ".join(html.escape(t) for t in (item.gwa_title, item.iwa_title) if t)
    occupations = "; ".join(html.escape(o) for o in item.occupations) or "none listed"
    return (
        f'<div class="dwa-context"><div><b>Activity group:</b> {group}</div>'
        f"<div><b>Example occupations:</b> {occupations}</div></div>"
    )


def build_task(item: ReviewItem, mode: ReviewMode) -> dict[str, Any]:
    """The Label Studio task (``{"data": ...}``) for one item; never with predictions."""
    _check_mode(mode)
    data: dict[str, Any] = {
        "ext_id": external_id(item.dwa_id),
        "dwa_id": item.dwa_id,
        "statement": item.statement,
        "iwa_title": item.iwa_title,
        "gwa_title": item.gwa_title,
        "occupations": "; ".join(item.occupations),
        "context_html": context_html(item),
        "review_mode": mode,
    }
    if mode == "assisted":
        data["reason"] = item.reason
        data["disagreement"] = item.disagreement or "no labels"
        data["raters"] = [
            {
                "rater": r.rater,
                "model": r.model,
                "sample": r.sample,
                "label": r.label,
                "score": r.score,
                "rationale": r.rationale,
            }
            for r in item.raters
        ]
        data["raters_html"] = raters_table_html(item.raters)
    return {"data": data}


def review_items(
    selection: pd.DataFrame,
    ratings: pd.DataFrame,
    dwas: pd.DataFrame,
    occupations: Mapping[str, Sequence[str]],
) -> list[ReviewItem]:
    """Join the chosen items with their ratings and O*NET context, in selection order.

    ``selection`` needs item_id (a DWA ID) and may have reason and labels (see
    :mod:`dwa_rater.review.select`); ``dwas`` is ``OnetTables.dwas``; ``occupations`` maps a DWA
    ID to example occupation titles. A chosen id not in ``dwas`` is a ``DataError``.
    """
    if "item_id" not in selection.columns:
        raise DataError("selection table lacks column 'item_id'")
    catalogue = dwas.set_index("dwa_id")
    unknown = [i for i in selection["item_id"].astype(str) if i not in catalogue.index]
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5])
        raise DataError(f"{len(unknown)} chosen item(s) are not O*NET DWA IDs: {shown}")
    rated = ok_ratings(ratings)
    by_item = {str(k): v for k, v in rated.groupby("item_id", sort=False)}
    items = []
    for row in selection.to_dict("records"):
        dwa_id = str(row["item_id"])
        entry = catalogue.loc[dwa_id]
        rows = by_item.get(dwa_id, rated.iloc[0:0]).sort_values(["rater", "sample"])
        views = tuple(
            RaterView(
                rater=_text(r["rater"]),
                model=_text(r.get("model")),
                sample=int(r["sample"]) if _text(r.get("sample")) else 0,
                label=_text(r.get("label")) or None,
                score=_optional_float(r.get("score")),
                rationale=_text(r.get("rationale")) or None,
            )
            for r in rows.to_dict("records")
        )
        items.append(
            ReviewItem(
                dwa_id=dwa_id,
                statement=str(entry["dwa_title"]),
                iwa_title=str(entry["iwa_title"]),
                gwa_title=str(entry["gwa_title"]),
                occupations=tuple(occupations.get(dwa_id, ())),
                reason=_text(row.get("reason")),
                disagreement=_text(row.get("labels")),
                raters=views,
            )
        )
    return items


def review_items_from_catalog(
    selection: pd.DataFrame, ratings: pd.DataFrame, tables: OnetTables, n_occupations: int = 3
) -> list[ReviewItem]:
    """:func:`review_items` with context and example occupations taken from O*NET tables."""
    ids = selection["item_id"].astype(str).tolist()
    catalogue = set(tables.dwas["dwa_id"])
    known = [i for i in ids if i in catalogue]
    occupations = example_occupations(tables, known, n=n_occupations)
    return review_items(selection, ratings, tables.dwas, occupations)
