"""Fit measures of a FIML fit (lavaan's ``missing = "ml"``): the chi-square against the
saturated (EM) model, the baseline, the scaled (MLR) variants and lavaan's FIML-corrected
robust RMSEA/CFI/TLI (``lav_fit_fiml_corrected``).

Above :mod:`connection.sem.missing` (the likelihood) and :mod:`connection.sem.robust` (the
scaling traces) in the layer order; :class:`connection.sem.fit.Fit` calls it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.linalg import block_diag

from connection.sem import measures
from connection.sem.estimate import GroupStats, Moments, _group_grad_info, ml_discrepancy
from connection.sem.missing import _baseline_logl, fiml_group_stats
from connection.sem.robust import _baseline_problem, yb_mplus_traces

__all__ = ["fiml_fit_measures", "fiml_corrected", "h1_information_no_scores"]


def fiml_fit_measures(fit, fm: dict) -> pd.Series:
    problem, theta = fit.estimation.problem, fit.estimation.theta
    n, g_count, npar = fit.ntotal, fit.n_groups, fit.estimation.structure.npar
    logl = problem.loglik(theta)
    logl_h1 = sum(st.logl_h1 for st in fit.estimation.stats)
    if fit.estimation.partable.ov_x:  # fixed.x: like lavaan, report the likelihood conditional on x
        xi = [fit.estimation.partable.ov_names.index(v) for v in fit.estimation.partable.ov_x]
        lx = sum(fiml_group_stats(st.data[:, xi]).logl_h1 for st in fit.estimation.stats)
        logl -= lx
        logl_h1 -= lx
    chisq = max(2.0 * (logl_h1 - logl), 0.0)
    df = fit.estimation.n_moments - npar
    fm["fmin"] = chisq / (2 * n)
    fm["chisq"] = chisq
    fm["df"] = df
    fm["pvalue"] = measures.chisq_pvalue(chisq, df)
    p = fit.estimation.structure.p
    # baseline: independent outcomes (and, with fixed.x, the likelihood conditional on x)
    xi = [fit.estimation.partable.ov_names.index(v) for v in fit.estimation.partable.ov_x]
    bll = sum(_baseline_logl(st, skip=xi) for st in fit.estimation.stats)
    bx2 = 2.0 * (logl_h1 - bll)
    bdf = fit.estimation.n_moments - g_count * 2 * (p - len(xi))
    fm["baseline_chisq"], fm["baseline_df"] = bx2, bdf
    fm["baseline_pvalue"] = measures.chisq_pvalue(bx2, bdf)
    scaled = fit.estimator == "MLR"
    if scaled:
        c, c_h1, c_h0, bc = yb_mplus_traces(fit, df, bdf)
        fm["chisq_scaled"] = chisq / c
        fm["df_scaled"] = df
        fm["pvalue_scaled"] = measures.chisq_pvalue(chisq / c, df)
        fm["chisq_scaling_factor"] = c
        fm["baseline_chisq_scaled"] = bx2 / bc
        fm["baseline_df_scaled"] = bdf
        fm["baseline_pvalue_scaled"] = measures.chisq_pvalue(bx2 / bc, bdf)
        fm["baseline_chisq_scaling_factor"] = bc
    inc = measures.incremental(chisq, df, bx2, bdf)
    fm["cfi"], fm["tli"] = inc["cfi"], inc["tli"]
    if scaled:
        inc_s = measures.incremental(chisq / c, df, bx2 / bc, bdf)
        fm["cfi_scaled"], fm["tli_scaled"] = inc_s["cfi"], inc_s["tli"]
    for k in ("nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"):
        fm[k] = inc[k]
    fm["logl"], fm["unrestricted_logl"] = logl, logl_h1
    fm["aic"] = -2 * logl + 2 * npar
    fm["bic"] = -2 * logl + npar * np.log(n)
    fm["ntotal"] = n
    fm["bic2"] = -2 * logl + npar * np.log((n + 2) / 24)
    if scaled:
        fm["scaling_factor_h1"], fm["scaling_factor_h0"] = c_h1, c_h0
    fm["rmsea"] = measures.rmsea(chisq, df, n, g_count)
    lo, hi = measures.rmsea_ci(chisq, df, n, g_count)
    fm["rmsea_ci_lower"], fm["rmsea_ci_upper"], fm["rmsea_ci_level"] = lo, hi, 0.90
    fm["rmsea_pvalue"] = measures.rmsea_pvalue(chisq, df, n, g_count)
    fm["rmsea_close_h0"] = 0.05
    fm["rmsea_notclose_pvalue"] = measures.rmsea_pvalue(chisq, df, n, g_count, h0=0.08,
                                                        close=False)
    fm["rmsea_notclose_h0"] = 0.08
    if scaled:
        trace = c * df
        fm["rmsea_scaled"] = measures.rmsea(chisq, trace, n, g_count)
        lo, hi = measures.rmsea_ci(chisq, trace, n, g_count)
        fm["rmsea_ci_lower_scaled"], fm["rmsea_ci_upper_scaled"] = lo, hi
        fm["rmsea_pvalue_scaled"] = measures.rmsea_pvalue(chisq, trace, n, g_count)
    # robust RMSEA / CFI / TLI: lavaan's FIML-corrected statistic (V6 for ML, V3 for MLR)
    fc = None
    if not fit.estimation.partable.ov_x:  # with fixed.x covariates lavaan's correction differs: not reported
        try:
            fc = fiml_corrected(fit, robust=scaled)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            fc = None
    if fc is not None:
        inc_r = measures.incremental(fc["XX3"], fc["df3"], fc["XX3_null"], fc["df3_null"],
                                     c_hat=fc["c_hat3"], c_hat_null=fc["c_hat3_null"])
        fm["cfi_robust"], fm["tli_robust"] = inc_r["cfi"], inc_r["tli"]
        fm.update(measures.rmsea_robust(fc["XX3"], fc["XX3_scaled"], fc["df3"], n, g_count,
                                        fc["c_hat3"]))
    fm.update(measures.residual_measures(fit.estimation.stats, fit.estimation.implied, fit.meanstructure))
    fm.update(measures.other_indices(chisq, df, n, npar))
    fm.update(measures.gfi(fit.estimation.stats, fit.estimation.implied, fit.meanstructure, df, npar,
                           fixed_x=bool(fit.estimation.partable.ov_x)))
    return pd.Series(fm, dtype=float, name="value")


def _moment_jacobian(mo: Moments, p: int) -> np.ndarray:
    """Jacobian of (mu, vech Sigma) w.r.t. the parameters, (q x (p + p*)), lavaan's order."""
    ds, dm = mo.dense()
    rows, cols = np.tril_indices(p)
    return np.concatenate([dm, ds[:, rows, cols]], axis=1)


