"""The engine's one-pass sample moments (block-wise syrk + gemv) against plain numpy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection.latent as cs
from connection.errors import ExclusionWarning
from connection.latent.samplestats import crossprod as _crossprod
from connection.latent.samplestats import sum_and_crossprod as _sum_and_crossprod

MODEL = "f1 =~ a + b + c\nf2 =~ d + e + g"


def _data(n, seed=3):
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.4], [0.0, 0.9]])
    lam = np.array([[1, 0], [0.8, 0], [0.7, 0], [0, 1], [0, 0.9], [0, 0.6]])
    x = eta @ lam.T + rng.normal(scale=0.7, size=(n, 6)) + np.arange(1, 7)
    return x


@pytest.mark.parametrize("layout", ["F", "C", "strided"])
def test_sum_and_crossprod_match_numpy(layout):
    x = _data(20_000)
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        x = np.asfortranarray(np.repeat(x, 2, axis=0))[::2]
    s, c = _sum_and_crossprod(x, chunk=4096)
    ref = x.T @ x
    np.testing.assert_allclose(s, x.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(c, ref, rtol=1e-12)
    assert np.array_equal(c, c.T)
    np.testing.assert_allclose(_crossprod(x), ref, rtol=1e-12)
    # a single block: the plain sums, and the cross-product left to the caller
    s1, c1 = _sum_and_crossprod(x[:100], chunk=4096)
    assert c1 is None and np.allclose(s1, x[:100].sum(axis=0))


def test_large_data_fit_matches_covariance_fit_and_listwise_drop():
    x = _data(20_000)
    cols = ["a", "b", "c", "d", "e", "g"]
    frame = pd.DataFrame(x, columns=cols)
    fit = cs.cfa(MODEL, frame)
    cov = pd.DataFrame(np.cov(x, rowvar=False), index=cols, columns=cols)
    ref = cs.cfa(MODEL, sample_stats={"cov": cov, "mean": x.mean(axis=0), "n": len(x)})
    np.testing.assert_allclose(fit.estimates["est"], ref.estimates["est"], atol=1e-10)
    np.testing.assert_allclose(fit.fit_measures["chisq"], ref.fit_measures["chisq"], rtol=1e-9)
    # a C-ordered frame (one block per column) gives the same numbers
    frame_c = pd.DataFrame({c: x[:, j].copy() for j, c in enumerate(cols)})
    np.testing.assert_allclose(cs.cfa(MODEL, frame_c).estimates["est"], fit.estimates["est"],
                               atol=1e-12)
    # a missing value found by the one-pass sums: that row is dropped (listwise)
    holed = frame.copy()
    holed.iloc[12_345, 2] = np.nan
    with pytest.warns(ExclusionWarning, match="1 of 20000 rows"):
        fit_h = cs.cfa(MODEL, holed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref_h = cs.cfa(MODEL, frame.drop(index=12_345))
    np.testing.assert_allclose(fit_h.estimates["est"], ref_h.estimates["est"], atol=1e-12)
    assert fit_h.ntotal == 19_999


def test_blas_thread_limit_is_lifted_after_a_fit():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from connection.latent.blas import BlasLimit as _BlasLimit
    from connection.latent.blas import small_blas as _small_blas

    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()]
    rng = np.random.default_rng(4)
    cols = [f"y{i}" for i in range(24)]
    eta = rng.normal(size=(400, 4))
    x = np.repeat(eta, 6, axis=1) * 0.8 + rng.normal(size=(400, 24))
    model = "\n".join(f"f{k} =~ " + " + ".join(cols[6 * k:6 * k + 6]) for k in range(4))
    struct = cs.parse_model(model)
    fit = cs.cfa(model, pd.DataFrame(x, columns=cols), estimator="MLR")
    assert fit.converged
    # this model is in the range where the optimiser runs on one BLAS thread ...
    from connection.latent.model import ModelStructure

    assert isinstance(_small_blas(ModelStructure(struct)), _BlasLimit)
    # ... and the original thread counts are back afterwards
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()] == before
