"""Properties of connection.outcomes._drivers over generated values (hypothesis): what must hold for any
data, not only for the simulated examples of test_drivers.py.

* Standardized results do not depend on the units of the outcome, drivers or controls (any
  positive scale, any shift); reversing a driver's direction flips its sign only.
* The pairwise contrasts are consistent: ``a - b`` is minus ``b - a``, ``(a - b) + (b - c) =
  a - c``, and each equals the difference of the coefficients in the table.
* The latent version with controls is unit-free in the controls too (a control's variance and
  its covariances with the latent drivers are free parameters, not fixed at sample values).
* Values that are not numbers (text, infinite) or missing codes left in the data either raise
  the package's own error or are counted as excluded; never a raw exception or a NaN estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection.errors import (
    ConnectionPackageError,
    ConnectionWarning,
    ExclusionWarning,
    OutOfRangeError,
)
from connection.outcomes._drivers import drivers

THREE = ["connection", "satisfaction", "features"]
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _data(seed: int, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    df = pd.DataFrame({"connection": f + rng.normal(size=n),
                       "satisfaction": 0.5 * f + rng.normal(size=n),
                       "features": 0.3 * f + rng.normal(size=n),
                       "age": rng.normal(40, 12, n)})
    df["advocacy"] = 0.5 * df.connection + 0.2 * df.satisfaction - 0.01 * df.age + rng.normal(size=n)
    return df


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConnectionWarning)
        return call()


scales = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
shifts = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@SETTINGS
@given(seed=st.integers(0, 2**16), scale=st.lists(scales, min_size=5, max_size=5),
       shift=st.lists(shifts, min_size=5, max_size=5), flip=st.sampled_from(THREE))
def test_standardized_results_do_not_depend_on_units(seed, scale, shift, flip):
    df = _data(seed)
    base = drivers(df, ["advocacy"], drivers=THREE, controls=["age"], n_boot=0)
    other = df.copy()
    for col, a, b in zip(["connection", "satisfaction", "features", "age", "advocacy"], scale, shift):
        other[col] = a * df[col] + b
    other[flip] = -other[flip]
    res = drivers(other, ["advocacy"], drivers=THREE, controls=["age"], n_boot=0)
    t0, t1 = base.table.set_index("term"), res.table.set_index("term")
    sign = pd.Series(1.0, index=t0.index)
    sign[flip] = -1.0
    assert (t1["beta"] * sign).to_numpy() == pytest.approx(t0["beta"].to_numpy(), abs=1e-8)
    assert t1["se"].to_numpy() == pytest.approx(t0["se"].to_numpy(), rel=1e-6)
    assert t1["delta_r2"].to_numpy() == pytest.approx(t0["delta_r2"].to_numpy(), abs=1e-9,
                                                      nan_ok=True)
    # contrasts involving the flipped driver change; the others do not
    d0, d1 = base.differences.set_index("contrast"), res.differences.set_index("contrast")
    for name in d0.index:
        if flip not in name.split(" - "):
            assert d1.loc[name, "estimate"] == pytest.approx(d0.loc[name, "estimate"], abs=1e-8)
            assert d1.loc[name, "se"] == pytest.approx(d0.loc[name, "se"], rel=1e-6)


@SETTINGS
@given(seed=st.integers(0, 2**16), model=st.sampled_from(["ols", "logit"]),
       order=st.permutations(THREE))
def test_pairwise_contrasts_are_consistent(seed, model, order):
    df = _data(seed, n=200)
    df["top"] = (df.advocacy > df.advocacy.median()).astype(int)
    outcome = "advocacy" if model == "ols" else "top"
    a, b, c = order
    res = _quiet(lambda: drivers(df, [outcome], drivers=THREE, family=model, n_boot=0,
                                 contrasts=[(a, b), (b, a), (b, c), (a, c)]))
    d = res.differences.set_index("contrast")["estimate"]
    beta = res.table.set_index("term")["beta"]
    assert d[f"{a} - {b}"] == pytest.approx(-d[f"{b} - {a}"], abs=1e-12)
    assert d[f"{a} - {b}"] + d[f"{b} - {c}"] == pytest.approx(d[f"{a} - {c}"], abs=1e-12)
    assert d[f"{a} - {c}"] == pytest.approx(beta[a] - beta[c], abs=1e-12)
    se = res.differences.set_index("contrast")["se"]
    assert se[f"{a} - {b}"] == pytest.approx(se[f"{b} - {a}"], rel=1e-12)


def _latent_data(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
    age = 0.4 * con + 0.2 * sat + rng.normal(size=n)
    df = pd.DataFrame({"advocacy": 0.4 * con + 0.2 * sat - 0.3 * age + rng.normal(size=n),
                       "age": 40 + 12 * age})
    items = {"connection": [], "satisfaction": []}
    for j, lam in enumerate([0.8, 0.7, 0.75]):
        df[f"ec{j}"] = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["connection"].append(f"ec{j}")
    for j, lam in enumerate([0.85, 0.8, 0.7]):
        df[f"sat{j}"] = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["satisfaction"].append(f"sat{j}")
    df["connection"] = df[items["connection"]].mean(axis=1)
    df["satisfaction"] = df[items["satisfaction"]].mean(axis=1)
    return df, items


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), scale=scales, shift=shifts)
def test_latent_version_does_not_depend_on_the_units_of_a_control(seed, scale, shift):
    """With the control's covariances fixed at zero (the old model) its units did not matter
    either, but its variance was fixed at the sample value; now it is a free parameter, and a
    rescaled control must still give the same standardized drivers, fit and contrast."""
    df, items = _latent_data(seed)
    base = _quiet(lambda: drivers(df, ["advocacy"], controls=["age"], n_boot=0, latent=items))
    other = df.assign(age=scale * df.age + shift)
    res = _quiet(lambda: drivers(other, ["advocacy"], controls=["age"], n_boot=0, latent=items))
    l0, l1 = base.latent.set_index("term"), res.latent.set_index("term")
    assert l1["beta"].to_numpy() == pytest.approx(l0["beta"].to_numpy(), abs=1e-5)
    assert l1["est"].to_numpy() == pytest.approx(l0["est"].to_numpy(), abs=1e-5)
    assert l1["cfi"].iloc[0] == pytest.approx(l0["cfi"].iloc[0], abs=1e-6)
    assert (l1["flags"] == l0["flags"]).all()


BAD = st.sampled_from(["nan", "inf", "-inf", "text", "-99", "huge"])


@SETTINGS
@given(seed=st.integers(0, 2**16), col=st.sampled_from(["connection", "features", "age", "advocacy"]),
       kind=BAD, rows=st.lists(st.integers(0, 119), min_size=1, max_size=5, unique=True))
def test_bad_values_are_an_error_or_counted_never_a_silent_nan(seed, col, kind, rows):
    df = _data(seed)
    if kind in ("text",):
        df[col] = df[col].astype(object)
    value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "text": "n/a", "-99": -99.0,
             "huge": 1e300}[kind]
    df.loc[rows, col] = value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = drivers(df, ["advocacy"], drivers=THREE, controls=["age"], n_boot=0)
        except ConnectionPackageError as err:
            assert kind in ("inf", "-inf", "text", "huge"), err
            assert repr(col) in str(err)           # the error names the column and a row
            assert f"row {rows[0] + 1}" in str(err) or f"rows {min(rows) + 1}" in str(err)
            if kind == "huge":   # was beta 0.0 with SE 0.0 (outcome) or "perfectly collinear"
                assert isinstance(err, OutOfRangeError) and "too large" in str(err)
            return
    assert kind in ("nan", "-99"), kind
    numbers = res.table[["beta", "se", "pvalue", "ci_lower", "ci_upper"]].to_numpy(float)
    assert np.isfinite(numbers).all()
    assert np.isfinite(res.differences[["estimate", "se", "pvalue"]].to_numpy(float)).all()
    if kind == "nan":
        assert res.models["n_excluded"].iloc[0] == len(rows)
        assert res.models["n"].iloc[0] == 120 - len(rows)
        assert any(issubclass(w.category, ExclusionWarning) and f"{len(rows)} of 120" in str(w.message)
                   for w in caught)
