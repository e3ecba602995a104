"""reliability(), htmt() and ConnectionIndex on a Dask DataFrame (issue 18): equal to the
pandas path (alpha, Feldt, omega/CR/AVE, HTMT to 1e-10; transform/segment exactly, the
calibration fit to 1e-8), unweighted and weighted; the bootstrap and ordinal items refused."""

from __future__ import annotations

import dataclasses
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


# ------------------------------------------------------- a Survey read from a directory (Dask)
def _survey_frames(seed=18, parts=3, n=120):
    """Answers to three constructs of the default instrument (a factor each, correlated),
    with missing codes, a reverse-keyed item (recoded by read_survey) and a weight column."""
    from connection import instruments

    inst = instruments.default().subset(["satisfaction", "features", "quality"])
    rng = np.random.default_rng(seed)
    frames = []
    for part in range(parts):
        f = pd.DataFrame({"rid": [f"r{part}_{i}" for i in range(n)],
                          "w": rng.uniform(0.3, 3.0, n)})
        common = rng.normal(size=n)
        for items in inst.as_dict().values():
            factor = 0.5 * common + rng.normal(size=n)
            for item in items:
                sc = inst.items[item].scale
                raw = (sc.min + sc.max) / 2 + 1.2 * factor + rng.normal(size=n)
                f[item] = np.clip(np.round(raw), sc.min, sc.max)
        f.loc[rng.choice(n, 6, replace=False), "feat_easy"] = -99  # the missing code
        frames.append(f)
    return inst, frames


def _weighted(inst):
    from connection.data import Variable

    return dataclasses.replace(inst, variables=[Variable("w", role="weight")], weights="w")


def _surveys(tmp_path, weighted):
    import connection as cx

    inst, frames = _survey_frames()
    if weighted:
        inst = _weighted(inst)
    for part, f in enumerate(frames):
        f.to_parquet(tmp_path / f"part{part}.parquet")
    with dask.config.set(scheduler="threads"):
        lazy = quiet(cx.read_survey, tmp_path, inst, id_column="rid")
    whole = quiet(cx.read_survey, pd.concat(frames, ignore_index=True), inst, id_column="rid")
    assert isinstance(lazy.data, dd.DataFrame) and isinstance(whole.data, pd.DataFrame)
    return lazy, whole


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kw", [{}, {"joint": True}, {"constructs": ["quality", "features"]},
                                {"weights": None}])
def test_reliability_of_a_dask_survey_equals_pandas(tmp_path, weighted, kw, scheduler):
    lazy, whole = _surveys(tmp_path, weighted)
    with dask.config.set(scheduler=scheduler):
        b = quiet(reliability, lazy, **kw)
    a = quiet(reliability, whole, **kw)
    _same_table(a, b)
    assert len(b) == (2 if "constructs" in kw else 3)
    assert (b["alpha"] > 0.5).all() and np.isfinite(b["omega"]).all()
    assert b["n"].tolist() == a["n"].tolist() and b.loc[b.construct == "features", "n"].iloc[0] < 360
    assert a.attrs["weights"] == b.attrs["weights"]
    if weighted and "weights" not in kw:
        assert b.attrs["weights"] == "the survey's weights (w)"
        assert b.attrs["n_eff"]["quality"] < 360  # Kish: unequal weights
    for k, v in a.attrs["n_eff"].items():
        assert b.attrs["n_eff"][k] == pytest.approx(v, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kw", [{}, {"method": "htmt2"}, {"absolute": False}])
def test_htmt_of_a_dask_survey_equals_pandas(tmp_path, weighted, kw):
    lazy, whole = _surveys(tmp_path, weighted)
    with dask.config.set(scheduler="synchronous"):
        b = quiet(htmt, lazy, **kw)
    a = quiet(htmt, whole, **kw)
    _same_table(a, b)
    assert len(b) == 3 and (b["htmt"] > 0).all() and (b["htmt"] < 1).all()
    assert a.attrs["weights"] == b.attrs["weights"]
    assert b.attrs["n_eff"] == pytest.approx(a.attrs["n_eff"], rel=1e-12)


def test_a_dask_survey_refuses_what_the_frame_refuses(tmp_path):
    lazy, _ = _surveys(tmp_path, True)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ArgumentError, match="n_boot= is not available on a Dask"):
            reliability(lazy, n_boot=50, seed=1)
        with pytest.raises(ArgumentError, match="ordered="):
            htmt(lazy, ordered=True)
        with pytest.raises(ArgumentError, match="already reverse-coded"):
            reliability(lazy, recoded=False)
        with pytest.raises(ArgumentError, match="weights="):
            htmt(lazy, weights=np.ones(360))
