"""Test statistics per discrepancy kind into one :class:`TestStatistics` record, and the ONE
fit-measure assembler (lavaan's ``lav_fit_measures``: one function per family) from a fit's
estimation and its test statistics.

Producers: :func:`complete_test_statistics` (complete-data ML, ``kind == "ml"``) here, and
:func:`connection.latent.fiml_measures.fiml_test_statistics` (``kind == "fiml"``); a further
discrepancy kind (WLS, DWLS, ULS, weighted moments) adds its producer and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from connection.latent import measures
from connection.latent.blas import BlasLimit
from connection.latent.robust import yb_mplus_traces

__all__ = ["TestStatistics", "RobustTest", "ShiftedTest", "complete_test_statistics",
           "dwls_test_statistics", "assemble_fit_measures"]


@dataclass(frozen=True)
class RobustTest:
    """The statistic behind lavaan's ``*.robust`` CFI/TLI/RMSEA (Brosseau-Liard & Savalei;
    under FIML lavaan 0.6.14's FIML-corrected statistic)."""

    chisq: float
    chisq_scaled: float
    df: float
    c_hat: float
    baseline_chisq: float
    baseline_df: float
    baseline_c_hat: float


@dataclass(frozen=True)
class ShiftedTest:
    """lavaan's ``scaled.shifted`` test (WLSMV/ULSMV) of the model and of the baseline:
    ``stat = chisq / scaling_factor + shift`` with ``scaling_factor = sqrt(tr(UG^2) / df)``
    and ``shift = df - tr(UG) / scaling_factor`` (Asparouhov & Muthen 2010)."""

    chisq: float
    scaling_factor: float
    shift: float
    trace_ugamma: float
    trace_ugamma2: float
    baseline_chisq: float
    baseline_scaling_factor: float
    baseline_shift: float


@dataclass(frozen=True)
class TestStatistics:
    """The model's and the baseline's test statistics, likelihoods and scaling factors."""

    kind: str
    npar: int
    ntotal: int
    n_groups: int
    fmin: float
    chisq: float
    df: float
    baseline_chisq: float
    baseline_df: float
    logl: float
    logl_h1: float
    # the Yuan-Bentler (Mplus) scaled test (MLR), else None: chisq_scaled, c, c_h1, c_h0, bc
    scaled: tuple | None = None
    robust: RobustTest | None = None
    # the mean-and-variance adjusted (scaled-shifted) test of WLSMV/ULSMV, else None
    shifted: ShiftedTest | None = None


def _loglik(est) -> tuple[float, float]:
    """Model and saturated log-likelihoods (complete data), conditional on fixed.x."""
    pt, ms = est.partable, est.options["meanstructure"]
    logl = logl_h1 = 0.0
    for st, imp in zip(est.stats, est.implied):
        p = len(st.cov)
        _sign, logdet = np.linalg.slogdet(imp.sigma)
        sinv = np.linalg.inv(imp.sigma)
        d = st.mean - imp.mu if ms else np.zeros(p)
        logl += -st.n / 2 * (p * np.log(2 * np.pi) + logdet + np.sum(sinv * st.cov)
                             + d @ sinv @ d)
        logl_h1 += -st.n / 2 * (p * np.log(2 * np.pi) + st.logdet + p)
        if pt.ov_x:  # fixed.x: lavaan reports the likelihood conditional on x
            xi = [pt.ov_names.index(v) for v in pt.ov_x]
            nx = len(xi)
            lx = -st.n / 2 * (nx * np.log(2 * np.pi)
                              + np.linalg.slogdet(st.cov[np.ix_(xi, xi)])[1] + nx)
            logl -= lx
            logl_h1 -= lx
    return float(logl), float(logl_h1)


