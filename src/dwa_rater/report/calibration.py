"""The calibration report: did combining and calibrating the raters bring them closer to humans?

One HTML file (``calibration.html``): what was done (method, raters, training items), the
k-fold evaluation table, a reliability diagram of the three probability methods, confusion
matrices against the human label before (majority vote) and after (latent class, calibrated),
the latent-class confusion matrix of every rater, the distribution of output scores by source,
and every warning.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dwa_rater.calibration.scale import is_default, or_default
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.calibration.combine import CalibrationResult
    from dwa_rater.calibration.evaluate import EvaluationResult

_METHOD_TITLES = {
    "majority": "raw majority vote",
    "latent_class": "latent class (Dawid-Skene)",
    "calibrated": "calibrated (logistic mapping)",
    "raw_score": "raw mean score",
    "isotonic_score": "isotonic-calibrated score",
}

_METHOD_TEXT = {
    "calibrated": "latent-class posteriors mapped to the human label by a fitted, "
    "cross-validated multinomial logistic regression",
    "latent_class": "Dawid-Skene latent-class posteriors (no calibration was fitted or used)",
    "single_rater_pass_through": "single rater passed through: its share of labels over "
    "samples, no latent-class model and no calibration",
    "human_only": "human labels only (no LLM rater)",
}


def write_calibration_report(result: CalibrationResult, out_dir: Path) -> Path:
    """Write ``out_dir/calibration.html`` and return its path."""
    report = HtmlReport("Calibrated activity scores")
    add_calibration_sections(report, result)
    return report.write(out_dir / "calibration.html")


def add_calibration_sections(report: HtmlReport, result: CalibrationResult) -> None:
    """Append the calibration sections (also used by the study's single report)."""
    configure_matplotlib()
    _overview(report, result)
    evaluation = result.evaluation
    if evaluation is not None:
        _evaluation_section(report, evaluation)
        report.figure(
            reliability_figure(evaluation),
            "Reliability of the top-class probability on the evaluation items (out of fold for "
            "the calibrated mapping), in equal-width bins (10, or 5 under 300 items). Points on "
            "the diagonal are well calibrated; marker area grows with the items in the bin.",
        )
        report.heading("Confusion matrices against the human label")
        report.paragraph(
            "Rows: human label; columns: most probable class of each method"
            + (" (summed item weights)." if evaluation.scheme == "weighted" else " (items).")
        )
        report.figure(confusion_figure(evaluation), "Before (majority vote) and after.")
        for method in evaluation.probabilities:
            report.heading(_METHOD_TITLES[method], level=3)
            report.table(evaluation.confusion(method).reset_index(), float_format="{:.1f}")
    else:
        report.heading("Evaluation")
        report.paragraph("No evaluation: no LLM-rated item has a human label.", "note")
    if result.latent is not None:
        _latent_section(report, result)
    report.figure(
        score_figure(result.scores, result.scale.default_coding),
        "Distribution of the output score by source.",
    )
    report.heading("Warnings and notes")
    lines = [*result.warnings, *result.notes, *(evaluation.notes if evaluation else [])]
    report.raw(_bullets(lines) if lines else "<p>None.</p>")


def _bullets(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def _overview(report: HtmlReport, result: CalibrationResult) -> None:
    report.heading("What was done")
    counts = result.source_counts()
    lines = [
        f"Method for items without a human label: {_METHOD_TEXT[result.method]}.",
        f"Human rater: {result.options.human}; LLM raters: {', '.join(result.raters) or 'none'}.",
        f"Items: {len(result.scores)} ({counts['human']} human, {counts['calibrated']} "
        f"calibrated, {counts['raw']} raw).",
    ]
    if result.training is not None:
        lines.append(f"Training and evaluation items: {result.training.description}.")
    if result.mapping is not None:
        lines.append(
            f"Logistic mapping fitted on {result.mapping.n_items} items, penalty C = "
            f"{result.mapping.c:g} (chosen by inner cross-validation)."
        )
    lines.append(
        f"ci_low/ci_high: {result.options.confidence:.0%} percentile interval of the score over "
        f"{result.options.bootstrap} bootstrap resamples of each item's ratings, model held fixed."
    )
    report.raw(_bullets(lines))
    if result.method == "single_rater_pass_through":
        report.paragraph(
            "Only one LLM rater: its labels were passed through without combination or "
            "calibration.",
            "note",
        )


def _coding_text(evaluation: EvaluationResult) -> str:
    """What the ``<coding>_mae`` columns compare, in words."""
    scale = or_default(evaluation.scale)
    if is_default(scale):
        return "beta_mae/beta_bias: predicted minus human beta code (E0 = 0, E2 = 0.5, E1 = 1)"
    name = scale.default_coding
    codes = ", ".join(f"{label} = {scale.coding()[label]:g}" for label in scale.order)
    return f"{name}_mae/{name}_bias: predicted minus human {name} code ({codes})"


def _evaluation_section(report: HtmlReport, evaluation: EvaluationResult) -> None:
    report.heading("Evaluation against the human labels")
    report.paragraph(
        f"Evaluation items: {evaluation.description}. The calibrated "
        "mapping is scored out of fold (stratified k-fold). Brier: multi-class, 0 best; ECE: "
        f"expected calibration error of the top class, 10 bins; {_coding_text(evaluation)}; "
        "occupation_*: the same after averaging within occupations."
    )
    table = evaluation.table.copy()
    table.insert(1, "description", table["method"].map(_METHOD_TITLES))
    report.table(table)


def reliability_figure(evaluation: EvaluationResult) -> Figure:
    """Top-class reliability diagram of every probability method."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.plot(
        [0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration"
    )
    # Fewer, wider bins when there are few items, so each point rests on enough of them.
    n_bins = 10 if len(evaluation.labels) >= 300 else 5
    for method in evaluation.probabilities:
        bins = evaluation.reliability(method, n_bins)
        if bins.empty:
            continue
        sizes = 15 + 200 * bins["n"] / max(1, int(bins["n"].sum()))
        axis.plot(bins["confidence"], bins["accuracy"], marker="o", label=_METHOD_TITLES[method])
        axis.scatter(bins["confidence"], bins["accuracy"], s=sizes, alpha=0.3)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("predicted probability of the top class (0-1)")
    axis.set_ylabel("share where the top class is the human label (0-1)")
    axis.set_title("Reliability diagram")
    axis.legend(loc="upper left", fontsize=8)
    return figure


def confusion_figure(evaluation: EvaluationResult) -> Figure:
    """Row-normalised confusion matrices (human x predicted), one panel per method."""
    import matplotlib.pyplot as plt

    methods = list(evaluation.probabilities)
    labels = or_default(evaluation.scale).labels
    figure, axes = plt.subplots(1, len(methods), figsize=(3.6 * len(methods), 3.4), squeeze=False)
    for axis, method in zip(axes[0], methods, strict=True):
        table = evaluation.confusion(method).to_numpy()
        totals = table.sum(axis=1, keepdims=True)
        shares = np.divide(table, totals, out=np.zeros_like(table), where=totals > 0)
        axis.imshow(shares, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(labels)):
            for j in range(len(labels)):
                axis.text(
                    j,
                    i,
                    f"{shares[i, j]:.2f}",
                    ha="center",
                    va="center",
                    color="white" if shares[i, j] > 0.6 else "black",
                    fontsize=9,
                )
        axis.set_xticks(range(len(labels)), labels)
        axis.set_yticks(range(len(labels)), labels)
        axis.set_xlabel("predicted class")
        axis.set_ylabel("human label")
        axis.set_title(_METHOD_TITLES[method], fontsize=9)
    figure.suptitle("Share of each human class predicted as each class")
    figure.tight_layout()
    return figure


def score_figure(scores: pd.DataFrame, coding: str = "beta") -> Figure:
    """Histogram of the 0-1 score (on ``coding``, the rubric's default), one series per
    source."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    bins = [i / 20 for i in range(21)]
    for source in ("human", "calibrated", "raw"):
        values = scores.loc[scores["source"] == source, "score"].dropna()
        if len(values):
            axis.hist(values, bins=bins, alpha=0.5, label=f"{source} ({len(values)})")
    axis.set_xlabel(f"score (0-1, {coding} scale)")
    axis.set_ylabel("items")
    axis.set_title("Output scores by source")
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=8)
    return figure


def _latent_section(report: HtmlReport, result: CalibrationResult) -> None:
    latent = result.latent
    assert latent is not None
    labels = result.scale.labels
    report.heading("Latent-class model")
    report.paragraph(
        f"Dawid-Skene EM from the soft majority vote: {latent.n_iterations} iterations, "
        f"{'converged' if latent.converged else 'not converged'}; class priors "
        + ", ".join(f"{label} {p:.3f}" for label, p in zip(labels, latent.priors, strict=True))
        + ". Each rater's estimated probability of giving a label (columns) when the true class "
        "is the row's."
    )
    records = []
    for r, rater in enumerate(result.raters):
        for k, true in enumerate(labels):
            records.append(
                {
                    "rater": rater,
                    "true class": true,
                    **{f"says {x}": latent.confusion[r, k, j] for j, x in enumerate(labels)},
                }
            )
    report.table(pd.DataFrame(records))
