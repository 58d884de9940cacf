"""The exported DWA score table: schema, CSV = Parquet, provenance, and the indices can read it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwa_rater.calibration import CalibrationOptions, calibrate_files
from dwa_rater.errors import DataError
from dwa_rater.export import EXPORT_COLUMNS, export_scores, read_scores
from dwa_rater.indices.scores import dwa_scores, read_score_input
from dwa_rater.provenance import collect_provenance
from dwa_rater.store import write_ratings

LABELS = ("E0", "E1", "E2")


def _write_inputs(folder: Path, n_items: int = 150, seed: int = 0) -> list[Path]:
    """Three LLM raters from one run (manifest in runs/), a human file without run ids."""
    rng = np.random.default_rng(seed)
    ids = [f"4.A.1.a.1.I01.D{i:03d}" for i in range(n_items - 1)] + ["12345"]  # one task ID
    truth = rng.choice(3, n_items, p=[0.5, 0.25, 0.25])
    confusion = np.array([[0.8, 0.05, 0.15], [0.05, 0.85, 0.1], [0.1, 0.15, 0.75]])
    frames = []
    for rater in ("gpt", "llama", "qwen"):
        labels = (rng.random(n_items)[:, None] > np.cumsum(confusion[truth], axis=1)).sum(1)
        frames.append(
            pd.DataFrame(
                {
                    "item_id": ids,
                    "item_type": "dwa",
                    "item_text": "text",
                    "rater": rater,
                    "model": f"{rater}-model",
                    "prompt_name": "exposure",
                    "prompt_version": "v1",
                    "prompt_sha256": "abc123",
                    "label": [LABELS[k] for k in labels],
                    "score": np.array([0.1, 0.9, 0.5])[labels],
                    "run_id": "20260101T000000Z-aaaaaa",
                }
            )
        )
    llm = folder / "llm.csv"
    write_ratings(pd.concat(frames, ignore_index=True), llm)
    (folder / "runs").mkdir()
    (folder / "runs" / "20260101T000000Z-aaaaaa.json").write_text(
        json.dumps({"run_id": "20260101T000000Z-aaaaaa", "status": "completed"}), encoding="utf-8"
    )
    audit = rng.choice(n_items, 50, replace=False)
    human = folder / "human.csv"
    pd.DataFrame(
        {
            "item_id": [ids[i] for i in audit],
            "rater": "human",
            "label": [LABELS[truth[i]] for i in audit],
            "reason": "audit",
        }
    ).to_csv(human, index=False)
    return [llm, human]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    paths = _write_inputs(folder)
    run = calibrate_files(
        paths, folder / "scores.csv", CalibrationOptions(human="human", bootstrap=50, c_grid=(1.0,))
    )
    return run.scores


def test_export_writes_equal_csv_and_parquet_keyed_by_dwa_id(
    calibrated: Path, tmp_path: Path
) -> None:
    result = export_scores(calibrated, tmp_path / "out")
    csv = pd.read_csv(result.csv, dtype={"dwa_id": str, "item_id": str})
    parquet = pd.read_parquet(result.parquet)
    assert tuple(csv.columns) == EXPORT_COLUMNS == tuple(parquet.columns)
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert len(csv) == 150 and csv["item_id"].is_unique
    assert csv.loc[csv["item_id"] == "12345", "dwa_id"].isna().all()
    dwas = csv[csv["item_id"] != "12345"]
    assert (dwas["dwa_id"] == dwas["item_id"]).all()
    assert any("not DWA IDs (e.g. 12345)" in w for w in result.warnings)


def test_provenance_lists_every_upstream_run(calibrated: Path, tmp_path: Path) -> None:
    result = export_scores(calibrated, tmp_path / "out")
    provenance = json.loads(result.provenance.read_text(encoding="utf-8"))
    assert [c["name"] for c in provenance["schema"]] == list(EXPORT_COLUMNS)
    runs = provenance["upstream_runs"]["runs"]
    assert {(r["run_id"], r["rater"], r["n_rows"]) for r in runs} == {
        ("20260101T000000Z-aaaaaa", "gpt", 150),
        ("20260101T000000Z-aaaaaa", "llama", 150),
        ("20260101T000000Z-aaaaaa", "qwen", 150),
        (None, "human", 50),
    }
    assert all(r["prompt_sha256"] == "abc123" for r in runs if r["rater"] != "human")
    manifest = provenance["upstream_runs"]["manifests"]["20260101T000000Z-aaaaaa"]
    assert manifest["manifest"]["status"] == "completed"
    assert provenance["calibration"]["method"] in {"calibrated", "latent_class"}
    assert provenance["calibration"]["llm_raters"] == ["gpt", "llama", "qwen"]
    assert len(provenance["inputs"]) == 2 and all(
        len(i["sha256"]) == 64 for i in provenance["inputs"]
    )
    assert provenance["files"]["parquet"]["path"] == "dwa_scores.parquet"


def test_indices_read_the_export(calibrated: Path, tmp_path: Path) -> None:
    result = export_scores(calibrated, tmp_path / "out")
    exported = pd.read_csv(result.csv, dtype={"item_id": str})
    table = dwa_scores(read_score_input(result.csv))
    merged = table.merge(exported, on="item_id", suffixes=("", "_export"))
    assert len(merged) == 150
    np.testing.assert_allclose(merged["beta"], merged["beta_export"])
    assert (merged["n"] == merged["n_raters"]).all()


def test_collect_provenance_notes_missing_manifests(tmp_path: Path) -> None:
    ratings = pd.DataFrame({"run_id": ["r1", "r1", "r2"], "rater": ["a", "a", "b"]})
    provenance = collect_provenance(ratings, [tmp_path / "ratings.csv"])
    assert provenance["missing_manifests"] == ["r1", "r2"]
    assert [r["n_rows"] for r in provenance["runs"]] == [2, 1]


def test_export_needs_the_manifest(calibrated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "scores.csv"
    copy.write_bytes(calibrated.read_bytes())
    with pytest.raises(DataError, match="manifest"):
        export_scores(copy, tmp_path / "out")


def test_read_scores_rejects_broken_tables(calibrated: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(calibrated, dtype={"item_id": str})
    frame.loc[0, "p_E0"] = frame.loc[0, "p_E0"] + 0.2
    broken = tmp_path / "broken.csv"
    frame.to_csv(broken, index=False)
    with pytest.raises(DataError, match="sum to"):
        read_scores(broken)
    with pytest.raises(DataError, match="lacks"):
        frame.drop(columns="source").to_csv(broken, index=False)
        read_scores(broken)
