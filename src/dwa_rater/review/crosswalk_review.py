"""Reviewing a proposed occupation crosswalk: the annotator's screen, the tasks, the decisions.

``dwa-rater crosswalk build`` proposes, for each Chinese occupation category, its ``top_k``
most similar O*NET occupations (``rank`` 1..k, with similarity and weight). A reviewer sees one
task per category: its name, the numbered candidates (code, title, the start of the O*NET
description, similarity, proposed weight) and ticks every candidate that matches (keys 1-9),
or ``none``, and may type other O*NET-SOC codes. Pure functions, no server:

- :func:`crosswalk_label_config`: the labelling config for candidates 1..``top_k``;
- :func:`crosswalk_tasks`: task payloads (``data.ext_id`` = ``crosswalk:<category>``);
- :func:`crosswalk_decisions`: one row per annotation from a Label Studio JSON export;
- :func:`overrides_from_decisions`: the overrides table that ``crosswalk build --overrides``
  reads (``category, onetsoc_code, weight``): a candidate is kept when at least half of the
  category's annotators ticked it (a ground-truth annotation, set by an adjudicator, decides
  alone); the kept ones share the weight equally; "none" by that majority gives one row with
  weight 0 ("no O*NET occupation matches").
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dwa_rater.errors import DataError

#: The task's ext_id prefix; the rest is the category code.
EXT_PREFIX = "crosswalk:"
#: The choice that says no candidate matches.
NONE_CHOICE = "none"
#: Columns of :func:`crosswalk_decisions`.
DECISION_COLUMNS: tuple[str, ...] = (
    "category",
    "category_name",
    "annotation_id",
    "annotator",
    "ground_truth",
    "chosen",
    "other_codes",
    "updated_at",
)
#: Columns of :func:`overrides_from_decisions` (the first three are what ``build`` reads).
OVERRIDE_COLUMNS: tuple[str, ...] = (
    "category",
    "onetsoc_code",
    "weight",
    "votes",
    "n_annotators",
    "decided_by",
)
#: The question above the choices (English and Chinese).
QUESTION = "Which O*NET occupations match this category? 哪些 O*NET 职业与该类别相符？"
_CODE = re.compile(r"^\d{2}-\d{4}\.\d{2}$")
_MAX_CANDIDATES = 9


def crosswalk_label_config(top_k: int) -> str:
    """The labelling config: candidates 1..top_k (hotkeys), "none" (key 0), other codes."""
    if not 1 <= top_k <= _MAX_CANDIDATES:
        raise DataError(f"a crosswalk review shows 1 to {_MAX_CANDIDATES} candidates, not {top_k}")
    choices = "\n".join(f'    <Choice value="{n}" hotkey="{n}"/>' for n in range(1, top_k + 1))
    return f"""<View>
  <Header value="$category_name"/>
  <Text name="category" value="$category_text"/>
  <HyperText name="candidates" value="$candidates_html"/>
  <Header value="{QUESTION}" size="5"/>
  <Choices name="match" toName="category" choice="multiple" required="true"
      requiredMessage="Tick the matching candidates, or none">
{choices}
    <Choice value="{NONE_CHOICE}" hotkey="0"/>
  </Choices>
  <TextArea name="other" toName="category" maxSubmissions="1" editable="true"
      placeholder="Other O*NET-SOC codes that match, comma-separated (e.g. 13-2011.00)"/>
</View>"""


def _candidate_html(row: Mapping[str, Any], descriptions: Mapping[str, str]) -> str:
    code = str(row["onetsoc_code"])
    description = descriptions.get(code, "")
    if len(description) > 240:
        description = description[:239] + "…"
    return (
        f"<li><b>{int(row['rank'])}.</b> <code>{html.escape(code)}</code> "
        f"{html.escape(str(row['onet_title']))} "
        f"<small>(similarity {float(row['similarity']):.3f}, "
        f"proposed weight {float(row['weight']):.2f})</small>"
        + (f"<br/><small>{html.escape(description)}</small>" if description else "")
        + "</li>"
    )


def crosswalk_tasks(
    crosswalk: pd.DataFrame, descriptions: Mapping[str, str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Task payloads, one per category, and the number of candidates the config must show.

    ``crosswalk`` is a table from ``crosswalk build`` (``category, category_name, rank,
    onetsoc_code, onet_title, similarity, weight``); rows decided by an override are left out
    (a reviewer already decided them). ``descriptions`` maps O*NET-SOC codes to descriptions.
    """
    needed = ("category", "category_name", "rank", "onetsoc_code", "onet_title", "similarity")
    missing = [c for c in (*needed, "weight") if c not in crosswalk.columns]
    if missing:
        raise DataError(f"the crosswalk lacks column(s) {', '.join(missing)}")
    proposed = crosswalk
    if "method" in crosswalk.columns:
        proposed = crosswalk[crosswalk["method"].astype(str) != "override"]
    if proposed.empty:
        raise DataError("the crosswalk has no proposed rows to review (all are overrides)")
    descriptions = descriptions or {}
    tasks: list[dict[str, Any]] = []
    top_k = int(pd.to_numeric(proposed["rank"]).max())
    if top_k > _MAX_CANDIDATES:
        proposed = proposed[pd.to_numeric(proposed["rank"]) <= _MAX_CANDIDATES]
        top_k = _MAX_CANDIDATES
    for category, group in proposed.groupby("category"):
        group = group.sort_values("rank")
        name = str(group["category_name"].iloc[0])
        items = "".join(_candidate_html(row, descriptions) for _, row in group.iterrows())
        tasks.append(
            {
                "data": {
                    "ext_id": f"{EXT_PREFIX}{category}",
                    "category": str(category),
                    "category_name": name,
                    "category_text": f"{name} ({category})",
                    "candidates_html": f"<ol style='list-style:none;padding:0'>{items}</ol>",
                    "codes": [str(c) for c in group["onetsoc_code"]],
                }
            }
        )
    return tasks, top_k


