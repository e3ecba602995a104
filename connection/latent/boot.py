"""Bootstrap of a fitted model: every replicate refitted by ML, all replicates at once.

A bootstrap replicate of a listwise ML (or MLR) fit depends on the resampled rows only through
their means and covariance matrices, so each chunk of replicates is turned into weighted moments
(the shared engine's ``mode="counts"``: frequency weights, one row per replicate) and all of them
are fitted together by Fisher scoring on stacked (batched) matrices, warm-started at the
full-sample estimates. The likelihood, the conventions (divisor N, lavaan's discrepancy) and the
parameter table are the engine's own, so a replicate's estimates equal ``cfa()``/``sem()`` on
the same resampled rows (to the optimiser's tolerance, ~1e-9).

Multi-group fits resample within each group (group sizes kept, as lavaan's bootstrap does).
FIML fits (``missing="ml"``) are refitted replicate by replicate (slower, same seeding).

Replicates whose fit does not converge, or whose implied covariance matrix is not positive
definite, are failures: counted in ``n_failed`` (by reason in ``failures``), announced with a
:class:`~connection.errors.BootstrapWarning`, and excluded from standard errors and intervals.
Replicates with inadmissible but converged solutions (e.g. a negative variance) are kept, as
in lavaan's ``bootstrapLavaan``; their number is in ``n_inadmissible``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from connection._common import (
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    as_seed_sequence,
    check_int,
    check_level,
    warn,
)
from connection._report import Report
from connection.errors import BootstrapWarning, ModelSpecificationError
from connection.latent.blas import BlasLimit
from connection.latent.defined import defined_parameters
from connection.latent.standardize import standardize_plan

__all__ = ["BatchedML", "SemBootstrapResult", "bootstrap_fit"]

# replicate status codes (an extra output column, so the shared engine never drops a row)
_OK, _NOT_CONVERGED, _NOT_PD, _ERROR = 0, 1, 2, 3
_SENTINEL = 1e300
_REASONS = {_NOT_CONVERGED: "not converged", _NOT_PD: "implied covariance not positive definite",
            _ERROR: "fit raised an error"}


class BatchedML:
    """ML fits of one model (its :class:`ModelStructure`) to a stack of moment sets at once.

    ``stats`` per group: ``S`` (b, p, p), ``m`` (b, p); ``weights`` n_g / N. Fisher scoring
    with step halving, per replicate; only replicates still iterating are computed.
    """

    def __init__(self, struct, meanstructure: bool, fixed: np.ndarray, exo_rows: list):
        self.struct = struct
        self.ms = bool(meanstructure)
        self.fixed = np.asarray(fixed, dtype=float)
        self.exo_rows = exo_rows
        self.freemask = struct.free >= 0
        self.free_idx = struct.free[self.freemask]
        self.plans = [struct._lowrank_plan(g, self.ms) for g in range(struct.ngroups)]

    # ---------------------------------------------------------------- model
    def row_values(self, theta, stats):
        b = theta.shape[0]
        vals = np.broadcast_to(self.fixed, (b, len(self.fixed))).copy()
        for r, op, i, j, g in self.exo_rows:  # fixed.x: the replicate's own x moments
            vals[:, r] = stats[g][0][:, i, j] if op == "~~" else stats[g][1][:, i]
        vals[:, self.freemask] = theta[:, self.free_idx]
        return vals

    def implied(self, g, vals):
        st = self.struct
        b, p, m = vals.shape[0], st.p, st.m
        L = np.zeros((b, p, m))
        B = np.zeros((b, m, m))
        P = np.zeros((b, m, m))
        T = np.zeros((b, p, p))
        nu = np.zeros((b, p))
        al = np.zeros((b, m))
        if len(st.phantom_ov):
            L[:, st.phantom_ov, st.phantom_eta] = 1.0
        blk = st.blocks[g]
        sel, i, j, _ = blk["L"]
        L[:, i, j] = vals[:, sel]
        sel, i, j, _ = blk["B"]
        B[:, i, j] = vals[:, sel]
        sel, i, j, _ = blk["P"]
        P[:, i, j] = vals[:, sel]
        P[:, j, i] = vals[:, sel]
        sel, i, j, _ = blk["T"]
        T[:, i, j] = vals[:, sel]
        T[:, j, i] = vals[:, sel]
        sel, i, _, _ = blk["nu"]
        nu[:, i] = vals[:, sel]
        sel, i, _, _ = blk["al"]
        al[:, i] = vals[:, sel]
        if st.has_B:
            A = np.linalg.inv(np.eye(m) - B)
            LA = L @ A
            C = A @ P @ A.transpose(0, 2, 1)
            ea = (A @ al[..., None])[..., 0]
        else:
            LA, C, ea = L, P, al
        H = L @ C
        sigma = H @ L.transpose(0, 2, 1) + T
        sigma = 0.5 * (sigma + sigma.transpose(0, 2, 1))
        mu = nu + (LA @ al[..., None])[..., 0]
        return dict(sigma=sigma, mu=mu, LA=LA, H=H, ea=ea, C=C, T=T, P=P)

    def _lowrank(self, g, imp):
        plan = self.plans[g]
        parts = plan["parts"]
        LA, H, ea = imp["LA"], imp["H"], imp["ea"]
        b = LA.shape[0]
        ta = np.broadcast_to(plan["ta"], (b,) + plan["ta"].shape).copy()
        tb = np.broadcast_to(plan["tb"], (b,) + plan["tb"].shape).copy()
        sl, i, j = parts["L"]
        tb[:, :, sl] = H[:, :, j]
        sl, i, j = parts["B"]
        if len(i):
            ta[:, :, sl] = LA[:, :, i]
            tb[:, :, sl] = H[:, :, j]
        sl, i, j = parts["P"]
        if len(i):
            ta[:, :, sl] = LA[:, :, i]
            tb[:, :, sl] = LA[:, :, j] * plan["cP"]
        tm = None
        if self.ms:
            tm = np.broadcast_to(plan["tm"], (b,) + plan["tm"].shape).copy()
            sl, i, j = parts["L"]
            if len(i):
                tm[:, i, plan["L_cols"]] = ea[:, j]
            sl, i, j = parts["B"]
            if len(i):
                tm[:, :, sl] = LA[:, :, i] * ea[:, None, j]
            sl, i, _ = parts["al"]
            if len(i):
                tm[:, :, sl] = LA[:, :, i]
        return ta, tb, tm

    # ---------------------------------------------------------------- likelihood
    def _group_terms(self, g, imp, S, mean, with_derivatives):
        """(discrepancy (b,), ok (b,), gradient (b, q), expected information (b, q, q))."""
        sigma = imp["sigma"]
        p = sigma.shape[-1]
        sign, logdet = np.linalg.slogdet(sigma)
        ok = (sign > 0) & np.isfinite(logdet)
        safe = np.where(ok[:, None, None], sigma, np.eye(p))
        v = np.linalg.inv(safe)
        v = 0.5 * (v + v.transpose(0, 2, 1))
        s_sign, s_logdet = np.linalg.slogdet(S)
        f = logdet + np.einsum("bij,bij->b", v, S) - s_logdet - p
        if self.ms:
            d = mean - imp["mu"]
            r = (v @ d[..., None])[..., 0]
            f = f + np.einsum("bi,bi->b", d, r)
        f = np.where(ok, f, np.inf)
        if not with_derivatives:
            return f, ok, None, None
        ta, tb, tm = self._lowrank(g, imp)
        s_tilde = S + d[:, :, None] * d[:, None, :] if self.ms else S
        w = v - v @ s_tilde @ v
        va, vb = v @ ta, v @ tb
        at = ta.transpose(0, 2, 1)
        ava, avb, bvb = at @ va, at @ vb, tb.transpose(0, 2, 1) @ vb
        grad_rows = 2.0 * np.einsum("bir,bir->br", ta, w @ tb)
        info_rows = 2.0 * (ava * bvb + avb * avb.transpose(0, 2, 1))
        if self.ms:
            grad_rows -= 2.0 * np.einsum("bir,bi->br", tm, r)
            info_rows += 2.0 * (tm.transpose(0, 2, 1) @ (v @ tm))
        agg = self.plans[g]["onehot"]
        if agg.perm is not None:
            grad = grad_rows[:, agg.perm]
            info = info_rows[:, agg.perm][:, :, agg.perm]
        else:
            grad = grad_rows @ agg.onehot
            info = agg.onehot.T @ info_rows @ agg.onehot
        return f, ok, grad, info

    def evaluate(self, theta, stats, weights, with_derivatives=True):
        vals = self.row_values(theta, stats)
        f = np.zeros(theta.shape[0])
        ok = np.ones(theta.shape[0], dtype=bool)
        grad = info = None
        if with_derivatives:
            q = theta.shape[1]
            grad = np.zeros_like(theta)
            info = np.zeros((theta.shape[0], q, q))
        for g, (w, (S, mean)) in enumerate(zip(weights, stats)):
            imp = self.implied(g, vals)
            fg, okg, gg, ig = self._group_terms(g, imp, S, mean, with_derivatives)
            f += w * fg
            ok &= okg
            if with_derivatives:
                grad += w * gg
                info += w * ig
        return f, ok, grad, info

    # ---------------------------------------------------------------- fitting
    def fit(self, stats, weights, theta0, *, max_iter: int = 60, tol: float = 1e-10):
        """Fit every moment set; returns (theta (b, q), status (b,) int)."""
        b = stats[0][0].shape[0]
        theta = np.broadcast_to(theta0, (b, len(theta0))).copy()
        status = np.full(b, _NOT_CONVERGED)
        active = np.arange(b)
        sub = stats
        f, ok, _, _ = self.evaluate(theta, stats, weights, with_derivatives=False)
        status[~ok] = _NOT_PD
        active = active[ok]
        for _ in range(max_iter):
            if not len(active):
                break
            sub = [(S[active], m[active]) for S, m in stats]
            th = theta[active]
            _, okd, grad, info = self.evaluate(th, sub, weights)
            try:
                step = np.linalg.solve(info, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular information in the batch: one by one
                step = np.stack([np.linalg.lstsq(a, c, rcond=None)[0]
                                 for a, c in zip(info, grad)])
            finite = np.all(np.isfinite(step), axis=1)
            step[~finite] = 0.0
            # step halving where the full step does not decrease the discrepancy
            alpha = np.ones(len(active))
            f_old = f[active]
            pending = np.arange(len(active))
            cand = th.copy()
            f_new = np.full(len(active), np.inf)
            for _ in range(30):
                if not len(pending):
                    break
                trial = th[pending] - alpha[pending, None] * step[pending]
                ft, okt, _, _ = self.evaluate(
                    trial, [(S[pending], m[pending]) for S, m in sub], weights,
                    with_derivatives=False)
                good = okt & np.isfinite(ft) & (ft <= f_old[pending]
                                                + 1e-14 * np.maximum(1.0, np.abs(f_old[pending])))
                cand[pending[good]] = trial[good]
                f_new[pending[good]] = ft[good]
                pending = pending[~good]
                alpha[pending] *= 0.5
            stuck = np.isin(np.arange(len(active)), pending) | ~finite
            moved = ~stuck
            theta[active[moved]] = cand[moved]
            f[active[moved]] = f_new[moved]
            small = np.all(np.abs(step) < tol * (1.0 + np.abs(th)), axis=1) & finite
            done = small & moved
            status[active[done]] = _OK
            # a replicate whose step cannot improve anything is at its optimum only if small
            status[active[stuck & small]] = _OK
            keep = ~(done | stuck)
            active = active[keep]
        return theta, status


def _moments_from_counts(x, xc0, mean0, prods, iu, counts):
    """Weighted means and covariances (divisor n) of one group's rows for each count row."""
    n = x.shape[0]
    b, p = counts.shape[0], x.shape[1]
    m1 = counts @ xc0 / n
    if prods is not None:
        m2 = counts @ prods / n
        S = np.empty((b, p, p))
        S[:, iu[0], iu[1]] = m2
        S[:, iu[1], iu[0]] = m2
    else:
        S = np.stack([(xc0 * c[:, None]).T @ xc0 for c in counts]) / n
    S -= m1[:, :, None] * m1[:, None, :]
    return 0.5 * (S + S.transpose(0, 2, 1)), mean0 + m1