def complete_test_statistics(fit) -> TestStatistics:
    """Complete-data ML: ``chisq = N F_ML``; the baseline has free variances (and means),
    the fixed.x block kept; MLR adds the Yuan-Bentler (Mplus) scaling."""
    est = fit.estimation
    pt, ms = est.partable, est.options["meanstructure"]
    n, g_count, npar = est.ntotal, len(est.group_labels), est.structure.npar
    f = max(est.problem.objective(est.theta), 0.0)  # rounding can give -1e-16 at a perfect fit
    chisq = n * f
    df = est.n_moments - npar
    nx = len(pt.ov_x)
    p = est.structure.p
    x_idx = [pt.ov_names.index(v) for v in pt.ov_x]
    y_idx = [i for i in range(p) if i not in x_idx]
    bx2 = 0.0
    for st in est.stats:
        logdet_b = np.sum(np.log(np.diag(st.cov)[y_idx]))
        if nx:
            logdet_b += np.linalg.slogdet(st.cov[np.ix_(x_idx, x_idx)])[1]
        bx2 += st.n * (logdet_b - st.logdet)
    bdf = est.n_moments - g_count * (p - nx) * (2 if ms else 1)
    logl, logl_h1 = _loglik(est)
    scaled = robust = None
    if est.options["estimator"] == "MLR":
        c, c_h1, c_h0, bc = yb_mplus_traces(fit, df, bdf)
        xs = chisq / c if df > 0 else np.nan
        scaled = (xs, c, c_h1, c_h0, bc)
        robust = RobustTest(chisq, xs, df, c, bx2, bdf, bc)
    return TestStatistics(kind="ml", npar=npar, ntotal=n, n_groups=g_count, fmin=f / 2,
                          chisq=chisq, df=df, baseline_chisq=bx2, baseline_df=bdf, logl=logl,
                          logl_h1=logl_h1, scaled=scaled, robust=robust)


# ---------------------------------------------------------------------------- DWLS (ordinal)
def _shifted(chisq, df, tr, tr2):
    """(statistic, scaling factor, shift) of lavaan's scaled.shifted test."""
    if not (df > 0 and tr2 > 0):
        return np.nan, np.nan, np.nan
    a = np.sqrt(df / tr2)
    shift = df - a * tr
    return chisq * a + shift, 1.0 / a, shift


def _ugamma_traces(v, gam, d):
    """tr(U Gamma) and tr((U Gamma)^2), U = V - V D (D' V D)^-1 D' V (lavaan's
    ``lav_test_satorra_bentler_trace_original``; ``v`` the weights as a vector), without the
    m x m matrix U: with A = V Gamma, B = V D, C = (D' V D)^-1 B' Gamma, U Gamma = A - B C."""
    a = v[:, None] * gam
    b = v[:, None] * d
    try:
        c = np.linalg.solve(d.T @ b, b.T @ gam)
    except np.linalg.LinAlgError:
        # a singular D'VD: the model is not identified (the fit warned so); no scaled test
        return np.nan, np.nan
    cb = c @ b
    tr = float(np.trace(a) - np.sum(b * c.T))
    tr2 = float(np.sum(a * a.T) - 2.0 * np.sum((c @ a) * b.T) + np.sum(cb * cb.T))
    return tr, tr2


