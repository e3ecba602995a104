"""Tests for connection.outcomes._drivers against known simulated truth and independent statsmodels fits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

import connection as cx
from connection.errors import (
    ArgumentError,
    DataError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
)
from connection.outcomes._drivers import (
    DIFFERENCE_COLUMNS,
    INTERACTION_COLUMNS,
    MODEL_COLUMNS,
    TABLE_COLUMNS,
    drivers,
)
from connection.stats._bootstrap import bootstrap


def simulate(n: int, *, beta_c: float = 0.45, beta_s: float = 0.20, r: float = 0.5,
             seed: int = 0, groups: dict | None = None) -> pd.DataFrame:
    """Standardized population: corr(connection, satisfaction) = r, var(outcome) = 1, so the
    population standardized betas are exactly beta_c and beta_s. Drivers and outcome get
    arbitrary location/scale so standardization has work to do."""
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = r * sat + np.sqrt(1 - r**2) * rng.normal(size=n)
    explained = beta_c**2 + beta_s**2 + 2 * beta_c * beta_s * r
    y = beta_c * con + beta_s * sat + np.sqrt(1 - explained) * rng.normal(size=n)
    df = pd.DataFrame({"connection": 50 + 15 * con, "satisfaction": 7 + 1.5 * sat,
                       "advocacy": 3 + 2 * y, "age": rng.normal(40, 12, n)})
    eta = -0.3 + 0.9 * con + 0.3 * sat
    df["top_box"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    df["likert"] = np.digitize(eta + rng.logistic(size=n), [-2.0, -0.5, 0.8, 2.2]) + 1
    df["store"] = rng.integers(0, 60, n)
    return df


def _z(x):
    x = np.asarray(x, float)
    return (x - x.mean()) / x.std(ddof=1)


# ---------------------------------------------------------------------------- OLS

def test_ols_recovers_known_standardized_effects_and_difference():
    df = simulate(3000, seed=1)
    res = drivers(df, ["advocacy"], n_boot=500, seed=3, progress=False)
    t = res.table.set_index("term")
    assert list(res.table.columns) == TABLE_COLUMNS
    assert t.loc["connection", "ci_lower"] < 0.45 < t.loc["connection", "ci_upper"]
    assert t.loc["satisfaction", "ci_lower"] < 0.20 < t.loc["satisfaction", "ci_upper"]
    d = res.differences.iloc[0]
    assert list(res.differences.columns) == DIFFERENCE_COLUMNS
    assert d["contrast"] == "connection - satisfaction"
    assert d["ci_lower"] < 0.25 < d["ci_upper"]
    assert d["wald_ci_lower"] < 0.25 < d["wald_ci_upper"]
    assert d["n_boot"] == 500 and d["n_failed"] == 0 and d["resampled"] == "respondents"


def test_ols_matches_statsmodels_on_zscored_data():
    df = simulate(800, seed=2)
    res = drivers(df, ["advocacy"], controls=["age"], n_boot=0)
    X = sm.add_constant(np.column_stack([_z(df.connection), _z(df.satisfaction), _z(df.age)]))
    ref = sm.OLS(_z(df.advocacy), X).fit(cov_type="HC3")
    t = res.table.set_index("term")
    assert t.loc[["connection", "satisfaction", "age"], "beta"].to_numpy() == pytest.approx(ref.params[1:], abs=1e-12)
    assert t.loc[["connection", "satisfaction", "age"], "se"].to_numpy() == pytest.approx(ref.bse[1:], rel=1e-10)
    assert t.loc[["connection", "satisfaction", "age"], "pvalue"].to_numpy() == pytest.approx(ref.pvalues[1:], rel=1e-8)
    ci = ref.conf_int()[1:]
    assert t.loc[["connection", "satisfaction", "age"], "ci_lower"].to_numpy() == pytest.approx(ci[:, 0], abs=1e-12)
    raw = sm.OLS(df.advocacy, sm.add_constant(df[["connection", "satisfaction", "age"]])).fit()
    assert t.loc["connection", "b"] == pytest.approx(raw.params["connection"], rel=1e-10)
    assert t.loc["age", "role"] == "control" and np.isnan(t.loc["age", "delta_r2"])
    # Wald difference from the HC3 covariance
    V = ref.cov_params()
    d = res.differences.iloc[0]
    assert d["estimate"] == pytest.approx(ref.params[1] - ref.params[2], abs=1e-12)
    assert d["se"] == pytest.approx(np.sqrt(V[1, 1] + V[2, 2] - 2 * V[1, 2]), rel=1e-10)
    assert np.isnan(d["ci_lower"]) and d["ci_method"] == "none"


def test_delta_r2_and_general_dominance_by_hand():
    df = simulate(600, seed=4)
    res = drivers(df, ["advocacy"], controls=["age"], n_boot=0)
    r2 = {}
    for name, cols in {"full": ["connection", "satisfaction", "age"], "c": ["connection", "age"],
                       "s": ["satisfaction", "age"], "base": ["age"]}.items():
        r2[name] = sm.OLS(df.advocacy, sm.add_constant(df[cols])).fit().rsquared
    t = res.table.set_index("term")
    assert t.loc["connection", "delta_r2"] == pytest.approx(r2["full"] - r2["s"], abs=1e-12)
    assert t.loc["satisfaction", "delta_r2"] == pytest.approx(r2["full"] - r2["c"], abs=1e-12)
    gd_c = 0.5 * ((r2["c"] - r2["base"]) + (r2["full"] - r2["s"]))
    gd_s = 0.5 * ((r2["s"] - r2["base"]) + (r2["full"] - r2["c"]))
    assert t.loc["connection", "general_dominance"] == pytest.approx(gd_c, abs=1e-12)
    assert t.loc["satisfaction", "general_dominance"] == pytest.approx(gd_s, abs=1e-12)
    assert t.loc["connection", "r2"] == pytest.approx(r2["full"], abs=1e-12)
    m = res.models.iloc[0]
    assert list(res.models.columns) == MODEL_COLUMNS
    assert m["r2_controls"] == pytest.approx(r2["base"], abs=1e-12)


def test_general_dominance_three_drivers_adds_up():
    df = simulate(500, seed=5)
    df["features"] = 0.3 * df.connection / 15 + np.random.default_rng(0).normal(size=500)
    res = drivers(df, ["advocacy"], drivers=["connection", "satisfaction", "features"], n_boot=0)
    t = res.table.set_index("term")
    assert t["general_dominance"].sum() == pytest.approx(t["r2"].iloc[0], abs=1e-12)
    assert t["dominance_share"].sum() == pytest.approx(1.0)
    # features alone: its weight is the average of 4 increments, each computed here by hand
    def r2(cols):
        return sm.OLS(df.advocacy, sm.add_constant(df[cols])).fit().rsquared if cols else 0.0
    inc = [r2(["features"]),
           np.mean([r2(["connection", "features"]) - r2(["connection"]),
                    r2(["satisfaction", "features"]) - r2(["satisfaction"])]),
           r2(["connection", "satisfaction", "features"]) - r2(["connection", "satisfaction"])]
    assert t.loc["features", "general_dominance"] == pytest.approx(np.mean(inc), abs=1e-12)


def test_vectorised_bootstrap_equals_a_plain_statsmodels_loop():
    """Same seed -> same resamples: the weighted-moment replicates equal refits on resampled rows."""
    df = simulate(300, seed=6)
    res = drivers(df, ["advocacy"], controls=["age"], n_boot=60, seed=11, progress=False)

    def refit(d):
        X = sm.add_constant(np.column_stack([_z(d.connection), _z(d.satisfaction), _z(d.age)]))
        p = sm.OLS(_z(d.advocacy), X).fit().params
        return p[1] - p[2]

    child = np.random.SeedSequence(11).spawn(1)[0]
    ref = bootstrap(refit, df[["advocacy", "connection", "satisfaction", "age"]], n_boot=60,
                    seed=child, progress=False)
    ci = ref.ci()
    d = res.differences.iloc[0]
    assert d["ci_lower"] == pytest.approx(ci["ci_lower"].iloc[0], abs=1e-10)
    assert d["ci_upper"] == pytest.approx(ci["ci_upper"].iloc[0], abs=1e-10)
    assert d["boot_se"] == pytest.approx(ref.se.iloc[0], abs=1e-10)


def test_seeded_and_repeatable():
    df = simulate(400, seed=7)
    one = drivers(df, ["advocacy"], n_boot=100, seed=5, progress=False)
    two = drivers(df, ["advocacy"], n_boot=100, seed=5, progress=False)
    pd.testing.assert_frame_equal(one.differences, two.differences)
    three = drivers(df, ["advocacy"], n_boot=100, seed=6, progress=False)
    assert three.differences["ci_lower"].iloc[0] != one.differences["ci_lower"].iloc[0]


# ---------------------------------------------------------------------------- logit / ordinal

def test_logit_matches_statsmodels_and_recovers_truth():
    df = simulate(4000, seed=8)
    res = drivers(df, ["top_box"], family="logit", n_boot=200, seed=1, progress=False)
    X = sm.add_constant(np.column_stack([_z(df.connection), _z(df.satisfaction)]))
    ref = sm.Logit(df.top_box, X).fit(disp=0, cov_type="HC0")
    t = res.table.set_index("term")
    assert t.loc[["connection", "satisfaction"], "beta"].to_numpy() == pytest.approx(ref.params[1:], rel=1e-6)
    assert t.loc[["connection", "satisfaction"], "se"].to_numpy() == pytest.approx(ref.bse[1:], rel=1e-5)
    assert t.loc["connection", "r2"] == pytest.approx(ref.prsquared, rel=1e-8)
    assert t.loc["connection", "r2_type"] == "mcfadden" and t.loc["connection", "cov_type"] == "HC0"
    # truth: 0.9 and 0.3 log-odds per population SD (the drivers have unit variance)
    assert t.loc["connection", "ci_lower"] < 0.9 < t.loc["connection", "ci_upper"]
    assert t.loc["satisfaction", "ci_lower"] < 0.3 < t.loc["satisfaction", "ci_upper"]
    d = res.differences.iloc[0]
    assert d["ci_lower"] < 0.6 < d["ci_upper"]
    assert d["boot_se"] == pytest.approx(d["se"], rel=0.25)


def test_logit_batched_irls_equals_statsmodels_loop():
    df = simulate(400, seed=9)
    res = drivers(df, ["top_box"], family="logit", n_boot=40, seed=2, progress=False)

    def refit(d):
        X = sm.add_constant(np.column_stack([_z(d.connection), _z(d.satisfaction)]))
        p = np.asarray(sm.Logit(d.top_box.to_numpy(), X).fit(disp=0).params)
        return p[1] - p[2]

    ref = bootstrap(refit, df[["top_box", "connection", "satisfaction"]], n_boot=40,
                    seed=np.random.SeedSequence(2).spawn(1)[0], progress=False)
    d = res.differences.iloc[0]
    assert d["ci_lower"] == pytest.approx(ref.ci()["ci_lower"].iloc[0], abs=1e-6)
    assert d["boot_se"] == pytest.approx(ref.se.iloc[0], abs=1e-6)


def test_ordinal_matches_orderedmodel():
    df = simulate(1500, seed=10)
    res = drivers(df, ["likert"], family="ordinal", n_boot=10, seed=1, progress=False)
    ref = OrderedModel(df.likert.to_numpy(), np.column_stack([_z(df.connection), _z(df.satisfaction)]),
                       distr="logit").fit(method="bfgs", disp=0, maxiter=1000, cov_type="HC0")
    t = res.table.set_index("term")
    assert t.loc[["connection", "satisfaction"], "beta"].to_numpy() == pytest.approx(ref.params[:2], rel=1e-4)
    assert t.loc["connection", "r2"] == pytest.approx(1 - ref.llf / ref.llnull, rel=1e-6)
    assert t.loc["connection", "ci_lower"] < 0.9 < t.loc["connection", "ci_upper"]
    assert res.differences["n_boot"].iloc[0] == 10


def test_logit_and_ordinal_validate_the_outcome():
    df = simulate(200, seed=11)
    with pytest.raises(OutOfRangeError, match="0/1"):
        drivers(df, ["likert"], family="logit", n_boot=0)
    with pytest.raises(OutOfRangeError, match="at least 3 categories"):
        drivers(df, ["top_box"], family="ordinal", n_boot=0)


# ---------------------------------------------------------------------------- clusters, groups

def test_cluster_robust_se_and_cluster_bootstrap():
    df = simulate(1200, seed=12)
    res = drivers(df, ["advocacy"], cov_type="cluster", cluster="store", n_boot=200, seed=1,
                  progress=False)
    X = sm.add_constant(np.column_stack([_z(df.connection), _z(df.satisfaction)]))
    ref = sm.OLS(_z(df.advocacy), X).fit(cov_type="cluster", cov_kwds={"groups": df.store})
    t = res.table.set_index("term")
    assert t.loc[["connection", "satisfaction"], "se"].to_numpy() == pytest.approx(ref.bse[1:], rel=1e-10)
    m = res.models.iloc[0]
    assert m["n_clusters"] == 60 and m["cov_type"] == "cluster"
    d = res.differences.iloc[0]
    assert d["resampled"] == "clusters"
    assert d["boot_se"] == pytest.approx(d["se"], rel=0.3)


def test_by_group_fits_and_interaction_tests_known_truth():
    a = simulate(3000, beta_c=0.55, beta_s=0.15, seed=23).assign(mom="social")
    b = simulate(3000, beta_c=0.25, beta_s=0.15, seed=14).assign(mom="other")
    df = pd.concat([a, b], ignore_index=True)
    res = drivers(df, ["advocacy"], group="mom", n_boot=100, seed=1, progress=False)
    t = res.table
    assert set(zip(t["by"], t["group"])) == {("", "all"), ("mom", "other"), ("mom", "social")}
    soc = t[(t.group == "social") & (t.term == "connection")].iloc[0]
    oth = t[(t.group == "other") & (t.term == "connection")].iloc[0]
    assert soc["ci_lower"] < 0.55 < soc["ci_upper"]
    assert oth["ci_lower"] < 0.25 < oth["ci_upper"]
    # the group fit equals a fit on the subset alone
    only = drivers(b, ["advocacy"], n_boot=0).table.set_index("term")
    assert oth["beta"] == pytest.approx(only.loc["connection", "beta"], abs=1e-12)
    inter = res.interactions.set_index("driver")
    assert list(res.interactions.columns) == INTERACTION_COLUMNS
    assert inter.loc["connection", "reference"] == "other"
    assert inter.loc["connection", "pvalue"] < 1e-6 and inter.loc["connection", "slope_difference"] > 0
    assert inter.loc["satisfaction", "ci_lower"] < 0 < inter.loc["satisfaction", "ci_upper"]
    # two groups: chi-square = (difference / se)^2
    assert inter.loc["connection", "statistic"] == pytest.approx(
        (inter.loc["connection", "slope_difference"] / inter.loc["connection", "se"]) ** 2)
    assert len(res.differences) == 3


def test_interaction_three_groups_matches_statsmodels_wald():
    dfs = [simulate(700, beta_c=bc, seed=20 + i).assign(cat=c)
           for i, (bc, c) in enumerate([(0.3, "bank"), (0.4, "ereader"), (0.5, "retail")])]
    df = pd.concat(dfs, ignore_index=True)
    res = drivers(df, ["advocacy"], group="cat", n_boot=0)
    row = res.interactions.set_index("driver").loc["connection"]
    assert row["df"] == 2 and np.isnan(row["slope_difference"])
    zc, zs = _z(df.connection), _z(df.satisfaction)
    d1, d2 = (df.cat == "ereader").astype(float), (df.cat == "retail").astype(float)
    X = sm.add_constant(np.column_stack([zc, zs, d1, d2, zc * d1, zc * d2, zs * d1, zs * d2]))
    ref = sm.OLS(_z(df.advocacy), X).fit(cov_type="HC3")
    R = np.zeros((2, 9))
    R[0, 5] = R[1, 6] = 1
    w = ref.wald_test(R, scalar=True, use_f=False)
    assert row["statistic"] == pytest.approx(float(w.statistic), rel=1e-9)
    assert row["pvalue"] == pytest.approx(float(w.pvalue), rel=1e-7)


# ---------------------------------------------------------------------------- input handling

def test_missing_rows_are_reported_and_left_out():
    df = simulate(300, seed=15)
    df.loc[[1, 5, 9], "satisfaction"] = np.nan
    with pytest.warns(ExclusionWarning, match="3 of 300"):
        res = drivers(df, ["advocacy"], n_boot=0)
    assert res.models["n"].iloc[0] == 297 and res.models["n_excluded"].iloc[0] == 3


def test_categorical_controls_become_dummies():
    df = simulate(400, seed=16)
    df["category"] = np.random.default_rng(1).choice(["bank", "ereader", "retail"], 400)
    res = drivers(df, ["advocacy"], controls=["category"], n_boot=20, seed=1, progress=False)
    assert {"category[ereader]", "category[retail]"} <= set(res.table["term"])
    X = pd.get_dummies(df.category, drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([pd.Series(_z(df.connection)), pd.Series(_z(df.satisfaction)),
                                   X.reset_index(drop=True)], axis=1))
    ref = sm.OLS(_z(df.advocacy), X).fit(cov_type="HC3")
    got = res.table.set_index("term").loc["connection", "beta"]
    assert got == pytest.approx(ref.params.iloc[1], abs=1e-12)


def test_errors_name_the_problem():
    df = simulate(100, seed=17)
    with pytest.raises(MissingColumnError, match="loyalty"):
        drivers(df, ["loyalty"], n_boot=0)
    with pytest.raises(ArgumentError, match="family must be one of"):
        drivers(df, ["advocacy"], family="probit", n_boot=0)
    with pytest.raises(ArgumentError, match="go together"):
        drivers(df, ["advocacy"], cov_type="cluster", n_boot=0)
    with pytest.raises(ArgumentError, match="used twice"):
        drivers(df, ["advocacy"], controls=["connection"], n_boot=0)
    const = df.assign(satisfaction=5.0)
    with pytest.raises(NoVarianceError, match="satisfaction"):
        drivers(const, ["advocacy"], n_boot=0)
    tiny = df.assign(g=["x"] * 98 + ["y"] * 2)
    with pytest.raises(GroupError, match="g='y'"):
        drivers(tiny, ["advocacy"], group="g", n_boot=0)


def test_infinite_text_and_single_group_inputs_are_refused_naming_the_data_row():
    df = simulate(120, seed=19)
    with pytest.raises(OutOfRangeError, match="column 'advocacy', row 4"):
        drivers(df.assign(advocacy=df.advocacy.where(df.index != 3, np.inf)), ["advocacy"], n_boot=0)
    with pytest.raises(OutOfRangeError, match="column 'age', row 8"):
        drivers(df.assign(age=df.age.where(df.index != 7, -np.inf)), ["advocacy"], controls=["age"],
                n_boot=0)
    # a text value after rows with missing data: the row named is the data's row, not the
    # position among complete cases
    text = df.assign(connection=df.connection.astype(object))
    text.loc[[0, 1], "satisfaction"] = np.nan
    text.loc[10, "connection"] = "n/a"
    with pytest.raises(NonNumericError, match="column 'connection', row 11, value 'n/a'"):
        drivers(text, ["advocacy"], n_boot=0)
    with pytest.raises(GroupError, match="fewer than two groups"):
        drivers(df.assign(g="only"), ["advocacy"], group="g", n_boot=0)
    # an exact linear combination gave minimum-norm betas, equal for both, with p-values
    twin = df.assign(loyal_sum=2 * df.satisfaction + 0.5 * df.age)
    with pytest.raises(DataError, match="collinear.*'satisfaction', 'age', 'loyal_sum'"):
        drivers(twin, ["advocacy"], drivers=["connection", "satisfaction"],
                controls=["age", "loyal_sum"], n_boot=0)
    with pytest.raises(ArgumentError, match="DataFrame"):
        drivers(df.to_numpy(), ["advocacy"], n_boot=0)
    for bad in (-1, 2.5):
        with pytest.raises(ArgumentError, match="n_boot"):
            drivers(df, ["advocacy"], n_boot=bad)
    with pytest.raises(NoVarianceError, match="categorical control.*'region'"):   # was dropped
        drivers(df.assign(region="north"), ["advocacy"], controls=["region"], n_boot=0)


def test_rows_without_a_by_group_are_counted_and_kept_in_the_pooled_fit():
    df = simulate(300, seed=20).assign(mom=lambda d: np.where(d.index % 2, "social", "other"))
    df.loc[[2, 4, 6, 8], "mom"] = None
    with pytest.warns(ExclusionWarning, match="4 of 300 complete rows have no 'mom'"):
        res = drivers(df, ["advocacy"], group="mom", n_boot=0)
    n = res.models.set_index("group")["n"]
    assert n["all"] == 300 and n["other"] + n["social"] == 296


def test_summary_html_and_package_entry_point():
    df = simulate(300, seed=18).assign(mom=lambda d: np.where(d.index % 2, "social", "other"))
    res = cx.drivers(df, ["advocacy"], group="mom", n_boot=20, seed=1, progress=False)
    text = str(res.summary())
    assert "fully standardized" in text and "connection - satisfaction" in text and "Wald" in text
    assert "<table" in res._repr_html_()
    logit = cx.drivers(df, ["top_box"], family="logit", n_boot=0)
    assert "McFadden" in str(logit.summary())


# ---------------------------------------------------------------------------- coverage

@pytest.mark.slow
def test_interval_coverage_of_betas_and_difference():
    """About 95% of 95% intervals cover the true standardized betas and their difference."""
    n_sim = 200
    hits = {"connection": 0, "satisfaction": 0, "wald_diff": 0, "boot_diff": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n_sim):
            df = simulate(400, seed=1000 + i)
            res = drivers(df, ["advocacy"], n_boot=300, seed=i, progress=False)
            t = res.table.set_index("term")
            for term, truth in (("connection", 0.45), ("satisfaction", 0.20)):
                hits[term] += t.loc[term, "ci_lower"] < truth < t.loc[term, "ci_upper"]
            d = res.differences.iloc[0]
            hits["wald_diff"] += d["wald_ci_lower"] < 0.25 < d["wald_ci_upper"]
            hits["boot_diff"] += d["ci_lower"] < 0.25 < d["ci_upper"]
    rates = {k: v / n_sim for k, v in hits.items()}
    # binomial sd at 95% over 200 simulations is 1.5%: accept 0.90 .. 0.99
    assert all(0.90 <= v <= 0.99 for v in rates.values()), rates


# ---------------------------------------------------------------------------- latent version

def _latent_data(n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """Latent connection/satisfaction (corr .5) measured by 4 and 3 items; outcome with var 1 and
    true standardized effects .45 and .20 of the *latent* drivers."""
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
    explained = 0.45**2 + 0.20**2 + 2 * 0.45 * 0.20 * 0.5
    df = pd.DataFrame({"advocacy": 0.45 * con + 0.20 * sat + np.sqrt(1 - explained) * rng.normal(size=n)})
    items = {"connection": [], "satisfaction": []}
    for j, lam in enumerate([0.8, 0.7, 0.75, 0.65]):
        df[f"ec{j}"] = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["connection"].append(f"ec{j}")
    for j, lam in enumerate([0.85, 0.8, 0.7]):
        df[f"sat{j}"] = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["satisfaction"].append(f"sat{j}")
    df["connection"] = df[items["connection"]].mean(axis=1)
    df["satisfaction"] = df[items["satisfaction"]].mean(axis=1)
    return df, items


def test_latent_version_recovers_truth_that_observed_scores_attenuate():
    df, items = _latent_data(3000, seed=30)
    res = drivers(df, ["advocacy"], n_boot=0, latent=items)
    lat = res.latent.set_index("term")
    assert list(res.latent.columns) == cx.outcomes._drivers.LATENT_COLUMNS
    # the outcome has variance 1 and the latent variances are fixed to 1: est is on the beta scale
    assert lat.loc["connection", "ci_lower"] < 0.45 < lat.loc["connection", "ci_upper"]
    assert lat.loc["satisfaction", "ci_lower"] < 0.20 < lat.loc["satisfaction", "ci_upper"]
    c = lat.loc["connection - satisfaction"]
    assert c["ci_lower"] < 0.25 < c["ci_upper"]
    assert c["beta"] == pytest.approx(lat.loc["connection", "beta"] - lat.loc["satisfaction", "beta"])
    assert lat.loc["connection", "cfi"] > 0.95 and lat.loc["connection", "n"] == 3000
    obs = res.table.set_index("term")
    # unreliable composites attenuate the observed connection coefficient
    assert obs.loc["connection", "beta"] < lat.loc["connection", "beta"] - 0.02
    assert "Latent version" in str(res.summary())


def test_latent_version_needs_items_for_every_driver():
    df, items = _latent_data(200, seed=32)
    with pytest.raises(ArgumentError, match="items of every driver"):
        drivers(df, ["advocacy"], n_boot=0, latent={"connection": items["connection"]})


def test_latent_version_counts_rows_left_out_and_refuses_text():
    df, items = _latent_data(300, seed=34)
    df.loc[[3, 8], "sat1"] = np.nan     # items only: the observed fit keeps these rows
    with pytest.warns(ExclusionWarning, match=r"advocacy \(latent\): 2 of 300 rows"):
        res = drivers(df, ["advocacy"], n_boot=0, latent=items)
    assert (res.latent["n"] == 298).all()
    text = df.assign(ec2=df["ec2"].astype(object))
    text.loc[5, "ec2"] = "n/a"
    with pytest.raises(NonNumericError, match="column 'ec2', row 6"):   # was a bare ValueError
        drivers(text, ["advocacy"], n_boot=0, latent=items)


def test_latent_intervals_follow_level_and_match_engine_at_95():
    df, items = _latent_data(600, seed=33)
    r95 = drivers(df, ["advocacy"], n_boot=0, latent=items).latent.set_index("term")
    from connection.latent import sem
    from connection.outcomes._drivers import _latent_model

    fit = sem(_latent_model("advocacy", ["connection", "satisfaction"], [], items), df,
              estimator="MLR", std_lv=True)
    ref = fit.estimates[(fit.estimates.op == "~")].set_index("rhs")
    assert r95.loc["connection", "ci_lower"] == pytest.approx(ref.loc["connection", "ci_lower"], abs=1e-8)
    r90 = drivers(df, ["advocacy"], n_boot=0, latent=items, level=0.90).latent.set_index("term")
    width = lambda r: r["ci_upper"] - r["ci_lower"]  # noqa: E731
    assert width(r90.loc["connection"]) / width(r95.loc["connection"]) == pytest.approx(1.6449 / 1.96, rel=1e-3)


def test_parallel_bootstrap_gives_identical_intervals():
    df = simulate(500, seed=34)
    one = drivers(df, ["top_box"], family="logit", n_boot=200, seed=9, progress=False)
    two = drivers(df, ["top_box"], family="logit", n_boot=200, seed=9, progress=False, n_jobs=2)
    pd.testing.assert_frame_equal(one.differences, two.differences)


def test_logit_cluster_bootstrap_resamples_clusters():
    df = simulate(2000, seed=35)
    res = drivers(df, ["top_box"], family="logit", cov_type="cluster", cluster="store", n_boot=300,
                  seed=2, progress=False)
    d = res.differences.iloc[0]
    assert d["resampled"] == "clusters" and d["n_failed"] == 0
    assert d["boot_se"] == pytest.approx(d["se"], rel=0.3)
    X = sm.add_constant(np.column_stack([_z(df.connection), _z(df.satisfaction)]))
    ref = sm.Logit(df.top_box.to_numpy(), X).fit(disp=0, cov_type="cluster",
                                                 cov_kwds={"groups": df.store.to_numpy()})
    assert res.table["se"].to_numpy() == pytest.approx(np.asarray(ref.bse)[1:], rel=1e-5)


def test_separation_warns_and_counts_failed_replicates():
    from connection.errors import BootstrapWarning, ConvergenceWarning

    rng = np.random.default_rng(36)
    c, s = rng.normal(size=300), rng.normal(size=300)
    df = pd.DataFrame({"connection": c, "satisfaction": s, "y": (c > 0).astype(int)})
    with pytest.warns(ConvergenceWarning, match="separation"), pytest.warns(BootstrapWarning):
        res = drivers(df, ["y"], family="logit", n_boot=20, seed=1, progress=False)
    assert not res.models["converged"].iloc[0]
    assert res.differences["n_failed"].iloc[0] == 20


def test_logit_delta_and_dominance_use_mcfadden_by_hand():
    df = simulate(1500, seed=37)
    res = drivers(df, ["top_box"], family="logit", controls=["age"], n_boot=0)
    def pr2(cols):
        return sm.Logit(df.top_box.to_numpy(), sm.add_constant(df[cols].to_numpy())).fit(disp=0).prsquared
    r2 = {"full": pr2(["connection", "satisfaction", "age"]), "c": pr2(["connection", "age"]),
          "s": pr2(["satisfaction", "age"]), "base": pr2(["age"])}
    t = res.table.set_index("term")
    assert t.loc["connection", "delta_r2"] == pytest.approx(r2["full"] - r2["s"], abs=1e-7)
    gd_s = 0.5 * ((r2["s"] - r2["base"]) + (r2["full"] - r2["c"]))
    assert t.loc["satisfaction", "general_dominance"] == pytest.approx(gd_s, abs=1e-7)
    assert res.models["r2_controls"].iloc[0] == pytest.approx(r2["base"], abs=1e-7)


def test_ordinal_batched_newton_equals_orderedmodel_refits():
    """Same seed -> same resamples: the batched Newton replicates equal OrderedModel refits."""
    df = simulate(500, seed=40)
    res = drivers(df, ["likert"], family="ordinal", n_boot=20, seed=3, progress=False)

    def refit(d):
        X = np.column_stack([_z(d.connection), _z(d.satisfaction)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = np.asarray(OrderedModel(d.likert.to_numpy(), X, distr="logit").fit(
                method="bfgs", disp=0, maxiter=5000, gtol=1e-10).params)
        return p[0] - p[1]

    ref = bootstrap(refit, df[["likert", "connection", "satisfaction"]], n_boot=20,
                    seed=np.random.SeedSequence(3).spawn(1)[0], progress=False)
    d = res.differences.iloc[0]
    assert d["n_failed"] == 0
    assert d["ci_lower"] == pytest.approx(ref.ci()["ci_lower"].iloc[0], abs=1e-6)
    assert d["ci_upper"] == pytest.approx(ref.ci()["ci_upper"].iloc[0], abs=1e-6)
    assert d["boot_se"] == pytest.approx(ref.se.iloc[0], abs=1e-6)


def test_a_singular_resample_fails_alone_not_its_whole_chunk():
    df = simulate(200, seed=38)
    df["rare"] = np.where(np.arange(200) == 7, "yes", "no")  # one respondent: absent from ~37% of resamples
    with pytest.warns(Warning):
        res = drivers(df, ["advocacy"], controls=["rare"], n_boot=100, seed=1, progress=False)
    d = res.differences.iloc[0]
    assert 15 < d["n_failed"] < 60  # about e^-1 of the replicates lack the respondent
    assert np.isfinite(d["ci_lower"])


@pytest.mark.slow
def test_latent_interval_coverage():
    """About 95% of the latent version's 95% intervals cover the true effects and contrast."""
    n_sim = 200
    hits = {"connection": 0, "satisfaction": 0, "connection - satisfaction": 0}
    truth = {"connection": 0.45, "satisfaction": 0.20, "connection - satisfaction": 0.25}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n_sim):
            df, items = _latent_data(500, seed=3000 + i)
            lat = drivers(df, ["advocacy"], n_boot=0, latent=items).latent.set_index("term")
            for term in hits:
                hits[term] += lat.loc[term, "ci_lower"] < truth[term] < lat.loc[term, "ci_upper"]
    rates = {k: v / n_sim for k, v in hits.items()}
    assert all(0.90 <= v <= 0.99 for v in rates.values()), rates


