"""Estimation from sufficient statistics: ML discrepancy, analytic gradient, Fisher scoring,
information matrices, sandwich (MLR) and the Yuan-Bentler (Mplus variant) scaling.

Conventions follow lavaan 0.6: the sample covariance divides by N; the ML discrepancy of group
g is ``F_g = log|Sigma| + tr(S Sigma^-1) - log|S| - p (+ (m - mu)' Sigma^-1 (m - mu))``, the
total is ``F = sum_g (n_g / N) F_g``, lavaan's ``fmin = F / 2`` and ``chisq = N F``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

__all__ = ["GroupStats", "Moments", "Problem", "fisher_scoring", "ml_discrepancy"]


@dataclass
class GroupStats:
    """Sufficient statistics of one group (covariance with divisor n), and the rows if kept."""

    n: int
    mean: np.ndarray
    cov: np.ndarray
    data: np.ndarray | None = None  # complete rows (listwise) for casewise scores
    logdet: float = np.nan
    # sampling weights of the rows (lavaan's ``sampling.weights``, normalised to sum to the
    # total N over the groups): ``mean``/``cov`` are then the weighted moments (divisor the sum
    # of the weights), ``n`` is the sum of the weights (lavaan's ``SampleStats@nobs``: the
    # group's share of the discrepancy), ``n_rows`` the rows, and the casewise scores are
    # weighted; None: unweighted
    case_weights: np.ndarray | None = None
    n_rows: int | None = None

    def __post_init__(self):
        chol, info = lapack.dpotrf(self.cov, lower=1, clean=0)
        if info == 0 and np.isfinite(self.cov).all():  # positive definite: log|S| from L
            self.logdet = 2.0 * float(np.log(chol.diagonal()).sum())
            return
        sign, logdet = np.linalg.slogdet(self.cov)
        self.logdet = float(logdet) if sign > 0 else -np.inf

    @property
    def rows(self) -> int:
        """The rows of the group (``n``, unless weighted)."""
        return int(self.n) if self.n_rows is None else self.n_rows

    @property
    def score_weights(self) -> np.ndarray | None:
        """Weights of the casewise scores (the sampling weights: the cross-product of the
        weighted scores over ``n``, the sum of the weights, is lavaan's first-order
        information ``crossprod(w s) / sum(w)``); None when unweighted."""
        return self.case_weights


@dataclass
class Moments:
    """Implied moments of one group with their Jacobians w.r.t. the free parameters."""

    sigma: np.ndarray
    mu: np.ndarray
    dsigma: np.ndarray | None = None  # (q, p, p)
    dmu: np.ndarray | None = None  # (q, p) or None without a mean structure
    second: Callable | None = None  # (W, r) -> q x q second-order term of the Hessian
    # low-rank form: dSigma_row = a b' + b a', dmu_row = m, for free rows mapped to index k
    lowrank: tuple | None = None  # (A p x R, B p x R, M p x R or None, k (R,), q)
    dense_fn: Callable | None = None  # () -> (dsigma, dmu)

    def dense(self):
        """Dense Jacobians (q x p x p, q x p), computed on first use."""
        if self.dsigma is None and self.dense_fn is not None:
            self.dsigma, self.dmu = self.dense_fn()
        return self.dsigma, self.dmu

    def subset(self, o: np.ndarray) -> Moments:
        """The moments of the variables ``o`` (for a missing-data pattern)."""
        sig = self.sigma[np.ix_(o, o)]
        if self.lowrank is not None:
            a, b, m, k, q, oh = self.lowrank
            return Moments(sig, self.mu[o], lowrank=(a[o], b[o], None if m is None else m[o],
                                                     k, q, oh))
        ds, dm = self.dense()
        return Moments(sig, self.mu[o], ds[:, o][:, :, o], None if dm is None else dm[:, o])


class Problem:
    """A model as a map theta -> per-group moments, fitted to per-group statistics by ML."""

    def __init__(self, moments: Callable, stats: list[GroupStats], npar: int,
                 meanstructure: bool):
        self.moments = moments  # (theta, derivatives: bool) -> list[Moments]
        self.stats = stats
        self.npar = npar
        self.meanstructure = meanstructure
        self.ntotal = int(round(sum(s.n for s in stats)))
        self.weights = np.array([s.n / self.ntotal for s in stats])

    # -------------------------------------------------------------- discrepancy
    def objective(self, theta) -> float:
        try:
            mom = self.moments(theta, False)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return np.inf
        total = 0.0
        for w, st, mo in zip(self.weights, self.stats, mom):
            f = ml_discrepancy(st, mo, self.meanstructure)
            if not np.isfinite(f):
                return np.inf
            total += w * f
        return total

    def has_second_order(self, theta) -> bool:
        return all(mo.second is not None for mo in self.moments(theta, True))

    def group_discrepancies(self, theta) -> np.ndarray:
        mom = self.moments(theta, False)
        return np.array([ml_discrepancy(st, mo, self.meanstructure)
                         for st, mo in zip(self.stats, mom)])

    def gradient_and_information(self, theta, *, information: bool = True):
        """Gradient of F and its expected Hessian E (so that vcov = 2/N E^-1)."""
        mom = self.moments(theta, True)
        q = self.npar
        grad = np.zeros(q)
        info = np.zeros((q, q)) if information else None
        for w, st, mo in zip(self.weights, self.stats, mom):
            g, e = _group_grad_info(st, mo, self.meanstructure, information)
            grad += w * g
            if information:
                info += w * e
        return grad, info

    def gradient(self, theta) -> np.ndarray:
        return self.gradient_and_information(theta, information=False)[0]

    def gradient_and_hessian(self, theta):
        """Gradient, expected Hessian E and exact (observed) Hessian of F."""
        mom = self.moments(theta, True)
        q = self.npar
        grad, info, hess = np.zeros(q), np.zeros((q, q)), np.zeros((q, q))
        for w, st, mo in zip(self.weights, self.stats, mom):
            g, e, h = _group_hessian(st, mo, self.meanstructure)
            grad += w * g
            info += w * e
            hess += w * h
        return grad, info, hess

    def hessian(self, theta, step: float = 1e-5) -> np.ndarray:
        """Observed Hessian of F (analytic when available, else central differences)."""
        mom = self.moments(theta, True)
        if all(mo.second is not None for mo in mom):
            return self.gradient_and_hessian(theta)[2]
        return self.numeric_hessian(theta, step)

    def numeric_hessian(self, theta, step: float = 1e-5) -> np.ndarray:
        """Observed Hessian of F by central differences of the analytic gradient."""
        q = self.npar
        hess = np.zeros((q, q))
        for k in range(q):
            h = step * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            hess[:, k] = (self.gradient(tp) - self.gradient(tm)) / (2 * h)
        return 0.5 * (hess + hess.T)

    # -------------------------------------------------------------- casewise scores
    def score_crossprods(self, theta, chunk: int = 20_000) -> list[np.ndarray]:
        """Per group, the sum over cases of s_i s_i' (q x q), accumulated chunk by chunk."""
        mom = self.moments(theta, True)
        out = []
        for st, mo in zip(self.stats, mom):
            if st.data is None:
                raise ValueError("casewise scores need the raw data")
            mu = mo.mu if self.meanstructure else st.mean
            out.append(moment_scores(st.data, mo, mu, self.meanstructure, chunk,
                                     crossprod=True, weights=st.score_weights))
        return out

    def casewise_scores(self, theta, chunk: int = 50_000) -> list[np.ndarray]:
        """Scores of each case's log-likelihood w.r.t. theta, per group (n_g x q)."""
        mom = self.moments(theta, True)
        out = []
        for st, mo in zip(self.stats, mom):
            if st.data is None:
                raise ValueError("casewise scores need the raw data")
            mu = mo.mu if self.meanstructure else st.mean
            out.append(moment_scores(st.data, mo, mu, self.meanstructure, chunk,
                                     weights=st.score_weights))
        return out


