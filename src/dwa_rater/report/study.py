"""The study's single HTML report: provenance, ratings, agreement, review, calibration, indices.

One self-contained file (plots inlined) with a section per step; each section has an anchor id
listed in :data:`SECTIONS` so that tests and readers can find it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwa_rater.errors import present
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib
from dwa_rater.store import read_ratings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.study.artifacts import StudyArtifacts
    from dwa_rater.study.config import StudyConfig
    from dwa_rater.study.pipeline import StudyInputs, StudyPaths, StudyResult

#: Section anchors, in order, with their titles.
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "evidence": "What rests on human labels, what on an LLM",
    "provenance": "Provenance",
    "labels": "Ratings per rater",
    "agreement": "Agreement between raters",
    "contested": "Contested activities and the audit sample",
    "calibration": "Calibrated activity scores",
    "activities": "Most and least exposed activities",
    "onet": "O*NET occupations",
    "postings": "Postings and occupation index by year",
    "cities": "City LLM-exposure index",
    "ai-development": "City AI development index",
    "rank-comparison": "City ranks: LLM exposure against AI development",
    "remote-work": "Remote work and LLM exposure",
    "limits": "Limits of this run",
}

_EMBEDDED_NOTE = (
    "The embedded model (SmolLM2-135M-Instruct, 4-bit, via llama.cpp) is a smoke-test rater: "
    "models of this size agree with human labels at chance level (Cohen's kappa about 0 to 0.17 "
    "on human-labelled tasks, against about 0.7 for GPT-4). Its numbers show that the pipeline "
    "works, not how exposed any activity is. Point the tool at a real endpoint for research."
)


_RUBRIC_NOTE = (
    "The 2024 PKU NSD / Zhaopin report scores the degree to which an LLM affects each DWA "
    "(「为2087个…DWA被大语言模型人工智能所影响的程度进行评分」) but publishes no rubric, scale, "
    "model or prompt. This run's rubrics are listed below (name@version and prompt SHA-256): "
    "'exposure' is Eloundou et al.'s (2023) E0/E1/E2 rubric, 'ilo' follows Gmyrek, Berg and "
    "Bescond (2023), 'impact' renders the report's question on an anchored 0-1 scale in this "
    "tool's wording. None is the report's own, and levels are not comparable across rubrics."
)
_SYNTHETIC_NOTE = (
    "Synthetic data: the postings in this section are generated from O*NET task statements "
    "(dwa-rater postings synth), not observed job postings. {trends} Nothing here describes "
    "China's labour market."
)

#: Sections computed from postings (labelled when the postings are synthetic).
_POSTING_SECTIONS = ("postings", "cities", "remote-work", "rank-comparison")


def _section(report: HtmlReport, anchor: str, result: StudyResult | None = None) -> None:
    report.raw(f'<section id="{anchor}">')
    report.heading(SECTIONS[anchor], anchor=f"{anchor}-title")
    if result is not None and anchor in _POSTING_SECTIONS:
        record = result.steps.get("postings", {})
        if record.get("synthetic"):
            trends = (
                "The report's findings were built in (synthetic_report_trends = true), so any "
                "trend shown here is there by construction."
                if "report trends built in" in str(record.get("source", ""))
                else "They have no built-in trend between years."
            )
            report.paragraph(_SYNTHETIC_NOTE.format(trends=trends), css_class="note")


def _missing(report: HtmlReport, result: StudyResult, step: str) -> bool:
    """Say so and return True when a step produced nothing to show."""
    record = result.steps.get(step, {})
    if record.get("status") == "done":
        return False
    reason = record.get("reason", "the step did not run")
    report.paragraph(f"Not available: {reason}", css_class="note")
    return True


def _end(report: HtmlReport) -> None:
    report.raw("</section>")


def _bar_labels(ratings: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    ok = ratings[(ratings["status"] == "ok") & ratings["label"].notna()]
    table = ok.groupby(["rater", "label"]).size().unstack(fill_value=0)
    table = table.reindex(columns=[c for c in ("E0", "E2", "E1") if c in table.columns])
    shares = table.div(table.sum(axis=1), axis=0) * 100
    figure, ax = plt.subplots(figsize=(7, 0.6 * max(2, len(shares)) + 1.2))
    left = np.zeros(len(shares))
    colours = {"E0": "#7a9cc6", "E2": "#f2b134", "E1": "#d9534f"}
    for label in shares.columns:
        ax.barh(shares.index, shares[label], left=left, color=colours[label], label=label)
        left += shares[label].to_numpy()
    ax.set_xlabel("share of ratings (%)")
    ax.set_ylabel("rater")
    ax.set_title("Label distribution per rater (all samples)")
    ax.legend(title="label", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def _score_histograms(ratings: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    ok = ratings[(ratings["status"] == "ok") & ratings["score"].notna()]
    figure, ax = plt.subplots(figsize=(7, 3.6))
    bins = [i / 20 for i in range(21)]
    for rater, group in ok.groupby("rater"):
        ax.hist(
            group["score"].astype(float), bins=bins, histtype="step", linewidth=1.6, label=rater
        )
    ax.set_xlabel("exposure score (0-1)")
    ax.set_ylabel("ratings (count)")
    ax.set_title("Distribution of the 0-1 exposure score per rater")
    ax.legend(fontsize=8)
    return figure


def _summary(report: HtmlReport, ratings: pd.DataFrame, result: StudyResult) -> None:
    """Key figures first, so a reader knows what the rest is about."""
    _section(report, "summary")
    ok = ratings[ratings["status"] == "ok"]
    lines = [
        f"{ok['item_id'].nunique()} activities rated by {ok['rater'].nunique()} raters "
        f"({len(ok)} ratings; models: {', '.join(sorted(ok['model'].dropna().unique()))}).",
    ]
    agreement = result.artifacts.agreement
    if agreement is not None:
        overall = agreement.summary.get("overall", {})
        alpha = overall.get("krippendorff_alpha_ordinal")
        if alpha is not None:
            lines.append(f"Agreement of all raters: Krippendorff's alpha (ordinal) {alpha:.2f}.")
    calibration = result.artifacts.calibration
    if calibration is not None:
        sources = calibration.source_counts()
        lines.append(
            f"Activity scores: {calibration.method.replace('_', ' ')}; "
            f"{sources['human']} human-labelled, {sources['calibrated']} calibrated, "
            f"{sources['raw']} uncalibrated."
        )
    labour = result.artifacts.labour
    if labour is not None:
        latest = labour.occupation_index[labour.occupation_index["year"] == labour.to_year]
        if len(latest):
            top = latest.sort_values("index", ascending=False).iloc[0]
            lines.append(
                f"Most exposed occupation category in {labour.to_year}: "
                f"{top['occupation_category']} (index {top['index']:.2f})."
            )
    reference = result.steps.get("reference", {})
    if reference.get("rater"):
        lines.append(
            f"Reference rater {reference['rater']}: votes of human labels, "
            f"{reference.get('human_sample', '')}."
        )
    elif reference.get("reason"):
        lines.append(f"Reference rater skipped: {reference['reason']}.")
    review = result.steps.get("review", {})
    if "selected" in review:
        lines.append(f"{review['selected']} activities selected for human review.")
    report.raw("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
    if (ratings["endpoint"] == "embedded").any():
        report.paragraph(_EMBEDDED_NOTE, css_class="note")
    _end(report)


def _provenance(report: HtmlReport, paths: StudyPaths, result: StudyResult) -> None:
    _section(report, "provenance")
    manifests = sorted((paths.ratings.parent / "runs").glob("*.json"))
    rows = []
    for path in manifests:
        document = json.loads(path.read_text(encoding="utf-8"))
        for rater in document.get("raters", []):
            rows.append(
                {
                    "run": document.get("run_id"),
                    "status": document.get("status"),
                    "rater": rater.get("name"),
                    "model": rater.get("resolved_model"),
                    "endpoint": rater.get("endpoint"),
                    "rubric": f"{rater.get('prompt_name')}@{rater.get('prompt_version')}",
                    "prompt sha256": str(rater.get("prompt_sha256", ""))[:12],
                    "temperature": rater.get("temperature"),
                    "samples": rater.get("samples"),
                    "items": document.get("n_items"),
                    "tokens": sum((document.get("tokens") or {}).values()),
                    "cost $": document.get("estimated_cost_usd"),
                }
            )
    report.paragraph(_RUBRIC_NOTE, css_class="note")
    if rows:
        report.paragraph("Rating runs that wrote into this study (one row per run and rater):")
        report.table(pd.DataFrame(rows).tail(30), float_format="{:.4f}")
    steps = pd.DataFrame(
        [
            {
                "step": name,
                "status": step.get("status"),
                "seconds": step.get("seconds"),
                "note": step.get("reason", ""),
            }
            for name, step in result.steps.items()
            if name != "report"
        ]
    )
    report.paragraph("Steps of this run of the study:")
    report.table(steps, float_format="{:.1f}")
    _end(report)


def _estimate_note(report: HtmlReport, record: dict[str, Any], measure: str) -> None:
    """The mean exposure with its interval and the human sample it rests on (issue 15)."""
    if record.get("status") != "done" or record.get("estimate") is None:
        return
    low, high = record["ci"]
    report.paragraph(
        f"Mean {measure} over the rated DWAs: {record['estimate']:.3f} (95% interval "
        f"{low:.3f}-{high:.3f}, {record['method']}), resting on {record['human_sample']}. "
        f"{record.get('warning', '')}"
    )


def _labels(report: HtmlReport, ratings: pd.DataFrame) -> None:
    _section(report, "labels")
    summary = (
        ratings.groupby("rater")
        .agg(
            model=("model", "first"),
            items=("item_id", "nunique"),
            ratings=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
            mean_score=("score", "mean"),
        )
        .reset_index()
    )
    report.table(summary)
    if ratings["label"].notna().any():
        report.figure(_bar_labels(ratings), "Share of E0 / E2 / E1 labels per rater.")
    if ratings["score"].notna().any():
        report.figure(_score_histograms(ratings), "0-1 scores per rater, bins of 0.05.")
    _end(report)


def _contested(report: HtmlReport, paths: StudyPaths, record: dict[str, Any]) -> None:
    _section(report, "contested")
    report.paragraph(str(record.get("label_studio", "")))
    if paths.contested.exists():
        selection = pd.read_csv(paths.contested, dtype=str, keep_default_na=False)
        counts = selection["reason"].value_counts().rename_axis("reason").reset_index()
        report.table(counts)
        shown = [
            c
            for c in ("item_id", "reason", "item_text", "labels", "score_spread")
            if c in selection
        ]
        report.table(selection[shown].head(40))
    _end(report)


def _activities(report: HtmlReport, paths: StudyPaths, measure: str) -> None:
    _section(report, "activities")
    scores = pd.read_csv(paths.export / "dwa_scores.csv")
    ratings = read_ratings(paths.ratings)
    texts = ratings.drop_duplicates("item_id").set_index("item_id")["item_text"]
    scores["statement"] = scores["item_id"].map(texts)
    columns = ["item_id", "statement", "label", measure, "ci_low", "ci_high", "source"]
    columns = [c for c in columns if c in scores.columns]
    ordered = scores.sort_values(measure, ascending=False)
    report.heading(f"Top 10 by {measure}", level=3)
    report.table(ordered[columns].head(10))
    report.heading(f"Bottom 10 by {measure}", level=3)
    report.table(ordered[columns].tail(10).iloc[::-1])
    _end(report)


def _onet(report: HtmlReport, artifacts: StudyArtifacts, measure: str) -> None:
    import matplotlib.pyplot as plt

    _section(report, "onet")
    occupations: pd.DataFrame = present(artifacts.occupations, "occupations")
    report.paragraph(
        "Occupation alpha / beta / gamma: mean of task scores, Core tasks weighted 2, "
        "Supplemental and n/a 1 (Eloundou et al. 2023); a task's score is the mean of its rated "
        f"DWAs. {len(occupations)} occupations have at least one rated task."
    )
    figure, ax = plt.subplots(figsize=(7, 3.4))
    ax.hist(occupations[measure].astype(float), bins=[i / 20 for i in range(21)], color="#4a6fa5")
    ax.set_xlabel(f"occupation {measure} (0-1)")
    ax.set_ylabel("occupations (count)")
    ax.set_title(f"O*NET occupations by LLM exposure ({measure})")
    report.figure(figure, "Distribution over O*NET-SOC occupations.")
    columns = ["onetsoc_code", "title", "alpha", "beta", "gamma", "n_tasks"]
    top = occupations.sort_values(measure, ascending=False)[columns]
    report.heading("Most exposed occupations", level=3)
    report.table(top.head(10))
    report.heading("Comparison with published exposure measures", level=3)
    report.table(present(artifacts.published, "published"))
    _end(report)


def _occupation_lines(labour: Any) -> Figure:
    import matplotlib.pyplot as plt

    from dwa_rater.report.study_evidence import draw_intervals

    index = labour.occupation_index
    figure, ax = plt.subplots(figsize=(8, 4.6))
    for number, (category, group) in enumerate(index.groupby("occupation_category")):
        (line,) = ax.plot(group["year"], group["index"], marker="o", linewidth=1.2, label=category)
        if "ci_low" in group.columns:
            # side by side, so that the bars of one year do not hide each other
            shift = (number - index["occupation_category"].nunique() / 2) * 0.015
            draw_intervals(
                ax,
                group["year"] + shift,
                group["ci_low"],
                group["ci_high"],
                colour=line.get_color(),
            )
    ax.set_xlabel("year")
    ax.set_ylabel("LLM exposure index (0-1)")
    ax.set_title("Occupation index by year")
    ax.set_xticks(sorted(index["year"].unique()))
    ax.legend(fontsize=7, ncol=2, loc="best")
    return figure


def _postings(
    report: HtmlReport, paths: StudyPaths, artifacts: StudyArtifacts, result: StudyResult
) -> None:
    from dwa_rater.report.labour_market import add_labour_market_sections

    _section(report, "postings", result)
    from dwa_rater.report.study_evidence import interval_note

    labour = present(artifacts.labour, "labour")
    report.paragraph(interval_note(result.steps.get("labour_market", {})), css_class="note")
    caption = "Mean posting score per occupation category"
    if "ci_low" in labour.occupation_index.columns:
        caption += "; bars: 95% intervals resting on the human sample"
    report.figure(_occupation_lines(labour), caption + ".")
    add_labour_market_sections(report, labour)
    if paths.mapping_quality.exists():
        report.heading("Mapping duty lines to activities: precision and recall", level=3)
        report.paragraph(
            "Measured on the synthetic postings, whose duty lines are O*NET task statements of "
            "known DWAs. English task lines against English DWA titles: real Chinese postings "
            "match worse."
        )
        report.table(pd.read_csv(paths.mapping_quality).head(20))
    _end(report)


def _cities(report: HtmlReport, artifacts: StudyArtifacts, result: StudyResult) -> None:
    from dwa_rater.report.study_postings import add_city_sections

    _section(report, "cities", result)
    add_city_sections(report, artifacts, result.steps.get("labour_market", {}))
    _end(report)


def _rank_comparison(report: HtmlReport, artifacts: StudyArtifacts, result: StudyResult) -> None:
    from dwa_rater.report.study_postings import add_rank_comparison

    _section(report, "rank-comparison", result)
    if artifacts.ai_development is None:
        _missing(report, result, "ai_development")
    else:
        add_rank_comparison(report, artifacts)
    _end(report)


def _ai_development(report: HtmlReport, artifacts: StudyArtifacts, step: dict[str, Any]) -> None:
    from dwa_rater.report.ai_development import add_ai_development_sections

    _section(report, "ai-development")
    source = step.get("indicators_source")
    if source:
        note = step.get("indicators_note")
        report.paragraph(
            f"Indicators from: {source}." + (f" {note}." if note else ""), css_class="note"
        )
    add_ai_development_sections(report, present(artifacts.ai_development, "ai development"))
    _end(report)


def _remote_work(
    report: HtmlReport, artifacts: StudyArtifacts, measure: str, result: StudyResult
) -> None:
    import matplotlib.pyplot as plt

    _section(report, "remote-work", result)
    comparison = present(artifacts.remote_work, "remote work")
    report.table(comparison.correlations)
    joined = comparison.occupations.dropna(subset=["teleworkable", measure])
    figure, ax = plt.subplots(figsize=(6.5, 4.2))
    jitter = np.random.default_rng(0).uniform(-0.04, 0.04, len(joined))
    ax.scatter(joined["teleworkable"].astype(float) + jitter, joined[measure], s=10, alpha=0.5)
    ax.set_xlabel("Dingel-Neiman teleworkable (0/1, averaged over crosswalked codes; jittered)")
    ax.set_ylabel(f"LLM exposure {measure} (0-1)")
    ax.set_title("Teleworkability and LLM exposure across O*NET occupations")
    report.figure(figure, "Each point is an O*NET occupation.")
    if comparison.by_period is not None:
        report.heading("By period, O*NET side (postings spread by the crosswalk)", level=3)
        report.table(comparison.by_period)
    from dwa_rater.report.study_postings import add_remote_work_trend

    add_remote_work_trend(report, artifacts)
    _end(report)


def write_study_report(
    config: StudyConfig, paths: StudyPaths, inputs: StudyInputs, result: StudyResult
) -> Path:
    """Write ``report.html`` into the study folder and return its path."""
    configure_matplotlib()
    from dwa_rater.report.agreement import add_agreement_sections
    from dwa_rater.report.calibration import add_calibration_sections
    from dwa_rater.report.study_evidence import add_evidence_section

    artifacts = result.artifacts
    measure = config.indices.measure
    report = HtmlReport("LLM exposure study")
    nav = " · ".join(f'<a href="#{k}">{html.escape(v)}</a>' for k, v in SECTIONS.items())
    report.raw(f"<nav>{nav}</nav>")
    ratings = read_ratings(paths.ratings)
    _summary(report, ratings, result)
    _section(report, "evidence")
    add_evidence_section(report, ratings, result)
    _end(report)
    _provenance(report, paths, result)
    _labels(report, ratings)
    _section(report, "agreement")
    add_agreement_sections(report, present(artifacts.agreement, "agreement"))
    _end(report)
    _contested(report, paths, result.steps.get("review", {}))
    _section(report, "calibration")
    add_calibration_sections(report, present(artifacts.calibration, "calibration"))
    _estimate_note(report, result.steps.get("estimate", {}), measure)
    _end(report)
    _activities(report, paths, measure)
    for anchor, step, build in (
        ("onet", "onet", lambda: _onet(report, artifacts, measure)),
        ("postings", "labour_market", lambda: _postings(report, paths, artifacts, result)),
        ("cities", "labour_market", lambda: _cities(report, artifacts, result)),
        (
            "ai-development",
            "ai_development",
            lambda: _ai_development(report, artifacts, result.steps["ai_development"]),
        ),
        ("rank-comparison", "labour_market", lambda: _rank_comparison(report, artifacts, result)),
        ("remote-work", "remote_work", lambda: _remote_work(report, artifacts, measure, result)),
    ):
        if result.steps.get(step, {}).get("status") == "done":
            build()
        else:
            _section(report, anchor, result)
            _missing(report, result, step)
            _end(report)
    _section(report, "limits")
    embedded = any(str(e) == "embedded" for e in ratings["endpoint"].dropna().unique())
    if embedded:
        report.paragraph(_EMBEDDED_NOTE, css_class="note")
    for warning in result.warnings:
        report.paragraph(warning, css_class="note")
    report.paragraph(
        "This product includes information from the O*NET 30.1 Database by the U.S. Department "
        "of Labor, Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 "
        "license. O*NET® is a trademark of USDOL/ETA. Modified by the dwa_rater project; "
        "USDOL/ETA has not approved, endorsed, or tested these modifications."
    )
    _end(report)
    return report.write(paths.report)
