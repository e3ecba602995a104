"""Weighted means and shares with design-based standard errors: :func:`describe`.

The estimates and standard errors are those of R's ``survey::svymean`` on
``svydesign(ids = ~1, weights = ~w, data)`` (one stage, no strata, no finite population
correction), by Taylor linearization: for a mean ``ybar = sum w y / sum w`` the influence of
respondent ``i`` is ``x_i = w_i (y_i - ybar) / sum w`` and

    SE^2 = n / (n - 1) * sum_i (x_i - mean(x))^2,

summed over all ``n`` respondents of the data. A share is the mean of a 0/1 indicator. Estimates
per group are domain estimates, as ``survey::svyby``: ``x_i = 0`` outside the group, and ``n``
stays the size of the whole sample (a group is not a separate sample). Missing values of a
variable are left out as ``svymean(na.rm = TRUE)`` leaves them out (a domain too); their number is
the ``n_missing`` column. Intervals are ``estimate -/+ z SE`` (survey's ``confint``).

Weights raked by :func:`~connection.stats.rake`, given as the :class:`RakeResult`, give the
calibration-adjusted standard errors of ``svymean`` on the raked design: the influence values are
first made orthogonal to the raking margins as survey's ``svyrecvar`` does for a raked design
(ten rounds of subtracting, margin after margin, the weighted category means of ``x / w``).

With every weight equal to 1 the mean is the plain mean and the SE is ``sd / sqrt(n)`` (``sd``
with ``n - 1``): ``n / (n - 1) * sum (y - ybar)^2 / n^2 = sd^2 / n``.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"score": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 2.0, 2.0]})
>>> t = describe(d, "score", weights="w")
>>> t[["variable", "n", "estimate"]].values.tolist()
[['score', 4, 2.8333333333333335]]
>>> round(float(t["n_eff"].iloc[0]), 3), round(float(t["se"].iloc[0]), 4)   # R: 0.5966
(3.6, 0.5966)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from connection import _common
from connection.errors import ArgumentError, ExclusionWarning, MissingColumnError
from connection.stats._weights import UNSET, RakeResult, as_frame, resolve_weights, weights_label

__all__ = ["describe", "COLUMNS"]

#: the columns of describe()'s table after the group columns
COLUMNS = ["variable", "category", "statistic", "n", "n_missing", "n_eff", "estimate", "se",
           "ci_lower", "ci_upper"]
_CALIBRATION_ROUNDS = 10   # as survey's svyrecvar for a raked design


def describe(data: Any, variables: str | Sequence[str], *, weights: Any = UNSET,
             group: str | Sequence[str] | None = None, level: float = _common.DEFAULT_LEVEL,
             categorical: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Weighted means (numeric variables) and shares (categorical ones, one row per category),
    overall or per group, with design-based standard errors and intervals.

    Parameters
    ----------
    data
        The respondents: a DataFrame or a Survey.
    variables
        Column(s) to describe. Numeric columns get a mean; text, categorical and boolean
        columns (and those a Survey's codebook declares categorical or text, or named in
        ``categorical``) get the share of each category.
    weights
        A column of the data, an array or Series of weights, a :class:`RakeResult` (its weights,
        and calibration-adjusted SEs as on the raked design), or ``None`` (unweighted).
        Default: a Survey's weights (``None`` for a DataFrame or an unweighted Survey).
    group
        Estimate separately in each group of this column (or columns): domain estimates, as
        ``survey::svyby``. Respondents without a group are left out (an ExclusionWarning).
    level
        Confidence level of the intervals.
    categorical
        Numeric columns to describe by shares instead of a mean (codes such as gender 1/2).

    Returns
    -------
    pandas.DataFrame
        One row per (group,) variable and category: the group columns, then ``variable``,
        ``category`` (the category of a share; empty for a mean), ``statistic`` (``"mean"`` or
        ``"share"``), ``n`` (respondents with a value), ``n_missing``, ``n_eff`` (Kish's
        effective n of their weights), ``estimate``, ``se``, ``ci_lower``, ``ci_upper``.
        ``attrs`` records the weights and the level. A group column named like one of these
        columns (e.g. a group ``category``) appears as ``<name>_group`` so that neither is lost.
    """
    frame, survey_weights = as_frame(data)
    names = _names(frame, variables, "variables")
    level = _common.check_level(level)
    z = _common.z_critical(level)
    calibration = ()
    if isinstance(weights, RakeResult):
        calibration = _calibration_of(weights, frame)
    w = resolve_weights(frame, weights, survey_weights)
    weighted = w is not None
    w = np.ones(len(frame)) if w is None else w
    kinds = _kinds(data, frame, names, categorical)
    group_cols = [] if group is None else _names(frame, group, "group")
    shown = [f"{g}_group" if g in COLUMNS else g for g in group_cols]  # no clash with a column
    rows = []
    for key, in_group in _domains(frame, group_cols):
        for name in names:
            for row in _describe_variable(frame[name], kinds[name], in_group, w, calibration,
                                          z, frame):
                rows.append({**dict(zip(shown, key)), "variable": name, **row})
    table = pd.DataFrame(rows, columns=[*shown, *COLUMNS])
    # categories as given (1 stays 1, a mean's category stays None)
    table["category"] = pd.Series([r["category"] for r in rows], index=table.index, dtype=object)
    table.attrs.update({"weights": _weights_label(weights, survey_weights, weighted),
                        "level": level, "calibrated": bool(calibration)})
    return table