def dwls_test_statistics(fit) -> TestStatistics:
    """DWLS/ULS on thresholds and polychoric correlations (lavaan 0.6.14): ``chisq = (N - 1)
    (s - sigma)' W (s - sigma)`` (``fmin`` is half of it over N); the baseline fits the
    thresholds and no correlation; WLSMV/ULSMV add the scaled-shifted test and the robust
    statistic behind ``*_robust`` (Savalei 2021: ML on the polychoric matrix at the estimates,
    lavaan's ``lav_fit_catml_dwls``)."""
    est = fit.estimation
    problem, theta = est.problem, est.theta
    n, g_count, npar = est.ntotal, len(est.group_labels), est.structure.npar
    fg = problem.weights
    res = problem.residuals(theta)
    fit_g = np.array([float(r @ (st.w * r)) for st, r in zip(est.stats, res)])
    base_free = [_baseline_free(est, st) for st in est.stats]
    base_g = np.array([float(np.sum(np.delete(st.w * st.wls_obs ** 2, free)))
                       for st, free in zip(est.stats, base_free)])
    # lavaan: fmin_g = 0.5 (n_g - 1) / n_g F_g, chisq = 2 N sum_g (n_g / N) fmin_g
    nm1 = np.array([(st.n - 1) / st.n for st in est.stats])
    fmin = float(np.sum(fg * 0.5 * nm1 * fit_g))
    chisq = 2.0 * n * fmin
    bx2 = float(2.0 * n * np.sum(fg * 0.5 * nm1 * base_g))
    df = est.n_moments - npar
    bdf = int(sum(len(st.wls_obs) - len(free) for st, free in zip(est.stats, base_free)))
    shifted = robust = None
    from connection.latent.engine import WLS_ESTIMATORS  # noqa: PLC0415 - same package

    if WLS_ESTIMATORS[est.options["estimator"]][1]:
        with BlasLimit():  # mid-size products: a second BLAS thread costs more than it gives
            shifted, robust = _dwls_robust(est, chisq, df, bx2, bdf)
    return TestStatistics(kind="dwls", npar=npar, ntotal=n, n_groups=g_count, fmin=fmin,
                          chisq=chisq, df=df, baseline_chisq=bx2, baseline_df=bdf,
                          logl=np.nan, logl_h1=np.nan, shifted=shifted, robust=robust)


def _baseline_free(est, st) -> np.ndarray:
    """The statistics the baseline fits exactly: the univariate ones (thresholds, means,
    variances) and the covariances among exogenous covariates (lavaan's independence model
    keeps those free)."""
    free = np.arange(st.n_uni)
    if st.th_num is None:
        return free
    frame = est.partable.frame
    ops, lhs, rhs = frame["op"], frame["lhs"], frame["rhs"]
    endo = set(lhs[ops == "~"]) | set(rhs[ops == "=~"])
    # lavaan's ov.x: a predictor named in a user's '~~' or '~1' statement is not one
    named = {v for s in est.partable.statements if getattr(s, "op", None) in ("~~", "~1")
             for v in (s.lhs, getattr(s, "rhs", None))}
    ov_x = set(rhs[ops == "~"]) - endo - named
    x = np.array([v in ov_x for v in est.partable.ov_names])
    ia, ib = st.pairs
    return np.concatenate([free, st.n_uni + np.flatnonzero(x[ia] & x[ib])])


def _stacked(est):
    """The groups' weights (``fg W_g``), Gamma (``Gamma_g / fg``) and Jacobians, stacked."""
    problem = est.problem
    fg = problem.weights
    v = np.concatenate([f * st.w for f, st in zip(fg, est.stats)])
    sizes = [len(st.wls_obs) for st in est.stats]
    gam = np.zeros((sum(sizes), sum(sizes)))
    start = 0
    for f, st, m in zip(fg, est.stats, sizes):
        gam[start:start + m, start:start + m] = st.gamma / f
        start += m
    d = np.vstack(problem.delta(est.theta))
    return v, gam, d, sizes


def _dwls_robust(est, chisq, df, bx2, bdf):
    """The scaled-shifted tests (model, baseline) and the catML robust statistic."""
    v, gam, d, sizes = _stacked(est)
    tr, tr2 = _ugamma_traces(v, gam, d)
    xs, c, shift = _shifted(chisq, df, tr, tr2)
    # the baseline: free thresholds (means, variances) only (its Jacobian selects them)
    th_cols = []
    start = 0
    for st, m in zip(est.stats, sizes):
        th_cols.extend(start + _baseline_free(est, st))
        start += m
    db = np.zeros((len(v), len(th_cols)))
    db[th_cols, np.arange(len(th_cols))] = 1.0
    btr, btr2 = _ugamma_traces(v, gam, db)
    bxs, bc, bshift = _shifted(bx2, bdf, btr, btr2)
    shifted = ShiftedTest(xs, c, shift, tr, tr2, bxs, bc, bshift)
    return shifted, _catml_robust(est, v, gam, d, df)


