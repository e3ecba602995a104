"""drivers() on a Dask DataFrame (issue 18): OLS coefficients, SEs (classical and HC0-HC3),
R-squared, delta R-squared, dominance and contrasts from partition-wise passes equal the
in-memory (statsmodels) path to 1e-8; what needs the rows in memory is refused naming what to
do."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connection.errors import (
    ArgumentError,
    DataError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
)
from connection.outcomes._drivers import drivers

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

TABLE = ["beta", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "b", "delta_r2",
         "general_dominance", "dominance_share", "r2"]
DIFF = ["estimate", "se", "statistic", "pvalue", "wald_ci_lower", "wald_ci_upper"]


def _data(n=2500, seed=18):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = 0.5 * sat + rng.normal(size=n)
    feat = 0.3 * con + rng.normal(size=n)
    df = pd.DataFrame({
        "connection": 3 + con, "satisfaction": 4 + 2 * sat, "features": feat,
        "age": 40 + 12 * rng.normal(size=n), "female": rng.random(n) < 0.5,
        # heteroscedastic: the HC covariances differ from the classical one
        "advocacy": 0.5 * con + 0.2 * sat + rng.normal(size=n) * (1 + 0.6 * np.abs(con)),
        "loyalty": 0.3 * con + 0.1 * feat + rng.normal(size=n)})
    df.loc[[4, 77, 901], "advocacy"] = np.nan
    df.loc[[12, 1500], "features"] = np.nan
    return df


DATA = _data()


def _both(cov_type="HC3", scheduler="synchronous", npartitions=6, **kw):
    args = dict(outcomes=["advocacy", "loyalty"],
                drivers=["connection", "satisfaction", "features"],
                controls=["age", "female"], n_boot=0, cov_type=cov_type, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        memory = drivers(DATA, **args)
        with dask.config.set(scheduler=scheduler):
            lazy = drivers(dd.from_pandas(DATA, npartitions=npartitions), **args)
    return memory, lazy


def _assert_equal(memory, lazy):
    np.testing.assert_allclose(lazy.table[TABLE].to_numpy(float),
                               memory.table[TABLE].to_numpy(float), rtol=1e-8, atol=1e-10)
    assert lazy.table[["outcome", "term", "role", "n", "cov_type"]].equals(
        memory.table[["outcome", "term", "role", "n", "cov_type"]])
    np.testing.assert_allclose(lazy.differences[DIFF].to_numpy(float),
                               memory.differences[DIFF].to_numpy(float), rtol=1e-8, atol=1e-10)
    assert list(lazy.differences["contrast"]) == list(memory.differences["contrast"])
    cols = ["n", "n_excluded", "r2", "r2_controls"]
    np.testing.assert_allclose(lazy.models[cols].to_numpy(float),
                               memory.models[cols].to_numpy(float), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("cov_type", ["HC3", "HC0", "HC1", "HC2", "nonrobust"])
def test_dask_equals_pandas_for_every_covariance(cov_type):
    memory, lazy = _both(cov_type)
    _assert_equal(memory, lazy)
    assert lazy.settings["dask"] is True


def test_dask_threads_scheduler_and_one_partition():
    _assert_equal(*_both("HC3", scheduler="threads", npartitions=11))
    _assert_equal(*_both("HC3", npartitions=1))


def test_dask_without_dominance_and_with_named_contrasts():
    memory, lazy = _both("HC1", importance=None, contrasts=[("satisfaction", "connection")])
    _assert_equal(memory, lazy)
    assert lazy.table["general_dominance"].isna().all()
    assert list(lazy.differences["contrast"].unique()) == ["satisfaction - connection"]


def test_dask_reports_the_rows_left_out():
    ddf = dd.from_pandas(DATA, npartitions=4)
    with dask.config.set(scheduler="synchronous"), pytest.warns(ExclusionWarning, match="3 of"):
        res = drivers(ddf, "advocacy", drivers=["connection", "satisfaction"], n_boot=0)
    assert res.models["n_excluded"].iloc[0] == 3
    assert res.models["n"].iloc[0] == len(DATA) - 3


@pytest.mark.parametrize("kw, match", [
    ({}, "n_boot=0"),                                     # the default n_boot bootstraps
    ({"n_boot": 0, "family": "logit"}, "family='ols'"),
    ({"n_boot": 0, "group": "female"}, "group=None"),
    ({"n_boot": 0, "cov_type": "cluster", "cluster": "age"}, "cov_type among"),
    ({"n_boot": 0, "latent": {"connection": ["a"], "satisfaction": ["b"]}}, "latent=None"),
    ({"n_boot": 0, "importance_intervals": True}, "importance_intervals=None"),
])
def test_dask_refusals_say_what_to_do(kw, match):
    ddf = dd.from_pandas(DATA, npartitions=3)
    with pytest.raises(ArgumentError, match=match):
        drivers(ddf, "loyalty", **kw)


def test_dask_input_errors():
    ddf = dd.from_pandas(DATA.assign(region=np.where(DATA.index % 2, "n", "s"),
                                     twice=2 * DATA["connection"]), npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(MissingColumnError):
            drivers(ddf, "loyalty", drivers=["connection", "nope"], n_boot=0)
        with pytest.raises(NonNumericError, match="region"):
            drivers(ddf, "loyalty", controls=["region"], n_boot=0)
        with pytest.raises(DataError, match="collinear") as err:
            drivers(ddf, "loyalty", drivers=["connection", "twice"], n_boot=0)
        assert "twice" in str(err.value)


def test_dask_weights_equal_the_weighted_pandas_path():
    """Survey weights (a column): svyglm's coefficients, linearization SEs and t on its
    residual df, weighted dominance, as drivers(weights=) in memory."""
    d = DATA.assign(w=np.random.default_rng(7).uniform(0.3, 3.0, len(DATA)))
    args = dict(outcomes=["advocacy", "loyalty"], drivers=["connection", "satisfaction"],
                controls=["age", "female"], n_boot=0, weights="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        memory = drivers(d, **args)
        with dask.config.set(scheduler="threads"):
            lazy = drivers(dd.from_pandas(d, npartitions=5), **args)
    _assert_equal(memory, lazy)
    assert (lazy.table["cov_type"] == "linearization").all()
    assert lazy.settings["weights"] == "w"
    with pytest.raises(ArgumentError, match="column of the Dask frame"):
        drivers(dd.from_pandas(d, npartitions=2), "loyalty", n_boot=0, weights=d["w"].to_numpy())
    with pytest.raises(MissingColumnError):
        drivers(dd.from_pandas(d, npartitions=2), "loyalty", n_boot=0, weights="nope")
    bad = d.assign(w=d["w"].where(d.index != 9))
    with dask.config.set(scheduler="synchronous"), pytest.raises(DataError, match="w"):
        drivers(dd.from_pandas(bad, npartitions=2), "loyalty", n_boot=0, weights="w")