_CHOL_CACHE: list = []  # the last few (sigma, result): the line search and the next
# iteration factor the same implied matrix (the same array object)


def _chol_inverse(sigma):
    """(lower Cholesky factor, its inverse, Sigma^-1, log|Sigma|) or None if not PD."""
    for arr, res in _CHOL_CACHE:
        if arr is sigma:
            return res
    res = _chol_inverse_compute(sigma)
    _CHOL_CACHE.insert(0, (sigma, res))
    del _CHOL_CACHE[8:]
    return res


def _chol_inverse_compute(sigma):
    if not np.isfinite(sigma).all():
        return None
    chol, info = lapack.dpotrf(sigma, lower=1, clean=1)
    if info != 0:
        return None
    inv_l, info = lapack.dtrtri(chol, lower=1)
    if info != 0:
        return None
    sinv = inv_l.T @ inv_l
    return chol, inv_l, sinv, 2.0 * float(np.log(chol.diagonal()).sum())


_SCHOL_CACHE: list = []  # (sample covariance, its lower Cholesky factor or None)


def _sample_chol(cov):
    """Lower Cholesky factor of a sample covariance matrix (cached by identity), or None."""
    for arr, res in _SCHOL_CACHE:
        if arr is cov:
            return res
    chol, info = lapack.dpotrf(cov, lower=1, clean=1)
    res = chol if info == 0 and np.isfinite(cov).all() else None
    _SCHOL_CACHE.insert(0, (cov, res))
    del _SCHOL_CACHE[4:]
    return res


def ml_discrepancy(st: GroupStats, mo: Moments, meanstructure: bool) -> float:
    res = _chol_inverse(mo.sigma)
    if res is None:
        return np.inf
    chol, inv_l, sinv, logdet = res
    p = len(chol)
    f = logdet + (sinv * st.cov).sum() - st.logdet - p
    if meanstructure:
        d = st.mean - mo.mu
        f += d @ sinv @ d
    return float(f)


