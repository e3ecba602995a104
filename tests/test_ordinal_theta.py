"""The theta parameterization of ordinal indicators (issue 14, step 5) against lavaan 0.6.14.

References: tests/references/ordinal/make_wlsmv_mixed_references.R, ``parameterization =
"theta"``: the hs4 three-factor CFA (every item ordinal), the CFA with two continuous
indicators, and the two-school CFA with equal thresholds and loadings (the residual variances
of the latent responses free in the second group). Estimates, standard errors, thresholds,
the scales ``~*~`` (what the model leaves: ``1 / sqrt(sigma_ii)``), std.all, std.lv and
R-squared to 1e-3 absolute; every fitMeasures value to 1e-3 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import ModelSpecificationError

REF = Path(__file__).parent / "references" / "ordinal"
FITS = {  # name: keywords besides the model and data
    "theta_hs4": {"ordered": True},
    "theta_mixed": {"ordered": ["x2", "x3", "x5", "x6"]},
    "theta_hsg_loadings": {"ordered": True, "group": "school",
                           "group_equal": ["thresholds", "loadings"]},
}
_CACHE: dict = {}


def _fit(name):
    if name not in _CACHE:
        ref = json.loads((REF / f"wlsmv_{name}.json").read_text())
        assert ref["parameterization"] == "theta"
        data = pd.read_csv(REF / ref["data"])
        _CACHE[name] = (ref, cx.cfa(ref["model"], data, parameterization="theta",
                                    **FITS[name]))
    return _CACHE[name]


@pytest.mark.parametrize("name", list(FITS))
def test_estimates_standard_errors_and_standardized_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and fit.admissible
    exp = pd.DataFrame(ref["estimates"])
    exp["group"] = [ref["group_labels"][g - 1] for g in exp["group"]] if fit.n_groups > 1 \
        else 1
    got = fit.estimates
    m = exp.merge(got, on=["lhs", "op", "rhs", "group"], how="outer", suffixes=("_ref", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all()
    for col in ("est", "se", "std_all", "std_lv"):
        np.testing.assert_allclose(m[col].to_numpy(float), m[col + "_ref"].to_numpy(float),
                                   atol=1e-3, err_msg=f"{name}: {col}")
    # free or fixed as lavaan's table (the residual variances of the latent responses)
    np.testing.assert_array_equal(m["se"].to_numpy() > 0, m["free"].to_numpy() > 0)
    if fit.n_groups == 1:
        r2 = fit.rsquare.set_index("variable")["rsquare"]
        for var, value in ref["rsquare"].items():
            assert r2[var] == pytest.approx(value, abs=1e-3)


@pytest.mark.parametrize("name", list(FITS))
def test_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, key
        if value is None:
            assert np.isnan(fm[key]), key
        else:
            assert fm[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key


def test_theta_scales_are_what_the_model_leaves_and_the_fit_equals_delta():
    ref, fit = _fit("theta_hs4")
    est = fit.estimates
    sigma = fit.implied[1]["cov"]
    for _, row in est[est["op"] == "~*~"].iterrows():
        assert row["est"] == pytest.approx(1 / np.sqrt(sigma.loc[row["lhs"], row["lhs"]]),
                                           rel=1e-10)
    res = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].str.match(r"x\d")]
    assert (res["est"] == 1).all() and (res["se"] == 0).all()
    # the same model: the delta fit has the same chi-square and standardized loadings
    data = pd.read_csv(REF / ref["data"])
    delta = cx.cfa(ref["model"], data, ordered=True)
    assert fit.fit_measures["chisq"] == pytest.approx(delta.fit_measures["chisq"], rel=1e-6)
    load = est["op"] == "=~"
    np.testing.assert_allclose(est.loc[load, "std_all"],
                               delta.estimates.loc[delta.estimates["op"] == "=~", "std_all"],
                               atol=1e-6)


def test_unknown_parameterization_is_refused():
    data = pd.read_csv(REF / "wlsmv_hs4_data.csv")
    with pytest.raises(ModelSpecificationError, match="'delta'.*'theta'"):
        cx.cfa("f =~ x1 + x2 + x3", data, ordered=True, parameterization="lambda")
