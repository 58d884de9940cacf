"""The study's reference rater: labels found in the data dir, imported once, else a reason."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dwa_rater.errors import ConfigError
from dwa_rater.study.config import load_study_config
from dwa_rater.study.reference import embed_reference, find_labels, prepare_reference
from dwa_rater.testing.encoders import KeywordEncoder

HEADER = ["", "O*NET-SOC Code", "Task ID", "Task", "Task Type", "Title", "human_exposure_agg",
          "gpt4_exposure", "gpt4_exposure_alt_rubric"]  # fmt: skip
ROWS = [
    ["0", "11-1011.00", "8823.0", "Direct budgets.", "Core", "Chief Executives", "E0", "E2", "E2"],
    ["1", "11-1011.00", "8831.0", "Appoint heads.", "", "Chief Executives", "E1", "E0", "E0"],
    ["2", "15-1252.00", "16363.0", "Write code.", "Core", "Software Developers", "E2", "E1", ""],
]  # fmt: skip


def _data_dir(root: Path, name: str = "full_labelset.tsv") -> Path:
    folder = root / "exposure" / "eloundou_2023"
    folder.mkdir(parents=True)
    with open(folder / name, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return root


@pytest.mark.parametrize("name", ["full_labelset.tsv", "full_labelset_dev.tsv"])
def test_the_labels_are_found_where_the_registry_puts_them(tmp_path: Path, name: str) -> None:
    data = _data_dir(tmp_path, name)
    assert find_labels(data) == data / "exposure" / "eloundou_2023" / name
    assert find_labels(tmp_path / "elsewhere") is None


def test_default_study_adds_the_reference_rater_and_imports_once(tmp_path: Path) -> None:
    data = _data_dir(tmp_path / "data")
    folder = tmp_path / "study" / "reference"
    reference = prepare_reference(load_study_config(None), data, folder)
    spec = reference.spec
    assert spec is not None and spec.is_reference
    assert (spec.name, spec.k, spec.reference_rater) == ("reference-human", 15, "human")
    imported = Path(spec.reference or "")
    assert imported.parent == folder.resolve() and imported.is_file()
    assert reference.sample is not None
    assert (reference.sample.n_labels, reference.sample.n_occupations) == (3, 2)
    text = reference.sample.describe()
    assert "3 human labels" in text and "2 occupations" in text
    assert "Eloundou et al. (2024)" in text and "file full_labelset.tsv" in text
    assert "openai/GPTs-are-GPTs at 0471612" in text
    record = reference.record()
    assert record["k"] == 15 and record["reference_rater"] == "human"
    # a second run reuses the import: same bytes, so the rater's cache key does not change
    before = imported.read_bytes()
    again = prepare_reference(load_study_config(None), data, folder)
    assert again.spec is not None and Path(again.spec.reference or "").read_bytes() == before


def test_without_labels_or_when_turned_off_the_study_says_why(tmp_path: Path) -> None:
    missing = prepare_reference(load_study_config(None), tmp_path, tmp_path / "ref")
    assert missing.spec is None and "no human labels to vote with" in missing.reason
    assert "data fetch eloundou-2023" in missing.reason
    assert missing.record() == {"status": "skipped", "reason": missing.reason}
    data = _data_dir(tmp_path / "data")
    off = load_study_config(None, **{"reference.use": "never"})
    assert "turned off" in prepare_reference(off, data, tmp_path / "ref").reason
    own = tmp_path / "own.toml"
    own.write_text('[[raters]]\nname = "mine"\n', encoding="utf-8")
    panel = prepare_reference(load_study_config(own), data, tmp_path / "ref")
    assert panel.spec is None and 'use = "always"' in panel.reason
    always = load_study_config(own, **{"reference.use": "always", "reference.k": 5})
    added = prepare_reference(always, data, tmp_path / "ref")
    assert added.spec is not None and added.spec.k == 5
    clash = load_study_config(own, **{"reference.use": "always", "reference.name": "mine"})
    with pytest.raises(ConfigError, match="already a rater"):
        prepare_reference(clash, data, tmp_path / "ref")


def test_embedding_the_reference_fills_the_cache(tmp_path: Path) -> None:
    data = _data_dir(tmp_path / "data")
    reference = prepare_reference(load_study_config(None), data, tmp_path / "ref")
    assert reference.spec is not None
    record = embed_reference(reference.spec, tmp_path / "embeddings", KeywordEncoder())
    assert record["embedded_statements"] == 3
    assert record["embedding_model"] == "keyword-test-encoder"
    assert "k=15" in record["method"]
    assert any((tmp_path / "embeddings").rglob("*"))
