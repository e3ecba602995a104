"""General dominance (Shapley / LMG) from the covariance matrix: against pingouin, known truth
(orthogonal drivers), the refitting implementation it replaces, and weighted least squares."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm

import connection as cx
from connection.errors import ArgumentError
from connection.outcomes._drivers import _design, _dominance_refits, _standardize
from connection.outcomes._importance import (
    general_dominance,
    ols_importance,
    subset_r2,
)


def correlated(n: int, p: int, seed: int, controls: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = np.eye(p) + 0.4 * rng.normal(size=(p, p))
    X = rng.normal(size=(n, p)) @ mix
    y = X @ rng.uniform(-0.3, 0.6, size=p) + rng.normal(size=n) * 2
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    for k in range(controls):
        df[f"c{k}"] = 0.3 * X[:, k] + rng.normal(size=n)
        y = y + 0.2 * df[f"c{k}"].to_numpy()
    df["y"] = y
    return df


@pytest.mark.parametrize("p,seed", [(3, 1), (6, 2), (9, 3)])
def test_shares_equal_pingouin_lmg_and_add_up_to_r2(p, seed):
    df = correlated(800, p, seed)
    names = [f"x{j}" for j in range(p)]
    res = cx.drivers(df, "y", drivers=names, n_boot=0, contrasts=[])
    lm = pg.linear_regression(df[names], df["y"], relimp=True)
    t = res.table.set_index("term").loc[names]
    ref = lm.set_index("names").loc[names]
    np.testing.assert_allclose(t["general_dominance"], ref["relimp"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(100 * t["dominance_share"], ref["relimp_perc"], rtol=0, atol=1e-8)
    assert t["general_dominance"].sum() == pytest.approx(lm["r2"].iloc[0], abs=1e-12)
    assert t["dominance_share"].sum() == pytest.approx(1.0, abs=1e-12)


def test_orthogonal_drivers_each_share_is_the_squared_standardized_beta():
    rng = np.random.default_rng(7)
    n, p = 500, 5
    X = rng.normal(size=(n, p))
    X -= X.mean(axis=0)
    X, _ = np.linalg.qr(X)             # exactly orthogonal, centred columns
    X *= np.sqrt(n - 1)
    y = X @ np.array([0.5, 0.3, 0.2, 0.1, 0.0]) + rng.normal(size=n)
    names = [f"x{j}" for j in range(p)]
    df = pd.DataFrame(X, columns=names).assign(y=y)
    res = cx.drivers(df, "y", drivers=names, n_boot=0, contrasts=[])
    t = res.table.set_index("term").loc[names]
    np.testing.assert_allclose(t["general_dominance"], t["beta"] ** 2, rtol=0, atol=1e-12)
    # and each equals its squared correlation with y
    r = np.corrcoef(np.column_stack([y, X]), rowvar=False)[0, 1:]
    np.testing.assert_allclose(t["general_dominance"], r**2, rtol=0, atol=1e-12)


def _old_and_new(df, outcome, drivers_, controls):
    design, _ = _design(df, outcome, drivers_, controls, None, "ols")
    Xs, ys, _, _ = _standardize(design, "ols")
    old = _dominance_refits("ols", Xs, ys, design.n_drivers, 0.0)
    new = ols_importance(np.cov(np.column_stack([ys, Xs]), rowvar=False), design.n_drivers)
    return old, new


@pytest.mark.parametrize("controls", [[], ["c0"], ["c0", "region"]])
def test_equal_to_the_refitting_implementation(controls):
    df = correlated(600, 5, 11, controls=1)
    df["region"] = np.random.default_rng(3).choice(["north", "south", "west"], size=len(df))
    old, new = _old_and_new(df, "y", [f"x{j}" for j in range(5)], controls)
    for key in ("r2", "r2_controls"):
        assert new[key] == pytest.approx(old[key], abs=1e-12)
    np.testing.assert_allclose(new["delta"], old["delta"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(new["gd"], old["gd"], rtol=0, atol=1e-12)
    assert new["gd"].sum() == pytest.approx(new["r2"] - new["r2_controls"], abs=1e-12)


def test_every_subset_r2_equals_a_least_squares_fit_with_controls():
    df = correlated(300, 4, 5, controls=2)
    cols = ["y", "x0", "x1", "x2", "x3", "c0", "c1"]
    cov = np.cov(df[cols].to_numpy(), rowvar=False)
    r2 = subset_r2(cov, 4)
    for mask in range(16):
        use = [f"x{j}" for j in range(4) if mask >> j & 1] + ["c0", "c1"]
        ref = sm.OLS(df["y"], sm.add_constant(df[use])).fit().rsquared
        assert r2[mask] == pytest.approx(ref, abs=1e-12), mask


def test_a_weighted_covariance_gives_weighted_least_squares_r2():
    df = correlated(400, 3, 8)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(df))
    cov = np.cov(df[["y", "x0", "x1", "x2"]].to_numpy(), rowvar=False, aweights=w)
    r2 = subset_r2(cov, 3)
    for mask in range(1, 8):
        use = [f"x{j}" for j in range(3) if mask >> j & 1]
        ref = sm.WLS(df["y"], sm.add_constant(df[use]), weights=w).fit().rsquared
        assert r2[mask] == pytest.approx(ref, abs=1e-12)


def test_general_dominance_is_the_mean_of_mean_increments_by_hand():
    rng = np.random.default_rng(0)
    p = 4
    r2 = np.sort(rng.uniform(size=2**p))  # any set function will do for the averaging
    r2[0] = 0.0
    gd = general_dominance(r2, p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        per_size = []
        for size in range(p):
            incs = []
            for sub in itertools.combinations(others, size):
                mask = sum(1 << k for k in sub)
                incs.append(r2[mask | 1 << j] - r2[mask])
            per_size.append(np.mean(incs))
        assert gd[j] == pytest.approx(np.mean(per_size), abs=1e-14)


def test_twenty_drivers_are_exact_on_a_random_subset_of_models():
    df = correlated(2000, 20, 21)
    names = [f"x{j}" for j in range(20)]
    cov = np.cov(df[["y", *names]].to_numpy(), rowvar=False)
    r2 = subset_r2(cov, 20)
    assert r2.size == 2**20
    for mask in np.random.default_rng(2).integers(1, 2**20, size=25):
        use = [names[j] for j in range(20) if mask >> j & 1]
        ref = sm.OLS(df["y"], sm.add_constant(df[use])).fit().rsquared
        assert r2[mask] == pytest.approx(ref, abs=1e-11)
    assert general_dominance(r2, 20).sum() == pytest.approx(r2[-1], abs=1e-12)


@pytest.mark.parametrize("family", ["ols", "logit"])
def test_importance_none_switches_dominance_off_and_keeps_delta_r2(family):
    df = correlated(600, 3, 4)
    df["top"] = (df["y"] > df["y"].median()).astype(int)
    outcome = "y" if family == "ols" else "top"
    names = ["x0", "x1", "x2"]
    on = cx.drivers(df, outcome, drivers=names, family=family, n_boot=0)
    off = cx.drivers(df, outcome, drivers=names, family=family, n_boot=0, importance=None)
    assert off.table["general_dominance"].isna().all()
    assert off.table["dominance_share"].isna().all()
    np.testing.assert_allclose(off.table["delta_r2"], on.table["delta_r2"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(off.table["r2"], on.table["r2"], rtol=0, atol=1e-10)
    assert off.settings["importance"] is None
    with pytest.raises(ArgumentError, match="importance"):
        cx.drivers(df, outcome, drivers=names, n_boot=0, importance="shapley")


def test_logit_importance_none_fits_only_the_needed_submodels(monkeypatch):
    from connection.outcomes import _importance as imp

    df = correlated(400, 5, 6)
    df["top"] = (df["y"] > df["y"].median()).astype(int)
    calls = []
    real = imp._fit_subsets
    monkeypatch.setattr(imp, "_fit_subsets",
                        lambda lik, p, w, subsets, start: calls.extend(np.atleast_1d(subsets))
                        or real(lik, p, w, subsets, start))
    cx.drivers(df, "top", drivers=[f"x{j}" for j in range(5)], family="logit", n_boot=0,
               importance=None)
    full = 2**5 - 1
    assert sorted(calls) == sorted([0, full, *(full & ~(1 << j) for j in range(5))])
    calls.clear()
    cx.drivers(df, "top", drivers=[f"x{j}" for j in range(5)], family="logit", n_boot=0)
    assert sorted(calls) == list(range(2**5))   # every subset once
