"""Model comparison and diagnostics: likelihood-ratio tests (lavaan's ``lavTestLRT``), score
tests of equality constraints (``lavTestScore``) and modification indices (``modindices``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from connection.errors import ArgumentError

__all__ = ["lrt", "modindices", "score_test"]

_MATS = ("L", "B", "P", "T", "nu", "al")


def lrt(*fits, names=None, method: str = "default") -> pd.DataFrame:
    """Chi-square difference tests of nested models (lavaan's ``lavTestLRT``).

    Models are sorted by degrees of freedom; each row is compared with the previous one.
    For ML the difference of the chi-squares is referred to a chi-square with the difference
    of the degrees of freedom (``rmsea`` is the RMSEA of that difference, as lavaan 0.6.14
    reports). When the models were fitted by MLR the difference is scaled by Satorra and
    Bentler's (2001) method (lavaan's default ``"satorra.bentler.2001"``); fitted by WLSMV or
    ULSMV (ordinal indicators), by Satorra's (2000) scaled-shifted difference (lavaan's default
    there, ``"satorra.2000"``; :func:`satorra_2000`), without AIC/BIC.

    Parameters
    ----------
    *fits : Fit
        Two or more nested fits of the same data (as ``lrt(fit_a, fit_b)``).
    names : list of str, optional
        Row labels (default ``model_1`` ... in the order given).

    Returns
    -------
    DataFrame
        ``model df aic bic chisq chisq_diff rmsea df_diff pvalue`` (``rmsea`` only for ML),
        plus ``scaling_factor`` for MLR.

    Examples
    --------
    >>> from connection.latent import cfa, lrt
    >>> from connection.latent.datasets import holzinger_swineford
    >>> hs = holzinger_swineford()
    >>> m = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> conf = cfa(m, hs, group="school")
    >>> metric = cfa(m, hs, group="school", group_equal=["loadings"])
    >>> lrt(conf, metric, names=["configural", "metric"])[["model", "chisq_diff", "df_diff"]].round(3)
            model  chisq_diff  df_diff
    0  configural         NaN      NaN
    1      metric       8.192      6.0
    """
    if len(fits) == 1 and isinstance(fits[0], list | tuple):
        fits = tuple(fits[0])
    if len(fits) < 2:
        raise ArgumentError("lrt() needs at least two fitted models", values=[len(fits)],
                            expected="lrt(fit_a, fit_b, ...)")
    names = list(names) if names is not None else [f"model_{i + 1}" for i in range(len(fits))]
    if len(names) != len(fits):
        raise ArgumentError("names must have one entry per model", values=names,
                            expected=f"{len(fits)} names")
    ntot = {f.ntotal for f in fits}
    if len(ntot) > 1:
        from connection.errors import ModelSpecificationError

        raise ModelSpecificationError(
            "the models were fitted to different numbers of rows; a likelihood-ratio test "
            "needs the same data", values=sorted(ntot))
    if all(f.estimator in ("WLSMV", "ULSMV") for f in fits):
        return _lrt_shifted(fits, names)
    robust = all(f.estimator == "MLR" for f in fits)
    order = sorted(range(len(fits)), key=lambda i: (fits[i].fit_measures["df"], i))
    rows = []
    prev = None
    for i in order:
        f = fits[i]
        fm = f.fit_measures
        row = {"model": names[i], "df": fm["df"], "aic": fm["aic"], "bic": fm["bic"],
               "chisq": fm["chisq"], "chisq_diff": np.nan, "df_diff": np.nan,
               "pvalue": np.nan}
        if not robust:
            row["rmsea"] = np.nan
        if prev is not None:
            fp = prev.fit_measures
            ddf = fm["df"] - fp["df"]
            diff = fm["chisq"] - fp["chisq"]
            if robust:
                c1, c0 = fm["chisq_scaling_factor"], fp["chisq_scaling_factor"]
                cd = (fm["df"] * c1 - fp["df"] * c0) / ddf if ddf else np.nan
                row["scaling_factor"] = cd
                diff = diff / cd
            else:
                g = f.n_groups
                row["rmsea"] = (np.sqrt(max(0.0, (diff - ddf) / (f.ntotal * ddf))) * np.sqrt(g)
                                if ddf > 0 else np.nan)
            row["chisq_diff"] = diff
            row["df_diff"] = ddf
            row["pvalue"] = float(special.chdtrc(ddf, diff)) if ddf > 0 and diff >= 0 else (
                1.0 if ddf > 0 else np.nan)
        rows.append(row)
        prev = f
    cols = ["model", "df", "aic", "bic", "chisq", "chisq_diff"] + (
        ["scaling_factor"] if robust else ["rmsea"]) + ["df_diff", "pvalue"]
    return pd.DataFrame(rows).reindex(columns=cols)


# ----------------------------------------------------------------------------- WLSMV / ULSMV
def _lrt_shifted(fits, names) -> pd.DataFrame:
    """lavTestLRT of WLSMV/ULSMV fits: its default for the scaled-shifted test, Satorra's
    (2000) scaled-shifted difference (``method = "satorra.2000"``, ``A.method = "delta"``,
    ``H1 = TRUE``) of each model against the one before it (sorted by df)."""
    order = sorted(range(len(fits)), key=lambda i: (fits[i].fit_measures["df"], i))
    rows = []
    prev = None
    for i in order:
        fm = fits[i].fit_measures
        row = {"model": names[i], "df": fm["df"], "aic": np.nan, "bic": np.nan,
               "chisq": fm["chisq"], "chisq_diff": np.nan, "df_diff": np.nan,
               "pvalue": np.nan}
        if prev is not None:
            diff, ddf = satorra_2000(prev, fits[i])
            row.update(chisq_diff=diff, df_diff=ddf,
                       pvalue=float(special.chdtrc(ddf, diff)) if ddf > 0 else np.nan)
        rows.append(row)
        prev = fits[i]
    return pd.DataFrame(rows).reindex(columns=["model", "df", "aic", "bic", "chisq",
                                               "chisq_diff", "df_diff", "pvalue"])


def _orthogonal_complement(h: np.ndarray) -> np.ndarray:
    """Rows spanning the vectors orthogonal to the columns of ``h`` (lavaan's
    ``t(lav_matrix_orthogonal_complement(H))``; any basis gives the same test)."""
    u, s, _ = np.linalg.svd(h, full_matrices=True)
    tol = max(h.shape) * np.finfo(float).eps * (s[0] if len(s) else 0.0)
    rank = int(np.sum(s > tol))
    return u[:, rank:].T


def satorra_2000(fit1, fit0) -> tuple[float, float]:
    """(difference statistic, df difference) of the scaled-shifted Satorra (2000) test of
    ``fit0`` (more restricted) against ``fit1`` (lavaan's ``lav_test_diff_Satorra2000`` with
    ``scaled.shifted = TRUE``): ``A`` the constraints of ``fit0`` in ``fit1``'s parameters from
    the Jacobians (``H = Delta1^+ Delta0``), ``M = P^-1 A' (A P^-1 A')^+ A P^-1`` (``P`` the
    expected information ``sum_g f_g Delta_g' W_g Delta_g``), ``U = V Delta1 M Delta1' V``,
    ``a = sqrt(m / tr((U Gamma)^2))``, ``b = m - a tr(U Gamma)``, ``T = (T0 - T1) a + b``."""
    e1, e0 = fit1.estimation, fit0.estimation
    t1, t0 = fit1.fit_measures["chisq"], fit0.fit_measures["chisq"]
    m = float(fit0.fit_measures["df"] - fit1.fit_measures["df"])
    if m == 0:
        return float(t0 - t1), 0.0
    p1, p0 = e1.problem, e0.problem
    d1_list = p1.delta(e1.theta)
    d1, d0 = np.vstack(d1_list), np.vstack(p0.delta(e0.theta))
    a_mat = _orthogonal_complement(np.linalg.pinv(d1) @ d0)
    fg = p1.weights
    info = sum(f * (d.T @ (st.w[:, None] * d)) for f, st, d in zip(fg, e1.stats, d1_list))
    p_inv = np.linalg.inv(info)
    apa = a_mat @ p_inv @ a_mat.T
    eps = np.sqrt(np.finfo(float).eps)
    keep = ~((np.abs(apa.sum(axis=0)) < eps) & (np.abs(apa.sum(axis=1)) < eps))
    a_mat = a_mat[keep]
    mid = p_inv @ a_mat.T @ np.linalg.pinv(a_mat @ p_inv @ a_mat.T) @ a_mat @ p_inv
    v = np.concatenate([st.w for st in e1.stats])
    sizes = [len(st.wls_obs) for st in e1.stats]
    gam = np.zeros((sum(sizes), sum(sizes)))
    start = 0
    for f, st, k in zip(fg, e1.stats, sizes):
        gam[start:start + k, start:start + k] = f * st.gamma
        start += k
    vd = v[:, None] * d1
    ug = vd @ mid @ (vd.T @ gam)
    tr, tr2 = float(np.trace(ug)), float(np.sum(ug * ug.T))
    a = np.sqrt(m / tr2)
    return float((t0 - t1) * a + (m - a * tr)), m


# ----------------------------------------------------------------------------- score tests
def _extended_blocks(struct, entries):
    """entries: list of (group, mat, i, j) -> per-group block dicts with indices 0..E-1."""
    blocks = []
    for g in range(struct.ngroups):
        blk = {}
        for name in _MATS:
            sel = [(e, i, j) for e, (gg, m, i, j) in enumerate(entries) if gg == g and m == name]
            if sel:
                k, i, j = (np.array(x, dtype=int) for x in zip(*sel))
            else:
                k = i = j = np.zeros(0, dtype=int)
            blk[name] = (np.zeros(len(k), dtype=int), i, j, k)
        blocks.append(blk)
    return blocks


def _lm_tests(fit, directions):
    """Univariate score tests for extra directions.

    ``directions``: list of lists of (group, mat, i, j) entries (a direction may move several
    matrix entries together, e.g. the group-2 rows that share an equality label).
    Returns (mi, epc) arrays.
    """
    struct, problem, theta = fit.estimation.structure, fit.estimation.problem, fit.estimation.theta
    q = struct.npar
    e_count = len(directions)
    flat_entries, owner = [], []
    for d, entries in enumerate(directions):
        for ent in entries:
            flat_entries.append(ent)
            owner.append(d)
    blocks = _extended_blocks(struct, flat_entries)
    ms = fit.meanstructure
    mom = problem.moments(theta, True)
    total = q + e_count
    info = np.zeros((total, total))
    grad = np.zeros(total)
    owner = np.array(owner, dtype=int)
    for g, (st, mo) in enumerate(zip(fit.estimation.stats, mom)):
        w = problem.weights[g]
        imp = fit.estimation.implied[g]
        ds_e, dm_e = struct.derivatives(g, imp, means=ms, blk=blocks[g], q=len(flat_entries))
        # sum entries into their directions
        ds_d = np.zeros((e_count,) + ds_e.shape[1:])
        np.add.at(ds_d, owner, ds_e)
        dm_d = None
        if ms:
            dm_d = np.zeros((e_count, dm_e.shape[1]))
            np.add.at(dm_d, owner, dm_e)
        ds0, dm0 = mo.dense()
        ds = np.concatenate([ds0, ds_d])
        dm = np.concatenate([dm0, dm_d]) if ms else None
        from connection.latent.estimate import Moments, _group_grad_info

        full = Moments(mo.sigma, mo.mu, ds, dm)
        if fit.missing == "ml":  # FIML: sum over missing-data patterns
            for pat in st.patterns:
                gg, ee = _group_grad_info(pat, full.subset(pat.obs), True, True)
                grad += w * pat.n / st.n * gg
                info += w * pat.n / st.n * ee
        else:
            gg, ee = _group_grad_info(st, full, ms, True)
            grad += w * gg
            info += w * ee
    i22 = info[:q, :q]
    i12 = info[q:, :q]
    i11 = info[q:, q:]
    v = np.diag(i11) - np.einsum("ij,ji->i", i12, np.linalg.solve(i22, i12.T)) if q else np.diag(
        i11)
    v = np.where(v < np.finfo(float).eps ** (1 / 3), np.nan, v)
    g = grad[q:]
    mi = fit.ntotal * g**2 / (2.0 * v)
    epc = -g / v
    return mi, epc


def score_test(fit) -> pd.DataFrame:
    """Univariate score tests for releasing each across-group equality constraint.

    Equivalent to lavaan's ``lavTestScore(fit)$uni``: one row per constrained parameter and
    group g > 1 (group g's copy allowed to differ from group 1's).

    Returns
    -------
    DataFrame
        ``lhs op rhs group label x2 df pvalue epc`` (``group`` = the group whose copy is
        released).
    """
    struct = fit.estimation.structure
    frame = fit.estimation.partable.frame
    rows = frame.loc[struct.row_index]
    labels = rows["label"].to_numpy()
    groups = rows["group"].to_numpy()
    free = struct.free
    directions, meta = [], []
    seen = set()
    for r in range(len(rows)):
        lab = labels[r]
        if not lab or free[r] < 0:
            continue
        members = np.flatnonzero((labels == lab) & (free >= 0))
        gs = sorted(set(groups[members]))
        if len(gs) < 2:
            continue
        for g in gs[1:]:
            key = (lab, g)
            if key in seen:
                continue
            seen.add(key)
            sel = members[groups[members] == g]
            entries = [(g - 1, struct.mat[m], struct.i[m], struct.j[m]) for m in sel]
            directions.append(entries)
            r0 = rows.iloc[sel[0]]
            meta.append({"lhs": r0["lhs"], "op": r0["op"], "rhs": r0["rhs"],
                         "group": fit.group_labels[g - 1] if g >= 1 else "", "label": lab})
    if not directions:
        return pd.DataFrame(columns=["lhs", "op", "rhs", "group", "label", "x2", "df", "pvalue",
                                     "epc"])
    mi, epc = _lm_tests(fit, directions)
    out = pd.DataFrame(meta)
    out["x2"] = mi
    out["df"] = 1
    out["pvalue"] = special.chdtrc(1, mi)
    out["epc"] = epc
    return out


def modindices(fit, *, sort: bool = False, free_only: bool = False) -> pd.DataFrame:
    """Modification indices for parameters not in the model (lavaan's ``modindices``).

    Candidates: cross-loadings (``=~``), residual covariances of observed variables and
    covariances of latent variables (``~~``) absent from the model, in each group. With groups,
    releases of across-group equality constraints are appended (``op`` as in the model,
    from :func:`score_test`). ``mi`` is the score statistic (1 df), ``epc`` the expected
    parameter change, ``sepc_all`` its completely standardized value. ``free_only=True``
    leaves the equality releases out (only parameters absent from the model).
    """
    struct = fit.estimation.structure
    frame = fit.estimation.partable.frame
    ov, lv = struct.ov_names, struct.lv_names
    ov_pos = {v: i for i, v in enumerate(ov)}
    eta_pos = {v: i for i, v in enumerate(struct.eta_names)}
    phantom = set(struct.phantoms)
    directions, meta = [], []
    for g in range(struct.ngroups):
        sub = frame[frame["group"] == g + 1]
        present = set(zip(sub["lhs"], sub["op"], sub["rhs"]))
        present |= {(r, o, le) for le, o, r in present if o == "~~"}
        for f in lv:
            for v in ov:
                if (f, "=~", v) in present or v in phantom:
                    continue
                directions.append([(g, "L", ov_pos[v], eta_pos[f])])
                meta.append((f, "=~", v, g))
        plain = [v for v in ov if v not in phantom]
        for a in range(len(plain)):
            for b in range(a + 1, len(plain)):
                va, vb = plain[a], plain[b]
                if (va, "~~", vb) in present:
                    continue
                i, j = ov_pos[va], ov_pos[vb]
                directions.append([(g, "T", max(i, j), min(i, j))])
                meta.append((va, "~~", vb, g))
        for a in range(len(lv)):
            for b in range(a + 1, len(lv)):
                if (lv[a], "~~", lv[b]) in present:
                    continue
                i, j = eta_pos[lv[a]], eta_pos[lv[b]]
                directions.append([(g, "P", max(i, j), min(i, j))])
                meta.append((lv[a], "~~", lv[b], g))
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
    out = pd.DataFrame(columns=cols)
    if directions:
        mi, epc = _lm_tests(fit, directions)
        records = []
        for (lhs, op, rhs, g), m, e in zip(meta, mi, epc):
            imp = fit.estimation.implied[g]
            sig = np.sqrt(np.clip(np.diag(imp.sigma), 0, None))
            lat = np.sqrt(np.clip(np.diag(imp.C), 0, None))
            if op == "=~":
                s_lv = e * lat[eta_pos[lhs]]
                s_all = s_lv / sig[ov_pos[rhs]]
            elif lhs in eta_pos and rhs in eta_pos and lhs in lv:
                s_lv = s_all = e / (lat[eta_pos[lhs]] * lat[eta_pos[rhs]])
            else:
                s_lv = e
                imp = fit.estimation.implied[g]
                ta, tb = imp.T[ov_pos[lhs], ov_pos[lhs]], imp.T[ov_pos[rhs], ov_pos[rhs]]
                s_all = e / np.sqrt(ta * tb) if ta > 0 and tb > 0 else np.nan
            records.append({"lhs": lhs, "op": op, "rhs": rhs,
                            "group": fit.group_labels[g] if fit.n_groups > 1 else 1,
                            "mi": m, "epc": e, "sepc_lv": s_lv, "sepc_all": s_all})
        out = pd.DataFrame(records, columns=cols)
    if fit.n_groups > 1 and not free_only:
        sc = score_test(fit)
        if len(sc):
            extra = pd.DataFrame({"lhs": sc["lhs"], "op": sc["op"], "rhs": sc["rhs"],
                                  "group": sc["group"], "mi": sc["x2"], "epc": sc["epc"],
                                  "sepc_lv": np.nan, "sepc_all": np.nan})
            extra["constraint"] = "release equality " + sc["label"]
            out = pd.concat([out.assign(constraint=""), extra], ignore_index=True)
    if sort:
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    return out
