"""The report's remote-work comparison: a national remote-work index and LLM index per period.

The 2024 PKU NSD / Zhaopin report: 「首先，课题组将智联招聘平台的职业分类，与美国 O*NET 网站上的
职业分类进行匹配。其次，根据国外学者测算的各职业的远程办公指数，得出国内各职业的远程办公指数。
再次，将国内各职业的职位数占比作为权重，加权平均得出总体远程办公指数。」, charted as
「大语言模型影响指数与远程办公指数走势对比」. Here, with a crosswalk from
:mod:`dwa_rater.indices.crosswalk` (never the synthetic generator's category list):

- category remote-work index ``RW_c = sum_o w_{c,o} t_o / sum_o w_{c,o}`` over the category's
  O*NET occupations with a Dingel-Neiman teleworkability ``t_o`` (0-1);
- per period p and category c, the posting share ``s_{c,p} = n_{c,p} / N_p``;
- national remote-work index ``RW_p = sum_c s_{c,p} RW_c / sum_c s_{c,p}`` and national LLM
  index ``LLM_p = sum_c s_{c,p} I_{c,p} / sum_c s_{c,p}``, each over the categories that have a
  value (``coverage_*`` is the posting share that had one, 0-1);
- the cross-occupation view: Pearson and Spearman correlation of ``RW_c`` with ``I_{c,p}``
  over categories, per period.

Category weights change between periods only through the posting shares, so with a fixed
crosswalk the remote-work trend is a pure composition effect, as in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import category_values, category_weights_to_onet
from dwa_rater.indices.periods import Period, parse_period


@dataclass(frozen=True)
class RemoteWorkTrend:
    """Tables of :func:`remote_work_trend`."""

    national: pd.DataFrame  # period, n_postings, remote_work_index, llm_index, coverage_*
    categories: pd.DataFrame  # period, occupation_category, posting_share, remote_work, index
    correlations: pd.DataFrame  # period, n, pearson_r, pearson_p, spearman_rho, spearman_p


def posting_periods(dates: pd.Series, periods: Sequence[str | Period] | None) -> pd.Series:
    """The period label of each posting: the given windows (postings outside all of them get
    NaN) or, by default, the calendar year."""
    values = pd.to_datetime(dates)
    if not periods:
        return values.dt.year.astype(str)
    label = pd.Series(np.nan, index=dates.index, dtype=object)
    for period in (parse_period(p) for p in periods):
        label[period.mask(values)] = period.label
    return label


def category_posting_counts(
    postings: pd.DataFrame, periods: Sequence[str | Period] | None = None
) -> pd.DataFrame:
    """occupation_category, period, n: postings per category and period."""
    label = posting_periods(postings["date"], periods)
    frame = pd.DataFrame(
        {"occupation_category": postings["occupation_category"].astype(str), "period": label}
    ).dropna()
    counts = frame.groupby(["occupation_category", "period"], sort=True).size()
    return counts.rename("n").reset_index()


def onet_weights_by_period(
    postings: pd.DataFrame,
    crosswalk: pd.DataFrame,
    periods: Sequence[str | Period] | None = None,
) -> pd.DataFrame:
    """onetsoc_code, period, weight: posting counts spread over O*NET occupations with the
    crosswalk's weights (the ``--weights`` input of ``indices remote-work``)."""
    return category_weights_to_onet(category_posting_counts(postings, periods), crosswalk)


def _weighted(values: pd.Series, weights: pd.Series) -> tuple[float, float]:
    known = values.notna()
    total = float(weights.sum())
    covered = float(weights[known].sum())
    if covered <= 0:
        return float("nan"), 0.0
    return float((values[known] * weights[known]).sum() / covered), covered / total