def fiml_corrected(fit, robust: bool) -> dict:
    """lavaan 0.6.14's FIML-corrected statistic for robust RMSEA/CFI (``lav_fit_fiml_corrected``):
    the model's complete-data chi-square at the FIML estimates against the saturated (EM)
    moments, and its scaling factor (version V6 for ML, V3 for MLR), where the information
    is the h1-based observed information ``Delta' Wm Delta``; likewise for the baseline model.
    Returns XX3, df3, c_hat3, XX3_scaled, XX3_null, df3_null, c_hat3_null."""
    problem, theta = fit.estimation.problem, fit.estimation.theta
    stats = fit.estimation.stats
    p = fit.estimation.structure.p
    fg = np.array([st.n / fit.ntotal for st in stats])
    mom = problem.moments(theta, True)
    xx3 = sum(st.n * ml_discrepancy(st, mo, True) for st, mo in zip(stats, mom))
    df3 = fit.estimation.n_moments - fit.estimation.structure.npar
    wc, wm, wmi, gam = [], [], [], []
    for f, st in zip(fg, stats):
        complete = GroupStats(n=st.n, mean=st.mean, cov=st.cov, data=None)
        wc.append(f * h1_information_no_scores(complete)[0])
        wm_g = 0.5 * st.h1_problem.hessian(st.h1_theta)
        wmi_g = np.linalg.inv(wm_g)
        wm.append(f * wm_g)
        wmi.append(wmi_g / f)
        if robust:
            jm_g = st.h1_problem.score_crossprods(st.h1_theta)[0] / st.n
            gam.append(wmi_g @ jm_g @ wmi_g / f)
    wc_all, wm_all, wmi_all = block_diag(*wc), block_diag(*wm), block_diag(*wmi)
    gam_all = block_diag(*gam) if robust else None

    def k_value(moments_list):
        delta = np.concatenate([_moment_jacobian(mo, p).T for mo in moments_list], axis=0)
        e_inv = np.linalg.inv(delta.T @ wm_all @ delta)
        u = wm_all - wm_all @ delta @ e_inv @ delta.T @ wm_all
        if robust:
            return np.trace(u @ wmi_all @ wc_all @ wmi_all @ u @ gam_all)
        return np.trace(wc_all @ wmi_all @ u @ wmi_all)

    c3 = k_value(mom) / df3 if df3 > 0 else np.nan
    out = {"XX3": xx3, "df3": df3, "c_hat3": c3, "XX3_scaled": xx3 / c3}
    # baseline: independence model at its FIML estimates
    bprob, btheta = _baseline_problem(fit)
    bmom = bprob.moments(btheta, True)
    out["XX3_null"] = sum(st.n * ml_discrepancy(st, mo, True) for st, mo in zip(stats, bmom))
    nx = len(fit.estimation.partable.ov_x)
    out["df3_null"] = fit.estimation.n_moments - fit.n_groups * 2 * (p - nx)
    # the baseline's Jacobian has the other groups' parameters too: keep each group's rows
    out["c_hat3_null"] = k_value(bmom) / out["df3_null"]
    return out


def h1_information_no_scores(st: GroupStats):
    """Complete-data h1 information at (mean, cov) of ``st`` in (mu, vech Sigma) order."""
    p = len(st.cov)
    rows, cols = np.tril_indices(p)
    nv = len(rows)
    basis = np.zeros((nv, p, p))
    k = np.arange(nv)
    basis[k, rows, cols] = 1.0
    basis[k, cols, rows] = 1.0
    ds = np.concatenate([np.zeros((p, p, p)), basis])
    dmu = np.concatenate([np.eye(p), np.zeros((nv, p))])
    _, info = _group_grad_info(st, Moments(st.cov, st.mean, ds, dmu), True, True)
    return 0.5 * info, None
