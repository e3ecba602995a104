"""Tests for connection.outcomes._compare: every interval is checked against an independent calculation
(statsmodels, pingouin or a hand formula) or against known simulated truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import ttost_ind

import connection as cx
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
)
from connection.outcomes._compare import (
    COMPARE_COLUMNS,
    VALUE_RATIO_COLUMNS,
    adjust_pvalues,
    compare,
    proportion_difference,
    risk_ratio,
    tost,
    value_ratio,
)

TABLES = [(46, 500, 26, 500), (32, 410, 11, 377), (7, 50, 1, 61), (180, 300, 120, 300)]


def _survey(seed: int = 0, n: int = 800) -> pd.DataFrame:
    """Connected customers: same satisfaction, more advocacy; known truth."""
    rng = np.random.default_rng(seed)
    connected = rng.random(n) < 0.35
    return pd.DataFrame({
        "connected": connected,
        "segment": np.where(connected, "connected", "not_connected"),
        "satisfaction": np.clip(rng.normal(7.6, 1.3, n).round(), 1, 10),
        "quality": np.clip(rng.normal(5.5, 1.0, n).round(), 1, 7),
        "features": np.clip(rng.normal(5.4, 1.1, n).round() + 0.6 * connected, 1, 7),
        "recommend": np.clip(rng.normal(np.where(connected, 8.5, 6.5), 1.5).round(), 0, 10),
        "post": (rng.random(n) < np.where(connected, 0.42, 0.12)).astype(int),
        "stay": (rng.random(n) < np.where(connected, 0.70, 0.55)).astype(bool),
        "spend": rng.gamma(4.0, np.where(connected, 45.0, 30.0)),
    })


# ---------------------------------------------------------------------------- building blocks

@pytest.mark.parametrize("a, na, c, nb", TABLES)
def test_risk_ratio_matches_statsmodels_katz(a, na, c, nb):
    table = Table2x2(np.array([[a, na - a], [c, nb - c]]))
    lo, hi = table.riskratio_confint(alpha=0.05)
    res = risk_ratio(a, na, c, nb).iloc[0]
    assert res["risk_ratio"] == pytest.approx(table.riskratio, rel=1e-12)
    assert res["ci_lower"] == pytest.approx(lo, rel=1e-10)
    assert res["ci_upper"] == pytest.approx(hi, rel=1e-10)
    assert not res["zero_correction"]


def test_risk_ratio_vectorised_and_level():
    a, na, c, nb = (np.array(v) for v in zip(*TABLES))
    res = risk_ratio(a, na, c, nb, level=0.90)
    for i in range(len(TABLES)):
        lo, hi = Table2x2(np.array([[a[i], na[i] - a[i]], [c[i], nb[i] - c[i]]])).riskratio_confint(alpha=0.10)
        assert res["ci_lower"].iloc[i] == pytest.approx(lo, rel=1e-10)
        assert res["ci_upper"].iloc[i] == pytest.approx(hi, rel=1e-10)


def test_risk_ratio_zero_cell_uses_haldane_correction():
    res = risk_ratio(5, 40, 0, 40).iloc[0]
    assert res["zero_correction"]
    # by hand: 0.5 added to each cell -> 5.5/41 vs 0.5/41
    rr = (5.5 / 41) / (0.5 / 41)
    se = np.sqrt(1 / 5.5 - 1 / 41 + 1 / 0.5 - 1 / 41)
    assert res["risk_ratio"] == pytest.approx(rr)
    assert res["ci_lower"] == pytest.approx(rr * np.exp(-1.959963984540054 * se))
    assert np.isfinite(res["ci_upper"])


def test_risk_ratio_rejects_impossible_counts():
    with pytest.raises(ArgumentError, match="between 0 and the group size"):
        risk_ratio(60, 50, 10, 50)


@pytest.mark.parametrize("a, na, c, nb", TABLES)
@pytest.mark.parametrize("method, sm_method", [("newcombe", "newcomb"), ("wald", "wald")])
def test_proportion_difference_matches_statsmodels(a, na, c, nb, method, sm_method):
    lo, hi = confint_proportions_2indep(a, na, c, nb, method=sm_method, compare="diff")
    res = proportion_difference(a, na, c, nb, method=method).iloc[0]
    assert res["difference"] == pytest.approx(a / na - c / nb)
    assert res["ci_lower"] == pytest.approx(lo, abs=1e-10)
    assert res["ci_upper"] == pytest.approx(hi, abs=1e-10)
    z, p = proportions_ztest([a, c], [na, nb])
    assert res["statistic"] == pytest.approx(z, rel=1e-10)
    assert res["pvalue"] == pytest.approx(p, rel=1e-8)


def test_newcombe_matches_published_example():
    # Newcombe (1998, Stat Med 17:873), Table II example (c): 56/70 vs 48/80 -> 0.0524 to 0.3339
    res = proportion_difference(56, 70, 48, 80).iloc[0]
    assert res["ci_lower"] == pytest.approx(0.0524, abs=5e-5)
    assert res["ci_upper"] == pytest.approx(0.3339, abs=5e-5)


@pytest.mark.parametrize("usevar, welch", [("unequal", True), ("pooled", False)])
def test_tost_matches_statsmodels(usevar, welch):
    rng = np.random.default_rng(5)
    x, y = rng.normal(5.0, 1.0, 120), rng.normal(5.2, 1.6, 90)
    p_sm, lower, upper = ttost_ind(x, y, -0.4, 0.6, usevar=usevar)
    res = tost(x, y, (-0.4, 0.6), welch=welch).iloc[0]
    assert res["pvalue"] == pytest.approx(p_sm, rel=1e-9)
    assert res["t_lower"] == pytest.approx(lower[0], rel=1e-9)
    assert res["t_upper"] == pytest.approx(upper[0], rel=1e-9)
    assert res["df"] == pytest.approx(lower[2], rel=1e-9)


def test_tost_decision_equals_interval_inside_bounds():
    rng = np.random.default_rng(9)
    for _ in range(30):
        x, y = rng.normal(0, 1, 60), rng.normal(rng.normal(0, 0.3), 1, 60)
        m = rng.uniform(0.1, 0.8)
        r = tost(x, y, m).iloc[0]
        assert r["equivalent"] == bool(-m < r["ci_lower"] and r["ci_upper"] < m)


def test_tost_rejects_bad_bounds():
    with pytest.raises(ArgumentError):
        tost([1, 2, 3], [2, 3, 4], (0.5, -0.5))


def test_adjust_pvalues_matches_multipletests_per_family():
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.002, 0.5, np.nan])
    fam = ["x", "x", "x", "x", "y", "y", "y"]
    for method, sm in (("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")):
        out = adjust_pvalues(p, correction=method, families=fam)
        assert out[:4] == pytest.approx(multipletests(p[:4], method=sm)[1])
        assert out[4:6] == pytest.approx(multipletests(p[4:6], method=sm)[1])
        assert np.isnan(out[6])
    assert adjust_pvalues(p, correction=None)[:6] == pytest.approx(p[:6])
    with pytest.raises(ArgumentError):
        adjust_pvalues(p, correction="sidak-ish")


# ---------------------------------------------------------------------------- compare()

def test_compare_table_columns_and_values_match_building_blocks():
    df = _survey()
    res = compare(df, "connected", equivalence=["satisfaction", "quality", "features"], margin=0.5,
                  proportions={"post": None, "stay": None, "recommend": 9})
    t = res.table
    assert list(t.columns) == COMPARE_COLUMNS
    assert len(t) == 6
    a = df[df.connected]
    b = df[~df.connected]
    # equivalence row == tost() == statsmodels
    sat = t.set_index("variable").loc["satisfaction"]
    p_sm = ttost_ind(a.satisfaction, b.satisfaction, -0.5, 0.5, usevar="unequal")[0]
    assert sat["pvalue"] == pytest.approx(p_sm, rel=1e-9)
    assert sat["value_a"] == pytest.approx(a.satisfaction.mean())
    assert sat["ci_level"] == pytest.approx(0.90)
    # top-box threshold: recommend >= 9
    rec = t.set_index("variable").loc["recommend"]
    ea, eb = (a.recommend >= 9).sum(), (b.recommend >= 9).sum()
    assert rec["events_a"] == ea and rec["events_b"] == eb
    lo, hi = Table2x2(np.array([[ea, len(a) - ea], [eb, len(b) - eb]])).riskratio_confint()
    assert rec["rr_ci_lower"] == pytest.approx(lo) and rec["rr_ci_upper"] == pytest.approx(hi)
    assert rec["threshold"] == 9
    # Holm within each family, from the raw p-values
    for _fam, sub in t.groupby("family"):
        assert sub["p_adjusted"].to_numpy() == pytest.approx(
            multipletests(sub["pvalue"].to_numpy(), method="holm")[1])
    assert set(t["family"]) == {"equivalence", "proportions"}


def test_compare_known_truth():
    df = _survey(seed=1, n=4000)
    res = compare(df, "connected", equivalence=["satisfaction", "features"], margin=0.3,
                  proportions=["post"])
    t = res.table.set_index("variable")
    # satisfaction is generated identical in both segments: equivalent at +/-0.3
    assert t.loc["satisfaction", "conclusion"] == "equivalent"
    # features differ by about 0.6 points: not equivalent at 0.3
    assert t.loc["features", "conclusion"] == "not shown equivalent"
    # true risk ratio 0.42 / 0.12 = 3.5 inside its interval; difference 0.30 inside its interval
    assert t.loc["post", "rr_ci_lower"] < 3.5 < t.loc["post", "rr_ci_upper"]
    assert t.loc["post", "ci_lower"] < 0.30 < t.loc["post", "ci_upper"]
    assert t.loc["post", "conclusion"] == "a more likely"


def test_compare_standardized_margin_and_effect_sizes():
    df = _survey(seed=2)
    res = compare(df, "segment", a="connected", b="not_connected", equivalence=["quality"],
                  margin=0.25, margin_scale="sd")
    row = res.equivalence.iloc[0]
    a = df.loc[df.segment == "connected", "quality"]
    b = df.loc[df.segment == "not_connected", "quality"]
    sp = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    assert row["margin_std"] == pytest.approx(0.25)
    assert row["margin_raw"] == pytest.approx(0.25 * sp)
    d = (a.mean() - b.mean()) / sp
    assert row["cohen_d"] == pytest.approx(d, rel=1e-9)
    n = len(a) + len(b)
    assert row["hedges_g"] == pytest.approx(d * (1 - 3 / (4 * n - 9)), rel=1e-9)
    # Welch difference test
    assert row["pvalue_difference"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_compare_families_and_bh():
    df = _survey(seed=3)
    res = compare(df, "connected", proportions=["post", "stay"], equivalence=["quality"],
                  margin={"quality": 0.4}, families={"post": "outcomes", "stay": "outcomes",
                                                     "quality": "quality"}, correction="fdr_bh")
    t = res.table
    out = t[t.family == "outcomes"]
    assert out["p_adjusted"].to_numpy() == pytest.approx(
        multipletests(out["pvalue"].to_numpy(), method="fdr_bh")[1])
    q = t[t.family == "quality"].iloc[0]
    assert q["p_adjusted"] == pytest.approx(q["pvalue"])  # a family of one is not adjusted


def test_compare_missing_values_are_left_out_per_variable():
    df = _survey(seed=4, n=300)
    df.loc[:9, "quality"] = np.nan
    df["connected"] = df["connected"].astype("object")
    df.loc[[20, 21], "connected"] = None
    with pytest.warns(ExclusionWarning) as record:
        res = compare(df, "connected", a=True, b=False, equivalence=["quality"], margin=0.5,
                      proportions=["post"])
    messages = [str(w.message) for w in record]
    assert any("2 rows have no value in 'connected'" in m for m in messages)
    # rows 20/21 have no segment, so 10 of the 298 compared lack quality; post lacks none
    assert any("quality: 10 of 298" in m and "post" not in m for m in messages)
    t = res.table.set_index("variable")
    assert t.loc["quality", "n_a"] + t.loc["quality", "n_b"] == 300 - 2 - 10
    assert t.loc["post", "n_a"] + t.loc["post", "n_b"] == 298


def test_compare_summary_and_html():
    res = compare(_survey(), "connected", equivalence=["satisfaction"], margin=0.5,
                  proportions=["post"])
    text = str(res.summary())
    assert "TOST" in text and "Katz" in text and "satisfaction" in text
    html = res._repr_html_()
    assert "<table" in html and "post" in html


def test_cx_compare_is_callable_from_package():
    df = _survey(n=200)
    res = cx.compare(df, "connected", proportions=["post"])
    assert res.table["variable"].tolist() == ["post"]


def test_compare_errors_name_what_is_wrong():
    df = _survey(n=100)
    with pytest.raises(MissingColumnError, match="nope"):
        compare(df, "connected", proportions=["nope"])
    with pytest.raises(ArgumentError, match="margin"):
        compare(df, "connected", equivalence=["quality"])
    with pytest.raises(OutOfRangeError, match="recommend"):
        compare(df, "connected", proportions=["recommend"])
    with pytest.raises(ArgumentError, match="say which two groups"):
        compare(df, "segment", proportions=["post"])
    with pytest.raises(ArgumentError, match="does not occur"):
        compare(df, "segment", a="connected", b="other", proportions=["post"])
    bad = df.assign(quality=df["quality"].astype(str))
    bad.loc[3, "quality"] = "n/a"
    with pytest.raises(NonNumericError, match="row 4"):
        compare(bad, "connected", equivalence=["quality"], margin=0.5)
    with pytest.raises(ArgumentError, match="nothing to compare"):
        compare(df, "connected")


def test_adjust_pvalues_matches_r_p_adjust():
    # R 4.2.2: p <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216)
    #          p.adjust(p, "holm"); p.adjust(p, "BH")
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216])
    holm = [0.010, 0.072, 0.312, 0.312, 0.312, 0.312, 0.312, 0.615, 0.615, 0.615]
    bh = [0.010, 0.040, 0.084, 0.084, 0.084, 0.100, 0.1057142857, 0.216, 0.216, 0.216]
    order = np.random.default_rng(3).permutation(p.size)   # input order must not matter
    # a second family and an untested (NaN) entry must not change this family's values
    pp = np.r_[p[order], 0.5, np.nan, 0.01]
    fam = ["main"] * p.size + ["other", "main", "other"]
    for method, ref in (("holm", holm), ("bh", bh)):
        out = adjust_pvalues(pp, correction=method, families=fam)
        assert out[: p.size] == pytest.approx(np.asarray(ref)[order], abs=1e-9)
        assert np.isnan(out[p.size + 1])
    assert adjust_pvalues(pp, correction="holm", families=fam)[[p.size, p.size + 2]] == pytest.approx([0.5, 0.02])


def test_adjust_pvalues_equals_multipletests_on_random_families_with_ties(monkeypatch):
    """The package's own Holm/BH/Bonferroni against statsmodels on 200 random families (sizes
    1-40, ties, zeros and ones); and without a garbage collection per call (statsmodels' Holm
    runs gc.collect(), which costs a third of a second in a long session)."""
    import gc

    rng = np.random.default_rng(11)
    cases = []
    for _ in range(200):
        m = int(rng.integers(1, 41))
        p = rng.choice(np.r_[rng.random(m), 0.0, 1.0, 0.05, 0.05], size=m)
        p = np.round(p, int(rng.integers(1, 4)))  # rounding makes ties
        cases.append(p)
    # the references without statsmodels' collections (each takes ~70 ms in this long process)
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    expected = {sm: [multipletests(p, method=sm)[1] for p in cases]
                for sm in ("holm", "fdr_bh", "bonferroni")}

    def no_gc(*args):
        raise AssertionError("adjust_pvalues ran a garbage collection")

    monkeypatch.setattr(gc, "collect", no_gc)
    for method, sm in (("holm", "holm"), ("bh", "fdr_bh"), ("bonferroni", "bonferroni")):
        for p, ref in zip(cases, expected[sm]):
            assert adjust_pvalues(p, correction=method) == pytest.approx(ref, abs=1e-12)


def test_bad_counts_p_values_and_samples_raise_typed_errors():
    # counts: NaN, fractional, events > n, n = 0 (each named by its table)
    for bad in [(np.nan, 10, 2, 10), (2.5, 10, 2, 10), (12, 10, 2, 10), (0, 0, 1, 5)]:
        with pytest.raises(ArgumentError, match="whole numbers between 0 and the group size"):
            risk_ratio(*bad)
        with pytest.raises(ArgumentError, match="whole numbers between 0 and the group size"):
            proportion_difference(*bad)
    with pytest.raises(ArgumentError, match=r"row 2.*\(3/2 vs 1/5\)"):
        risk_ratio([1, 3], [5, 2], 1, 5)
    # p-values outside [0, 1] and a families list of the wrong length
    with pytest.raises(ArgumentError, match="rows 2, 3"):
        adjust_pvalues([0.5, 1.5, -0.1])
    with pytest.raises(ArgumentError, match="one label per p-value"):
        adjust_pvalues([0.5, 0.1], families=["a"])
    # tost: text, too few values, no variance, alpha outside (0, 0.5)
    with pytest.raises(NonNumericError, match="rows 1, 2"):
        tost(["a", "b", 3], [1.0, 2.0, 3.0], 0.5)
    with pytest.raises(ArgumentError, match="too few values"):
        tost([1.0, 2.0, 3.0], [np.nan, 4.0], 0.5)
    with pytest.raises(NoVarianceError, match="no variance"):
        tost([2.0, 2.0, 2.0], [3.0, 3.0], 0.5)
    with pytest.raises(ArgumentError, match="alpha"):
        tost([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], 0.5, alpha=0.6)
    with pytest.raises(OutOfRangeError, match="infinite"):
        tost([1.0, np.inf, 3.0], [1.0, 2.0, 4.0], 0.5)


def test_compare_refuses_same_group_constant_and_infinite_values():
    df = _survey(n=200)
    with pytest.raises(ArgumentError, match="same group"):
        compare(df, "segment", a="connected", b="connected", proportions=["post"])
    with pytest.raises(NoVarianceError, match="'quality'"):
        compare(df.assign(quality=4.0), "connected", equivalence=["quality"], margin=0.5)
    inf = df.assign(quality=df["quality"].where(df.index != 6, np.inf))
    with pytest.raises(OutOfRangeError, match="column 'quality', row 7"):
        compare(inf, "connected", equivalence=["quality"], margin=0.5)
    with pytest.raises(ArgumentError, match="threshold must be a finite number"):
        compare(df, "connected", proportions={"recommend": np.nan})   # every row was a non-event
    with pytest.raises(ArgumentError, match="not compared.*'reccomend'"):
        compare(df, "connected", proportions={"recommend": 9}, families={"reccomend": "outcomes"})
    with pytest.raises(ArgumentError, match="DataFrame"):
        compare(df.to_numpy(), "connected", proportions=["post"])
    text = df.assign(quality=df["quality"].astype(str))   # numbers stored as strings
    with pytest.raises(NonNumericError, match="text"):
        compare(text, "connected", equivalence=["quality"], margin=0.5)


# ---------------------------------------------------------------------------- value_ratio()

def test_value_ratio_refuses_non_positive_means_and_reports_rows_left_out():
    df = _survey(n=300)
    with pytest.raises(ArgumentError, match="positive mean"):
        value_ratio(df.assign(spend=df["spend"] - 1000), "spend", between="connected", n_boot=0)
    with pytest.raises(ArgumentError, match="n_boot"):
        value_ratio(df, "spend", between="connected", n_boot=-1)
    holes = df.assign(spend=df["spend"].where(df.index >= 5), category=np.where(df.index == 9, None, "bank"))
    with pytest.warns(ExclusionWarning, match=r"6 of 300 rows .* left out \(rows 1, 2, 3, 4, 5, 10\)"):
        out = value_ratio(holes, "spend", between="connected", group="category", n_boot=0)
    assert int(out["n_a"].iloc[0] + out["n_b"].iloc[0]) == 294


def test_value_ratio_delta_and_fieller_match_hand_formulas():
    df = _survey(seed=6, n=1500)
    out = value_ratio(df, "spend", between="connected", n_boot=0)
    assert list(out.columns) == VALUE_RATIO_COLUMNS
    a = df.loc[df.connected, "spend"].to_numpy()
    b = df.loc[~df.connected, "spend"].to_numpy()
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    r = ma / mb
    z = stats.norm.ppf(0.975)
    d = out.set_index("method")
    se = np.sqrt(va / ma**2 + vb / mb**2)
    assert d.loc["delta_log", "ci_lower"] == pytest.approx(r * np.exp(-z * se))
    # Fieller bounds solve (ma - R mb)^2 = z^2 (va + R^2 vb)
    for bound in (d.loc["fieller", "ci_lower"], d.loc["fieller", "ci_upper"]):
        assert (ma - bound * mb) ** 2 == pytest.approx(z**2 * (va + bound**2 * vb), rel=1e-9)
    assert d.loc["fieller", "ci_lower"] < r < d.loc["fieller", "ci_upper"]
    assert d.loc["delta_log", "percent_more"] == pytest.approx(100 * (r - 1))
    assert "bootstrap_percentile" not in d.index


def test_value_ratio_bootstrap_is_seeded_and_close_to_delta():
    df = _survey(seed=7, n=3000)
    one = value_ratio(df, "spend", between="connected", n_boot=400, seed=42, progress=False)
    two = value_ratio(df, "spend", between="connected", n_boot=400, seed=42, progress=False)
    pd.testing.assert_frame_equal(one, two)
    d = one.set_index("method")
    width_boot = d.loc["bootstrap_percentile", "ci_upper"] - d.loc["bootstrap_percentile", "ci_lower"]
    width_delta = d.loc["delta_log", "ci_upper"] - d.loc["delta_log", "ci_lower"]
    assert width_boot == pytest.approx(width_delta, rel=0.2)
    # true ratio of means is 45 / 30 = 1.5
    for m in d.index:
        assert d.loc[m, "ci_lower"] < 1.5 < d.loc[m, "ci_upper"]


def test_value_ratio_by_group_and_unbounded_fieller():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"seg": np.tile(["a", "b"], 200), "cat": np.repeat(["x", "y"], 200),
                       "v": rng.normal(1.0, 1.0, 400)})
    df.loc[(df.cat == "y") & (df.seg == "b"), "v"] = rng.normal(0.0, 3.0, 100)
    out = value_ratio(df, "v", between="seg", a="a", b="b", group="cat", n_boot=0)
    assert set(out["group"]) == {"x", "y"}
    f = out[(out.group == "y") & (out.method == "fieller")].iloc[0]
    assert np.isinf(f["ci_lower"]) and np.isinf(f["ci_upper"])


@pytest.mark.slow
def test_value_ratio_interval_coverage():
    """About 95% of 95% intervals cover the true ratio (gamma spend, n = 300 per segment)."""
    rng = np.random.default_rng(2026)
    n_sim = 300
    hits = {"bootstrap_percentile": 0, "bootstrap_bca": 0, "delta_log": 0, "fieller": 0}
    for i in range(n_sim):
        df = pd.DataFrame({"seg": np.repeat([True, False], 300),
                           "spend": np.r_[rng.gamma(3.0, 50.0, 300), rng.gamma(3.0, 33.0, 300)]})
        out = value_ratio(df, "spend", between="seg", n_boot=300, seed=i,
                          progress=False).set_index("method")
        for m in hits:
            hits[m] += out.loc[m, "ci_lower"] < 50 / 33 < out.loc[m, "ci_upper"]
    for m, h in hits.items():
        # binomial sd at 95% over 300 sims is 1.26%: accept 0.91 .. 0.99
        assert 0.91 <= h / n_sim <= 0.99, (m, h / n_sim)


@pytest.mark.slow
def test_risk_ratio_and_tost_coverage():
    rng = np.random.default_rng(77)
    n_sim, rr_hits, eq_hits = 1000, 0, 0
    for _ in range(n_sim):
        a, c = rng.binomial(400, 0.30), rng.binomial(400, 0.15)
        r = risk_ratio(a, 400, c, 400).iloc[0]
        rr_hits += r["ci_lower"] < 2.0 < r["ci_upper"]
        x, y = rng.normal(0.2, 1, 100), rng.normal(0, 1, 100)
        t = tost(x, y, 0.5).iloc[0]
        eq_hits += t["ci_lower"] < 0.2 < t["ci_upper"]  # 90% interval
    assert 0.935 <= rr_hits / n_sim <= 0.965
    assert 0.88 <= eq_hits / n_sim <= 0.92


def test_value_ratio_bca_equals_engine_rows_mode_jackknife():
    """The closed-form leave-one-out ratios give the BCa interval the engine's own jackknife gives."""
    from connection.stats._bootstrap import bootstrap

    rng = np.random.default_rng(12)
    df = pd.DataFrame({"seg": np.repeat(["a", "b"], [70, 50]),
                       "v": np.r_[rng.gamma(2.0, 50.0, 70), rng.gamma(2.0, 35.0, 50)]})
    out = value_ratio(df, "v", between="seg", a="a", b="b", n_boot=300, seed=5,
                      progress=False).set_index("method")
    y = df["v"].to_numpy()
    in_a = (df["seg"] == "a").to_numpy()

    def ratio(d):
        yy, aa = d
        return yy[aa].mean() / yy[~aa].mean()

    child = np.random.SeedSequence(5).spawn(1)[0]
    ref = bootstrap(ratio, (y, in_a), n_boot=300, seed=child, strata=in_a, bca=True,
                    progress=False, label="value ratio v")
    ci = ref.ci(method="bca").iloc[0]
    assert out.loc["bootstrap_bca", "ci_lower"] == pytest.approx(ci["ci_lower"], rel=1e-10)
    assert out.loc["bootstrap_bca", "ci_upper"] == pytest.approx(ci["ci_upper"], rel=1e-10)
    pct = ref.ci().iloc[0]
    assert out.loc["bootstrap_percentile", "ci_lower"] == pytest.approx(pct["ci_lower"], rel=1e-10)


