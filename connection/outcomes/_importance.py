"""Importance of correlated drivers: general dominance (Shapley / LMG) and relative weights.

Both work from the covariance matrix of ``[y, drivers, controls]`` (any covariance: plain,
weighted, or a bootstrap replicate's), so a design never has to be refitted.

**General dominance** (Azen & Budescu 2003), which for R-squared equals the Shapley value and
the LMG measure (Lindeman, Merenda & Gold 1980; R: ``relaimpo::calc.relimp(type = "lmg")``,
``dominanceanalysis``; Python: ``pingouin.linear_regression(relimp=True)``): a driver's weight is
its increment in R-squared averaged over all subsets of the other drivers, first within and then
across subset sizes. :func:`subset_r2` gets the R-squared of all ``2**p`` subsets exactly, with
no refit and no per-subset solve: the sweep operator applied to the covariance matrix one driver
at a time, where at step ``j`` every matrix of the batch is either swept on driver ``j`` or left
alone (the batch doubles) and driver ``j`` is then dropped (it is no longer needed). The work is
``sum_j 2**j (p - j)**2`` multiply-adds in ``p`` vectorised steps: 20 drivers take well under a
second. Controls are partialled out first, so they are in every subset.

**Relative weights** (Johnson 2000): the drivers' correlation matrix ``Rxx = Q diag(l) Q'`` has
the symmetric square root ``Lambda = Q diag(sqrt(l)) Q'``; the outcome regressed on the
orthogonal counterparts ``Z = X Lambda^-1`` of the drivers has coefficients
``beta = Lambda^-1 r_xy``, and driver ``j``'s raw weight is
``eps_j = sum_k Lambda_jk**2 beta_k**2``. The raw weights add up to R-squared (with controls:
to the R-squared the drivers add beyond the controls, their partial covariances being used).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 3)); y = X @ [0.5, 0.3, 0.0] + rng.normal(size=500)
>>> cov = np.cov(np.column_stack([y, X]), rowvar=False)
>>> r2 = subset_r2(cov, 3)           # index bit j set = driver j in the model
>>> gd = general_dominance(r2, 3)
>>> bool(abs(gd.sum() - r2[-1]) < 1e-12)
True
>>> rw = relative_weights_from_cov(cov, 3)
>>> bool(abs(rw.sum() - r2[-1]) < 1e-12)
True
"""

from __future__ import annotations

import numpy as np
from scipy.special import comb

__all__ = ["subset_r2", "general_dominance", "ols_importance", "r2_from_cov", "likelihood_importance",
           "subset_loglik", "newton_batch", "LogitLikelihood", "OrdinalLikelihood",
           "relative_weights_from_cov", "logistic_relative_weights", "partial_out"]


def partial_out(cov: np.ndarray, n_keep: int) -> np.ndarray:
    """The covariance of the first ``n_keep`` variables given the rest (the controls):
    ``S_kk - S_kc S_cc^-1 S_ck``; ``cov`` itself when there is nothing to partial out.
    Works on one matrix ``(q, q)`` or a stack ``(b, q, q)``."""
    q = cov.shape[-1]
    if q == n_keep:
        return cov
    skk = cov[..., :n_keep, :n_keep]
    skc = cov[..., :n_keep, n_keep:]
    scc = cov[..., n_keep:, n_keep:]
    return skk - skc @ np.linalg.solve(scc, np.swapaxes(skc, -1, -2))


