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
from connection.latent.robust import yb_mplus_traces

__all__ = ["TestStatistics", "RobustTest", "complete_test_statistics", "assemble_fit_measures"]


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


def assemble_fit_measures(est, ts: TestStatistics) -> pd.Series:
    """lavaan's fitMeasures (dots -> underscores) from the estimation and its statistics."""
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