def _group_grad_info(st: GroupStats, mo: Moments, meanstructure: bool, information: bool):
    if mo.lowrank is not None:
        g, e, _, _, _ = _lowrank_core(st.cov, st.mean, mo, meanstructure, hessian=False)
        return g, e
    res = _chol_inverse(mo.sigma)
    if res is None:
        raise np.linalg.LinAlgError("implied covariance matrix not positive definite")
    chol, inv_l, sinv, _ = res
    dsig = mo.dsigma
    q = dsig.shape[0]
    if meanstructure:
        d = st.mean - mo.mu
        r = sinv @ d
        wm = sinv - sinv @ (st.cov + np.outer(d, d)) @ sinv
    else:
        wm = sinv - sinv @ st.cov @ sinv
    grad = np.einsum("kij,ij->k", dsig, wm, optimize=True)
    if meanstructure:
        grad -= 2.0 * (mo.dmu @ r)
    info = None
    if information:
        m = inv_l @ dsig @ inv_l.T  # (q, p, p) symmetric
        flat = m.reshape(q, -1)
        info = flat @ flat.T
        if meanstructure:
            u = mo.dmu @ inv_l.T
            info += 2.0 * (u @ u.T)
    return grad, info


def _group_hessian(st: GroupStats, mo: Moments, meanstructure: bool):
    grad, info, hess, w, r = hessian_core(st.cov, st.mean, mo, meanstructure)
    if mo.second is not None:
        hess += mo.second(w, r)
    return grad, info, hess


def hessian_core(cov, mean, mo: Moments, meanstructure: bool):
    """Gradient, expected and observed Hessian of one group's ML discrepancy, without the
    term that involves second derivatives of the moments; also returns W and r, the
    weights of that term (see :func:`connection.latent.model.second_order_term`)."""
    if mo.lowrank is not None:
        return _lowrank_core(cov, mean, mo, meanstructure, hessian=True)
    res = _chol_inverse(mo.sigma)
    if res is None:
        raise np.linalg.LinAlgError("implied covariance matrix not positive definite")
    _, inv_l, v, _ = res
    dsig = mo.dsigma
    q = dsig.shape[0]
    r, pm, w = _residual_weights(cov, mean, mo, v, meanstructure)
    grad = np.einsum("kij,ij->k", dsig, w, optimize=True)
    m = inv_l @ dsig @ inv_l.T
    flat = m.reshape(q, -1)
    info = flat @ flat.T
    vs = v @ dsig  # (q, p, p)
    ps = pm @ dsig
    vs_t = vs.transpose(0, 2, 1).reshape(q, -1)
    hess = -(info) + 2.0 * (ps.reshape(q, -1) @ vs_t.T)
    if meanstructure:
        grad -= 2.0 * (mo.dmu @ r)
        u = mo.dmu @ inv_l.T
        e_mean = 2.0 * (u @ u.T)
        info += e_mean
        dv = mo.dmu @ v  # (q, p): mu_l' V
        cross = 2.0 * (dv @ (dsig @ r).T)  # [l, k] = mu_l' V Sigma_k V d
        hess += e_mean + cross + cross.T
    hess = 0.5 * (hess + hess.T)
    return grad, info, hess, w, r



def _residual_weights(cov, mean, mo: Moments, v, meanstructure: bool):
    """``(r, P, W)`` of the ML gradient: r = V d (None without a mean structure), P = V S~ V and
    W = V - P, with S~ = S + d d' (d = mean - mu) or S."""
    if meanstructure:
        d = mean - mo.mu
        r = v @ d
        s_tilde = cov + np.outer(d, d)
    else:
        r = None
        s_tilde = cov
    pm = v @ s_tilde @ v
    return r, pm, v - pm


def _lowrank_core(cov, mean, mo: Moments, meanstructure: bool, hessian: bool,
                  aggregate: bool = True):
    """As :func:`hessian_core`, with dSigma_r = a_r b_r' + b_r a_r' (O(p^2 R) work)."""
    a, b, dm, k, q, oh = mo.lowrank
    res = _chol_inverse(mo.sigma)
    if res is None:
        raise np.linalg.LinAlgError("implied covariance matrix not positive definite")
    v = res[2]
    r, pm, w = _residual_weights(cov, mean, mo, v, meanstructure)
    R = a.shape[1]
    ab = np.concatenate((a, b), axis=1)  # one product gives a'Va, a'Vb and b'Vb
    chol_s = _sample_chol(cov) if hessian else None
    if chol_s is not None:
        # V = L^-T L^-1 and S = C C': ab' V ab = Y'Y and ab' V S V ab = Z'Z (+ u u' for the
        # mean term), Y = L^-1 ab, Z = (L^-1 C)' Y -- symmetric products (BLAS syrk)
        inv_l = res[1]
        y = inv_l @ ab
        g_v = y.T @ y
        z = (inv_l @ chol_s).T @ y
        g_p = z.T @ z
        if meanstructure:
            u = ab.T @ r
            g_p += np.outer(u, u)
    else:
        g_v = ab.T @ (v @ ab)
        g_p = ab.T @ (pm @ ab) if hessian else None
    ava, avb, bvb = g_v[:R, :R], g_v[:R, R:], g_v[R:, R:]
    if hessian:
        apa, apb, bpb = g_p[:R, :R], g_p[:R, R:], g_p[R:, R:]
        grad_rows = 2.0 * (avb.diagonal() - apb.diagonal())  # 2 a_r' W b_r
    else:
        grad_rows = 2.0 * (a * (w @ b)).sum(axis=0)
    avb_t = avb.T
    e_cov = 2.0 * (ava * bvb + avb * avb_t)
    info_rows = e_cov
    if meanstructure:
        vm = v @ dm
        grad_rows = grad_rows - 2.0 * (dm.T @ r)
        e_mean = 2.0 * (dm.T @ vm)
        info_rows = e_cov + e_mean
    if not aggregate:
        grad, info = grad_rows, info_rows
    else:
        grad = oh.vec(grad_rows)
        info = oh.mat(info_rows)
    hess = None
    if hessian:
        x = apb * avb_t
        t = x + x.T + bpb * ava + apa * bvb
        h_rows = 2.0 * t - e_cov
        if meanstructure:
            mva, mvb = vm.T @ a, vm.T @ b
            ar, br = a.T @ r, b.T @ r
            cross = 2.0 * (mva * br[None, :] + mvb * ar[None, :])
            h_rows += e_mean + cross + cross.T
        if meanstructure or chol_s is None:
            # (with the symmetric products and no mean term, h_rows is exactly symmetric)
            h_rows = 0.5 * (h_rows + h_rows.T)
        hess = oh.mat(h_rows) if aggregate else h_rows
    return grad, info, hess, w, r


