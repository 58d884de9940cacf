"""The item score table every index reads: one row per rated item with alpha, beta, gamma, score.

Two inputs give the same table:

- the exported calibrated score table (``dwa-rater export``): columns ``item_id``, ``alpha``,
  ``beta``, ``gamma`` and optionally ``score`` and ``n``/``n_raters``; used as it is;
- a long ratings table (:data:`dwa_rater.schemas.RATING_COLUMNS`): failed rows are dropped, one
  rater (or several, averaged) is chosen, each label is coded numerically and averaged.

Codings of the exposure rubric (Eloundou, Manning, Mishkin & Rock 2023, "GPTs are GPTs", section
3.3): alpha counts only direct exposure (E1 = 1), beta counts indirect exposure at half weight
(E1 = 1, E2 = 0.5), gamma counts both fully (E1 = E2 = 1); E0 is 0 in all three. All scores are
on a 0-1 scale.

Averaging is in two stages: first over the samples of one rater, then over raters, so a rater
with more samples does not weigh more. :func:`score_items` also returns one-line notes about what
was averaged (a :class:`~dwa_rater.schemas.NotedTable`); :func:`dwa_scores` returns the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.prompts import exposure_scale
from dwa_rater.schemas import NotedTable
from dwa_rater.store import ok_ratings, read_ratings

#: Label -> value, per coding (Eloundou et al. 2023). Columns of the score table, in this order.
EXPOSURE_CODINGS: Mapping[str, Mapping[str, float]] = {
    name: exposure_scale().coding(name) for name in exposure_scale().codings
}

#: Columns of the score table returned by :func:`dwa_scores`.
SCORE_TABLE_COLUMNS: tuple[str, ...] = ("item_id", "alpha", "beta", "gamma", "score", "n")

#: Value of ``rater`` that selects every rater in the table (their scores are averaged).
ALL_RATERS = "all"

_CODED = ("alpha", "beta", "gamma")


def is_score_table(frame: pd.DataFrame) -> bool:
    """True when ``frame`` is an exported score table (it has alpha, beta and gamma columns)."""
    return "item_id" in frame.columns and all(c in frame.columns for c in _CODED)


def read_score_input(path: Path | str) -> pd.DataFrame:
    """Read either an exported score table or a long ratings table (CSV or Parquet).

    A score table keeps its columns (alpha/beta/gamma/score made numeric); anything else is read
    with :func:`dwa_rater.store.read_ratings` and must be a valid ratings table.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        if path.suffix.lower() == ".parquet":
            columns = list(pd.read_parquet(path).columns)
        else:
            columns = list(pd.read_csv(path, nrows=0, encoding="utf-8").columns)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if not ("item_id" in columns and all(c in columns for c in _CODED)):
        return read_ratings(path)
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    for column in (*_CODED, "score", "n", "n_raters"):
        if column in frame.columns:
            values = frame[column].replace("", pd.NA)
            numeric = pd.to_numeric(values, errors="coerce")
            bad = numeric.isna() & values.notna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise DataError(
                    f"{path}: column {column!r} holds a non-number {values.iloc[row]!r} "
                    f"(data line {row + 2})"
                )
            frame[column] = numeric
    frame["item_id"] = frame["item_id"].astype(str)
    return frame


def select_raters(frame: pd.DataFrame, rater: str | Sequence[str] | None) -> list[str]:
    """The raters to use: the one given, the several given, every one for ``"all"``.

    With ``rater=None`` the table must hold exactly one rater.
    """
    if "rater" not in frame.columns:
        if rater not in (None, ALL_RATERS):
            raise DataError(f"rater {rater!r} chosen but the table has no 'rater' column")
        return []
    known = sorted(str(r) for r in frame["rater"].dropna().unique())
    if not known:
        raise DataError("the ratings table names no rater (column 'rater' is empty)")
    if rater is None:
        if len(known) > 1:
            raise DataError(
                f"several raters in the ratings ({', '.join(known)}); choose one with --rater NAME "
                f"(repeat --rater, or use --rater {ALL_RATERS}, to average several)"
            )
        return known
    wanted = [rater] if isinstance(rater, str) else list(rater)
    if ALL_RATERS in wanted:
        return known
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise DataError(
            f"rater(s) {', '.join(repr(r) for r in unknown)} not in the ratings; "
            f"known raters: {', '.join(known)}"
        )
    return list(dict.fromkeys(wanted))