# ---------------------------------------------------------------------------- pairwise contrasts

def _three(n=600, seed=41):
    df = simulate(n, seed=seed)
    # own noise (simulate() draws from default_rng(seed): the same stream would make it collinear)
    df["features"] = 0.3 * df.connection / 15 + np.random.default_rng(seed + 1000).normal(size=n)
    return df


def test_three_drivers_contrast_every_pair_with_the_right_numbers():
    """Before: only 'connection - satisfaction' (the first two drivers) was contrasted."""
    df = _three()
    res = drivers(df, ["advocacy"], drivers=["connection", "satisfaction", "features"],
                  controls=["age"], n_boot=0)
    d = res.differences.set_index("contrast")
    assert list(d.index) == ["connection - satisfaction", "connection - features",
                             "satisfaction - features"]
    X = sm.add_constant(np.column_stack([_z(df.connection), _z(df.satisfaction), _z(df.features),
                                         _z(df.age)]))
    ref = sm.OLS(_z(df.advocacy), X).fit(cov_type="HC3")
    V = ref.cov_params()
    for name, (i, k) in {"connection - features": (1, 3), "satisfaction - features": (2, 3)}.items():
        assert d.loc[name, "estimate"] == pytest.approx(ref.params[i] - ref.params[k], abs=1e-12)
        se = np.sqrt(V[i, i] + V[k, k] - 2 * V[i, k])
        assert d.loc[name, "se"] == pytest.approx(se, rel=1e-10)
        R = np.zeros(5)
        R[i], R[k] = 1, -1
        test = ref.t_test(R)     # statsmodels' own test of the contrast (z under HC3)
        assert d.loc[name, "statistic"] == pytest.approx(float(np.ravel(test.statistic)[0]), rel=1e-10)
        assert d.loc[name, "pvalue"] == pytest.approx(float(np.ravel(test.pvalue)[0]), rel=1e-8)
        assert d.loc[name, "wald_ci_lower"] == pytest.approx(float(np.ravel(test.conf_int())[0]), rel=1e-10)
    assert res.settings["contrasts"] == [("connection", "satisfaction"), ("connection", "features"),
                                         ("satisfaction", "features")]


