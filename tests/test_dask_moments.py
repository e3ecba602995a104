"""Partition-wise sample moments (issue 18): a Dask frame gives the pandas numbers."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from connection.errors import DataError, MissingColumnError, NonNumericError
from connection.latent.robust import h1_information
from connection.latent.samplestats import stats_from_rows
from connection.stats._dask import first_order_information, is_dask_frame, sample_moments

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

ITEMS = list("abcde")


def _frame(n=4000, seed=1, shift=0.0, missing=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) @ (np.eye(5) + 0.3) + shift
    x = x ** 2 / 3 + x  # skewed: a fourth-moment matrix unlike the normal one
    df = pd.DataFrame(x, columns=ITEMS)
    if missing:
        df.iloc[rng.choice(n, 300, replace=False), 1] = np.nan
        df.iloc[rng.choice(n, 200, replace=False), 3] = np.nan
        df.iloc[rng.choice(n, 20, replace=False), 0] = np.nan
    df["g"] = rng.choice(["x", "y", "z"], n)
    df["w"] = rng.uniform(0.2, 3.0, n)
    return df


@pytest.fixture(autouse=True)
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


def _close(a, b, tol=1e-8):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= tol * max(1.0, np.max(np.abs(b)))


def test_dask_equals_pandas_per_group():
    df = _frame()
    ddf = dd.from_pandas(df, npartitions=7)
    r_dask = sample_moments(ddf, items=ITEMS, group="g")
    r_pd = sample_moments(df, items=ITEMS, group="g")
    for g in "xyz":
        complete = df.loc[df["g"] == g, ITEMS].dropna()
        assert r_dask.n[g] == r_pd.n[g] == len(complete)
        _close(r_dask.mean[g], complete.mean())
        _close(r_dask.sums[g], complete.sum())
        _close(r_dask.cov_unbiased[g], complete.cov())  # pandas: divisor n - 1
        _close(r_dask.cov[g], complete.cov(ddof=0))  # ML: divisor n
        _close(r_dask.cov[g], r_pd.cov[g], 1e-12)
    assert set(r_dask.mean) == {"x", "y", "z"}


def test_weighted_moments_match_numpy():
    df = _frame(seed=2)
    r = sample_moments(dd.from_pandas(df, npartitions=5), items=ITEMS, group="g", weights="w")
    for g in "xyz":
        sub = df[df["g"] == g].dropna(subset=ITEMS)
        x, w = sub[ITEMS].to_numpy(), sub["w"].to_numpy()
        _close(r.weight_total[g], w.sum())
        _close(r.mean[g], np.average(x, axis=0, weights=w))
        _close(r.sums[g], w @ x)
        _close(r.cov[g], np.cov(x.T, aweights=w, ddof=0))
        _close(r.cov_unbiased[g], np.cov(x.T, aweights=w, ddof=0) * len(x) / (len(x) - 1))


def test_every_left_out_row_is_reported():
    df = _frame(seed=3)
    df.loc[df.index[:7], "g"] = None
    r = sample_moments(dd.from_pandas(df, npartitions=6), items=ITEMS, group="g")
    kept = df[df["g"].notna()]
    assert r.excluded["group missing"] == 7
    assert r.excluded["listwise"] == int(kept[ITEMS].isna().any(axis=1).sum())
    expected = kept.groupby("g")[ITEMS].agg(lambda s: int(s.isna().sum()))
    pd.testing.assert_frame_equal(r.missing_by_column.sort_index(), expected.astype(np.int64),
                                  check_names=False)
    counts = (kept[ITEMS].notna().astype(int).astype(str).agg("".join, axis=1)
              .groupby(kept["g"]).value_counts())
    got = r.patterns.set_index(["group", "pattern"])["n"]
    assert dict(got) == {k: int(v) for k, v in counts.items()}
    assert sum(r.rows.values()) + 7 == len(df)


def test_pattern_stats_are_the_fiml_summary():
    df = _frame(seed=4)
    r = sample_moments(dd.from_pandas(df, npartitions=4), items=ITEMS)
    mask = df[ITEMS].notna()
    stats = r.pattern_stats()
    assert sum(s["n"] for s in stats) == len(df)
    for s in stats:
        rows = (mask == [c in s["items"] for c in ITEMS]).all(axis=1)
        x = df.loc[rows, s["items"]].to_numpy()
        assert s["n"] == len(x)
        _close(s["sums"], x.sum(axis=0))
        _close(s["crossproducts"], x.T @ x)


def test_stable_when_the_mean_dwarfs_the_spread():
    # naive sum-of-squares (X'X/n - m m') loses every digit here; Chan's merge does not
    df = _frame(seed=5, shift=1e8, missing=False)
    r = sample_moments(dd.from_pandas(df, npartitions=9), items=ITEMS)
    x = df[ITEMS].to_numpy()
    centred = x - x.mean(axis=0)
    _close(r.cov[None], centred.T @ centred / len(x))
    naive = x.T @ x / len(x) - np.outer(x.mean(axis=0), x.mean(axis=0))
    assert np.max(np.abs(naive - r.cov[None])) > 1e-3  # the property could fail


def _gamma_direct(x):
    y = x - x.mean(axis=0)
    r, c = np.tril_indices(x.shape[1])
    d = np.concatenate([y, y[:, r] * y[:, c]], axis=1)
    d = d - d.mean(axis=0)
    return d.T @ d / len(x)


def test_gamma_equals_in_memory_nacov_and_the_engine_mlr_meat():
    df = _frame(seed=6)
    r = sample_moments(dd.from_pandas(df, npartitions=5), items=ITEMS, group="g", gamma=True)
    for g in "xyz":
        x = df.loc[df["g"] == g, ITEMS].dropna().to_numpy()
        _close(r.gamma[g].to_numpy(), _gamma_direct(x), 1e-10)
        assert list(r.gamma[g].columns[:6]) == ITEMS + ["a~~a"]
        st = stats_from_rows(x, keep_data=True)
        for ms in (True, False):
            _, b1 = h1_information(st, ms)  # what the engine's MLR test uses, casewise
            _close(first_order_information(r.gamma[g], r.cov[g], meanstructure=ms), b1, 1e-10)


def test_pandas_path_never_imports_dask():
    code = ("import sys, pandas as pd; from connection.stats._dask import sample_moments, "
            "is_dask_frame; f = pd.DataFrame({'a': [1.0, 2, 4]}); r = sample_moments(f); "
            "assert not is_dask_frame(f); assert r.n[None] == 3; "
            "print(any(m.split('.')[0] == 'dask' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert is_dask_frame(dd.from_pandas(pd.DataFrame({"a": [1.0]}), npartitions=1))


def test_bad_input_is_a_typed_error():
    df = _frame(seed=7, missing=False)
    ddf = dd.from_pandas(df.assign(t="x", w=df["w"].where(df.index != 5, -1.0)), npartitions=3)
    with pytest.raises(MissingColumnError, match="nope"):
        sample_moments(ddf, items=["a", "nope"])
    with pytest.raises(NonNumericError, match="'t'"):
        sample_moments(ddf, items=["a", "t"])
    with pytest.raises(DataError, match="weights column 'w'"):
        sample_moments(ddf, items=ITEMS, weights="w")


def test_summary_and_frame():
    r = sample_moments(_frame(seed=8), items=ITEMS, group="g")
    text = r.summary().as_text()
    assert "Rows left out listwise" in text and "Missing-data patterns" in text
    frame = r.to_frame()
    assert len(frame) == 15 and frame["n_missing"].sum() == r.missing_by_column.to_numpy().sum()


def test_local_cluster_gives_the_same_numbers():
    distributed = pytest.importorskip("distributed")
    df = _frame(seed=9)
    ref = sample_moments(df, items=ITEMS, group="g", gamma=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        r = sample_moments(dd.from_pandas(df, npartitions=6), items=ITEMS, group="g",
                           gamma=True)
    for g in "xyz":
        _close(r.cov[g], ref.cov[g], 1e-12)
        _close(r.gamma[g].to_numpy(), ref.gamma[g].to_numpy(), 1e-10)
