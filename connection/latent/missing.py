"""Full-information maximum likelihood (lavaan's ``missing = "ml"``).

The casewise normal log-likelihood is summed over missing-data patterns, each contributing
through its own sufficient statistics (count, mean and covariance of its observed
variables). The saturated (h1) model is fitted by the same Newton iterations, so the
chi-square is ``2 (logl_h1 - logl_h0)`` as in lavaan; the baseline model has free means and
variances (estimated from the available cases).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from connection.errors import DataError, GroupError, ModelSpecificationError, NoVarianceError
from connection.latent.estimate import (
    GroupStats,
    Moments,
    _chol_inverse,
    _lowrank_core,
    fisher_scoring,
    hessian_core,
    moment_scores,
)
from connection.latent.model import Aggregator
from connection.latent.samplestats import moment_score_crossprod
from connection.stats._dask import _unique_rows

__all__ = ["FimlStats", "FimlProblem", "fiml_group_stats", "fiml_stats_from_patterns",
           "check_fiml_data", "Pattern", "available_moments", "project_patterns"]

_LOG2PI = np.log(2 * np.pi)


@dataclass
class Pattern:
    obs: np.ndarray  # indices of observed variables
    n: int
    mean: np.ndarray
    cov: np.ndarray
    data: np.ndarray | None = None  # the rows (observed variables), None from moments
    # from moments (a Dask frame): (n, mean, cov, Gamma of (y - mean, vech)) for the scores
    fourth: tuple | None = None


@dataclass
class FimlStats(GroupStats):
    """Group statistics for FIML: patterns, plus the saturated (EM) mean and covariance."""

    patterns: list = field(default_factory=list)
    logl_h1: float = np.nan
    h1_problem: object = None
    h1_theta: np.ndarray | None = None


def _patterns(x: np.ndarray) -> list[Pattern]:
    """The missing-data patterns of the rows ``x`` (each with its rows, in their order)."""
    observed, inverse = _unique_rows(~np.isnan(x))
    order = np.argsort(inverse, kind="stable")  # each pattern's rows contiguous
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(observed)))])
    out = []
    for k, seen in enumerate(observed):
        obs = np.flatnonzero(seen)
        if not len(obs):
            continue
        rows = x[order[bounds[k]:bounds[k + 1]]][:, obs]
        n = rows.shape[0]
        mean = rows.mean(axis=0)
        c = rows - mean
        out.append(Pattern(obs, n, mean, c.T @ c / n, rows))
    return out


class FimlProblem:
    """Same interface as :class:`~connection.latent.estimate.Problem`, for incomplete data."""

    meanstructure = True

    def __init__(self, moments, stats: list[FimlStats], npar: int):
        self.moments = moments
        self.stats = stats
        self.npar = npar
        self.ntotal = int(sum(s.n for s in stats))
        self.weights = np.array([s.n / self.ntotal for s in stats])

    def _group_f(self, st, mo):
        total = 0.0
        for pat in st.patterns:
            o = pat.obs
            res = _chol_inverse(mo.sigma[np.ix_(o, o)])
            if res is None:
                return np.inf
            _, _, v, logdet = res
            d = pat.mean - mo.mu[o]
            total += pat.n * (logdet + np.sum(v * pat.cov) + d @ v @ d)
        return total / st.n

    def objective(self, theta) -> float:
        try:
            mom = self.moments(theta, False)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return np.inf
        total = 0.0
        for w, st, mo in zip(self.weights, self.stats, mom):
            f = self._group_f(st, mo)
            if not np.isfinite(f):
                return np.inf
            total += w * f
        return total

    def loglik(self, theta) -> float:
        mom = self.moments(theta, False)
        ll = 0.0
        for st, mo in zip(self.stats, mom):
            const = sum(pat.n * len(pat.obs) for pat in st.patterns) * _LOG2PI
            ll += -0.5 * (st.n * self._group_f(st, mo) + const)
        return ll

    def _terms(self, theta, hessian: bool):
        mom = self.moments(theta, True)
        q = self.npar
        grad, info, hess = np.zeros(q), np.zeros((q, q)), np.zeros((q, q))
        for wg, st, mo in zip(self.weights, self.stats, mom):
            p = len(mo.mu)
            w_tot = np.zeros((p, p))
            r_tot = np.zeros(p)
            lowrank = mo.lowrank is not None
            if lowrank:  # accumulate row-level sums, aggregate into parameters once
                oh = mo.lowrank[5]
                R = mo.lowrank[0].shape[1]
                g_rows, e_rows = np.zeros(R), np.zeros((R, R))
                h_rows = np.zeros((R, R)) if hessian else None
            for pat in st.patterns:
                o = pat.obs
                f = pat.n / st.n
                sub = mo.subset(o)
                if lowrank:
                    g, e, h, w, r = _lowrank_core(pat.cov, pat.mean, sub, True, hessian,
                                                  aggregate=False)
                    g_rows += f * g
                    e_rows += f * e
                    if hessian:
                        h_rows += f * h
                else:
                    g, e, h, w, r = hessian_core(pat.cov, pat.mean, sub, True)
                    grad += wg * f * g
                    info += wg * f * e
                    if hessian:
                        hess += wg * f * h
                if hessian:
                    w_tot[np.ix_(o, o)] += f * w
                    r_tot[o] += f * r
            if lowrank:
                grad += wg * oh.vec(g_rows)
                info += wg * oh.mat(e_rows)
                if hessian:
                    hess += wg * oh.mat(h_rows)
            if hessian and mo.second is not None:
                hess += wg * mo.second(w_tot, r_tot)
        return grad, info, hess

    def gradient_and_information(self, theta, *, information: bool = True):
        g, e, _ = self._terms(theta, False)
        return g, e

    def gradient(self, theta):
        return self._terms(theta, False)[0]

    def gradient_and_hessian(self, theta):
        return self._terms(theta, True)

    def has_second_order(self, theta) -> bool:
        return all(mo.second is not None for mo in self.moments(theta, True))

    def hessian(self, theta, step: float = 1e-5):
        return self._terms(theta, True)[2]

    def score_crossprods(self, theta, chunk: int = 20_000):
        """Per group ``sum_i s_i s_i'`` of the casewise scores: from each pattern's rows, or
        (from moments) its fourth-moment summary (exact quadratic forms in it)."""
        mom = self.moments(theta, True)
        out = []
        for st, mo in zip(self.stats, mom):
            acc = np.zeros((self.npar, self.npar))
            for pat in st.patterns:
                o = pat.obs
                if pat.data is not None:
                    acc += moment_scores(pat.data, mo.subset(o), mo.mu[o], True, chunk,
                                         crossprod=True)
                    continue
                _no_rows(pat)
                ds, dm = mo.dense()
                acc += moment_score_crossprod(SimpleNamespace(fourth=pat.fourth),
                                              mo.sigma[np.ix_(o, o)], mo.mu[o],
                                              ds[:, o][:, :, o], dm[:, o])
            out.append(acc)
        return out

    def casewise_scores(self, theta, chunk: int = 50_000):
        mom = self.moments(theta, True)
        out = []
        for st, mo in zip(self.stats, mom):
            if any(pat.data is None for pat in st.patterns):
                _no_rows(None)
            parts = []
            for pat in st.patterns:
                o = pat.obs
                parts.append(moment_scores(pat.data, mo.subset(o), mo.mu[o], True, chunk))
            out.append(np.concatenate(parts) if parts else np.zeros((0, self.npar)))
        return out


def _no_rows(pat) -> None:
    """Casewise terms of a FIML fit from moments need the fourth moments (or the rows)."""
    if pat is None or pat.fourth is None:
        raise ModelSpecificationError(
            "casewise scores need the rows in memory (this FIML fit is from a Dask frame's "
            "missing-data pattern moments)",
            hint="fit with estimator='MLR' (its pass adds each pattern's fourth moments), or "
                 "call .compute() on the Dask frame and fit the pandas frame")


class _SaturatedMoments:
    """theta = (mu, vech Sigma) with its Jacobian in low-rank form (a = e_i, b = c e_j); a
    class, not a closure, so that a FIML fit (which keeps its H1 problem) pickles."""

    def __init__(self, p: int):
        rows, cols = np.tril_indices(p)
        nv = len(rows)
        q = p + nv
        eye = np.eye(p)
        a = np.concatenate([np.zeros((p, p)), eye[:, rows]], axis=1)
        b = np.concatenate([np.zeros((p, p)), eye[:, cols] * np.where(rows == cols, 0.5, 1.0)],
                           axis=1)
        m = np.concatenate([eye, np.zeros((p, nv))], axis=1)
        self.p, self.rows, self.cols, self.q, self.nv = p, rows, cols, q, nv
        self.lowrank = (a, b, m, np.arange(q), q, Aggregator(np.arange(q), q))
        self.zero = np.zeros((q, q))

    def dense(self):
        p, q, nv, rows, cols = self.p, self.q, self.nv, self.rows, self.cols
        basis = np.zeros((q, p, p))
        k = np.arange(nv)
        basis[p + k, rows, cols] = 1.0
        basis[p + k, cols, rows] = 1.0
        dmu = np.zeros((q, p))
        dmu[np.arange(p), np.arange(p)] = 1.0
        return basis, dmu

    def second(self, w, r):
        return self.zero

    def __call__(self, theta, deriv):
        p, rows, cols = self.p, self.rows, self.cols
        mu = theta[:p]
        sigma = np.zeros((p, p))
        sigma[rows, cols] = theta[p:]
        sigma[cols, rows] = theta[p:]
        if deriv:
            return [Moments(sigma, mu, second=self.second, lowrank=self.lowrank,
                            dense_fn=self.dense)]
        return [Moments(sigma, mu)]


def _saturated_moments(p: int):
    """The saturated model's moments function and the (rows, cols) of vech Sigma."""
    moments = _SaturatedMoments(p)
    return moments, moments.rows, moments.cols


