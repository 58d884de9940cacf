"""The study's exposure estimate with an interval resting on the human labels (issue 15).

After calibration, when human labels exist, the mean of the study's measure over the rated DWAs
is estimated from the LLM panel's labels and the human labels (PPI++, or the cross-fitted
combination of several raters; :mod:`dwa_rater.inference.estimate`). The human items came from
``review select``: its table (``review/contested.csv``) is passed on, so contested items are
left out and only the random audit sample counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.inference.estimate import EstimateOptions, estimate_ratings
from dwa_rater.inference.files import read_selection_table, write_table

#: Where the estimate goes inside the study folder.
ESTIMATE_FILE = Path("indices") / "exposure_estimate.csv"


def study_estimate(
    ratings: pd.DataFrame,
    out_dir: Path,
    human: str,
    panel: list[str],
    measure: str,
    selection: Path | None,
) -> dict[str, Any]:
    """Estimate, write ``indices/exposure_estimate.csv`` and return the step's record (only a
    ``reason`` when there are no human labels yet)."""
    raters = set(ratings["rater"].dropna().astype(str))
    if human not in raters:
        # nothing to estimate yet: the step is done, and says why there is no interval
        return {"reason": f"no human labels (rater {human!r}) yet: no interval"}
    from dwa_rater.study.intervals import raters_with_measure

    # a rubric with only a 0-1 score (ilo) has no label to code as alpha/beta/gamma
    predicted = tuple(raters_with_measure(ratings, [r for r in panel if r != human], measure))
    if not predicted:
        raise DataError("no LLM rater in the ratings")
    options = EstimateOptions(gold=human, predicted=predicted, measure=measure)
    chosen = read_selection_table(selection) if selection and selection.is_file() else None
    result = estimate_ratings(ratings, options, chosen)
    path = write_table(result.table, out_dir / ESTIMATE_FILE)
    row = result.table.iloc[0]
    return {
        "file": str(path),
        "estimate": float(row["estimate"]),
        "ci": [float(row["ci_low"]), float(row["ci_high"])],
        "method": str(row["method"]),
        "human_sample": f"{int(row['n_gold'])} human labels of rater {human!r} "
        f"({int(row['n_gold_excluded'])} contested left out) on {int(row['n'])} DWAs",
        "warning": str(row["warning"]),
    }
