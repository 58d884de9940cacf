"""Compare an occupation exposure table with published occupation-level measures.

The occupation table is keyed by O*NET-SOC 2019 codes (O*NET 30.x). Each measure keeps its own
code system and the occupation scores are carried into it, averaging where several occupations
land on one code:

- SOC 2018 (6-digit): the first 7 characters of the O*NET-SOC code;
- SOC 2010 (6-digit): SOC 2018 through the BLS 2010-2018 crosswalk (``bls_soc2010_soc2018.csv``);
- O*NET-SOC 2010: through O*NET's 2010-2019 crosswalk (``onetsoc2010_to_onetsoc2019.csv``);
- ISCO-08 (4-digit): through ``derived_onetsoc2019_to_isco08.csv``, which is many-to-many and
  unweighted. An O*NET occupation counts fully toward every ISCO candidate and an ISCO code gets
  the plain mean of its candidates: a rough mapping.

Measures read from ``<data dir>/exposure`` and ``<data dir>/telework`` (see docs/data.md):

- Felten, Raj & Seamans (2021) AIOE and (2023) LM-AIOE, SOC 2010;
- Webb (2020) AI exposure score, O*NET-SOC 2010 (third-party copy of the replication files);
- Tomlinson et al. (2025) Microsoft "Working with AI" AI applicability score, SOC 2018;
- Gmyrek, Berg & Bescond (2023) ILO WP 96 mean GPT-4 exposure score, ISCO-08 4-digit;
- Dingel & Neiman (2020) teleworkability (0/1), O*NET-SOC 2010.

Correlations: Pearson r, Spearman rho and Kendall tau-b (``scipy.stats``) over the codes where
both values are present.

This product includes information from the O*NET 30.1 Database by the U.S. Department of Labor,
Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 license. O*NET® is a
trademark of USDOL/ETA. The O*NET-SOC to ISCO-08 crosswalk used here was modified by the
dwa_rater project. USDOL/ETA has not approved, endorsed, or tested these modifications.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwa_rater.errors import DataError
from dwa_rater.indices.onet import ONET_ATTRIBUTION, ONET_MODIFIED

CodeSystem = Literal["onetsoc2019", "onetsoc2010", "soc2018", "soc2010", "isco08"]

#: Lines every written comparison carries (docs/data.md, O*NET attribution).
ATTRIBUTION_LINES: tuple[str, ...] = (ONET_ATTRIBUTION, ONET_MODIFIED)


@dataclass(frozen=True)
class PublishedMeasure:
    """One published occupation measure: ``values`` has columns code and value."""

    name: str
    code_system: CodeSystem
    values: pd.DataFrame
    citation: str


@dataclass(frozen=True)
class Crosswalks:
    """Code crosswalks, each a two-column frame of string codes (many-to-many allowed)."""

    soc2010_soc2018: pd.DataFrame  # soc2010_code, soc2018_code
    onetsoc2010_onetsoc2019: pd.DataFrame  # onetsoc2010_code, onetsoc2019_code
    onetsoc2019_isco08: pd.DataFrame  # onetsoc2019_code, isco08_code


def _read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def _isco(code: pd.Series) -> pd.Series:
    return code.str.strip().str.zfill(4)


def load_crosswalks(data_dir: Path) -> Crosswalks:
    """Read the three crosswalks from ``<data_dir>/crosswalks``."""
    folder = data_dir / "crosswalks"
    soc = _read_csv(folder / "bls_soc2010_soc2018.csv", ["soc2010_code", "soc2018_code"])
    onet = _read_csv(
        folder / "onetsoc2010_to_onetsoc2019.csv", ["O*NET-SOC 2010 Code", "O*NET-SOC 2019 Code"]
    )
    isco = _read_csv(
        folder / "derived_onetsoc2019_to_isco08.csv", ["onetsoc2019_code", "isco08_code"]
    )
    return Crosswalks(
        soc2010_soc2018=soc[["soc2010_code", "soc2018_code"]].apply(lambda s: s.str.strip()),
        onetsoc2010_onetsoc2019=pd.DataFrame(
            {
                "onetsoc2010_code": onet["O*NET-SOC 2010 Code"].str.strip(),
                "onetsoc2019_code": onet["O*NET-SOC 2019 Code"].str.strip(),
            }
        ),
        onetsoc2019_isco08=pd.DataFrame(
            {
                "onetsoc2019_code": isco["onetsoc2019_code"].str.strip(),
                "isco08_code": _isco(isco["isco08_code"]),
            }
        ),
    )


def _measure(path: Path, code: str, value: str) -> pd.DataFrame:
    frame = _read_csv(path, [code, value])
    out = pd.DataFrame(
        {"code": frame[code].str.strip(), "value": pd.to_numeric(frame[value], errors="coerce")}
    )
    return out.dropna(subset=["value"]).groupby("code", as_index=False)["value"].mean()


def load_published_measures(data_dir: Path) -> list[PublishedMeasure]:
    """The published measures under ``<data_dir>/exposure`` and ``<data_dir>/telework``."""
    exposure = data_dir / "exposure"
    ilo = _measure(
        exposure / "ilo_gmyrek" / "gmyrek_berg_bescond_2023_isco4digit.csv", "isco", "mean_score"
    )
    ilo["code"] = _isco(ilo["code"])
    return [
        PublishedMeasure(
            "felten_aioe",
            "soc2010",
            _measure(exposure / "felten_aioe" / "aioe_by_soc.csv", "soc_code", "aioe"),
            "Felten, Raj & Seamans (2021), Strategic Management Journal 42(12)",
        ),
        PublishedMeasure(
            "felten_lm_aioe",
            "soc2010",
            _measure(exposure / "felten_aioe" / "lm_aioe_by_soc.csv", "soc_code", "lm_aioe"),
            "Felten, Raj & Seamans (2023), language-modelling AIOE",
        ),
        PublishedMeasure(
            "webb_ai",
            "onetsoc2010",
            _measure(
                exposure / "webb2020" / "webb_scores_by_onetsoc2010.csv", "onetsoccode", "ai_score"
            ),
            "Webb (2020), Stanford working paper (third-party copy of the replication files)",
        ),
        PublishedMeasure(
            "microsoft_ai_applicability",
            "soc2018",
            _measure(
                exposure / "microsoft_working_with_ai" / "soc_ai_applicability_scores.csv",
                "SOC Code",
                "ai_applicability_score",
            ),
            "Tomlinson, Jaffe, Wang, Counts & Suri (2025), arXiv 2507.07935, CC BY 4.0",
        ),
        PublishedMeasure(
            "ilo_gmyrek_2023",
            "isco08",
            ilo,
            "Gmyrek, Berg & Bescond (2023), ILO Working Paper 96",
        ),
        PublishedMeasure(
            "dingel_neiman_teleworkable",
            "onetsoc2010",
            _measure(
                data_dir / "telework" / "occupations_workathome.csv", "onetsoccode", "teleworkable"
            ),
            "Dingel & Neiman (2020), Journal of Public Economics 189",
        ),
    ]


def map_occupations(
    occupations: pd.DataFrame, column: str, system: CodeSystem, crosswalks: Crosswalks
) -> pd.DataFrame:
    """Carry ``occupations[column]`` (keyed by O*NET-SOC 2019 ``onetsoc_code``) into ``system``.

    Returns code, value (mean over the occupations landing on the code) and n_source (how many).
    Occupations that the crosswalk does not reach are dropped.
    """
    base = pd.DataFrame(
        {
            "onetsoc2019_code": occupations["onetsoc_code"].astype(str).str.strip(),
            "value": pd.to_numeric(occupations[column], errors="coerce"),
        }
    ).dropna(subset=["value"])
    if system == "onetsoc2019":
        linked = base.rename(columns={"onetsoc2019_code": "code"})
    elif system == "soc2018":
        linked = base.assign(code=base["onetsoc2019_code"].str[:7])
    elif system == "soc2010":
        soc2018 = base.assign(soc2018_code=base["onetsoc2019_code"].str[:7])
        linked = soc2018.merge(crosswalks.soc2010_soc2018, on="soc2018_code")
        linked = linked.rename(columns={"soc2010_code": "code"})
    elif system == "onetsoc2010":
        linked = base.merge(crosswalks.onetsoc2010_onetsoc2019, on="onetsoc2019_code")
        linked = linked.rename(columns={"onetsoc2010_code": "code"})
    elif system == "isco08":
        linked = base.merge(crosswalks.onetsoc2019_isco08, on="onetsoc2019_code")
        linked = linked.rename(columns={"isco08_code": "code"})
    else:
        raise DataError(f"unknown code system {system!r}")
    # One occupation may reach a code through several crosswalk rows; count it once.
    linked = linked.drop_duplicates(subset=["code", "onetsoc2019_code"])
    grouped = linked.groupby("code")["value"]
    return pd.DataFrame({"value": grouped.mean(), "n_source": grouped.size()}).reset_index()


def paired_correlations(x: pd.Series | np.ndarray, y: pd.Series | np.ndarray) -> dict[str, float]:
    """Pearson r, Spearman rho and Kendall tau-b of two paired samples (NaN when n < 3)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    result = {"n": float(len(a)), "pearson": np.nan, "spearman": np.nan, "kendall": np.nan}
    if len(a) >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0:
        with warnings.catch_warnings():
            # Nearly constant inputs (tiny samples) are legitimate here; the value stands.
            warnings.simplefilter("ignore", stats.NearConstantInputWarning)
            result["pearson"] = float(stats.pearsonr(a, b)[0])
        result["spearman"] = float(stats.spearmanr(a, b)[0])
        result["kendall"] = float(stats.kendalltau(a, b)[0])
    return result


def compare_with_published(
    occupations: pd.DataFrame,
    column: str,
    measures: Sequence[PublishedMeasure],
    crosswalks: Crosswalks,
) -> pd.DataFrame:
    """One row per measure: measure, code_system, n_measure, n_matched, pearson, spearman,
    kendall, note, citation.

    ``occupations`` has onetsoc_code (O*NET-SOC 2019) and ``column``; see the module docstring for
    how codes are mapped.
    """
    for needed in ("onetsoc_code", column):
        if needed not in occupations.columns:
            present = ", ".join(map(str, occupations.columns))
            raise DataError(f"occupation table lacks column {needed!r} (has {present})")
    if pd.to_numeric(occupations[column], errors="coerce").notna().sum() == 0:
        raise DataError(f"occupation column {column!r} holds no numbers")
    rows = []
    for measure in measures:
        mapped = map_occupations(occupations, column, measure.code_system, crosswalks)
        joined = mapped.merge(measure.values, on="code", suffixes=("_ours", "_published"))
        stat = paired_correlations(joined["value_ours"], joined["value_published"])
        note = ""
        if measure.code_system == "isco08":
            note = (
                "many-to-many O*NET-SOC to ISCO-08 crosswalk: each ISCO code gets the mean over "
                "all its O*NET candidates, unweighted"
            )
        elif int((mapped["n_source"] > 1).sum()):
            note = f"{int((mapped['n_source'] > 1).sum())} codes average several occupations"
        rows.append(
            {
                "measure": measure.name,
                "code_system": measure.code_system,
                "n_measure": len(measure.values),
                "n_matched": int(stat["n"]),
                "pearson": stat["pearson"],
                "spearman": stat["spearman"],
                "kendall": stat["kendall"],
                "note": note,
                "citation": measure.citation,
            }
        )
    return pd.DataFrame(rows)


def read_occupation_table(path: Path) -> pd.DataFrame:
    """Read an occupation table (CSV or Parquet) keyed by ``onetsoc_code``."""
    if not path.is_file():
        raise DataError(f"{path}: occupation table not found")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"onetsoc_code": str}, encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read occupation table ({exc})") from exc
    if "onetsoc_code" not in frame.columns:
        raise DataError(f"{path}: occupation table lacks column 'onetsoc_code'")
    return frame


def compare_files(occupations_path: Path, column: str, data_dir: Path) -> pd.DataFrame:
    """:func:`compare_with_published` on an occupation file and the reference-data folder."""
    occupations = read_occupation_table(occupations_path)
    return compare_with_published(
        occupations, column, load_published_measures(data_dir), load_crosswalks(data_dir)
    )


def write_with_attribution(
    frame: pd.DataFrame, path: Path, lines: Sequence[str] = ATTRIBUTION_LINES
) -> Path:
    """Write ``frame`` as CSV and the attribution lines next to it, as ``<stem>.ATTRIBUTION.txt``.

    The CSV stays a plain table (no comment lines to trip readers); the sidecar carries the
    O*NET CC BY 4.0 notice docs/data.md asks every derived output to keep. Returns the sidecar.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    frame.to_csv(temporary, index=False, lineterminator="\n")
    temporary.replace(path)
    sidecar = path.with_name(f"{path.stem}.ATTRIBUTION.txt")
    sidecar.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sidecar