def test_three_driver_bootstrap_intervals_of_every_pair_equal_a_plain_loop():
    df = _three(300, seed=42)
    res = drivers(df, ["advocacy"], drivers=["connection", "satisfaction", "features"], n_boot=60,
                  seed=4, progress=False)

    def refit(d):
        X = sm.add_constant(np.column_stack([_z(d.connection), _z(d.satisfaction), _z(d.features)]))
        p = sm.OLS(_z(d.advocacy), X).fit().params
        return np.array([p[1] - p[2], p[1] - p[3], p[2] - p[3]])

    ref = bootstrap(refit, df[["advocacy", "connection", "satisfaction", "features"]], n_boot=60,
                    seed=np.random.SeedSequence(4).spawn(1)[0], progress=False)
    ci = ref.ci()
    d = res.differences
    assert d["ci_lower"].to_numpy() == pytest.approx(ci["ci_lower"].to_numpy(), abs=1e-10)
    assert d["ci_upper"].to_numpy() == pytest.approx(ci["ci_upper"].to_numpy(), abs=1e-10)
    assert d["boot_se"].to_numpy() == pytest.approx(ref.se.to_numpy(), abs=1e-10)


def test_named_contrasts_logit_and_by_groups():
    df = _three(800, seed=43).assign(mom=lambda d: np.where(d.index % 2, "social", "other"))
    three = ["connection", "satisfaction", "features"]
    res = drivers(df, ["top_box"], drivers=three, family="logit", group="mom", n_boot=20, seed=1,
                  progress=False, contrasts=[("features", "connection")])
    assert list(res.differences["contrast"]) == ["features - connection"] * 3
    assert list(res.differences["group"]) == ["all", "other", "social"]
    t = res.table[res.table.group == "all"].set_index("term")
    assert res.differences["estimate"].iloc[0] == pytest.approx(
        t.loc["features", "beta"] - t.loc["connection", "beta"], abs=1e-12)
    assert (res.differences["n_boot"] == 20).all()
    # one bare pair is accepted; [] gives no contrast
    one = drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts=("satisfaction", "features"))
    assert list(one.differences["contrast"]) == ["satisfaction - features"]
    assert drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts=[]).differences.empty