def _code_labels(frame: pd.DataFrame, coding: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    labels = frame["label"].astype("string").str.strip().str.upper()
    known = set().union(*(set(m) for m in coding.values()))
    unknown = labels.notna() & ~labels.isin(known)
    if unknown.any():
        bad = labels[unknown]
        first = frame.loc[unknown, "item_id"].iloc[0]
        raise DataError(
            f"label(s) {', '.join(sorted(set(bad)))} not in the coding "
            f"({', '.join(sorted(known))}); {int(unknown.sum())} row(s), first at item {first}"
        )
    coded = pd.DataFrame({"item_id": frame["item_id"].astype(str), "rater": frame["rater"]})
    for name, mapping in coding.items():
        coded[name] = labels.map(lambda v, m=mapping: m.get(v) if isinstance(v, str) else None)
        coded[name] = pd.to_numeric(coded[name], errors="coerce").astype(float)
    coded["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    return coded


def dwa_scores(
    frame: pd.DataFrame,
    rater: str | Sequence[str] | None = None,
    coding: Mapping[str, Mapping[str, float]] = EXPOSURE_CODINGS,
) -> pd.DataFrame:
    """The table of :func:`score_items` (without its notes)."""
    return score_items(frame, rater, coding).table


def score_items(
    frame: pd.DataFrame,
    rater: str | Sequence[str] | None = None,
    coding: Mapping[str, Mapping[str, float]] = EXPOSURE_CODINGS,
) -> NotedTable:
    """One row per item: item_id, the coded means (alpha, beta, gamma), score, n.

    ``frame`` is an exported score table (detected by :func:`is_score_table`) or a long ratings
    table. For ratings: failed rows are dropped; ``rater`` names one rater, several, or
    ``"all"``; labels are coded with ``coding`` (label -> value per column, default
    :data:`EXPOSURE_CODINGS`, labels compared upper-cased) and averaged over samples, then over
    raters; ``score`` is the mean of the numeric ``score`` column (NaN when no rater gave one);
    ``n`` counts the ratings rows used. Raises :class:`DataError` for an unknown rater, several
    raters with none chosen, labels outside the coding, or no usable rows.
    """
    notes: list[str] = []
    if is_score_table(frame):
        table = frame
        if "rater" in table.columns and table["rater"].notna().any():
            chosen = select_raters(table, rater)
            table = table[table["rater"].isin(chosen)]
        duplicated = table["item_id"].astype(str).duplicated()
        if duplicated.any():
            raise DataError(
                f"score table lists item {table['item_id'][duplicated].iloc[0]} more than once"
            )
        out = pd.DataFrame({"item_id": table["item_id"].astype(str).to_numpy()})
        for column in (*_CODED, "score"):
            source = (
                table[column] if column in table.columns else pd.Series(float("nan"), table.index)
            )
            out[column] = pd.to_numeric(source, errors="coerce").astype(float).to_numpy()
        n_column = (
            "n" if "n" in table.columns else "n_raters" if "n_raters" in table.columns else None
        )
        n_values = table[n_column] if n_column else pd.Series(pd.NA, index=table.index)
        out["n"] = pd.to_numeric(n_values, errors="coerce").astype("Int64").to_numpy()
        notes.append(f"score table: {len(out)} items used as exported")
        return NotedTable(out, tuple(notes))

    if "label" not in frame.columns and "score" not in frame.columns:
        raise DataError("ratings table has neither a 'label' nor a 'score' column")
    rows = ok_ratings(frame) if "status" in frame.columns else frame
    if "label" not in rows.columns:
        rows = rows.assign(label=pd.NA)
    if "score" not in rows.columns:
        rows = rows.assign(score=pd.NA)
    chosen = select_raters(rows, rater)
    rows = rows[rows["rater"].isin(chosen)] if chosen else rows.assign(rater="")
    if rows.empty:
        raise DataError("no successful ratings to score")
    coded = _code_labels(rows, coding)
    value_columns = [*coding, "score"]
    per_rater = coded.groupby(["item_id", "rater"], sort=False)[value_columns].mean()
    out = per_rater.groupby(level="item_id", sort=False).mean().reset_index()
    counts = coded.groupby("item_id", sort=False).size()
    out["n"] = out["item_id"].map(counts).astype("Int64")
    out = out[["item_id", *value_columns, "n"]]
    if len(chosen) > 1:
        notes.append(
            f"averaged {len(chosen)} raters ({', '.join(chosen)}): mean over each rater's "
            "samples, then mean over raters"
        )
    samples = coded.groupby(["item_id", "rater"]).size()
    if (samples > 1).any():
        notes.append(f"averaged up to {int(samples.max())} samples per item and rater")
    return NotedTable(out.reset_index(drop=True), tuple(notes))