def _equal_threshold_rows(frame) -> bool:
    """Whether a free threshold or intercept shares its parameter with another row."""
    free = frame["free"].to_numpy()
    dropped = frame["op"].isin(("|", "~1")).to_numpy() & (free > 0)
    if not dropped.any():
        return False
    counts = np.bincount(free[free > 0])
    return bool((counts[free[dropped]] > 1).any())


def _catml_robust(est, v, gam, d, df):
    """lavaan 0.6.14's ``lav_fit_catml_dwls``: the ML statistic of the polychoric matrix at
    the DWLS estimates (``XX3``), its scaling ``c = tr(WiU' V WiU Gamma) / df`` (V the
    normal-theory weight of the correlations at the implied matrix) and the baseline's
    (``-N log|R|``, ``tr(Gamma) / df_null``); NaN when a polychoric matrix is not positive
    definite, or when thresholds or intercepts are held equal (lavaan's catML refit drops
    those rows and fails on their equality constraints)."""
    nan = RobustTest(np.nan, np.nan, df, np.nan, np.nan, np.nan, np.nan)
    if _equal_threshold_rows(est.partable.frame) or any(st.th_num is not None
                                                         for st in est.stats):
        # lavaan: none with continuous variables (``length(ov.num) > 0``)
        return nan
    x3 = x3_null = 0.0
    blocks_v, keep = [], []
    start = 0
    try:
        einv = np.linalg.inv(d.T @ (v[:, None] * d))
    except np.linalg.LinAlgError:  # not identified (the fit warned so): no robust test
        return nan
    fg = est.problem.weights
    for f, st, sigma in zip(fg, est.stats, est.problem.implied_correlations(est.theta)):
        r = st.cov
        if np.linalg.eigvalsh(r)[0] < np.sqrt(np.finfo(float).eps):
            return nan
        p = len(r)
        sinv = np.linalg.inv(sigma)
        f_ml = (np.linalg.slogdet(sigma)[1] + np.sum(sinv * r) - np.linalg.slogdet(r)[1] - p)
        x3 += st.n * f_ml
        x3_null += -st.n * np.linalg.slogdet(r)[1]
        ia, ib = st.pairs
        # normal-theory weight of the correlations: 0.5 D'(S^-1 x S^-1)D on the off-diagonal
        vv = sinv[ia][:, ia] * sinv[ib][:, ib] + sinv[ia][:, ib] * sinv[ib][:, ia]
        blocks_v.append(f * vv)
        keep.extend(range(start + st.n_th, start + len(st.wls_obs)))
        start += len(st.wls_obs)
    keep = np.array(keep, dtype=int)
    vall = np.zeros((len(keep), len(keep)))
    pos = 0
    for b in blocks_v:
        vall[pos:pos + len(b), pos:pos + len(b)] = b
        pos += len(b)
    # ks = tr(WiU' V WiU Gamma), WiU = I - Dk M, M = E^-1 Dk' W (no mc x mc products)
    dk = d[keep]
    gk = gam[np.ix_(keep, keep)]
    m = einv @ (dk.T * v[keep][None, :])
    vd = vall @ dk
    mg = m @ gk
    ks = float(np.sum(vall * gk) - np.sum((vd.T @ gk) * m) - np.sum(mg * vd.T)
               + np.sum((dk.T @ vd) * (mg @ m.T)))
    c3 = ks / df if df > 0 else np.nan
    df_null = len(keep)
    c3_null = float(np.trace(gk)) / df_null
    return RobustTest(chisq=float(x3), chisq_scaled=float(x3) / c3, df=df, c_hat=c3,
                      baseline_chisq=float(x3_null), baseline_df=df_null,
                      baseline_c_hat=c3_null)


