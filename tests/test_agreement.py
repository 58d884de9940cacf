"""Agreement statistics against independent implementations, textbook examples and hand sums."""

from __future__ import annotations

import json
import math
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from datadir import DATA_DIR
from dwa_rater.agreement import (
    BootstrapSpec,
    LabelScale,
    assess_agreement,
    build_scale,
    cohen_kappa,
    compare_score_tables,
    fleiss_kappa,
    icc2,
    krippendorff_alpha,
)
from dwa_rater.agreement import metrics as m
from dwa_rater.errors import ConfigError, DataError

ORDER = ("E0", "E2", "E1")
BETA = {"E0": 0.0, "E2": 0.5, "E1": 1.0}
EXACT = 1e-9
NO_BOOTSTRAP = BootstrapSpec(n_resamples=0)
# pingouin 0.7 calls a pandas method with a keyword pandas 3.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")
SHARED_DATA = DATA_DIR


def long_table(
    labels: dict[str, list[str | None]], scores: dict[str, list[float | None]] | None = None
):
    """One sample per item and rater: item i of each list is item ``i{i}``; None = not rated."""
    rows = []
    for rater, values in labels.items():
        for i, label in enumerate(values):
            score = (scores or {}).get(rater, [None] * len(values))[i]
            if label is None and score is None:
                continue
            rows.append({"item_id": f"i{i:03d}", "rater": rater, "sample": 0, "label": label,
                         "score": score, "status": "ok"})  # fmt: skip
    return pd.DataFrame(rows)