class _BatchedStatistic:
    """The counts-mode statistic: replicate moments -> batched ML fit -> estimates, std_all,
    status. A picklable object (for ``n_jobs > 1``)."""

    def __init__(self, fit, prods_budget: int = 20_000_000):
        struct = fit.estimation.structure
        self.struct = struct
        self.groups = []
        for st in fit.estimation.stats:
            x = st.data
            p = x.shape[1]
            mean0 = x.mean(axis=0)
            xc0 = x - mean0
            iu = np.triu_indices(p)
            prods = (xc0[:, iu[0]] * xc0[:, iu[1]] if x.shape[0] * len(iu[0]) <= prods_budget
                     else None)
            self.groups.append((x, xc0, mean0, prods, iu))
        self.sizes = [st.data.shape[0] for st in fit.estimation.stats]
        self.offsets = np.cumsum([0] + self.sizes)
        self.weights = np.array(self.sizes, dtype=float) / sum(self.sizes)
        self.engine = BatchedML(struct, fit.meanstructure, fit.estimation.fixed, fit.estimation.partable.cache["row_arrays"][3])
        self.theta0 = np.asarray(fit.estimation.theta, dtype=float)
        self.std = _StdAllPlan(fit)
        self.nrows = len(struct.row_index)

    def __call__(self, data, counts):
        with BlasLimit():  # many small products: one BLAS thread is fastest
            return self._call(counts)

    def _call(self, counts):
        stats = []
        for g, (x, xc0, mean0, prods, iu) in enumerate(self.groups):
            c = counts[:, self.offsets[g]:self.offsets[g + 1]]
            stats.append(_moments_from_counts(x, xc0, mean0, prods, iu, c))
        b = counts.shape[0]
        try:
            theta, status, vals, imps = self._fit(stats)
            with np.errstate(divide="ignore", invalid="ignore"):
                std_all = self.std(vals, imps)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            vals = np.zeros((b, self.nrows))
            std_all = np.zeros((b, self.nrows))
            status = np.full(b, _ERROR)
        bad = status != _OK
        vals[bad] = np.nan_to_num(vals[bad])
        std_all[bad] = np.nan_to_num(std_all[bad])
        # a converged replicate whose standardisation is undefined (a zero or negative
        # variance) is not a failure: the cell carries a finite sentinel (the shared engine
        # drops rows with non-finite values), turned back into NaN by bootstrap_fit
        std_all[~bad] = np.where(np.isfinite(std_all[~bad]), std_all[~bad], _SENTINEL)
        return np.column_stack([vals, std_all, status])


    def _fit(self, stats):
        theta, status = self.engine.fit(stats, self.weights, self.theta0)
        for r in np.flatnonzero(status == _NOT_CONVERGED):
            # slow linear convergence (a poorly fitting or near-Heywood replicate): finish
            # with the engine's own Newton iterations on this replicate's moments
            theta[r], status[r] = self._newton(stats, r, theta[r])
        vals = self.engine.row_values(theta, stats)
        imps = [self.engine.implied(g, vals) for g in range(self.struct.ngroups)]
        return theta, status, vals, imps

    def _newton(self, stats, r, theta):
        from connection.latent.estimate import GroupStats, Moments, Problem, fisher_scoring
        from connection.latent.model import second_order_term

        struct, ms = self.struct, self.engine.ms
        one = [(S[r:r + 1], m[r:r + 1]) for S, m in stats]
        fixed = self.engine.row_values(theta[None, :], one)[0]
        fixed[self.engine.freemask] = 0.0
        free = self.engine.freemask
        gstats = [GroupStats(n=n, mean=m[0], cov=S[0]) for n, (S, m) in zip(self.sizes, one)]

        def moments(th, deriv):
            vals = fixed.copy()
            vals[free] = th[struct.free[free]]
            out = []
            for g in range(struct.ngroups):
                imp = struct.implied(g, vals)
                if deriv:
                    out.append(Moments(imp.sigma, imp.mu,
                                       second=partial(second_order_term, struct, g, imp),
                                       lowrank=struct.lowrank(g, imp, means=ms)))
                else:
                    out.append(Moments(imp.sigma, imp.mu))
            return out

        problem = Problem(moments, gstats, struct.npar, ms)
        try:
            th, converged, _, _ = fisher_scoring(problem, theta)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return theta, _NOT_CONVERGED
        return th, (_OK if converged else _NOT_CONVERGED)