def _error(message, *, names, where, label, group, expected, hint, cls=DataError):
    """The package's error for unusable FIML data: GroupError naming the group when grouped."""
    if label is not None:
        return GroupError(message + where, column=group, values=[label], expected=expected,
                          hint=hint)
    return cls(message, column=names[0] if len(names) == 1 else None, expected=expected,
               hint=hint)


def check_fiml_data(x: np.ndarray, names, *, label=None, group=None) -> None:
    """What FIML needs of one group's rows ``x`` (NaN = missing), else the package's error
    naming the columns: every variable observed at least twice and not constant, and every
    pair of variables observed together at least once (lavaan: "some variables have no values
    (only missings) or no variance")."""
    obs = ~np.isnan(x)
    count = obs.sum(axis=0)
    with warnings.catch_warnings():  # an all-missing column: reported below, by name
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    both = obs.T.astype(float) @ obs.astype(float)
    _check_counts(count, lo == hi, both, names, label=label, group=group)


def check_fiml_patterns(pats: list, p: int, names, *, label=None, group=None) -> None:
    """:func:`check_fiml_data` from the missing-data patterns' moments (no rows): a variable
    is constant when its available-case variance is zero (to rounding of its mean)."""
    count, mean, var = available_moments(pats, p)
    both = np.zeros((p, p))
    for pat in pats:
        both[np.ix_(pat.obs, pat.obs)] += pat.n
    constant = var <= (1e-13 * np.abs(mean)) ** 2
    _check_counts(count, constant, both, names, label=label, group=group)


