"""The annotators' screen: a Label Studio labelling config generated from the rubric, and tasks.

The rubric's labels, names and definitions come from its manifest's ``[scale]`` and the
screen's other wording from ``annotations/wording/`` (:mod:`dwa_rater.review.wording`), in the
language asked for (``en``, ``zh`` or ``zh+en``). Controls: the label (single radio, keys 1, 2,
3, ... in the rubric's answer order, each choice with its definition beside it), the 0-1 score as
a slider on a 0.05 grid with anchored wording under it, the annotator's confidence (sure/unsure,
keys s/n) and a free comment.

A task shows one DWA: its statement (always the O*NET English, with a machine translation beside
it, marked as such, when one is given), its IWA/GWA context, the O*NET task statements linked to
it through Tasks to DWAs (up to ten, then a count) and its occupations (up to ten, then a count).
In ``assisted`` mode it also shows every LLM rating of the item (rater, model, label, score,
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
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.review.context import MAX_LISTED, LinkedContext, Translation, linked_context
from dwa_rater.review.wording import (
    ReviewLanguage,
    ReviewRubric,
    check_language,
    review_rubric,
)
from dwa_rater.rubric import RubricScale
from dwa_rater.store import ok_ratings

ReviewMode = Literal["blind", "assisted"]
REVIEW_MODES: tuple[str, ...] = ("blind", "assisted")

#: Names of the controls in the config; the converter reads results by these names.
LABEL_CONTROL = "label"
SCORE_CONTROL = "score"
CONFIDENCE_CONTROL = "confidence"
COMMENT_CONTROL = "comment"
OBJECT_NAME = "statement"

#: Data keys that carry model output; none of them may appear in a blind task.
MODEL_OUTPUT_KEYS: frozenset[str] = frozenset({"raters", "raters_html", "disagreement", "reason"})

_STYLE = """
.dwa-card { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 10px 14px; margin-bottom: 10px; }
.dwa-card .lsf-richtext__line { font-size: 1.35em; font-weight: 600; line-height: 1.4; }
.dwa-mt { color: #57606a; font-size: 1.05em; margin: 2px 0 4px 0; }
.dwa-mt .dwa-mt-tag { font-size: 0.8em; border: 1px solid #d4a72c; background: #fff8c5;
  border-radius: 4px; padding: 0 4px; margin-right: 6px; }
.dwa-context { color: #57606a; font-size: 0.95em; margin-top: 4px; }
.dwa-context b { color: #24292f; font-weight: 600; }
.dwa-context ul { margin: 2px 0 4px 18px; padding: 0; }
.dwa-context li { margin: 0; }
.dwa-more { font-style: italic; }
.dwa-models { margin-bottom: 10px; }
.dwa-raters { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.dwa-raters th, .dwa-raters td { border: 1px solid #d0d7de; padding: 3px 6px;
  text-align: left; vertical-align: top; }
.dwa-raters th { background: #f6f8fa; }
.dwa-answer { border-top: 1px solid #d0d7de; padding-top: 8px; }
.dwa-def { color: #57606a; font-size: 0.9em; }
"""


def _check_mode(mode: str) -> None:
    if mode not in REVIEW_MODES:
        raise ConfigError(f"unknown review mode {mode!r} (use {' or '.join(REVIEW_MODES)})")


def _rubric(rubric: ReviewRubric | None) -> ReviewRubric:
    return rubric or review_rubric()


def anchors_text(rubric: ReviewRubric, lang: ReviewLanguage) -> str:
    """The wording under the score slider: each anchor value and what it means."""
    return "   ·   ".join(
        f"{anchor.value:g} = {anchor.wording(lang)}" for anchor in rubric.score_anchors
    )


def build_label_config(
    mode: ReviewMode,
    scale: RubricScale | None = None,
    *,
    lang: ReviewLanguage = "en",
    rubric: ReviewRubric | None = None,
) -> str:
    """The Label Studio labelling config (XML) for a review project in ``mode`` and ``lang``.

    ``scale`` is the rubric's label scale (default: the exposure rubric's); ``rubric`` the
    screen's rubric built from it, when the caller has one. Controls: ``label`` (single radio of
    the rubric's labels with their hotkeys and definitions, required), ``score`` (Number shown
    as a slider, 0-1, step 0.05, required), ``confidence`` (sure/unsure radio with hotkeys,
    required), ``comment`` (TextArea, optional). Blind configs reference no data key that
    carries model output. The text is deterministic, so its SHA-256 identifies it.
    """
    _check_mode(mode)
    check_language(lang)
    rubric = rubric or review_rubric(scale)
    label_keys = rubric.keys_of([label.hotkey for label in rubric.labels])
    confidence_keys = rubric.keys_of([c.hotkey for c in rubric.confidence])
    root = ET.Element("View")
    ET.SubElement(root, "Style").text = _STYLE
    card = ET.SubElement(root, "View", className="dwa-card")
    ET.SubElement(card, "Header", value=rubric.phrase("activity", lang) + " $dwa_id", size="6")
    ET.SubElement(card, "Text", name=OBJECT_NAME, value="$statement", granularity="word")
    ET.SubElement(card, "HyperText", name="translation", value="$translation_html", inline="true")
    ET.SubElement(card, "HyperText", name="context", value="$context_html", inline="true")
    if mode == "assisted":
        models = ET.SubElement(root, "View", className="dwa-models")
        header = rubric.phrase("llm_ratings", lang) + ": $disagreement"
        ET.SubElement(models, "Header", value=header, size="6")
        ET.SubElement(models, "HyperText", name="raters", value="$raters_html", inline="true")
    answer = ET.SubElement(root, "View", className="dwa-answer")
    label_header = rubric.phrase("label_header", lang, keys=label_keys)
    ET.SubElement(answer, "Header", value=label_header, size="6")
    choices = ET.SubElement(
        answer,
        "Choices",
        name=LABEL_CONTROL,
        toName=OBJECT_NAME,
        choice="single-radio",
        required="true",
        requiredMessage=rubric.phrase("label_required", lang, labels=rubric.label_list()),
    )
    for label in rubric.labels:
        ET.SubElement(
            choices,
            "Choice",
            value=label.code,
            hotkey=label.hotkey,
            hint=label.definition(lang, " / "),
            html=(
                f"<b>{html.escape(label.code)}</b> {html.escape(label.name(lang))}"
                f' <span class="dwa-def">— {html.escape(label.definition(lang, " / "))}</span>'
            ),
        )
    ET.SubElement(answer, "Header", value=rubric.phrase("score_header", lang), size="6")
    ET.SubElement(
        answer,
        "Number",
        name=SCORE_CONTROL,
        toName=OBJECT_NAME,
        min="0",
        max="1",
        step="0.05",
        slider="true",
        required="true",
        requiredMessage=rubric.phrase("score_required", lang),
    )
    if rubric.score_anchors:
        ET.SubElement(answer, "Header", value=anchors_text(rubric, lang), size="6")
    confidence_header = rubric.phrase("confidence_header", lang, keys=confidence_keys)
    ET.SubElement(answer, "Header", value=confidence_header, size="6")
    confidence = ET.SubElement(
        answer,
        "Choices",
        name=CONFIDENCE_CONTROL,
        toName=OBJECT_NAME,
        choice="single-radio",
        showInline="true",
        required="true",
        requiredMessage=rubric.phrase("confidence_required", lang),
    )
    for level in rubric.confidence:
        ET.SubElement(
            confidence,
            "Choice",
            value=level.code,
            hotkey=level.hotkey,
            html=html.escape(level.wording(lang)),
        )
    ET.SubElement(answer, "Header", value=rubric.phrase("comment_header", lang), size="6")
    ET.SubElement(
        answer,
        "TextArea",
        name=COMMENT_CONTROL,
        toName=OBJECT_NAME,
        rows="3",
        maxSubmissions="1",
        editable="true",
        placeholder=rubric.phrase("comment_placeholder", lang),
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
        "     Blind mode is the same without the 'dwa-models' view (no model output); --lang zh\n"
        "     and zh+en change the wording only (the manifest's [scale], annotations/wording/).\n"
        "-->\n"
    )
    return note + build_label_config("assisted")


def instructions_html(lang: ReviewLanguage = "en", rubric: ReviewRubric | None = None) -> str:
    """The project instructions (shown by Label Studio before labelling): the rubric."""
    check_language(lang)
    rubric = _rubric(rubric)
    items = "".join(
        f"<li><b>{html.escape(label.code)} ({html.escape(label.name(lang))})</b>: "
        f"{html.escape(label.definition(lang, ' / '))}</li>"
        for label in rubric.labels
    )
    confidence = " · ".join(
        f"{html.escape(c.hotkey)}: {html.escape(c.wording(lang))}" for c in rubric.confidence
    )
    keys = rubric.keys_of([c.hotkey for c in rubric.confidence])
    return (
        f"<p>{html.escape(rubric.question(lang, ' / '))}</p>"
        f"<ul>{items}</ul><p>{html.escape(rubric.score(lang, ' / '))}</p>"
        f"<p>{html.escape(rubric.phrase('confidence_header', lang, keys=keys))} {confidence}</p>"
        f"<p>{html.escape(rubric.phrase('use_stream', lang, ' / '))}</p>"
    )


def guidelines_version(rubric: ReviewRubric | None = None) -> str:
    """``review-<12 hex>``: what annotators read (the labels' texts and the wording file),
    recorded in every task so that a re-push updates tasks made under other guidelines."""
    return f"review-{_rubric(rubric).version}"


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
    """Everything a task needs about one DWA.

    ``occupations`` and ``tasks`` are the titles and task statements to list (at most
    ``MAX_LISTED`` are shown); ``n_occupations`` and ``n_tasks`` count all that are linked (None:
    the lists are complete). ``translation`` is a machine translation of the statement, with
    ``translation_source`` naming what produced it.
    """

    dwa_id: str
    statement: str
    iwa_title: str
    gwa_title: str
    occupations: tuple[str, ...]
    reason: str
    disagreement: str
    raters: tuple[RaterView, ...]
    tasks: tuple[str, ...] = field(default_factory=tuple)
    n_tasks: int | None = None
    n_occupations: int | None = None
    translation: str | None = None
    translation_source: str = ""


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


def _listed(
    values: Sequence[str],
    total: int | None,
    more_key: str,
    rubric: ReviewRubric,
    lang: ReviewLanguage,
) -> str:
    shown = list(values)[:MAX_LISTED]
    rest = max(len(values), total or 0) - len(shown)
    items = "".join(f"<li>{html.escape(v)}</li>" for v in shown)
    if rest > 0:
        more = html.escape(rubric.phrase(more_key, lang, n=rest))
        items += f'<li class="dwa-more">{more}</li>'
    return f"<ul>{items}</ul>"


def context_html(
    item: ReviewItem, lang: ReviewLanguage = "en", rubric: ReviewRubric | None = None
) -> str:
    """The activity's place in O*NET (GWA > IWA), linked task statements and occupations.

    At most ``MAX_LISTED`` task statements and occupations are listed, then "and N more".
    Every value is escaped.
    """
    rubric = _rubric(rubric)
    group = " › ".join(html.escape(t) for t in (item.gwa_title, item.iwa_title) if t)
    none = html.escape(rubric.phrase("none_listed", lang))
    parts = [f"<div><b>{html.escape(rubric.phrase('activity_group', lang))}:</b> {group}</div>"]
    if item.tasks or item.n_tasks:
        tasks = _listed(item.tasks, item.n_tasks, "more_tasks", rubric, lang)
        count = max(len(item.tasks), item.n_tasks or 0)
        heading = html.escape(rubric.phrase("linked_tasks", lang))
        parts.append(f"<div><b>{heading} ({count}):</b>{tasks}</div>")
    if item.occupations or item.n_occupations:
        occupations = _listed(
            item.occupations, item.n_occupations, "more_occupations", rubric, lang
        )
        count = max(len(item.occupations), item.n_occupations or 0)
        heading = html.escape(rubric.phrase("occupations", lang))
        parts.append(f"<div><b>{heading} ({count}):</b>{occupations}</div>")
    else:
        heading = html.escape(rubric.phrase("occupations", lang))
        parts.append(f"<div><b>{heading}:</b> {none}</div>")
    return f'<div class="dwa-context">{"".join(parts)}</div>'


def translation_html(
    item: ReviewItem, lang: ReviewLanguage = "en", rubric: ReviewRubric | None = None
) -> str:
    """The machine translation of the statement, marked as such (empty when there is none)."""
    if not item.translation:
        return ""
    rubric = _rubric(rubric)
    tag = rubric.phrase("machine_translation", lang)
    if item.translation_source:
        tag += f" ({item.translation_source})"
    return (
        f'<div class="dwa-mt"><span class="dwa-mt-tag">{html.escape(tag)}</span>'
        f"{html.escape(item.translation)}</div>"
    )


def build_task(
    item: ReviewItem,
    mode: ReviewMode,
    lang: ReviewLanguage = "en",
    rubric: ReviewRubric | None = None,
) -> dict[str, Any]:
    """The Label Studio task (``{"data": ...}``) for one item; never with predictions.

    ``data.guidelines`` records the rubric text's version (:func:`guidelines_version`) and
    ``data.lang`` the screen's language, so that a re-push can tell which tasks changed.
    """
    _check_mode(mode)
    check_language(lang)
    rubric = _rubric(rubric)
    data: dict[str, Any] = {
        "ext_id": external_id(item.dwa_id),
        "dwa_id": item.dwa_id,
        "statement": item.statement,
        "iwa_title": item.iwa_title,
        "gwa_title": item.gwa_title,
        "occupations": "; ".join(item.occupations),
        "n_occupations": max(len(item.occupations), item.n_occupations or 0),
        "tasks": list(item.tasks),
        "n_tasks": max(len(item.tasks), item.n_tasks or 0),
        "translation": item.translation or "",
        "translation_source": item.translation_source if item.translation else "",
        "translation_html": translation_html(item, lang, rubric),
        "context_html": context_html(item, lang, rubric),
        "review_mode": mode,
        "lang": lang,
        "guidelines": guidelines_version(rubric),
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
    linked: Mapping[str, LinkedContext] | None = None,
    translations: Mapping[str, Translation] | None = None,
) -> list[ReviewItem]:
    """Join the chosen items with their ratings and O*NET context, in selection order.

    ``selection`` needs item_id (a DWA ID) and may have reason and labels (see
    :mod:`dwa_rater.review.select`); ``dwas`` is ``OnetTables.dwas``; ``occupations`` maps a DWA
    ID to example occupation titles, ``linked`` to its linked task statements and occupations
    (which then replace ``occupations``), ``translations`` to a machine translation of its
    statement. A chosen id not in ``dwas`` is a ``DataError``.
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
        context = (linked or {}).get(dwa_id)
        translated = (translations or {}).get(dwa_id)
        items.append(
            ReviewItem(
                dwa_id=dwa_id,
                statement=str(entry["dwa_title"]),
                iwa_title=str(entry["iwa_title"]),
                gwa_title=str(entry["gwa_title"]),
                occupations=(
                    context.occupations if context else tuple(occupations.get(dwa_id, ()))
                ),
                reason=_text(row.get("reason")),
                disagreement=_text(row.get("labels")),
                raters=views,
                tasks=context.tasks if context else (),
                n_tasks=context.n_tasks if context else None,
                n_occupations=context.n_occupations if context else None,
                translation=translated.text if translated else None,
                translation_source=translated.source if translated else "",
            )
        )
    return items


def review_items_from_catalog(
    selection: pd.DataFrame,
    ratings: pd.DataFrame,
    tables: OnetTables,
    n_occupations: int = MAX_LISTED,
    translations: Mapping[str, Translation] | None = None,
) -> list[ReviewItem]:
    """:func:`review_items` with linked task statements and occupations from O*NET tables."""
    ids = selection["item_id"].astype(str).tolist()
    catalogue = set(tables.dwas["dwa_id"])
    known = [i for i in ids if i in catalogue]
    linked = linked_context(tables, known, limit=n_occupations)
    return review_items(selection, ratings, tables.dwas, {}, linked, translations)
