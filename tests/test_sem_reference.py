"""Reference tests of connection.latent against lavaan 0.6.14 (tests/references/lavaan/).

Tolerances (issue 3): estimates and standard errors within 1e-3 absolute; chi-square and fit
measures within 1e-3 relative. Measured deviations are far smaller (about 1e-5 or less).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection.latent as cs
from connection.latent.datasets import holzinger_swineford, political_democracy

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


def _lavaan_key(name, ref):
    """Our snake_case name -> lavaan's fitMeasures name (dots, except where lavaan uses _)."""
    dotted = name.replace("_", ".")
    return dotted if dotted in ref else name


def _compare_measures(fit, case, names):
    ref = _fit_measures(case)
    fm = fit.fit_measures
    for name in names:
        key = _lavaan_key(name, ref)
        assert name in fm.index, name
        np.testing.assert_allclose(fm[name], ref[key], rtol=REL_TOL, atol=1e-12,
                                   err_msg=f"{case}: {name}")


BASIC = ["npar", "fmin", "chisq", "df", "pvalue", "baseline_chisq", "baseline_df", "cfi", "tli",
         "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni", "logl", "unrestricted_logl", "aic", "bic",
         "bic2", "ntotal", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "rmsea_pvalue",
         "rmsea_notclose_pvalue", "srmr", "srmr_bentler", "srmr_bentler_nomean", "rmr",
         "rmr_nomean", "crmr", "crmr_nomean", "srmr_mplus", "srmr_mplus_nomean", "cn_05",
         "cn_01", "mfi", "ecvi", "gfi", "agfi", "pgfi"]
NO_GFI = [m for m in BASIC if m not in ("gfi", "agfi", "pgfi")]  # NaN with fixed.x
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


# ----------------------------------------------------------------------------------------
# references written by tests/references/make_sem_references.R (sem_<case>.*)
HS_MISSING = Path(__file__).parent / "references" / "data" / "HolzingerSwineford1939_missing.csv"


def _sem_case(case):
    info = json.loads((REF / f"sem_{case}.fit.json").read_text())
    ref = pd.read_csv(REF / f"sem_{case}.params.csv")
    ref = ref[ref["op"] != "=="].reset_index(drop=True)
    return info, ref


def _compare_sem_case(fit, case, measures):
    info, ref = _sem_case(case)
    est = fit.estimates
    assert len(est) == len(ref)
    assert list(est["lhs"]) == list(ref["lhs"])
    assert list(est["op"]) == list(ref["op"])
    assert list(est["rhs"]) == list(ref["rhs"].fillna(""))
    for ours, theirs in (("est", "est"), ("se", "se"), ("std_lv", "std.lv"),
                         ("std_all", "std.all"), ("ci_lower", "ci.lower"),
                         ("ci_upper", "ci.upper")):
        np.testing.assert_allclose(est[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   atol=ABS_TOL, rtol=0, err_msg=f"{case}: {ours}")
    fm = fit.fit_measures
    for name in measures:
        key = _lavaan_key(name, info["fit_measures"])
        if info["fit_measures"][key] is None:  # lavaan reports NA
            assert np.isnan(fm[name]), name
            continue
        np.testing.assert_allclose(fm[name], info["fit_measures"][key], rtol=REL_TOL,
                                   atol=1e-12, err_msg=f"{case}: {name}")
    assert fit.nobs == list(info["nobs"])


@pytest.fixture(scope="module")
def hs_missing():
    return pd.read_csv(HS_MISSING)


FIML_MEASURES = [m for m in BASIC if m not in ("srmr_bentler_nomean",)] + [
    "cfi_robust", "tli_robust", "rmsea_robust", "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust", "rmsea_pvalue_robust", "rmsea_notclose_pvalue_robust"]


def test_fiml_ml(hs_missing):
    fit = cs.cfa(HS_MODEL, hs_missing, missing="ml")
    assert fit.missing == "ml" and fit.nobs == [301]
    _compare_sem_case(fit, "hs_fiml_ml", FIML_MEASURES)


def test_fiml_mlr(hs_missing):
    fit = cs.cfa(HS_MODEL, hs_missing, missing="ml", estimator="MLR")
    scaled = ["chisq_scaled", "chisq_scaling_factor", "baseline_chisq_scaled", "cfi_scaled",
              "tli_scaled", "scaling_factor_h1", "scaling_factor_h0", "rmsea_scaled",
              "rmsea_notclose_pvalue_scaled"]
    _compare_sem_case(fit, "hs_fiml_mlr", FIML_MEASURES + scaled)


def test_fiml_multigroup_scalar(hs_missing):
    fit = cs.cfa(HS_MODEL, hs_missing, missing="ml", group="school",
                 group_equal=["loadings", "intercepts"])
    _compare_sem_case(fit, "hs_fiml_mg_scalar", FIML_MEASURES)


def test_listwise_reports_rows(hs_missing):
    from connection.errors import ExclusionWarning

    with pytest.warns(ExclusionWarning, match="rows excluded"):
        fit = cs.cfa(HS_MODEL, hs_missing)
    complete = hs_missing[[f"x{i}" for i in range(1, 10)]].notna().all(axis=1)
    assert list(fit.rows_used) == list(hs_missing.index[complete])
    _compare_sem_case(fit, "hs_listwise_ml", BASIC)


@pytest.mark.parametrize("case,equal", [("configural", ()), ("scalar", ("loadings", "intercepts"))])
def test_multigroup_mlr(hs, case, equal):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=equal, estimator="MLR")
    _compare_sem_case(fit, f"hs_mg_mlr_{case}", BASIC + ROBUST)