def _check_counts(count, constant, both, names, *, label, group) -> None:
    """The checks of :func:`check_fiml_data` on per-variable counts, constancy and the
    pairwise counts ``both``."""
    where = f" in group {label!r}" if label is not None else ""
    empty = [names[j] for j in np.flatnonzero(count == 0)]
    if empty:
        raise _error(f"variable(s) with no observed value (all missing): {', '.join(empty)}",
                     names=empty, where=where, label=label, group=group,
                     expected="at least two observed values per model variable",
                     hint="drop the variable from the model, or check the data file")
    flat = [names[j] for j in np.flatnonzero((count < 2) | constant)]
    if flat:
        raise _error(f"variable(s) with no variance (fewer than two observed values, or one "
                     f"value only): {', '.join(flat)}", names=flat, where=where, label=label,
                     group=group, expected="variables that vary", cls=NoVarianceError,
                     hint="drop the variable from the model")
    i, j = np.nonzero(np.triu(both == 0, 1))
    if len(i):
        pairs = [f"{names[a]} and {names[b]}" for a, b in zip(i, j)]
        raise _error("variables never observed together (their covariance cannot be "
                     f"estimated): {'; '.join(pairs[:10])}" + (f" ({len(pairs)} pairs)"
                                                               if len(pairs) > 10 else ""),
                     names=[], where=where, label=label, group=group,
                     expected="every pair of model variables observed together in some rows",
                     hint="planned-missing designs need overlapping blocks; drop one of each "
                          "pair or collect overlapping data")


