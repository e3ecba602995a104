"""Bootstrap intervals of the general dominance weights and their shares in drivers()."""

import numpy as np
import pandas as pd

from connection.outcomes._drivers import drivers

NAMES = ["a", "b", "c"]
BETA = np.array([0.5, 0.3, 0.2])


def _orthogonal(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    df = pd.DataFrame(X, columns=NAMES)
    df["y"] = X @ BETA + rng.normal(size=n)
    df["top"] = (df["y"] > 0).astype(int)
    return df


def _dom(df, **kw):
    kw.setdefault("n_boot", 300)
    return drivers(df, "y", NAMES, seed=kw.pop("seed", 1), progress=False, contrasts=[],
                   **kw).table.set_index("term")


def test_intervals_contain_the_estimates_and_are_reproducible():
    df = _orthogonal(400, 1)
    t = _dom(df)
    assert (t["dominance_ci_lower"] < t["general_dominance"]).all()
    assert (t["general_dominance"] < t["dominance_ci_upper"]).all()
    assert (t["share_ci_lower"] < t["dominance_share"]).all()
    assert (t["dominance_share"] < t["share_ci_upper"]).all()
    assert abs(t["dominance_share"].sum() - 1) < 1e-12
    pd.testing.assert_frame_equal(t, _dom(df))
    assert not t.equals(_dom(df, seed=2))


def test_intervals_shrink_with_n():
    small, large = _dom(_orthogonal(200, 3)), _dom(_orthogonal(3200, 3))
    w_small = small["share_ci_upper"] - small["share_ci_lower"]
    w_large = large["share_ci_upper"] - large["share_ci_lower"]
    assert (w_large < 0.5 * w_small).all()     # about 1/4 (sqrt(200/3200))


def test_switched_off_without_bootstrap_or_dominance_and_forced_for_logit():
    df = _orthogonal(300, 4)
    for t in (_dom(df, n_boot=0), _dom(df, importance=None),
              _dom(df, importance_intervals=False)):
        assert t[["dominance_ci_lower", "share_ci_upper"]].isna().all().all()
    logit = drivers(df, "top", NAMES, family="logit", n_boot=40, seed=3, progress=False,
                    contrasts=[]).table
    assert logit["share_ci_lower"].isna().all()        # default: not for logit (2**p refits)
    logit = drivers(df, "top", NAMES, family="logit", n_boot=40, seed=3, progress=False,
                    contrasts=[], importance_intervals=True).table
    assert (logit["share_ci_lower"] < logit["dominance_share"]).all()
    assert (logit["dominance_share"] < logit["share_ci_upper"]).all()


def test_weighted_intervals_carry_the_weights():
    df = _orthogonal(400, 6)
    df["w"] = np.random.default_rng(0).uniform(0.3, 3.0, size=len(df))
    plain, weighted = _dom(df), _dom(df, weights="w")
    assert not np.allclose(plain["share_ci_lower"], weighted["share_ci_lower"])
    assert (weighted["share_ci_lower"] < weighted["dominance_share"]).all()


def test_share_intervals_cover_the_known_share():
    # orthogonal drivers: the population share of driver j is beta_j^2 / sum(beta^2)
    truth = BETA**2 / (BETA**2).sum()
    hits = []
    for rep in range(60):
        t = _dom(_orthogonal(300, 100 + rep), n_boot=200, seed=rep)
        hits.append(((t["share_ci_lower"] <= truth) & (truth <= t["share_ci_upper"])).to_numpy())
    coverage = np.mean(hits, axis=0)
    assert (coverage >= 0.85).all(), coverage
