"""drivers(weights=): survey-weighted coefficients with design-based (linearization) SEs, as
survey::svyglm on svydesign(ids=~1, weights=~w) (tests/references/drivers/
make_weighted_drivers_references.R, survey 4.1.1), weighted dominance, and the all-ones
property."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.outcomes._drivers import drivers
from connection.outcomes._importance import general_dominance

REF = Path(__file__).parent / "references" / "drivers"
DATA = pd.read_csv(REF / "weighted_drivers_sim.csv")
R = json.loads((REF / "weighted_drivers_references.json").read_text())
DRIVERS = ["x1", "x2", "x3"]


def _fit(family, **kw):
    outcome = "y" if family == "ols" else "yb"
    return drivers(DATA, outcome, DRIVERS, controls=["age"], family=family, weights="w",
                   n_boot=0, progress=False, **kw)


@pytest.mark.parametrize("family, key", [("ols", "ols_std"), ("logit", "logit_std")])
def test_weighted_coefficients_and_ses_equal_svyglm(family, key):
    ref = R[key]
    t = _fit(family).table.set_index("term").loc[["x1", "x2", "x3", "age"]]
    np.testing.assert_allclose(t["beta"], ref["estimate"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["statistic"], ref["statistic"][1:], rtol=0, atol=1e-5)
    np.testing.assert_allclose(t["pvalue"], ref["pvalue"][1:], rtol=0, atol=1e-7)
    np.testing.assert_allclose(t["ci_lower"], ref["ci_lower"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["ci_upper"], ref["ci_upper"][1:], rtol=0, atol=1e-6)
    assert (t["cov_type"] == "linearization").all()


@pytest.mark.parametrize("family, key", [("ols", "ols_raw"), ("logit", "logit_raw")])
def test_weighted_unstandardized_coefficients_equal_svyglm(family, key):
    t = _fit(family).table.set_index("term").loc[["x1", "x2", "x3", "age"]]
    np.testing.assert_allclose(t["b"], R[key]["estimate"][1:], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("family, key", [("ols", "ols_std_cluster"),
                                         ("logit", "logit_std_cluster")])
def test_weighted_cluster_design_equals_svyglm_with_ids(family, key):
    ref = R[key]
    t = _fit(family, cov_type="cluster", cluster="cl").table.set_index("term")
    t = t.loc[["x1", "x2", "x3", "age"]]
    np.testing.assert_allclose(t["beta"], ref["estimate"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["ci_lower"], ref["ci_lower"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["pvalue"], ref["pvalue"][1:], rtol=0, atol=1e-7)


@pytest.mark.parametrize("family, key", [("ols", "ols_unit_weights"),
                                         ("logit", "logit_unit_weights")])
def test_all_weights_one_give_the_unweighted_coefficients_and_svyglm_ses(family, key):
    data = DATA.assign(one=1.0)
    outcome = "y" if family == "ols" else "yb"
    common = dict(controls=["age"], family=family, n_boot=0, progress=False)
    weighted = drivers(data, outcome, DRIVERS, weights="one", **common).table
    plain = drivers(data, outcome, DRIVERS, **common).table
    for col in ("beta", "b", "delta_r2", "general_dominance", "dominance_share", "r2"):
        np.testing.assert_allclose(weighted[col], plain[col], rtol=0, atol=1e-10, err_msg=col)
    # SEs are the design-based ones (HC0 x n/(n-1)), as svyglm gives with all weights 1
    np.testing.assert_allclose(weighted["se"].iloc[:4], R[key]["se"][1:], rtol=0, atol=1e-6)
    assert not np.allclose(weighted["se"], plain["se"], rtol=0, atol=1e-6)


def test_weighted_ols_dominance_equals_weighted_refits_and_duplicated_rows():
    # integer weights are the same as duplicated respondents for every point estimate
    rng = np.random.default_rng(3)
    d = DATA.iloc[:120].copy()
    d["k"] = rng.integers(1, 4, size=len(d)).astype(float)
    weighted = drivers(d, "y", DRIVERS, weights="k", n_boot=0, progress=False).table
    dup = d.loc[d.index.repeat(d["k"].astype(int))]
    plain = drivers(dup, "y", DRIVERS, n_boot=0, progress=False).table
    for col in ("beta", "b", "general_dominance", "dominance_share", "delta_r2", "r2"):
        np.testing.assert_allclose(weighted[col], plain[col], rtol=0, atol=1e-10, err_msg=col)
    # and each subset's weighted R-squared from a weighted least-squares refit
    w = d["k"].to_numpy()
    X, y = d[DRIVERS].to_numpy(), d["y"].to_numpy()
    r2 = np.empty(8)
    for s in range(8):
        cols = [j for j in range(3) if s >> j & 1]
        Z = np.column_stack([np.ones(len(y)), X[:, cols]])
        coef = np.linalg.lstsq(Z * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
        ybar = w @ y / w.sum()
        r2[s] = 1 - w @ (y - Z @ coef) ** 2 / (w @ (y - ybar) ** 2)
    np.testing.assert_allclose(weighted["general_dominance"], general_dominance(r2, 3),
                               rtol=0, atol=1e-12)


def test_weighted_logit_dominance_equals_duplicated_rows():
    rng = np.random.default_rng(4)
    d = DATA.iloc[:150].copy()
    d["k"] = rng.integers(1, 4, size=len(d)).astype(float)
    weighted = drivers(d, "yb", DRIVERS, family="logit", weights="k", n_boot=0,
                       progress=False).table
    dup = d.loc[d.index.repeat(d["k"].astype(int))]
    plain = drivers(dup, "yb", DRIVERS, family="logit", n_boot=0, progress=False).table
    # b (log-odds per unit) and the McFadden decomposition; beta differs by the n/(n-1) of the SDs
    for col in ("b", "general_dominance", "delta_r2", "r2"):
        np.testing.assert_allclose(weighted[col], plain[col], rtol=0, atol=1e-8, err_msg=col)


def test_a_surveys_weights_are_used_unless_switched_off():
    class FakeSurvey:   # what as_frame recognises: data, instrument, weights
        def __init__(self, data, weights):
            self.data, self.instrument, self.weights = data, None, weights

    survey = FakeSurvey(DATA, DATA["w"])
    by_survey = drivers(survey, "y", DRIVERS, n_boot=0, progress=False)
    by_column = drivers(DATA, "y", DRIVERS, weights="w", n_boot=0, progress=False)
    pd.testing.assert_frame_equal(by_survey.table, by_column.table)
    assert "survey's weights" in by_survey.settings["weights"]
    off = drivers(survey, "y", DRIVERS, weights=None, n_boot=0, progress=False)
    pd.testing.assert_frame_equal(off.table, drivers(DATA, "y", DRIVERS, n_boot=0,
                                                     progress=False).table)
    assert off.settings["weights"] is None
    text = str(by_column.summary())
    assert "linearization" in text and "Weights" in text


def test_weighted_bootstrap_contrast_is_seeded_and_carries_the_weights():
    a = drivers(DATA, "y", DRIVERS, weights="w", n_boot=200, seed=5, progress=False)
    b = drivers(DATA, "y", DRIVERS, weights="w", n_boot=200, seed=5, progress=False)
    pd.testing.assert_frame_equal(a.differences, b.differences)
    plain = drivers(DATA, "y", DRIVERS, n_boot=200, seed=5, progress=False)
    d, p = a.differences.iloc[0], plain.differences.iloc[0]
    assert d["ci_lower"] < d["estimate"] < d["ci_upper"]
    assert d["ci_lower"] != p["ci_lower"]


@pytest.mark.parametrize("key, kw", [("ordinal_std", {}),
                                     ("ordinal_std_cluster", {"cov_type": "cluster",
                                                              "cluster": "cl"})])
def test_weighted_ordinal_equals_svyolr(key, kw):
    ref = R[key]
    t = drivers(DATA, "yo", DRIVERS, controls=["age"], family="ordinal", weights="w", n_boot=0,
                progress=False, **kw).table.set_index("term").loc[ref["terms"]]
    np.testing.assert_allclose(t["beta"], ref["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"], rtol=0, atol=1e-6)


def test_missing_weight_is_a_data_error():
    # weights with latent= are fitted now (tests/test_drivers_latent_weighted.py)
    with pytest.raises(cx.errors.DataError):
        drivers(DATA.assign(w=DATA["w"].where(DATA.index != 3)), "y", DRIVERS, weights="w",
                n_boot=0)


def test_weighted_group_fits_and_interaction_use_the_weights():
    d = DATA.assign(one=1.0, half=np.where(DATA["cl"] <= 20, "a", "b"))
    common = dict(group="half", n_boot=0, progress=False)
    ones = drivers(d, "y", DRIVERS, weights="one", **common)
    plain = drivers(d, "y", DRIVERS, **common)
    np.testing.assert_allclose(ones.table["beta"], plain.table["beta"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ones.interactions["slope_difference"],
                               plain.interactions["slope_difference"], rtol=0, atol=1e-10)
    weighted = drivers(d, "y", DRIVERS, weights="w", **common)
    assert (weighted.table["cov_type"] == "linearization").all()
    assert not np.allclose(weighted.interactions["slope_difference"],
                           plain.interactions["slope_difference"])
    # each group's weighted fit is the weighted fit of that group's rows
    alone = drivers(d[d["half"] == "b"], "y", DRIVERS, weights="w", n_boot=0, progress=False)
    t = weighted.table.query("group == 'b'").reset_index(drop=True)
    np.testing.assert_allclose(t["beta"], alone.table["beta"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["se"], alone.table["se"], rtol=0, atol=1e-12)


def test_weighted_ordinal_equals_duplicated_rows():
    rng = np.random.default_rng(7)
    d = DATA.iloc[:150].copy()
    d["k"] = rng.integers(1, 4, size=len(d)).astype(float)
    weighted = drivers(d, "yo", DRIVERS, family="ordinal", weights="k", n_boot=0,
                       progress=False).table
    dup = d.loc[d.index.repeat(d["k"].astype(int))]
    plain = drivers(dup, "yo", DRIVERS, family="ordinal", n_boot=0, progress=False).table
    for col in ("general_dominance", "delta_r2", "r2"):
        np.testing.assert_allclose(weighted[col], plain[col], rtol=0, atol=1e-8, err_msg=col)
    # the coefficients: OrderedModel on the duplicated rows, converged tightly (drivers' own
    # unweighted fit stops at statsmodels' default BFGS tolerance, about 1e-4 here)
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OrderedModel(dup["yo"].to_numpy(), dup[DRIVERS].to_numpy(), distr="logit").fit(
            method="bfgs", disp=0, maxiter=5000, gtol=1e-10)
    np.testing.assert_allclose(weighted["b"], ref.params[:3], rtol=0, atol=1e-7)