def moment_scores(data, mo: Moments, mu, meanstructure: bool, chunk: int = 50_000,
                  crossprod: bool = False, weights=None):
    """Casewise scores of the log-likelihood w.r.t. the free parameters (n x q), or with
    ``crossprod=True`` their cross-product sum (q x q) without holding all of them; each
    case's scores times its weight when ``weights`` are given."""
    if mo.lowrank is None:
        ds, dm = mo.dense()
        return _moment_scores(data, mo.sigma, mu, ds, dm if meanstructure else None, chunk,
                              crossprod, weights)
    a, b, dm, k, q, agg = mo.lowrank
    sinv = np.linalg.inv(mo.sigma)
    sinv = 0.5 * (sinv + sinv.T)
    tr_rows = np.einsum("ir,ir->r", a, sinv @ b)  # a' V b = 0.5 tr(V dSigma)
    n = data.shape[0]
    out = np.zeros((q, q)) if crossprod else np.empty((n, q))
    for start in range(0, n, chunk):
        z = (data[start:start + chunk] - mu) @ sinv
        srow = (z @ a) * (z @ b) - tr_rows
        if meanstructure and dm is not None:
            srow += z @ dm
        sc = agg.rows(srow)
        if weights is not None:
            sc = sc * weights[start:start + chunk, None]
        if crossprod:
            out += sc.T @ sc
        else:
            out[start:start + chunk] = sc
    return out


