"""Fit measures with lavaan's names (dots -> underscores) and formulas (lavaan 0.6.14)."""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["rmsea", "rmsea_ci", "rmsea_pvalue", "incremental", "srmr_bentler", "chisq_pvalue",
           "residual_measures", "gfi"]


def chisq_pvalue(x2: float, df: float) -> float:
    if not np.isfinite(x2) or df <= 0:
        return np.nan
    return float(special.chdtrc(df, x2))


def rmsea(x2, df, n, g=1, c_hat=1.0) -> float:
    """sqrt(max(X2/N/df - c/N, 0)) * sqrt(G) (0 when df == 0)."""
    if not (np.isfinite(x2) and np.isfinite(df) and np.isfinite(c_hat)):
        return np.nan
    if df <= 0:
        return 0.0
    return float(np.sqrt(max(x2 / n / df - c_hat / n, 0.0)) * np.sqrt(g))


def rmsea_ci(x2, df, n, g=1, c_hat=1.0, level=0.90) -> tuple[float, float]:
    """Confidence interval from the noncentral chi-square (lavaan's lav_fit_rmsea_ci)."""
    if not (np.isfinite(x2) and np.isfinite(df) and np.isfinite(c_hat) and np.isfinite(n)):
        return (np.nan, np.nan)
    if df < 1:
        return (0.0, 0.0)
    from scipy import optimize  # imported here: scipy.optimize is slow to import

    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def cdf(lam):
        return special.chndtr(x2, df, lam) if lam > 0 else special.chdtr(df, x2)

    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - upper_p, 0.0, max(x2, 1e-8), xtol=1e-12)
        lo = np.sqrt(c_hat * lam / (n * df)) * np.sqrt(g)
    n_rmsea = max(n, x2 * 4)
    if cdf(n_rmsea) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - lower_p, 0.0, n_rmsea, xtol=1e-12)
        hi = np.sqrt(c_hat * lam / (n * df)) * np.sqrt(g)
    return float(lo), float(hi)


def rmsea_pvalue(x2, df, n, g=1, c_hat=1.0, h0=0.05, close=True) -> float:
    if not (np.isfinite(x2) and np.isfinite(df) and np.isfinite(c_hat)) or df <= 0:
        return np.nan
    ncp = (n * df / c_hat * h0**2) / g
    cdf = special.chndtr(x2, df, ncp) if ncp > 0 else special.chdtr(df, x2)
    return float(1 - cdf) if close else float(cdf)


def rmsea_robust(x2, x2_scaled, df, n, g, c_hat) -> dict:
    """lavaan's ``rmsea.robust`` family: the point estimate from the unscaled statistic, the
    interval and the close/not-close p-values from the scaled one, all with the scaling factor."""
    lo, hi = rmsea_ci(x2_scaled, df, n, g, c_hat=c_hat)
    return {
        "rmsea_robust": rmsea(x2, df, n, g, c_hat=c_hat),
        "rmsea_ci_lower_robust": lo,
        "rmsea_ci_upper_robust": hi,
        "rmsea_pvalue_robust": rmsea_pvalue(x2_scaled, df, n, g, c_hat=c_hat),
        "rmsea_notclose_pvalue_robust": rmsea_pvalue(x2_scaled, df, n, g, c_hat=c_hat, h0=0.08,
                                                     close=False),
    }


def incremental(x2, df, bx2, bdf, c_hat=1.0, c_hat_null=1.0) -> dict:
    """CFI, TLI (NNFI), RFI, NFI, PNFI, IFI, RNI exactly as lavaan 0.6 computes them.

    With ``c_hat``/``c_hat_null`` (scaling factors) CFI and TLI are the robust versions of
    Brosseau-Liard and Savalei (lavaan's ``cfi.robust`` / ``tli.robust``).
    """
    out = {}
    vals = (x2, df, bx2, bdf, c_hat, c_hat_null)
    if not all(np.isfinite(v) for v in vals):
        return dict.fromkeys(("cfi", "tli", "nnfi", "rfi", "nfi", "pnfi", "ifi", "rni"), np.nan)
    robust = df > 0 and c_hat != 1 and c_hat_null != 1
    a, b = (c_hat, c_hat_null) if robust else (1.0, 1.0)
    t1 = max(x2 - a * df, 0.0)
    t2 = max(x2 - a * df, bx2 - b * bdf, 0.0)
    out["cfi"] = 1.0 if (abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8) else 1.0 - t1 / t2
    t1 = (x2 - a * df) * bdf
    t2 = (bx2 - b * bdf) * df
    out["tli"] = 1.0 - t1 / t2 if (df > 0 and abs(t2) > 0) else 1.0
    out["nnfi"] = out["tli"]
    # RFI
    if df > bdf:
        out["rfi"] = np.nan
    elif df > 0 and bdf > 0:
        r1, r2 = bx2 / bdf - x2 / df, bx2 / bdf
        out["rfi"] = 1.0 if (r1 < 0 or r2 < 0) else r1 / r2
    else:
        out["rfi"] = 1.0
    # NFI, PNFI
    if df > bdf or abs(bx2) < 1.5e-8:
        out["nfi"] = np.nan
    elif df > 0:
        out["nfi"] = (bx2 - x2) / bx2
    else:
        out["nfi"] = 1.0
    out["pnfi"] = (df / bdf) * ((bx2 - x2) / bx2) if (bdf > 0 and bx2 > 0) else np.nan
    # IFI
    t1, t2 = bx2 - x2, bx2 - df
    out["ifi"] = 1.0 if t2 < 0 else (np.nan if abs(t2) < 1.5e-8 else t1 / t2)
    # RNI (not truncated)
    t1, t2 = x2 - a * df, bx2 - b * bdf
    out["rni"] = np.nan if abs(t2) < 1.5e-8 else 1.0 - t1 / t2
    return out


