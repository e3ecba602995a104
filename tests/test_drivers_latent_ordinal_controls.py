"""drivers(latent=..., ordered=..., controls=...): the ordinal latent drivers with continuous
controls, against lavaan 0.6.14 (issue 14).

Reference: tests/references/ordinal/make_drivers_controls_references.R (drivers_controls.json,
drivers_controls_data.csv): lavaan's ``sem(ordered=, std.lv = TRUE)`` of the model drivers()
builds. Each control covaries with the latent drivers, so lavaan has no exogenous covariate
(``ov.x`` empty) and ``conditional.x`` is FALSE: the controls are continuous variables among
the ordinal ones. Coefficients, SEs, std_all and its delta-method SE, the contrast and the
scaled CFI/RMSEA to 1e-3.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError, ConnectionWarning
from connection.outcomes._drivers import drivers

REF = Path(__file__).parent / "references" / "ordinal"
ITEMS = {"connection": ["ec1", "ec2", "ec3", "ec4"], "satisfaction": ["sat1", "sat2", "sat3"]}
ALL_ITEMS = [c for cols in ITEMS.values() for c in cols]
TOL = 1e-3
CASES = {  # reference model: drivers() keywords
    "ordered_all": {"controls": ["age", "tenure"], "ordered": True},
    "outcome_continuous": {"controls": ["age"], "ordered": ALL_ITEMS},
    "ulsmv_one": {"controls": ["age"], "ordered": True, "latent_estimator": "ULSMV"},
}


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "drivers_controls.json").read_text())["models"]


@pytest.fixture(scope="module")
def data():
    df = pd.read_csv(REF / "drivers_controls_data.csv")
    for name, cols in ITEMS.items():
        df[name] = df[cols].mean(axis=1)
    return df


@pytest.mark.parametrize("name", list(CASES))
def test_ordinal_latent_drivers_with_controls_match_lavaan(ref, data, name):
    r = ref[name]
    assert r["conditional_x"] is False and r["ov_x"] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        res = drivers(data, "advocacy", n_boot=0, latent=ITEMS, **CASES[name])
    lat = res.latent.set_index("term")
    est = pd.DataFrame(r["estimates"])
    reg = est[(est.op == "~") & (est.lhs == "advocacy")].set_index("rhs")
    for d in ITEMS:
        for col, rcol in (("est", "est"), ("se", "se"), ("beta", "std_all"),
                          ("beta_se", "std_all_se"), ("pvalue", "pvalue")):
            assert lat.loc[d, col] == pytest.approx(reg.loc[d, rcol], abs=TOL), (d, col)
    c = est[est.op == ":="].set_index("lhs").loc["drivers_contrast_0_1"]
    diff = lat.loc["connection - satisfaction"]
    for col, rcol in (("est", "est"), ("se", "se"), ("beta", "std_all"),
                      ("beta_se", "std_all_se"), ("pvalue", "pvalue")):
        assert diff[col] == pytest.approx(c[rcol], abs=TOL), col
    assert set(lat["estimator"]) == {CASES[name].get("latent_estimator", "WLSMV")}
    assert r["estimator"] == {"WLSMV": "DWLS", "ULSMV": "ULS"}[lat["estimator"].iloc[0]]
    assert lat["n"].iloc[0] == r["n"]
    fm = r["fit_measures"]
    assert lat["cfi"].iloc[0] == pytest.approx(fm["cfi_scaled"], abs=TOL)
    assert lat["rmsea"].iloc[0] == pytest.approx(fm["rmsea_scaled"], abs=TOL)
    assert lat["srmr"].iloc[0] == pytest.approx(fm["srmr"], abs=TOL)
    assert res.flags == ()


def test_the_whole_model_matches_lavaan(ref, data):
    """Every parameter of the engine's fit (the controls' means, variances and covariances
    with the latent drivers included), not only the drivers' rows."""
    import connection as cx

    r = ref["ordered_all"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        fit = cx.sem(r["model"], data, ordered=r["ordered"], std_lv=True)
    exp = pd.DataFrame(r["estimates"])
    m = exp.merge(fit.estimates, on=["lhs", "op", "rhs"], how="outer", suffixes=("_ref", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all()
    for col, rcol in (("est", "est_ref"), ("se", "se_ref"), ("std_all", "std_all_ref")):
        np.testing.assert_allclose(m[col].to_numpy(float), m[rcol].to_numpy(float), atol=TOL,
                                   err_msg=col)
    ctrl = m[(m.op == "~~") & (m.lhs == "connection") & (m.rhs == "age")]
    assert len(ctrl) == 1 and ctrl["se"].iloc[0] > 0      # the covariance is estimated
    # the baseline frees the controls' means and variances and fixes their covariance: named
    # in '~~' statements, they are not exogenous covariates for lavaan (no ov.x)
    assert fit.fit_measures["baseline_df"] == r["fit_measures"]["baseline_df"]
    for key, value in r["fit_measures"].items():
        if value is None:
            assert np.isnan(fit.fit_measures[key]), key
        else:
            assert fit.fit_measures[key] == pytest.approx(value, rel=TOL, abs=1e-6), key


def test_a_dummy_control_with_ordered_is_refused_naming_it(data):
    df = data.assign(female=(np.arange(len(data)) % 3 == 0).astype(int))
    with pytest.raises(ArgumentError, match="two values") as err:
        drivers(df, "advocacy", controls=["age", "female"], n_boot=0, latent=ITEMS, ordered=True)
    assert "female" in str(err.value) and "age" not in str(err.value).split("values")[-1]
