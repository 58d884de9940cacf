"""Remote-work index: Dingel-Neiman teleworkability carried to occupations and periods.

Source: Dingel, J. I. and Neiman, B. (2020), "How Many Jobs Can be Done at Home?", Journal of
Public Economics 189, file ``telework/occupations_workathome.csv`` (O*NET-SOC 2010 codes,
``teleworkable`` 0/1).

- Codes are carried to O*NET-SOC 2019 with O*NET's 2010-2019 crosswalk. Where several 2010 codes
  map to one 2019 code, the 2019 code gets their unweighted mean, so it may be fractional (the
  share of its 2010 predecessors that can be done at home); ``n_source`` says how many.
- :func:`remote_work_index` aggregates any occupation grouping with weights (posting or
  employment counts) into an index per period: sum(w * t) / sum(w) over occupations with a
  teleworkability value, a share between 0 and 1. ``coverage`` is the share of the weight that
  had a value.
- :func:`compare_with_llm_index` correlates it with an LLM occupation index across occupations
  and, when weights by period are given, compares the two weighted indices over time.

This product includes information from the O*NET 30.1 Database by the U.S. Department of Labor,
Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 license. O*NET® is a
trademark of USDOL/ETA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.onet import ONET_ATTRIBUTION, ONET_MODIFIED
from dwa_rater.indices.published import (
    load_crosswalks,
    paired_correlations,
    read_occupation_table,
    write_with_attribution,
)

#: Period label used when a weights table has no ``period`` column.
SINGLE_PERIOD = "all"


def load_teleworkability(path: Path) -> pd.DataFrame:
    """Dingel-Neiman's table as onetsoc2010_code, title, teleworkable (0/1 floats)."""
    if not path.is_file():
        raise DataError(f"{path}: teleworkability file not found")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in ("onetsoccode", "teleworkable") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    values = pd.to_numeric(frame["teleworkable"], errors="coerce")
    if values.isna().any():
        row = int(values.isna().to_numpy().nonzero()[0][0])
        raise DataError(f"{path}: teleworkable is not a number on data line {row + 2}")
    return pd.DataFrame(
        {
            "onetsoc2010_code": frame["onetsoccode"].str.strip(),
            "title": frame.get("title", pd.Series("", index=frame.index)),
            "teleworkable": values.astype(float),
        }
    )


def teleworkability_onetsoc2019(
    teleworkable_2010: pd.DataFrame, crosswalk: pd.DataFrame
) -> pd.DataFrame:
    """Carry teleworkability from O*NET-SOC 2010 to 2019 codes.

    ``teleworkable_2010``: onetsoc2010_code, teleworkable. ``crosswalk``: onetsoc2010_code,
    onetsoc2019_code. Returns onetsoc_code, teleworkable (unweighted mean over the 2010 codes
    mapping to the 2019 code) and n_source, sorted by code.
    """
    linked = (
        crosswalk[["onetsoc2010_code", "onetsoc2019_code"]]
        .drop_duplicates()
        .merge(teleworkable_2010[["onetsoc2010_code", "teleworkable"]], on="onetsoc2010_code")
    )
    grouped = linked.groupby("onetsoc2019_code")["teleworkable"]
    out = pd.DataFrame({"teleworkable": grouped.mean(), "n_source": grouped.size()})
    return out.rename_axis("onetsoc_code").reset_index()


def _weights_table(weights_by_period: pd.DataFrame, key: str) -> pd.DataFrame:
    missing = [c for c in (key, "weight") if c not in weights_by_period.columns]
    if missing:
        raise DataError(
            f"weights table lacks column(s) {', '.join(missing)} (need {key}, weight[, period])"
        )
    table = weights_by_period.copy()
    if "period" not in table.columns:
        table["period"] = SINGLE_PERIOD
    table["weight"] = pd.to_numeric(table["weight"], errors="coerce")
    bad = table["weight"].isna() | (table["weight"] < 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"weights table: weight must be a non-negative number (row {row + 1}: "
            f"{weights_by_period['weight'].iloc[row]!r})"
        )
    table[key] = table[key].astype(str)
    return table


def weighted_index(
    occupation_values: pd.DataFrame,
    column: str,
    weights_by_period: pd.DataFrame,
    key: str = "onetsoc_code",
) -> pd.DataFrame:
    """Per period, the weighted mean of ``occupation_values[column]`` over occupations.

    Returns period, index (sum w*v / sum w over occupations with a value), weight (that sum of w),
    coverage (that weight over all weight of the period) and n_occupations, sorted by period.
    """
    table = _weights_table(weights_by_period, key)
    values = occupation_values[[key, column]].assign(**{key: occupation_values[key].astype(str)})
    values = values.dropna(subset=[column]).drop_duplicates(subset=[key])
    merged = table.merge(values, on=key, how="left")
    has_value = merged[column].notna()
    merged["weighted"] = merged["weight"] * merged[column].fillna(0.0)
    merged["covered"] = merged["weight"].where(has_value, 0.0)
    merged["has_value"] = has_value
    grouped = merged.groupby("period", sort=True)
    total = grouped["weight"].sum()
    covered = grouped["covered"].sum()
    out = pd.DataFrame(
        {
            "index": grouped["weighted"].sum() / covered.replace(0.0, np.nan),
            "weight": covered,
            "coverage": covered / total.replace(0.0, np.nan),
            "n_occupations": grouped["has_value"].sum().astype(int),
        }
    )
    return out.rename_axis("period").reset_index()


