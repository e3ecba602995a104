"""Yuan-Bentler (Mplus variant) scaling of the chi-square, as lavaan's MLR test."""

from __future__ import annotations

import numpy as np

from connection.latent.estimate import Moments, Problem, _group_grad_info, _moment_scores

__all__ = ["yb_mplus_traces", "h1_information"]


def _vech_basis(p: int) -> np.ndarray:
    rows, cols = np.tril_indices(p)
    basis = np.zeros((len(rows), p, p))
    k = np.arange(len(rows))
    basis[k, rows, cols] = 1.0
    basis[k, cols, rows] = 1.0
    return basis


def h1_information(st, meanstructure: bool):
    """Unstructured (h1) expected information and first-order information, per case."""
    p = len(st.cov)
    basis = _vech_basis(p)
    dmu_cov = np.zeros((len(basis), p))
    if meanstructure:
        ds = np.concatenate([np.zeros((p, p, p)), basis])
        dmu = np.concatenate([np.eye(p), dmu_cov])
    else:
        ds, dmu = basis, None
    mo = Moments(st.cov, st.mean, ds, dmu)
    _, info = _group_grad_info(st, mo, meanstructure, True)
    a1 = 0.5 * info
    b1 = _moment_scores(st.data, st.cov, st.mean, ds, dmu, 20_000, crossprod=True,
                        weights=st.score_weights) / st.n
    return a1, b1


def _traces_h1(fit):
    out = []
    for st in fit.estimation.stats:
        if getattr(st, "h1_problem", None) is not None:  # FIML: observed h1 information
            prob, th = st.h1_problem, st.h1_theta
            a1 = 0.5 * prob.hessian(th)
            b1 = prob.score_crossprods(th)[0] / st.n
        else:
            a1, b1 = h1_information(st, fit.meanstructure)
        full = np.trace(np.linalg.solve(a1, b1))
        keep = _non_x_moments(fit, len(st.cov))
        if keep is not None:  # fixed.x: the x-only moments are not part of the test (lavaan)
            a1, b1 = a1[np.ix_(keep, keep)], b1[np.ix_(keep, keep)]
        out.append((np.trace(np.linalg.solve(a1, b1)), a1.shape[0], full))
    return out


def _non_x_moments(fit, p: int):
    """Indices of the (mu, vech Sigma) moments not made only of fixed.x covariates."""
    if not fit.estimation.partable.ov_x:
        return None
    xi = {fit.estimation.partable.ov_names.index(v) for v in fit.estimation.partable.ov_x}
    rows, cols = np.tril_indices(p)
    cov_keep = [k for k, (i, j) in enumerate(zip(rows, cols)) if not (i in xi and j in xi)]
    if fit.meanstructure:
        mean_keep = [i for i in range(p) if i not in xi]
        return np.array(mean_keep + [p + k for k in cov_keep])
    return np.array(cov_keep)


def _trace_h0(problem: Problem, theta, info_obs_unit) -> float:
    cross = problem.score_crossprods(theta)
    try:
        e_inv = np.linalg.inv(info_obs_unit)
    except np.linalg.LinAlgError:
        e_inv = np.linalg.pinv(info_obs_unit)
    total = 0.0
    for w, s, st in zip(problem.weights, cross, problem.stats):
        b0 = s / st.n
        total += w * np.sum(b0 * e_inv.T)
    return total


def _baseline_problem(fit) -> tuple[Problem, np.ndarray]:
    p = fit.estimation.structure.p
    ms = fit.meanstructure
    per = p * (2 if ms else 1)
    eye = np.eye(p)
    diag_basis = np.zeros((p, p, p))
    diag_basis[np.arange(p), np.arange(p), np.arange(p)] = 1.0
    q_all = per * len(fit.estimation.stats)
    zero = np.zeros((q_all, q_all))

    def moments(theta, deriv):
        out = []
        for g, st in enumerate(fit.estimation.stats):
            t = theta[g * per:(g + 1) * per]
            sigma = np.diag(t[:p])
            mu = t[p:] if ms else st.mean
            if not deriv:
                out.append(Moments(sigma, mu))
                continue
            q = per * len(fit.estimation.stats)
            ds = np.zeros((q, p, p))
            ds[g * per:g * per + p] = diag_basis
            dmu = None
            if ms:
                dmu = np.zeros((q, p))
                dmu[g * per + p:(g + 1) * per] = eye
            out.append(Moments(sigma, mu, ds, dmu, lambda w, r: zero))
        return out

    if fit.missing == "ml":
        from connection.latent.missing import FimlProblem, available_moments

        # each variable's available-case variance and mean, from the missing-data patterns
        avail = [available_moments(st.patterns, p) for st in fit.estimation.stats]
        theta = np.concatenate([np.concatenate([var, mean]) for _, mean, var in avail])
        return FimlProblem(moments, fit.estimation.stats, len(theta)), theta
    theta = np.concatenate([np.concatenate([np.diag(st.cov), st.mean if ms else []])
                            for st in fit.estimation.stats])
    return Problem(moments, fit.estimation.stats, len(theta), ms), theta


def yb_mplus_traces(fit, df, bdf):
    """Return (c, c_h1, c_h0, c_baseline) for lavaan's ``yuan.bentler.mplus`` test."""
    h1 = _traces_h1(fit)
    trace_h1 = sum(t for t, _, _ in h1)
    ndat = sum(k for _, k, _ in h1)
    trace_h1_full = sum(t for _, _, t in h1)  # the baseline model (lavaan) uses all moments
    trace_h0 = _trace_h0(fit.estimation.problem, fit.estimation.theta, fit.estimation.observed_info)
    c = (trace_h1 - trace_h0) / df if df > 0 else np.nan
    if not np.isfinite(c) or c <= 0:  # lavaan: a negative scaling factor is NA
        c = np.nan
    bprob, btheta = _baseline_problem(fit)
    binfo = 0.5 * bprob.hessian(btheta)
    trace_b = _trace_h0(bprob, btheta, binfo)
    bc = (trace_h1_full - trace_b) / bdf if bdf > 0 else np.nan
    if not np.isfinite(bc) or bc <= 0:
        bc = np.nan
    # lavaan divides by nx.free: free parameters counted before equality constraints
    nx_free = int(np.sum(fit.estimation.structure.free >= 0))
    return c, trace_h1 / ndat, trace_h0 / nx_free, bc