def _moment_scores(data, sigma, mu, dsigma, dmu, chunk, crossprod=False, weights=None):
    """Casewise scores: 0.5 (z' dS z - tr(S^-1 dS)) + z' dmu, z = Sigma^-1 (y - mu)."""
    sinv = np.linalg.inv(sigma)
    sinv = 0.5 * (sinv + sinv.T)
    q, p = dsigma.shape[0], dsigma.shape[1]
    ds_flat = dsigma.reshape(q, p * p).T  # (p^2, q)
    tr_term = np.einsum("ij,kji->k", sinv, dsigma)
    n = data.shape[0]
    chunk = max(1, min(chunk, 4_000_000 // max(p * p, 1)))
    out = np.zeros((q, q)) if crossprod else np.empty((n, q))
    for start in range(0, n, chunk):
        y = data[start:start + chunk] - mu
        z = y @ sinv
        zz = (z[:, :, None] * z[:, None, :]).reshape(len(z), p * p)
        s = 0.5 * (zz @ ds_flat - tr_term)
        if dmu is not None:
            s += z @ dmu.T
        if weights is not None:
            s *= weights[start:start + chunk, None]
        if crossprod:
            out += s.T @ s
        else:
            out[start:start + chunk] = s
    return out


def _solve_fisher(info, grad):
    _, step, fail = lapack.dposv(info, grad, lower=1)
    if fail != 0:
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
    return step


# The stall criterion: the iterations make no progress, so a hopeless fit (far more parameters
# than a handful of rows support, an estimate drifting off to infinity) stops early with a
# non-convergence instead of running to max_iter. Over the last _STALL_WINDOW iterations the
# accepted discrepancy F either (a) fell by less than 1e-10 (relative to 1 + |F|), or (b) fell by
# less than 1e-2 and by at least a quarter of its fall over the window before: no fast
# geometric convergence (a rate >= 0.973 per iteration needs ~850 iterations per 1e-10).
# A converging fit ends by the Newton-decrement rule long before either fires.
_STALL_WINDOW = 50
_STALL_NONE = 1e-10
_STALL_DRIFT = 1e-2


def _stalled(history: list) -> bool:
    """True when the accepted discrepancies ``history`` show no progress (see above)."""
    w = _STALL_WINDOW
    if len(history) <= w:
        return False
    f = history[-1]
    scale = 1.0 + abs(f)
    last = history[-1 - w] - f
    if last <= _STALL_NONE * scale:
        return True
    if len(history) <= 2 * w:
        return False
    before = history[-1 - 2 * w] - history[-1 - w]
    return last <= _STALL_DRIFT * scale and last >= 0.25 * before


def _steps(grad, info, hess):
    """The candidate steps of one iteration: the Newton step when the Hessian is positive
    definite (Cholesky), then the Fisher-scoring step (``None``: computed only if needed)."""
    steps = []
    if hess is not None:
        _, step, fail = lapack.dposv(hess, grad, lower=1)  # Cholesky: PD Hessian only
        if fail == 0:
            steps.append((step, True))
    steps.append((None, False))
    return steps


def _iterate(problem, theta, f, grad, info, hess):
    """One iteration: ``("converged", theta, None)``, ``("improved", candidate, F)`` or
    ``("failed", None, None)`` when no step decreases the discrepancy."""
    for step, is_newton in _steps(grad, info, hess):
        if step is None:
            step = _solve_fisher(info, grad)
        if not np.isfinite(step).all():
            continue
        # scale-free stopping rules: the predicted decrease of F (the Newton decrement)
        # and the size of each parameter's step relative to the parameter
        decrement = float(grad @ step)
        small = bool((np.abs(step) < 1e-6 * (1 + np.abs(theta))).all())
        if decrement < 1e-16 or (is_newton and small):
            # quadratic convergence: the remaining error is O(step^2)
            return "converged", theta - step, None
        if is_newton and 0 < decrement < 1e-10:
            # deep in the quadratic region: the full step decreases F (by ~decrement / 2)
            return "improved", theta - step, f - 0.5 * decrement
        alpha = 1.0
        for _ in range(30):  # step halving
            cand = theta - step if alpha == 1.0 else theta - alpha * step
            fc = problem.objective(cand)
            if np.isfinite(fc) and fc <= f + 1e-14 * max(1.0, abs(f)):
                return "improved", cand, fc
            alpha *= 0.5
    return "failed", None, None


def _finish(problem, theta, it, stalled, max_iter):
    """After the iterations: converged if the gradient vanishes, else say why not, else the
    L-BFGS-B fallback on the same objective."""
    grad = problem.gradient(theta)
    if np.max(np.abs(grad)) < 1e-7:
        return theta, True, it, "converged"
    if stalled:
        return theta, False, it, (f"stalled: no progress over the last {_STALL_WINDOW} "
                                  "iterations")
    if it >= max_iter:
        return theta, False, it, f"iteration limit ({max_iter}) reached"
    from scipy.optimize import minimize

    res = minimize(problem.objective, theta, jac=problem.gradient, method="L-BFGS-B",
                   options=dict(maxiter=5000, ftol=1e-15, gtol=1e-9))
    theta = res.x
    grad = problem.gradient(theta)
    ok = bool(np.isfinite(res.fun) and np.max(np.abs(grad)) < 1e-4)
    return theta, ok, it + int(res.nit), ("converged" if ok else
                                          f"optimiser stopped: {res.message}")


def fisher_scoring(problem: Problem, theta0: np.ndarray, *, max_iter: int = 500,
                   tol: float = 1e-9):
    """Newton (exact Hessian) / Fisher-scoring iterations with step halving.

    Each iteration tries the Newton step when the Hessian is positive definite, else (or if
    it does not decrease the discrepancy) the Fisher-scoring step. Converged when the step
    is below ``1e-6`` relative to each parameter after a Newton step (quadratic convergence:
    the error is then far below that) or the predicted decrease of the discrepancy is below
    1e-16 (both rules are free of the variables' scales). Falls back to L-BFGS-B when no step
    improves. Returns (theta, converged, iterations, message).
    """
    theta = np.asarray(theta0, dtype=float).copy()
    f = problem.objective(theta)
    if not np.isfinite(f):
        return theta, False, 0, "the starting values imply a covariance matrix that is not " \
                                "positive definite"
    it = 0
    history = [f]
    stalled = False
    newton = hasattr(problem, "gradient_and_hessian") and problem.has_second_order(theta)
    for it in range(1, max_iter + 1):
        if newton:
            grad, info, hess = problem.gradient_and_hessian(theta)
        else:
            grad, info = problem.gradient_and_information(theta)
            hess = None
        if not grad.any():
            return theta, True, it, "converged"
        status, cand, fc = _iterate(problem, theta, f, grad, info, hess)
        if status == "converged":
            return cand, True, it, "converged"
        if status == "failed":
            break
        if not newton:
            delta = np.abs(cand - theta)
            theta, f = cand, fc
            if (delta < tol * (1 + np.abs(theta))).all():
                return theta, True, it, "converged"
        else:
            theta, f = cand, fc
        history.append(f)
        if _stalled(history):
            stalled = True
            break
    return _finish(problem, theta, it, stalled, max_iter)


# ---------------------------------------------------------------------------- ordinal (DWLS)
@dataclass
class OrdinalStats(GroupStats):
    """Sample statistics of one group of ordinal indicators (lavaan's for ``ordered=``): the
    thresholds and polychoric correlations (``wls_obs``, lavaan's ``wls.obs`` order: the
    thresholds item by item, then the correlations below the diagonal column by column),
    their asymptotic covariance ``gamma`` (N times, lavaan's ``NACOV``) and the weights ``w``
    of the discrepancy (``1 / diag(gamma)`` for DWLS/WLSMV, ones for ULS/ULSMV). ``cov`` is the
    polychoric correlation matrix, ``mean`` zeros."""

    wls_obs: np.ndarray | None = None
    gamma: np.ndarray | None = None
    w: np.ndarray | None = None
    th_item: np.ndarray | None = None   # the item (position) of each threshold
    pairs: tuple | None = None          # (ia, ib): the correlations' positions, lavaan's order
    polychoric: object = None           # the PolychoricResult behind these statistics
    # with continuous variables (lavaan's mix): which entries of the first block are minus a
    # continuous variable's mean (the others are thresholds), the continuous variables (their
    # variances follow the first block); None when every variable is ordinal
    th_num: np.ndarray | None = None
    var_idx: np.ndarray | None = None
    # conditional on exogenous covariates (lavaan's conditional.x = TRUE): the outcomes' and
    # covariates' positions; the slopes (covariate by covariate) follow the first block
    y_idx: np.ndarray | None = None
    x_idx: np.ndarray | None = None

    @property
    def n_th(self) -> int:
        """Entries of the first block (thresholds, and minus the means of continuous ones)."""
        return len(self.th_item)

    @property
    def n_uni(self) -> int:
        """The univariate statistics (first block and variances): what the baseline fits."""
        return self.n_th + self.n_slopes + (0 if self.var_idx is None else len(self.var_idx))

    @property
    def n_slopes(self) -> int:
        return 0 if self.x_idx is None else len(self.x_idx) * len(self.y_idx)


class DwlsProblem:
    """The (diagonally) weighted least-squares discrepancy of ordinal indicators (lavaan's
    DWLS/ULS, behind WLSMV/ULSMV): ``F = sum_g ((n_g - 1) / N) F_g``, ``F_g = (s_g -
    sigma_g)' W_g (s_g - sigma_g)`` over the thresholds and polychoric correlations: lavaan
    0.6.14 minimises ``sum_g (n_g / N) 0.5 (n_g - 1) / n_g F_g`` (its ``fmin``, ``F / 2``;
    ``lav_model_objective``), so under constraints across groups each group counts as
    ``n_g - 1`` (``fit_weights``), not ``n_g``. The information (Gauss-Newton, for the steps
    and the standard errors) is lavaan's ``2 sum_g (n_g / N) D_g' W_g D_g`` (``weights``;
    ``D`` = :meth:`delta`, the Jacobian of the model's thresholds and correlations).

    ``scales``: None (every scale fixed at 1) or ``(theta -> per group the scales (p,), per
    group d scales / d theta (p x q))``: lavaan's delta parameterization with free scales
    ``~*~`` (other groups under equal thresholds), where the model's thresholds are
    ``delta (tau - mu)`` and its correlations ``delta_i delta_j sigma_ij``."""

    def __init__(self, moments: Callable, stats: list, npar: int, meanstructure: bool,
                 tau: Callable, tau_jac: list, scales=None, theta_idx=None):
        self.moments = moments
        self.stats = stats
        self.npar = npar
        self.meanstructure = meanstructure
        self.tau = tau              # theta -> per group: the threshold parameters (n_th,)
        self.tau_jac = tau_jac      # per group: d tau / d theta (n_th x q)
        self.ntotal = int(round(sum(s.n for s in stats)))
        self.weights = np.array([s.n / self.ntotal for s in stats])
        self.fit_weights = np.array([(s.n - 1) / self.ntotal for s in stats])
        self.scales = scales
        # theta parameterization: the positions of the ordinal variables, whose scales are
        # 1 / sqrt(sigma_ii) (their residual variances are parameters); None for delta
        self.theta_idx = theta_idx
        self.mixed = any(st.th_num is not None for st in stats) or theta_idx is not None

    def scale_values(self, theta) -> list:
        """Per group the scales of the indicators (ones when every scale is fixed at 1)."""
        if self.theta_idx is not None:
            return [self._theta_scales(_conditional(st, mo))[0]
                    for st, mo in zip(self.stats, self.moments(theta, False))]
        if self.scales is None:
            return [np.ones(len(st.cov)) for st in self.stats]
        return self.scales[0](theta)

    def _theta_scales(self, mo, deriv: bool = False):
        """Theta parameterization: the scales ``1 / sqrt(sigma_ii)`` of the ordinal variables
        (1 for continuous ones) and, with ``deriv``, their Jacobian (p x q)."""
        idx = self.theta_idx
        s = np.ones(len(mo.sigma))
        with np.errstate(invalid="ignore", divide="ignore"):  # a trial step: objective inf
            s[idx] = 1.0 / np.sqrt(np.diag(mo.sigma)[idx])
        if not deriv:
            return s, None
        ds = mo.dense()[0]
        sj = np.zeros((len(s), ds.shape[0]))
        sj[idx] = (-0.5 * s[idx] ** 3)[:, None] * ds[:, idx, idx].T
        return s, sj

    def implied_correlations(self, theta) -> list:
        """Per group the model's correlation matrix of the latent responses (unit diagonal)."""
        out = []
        for mo, s in zip(self.moments(theta, False), self.scale_values(theta)):
            r = mo.sigma * np.outer(s, s)
            np.fill_diagonal(r, 1.0)
            out.append(r)
        return out

    def implied_stats(self, theta, mom=None) -> list:
        """Per group the model's thresholds and correlations (lavaan's ``wls.est``)."""
        mom = self.moments(theta, False) if mom is None else mom
        if self.mixed:
            mom = [_conditional(st, mo) for st, mo in zip(self.stats, mom)]
            scales = ([self._theta_scales(mo)[0] for mo in mom] if self.theta_idx is not None
                      else self.scale_values(theta))
            return [_mixed_implied(st, mo, tau, s) for st, mo, tau, s in zip(
                self.stats, mom, self.tau(theta), scales)]
        out = []
        if self.scales is None:
            for st, mo, tau in zip(self.stats, mom, self.tau(theta)):
                ia, ib = st.pairs
                out.append(np.concatenate([tau - mo.mu[st.th_item], mo.sigma[ia, ib]]))
            return out
        for st, mo, tau, s in zip(self.stats, mom, self.tau(theta), self.scales[0](theta)):
            ia, ib = st.pairs
            out.append(np.concatenate([s[st.th_item] * (tau - mo.mu[st.th_item]),
                                       s[ia] * s[ib] * mo.sigma[ia, ib]]))
        return out

    def delta(self, theta) -> list:
        """Per group the Jacobian of :meth:`implied_stats` (lavaan's ``Delta``, m x q)."""
        mom = self.moments(theta, True)
        if self.mixed:
            mom = [_conditional(st, mo, deriv=True) for st, mo in zip(self.stats, mom)]
            if self.theta_idx is not None:
                ss = [self._theta_scales(mo, deriv=True) for mo in mom]
                scales, sj = [x[0] for x in ss], [x[1] for x in ss]
            else:
                scales = self.scale_values(theta)
                sj = self.scales[1] if self.scales is not None else [None] * len(self.stats)
            return [_mixed_delta(st, mo, jac, tau, s, sjg) for st, mo, jac, tau, s, sjg in zip(
                self.stats, mom, self.tau_jac, self.tau(theta), scales, sj)]
        out = []
        if self.scales is None:
            for st, mo, jac in zip(self.stats, mom, self.tau_jac):
                ds, dm = mo.dense()
                ia, ib = st.pairs
                d_th = jac - (dm[:, st.th_item].T if dm is not None else 0.0)
                out.append(np.vstack([d_th, ds[:, ia, ib].T]))
            return out
        for st, mo, jac, tau, s, sj in zip(self.stats, mom, self.tau_jac, self.tau(theta),
                                           self.scales[0](theta), self.scales[1]):
            ds, dm = mo.dense()
            ia, ib, it = st.pairs[0], st.pairs[1], st.th_item
            raw = tau - mo.mu[it]
            d_raw = jac - (dm[:, it].T if dm is not None else 0.0)
            d_th = s[it][:, None] * d_raw + raw[:, None] * sj[it]
            sig = mo.sigma[ia, ib]
            d_r = ((s[ia] * s[ib])[:, None] * ds[:, ia, ib].T
                   + sig[:, None] * (sj[ia] * s[ib][:, None] + s[ia][:, None] * sj[ib]))
            out.append(np.vstack([d_th, d_r]))
        return out

    def residuals(self, theta) -> list:
        try:
            est = self.implied_stats(theta)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return None
        return [st.wls_obs - e for st, e in zip(self.stats, est)]

    def objective(self, theta) -> float:
        res = self.residuals(theta)
        if res is None:
            return np.inf
        f = sum(wg * float(r @ (st.w * r))
                for wg, st, r in zip(self.fit_weights, self.stats, res))
        return f if np.isfinite(f) else np.inf

    def group_discrepancies(self, theta) -> np.ndarray:
        return np.array([float(r @ (st.w * r))
                         for st, r in zip(self.stats, self.residuals(theta))])

    def gradient_and_information(self, theta, *, information: bool = True):
        res = self.residuals(theta)
        q = self.npar
        grad = np.zeros(q)
        info = np.zeros((q, q)) if information else None
        for wg, fw, st, r, d in zip(self.weights, self.fit_weights, self.stats, res,
                                    self.delta(theta)):
            wd = st.w[:, None] * d
            grad -= 2.0 * fw * (wd.T @ r)
            if information:
                info += 2.0 * wg * (d.T @ wd)
        return grad, info

    def gradient(self, theta) -> np.ndarray:
        return self.gradient_and_information(theta, information=False)[0]

    def meat(self, theta) -> np.ndarray:
        """``sum_g (n_g / N) D_g' W_g Gamma_g W_g D_g`` (the middle of lavaan's robust.sem
        sandwich)."""
        out = np.zeros((self.npar, self.npar))
        for wg, st, d in zip(self.weights, self.stats, self.delta(theta)):
            wd = st.w[:, None] * d
            out += wg * (wd.T @ st.gamma @ wd)
        return out


def _mixed_implied(st, mo, tau, s) -> np.ndarray:
    """The model's statistics of ordinal and continuous variables (lavaan's ``wls.est``):
    ``s (tau - mu)`` for thresholds and ``-mu`` for a continuous variable's entry, the
    continuous variances, ``s_i s_j sigma_ij`` below the diagonal (``s`` 1 if continuous)."""
    it, num, v = _mixed_parts(st)
    first = np.where(num, -mo.mu[it], 0.0)
    first[~num] = s[it[~num]] * (tau - mo.mu[it[~num]])
    ia, ib = st.pairs
    slopes = ((s[st.y_idx][:, None] * mo.pi).ravel(order="F") if st.n_slopes
              else np.zeros(0))
    return np.concatenate([first, slopes, mo.sigma[v, v], s[ia] * s[ib] * mo.sigma[ia, ib]])


def _mixed_delta(st, mo, jac, tau, s, sj) -> np.ndarray:
    """The Jacobian of :func:`_mixed_implied` (m x q); ``sj`` d scales / d theta or None."""
    ds, dm = mo.dense()
    q = ds.shape[0]
    it, num, v = _mixed_parts(st)
    dmu = dm[:, it].T if dm is not None else np.zeros((len(it), q))
    d_first = -dmu
    tp = ~num
    d_first[tp] = s[it[tp]][:, None] * (jac - dmu[tp])
    if sj is not None:
        d_first[tp] += (tau - mo.mu[it[tp]])[:, None] * sj[it[tp]]
    ia, ib = st.pairs
    d_r = (s[ia] * s[ib])[:, None] * ds[:, ia, ib].T
    if sj is not None:
        sig = mo.sigma[ia, ib]
        d_r = d_r + sig[:, None] * (sj[ia] * s[ib][:, None] + s[ia][:, None] * sj[ib])
    d_sl = np.zeros((0, q))
    if st.n_slopes:  # d vec(s_y PI) (covariate by covariate, outcomes within)
        y = st.y_idx
        d_sl = s[y][None, :, None] * mo.dpi                       # (q, py, px)
        if sj is not None:
            d_sl = d_sl + sj[y].T[:, :, None] * mo.pi[None]
        d_sl = d_sl.transpose(0, 2, 1).reshape(q, -1).T
    return np.vstack([d_first, d_sl, ds[:, v, v].T, d_r])


def _mixed_parts(st):
    """(variable of each first-block entry, whether it is a mean, continuous variables)."""
    if st.th_num is None:
        return st.th_item, np.zeros(len(st.th_item), dtype=bool), np.zeros(0, dtype=int)
    return st.th_item, st.th_num, st.var_idx


class _CondMoments:
    """The moments of the outcomes given the covariates (lavaan's conditional.x): the
    residual covariances (outcome block of ``sigma``), the residual intercepts (``mu`` at the
    outcomes), the slopes ``pi`` (outcomes x covariates) and their derivatives."""

    def __init__(self, sigma, mu, pi, ds=None, dm=None, dpi=None):
        self.sigma, self.mu, self.pi = sigma, mu, pi
        self._d = (ds, dm)
        self.dpi = dpi

    def dense(self):
        return self._d


def _conditional(st, mo, deriv: bool = False):
    """``mo`` itself, or given the covariates when ``st`` is conditional: ``PI = S_yx
    S_xx^-1``, residual covariances ``S_yy - PI S_xy`` and intercepts ``mu_y - PI mu_x``
    (the covariates' moments are fixed, so only the outcomes' parts have derivatives)."""
    if st.x_idx is None:
        return mo
    y, x = st.y_idx, st.x_idx
    S = mo.sigma
    sxx_inv = np.linalg.inv(S[np.ix_(x, x)])
    pi = S[np.ix_(y, x)] @ sxx_inv
    sigma = S.copy()
    sigma[np.ix_(y, y)] = S[np.ix_(y, y)] - pi @ S[np.ix_(x, y)]
    mu = mo.mu.copy()
    mu[y] = mo.mu[y] - pi @ mo.mu[x]
    if not deriv:
        return _CondMoments(sigma, mu, pi)
    ds, dm = mo.dense()
    dpi = ds[:, y][:, :, x] @ sxx_inv                                   # (q, py, px)
    dsig = ds.copy()
    dyx = ds[:, y][:, :, x]
    dsig[:, y[:, None], y[None, :]] = (ds[:, y][:, :, y] - dyx @ (sxx_inv @ S[np.ix_(x, y)])
                                       - (pi @ dyx.transpose(0, 2, 1)))
    dmu = None
    if dm is not None:
        dmu = dm.copy()
        dmu[:, y] = dm[:, y] - dpi @ mo.mu[x]
    return _CondMoments(sigma, mu, pi, dsig, dmu, dpi)