def subset_r2(cov: np.ndarray, n_drivers: int) -> np.ndarray:
    """R-squared of the outcome on every subset of the drivers (controls always in).

    Parameters
    ----------
    cov
        Covariance (or correlation) matrix of ``[y, driver_0 .. driver_{p-1}, controls...]``, or
        a stack ``(b, q, q)`` of them (bootstrap replicates).
    n_drivers
        ``p``, the number of drivers (the columns after them are controls).

    Returns
    -------
    numpy.ndarray
        Length ``2**p`` (``(b, 2**p)`` for a stack); entry ``i`` is the R-squared of the model
        with the drivers whose bit is set in ``i`` (bit ``j`` = driver ``j``) plus every control.
        Entry 0 is the controls-only R-squared (0 without controls), the last entry the full
        model's.
    """
    cov = np.asarray(cov, dtype=float)
    stack = cov.ndim == 3
    cov = cov if stack else cov[None]
    b = cov.shape[0]
    p = int(n_drivers)
    var_y = cov[:, 0, 0]
    a = partial_out(cov, 1 + p)
    # y first, then the drivers in reverse order: the driver swept next is always the last
    order = np.r_[0, np.arange(p, 0, -1)]
    batch = a[:, order][:, :, order]
    for _ in range(p):
        keep = batch[:, :-1, :-1]
        col = batch[:, :-1, -1]
        piv = batch[:, -1, -1]
        swept = keep - col[:, :, None] * (col / piv[:, None])[:, None, :]
        # new bit (driver j) is the most significant so far: index = old + 2**j * in_model
        # (the replicate is the fastest-moving index: row = subset * b + replicate)
        batch = np.concatenate([keep, swept], axis=0)
    r2 = 1.0 - batch[:, 0, 0].reshape(-1, b).T / var_y[:, None]
    return r2 if stack else r2[0]


def _shapley_weights(p: int) -> np.ndarray:
    """Weight of a subset of size k of the other p-1 drivers: 1 / (p * C(p-1, k))."""
    return 1.0 / (p * comb(p - 1, np.arange(p), exact=False))


def general_dominance(r2: np.ndarray, n_drivers: int) -> np.ndarray:
    """General dominance weights from the R-squared of every subset (as :func:`subset_r2`
    orders them): per driver, the increment averaged within and then across subset sizes
    (equivalently the Shapley value). They add up to ``r2[-1] - r2[0]``. A stack ``(b, 2**p)``
    gives ``(b, p)``."""
    p = int(n_drivers)
    r2 = np.asarray(r2, dtype=float)
    lead = r2.shape[:-1]
    size = np.bitwise_count(np.arange(r2.shape[-1], dtype=np.uint64)).astype(np.intp)
    weight = np.r_[_shapley_weights(p), 0.0][size]   # weight of subset i as the "without" set
    gd = np.empty((*lead, p))
    for j in range(p):
        # bit j splits the index into (higher bits, bit j, lower bits): views, no copies
        r = r2.reshape(*lead, -1, 2, 2**j)
        wj = weight.reshape(-1, 2, 2**j)[:, 0, :]
        gd[..., j] = np.sum(wj * (r[..., 1, :] - r[..., 0, :]), axis=(-2, -1))
    return gd


def r2_from_cov(cov: np.ndarray, cols: np.ndarray | list[int]) -> float:
    """R-squared of ``y`` (column 0 of ``cov``) on the columns ``cols`` (indices into ``cov``)."""
    cols = np.asarray(cols, dtype=int)
    if cols.size == 0:
        return 0.0
    sxx = cov[np.ix_(cols, cols)]
    sxy = cov[cols, 0]
    return float(sxy @ np.linalg.solve(sxx, sxy) / cov[0, 0])


def ols_importance(cov: np.ndarray, n_drivers: int, importance: str | None = "dominance") -> dict:
    """R-squared of the full and controls-only models, delta R-squared of each driver (full
    minus full without it) and, with ``importance="dominance"``, the general dominance
    weights (``gd``, NaN otherwise), all from the covariance of ``[y, drivers, controls]``."""
    cov = np.asarray(cov, dtype=float)
    p = int(n_drivers)
    q = cov.shape[0]
    if importance == "dominance":
        r2 = subset_r2(cov, p)
        full = r2.size - 1
        delta = np.array([r2[full] - r2[full & ~(1 << j)] for j in range(p)])
        return {"r2": float(r2[full]), "r2_controls": float(r2[0]), "delta": delta,
                "gd": general_dominance(r2, p)}
    every = np.arange(1, q)
    r2_full = r2_from_cov(cov, every)
    delta = np.array([r2_full - r2_from_cov(cov, every[every != 1 + j]) for j in range(p)])
    return {"r2": r2_full, "r2_controls": r2_from_cov(cov, np.arange(1 + p, q)), "delta": delta,
            "gd": np.full(p, np.nan)}