def assemble_fit_measures(est, ts: TestStatistics) -> pd.Series:
    """lavaan's fitMeasures (dots -> underscores) from the estimation and its statistics."""
    if ts.kind == "dwls":
        return _assemble_dwls(est, ts)
    n, g_count, npar = ts.ntotal, ts.n_groups, ts.npar
    chisq, df, bx2, bdf = ts.chisq, ts.df, ts.baseline_chisq, ts.baseline_df
    fm: dict = {"npar": npar, "fmin": ts.fmin, "chisq": chisq, "df": df,
                "pvalue": measures.chisq_pvalue(chisq, df), "baseline_chisq": bx2,
                "baseline_df": bdf, "baseline_pvalue": measures.chisq_pvalue(bx2, bdf)}
    if ts.scaled is not None:
        xs, c, c_h1, c_h0, bc = ts.scaled
        fm["chisq_scaled"] = xs
        fm["df_scaled"] = df
        fm["pvalue_scaled"] = measures.chisq_pvalue(xs, df)
        fm["chisq_scaling_factor"] = c
        fm["baseline_chisq_scaled"] = bx2 / bc
        fm["baseline_df_scaled"] = bdf
        fm["baseline_pvalue_scaled"] = measures.chisq_pvalue(bx2 / bc, bdf)
        fm["baseline_chisq_scaling_factor"] = bc
    # incremental
    inc = measures.incremental(chisq, df, bx2, bdf)
    fm["cfi"], fm["tli"] = inc["cfi"], inc["tli"]
    if ts.scaled is not None:
        inc_s = measures.incremental(fm["chisq_scaled"], df, fm["baseline_chisq_scaled"], bdf)
        fm["cfi_scaled"], fm["tli_scaled"] = inc_s["cfi"], inc_s["tli"]
    r = ts.robust
    if r is not None:
        inc_r = measures.incremental(r.chisq, r.df, r.baseline_chisq, r.baseline_df,
                                     c_hat=r.c_hat, c_hat_null=r.baseline_c_hat)
        fm["cfi_robust"], fm["tli_robust"] = inc_r["cfi"], inc_r["tli"]
    for k in ("nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"):
        fm[k] = inc[k]
    # likelihoods and information criteria
    logl = ts.logl
    fm["logl"], fm["unrestricted_logl"] = logl, ts.logl_h1
    fm["aic"] = -2 * logl + 2 * npar
    fm["bic"] = -2 * logl + npar * np.log(n)
    fm["ntotal"] = n
    fm["bic2"] = -2 * logl + npar * np.log((n + 2) / 24)
    if ts.scaled is not None:
        fm["scaling_factor_h1"], fm["scaling_factor_h0"] = ts.scaled[2], ts.scaled[3]
    # RMSEA
    fm["rmsea"] = measures.rmsea(chisq, df, n, g_count)
    lo, hi = measures.rmsea_ci(chisq, df, n, g_count)
    fm["rmsea_ci_lower"], fm["rmsea_ci_upper"], fm["rmsea_ci_level"] = lo, hi, 0.90
    fm["rmsea_pvalue"] = measures.rmsea_pvalue(chisq, df, n, g_count, h0=0.05)
    fm["rmsea_close_h0"] = 0.05
    fm["rmsea_notclose_pvalue"] = measures.rmsea_pvalue(chisq, df, n, g_count, h0=0.08,
                                                        close=False)
    fm["rmsea_notclose_h0"] = 0.08
    if ts.scaled is not None:
        trace = ts.scaled[1] * df
        fm["rmsea_scaled"] = measures.rmsea(chisq, trace, n, g_count)
        lo, hi = measures.rmsea_ci(chisq, trace, n, g_count)
        fm["rmsea_ci_lower_scaled"], fm["rmsea_ci_upper_scaled"] = lo, hi
        fm["rmsea_pvalue_scaled"] = measures.rmsea_pvalue(chisq, trace, n, g_count)
        fm["rmsea_notclose_pvalue_scaled"] = measures.rmsea_pvalue(
            chisq, trace, n, g_count, h0=0.08, close=False)
    if r is not None:
        fm.update(measures.rmsea_robust(r.chisq, r.chisq_scaled, r.df, n, g_count, r.c_hat))
    # SRMR (Bentler) and other residual summaries, weighted over groups by n_g / N
    ms = est.options["meanstructure"]
    fm.update(measures.residual_measures(est.stats, est.implied, ms))
    fm.update(measures.other_indices(chisq, df, n, npar))
    fm.update(measures.gfi(est.stats, est.implied, ms, df, npar,
                           fixed_x=bool(est.partable.ov_x)))
    return pd.Series(fm, dtype=float, name="value")


