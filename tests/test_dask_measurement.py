"""reliability(), htmt() and ConnectionIndex on a Dask DataFrame (issue 18): equal to the
pandas path (alpha, Feldt, omega/CR/AVE, HTMT to 1e-10; transform/segment exactly, the
calibration fit to 1e-8), unweighted and weighted; the bootstrap and ordinal items refused."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError, ExclusionWarning, OutOfRangeError
from connection.latent.datasets import holzinger_swineford
from connection.measurement import ConnectionIndex, SegmentRule, htmt, reliability

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

SCALES = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
          "speed": ["x7", "x8", "x9"]}


def _data():
    hs = holzinger_swineford().copy()
    rng = np.random.default_rng(18)
    hs["w"] = rng.uniform(0.3, 3.0, len(hs))
    hs.loc[[5, 9, 140], "x2"] = np.nan
    hs.loc[[33], "x7"] = np.nan
    return hs


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return function(*args, **kwargs)


def _same_table(a, b, tol=1e-10):
    assert list(a.columns) == list(b.columns)
    num = a.select_dtypes("number").columns
    np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=tol,
                               atol=tol)
    pd.testing.assert_frame_equal(a.drop(columns=num), b.drop(columns=num))


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("kw", [{}, {"weights": "w"}, {"joint": True},
                                {"joint": True, "weights": "w"}, {"level": 0.9}])
def test_reliability_dask_equals_pandas(kw, scheduler):
    hs = _data()
    ddf = dd.from_pandas(hs, npartitions=4)
    with dask.config.set(scheduler=scheduler):
        b = quiet(reliability, ddf, SCALES, **kw)
    a = quiet(reliability, hs, SCALES, **kw)
    _same_table(a, b)
    assert np.isfinite(b["omega"]).all() and np.isfinite(b["alpha"]).all()
    assert a.attrs["weights"] == b.attrs["weights"]
    for k, v in a.attrs["n_eff"].items():
        assert b.attrs["n_eff"][k] == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("kw", [{}, {"weights": "w"}, {"method": "htmt2"},
                                {"absolute": False}])
def test_htmt_dask_equals_pandas(kw):
    hs = _data()
    ddf = dd.from_pandas(hs, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        b = quiet(htmt, ddf, SCALES, **kw)
    a = quiet(htmt, hs, SCALES, **kw)
    _same_table(a, b)
    assert a.attrs["weights"] == b.attrs["weights"]
    assert b.attrs["n_eff"] == pytest.approx(a.attrs["n_eff"], rel=1e-12)


def test_listwise_exclusions_are_warned_on_dask():
    ddf = dd.from_pandas(_data(), npartitions=2)
    with dask.config.set(scheduler="synchronous"), pytest.warns(ExclusionWarning,
                                                                match="3 of 301 rows"):
        reliability(ddf, {"visual": SCALES["visual"]})


def test_refusals_on_dask():
    hs = _data()
    ddf = dd.from_pandas(hs, npartitions=2)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ArgumentError, match="n_boot= is not available on a Dask"):
            reliability(ddf, SCALES, n_boot=100, seed=1)
        with pytest.raises(ArgumentError, match="n_boot= is not available on a Dask"):
            htmt(ddf, SCALES, n_boot=100, seed=1)
        with pytest.raises(ArgumentError, match="ordered="):
            reliability(ddf, SCALES, ordered=True)
        with pytest.raises(ArgumentError, match="weights="):
            htmt(ddf, SCALES, weights=hs["w"].to_numpy())
        with pytest.raises(ArgumentError, match=r"\{construct: \[item columns\]\}"):
            reliability(ddf, ["x1", "x2"])


def _index(**kw):
    return ConnectionIndex({"visual": ["x1", "x2", "x3"]}, "visual", item_range=(0, 10),
                           **kw)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_index_transform_and_segment_partitionwise(scheduler):
    hs = _data()
    hs["sat"] = np.round(hs["x4"])  # a satisfaction column for the rule (0-10 answers)
    rule = SegmentRule(connected_min=50, satisfaction=("sat",), satisfied_min=4,
                       differentiation=None)
    idx = quiet(_index(segments=rule).fit, hs)
    ddf = dd.from_pandas(hs, npartitions=5)
    with dask.config.set(scheduler=scheduler):
        t = quiet(idx.transform, ddf)
        s = quiet(idx.segment, ddf)
        assert isinstance(t, dd.DataFrame) and isinstance(s, dd.DataFrame)
        t, s = quiet(t.compute), quiet(s.compute)
    # the index and segments are exact (integer arithmetic); the score is a BLAS product,
    # equal to rounding (blocks of another length)
    ref_t, ref_s = quiet(idx.transform, hs), quiet(idx.segment, hs)
    np.testing.assert_allclose(t["score"], ref_t["score"], rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(t.drop(columns="score"), ref_t.drop(columns="score"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(s.drop(columns="score"), ref_s.drop(columns="score"),
                                  check_exact=True)
    assert s["segment"].notna().sum() > 100


def test_index_transform_out_of_range_raises_from_a_partition():
    hs = _data()
    idx = quiet(_index(segments=None).fit, hs)
    bad = hs.assign(x1=hs["x1"].where(hs.index != 200, 99.0))
    with dask.config.set(scheduler="synchronous"), pytest.raises(OutOfRangeError):
        quiet(idx.transform, dd.from_pandas(bad, npartitions=3)).compute()


@pytest.mark.parametrize("kw", [{}, {"weights": "w"}])
def test_index_fit_on_dask_equals_pandas(kw):
    hs = _data()
    ddf = dd.from_pandas(hs, npartitions=4)
    with dask.config.set(scheduler="synchronous"):
        b = quiet(_index(segments=None).fit, ddf, **kw)
        tb = quiet(quiet(b.transform, ddf).compute)
    a = quiet(_index(segments=None).fit, hs, **kw)
    np.testing.assert_allclose(b.weights_, a.weights_, rtol=1e-8)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-12)
    assert b.n_calibration_ == a.n_calibration_
    assert b.score_sd_ == pytest.approx(a.score_sd_, rel=1e-10)
    assert b.score_min_ == pytest.approx(a.score_min_, rel=1e-8)
    for k, v in a.fit_measures_.items():
        assert b.fit_measures_[k] == pytest.approx(v, rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(tb.to_numpy(float), quiet(a.transform, hs).to_numpy(float),
                               rtol=1e-8, atol=1e-8)


def test_index_fit_on_dask_refuses_ordinal_and_value_weights():
    hs = _data()
    ddf = dd.from_pandas(hs, npartitions=2)
    with pytest.raises(ArgumentError, match="ordinal"):
        _index(segments=None, estimator="WLSMV").fit(ddf)
    with pytest.raises(ArgumentError, match="must name a column"):
        _index(segments=None).fit(ddf, weights=hs["w"].to_numpy())
    with dask.config.set(scheduler="synchronous"), pytest.raises(OutOfRangeError):
        quiet(_index(segments=None).fit, dd.from_pandas(hs.assign(x3=hs["x3"] + 20),
                                                         npartitions=2))