def relative_weights_from_cov(cov: np.ndarray, n_drivers: int) -> np.ndarray:
    """Johnson's (2000) raw relative weights from the covariance of ``[y, drivers, controls]``.

    One matrix ``(q, q)`` gives ``(p,)``; a stack ``(b, q, q)`` (bootstrap replicates) gives
    ``(b, p)``. With controls, the drivers' covariances given the controls are used and the
    outcome keeps its total variance, so the weights add up to ``R2(full) - R2(controls)``.
    """
    cov = np.asarray(cov, dtype=float)
    p = int(n_drivers)
    var_y = cov[..., 0, 0]
    a = partial_out(cov, 1 + p)
    sd = np.sqrt(np.diagonal(a, axis1=-2, axis2=-1)[..., 1:])
    rxx = a[..., 1:, 1:] / (sd[..., :, None] * sd[..., None, :])
    rxy = a[..., 1:, 0] / (sd * np.sqrt(var_y)[..., None])
    evals, evecs = np.linalg.eigh(rxx)
    root = np.sqrt(np.clip(evals, 0.0, None))
    lam = (evecs * root[..., None, :]) @ np.swapaxes(evecs, -1, -2)        # Rxx^(1/2)
    beta = (evecs / root[..., None, :]) @ (np.swapaxes(evecs, -1, -2) @ rxy[..., None])
    return ((lam**2) @ (beta**2))[..., 0]


# --------------------------------------------------------------------------------------------
# logistic relative weights (Tonidandel & LeBreton 2010)
# --------------------------------------------------------------------------------------------

