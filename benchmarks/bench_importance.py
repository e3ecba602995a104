#!/usr/bin/env python3
"""Importance speed: general dominance (Shapley / LMG) from the covariance matrix against the
refitting implementation it replaces and against pingouin, in one run.

    python benchmarks/bench_importance.py [--sizes 9 14 20] [--n 2000] [--full]
                                          [--sample 3000] [--no-glm] [--glm-sample 64]

Simulated correlated drivers, n = 2,000 respondents, one core, wall time (``time.perf_counter``):

``new``
    ``connection.outcomes._importance.ols_importance`` on the covariance matrix (R-squared of every
    subset by batched sweeps, then the general dominance weights), and the whole
    ``drivers(..., n_boot=0)`` call that uses it (standardizing, statsmodels fit, HC3 SEs).
``old``
    ``connection.outcomes._drivers._dominance_refits`` (the previous implementation: one
    least-squares refit per subset), with the same numbers (checked to 1e-10).
``pingouin``
    ``pingouin.linear_regression(X, y, relimp=True)`` (LMG: one ``pinvh`` per subset), same
    numbers (checked to 1e-10).

Beyond ``--full-cap`` (default 14) drivers the old and the pingouin paths are timed on
``--sample`` random subsets and scaled to all ``2**p`` ("extrapolated"); ``--full`` times them
completely (hours at 20 drivers). ``relative_weights`` with 2,000 bootstrap replicates is timed too.
Logit and ordinal dominance (9 drivers, n = 2,000): ``likelihood_importance`` (batched,
warm-started Newton fits of all ``2**p`` subsets) and the whole ``drivers()`` call against the
old path (``_dominance_refits``: one statsmodels refit per subset, timed on ``--glm-sample``
random subsets and scaled to ``2**p``, or completely with ``--full``; same subset R-squared to
1e-8) and against ``importance=None``; ``--no-glm`` skips them.
Targets: 20 OLS drivers at n = 2,000 in < 2 s; 9 logit/ordinal drivers in < 10 s.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _clock(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def data(n: int, p: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ (np.eye(p) + 0.3 * rng.normal(size=(p, p)))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["y"] = X @ rng.uniform(0, 0.4, size=p) + rng.normal(size=n) * 2
    return df


def time_new(df, names):
    from connection.outcomes._importance import ols_importance

    cov = np.cov(df[["y", *names]].to_numpy(), rowvar=False)
    t_core, out = _clock(ols_importance, cov, len(names))
    from connection.outcomes._drivers import drivers

    t_call, res = _clock(drivers, df, "y", drivers=names, n_boot=0, contrasts=[])
    gd = res.table.set_index("term").loc[names, "general_dominance"].to_numpy()
    assert np.allclose(gd, out["gd"], atol=1e-12)
    return t_core, t_call, out["gd"]


def time_old(df, names, full, sample, rng):
    from connection.outcomes import _drivers as mod

    design, _ = mod._design(df, "y", names, [], None, "ols")
    Xs, ys, _, _ = mod._standardize(design, "ols")
    p = len(names)
    if full:
        t, out = _clock(mod._dominance_refits, "ols", Xs, ys, p, 0.0)
        return t, "measured", out["gd"]
    masks = rng.integers(1, 2**p, size=sample)
    subsets = [[j for j in range(p) if m >> j & 1] for m in masks]
    start = time.perf_counter()
    for cols in subsets:
        mod._r2_subset("ols", Xs, ys, cols, 0.0)
    per = (time.perf_counter() - start) / sample
    return per * 2**p, f"extrapolated from {sample} subsets", None


def time_pingouin(df, names, full, sample, rng):
    import pingouin as pg
    from scipy.linalg import pinvh

    p = len(names)
    if full:
        t, lm = _clock(pg.linear_regression, df[names], df["y"], relimp=True)
        return t, "measured", lm.set_index("names").loc[names, "relimp"].to_numpy()
    S = df[["y", *names]].corr().to_numpy()
    r, Rxx = S[1:, 0], S[1:, 1:]
    masks = rng.integers(1, 2**p, size=sample)
    start = time.perf_counter()
    for mask in masks:    # pingouin's per-subset step (pingouin/regression.py, _relimp)
        idx = np.flatnonzero((mask >> np.arange(p)) & 1)
        _ = r[idx] @ pinvh(Rxx[np.ix_(idx, idx)]) @ r[idx]
        _ = bin(int(mask)).count("1")
    per = (time.perf_counter() - start) / sample
    return per * 2**p, f"extrapolated from {sample} subsets", None


def time_relative_weights(df, names, n_boot=2000):
    from connection.outcomes._drivers import relative_weights

    t, _ = _clock(relative_weights, df, "y", names, n_boot=n_boot, seed=1, progress=False)
    return t


def glm_data(n: int, p: int, family: str, seed: int = 3):
    df = data(n, p, seed=seed)
    if family == "logit":
        df["out"] = (df["y"] > df["y"].median()).astype(int)
    else:
        df["out"] = np.digitize(df["y"], np.quantile(df["y"], [0.15, 0.4, 0.7, 0.9]))
    return df


def time_glm(n: int, p: int, family: str, full: bool, sample: int, rng):
    """Logit or ordinal dominance: new (batched warm-started Newton fits of all 2**p subsets),
    the whole drivers() call, importance=None, and the old path (one statsmodels refit per
    subset: measured on ``sample`` random subsets and scaled to 2**p unless ``full``), with the
    subsets' McFadden R-squared checked equal to 1e-8."""
    from connection.outcomes import _drivers as mod
    from connection.outcomes._importance import likelihood_importance

    df = glm_data(n, p, family)
    names = [f"x{j}" for j in range(p)]
    t_call, _ = _clock(mod.drivers, df, "out", drivers=names, family=family, n_boot=0,
                       contrasts=[])
    t_off, _ = _clock(mod.drivers, df, "out", drivers=names, family=family, n_boot=0,
                      contrasts=[], importance=None)
    design, _ = mod._design(df, "out", names, [], None, family)
    Xs, ys, _, _ = mod._standardize(design, family)
    t_new, new = _clock(likelihood_importance, family, Xs, ys, p)
    llnull = mod._null_loglik(ys)
    if full:
        t_old, old = _clock(mod._dominance_refits, family, Xs, ys, p, llnull)
        assert np.allclose(old["gd"], new["gd"], rtol=0, atol=1e-8)
        how = "measured"
    else:
        masks = rng.integers(1, 2**p, size=sample)
        start = time.perf_counter()
        olds = [mod._r2_subset(family, Xs, ys, [j for j in range(p) if m >> j & 1], llnull)
                for m in masks]
        t_old = (time.perf_counter() - start) / sample * 2**p
        assert np.allclose(olds, new["subset_r2"][masks], rtol=0, atol=1e-8)
        how = f"extrapolated from {sample} subsets"
    return {"family": family, "drivers": p, "n": n, "new_core_s": t_new,
            "new_drivers_call_s": t_call, "importance_none_s": t_off, "old_s": t_old, "old": how,
            "old_over_new": t_old / t_new}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[9, 14, 20])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--full", action="store_true", help="time old and pingouin fully at any size")
    ap.add_argument("--full-cap", type=int, default=14)
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--no-glm", action="store_true", help="skip logit and ordinal dominance")
    ap.add_argument("--glm-drivers", type=int, default=9)
    ap.add_argument("--glm-sample", type=int, default=64,
                    help="subsets the old logit/ordinal path is timed on (--full: all)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    time_new(data(200, 3), ["x0", "x1", "x2"])   # warm-up: imports (statsmodels) off the clock
    rows = []
    for p in args.sizes:
        df = data(args.n, p)
        names = [f"x{j}" for j in range(p)]
        t_core, t_call, gd = time_new(df, names)
        full = args.full or p <= args.full_cap
        t_old, how_old, gd_old = time_old(df, names, full, args.sample, rng)
        t_pg, how_pg, gd_pg = time_pingouin(df, names, full, args.sample, rng)
        for ref in (gd_old, gd_pg):
            if ref is not None:
                assert np.allclose(gd, ref, rtol=0, atol=1e-10), (p, np.abs(gd - ref).max())
        t_rw = time_relative_weights(df, names)
        rows.append({"drivers": p, "n": args.n, "new_core_s": t_core, "new_drivers_call_s": t_call,
                     "old_s": t_old, "old": how_old, "pingouin_s": t_pg, "pingouin": how_pg,
                     "old_over_new": t_old / t_core, "pingouin_over_new": t_pg / t_core,
                     "relative_weights_2000_boot_s": t_rw})
        print(f"p={p:2d}: new {t_core:.3f} s (drivers() call {t_call:.3f} s), old {t_old:.1f} s "
              f"[{how_old}], pingouin {t_pg:.1f} s [{how_pg}], relative_weights(n_boot=2000) "
              f"{t_rw:.2f} s", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print()
        print(table.round(4).to_string(index=False))
    target = table.loc[table["drivers"] == 20, "new_drivers_call_s"]
    if len(target):
        print(f"\ntarget: 20 drivers at n = {args.n} in < 2 s: "
              f"{'met' if float(target.iloc[0]) < 2 else 'NOT met'} ({float(target.iloc[0]):.3f} s)")
    if not args.no_glm:
        glm = pd.DataFrame([time_glm(args.n, args.glm_drivers, fam, args.full, args.glm_sample,
                                     rng) for fam in ("logit", "ordinal")])
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print()
            print(glm.round(3).to_string(index=False))
        worst = float(glm["new_drivers_call_s"].max())
        print(f"\ntarget: {args.glm_drivers} logit/ordinal drivers at n = {args.n} in < 10 s: "
              f"{'met' if worst < 10 else 'NOT met'} (slowest drivers() call {worst:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