# ---------------------------------------------------------------------------- vocabulary (issue 13)

def test_compare_segment_is_the_old_name_of_between():
    import inspect

    df = _survey(seed=20, n=400)
    new = compare(df, between="connected", proportions=["post"], equivalence=["quality"], margin=0.5)
    with pytest.warns(FutureWarning, match="segment= is renamed between=") as record:
        old = compare(df, segment="connected", proportions=["post"], equivalence=["quality"],
                      margin=0.5)
    assert record[0].filename == __file__
    pd.testing.assert_frame_equal(old.table, new.table)
    assert new.settings["between"] == "connected" and (new.table["segment"] == "connected").all()
    params = inspect.signature(compare).parameters
    assert list(params)[:2] == ["data", "between"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[2:])


def test_value_ratio_keywords_and_the_old_positional_form():
    import inspect

    from connection._common import DEFAULT_N_BOOT

    df = _survey(seed=21, n=600).assign(cat=lambda d: np.where(d.index % 3, "x", "y"))
    new = value_ratio(df, "spend", between="segment", a="connected", b="not_connected",
                      group="cat", n_boot=50, seed=2, progress=False)
    with pytest.warns(FutureWarning) as record:
        old = value_ratio(df, "spend", "segment", "connected", "not_connected", by="cat",
                          n_boot=50, seed=2, progress=False)
    messages = [str(w.message) for w in record]
    assert any("pass between=, a=, b= by keyword" in m for m in messages)
    assert any("by= is renamed group=" in m for m in messages)
    assert all(w.filename == __file__ for w in record)
    pd.testing.assert_frame_equal(old, new)
    with pytest.warns(FutureWarning, match="segment= is renamed between="):
        seg = value_ratio(df, "spend", segment="segment", a="connected", b="not_connected",
                          group="cat", n_boot=50, seed=2, progress=False)
    pd.testing.assert_frame_equal(seg, new)
    assert set(new["by"]) == {"cat"} and set(new["group"]) == {"x", "y"}
    with pytest.raises(ArgumentError, match="between= twice"):
        value_ratio(df, "spend", "segment", between="segment", n_boot=0)
    with pytest.raises(TypeError):
        value_ratio(df, "spend", "segment", "connected", "not_connected", "extra", n_boot=0)
    params = inspect.signature(value_ratio).parameters
    assert list(params)[:2] == ["data", "value"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[2:])
    assert params["n_boot"].default == DEFAULT_N_BOOT


