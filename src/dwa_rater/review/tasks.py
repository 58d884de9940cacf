"""Review tasks: the items chosen for review, joined with their ratings and O*NET context, and
the Label Studio task payload of each (``{"data": ...}``, never with predictions).

A task's data holds the statement (O*NET's English), its machine translation when one is given
(marked as such), the IWA/GWA context, the linked task statements and occupations (escaped HTML
rendered in the screen's language), the review mode, language and guidelines version; in
``assisted`` mode also every LLM rating of the item as an escaped HTML table. The labelling config
that shows these keys is built by :mod:`dwa_rater.review.labeling`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import DataError
from dwa_rater.review.context import MAX_LISTED, LinkedContext, Translation, linked_context
from dwa_rater.review.labeling import (
    ReviewMode,
    check_mode,
    guidelines_version,
    rubric_or_default,
)
from dwa_rater.review.wording import ReviewLanguage, ReviewRubric, check_language
from dwa_rater.store import ok_ratings


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
    rubric = rubric_or_default(rubric)
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
    rubric = rubric_or_default(rubric)
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
    check_mode(mode)
    check_language(lang)
    rubric = rubric_or_default(rubric)
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
