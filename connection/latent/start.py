"""Starting values: one-factor principal-axis loadings per factor, moment-based variances."""

from __future__ import annotations

import math

import numpy as np

from connection.latent.model import ModelStructure

__all__ = ["start_values", "simple_start"]


def _one_factor(cov: np.ndarray) -> np.ndarray:
    """Loadings (raw scale) of a one-factor principal-axis solution of ``cov``."""
    k = len(cov)
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-12))
    if k == 1:
        return sd.copy()
    if k == 3:
        # just identified: lambda_1^2 = r12 r13 / r23, ... (clipped to admissible values)
        s0, s1, s2 = sd.tolist()
        c01, c02, c12 = float(cov[0, 1]), float(cov[0, 2]), float(cov[1, 2])
        q01, q02, q12 = c01 / (s0 * s1), c02 / (s0 * s2), c12 / (s1 * s2)
        r12, r13, r23 = abs(q01), abs(q02), abs(q12)
        eps = 1e-3
        lam = [math.sqrt(min(max(v, 0.05), 0.95)) for v in (
            r12 * r13 / max(r23, eps), r12 * r23 / max(r13, eps), r13 * r23 / max(r12, eps))]
        sign1 = -1.0 if q01 < 0 else 1.0
        sign2 = -1.0 if q02 < 0 else 1.0
        return np.array([lam[0] * s0, lam[1] * sign1 * s1, lam[2] * sign2 * s2])
    r = cov / np.outer(sd, sd)
    if k == 2:
        rho = abs(r[0, 1])
        h2 = np.full(2, min(max(rho, 0.05), 0.95))
    else:
        try:
            h2 = 1.0 - 1.0 / np.diag(np.linalg.inv(r))
        except np.linalg.LinAlgError:
            h2 = np.full(k, 0.5)
        h2 = np.clip(h2, 0.05, 0.95)
    red = r.copy()
    for _ in range(3):  # a few principal-axis iterations refine the communalities
        np.fill_diagonal(red, h2)
        vals, vecs = np.linalg.eigh(red)
        lam = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-3))
        h2 = np.clip(lam**2, 0.05, 0.95)
    if lam.sum() < 0:
        lam = -lam
    return lam * sd


def _one_factor_batch(covs: np.ndarray) -> np.ndarray:
    """:func:`_one_factor` for a stack of k x k matrices (k >= 4), one LAPACK call per step."""
    b, k, _ = covs.shape
    idx = np.arange(k)
    sd = np.sqrt(np.maximum(covs[:, idx, idx], 1e-12))
    r = covs / (sd[:, :, None] * sd[:, None, :])
    try:
        h2 = 1.0 - 1.0 / np.linalg.inv(r)[:, idx, idx]
    except np.linalg.LinAlgError:  # a singular block: the one-by-one rule decides per block
        return np.stack([_one_factor(c) for c in covs])
    h2 = np.clip(h2, 0.05, 0.95)
    red = r.copy()
    for _ in range(3):
        red[:, idx, idx] = h2
        vals, vecs = np.linalg.eigh(red)
        lam = vecs[:, :, -1] * np.sqrt(np.maximum(vals[:, -1], 1e-3))[:, None]
        h2 = np.clip(lam**2, 0.05, 0.95)
    lam = np.where((lam.sum(axis=1) < 0)[:, None], -lam, lam)
    return lam * sd


def _raw_loadings(cov: np.ndarray, plan: list) -> list:
    """One-factor loadings of every factor's indicator block; blocks of 4 or more indicators
    of the same size go through :func:`_one_factor_batch` together."""
    out = [None] * len(plan)
    by_size: dict = {}
    for n, item in enumerate(plan):
        k = len(item[2])
        if k >= 4:
            by_size.setdefault(k, []).append(n)
        else:
            out[n] = _one_factor(cov[item[3]])
    for members in by_size.values():
        if len(members) == 1:
            out[members[0]] = _one_factor(cov[plan[members[0]][3]])
            continue
        raws = _one_factor_batch(np.stack([cov[plan[n][3]] for n in members]))
        for n, raw in zip(members, raws):
            out[n] = raw
    return out


def _factor_plan(struct: ModelStructure, g: int, fixed: np.ndarray) -> list:
    """Per factor: its loading rows, indicator indices, index mesh, the scaling (first loading
    fixed to a non-zero value, else the fixed factor variance or 1) and the fixed loadings.
    Cached: loadings and factor variances are never fixed.x rows, so their fixed values are
    those of the parameter table."""
    key = ("start", g)
    plan = struct._cache.get(key)
    if plan is None:
        blk = struct.blocks[g]
        sel_l, li, lj, _ = blk["L"]
        sel_p, pi, pj, _ = blk["P"]
        plan = []
        for f in range(len(struct.lv_names)):
            rows = sel_l[lj == f]
            if len(rows) == 0:
                continue
            inds = li[lj == f]
            var = np.flatnonzero((pi == f) & (pj == f))
            var_row = int(sel_p[var[0]]) if len(var) else None
            free_r = struct.free[rows] >= 0
            fx = fixed[rows]
            fixed_mask = ~free_r & (fx != 0) & np.isfinite(fx)
            marker = None
            if fixed_mask.any():
                r0 = int(np.argmax(fixed_mask))
                marker = (r0, float(fx[r0]))
            psi_fixed = 1.0
            if var_row is not None and struct.free[var_row] < 0 and \
                    np.isfinite(fixed[var_row]) and fixed[var_row] > 0:
                psi_fixed = float(fixed[var_row])
            fixed_idx = np.flatnonzero(~free_r)
            plan.append((f, rows, inds, np.ix_(inds, inds), marker, psi_fixed, fixed_idx,
                         fx[fixed_idx].copy()))
        struct._cache[key] = plan
    return plan


