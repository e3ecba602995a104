"""Ordinal fits with missing values by pairwise deletion, against lavaan 0.6.14.

References: tests/references/ordinal/make_pairwise_references.R on simulated data
(``pairwise_data.csv``: six 5-point items of two factors, a continuous ``x``, two groups ``g``,
600 rows, about 8% missing in y2, y3, y5, y6 and x, three rows with nothing observed):
``cfa(..., ordered =, missing = "pairwise")`` by WLSMV, DWLS, ULSMV and in the theta
parameterization, two groups with equal thresholds and loadings (and the ladder configural ->
thresholds -> loadings with lavTestLRT), a mixed model with ``x`` continuous, an SEM with the
covariate ``x`` given ``conditional.x = FALSE`` and two with covariates given lavaan's default
``conditional.x = TRUE`` (one with a continuous indicator); ``lavCor(missing = "pairwise")``
for the sample statistics alone. Estimates, standard errors and std.all to 1e-3
absolute, every fitMeasures value to 1e-3 relative (NA in lavaan is NaN here), polychorics and
Gamma to 1e-4.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import (
    ArgumentError,
    DataError,
    ExclusionWarning,
    ModelSpecificationError,
)
from connection.latent._polychoric import polychoric

REF = Path(__file__).parent / "references" / "ordinal"
ITEMS = [f"y{i}" for i in range(1, 7)]
MODEL = "f1 =~ y1 + y2 + y3\nf2 =~ y4 + y5 + y6"


def _reference(name):
    return json.loads((REF / f"pairwise_{name}.json").read_text())


def _data():
    return pd.read_csv(REF / "pairwise_data.csv")


def _options(name):
    ordered = {"mixed": ITEMS[:5], "sem": ITEMS[:3], "sem_cx_mixed": ITEMS[:3]}.get(name, ITEMS)
    opts = dict(ordered=ordered, missing="pairwise")
    if name in ("ulsmv", "dwls"):
        opts["estimator"] = name.upper()
    if name == "theta":
        opts["parameterization"] = "theta"
    if name == "groups":
        opts.update(group="g", group_equal=["thresholds", "loadings"])
    if name == "sem":        # the covariate x modelled with the items (conditional.x = FALSE)
        opts["conditional_x"] = False
    return opts


_FITS: dict = {}


def _fit(name):
    if name not in _FITS:
        ref = _reference(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExclusionWarning)
            fit = (cx.sem if name.startswith("sem") else cx.cfa)(ref["model"], _data(),
                                                                 **_options(name))
            _FITS[name] = (ref, fit)
    return _FITS[name]


# ---------------------------------------------------------------------------- polychoric

def test_polychoric_pairwise_matches_lavcor():
    ref = _reference("lavcor")
    with pytest.warns(ExclusionWarning, match="3 of 600 rows dropped because no variable"):
        res = polychoric(_data(), ITEMS, missing="pairwise")
    assert res.n == ref["n"] == 597 and res.n_dropped == 3 and res.missing == "pairwise"
    np.testing.assert_allclose(res.correlation.to_numpy(), ref["cor"], atol=1e-4, rtol=0)
    th = ref["thresholds"]
    np.testing.assert_allclose(res.thresholds["est"], th["est"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.thresholds["se"], th["se"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.pairs["se"], ref["pairs"]["se"], atol=1e-5, rtol=0)
    assert list(res.gamma.index) == ref["gamma_names"]
    np.testing.assert_allclose(res.gamma.to_numpy(), ref["gamma"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(res.wls_obs.to_numpy(), ref["wls_obs"], atol=1e-4, rtol=0)


def test_polychoric_pairwise_with_a_continuous_variable_matches_lavcor():
    ref = _reference("lavcor_mixed")
    with pytest.warns(ExclusionWarning):
        res = polychoric(_data(), ITEMS[:5], continuous=["x"], missing="pairwise")
    assert res.n == ref["n"]
    # polychoric, polyserial correlations (items), thresholds, the mean and variance of x
    # from its own observed values, Gamma of (thresholds, -mean, variance, covariances)
    np.testing.assert_allclose(res.correlation.to_numpy(), ref["cor"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(res.thresholds["est"], ref["thresholds"]["est"], atol=1e-6)
    np.testing.assert_allclose(res.thresholds["se"], ref["thresholds"]["se"], atol=1e-5)
    assert list(res.gamma.index) == ref["gamma_names"]
    np.testing.assert_allclose(res.gamma.to_numpy(), ref["gamma"], atol=1e-4, rtol=1e-6)
    np.testing.assert_allclose(res.wls_obs.to_numpy(), ref["wls_obs"], atol=1e-4, rtol=0)
    x = _data()["x"].dropna()
    mo = res.moments.set_index("statistic")["est"]
    assert mo["mean"] == pytest.approx(x.mean(), abs=1e-12)
    assert mo["var"] == pytest.approx(x.var(ddof=0), abs=1e-10)


def test_pairwise_correlation_of_two_continuous_variables_matches_lavcor():
    # lavaan's two-step estimate given each variable's own mean and variance: with missing
    # values it is not the Pearson correlation of the complete pairs
    ref = _reference("lavcor_two")
    with pytest.warns(ExclusionWarning):
        res = polychoric(_data(), ITEMS[:3], continuous=["x", "x2"], missing="pairwise")
    assert res.n == ref["n"]
    np.testing.assert_allclose(res.correlation.to_numpy(), ref["cor"], atol=1e-4, rtol=0)
    assert list(res.gamma.index) == ref["gamma_names"]
    np.testing.assert_allclose(res.gamma.to_numpy(), ref["gamma"], atol=1e-4, rtol=1e-6)
    np.testing.assert_allclose(res.wls_obs.to_numpy(), ref["wls_obs"], atol=1e-4, rtol=0)
    both = _data()[["x", "x2"]].dropna()
    pearson = np.corrcoef(both["x"], both["x2"])[0, 1]
    assert abs(res.correlation.loc["x", "x2"] - pearson) > 1e-4


def test_polychoric_default_stays_listwise():
    data = _data()
    complete = data[ITEMS].dropna()
    with pytest.warns(ExclusionWarning, match="listwise"):
        res = polychoric(data, ITEMS)
    assert res.missing == "listwise" and res.n == len(complete)
    # on complete rows pairwise and listwise deletion are the same statistics
    both = polychoric(complete, ITEMS, missing="pairwise")
    np.testing.assert_allclose(both.gamma.to_numpy(), res.gamma.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(both.correlation.to_numpy(), res.correlation.to_numpy(),
                               atol=1e-12)
    # and with missing values they differ (thresholds from each item's observed values)
    with pytest.warns(ExclusionWarning):
        pw = polychoric(data, ITEMS, missing="pairwise")
    assert np.abs(pw.thresholds["est"].to_numpy() - res.thresholds["est"].to_numpy()).max() > 1e-3


def test_polychoric_pairwise_refuses_a_pair_never_observed_together():
    d = pd.DataFrame({"a": [1, 2, 1, 2, np.nan, np.nan, 1, 2],
                      "b": [np.nan, np.nan, np.nan, np.nan, 1, 2, np.nan, np.nan],
                      "c": [1, 2, 2, 1, 1, 2, 2, 1]})
    with pytest.raises(DataError, match="'a' and 'b' are observed together in 0 row"):
        polychoric(d, missing="pairwise")


def test_polychoric_missing_option_is_checked():
    with pytest.raises(ArgumentError, match="missing"):
        polychoric(_data(), ITEMS, missing="ml")


# ---------------------------------------------------------------------------- fits

NAMES = ["cfa", "dwls", "ulsmv", "theta", "groups", "mixed", "sem", "sem_cx", "sem_cx_mixed"]


@pytest.mark.parametrize("name", NAMES)
def test_pairwise_estimates_and_standard_errors_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and fit.admissible and fit.missing == "pairwise"
    # lavaan's nobs: the rows with at least one observed model variable
    assert list(fit.nobs) == list(np.atleast_1d(ref["n"]))
    keys = ["lhs", "op", "rhs", "g"]
    got = fit.estimates.assign(g=lambda t: pd.factorize(t["group"])[0] + 1)
    exp = pd.DataFrame(ref["estimates"]).assign(g=lambda t: t["group"])
    if not name.startswith("sem"):   # lavaan's row order (an SEM's x rows: another order)
        assert list(got["lhs"]) == list(exp["lhs"]) and list(got["rhs"]) == list(exp["rhs"])
    assert sorted(map(tuple, got[keys].to_numpy())) == sorted(map(tuple, exp[keys].to_numpy()))
    got = exp[keys].merge(got, on=keys, how="left")
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(got[col].to_numpy(float), exp[col].to_numpy(float),
                                   atol=1e-3, rtol=0, err_msg=f"{name}: {col}")


@pytest.mark.parametrize("name", NAMES)
def test_pairwise_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, f"{name}: {key} missing"
        if value is None:
            assert np.isnan(fm[key]), f"{name}: {key} should be NaN (NA in lavaan)"
        else:
            np.testing.assert_allclose(fm[key], value, rtol=1e-3, atol=1e-9,
                                       err_msg=f"{name}: {key}")


def test_pairwise_uses_rows_listwise_deletion_drops():
    data = _data()
    with pytest.warns(ExclusionWarning, match="consider missing='pairwise'") as rec:
        listwise = cx.cfa(MODEL, data, ordered=ITEMS)
    assert not any("missing='ml'" in str(w.message) for w in rec)
    assert listwise.missing == "listwise"
    assert listwise.nobs == [len(data[ITEMS].dropna())]
    _, pairwise = _fit("cfa")
    assert pairwise.nobs[0] == int(data[ITEMS].notna().any(axis=1).sum())
    assert len(pairwise.rows_used) == pairwise.nobs[0] > listwise.nobs[0]


def test_invariance_passes_pairwise_to_its_fits_and_matches_lavTestLRT():
    ref = _reference("groups")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        res = cx.invariance(MODEL, _data(), group="g", ordered=ITEMS, missing="pairwise",
                            stop=False)
    fit = res.fits["metric"]        # equal thresholds and loadings: the groups reference
    assert fit.missing == "pairwise" and list(fit.nobs) == ref["n"]
    exp = pd.DataFrame(ref["estimates"])
    np.testing.assert_allclose(fit.estimates["est"], exp["est"], atol=1e-3, rtol=0)
    np.testing.assert_allclose(fit.estimates["se"], exp["se"], atol=1e-3, rtol=0)
    lrt = _reference("lrt")
    tab = res.table.set_index("step")
    for step, name in [("configural", "configural"), ("thresholds", "thresholds"),
                       ("metric", "loadings")]:
        fm = lrt["steps"][name]
        np.testing.assert_allclose(
            tab.loc[step, ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "chisq_ml",
                           "scaling_factor"]].to_numpy(float),
            [fm["chisq_scaled"], fm["df"], fm["pvalue_scaled"], fm["cfi_scaled"],
             fm["tli_scaled"], fm["rmsea_scaled"], fm["srmr"], fm["chisq"],
             fm["chisq_scaling_factor"]], rtol=1e-3, atol=1e-9, err_msg=step)
    diff = lrt["lrt"]
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "delta_chisq"],
                               diff["chisq_diff"][1:], rtol=1e-3)
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "delta_df"], diff["df_diff"][1:])
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "p_delta"], diff["pvalue"][1:],
                               rtol=1e-3)


# ---------------------------------------------------------------------------- refusals

def test_fiml_with_ordinal_items_is_refused_and_points_to_pairwise():
    with pytest.raises(ModelSpecificationError, match="not available for ordinal") as exc:
        cx.cfa(MODEL, _data(), ordered=ITEMS, missing="ml")
    assert "missing='pairwise'" in exc.value.hint


def test_pairwise_without_ordinal_items_is_refused():
    with pytest.raises(ModelSpecificationError, match="pairwise' is for ordinal"):
        cx.cfa(MODEL, _data(), missing="pairwise")


def test_pairwise_with_covariates_deletes_rows_missing_one_and_counts_answered_rows():
    # lavaan (conditional.x, fixed.x): a row missing a covariate is deleted; a row with the
    # covariates but no outcome answered is kept for the covariates' moments, not in nobs
    data = _data()
    ref, fit = _fit("sem_cx_mixed")
    x_ok = data[["age", "x"]].notna().all(axis=1)
    assert fit.nobs == [ref["n"]] == [int(x_ok.sum())]
    assert set(fit.rows_used) == set(data.index[x_ok])
    with pytest.warns(ExclusionWarning, match="missing exogenous covariate"):
        cx.sem(ref["model"], data, ordered=ITEMS[:3], missing="pairwise")
    ref, fit = _fit("sem_cx")
    answered = data[ITEMS].notna().any(axis=1)
    assert fit.nobs == [ref["n"]] == [int(answered.sum())]
    assert len(fit.rows_used) == len(data)          # every row has age


def test_invariance_warns_once_and_advises_what_an_ordinal_ladder_can_do():
    """Under pairwise deletion the rows with no item observed are left out once, with one
    warning (not one per step); under listwise an ordinal ladder advises pairwise (FIML is
    refused for ordinal items)."""
    data = _data()
    empty = int(data[ITEMS].isna().all(axis=1).sum())
    assert empty > 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cx.invariance(MODEL, data, group="g", ordered=ITEMS, missing="pairwise", stop=False,
                      levels=("configural", "thresholds"))
    texts = [str(w.message) for w in caught if issubclass(w.category, ExclusionWarning)]
    assert len(texts) == 1 and f"{empty} of {len(data)} rows have no model variable" in texts[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cx.invariance(MODEL, data, group="g", ordered=ITEMS, stop=False,
                      levels=("configural", "thresholds"))
    texts = [str(w.message) for w in caught if issubclass(w.category, ExclusionWarning)]
    assert len(texts) == 1 and "missing='pairwise'" in texts[0] and "FIML" not in texts[0]