def _assemble_dwls(est, ts: TestStatistics) -> pd.Series:
    """lavaan 0.6.14's ``fitMeasures`` of a DWLS/ULS fit (ordinal indicators): no likelihood
    family; with WLSMV/ULSMV the ``*_scaled`` measures use the scaled-shifted test and the
    ``*_robust`` ones lavaan's catML statistic; SRMR on the polychoric correlations (and, in
    the ``total`` variants, the thresholds); WLS-weighted GFI and the WRMR."""
    g_count, npar = ts.n_groups, ts.npar
    n = ts.ntotal - g_count  # lavaan's N for RMSEA, CN and MFI when not ML: N - G
    chisq, df, bx2, bdf = ts.chisq, ts.df, ts.baseline_chisq, ts.baseline_df
    sh, r = ts.shifted, ts.robust
    # ULS/ULSMV: the unscaled statistic is not chi-square distributed, lavaan gives no p-value
    uls = est.options["estimator"] in ("ULS", "ULSMV")
    fm: dict = {"npar": npar, "fmin": ts.fmin, "chisq": chisq, "df": df,
                "pvalue": np.nan if uls else measures.chisq_pvalue(chisq, df)}
    if sh is not None:
        fm.update(chisq_scaled=sh.chisq, df_scaled=df,
                  pvalue_scaled=measures.chisq_pvalue(sh.chisq, df),
                  chisq_scaling_factor=sh.scaling_factor, chisq_shift=sh.shift)
    fm.update(baseline_chisq=bx2, baseline_df=bdf,
              baseline_pvalue=np.nan if uls else measures.chisq_pvalue(bx2, bdf))
    if sh is not None:
        fm.update(baseline_chisq_scaled=sh.baseline_chisq, baseline_df_scaled=bdf,
                  baseline_pvalue_scaled=measures.chisq_pvalue(sh.baseline_chisq, bdf),
                  baseline_chisq_scaling_factor=sh.baseline_scaling_factor)
    fm.update(measures.incremental_family(
        chisq, df, bx2, bdf,
        scaled=None if sh is None else (sh.chisq, sh.baseline_chisq),
        robust=None if r is None else (r.chisq, r.baseline_chisq, r.c_hat, r.baseline_c_hat)))
    fm.update(measures.rmsea_family(
        chisq, df, n, g_count, scaled=None if sh is None else sh.chisq,
        robust=None if r is None else (r.chisq, r.chisq_scaled, r.df, r.c_hat)))
    fm.update(measures.ordinal_residual_measures(est.stats, est.problem.implied_stats(
        est.theta)))
    other = measures.other_indices(chisq, df, n, npar)
    fm["cn_05"], fm["cn_01"] = other["cn_05"], other["cn_01"]
    fm.update(measures.wls_gfi(est.stats, est.problem.implied_stats(est.theta), df))
    fm["mfi"] = other["mfi"]
    fm["wrmr"] = measures.wrmr(chisq, len(est.stats[0].wls_obs))
    return pd.Series(fm, dtype=float, name="value")
