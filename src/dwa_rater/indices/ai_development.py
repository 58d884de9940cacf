"""City AI-development index: normalise indicators, weight them, sum; and how ranks move by method.

The 2024 report combines four city indicators (AI job share, AI patent applications, AI applicant
share, universities with an AI major) without publishing how; this module offers the usual
composite-indicator choices (OECD/JRC 2008, *Handbook on Constructing Composite Indicators*) and
shows how much the ranking depends on them. Every indicator is taken as "higher = more developed".

Methods (``method=``), each a normalisation and a weighting; the score is
``sum_j w_j * x'_ij`` with weights summing to 1:

- ``minmax``: x' = (x - min) / (max - min), on 0-1; equal or given weights; score on 0-1.
- ``zscore``: x' = (x - mean) / sd, sd with ddof = 0; equal or given weights; score in sd units.
- ``rank``: x' = (rank - 1) / (n - 1), average ranks for ties, on 0-1; equal or given weights.
- ``entropy``: min-max x' and entropy weights (Shannon entropy weight method, e.g. Zou, Yun & Sun
  2006, *Journal of Environmental Sciences* 18(5): 1020-1023):
  p_ij = x'_ij / sum_i x'_ij, e_j = -k sum_i p_ij ln p_ij with k = 1 / ln n and 0 ln 0 = 0,
  w_j = (1 - e_j) / sum_k (1 - e_k). An indicator spread evenly over cities (e_j near 1) weighs
  little; one concentrated in a few cities weighs much.
- ``pca``: z-score x' and the loadings of the first principal component of the indicators'
  correlation matrix (its leading eigenvector), divided by their sum so they sum to 1; the sign is
  fixed so that the sum of loadings is positive. Loadings of mixed sign give negative weights;
  this is reported in the notes.

Given weights (``weights=``) are allowed for minmax, zscore and rank only; they are rescaled to
sum to 1. Ranks: 1 = highest score, ties share the best rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwa_rater.errors import ConfigError, DataError

AiIndexMethod = Literal["minmax", "zscore", "entropy", "pca", "rank"]
Normalisation = Literal["minmax", "zscore", "rank"]

METHODS: tuple[AiIndexMethod, ...] = ("minmax", "zscore", "entropy", "pca", "rank")

#: Normalisation each method applies before weighting.
METHOD_NORMALISATION: dict[AiIndexMethod, Normalisation] = {
    "minmax": "minmax",
    "zscore": "zscore",
    "entropy": "minmax",
    "pca": "zscore",
    "rank": "rank",
}

SCORE_UNITS: dict[AiIndexMethod, str] = {
    "minmax": "weighted sum of min-max normalised indicators, 0-1",
    "zscore": "weighted sum of z-scores, standard deviations",
    "entropy": "entropy-weighted sum of min-max normalised indicators, 0-1",
    "pca": "PC1-weighted sum of z-scores, standard deviations",
    "rank": "weighted sum of rank percentiles, 0-1",
}


@dataclass(frozen=True)
class AiDevelopmentIndex:
    """The index under one method: scores (city, score, rank), weights, normalised indicators."""

    method: AiIndexMethod
    scores: pd.DataFrame
    weights: pd.Series
    normalised: pd.DataFrame
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankSensitivity:
    """Ranks of every city under every method, and Kendall tau-b between the methods' scores."""

    ranks: pd.DataFrame  # city, rank_<method>..., rank_range
    kendall: pd.DataFrame  # method x method, tau-b
    indices: dict[AiIndexMethod, AiDevelopmentIndex] = field(default_factory=dict)


