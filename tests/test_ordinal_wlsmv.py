"""Ordinal CFA/SEM by WLSMV, DWLS, ULSMV and ULS (issue 14, step 2) against lavaan 0.6.14.

References: tests/references/ordinal/make_wlsmv_references.R (``cfa()``/``sem()`` with
``ordered = TRUE``, delta parameterization) on HolzingerSwineford1939's x1-x9 cut into four
categories and on simulated five-point items (a two-factor CFA, the same with ULSMV, and an
SEM with a latent regression and a residual covariance). Estimates, standard errors,
thresholds, both standardized solutions and R-squared to 1e-3 absolute; every fitMeasures
value to 1e-3 relative (NA in lavaan is NaN here).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import DataError, ModelSpecificationError, NonNumericError, NoVarianceError

REF = Path(__file__).parent / "references" / "ordinal"
NAMES = ["hs4_wlsmv", "hs4_dwls", "hs4_ulsmv", "hs4_uls", "hs4_stdlv", "sim5_cfa", "sim5_ulsmv",
         "sim5_sem"]


def _reference(name):
    return json.loads((REF / f"wlsmv_{name}.json").read_text())


def _estimator(ref) -> str:
    robust = "scaled.shifted" in np.atleast_1d(ref["test"])
    return {"DWLS": "WLSMV" if robust else "DWLS", "ULS": "ULSMV" if robust else "ULS"}[
        ref["estimator"]]


_FITS: dict = {}


def _fit(name):
    if name not in _FITS:
        ref = _reference(name)
        data = pd.read_csv(REF / ref["data"])
        fn = cx.sem if ref["call"].startswith("sem") else cx.cfa
        est = _estimator(ref)
        kwargs = {} if est == "WLSMV" else {"estimator": est}  # WLSMV is the default
        _FITS[name] = (ref, fn(ref["model"], data, ordered=True, std_lv="std.lv" in ref["call"],
                               **kwargs))
    return _FITS[name]


@pytest.mark.parametrize("name", NAMES)
def test_estimates_and_standard_errors_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and fit.admissible
    assert fit.estimator == _estimator(ref)
    got = fit.estimates
    exp = pd.DataFrame(ref["estimates"])
    # lavaan's rows in lavaan's order: thresholds (op "|", t1..), ~*~ scales, intercepts
    assert list(got["lhs"]) == list(exp["lhs"])
    assert list(got["op"]) == list(exp["op"])
    assert list(got["rhs"]) == list(exp["rhs"])
    for col in ("est", "se", "std_all", "std_lv"):
        np.testing.assert_allclose(got[col].to_numpy(float), exp[col].to_numpy(float),
                                   atol=1e-3, rtol=0, err_msg=f"{name}: {col}")
    th = got[got["op"] == "|"]
    assert len(th) == len(ref["thresholds"])
    np.testing.assert_allclose(th["est"], list(ref["thresholds"].values()), atol=1e-3)
    # fixed rows as lavaan: scales 1, intercepts 0, residual variances of the items without SE
    assert (got.loc[got["op"] == "~*~", "est"] == 1).all()
    resid = got[(got["op"] == "~~") & (got["lhs"] == got["rhs"])
                & got["lhs"].isin(fit.parameter_table.ordered)]
    assert (resid["se"] == 0).all() and resid["z"].isna().all()


@pytest.mark.parametrize("name", NAMES)
def test_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, f"{name}: {key} missing"
        if value is None:
            assert np.isnan(fm[key]), f"{name}: {key} should be NaN (NA in lavaan)"
        else:
            np.testing.assert_allclose(fm[key], value, rtol=1e-3, atol=1e-9,
                                       err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", NAMES)
def test_rsquare_of_latent_responses_matches_lavaan(name):
    ref, fit = _fit(name)
    r2 = fit.rsquare.set_index("variable")["rsquare"]
    for var, value in ref["rsquare"].items():
        assert abs(r2[var] - value) < 1e-3, (name, var)


def test_wlsmv_scaled_shifted_test_is_the_documented_transformation():
    # chisq_scaled = chisq / c + shift, shift = df - tr(UG) / c (lavaan's scaled.shifted)
    _, fit = _fit("hs4_wlsmv")
    ts = fit.test_statistics()
    fm = fit.fit_measures
    assert fm["chisq_scaled"] == pytest.approx(fm["chisq"] / fm["chisq_scaling_factor"]
                                               + fm["chisq_shift"])
    assert fm["chisq_shift"] == pytest.approx(
        fm["df"] - ts.shifted.trace_ugamma / fm["chisq_scaling_factor"])
    assert fm["chisq_scaling_factor"] == pytest.approx(
        np.sqrt(ts.shifted.trace_ugamma2 / fm["df"]))


def test_ordered_list_sem_and_refit():
    ref = _reference("sim5_sem")
    data = pd.read_csv(REF / ref["data"])
    fit = cx.sem(ref["model"], data, ordered=[f"y{i}" for i in range(1, 9)])
    _, full = _fit("sim5_sem")
    np.testing.assert_allclose(fit.estimates["est"], full.estimates["est"], atol=1e-12)
    again = fit.refit()
    np.testing.assert_allclose(again.estimates["se"], fit.estimates["se"], atol=1e-12)


# ------------------------------------------------------------------------------- bad input
def _items(n=200, seed=3):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    cols = {}
    for j in range(4):
        y = 0.7 * f + 0.7 * rng.standard_normal(n)
        cols[f"q{j + 1}"] = np.digitize(y, [-1.0, -0.3, 0.3, 1.0]) + 1
    return pd.DataFrame(cols)


MODEL = "f =~ q1 + q2 + q3 + q4"


def test_item_with_one_observed_category_is_refused_naming_it():
    d = _items()
    d["q3"] = 2
    with pytest.raises(NoVarianceError, match="single observed category") as info:
        cx.cfa(MODEL, d, ordered=True)
    assert "q3" in str(info.value)


def test_item_with_more_than_20_categories_is_refused_naming_it():
    d = _items()
    d["q2"] = np.arange(len(d)) % 25
    with pytest.raises(DataError, match="25 observed categories") as info:
        cx.cfa(MODEL, d, ordered=True)
    assert "q2" in str(info.value) and "continuous" in str(info.value)


def test_non_integer_codes_are_refused_naming_the_item():
    d = _items().astype(float)
    d.loc[5, "q4"] = 2.5
    with pytest.raises(DataError, match="not integers") as info:
        cx.cfa(MODEL, d, ordered=True)
    assert "q4" in str(info.value) and "continuous" in str(info.value)


def test_text_codes_are_refused_naming_the_item():
    d = _items().astype(object)
    d.loc[7, "q1"] = "agree"
    with pytest.raises(NonNumericError) as info:
        cx.cfa(MODEL, d, ordered=True)
    assert "q1" in str(info.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"ordered": True, "estimator": "ML"}, "not available for ordinal"),
    ({"estimator": "WLSMV"}, "needs ordinal indicators"),
    ({"ordered": ["q1", "q2"], "estimator": "MLR"}, "not available for ordinal"),
    ({"ordered": ["q1", "q2", "q3", "q4", "nope"]}, "not in the model"),
    ({"ordered": True, "missing": "ml"}, "not available for ordinal"),
    ({"ordered": True, "parameterization": "gamma"}, "unknown parameterization"),
])
def test_unsupported_ordinal_options_are_refused(kwargs, match):
    d = _items()
    d["g"] = np.arange(len(d)) % 2
    with pytest.raises(ModelSpecificationError, match=match):
        cx.cfa(MODEL, d, **kwargs)


def test_ml_only_methods_are_refused_for_ordinal_fits():
    fit = cx.cfa(MODEL, _items(), ordered=True)
    for call in (fit.modindices, fit.predict, lambda: fit.bootstrap(n_boot=10, seed=1)):
        with pytest.raises(ModelSpecificationError, match="not available yet for ordinal"):
            call()


def test_continuous_fits_are_unchanged_by_the_default_estimator():
    # estimator=None is ML without ordered= (the contract: tests/test_sem_reference.py)
    d = _items()
    a = cx.cfa(MODEL, d)
    b = cx.cfa(MODEL, d, estimator="ML")
    assert a.estimator == "ML"
    np.testing.assert_array_equal(a.estimates["est"], b.estimates["est"])


def test_summary_shows_thresholds_and_the_scaled_shifted_test():
    _, fit = _fit("hs4_wlsmv")
    text = str(fit.summary())
    assert "Thresholds" in text and "x9 | t3" in text
    assert "mean and variance adjusted" in text and "Shift parameter" in text
    assert "Yuan-Bentler" not in text