def _between_factor(cov: np.ndarray, lmat: np.ndarray):
    """For every pair of factors (f, h): the sum over indicator pairs a of f, b of h (a != b)
    of cov[a, b] / (lambda_af lambda_bh), and the number of such pairs; their ratio is the
    moment estimate of the factor covariance that starts the optimiser."""
    loaded = lmat != 0
    inv = np.divide(1.0, lmat, out=np.zeros_like(lmat), where=loaded)
    off = cov.copy()
    off.flat[::len(cov) + 1] = 0.0
    mask = loaded.astype(float)
    colsum = mask.sum(axis=0)
    return inv.T @ off @ inv, np.outer(colsum, colsum) - mask.T @ mask


def start_values(struct: ModelStructure, stats, fixed: np.ndarray, user_start: np.ndarray):
    """Start value of every structure row (free rows only matter); returns theta0."""
    start = np.full(len(struct.mat), np.nan)
    for g, st in enumerate(stats):
        cov, mean = st.cov, st.mean
        blk = struct.blocks[g]
        lv_total = {}
        nlv = len(struct.lv_names)
        lmat = np.zeros((len(cov), max(nlv, 1)))
        ind_of = {}
        plan = _factor_plan(struct, g, fixed)
        for (f, rows, inds, _mesh, marker, psi_fixed, fixed_idx, fixed_vals), raw in zip(
                plan, _raw_loadings(cov, plan)):
            if marker is not None:  # scale from the first loading fixed to a non-zero value
                r0, v0 = marker
                scale = float(raw[r0]) / v0
                if abs(scale) < 1e-6:
                    scale = 1e-3
                psi = scale**2
            else:  # scale from a fixed factor variance (std_lv), else 1
                psi = psi_fixed
                scale = math.sqrt(psi)
            vals = raw / scale
            if len(fixed_idx):
                vals[fixed_idx] = fixed_vals
            start[rows] = vals
            lmat[inds, f] = vals
            if vals.all():
                ind_of[f] = (inds, vals)
            else:
                nz = vals != 0
                if nz.any():
                    ind_of[f] = (inds[nz], vals[nz])
            lv_total[f] = psi
        psi_vec = np.array([lv_total.get(f, 0.0) for f in range(nlv)]) if nlv else np.zeros(1)
        between = None
        # residual variances and covariances (Theta)
        sel, ti, tj, _ = blk["T"]
        common = (lmat**2) @ psi_vec
        diag = np.diag(cov)
        resid = diag[ti] - common[ti]
        start[sel] = np.where(ti == tj, np.where(resid > 0.1 * diag[ti], resid, 0.5 * diag[ti]),
                              0.0)
        # latent (co)variances (Psi)
        sel, pi, pj, _ = blk["P"]
        endo = set(blk["B"][1][struct.free[blk["B"][0]] >= 0]) | set(
            blk["B"][1][np.abs(np.nan_to_num(fixed[blk["B"][0]])) > 0]) if len(
            blk["B"][0]) else set()
        phantom_pos = {e: o for o, e in zip(struct.phantom_ov, struct.phantom_eta)}
        for row, i, j in zip(sel, pi, pj):
            if i == j:
                if i in phantom_pos:
                    start[row] = cov[phantom_pos[i], phantom_pos[i]]
                else:
                    start[row] = lv_total.get(i, 0.05) if i not in endo else 0.5 * lv_total.get(
                        i, 0.1)
            else:
                if i in endo or j in endo:
                    start[row] = 0.0
                elif i in phantom_pos and j in phantom_pos:
                    start[row] = cov[phantom_pos[i], phantom_pos[j]]
                elif i in lv_total and j in lv_total and i in ind_of and j in ind_of:
                    if between is None:
                        between = _between_factor(cov, lmat)
                    total, count = between
                    c = float(total[i, j] / count[i, j]) if count[i, j] else 0.0
                    lim = 0.9 * math.sqrt(lv_total[i] * lv_total[j])
                    start[row] = min(max(c, -lim), lim)
                else:
                    start[row] = 0.0
        for name in ("B",):
            sel = blk[name][0]
            start[sel] = np.where(struct.free[sel] >= 0, 0.0, fixed[sel])
        sel, ni, _, _ = blk["nu"]
        start[sel] = mean[ni]
        sel, ai, _, _ = blk["al"]
        for row, i in zip(sel, ai):
            start[row] = mean[phantom_pos[i]] if i in phantom_pos else 0.0
    ok = np.isfinite(user_start)
    start[ok] = user_start[ok]
    use = (struct.free >= 0) & np.isfinite(start)
    k = struct.free[use]
    sums = np.bincount(k, weights=start[use], minlength=struct.npar)
    counts = np.bincount(k, minlength=struct.npar)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def simple_start(struct: ModelStructure, stats, fixed: np.ndarray, user_start: np.ndarray):
    """lavaan's "simple" starting values: loadings 1, residual variances half the observed
    variances, latent variances 0.05, covariances and regressions 0, intercepts the means."""
    start = np.zeros(len(struct.mat))
    for g, st in enumerate(stats):
        blk = struct.blocks[g]
        start[blk["L"][0]] = 1.0
        sel, i, j, _ = blk["T"]
        start[sel] = np.where(i == j, 0.5 * np.diag(st.cov)[i], 0.0)
        sel, i, j, _ = blk["P"]
        start[sel] = np.where(i == j, 0.05, 0.0)
        sel, i, _, _ = blk["nu"]
        start[sel] = st.mean[i]
    ok = np.isfinite(user_start)
    start[ok] = user_start[ok]
    theta = np.zeros(struct.npar)
    for row, k in enumerate(struct.free):
        if k >= 0:
            theta[k] = start[row]
    return theta
