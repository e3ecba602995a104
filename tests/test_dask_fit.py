"""cfa()/sem() on a Dask DataFrame (issue 18): ML, MLR (sandwich SEs and Yuan-Bentler scaled
test from the fourth moments), sampling weights and groups equal the pandas path to 1e-8 on
the synchronous and threads schedulers; what needs the rows in memory is refused, typed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    ModelSpecificationError,
)
from connection.latent.datasets import holzinger_swineford, political_democracy

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
PD = """ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
"""
TOL = 1e-8


def _hs(missing=False):
    hs = holzinger_swineford().copy()
    rng = np.random.default_rng(18)
    hs["w"] = rng.uniform(0.3, 3.0, len(hs))
    if missing:
        hs.loc[[3, 50, 120], "x2"] = np.nan
        hs.loc[[7, 200], "x9"] = np.nan
    return hs


def _same(a, b):
    """Estimates, SEs, z, p, intervals, standardized columns and every fit measure."""
    e1, e2 = a.estimates, b.estimates
    assert list(e1["lhs"]) == list(e2["lhs"]) and list(e1["group"]) == list(e2["group"])
    for col in ["est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all"]:
        np.testing.assert_allclose(e2[col].to_numpy(float), e1[col].to_numpy(float),
                                   rtol=TOL, atol=TOL, err_msg=col)
    f1, f2 = a.fit_measures, b.fit_measures
    assert list(f1.index) == list(f2.index)
    x1, x2 = f1.to_numpy(float), f2.to_numpy(float)
    np.testing.assert_allclose(x2, x1, rtol=TOL, atol=TOL)
    assert a.estimator == b.estimator and a.ntotal == b.ntotal and a.nobs == b.nobs
    assert a.group_labels == b.group_labels


CASES = [
    ("cfa", HS, {}),
    ("cfa", HS, {"estimator": "MLR"}),
    ("cfa", HS, {"group": "school"}),
    ("cfa", HS, {"group": "school", "estimator": "MLR", "group_equal": ["loadings"]}),
    ("cfa", HS, {"weights": "w"}),
    ("cfa", HS, {"weights": "w", "group": "school", "group_equal": ["loadings"]}),
    ("cfa", HS, {"estimator": "MLR", "std_lv": True, "meanstructure": True}),
]


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("kind,model,kw", CASES)
def test_cfa_dask_equals_pandas(kind, model, kw, scheduler):
    hs = _hs()
    ddf = dd.from_pandas(hs, npartitions=5)
    with dask.config.set(scheduler=scheduler):
        b = getattr(cx, kind)(model, ddf, **kw)
    a = getattr(cx, kind)(model, hs, **kw)
    _same(a, b)
    if a.estimator == "MLR":  # the scaled test is really there (not NaN on both sides)
        assert np.isfinite(b.fit_measures["chisq_scaled"])
        assert b.fit_measures["chisq_scaled"] != b.fit_measures["chisq"]
    assert b.rows_used is None


def test_sem_mlr_with_regressions_dask_equals_pandas():
    pdem = political_democracy()
    ddf = dd.from_pandas(pdem, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        b = cx.sem(PD, ddf, estimator="MLR")
    _same(cx.sem(PD, pdem, estimator="MLR"), b)


def test_listwise_exclusions_warned_and_equal():
    hs = _hs(missing=True)
    ddf = dd.from_pandas(hs, npartitions=4)
    with dask.config.set(scheduler="synchronous"), pytest.warns(ExclusionWarning,
                                                                match="5 of 301 rows"):
        b = cx.cfa(HS, ddf, estimator="MLR")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        a = cx.cfa(HS, hs, estimator="MLR")
    _same(a, b)
    assert b.ntotal == 296


def test_equal_weights_are_exactly_the_unweighted_fit():
    hs = _hs()
    hs["w"] = 2.5
    ddf = dd.from_pandas(hs, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        b = cx.cfa(HS, ddf, weights="w")
        c = cx.cfa(HS, ddf)
    assert b.estimator == "ML"
    pd.testing.assert_frame_equal(b.estimates, c.estimates)


def test_mlr_vcov_is_the_sandwich_not_the_expected_information():
    """Fails if the MLR path fell back to ML's expected-information SEs."""
    ddf = dd.from_pandas(_hs(), npartitions=2)
    with dask.config.set(scheduler="synchronous"):
        ml, mlr = cx.cfa(HS, ddf), cx.cfa(HS, ddf, estimator="MLR")
    np.testing.assert_allclose(mlr.estimates["est"], ml.estimates["est"], rtol=1e-10)
    assert np.max(np.abs(mlr.estimates["se"] - ml.estimates["se"])) > 1e-3


