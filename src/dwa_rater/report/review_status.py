"""The HTML view of ``review status``: progress, lead times and live agreement of a review round.

Renders a :class:`dwa_rater.review.studio.status.ProjectStatus`; computes nothing itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dwa_rater.report.html import HtmlReport
from dwa_rater.review.live_agreement import LiveAgreement

if TYPE_CHECKING:  # the status module needs the Label Studio SDK; rendering does not
    from dwa_rater.review.studio.status import ProjectStatus


def _with_interval(value: Any, interval: Any) -> str:
    if value is None:
        return "undefined"
    text = f"{value:.3f}"
    if isinstance(interval, dict) and interval.get("low") is not None:
        text += f" [{interval['low']:.3f}, {interval['high']:.3f}]"
    return text


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def annotator_table(agreement: LiveAgreement) -> pd.DataFrame:
    """One row per annotator: counts, lead time and agreement with the others' consensus."""
    return pd.DataFrame(
        [
            {
                "annotator": a.rater,
                "submitted": a.submitted,
                "skipped": a.skipped,
                "unsure": a.unsure,
                "lead time median (s)": _seconds(a.lead_time_median_s),
                "lead time mean (s)": _seconds(a.lead_time_mean_s),
                "items with a consensus": a.n_consensus,
                "agreement with consensus": (
                    ""
                    if a.agreement_with_consensus is None
                    else f"{a.agreement_with_consensus:.0%}"
                ),
                "kappa with consensus": (
                    "undefined"
                    if a.kappa_with_consensus is None
                    else f"{a.kappa_with_consensus:.3f}"
                ),
                "flag": a.flag_reason if a.flagged else "",
            }
            for a in agreement.annotators
        ]
    )


def pair_table(agreement: LiveAgreement) -> pd.DataFrame:
    """One row per pair of annotators: items in common, agreement, kappa and alpha with CIs."""
    return pd.DataFrame(
        [
            {
                "annotator A": p["rater_a"],
                "annotator B": p["rater_b"],
                "items": p["n"],
                "agreement": ""
                if p["percent_agreement"] is None
                else f"{p['percent_agreement']:.0%}",
                "Cohen's kappa [95% CI]": _with_interval(p["cohen_kappa"], p["ci"]["cohen_kappa"]),
                "Krippendorff's alpha [95% CI]": _with_interval(
                    p["krippendorff_alpha_nominal"], p["ci"]["krippendorff_alpha_nominal"]
                ),
            }
            for p in agreement.pairs
        ]
    )


def render_status(status: ProjectStatus) -> HtmlReport:
    """The report of one ``review status`` call."""
    project = status.project
    report = HtmlReport(f"Review status: {project.title}")
    report.paragraph(
        f"Project id {project.id}, {project.mode} mode, screen language {project.lang}, "
        f"overlap {project.overlap}. Generated {status.generated_at}."
    )
    report.table(
        pd.DataFrame(
            [
                {
                    "tasks": status.tasks,
                    "annotated": status.annotated,
                    "done (reached the overlap)": status.done,
                    "remaining": status.remaining,
                }
            ]
        )
    )
    agreement = status.agreement
    if agreement is None:
        return report
    report.heading("Annotators")
    report.paragraph(
        "Lead time is Label Studio's time from opening a task to submitting it. The consensus "
        "an annotator is compared with is the label most of the other annotators of the item "
        "gave (ties left out). A flag marks agreement more than the margin below the median of "
        "the others."
    )
    if agreement.annotators:
        report.table(annotator_table(agreement))
    report.heading("Agreement between annotators")
    whole = agreement.overall
    if whole:
        report.paragraph(
            "All annotators: Krippendorff's alpha (nominal) "
            + _with_interval(
                whole.get("krippendorff_alpha_nominal"),
                whole["ci"].get("krippendorff_alpha_nominal"),
            )
            + ", ordinal "
            + _with_interval(
                whole.get("krippendorff_alpha_ordinal"),
                whole["ci"].get("krippendorff_alpha_ordinal"),
            )
            + f", on {whole.get('n_items_pairable')} items with two or more labels "
            "(95% percentile bootstrap over items)."
        )
    if agreement.pairs:
        report.table(pair_table(agreement))
    for note in (*status.notes, *agreement.notes):
        report.paragraph(note, css_class="note")
    return report


def write_status_html(status: ProjectStatus, path: Path) -> Path:
    """Write the status report as one self-contained HTML file (atomically)."""
    return render_status(status).write(path)
