"""connection.context: intervals checked against R (base stats) and hand formulas."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from connection.context import (
    FIGURE_COLUMNS,
    ci_curve,
    diff_proportions,
    diff_shares,
    load_published_figures,
    min_n_significant,
    proportion_ci,
    rank_agreement,
)
from connection.errors import (
    ArgumentError,
    DataError,
    DuplicateIdError,
    EmptyFileError,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
)

REF = Path(__file__).parent / "references" / "context"


def wilson_by_hand(p, n, level=0.95):
    z = stats.norm.ppf(1 - (1 - level) / 2)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def exact_by_tail_inversion(x, n, level=0.95):
    """Clopper-Pearson from its definition: P(X >= x | lower) = P(X <= x | upper) = alpha / 2."""
    a = (1 - level) / 2
    lower = 0.0 if x == 0 else optimize.brentq(lambda q: stats.binom.sf(x - 1, n, q) - a, 1e-12, 1)
    upper = 1.0 if x == n else optimize.brentq(lambda q: stats.binom.cdf(x, n, q) - a, 0, 1 - 1e-12)
    return lower, upper


# --------------------------------------------------------------------------- one proportion
def test_wilson_and_exact_match_r():
    ref = pd.read_csv(REF / "one_proportion.csv")
    p = ref.x / ref.n
    w = proportion_ci(p, ref.n)
    w90 = proportion_ci(p, ref.n, level=0.90)
    e = proportion_ci(p, ref.n, method="exact")
    np.testing.assert_allclose(w.ci_lower, ref.wilson_lower, atol=1e-10)
    np.testing.assert_allclose(w.ci_upper, ref.wilson_upper, atol=1e-10)
    np.testing.assert_allclose(w90.ci_lower, ref.wilson90_lower, atol=1e-10)
    np.testing.assert_allclose(w90.ci_upper, ref.wilson90_upper, atol=1e-10)
    np.testing.assert_allclose(e.ci_lower, ref.exact_lower, atol=1e-9)
    np.testing.assert_allclose(e.ci_upper, ref.exact_upper, atol=1e-9)


@pytest.mark.parametrize("p,n,level", [(0.45, 100, 0.95), (0.33, 1056, 0.95), (0.64, 329, 0.9),
                                       (0.07, 132, 0.99), (0.673, 1300, 0.95)])
def test_wilson_matches_hand_formula(p, n, level):
    ci = proportion_ci(p, n, level=level)
    lo, hi = wilson_by_hand(p, n, level)
    assert ci.ci_lower[0] == pytest.approx(lo, abs=1e-12)
    assert ci.ci_upper[0] == pytest.approx(hi, abs=1e-12)
    assert ci.implied_count[0] == pytest.approx(p * n)
    assert ci.ci_lower[0] < p < ci.ci_upper[0]


@pytest.mark.parametrize("x,n", [(0, 20), (1, 20), (9, 20), (20, 20), (45, 100), (88, 132)])
def test_exact_matches_binomial_tail_inversion(x, n):
    ci = proportion_ci(x / n, n, method="exact")
    lo, hi = exact_by_tail_inversion(x, n)
    assert ci.ci_lower[0] == pytest.approx(lo, abs=1e-8)
    assert ci.ci_upper[0] == pytest.approx(hi, abs=1e-8)


def test_exact_is_wider_than_wilson_and_vectorised_rows_broadcast():
    p = np.array([0.1, 0.45, 0.9])
    w = proportion_ci(p, 200)
    e = proportion_ci(p, 200, method="exact")
    assert len(w) == 3 and (w.n == 200).all()
    assert ((e.ci_upper - e.ci_lower) > (w.ci_upper - w.ci_lower)).all()
    assert list(w.columns) == ["proportion", "n", "implied_count", "method", "level", "ci_lower",
                               "ci_upper"]


def test_proportion_ci_rejects_percentages_missing_n_and_bad_level():
    with pytest.raises(OutOfRangeError, match="divide percentages by 100"):
        proportion_ci(45, 100)
    with pytest.raises(OutOfRangeError, match="never a guess"):
        proportion_ci(0.45, np.nan)
    figs = load_published_figures()
    with pytest.raises(OutOfRangeError, match="ci_curve") as err:   # blank n in the data file
        proportion_ci(figs.proportion, figs.n)
    assert err.value.rows == [i + 1 for i in np.flatnonzero(figs.n.isna())]
    with pytest.raises(OutOfRangeError, match="sample size"):
        proportion_ci(0.45, 0)
    with pytest.raises(ArgumentError, match="level must lie strictly between 0 and 1"):
        proportion_ci(0.45, 100, level=95)
    with pytest.raises(OutOfRangeError, match="unknown interval method"):
        proportion_ci(0.45, 100, method="jeffreys-ish")


# --------------------------------------------------------------------------- two independent samples
def newcombe_by_hand(p1, n1, p2, n2, level=0.95):
    l1, u1 = wilson_by_hand(p1, n1, level)
    l2, u2 = wilson_by_hand(p2, n2, level)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def test_two_proportions_match_r_prop_test():
    ref = pd.read_csv(REF / "two_proportions.csv")
    d = diff_proportions(ref.x1 / ref.n1, ref.n1, ref.x2 / ref.n2, ref.n2)
    np.testing.assert_allclose(d.z, ref.z, rtol=1e-9)
    np.testing.assert_allclose(d.pvalue, ref.pvalue, rtol=1e-6)
    np.testing.assert_allclose(d.wald_ci_lower, ref.wald_lower, atol=1e-10)
    np.testing.assert_allclose(d.wald_ci_upper, ref.wald_upper, atol=1e-10)


@pytest.mark.parametrize("p1,n1,p2,n2", [(0.33, 1056, 0.64, 329), (0.67, 1300, 0.27, 132),
                                         (0.05, 40, 0.2, 35), (0.5, 10, 0.5, 12)])
def test_newcombe_matches_hand_formula(p1, n1, p2, n2):
    d = diff_proportions(p1, n1, p2, n2, labels=["x"])
    lo, hi = newcombe_by_hand(p1, n1, p2, n2)
    assert d.ci_lower[0] == pytest.approx(lo, abs=1e-10)
    assert d.ci_upper[0] == pytest.approx(hi, abs=1e-10)
    assert d.ci_method[0] == "newcombe" and d.label[0] == "x"
    assert d.ci_lower[0] <= d.difference[0] <= d.ci_upper[0]
    assert d.cohens_h[0] == pytest.approx(2 * math.asin(p1 ** 0.5) - 2 * math.asin(p2 ** 0.5))


def test_equal_shares_give_z_zero_and_an_interval_around_zero():
    d = diff_proportions(0.4, 500, 0.4, 200)
    assert d.z[0] == pytest.approx(0.0, abs=1e-12)
    assert d.pvalue[0] == pytest.approx(1.0)
    assert d.ci_lower[0] < 0 < d.ci_upper[0]
    assert -d.ci_lower[0] == pytest.approx(d.wald_ci_upper[0], rel=0.2)  # near-symmetric


def test_diff_proportions_label_count_checked():
    with pytest.raises(DataError, match="one label per pair"):
        diff_proportions([0.1, 0.2], 100, 0.3, 100, labels=["only one"])


# --------------------------------------------------------------------------- two shares, one sample
def test_diff_shares_variance_equals_exact_multinomial_variance():
    p = np.array([0.45, 0.33, 0.22])
    n = 25
    moments = []
    for x1 in range(n + 1):
        for x2 in range(n + 1 - x1):
            w = stats.multinomial.pmf([x1, x2, n - x1 - x2], n, p)
            moments.append((w, (x1 - x2) / n))
    w, d = map(np.array, zip(*moments))
    mean = float((w * d).sum())
    var = float((w * (d - mean) ** 2).sum())
    res = diff_shares(0.45, 0.33, n)
    assert mean == pytest.approx(0.12, abs=1e-12)
    assert res.se[0] ** 2 == pytest.approx(var, rel=1e-10)
    # treating the two shares as independent samples would understate the variance by 2 p1 p2 / n
    independent = (0.45 * 0.55 + 0.33 * 0.67) / n
    assert var == pytest.approx(independent + 2 * 0.45 * 0.33 / n, rel=1e-10)


@pytest.mark.slow
def test_diff_shares_interval_covers_at_nominal_rate():
    rng = np.random.default_rng(20261122)
    p = [0.45, 0.33, 0.22]
    n = 800
    draws = rng.multinomial(n, p, size=4000) / n
    cover = 0
    for p1, p2, _ in draws:
        r = diff_shares(p1, p2, n)
        cover += int(r.ci_lower[0] <= 0.12 <= r.ci_upper[0])
    assert 0.935 <= cover / len(draws) <= 0.962


def test_diff_shares_test_equals_conditional_binomial_normal_form():
    # among the n (p1 + p2) who chose either answer, is the split 50:50?
    p1, p2, n = 0.45, 0.33, 400
    m = n * (p1 + p2)
    share = p1 / (p1 + p2)
    z = (share - 0.5) / math.sqrt(0.25 / m)
    res = diff_shares(p1, p2, n)
    assert res.z[0] == pytest.approx(z, rel=1e-12)
    assert res.pvalue[0] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


def test_diff_shares_rejects_shares_summing_above_one():
    with pytest.raises(OutOfRangeError, match="cannot sum to more than 1"):
        diff_shares(0.7, 0.4, 100)


@settings(max_examples=60, deadline=None)
@given(p1=st.floats(0.01, 0.6), p2=st.floats(0.01, 0.39),
       level=st.sampled_from([0.9, 0.95, 0.99]))
def test_min_n_significant_is_the_threshold(p1, p2, level):
    if abs(p1 - p2) < 0.01:
        return
    n = min_n_significant(p1, p2, level=level)
    alpha = 1 - level
    assert diff_shares(p1, p2, n, level=level).pvalue[0] <= alpha + 1e-12
    if n > 1:
        assert diff_shares(p1, p2, n - 1, level=level).pvalue[0] > alpha


@settings(max_examples=40, deadline=None)
@given(p1=st.floats(0.05, 0.95), p2=st.floats(0.05, 0.95))
def test_min_n_significant_independent_is_the_threshold_of_the_pooled_z_test(p1, p2):
    if abs(p1 - p2) < 0.03:
        return
    n = min_n_significant(p1, p2, design="independent")
    # statsmodels' pooled z-test with n per side (independent of the closed form)
    assert diff_proportions(p1, n, p2, n).pvalue[0] <= 0.05 + 1e-12
    if n > 1:
        assert diff_proportions(p1, n - 1, p2, n - 1).pvalue[0] > 0.05


def test_min_n_significant_rejects_equal_shares():
    with pytest.raises(OutOfRangeError, match="never differ"):
        min_n_significant(0.3, 0.3)
    with pytest.raises(OutOfRangeError, match="unknown design"):
        min_n_significant(0.3, 0.4, design="paired")


# --------------------------------------------------------------------------- curves over n
def test_ci_curve_rows_match_proportion_ci_and_narrow_with_n():
    grid = [50, 100, 200, 400, 800, 1600, 3200]
    c = ci_curve({"discounts": 0.45, "support": 0.33}, grid)
    assert list(c.label.unique()) == ["discounts", "support"]
    for label, p in (("discounts", 0.45), ("support", 0.33)):
        part = c[c.label == label]
        assert np.all(np.diff(part.half_width) < 0)
        for _, row in part.iterrows():
            lo, hi = wilson_by_hand(p, row.n)
            assert row.ci_lower == pytest.approx(lo, abs=1e-12)
            assert row.ci_upper == pytest.approx(hi, abs=1e-12)
        # Wilson half-width shrinks like 1 / sqrt(n): quadrupling n halves it (approximately)
        ratio = part.half_width.iloc[-1] / part.half_width.iloc[-3]
        assert ratio == pytest.approx(0.5, abs=0.01)


# --------------------------------------------------------------------------- rank orders
def tau_a_by_hand(a, b):
    conc = disc = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        s = (a[i] - a[j]) * (b[i] - b[j])
        conc += s > 0
        disc += s < 0
    return conc, disc, (conc - disc) / (len(a) * (len(a) - 1) / 2)


def test_rank_agreement_matches_r_cor_test_and_hand_count():
    ref = pd.read_csv(REF / "kendall.csv").set_index("case")
    cases = {
        "near": (list(range(1, 13)), [2, 1, 4, 3, 6, 5, 12, 7, 8, 11, 9, 10]),
        "reversed": (list(range(1, 13)), [12, 10, 11, 9, 8, 7, 6, 5, 1, 4, 2, 3]),
        "six": (list(range(1, 7)), [1, 3, 2, 5, 4, 6]),
    }
    for case, (a, b) in cases.items():
        items = [f"reason_{i}" for i in range(len(a))]
        res = rank_agreement(dict(zip(items, a)), pd.Series(b, index=items)).iloc[0]
        conc, disc, tau = tau_a_by_hand(a, b)
        assert (res.concordant, res.discordant) == (conc, disc)
        assert res.tau == pytest.approx(tau, abs=1e-12)
        assert res.tau == pytest.approx(ref.loc[case, "tau"], abs=1e-12)
        assert res.pvalue == pytest.approx(ref.loc[case, "pvalue"], rel=1e-8)


def test_rank_agreement_aligns_by_item_not_by_position():
    a = {"discounts": 1, "purchase": 2, "reviews": 3, "connected": 4}
    b = {"connected": 4, "reviews": 3, "purchase": 2, "discounts": 1}  # same order, shuffled keys
    assert rank_agreement(a, b).tau[0] == pytest.approx(1.0)


def test_rank_agreement_counts_ties_and_uses_tau_b():
    a = [1, 2, 2, 4, 5]
    b = [1, 3, 2, 4, 5]
    items = list("abcde")
    res = rank_agreement(dict(zip(items, a)), dict(zip(items, b))).iloc[0]
    assert res.ties_1 == 1 and res.ties_2 == 0
    conc, disc, _ = tau_a_by_hand(a, b)
    n0 = 10
    assert res.tau == pytest.approx((conc - disc) / math.sqrt((n0 - 1) * n0))


def test_rank_agreement_refuses_partial_orders():
    with pytest.raises(DataError, match="same items") as err:
        rank_agreement({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "d": 3})
    assert "c (only in ranks_1)" in str(err.value) and "d (only in ranks_2)" in str(err.value)
    with pytest.raises(DataError, match="at least two"):
        rank_agreement({"a": 1}, {"a": 1})
    with pytest.raises(NonNumericError):
        rank_agreement({"a": 1, "b": np.nan}, {"a": 1, "b": 2})


# --------------------------------------------------------------------------- the data file
def test_nielsen_rows_carry_the_source_wording_and_address():
    """Issue 17: the chart asks for the primary reason for following or liking a brand, company or
    celebrity on social networking sites (not "on Facebook"), and each row names where it was
    read; a secondary copy gives the two friend reasons separately (2% each)."""
    every = load_published_figures(include_unconfirmed=True)
    nielsen = every[every.study == "nielsen_2011"]
    assert len(nielsen) == 7
    assert not nielsen[["population", "question", "source"]].apply(
        lambda col: col.str.contains("Facebook")).any().any()
    assert nielsen.question.str.contains("on social networking sites").all()
    assert nielsen.source.str.contains("https://").all()
    friends = nielsen[nielsen.id.isin(["nielsen_friend_recommended", "nielsen_friend_liked"])]
    assert list(friends.value) == [2, 2] and (friends.status == "S").all()


def test_shipped_file_loads_and_keeps_unconfirmed_apart():
    figs = load_published_figures()
    every = load_published_figures(include_unconfirmed=True)
    assert set(figs.status) <= {"P", "S"} and figs.confirmed.all()
    unconfirmed = every[every.status == "U"]
    assert len(unconfirmed) >= 1 and not unconfirmed.confirmed.any()
    assert len(every) == len(figs) + len(unconfirmed)
    assert list(every.columns[: len(FIGURE_COLUMNS)]) == list(FIGURE_COLUMNS)
    np.testing.assert_allclose(every.proportion, every.value / 100)
    # sample sizes are never filled in where none was published
    for study in ("nielsen_2011", "pivot_solis_2012"):
        part = every[every.study == study]
        assert part.n.isna().all() and (part.n_basis == "unknown").all()
    for study in ("cmo_lithium_2011", "ibm_2011"):
        assert every[every.study == study].n.notna().all()


def test_nielsen_primary_reasons_behave_like_one_single_choice_question():
    every = load_published_figures(include_unconfirmed=True)
    nielsen = every[every.study == "nielsen_2011"]
    # shares of mutually exclusive answers, rounded: they add to 100 up to rounding
    assert abs(nielsen.value.sum() - 100) <= 0.5 * len(nielsen)


def write_figures(tmp_path, frame):
    path = tmp_path / "figs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def good_frame():
    return pd.read_csv(load_published_figures.__globals__["published_figures_path"](),
                       dtype=str, keep_default_na=False).head(4)


@pytest.mark.parametrize("column,value,error,match", [
    ("status", "X", OutOfRangeError, "unknown status"),
    ("side", "execs", OutOfRangeError, "unknown side"),
    ("value", "45%", NonNumericError, "not a number"),
    ("value", "145", OutOfRangeError, "outside 0-100"),
    ("n", "12.5", OutOfRangeError, "positive whole number"),
    ("n", "many", NonNumericError, "sample size is not a number"),
    ("unit", "share", OutOfRangeError, "unknown unit"),
])
def test_bad_rows_are_named(tmp_path, good_frame, column, value, error, match):
    frame = good_frame.copy()
    frame.loc[2, column] = value
    path = write_figures(tmp_path, frame)
    with pytest.raises(error, match=match) as err:
        load_published_figures(path)
    text = str(err.value)
    assert "figs.csv" in text and f"column '{column}'" in text and "row 3" in text


def test_duplicate_ids_missing_columns_and_blank_n_basis(tmp_path, good_frame):
    frame = good_frame.copy()
    frame.loc[3, "id"] = frame.loc[0, "id"]
    with pytest.raises(DuplicateIdError, match="rows 1, 4"):
        load_published_figures(write_figures(tmp_path, frame))
    with pytest.raises(MissingColumnError, match="'status'"):
        load_published_figures(write_figures(tmp_path, good_frame.drop(columns="status")))
    frame = good_frame.copy()
    frame.loc[0, "n_basis"] = ""
    with pytest.raises(DataError, match="blank n must be marked unknown"):
        load_published_figures(write_figures(tmp_path, frame))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EmptyFileError):
        load_published_figures(empty)
    with pytest.raises(EmptyFileError, match="no rows"):
        load_published_figures(write_figures(tmp_path, good_frame.head(0)))


# --------------------------------------------------------------------------- a family of items
def test_diff_proportions_holm_and_bonferroni_family():
    p1 = np.array([0.61, 0.55, 0.53, 0.33, 0.22])
    p2 = np.array([0.60, 0.60, 0.67, 0.64, 0.61])
    n2 = np.array([331, 334, 333, 331, 329])
    fam = diff_proportions(p1, 1056, p2, n2, correction="holm")
    single = diff_proportions(p1, 1056, p2, n2)
    pd.testing.assert_frame_equal(fam[single.columns], single)
    # Holm by hand: the i-th smallest p times (k - i + 1), running maximum, capped at 1
    k = len(p1)
    order = np.argsort(fam.pvalue.to_numpy())
    holm = np.empty(k)
    holm[order] = np.minimum(1, np.maximum.accumulate(fam.pvalue.to_numpy()[order]
                                                      * np.arange(k, 0, -1)))
    np.testing.assert_allclose(fam.pvalue_holm, holm, rtol=1e-12)
    # Bonferroni simultaneous intervals = the per-pair interval at level 1 - 0.05 / k
    wide = diff_proportions(p1, 1056, p2, n2, level=1 - 0.05 / k)
    np.testing.assert_allclose(fam.ci_lower_bonferroni, wide.ci_lower, rtol=1e-12)
    np.testing.assert_allclose(fam.ci_upper_bonferroni, wide.ci_upper, rtol=1e-12)
    assert (fam.ci_lower_bonferroni < fam.ci_lower).all()
    assert (fam.pvalue_holm >= fam.pvalue).all()
    with pytest.raises(ArgumentError, match="correction must be one of"):
        diff_proportions(p1, 1056, p2, n2, correction="bonferroni")


# --------------------------------------------------------------------------- vocabulary (issue 13)
def test_level_is_checked_by_the_common_check_in_every_function():
    calls = [lambda: proportion_ci(0.4, 100, level=1.2),
             lambda: diff_proportions(0.4, 100, 0.3, 100, level=0),
             lambda: diff_shares(0.4, 0.3, 100, level=95),
             lambda: min_n_significant(0.4, 0.3, level=-1),
             lambda: ci_curve({"a": 0.4}, [100], level=2.0)]
    for call in calls:
        with pytest.raises(ArgumentError, match="level must lie strictly between 0 and 1"):
            call()


def test_diff_proportions_correction_is_keyword_only_and_adjust_its_old_name():
    import inspect

    params = inspect.signature(diff_proportions).parameters
    assert params["correction"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "adjust" not in params
    with pytest.raises(ArgumentError, match="both adjust="):
        diff_proportions(0.4, 100, 0.3, 100, adjust="holm", correction="holm")
    # one pair: Holm leaves the p-value as it is, the Bonferroni interval is the plain one
    one = diff_proportions(0.4, 100, 0.3, 100, correction="holm")
    assert one["pvalue_holm"].iloc[0] == one["pvalue"].iloc[0]
    assert one["ci_lower_bonferroni"].iloc[0] == pytest.approx(one["ci_lower"].iloc[0], abs=1e-15)
