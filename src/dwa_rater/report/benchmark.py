"""The benchmark report: how close each rater comes to the human labels, at what cost.

One HTML file (``report.html``): the leaderboard, Cohen's kappa of every rater with its 95%
bootstrap interval, each rater's confusion matrix against the human label, occupation mean beta
against the humans' (occupations with at least 5 sampled tasks), and how to read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dwa_rater.benchmark.metrics import BETA, LABELS, modal_labels
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.benchmark.run import BenchmarkResult

_READING = (
    "kappa is Cohen's kappa against the human label on the same items (0 = chance, 1 = "
    "perfect); kappa_binary asks only exposed (E1 or E2) or not; weighted_kappa gives partial "
    "credit along E0 < E2 < E1. occupation_beta_r correlates occupation means of the beta code "
    "(E1 = 1, E2 = 0.5, E0 = 0; Core tasks weight 2) with the humans'. Intervals are 95% "
    "bootstrap intervals over items: two raters whose intervals overlap widely are not shown "
    "apart by this sample. 'published' rows are labels shipped with the reference (e.g. GPT-4 "
    "in Eloundou et al. 2024), scored on the same items. Seconds per 1,000 items include the "
    "model's start-up and cache replays (see cached_share)."
)


def _kappa_figure(board: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    frame = board.dropna(subset=["kappa"]).iloc[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.5 * len(frame) + 1.2))
    y = np.arange(len(frame))
    low = (frame["kappa"] - frame["kappa_low"].astype(float)).clip(lower=0).fillna(0)
    high = (frame["kappa_high"].astype(float) - frame["kappa"]).clip(lower=0).fillna(0)
    axes.barh(y, frame["kappa"], xerr=[low, high], color="#5570a0", capsize=3)
    axes.set_yticks(y, frame["rater"])
    axes.axvline(0, color="#999", lw=0.8)
    axes.set_xlabel("Cohen's kappa with the human label (95% bootstrap interval)")
    figure.tight_layout()
    return figure


def _confusion_figure(truth: pd.Series, labels: dict[str, pd.Series]) -> Figure:
    import matplotlib.pyplot as plt

    n = len(labels)
    figure, axes = plt.subplots(1, n, figsize=(3.1 * n, 3.0), squeeze=False)
    for axis, (name, predicted) in zip(axes[0], labels.items(), strict=True):
        common = truth.index.intersection(predicted.index)
        table = pd.crosstab(
            pd.Categorical(truth[common], LABELS), pd.Categorical(predicted[common], LABELS),
            dropna=False,
        )  # fmt: skip
        axis.imshow(table.to_numpy(), cmap="Blues")
        for (i, j), value in np.ndenumerate(table.to_numpy()):
            axis.text(j, i, str(value), ha="center", va="center", fontsize=8)
        axis.set_xticks(range(3), LABELS)
        axis.set_yticks(range(3), LABELS)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("rater")
        axis.set_ylabel("human")
    figure.tight_layout()
    return figure


def _occupation_figure(
    sample: pd.DataFrame, labels: dict[str, pd.Series], min_tasks: int = 5
) -> Figure | None:
    import matplotlib.pyplot as plt

    frame = sample.set_index("item_id")
    sizes = frame["onetsoc_code"].value_counts()
    kept = frame[frame["onetsoc_code"].isin(sizes[sizes >= min_tasks].index)]
    if kept["onetsoc_code"].nunique() < 3:
        return None
    weight = np.where(kept["core"].astype(bool), 2.0, 1.0)
    human = (kept["label"].map(BETA).astype(float) * weight).groupby(kept["onetsoc_code"]).sum()
    total = pd.Series(weight, index=kept.index).groupby(kept["onetsoc_code"]).sum()
    figure, axis = plt.subplots(figsize=(5.5, 5))
    for name, predicted in labels.items():
        values = predicted.reindex(kept.index).map(BETA).astype(float) * weight
        rater = values.groupby(kept["onetsoc_code"]).sum() / total
        axis.scatter(human / total, rater, s=14, alpha=0.7, label=name)
    axis.plot([0, 1], [0, 1], color="#999", lw=0.8)
    axis.set_xlabel("human occupation mean beta")
    axis.set_ylabel("rater occupation mean beta")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def write_benchmark_report(result: BenchmarkResult, path: Path) -> Path:
    """Render ``report.html`` for a benchmark run."""
    configure_matplotlib()
    report = HtmlReport("Benchmark against human labels")
    n = len(result.sample)
    report.paragraph(
        f"{n} items sampled from the reference (rater {result.reference_rater}, SHA-256 "
        f"{result.reference_sha256[:12]}…), stratified by O*NET-SOC major group and human label."
    )
    report.heading("Leaderboard")
    report.table(result.leaderboard)
    report.paragraph(_READING, css_class="note")
    report.figure(_kappa_figure(result.leaderboard), "agreement with the human label")
    truth = result.sample.set_index("item_id")["label"]
    labels = {
        name: modal_labels(result.ratings[result.ratings["rater"] == name])
        for name in result.leaderboard["rater"]
        if name in set(result.ratings["rater"])
    }
    if labels:
        report.heading("Confusion with the human label")
        report.figure(_confusion_figure(truth, labels), "rows: human label; columns: rater")
        occupation = _occupation_figure(result.sample, labels)
        if occupation is not None:
            report.heading("Occupations")
            report.figure(occupation, "occupations with at least 5 sampled tasks")
    for note in result.notes:
        report.paragraph(note, css_class="note")
    return report.write(path)