def test_bad_contrasts_are_refused_naming_the_problem():
    df = _three(200, seed=44)
    three = ["connection", "satisfaction", "features"]
    with pytest.raises(ArgumentError, match="not one of the drivers.*'price'"):
        drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts=[("connection", "price")])
    with pytest.raises(ArgumentError, match="with itself"):
        drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts=[("features", "features")])
    with pytest.raises(ArgumentError, match="named twice"):
        drivers(df, ["advocacy"], drivers=three, n_boot=0,
                contrasts=[("features", "connection"), ("features", "connection")])
    with pytest.raises(ArgumentError, match="pair of driver names"):
        drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts=[("connection",)])
    with pytest.raises(ArgumentError, match="list of"):
        drivers(df, ["advocacy"], drivers=three, n_boot=0, contrasts="connection")


def test_latent_version_contrasts_every_pair():
    df, items = _latent_data(800, seed=45)
    rng = np.random.default_rng(1045)
    feat = rng.normal(size=800)     # a third latent driver, independent of the outcome
    for j, lam in enumerate([0.8, 0.7, 0.75]):
        df[f"f{j}"] = lam * feat + np.sqrt(1 - lam**2) * rng.normal(size=800)
    items["features"] = ["f0", "f1", "f2"]
    df["features"] = df[items["features"]].mean(axis=1)
    three = ["connection", "satisfaction", "features"]
    res = drivers(df, ["advocacy"], drivers=three, n_boot=0, latent=items)
    lat = res.latent.set_index("term")
    assert [t for t in lat.index if " - " in t] == ["connection - satisfaction",
                                                    "connection - features", "satisfaction - features"]
    assert lat.loc["satisfaction - features", "est"] == pytest.approx(
        lat.loc["satisfaction", "est"] - lat.loc["features", "est"], abs=1e-10)
    assert lat.loc["connection - features", "beta"] == pytest.approx(
        lat.loc["connection", "beta"] - lat.loc["features", "beta"], abs=1e-12)
    named = drivers(df, ["advocacy"], drivers=three, n_boot=0, latent=items,
                    contrasts=[("features", "satisfaction")]).latent
    assert list(named["term"]) == three + ["features - satisfaction"]


