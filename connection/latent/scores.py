"""Factor scores (lavaan's ``lavPredict``): regression (Thomson) and Bartlett.

Regression scores are ``E[eta | y] = mu_eta + Phi Lambda' Sigma^-1 (y - mu)``; Bartlett scores
are ``mu_eta + (Lambda' Theta^-1 Lambda)^-1 Lambda' Theta^-1 (y - mu)``, with ``Phi`` the
model-implied covariance of the latent variables. Without a mean structure ``mu`` is the
sample mean and ``mu_eta = 0`` (as lavaan). Rows with missing values are scored from their
observed variables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connection._common import check_choice
from connection.errors import ModelSpecificationError

__all__ = ["predict"]


def _weights(imp, obs, nlv, method):
    L = imp.LA[obs][:, :nlv] if imp.LA.shape[1] else imp.LA[obs]
    if method == "regression":
        sig = imp.sigma[np.ix_(obs, obs)]
        phi_l = imp.C[:nlv] @ imp.LA[obs].T  # Cov(eta, y_obs)
        return np.linalg.solve(sig, phi_l.T).T
    # Bartlett
    theta = imp.T[np.ix_(obs, obs)]
    d = np.diag(theta)
    if np.any(d <= 0):
        raise ModelSpecificationError(
            "Bartlett scores need positive residual variances; the model has zero or negative "
            "residual variances (inspect fit.estimates)")
    ti_l = np.linalg.solve(theta, L)
    return np.linalg.solve(L.T @ ti_l, ti_l.T)


def predict(fit, data=None, method: str = "regression") -> pd.DataFrame:
    """Factor scores for the rows used in the fit (``data=None``) or for new data.

    Returns a DataFrame with one column per latent variable, indexed like the data; with
    groups a ``group`` column is added.
    """
    method = check_choice(str(method).lower(), "method", ("regression", "bartlett"))
    struct = fit.estimation.structure
    lv = struct.lv_names
    nlv = len(lv)
    ov = struct.ov_names
    if data is None:
        if fit.estimation.data is None:
            raise ModelSpecificationError("this fit was made from sample statistics; pass data=")
        data = fit.estimation.data.loc[fit.rows_used] if fit.rows_used is not None else fit.estimation.data
    missing_cols = [v for v in ov if v not in data.columns]
    if missing_cols:
        from connection.errors import MissingColumnError

        raise MissingColumnError("variables missing from data: " + ", ".join(missing_cols),
                                 column=missing_cols[0])
    x = data[ov].to_numpy(dtype=float)
    group = fit.estimation.options.get("group")
    if fit.n_groups > 1:
        gvals = data[group].to_numpy()
        gidx = np.full(len(data), -1)
        for g, lab in enumerate(fit.group_labels):
            gidx[gvals == lab] = g
    else:
        gidx = np.zeros(len(data), dtype=int)
    out = np.full((len(data), nlv), np.nan)
    for g in range(fit.n_groups):
        imp = fit.estimation.implied[g]
        mu = imp.mu if fit.meanstructure else fit.estimation.stats[g].mean
        mu_eta = imp.ea[:nlv] if fit.meanstructure else np.zeros(nlv)
        rows = np.flatnonzero(gidx == g)
        if not len(rows):
            continue
        xg = x[rows]
        miss = np.isnan(xg)
        patterns, inverse = np.unique(miss, axis=0, return_inverse=True)
        for k, pat in enumerate(patterns):
            sel = np.flatnonzero(inverse.ravel() == k)
            obs = np.flatnonzero(~pat)
            if not len(obs):
                continue
            w = _weights(imp, obs, nlv, method)
            out[rows[sel]] = mu_eta + (xg[np.ix_(sel, obs)] - mu[obs]) @ w.T
    res = pd.DataFrame(out, index=data.index, columns=lv)
    if fit.n_groups > 1:
        res.insert(0, "group", data[group].to_numpy())
    return res
