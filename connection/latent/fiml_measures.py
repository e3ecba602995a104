"""Fit measures of a FIML fit (lavaan's ``missing = "ml"``): the chi-square against the
saturated (EM) model, the baseline, the scaled (MLR) variants and lavaan's FIML-corrected
robust RMSEA/CFI/TLI (``lav_fit_fiml_corrected``).

Above :mod:`connection.latent.missing` (the likelihood) and :mod:`connection.latent.robust` (the
scaling traces) in the layer order; :class:`connection.latent.fit.Fit` calls it.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import block_diag

from connection.latent.estimate import GroupStats, Moments, _group_grad_info, ml_discrepancy
from connection.latent.missing import _baseline_logl, fiml_stats_from_patterns, project_patterns
from connection.latent.robust import _baseline_problem, yb_mplus_traces
from connection.latent.teststats import RobustTest, TestStatistics

__all__ = ["fiml_test_statistics", "fiml_corrected", "h1_information_no_scores"]


def fiml_test_statistics(fit) -> TestStatistics:
    """FIML: ``chisq = 2 (logl_h1 - logl)`` against the saturated (EM) model; the baseline has
    independent outcomes (conditional on fixed.x); MLR adds the Yuan-Bentler (Mplus)
    scaling; the robust statistic is lavaan's FIML-corrected one (V6 for ML, V3 for MLR),
    not reported with fixed.x covariates (lavaan's correction differs there)."""
    est = fit.estimation
    pt = est.partable
    problem, theta = est.problem, est.theta
    n, g_count, npar = est.ntotal, len(est.group_labels), est.structure.npar
    logl = problem.loglik(theta)
    logl_h1 = sum(st.logl_h1 for st in est.stats)
    xi = [pt.ov_names.index(v) for v in pt.ov_x]
    if xi:  # fixed.x: like lavaan, report the likelihood conditional on x
        lx = sum(fiml_stats_from_patterns(project_patterns(st.patterns, xi), len(xi)).logl_h1
                 for st in est.stats)
        logl -= lx
        logl_h1 -= lx
    chisq = max(2.0 * (logl_h1 - logl), 0.0)
    df = est.n_moments - npar
    p = est.structure.p
    bll = sum(_baseline_logl(st, skip=xi) for st in est.stats)
    bx2 = 2.0 * (logl_h1 - bll)
    bdf = est.n_moments - g_count * 2 * (p - len(xi))
    mlr = est.options["estimator"] == "MLR"
    scaled = None
    if mlr:
        c, c_h1, c_h0, bc = yb_mplus_traces(fit, df, bdf)
        scaled = (chisq / c, c, c_h1, c_h0, bc)
    robust = None
    if not xi:
        try:
            fc = fiml_corrected(fit, robust=mlr)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            fc = None
        if fc is not None:
            robust = RobustTest(fc["XX3"], fc["XX3_scaled"], fc["df3"], fc["c_hat3"],
                                fc["XX3_null"], fc["df3_null"], fc["c_hat3_null"])
    return TestStatistics(kind="fiml", npar=npar, ntotal=n, n_groups=g_count,
                          fmin=chisq / (2 * n), chisq=chisq, df=df, baseline_chisq=bx2,
                          baseline_df=bdf, logl=float(logl), logl_h1=float(logl_h1),
                          scaled=scaled, robust=robust)


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
