"""``dwa-rater ratings dwa-reference``: task labels carried to DWAs, with release coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.catalog import load_onet
from dwa_rater.cli.ratings import register
from dwa_rater.reference.dwa import dwa_reference

ONET_MINI = Path(__file__).parent / "fixtures" / "onet_mini"

#: Labelled tasks of an "older release": 22546 and 3997 as in the fixture; 22585 reworded;
#: 88888 renumbered (its text is task 3999's); 77777 gone.
LABELS = pd.DataFrame(
    {
        "item_id": ["22546", "3997", "22585", "88888", "77777"],
        "item_text": [
            "Study scores to learn the music in detail, and to develop interpretations.",
            "Record and edit audio material, such as movie soundtracks, using audio recording "
            "and editing equipment.",
            "Listen to recordings to master pieces.",
            "Obtain and preview musical performance programs prior to events to become "
            "familiar with the order and approximate times of pieces.",
            "Tune pianos.",
        ],
        "label": ["E1", "E2", "E0", "E1", "E0"],
    }
)


def test_dwa_shares_and_coverage_by_hand() -> None:
    tables = load_onet(ONET_MINI)
    result = dwa_reference(LABELS, tables.tasks, tables.task_dwas, tables.dwas, tables.version)
    table = result.table.set_index("dwa_id")
    # D02 links tasks 22546 (E1), 22585 (E0; same id, reworded) and 3999 (E1; by text)
    d02 = table.loc["4.A.1.a.1.I01.D02"]
    assert d02["n_tasks"] == 3 and d02["n_occupations"] == 3
    assert d02[["share_E0", "share_E1", "share_E2"]].tolist() == pytest.approx([1 / 3, 2 / 3, 0])
    assert d02["mean_beta"] == pytest.approx(2 / 3)
    assert d02["label"] == "E1"
    # D06 links 3997 (E2) only among labelled tasks
    d06 = table.loc["4.A.3.a.3.I05.D06"]
    assert d06["n_tasks"] == 1 and d06["mean_beta"] == 0.5 and d06["mean_gamma"] == 1.0
    assert table.loc["4.A.2.b.1.I11.D01", "label"] == "E2"
    coverage = result.coverage
    assert coverage["matched_same_id"] == 2
    assert coverage["matched_same_id_text_changed"] == 1
    assert coverage["matched_by_text_only"] == 1
    assert coverage["not_found"] == 1
    assert coverage["dwas_covered"] == 3 and coverage["dwas_in_release"] == len(tables.dwas)


def test_cli_writes_table_and_manifest(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    LABELS.assign(rater="human").to_csv(labels, index=False)
    app = typer.Typer()
    register(app)
    out = tmp_path / "dwa.csv"
    result = CliRunner().invoke(
        app,
        ["ratings", "dwa-reference", str(labels), "--onet-dir", str(ONET_MINI), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "1 not found" in result.output
    frame = pd.read_csv(out)
    assert len(frame) == 3
    manifest = json.loads((tmp_path / "dwa.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["coverage"]["labelled_tasks"] == 5
    assert len(manifest["labels"]["sha256"]) == 64
