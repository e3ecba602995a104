"""FIML (missing='ml') on a Dask frame (issue 18): the saturated EM, the baseline, fixed.x and
MLR's casewise terms from the missing-data patterns' moments (and, for MLR, each pattern's
fourth moments) equal the pandas path to 1e-8 (estimates, SEs, every fit measure, summary,
modification indices) on the synchronous and threads schedulers; what needs the rows is
refused, typed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import (
    ArgumentError,
    DataError,
    ExclusionWarning,
    GroupError,
    ModelSpecificationError,
    NoVarianceError,
)
from connection.latent.datasets import holzinger_swineford, political_democracy
from connection.stats._dask import sample_moments

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
FIXED_X = ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + grade\n"
           "textual ~ ageyr")
TOL = 1e-8


def _holes(frame, columns, share, seed):
    """``frame`` with about ``share`` of each column's values set missing (several patterns)."""
    out = frame.copy()
    rng = np.random.default_rng(seed)
    for c in columns:
        out.loc[rng.random(len(out)) < share, c] = np.nan
    return out


def _hs():
    hs = holzinger_swineford().copy()
    hs["w"] = np.random.default_rng(18).uniform(0.3, 3.0, len(hs))
    hs = _holes(hs, ["x1", "x2", "x4", "x5", "x7", "x9", "grade"], 0.12, 5)
    hs.loc[[10, 11], ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"]] = np.nan
    return hs


def _same(a, b):
    """Estimates, SEs, z, p, intervals, standardized columns, every fit measure, summary."""
    e1, e2 = a.estimates, b.estimates
    assert list(e1["lhs"]) == list(e2["lhs"]) and list(e1["group"]) == list(e2["group"])
    for col in ["est", "se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all"]:
        np.testing.assert_allclose(e2[col].to_numpy(float), e1[col].to_numpy(float),
                                   rtol=TOL, atol=TOL, err_msg=col)
    f1, f2 = a.fit_measures, b.fit_measures
    assert list(f1.index) == list(f2.index)
    np.testing.assert_allclose(f2.to_numpy(float), f1.to_numpy(float), rtol=TOL, atol=TOL)
    assert a.estimator == b.estimator and a.missing == b.missing == "ml"
    assert a.ntotal == b.ntotal and a.nobs == b.nobs and a.group_labels == b.group_labels
    assert a.summary().as_text() == b.summary().as_text()


def _both(fn, model, frame, npartitions=4, scheduler="synchronous", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        a = fn(model, frame, missing="ml", **kw)
        with dask.config.set(scheduler=scheduler):
            b = fn(model, dd.from_pandas(frame, npartitions=npartitions), missing="ml", **kw)
    return a, b


CASES = [
    ("cfa", HS, {}),
    ("cfa", HS, {"estimator": "MLR"}),
    ("cfa", HS, {"group": "school"}),
    ("cfa", HS, {"group": "school", "estimator": "MLR", "group_equal": ["loadings"]}),
    ("cfa", HS, {"estimator": "MLR", "std_lv": True}),
    ("sem", FIXED_X, {}),
    ("sem", FIXED_X, {"estimator": "MLR"}),
    ("sem", FIXED_X, {"estimator": "MLR", "group": "school",
                      "group_equal": ["loadings", "intercepts"]}),
]


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("kind,model,kw", CASES)
def test_fiml_dask_equals_pandas(kind, model, kw, scheduler):
    a, b = _both(getattr(cx, kind), model, _hs(), scheduler=scheduler, **kw)
    _same(a, b)
    fm = b.fit_measures
    # the FIML test is really there: the saturated (EM) likelihood above the model's
    assert fm["unrestricted_logl"] > fm["logl"] and fm["chisq"] > 0
    if b.estimator == "MLR":  # the scaled test and the sandwich are there, not ML's
        assert np.isfinite(fm["chisq_scaled"]) and fm["chisq_scaled"] != fm["chisq"]
        ml = _both(getattr(cx, kind), model, _hs(), **dict(kw, estimator="ML"))[1]
        np.testing.assert_allclose(b.estimates["est"], ml.estimates["est"], rtol=1e-9)
        assert np.nanmax(np.abs(b.estimates["se"] - ml.estimates["se"])) > 1e-3


def test_sem_with_regressions_and_missing_values():
    pdem = _holes(political_democracy(), ["x1", "y1", "y3", "y6", "y8"], 0.15, 7)
    for estimator in ("ML", "MLR"):
        a, b = _both(cx.sem, PD, pdem, npartitions=3, estimator=estimator)
        _same(a, b)
        assert b.fit_measures["df"] == 77 - (28 + 11)  # with the means: 11 intercepts


def test_modification_indices_from_the_patterns():
    a, b = _both(cx.cfa, HS, _hs())
    np.testing.assert_allclose(b.modindices()["mi"].to_numpy(float),
                               a.modindices()["mi"].to_numpy(float), rtol=1e-7, atol=1e-9)
    assert b.modindices()["mi"].max() > 10  # x7 ~~ x8 and visual =~ x9, as complete data


def test_one_partition_and_many_give_the_same_fit():
    hs = _hs()
    one = _both(cx.cfa, HS, hs, npartitions=1, estimator="MLR")[1]
    many = _both(cx.cfa, HS, hs, npartitions=9, estimator="MLR")[1]
    _same(one, many)


def test_rows_with_nothing_observed_or_no_group_are_excluded_and_warned():
    hs = _hs()
    hs.loc[[20, 21, 22], "school"] = None
    ddf = dd.from_pandas(hs, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        with pytest.warns(ExclusionWarning, match="5 of 301 rows excluded"):
            b = cx.cfa(HS, ddf, missing="ml", group="school")
    with pytest.warns(ExclusionWarning, match="5 of 301 rows excluded"):
        a = cx.cfa(HS, hs, missing="ml", group="school")
    _same(a, b)
    assert b.ntotal == 296


def test_pattern_fourth_moments_equal_the_casewise_sums():
    """sample_moments(pattern_gamma=True): per pattern the covariance of (y - mean,
    vech((y - mean)(y - mean)')) over its rows, computed here row by row."""
    hs = _hs()
    items = ["x1", "x2", "x3", "x4"]
    r = sample_moments(dd.from_pandas(hs, npartitions=5), items=items, pattern_gamma=True)
    x = hs[items].to_numpy(float)
    seen = 0
    for (_, pattern), gam in r.pattern_gamma.items():
        obs = np.array([f == "1" for f in pattern])
        rows = x[(~np.isnan(x) == obs).all(axis=1)][:, obs]
        y = rows - rows.mean(axis=0)
        i, j = np.tril_indices(obs.sum())
        d = np.concatenate([y, y[:, i] * y[:, j]], axis=1)
        d = d - d.mean(axis=0)
        np.testing.assert_allclose(gam, d.T @ d / len(d), rtol=1e-10, atol=1e-12)
        seen += len(rows)
    assert seen == len(hs) - 2  # every row but the two with no item observed
    assert len(r.pattern_gamma) >= 4


def _errors(frame, **kw):
    """The error of the pandas and of the Dask fit (type and message)."""
    out = []
    for data in (frame, dd.from_pandas(frame, npartitions=3)):
        with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ExclusionWarning)
            with pytest.raises((DataError, GroupError)) as info:
                cx.cfa(HS, data, missing="ml", **kw)
        out.append((type(info.value), str(info.value)))
    return out


@pytest.mark.parametrize("case", ["empty", "constant", "never_together", "collinear"])
def test_unusable_data_raise_the_same_typed_error(case):
    hs = holzinger_swineford().copy()
    if case == "empty":
        hs["x4"] = np.nan
    elif case == "constant":
        hs["x4"] = 0.1
        hs.loc[::3, "x4"] = np.nan
    elif case == "never_together":
        hs.loc[:150, "x1"] = np.nan
        hs.loc[151:, "x9"] = np.nan
    else:
        hs = _holes(hs, ["x1", "x5"], 0.1, 3)
        hs["x3"] = hs["x1"] + hs["x2"]
    (ta, ma), (tb, mb) = _errors(hs)
    assert ta is tb and ma == mb
    expected = {"empty": "no observed value", "constant": "no variance",
                "never_together": "never observed together", "collinear": "not positive def"}
    assert expected[case] in mb
    if case == "constant":
        assert tb is NoVarianceError and "x4" in mb


def test_refusals_are_typed_and_say_what_to_do():
    hs = _hs()
    ddf = dd.from_pandas(hs, npartitions=2)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        with pytest.raises(ModelSpecificationError, match="weights= is not available yet"):
            cx.cfa(HS, ddf, missing="ml", weights="w")
        with pytest.raises(ModelSpecificationError, match="weights= is not available yet"):
            cx.cfa(HS, hs, missing="ml", weights="w")  # the pandas path refuses the same
        with pytest.raises(ArgumentError, match="ordered="):
            cx.cfa(HS, ddf, missing="ml", ordered=True)
        fit = cx.cfa(HS, ddf, missing="ml")
        with pytest.raises(ModelSpecificationError, match=r"\.compute\(\)"):
            fit.bootstrap(n_boot=10, seed=1, progress=False)
        with pytest.raises(ModelSpecificationError, match=r"\.compute\(\)"):
            fit.estimation.problem.casewise_scores(fit.estimation.theta)
        # ML from moments holds no fourth moments: its casewise cross-products say so
        with pytest.raises(ModelSpecificationError, match="estimator='MLR'"):
            fit.estimation.problem.score_crossprods(fit.estimation.theta)
        mlr = cx.cfa(HS, ddf, missing="ml", estimator="MLR")
    crossprods = mlr.estimation.problem.score_crossprods(mlr.estimation.theta)
    ref = cx.cfa(HS, hs.drop(index=[10, 11]), missing="ml", estimator="MLR")
    np.testing.assert_allclose(crossprods[0],
                               ref.estimation.problem.score_crossprods(ref.estimation.theta)[0],
                               rtol=1e-9, atol=1e-9)


def test_a_survey_with_dask_data_fits_by_fiml():
    from types import SimpleNamespace

    hs = _hs()
    survey = SimpleNamespace(instrument=SimpleNamespace(model_syntax=lambda: HS),
                             data=dd.from_pandas(hs, npartitions=3), weights=None)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        b = cx.cfa(survey, missing="ml", estimator="MLR")
        a = cx.cfa(HS, hs, missing="ml", estimator="MLR")
    _same(a, b)
    assert isinstance(b.fit_measures, pd.Series)


@pytest.mark.parametrize("p", [5, 64, 70])
def test_packed_pattern_rows_equal_numpy_unique(p):
    """The patterns found from packed bytes (one integer per row up to 64 columns, else
    bytes) are numpy.unique(axis=0)'s, each row mapped to its own."""
    from connection.stats._dask import _unique_rows

    rng = np.random.default_rng(p)
    observed = rng.random((500, p)) < 0.97
    observed[:50, : p // 2] = False
    keys, inverse = _unique_rows(observed)
    ref = np.unique(observed, axis=0)
    assert len(keys) == len(ref) > 10
    assert {k.tobytes() for k in keys} == {r.tobytes() for r in ref}
    np.testing.assert_array_equal(keys[inverse], observed)