# ---------------------------------------------------------------------------- values (fuzz finds)

def test_a_numeric_control_with_one_text_value_is_refused_not_turned_into_dummies():
    """Before: 'n/a' in an integer age column made age categorical, one dummy per distinct age
    (62 dummies here), fitted without a word."""
    df = simulate(400, seed=46).assign(age=lambda d: np.round(d.age).clip(18, 80))
    df["age"] = df["age"].astype(object)
    df.loc[[6, 30], "age"] = "n/a"
    with pytest.raises(NonNumericError, match=r"mixes numbers and text.*column 'age', rows 7, 31, "
                                              r"values 'n/a', 'n/a'"):
        drivers(df, ["advocacy"], controls=["age"], n_boot=0)
    # a text control of labels only, and numbers stored as a Categorical, stay categorical
    labels = df.assign(age=np.where(df.index % 2, "young", "old"))
    assert "age[young]" in set(drivers(labels, ["advocacy"], controls=["age"], n_boot=0).table.term)
    cat = simulate(400, seed=46).assign(wave=pd.Categorical(np.arange(400) % 3 + 2020))
    assert {"wave[2021]", "wave[2022]"} <= set(drivers(cat, ["advocacy"], controls=["wave"],
                                                       n_boot=0).table.term)


@pytest.mark.parametrize("column", ["advocacy", "connection", "age"])
def test_values_whose_squares_overflow_are_refused(column):
    """Before: 1e200 in the outcome gave beta 0.0 with SE 0.0 for every driver (numpy overflow
    warnings only); in a predictor, a 'perfectly collinear' error."""
    df = simulate(200, seed=47)
    df.loc[12, column] = 1e200
    with pytest.raises(OutOfRangeError, match=rf"too large.*column '{column}', row 13, value 1e\+200"):
        drivers(df, ["advocacy"], controls=["age"], n_boot=0)


