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
    ``LL0`` the log-likelihood of the training share.
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

__all__ = ["predictive_comparison", "PredictiveComparisonResult", "FOLD_COLUMNS"]

FOLD_COLUMNS = ["repeat", "fold", "n_train", "n_test", "loss_base", "loss_full",
                "loss_difference", "r2_base", "r2_full"]
"""Columns of :attr:`PredictiveComparisonResult.folds`: one row per held-out fold, the mean loss
of each model on it, their difference (base minus full) and each model's out-of-sample R-squared
(OLS) or pseudo R-squared (logit)."""


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
        ``mean_difference``, ``se``, ``t``, ``df``, ``p_value`` (one-sided), ``ci_lower``,
        ``ci_upper``, ``level``.
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

    def to_frame(self) -> pd.DataFrame:
        """The model table (base, full, difference) with the test in the difference row."""
        return self.table.copy()

    def summary(self) -> Report:
        loss = "squared error" if self.family == "ols" else "log-loss"
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
        return rep

    def to_excel(self, path) -> str:
        """Write the model table and the folds to a formatted .xlsx (sheets ``Models`` and
        ``Folds``); returns the path."""
        from connection.outcomes._banner import write_excel
        return write_excel(path, {"Models": self.table, "Folds": self.folds})


# ----------------------------------------------------------------------------------- models
def _ols(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> tuple[np.ndarray, float]:
    coef = np.linalg.lstsq(Xtr, ytr, rcond=None)[0]
    err = (yte - Xte @ coef) ** 2
    r2 = 1.0 - err.sum() / ((yte - ytr.mean()) ** 2).sum()
    return err, float(r2)


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


def _logit(Xtr, ytr, Xte, yte) -> tuple[np.ndarray, float]:
    coef = _logit_coef(Xtr, ytr)
    loss = _log_loss(yte, np.clip(Xte @ coef, -30, 30))
    share = np.clip(ytr.mean(), 1e-12, 1 - 1e-12)
    null = _log_loss(yte, np.full(len(yte), np.log(share / (1 - share))))
    return loss, float(1.0 - loss.sum() / null.sum())


FITTERS = {"ols": _ols, "logit": _logit}


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
    X = np.column_stack([np.ones(len(values)), values[:, 1:]])
    return y, X


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
        The outcome column (0/1 for ``family="logit"``).
    base
        The drivers of the base model (may be empty: intercept only).
    added
        The drivers added in the full model (e.g. ``["connection"]``).
    folds, repeats
        ``folds``-fold cross-validation, repeated with ``repeats`` random partitions.
    seed
        The partitions' seed: the same seed gives the same folds (for both models).
    family
        ``"ols"`` (squared error, out-of-sample R-squared) or ``"logit"`` (log-loss).
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
    y, X = _matrix(frame, outcome, [*base_, *added_], family)
    n = len(y)
    if n < 2 * folds or n // folds <= X.shape[1]:
        raise ArgumentError("too few complete respondents for this many folds and drivers",
                            values=[n], expected=f"at least {max(2 * folds, folds * (X.shape[1] + 1))}")
    ids = fold_assignment(n, folds, repeats, seed)
    fold_rows = _cross_validate(y, X, 1 + len(base_), ids, folds, FITTERS[family])
    fold_frame = pd.DataFrame(fold_rows, columns=FOLD_COLUMNS)
    test = _corrected_t(fold_frame, level)
    table = _model_table(fold_frame, test)
    return PredictiveComparisonResult(table, fold_frame, test, ids, outcome, base_, added_,
                                      family, n, folds, repeats)


def _cross_validate(y, X, k_base: int, ids: np.ndarray, folds: int, fit) -> list[dict]:
    rows = []
    for r in range(ids.shape[0]):
        for f in range(folds):
            test = ids[r] == f
            train = ~test
            loss_b, r2_b = fit(X[train][:, :k_base], y[train], X[test][:, :k_base], y[test])
            loss_f, r2_f = fit(X[train], y[train], X[test], y[test])
            rows.append({"repeat": r + 1, "fold": f + 1, "n_train": int(train.sum()),
                         "n_test": int(test.sum()), "loss_base": float(loss_b.mean()),
                         "loss_full": float(loss_f.mean()),
                         "loss_difference": float(loss_b.mean() - loss_f.mean()),
                         "r2_base": r2_b, "r2_full": r2_f})
    return rows


def _corrected_t(fold_frame: pd.DataFrame, level: float) -> dict:
    d = fold_frame.loss_difference.to_numpy()
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


def _model_table(fold_frame: pd.DataFrame, test: dict) -> pd.DataFrame:
    f = fold_frame
    rows = [{"model": "base", "loss": f.loss_base.mean(), "r2_oos": f.r2_base.mean()},
            {"model": "full", "loss": f.loss_full.mean(), "r2_oos": f.r2_full.mean()},
            {"model": "difference", "loss": test["mean_difference"],
             "r2_oos": (f.r2_full - f.r2_base).mean(), "se": test["se"], "t": test["t"],
             "df": test["df"], "p_value": test["p_value"], "ci_lower": test["ci_lower"],
             "ci_upper": test["ci_upper"]}]
    return pd.DataFrame(rows, columns=["model", "loss", "r2_oos", "se", "t", "df", "p_value",
                                       "ci_lower", "ci_upper"])
