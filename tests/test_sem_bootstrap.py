"""Fit.bootstrap: batched replicate fits equal plain refits, agree with sandwich SEs, seeding."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection.latent as cs
from connection._report import Report
from connection.errors import BootstrapWarning, ModelSpecificationError
from connection.latent import boot as sem_boot
from connection.latent.datasets import holzinger_swineford, political_democracy
from connection.stats._bootstrap import resample_indices

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
PD_MODEL = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ a*ind60
dem65 ~ c*ind60 + b*dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
ab := a*b
total := c + a*b
"""


@pytest.fixture(scope="module")
def hs():
    return holzinger_swineford()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _replicate_rows(seed, n, r, chunk_size, n_chunks, strata=None):
    """Row positions of replicate r, regenerated as the shared engine draws them."""
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    c, k = divmod(r, chunk_size)
    rng = np.random.default_rng(children[c])
    size = chunk_size  # every chunk here is full
    return resample_indices(rng, n, size, strata)[k]


def test_replicates_equal_plain_cfa_refits(hs):
    fit = cs.cfa(HS_MODEL, hs)
    b = fit.bootstrap(n_boot=40, seed=11, progress=False, chunk_size=20)
    assert b.n_failed == 0 and list(b.replicates.index) == list(range(40))
    for r in (0, 7, 25, 39):
        rows = _replicate_rows(11, len(hs), r, 20, 2)
        ref = _quiet(cs.cfa, HS_MODEL, hs.iloc[rows]).estimates
        np.testing.assert_allclose(b.replicates.loc[r].to_numpy(), ref["est"].to_numpy(),
                                   atol=1e-8, rtol=0)
        np.testing.assert_allclose(b.std_all_replicates.loc[r].to_numpy(),
                                   ref["std_all"].to_numpy(), atol=1e-8, rtol=0)