def test_std_lv(hs):
    _compare_sem_case(cs.cfa(HS_MODEL, hs, std_lv=True), "hs_cfa_stdlv", BASIC)


def test_labels_and_defined_parameters():
    info, _ = _sem_case("poldem_defined")
    fit = cs.sem(info["model"], political_democracy())
    _compare_sem_case(fit, "poldem_defined", BASIC)
    est = fit.estimates
    # equality by shared label: the labelled loadings are equal
    for lab in ("a1", "b1", "c1"):
        vals = est.loc[est["label"] == lab, "est"]
        assert len(vals) == 2 and vals.iloc[0] == vals.iloc[1]
    assert est.loc[est["op"] == ":=", "group"].eq(0).all()


def test_group_modifiers(hs):
    info, _ = _sem_case("hs_mg_modifiers")
    _compare_sem_case(cs.cfa(info["model"], hs, group="school"), "hs_mg_modifiers", BASIC)


def test_group_partial(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"],
                 group_partial=["x3~1", "x7 ~ 1", "visual =~ x2"])
    _compare_sem_case(fit, "hs_mg_partial", BASIC)


def test_group_equal_all_types(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school",
                 group_equal=["loadings", "intercepts", "residuals", "lv.variances",
                              "lv_covariances", "means"])
    _compare_sem_case(fit, "hs_mg_strict_all", BASIC)


def test_observed_regression_fixed_x(hs):
    info, _ = _sem_case("hs_regression_fixedx")
    fit = cs.sem(info["model"], hs)
    _compare_sem_case(fit, "hs_regression_fixedx", NO_GFI)
    assert np.isnan(fit.fit_measures["gfi"])


