"""The agreement report: tables and plots of an :class:`AgreementResult` in one HTML file.

Sections: raters and scale, overall agreement, pairwise table with a kappa heatmap, confusion
matrices, score scatter and Bland-Altman plots, self-consistency, the per-group breakdown with a
forest plot, and every warning. A second, smaller report shows a score-table comparison.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwa_rater.agreement.pairs import PAIR_LABEL_METRICS, PAIR_SCORE_METRICS
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.agreement.scores import ScoreComparison
    from dwa_rater.agreement.summary import AgreementResult

#: At most this many pairs get their own confusion-matrix and score plots.
MAX_PAIR_PLOTS = 12

_PAIR_COLUMNS = (
    "n",
    *PAIR_LABEL_METRICS,
    "n_scores",
    *(m for m in PAIR_SCORE_METRICS if m not in ("score_loa_low", "score_loa_high")),
)


def write_agreement_report(result: AgreementResult, out_dir: Path) -> Path:
    """Write ``out_dir/agreement.html`` and return its path."""
    report = HtmlReport("Agreement between raters")
    add_agreement_sections(report, result)
    return report.write(out_dir / "agreement.html")


def add_agreement_sections(report: HtmlReport, result: AgreementResult) -> None:
    """Append the agreement sections (also used by the study's single report)."""
    configure_matplotlib()
    summary = result.summary
    _scale_section(report, summary)
    _overall_section(report, summary)
    _pairs_section(report, summary)
    _score_plots_section(report, result)
    _consistency_section(report, summary)
    if summary.get("groups"):
        _groups_section(report, summary["groups"])
    report.heading("Warnings")
    if summary["warnings"]:
        report.raw(
            "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"]) + "</ul>"
        )
    else:
        report.paragraph("None: every statistic was defined.")


def _bullets(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def _statistics_table(values: dict[str, Any], keys: tuple[str, ...]) -> pd.DataFrame:
    cells = [_with_interval(values[k], values["ci"].get(k)) for k in keys]
    return pd.DataFrame({"statistic": list(keys), "value [95% CI]": cells})


def _with_interval(value: Any, interval: dict[str, Any] | None) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.3f}"
    if interval:
        text += f" [{interval['low']:.3f}, {interval['high']:.3f}]"
    return text


def _scale_section(report: HtmlReport, summary: dict[str, Any]) -> None:
    scale = summary["scale"]
    settings = summary["settings"]
    report.paragraph(
        f"Scale {' < '.join(scale['order'])}, {scale['coding']} coding "
        f"({', '.join(f'{k}={v:g}' for k, v in scale['codes'].items())}). "
        f"Samples collapsed per item by {settings['collapse']}; scores averaged over samples. "
        f"Intervals: {settings['confidence']:.0%} {settings['interval']}, "
        f"{settings['n_bootstrap']} resamples, seed {settings['seed']}."
    )
    report.heading("Raters")
    rows = []
    for entry in summary["rater_summary"]:
        row = {k: v for k, v in entry.items() if k != "label_counts"}
        row |= entry["label_counts"]
        rows.append(row)
    report.table(pd.DataFrame(rows))


def _overall_section(report: HtmlReport, summary: dict[str, Any]) -> None:
    overall = summary["overall"]
    report.heading("All raters together")
    keys = (
        "fleiss_kappa",
        "krippendorff_alpha_nominal",
        "krippendorff_alpha_ordinal",
        "krippendorff_alpha_interval",
        "icc2_1",
        "icc2_k",
    )
    report.table(_statistics_table(overall, keys))
    report.paragraph(
        f"{overall['n_items']} items, {overall['n_raters']} raters; Fleiss' kappa on the "
        f"{overall['n_items_complete']} items labelled by every rater; Krippendorff's alpha on "
        f"all {overall['n_items_pairable']} items labelled by two or more; ICC on the "
        f"{overall['n_items_scored_complete']} items scored by every scoring rater."
    )


def _pairs_section(report: HtmlReport, summary: dict[str, Any]) -> None:
    pairs = summary["pairs"]
    report.heading("Pairs of raters")
    if not pairs:
        report.paragraph("Only one rater selected: no pairs.")
        return
    rows = []
    for pair in pairs:
        row: dict[str, Any] = {"pair": f"{pair['rater_a']} vs {pair['rater_b']}"}
        for key in _PAIR_COLUMNS:
            row[key] = _with_interval(pair.get(key), pair["ci"].get(key))
        rows.append(row)
    report.table(pd.DataFrame(rows).set_index("pair").T.reset_index(names="statistic"))
    report.figure(_kappa_heatmap(summary), "Pairwise Cohen's kappa and quadratic weighted kappa.")
    report.heading("Confusion matrices", level=3)
    for pair in pairs[:MAX_PAIR_PLOTS]:
        report.figure(
            _confusion_figure(pair),
            f"{pair['rater_a']} (rows) vs {pair['rater_b']} (columns), counts of items.",
        )
    if len(pairs) > MAX_PAIR_PLOTS:
        report.paragraph(f"Plots shown for the first {MAX_PAIR_PLOTS} of {len(pairs)} pairs.")


