"""Sample statistics: the data read into per-group moments (and checked), or the user's
``sample_stats`` checked and rescaled (lavaan's ``lav_samplestats`` step).

Nothing here knows the model beyond its observed-variable names and whether intercepts are
stated; the fitting step (:func:`connection.latent.fit.cfa` / ``sem``) calls it once per fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.linalg import blas

from connection._common import warn
from connection.errors import (
    DataError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    ModelSpecificationError,
    NonNumericError,
)
from connection.latent._polychoric import (
    MAX_CATEGORIES,
    conditional_statistics,
    mixed_statistics,
    polychoric,
)
from connection.latent.blas import BlasLimit
from connection.latent.estimate import GroupStats, OrdinalStats, Problem

__all__ = ["ordinal_stats", "prepare_data", "check_sample_cov", "stats_from_rows", "stats_from_user",
           "check_user_means", "crossprod", "sum_and_crossprod", "weighted_stats",
           "MomentStats", "MomentProblem", "stats_from_moments", "moment_score_crossprod"]

def _rows_kept(x, missing, need) -> tuple[np.ndarray, bool]:
    """The rows kept (complete ones under listwise deletion, else those with an observed
    value and every ``need`` column observed) and whether a ``need`` column dropped one."""
    isn = np.isnan(x)
    keep = ~isn.any(axis=1) if missing == "listwise" else ~isn.all(axis=1)
    if not need or missing == "listwise":
        return keep, False
    lacks = isn[:, need].any(axis=1)
    return keep & ~lacks, bool((keep & lacks).any())


def _warn_excluded(dropped, total, reason, missing, ordinal) -> None:
    """The ExclusionWarning of :func:`prepare_data`, advising the missing-data option that
    keeps the rows: FIML for continuous indicators, pairwise deletion for ordinal ones."""
    advice = ""
    if missing == "listwise":
        advice = ("; consider missing='pairwise' (each threshold and polychoric correlation "
                  "from the values it needs, as lavaan)" if ordinal
                  else "; consider missing='ml' (FIML)")
    warn(f"{dropped} of {total} rows excluded ({reason}); the rows used are in "
         "fit.rows_used" + advice, ExclusionWarning)


def prepare_data(data, ov_names, group, missing, weights=None, ordinal=False, required=()):
    """``(labels, groups)``: per group ``(label, rows x, index labels, sums or None, weights
    or None)``; ``weights`` (one per row of ``data``, checked) are split as the rows are and
    normalised as lavaan's ``sampling.weights`` (``"total"``: to sum to the rows used).
    ``missing``: ``"listwise"`` keeps the complete rows, ``"ml"``/``"pairwise"`` the rows with
    an observed model variable; ``ordinal`` (an ``ordered=`` fit) words the exclusion warning's
    advice for it (missing='pairwise', not FIML); ``required``: variables a kept row must
    have observed whatever ``missing`` says (exogenous covariates under pairwise deletion, as
    lavaan's fixed.x)."""
    if not isinstance(data, pd.DataFrame):
        if isinstance(data, np.ndarray):
            raise ModelSpecificationError(
                "data must be a pandas DataFrame whose columns are the model's variables",
                hint="wrap the array: pd.DataFrame(array, columns=[...])")
        raise ModelSpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    absent = [v for v in ov_names if v not in data.columns]
    if absent:
        raise MissingColumnError(
            "model variable(s) not found in the data: " + ", ".join(absent),
            column=absent[0], expected="columns named as in the model text",
            hint="check the spelling in the model, or rename the data columns")
    if group is not None and group not in data.columns:
        raise MissingColumnError(f"group column {group!r} not found in the data", column=group)
    try:
        if data.columns.tolist() == list(ov_names):
            x = data.to_numpy(dtype=float, copy=False)  # a view when one float block
        else:
            x = data[ov_names].to_numpy(dtype=float)
        ok = True
    except (ValueError, TypeError):
        ok = False
    if not ok:  # a column that cannot be read as numbers: say which, where and what
        check_numeric(data, ov_names)
        x = data[ov_names].to_numpy(dtype=float)
    if group is not None:
        gcol = data[group]
        gmiss = gcol.isna().to_numpy()
        labels = list(pd.unique(gcol[~gmiss]))
    else:
        gmiss = None
        labels = [1]
    # column sums are NaN exactly when a column has a missing value; the same pass over the
    # data gives the cross-product matrix used for the covariance when nothing is missing
    colsum, xtx = sum_and_crossprod(x)
    any_missing = not np.all(np.isfinite(colsum))
    if any_missing:
        if np.isinf(colsum).any() and not np.isnan(x).any():
            bad = np.flatnonzero(np.isinf(colsum))[0]
            raise NonNumericError("infinite values in a model variable", column=ov_names[bad],
                                  expected="finite numbers")
        keep, lost_x = _rows_kept(x, missing, [ov_names.index(v) for v in required])
    else:
        keep, lost_x = None, False
    if gmiss is not None and gmiss.any():
        keep = ~gmiss if keep is None else keep & ~gmiss
    dropped = 0 if keep is None else int((~keep).sum())
    if dropped:
        reasons = ["a missing value in a model variable" if missing == "listwise" else
                   "no observed model variable"]
        if lost_x:
            reasons.append("a missing exogenous covariate (" + ", ".join(required)
                           + "; lavaan's fixed.x deletes the row)")
        if gmiss is not None and gmiss.any():
            reasons.append(f"a missing group ({group!r})")
        _warn_excluded(dropped, len(data), " or ".join(reasons), missing, ordinal)
    groups = []
    index = data.index.to_numpy()
    if group is None:
        if keep is None or keep.all():
            sums = None if any_missing or weights is not None else (colsum, xtx)
            groups.append((1, x, index, sums, weights))
        else:
            groups.append((1, x[keep], index[keep], None,
                           None if weights is None else weights[keep]))
    else:
        gvals = gcol.to_numpy()
        for lab in labels:
            sel = gvals == lab
            if keep is not None:
                sel &= keep
            groups.append((lab, x[sel], index[sel], None,
                           None if weights is None else weights[sel]))
    return labels, _normalised_weights(groups)


def _normalised_weights(groups):
    """lavaan's ``sampling.weights.normalization = "total"``: the weights of the rows used
    rescaled to sum to their number over all groups (not within each group)."""
    if groups[0][4] is None:
        return groups
    total = sum(float(g[4].sum()) for g in groups)
    n = sum(len(g[4]) for g in groups)
    return [(lab, x, idx, sums, w * (n / total)) for lab, x, idx, sums, w in groups]


def check_sample_cov(st, label, group, ov_names):
    """ML needs a positive definite sample covariance matrix (as lavaan)."""
    if np.isfinite(st.logdet):
        return
    where = f" in group {label!r}" if label is not None else ""
    sd = np.sqrt(np.diag(st.cov))
    constant = [v for v, s_ in zip(ov_names, sd) if s_ == 0]
    detail = (f"constant variable(s): {', '.join(constant)}" if constant else
              f"{st.n} rows for {len(ov_names)} variables" if st.n <= len(ov_names) else
              "some variables are linear combinations of others")
    err = GroupError if label is not None else DataError
    raise err(f"the sample covariance matrix{where} is not positive definite ({detail})",
              column=group if label is not None else None,
              values=[label] if label is not None else None,
              expected="more rows than variables and no constant or collinear variables",
              hint="drop or combine variables, merge small groups, or use more data")


def check_numeric(data, ov_names):
    for v in ov_names:
        col = data[v]
        if col.dtype.kind in "mM":
            raise NonNumericError(f"variable {v!r} holds dates or durations", column=v,
                                  expected="numbers (missing values as NaN)")
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        converted = pd.to_numeric(col, errors="coerce")
        badmask = (converted.isna() & col.notna()).to_numpy()
        if badmask.any() or not pd.api.types.is_numeric_dtype(converted):
            raise NonNumericError(
                f"variable {v!r} is not numeric", column=v,
                rows=[int(i) + 1 for i in np.flatnonzero(badmask)[:10]],
                values=list(col[badmask].iloc[:10]), expected="numbers (missing values as NaN)")


def crossprod(x: np.ndarray) -> np.ndarray:
    """``x' x`` (p x p) by BLAS ``syrk`` (half the work of a general product, and no copy of
    ``x`` when it is C- or Fortran-contiguous, as a DataFrame's float block is)."""
    if x.flags.f_contiguous:
        c = blas.dsyrk(1.0, x, trans=1, lower=0)
    elif x.flags.c_contiguous:
        c = blas.dsyrk(1.0, x.T, trans=0, lower=0)
    else:
        return x.T @ x
    full = c + c.T  # syrk leaves the lower triangle zero
    full.flat[::len(c) + 1] = np.diagonal(c)
    return full


def sum_and_crossprod(x: np.ndarray, chunk: int = 8192):
    """Column sums and ``x' x`` in one pass over the data: blocks of rows small enough to stay
    in cache each feed the sums (BLAS gemv) and a rank-k update of the cross-product (syrk)."""
    n, p = x.shape
    if n <= chunk or x.dtype != np.float64:
        return x.sum(axis=0), None
    c = np.zeros((p, p))
    s = np.zeros(p)
    ones = np.ones(chunk)
    for start in range(0, n, chunk):
        blk = x[start:start + chunk]
        if blk.flags.c_contiguous:
            c = blas.dsyrk(1.0, blk.T, trans=0, beta=1.0, c=c, overwrite_c=1, lower=0)
        else:
            blk = np.asfortranarray(blk)  # a copy of one block (in cache), not of the data
            c = blas.dsyrk(1.0, blk, trans=1, beta=1.0, c=c, overwrite_c=1, lower=0)
        s += ones[:len(blk)] @ blk
    full = c + c.T
    full.flat[::p + 1] = np.diagonal(c)
    return s, full


def weighted_stats(x: np.ndarray, w: np.ndarray) -> GroupStats:
    """Weighted mean and covariance (divisor the sum of the weights: ``cov.wt(method =
    "ML")``, as lavaan with ``sampling.weights``); ``n`` is the sum of the weights (lavaan's
    ``SampleStats@nobs``), ``n_rows`` the number of rows."""
    if x.dtype != np.float64:
        x = x.astype(np.float64)
    total = w.sum()
    mean = (w @ x) / total
    xc = x - mean
    cov = (xc * w[:, None]).T @ xc / total
    cov = 0.5 * (cov + cov.T)
    return GroupStats(n=float(total), mean=mean, cov=cov, data=x, case_weights=w,
                      n_rows=x.shape[0])


def stats_from_rows(x: np.ndarray, keep_data: bool, colsum=None,
                     chunk: int = 131_072) -> GroupStats:
    """Mean and covariance (divisor n) in one BLAS pass, with no copy of the data.

    The cross-product ``X'X / n - m m'`` is exact enough when the means are not huge
    relative to the standard deviations (cancellation error ~ 1e-16 (m / sd)^2); otherwise
    the data are centred chunk by chunk (like ``np.cov``, but without a full centred copy).
    """
    n, p = x.shape
    if x.dtype != np.float64:
        x = x.astype(np.float64)
    xtx = None
    if isinstance(colsum, tuple):  # (sums, cross-product or None) from sum_and_crossprod
        colsum, xtx = colsum
    mean = (x.sum(axis=0) if colsum is None else colsum) / n
    cov = (crossprod(x) if xtx is None else xtx) / n - np.outer(mean, mean)
    var = np.diag(cov)
    if not (np.all(var > 0) and np.all(mean**2 <= 1e6 * var)):
        cov = np.zeros((p, p))
        for start in range(0, n, chunk):
            cov += crossprod(x[start:start + chunk] - mean)
        cov /= n
    return GroupStats(n=n, mean=mean, cov=cov, data=x if keep_data else None)


_SYM_TOL = 1e-8  # asymmetry allowed in a user's covariance matrix, relative to its largest entry


def _user_stats_error(message, where, entry=None, values=None, expected=None, hint=None):
    return DataError(f"sample_stats{where}: {message}", column=entry, values=values,
                     expected=expected, hint=hint)


def _user_n(item, where):
    """``n``: a whole number of at least 2."""
    n_raw = item["n"]
    try:
        n = int(n_raw)
        ok = not isinstance(n_raw, bool) and float(n_raw) == n and n >= 2
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise _user_stats_error("'n' must be a whole number of at least 2", where, entry="n",
                                values=[n_raw], expected="the number of respondents (>= 2)")
    return n


def _cov_names(cov, where):
    """The variable names of a DataFrame ``cov`` (rows as columns, each once), else None."""
    if not isinstance(cov, pd.DataFrame):
        return None
    names = [str(c) for c in cov.columns]
    index = [str(c) for c in cov.index]
    if not isinstance(cov.index, pd.RangeIndex) and index != names:
        raise _user_stats_error(
            "the row names of 'cov' differ from its column names", where, entry="cov",
            values=[f"rows {index[:5]}", f"columns {names[:5]}"],
            expected="the same variables, in the same order, as rows and columns")
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise _user_stats_error("'cov' names a variable twice", where, entry="cov", values=dup)
    return names


def _user_cov(cov, where, ov_names):
    """``cov`` checked (square, named as the model's variables or in their order, finite,
    symmetric, positive variances) and symmetrised: ``(matrix, names)``."""
    names = _cov_names(cov, where)
    try:
        arr = np.asarray(cov, dtype=float)
    except (TypeError, ValueError) as exc:
        raise _user_stats_error(f"'cov' is not numeric ({exc})", where, entry="cov") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise _user_stats_error(f"'cov' is not a square matrix (shape {arr.shape})", where,
                                entry="cov", expected="a p x p covariance matrix")
    p = arr.shape[0]
    if names is None:
        if p != len(ov_names):
            raise _user_stats_error(
                f"'cov' is {p} x {p} but the model has {len(ov_names)} observed variables",
                where, entry="cov", expected="a DataFrame named by the model's variables, or "
                "a matrix in the order " + ", ".join(ov_names[:10]))
        names = list(ov_names)
    absent = [v for v in ov_names if v not in names]
    if absent:
        raise MissingColumnError(f"sample_stats{where}: model variable(s) not in 'cov': "
                                 + ", ".join(absent), column=absent[0])

    def entry(i, j):
        return f"cov[{names[i]}, {names[j]}]"

    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        i, j = bad[0]
        raise _user_stats_error(
            f"'cov' holds {len(bad)} missing or infinite entr{'y' if len(bad) == 1 else 'ies'}",
            where, entry=entry(i, j), values=[float(arr[i, j])], expected="finite numbers")
    asym = np.abs(arr - arr.T)
    if asym.max() > _SYM_TOL * max(np.abs(arr).max(), 1e-300):
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise _user_stats_error(
            "'cov' is not symmetric", where, entry=entry(i, j),
            values=[float(arr[i, j]), f"{entry(j, i)} = {arr[j, i]!r}"],
            expected="cov[a, b] == cov[b, a]",
            hint="pass the full symmetric matrix (e.g. data.cov()), not a triangle or a "
                 "correlation matrix edited by hand")
    nonpos = [k for k in range(p) if arr[k, k] <= 0]
    if nonpos:
        k = nonpos[0]
        raise _user_stats_error("a variance in 'cov' is not positive", where, entry=entry(k, k),
                                values=[float(arr[k, k])], expected="variances > 0")
    return 0.5 * (arr + arr.T), names


def _user_mean(mean, names, where):
    """``mean`` checked (one finite value per variable; a Series is matched by name) in the
    order of ``names``; zeros when not given."""
    p = len(names)
    if mean is None:
        return np.zeros(p)
    if isinstance(mean, pd.Series):
        missing_mean = [v for v in names if v not in mean.index.astype(str)]
        if missing_mean:
            raise _user_stats_error("'mean' has no entry for " + ", ".join(missing_mean),
                                    where, entry="mean", expected="one mean per variable")
        mean = mean.set_axis(mean.index.astype(str)).reindex(names).to_numpy()
    try:
        mvec = np.asarray(mean, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise _user_stats_error(f"'mean' is not numeric ({exc})", where,
                                entry="mean") from None
    if len(mvec) != p:
        raise _user_stats_error(f"'mean' has {len(mvec)} entries for {p} variables", where,
                                entry="mean", expected="one mean per variable")
    if not np.isfinite(mvec).all():
        k = int(np.flatnonzero(~np.isfinite(mvec))[0])
        raise _user_stats_error("'mean' holds a missing or infinite value", where,
                                entry=f"mean[{names[k]}]", values=[float(mvec[k])],
                                expected="finite numbers")
    return mvec


def check_user_stats(item, g, n_items, ov_names):
    """One group of ``sample_stats``, checked: ``(label, n, cov, mean)`` with ``cov`` and
    ``mean`` in the model's variable order, or the package's :class:`DataError` naming the
    group and the offending entry (shape, names, NaN/inf, asymmetry, variances, n)."""
    label = item.get("label", g + 1 if n_items > 1 else 1) if isinstance(item, dict) else None
    where = f" (group {label!r}, item {g + 1} of {n_items})" if n_items > 1 else ""
    if not isinstance(item, dict) or "cov" not in item or "n" not in item:
        raise _user_stats_error(
            "each group's summary statistics must be a dict with 'n' and 'cov' (and "
            f"optionally 'mean' and 'label'), got {type(item).__name__}"
            + (f" with keys {sorted(map(str, item))}" if isinstance(item, dict) else ""),
            where, expected="{'n': n, 'cov': DataFrame, 'mean': Series}")
    n = _user_n(item, where)
    arr, names = _user_cov(item["cov"], where, ov_names)
    mvec = _user_mean(item.get("mean"), names, where)
    idx = [names.index(v) for v in ov_names]
    return label, n, arr[np.ix_(idx, idx)], mvec[idx]


def user_means_missing(sample_stats) -> bool:
    """Whether any group of user-given ``sample_stats`` lacks its ``mean``."""
    items = sample_stats if isinstance(sample_stats, list | tuple) else [sample_stats]
    return any(isinstance(item, dict) and item.get("mean") is None for item in items)


def check_user_means(sample_stats, labels, pt, group_equal=()):
    """A mean structure (intercepts or means in the model text, ``meanstructure=True``, or
    equal intercepts/means across groups) needs the sample means: lavaan warns and uses
    zeros, which makes every intercept estimate 0 and the scalar test a test of nothing: a
    number that looks fine."""
    if not pt.meanstructure:
        return
    items = sample_stats if isinstance(sample_stats, list | tuple) else [sample_stats]
    lacking = [lab for lab, item in zip(labels, items) if item.get("mean") is None]
    if not lacking:
        return
    where = f" (group {lacking[0]!r})" if len(items) > 1 else ""
    stated = [s for s in pt.statements if getattr(s, "op", None) == "~1"]
    equal = [e for e in group_equal if e in ("intercepts", "means")]
    if stated:
        why = f"the model has intercepts or means (line {stated[0].line}: {stated[0].text!r})"
    elif equal:
        why = f"group_equal={equal!r} constrains intercepts or means across groups"
    else:
        why = "meanstructure=True asks for intercepts"
    raise DataError(
        f"sample_stats{where}: {why} but no 'mean' is given", column="mean",
        expected="{'n': n, 'cov': S, 'mean': m} with the variables' sample means",
        hint="add the means, or fit the covariance structure only (no '~ 1' statements, "
             "no intercepts/means in group_equal, meanstructure left at its default)")


def stats_from_user(sample_stats, ov_names):
    items = sample_stats if isinstance(sample_stats, list | tuple) else [sample_stats]
    if not items:
        raise DataError("sample_stats is empty", expected="a dict (or one dict per group)")
    out, labels = [], []
    for g, item in enumerate(items):
        label, n, cov, mean = check_user_stats(item, g, len(items), ov_names)
        # like lavaan: a supplied covariance is taken as unbiased (n - 1) and rescaled to n
        out.append(GroupStats(n=n, mean=mean, cov=cov * (n - 1) / n))
        labels.append(label)
    return labels, out


def ordinal_stats(x: np.ndarray, ov_names: list, *, weights: str = "dwls",
                  ordinal=None, covariates=None, missing: str = "listwise") -> OrdinalStats:
    """Step 2 for ordinal indicators: the thresholds, polychoric correlations and their
    asymptotic covariance (``polychoric``, lavaan's two-step estimates) of the complete rows
    ``x`` of one group, with the weights of the discrepancy (``"dwls"``: ``1 / diag(Gamma)``,
    ``"uls"``: ones). Bad codes (non-integers, one observed category, more than 20
    categories) are refused there, naming the item. ``ordinal``: the ordinal variables when
    some are continuous (lavaan's mix: ``mixed_statistics``). ``missing="pairwise"``: ``x``
    may hold NaN (lavaan's pairwise deletion, see ``polychoric``); ``n`` is then its rows
    (each has an observed value), lavaan's ``nobs``."""
    frame = pd.DataFrame(x, columns=list(ov_names))
    if covariates:
        return _conditional_ordinal_stats(frame, ov_names, covariates, weights,
                                          ordinal if ordinal is not None else ov_names,
                                          missing)
    if ordinal is not None and set(ordinal) != set(ov_names):
        return _mixed_ordinal_stats(frame, ov_names, ordinal, weights, missing)
    with BlasLimit():  # blocks of a few thousand rows: one BLAS thread is faster (measured)
        res = _too_many_categories(polychoric, frame, list(ov_names), missing=missing)
    th = res.thresholds
    item_pos = {v: i for i, v in enumerate(ov_names)}
    th_item = np.array([item_pos[v] for v in th["item"]], dtype=int)
    ia = np.array([item_pos[v] for v in res.pairs["lhs"]], dtype=int)
    ib = np.array([item_pos[v] for v in res.pairs["rhs"]], dtype=int)
    obs = np.concatenate([th["est"].to_numpy(dtype=float), res.pairs["est"].to_numpy(dtype=float)])
    gamma = res.gamma.to_numpy(dtype=float)
    if not np.all(np.isfinite(gamma)):
        bad = [str(lab) for lab, ok in zip(res.gamma.index, np.isfinite(np.diag(gamma)))
               if not ok]
        raise DataError("the asymptotic covariance of the polychoric correlations cannot be "
                        "computed (a pair's table has too many empty cells)",
                        values=bad[:10], expected="every pair of items with at most one empty "
                                                  "cell in a 2 x 2 table",
                        hint="collapse sparse categories, or drop one of the items named")
    w = 1.0 / np.diag(gamma) if weights == "dwls" else np.ones(len(obs))
    p = len(ov_names)
    return OrdinalStats(n=int(res.n), mean=np.zeros(p),
                        cov=res.correlation.loc[list(ov_names), list(ov_names)].to_numpy(),
                        wls_obs=obs, gamma=gamma, w=w, th_item=th_item, pairs=(ia, ib),
                        polychoric=res)


def _mixed_ordinal_stats(frame, ov_names, ordinal, weights, missing) -> OrdinalStats:
    """:func:`ordinal_stats` with continuous variables among the ordinal ones."""
    with BlasLimit():
        ms = _too_many_categories(mixed_statistics, frame, list(ov_names), list(ordinal),
                                  missing=missing)
    gamma = ms.gamma
    if not np.all(np.isfinite(gamma)):
        bad = [lab for lab, ok in zip(ms.labels, np.isfinite(np.diag(gamma))) if not ok]
        raise DataError("the asymptotic covariance of the polychoric correlations cannot be "
                        "computed (a pair's table has too many empty cells)",
                        values=bad[:10], expected="every pair of items with at most one empty "
                                                  "cell in a 2 x 2 table",
                        hint="collapse sparse categories, or drop one of the items named")
    w = 1.0 / np.diag(gamma) if weights == "dwls" else np.ones(len(ms.obs))
    return OrdinalStats(n=int(ms.polychoric.n), mean=ms.mean, cov=ms.cov, wls_obs=ms.obs,
                        gamma=gamma, w=w, th_item=np.asarray(ms.th_var, dtype=int),
                        pairs=ms.pairs, polychoric=ms.polychoric,
                        th_num=np.asarray(ms.th_num, dtype=bool), var_idx=ms.var_idx)


def _too_many_categories(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with the error for an item of more than 20 categories worded
    for ``cfa``/``sem``, which have no ``max_categories``: leave the item out of ``ordered=``."""
    try:
        return fn(*args, **kwargs)
    except DataError as exc:
        if "max_categories" not in (exc.hint or ""):
            raise
        raise DataError(
            exc.message.split(" (more than")[0] + f" (more than {MAX_CATEGORIES}, the most "
            "an ordinal indicator may have)", column=exc.column,
            expected=f"at most {MAX_CATEGORIES} categories for a variable in ordered=",
            hint="leave the variable out of ordered= (it is then continuous, as lavaan treats "
                 "it), or collapse its categories") from None


def _conditional_ordinal_stats(frame, ov_names, covariates, weights, ordinal,
                               missing="listwise") -> OrdinalStats:
    """:func:`ordinal_stats` given exogenous covariates (lavaan's ``conditional.x = TRUE``):
    every other variable is an ordinal outcome; ``cov``/``mean`` hold the covariates' sample
    moments (the fixed.x values) and the residual polychorics among the outcomes."""
    pos = {v: i for i, v in enumerate(ov_names)}
    ys = [v for v in ov_names if v not in set(covariates)]
    xs = [v for v in ov_names if v in set(covariates)]
    with BlasLimit():
        cs = _too_many_categories(conditional_statistics, frame, ys, xs,
                                  [v for v in ys if v in set(ordinal)], missing=missing)
    y_idx = np.array([pos[v] for v in ys], dtype=int)
    x_idx = np.array([pos[v] for v in xs], dtype=int)
    p = len(ov_names)
    cov = np.eye(p)
    cov[np.ix_(y_idx, y_idx)] = cs.res_cor
    cov[np.ix_(x_idx, x_idx)] = cs.x_cov
    mean = np.zeros(p)
    mean[x_idx] = cs.x_mean
    mean[y_idx] = cs.y_mean
    w = 1.0 / np.diag(cs.gamma) if weights == "dwls" else np.ones(len(cs.obs))

    return OrdinalStats(n=int(cs.n), mean=mean, cov=cov, wls_obs=cs.obs, gamma=cs.gamma, w=w,
                        th_item=y_idx[cs.th_var], pairs=(y_idx[cs.pairs[0]], y_idx[cs.pairs[1]]),
                        # what the engine reads of a PolychoricResult: the categories
                        polychoric=SimpleNamespace(categories=cs.categories, n=cs.n),
                        th_num=cs.th_num,
                        var_idx=y_idx[cs.var_pos], y_idx=y_idx, x_idx=x_idx)


# ---------------------------------------------------------------------------- from moments
@dataclass(eq=False)
class MomentStats(GroupStats):
    """A group's statistics built from partition-wise moments (a Dask frame: issue 18): no
    rows, but the fourth-moment summary ``fourth = (total, mean, cov, gamma)`` of the
    score weights (the rows' squared sampling weights, or 1), which gives every cross-product
    of casewise scores the sandwich and the scaled test need (:func:`moment_score_crossprod`).
    ``fourth`` is None when the fit needs no casewise terms (ML)."""

    fourth: tuple | None = None


def stats_from_moments(moments, ov_names, labels, *, fourth=None, scale: float = 1.0) -> list:
    """The engine's per-group statistics (:class:`MomentStats`, in the order of ``labels``)
    from :func:`connection.stats._dask.sample_moments` output: the listwise ``mean`` and ML
    ``cov``; ``n`` the rows, or with weights the group's sum of the weights times ``scale``
    (lavaan's ``sampling.weights.normalization = "total"``: ``scale`` = rows over the sum of
    the weights of all groups). ``fourth`` (a ``sample_moments(..., gamma=True)`` result of
    the score weights: the same frame unweighted, or weighted by the squared weights) adds
    what the casewise scores' cross-products need."""
    out = []
    weighted = moments.weights is not None
    for lab in labels:
        n_rows = int(moments.n[lab])
        n = float(moments.weight_total[lab]) * scale if weighted else n_rows
        cov = 0.5 * (moments.cov[lab] + moments.cov[lab].T)
        quad = None
        if fourth is not None:
            total = float(fourth.weight_total[lab]) * (scale ** 2 if weighted else 1.0)
            quad = (total, np.asarray(fourth.mean[lab], dtype=float),
                    np.asarray(fourth.cov[lab], dtype=float),
                    fourth.gamma[lab].to_numpy(dtype=float))
        out.append(MomentStats(n=n, mean=np.asarray(moments.mean[lab], dtype=float), cov=cov,
                               n_rows=n_rows if weighted else None, fourth=quad))
    return out


def moment_score_crossprod(st: MomentStats, sigma, mu, dsigma, dmu) -> np.ndarray:
    """``sum_i v_i s_i s_i'`` of the casewise ML scores ``s_i`` (``0.5 (z' dS z - tr(Sigma^-1
    dS)) + z' dmu``, ``z = Sigma^-1 (y_i - mu)``; ``v_i`` the squared normalised sampling
    weights or 1) from the fourth-moment summary alone: each score is affine in ``e_i = (c_i,
    vech(c_i c_i'))``, ``c_i`` the row less the summary's mean, whose weighted second
    moments are ``total * (Gamma + ebar ebar')`` with ``ebar = (0, vech(cov))``."""
    if st.fourth is None:
        raise ModelSpecificationError(
            "casewise scores need the rows or the fourth moments of the data",
            hint="fit with estimator='MLR' from the start (the moments pass then adds them)")
    total, m, cov, gam = st.fourth
    p = len(m)
    r, c = np.tril_indices(p)
    q = len(r)
    sinv = np.linalg.inv(sigma)
    sinv = 0.5 * (sinv + sinv.T)
    nq = dsigma.shape[0]
    # s = k0 + K u, u = (a, vech(a a')), a = y - mu
    vdv = np.einsum("ij,kjl,lm->kim", sinv, dsigma, sinv)  # V dS_k V
    coef = vdv[:, r, c] * np.where(r == c, 0.5, 1.0)
    kmat = np.zeros((nq, p + q))
    kmat[:, p:] = coef
    if dmu is not None:
        kmat[:, :p] = dmu @ sinv
    k0 = -0.5 * np.einsum("ij,kji->k", sinv, dsigma)
    # u = t0 + T e: a = c + b, b = m - mu; a a' = c c' + c b' + b c' + b b'
    b = m - mu
    tmat = np.eye(p + q)
    rows = np.arange(q)
    tmat[p + rows, r] += b[c]
    tmat[p + rows, c] += b[r]
    t0 = np.concatenate([b, np.outer(b, b)[r, c]])
    ebar = np.concatenate([np.zeros(p), cov[r, c]])
    amat = np.concatenate([(k0 + kmat @ t0)[:, None], kmat @ tmat], axis=1)
    mf = np.empty((1 + p + q, 1 + p + q))
    mf[0, 0] = 1.0
    mf[0, 1:] = mf[1:, 0] = ebar
    mf[1:, 1:] = gam + np.outer(ebar, ebar)
    out = total * (amat @ mf @ amat.T)
    return 0.5 * (out + out.T)


class MomentProblem(Problem):
    """:class:`~connection.latent.estimate.Problem` over :class:`MomentStats`: the casewise
    scores' cross-products from the fourth moments (no rows held)."""

    @classmethod
    def like(cls, problem: Problem) -> MomentProblem:
        return cls(problem.moments, problem.stats, problem.npar, problem.meanstructure)

    def score_crossprods(self, theta, chunk: int = 0) -> list[np.ndarray]:
        out = []
        for st, mo in zip(self.stats, self.moments(theta, True)):
            ds, dm = mo.dense()
            mu = mo.mu if self.meanstructure else st.mean
            out.append(moment_score_crossprod(st, mo.sigma, mu, ds,
                                              dm if self.meanstructure else None))
        return out

    def casewise_scores(self, theta, chunk: int = 0):
        raise ModelSpecificationError(
            "casewise scores need the rows in memory (the fit is from a Dask frame's moments)",
            hint="call .compute() on the Dask frame (or a sample of it) and fit the pandas frame")