def test_latent_version_refuses_values_whose_squares_overflow():
    """Before: the engine's 'sample covariance matrix is not positive definite'."""
    df, items = _latent_data(300, seed=48)
    df.loc[4, "ec1"] = 1e200
    with pytest.raises(OutOfRangeError, match=r"too large.*column 'ec1', row 5"):
        drivers(df, ["advocacy"], n_boot=0, latent=items)


# ---------------------------------------------------------------------------- vocabulary (issue 13)

def test_old_keywords_by_and_model_work_with_a_future_warning_and_give_the_same_numbers():
    df = simulate(400, seed=50).assign(mom=lambda d: np.where(d.index % 2, "social", "other"))
    new = drivers(df, ["top_box"], group="mom", family="logit", n_boot=30, seed=4, progress=False)
    with pytest.warns(FutureWarning) as record:
        old = drivers(df, ["top_box"], by="mom", model="logit", n_boot=30, seed=4, progress=False)
    messages = [str(w.message) for w in record]
    assert any("by= is renamed group=" in m for m in messages)
    assert any("model= is renamed family=" in m for m in messages)
    assert all(w.filename == __file__ for w in record if issubclass(w.category, FutureWarning))
    for name in ("table", "differences", "models", "interactions"):
        pd.testing.assert_frame_equal(getattr(old, name), getattr(new, name))
    assert new.settings["group"] == ["mom"] and new.settings["family"] == "logit"
    with pytest.raises(ArgumentError, match="both by="):
        drivers(df, ["advocacy"], by="mom", group="mom", n_boot=0)