class _LoopStatistic:
    """Indices-mode statistic for fits the batched path does not cover (FIML): one refit per
    replicate on the resampled rows."""

    def __init__(self, fit):
        self.fit = fit
        self.struct = fit.estimation.structure
        self.nrows = len(fit.estimation.structure.row_index)
        self.std = _StdAllPlan(fit)
        self.frame = fit.estimation.data.loc[fit.rows_used]

    def __call__(self, data, idx):
        b = idx.shape[0]
        out = np.zeros((b, 2 * self.nrows + 1))
        for r in range(b):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = self.fit.refit(data=self.frame.iloc[idx[r]])
            except Exception:  # noqa: BLE001 - a failed replicate is counted, not raised
                out[r, -1] = _ERROR
                continue
            if not f.converged or f.group_labels != self.fit.group_labels:
                out[r, -1] = _NOT_CONVERGED if not f.converged else _ERROR
                continue
            vals = f.estimation.values[None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                std_all = self.std(vals, [
                    dict(sigma=i.sigma[None], C=i.C[None], T=i.T[None], P=i.P[None])
                    for i in f.estimation.implied])
            out[r, :self.nrows] = vals[0]
            out[r, self.nrows:2 * self.nrows] = np.where(np.isfinite(std_all[0]), std_all[0],
                                                         _SENTINEL)
        return out


class _StdAllPlan:
    """``std_all`` of every (non-defined) row for stacked solutions (the one plan of
    :mod:`connection.latent.standardize`, as Fit.standardized)."""

    def __init__(self, fit):
        est = fit.estimation
        self.plan = standardize_plan(est.structure, est.partable)

    def __call__(self, vals, imps):
        return self.plan(vals, imps, std_lv=False)[1]


@dataclass(frozen=True)
class SemBootstrapResult:
    """Bootstrap standard errors and percentile intervals of a fitted model's parameters.

    Attributes
    ----------
    estimates : DataFrame
        One row per parameter, keyed like :attr:`Fit.estimates` (``lhs op rhs group label``):
        ``est`` (full-sample estimate), ``se`` (bootstrap standard error: SD of the successful
        replicates, ddof=1), ``ci_lower``, ``ci_upper`` (percentile interval at ``level``),
        ``std_all``, ``std_all_se``, ``std_all_ci_lower``, ``std_all_ci_upper``.
    replicates : DataFrame
        Parameter estimates of every successful replicate (index: replicate number, columns
        ``"lhs op rhs"`` with ``"@group"`` in multi-group fits).
    std_all_replicates : DataFrame
        The same for the completely standardized solution.
    n_boot, n_failed, failures, n_inadmissible, level, seed
        Replicates requested; replicates that failed (not converged, implied covariance not
        positive definite) and excluded; failures by reason; converged replicates with a
        negative variance (kept); interval level; the seed (an integer as given, else the
        :class:`numpy.random.SeedSequence` the replicates were drawn from).
    """

    estimates: pd.DataFrame
    replicates: pd.DataFrame
    std_all_replicates: pd.DataFrame
    n_boot: int
    n_failed: int
    failures: dict = field(default_factory=dict)
    n_inadmissible: int = 0
    level: float = DEFAULT_LEVEL
    seed: object = None
    method: str = "batched"

    @property
    def se(self) -> pd.Series:
        """Bootstrap standard errors indexed like :attr:`replicates`' columns."""
        return self.replicates.std(ddof=1)

    def ci(self, level: float | None = None) -> pd.DataFrame:
        """Percentile intervals at another level (rows as :attr:`estimates`)."""
        level = self.level if level is None else check_level(level)
        lo, hi = _percentiles(self.replicates.to_numpy(), level)
        out = self.estimates[["lhs", "op", "rhs", "group", "label", "est"]].copy()
        out["ci_lower"], out["ci_upper"] = lo, hi
        return out

    def summary(self) -> Report:
        """The bootstrap as a :class:`connection._report.Report`: replicates, failures (by
        reason), inadmissible replicates kept, interval level and seed in the header; the
        estimates table (``lhs op rhs group est se ci_lower ci_upper std_all``)."""
        failed = str(self.n_failed) + (
            f" ({', '.join(f'{k}: {v}' for k, v in self.failures.items())})"
            if self.failures else "")
        seed = self.seed if self.seed is None or isinstance(self.seed, int) else repr(self.seed)
        header = [("Method", self.method), ("Replicates", self.n_boot), ("Failed", failed),
                  ("Inadmissible kept", self.n_inadmissible),
                  ("Interval", f"percentile, {100 * self.level:g}%"), ("Seed", seed)]
        cols = ["lhs", "op", "rhs", "group", "est", "se", "ci_lower", "ci_upper", "std_all"]
        report = Report("Bootstrap of a fitted model", header=header)
        report.add_table(self.estimates[cols], "Bootstrap standard errors and intervals",
                         digits=4)
        if self.n_failed:
            report.add_note(f"{self.n_failed} of {self.n_boot} replicates failed and are "
                            "excluded from the standard errors and intervals")
        return report

    def to_frame(self) -> pd.DataFrame:
        """The main table: :attr:`estimates`."""
        return self.estimates.copy()

    def __repr__(self) -> str:
        return (f"<SemBootstrapResult n_boot={self.n_boot} n_failed={self.n_failed} "
                f"level={self.level:g}>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _percentiles(reps: np.ndarray, level: float):
    if reps.shape[0] < 2:
        nan = np.full(reps.shape[1], np.nan)
        return nan, nan.copy()
    a = 1.0 - level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(reps, [a / 2, 1 - a / 2], axis=0)
    return lo, hi


def bootstrap_fit(fit, *, n_boot: int = DEFAULT_N_BOOT, seed=None, n_jobs: int = 1,
                  progress=None, level: float = DEFAULT_LEVEL,
                  chunk_size: int = 250) -> SemBootstrapResult:
    """Nonparametric bootstrap of ``fit`` (see :meth:`Fit.bootstrap`)."""
    from connection.stats._bootstrap import bootstrap

    if fit.estimation.options.get("sample_stats") is not None or fit.estimation.data is None:
        raise ModelSpecificationError(
            "the bootstrap resamples respondents, so it needs a fit made from raw data",
            hint="fit with data=..., not sample_stats=")
    level = check_level(level)
    n_boot = check_int(n_boot, "n_boot", minimum=1, what="an integer >= 1 (replicates)")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    seed_seq = as_seed_sequence(seed)
    seed = int(seed) if isinstance(seed, int | np.integer) else seed_seq
    struct = fit.estimation.structure
    nrows = len(struct.row_index)
    strata = None
    if fit.missing == "ml":
        stat = _LoopStatistic(fit)
        n = len(fit.rows_used)
        if fit.n_groups > 1:
            gcol = stat.frame[fit.estimation.options["group"]].to_numpy()
            strata = pd.Series(gcol).map({lab: k for k, lab in
                                          enumerate(fit.group_labels)}).to_numpy()
        mode, method, data = "indices", "refit per replicate", np.arange(n)
    else:
        stat = _BatchedStatistic(fit)
        n = int(sum(stat.sizes))
        if fit.n_groups > 1:
            strata = np.repeat(np.arange(fit.n_groups), stat.sizes)
        mode, method, data = "counts", "batched", np.arange(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BootstrapWarning)  # reported below, by reason
        res = bootstrap(stat, data, n_boot=n_boot, seed=seed_seq, mode=mode, strata=strata,
                        n_jobs=n_jobs, level=level, progress=progress, label="sem bootstrap",
                        chunk_size=chunk_size)
    reps = res.replicates.to_numpy()
    status = reps[:, -1].astype(int)
    okrows = status == _OK
    failures: dict = {}
    for code, reason in _REASONS.items():
        k = int((status == code).sum())
        if k:
            failures[reason] = k
    for reason, k in res.failures.items():  # anything the shared engine itself caught
        failures[reason] = failures.get(reason, 0) + int(k)
    index = np.arange(n_boot) if res.n_failed == 0 else np.arange(len(reps))
    vals = reps[okrows, :nrows]
    std_vals = reps[okrows, nrows:2 * nrows]
    index = index[okrows]
    n_failed = n_boot - int(okrows.sum())
    if n_failed:
        warn(f"{n_failed} of {n_boot} bootstrap replicates failed ("
             + ", ".join(f"{k}: {v}" for k, v in failures.items())
             + "); they are excluded from the standard errors and intervals and counted in "
               "n_failed", BootstrapWarning)
    # rows of the parameter table: non-defined rows, then defined parameters (:=)
    est_full = fit.estimates
    cols = fit.estimation.partable.frame
    row_index = struct.row_index
    defrows = np.flatnonzero((cols["op"] == ":=").to_numpy())
    allvals = np.full((len(vals), len(cols)), np.nan)
    allstd = np.full((len(vals), len(cols)), np.nan)
    allvals[:, row_index] = vals
    allstd[:, row_index] = std_vals
    if len(defrows) and len(vals):
        allvals[:, defrows] = _defined_replicates(fit, vals, defrows)
    allstd[allstd >= 0.5 * _SENTINEL] = np.nan  # undefined standardisations
    neg = (cols["op"] == "~~").to_numpy() & (cols["lhs"] == cols["rhs"]).to_numpy()
    n_inadm = int(np.any(allvals[:, neg] < 0, axis=1).sum()) if neg.any() else 0
    names = [f"{lhs} {op} {rhs}" + (f"@{grp}" if fit.n_groups > 1 and op != ":=" else "")
             for lhs, op, rhs, grp in zip(est_full["lhs"], est_full["op"], est_full["rhs"],
                                         est_full["group"])]
    replicates = pd.DataFrame(allvals, index=pd.Index(index, name="replicate"), columns=names)
    std_reps = pd.DataFrame(allstd, index=pd.Index(index, name="replicate"), columns=names)
    lo, hi = _percentiles(allvals, level)
    slo, shi = _percentiles(allstd, level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(allvals, axis=0, ddof=1) if len(allvals) > 1 else np.full(len(cols), np.nan)
        sse = np.nanstd(allstd, axis=0, ddof=1) if len(allstd) > 1 else np.full(len(cols), np.nan)
    table = est_full[["lhs", "op", "rhs", "group", "label", "est"]].copy()
    table["se"] = se
    table["ci_lower"], table["ci_upper"] = lo, hi
    table["std_all"] = est_full["std_all"].to_numpy()
    table["std_all_se"] = sse
    table["std_all_ci_lower"], table["std_all_ci_upper"] = slo, shi
    return SemBootstrapResult(estimates=table.reset_index(drop=True), replicates=replicates,
                        std_all_replicates=std_reps, n_boot=int(n_boot), n_failed=n_failed,
                        failures=failures, n_inadmissible=n_inadm, level=float(level),
                        seed=seed, method=method)


def _defined_replicates(fit, vals, defrows):
    """Defined parameters (``:=``) of each replicate from its row values (the one evaluator
    of :mod:`connection.latent.defined`; NaN where an expression is undefined)."""
    est = fit.estimation
    defined = defined_parameters(est.structure, est.partable)
    return defined(vals, errors="nan")