def test_value_ratio_generator_seed_same_state_same_intervals():
    df = _survey(seed=22, n=500)
    kw = {"between": "connected", "n_boot": 200, "progress": False}
    one = value_ratio(df, "spend", seed=np.random.default_rng(5), **kw)
    two = value_ratio(df, "spend", seed=np.random.default_rng(5), **kw)
    pd.testing.assert_frame_equal(one, two)
    rng = np.random.default_rng(5)
    pd.testing.assert_frame_equal(value_ratio(df, "spend", seed=rng, **kw), one)
    assert not value_ratio(df, "spend", seed=rng, **kw).equals(one)   # the generator moved on


def test_level_is_checked_by_the_common_check_everywhere():
    df = _survey(n=200)
    for call in (lambda: compare(df, "connected", proportions=["post"], level=1.0),
                 lambda: value_ratio(df, "spend", between="connected", n_boot=0, level=-0.1),
                 lambda: risk_ratio(4, 10, 2, 10, level=95),
                 lambda: proportion_difference(4, 10, 2, 10, level="0.9")):
        with pytest.raises(ArgumentError, match="level must"):
            call()


def test_compare_summary_is_a_report_with_the_same_tables():
    from connection._report import Report

    res = compare(_survey(), "connected", equivalence=["satisfaction"], margin=0.5,
                  proportions=["post"])
    report = res.summary()
    assert isinstance(report, Report)
    assert report.title == "Comparison of connected: True (a) vs False (b)"
    assert ("Multiplicity", "holm within each family") in report.header
    assert report.tables[0].caption.startswith("Equivalence (TOST, Welch t")
    assert report.tables[1].caption.startswith("Proportions (risk ratio with Katz log interval")
    assert report.tables[0].frame["variable"].tolist() == ["satisfaction"]
    assert report.tables[1].frame["risk_ratio"].iloc[0] == res.proportions["risk_ratio"].iloc[0]
    assert res._repr_html_() == report.as_html() and repr(res) == report.as_text()
    pd.testing.assert_frame_equal(res.to_frame(), res.table)


def test_compare_exclusion_warnings_point_at_the_callers_line():
    df = _survey(seed=4, n=300)
    df.loc[:9, "quality"] = np.nan
    df["connected"] = df["connected"].astype("object")
    df.loc[[20, 21], "connected"] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare(df, "connected", a=True, b=False, equivalence=["quality"], margin=0.5)
        value_ratio(df, "spend", between="connected", a=True, b=False, n_boot=0)
    excl = [w for w in caught if issubclass(w.category, ExclusionWarning)]
    assert len(excl) == 3 and all(w.filename == __file__ for w in excl)
