"""Weighted CFA/SEM (``weights=`` in cfa()/sem()/invariance()) against lavaan 0.6.14's
``sampling.weights`` (references: tests/references/weights/make_weighted_sem_references.R on
HolzingerSwineford1939 with the simulated weights in hs_weights.csv)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.data import Instrument, read_survey
from connection.errors import (
    ArgumentError,
    DataError,
    ExclusionWarning,
    ModelSpecificationError,
    OutOfRangeError,
)
from connection.latent._invariance import invariance
from connection.latent.datasets import holzinger_swineford

HERE = Path(__file__).parent / "references" / "weights"
REF = json.loads((HERE / "weighted_sem_references.json").read_text())
HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
MODELS = {
    "cfa": ("cfa", HS3, {}),
    "cfa_ml": ("cfa", HS3, {"estimator": "ML"}),
    "sem": ("sem", HS3 + "\nspeed ~ visual + textual", {}),
    "sem_x": ("sem", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr\n"
                     "textual ~ visual + ageyr", {}),
    "mg_configural": ("cfa", HS3, {"group": "school"}),
    "mg_metric": ("cfa", HS3, {"group": "school", "group_equal": ["loadings"]}),
    "mg_scalar": ("cfa", HS3, {"group": "school", "group_equal": ["loadings", "intercepts"]}),
}
# lavaan's fitMeasures the engine reports (the rest: nnfi/rfi/... variants it does not name)
FIT_KEYS = ["npar", "fmin", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled",
            "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq", "baseline.df",
            "baseline.chisq.scaled", "baseline.chisq.scaling.factor", "cfi", "tli", "cfi.scaled",
            "tli.scaled", "cfi.robust", "tli.robust", "logl", "unrestricted.logl", "aic", "bic",
            "bic2", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "rmsea.scaled",
            "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "rmsea.robust",
            "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr", "srmr_bentler", "rmr",
            "crmr", "srmr_mplus", "gfi", "agfi", "mfi", "ecvi"]


@pytest.fixture(scope="module")
def hs():
    data = holzinger_swineford()
    w = pd.read_csv(HERE / "hs_weights.csv")
    assert (w["id"].to_numpy() == data["id"].to_numpy()).all()
    return data.assign(w=w["w"].to_numpy())


def fit_of(name, data, **extra):
    kind, model, kwargs = MODELS[name]
    return getattr(cx, kind)(model, data, **{**kwargs, **extra})


@pytest.fixture(scope="module")
def fits(hs):
    return {name: fit_of(name, hs, weights="w") for name in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_estimates_se_and_std_all_equal_lavaan(fits, name):
    fit, ref = fits[name], pd.DataFrame(REF[name]["params"])
    est = fit.estimates
    assert est["lhs"].tolist() == ref["lhs"].tolist()
    assert est["op"].tolist() == ref["op"].tolist()
    assert est["rhs"].tolist() == ref["rhs"].tolist()
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(est[col].to_numpy(dtype=float),
                                   ref[col].to_numpy(dtype=float), rtol=0, atol=1e-4,
                                   err_msg=col)
    assert fit.estimator == "MLR"  # lavaan: robust SEs and the scaled test with weights
    assert fit.nobs == list(np.atleast_1d(REF[name]["nobs"]))


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_measures_equal_lavaan(fits, name):
    fm, ref = fits[name].fit_measures, REF[name]["fit"]
    # the engine gives no GFI/AGFI with fixed.x covariates (weighted or not)
    keys = [k for k in FIT_KEYS if not (name == "sem_x" and k in ("gfi", "agfi"))]
    for key in keys:
        mine, theirs = float(fm[key.replace(".", "_")]), float(ref[key])
        assert mine == pytest.approx(theirs, rel=1e-4, abs=1e-4), key


def test_weights_are_normalised_over_all_groups_as_lavaan(fits):
    # lavaan's default sampling.weights.normalization = "total": the groups' weight sums are
    # their shares of N (not their row counts), and they carry the groups' discrepancies
    sums = [st.n for st in fits["mg_configural"].estimation.stats]
    np.testing.assert_allclose(sums, REF["mg_weight_sums"], rtol=1e-12)
    assert sum(sums) == pytest.approx(301, rel=1e-14)


def test_invariance_ladder_uses_the_weights_as_lavtestlrt(hs):
    inv = invariance(HS3, hs, group="school", weights="w",
                     levels=["configural", "metric", "scalar"], stop=False, partial=None)
    table = inv.table.set_index("step")
    ref = pd.DataFrame(REF["mg_lrt"]).set_index("model")
    assert inv.estimator == "MLR"
    for step in ("configural", "metric", "scalar"):
        assert table.loc[step, "chisq_ml"] == pytest.approx(ref.loc[step, "chisq"], abs=1e-3)
    for step in ("metric", "scalar"):
        assert table.loc[step, "delta_chisq"] == pytest.approx(ref.loc[step, "chisq_diff"],
                                                               abs=1e-3)
        assert table.loc[step, "delta_df"] == ref.loc[step, "df_diff"]
        assert table.loc[step, "p_delta"] == pytest.approx(ref.loc[step, "pvalue"], abs=1e-4)
    assert any("weighted by w" in note for note in inv.notes)
    # the ladder's fits are the weighted fits
    np.testing.assert_allclose(inv.fits["metric"].estimates["se"],
                               pd.DataFrame(REF["mg_metric"]["params"])["se"], atol=1e-4)


def _same(a, b, tol):
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(a.estimates[col], b.estimates[col], rtol=0, atol=tol,
                                   err_msg=col)
    fa, fb = a.fit_measures, b.fit_measures
    np.testing.assert_allclose(fa.to_numpy(dtype=float), fb.to_numpy(dtype=float), rtol=tol,
                               atol=tol, equal_nan=True)


@pytest.mark.parametrize("name", ["cfa", "sem_x", "mg_metric"])
@pytest.mark.parametrize("value", [1.0, 3.7])
def test_equal_weights_give_exactly_the_unweighted_mlr_fit(hs, name, value):
    plain = fit_of(name, hs, estimator="MLR")
    weighted = fit_of(name, hs, weights=np.full(len(hs), value))
    _same(weighted, plain, 1e-12)


@pytest.mark.parametrize("name", ["cfa", "mg_scalar"])
def test_the_scale_of_the_weights_changes_nothing(hs, fits, name):
    scaled = fit_of(name, hs, weights=hs["w"].to_numpy() * 1234.5)
    _same(scaled, fits[name], 1e-9)


def test_integer_weights_give_the_estimates_of_duplicated_rows(hs):
    # weighted moments with weight 2 are the moments of the data with the row twice
    w = np.where(np.arange(len(hs)) % 3 == 0, 2.0, 1.0)
    doubled = pd.concat([hs, hs[w == 2]], ignore_index=True)
    for name in ("cfa", "mg_configural"):
        weighted = fit_of(name, hs, weights=w)
        plain = fit_of(name, doubled)
        np.testing.assert_allclose(weighted.estimates["est"], plain.estimates["est"],
                                   rtol=0, atol=1e-8)
        # and not those of the rows without their weights
        assert not np.allclose(weighted.estimates["est"], fit_of(name, hs).estimates["est"],
                               atol=1e-4)


def test_listwise_deletion_drops_the_weights_of_the_rows_left_out(hs):
    holes = hs.copy()
    holes.loc[[4, 40, 41], "x2"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        fit = cx.cfa(HS3, holes, weights="w")
    complete = hs.drop(index=[4, 40, 41])
    _same(fit, cx.cfa(HS3, complete, weights="w"), 1e-12)
    assert fit.ntotal == 298


def test_weights_as_column_series_or_array_agree_and_refit_keeps_them(hs, fits):
    by_array = cx.cfa(HS3, hs, weights=hs["w"].to_numpy())
    by_series = cx.cfa(HS3, hs, weights=hs["w"])
    _same(by_array, fits["cfa"], 0)
    _same(by_series, fits["cfa"], 0)
    again = fits["mg_configural"].refit(group_equal=["loadings"])
    _same(again, fits["mg_metric"], 1e-10)
    assert "Sampling weights" in str(fits["cfa"].summary())


def test_a_surveys_weights_are_used_unless_switched_off(hs):
    items = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}
    inst = Instrument.from_dict({
        "name": "hs",
        "constructs": {name: {"scale": {"min": -10, "max": 20},
                              "items": [{"id": c} for c in cols]}
                       for name, cols in items.items()},
        "variables": {"w": {"type": "numeric", "role": "weight"}}, "weights": "w"})
    frame = hs[[c for cols in items.values() for c in cols] + ["w"]].copy()
    frame[frame.columns[:-1]] = frame[frame.columns[:-1]].round()
    survey = read_survey(frame, inst)
    by_survey = cx.cfa(survey)
    given = cx.cfa(inst.model_syntax(), frame, weights="w")
    _same(by_survey, given, 0)
    assert by_survey.estimator == "MLR"
    off = cx.cfa(survey, weights=None)
    _same(off, cx.cfa(inst.model_syntax(), frame), 0)
    assert off.estimator == "ML"


@pytest.mark.parametrize("value, kind", [(-2.0, OutOfRangeError), (0.0, OutOfRangeError),
                                         (np.inf, OutOfRangeError), (np.nan, DataError)])
def test_bad_weights_are_refused_naming_the_row_and_value(hs, value, kind):
    w = hs["w"].to_numpy().copy()
    w[10] = value
    with pytest.raises(kind) as err:
        cx.cfa(HS3, hs, weights=w)
    assert "11" in str(err.value)
    if np.isfinite(value):
        assert str(value) in str(err.value)
    with pytest.raises(kind):
        invariance(HS3, hs.assign(w=w), group="school", weights="w")


def test_weights_with_what_is_not_available_are_refused(hs):
    with pytest.raises(ModelSpecificationError, match="FIML"):
        cx.cfa(HS3, hs, weights="w", missing="ml")
    with pytest.raises(ModelSpecificationError, match="ordinal"):
        items = [f"x{i}" for i in range(1, 10)]
        cx.cfa(HS3, hs.assign(**{c: hs[c].round() for c in items}), weights="w", ordered=True)
    with pytest.raises(ModelSpecificationError, match="sample_stats"):
        cx.cfa(HS3, sample_stats={"n": 301, "cov": hs[[f"x{i}" for i in range(1, 10)]].cov()},
               weights=np.ones(301))
    with pytest.raises(ArgumentError):
        cx.cfa(HS3, hs, weights=np.ones(10))
    with pytest.raises(ModelSpecificationError, match="bootstrap"):
        cx.cfa(HS3, hs, weights="w").bootstrap(n_boot=10, seed=1, progress=False)


@pytest.mark.parametrize("name", ["cfa", "sem"])
def test_modification_indices_of_weighted_fits_equal_lavaan(hs, name):
    """modindices() of a weighted (MLR) fit: every score test, expected change and its
    standardized version as lavaan's modindices() (make_weighted_modindices_references.R)."""
    ref = json.loads((HERE / "weighted_modindices_references.json").read_text())[name]
    fit = getattr(cx, ref["fun"])(ref["model"], hs, weights="w")
    exp = pd.DataFrame(ref["modindices"])
    all_rows = fit.modindices()
    # lavaan drops the rows whose index is not defined (na.remove = TRUE: here the covariances
    # of a regression's outcome with its own predictors); the package shows them as NaN
    got = all_rows[all_rows["mi"].notna()]
    assert set(zip(all_rows.loc[all_rows["mi"].isna(), "lhs"],
                   all_rows.loc[all_rows["mi"].isna(), "rhs"])) <= {
        ("visual", "speed"), ("textual", "speed"), ("speed", "visual"), ("speed", "textual")}
    both = exp.merge(got, on=["lhs", "op", "rhs"], suffixes=("_lavaan", ""), how="left",
                     validate="one_to_one")
    assert len(got) == len(exp) and both["mi"].notna().all()
    np.testing.assert_allclose(both["mi"], both["mi_lavaan"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(both["epc"], both["epc_lavaan"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(both["sepc_all"], both["sepc.all"], rtol=0, atol=1e-4)