def test_lrt_ml_matches_lavtestlrt(hs):
    ref = pd.read_csv(REF / "hs_mg_school_lrt.csv")
    fits = [cs.cfa(HS_MODEL, hs, group="school", group_equal=ge)
            for ge in ((), ("loadings",), ("loadings", "intercepts"))]
    out = cs.lrt(*fits, names=["configural", "metric", "scalar"])
    assert list(out["model"]) == list(ref["model"])
    for ours, theirs in (("df", "Df"), ("aic", "AIC"), ("bic", "BIC"), ("chisq", "Chisq"),
                         ("chisq_diff", "Chisq diff"), ("rmsea", "RMSEA"),
                         ("df_diff", "Df diff"), ("pvalue", "Pr(>Chisq)")):
        np.testing.assert_allclose(out[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   rtol=REL_TOL, err_msg=ours)


def test_lrt_mlr_satorra_bentler_2001(hs):
    ref = pd.read_csv(REF / "sem_hs_mg_mlr_lrt.csv")
    f1 = cs.cfa(HS_MODEL, hs, group="school", estimator="MLR")
    f2 = cs.cfa(HS_MODEL, hs, group="school", estimator="MLR",
                group_equal=["loadings", "intercepts"])
    out = cs.lrt(f2, f1, names=["scalar", "configural"])  # sorted by df like lavaan
    assert list(out["model"]) == ["configural", "scalar"]
    for ours, theirs in (("df", "Df"), ("chisq", "Chisq"), ("chisq_diff", "Chisq diff"),
                         ("df_diff", "Df diff"), ("pvalue", "Pr(>Chisq)")):
        np.testing.assert_allclose(out[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   rtol=REL_TOL, err_msg=ours)


def test_score_tests_match_lavtestscore(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / "sem_hs_mg_scalar_score_uni.csv")
    sc = fit.score_test()
    assert len(sc) == len(ref)
    np.testing.assert_allclose(sc["x2"], ref["X2"], rtol=1e-3)
    np.testing.assert_allclose(sc["pvalue"], ref["p.value"], rtol=1e-3, atol=1e-8)
    # the largest: x3 intercept (as in lavaan, which frees x3 ~ 1 first)
    assert sc.sort_values("x2").iloc[-1][["lhs", "op"]].tolist() == ["x3", "~1"]


def test_modindices_match_lavaan(hs_ml):
    ref = pd.read_csv(REF / "sem_hs_modindices.csv")
    mi = hs_ml.modindices()
    merged = ref.merge(mi, on=["lhs", "op", "rhs"], how="left")
    assert merged["mi_y"].notna().all(), "every lavaan candidate is tested"
    np.testing.assert_allclose(merged["mi_y"], merged["mi_x"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(merged["epc_y"], merged["epc_x"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(merged["sepc_all"], merged["sepc.all"], rtol=1e-3, atol=1e-6)


def test_factor_scores_regression_and_bartlett(hs_ml):
    reg = pd.read_csv(REF / "hs_factor_scores_regression_all.csv")
    ours = hs_ml.predict()
    np.testing.assert_allclose(ours[["visual", "textual", "speed"]].to_numpy(),
                               reg[["visual", "textual", "speed"]].to_numpy(), atol=1e-4)
    bart = pd.read_csv(REF / "hs_factor_scores_bartlett_first10.csv")
    ours = hs_ml.predict(method="bartlett")
    np.testing.assert_allclose(ours[["visual", "textual", "speed"]].to_numpy()[:10],
                               bart[["visual", "textual", "speed"]].to_numpy(), atol=1e-4)


@pytest.mark.parametrize("method,file", [("regression", "regression"), ("bartlett", "bartlett")])
def test_factor_scores_multigroup_meanstructure(hs, method, file):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / f"sem_hs_mg_scalar_scores_{file}.csv")
    ours = fit.predict(method=method)
    # lavaan lists group 1's rows, then group 2's
    ours = pd.concat([ours[ours["group"] == g] for g in fit.group_labels])
    assert list(ours["group"]) == list(ref["group"])
    np.testing.assert_allclose(ours[["visual", "textual", "speed"]].to_numpy(),
                               ref[["visual", "textual", "speed"]].to_numpy(), atol=1e-4)


def test_fiml_with_fixed_x_covariate(hs_missing):
    info, _ = _sem_case("hs_fiml_fixedx")
    fit = cs.sem(info["model"], hs_missing, missing="ml")
    _compare_sem_case(fit, "hs_fiml_fixedx", [m for m in FIML_MEASURES if m in NO_GFI])


def test_multigroup_with_fixed_x_covariate(hs):
    info, _ = _sem_case("hs_mg_fixedx")
    fit = cs.sem(info["model"], hs, group="school", group_equal=["loadings", "intercepts"])
    _compare_sem_case(fit, "hs_mg_fixedx", NO_GFI)


def test_fiml_modindices_and_score_tests(hs_missing):
    ref = pd.read_csv(REF / "sem_hs_fiml_modindices.csv")
    mi = cs.cfa(HS_MODEL, hs_missing, missing="ml").modindices()
    merged = ref.merge(mi, on=["lhs", "op", "rhs"], how="left")
    assert merged["mi_y"].notna().all()
    np.testing.assert_allclose(merged["mi_y"], merged["mi_x"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(merged["epc_y"], merged["epc_x"], rtol=1e-3, atol=1e-6)
    fit = cs.cfa(HS_MODEL, hs_missing, missing="ml", group="school",
                 group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / "sem_hs_fiml_mg_scalar_score_uni.csv")
    np.testing.assert_allclose(fit.score_test()["x2"], ref["X2"], rtol=1e-3)


def test_mlr_with_fixed_x_covariate(hs):
    info, _ = _sem_case("hs_mlr_fixedx")
    fit = cs.sem(info["model"], hs, estimator="MLR")
    _compare_sem_case(fit, "hs_mlr_fixedx", NO_GFI + ROBUST)


@pytest.mark.parametrize("kind,file", [("raw", "raw"), ("cor", "cor_bollen"),
                                       ("cor.bentler", "cor_bentler")])
def test_residuals_match_lavaan_resid(hs, kind, file):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / f"sem_hs_mg_scalar_resid_{file}.csv", keep_default_na=False)
    res = fit.residuals(kind)
    ours = [res[r.group]["cov"].loc[r.row, r.col] if r.kind == "cov"
            else res[r.group]["mean"][r.row] for r in ref.itertuples()]
    np.testing.assert_allclose(ours, ref["value"].astype(float), atol=1e-5)