def srmr_bentler(s, m, sigma, mu, meanstructure: bool) -> tuple[float, float]:
    """lavaan's srmr (Bentler): residuals scaled by the sample SDs; (total, nomean)."""
    sd = np.sqrt(np.diag(s))
    res = (s - sigma) / np.outer(sd, sd)
    rows, cols = np.tril_indices(len(s))
    cov_part = np.sum(res[rows, cols] ** 2)
    pstar = len(rows)
    nomean = np.sqrt(cov_part / pstar)
    if not meanstructure:
        return float(nomean), float(nomean)
    mres = (m - mu) / sd
    total = np.sqrt((cov_part + np.sum(mres**2)) / (pstar + len(s)))
    return float(total), float(nomean)


def residual_summaries(s, m, sigma, mu, meanstructure: bool) -> dict:
    """lavaan's rmr, crmr (Bollen) and srmr_mplus, each with and without the mean part."""
    p = len(s)
    rows, cols = np.tril_indices(p)
    raw = (s - sigma)[rows, cols]
    out = {}
    out["rmr_nomean"] = np.sqrt(np.mean(raw**2))
    sd_s, sd_h = np.sqrt(np.diag(s)), np.sqrt(np.diag(sigma))
    rc = s / np.outer(sd_s, sd_s) - sigma / np.outer(sd_h, sd_h)
    off_r, off_c = np.tril_indices(p, -1)
    rc_off = rc[off_r, off_c]
    out["crmr_nomean"] = np.sqrt(np.mean(rc_off**2)) if len(rc_off) else 0.0
    var_part = np.sum(((np.diag(s) - np.diag(sigma)) / np.diag(s)) ** 2)
    out["srmr_mplus_nomean"] = np.sqrt((np.sum(rc_off**2) + var_part) / (p * (p + 1) / 2))
    if meanstructure:
        md = m - mu
        out["rmr"] = np.sqrt((np.sum(raw**2) + np.sum(md**2)) / (len(raw) + p))
        mc = m / sd_s - mu / sd_h  # Mplus: each mean scaled by its own SD
        out["crmr"] = np.sqrt((np.sum(rc_off**2) + np.sum((md / sd_s) ** 2))
                              / (len(rc_off) + p))
        out["srmr_mplus"] = np.sqrt((np.sum(rc_off**2) + np.sum(mc**2) + var_part)
                                    / (p * (p + 1) / 2 + p))
    else:
        out["rmr"] = out["rmr_nomean"]
        out["crmr"] = out["crmr_nomean"]
        out["srmr_mplus"] = out["srmr_mplus_nomean"]
    return out


def other_indices(x2, df, n, npar) -> dict:
    """lavaan's cn_05, cn_01 (Hoelter), mfi (McDonald) and ecvi."""
    out = {}
    for name, alpha in (("cn_05", 0.05), ("cn_01", 0.01)):
        if df == 0 and x2 < np.sqrt(np.finfo(float).eps):
            out[name] = np.nan
        else:
            out[name] = float(special.chdtri(df, alpha)) / (x2 / n) + 1 if x2 > 0 else np.inf
    out["mfi"] = float(np.exp(-0.5 * (x2 - df) / n))
    out["ecvi"] = x2 / n + 2 * npar / n
    return out