def remote_work_index(
    occ_teleworkable: pd.DataFrame,
    weights_by_period: pd.DataFrame,
    key: str = "onetsoc_code",
) -> pd.DataFrame:
    """Remote-work index per period: the weighted share of teleworkable jobs (0-1).

    ``occ_teleworkable`` has ``key`` and ``teleworkable``; ``weights_by_period`` has ``key``,
    ``weight`` (posting or employment counts) and optionally ``period``. Returns period,
    remote_work_index, weight, coverage, n_occupations (see :func:`weighted_index`).
    """
    if "teleworkable" not in occ_teleworkable.columns or key not in occ_teleworkable.columns:
        raise DataError(f"occupation table needs columns {key} and teleworkable")
    out = weighted_index(occ_teleworkable, "teleworkable", weights_by_period, key)
    return out.rename(columns={"index": "remote_work_index"})


@dataclass(frozen=True)
class RemoteWorkComparison:
    """Teleworkability joined to an LLM occupation index, correlations, and per-period indices."""

    occupations: pd.DataFrame  # onetsoc_code, [title,] teleworkable, n_source, <llm column>
    correlations: pd.DataFrame  # comparison, n, pearson, spearman, kendall
    by_period: pd.DataFrame | None  # period, remote_work_index, llm_index, weight, coverage, ...


def compare_with_llm_index(
    occ_teleworkable: pd.DataFrame,
    llm_index: pd.DataFrame,
    column: str = "beta",
    weights_by_period: pd.DataFrame | None = None,
    key: str = "onetsoc_code",
) -> RemoteWorkComparison:
    """Compare teleworkability with an LLM exposure index, across occupations and over time.

    Across occupations: Pearson, Spearman, Kendall tau-b between ``teleworkable`` and
    ``llm_index[column]`` over occupations with both. Over time (with ``weights_by_period``):
    both indices weighted the same way (:func:`weighted_index`) per period, and the correlation of
    the two series when there are at least three periods.
    """
    if column not in llm_index.columns or key not in llm_index.columns:
        raise DataError(
            f"LLM occupation index lacks column {column if key in llm_index.columns else key!r} "
            f"(has {', '.join(map(str, llm_index.columns))})"
        )
    llm = llm_index.assign(**{key: llm_index[key].astype(str)})
    llm[column] = pd.to_numeric(llm[column], errors="coerce")
    keep = [key, *(["title"] if "title" in llm.columns else []), column]
    joined = llm[keep].merge(occ_teleworkable, on=key, how="left")
    stat = paired_correlations(joined["teleworkable"], joined[column])
    rows = [{"comparison": f"across occupations: teleworkable vs {column}", **stat}]
    by_period = None
    if weights_by_period is not None:
        remote = remote_work_index(occ_teleworkable, weights_by_period, key)
        exposure = weighted_index(llm, column, weights_by_period, key).rename(
            columns={
                "index": "llm_index",
                "weight": "llm_weight",
                "coverage": "llm_coverage",
                "n_occupations": "llm_n_occupations",
            }
        )
        by_period = remote.merge(exposure, on="period", how="outer")
        series = paired_correlations(by_period["remote_work_index"], by_period["llm_index"])
        rows.append({"comparison": f"over periods: remote_work_index vs {column} index", **series})
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype(int)
    return RemoteWorkComparison(occupations=joined, correlations=table, by_period=by_period)


def read_weights(path: Path) -> pd.DataFrame:
    """Read a weights table (CSV or Parquet): onetsoc_code, weight and optionally period."""
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype={"onetsoc_code": str, "period": str}, encoding="utf-8")
    return frame


def remote_work_from_files(
    occupations_path: Path,
    data_dir: Path,
    column: str = "beta",
    weights_path: Path | None = None,
) -> RemoteWorkComparison:
    """:func:`compare_with_llm_index` on an occupation-index file and the reference-data folder."""
    telework = load_teleworkability(data_dir / "telework" / "occupations_workathome.csv")
    crosswalk = load_crosswalks(data_dir).onetsoc2010_onetsoc2019
    occ_teleworkable = teleworkability_onetsoc2019(telework, crosswalk)
    llm_index = read_occupation_table(occupations_path)
    weights = read_weights(weights_path) if weights_path is not None else None
    return compare_with_llm_index(occ_teleworkable, llm_index, column, weights)


def write_remote_work(result: RemoteWorkComparison, out: Path) -> list[Path]:
    """Write the occupation table (``out``, with an O*NET attribution sidecar),
    ``<stem>_correlations.csv`` and, with periods, ``<stem>_by_period.csv``. Returns the paths."""
    sidecar = write_with_attribution(result.occupations, out, (ONET_ATTRIBUTION, ONET_MODIFIED))
    paths = [out, sidecar]
    extra = {"correlations": result.correlations, "by_period": result.by_period}
    for name, frame in extra.items():
        if frame is not None:
            path = out.with_name(f"{out.stem}_{name}.csv")
            frame.to_csv(path, index=False, lineterminator="\n")
            paths.append(path)
    return paths
