"""The annotators' screen: a Label Studio labelling config generated from the rubric.

The rubric's labels, names and definitions come from its manifest's ``[scale]`` and the
screen's other wording from ``annotations/wording/`` (:mod:`dwa_rater.review.wording`), in the
language asked for (``en``, ``zh`` or ``zh+en``). Controls: the label (single radio, keys 1, 2,
3, ... in the rubric's answer order, each choice with its definition beside it), the 0-1 score as
a slider on a 0.05 grid with anchored wording under it, the annotator's confidence (sure/unsure,
keys s/n) and a free comment.

A task (:mod:`dwa_rater.review.tasks`) shows one DWA: its statement (always the O*NET English,
with a machine translation beside it, marked as such, when one is given), its IWA/GWA context,
the O*NET task statements linked to it through Tasks to DWAs (up to ten, then a count) and its
occupations (up to ten, then a count). In ``assisted`` mode it also shows every LLM rating of
the item (rater, model, label, score, rationale) as an HTML table whose every value is escaped;
in ``blind`` mode the task data holds no model output at all (and no predictions are ever
imported: Label Studio's quick view pre-fills the form from predictions even when collaborator
predictions are hidden).
"""

from __future__ import annotations

import hashlib
import html
import xml.etree.ElementTree as ET
from typing import Literal

from dwa_rater.errors import ConfigError
from dwa_rater.review.wording import (
    ReviewLanguage,
    ReviewRubric,
    check_language,
    review_rubric,
)
from dwa_rater.rubric import RubricScale

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


def check_mode(mode: str) -> None:
    """Raise ``ConfigError`` unless ``mode`` is one of ``REVIEW_MODES``."""
    if mode not in REVIEW_MODES:
        raise ConfigError(f"unknown review mode {mode!r} (use {' or '.join(REVIEW_MODES)})")


def rubric_or_default(rubric: ReviewRubric | None) -> ReviewRubric:
    """``rubric``, or the exposure rubric's screen when None."""
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
    check_mode(mode)
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
    rubric = rubric_or_default(rubric)
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
    return f"review-{rubric_or_default(rubric).version}"