def residual_measures(stats, implied, meanstructure: bool) -> dict:
    """SRMR / RMR / CRMR (with and without means) over the groups, weighted by group size.

    ``stats`` and ``implied`` are per group: sample moments (``n``, ``mean``, ``cov``) and
    model-implied ones (``sigma``, ``mu``)."""
    n = sum(st.n for st in stats)
    acc: dict = {}
    for st, imp in zip(stats, implied):
        mu = imp.mu if meanstructure else st.mean
        tot, nom = srmr_bentler(st.cov, st.mean, imp.sigma, mu, meanstructure)
        vals = {"srmr": tot, "srmr_bentler_nomean": nom}
        vals.update(residual_summaries(st.cov, st.mean, imp.sigma, mu, meanstructure))
        for k, v in vals.items():
            acc[k] = acc.get(k, 0.0) + st.n / n * v
    fm = {"srmr": acc["srmr"], "srmr_bentler": acc["srmr"],
          "srmr_bentler_nomean": acc["srmr_bentler_nomean"]}
    for k in ("rmr", "rmr_nomean", "crmr", "crmr_nomean", "srmr_mplus", "srmr_mplus_nomean"):
        fm[k] = acc[k]
    return fm


def gfi(stats, implied, meanstructure: bool, df, npar, *, fixed_x: bool = False) -> dict:
    """LISREL GFI with lavaan's normal-theory weight at the model-implied moments; AGFI, PGFI.

    Not computed (NaN) with fixed exogenous covariates, where lavaan uses another variant."""
    if fixed_x:
        return {"gfi": np.nan, "agfi": np.nan, "pgfi": np.nan}
    n = sum(st.n for st in stats)
    value = 0.0
    for st, imp in zip(stats, implied):
        w = np.linalg.inv(imp.sigma)
        e = w @ (st.cov - imp.sigma)
        ws = w @ st.cov
        t1 = 0.5 * np.sum(e * e.T)
        t2 = 0.5 * np.sum(ws * ws.T)
        if meanstructure:
            d = st.mean - imp.mu
            t1 += d @ w @ d
            t2 += st.mean @ w @ st.mean
        value += st.n / n * (1 - t1 / t2)
    nel = df + npar
    agfi = 1 - (nel / df) * (1 - value) if df > 0 else 1.0
    pgfi = (df / nel) * value if nel > 0 else np.nan
    return {"gfi": value, "agfi": agfi, "pgfi": pgfi}


# ---------------------------------------------------------------------------- ordinal (DWLS)
def incremental_family(x2, df, bx2, bdf, *, scaled=None, robust=None) -> dict:
    """lavaan's cfi/tli (+ ``_scaled`` from the scaled statistics ``(x2, baseline x2)``,
    + ``_robust`` from ``(x2, baseline x2, c_hat, baseline c_hat)``) and the other incremental
    indices, in lavaan's order of ``fitMeasures``."""
    inc = incremental(x2, df, bx2, bdf)
    out = {"cfi": inc["cfi"], "tli": inc["tli"]}
    inc_s = inc_r = None
    if scaled is not None:
        inc_s = incremental(scaled[0], df, scaled[1], bdf)
        out.update(cfi_scaled=inc_s["cfi"], tli_scaled=inc_s["tli"])
    if robust is not None:
        x3, x3_null, c3, c3_null = robust
        inc_r = incremental(x3, df, x3_null, bdf, c_hat=c3, c_hat_null=c3_null)
        out.update(cfi_robust=inc_r["cfi"], tli_robust=inc_r["tli"])
    names = ("nnfi", "rfi", "nfi", "pnfi", "ifi", "rni")
    out.update({k: inc[k] for k in names})
    if inc_s is not None:
        out.update({f"{k}_scaled": inc_s[k] for k in names})
    if inc_r is not None:
        out.update(nnfi_robust=inc_r["tli"], rni_robust=inc_r["rni"])
    return out


def rmsea_family(x2, df, n, g, *, scaled=None, robust=None) -> dict:
    """lavaan's rmsea block; ``scaled``: the scaled-shifted statistic (its df is the model's);
    ``robust``: ``(x2, x2 scaled, df, c_hat)`` of the robust statistic."""
    out = {"rmsea": rmsea(x2, df, n, g)}
    lo, hi = rmsea_ci(x2, df, n, g)
    out.update(rmsea_ci_lower=lo, rmsea_ci_upper=hi, rmsea_ci_level=0.90,
               rmsea_pvalue=rmsea_pvalue(x2, df, n, g, h0=0.05), rmsea_close_h0=0.05,
               rmsea_notclose_pvalue=rmsea_pvalue(x2, df, n, g, h0=0.08, close=False),
               rmsea_notclose_h0=0.08)
    if scaled is not None:
        lo, hi = rmsea_ci(scaled, df, n, g)
        out.update(rmsea_scaled=rmsea(scaled, df, n, g), rmsea_ci_lower_scaled=lo,
                   rmsea_ci_upper_scaled=hi, rmsea_pvalue_scaled=rmsea_pvalue(scaled, df, n, g),
                   rmsea_notclose_pvalue_scaled=rmsea_pvalue(scaled, df, n, g, h0=0.08,
                                                             close=False))
    if robust is not None:
        x3, x3s, df3, c3 = robust
        out.update(rmsea_robust(x3, x3s, df3, n, g, c3))
    return out