def _result_values(result: Sequence[Mapping[str, Any]], name: str, kind: str) -> list[str]:
    for region in result:
        if region.get("from_name") == name:
            value = region.get("value", {}).get(kind, [])
            return [str(v) for v in value]
    return []


def crosswalk_decisions(
    exported: Sequence[Mapping[str, Any]], pseudonyms: Mapping[str, str]
) -> pd.DataFrame:
    """One row per (non-cancelled) annotation of an exported crosswalk review project.

    ``chosen`` holds the ticked O*NET-SOC codes (``;``-joined; empty for "none"),
    ``other_codes`` the typed ones; ``annotator`` is the keyed pseudonym of the Label Studio
    user id (``pseudonyms``), never an e-mail. DataError for a typed code that is not of the
    form ``NN-NNNN.NN`` or a ticked number without a candidate.
    """
    rows: list[dict[str, Any]] = []
    for task in exported:
        data = task.get("data", {})
        codes = [str(c) for c in data.get("codes", [])]
        category = str(data.get("category", ""))
        for annotation in task.get("annotations", []):
            if annotation.get("was_cancelled"):
                continue
            result = annotation.get("result", [])
            ticked = _result_values(result, "match", "choices")
            chosen: list[str] = []
            for value in ticked:
                if value == NONE_CHOICE:
                    continue
                position = int(value) - 1
                if not 0 <= position < len(codes):
                    raise DataError(
                        f"category {category}: annotation {annotation.get('id')} ticks candidate "
                        f"{value}, but the task has {len(codes)}"
                    )
                chosen.append(codes[position])
            typed = " ".join(_result_values(result, "other", "text"))
            other = [c for c in re.split(r"[\s,;，；]+", typed) if c]
            bad = [c for c in other if not _CODE.match(c)]
            if bad:
                raise DataError(
                    f"category {category}: annotation {annotation.get('id')} types {bad[0]!r}, "
                    "not an O*NET-SOC code like 13-2011.00"
                )
            user = annotation.get("completed_by")
            user_id = str(user.get("id") if isinstance(user, Mapping) else user)
            rows.append(
                {
                    "category": category,
                    "category_name": str(data.get("category_name", "")),
                    "annotation_id": int(annotation.get("id", 0)),
                    "annotator": pseudonyms.get(user_id, f"unknown-{user_id}"),
                    "ground_truth": bool(annotation.get("ground_truth", False)),
                    "chosen": ";".join(chosen),
                    "other_codes": ";".join(other),
                    "updated_at": str(annotation.get("updated_at") or ""),
                }
            )
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def overrides_from_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """The reviewers' overrides: per category, the codes ticked or typed by at least half of its
    annotators (or by its ground-truth annotation alone), equal weights summing to 1; weight 0
    on an empty code when that majority found no match. A category whose annotators reach no
    majority either way is left out (it stays proposed) — see ``crosswalk review pull``'s
    message."""
    out: list[dict[str, Any]] = []
    for category, group in decisions.groupby("category", sort=False):
        truth = group[group["ground_truth"]]
        deciders = truth.tail(1) if not truth.empty else group
        n = len(deciders)
        votes: dict[str, int] = {}
        nothing = 0
        for _, row in deciders.iterrows():
            codes = [c for c in f"{row['chosen']};{row['other_codes']}".split(";") if c]
            if not codes:
                nothing += 1
            for code in dict.fromkeys(codes):
                votes[code] = votes.get(code, 0) + 1
        kept = {code: v for code, v in votes.items() if 2 * v >= n}
        source = "ground_truth" if not truth.empty else "majority"
        if kept:
            for code, v in kept.items():
                out.append(
                    {
                        "category": category,
                        "onetsoc_code": code,
                        "weight": 1.0 / len(kept),
                        "votes": v,
                        "n_annotators": n,
                        "decided_by": source,
                    }
                )
        elif 2 * nothing >= n:
            out.append(
                {
                    "category": category,
                    "onetsoc_code": "",
                    "weight": 0.0,
                    "votes": nothing,
                    "n_annotators": n,
                    "decided_by": source,
                }
            )
    return pd.DataFrame(out, columns=list(OVERRIDE_COLUMNS))