def indicator_table(
    frame: pd.DataFrame,
    city_column: str = "city",
    indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Validate and return the indicators as floats, indexed by city.

    Without ``indicators`` every column besides ``city_column`` is one and must be numeric.
    Raises :class:`DataError` for a missing city column, duplicate cities, non-numeric or missing
    values, fewer than two cities, or a constant indicator.
    """
    if city_column not in frame.columns:
        raise DataError(f"indicator table lacks the city column {city_column!r}")
    columns = list(indicators) if indicators else [c for c in frame.columns if c != city_column]
    if not columns:
        raise DataError("indicator table has no indicator column besides the city column")
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise DataError(f"indicator column(s) {', '.join(unknown)} not in the table")
    cities = frame[city_column].astype(str).str.strip()
    duplicated = cities[cities.duplicated()]
    if not duplicated.empty:
        raise DataError(f"city {duplicated.iloc[0]!r} appears more than once")
    if len(cities) < 2:
        raise DataError("an index needs at least two cities")
    table = pd.DataFrame(index=pd.Index(cities.to_numpy(), name="city"))
    for column in columns:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                f"indicator {column!r} is missing or not a number for city {cities.iloc[row]!r} "
                f"(value {raw.iloc[row]!r}); pass --indicators to choose the numeric columns"
            )
        if values.nunique() < 2:
            raise DataError(f"indicator {column!r} is constant: it cannot rank cities")
        table[column] = values.to_numpy(dtype=float)
    return table


def normalise(table: pd.DataFrame, how: Normalisation) -> pd.DataFrame:
    """Normalise each column: ``minmax`` (0-1), ``zscore`` (ddof 0), ``rank`` ((rank-1)/(n-1))."""
    if how == "minmax":
        return (table - table.min()) / (table.max() - table.min())
    if how == "zscore":
        return (table - table.mean()) / table.std(ddof=0)
    if how == "rank":
        return (table.rank(method="average") - 1) / (len(table) - 1)
    raise ConfigError(f"unknown normalisation {how!r} (use minmax, zscore or rank)")


def entropy_weights(minmax: pd.DataFrame) -> pd.Series:
    """Entropy weights of min-max normalised (non-negative) indicators; see the module docstring."""
    n = len(minmax)
    p = minmax / minmax.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -terms.sum(axis=0) / np.log(n)
    divergence = 1.0 - entropy
    return pd.Series(divergence / divergence.sum(), index=minmax.columns, name="weight")


def pca_weights(table: pd.DataFrame) -> pd.Series:
    """First-principal-component loadings of the correlation matrix, summing to 1 (sign fixed)."""
    correlation = np.corrcoef(table.to_numpy(dtype=float), rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    loadings = eigenvectors[:, int(np.argmax(eigenvalues))]
    if abs(loadings.sum()) < 1e-9:
        raise DataError(
            "first principal component loadings sum to zero (indicators pull in opposite "
            "directions): PCA weights are undefined; choose another method"
        )
    if loadings.sum() < 0:
        loadings = -loadings
    return pd.Series(loadings / loadings.sum(), index=table.columns, name="weight")


def _given_weights(weights: Mapping[str, float] | None, columns: Sequence[str]) -> pd.Series:
    if weights is None:
        return pd.Series(1.0 / len(columns), index=list(columns), name="weight")
    unknown = [c for c in weights if c not in columns]
    missing = [c for c in columns if c not in weights]
    if unknown or missing:
        raise ConfigError(
            "weights must name every indicator exactly: "
            + "; ".join(
                part
                for part in (
                    f"unknown {', '.join(unknown)}" if unknown else "",
                    f"missing {', '.join(missing)}" if missing else "",
                )
                if part
            )
        )
    series = pd.Series({c: float(weights[c]) for c in columns}, name="weight")
    if (series < 0).any() or series.sum() <= 0:
        raise ConfigError("weights must be non-negative and not all zero")
    return series / series.sum()


def ai_development_index(
    indicators: pd.DataFrame,
    method: AiIndexMethod = "minmax",
    weights: Mapping[str, float] | None = None,
) -> AiDevelopmentIndex:
    """The index under one method; ``indicators`` as returned by :func:`indicator_table`.

    Returns scores (city, score, rank; sorted by rank), the weights used and the normalised
    indicators. Given ``weights`` (indicator -> weight) are rescaled to sum to 1 and are refused
    for ``entropy`` and ``pca``, which derive their own.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r} (use {', '.join(METHODS)})")
    normalised = normalise(indicators, METHOD_NORMALISATION[method])
    notes: list[str] = []
    if method in ("entropy", "pca"):
        if weights is not None:
            raise ConfigError(f"method {method!r} derives its own weights; drop --weights")
        used = entropy_weights(normalised) if method == "entropy" else pca_weights(indicators)
        if (used < 0).any():
            notes.append(
                "PC1 loadings have mixed signs: negative weight on "
                + ", ".join(used.index[used < 0])
            )
    else:
        used = _given_weights(weights, list(indicators.columns))
    score = normalised.mul(used, axis=1).sum(axis=1)
    scores = pd.DataFrame(
        {
            "city": indicators.index,
            "score": score.to_numpy(),
            "rank": score.rank(ascending=False, method="min").astype(int).to_numpy(),
        }
    ).sort_values(["rank", "city"], kind="stable", ignore_index=True)
    return AiDevelopmentIndex(method, scores, used, normalised, tuple(notes))


