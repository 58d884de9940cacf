"""File-level entry points of the agreement toolkit: read inputs, build groups, write JSON.

These are the functions the ``agree`` and ``agree-scores`` commands call; the statistics live in
:mod:`~dwa_rater.agreement.summary` and :mod:`~dwa_rater.agreement.scores`, which take
DataFrames and never touch files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from dwa_rater.agreement.bootstrap import BootstrapSpec
from dwa_rater.agreement.scale import LabelScale
from dwa_rater.agreement.scores import ScoreComparison, compare_score_tables
from dwa_rater.agreement.summary import AgreementResult, assess_agreement
from dwa_rater.agreement.tables import Collapse, groups_from_catalog, groups_from_column
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.store import read_many_ratings

#: Grouping columns that come from the O*NET DWA catalogue rather than the ratings table.
CATALOG_GROUP_COLUMNS: tuple[str, ...] = ("gwa_id", "gwa_title", "iwa_id", "iwa_title")


def agree_files(
    paths: Sequence[Path],
    scale: LabelScale | Callable[[pd.DataFrame], LabelScale],
    *,
    raters: Sequence[str] | None = None,
    collapse: Collapse = "mode",
    by: str | None = None,
    onet_source: Path | None = None,
    bootstrap: BootstrapSpec | None = None,
) -> AgreementResult:
    """Read ratings files and assess agreement (see :func:`assess_agreement`).

    ``by`` names a grouping column: a column of the ratings table (one value per item), or one
    of :data:`CATALOG_GROUP_COLUMNS`, joined from the O*NET release at ``onet_source`` on
    item_id = dwa_id. ``scale`` may be a function of the ratings read (e.g. to take the labels
    from the rubric the ratings name).
    """
    ratings = read_many_ratings(list(paths))
    if callable(scale):
        scale = scale(ratings)
    groups = None
    if by:
        if by in ratings.columns and ratings[by].notna().any():
            groups = groups_from_column(ratings, by)
        elif by in CATALOG_GROUP_COLUMNS:
            if onet_source is None:
                raise ConfigError(
                    f"{by} is not a column of the ratings; to join it from O*NET pass --onet-dir "
                    "or set DWA_RATER_ONET_DIR"
                )
            from dwa_rater.catalog import load_onet

            groups = groups_from_catalog(load_onet(onet_source).dwas, by)
        else:
            raise DataError(
                f"cannot group by {by!r}: not a column of the ratings, nor one of "
                f"{', '.join(CATALOG_GROUP_COLUMNS)}"
            )
    result = assess_agreement(
        ratings, scale, raters=raters, collapse=collapse, groups=groups, bootstrap=bootstrap
    )
    result.summary["inputs"] = [str(p) for p in paths]
    return result


def read_score_table(path: Path) -> pd.DataFrame:
    """A score table as strings (CSV, TSV or Parquet); values are parsed where compared."""
    if not path.exists():
        raise DataError(f"{path}: score table not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        sep = "\t" if suffix in {".tsv", ".txt"} else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read score table ({exc})") from exc


def compare_score_files(
    path_a: Path,
    path_b: Path,
    key: str | Sequence[str],
    column_a: str,
    column_b: str,
    *,
    bootstrap: BootstrapSpec | None = None,
) -> ScoreComparison:
    """Read two score tables and compare them (see :func:`compare_score_tables`)."""
    comparison = compare_score_tables(
        read_score_table(path_a),
        read_score_table(path_b),
        key,
        column_a,
        column_b,
        bootstrap=bootstrap,
        names=(str(path_a), str(path_b)),
    )
    return comparison


def write_text(text: str, path: Path) -> Path:
    """Write a text file atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
