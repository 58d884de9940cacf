"""A stratified sample of reference items for a benchmark.

Strata are (occupation group, human label), the occupation group being the O*NET-SOC major
group (the first two digits of ``onetsoc_code``; one stratum ``all`` when the reference has no
codes). ``n`` items are allocated to strata in proportion to their size by the largest-remainder
method (Hamilton), then drawn without replacement with a seeded generator, so the sample has the
reference's mix of occupations and labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError


def allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Largest-remainder proportional allocation of ``n`` over strata of ``sizes`` (ties: the
    larger stratum, then the first); never more than a stratum holds."""
    total = int(sizes.sum())
    if n > total:
        raise ConfigError(f"cannot sample {n} items from {total}")
    quotas = sizes * n / total
    base = np.floor(quotas).astype(int)
    remainder = n - int(base.sum())
    order = sorted(
        range(len(sizes)),
        key=lambda i: (-(quotas.iloc[i] - base.iloc[i]), -int(sizes.iloc[i]), i),
    )
    for i in order[:remainder]:
        base.iloc[i] += 1
    return base.clip(upper=sizes)


def stratified_sample(reference: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of ``reference`` (one row per item: item_id, label, optionally onetsoc_code),
    stratified by occupation group and label (see the module docstring), in item order."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, not {n}")
    codes = (
        reference["onetsoc_code"].astype("string").str[:2].fillna("??")
        if "onetsoc_code" in reference.columns
        else pd.Series("all", index=reference.index)
    )
    strata = codes + "|" + reference["label"].astype(str)
    sizes = strata.value_counts().sort_index()
    counts = allocate(sizes, n)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for stratum, count in counts.items():
        if count == 0:
            continue
        members = np.flatnonzero((strata == stratum).to_numpy())
        chosen.extend(rng.choice(members, size=int(count), replace=False).tolist())
    return reference.iloc[sorted(chosen)].reset_index(drop=True)