def rank_sensitivity(
    indicators: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> RankSensitivity:
    """Every method's ranking (given weights where a method accepts them, else its own) and the
    Kendall tau-b (``scipy.stats.kendalltau``) between each pair of methods' scores."""
    indices = {
        m: ai_development_index(indicators, m, None if m in ("entropy", "pca") else weights)
        for m in METHODS
    }
    ranks = pd.DataFrame({"city": indicators.index})
    for method, index in indices.items():
        ranks[f"rank_{method}"] = ranks["city"].map(index.scores.set_index("city")["rank"])
    rank_columns = [f"rank_{m}" for m in METHODS]
    ranks["rank_range"] = ranks[rank_columns].max(axis=1) - ranks[rank_columns].min(axis=1)
    ranks = ranks.sort_values(["rank_minmax", "city"], ignore_index=True)
    aligned = {
        m: index.scores.set_index("city")["score"].reindex(indicators.index)
        for m, index in indices.items()
    }
    kendall = pd.DataFrame(index=list(METHODS), columns=list(METHODS), dtype=float)
    for a in METHODS:
        for b in METHODS:
            kendall.loc[a, b] = float(stats.kendalltau(aligned[a], aligned[b])[0])
    kendall.index.name = "method"
    return RankSensitivity(ranks, kendall, indices)


def parse_weights(text: str | None, columns: Sequence[str]) -> dict[str, float] | None:
    """Parse ``--weights``: empty/``equal`` -> None; ``a=0.4,b=0.6``; ``0.4,0.6`` (column order)."""
    if text is None or text.strip().lower() in ("", "equal"):
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if all("=" in p for p in parts):
            return {k.strip(): float(v) for k, v in (p.split("=", 1) for p in parts)}
        if any("=" in p for p in parts):
            raise ConfigError(f"--weights {text!r}: use either name=value pairs or plain numbers")
        numbers = [float(p) for p in parts]
    except ValueError as exc:
        raise ConfigError(f"--weights {text!r}: not a number ({exc})") from exc
    if len(numbers) != len(columns):
        raise ConfigError(
            f"--weights gives {len(numbers)} numbers for {len(columns)} indicators "
            f"({', '.join(columns)})"
        )
    return dict(zip(columns, numbers, strict=True))


def read_indicators(path: Path) -> pd.DataFrame:
    """Read an indicator table (UTF-8 CSV or Parquet) for :func:`indicator_table`."""
    if not path.is_file():
        raise DataError(f"{path}: indicator table not found")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read indicator table ({exc})") from exc


@dataclass(frozen=True)
class AiDevelopmentResult:
    """The chosen method's index with the rank sensitivity across all methods."""

    index: AiDevelopmentIndex
    sensitivity: RankSensitivity


def ai_development_from_file(
    path: Path,
    method: AiIndexMethod = "minmax",
    weights: str | None = None,
    city_column: str = "city",
    indicators: Sequence[str] | None = None,
) -> AiDevelopmentResult:
    """Read an indicator table and build the index and its rank sensitivity."""
    table = indicator_table(read_indicators(path), city_column, indicators)
    parsed = parse_weights(weights, list(table.columns))
    return AiDevelopmentResult(
        ai_development_index(table, method, parsed), rank_sensitivity(table, parsed)
    )


def write_ai_development(result: AiDevelopmentResult, out: Path) -> list[Path]:
    """Write scores (``out``), ``<stem>_weights.csv``, ``<stem>_rank_sensitivity.csv`` and
    ``<stem>_kendall.csv``. Returns the paths (the HTML report is
    :func:`dwa_rater.report.ai_development.write_ai_development_report`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    index = result.index
    scores = index.scores.assign(method=index.method)
    paths = [out]
    scores.to_csv(out, index=False, lineterminator="\n")
    extra = {
        "weights": index.weights.rename_axis("indicator").reset_index(),
        "rank_sensitivity": result.sensitivity.ranks,
        "kendall": result.sensitivity.kendall.reset_index(),
    }
    for name, frame in extra.items():
        path = out.with_name(f"{out.stem}_{name}.csv")
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths
