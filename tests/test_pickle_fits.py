"""Fitted results pickle (joblib, multiprocessing, saving a fitted index): the engine's
implied-moments function was a closure, so no fit and no fitted ConnectionIndex pickled."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import ConnectionIndex
from connection.latent.datasets import holzinger_swineford

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger_swineford()


def _ordinal(hs):
    cols = [f"x{i}" for i in range(1, 10)]
    return hs[cols].apply(lambda s: pd.qcut(s, 4, labels=False, duplicates="drop")).astype(int)


@pytest.mark.parametrize("kind", ["ML", "MLR", "groups", "fiml", "wlsmv", "weights"])
def test_a_fit_survives_pickling(hs, kind):
    if kind == "groups":
        fit = cx.cfa(HS, hs, group="school", group_equal=["loadings"])
    elif kind == "fiml":
        d = hs.copy()
        d.loc[d.index[::7], "x1"] = np.nan
        fit = cx.cfa(HS, d, missing="ml")
    elif kind == "weights":
        w = np.where(np.arange(len(hs)) % 3 == 0, 2.5, 1.0)
        fit = cx.cfa(HS, hs.assign(w=w), weights="w")
    elif kind == "wlsmv":
        fit = cx.cfa(HS, _ordinal(hs), ordered=True)
    else:
        fit = cx.cfa(HS, hs, estimator=kind)
    back = pickle.loads(pickle.dumps(fit))
    pd.testing.assert_frame_equal(back.estimates, fit.estimates)
    pd.testing.assert_series_equal(pd.Series(back.fit_measures), pd.Series(fit.fit_measures))
    assert str(back.summary()) == str(fit.summary())


def test_a_fitted_index_survives_pickling(hs):
    ci = ConnectionIndex(HS, "visual", scaling="zscore", segments=None).fit(hs)
    back = pickle.loads(pickle.dumps(ci))
    pd.testing.assert_frame_equal(back.transform(hs), ci.transform(hs))
    assert np.isfinite(back.transform(hs)["index"]).all()


def test_an_unidentified_ordinal_fit_reports_its_measures_and_flag(hs):
    """A one-item factor on an ordinal item with its residual fixed at 0 (a continuous
    habit: under delta the residual is not a parameter, so the factor variance is not
    identified): fit_measures raised a bare LinAlgError from the scaled test. Now the flag
    is recorded and the scaled and robust statistics are NaN, the plain ones computed."""
    model = "visual =~ x1 + x2 + x3\nspeed =~ x7\nx7 ~~ 0*x7"
    with pytest.warns(Warning):
        fit = cx.cfa(model, _ordinal(hs), ordered=True)
    fm = fit.fit_measures
    assert "not_identified" in {f.code for f in fit.flags}
    assert np.isfinite(fm["chisq"]) and np.isfinite(fm["srmr"])
    assert np.isnan(fm["chisq_scaled"]) and np.isnan(fm["cfi_robust"])
    # identified the ordinal way (the factor is the latent response): every measure computed
    ok = cx.cfa("visual =~ x1 + x2 + x3\nspeed =~ x7\nspeed ~~ 1*speed", _ordinal(hs),
                ordered=True)
    assert not ok.flags and np.isfinite(ok.fit_measures["chisq_scaled"])
