"""Issue 11, review: one implementation of the admissibility checks.

The engine's named checks (connection/latent/checks.py) are the only place where a Heywood case, a
non-positive-definite covariance matrix or non-convergence is found; reliability, Fornell-Larcker,
the latent drivers and the index copy ``Fit.flags`` into their ``flags`` columns (the drivers add
only their own ``poor_fit``). Known truth: the same fit gives the same flag text everywhere.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connection import errors
from connection._flags import HEYWOOD, LATENT_NOT_PD, format_flags
from connection.latent import cfa, checks, sem
from connection.measurement._index import ConnectionIndex
from connection.measurement._reliability import fornell_larcker, reliability
from connection.outcomes._drivers import _latent_model, drivers

ITEMS = {"connection": ["ec0", "ec1", "ec2"], "satisfaction": ["s0", "s1", "s2"]}


def _data(seed=5, n=60, lam_c=(0.97, 0.5, 0.45), lam_s=(0.8, 0.7, 0.6), r=0.6, control=None):
    """One near-perfect connection indicator (ec0) at n = 60: its residual variance is estimated
    negative (a Heywood case) in the one-factor CFA and in the drivers' SEM alike. ``control``:
    the SD of the noise of an ``age`` control that is nearly connection itself."""
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = r * sat + np.sqrt(1 - r**2) * rng.normal(size=n)
    df = pd.DataFrame({"advocacy": 0.5 * con + rng.normal(size=n), "connection": con,
                       "satisfaction": sat})
    if control is not None:
        df["age"] = con + control * rng.normal(size=n)
    for j, lam in enumerate(lam_c):
        df[f"ec{j}"] = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
    for j, lam in enumerate(lam_s):
        df[f"s{j}"] = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
    return df


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ConnectionWarning)
        return fn(*args, **kwargs)


def _tables(df, controls=()):
    """The flags cells of reliability, Fornell-Larcker, the latent drivers and the index."""
    rel = _quiet(reliability, df, ITEMS).set_index("construct")["flags"]
    fl = _quiet(fornell_larcker, df, ITEMS)["flags"].iloc[0]
    res = _quiet(drivers, df, ["advocacy"], controls=list(controls), n_boot=0, latent=ITEMS)
    ci = _quiet(ConnectionIndex({"connection": ITEMS["connection"]}, "connection", scaling="zscore",
                                segments=None).fit, df)
    return rel, fl, res, ci


def test_a_heywood_fit_has_the_same_flag_text_in_every_table_as_in_fit_flags():
    df = _data()
    one = _quiet(cfa, "connection =~ ec0 + ec1 + ec2", df)
    joint = _quiet(cfa, "connection =~ ec0 + ec1 + ec2\nsatisfaction =~ s0 + s1 + s2", df)
    model = _latent_model("advocacy", ["connection", "satisfaction"], [], ITEMS, [(0, 1)])
    latent = _quiet(sem, model, df, std_lv=True, estimator="MLR")   # as drivers() fits it
    for fit in (one, joint, latent):
        assert [f.code for f in fit.flags] == [HEYWOOD]
        assert fit.flags[0].parameters == ("ec0 ~~ ec0",)
    rel, fl, res, ci = _tables(df)
    assert rel["connection"] == format_flags(one.flags) != ""
    assert rel["satisfaction"] == ""
    assert fl == format_flags(joint.flags) != ""
    assert (res.latent["flags"] == format_flags(latent.flags)).all()
    assert [(f.code, f.parameters) for f in res.flags] == [(HEYWOOD, ("ec0 ~~ ec0",))]
    assert res.flags[0].message == "advocacy (latent): " + latent.flags[0].message
    # the index calibrates on the connection items: the same CFA as reliability's
    assert ci.flags_ == one.flags
    assert (ci.weights_frame()["flags"] == rel["connection"]).all()


def test_the_tables_do_not_re_derive_what_the_engine_checks(monkeypatch):
    """With the engine's Heywood check switched off, no table finds the Heywood case on its own:
    there is no second implementation reading the estimates (before: three of them)."""
    df = _data()
    monkeypatch.setattr(checks, "CHECKS", tuple(c for c in checks.CHECKS
                                                if c is not checks._check_heywood))
    one = cfa("connection =~ ec0 + ec1 + ec2", df)
    assert (one.estimates.query("lhs == 'ec0' and op == '~~'")["est"] < 0).all()
    assert one.flags == ()
    rel, fl, res, ci = _tables(df)
    assert (rel == "").all() and fl == ""
    assert (res.latent["flags"] == "").all() and res.flags == ()
    assert ci.flags_ == () and (ci.weights_frame()["flags"] == "").all()


def test_a_control_correlating_beyond_one_with_a_latent_driver_is_the_engines_flag():
    """The drivers used to check the latent drivers' and the controls' covariance matrix
    themselves; the engine now checks the latent variables together with the observed variables
    of the structural part (lavaan's post-check looks at cov.lv alone), and the drivers table
    carries its flag. Here the estimated correlation of latent connection and age is 1.02."""
    df = _data(seed=1, lam_c=(0.6, 0.5, 0.5), lam_s=(0.8, 0.7, 0.6), r=0.5, control=0.05)
    model = _latent_model("advocacy", ["connection", "satisfaction"], ["age"], ITEMS, [(0, 1)])
    with pytest.warns(errors.NotPositiveDefiniteWarning, match="structural part"):
        fit = sem(model, df, std_lv=True, estimator="MLR")
    std = fit.estimates.set_index(["lhs", "op", "rhs"])["std_all"]
    assert std[("connection", "~~", "age")] > 1
    assert [(f.code, f.parameters) for f in fit.flags] == [(LATENT_NOT_PD, ("connection ~~ age",))]
    res = _quiet(drivers, df, ["advocacy"], controls=["age"], n_boot=0, latent=ITEMS)
    assert (res.latent["flags"] == format_flags(fit.flags)).all()
    assert [f.code for f in res.flags] == [LATENT_NOT_PD] and not res.admissible
    # without the control the latent block alone is positive definite: no flag
    assert sem(_latent_model("advocacy", ["connection", "satisfaction"], [], ITEMS, [(0, 1)]), df,
               std_lv=True).flags == ()