def test_everything_after_outcomes_and_drivers_is_keyword_only_with_the_common_defaults():
    import inspect

    from connection._common import DEFAULT_LEVEL, DEFAULT_N_BOOT

    params = inspect.signature(drivers).parameters
    assert list(params)[:3] == ["data", "outcomes", "drivers"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[3:])
    assert params["n_boot"].default == DEFAULT_N_BOOT
    assert params["level"].default == DEFAULT_LEVEL
    assert "by" not in params and "model" not in params
    with pytest.raises(TypeError):
        drivers(simulate(100, seed=1), ["advocacy"], ["connection", "satisfaction"], ["age"])


def test_a_generator_seed_same_state_same_result_and_the_generator_moves_on():
    df = simulate(500, seed=51)
    kw = {"n_boot": 60, "progress": False}
    one = drivers(df, ["advocacy"], seed=np.random.default_rng(7), **kw).differences
    two = drivers(df, ["advocacy"], seed=np.random.default_rng(7), **kw).differences
    pd.testing.assert_frame_equal(one, two)
    rng = np.random.default_rng(7)
    first = drivers(df, ["advocacy"], seed=rng, **kw).differences
    second = drivers(df, ["advocacy"], seed=rng, **kw).differences
    pd.testing.assert_frame_equal(first, one)
    assert first["ci_lower"].iloc[0] != second["ci_lower"].iloc[0]
    # an integer and the SeedSequence of that integer are the same seed
    pd.testing.assert_frame_equal(
        drivers(df, ["advocacy"], seed=3, **kw).differences,
        drivers(df, ["advocacy"], seed=np.random.SeedSequence(3), **kw).differences)
    with pytest.raises(ArgumentError, match="seed"):
        drivers(df, ["advocacy"], seed="abc", **kw)


