"""Agreement and calibration from Python, on ratings tables or ratings files.

The functions behind ``dwa_rater.agree`` and ``dwa_rater.calibrate``: thin, keyword-only
front doors to :func:`dwa_rater.agreement.assess_agreement` and
:func:`dwa_rater.calibration.calibrate_ratings`, which hold the statistics (and say which
formulas and sources they follow).

Example::

    import dwa_rater

    table = dwa_rater.rate(items, raters="raters.toml")
    result = dwa_rater.agree(table)                 # kappa family, alpha, ICC, correlations
    result.summary["overall"]
    scores = dwa_rater.calibrate([table, "annotations/review/ratings.csv"], human="human")
    scores.scores.head()
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import pandas as pd

from dwa_rater.agreement import AgreementResult, BootstrapSpec, LabelScale, assess_agreement
from dwa_rater.calibration import CalibrationOptions, CalibrationResult, calibrate_ratings
from dwa_rater.errors import ConfigError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR
from dwa_rater.store import read_many_ratings

#: A ratings table, a ratings file, or several of either (concatenated).
RatingsInput: TypeAlias = (
    pd.DataFrame | str | os.PathLike[str] | Sequence[pd.DataFrame | str | os.PathLike[str]]
)


def as_ratings(ratings: RatingsInput) -> pd.DataFrame:
    """One long ratings table from tables and/or ratings files (CSV or Parquet).

    Example::

        >>> as_ratings(pd.DataFrame({"item_id": ["a"], "rater": ["r"], "label": ["E1"]})).shape
        (1, 3)
    """
    if isinstance(ratings, pd.DataFrame):
        return ratings
    parts = [ratings] if isinstance(ratings, str | os.PathLike) else list(ratings)
    if not parts:
        raise ConfigError("ratings: give a table, a file or a list of them")
    frames = []
    paths: list[Path] = []
    for part in parts:
        if isinstance(part, pd.DataFrame):
            frames.append(part)
        elif isinstance(part, str | os.PathLike):
            paths.append(Path(part))
        else:
            raise ConfigError(f"ratings: {type(part).__name__} is neither a table nor a path")
    if paths:
        frames.append(read_many_ratings(paths))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def agree(
    ratings: RatingsInput,
    *,
    raters: Sequence[str] | None = None,
    scale: LabelScale | None = None,
    collapse: Literal["mode", "first"] = "mode",
    groups: pd.Series | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Agreement between the raters of a long ratings table (``dwa-rater agree``).

    Pairwise Cohen's kappa (plain, linear, quadratic), percent agreement, Krippendorff's alpha,
    Fleiss' kappa, ICC(2,1)/ICC(2,k) on scores and correlations, each with a percentile
    bootstrap interval over items (``n_bootstrap`` resamples, ``seed``; 0 for none), plus each
    rater's self-consistency over samples. ``raters`` picks and orders raters; ``scale`` sets
    the label order and coding (default E0 < E2 < E1); ``collapse`` turns several samples into
    one label per item and rater; ``groups`` (item_id -> group) adds a breakdown. Returns the
    JSON-ready ``summary`` and the matrices behind it. Example::

        >>> result = agree("out/panel.csv", n_bootstrap=200)    # doctest: +SKIP
        >>> result.summary["overall"]["krippendorff_alpha_nominal"]   # doctest: +SKIP
    """
    return assess_agreement(
        as_ratings(ratings),
        scale,
        raters=raters,
        collapse=collapse,
        groups=groups,
        bootstrap=BootstrapSpec(n_resamples=n_bootstrap, seed=seed, confidence=confidence),
    )


def calibrate(
    ratings: RatingsInput,
    *,
    human: str = "human",
    require_human: bool = True,
    groups: pd.DataFrame | None = None,
    folds: int = 5,
    seed: int = 0,
    use_calibration: Literal["auto", "always", "never"] = "auto",
    bootstrap: int = 200,
    confidence: float = 0.95,
    rubric: str | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
) -> CalibrationResult:
    """One calibrated score per activity from LLM raters and human labels (``dwa-rater calibrate``).

    LLM raters are combined by a Dawid-Skene latent-class model; where enough items carry
    ``human`` labels, a cross-validated mapping (multinomial logistic / isotonic regression)
    calibrates the result, and human labels are final for the items they cover.
    ``require_human=False`` turns a missing human rater into a warning. ``groups`` (group,
    item_id, weight) adds an occupation-level evaluation. The labels and codings are those of
    the rubric the LLM raters' rows name (``prompt_name``/``prompt_version``, looked up in
    ``prompts_dir`` on top of the shipped rubrics), or of ``rubric`` (``name[@version]``) when
    given: one ``p_<label>`` column per label and one column per coding. Returns the score table
    (``result.scores``), the evaluation, warnings and notes. Example::

        >>> result = calibrate(["out/panel.csv", "annotations/p/ratings.csv"])  # doctest: +SKIP
        >>> result.scores[["item_id", "label", "score", "source"]]           # doctest: +SKIP
    """
    options = CalibrationOptions(
        human=human,
        require_human=require_human,
        folds=folds,
        seed=seed,
        use_calibration=use_calibration,
        bootstrap=bootstrap,
        confidence=confidence,
    )
    return calibrate_ratings(
        as_ratings(ratings),
        options,
        groups,
        rubric=rubric,
        prompts_dir=DEFAULT_PROMPTS_DIR if prompts_dir is None else Path(prompts_dir),
    )