def test_refusals_name_what_to_do():
    hs = _hs()
    ddf = dd.from_pandas(hs, npartitions=2)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ModelSpecificationError, match="weights= is not available yet with "
                                                          "missing='ml'"):
            cx.cfa(HS, ddf, missing="ml", weights="w")  # as on pandas (FIML is unweighted)
        with pytest.raises(ArgumentError, match="ordered="):
            cx.cfa(HS, ddf, ordered=True)
        with pytest.raises(ArgumentError, match="weights="):
            cx.cfa(HS, ddf, weights=hs["w"].to_numpy())
        with pytest.raises(ArgumentError, match="sample_stats"):
            cx.cfa(HS, ddf, sample_stats={"n": 10, "cov": np.eye(9)})
        with pytest.raises(MissingColumnError):
            cx.cfa(HS, ddf, weights="nope")
        with pytest.raises(MissingColumnError):
            cx.cfa(HS, ddf, group="nope")
        fit = cx.cfa(HS, ddf, estimator="MLR")
        with pytest.raises(ModelSpecificationError, match=r"\.compute\(\)"):
            fit.bootstrap(n_boot=10, seed=1, progress=False)
        with pytest.raises(ModelSpecificationError, match=r"\.compute\(\)"):
            fit.predict()
        # factor scores for rows given in memory still work
        assert fit.predict(hs).shape == (len(hs), 3)
        # modification indices need only the information matrix
        np.testing.assert_allclose(fit.modindices()["mi"].to_numpy(float),
                                   cx.cfa(HS, hs, estimator="MLR").modindices()["mi"]
                                   .to_numpy(float), rtol=1e-7)


def test_group_with_too_few_complete_rows_is_a_group_error():
    hs = _hs()
    hs.loc[hs.school == "Pasteur", "x1"] = np.nan
    hs.loc[hs.index[hs.school == "Pasteur"][0], "x1"] = 1.0
    ddf = dd.from_pandas(hs, npartitions=2)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        with pytest.raises(GroupError, match="Pasteur"):
            cx.cfa(HS, ddf, group="school")


def test_refit_on_dask_keeps_the_route():
    ddf = dd.from_pandas(_hs(), npartitions=2)
    with dask.config.set(scheduler="synchronous"):
        fit = cx.cfa(HS, ddf, group="school")
        again = fit.refit(group_equal=["loadings"])
    ref = cx.cfa(HS, _hs(), group="school", group_equal=["loadings"])
    _same(ref, again)


def test_a_survey_with_dask_data_fits_with_its_weight_column():
    """A Survey read from a directory holds Dask frames: cfa(survey) fits its instrument on
    them, with the codebook's weight column (weights=None switches it off)."""
    from types import SimpleNamespace

    hs = _hs()
    ddf = dd.from_pandas(hs, npartitions=3)
    instrument = SimpleNamespace(model_syntax=lambda: HS)
    survey = SimpleNamespace(instrument=instrument, data=ddf, weights=ddf["w"].astype(float))
    with dask.config.set(scheduler="synchronous"):
        fit = cx.cfa(survey)
        off = cx.cfa(survey, weights=None)
        with_model = cx.cfa(HS, survey)
    _same(cx.cfa(HS, hs, weights="w"), fit)
    _same(cx.cfa(HS, hs), off)
    _same(fit, with_model)


FIXED_X = ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + grade\n"
           "textual ~ ageyr")


@pytest.mark.parametrize("kw", [{"estimator": "MLR"}, {"weights": "w"},
                                {"weights": "w", "group": "school"},
                                {"estimator": "MLR", "group": "school",
                                 "group_equal": ["loadings", "intercepts"]}])
def test_sem_with_fixed_x_covariates_and_missing_rows(kw):
    """Observed covariates (fixed.x: their moments left out of the scaled test) and listwise
    rows; weights normalised over the rows used."""
    hs = _hs(missing=True)
    ddf = dd.from_pandas(hs, npartitions=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        with dask.config.set(scheduler="synchronous"):
            b = cx.sem(FIXED_X, ddf, **kw)
        a = cx.sem(FIXED_X, hs, **kw)
    _same(a, b)


def test_invariance_on_a_dask_frame_equals_pandas():
    """The ladder on a Dask frame (was refused): the same table and latent means as the
    pandas frame (the full comparison is in tests/test_dask_invariance.py)."""
    hs = holzinger_swineford()
    with dask.config.set(scheduler="synchronous"):
        b = cx.invariance(HS, dd.from_pandas(hs, npartitions=2), group="school")
    a = cx.invariance(HS, hs, group="school")
    assert list(a.table["step"]) == list(b.table["step"]) and a.strongest == b.strongest
    for col in ["chisq", "df", "cfi", "rmsea", "srmr", "delta_chisq", "p_delta"]:
        np.testing.assert_allclose(b.table[col].to_numpy(float), a.table[col].to_numpy(float),
                                   rtol=TOL, atol=TOL, err_msg=col)
    np.testing.assert_allclose(b.latent_means["mean"].to_numpy(float),
                               a.latent_means["mean"].to_numpy(float), rtol=TOL, atol=TOL)
    assert list(a.partial["parameter"]) == list(b.partial["parameter"])