def test_level_family_and_correction_are_checked_before_any_fit():
    df = simulate(120, seed=52)
    for bad in (1.5, 0, "95%"):
        with pytest.raises(ArgumentError, match="level must"):
            drivers(df, ["advocacy"], n_boot=0, level=bad)
    with pytest.raises(ArgumentError, match="family must be one of"):
        drivers(df, ["advocacy"], family="probit", n_boot=0)
    with pytest.raises(ArgumentError, match="unknown multiplicity correction"):
        drivers(df, ["advocacy"], correction="sidak", n_boot=0)
    lvl = drivers(df, ["advocacy"], n_boot=0, level=0.9).table
    z = 1.6448536269514722
    crit = (lvl["ci_upper"] - lvl["beta"]) / lvl["se"]
    assert crit.iloc[0] > z and crit.iloc[0] == pytest.approx(z, rel=0.02)   # t with 117 df


def test_summary_is_a_report_with_the_same_tables_and_html_comes_from_it():
    from connection._report import Report

    df = simulate(300, seed=53).assign(mom=lambda d: np.where(d.index % 2, "social", "other"))
    res = drivers(df, ["advocacy"], group="mom", n_boot=20, seed=1, progress=False)
    report = res.summary()
    assert isinstance(report, Report)
    assert [t.caption for t in report.tables] == [
        "Coefficients", "Difference of standardized coefficients (Wald and bootstrap intervals)",
        "Does the slope differ between groups? (Wald chi-square)"]
    cols = ["outcome", "by", "group", "n", "term", "beta", "ci_lower", "ci_upper", "pvalue",
            "delta_r2", "general_dominance", "dominance_ci_lower", "dominance_ci_upper",
            "dominance_share", "share_ci_lower", "share_ci_upper", "r2"]
    pd.testing.assert_frame_equal(report.tables[0].frame, res.table[cols])
    assert ("Family", "OLS, fully standardized betas") in report.header
    assert ("Groups", "mom") in report.header and ("Bootstrap replicates", 20) in report.header
    assert res._repr_html_() == report.as_html() and repr(res) == report.as_text()
    assert "\\begin{tabular}" in report.as_latex()
    pd.testing.assert_frame_equal(res.to_frame(), res.table)
    assert res.to_frame() is not res.table


def test_convergence_and_bootstrap_warnings_point_at_the_callers_line():
    from connection.errors import BootstrapWarning, ConvergenceWarning

    rng = np.random.default_rng(36)
    c, s = rng.normal(size=300), rng.normal(size=300)
    df = pd.DataFrame({"connection": c, "satisfaction": s, "y": (c > 0).astype(int)})
    df.loc[3, "satisfaction"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drivers(df, ["y"], family="logit", n_boot=20, seed=1, progress=False)
    ours = [w for w in caught if issubclass(w.category, (BootstrapWarning, ConvergenceWarning,
                                                         ExclusionWarning))]
    assert {w.category for w in ours} == {BootstrapWarning, ConvergenceWarning, ExclusionWarning}
    assert all(w.filename == __file__ for w in ours), [(w.category, w.filename) for w in ours]
