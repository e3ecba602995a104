"""Out-of-sample evidence: does adding drivers predict new respondents' outcome better?

:func:`predictive_comparison` runs repeated k-fold cross-validation of two nested models, the
*base* model (the outcome on ``base``) and the *full* model (on ``base + added``), on identical
folds: every repeat draws one random partition of the complete cases from its own stream of
``seed`` (``spawn(seed, repeats)``), so a seed always gives the same folds
(:attr:`PredictiveComparisonResult.fold_ids`), and both models are fitted on each training part
and scored on the held-out part.

Loss
    ``family="ols"``: the squared prediction error; the out-of-sample R-squared of a fold is
    ``1 - SSE / sum (y - mean of the training y)**2`` (PLSpredict's Q-squared predict).
    ``family="logit"`` (a 0/1 outcome): the log-loss (negative Bernoulli log-likelihood of the
    predicted probability), and McFadden's out-of-sample pseudo R-squared ``1 - LL / LL0`` with
    ``LL0`` the log-likelihood of the training share. The out-of-sample AUC of each fold (the
    Mann-Whitney probability that a held-out 1 gets a higher predicted probability than a
    held-out 0, ties counting one half) is reported too, and its difference full - base is
    tested like the loss (:attr:`PredictiveComparisonResult.auc_test`; folds whose held-out part
    holds one class only have no AUC and are left out of that test, with a warning).
    ``family="ordinal"`` (an ordered outcome with 3 or more categories): the proportional-odds
    (cumulative) logit ``P(y <= k) = F(tau_k - x'b)``, fitted by Newton's method (the same
    estimates as statsmodels' ``OrderedModel(distr="logit")``); the loss is the log-loss
    ``-log P(y = observed category)`` and the pseudo R-squared is McFadden's against the
    training shares of the categories. Every category must occur in every training part (merge
    a category too rare for that first).
Test (CVPAT-style, Liengaard et al. 2021)
    ``d_j`` = mean loss of the base model minus mean loss of the full model in held-out fold
    ``j`` (positive: the added drivers predict better). Over the ``J = folds * repeats`` folds,
    ``t = mean(d) / sqrt((1 / J + n_test / n_train) * var(d))`` with ``J - 1`` degrees of
    freedom: the resampled t test with Nadeau & Bengio's (2003) correction for the overlap of the
    training sets (the plain t test over folds rejects far too often; Bouckaert & Frank 2004).
    The p-value is one-sided (H1: the full model has the lower loss); the interval of the mean
    difference is two-sided at ``level`` with the same standard error.

The comparison is unweighted (survey weights are not used: prediction of individual
respondents, as PLSpredict).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> d = pd.DataFrame(rng.normal(size=(300, 2)), columns=["satisfaction", "connection"])
>>> d["loyalty"] = 0.5 * d.satisfaction + 0.4 * d.connection + rng.normal(size=300)
>>> r = predictive_comparison(d, "loyalty", base=["satisfaction"], added=["connection"], seed=7)
>>> bool(r.test["p_value"] < 0.05), bool(r.test["mean_difference"] > 0)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _sps

from connection import _common
from connection._report import Report, Reported
from connection.errors import ArgumentError, ExclusionWarning, MissingColumnError, OutOfRangeError
from connection.outcomes._compare import _numeric
from connection.stats._weights import as_frame

__all__ = ["predictive_comparison", "PredictiveComparisonResult", "FOLD_COLUMNS", "auc",
           "ordinal_fit"]

FOLD_COLUMNS = ["repeat", "fold", "n_train", "n_test", "loss_base", "loss_full",
                "loss_difference", "r2_base", "r2_full", "auc_base", "auc_full", "auc_difference"]
"""Columns of :attr:`PredictiveComparisonResult.folds`: one row per held-out fold, the mean loss
of each model on it, their difference (base minus full), each model's out-of-sample R-squared
(OLS) or pseudo R-squared (logit, ordinal), and for logit each model's out-of-sample AUC and
their difference (full minus base; NaN for the other families, or when the held-out part holds
one class only)."""


@dataclass(eq=False, repr=False)
class PredictiveComparisonResult(Reported):
    """Repeated k-fold comparison of a base and a full model (:func:`predictive_comparison`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (``base``, ``full``) and one for the ``difference``: mean loss and
        out-of-sample R-squared over the folds.
    folds : pandas.DataFrame
        :data:`FOLD_COLUMNS`, one row per held-out fold.
    test : dict
        The loss difference (base - full): ``mean_difference``, ``se``, ``t``, ``df``,
        ``p_value`` (one-sided), ``ci_lower``, ``ci_upper``, ``level``.
    auc_test : dict or None
        ``family="logit"``: the same test of the AUC difference (full - base) over the folds
        with both classes held out; None for the other families.
    fold_ids : numpy.ndarray
        ``(repeats, n)``: the fold of each complete case in each repeat.
    outcome, base, added, family, n, n_folds, repeats
    """

    table: pd.DataFrame
    folds: pd.DataFrame
    test: dict
    fold_ids: np.ndarray
    outcome: str
    base: list[str]
    added: list[str]
    family: str
    n: int
    n_folds: int
    repeats: int
    auc_test: dict | None = None

    def to_frame(self) -> pd.DataFrame:
        """The model table (base, full, difference) with the test in the difference row."""
        return self.table.copy()

    def summary(self) -> Report:
        loss = "squared error" if self.family == "ols" else "log-loss"
        if self.family == "ordinal":
            loss += " (proportional-odds logit)"
        t = self.test
        rep = Report(f"Predictive comparison: {self.outcome}", header=[
            ("Respondents", self.n), ("Family", self.family),
            ("Base", ", ".join(self.base) or "(intercept only)"), ("Added", ", ".join(self.added)),
            ("Cross-validation", f"{self.n_folds}-fold, {self.repeats} repeats"),
            ("Loss", loss)])
        rep.add_table(self.table, caption="Out-of-sample fit (mean over folds)", digits=4)
        rep.add_note(f"Loss difference base - full = {t['mean_difference']:.4g} "
                     f"(SE {t['se']:.3g}, {t['level']:.0%} CI {t['ci_lower']:.3g} to "
                     f"{t['ci_upper']:.3g}); t({t['df']:.0f}) = {t['t']:.3f}, one-sided "
                     f"p = {t['p_value']:.3g} (Nadeau-Bengio corrected resampled t test).")
        if self.auc_test is not None:
            a = self.auc_test
            rep.add_note(f"AUC difference full - base = {a['mean_difference']:.4g} (SE "
                         f"{a['se']:.3g}, {a['level']:.0%} CI {a['ci_lower']:.3g} to "
                         f"{a['ci_upper']:.3g}); t({a['df']:.0f}) = {a['t']:.3f}, one-sided "
                         f"p = {a['p_value']:.3g}.")
        return rep

    def to_excel(self, path) -> str:
        """Write the model table and the folds to a formatted .xlsx (sheets ``Models`` and
        ``Folds``); returns the path."""
        from connection.outcomes._banner import write_excel
        return write_excel(path, {"Models": self.table, "Folds": self.folds})


# ----------------------------------------------------------------------------------- models
# Every fitter takes (X train, y train, X test, y test) with X's first column the intercept and
# returns (the loss of each held-out case, the fold's out-of-sample (pseudo) R-squared, the
# predicted probability of a 1 for logit, else None).
def _ols(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray):
    coef = np.linalg.lstsq(Xtr, ytr, rcond=None)[0]
    err = (yte - Xte @ coef) ** 2
    r2 = 1.0 - err.sum() / ((yte - ytr.mean()) ** 2).sum()
    return err, float(r2), None


def _logit_coef(X: np.ndarray, y: np.ndarray, max_iter: int = 50) -> np.ndarray:
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = np.clip(X @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        wts = p * (1 - p)
        step = np.linalg.lstsq(X * np.sqrt(wts)[:, None], (y - p) / np.sqrt(np.maximum(wts, 1e-12)),
                               rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _log_loss(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    # -log p(y) = log(1 + exp(eta)) - y * eta, computed stably
    return np.logaddexp(0.0, eta) - y * eta


def _logit(Xtr, ytr, Xte, yte):
    coef = _logit_coef(Xtr, ytr)
    eta = np.clip(Xte @ coef, -30, 30)
    loss = _log_loss(yte, eta)
    share = np.clip(ytr.mean(), 1e-12, 1 - 1e-12)
    null = _log_loss(yte, np.full(len(yte), np.log(share / (1 - share))))
    return loss, float(1.0 - loss.sum() / null.sum()), _expit(eta)


def _expit(z):
    from scipy.special import expit
    return expit(z)


def _ordinal_parts(theta: np.ndarray, X: np.ndarray, y: np.ndarray, k: int):
    """Per case: ``a = tau_y - x'b``, ``b = tau_(y-1) - x'b`` (``tau_0 = -inf``,
    ``tau_k = +inf``; categories coded 0..k-1) and the probability of the observed category."""
    tau = np.concatenate([[-np.inf], theta[:k - 1], [np.inf]])
    eta = X @ theta[k - 1:]
    a = tau[y + 1] - eta
    b = tau[y] - eta
    prob = _expit(a) - _expit(b)
    return a, b, prob


def _ordinal_loglik(theta, X, y, k) -> float:
    prob = _ordinal_parts(theta, X, y, k)[2]
    return float(np.log(prob).sum()) if (prob > 0).all() else -np.inf


def ordinal_fit(X: np.ndarray, y: np.ndarray, k: int, *, max_iter: int = 100,
                tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Maximum likelihood of the proportional-odds logit ``P(y <= j) = F(tau_j - x'b)``.

    ``X`` has no intercept column; ``y`` holds the categories coded ``0..k-1`` (each present).
    Newton's method with the exact Hessian and step halving from the thresholds of the marginal
    shares and ``b = 0``. Returns ``(tau, b)``: the ``k - 1`` increasing thresholds and the
    coefficients (statsmodels' ``OrderedModel(distr="logit")`` parametrises the same model).
    """
    p = X.shape[1]
    cum = np.cumsum(np.bincount(y, minlength=k))[:-1] / len(y)
    theta = np.concatenate([np.log(cum / (1 - cum)), np.zeros(p)])
    ll = _ordinal_loglik(theta, X, y, k)
    rows = np.arange(len(y))
    for _ in range(max_iter):
        a, b, prob = _ordinal_parts(theta, X, y, k)
        fa, fb = _density(a), _density(b)
        # derivatives of log(F(a) - F(b)) in a and b
        la, lb = fa / prob, -fb / prob
        laa = _density_slope(a) / prob - la**2
        lbb = -_density_slope(b) / prob - lb**2
        lab = -la * lb
        # Jacobians of a and b in theta = (tau_1..tau_{k-1}, beta)
        A = np.zeros((len(y), k - 1 + p))
        B = np.zeros_like(A)
        up, low = y <= k - 2, y >= 1
        A[rows[up], y[up]] = 1.0
        B[rows[low], y[low] - 1] = 1.0
        A[:, k - 1:] = -X
        B[:, k - 1:] = -X
        grad = A.T @ la + B.T @ lb
        hess = (A.T * laa) @ A + (A.T * lab) @ B + (B.T * lab) @ A + (B.T * lbb) @ B
        step = np.linalg.lstsq(hess, -grad, rcond=None)[0]   # a singular Hessian: min-norm
        t = 1.0
        while t > 1e-8:
            trial = theta + t * step
            ll_trial = _ordinal_loglik(trial, X, y, k)
            if ll_trial >= ll - 1e-12:
                break
            t /= 2
        theta, ll = trial, ll_trial
        if np.max(np.abs(t * step)) < tol:
            break
    return theta[:k - 1], theta[k - 1:]


def _density(z):
    F = _expit(z)
    return F * (1 - F)


def _density_slope(z):
    F = _expit(z)
    return F * (1 - F) * (1 - 2 * F)


def _ordinal(Xtr, ytr, Xte, yte):
    k = int(ytr.max()) + 1
    ytr, yte = ytr.astype(np.intp), yte.astype(np.intp)
    tau, beta = ordinal_fit(Xtr[:, 1:], ytr, k)
    theta = np.concatenate([tau, beta])
    loss = -np.log(np.maximum(_ordinal_parts(theta, Xte[:, 1:], yte, k)[2], 1e-300))
    shares = np.bincount(ytr, minlength=k) / len(ytr)
    null = -np.log(shares[yte])
    return loss, float(1.0 - loss.sum() / null.sum()), None


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """The area under the ROC curve: the Mann-Whitney probability that a case with ``y = 1``
    scores higher than one with ``y = 0`` (ties count one half); NaN with one class only."""
    y = np.asarray(y, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = _sps.rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


FITTERS = {"ols": _ols, "logit": _logit, "ordinal": _ordinal}


# --------------------------------------------------------------------------------- arguments
def _columns(frame: pd.DataFrame, outcome: Any, base: Any, added: Any) -> tuple[list, list]:
    if not isinstance(outcome, str):
        raise ArgumentError("outcome must be one column name", values=[outcome],
                            expected='e.g. "loyalty"')
    base_ = [base] if isinstance(base, str) else list(base or [])
    added_ = [added] if isinstance(added, str) else list(added or [])
    if not added_:
        raise ArgumentError("added must name at least one driver", values=[added],
                            expected='e.g. added=["connection"]')
    every = [outcome, *base_, *added_]
    if len(set(every)) != len(every):
        raise ArgumentError("outcome, base and added must be distinct columns", values=every,
                            expected="each column once")
    for c in every:
        if c not in frame.columns:
            raise MissingColumnError(f"column {c!r} is not in the data", column=c,
                                     expected="one of: " + ", ".join(map(str, frame.columns[:20])))
    return base_, added_


def _matrix(frame: pd.DataFrame, outcome: str, columns: list[str], family: str):
    values = np.column_stack([_numeric(frame, c).to_numpy() for c in [outcome, *columns]])
    keep = ~np.isnan(values).any(axis=1)
    if not keep.all():
        _common.warn(f"predictive_comparison: {int((~keep).sum())} of {len(frame)} respondents "
                     "lack the outcome or a driver and are left out", ExclusionWarning)
    values = values[keep]
    y = values[:, 0]
    if family == "logit" and not np.isin(y, (0.0, 1.0)).all():
        bad = y[~np.isin(y, (0.0, 1.0))]
        raise OutOfRangeError("family='logit' needs a 0/1 outcome", column=outcome,
                              values=bad[:10].tolist(), expected="0 or 1")
    if family == "ordinal":
        levels = np.unique(y)
        if levels.size < 3:
            raise OutOfRangeError("family='ordinal' needs an outcome with at least 3 ordered "
                                  "categories", column=outcome, values=levels.tolist(),
                                  expected="3 or more categories; use family='logit' for a "
                                  "yes/no outcome")
        y = np.searchsorted(levels, y).astype(float)   # categories coded 0..k-1 in their order
    else:
        levels = None
    X = np.column_stack([np.ones(len(values)), values[:, 1:]])
    return y, X, levels


def fold_assignment(n: int, folds: int, repeats: int, seed: Any) -> np.ndarray:
    """``(repeats, n)`` fold numbers: per repeat, a random permutation from its own child
    stream of ``seed`` dealt round-robin into ``folds`` parts (sizes differ by at most 1)."""
    out = np.empty((repeats, n), dtype=np.intp)
    for r, child in enumerate(_common.spawn(seed, repeats)):
        perm = np.random.default_rng(child).permutation(n)
        out[r, perm] = np.arange(n) % folds
    return out


# ------------------------------------------------------------------------------------ analysis
def predictive_comparison(data: Any, outcome: str, *, base: Sequence[str], added: Sequence[str],
                          folds: int = 10, repeats: int = 5, seed: Any = None,
                          family: str = "ols",
                          level: float = _common.DEFAULT_LEVEL) -> PredictiveComparisonResult:
    """Repeated k-fold cross-validation of the outcome on ``base`` against ``base + added``.

    Parameters
    ----------
    data
        The respondents: a DataFrame or a Survey (complete cases on every column used).
    outcome
        The outcome column (0/1 for ``family="logit"``; ordered categories, e.g. a 1-5 Likert
        item, for ``family="ordinal"``).
    base
        The drivers of the base model (may be empty: intercept only).
    added
        The drivers added in the full model (e.g. ``["connection"]``).
    folds, repeats
        ``folds``-fold cross-validation, repeated with ``repeats`` random partitions.
    seed
        The partitions' seed: the same seed gives the same folds (for both models).
    family
        ``"ols"`` (squared error, out-of-sample R-squared), ``"logit"`` (log-loss, McFadden's
        pseudo R-squared and AUC) or ``"ordinal"`` (proportional-odds logit: log-loss and
        McFadden's pseudo R-squared).
    level
        Confidence level of the interval of the mean loss difference.

    Returns
    -------
    PredictiveComparisonResult
    """
    family = _common.check_choice(family, "family", tuple(FITTERS))
    level = _common.check_level(level)
    folds = _common.check_int(folds, "folds", minimum=2)
    repeats = _common.check_int(repeats, "repeats", minimum=1)
    frame, _ = as_frame(data)
    base_, added_ = _columns(frame, outcome, base, added)
    y, X, levels = _matrix(frame, outcome, [*base_, *added_], family)
    n = len(y)
    if n < 2 * folds or n // folds <= X.shape[1]:
        raise ArgumentError("too few complete respondents for this many folds and drivers",
                            values=[n], expected=f"at least {max(2 * folds, folds * (X.shape[1] + 1))}")
    ids = fold_assignment(n, folds, repeats, seed)
    if family == "ordinal":
        _check_training_categories(levels, outcome, y, ids, folds)
    fold_rows = _cross_validate(y, X, 1 + len(base_), ids, folds, FITTERS[family])
    fold_frame = pd.DataFrame(fold_rows, columns=FOLD_COLUMNS)
    test = _corrected_t(fold_frame.loss_difference.to_numpy(), fold_frame, level)
    auc_test = _auc_test(fold_frame, level) if family == "logit" else None
    table = _model_table(fold_frame, test, auc_test)
    return PredictiveComparisonResult(table, fold_frame, test, ids, outcome, base_, added_,
                                      family, n, folds, repeats, auc_test)


def _check_training_categories(levels: np.ndarray, outcome: str, y: np.ndarray,
                               ids: np.ndarray, folds: int) -> None:
    """Every category of an ordinal outcome must occur in every training part (a threshold
    cannot be estimated without it)."""
    k = levels.size
    for r in range(ids.shape[0]):
        for f in range(folds):
            counts = np.bincount(y[ids[r] != f].astype(np.intp), minlength=k)
            if (counts == 0).any():
                rare = levels[counts == 0].tolist()
                total = np.bincount(y.astype(np.intp), minlength=k)[counts == 0].tolist()
                raise OutOfRangeError(
                    f"category {rare} of the ordinal outcome is missing from the training part "
                    f"of repeat {r + 1}, fold {f + 1} (it occurs {total} times in all)",
                    column=outcome, values=rare,
                    expected="merge the rare category with its neighbour, or use fewer folds")


def _cross_validate(y, X, k_base: int, ids: np.ndarray, folds: int, fit) -> list[dict]:
    rows = []
    for r in range(ids.shape[0]):
        for f in range(folds):
            test = ids[r] == f
            train = ~test
            loss_b, r2_b, p_b = fit(X[train][:, :k_base], y[train], X[test][:, :k_base], y[test])
            loss_f, r2_f, p_f = fit(X[train], y[train], X[test], y[test])
            auc_b = auc(y[test], p_b) if p_b is not None else float("nan")
            auc_f = auc(y[test], p_f) if p_f is not None else float("nan")
            rows.append({"repeat": r + 1, "fold": f + 1, "n_train": int(train.sum()),
                         "n_test": int(test.sum()), "loss_base": float(loss_b.mean()),
                         "loss_full": float(loss_f.mean()),
                         "loss_difference": float(loss_b.mean() - loss_f.mean()),
                         "r2_base": r2_b, "r2_full": r2_f, "auc_base": auc_b, "auc_full": auc_f,
                         "auc_difference": auc_f - auc_b})
    return rows


def _auc_test(fold_frame: pd.DataFrame, level: float) -> dict:
    """The corrected t test of the AUC difference (full - base) over the folds that have one."""
    has = fold_frame.auc_difference.notna().to_numpy()
    if not has.all():
        _common.warn(f"predictive_comparison: {int((~has).sum())} of {has.size} held-out folds "
                     "hold one class only and have no AUC; the AUC test uses the other "
                     f"{int(has.sum())}", ExclusionWarning)
    if has.sum() < 2:
        raise ArgumentError("too few held-out folds with both classes for the AUC test",
                            values=[int(has.sum())], expected="fewer folds or more respondents")
    return _corrected_t(fold_frame.auc_difference.to_numpy()[has], fold_frame[has], level)


def _corrected_t(d: np.ndarray, fold_frame: pd.DataFrame, level: float) -> dict:
    """Nadeau-Bengio corrected resampled t test of the per-fold differences ``d`` (one-sided:
    H1 mean > 0)."""
    J = d.size
    ratio = float((fold_frame.n_test / fold_frame.n_train).mean())
    var = float(np.var(d, ddof=1)) if J > 1 else float("nan")
    se = float(np.sqrt((1.0 / J + ratio) * var))
    mean = float(d.mean())
    df = J - 1
    t = mean / se if se > 0 else (0.0 if mean == 0 else float(np.sign(mean) * np.inf))
    q = float(_sps.t.ppf(0.5 + level / 2, df))
    return {"mean_difference": mean, "se": se, "t": float(t), "df": float(df),
            "p_value": float(_sps.t.sf(t, df)), "ci_lower": mean - q * se,
            "ci_upper": mean + q * se, "level": level}


def _model_table(fold_frame: pd.DataFrame, test: dict, auc_test: dict | None) -> pd.DataFrame:
    f = fold_frame
    rows = [{"model": "base", "loss": f.loss_base.mean(), "r2_oos": f.r2_base.mean(),
             "auc": f.auc_base.mean()},
            {"model": "full", "loss": f.loss_full.mean(), "r2_oos": f.r2_full.mean(),
             "auc": f.auc_full.mean()},
            {"model": "difference", "loss": test["mean_difference"],
             "r2_oos": (f.r2_full - f.r2_base).mean(),
             "auc": auc_test["mean_difference"] if auc_test else float("nan"),
             "se": test["se"], "t": test["t"],
             "df": test["df"], "p_value": test["p_value"], "ci_lower": test["ci_lower"],
             "ci_upper": test["ci_upper"]}]
    return pd.DataFrame(rows, columns=["model", "loss", "r2_oos", "auc", "se", "t", "df",
                                       "p_value", "ci_lower", "ci_upper"])