# --------------------------------------------------------------------------------- arguments
def _names(frame: pd.DataFrame, names: Any, what: str) -> list[str]:
    listed = [names] if isinstance(names, str) else list(names)
    if not listed:
        raise ArgumentError(f"{what} is empty", expected="one or more columns of the data")
    for name in listed:
        if name not in frame.columns:
            raise MissingColumnError(f"{what} names a column that is not in the data",
                                     column=str(name), expected="a column of the data")
    return listed


def _calibration_of(result: RakeResult, frame: pd.DataFrame) -> tuple:
    if len(result.weights) != len(frame) or not result.weights.index.equals(frame.index):
        raise ArgumentError("the raked weights are not those of this data (another length or "
                            "index)", values=[len(result.weights), len(frame)],
                            hint="Rake the same data you describe")
    return result._calibration


def _kinds(data: Any, frame: pd.DataFrame, names: list[str], categorical: Any) -> dict[str, str]:
    """``"share"`` or ``"mean"`` per variable."""
    forced = set() if categorical is None else set(_names(frame, categorical, "categorical"))
    declared = getattr(getattr(data, "instrument", None), "variables", {}) or {}
    kinds = {}
    for name in names:
        dtype = frame[name].dtype
        share = (name in forced or not pd.api.types.is_numeric_dtype(dtype)
                 or pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
                 or getattr(declared.get(name), "type", "numeric") in ("categorical", "text"))
        kinds[name] = "share" if share else "mean"
    return kinds


def _domains(frame: pd.DataFrame, group_cols: list[str]):
    """``(group key, mask)`` per group (sorted), or ``((), all rows)``."""
    if not group_cols:
        yield (), np.ones(len(frame), bool)
        return
    no_group = frame[group_cols].isna().any(axis=1).to_numpy()
    if no_group.any():
        _common.warn(f"describe: {int(no_group.sum())} of {len(frame)} respondents have no value "
                     f"in {', '.join(map(repr, group_cols))} and are in no group",
                     ExclusionWarning)
    by = frame.groupby(group_cols[0] if len(group_cols) == 1 else group_cols, sort=True,
                       dropna=True)
    codes = by.ngroup().to_numpy()
    for k, key in enumerate(by.groups):
        yield (key if isinstance(key, tuple) else (key,)), codes == k


def _weights_label(weights: Any, survey_weights: pd.Series | None, weighted: bool) -> str:
    if not weighted:
        return "none"
    label = weights_label(weights, survey_weights)
    return label + " (calibration-adjusted SEs)" if isinstance(weights, RakeResult) else label


# ------------------------------------------------------------------------------- estimation
def _categories(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:   # mixed types: order of appearance
        return values


def _describe_variable(series: pd.Series, kind: str, in_group: np.ndarray, w: np.ndarray,
                       calibration: tuple, z: float, frame: pd.DataFrame) -> list[dict]:
    present = series.notna().to_numpy()
    n_missing = int((in_group & ~present).sum())
    if kind == "mean":
        y = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        targets = [(None, y)]
    else:
        targets = [(cat, np.where(present, (series == cat).to_numpy(dtype=float), np.nan))
                   for cat in _categories(series)]
    rows = []
    for category, y in targets:
        n, n_eff, est, se = _linearized_mean(y, in_group, w, calibration)
        rows.append({"category": category, "statistic": kind, "n": n, "n_missing": n_missing,
                     "n_eff": n_eff, "estimate": est, "se": se, "ci_lower": est - z * se,
                     "ci_upper": est + z * se})
    return rows


def _linearized_mean(y: np.ndarray, in_group: np.ndarray, w: np.ndarray,
                     calibration: tuple) -> tuple[int, float, float, float]:
    """``(n, n_eff, estimate, se)`` of the weighted mean of ``y`` over the rows of the group
    with a value: svymean's estimate and linearization SE (a domain of the whole sample)."""
    used = in_group & ~np.isnan(y)
    n = int(used.sum())
    if n == 0:
        return 0, float("nan"), float("nan"), float("nan")
    wu = w[used]
    total = wu.sum()
    estimate = float((wu * y[used]).sum() / total)
    x = np.zeros(len(y))
    x[used] = wu * (y[used] - estimate) / total
    x = _calibrated(x, calibration)
    size = len(x)
    se = float(np.sqrt(size / (size - 1) * ((x - x.mean()) ** 2).sum())) if size > 1 else float(
        "nan")
    return n, float(total ** 2 / (wu ** 2).sum()), estimate, se


def _calibrated(x: np.ndarray, calibration: tuple) -> np.ndarray:
    """The influence values of a raked design made orthogonal to its margins, as survey's
    svyrecvar: ten rounds over the margins of ``x - w * (category mean of x / w)``, with ``w``
    the weights after post-stratifying to that margin in raking's last sweep."""
    for _ in range(_CALIBRATION_ROUNDS if calibration else 0):
        for codes, psw in calibration:
            ratio = x / psw
            means = np.bincount(codes, ratio) / np.bincount(codes)
            x = x - psw * means[codes]
    return x
