"""Reference tests of connection.sem against lavaan 0.6.14 (tests/references/lavaan/).

Tolerances (issue 3): estimates and standard errors within 1e-3 absolute; chi-square and fit
measures within 1e-3 relative. Measured deviations are far smaller (about 1e-5 or less).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection.sem as cs
from connection.sem.datasets import holzinger_swineford, political_democracy

REF = Path(__file__).parent / "references" / "lavaan"
HS_MODEL = "visual  =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed   =~ x7 + x8 + x9"
PD_MODEL = json.loads((REF / "poldem_sem_ml.fit.json").read_text())["model"]

ABS_TOL = 1e-3
REL_TOL = 1e-3


def _params(case):
    return pd.read_csv(REF / f"{case}.params.csv")


def _fit_measures(case):
    return json.loads((REF / f"{case}.fit.json").read_text())["fit_measures"]


def _compare_params(fit, case, columns=(("est", "est"), ("se", "se"), ("std_lv", "std.lv"),
                                        ("std_all", "std.all"))):
    ref = _params(case)
    est = fit.estimates
    assert len(est) == len(ref)
    assert list(est["lhs"]) == list(ref["lhs"])
    assert list(est["op"]) == list(ref["op"])
    assert list(est["rhs"].replace("", np.nan).fillna("")) == list(ref["rhs"].fillna(""))
    if "group" in ref:
        labels = fit.group_labels
        assert list(est["group"]) == [labels[g - 1] for g in ref["group"]]
    for ours, theirs in columns:
        np.testing.assert_allclose(est[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   atol=ABS_TOL, rtol=0, err_msg=f"{case}: {ours}")
    return est, ref


def _compare_measures(fit, case, names):
    ref = _fit_measures(case)
    fm = fit.fit_measures
    for name in names:
        key = name.replace("_", ".") if not name.startswith("srmr") else name
        assert name in fm.index, name
        np.testing.assert_allclose(fm[name], ref[key], rtol=REL_TOL, atol=1e-12,
                                   err_msg=f"{case}: {name}")


BASIC = ["npar", "fmin", "chisq", "df", "pvalue", "baseline_chisq", "baseline_df", "cfi", "tli",
         "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni", "logl", "unrestricted_logl", "aic", "bic",
         "bic2", "ntotal", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "rmsea_pvalue",
         "rmsea_notclose_pvalue", "srmr", "srmr_bentler", "srmr_bentler_nomean"]
ROBUST = ["chisq_scaled", "df_scaled", "pvalue_scaled", "chisq_scaling_factor",
          "baseline_chisq_scaled", "baseline_chisq_scaling_factor", "cfi_scaled", "tli_scaled",
          "cfi_robust", "tli_robust", "scaling_factor_h1", "scaling_factor_h0", "rmsea_scaled",
          "rmsea_ci_lower_scaled", "rmsea_ci_upper_scaled", "rmsea_pvalue_scaled",
          "rmsea_robust", "rmsea_ci_lower_robust", "rmsea_ci_upper_robust",
          "rmsea_pvalue_robust", "rmsea_notclose_pvalue_robust"]


@pytest.fixture(scope="module")
def hs():
    return holzinger_swineford()


@pytest.fixture(scope="module")
def hs_ml(hs):
    return cs.cfa(HS_MODEL, hs)


def test_hs_cfa_ml_estimates(hs_ml):
    _compare_params(hs_ml, "hs_cfa_ml")
    assert hs_ml.converged
    assert hs_ml.nobs == [301]
    assert set(hs_ml.estimates["group"]) == {1}


def test_hs_cfa_ml_fit_measures(hs_ml):
    _compare_measures(hs_ml, "hs_cfa_ml", BASIC)


def test_poldem_sem_ml():
    fit = cs.sem(PD_MODEL, political_democracy())
    _compare_params(fit, "poldem_sem_ml")
    _compare_measures(fit, "poldem_sem_ml", BASIC)
    ref = json.loads((REF / "poldem_sem_ml.rsquare.json").read_text())
    r2 = fit.rsquare.set_index("variable")["rsquare"]
    assert set(r2.index) == set(ref)
    for name, value in ref.items():
        assert r2[name] == pytest.approx(value, abs=1e-4)


def test_hs_cfa_mlr(hs):
    fit = cs.cfa(HS_MODEL, hs, estimator="MLR")
    _compare_params(fit, "hs_cfa_mlr")
    _compare_measures(fit, "hs_cfa_mlr", BASIC + ROBUST)


@pytest.mark.parametrize("case,equal", [("configural", ()), ("metric", ("loadings",)),
                                        ("scalar", ("loadings", "intercepts"))])
def test_hs_multigroup(hs, case, equal):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=equal)
    assert fit.group_labels == ["Pasteur", "Grant-White"]
    assert fit.nobs == [156, 145]
    est, ref = _compare_params(fit, f"hs_mg_school_{case}")
    # lavaan's equality labels (.pN.) are reproduced
    if "label" in ref:
        np.testing.assert_array_equal(est["label"].to_numpy(),
                                      ref["label"].fillna("").to_numpy())
    _compare_measures(fit, f"hs_mg_school_{case}", BASIC)


def test_scalar_latent_means(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / "hs_mg_school_scalar_latent_means.csv")
    est = fit.estimates
    means = est[(est["op"] == "~1") & est["lhs"].isin(["visual", "textual", "speed"])]
    np.testing.assert_allclose(means["est"], ref["est"], atol=ABS_TOL)
    np.testing.assert_allclose(means["se"], ref["se"], atol=ABS_TOL)
    assert list(means["group"]) == list(ref["group_label"])
