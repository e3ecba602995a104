"""Fit measures with lavaan's names (dots -> underscores) and formulas (lavaan 0.6.14)."""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

__all__ = ["rmsea", "rmsea_ci", "rmsea_pvalue", "incremental", "srmr_bentler", "chisq_pvalue"]


def chisq_pvalue(x2: float, df: float) -> float:
    if not np.isfinite(x2) or df <= 0:
        return np.nan
    return float(special.chdtrc(df, x2))


def rmsea(x2, df, n, g=1, c_hat=1.0) -> float:
    """sqrt(max(X2/N/df - c/N, 0)) * sqrt(G) (0 when df == 0)."""
    if not np.isfinite(x2) or not np.isfinite(df):
        return np.nan
    if df <= 0:
        return 0.0
    return float(np.sqrt(max(x2 / n / df - c_hat / n, 0.0)) * np.sqrt(g))


def rmsea_ci(x2, df, n, g=1, c_hat=1.0, level=0.90) -> tuple[float, float]:
    """Confidence interval from the noncentral chi-square (lavaan's lav_fit_rmsea_ci)."""
    if not (np.isfinite(x2) and np.isfinite(df)) or df < 1:
        return (np.nan, np.nan) if not np.isfinite(x2) else (0.0, 0.0)
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
    if not np.isfinite(x2) or df <= 0:
        return np.nan
    ncp = (n * df / c_hat * h0**2) / g
    cdf = special.chndtr(x2, df, ncp) if ncp > 0 else special.chdtr(df, x2)
    return float(1 - cdf) if close else float(cdf)


def incremental(x2, df, bx2, bdf) -> dict:
    """CFI, TLI (NNFI), RFI, NFI, PNFI, IFI, RNI from the model and baseline statistics."""
    out = {}
    d_model = max(x2 - df, 0.0)
    d_base = max(x2 - df, bx2 - bdf, 0.0)
    out["cfi"] = 1.0 if d_base == 0 else 1.0 - d_model / d_base
    if df > 0 and bdf > 0:
        t1, t2 = bx2 / bdf, x2 / df
        out["tli"] = (t1 - t2) / (t1 - 1.0) if t1 != 1 else np.nan
    else:
        out["tli"] = 1.0
    out["nnfi"] = out["tli"]
    out["rfi"] = (1 - (x2 / df) / (bx2 / bdf)) if df > 0 and bdf > 0 else np.nan
    out["rfi"] = min(max(out["rfi"], 0.0), 1.0) if np.isfinite(out["rfi"]) else np.nan
    out["nfi"] = (bx2 - x2) / bx2 if bx2 > 0 else np.nan
    out["pnfi"] = (df / bdf) * out["nfi"] if bdf > 0 else np.nan
    out["ifi"] = (bx2 - x2) / (bx2 - df) if bx2 != df else np.nan
    out["rni"] = out["cfi"]
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