def remote_work_trend(
    postings: pd.DataFrame,
    occupation_index: pd.DataFrame,
    crosswalk: pd.DataFrame,
    teleworkable: pd.Series,
    periods: Sequence[str | Period] | None = None,
) -> RemoteWorkTrend:
    """See the module docstring. ``occupation_index``: occupation_category, period (or year),
    index; ``teleworkable``: t_o indexed by O*NET-SOC 2019 code; ``periods``: windows (default
    calendar years)."""
    counts = category_posting_counts(postings, periods)
    if counts.empty:
        raise DataError("no postings in the periods compared")
    remote = category_values(teleworkable, crosswalk).set_index("category")["value"]
    index = occupation_index.copy()
    if "period" not in index.columns:
        index["period"] = index["year"].astype(str)
    keyed = index.set_index(["occupation_category", index["period"].astype(str)])["index"]
    counts["posting_share"] = counts["n"] / counts.groupby("period")["n"].transform("sum")
    counts["remote_work"] = counts["occupation_category"].map(remote)
    pairs = list(zip(counts["occupation_category"], counts["period"], strict=True))
    counts["index"] = [keyed.get(pair, np.nan) for pair in pairs]
    rows, correlations = [], []
    for period, group in counts.groupby("period", sort=True):
        remote_value, remote_coverage = _weighted(group["remote_work"], group["posting_share"])
        llm_value, llm_coverage = _weighted(group["index"], group["posting_share"])
        rows.append(
            {
                "period": period,
                "n_postings": int(group["n"].sum()),
                "remote_work_index": remote_value,
                "llm_index": llm_value,
                "coverage_remote_work": remote_coverage,
                "coverage_llm": llm_coverage,
            }
        )
        both = group.dropna(subset=["remote_work", "index"])
        record: dict[str, object] = {"period": period, "n": len(both)}
        if len(both) >= 3 and both["remote_work"].nunique() > 1 and both["index"].nunique() > 1:
            pearson = stats.pearsonr(both["remote_work"], both["index"])
            spearman = stats.spearmanr(both["remote_work"], both["index"])
            record.update(
                pearson_r=float(pearson.statistic),
                pearson_p=float(pearson.pvalue),
                spearman_rho=float(spearman.statistic),
                spearman_p=float(spearman.pvalue),
            )
        correlations.append(record)
    columns = ["period", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"]
    return RemoteWorkTrend(
        pd.DataFrame(rows),
        counts[["period", "occupation_category", "n", "posting_share", "remote_work", "index"]],
        pd.DataFrame(correlations).reindex(columns=columns),
    )


def remote_work_trend_from_files(
    postings_path: Path,
    occupation_index_path: Path,
    crosswalk_path: Path,
    data_dir: Path,
    periods: Sequence[str] | None = None,
) -> RemoteWorkTrend:
    """``dwa-rater indices remote-trend``: postings (occupation_category, date), the
    occupation index (occupation_category, index and year or period), a crosswalk
    (``crosswalk build``) and Dingel-Neiman teleworkability from ``data_dir/telework/``."""
    from dwa_rater.indices.city import read_occupation_index
    from dwa_rater.indices.crosswalk import read_crosswalk
    from dwa_rater.indices.published import load_crosswalks
    from dwa_rater.indices.remote_work import load_teleworkability, teleworkability_onetsoc2019

    postings = _read_category_postings(postings_path)
    index = read_occupation_index(occupation_index_path)
    if "year" not in index.columns and "period" not in index.columns:
        raise DataError(f"{occupation_index_path}: needs a year or period column")
    telework = teleworkability_onetsoc2019(
        load_teleworkability(data_dir / "telework" / "occupations_workathome.csv"),
        load_crosswalks(data_dir).onetsoc2010_onetsoc2019,
    )
    return remote_work_trend(
        postings,
        index,
        read_crosswalk(crosswalk_path),
        telework.set_index("onetsoc_code")["teleworkable"],
        periods,
    )


def _read_category_postings(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: postings file not found")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in ("occupation_category", "date") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    dates = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(f"{path} row {row + 1}: date {frame['date'].iloc[row]!r} is not a date")
    return frame.assign(date=dates)


def write_remote_work_trend(trend: RemoteWorkTrend, out: Path) -> list[Path]:
    """``out`` (national indices per period), ``<stem>_categories.csv`` and
    ``<stem>_correlations.csv``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    trend.national.to_csv(out, index=False)
    categories = out.with_name(f"{out.stem}_categories.csv")
    trend.categories.to_csv(categories, index=False, encoding="utf-8-sig")
    correlations = out.with_name(f"{out.stem}_correlations.csv")
    trend.correlations.to_csv(correlations, index=False)
    return [out, categories, correlations]