def available_moments(pats: list, p: int):
    """``(count, mean, var)`` per variable over its available cases (``var`` divisor the
    count, as ``numpy.nanvar``), pooled from the patterns' moments."""
    count, total = np.zeros(p), np.zeros(p)
    for pat in pats:
        count[pat.obs] += pat.n
        total[pat.obs] += pat.n * pat.mean
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    ss = np.zeros(p)
    for pat in pats:
        d = pat.mean - mean[pat.obs]
        ss[pat.obs] += pat.n * (np.diag(pat.cov) + d * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        return count, mean, ss / count


def _pairwise_cov(pats: list, p: int) -> np.ndarray:
    """Pairwise-available covariances (as ``numpy.ma.cov``: each variable centred on its
    available-case mean, divisor the pair's count less one) from the patterns."""
    _, mean, _ = available_moments(pats, p)
    ss, both = np.zeros((p, p)), np.zeros((p, p))
    for pat in pats:
        d = pat.mean - mean[pat.obs]
        idx = np.ix_(pat.obs, pat.obs)
        ss[idx] += pat.n * (pat.cov + np.outer(d, d))
        both[idx] += pat.n
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss / (both - 1)


def project_patterns(pats: list, keep) -> list:
    """The patterns of the variables ``keep`` alone (e.g. the fixed.x covariates): each
    pattern's moments restricted to them, patterns that then coincide merged (Chan et al.),
    those with none of them observed left out."""
    keep = list(keep)
    pos = {v: k for k, v in enumerate(keep)}
    merged: dict = {}
    for pat in pats:
        sel = [k for k, v in enumerate(pat.obs) if v in pos]
        if not sel:
            continue
        obs = np.array([pos[v] for v in pat.obs[sel]])
        mean, m2 = pat.mean[sel], pat.n * pat.cov[np.ix_(sel, sel)]
        key = obs.tobytes()
        if key in merged:
            n0, mean0, m20 = merged[key][1:]
            n = n0 + pat.n
            d = mean - mean0
            mean, m2 = mean0 + d * (pat.n / n), m20 + m2 + np.outer(d, d) * (n0 * pat.n / n)
            merged[key] = (obs, n, mean, m2)
        else:
            merged[key] = (obs, pat.n, mean, m2)
    return [Pattern(obs, n, mean, m2 / n) for obs, n, mean, m2 in merged.values()]


def _collinear(sigma: np.ndarray, names) -> list | None:
    """The variables of a (near-)singular covariance matrix that form the dependency (the
    large entries of the eigenvector of its smallest eigenvalue, in correlation form), or None
    when it is positive definite."""
    d = np.sqrt(np.clip(np.diag(sigma), 1e-300, None))
    r = sigma / np.outer(d, d)
    if not np.isfinite(r).all():
        return list(names)
    ev, vec = np.linalg.eigh(r)
    if ev[0] > 1e-8 * max(ev[-1], 1.0):
        return None
    v = np.abs(vec[:, 0])
    return [names[k] for k in np.flatnonzero(v > 0.1 * v.max())]


def _singular_error(n, names, involved, where, label, group):
    p = len(names)
    detail = (f"{n} rows for {p} variables" if n <= p else
              f"{', '.join(involved)} are (nearly) linear combinations of each other")
    return _error(f"the saturated (EM) covariance matrix{where} is not positive definite "
                  f"({detail})", names=involved if n > p else [], where="", label=label,
                  group=group,
                  expected="more rows than variables and no collinear variables",
                  hint="drop or combine collinear variables (e.g. a total score beside its "
                       "items), merge small groups, or use more data")


def fiml_group_stats(x: np.ndarray, names=None, *, label=None, group=None) -> FimlStats:
    """Patterns and the saturated FIML estimates (mean, covariance) of one group.

    With ``names`` the data are checked first (:func:`check_fiml_data`) and a singular
    saturated covariance matrix (collinear variables, fewer rows than variables) is the
    package's :class:`~connection.errors.DataError` naming the variables.
    """
    if names is not None:
        check_fiml_data(x, names, label=label, group=group)
    st = _saturated(_patterns(x), x.shape[0], x.shape[1], names, label, group)
    st.data = x
    return st


def fiml_stats_from_patterns(pats: list, p: int, names=None, *, label=None,
                             group=None) -> FimlStats:
    """:func:`fiml_group_stats` from the missing-data patterns' moments alone (``Pattern``
    with ``data=None``; with ``fourth`` for the casewise score terms of MLR): e.g. from
    :func:`connection.stats._dask.sample_moments` over a Dask frame. Patterns with no
    observed variable must be left out (as the rows are on a pandas frame)."""
    if names is not None:
        check_fiml_patterns(pats, p, names, label=label, group=group)
    n = int(sum(pat.n for pat in pats))
    return _saturated(pats, n, p, names, label, group)


def _saturated(pats: list, n: int, p: int, names, label, group) -> FimlStats:
    """The group's :class:`FimlStats`: the EM estimates of the saturated mean and covariance
    (polished by Newton steps), its log-likelihood and problem."""
    where = f" in group {label!r}" if label is not None else ""
    _, mean0, var0 = available_moments(pats, p)
    st = FimlStats(n=n, mean=mean0, cov=np.diag(var0), data=None, patterns=pats)
    moments, rows, cols = _saturated_moments(p)
    try:
        mu, sigma = _em(pats, n, p, mean0, np.diag(var0))
    except np.linalg.LinAlgError:
        if names is None:
            raise
        # the EM broke down on a singular pattern: diagnose from the pairwise covariances
        involved = _collinear(_pairwise_cov(pats, p), names) or list(names)
        raise _singular_error(n, names, involved, where, label, group) from None
    if names is not None:
        involved = _collinear(sigma, names)
        if involved is not None:
            raise _singular_error(n, names, involved, where, label, group)
    theta0 = np.concatenate([mu, sigma[rows, cols]])
    prob = FimlProblem(moments, [st], len(theta0))
    grad = prob.gradient(theta0)
    theta = theta0
    if np.max(np.abs(grad)) > 1e-8:  # polish the EM solution with Newton steps
        try:
            theta, ok, _, _ = fisher_scoring(prob, theta0)
        except np.linalg.LinAlgError:  # the polish left the p.d. region: keep the EM solution
            theta = theta0
    mo = moments(theta, False)[0]
    st.mean, st.cov = mo.mu, mo.sigma
    st.logdet = float(np.linalg.slogdet(st.cov)[1])
    st.logl_h1 = prob.loglik(theta)
    st.h1_problem, st.h1_theta = prob, theta
    return st


def _em(pats, n, p, mu, sigma, max_iter: int = 1000, tol: float = 1e-11):
    """EM estimates of the saturated mean and covariance from missing-data patterns."""
    allv = np.arange(p)
    plan = []
    t1_const = np.zeros(p)
    t2_const = np.zeros((p, p))
    for pat in pats:
        o, k = pat.obs, pat.n
        sy = k * pat.mean
        syy = k * (pat.cov + np.outer(pat.mean, pat.mean))
        t1_const[o] += sy  # observed parts do not change between iterations
        t2_const[np.ix_(o, o)] += syy
        m = np.setdiff1d(allv, o, assume_unique=True)
        if len(m):
            plan.append((o, m, k, sy, syy, np.ix_(o, o), np.ix_(o, m), np.ix_(m, m),
                         np.ix_(m, o)))
    for _ in range(max_iter):
        t1 = t1_const.copy()
        t2 = t2_const.copy()
        for o, m, k, sy, syy, ioo, iom, imm, imo in plan:
            s_om = sigma[iom]
            bmat = np.linalg.solve(sigma[ioo], s_om).T  # Sigma_mo Sigma_oo^-1
            c = sigma[imm] - bmat @ s_om
            c0 = mu[m] - bmat @ mu[o]
            bsy = bmat @ sy
            t1[m] += k * c0 + bsy
            cross = np.outer(c0, sy) + bmat @ syy  # sum of E[y_m] y_o'
            t2[imo] += cross
            t2[iom] += cross.T
            t2[imm] += (k * np.outer(c0, c0) + np.outer(c0, bsy) + np.outer(bsy, c0)
                        + bmat @ syy @ bmat.T + k * c)
        mu_new = t1 / n
        sigma_new = t2 / n - np.outer(mu_new, mu_new)
        sigma_new = 0.5 * (sigma_new + sigma_new.T)
        delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(sigma_new - sigma)))
        mu, sigma = mu_new, sigma_new
        if delta < tol:
            break
    return mu, sigma


def _baseline_logl(st: FimlStats, skip=()) -> float:
    """Independence model: each variable's mean and variance from its available cases
    (pooled from the missing-data patterns)."""
    count, _, var = available_moments(st.patterns, len(st.cov))
    skip = set(skip)
    keep = [j for j in range(len(count)) if j not in skip]
    return float(np.sum(-0.5 * count[keep] * (_LOG2PI + np.log(var[keep]) + 1.0)))