def _kappa_heatmap(summary: dict[str, Any]) -> Figure:
    import matplotlib.pyplot as plt

    raters = summary["raters"]
    size = len(raters)
    fig, axes = plt.subplots(1, 2, figsize=(3.2 + 1.1 * size * 2, 1.5 + 0.9 * size))
    for ax, key, title in (
        (axes[0], "cohen_kappa", "Cohen's kappa"),
        (axes[1], "weighted_kappa_quadratic", "Quadratic weighted kappa"),
    ):
        grid = np.full((size, size), np.nan)
        np.fill_diagonal(grid, 1.0)
        for pair in summary["pairs"]:
            i, j = raters.index(pair["rater_a"]), raters.index(pair["rater_b"])
            if pair[key] is not None:
                grid[i, j] = grid[j, i] = pair[key]
        image = ax.imshow(grid, vmin=min(0.0, np.nanmin(grid)), vmax=1.0, cmap="viridis")
        for i in range(size):
            for j in range(size):
                text = "n/a" if np.isnan(grid[i, j]) else f"{grid[i, j]:.2f}"
                shade = "white" if not np.isnan(grid[i, j]) and grid[i, j] < 0.6 else "black"
                ax.text(j, i, text, ha="center", va="center", color=shade, fontsize=9)
        ax.set_xticks(range(size), raters, rotation=45, ha="right")
        ax.set_yticks(range(size), raters)
        ax.set_xlabel("rater")
        ax.set_ylabel("rater")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046, label="kappa (1 = perfect agreement)")
    fig.tight_layout()
    return fig


def _confusion_figure(pair: dict[str, Any]) -> Figure:
    import matplotlib.pyplot as plt

    confusion = pair["confusion"]
    labels = confusion["labels"]
    matrix = np.asarray(confusion["matrix"], dtype=float)
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * len(labels), 1.3 + 0.8 * len(labels)))
    image = ax.imshow(matrix, cmap="Blues")
    top = matrix.max() if matrix.size and matrix.max() > 0 else 1.0
    for i in range(len(labels)):
        for j in range(len(labels)):
            color = "white" if matrix[i, j] > 0.6 * top else "black"
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center", color=color)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(f"{pair['rater_b']} label")
    ax.set_ylabel(f"{pair['rater_a']} label")
    kappa = pair["cohen_kappa"]
    ax.set_title(f"n = {pair['n']}, kappa = {'n/a' if kappa is None else f'{kappa:.2f}'}")
    fig.colorbar(image, ax=ax, fraction=0.046, label="items")
    fig.tight_layout()
    return fig


def _score_plots_section(report: HtmlReport, result: AgreementResult) -> None:
    pairs = [p for p in result.summary["pairs"] if p["n_scores"] >= 2]
    if not pairs:
        return
    report.heading("Scores: scatter and Bland-Altman plots")
    for pair in pairs[:MAX_PAIR_PLOTS]:
        both = result.scores[[pair["rater_a"], pair["rater_b"]]].dropna()
        report.figure(
            agreement_plots(
                both.iloc[:, 0].to_numpy(),
                both.iloc[:, 1].to_numpy(),
                pair["rater_a"],
                pair["rater_b"],
                "score (0-1)",
            ),
            f"{pair['rater_a']} vs {pair['rater_b']}: item scores (mean over samples). Right: "
            "difference against mean, with mean difference and 95% limits of agreement.",
        )


