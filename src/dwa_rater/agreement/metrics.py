"""Agreement statistics as pure functions on numpy arrays.

Two layers:

- *Scalar functions* (``cohen_kappa``, ``krippendorff_alpha``, ``fleiss_kappa``, ``icc2``,
  ``correlations``, ...) take plain arrays, return a float and raise
  :class:`UndefinedMetricError` with a reason when the statistic has no value for the data.
- *Batched kernels* (``*_from_tables``, ``*_from_coincidences``, ``*_weighted``) compute the same
  formulas over a leading batch axis of contingency tables or item weights. The scalar functions
  call them with a batch of one, and the bootstrap calls them with one row per resample, so the
  point estimate and its interval come from one formula. Where a kernel meets a zero denominator
  it returns NaN; callers turn that into a reason.

Category data are given as integer positions along the scale order (0 = lowest category).
Sources of the formulas are cited on each function; numpy/scipy have no kappa, alpha or ICC, so
those are written here and tested against scikit-learn, statsmodels, the ``krippendorff`` package
and pingouin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from dwa_rater.errors import DataError

KappaWeights = Literal["none", "linear", "quadratic"]
AlphaLevel = Literal["nominal", "ordinal", "interval"]
FloatArray = NDArray[np.float64]


class UndefinedMetricError(DataError):
    """A statistic has no value for these data (e.g. kappa when every rating is the same)."""


# --- contingency tables (two raters, complete items) ---------------------------------------


def confusion_matrix(a: ArrayLike, b: ArrayLike, n_categories: int) -> NDArray[np.int64]:
    """Counts ``m[i, j]`` of items that rater a put in category i and rater b in category j."""
    a_pos, b_pos = _positions(a, n_categories), _positions(b, n_categories)
    if a_pos.shape != b_pos.shape:
        raise DataError("the two raters' label arrays differ in length")
    cells = a_pos * n_categories + b_pos
    counts = np.bincount(cells, minlength=n_categories * n_categories)
    return counts.reshape(n_categories, n_categories)


def cohen_kappa(
    a: ArrayLike, b: ArrayLike, n_categories: int, weights: KappaWeights = "none"
) -> float:
    """Cohen's kappa of two raters' category positions (0..K-1), weighted along the order.

    Equals ``sklearn.metrics.cohen_kappa_score(a, b, labels=range(K), weights=...)``.
    """
    table = confusion_matrix(a, b, n_categories)
    if table.sum() < 1:
        raise UndefinedMetricError("no item rated by both raters")
    value = float(kappa_from_tables(table, weights))
    if np.isnan(value):
        used = np.flatnonzero(table.sum(axis=0) + table.sum(axis=1))
        raise UndefinedMetricError(f"both raters used only category {used[0]}")
    return value


def percent_agreement(a: ArrayLike, b: ArrayLike) -> float:
    """Share (0-1) of items given the same category by both raters."""
    x, y = np.asarray(a), np.asarray(b)
    if x.size == 0:
        raise UndefinedMetricError("no item rated by both raters")
    return float(np.mean(x == y))


def disagreement_weights(n_categories: int, weights: KappaWeights) -> FloatArray:
    """Cohen's disagreement weights along the order: 1 - identity, |i-j|, or (i-j)^2.

    Scaling the weights by a constant (e.g. dividing by (k-1)^2) leaves weighted kappa unchanged,
    so the unscaled form of scikit-learn's ``cohen_kappa_score`` is used.
    """
    index = np.arange(n_categories, dtype=float)
    gap = index[:, None] - index[None, :]
    if weights == "none":
        return (gap != 0).astype(float)
    if weights == "linear":
        return np.abs(gap)
    if weights == "quadratic":
        return gap**2
    raise ValueError(f"unknown kappa weights {weights!r}")


def kappa_from_tables(tables: ArrayLike, weights: KappaWeights = "none") -> FloatArray:
    """Cohen's (weighted) kappa of each K x K contingency table in a batch ``(..., K, K)``.

    kappa_w = 1 - sum(w * p_observed) / sum(w * p_expected), with p_expected the outer product of
    the two raters' marginal shares (Cohen 1960; Cohen 1968 for the weighted form). With
    ``weights="none"`` this equals (p_o - p_e) / (1 - p_e). NaN where p_expected puts all mass
    on zero-weight cells (both raters used one and the same category).
    """
    counts = np.asarray(tables, dtype=float)
    total = counts.sum(axis=(-2, -1))[..., None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = counts / total
        expected = observed.sum(axis=-1)[..., :, None] * observed.sum(axis=-2)[..., None, :]
        w = disagreement_weights(counts.shape[-1], weights)
        d_observed = (w * observed).sum(axis=(-2, -1))
        d_expected = (w * expected).sum(axis=(-2, -1))
        result = 1.0 - d_observed / d_expected
    return np.where(d_expected > 1e-12, result, np.nan)


def percent_agreement_from_tables(tables: ArrayLike) -> FloatArray:
    """Share of items (0-1) on the diagonal of each contingency table."""
    counts = np.asarray(tables, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.trace(counts, axis1=-2, axis2=-1) / counts.sum(axis=(-2, -1))


def pearson_from_tables(
    tables: ArrayLike, row_values: ArrayLike, col_values: ArrayLike
) -> FloatArray:
    """Pearson's r of two raters' numeric codes, from contingency tables ``(..., K, K)``.

    ``row_values``/``col_values`` give each row's/column's value, shape ``(K,)`` or batched.
    """
    counts = np.asarray(tables, dtype=float)
    x = np.asarray(row_values, dtype=float)
    y = np.asarray(col_values, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = counts.sum(axis=(-2, -1))
        rows, cols = counts.sum(axis=-1), counts.sum(axis=-2)
        mean_x = (rows * x).sum(axis=-1) / n
        mean_y = (cols * y).sum(axis=-1) / n
        dx = x - mean_x[..., None]
        dy = y - mean_y[..., None]
        covariance = (counts * dx[..., :, None] * dy[..., None, :]).sum(axis=(-2, -1))
        var_x = (rows * dx**2).sum(axis=-1)
        var_y = (cols * dy**2).sum(axis=-1)
        r = covariance / np.sqrt(var_x * var_y)
    return np.where((var_x > 1e-12 * n) & (var_y > 1e-12 * n), np.clip(r, -1.0, 1.0), np.nan)


def _midranks(counts: FloatArray) -> FloatArray:
    """Average rank of each ordered category given its frequencies ``(..., K)`` (ranks from 1)."""
    before = np.cumsum(counts, axis=-1) - counts
    return before + (counts + 1.0) / 2.0


def spearman_from_tables(tables: ArrayLike) -> FloatArray:
    """Spearman's rho (Pearson's r of average ranks, ties share their mean rank) from tables.

    Rows and columns must be in ascending order of the ranked values, with tied values already
    merged into one row/column (see :func:`merge_tied_categories`).
    """
    counts = np.asarray(tables, dtype=float)
    rank_x = _midranks(counts.sum(axis=-1))
    rank_y = _midranks(counts.sum(axis=-2))
    return pearson_from_tables(counts, rank_x, rank_y)


def kendall_tau_b_from_tables(tables: ArrayLike) -> FloatArray:
    """Kendall's tau-b from contingency tables whose rows/columns are in ascending value order.

    tau_b = (P - Q) / sqrt((n0 - n1)(n0 - n2)), with P/Q the concordant/discordant pairs,
    n0 = n(n-1)/2 and n1, n2 the pairs tied on each rater (Kendall 1945; Agresti 2010, 2.4.4).
    """
    counts = np.asarray(tables, dtype=float)
    # at_least[..., i, j] = sum of counts with row >= i and column >= j
    at_least = np.flip(np.flip(counts, (-2, -1)).cumsum(-2).cumsum(-1), (-2, -1))
    higher_both = np.zeros_like(counts)
    higher_both[..., :-1, :-1] = at_least[..., 1:, 1:]
    # higher_row_lower_col[..., i, j] = sum of counts with row > i and column < j
    row_tail = np.flip(np.flip(counts, -2).cumsum(-2), -2)
    row_tail_col_head = row_tail.cumsum(-1)
    higher_row_lower_col = np.zeros_like(counts)
    higher_row_lower_col[..., :-1, 1:] = row_tail_col_head[..., 1:, :-1]
    concordant = (counts * higher_both).sum(axis=(-2, -1))
    discordant = (counts * higher_row_lower_col).sum(axis=(-2, -1))
    n = counts.sum(axis=(-2, -1))
    rows, cols = counts.sum(axis=-1), counts.sum(axis=-2)
    n0 = n * (n - 1) / 2
    n1 = (rows * (rows - 1) / 2).sum(axis=-1)
    n2 = (cols * (cols - 1) / 2).sum(axis=-1)
    denominator = (n0 - n1) * (n0 - n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (concordant - discordant) / np.sqrt(denominator)
    return np.where(denominator > 0, np.clip(tau, -1.0, 1.0), np.nan)


def merge_tied_categories(
    tables: ArrayLike, codes: Sequence[float]
) -> tuple[FloatArray, FloatArray]:
    """Sum rows and columns of categories sharing a numeric code; return tables and unique codes.

    Needed for rank statistics on codes (e.g. the alpha coding gives E0 and E2 the code 0, so
    they are one tied value, not two ordered ones).
    """
    values, inverse = np.unique(np.asarray(codes, dtype=float), return_inverse=True)
    indicator = np.zeros((len(codes), len(values)))
    indicator[np.arange(len(codes)), inverse] = 1.0
    counts = np.asarray(tables, dtype=float)
    merged = np.einsum("ki,...kl,lj->...ij", indicator, counts, indicator)
    return merged, values


# --- Krippendorff's alpha -------------------------------------------------------------------


def unit_coincidences(unit_counts: ArrayLike) -> FloatArray:
    """Each unit's contribution to the coincidence matrix, ``(N, K, K)``.

    ``unit_counts[u, c]`` is how many coders put unit u in category c. A unit with m_u >= 2
    values adds (m_uc * m_uk - [c = k] * m_uc) / (m_u - 1) to o_ck; units with fewer than two
    values are not pairable and add nothing (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability", section C).
    """
    counts = np.asarray(unit_counts, dtype=float)
    m = counts.sum(axis=1)
    pairs = counts[:, :, None] * counts[:, None, :]
    idx = np.arange(counts.shape[1])
    pairs[:, idx, idx] -= counts
    with np.errstate(invalid="ignore", divide="ignore"):
        contribution = pairs / (m - 1)[:, None, None]
    contribution[m < 2] = 0.0
    return contribution


def alpha_metric(level: AlphaLevel, marginals: FloatArray, values: FloatArray) -> FloatArray:
    """Squared difference function delta^2_ck of Krippendorff (2011), batched over marginals.

    nominal: 1 for c != k; interval: (v_c - v_k)^2; ordinal: (sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2
    with n_g the coincidence marginals along the category order.
    """
    k = marginals.shape[-1]
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (*marginals.shape[:-1], k, k))
    if level == "interval":
        gap = values[:, None] - values[None, :]
        return np.broadcast_to(gap**2, (*marginals.shape[:-1], k, k))
    if level == "ordinal":
        cum = np.cumsum(marginals, axis=-1)
        # for c <= k: sum_{c<g<k} n_g + (n_c + n_k)/2 = cum_k - cum_c + (n_c - n_k)/2; symmetric
        spread = (
            cum[..., None, :]
            - cum[..., :, None]
            + (marginals[..., :, None] - marginals[..., None, :]) / 2
        )
        return spread**2
    raise ValueError(f"unknown level of measurement {level!r}")


def alpha_from_coincidences(
    coincidences: ArrayLike, level: AlphaLevel, values: ArrayLike | None = None
) -> FloatArray:
    """Krippendorff's alpha from coincidence matrices ``(..., K, K)``.

    alpha = 1 - D_o / D_e = 1 - (n - 1) * sum(o_ck d_ck) / sum(n_c n_k d_ck), n the number of
    pairable values (Krippendorff 2011, eq. for alpha from the coincidence matrix). ``values``
    (the category's numeric value) is needed for the interval level. NaN where D_e = 0.
    """
    o = np.asarray(coincidences, dtype=float)
    k = o.shape[-1]
    v = np.arange(k, dtype=float) if values is None else np.asarray(values, dtype=float)
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    delta = alpha_metric(level, n_c, v)
    observed = (o * delta).sum(axis=(-2, -1))
    expected = (n_c[..., :, None] * n_c[..., None, :] * delta).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    scale = np.maximum(1.0, (n_c**2).sum(axis=-1) * np.max(delta, axis=(-2, -1), initial=0.0))
    return np.where(expected > 1e-12 * scale, alpha, np.nan)


def krippendorff_alpha(
    reliability_data: ArrayLike,
    level: AlphaLevel = "nominal",
    value_domain: Sequence[float] | None = None,
) -> float:
    """Krippendorff's alpha of a coders x units matrix of numeric values, NaN for missing.

    Same layout as ``krippendorff.alpha(reliability_data=...)``. Nominal and ordinal levels use
    the distinct values (or ``value_domain``) in ascending order as categories; the interval
    level uses the values themselves. Missing values are allowed anywhere; units with fewer
    than two values are not pairable (Krippendorff 2011).
    """
    data = np.asarray(reliability_data, dtype=float)
    if data.ndim != 2:
        raise DataError("reliability data must be a coders x units matrix")
    present = ~np.isnan(data)
    domain = np.unique(data[present]) if value_domain is None else np.asarray(value_domain, float)
    if np.any(present & ~np.isin(data, domain)):
        raise DataError("reliability data hold values outside the value domain")
    positions = np.where(present, np.searchsorted(domain, np.where(present, data, domain[0])), -1)
    unit_counts = np.stack([(positions == c).sum(axis=0) for c in range(len(domain))], axis=1)
    coincidences = unit_coincidences(unit_counts).sum(axis=0)
    pairable = coincidences.sum()
    if pairable < 2:
        raise UndefinedMetricError("no unit has values from two or more coders")
    alpha = float(alpha_from_coincidences(coincidences, level, domain))
    if np.isnan(alpha):
        raise UndefinedMetricError(
            "every pairable value is the same, so no disagreement is expected"
        )
    return alpha


# --- Fleiss' kappa ----------------------------------------------------------------------------


def fleiss_kappa_weighted(item_counts: ArrayLike, weights: ArrayLike) -> FloatArray:
    """Fleiss' kappa of an items x categories count table, items weighted ``(B, N)``.

    Every item must have the same number of ratings m. P_i = (sum_j n_ij^2 - m) / (m(m-1)),
    P_bar and p_j are weighted means over items, P_e = sum p_j^2, kappa = (P_bar - P_e)/(1 - P_e)
    (Fleiss 1971, eqs. 2-9). A weight of 2 counts an item twice (as a bootstrap resample does).
    """
    counts = np.asarray(item_counts, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    m = counts.sum(axis=1)[0]
    agreement = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = w @ agreement / total
        shares = (w @ counts) / (total * m)[:, None]
        p_expected = (shares**2).sum(axis=1)
        kappa = (p_bar - p_expected) / (1.0 - p_expected)
    return np.where((1.0 - p_expected) > 1e-12, kappa, np.nan)


def fleiss_kappa(item_counts: ArrayLike) -> float:
    """Fleiss' kappa (1971) of an items x categories table of rating counts (same m per item)."""
    counts = np.asarray(item_counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] < 1:
        raise UndefinedMetricError("no item rated by every rater")
    m = counts.sum(axis=1)
    if np.any(m != m[0]):
        raise DataError("Fleiss' kappa needs the same number of ratings for every item")
    if m[0] < 2:
        raise UndefinedMetricError("fewer than two ratings per item")
    if counts.shape[0] < 2:
        raise UndefinedMetricError("only one item rated by every rater")
    value = float(fleiss_kappa_weighted(counts, np.ones(counts.shape[0]))[0])
    if np.isnan(value):
        raise UndefinedMetricError("every rating falls in one category")
    return value


# --- intraclass correlation -----------------------------------------------------------------


def icc2_weighted(scores: ArrayLike, weights: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """ICC(2,1) and ICC(2,k) of an items x raters score matrix, items weighted ``(B, N)``.

    Two-way random effects, absolute agreement (Shrout & Fleiss 1979, case 2; McGraw & Wong 1996
    ICC(A,1) and ICC(A,k)), from the two-way ANOVA mean squares of targets (MSR), raters (MSC)
    and residual (MSE):

    ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)
    ICC(2,k) = (MSR - MSE) / (MSR + (MSC - MSE) / n)
    """
    x = np.asarray(scores, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    k = x.shape[1]
    n = w.sum(axis=1)
    row_means = x.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = (w @ row_means) / n
        col_means = (w @ x) / n[:, None]
        ss_rows = k * (w @ row_means**2 - n * grand**2)
        ss_cols = n * ((col_means - grand[:, None]) ** 2).sum(axis=1)
        ss_total = w @ (x**2).sum(axis=1) - n * k * grand**2
        ss_error = ss_total - ss_rows - ss_cols
        ms_rows = ss_rows / (n - 1)
        ms_cols = ss_cols / (k - 1)
        ms_error = ss_error / ((n - 1) * (k - 1))
        single_den = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
        average_den = ms_rows + (ms_cols - ms_error) / n
        single = (ms_rows - ms_error) / single_den
        average = (ms_rows - ms_error) / average_den
    tiny = 1e-12 * np.maximum(1.0, np.abs(ss_total))
    ok = ss_total > tiny
    return np.where(ok & (np.abs(single_den) > 0), single, np.nan), np.where(
        ok & (np.abs(average_den) > 0), average, np.nan
    )


def icc2(scores: ArrayLike) -> tuple[float, float]:
    """ICC(2,1) and ICC(2,k) of a complete items x raters matrix (see :func:`icc2_weighted`)."""
    x = np.asarray(scores, dtype=float)
    if x.ndim != 2 or np.isnan(x).any():
        raise DataError("ICC needs a complete items x raters matrix")
    if x.shape[1] < 2:
        raise UndefinedMetricError("fewer than two raters gave scores")
    if x.shape[0] < 2:
        raise UndefinedMetricError("fewer than two items have scores from every rater")
    single, average = icc2_weighted(x, np.ones(x.shape[0]))
    if np.isnan(single[0]) or np.isnan(average[0]):
        raise UndefinedMetricError("every score is the same")
    return float(single[0]), float(average[0])


# --- correlations of paired values ----------------------------------------------------------


def correlations(x: ArrayLike, y: ArrayLike) -> dict[str, float]:
    """Pearson's r, Spearman's rho and Kendall's tau-b of paired values (``scipy.stats``)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise DataError("correlations need two 1-d arrays of equal length")
    if a.size < 2:
        raise UndefinedMetricError("fewer than two paired values")
    if np.all(a == a[0]) or np.all(b == b[0]):
        raise UndefinedMetricError("one side is constant")
    return {
        "pearson": float(stats.pearsonr(a, b).statistic),
        "spearman": float(stats.spearmanr(a, b).statistic),
        "kendall": float(stats.kendalltau(a, b, variant="b").statistic),
    }


def pearson_rows(x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Pearson's r of each row pair of two ``(B, n)`` arrays; NaN where a row is constant."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    var_a = (da**2).sum(axis=-1)
    var_b = (db**2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (da * db).sum(axis=-1) / np.sqrt(var_a * var_b)
    n = a.shape[-1]
    scale_a = np.maximum(1.0, (a**2).sum(axis=-1))
    scale_b = np.maximum(1.0, (b**2).sum(axis=-1))
    ok = (var_a > 1e-20 * n * scale_a) & (var_b > 1e-20 * n * scale_b)
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def spearman_rows(x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Spearman's rho of each row pair: Pearson's r of average ranks (``scipy.stats.rankdata``)."""
    return pearson_rows(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


# --- one rater's repeated samples ---------------------------------------------------------------


def sample_consistency(item_counts: ArrayLike) -> dict[str, float]:
    """Consistency of repeated labels: items x categories counts of one rater's samples.

    Returns ``unanimous_share`` (share of items whose samples all agree), ``mean_modal_share``
    (mean over items of the modal label's share of samples) and ``mean_entropy_bits`` (mean over
    items of -sum p log2 p over the item's label shares; 0 = always the same label, log2 K at
    most). Items need at least two samples.
    """
    counts = np.asarray(item_counts, dtype=float)
    totals = counts.sum(axis=1)
    if counts.shape[0] == 0 or np.any(totals < 2):
        raise UndefinedMetricError("no item with two or more samples")
    shares = counts / totals[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(shares > 0, shares * np.log2(shares), 0.0).sum(axis=1)
    modal = shares.max(axis=1)
    return {
        "unanimous_share": float(np.mean(modal == 1.0)),
        "mean_modal_share": float(np.mean(modal)),
        "mean_entropy_bits": float(np.mean(np.abs(entropy))),
    }


def _positions(values: ArrayLike, n_categories: int) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.size and (np.any(array < 0) or np.any(array >= n_categories)):
        raise DataError(f"category positions must lie in 0..{n_categories - 1}")
    return array.astype(np.int64)