def test_multigroup_replicates_resample_within_groups(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings"])
    b = fit.bootstrap(n_boot=10, seed=4, progress=False, chunk_size=10)
    assert b.n_failed == 0
    sizes = fit.nobs
    strata = np.repeat(np.arange(2), sizes)
    for r in (0, 9):
        pos = _replicate_rows(4, sum(sizes), r, 10, 1, strata)
        frame = hs.loc[fit.rows_used[pos]]
        assert (frame["school"].value_counts()[fit.group_labels].to_numpy() == sizes).all()
        ref = _quiet(cs.cfa, HS_MODEL, frame, group="school", group_equal=["loadings"])
        assert ref.group_labels == fit.group_labels
        np.testing.assert_allclose(b.replicates.loc[r].to_numpy(),
                                   ref.estimates["est"].to_numpy(), atol=1e-8, rtol=0)


def test_sem_with_regressions_and_defined_parameters():
    pd_data = political_democracy()
    fit = cs.sem(PD_MODEL, pd_data)
    b = _quiet(fit.bootstrap, n_boot=20, seed=2, progress=False, chunk_size=20)
    ok = list(b.replicates.index)
    assert b.n_failed + len(ok) == 20
    est = fit.estimates
    for r in ok[:3]:
        rows = _replicate_rows(2, len(pd_data), r, 20, 1)
        ref = _quiet(cs.sem, PD_MODEL, pd_data.iloc[rows])
        if not ref.converged:
            continue
        np.testing.assert_allclose(b.replicates.loc[r].to_numpy(), ref.estimates["est"].to_numpy(),
                                   atol=1e-7, rtol=1e-8)
    rep = b.replicates
    a, bb, c = (rep[f"{lhs} ~ {rhs}"] for lhs, rhs in
                (("dem60", "ind60"), ("dem65", "dem60"), ("dem65", "ind60")))
    np.testing.assert_allclose(rep["ab := a*b"], a * bb, rtol=1e-12)
    np.testing.assert_allclose(rep["total := c+a*b"], c + a * bb, rtol=1e-12)
    assert list(b.estimates[["lhs", "op", "rhs"]].itertuples(index=False)) == list(
        est[["lhs", "op", "rhs"]].itertuples(index=False))


def test_bootstrap_se_agree_with_sandwich_on_holzinger_swineford(hs):
    """Bootstrap and Huber-White (MLR) SEs estimate the same sampling SD; with 600
    replicates the Monte Carlo error of a bootstrap SD is ~3% and of an IQR-based scale ~5%."""
    boot = cs.cfa(HS_MODEL, hs).bootstrap(n_boot=600, seed=20261122, progress=False)
    mlr = cs.cfa(HS_MODEL, hs, estimator="MLR").estimates
    assert boot.n_failed == 0
    free = (mlr["se"] > 0).to_numpy()
    ratio = boot.estimates["se"].to_numpy()[free] / mlr["se"].to_numpy()[free]
    q1, q3 = np.quantile(boot.replicates.to_numpy(), [0.25, 0.75], axis=0)
    robust = ((q3 - q1) / 1.349)[free] / mlr["se"].to_numpy()[free]
    names = (mlr["lhs"] + mlr["op"] + mlr["rhs"]).to_numpy()[free]
    assert 0.95 < np.median(ratio) < 1.12
    assert np.all((robust > 0.8) & (robust < 1.25)), dict(zip(names, robust.round(3)))
    # the SD is outlier-sensitive: HS has near-Heywood replicates (x1's residual variance, x9's
    # loading), which give long tails there (n_inadmissible counts them); elsewhere it agrees
    close = (ratio > 0.85) & (ratio < 1.3)
    assert close.mean() >= 0.8, dict(zip(names, ratio.round(3)))
    assert boot.n_inadmissible > 0
    # percentile intervals cover the estimate, fixed parameters have zero spread
    est = boot.estimates
    assert np.all(est["ci_lower"] <= est["est"] + 1e-12) and np.all(est["est"] <= est["ci_upper"]
                                                                     + 1e-12)
    fixed = ~free
    assert np.all(est["se"].to_numpy()[fixed] == 0)


def test_same_seed_identical_and_n_jobs_invariant(hs):
    fit = cs.cfa(HS_MODEL, hs)
    a = fit.bootstrap(n_boot=60, seed=5, progress=False, chunk_size=30)
    b = fit.bootstrap(n_boot=60, seed=5, progress=False, chunk_size=30)
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    c = fit.bootstrap(n_boot=60, seed=5, progress=False, chunk_size=30, n_jobs=2)
    pd.testing.assert_frame_equal(a.replicates, c.replicates)
    d = fit.bootstrap(n_boot=60, seed=6, progress=False, chunk_size=30)
    assert not np.allclose(a.replicates.to_numpy(), d.replicates.to_numpy())


def test_estimates_table_columns_and_ci_levels(hs):
    fit = cs.cfa(HS_MODEL, hs)
    b = fit.bootstrap(n_boot=100, seed=1, progress=False, level=0.9)
    assert list(b.estimates.columns) == ["lhs", "op", "rhs", "group", "label", "est", "se",
                                         "ci_lower", "ci_upper", "std_all", "std_all_se",
                                         "std_all_ci_lower", "std_all_ci_upper"]
    np.testing.assert_allclose(b.estimates["est"], fit.estimates["est"])
    wide = b.ci(0.99)
    assert np.all(wide["ci_lower"].to_numpy() <= b.estimates["ci_lower"].to_numpy() + 1e-12)
    assert np.all(wide["ci_upper"].to_numpy() >= b.estimates["ci_upper"].to_numpy() - 1e-12)
    q = np.quantile(b.replicates.to_numpy(), [0.05, 0.95], axis=0)
    np.testing.assert_allclose(b.estimates[["ci_lower", "ci_upper"]].to_numpy(), q.T)
    report = b.summary()
    assert isinstance(report, Report)
    header = dict(report.header)
    assert header["Replicates"] == 100 and header["Failed"] == "0" and header["Seed"] == 1
    assert header["Interval"] == "percentile, 90%"
    assert "Replicates:        100" in str(report)
    assert b._repr_html_() == report.as_html() and "<table" in b._repr_html_()
    pd.testing.assert_frame_equal(b.to_frame(), b.estimates)


def test_bootstrap_defaults_and_seeds_follow_the_vocabulary(hs):
    """n_boot defaults to DEFAULT_N_BOOT, level to DEFAULT_LEVEL; the seed may be an int, a
    SeedSequence or a Generator (consumed: the same state gives the same replicates)."""
    import inspect

    from connection._common import DEFAULT_LEVEL, DEFAULT_N_BOOT
    from connection.errors import ArgumentError

    params = inspect.signature(cs.Fit.bootstrap).parameters
    assert params["n_boot"].default == DEFAULT_N_BOOT == 2000
    assert params["level"].default == DEFAULT_LEVEL
    assert inspect.signature(sem_boot.bootstrap_fit).parameters["n_boot"].default == 2000
    fit = cs.cfa(HS_MODEL, hs)
    by_int = fit.bootstrap(n_boot=20, seed=5, progress=False, chunk_size=10)
    by_seq = fit.bootstrap(n_boot=20, seed=np.random.SeedSequence(5), progress=False, chunk_size=10)
    np.testing.assert_array_equal(by_int.replicates.to_numpy(), by_seq.replicates.to_numpy())
    gen_a, gen_b = np.random.default_rng(3), np.random.default_rng(3)
    a = fit.bootstrap(n_boot=20, seed=gen_a, progress=False, chunk_size=10)
    b = fit.bootstrap(n_boot=20, seed=gen_b, progress=False, chunk_size=10)
    np.testing.assert_array_equal(a.replicates.to_numpy(), b.replicates.to_numpy())
    assert isinstance(a.seed, np.random.SeedSequence)
    c = fit.bootstrap(n_boot=20, seed=gen_a, progress=False, chunk_size=10)  # the generator moved on
    assert not np.allclose(a.replicates.to_numpy(), c.replicates.to_numpy())
    for bad in (dict(level=1.5), dict(level=0), dict(n_boot=0), dict(n_boot=2.5),
                dict(seed="one"), dict(seed=-1)):
        with pytest.raises(ArgumentError):
            fit.bootstrap(**{"n_boot": 10, "progress": False, **bad})


def test_failed_replicates_counted_reported_and_excluded(hs, monkeypatch):
    fit = cs.cfa(HS_MODEL, hs)
    real_fit = sem_boot.BatchedML.fit

    def every_third_fails(self, stats, weights, theta0, **kw):
        theta, status = real_fit(self, stats, weights, theta0, **kw)
        status[::3] = sem_boot._NOT_CONVERGED
        return theta, status

    monkeypatch.setattr(sem_boot.BatchedML, "fit", every_third_fails)
    real_newton = sem_boot._BatchedStatistic._newton

    def newton_fails_on_marked(self, stats, r, theta):
        if r % 3 == 0:
            return theta, sem_boot._NOT_CONVERGED
        return real_newton(self, stats, r, theta)

    monkeypatch.setattr(sem_boot._BatchedStatistic, "_newton", newton_fails_on_marked)
    with pytest.warns(BootstrapWarning, match="not converged") as caught:
        b = fit.bootstrap(n_boot=100, seed=3, progress=False)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    # chunks of 250 hold the original-data call (1 row) and 100 replicates: 34 fail
    assert b.n_failed == 34
    assert b.failures == {"not converged": b.n_failed}
    assert len(b.replicates) == 100 - b.n_failed
    assert b.replicates.index.max() <= 99 and b.replicates.index.is_unique
    # the SEs come from the successful replicates only
    np.testing.assert_allclose(b.estimates["se"].to_numpy(),
                               b.replicates.std(ddof=1).to_numpy(), atol=1e-12)


def test_fiml_fit_bootstraps_by_refitting(hs):
    data = hs[["x1", "x2", "x3", "x4", "x5", "x6"]].copy()
    data.iloc[::7, 0] = np.nan
    data.iloc[3::11, 4] = np.nan
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"
    fit = cs.cfa(model, data, missing="ml")
    b = fit.bootstrap(n_boot=4, seed=8, progress=False, chunk_size=4)
    assert b.method == "refit per replicate" and b.n_failed == 0
    rows = _replicate_rows(8, len(fit.rows_used), 2, 4, 1)
    ref = _quiet(cs.cfa, model, data.loc[fit.rows_used].iloc[rows], missing="ml")
    np.testing.assert_allclose(b.replicates.loc[2].to_numpy(), ref.estimates["est"].to_numpy(),
                               atol=1e-8)


def test_bootstrap_needs_raw_data(hs):
    cov = hs[["x1", "x2", "x3"]].cov()
    fit = cs.cfa("f =~ x1 + x2 + x3", sample_stats={"cov": cov, "n": len(hs)})
    with pytest.raises(ModelSpecificationError, match="raw data"):
        fit.bootstrap(n_boot=10, seed=1)


def test_fixed_x_covariate_moments_follow_each_replicate(hs):
    """An observed exogenous covariate (fixed.x): its variance and mean are the replicate's own
    sample moments, as in a plain refit."""
    model = "visual =~ x1 + x2 + x3\nvisual ~ x4"
    fit = cs.sem(model, hs)
    assert (fit.parameter_table.frame["exo"] == 1).any()
    b = fit.bootstrap(n_boot=20, seed=9, progress=False, chunk_size=20)
    assert b.n_failed == 0
    for r in (0, 13):
        rows = _replicate_rows(9, len(hs), r, 20, 1)
        ref = _quiet(cs.sem, model, hs.iloc[rows]).estimates
        np.testing.assert_allclose(b.replicates.loc[r].to_numpy(), ref["est"].to_numpy(),
                                   atol=1e-8, rtol=0)
    x4_var = b.replicates["x4 ~~ x4"]
    assert x4_var.std() > 0  # the covariate's variance varies with the resample