def agreement_plots(x: np.ndarray, y: np.ndarray, name_x: str, name_y: str, unit: str) -> Figure:
    """Scatter with the identity line, and a Bland-Altman plot of the same paired values."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    alpha = 0.6 if len(x) < 500 else 0.25
    left.scatter(x, y, s=12, alpha=alpha)
    low = float(min(x.min(), y.min()))
    high = float(max(x.max(), y.max()))
    left.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1, label="y = x")
    left.set_xlabel(f"{name_x}: {unit}")
    left.set_ylabel(f"{name_y}: {unit}")
    left.set_title(f"{name_y} against {name_x} (n = {len(x)})")
    left.legend(loc="upper left")
    mean = (x + y) / 2
    difference = x - y
    bias = float(difference.mean())
    spread = float(difference.std(ddof=1)) if len(x) > 1 else 0.0
    right.scatter(mean, difference, s=12, alpha=alpha)
    right.axhline(bias, color="black", linewidth=1, label=f"mean difference {bias:.3f}")
    for bound in (bias - 1.96 * spread, bias + 1.96 * spread):
        right.axhline(bound, color="firebrick", linestyle="--", linewidth=1)
    right.plot([], [], color="firebrick", linestyle="--", label="95% limits of agreement")
    right.set_xlabel(f"mean of the two: {unit}")
    right.set_ylabel(f"{name_x} minus {name_y}: {unit}")
    right.set_title("Bland-Altman")
    right.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _consistency_section(report: HtmlReport, summary: dict[str, Any]) -> None:
    entries = summary["self_consistency"]
    report.heading("Self-consistency over repeated samples")
    if not entries:
        report.paragraph("No rater has more than one sample per item.")
        return
    report.table(pd.DataFrame([{k: v for k, v in e.items() if k != "notes"} for e in entries]))
    report.paragraph(
        "unanimous_share: share of items whose samples all carry the same label; "
        "mean_modal_share: mean share of the most frequent label; mean_entropy_bits: mean label "
        "entropy per item (0 = always the same label); alpha: samples treated as coders."
    )


def _groups_section(report: HtmlReport, groups: dict[str, Any]) -> None:
    column = groups["column"]
    report.heading(f"Breakdown by {column}")
    rows = []
    for entry in groups["results"]:
        overall = entry["overall"]
        row: dict[str, Any] = {
            column: entry["group"],
            "n_items": entry["n_items"],
            "fleiss_kappa": overall["fleiss_kappa"],
            "krippendorff_alpha_ordinal": overall["krippendorff_alpha_ordinal"],
            "icc2_1": overall["icc2_1"],
        }
        for pair in entry["pairs"]:
            row[f"kappa {pair['rater_a']} vs {pair['rater_b']}"] = pair["cohen_kappa"]
        rows.append(row)
    table = pd.DataFrame(rows)
    for name in table.columns[2:]:
        table[name] = pd.to_numeric(table[name], errors="coerce").astype(float)
    report.table(table)
    if groups["n_items_without_group"]:
        report.paragraph(f"{groups['n_items_without_group']} items have no {column} value.")
    figure = _forest_plot(groups)
    if figure is not None:
        report.figure(figure, f"Krippendorff's alpha (ordinal) of all raters within each {column}.")


def _forest_plot(groups: dict[str, Any]) -> Figure | None:
    import matplotlib.pyplot as plt

    entries = [
        e for e in groups["results"] if e["overall"]["krippendorff_alpha_ordinal"] is not None
    ]
    if not entries:
        return None
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.3 * len(entries)))
    for row, entry in enumerate(entries):
        value = entry["overall"]["krippendorff_alpha_ordinal"]
        interval = entry["overall"]["ci"].get("krippendorff_alpha_ordinal")
        if interval:
            ax.plot([interval["low"], interval["high"]], [row, row], color="grey")
        ax.plot(value, row, "o", color="navy")
    labels = [f"{str(e['group'])[:50]} (n={e['n_items']})" for e in entries]
    ax.set_yticks(range(len(entries)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("Krippendorff's alpha, ordinal (95% bootstrap interval)")
    ax.set_title(f"Agreement by {groups['column']}")
    fig.tight_layout()
    return fig


def write_score_comparison_report(comparison: ScoreComparison, out_dir: Path) -> Path:
    """Write ``out_dir/score_agreement.html``: statistics, scatter and Bland-Altman plot."""
    configure_matplotlib()
    summary = comparison.summary
    name_a = f"{summary['a']['name']} [{summary['a']['column']}]"
    name_b = f"{summary['b']['name']} [{summary['b']['column']}]"
    report = HtmlReport("Agreement between two score tables")
    report.paragraph(f"A = {name_a}; B = {name_b}; matched on {', '.join(summary['key'])}.")
    keys = ("n", "pearson", "spearman", "kendall", "mean_difference", "loa_low", "loa_high")
    report.table(_statistics_table(summary, keys))
    if summary["n"] >= 2:
        report.figure(
            agreement_plots(
                comparison.matched["a"].to_numpy(),
                comparison.matched["b"].to_numpy(),
                "A",
                "B",
                "value",
            ),
            "Left: B against A. Right: A minus B against their mean (Bland-Altman).",
        )
    if summary["notes"]:
        report.heading("Notes")
        report.raw(
            "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"]) + "</ul>"
        )
    return report.write(out_dir / "score_agreement.html")
