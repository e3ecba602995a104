"""Admissibility checks of an estimation (non-convergence, identification, negative df,
Heywood cases, non-positive-definite latent or residual covariance matrices, and the latent
variables' covariances with the observed variables of the structural part), each a named
function of an :class:`~connection.latent.engine.Estimation` in :data:`CHECKS`; the estimation
step runs them into the record (``Estimation.checks``) and the view issues the warnings and
exposes the flags (``Fit.flags``).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from connection._flags import (
    HEYWOOD,
    LATENT_NOT_PD,
    NEGATIVE_DF,
    NOT_CONVERGED,
    NOT_IDENTIFIED,
    RESIDUAL_NOT_PD,
    Flag,
)
from connection.errors import (
    ConvergenceWarning,
    HeywoodCaseWarning,
    IdentificationWarning,
    NotPositiveDefiniteWarning,
)

__all__ = ["CHECKS", "run_checks", "columns"]


def _row_estimates(est, cols) -> np.ndarray:
    """The estimate of every row of the table (NaN for defined parameters)."""
    values = np.full(len(cols["op"]), np.nan)
    values[est.structure.row_index] = est.values
    return values


# Each check takes an Estimation and returns (warning class, warning message, Flag) triples:
# the warning for the console, the flag for the record (Estimation.flags, fit.flags) and
# every table built from it.
def _check_convergence(est):
    if est.converged:
        return []
    return [(ConvergenceWarning,
             f"the optimiser did not converge ({est.message}) after {est.iterations} "
             "iterations; estimates are not trustworthy. Inspect the model for under-identified "
             "parts, variables on very different scales, or try starting values (start=)",
             Flag(NOT_CONVERGED, f"the optimiser did not converge ({est.message}) after "
                                 f"{est.iterations} iterations"))]


def _check_identification(est):
    if est.identified:
        return []
    return [(IdentificationWarning,
             "the information matrix is singular: the model may not be identified; standard "
             "errors are unreliable. Check that each factor has a fixed loading or variance, has "
             "enough indicators, and that equality constraints and labels are as intended",
             Flag(NOT_IDENTIFIED, "the information matrix is singular: the model may not be "
                                  "identified; standard errors are unreliable"))]


def _check_df(est):
    npar, ndat = est.structure.npar, est.n_moments
    if not npar or est.kind == "fiml" or ndat - npar >= 0:
        return []
    text = (f"the model has more free parameters ({npar}) than sample moments ({ndat}): "
            "negative degrees of freedom")
    return [(IdentificationWarning, text, Flag(NEGATIVE_DF, text))]


def _variance_rows(est):
    """(table columns, every row's estimate, positions of negative variances); the full
    estimate column is built only when a variance is negative (the common case is cheap)."""
    cols = columns(est.partable)
    if not np.any(cols["varmask"][est.structure.row_index] & (est.values < 0)):
        return cols, None, _NONE
    values = _row_estimates(est, cols)
    return cols, values, np.flatnonzero(cols["varmask"] & (values < 0))


_NONE = np.zeros(0, dtype=int)


def _check_heywood(est):
    cols, values, neg = _variance_rows(est)
    if not len(neg):
        return []
    what = ", ".join(f"{cols['lhs'][i]} ~~ {cols['rhs'][i]}"
                     + (f" (group {est.group_labels[cols['group'][i] - 1]})" if len(est.group_labels) > 1
                        else "")
                     + f" = {values[i]:.4g}" for i in neg)
    params = tuple(dict.fromkeys(f"{cols['lhs'][i]} ~~ {cols['rhs'][i]}" for i in neg))
    return [(HeywoodCaseWarning,
             f"negative variance estimate(s) (Heywood case): {what}. Inspect these variables' "
             "loadings and residuals (fit.estimates), a factor with too few or weak indicators, "
             "or a misspecified model",
             Flag(HEYWOOD, f"negative variance estimate(s) (Heywood case): {what}", params))]


def _not_pd(m: np.ndarray) -> bool:
    if _surely_pd(m):
        return False
    ev = np.linalg.eigvalsh(m)
    return bool(ev[0] < -1e-10 * max(1.0, abs(ev[-1])))


def _offending_pairs(m: np.ndarray, names) -> tuple:
    """``a ~~ b`` for the covariances of ``m`` whose correlation is beyond +-1 (else every
    non-zero covariance, or every variance when none): the parameters to inspect."""
    d = np.diag(m)
    pairs, nonzero = [], []
    for i in range(len(m)):
        for j in range(i + 1, len(m)):
            if m[i, j] == 0:
                continue
            nonzero.append(f"{names[i]} ~~ {names[j]}")
            if d[i] > 0 and d[j] > 0 and abs(m[i, j]) > np.sqrt(d[i] * d[j]):
                pairs.append(nonzero[-1])
    return tuple(pairs or nonzero or [f"{v} ~~ {v}" for v in names])


def _check_covariance_pd(est):
    """Latent (Psi of the factors) and residual (Theta) covariance matrices, per group; not
    checked when a variance is negative (the Heywood flag already says so)."""
    if len(_variance_rows(est)[2]):
        return []
    out = []
    lv = est.structure.lv_names
    nlv = len(lv)
    eta = est.structure.eta_names[:nlv]
    for g, imp in enumerate(est.implied):
        suffix = f" in group {est.group_labels[g]!r}" if len(est.group_labels) > 1 else ""
        if nlv and _not_pd(imp.C[:nlv, :nlv]):
            text = (f"the covariance matrix of the latent variables{suffix} is not positive "
                    "definite")
            out.append((NotPositiveDefiniteWarning,
                        f"{text}: inspect the latent correlations ({', '.join(eta)}) in "
                        "fit.standardized for values beyond +-1",
                        Flag(LATENT_NOT_PD, text, _offending_pairs(imp.C[:nlv, :nlv], eta))))
        if _not_pd(imp.T):
            text = f"the residual covariance matrix (Theta){suffix} is not positive definite"
            out.append((NotPositiveDefiniteWarning,
                        f"{text}: inspect residual covariances in fit.estimates",
                        Flag(RESIDUAL_NOT_PD, text,
                             _offending_pairs(imp.T, est.structure.ov_names))))
    return out


def _check_structural_pd(est):
    """The covariance matrix of the latent variables together with the observed variables of
    the structural part (an outcome, a control: the latent-level stand-ins of observed variables
    in regressions), per group: a factor correlating beyond +-1 with an observed covariate.
    lavaan's post-check looks at the latent variables alone (``cov.lv`` drops its dummy latent
    variables); this goes further. Not run when a variance is negative (the Heywood flag says
    so) or when the latent block alone is not positive definite (already flagged)."""
    struct = est.structure
    nlv = len(struct.lv_names)
    if not nlv or len(struct.eta_names) == nlv or len(_variance_rows(est)[2]):
        return []
    out = []
    for g, imp in enumerate(est.implied):
        if _not_pd(imp.C[:nlv, :nlv]) or not _not_pd(imp.C):
            continue
        suffix = f" in group {est.group_labels[g]!r}" if len(est.group_labels) > 1 else ""
        text = ("the covariance matrix of the latent variables and the observed variables of "
                f"the structural part ({', '.join(struct.phantoms)}){suffix} is not positive "
                "definite")
        out.append((NotPositiveDefiniteWarning,
                    f"{text}: inspect their correlations ({', '.join(struct.eta_names)}) in "
                    "fit.standardized for values beyond +-1",
                    Flag(LATENT_NOT_PD, text, _offending_pairs(imp.C, struct.eta_names))))
    return out


CHECKS = (_check_convergence, _check_identification, _check_df, _check_heywood,
           _check_covariance_pd, _check_structural_pd)


def run_checks(est) -> tuple:
    """Every check's (warning class, message, Flag) triples, in :data:`CHECKS` order."""
    return tuple(item for check in CHECKS for item in check(est))


def _surely_pd(m: np.ndarray) -> bool:
    """Cheap sufficient check: diagonal with non-negative entries, or a Cholesky factor."""
    d = np.diag(m)
    if not np.count_nonzero(m - np.diag(d)):
        return bool(np.all(d >= 0))
    return lapack.dpotrf(m, lower=1, clean=0)[1] == 0


def columns(pt) -> dict:
    """Columns of the parameter table as arrays (cached in the table)."""
    cols = pt.cache.get("columns")
    if cols is None:
        f = pt.frame
        cols = {c: f[c].to_numpy() for c in ("lhs", "op", "rhs", "group", "free", "label",
                                             "plabel")}
        cols["defmask"] = cols["op"] == ":="
        cols["varmask"] = (cols["op"] == "~~") & (cols["lhs"] == cols["rhs"])
        cols["free_index"] = cols["free"] - 1
        cols["isfree"] = cols["free_index"] >= 0
        pt.cache["columns"] = cols
    return cols