def random_ratings(seed: int, n_items: int = 60, raters: tuple[str, ...] = ("a", "b", "c")):
    """Correlated labels and scores with about 15% missing per rater (not for rater a)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n_items, p=[0.5, 0.2, 0.3])
    labels: dict[str, list[str | None]] = {}
    scores: dict[str, list[float | None]] = {}
    for k, rater in enumerate(raters):
        noisy = np.where(rng.random(n_items) < 0.3, rng.choice(3, size=n_items), truth)
        score = np.clip(noisy / 2 + rng.normal(0, 0.15, n_items), 0, 1).round(2)
        missing = (rng.random(n_items) < 0.15) & (k > 0)
        labels[rater] = [None if gone else ORDER[v] for v, gone in zip(noisy, missing, strict=True)]
        scores[rater] = [None if gone else float(s) for s, gone in zip(score, missing, strict=True)]
    return long_table(labels, scores), labels, scores


def as_codes(values: list[str | None], codes: dict[str, float]) -> np.ndarray:
    return np.array([np.nan if v is None else codes[v] for v in values])


def as_positions(values: list[str | None]) -> np.ndarray:
    return np.array([np.nan if v is None else ORDER.index(v) for v in values])


def strict_json(result) -> dict:
    def refuse(name: str):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(result.to_json(), parse_constant=refuse)


# --- references: scikit-learn, krippendorff, statsmodels, pingouin, scipy ------------------


@pytest.mark.parametrize("weights", ["none", "linear", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_kappa_matches_sklearn(weights: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.choice(4, size=40, p=[0.4, 0.3, 0.3, 0.0])  # category 3 unused: labels fix the size
    b = np.where(rng.random(40) < 0.6, a, rng.choice(4, size=40))
    expected = cohen_kappa_score(
        a, b, labels=[0, 1, 2, 3], weights=None if weights == "none" else weights
    )
    assert cohen_kappa(a, b, 4, weights) == pytest.approx(expected, abs=EXACT)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [3, 4])
def test_pair_statistics_match_references(seed: int) -> None:
    frame, labels, scores = random_ratings(seed)
    result = assess_agreement(frame, build_scale(), bootstrap=NO_BOOTSTRAP)
    assert [(p["rater_a"], p["rater_b"]) for p in result.summary["pairs"]] == list(
        combinations(["a", "b", "c"], 2)
    )
    for pair in result.summary["pairs"]:
        la, lb = labels[pair["rater_a"]], labels[pair["rater_b"]]
        common = [i for i in range(len(la)) if la[i] is not None and lb[i] is not None]
        a = [la[i] for i in common]
        b = [lb[i] for i in common]
        assert pair["n"] == len(common)
        assert pair["percent_agreement"] == pytest.approx(
            np.mean(np.array(a) == np.array(b)), abs=EXACT
        )
        for key, weights in (("cohen_kappa", None), ("weighted_kappa_linear", "linear"),
                             ("weighted_kappa_quadratic", "quadratic")):  # fmt: skip
            expected = cohen_kappa_score(a, b, labels=list(ORDER), weights=weights)
            assert pair[key] == pytest.approx(expected, abs=EXACT), key
        both = np.vstack([as_positions(la), as_positions(lb)])
        for level in ("nominal", "ordinal"):
            expected = krippendorff.alpha(reliability_data=both, level_of_measurement=level)
            assert pair[f"krippendorff_alpha_{level}"] == pytest.approx(expected, abs=EXACT)
        codes = np.vstack([as_codes(la, BETA), as_codes(lb, BETA)])
        expected = krippendorff.alpha(reliability_data=codes, level_of_measurement="interval")
        assert pair["krippendorff_alpha_interval"] == pytest.approx(expected, abs=EXACT)
        x, y = as_codes(a, BETA), as_codes(b, BETA)
        assert pair["pearson"] == pytest.approx(stats.pearsonr(x, y).statistic, abs=EXACT)
        assert pair["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=EXACT)
        assert pair["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=EXACT)
        matrix = sk_confusion_matrix(a, b, labels=list(ORDER))
        assert pair["confusion"]["matrix"] == matrix.tolist()
        sa, sb = np.array(scores[pair["rater_a"]], float), np.array(scores[pair["rater_b"]], float)
        keep = ~np.isnan(sa) & ~np.isnan(sb)
        sa, sb = sa[keep], sb[keep]
        assert pair["n_scores"] == keep.sum()
        assert pair["score_pearson"] == pytest.approx(stats.pearsonr(sa, sb).statistic, abs=EXACT)
        assert pair["score_spearman"] == pytest.approx(stats.spearmanr(sa, sb).statistic, abs=EXACT)
        assert pair["score_kendall"] == pytest.approx(stats.kendalltau(sa, sb).statistic, abs=EXACT)
        difference = sa - sb
        assert pair["score_mean_difference"] == pytest.approx(difference.mean(), abs=EXACT)
        loa = difference.mean() + 1.96 * difference.std(ddof=1)
        assert pair["score_loa_high"] == pytest.approx(loa, abs=EXACT)


@pytest.mark.parametrize("seed", [5, 6])
def test_overall_statistics_match_references(seed: int) -> None:
    frame, labels, scores = random_ratings(seed, raters=("a", "b", "c", "d"))
    overall = assess_agreement(frame, build_scale(), bootstrap=NO_BOOTSTRAP).summary["overall"]
    positions = np.vstack([as_positions(labels[r]) for r in "abcd"])
    for level in ("nominal", "ordinal"):
        expected = krippendorff.alpha(reliability_data=positions, level_of_measurement=level)
        assert overall[f"krippendorff_alpha_{level}"] == pytest.approx(expected, abs=EXACT)
    codes = np.vstack([as_codes(labels[r], BETA) for r in "abcd"])
    expected = krippendorff.alpha(reliability_data=codes, level_of_measurement="interval")
    assert overall["krippendorff_alpha_interval"] == pytest.approx(expected, abs=EXACT)

    complete = positions[:, ~np.isnan(positions).any(axis=0)].T.astype(int)
    table, _ = aggregate_raters(complete, n_cat=3)
    assert overall["n_items_complete"] == len(complete)
    assert overall["fleiss_kappa"] == pytest.approx(
        sm_fleiss_kappa(table, method="fleiss"), abs=EXACT
    )

    matrix = np.array([scores[r] for r in "abcd"], dtype=float).T
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    assert overall["n_items_scored_complete"] == len(matrix)
    single, average = pingouin_icc2(matrix)
    assert overall["icc2_1"] == pytest.approx(single, abs=EXACT)
    assert overall["icc2_k"] == pytest.approx(average, abs=EXACT)
    assert overall["n_raters"] == 4
    assert overall["n_items"] == 60


def pingouin_icc2(matrix: np.ndarray) -> tuple[float, float]:
    """ICC2 and ICC2k from pingouin (named ICC(A,1) and ICC(A,k) from pingouin 0.7)."""
    long = pd.DataFrame(
        [(i, j, matrix[i, j]) for i in range(matrix.shape[0]) for j in range(matrix.shape[1])],
        columns=["target", "rater", "score"],
    )
    table = pingouin.intraclass_corr(long, targets="target", raters="rater", ratings="score")
    icc = table.set_index("Type")["ICC"]
    single = icc["ICC(A,1)"] if "ICC(A,1)" in icc.index else icc["ICC2"]
    average = icc["ICC(A,k)"] if "ICC(A,k)" in icc.index else icc["ICC2k"]
    return float(single), float(average)


def test_alpha_coding_ties_e0_and_e2() -> None:
    """Under the alpha coding E0 and E2 share the code 0: interval alpha and ranks see one value."""
    frame, labels, _ = random_ratings(7)
    scale = build_scale(coding="alpha")
    assert scale.codes == (0.0, 0.0, 1.0)
    result = assess_agreement(frame, scale, bootstrap=BootstrapSpec(50, 0))
    codes = {"E0": 0.0, "E2": 0.0, "E1": 1.0}
    pair = result.summary["pairs"][0]
    la, lb = labels["a"], labels["b"]
    expected = krippendorff.alpha(
        reliability_data=np.vstack([as_codes(la, codes), as_codes(lb, codes)]),
        level_of_measurement="interval",
    )
    assert pair["krippendorff_alpha_interval"] == pytest.approx(expected, abs=EXACT)
    keep = [i for i in range(len(la)) if la[i] is not None and lb[i] is not None]
    x = as_codes([la[i] for i in keep], codes)
    y = as_codes([lb[i] for i in keep], codes)
    assert pair["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=EXACT)
    assert pair["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=EXACT)
    assert result.summary["scale"]["codes"] == {"E0": 0.0, "E2": 0.0, "E1": 1.0}


# --- textbook examples --------------------------------------------------------------------


def test_krippendorff_2011_example_with_missing_data() -> None:
    """Krippendorff (2011), 4 observers x 12 units with missing values."""
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert round(krippendorff_alpha(data, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(data, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(data, "interval"), 3) == 0.849
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert krippendorff_alpha(data, level) == pytest.approx(expected, abs=EXACT)  # type: ignore[arg-type]


FLEISS_1971 = """4 4 4 4 4 4|2 2 2 5 5 5|2 3 3 3 3 5|5 5 5 5 5 5|2 2 2 4 4 4|1 1 3 3 3 3|
3 3 3 3 5 5|1 1 3 3 3 4|1 1 4 4 4 4|5 5 5 5 5 5|1 4 4 4 4 4|1 2 4 4 4 4|2 2 2 3 3 3|1 4 4 4 4 4|
2 2 4 4 4 5|3 3 3 3 3 5|1 1 1 4 5 5|1 1 1 1 1 2|2 2 4 4 4 4|1 3 3 5 5 5|5 5 5 5 5 5|2 4 4 4 4 4|
2 2 4 5 5 5|1 1 4 4 4 4|1 4 4 4 4 5|2 2 2 2 2 4|1 1 1 1 5 5|2 2 4 4 4 4|1 3 3 3 3 3|5 5 5 5 5 5"""


def test_fleiss_1971_diagnoses() -> None:
    """Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses; kappa = 0.430."""
    patients = [[int(v) for v in row.split()] for row in FLEISS_1971.replace("\n", "").split("|")]
    counts, _ = aggregate_raters(np.array(patients))
    assert round(fleiss_kappa(counts), 3) == 0.430
    assert fleiss_kappa(counts) == pytest.approx(sm_fleiss_kappa(counts), abs=EXACT)


def test_icc_shrout_fleiss_1979_example() -> None:
    """Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(2,1) = .29, ICC(2,4) = .62."""
    scores = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        dtype=float,
    )
    single, average = icc2(scores)
    assert (round(single, 2), round(average, 2)) == (0.29, 0.62)
    expected = pingouin_icc2(scores)
    assert single == pytest.approx(expected[0], abs=EXACT)
    assert average == pytest.approx(expected[1], abs=EXACT)


# --- hand-computed cases with missing data ------------------------------------------------

HAND = {
    #     i000  i001  i002  i003  i004
    "a": ["E0", "E1", "E2", "E1", "E2"],
    "b": ["E0", "E1", None, "E0", "E2"],
    "c": [None, "E0", None, None, "E2"],
}


def test_hand_computed_case_with_missing_labels() -> None:
    """Coincidences: o(E0,E0)=2, o(E2,E2)=3, o(E1,E1)=1, o(E0,E1)=o(E1,E0)=2; n = 10.

    nominal alpha = 1 - 9 * 4 / 66 = 5/11; ordinal (n = 4, 3, 3 along E0 < E2 < E1):
    delta(E0,E1) = (2 + 3 + 1.5)^2 = 42.25, alpha = 1 - 9 * 169 / 1470 = -17/490; interval on
    beta codes: alpha = 1 - 9 * 4 / 34.5 = -1/23. Fleiss on items i001 and i004: 5/11.
    Pair a-b on i000, i001, i003, i004: p_o = 3/4, p_e = 5/16, kappa = 7/11.
    """
    result = assess_agreement(long_table(HAND), build_scale(), bootstrap=NO_BOOTSTRAP)
    overall = result.summary["overall"]
    assert overall["krippendorff_alpha_nominal"] == pytest.approx(5 / 11, abs=EXACT)
    assert overall["krippendorff_alpha_ordinal"] == pytest.approx(-17 / 490, abs=EXACT)
    assert overall["krippendorff_alpha_interval"] == pytest.approx(-1 / 23, abs=EXACT)
    assert overall["fleiss_kappa"] == pytest.approx(5 / 11, abs=EXACT)
    assert overall["n_items_complete"] == 2
    assert overall["n_items_pairable"] == 4
    pair_ab = result.summary["pairs"][0]
    assert pair_ab["n"] == 4
    assert pair_ab["cohen_kappa"] == pytest.approx(7 / 11, abs=EXACT)
    assert pair_ab["percent_agreement"] == pytest.approx(0.75, abs=EXACT)


def test_self_consistency_hand_computed() -> None:
    rows = [
        ("i1", 0, "E0"), ("i1", 1, "E0"), ("i1", 2, "E0"),
        ("i2", 0, "E0"), ("i2", 1, "E1"), ("i2", 2, "E1"),
        ("i3", 0, "E2"),  # one sample only: not counted
    ]  # fmt: skip
    frame = pd.DataFrame(
        [
            {"item_id": i, "rater": "llm", "sample": s, "label": lab, "status": "ok"}
            for i, s, lab in rows
        ]
    )
    entry = assess_agreement(frame, build_scale(), bootstrap=NO_BOOTSTRAP).summary[
        "self_consistency"
    ][0]
    entropy_i2 = -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))
    assert entry["rater"] == "llm"
    assert entry["n_items"] == 2
    assert entry["n_samples"] == 3
    assert entry["unanimous_share"] == pytest.approx(0.5, abs=EXACT)
    assert entry["mean_modal_share"] == pytest.approx((1 + 2 / 3) / 2, abs=EXACT)
    assert entry["mean_entropy_bits"] == pytest.approx(entropy_i2 / 2, abs=EXACT)
    samples_as_coders = np.array([[0, 0, 0], [0, 2, 2]], dtype=float).T
    expected = krippendorff.alpha(
        reliability_data=samples_as_coders, level_of_measurement="nominal"
    )
    assert entry["krippendorff_alpha_nominal"] == pytest.approx(expected, abs=EXACT)


def test_collapse_mode_breaks_ties_low_and_first_takes_sample_zero() -> None:
    rows = [
        ("i1", "x", 0, "E1"), ("i1", "x", 1, "E2"),                       # tie -> E2 (lower)
        ("i2", "x", 0, "E1"), ("i2", "x", 1, "E0"), ("i2", "x", 2, "E0"),  # mode E0
        ("i1", "y", 0, "E2"), ("i2", "y", 0, "E1"),
    ]  # fmt: skip
    frame = pd.DataFrame(
        [{"item_id": i, "rater": r, "sample": s, "label": lab} for i, r, s, lab in rows]
    )
    by_mode = assess_agreement(frame, build_scale(), bootstrap=NO_BOOTSTRAP)
    assert by_mode.labels.loc[["i1", "i2"], "x"].tolist() == [1.0, 0.0]  # E2, E0
    by_first = assess_agreement(frame, build_scale(), collapse="first", bootstrap=NO_BOOTSTRAP)
    assert by_first.labels.loc[["i1", "i2"], "x"].tolist() == [2.0, 2.0]  # E1, E1
    assert by_first.summary["pairs"][0]["percent_agreement"] == pytest.approx(0.5)


def test_scores_are_averaged_over_samples_and_failed_rows_dropped() -> None:
    frame = pd.DataFrame(
        [
            {
                "item_id": "i1",
                "rater": "x",
                "sample": 0,
                "label": "E1",
                "score": 0.8,
                "status": "ok",
            },
            {
                "item_id": "i1",
                "rater": "x",
                "sample": 1,
                "label": "E1",
                "score": 0.6,
                "status": "ok",
            },
            {"item_id": "i1", "rater": "x", "sample": 2, "label": "E9", "status": "failed"},
        ]
    )
    result = assess_agreement(frame, build_scale(), bootstrap=NO_BOOTSTRAP)
    assert result.scores.loc["i1", "x"] == pytest.approx(0.7)
    assert result.summary["self_consistency"][0]["score_mean_sd"] == pytest.approx(
        np.std([0.8, 0.6], ddof=1)
    )


# --- the batched kernels that serve the bootstrap -----------------------------------------


@pytest.mark.parametrize("codes", [(0.0, 0.5, 1.0), (0.0, 0.0, 1.0), (0.0, 1.0, 1.0)])
def test_table_correlations_match_scipy(codes: tuple[float, ...]) -> None:
    rng = np.random.default_rng(11)
    a = rng.choice(3, size=50)
    b = np.where(rng.random(50) < 0.5, a, rng.choice(3, size=50))
    table = m.confusion_matrix(a, b, 3)
    merged, _ = m.merge_tied_categories(table, codes)
    x, y = np.asarray(codes)[a], np.asarray(codes)[b]
    assert m.pearson_from_tables(table, codes, codes) == pytest.approx(
        stats.pearsonr(x, y).statistic, abs=EXACT
    )
    assert m.spearman_from_tables(merged) == pytest.approx(
        stats.spearmanr(x, y).statistic, abs=EXACT
    )
    assert m.kendall_tau_b_from_tables(merged) == pytest.approx(
        stats.kendalltau(x, y).statistic, abs=EXACT
    )


def test_row_correlations_match_scipy() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(4, 30)).round(1)  # rounding makes ties
    y = (x + rng.normal(size=(4, 30))).round(1)
    for row in range(4):
        assert m.pearson_rows(x, y)[row] == pytest.approx(
            stats.pearsonr(x[row], y[row]).statistic, abs=EXACT
        )
        assert m.spearman_rows(x, y)[row] == pytest.approx(
            stats.spearmanr(x[row], y[row]).statistic, abs=EXACT
        )


def test_weighted_kernels_equal_repeated_items() -> None:
    """A bootstrap weight of w must act as the item repeated w times."""
    rng = np.random.default_rng(13)
    counts = rng.multinomial(4, [0.5, 0.3, 0.2], size=12).astype(float)
    weights = rng.integers(0, 4, size=12).astype(float)
    repeated = np.repeat(counts, weights.astype(int), axis=0)
    assert m.fleiss_kappa_weighted(counts, weights)[0] == pytest.approx(
        sm_fleiss_kappa(repeated), abs=EXACT
    )
    scores = rng.normal(size=(12, 3))
    single, average = m.icc2_weighted(scores, weights)
    expected = icc2(np.repeat(scores, weights.astype(int), axis=0))
    assert (single[0], average[0]) == pytest.approx(expected, abs=EXACT)
    coincidences = weights @ m.unit_coincidences(counts).reshape(12, 9)
    alpha = m.alpha_from_coincidences(coincidences.reshape(3, 3), "ordinal")
    units = [np.repeat(np.arange(3.0), c.astype(int)) for c in repeated]
    matrix = np.array(units).T  # 4 coders x units, no missing
    expected_alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert float(alpha) == pytest.approx(expected_alpha, abs=EXACT)


# --- degenerate cases, errors, scale --------------------------------------------------------


def test_one_category_only_gives_null_and_a_reason() -> None:
    frame = long_table(
        {"a": ["E0"] * 5, "b": ["E0"] * 5}, {"a": [0.1] * 5, "b": [0.1, 0.2, 0.3, 0.4, 0.5]}
    )
    result = assess_agreement(frame, build_scale(), bootstrap=BootstrapSpec(100, 0))
    pair = strict_json(result)["pairs"][0]
    assert pair["percent_agreement"] == 1.0
    assert pair["cohen_kappa"] is None
    assert "cohen_kappa undefined: both raters used only E0" in pair["notes"]
    assert pair["krippendorff_alpha_ordinal"] is None
    assert pair["ci"]["cohen_kappa"] is None
    assert any(
        "score_pearson undefined: a gave every item the score 0.1" in n for n in pair["notes"]
    )
    overall = result.summary["overall"]
    assert overall["fleiss_kappa"] is None
    assert any(
        n.startswith("fleiss_kappa undefined: every label given is E0") for n in overall["notes"]
    )
    assert any("cohen_kappa undefined" in w for w in result.warnings)


def test_no_overlap_and_single_common_item() -> None:
    frame = long_table(
        {
            "a": ["E0", "E1", None, None],
            "b": [None, None, "E0", "E1"],
            "c": ["E0", None, "E1", None],
        }
    )
    result = assess_agreement(frame, build_scale(), bootstrap=BootstrapSpec(50, 0))
    pairs = {(p["rater_a"], p["rater_b"]): p for p in strict_json(result)["pairs"]}
    assert pairs["a", "b"]["n"] == 0
    assert pairs["a", "b"]["percent_agreement"] is None
    assert pairs["a", "b"]["notes"] == ["no item labelled by both a and b"]
    assert pairs["a", "c"]["n"] == 1
    assert pairs["a", "c"]["percent_agreement"] == 1.0
    assert pairs["a", "c"]["cohen_kappa"] is None
    assert result.summary["overall"]["fleiss_kappa"] is None  # no item rated by all three


def test_labels_outside_the_scale_and_unknown_raters_raise() -> None:
    frame = long_table({"a": ["E0", "E3"], "b": ["E0", "E1"]})
    with pytest.raises(DataError, match=r"not on the scale E0 < E2 < E1 \(a: E3\)"):
        assess_agreement(frame, build_scale())
    with pytest.raises(DataError, match=r"rater\(s\) zz have no successful ratings"):
        assess_agreement(long_table({"a": ["E0"], "b": ["E1"]}), raters=["a", "zz"])


def test_scale_options() -> None:
    assert build_scale().codes == (0.0, 0.5, 1.0)
    assert build_scale(coding="gamma").codes == (0.0, 1.0, 1.0)
    custom = build_scale(["low", "mid", "high"])
    assert (custom.codes, custom.coding) == ((0.0, 1.0, 2.0), "rank")
    with pytest.raises(ConfigError, match="must not decrease"):
        build_scale(["E0", "E1", "E2"])  # beta codes 0, 1, 0.5 would run backwards
    with pytest.raises(ConfigError, match="3 labels"):
        LabelScale(("a", "b", "c"), (0.0, 1.0))
    with pytest.raises(ConfigError, match="not both"):
        build_scale(codes=[0, 1, 2], coding="beta")


def test_custom_order_and_codes_change_weighted_statistics() -> None:
    frame = long_table({"a": ["E0", "E2", "E1", "E1", "E0"], "b": ["E2", "E2", "E1", "E0", "E0"]})
    scale = build_scale(["E0", "E2", "E1"], [0.0, 0.9, 1.0])
    pair = assess_agreement(frame, scale, bootstrap=NO_BOOTSTRAP).summary["pairs"][0]
    codes = {"E0": 0.0, "E2": 0.9, "E1": 1.0}
    a = as_codes(["E0", "E2", "E1", "E1", "E0"], codes)
    b = as_codes(["E2", "E2", "E1", "E0", "E0"], codes)
    expected = krippendorff.alpha(
        reliability_data=np.vstack([a, b]), level_of_measurement="interval"
    )
    assert pair["krippendorff_alpha_interval"] == pytest.approx(expected, abs=EXACT)
    assert pair["pearson"] == pytest.approx(stats.pearsonr(a, b).statistic, abs=EXACT)


# --- bootstrap, groups, score tables --------------------------------------------------------


def test_bootstrap_is_seeded_and_independent_of_other_raters() -> None:
    frame, _, _ = random_ratings(21)
    spec = BootstrapSpec(300, seed=7)
    first = assess_agreement(frame, build_scale(), bootstrap=spec).summary
    again = assess_agreement(frame, build_scale(), bootstrap=spec).summary
    assert first["pairs"] == again["pairs"]
    assert first["overall"]["ci"] == again["overall"]["ci"]
    other = assess_agreement(frame, build_scale(), bootstrap=BootstrapSpec(300, seed=8)).summary
    assert other["pairs"][0]["ci"]["cohen_kappa"] != first["pairs"][0]["ci"]["cohen_kappa"]
    only_ab = assess_agreement(frame, build_scale(), raters=["a", "b"], bootstrap=spec).summary
    assert only_ab["pairs"][0]["ci"] == first["pairs"][0]["ci"]
    pair = first["pairs"][0]
    for key in ("cohen_kappa", "weighted_kappa_quadratic", "krippendorff_alpha_ordinal", "pearson",
                "spearman", "score_pearson", "score_spearman"):  # fmt: skip
        interval = pair["ci"][key]
        assert interval["low"] < pair[key] < interval["high"], key
        assert interval["n_valid"] == 300
    for key in ("fleiss_kappa", "krippendorff_alpha_ordinal", "icc2_1", "icc2_k"):
        interval = first["overall"]["ci"][key]
        assert interval["low"] < first["overall"][key] < interval["high"], key


def test_bootstrap_interval_matches_explicit_resampling() -> None:
    """The vectorised interval equals resampling items one by one with the same generator."""
    frame, labels, _ = random_ratings(22)
    spec = BootstrapSpec(200, seed=3)
    pair = assess_agreement(frame, build_scale(), raters=["a", "b"], bootstrap=spec).summary[
        "pairs"
    ][0]
    keep = [i for i in range(60) if labels["a"][i] is not None and labels["b"][i] is not None]
    a = np.array([ORDER.index(labels["a"][i]) for i in keep])
    b = np.array([ORDER.index(labels["b"][i]) for i in keep])
    rng = spec.generator("pair", "", "a", "b")
    draws = rng.integers(0, len(keep), size=(200, len(keep)))
    kappas = [cohen_kappa_score(a[d], b[d], labels=[0, 1, 2]) for d in draws]
    low, high = np.quantile(kappas, [0.025, 0.975])
    assert pair["ci"]["cohen_kappa"]["low"] == pytest.approx(low, abs=EXACT)
    assert pair["ci"]["cohen_kappa"]["high"] == pytest.approx(high, abs=EXACT)


def test_groups_equal_the_subsets() -> None:
    frame, _, _ = random_ratings(23)
    items = sorted(frame["item_id"].unique())
    groups = pd.Series(
        {item: ("first" if k < 30 else "second") for k, item in enumerate(items)}, name="half"
    )
    result = assess_agreement(frame, build_scale(), groups=groups, bootstrap=NO_BOOTSTRAP)
    breakdown = result.summary["groups"]
    assert breakdown["column"] == "half"
    assert [g["group"] for g in breakdown["results"]] == ["first", "second"]
    subset = frame[frame["item_id"].isin(items[:30])]
    alone = assess_agreement(subset, build_scale(), bootstrap=NO_BOOTSTRAP).summary
    first = breakdown["results"][0]
    assert first["n_items"] == 30
    assert first["overall"]["icc_raters"] == ["a", "b", "c"]
    assert first["pairs"][0]["cohen_kappa"] == pytest.approx(
        alone["pairs"][0]["cohen_kappa"], abs=EXACT
    )
    assert first["overall"]["krippendorff_alpha_ordinal"] == pytest.approx(
        alone["overall"]["krippendorff_alpha_ordinal"], abs=EXACT
    )


def test_compare_score_tables_matches_scipy() -> None:
    rng = np.random.default_rng(31)
    codes = [f"{11 + k // 10:02d}-{1000 + k}" for k in range(80)]
    x = rng.normal(size=80)
    a = pd.DataFrame({"soc": codes, "beta": x})
    b = pd.DataFrame(
        {"soc": [*codes[5:], "99-9999"], "value": [*(x[5:] + rng.normal(0, 0.5, 75)), 1.0]}
    )
    result = compare_score_tables(a, b, "soc", "beta", "value", bootstrap=BootstrapSpec(200, 1))
    summary = json.loads(result.to_json())
    xa, yb = x[5:], b["value"].to_numpy()[:75]
    assert (summary["n"], summary["n_only_a"], summary["n_only_b"]) == (75, 5, 1)
    assert summary["pearson"] == pytest.approx(stats.pearsonr(xa, yb).statistic, abs=EXACT)
    assert summary["spearman"] == pytest.approx(stats.spearmanr(xa, yb).statistic, abs=EXACT)
    assert summary["kendall"] == pytest.approx(stats.kendalltau(xa, yb).statistic, abs=EXACT)
    assert summary["mean_difference"] == pytest.approx(np.mean(xa - yb), abs=EXACT)
    for key in ("pearson", "spearman", "kendall", "mean_difference"):
        assert summary["ci"][key]["low"] < summary[key] < summary["ci"][key]["high"]
    again = compare_score_tables(a, b, "soc", "beta", "value", bootstrap=BootstrapSpec(200, 1))
    assert again.summary["ci"] == summary["ci"]
    with pytest.raises(DataError, match="occurs more than once"):
        compare_score_tables(pd.concat([a, a.head(1)]), b, "soc", "beta", "value")


def test_compare_published_felten_measures() -> None:
    folder = SHARED_DATA / "exposure" / "felten_aioe"
    if not folder.is_dir():
        pytest.skip(f"reference data not found at {folder}")
    a = pd.read_csv(folder / "aioe_by_soc.csv", dtype={"soc_code": str})
    b = pd.read_csv(folder / "lm_aioe_by_soc.csv", dtype={"soc_code": str})
    result = compare_score_tables(
        a, b, "soc_code", "aioe", "lm_aioe", bootstrap=BootstrapSpec(100, 0)
    )
    merged = a.merge(b, on="soc_code")
    assert result.summary["n"] == len(merged) == 774
    expected = stats.kendalltau(merged["aioe"], merged["lm_aioe"]).statistic
    assert result.summary["kendall"] == pytest.approx(expected, abs=EXACT)
    assert result.summary["pearson"] > 0.9  # the LM-specific AIOE re-weights the same abilities