def _weighted_standardize(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X`` (n, k) centred and scaled by each replicate's weights ``w`` (b, n): (b, n, k),
    weighted mean 0 and weighted variance (divisor ``sum(w) - 1``) 1."""
    tot = w.sum(axis=1)[:, None]
    m = (w @ X) / tot
    xc = X[None] - m[:, None, :]
    var = np.einsum("bn,bnk->bk", w, xc**2) / (tot - 1)
    return xc / np.sqrt(var)[:, None, :]


def _batched_logit(Z: np.ndarray, y: np.ndarray, w: np.ndarray, max_iter: int = 100,
                   tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression of ``y`` on ``[1, Z[r]]`` for every replicate ``r`` by
    Newton-Raphson (IRLS); returns the coefficients (b, 1 + k) and whether each converged."""
    b, n, k = Z.shape
    Z1 = np.concatenate([np.ones((b, n, 1)), Z], axis=2)
    theta = np.zeros((b, k + 1))
    converged = np.zeros(b, bool)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(max_iter):
            mu = 1.0 / (1.0 + np.exp(-np.einsum("bnk,bk->bn", Z1, theta)))
            grad = np.einsum("bn,bnk->bk", w * (y - mu), Z1)
            hess = np.einsum("bn,bni,bnj->bij", w * mu * (1.0 - mu), Z1, Z1)
            try:
                step = np.linalg.solve(hess, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.full_like(theta, np.nan)
            theta = theta + step
            converged = np.all(np.abs(step) < tol * (1.0 + np.abs(theta)), axis=1)
            if converged.all() or not np.isfinite(theta).all():
                break
    return theta, converged


def logistic_relative_weights(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
                              ) -> np.ndarray:
    """Relative weights for a binary outcome (Tonidandel & LeBreton 2010; their RWA-Web code,
    as R's ``rwa::rwa_logit``): the z-scored drivers are turned into their orthogonal
    counterparts ``Z = X Rxx^-1/2``, ``y`` is regressed on ``Z`` by logistic regression, the
    coefficients are fully standardized (Menard 2004: ``beta_k = b_k sd(Z_k) R / sd(logit
    y-hat)``, ``R`` the correlation of ``y`` with the predicted probability) and
    ``eps_j = sum_k Lambda_jk**2 beta_k**2`` with ``Lambda = Rxx^1/2``. The weights add up to
    ``R**2`` (the squared correlation of ``y`` and the predicted probability).

    ``w`` (b, n) are replicate weights (bootstrap counts); without them one set of weights
    (all 1) is used. Returns (b, p); a replicate whose fit does not converge (separation) is NaN.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones((1, y.size)) if w is None else np.asarray(w, dtype=float)
    tot = w.sum(axis=1)
    xs = _weighted_standardize(X, w)                                   # (b, n, p)
    rxx = np.einsum("bn,bni,bnj->bij", w, xs, xs) / (tot - 1)[:, None, None]
    evals, evecs = np.linalg.eigh(rxx)
    root = np.sqrt(np.clip(evals, 0.0, None))
    lam = (evecs * root[:, None, :]) @ np.swapaxes(evecs, -1, -2)
    inv_root = (evecs / root[:, None, :]) @ np.swapaxes(evecs, -1, -2)
    Z = xs @ inv_root                                                   # orthonormal in-sample
    theta, converged = _batched_logit(Z, y, w)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        logit = theta[:, :1] + np.einsum("bnk,bk->bn", Z, theta[:, 1:])
        prob = 1.0 / (1.0 + np.exp(-logit))

        def wvar(v):
            m = (w * v).sum(axis=1) / tot
            return (w * (v - m[:, None]) ** 2).sum(axis=1) / (tot - 1), m

        var_l, _ = wvar(logit)
        var_p, m_p = wvar(prob)
        var_y, m_y = wvar(np.broadcast_to(y, w.shape))
        cov_py = (w * (prob - m_p[:, None]) * (y - m_y[:, None])).sum(axis=1) / (tot - 1)
        r2 = cov_py**2 / (var_p * var_y)
        sd_z = np.sqrt(np.einsum("bn,bnk->bk", w, Z**2) / (tot - 1)[:, None])
        beta = theta[:, 1:] * sd_z * np.sqrt(r2 / var_l)[:, None]
        eps = (lam**2) @ (beta**2)[..., None]
    eps = eps[..., 0]
    eps[~converged] = np.nan
    return eps


# --------------------------------------------------------------------------------------------
# bootstrap statistics (picklable, counts mode: every replicate at once)
# --------------------------------------------------------------------------------------------

def _centred_moments(D: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per respondent: count 1, the centred columns and their pairwise products (upper
    triangle): a replicate's covariance matrix is then two matrix products with its counts."""
    D = D - D.mean(axis=0)
    iu = np.triu_indices(D.shape[1])
    return np.ones(D.shape[0]), D, D[:, iu[0]] * D[:, iu[1]]


def _replicate_covariances(data, counts: np.ndarray) -> np.ndarray:
    n_u, s1, s2 = data
    q = s1.shape[1]
    counts = np.asarray(counts, dtype=float)
    total = counts @ n_u
    m = (counts @ s1) / total[:, None]
    m2 = (counts @ s2) / total[:, None]
    i, j = np.triu_indices(q)
    cov = np.empty((counts.shape[0], q, q))
    cov[:, i, j] = m2 - m[:, i] * m[:, j]
    cov[:, j, i] = cov[:, i, j]
    return cov


class _RelativeWeightsStatistic:
    """Raw weights, rescaled weights (% of their sum) and, with the random variable, each raw
    weight minus the random variable's (in the model that includes it), per replicate.

    OLS: data are the centred moments of ``[y, drivers, random, controls]``. Logit: data are the
    row numbers (the replicate counts weight the respondents)."""

    def __init__(self, family: str, n_drivers: int, full_var: np.ndarray,
                 X: np.ndarray | None = None, y: np.ndarray | None = None):
        self.family = family
        self.p = n_drivers
        self.full_var = full_var
        self.X = X      # logit: [drivers, random]
        self.y = y

    def __call__(self, data, counts):
        p = self.p
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.family == "ols":
                cov = _replicate_covariances(data, counts)
                q = cov.shape[-1]
                main = np.r_[0 : 1 + p, p + 2 : q]
                raw = relative_weights_from_cov(cov[:, main][:, :, main], p)
                with_random = relative_weights_from_cov(cov, p + 1)
                var = np.diagonal(cov, axis1=1, axis2=2)
                bad = np.any(var < 1e-10 * self.full_var, axis=1)
            else:
                w = np.asarray(counts, dtype=float)
                raw = logistic_relative_weights(self.X[:, :p], self.y, w)
                with_random = logistic_relative_weights(self.X, self.y, w)
                tot = w.sum(axis=1)
                m = (w @ self.X) / tot[:, None]
                var = (w @ self.X**2) / tot[:, None] - m**2
                bad = np.any(var < 1e-10 * self.full_var, axis=1)
            rescaled = 100.0 * raw / raw.sum(axis=1, keepdims=True)
            diff = with_random[:, :p] - with_random[:, p : p + 1]
        out = np.column_stack([raw, rescaled, diff])
        out[bad] = np.nan   # a driver constant in a resample: that replicate fails (counted)
        return out


# --------------------------------------------------------------------------------------------
# logit and ordinal dominance: every subset fitted by batched, warm-started Newton steps
# --------------------------------------------------------------------------------------------

def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _symmetric(h: np.ndarray, k: int, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(b, k*(k+1)/2) upper-triangle entries -> (b, k, k) symmetric matrices."""
    out = np.empty((h.shape[0], k, k))
    out[:, iu[0], iu[1]] = h
    out[:, iu[1], iu[0]] = h
    return out


class LogitLikelihood:
    """Weighted binary-logit log-likelihood ``sum w [y eta - log(1 + exp(eta))]`` with
    ``eta = theta_0 + X theta_1:``, its gradient and (analytic) Hessian for a batch of parameter
    vectors ``theta`` (b, 1 + k) at once; ``w`` is (n,) or (b, n)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.Z = np.column_stack([np.ones(len(y)), np.asarray(X, float)])
        self.y = np.asarray(y, float)
        self.m = self.Z.shape[1]
        self.iu = np.triu_indices(self.m)
        self.prods = self.Z[:, self.iu[0]] * self.Z[:, self.iu[1]]
        self.n_intercepts = 1

    def null_start(self, w: np.ndarray) -> np.ndarray:
        p = float(w @ self.y / w.sum())
        return np.r_[np.log(p / (1.0 - p)), np.zeros(self.m - 1)]

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        eta = theta @ self.Z.T
        return np.sum(w * (self.y * eta - np.logaddexp(0.0, eta)), axis=-1)

    def scores(self, theta: np.ndarray) -> np.ndarray:
        """Per-respondent score (n, m) at one parameter vector (unit weights)."""
        mu = _expit(self.Z @ theta)
        return (self.y - mu)[:, None] * self.Z

    def derivatives(self, theta: np.ndarray, w: np.ndarray):
        eta = theta @ self.Z.T
        mu = _expit(eta)
        ll = np.sum(w * (self.y * eta - np.logaddexp(0.0, eta)), axis=-1)
        grad = (w * (self.y - mu)) @ self.Z
        hess = -_symmetric((w * mu * (1.0 - mu)) @ self.prods, self.m, self.iu)
        return ll, grad, hess


class OrdinalLikelihood:
    """Weighted proportional-odds logit log-likelihood (as statsmodels' OrderedModel:
    ``P(y <= j) = F(tau_j - x'beta)``), parameters ``[tau_1 .. tau_T, beta]``, with its gradient
    and analytic Hessian for a batch of parameter vectors at once. Every Hessian block is a
    weighted sum over respondents of (scalar) x (1, x, x x'): one matrix product each."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        X = np.asarray(X, float)
        cats = np.unique(y)
        code = np.searchsorted(cats, y)
        n, J = len(y), cats.size
        self.code = code
        self.T = J - 1
        self.n_intercepts = self.T
        self.has_up, self.has_lo = code < J - 1, code > 0
        self.up = np.where(self.has_up, code, 0)
        self.lo = np.where(self.has_lo, code - 1, 0)
        rows = np.arange(n)
        self.U = np.zeros((n, self.T))
        self.U[rows[self.has_up], self.up[self.has_up]] = 1.0
        self.L = np.zeros((n, self.T))
        self.L[rows[self.has_lo], self.lo[self.has_lo]] = 1.0
        both = self.has_up & self.has_lo
        self.M = np.zeros((n, max(self.T - 1, 1)))
        self.M[rows[both], self.lo[both]] = 1.0
        self.X = X
        self.k = X.shape[1]
        self.m = self.T + self.k
        self.iu = np.triu_indices(self.k)
        self.prods = X[:, self.iu[0]] * X[:, self.iu[1]]
        self.UX = (self.U[:, :, None] * X[:, None, :]).reshape(n, -1)
        self.LX = (self.L[:, :, None] * X[:, None, :]).reshape(n, -1)

    def null_start(self, w: np.ndarray) -> np.ndarray:
        share = np.bincount(self.code, weights=w, minlength=self.T + 1) / w.sum()
        cum = np.cumsum(share)[:-1]
        return np.r_[np.log(cum / (1.0 - cum)), np.zeros(self.k)]

    def _pieces(self, theta):
        T = self.T
        tau, beta = theta[:, :T], theta[:, T:]
        eta = beta @ self.X.T
        a = np.where(self.has_up, tau[:, self.up] - eta, np.inf)
        c = np.where(self.has_lo, tau[:, self.lo] - eta, -np.inf)
        return a, c

    def loglik(self, theta: np.ndarray, w: np.ndarray) -> np.ndarray:
        a, c = self._pieces(theta)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sum(w * np.log(_expit(a) - _expit(c)), axis=-1)

    def scores(self, theta: np.ndarray) -> np.ndarray:
        """Per-respondent score (n, m) at one parameter vector (unit weights)."""
        a, c = self._pieces(theta[None])
        Fa, Fc = _expit(a[0]), _expit(c[0])
        p = Fa - Fc
        ga, gc = Fa * (1 - Fa) / p, Fc * (1 - Fc) / p
        return np.column_stack([ga[:, None] * self.U - gc[:, None] * self.L,
                                -(ga - gc)[:, None] * self.X])

    def derivatives(self, theta: np.ndarray, w: np.ndarray):
        b, T, k = theta.shape[0], self.T, self.k
        a, c = self._pieces(theta)
        Fa, Fc = _expit(a), _expit(c)
        fa, fc = Fa * (1.0 - Fa), Fc * (1.0 - Fc)
        dfa, dfc = fa * (1.0 - 2.0 * Fa), fc * (1.0 - 2.0 * Fc)
        p = Fa - Fc
        with np.errstate(invalid="ignore", divide="ignore"):
            ll = np.sum(w * np.log(p), axis=-1)
        ga, gc = fa / p, fc / p
        gb = ga - gc
        grad = np.empty((b, T + k))
        grad[:, :T] = (w * ga) @ self.U - (w * gc) @ self.L
        grad[:, T:] = -(w * gb) @ self.X
        hess = np.zeros((b, T + k, T + k))
        hess[:, np.arange(T), np.arange(T)] = ((w * (dfa / p - ga**2)) @ self.U
                                               + (w * (-dfc / p - gc**2)) @ self.L)
        if T > 1:
            off = (w * (ga * gc)) @ self.M
            hess[:, np.arange(T - 1), np.arange(1, T)] = off
            hess[:, np.arange(1, T), np.arange(T - 1)] = off
        cross = ((w * (-dfa / p + ga * gb)) @ self.UX
                 + (w * (dfc / p - gc * gb)) @ self.LX).reshape(b, T, k)
        hess[:, :T, T:] = cross
        hess[:, T:, :T] = cross.transpose(0, 2, 1)
        hess[:, T:, T:] = _symmetric((w * ((dfa - dfc) / p - gb**2)) @ self.prods, k, self.iu)
        return ll, grad, hess


def newton_batch(lik, theta: np.ndarray, active: np.ndarray, w: np.ndarray, *,
                 max_iter: int = 100, tol: float = 1e-7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximise ``lik`` for a batch of starting values ``theta`` (b, m), each over its own
    ``active`` parameters (b, m; the others stay where they are, normally 0): Newton steps with
    the analytic Hessian, halved while the log-likelihood would fall (at most 40 times).
    A fit stops after a full Newton step no larger than ``tol * (1 + |theta|)``: convergence is
    quadratic there, so the step taken leaves an error of order ``tol**2`` (no extra
    evaluation to confirm it). Returns ``(theta, loglik, converged)``."""
    theta = np.array(theta, dtype=float)
    active = np.asarray(active, bool)
    b, m = theta.shape
    eye = np.eye(m, dtype=bool)
    converged = np.zeros(b, bool)
    todo = np.arange(b)
    ll_out = np.full(b, np.nan)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(max_iter):
            th, act = theta[todo], active[todo]
            wt = w if w.ndim == 1 else w[todo]
            ll, grad, hess = lik.derivatives(th, wt)
            ll_out[todo] = ll
            off = ~(act[:, :, None] & act[:, None, :])
            hess = np.where(off, np.where(eye, -1.0, 0.0), hess)
            grad = np.where(act, grad, 0.0)
            step = batched_solve(hess, -grad)
            done = np.all(np.abs(step) <= tol * (1.0 + np.abs(th)), axis=1)
            for _ in range(40):   # step halving: never accept a lower log-likelihood
                new_ll = lik.loglik(th + step, wt)
                worse = ~(new_ll >= ll - 1e-12 * np.abs(ll))
                if not worse.any():
                    break
                step[worse] *= 0.5
                done &= ~worse
            th = th + step
            theta[todo] = th
            ll_out[todo] = new_ll
            bad = ~np.isfinite(th).all(axis=1)
            converged[todo[done]] = True
            todo = todo[~done & ~bad]
            if todo.size == 0:
                break
    return theta, ll_out, converged


def batched_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``a[r] x[r] = b[r]`` for every r; a singular system (a subset fit, or a dummy
    control that is all zero in one bootstrap resample) gives NaN for that r only."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for r in range(a.shape[0]):
            try:
                out[r] = np.linalg.solve(a[r], b[r])
            except np.linalg.LinAlgError:
                pass
        return out


def make_likelihood(family: str, X: np.ndarray, y: np.ndarray):
    """The batched likelihood of ``family`` (``"logit"`` or ``"ordinal"``)."""
    return LogitLikelihood(X, y) if family == "logit" else OrdinalLikelihood(X, y)


def _subset_active(lik, n_drivers: int, subsets: np.ndarray) -> np.ndarray:
    """(len(subsets), m) active parameters: the intercepts/thresholds, the drivers whose bit is
    set in the subset index, every control."""
    subsets = np.asarray(subsets, dtype=np.int64)
    bits = (subsets[:, None] >> np.arange(n_drivers)) & 1
    n_controls = lik.m - lik.n_intercepts - n_drivers
    return np.column_stack([np.ones((subsets.size, lik.n_intercepts), bool), bits.astype(bool),
                            np.ones((subsets.size, n_controls), bool)])


_MAX_BATCH_CELLS = 4_000_000   # rows x respondents per Newton batch (memory bound)


def _fit_subsets(lik, n_drivers, w, subsets, start):
    """Fit the given subsets from the given starts in memory-bounded batches."""
    active = _subset_active(lik, n_drivers, subsets)
    start = np.where(active, start, 0.0)
    size = max(1, _MAX_BATCH_CELLS // max(1, lik.Z.shape[0] if hasattr(lik, "Z")
                                           else lik.X.shape[0]))
    out = [newton_batch(lik, start[i:i + size], active[i:i + size], w)
           for i in range(0, len(subsets), size)]
    return tuple(np.concatenate(parts) for parts in zip(*out))


def subset_loglik(lik, n_drivers: int, w: np.ndarray, subsets: np.ndarray | None = None,
                  start: np.ndarray | None = None):
    """Log-likelihood of every subset of the drivers (controls always in), index bit ``j`` =
    driver ``j`` as :func:`subset_r2`; returns ``(loglik (2**p,), theta (2**p, m), converged)``.

    Warm-started and batched: the controls-only model (subset 0) starts at the exact
    intercept-only solution; then for ``j = 0 .. p-1`` the ``2**j`` subsets whose highest driver
    is ``j`` are fitted together, each starting from its parent (the same subset without driver
    ``j``, fitted in an earlier round) with driver ``j`` at 0. With ``subsets`` and ``start``
    (say, the full-sample solutions for a bootstrap replicate), those are fitted in one batch.
    """
    p = int(n_drivers)
    if subsets is not None:
        theta, ll, conv = _fit_subsets(lik, p, w, np.asarray(subsets), start)
        return ll, theta, conv
    total = 2**p
    theta = np.zeros((total, lik.m))
    ll = np.empty(total)
    conv = np.empty(total, bool)
    t0, l0, c0 = _fit_subsets(lik, p, w, np.array([0]), lik.null_start(w)[None])
    theta[0], ll[0], conv[0] = t0[0], l0[0], c0[0]
    for j in range(p):
        idx = np.arange(2**j, 2 ** (j + 1))
        t, lj, cj = _fit_subsets(lik, p, w, idx, theta[idx - 2**j])
        theta[idx], ll[idx], conv[idx] = t, lj, cj
    return ll, theta, conv


def null_loglik(y: np.ndarray, w: np.ndarray) -> float:
    """Weighted log-likelihood of the intercept- (thresholds-) only model: the weighted
    marginal distribution reproduced exactly, ``sum_c W_c log(W_c / W)``."""
    _, code = np.unique(y, return_inverse=True)
    tot = np.bincount(code, weights=w)
    return float((tot * np.log(tot / w.sum())).sum())


def likelihood_importance(family: str, X: np.ndarray, y: np.ndarray, n_drivers: int,
                          w: np.ndarray | None = None, importance: str | None = "dominance"
                          ) -> dict:
    """McFadden R-squared (``1 - logL / logL(intercept only)``, weighted log-likelihoods with
    ``w``) of the full and controls-only models, delta R-squared per driver and, with
    ``importance="dominance"``, general dominance over every subset of the drivers, for a logit
    or ordinal (proportional-odds) model; the same numbers as refitting every subset with
    statsmodels, from batched warm-started Newton fits (:func:`subset_loglik`).
    ``importance=None`` fits only the full, controls-only and drop-one models.
    Returns the dict of :func:`ols_importance` plus ``theta`` (the subsets' solutions, by
    subset index; ``None`` without dominance) and ``converged`` (all fits converged)."""
    from connection.latent.blas import BlasLimit

    with BlasLimit():   # many mid-size products: a second BLAS thread costs more than it gives
        return _likelihood_importance(family, X, y, n_drivers, w, importance)


def _likelihood_importance(family, X, y, n_drivers, w, importance) -> dict:
    p = int(n_drivers)
    y = np.asarray(y, float)
    w = np.ones(y.size) if w is None else np.asarray(w, float)
    lik = make_likelihood(family, X, y)
    llnull = null_loglik(y, w)
    full = 2**p - 1
    drop = np.array([full & ~(1 << j) for j in range(p)], dtype=np.int64)
    if importance == "dominance":
        ll, theta, conv = subset_loglik(lik, p, w)
        r2 = 1.0 - ll / llnull
        if lik.m == lik.n_intercepts + p:   # no controls: the empty model is the null model
            r2[0] = 0.0
        gd = general_dominance(r2, p)
        r2_full, r2_controls, r2_drop = r2[full], r2[0], r2[drop]
    else:
        ll0, t0, c0 = subset_loglik(lik, p, w, [0], lik.null_start(w)[None])
        llf, tf, cf = subset_loglik(lik, p, w, [full], t0)
        lld, _, cd = subset_loglik(lik, p, w, drop, np.repeat(tf, p, axis=0))
        conv = np.r_[c0, cf, cd]
        r2_controls = 0.0 if lik.m == lik.n_intercepts + p else float(1.0 - ll0[0] / llnull)
        r2_full, r2_drop = float(1.0 - llf[0] / llnull), 1.0 - lld / llnull
        gd, theta, r2 = np.full(p, np.nan), None, None
    return {"r2": float(r2_full), "r2_controls": float(r2_controls),
            "delta": r2_full - r2_drop, "gd": gd, "theta": theta, "subset_r2": r2,
            "converged": bool(np.all(conv)), "llnull": llnull}