def ordinal_residual_measures(stats, wls_est) -> dict:
    """lavaan's rmr/srmr/crmr for ordinal indicators (``lav_residuals_summary``): the
    residuals of the covariances below the diagonal over ``p(p-1)/2 + p`` (crmr:
    ``p(p-1)/2``), the ``total`` variants with the threshold residuals too; raw (rmr), scaled
    by the sample variances (srmr, Bentler) or each side by its own (crmr, Bollen), lavaan's
    ``lav_residuals_rescale`` (a value under 1e-5 in absolute value is left unscaled);
    weighted over groups by n_g / N; ``srmr`` is the one without thresholds, ``srmr_mplus``
    is not defined (NaN). Variances are 1 for ordinal variables (delta)."""
    n = sum(st.n for st in stats)
    keys = ("rmr", "rmr_nomean", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean")
    acc = dict.fromkeys(keys, 0.0)
    for st, e in zip(stats, wls_est):
        nu = st.n_uni
        p = len(st.cov)  # every variable, the covariates too (lavaan's nvar)
        ia, ib = st.pairs
        var_obs, var_est = np.ones(len(st.cov)), np.ones(len(st.cov))
        th = np.arange(st.n_th)
        if st.th_num is not None:
            var_obs[st.var_idx] = st.wls_obs[st.n_th + st.n_slopes:nu]
            var_est[st.var_idx] = e[st.n_th + st.n_slopes:nu]
            th = np.flatnonzero(~st.th_num)
        th2 = float(np.sum((st.wls_obs[th] - e[th]) ** 2))
        o, m = st.wls_obs[nu:], e[nu:]
        ncor = len(o)
        w = st.n / n
        for name, so, se_ in (("rmr", 1.0, 1.0),
                              ("srmr_bentler", _scale(var_obs, ia, ib, o),
                               _scale(var_obs, ia, ib, m)),
                              ("crmr", _scale(var_obs, ia, ib, o),
                               _scale(var_est, ia, ib, m))):
            cor2 = float(np.sum((o * so - m * se_) ** 2))
            extra = 0 if name == "crmr" else p
            acc[name + "_nomean"] += w * (np.sqrt(cor2 / (ncor + extra)) if ncor + extra
                                          else 0.0)
            acc[name] += w * np.sqrt((cor2 + th2) / (ncor + len(th) + extra))
    return {"rmr": acc["rmr"], "rmr_nomean": acc["rmr_nomean"],
            "srmr": acc["srmr_bentler_nomean"], "srmr_bentler": acc["srmr_bentler"],
            "srmr_bentler_nomean": acc["srmr_bentler_nomean"], "crmr": acc["crmr"],
            "crmr_nomean": acc["crmr_nomean"], "srmr_mplus": np.nan, "srmr_mplus_nomean": np.nan}


def _scale(var, ia, ib, values) -> np.ndarray:
    """lavaan's ``lav_residuals_rescale`` of covariances below the diagonal: ``1 / sqrt(var_i
    var_j)``, 1 where the value is under 1e-5 in absolute value."""
    scale = 1.0 / np.sqrt(var[ia] * var[ib])
    return np.where(np.abs(values) < 1e-5, 1.0, scale)


def wls_gfi(stats, wls_est, df) -> dict:
    """lavaan's GFI with the estimator's weights (``lav_fit_gfi``), AGFI and PGFI over the
    number of sample statistics."""
    n = sum(st.n for st in stats)
    value = 0.0
    for st, e in zip(stats, wls_est):
        d = st.wls_obs - e
        value += st.n / n * (1.0 - float(np.sum(st.w * d * d)) / float(
            np.sum(st.w * st.wls_obs ** 2)))
    nel = sum(len(st.wls_obs) for st in stats)
    return {"gfi": value, "agfi": 1 - (nel / df) * (1 - value) if df > 0 else 1.0,
            "pgfi": (df / nel) * value if nel > 0 else np.nan}


def wrmr(x2, nel) -> float:
    """Weighted root mean square residual, ``sqrt(chisq / nel)`` (lavaan's ``wrmr``)."""
    return float(np.sqrt(x2 / nel)) if nel > 0 else np.nan
