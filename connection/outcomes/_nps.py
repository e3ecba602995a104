"""Net Promoter Score with its standard error and interval, overall and by group, weighted or not.

On a 0-10 "how likely are you to recommend" item, promoters answer 9 or 10, passives 7 or 8 and
detractors 0 to 6; NPS = % promoters - % detractors (from -100 to +100). It is the mean of
``d = +1`` (promoter), ``0`` (passive), ``-1`` (detractor) times 100, so its variance follows
from the multinomial distribution of the three categories:

    Var(NPS / 100) = (p_P + p_D - (p_P - p_D)**2) / n

(the variance of ``d``, ``p_P + p_D - (p_P - p_D)**2``, over ``n``). With survey weights ``w``,
the proportions are weighted and the variance is the Taylor linearization of the weighted mean
of ``d`` (a ratio estimator; with-replacement design, no strata or clusters):

    Var = sum_i w_i**2 (d_i - m)**2 / (sum_i w_i)**2

which is the multinomial formula when every weight is equal. R's ``survey::svymean`` on
``svydesign(ids = ~1, weights = ~w)`` multiplies this by ``n / (n - 1)``; ``n_eff`` is Kish's
effective sample size ``(sum w)**2 / sum w**2``. The interval is Wald's, NPS +- z SE, clipped to
[-100, 100] (the clipping is the only adjustment; near +-100 or in small groups the Wald interval
is optimistic).

Examples
--------
>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"recommend": [10, 9, 9, 8, 7, 6, 3, 10, 9, 0],
...                    "region": list("aaaaabbbbb")})
>>> t = nps(df, "recommend", group="region")
>>> print(t[["group", "n", "pct_promoters", "pct_detractors", "nps"]].to_string(index=False))
group  n  pct_promoters  pct_detractors   nps
  all 10           50.0            30.0  20.0
    a  5           60.0             0.0  60.0
    b  5           40.0            60.0 -20.0
>>> round(float(t["se"].iloc[0]), 4)    # 100 * sqrt((.5 + .3 - .2**2) / 10)
27.5681
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from connection._common import DEFAULT_LEVEL, check_level, warn, z_critical
from connection.errors import ArgumentError, ExclusionWarning, GroupError, OutOfRangeError
from connection.outcomes._compare import _numeric, _require_columns
from connection.stats._weights import UNSET, as_frame, resolve_weights

__all__ = ["nps", "NPS_COLUMNS"]

NPS_COLUMNS = ["item", "by", "group", "n", "n_eff", "weighted", "pct_promoters", "pct_passives",
               "pct_detractors", "nps", "se", "ci_lower", "ci_upper", "level"]
"""Columns of :func:`nps`'s frame (one row for everyone, then one per group):

item, by, group
    The 0-10 item; the ``group=`` column (``""`` for everyone) and its level (``"all"``).
n, n_eff, weighted
    Respondents with an answer; Kish's effective sample size (``n`` unweighted); whether
    weights were used.
pct_promoters, pct_passives, pct_detractors
    Percentages (weighted with ``weights``) answering 9-10, 7-8 and 0-6.
nps, se, ci_lower, ci_upper, level
    NPS (points, -100 to 100), its standard error (multinomial, or linearized with weights) and
    the Wald interval at ``level`` clipped to [-100, 100], all in points.
"""


def nps(
    data: pd.DataFrame | Any,
    item: str,
    *,
    group: Sequence[str] | str | None = None,
    weights: Any = UNSET,
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """Net Promoter Score of a 0-10 item with its standard error and interval, by group.

    Parameters
    ----------
    data
        One row per respondent.
    item
        The 0-10 recommendation item (whole numbers; missing answers are left out with an
        :class:`~connection.errors.ExclusionWarning`).
    group
        Column(s): one row per level of each, after the row for everyone (respondents with no
        group value stay in the overall row and are left out of the group rows, with a warning).
    weights
        Survey weights: a column name (non-negative, finite, not missing where the item is
        answered), a Series or array of one weight per row, or a :func:`~connection.rake`
        result; weighted percentages and the linearized variance (module docstring). Given a
        Survey, its weights are used unless ``weights=None``.
    level
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NPS_COLUMNS`.
    """
    level = check_level(level)
    group_cols = [] if group is None else ([group] if isinstance(group, str) else list(group))
    if not isinstance(item, str):
        raise ArgumentError("item must be one column name", values=[item],
                            expected='e.g. "recommend"')
    data, weights = _with_weights(data, weights)
    _require_columns(data, [item, *group_cols, *([weights] if weights else [])])
    score = _numeric(data, item).to_numpy()
    answered = ~np.isnan(score)
    if not answered.all():
        warn(f"{item}: {int((~answered).sum())} of {len(data)} rows have no answer and are "
             "left out", ExclusionWarning)
    _check_scale(score, answered, item)
    w = _weights(data, weights, answered)
    d = np.where(score >= 9, 1.0, np.where(score <= 6, -1.0, 0.0))
    z = z_critical(level)
    rows = [_row(d[answered], w[answered], score[answered], item=item, by="", group="all", z=z,
                 level=level, weighted=weights is not None)]
    for gcol in group_cols:
        gvals = data[gcol].to_numpy()
        has = pd.notna(gvals) & answered
        if (answered & ~has).any():
            warn(f"{item}: {int((answered & ~has).sum())} answered rows have no {gcol!r} and are "
                 "left out of the group rows (they stay in the overall row)", ExclusionWarning)
        levels = sorted(pd.unique(gvals[has]).tolist(), key=str)
        if not levels:
            raise GroupError(f"group={gcol!r} has no values among the answered rows", column=gcol,
                             expected="a column with group labels")
        for lev in levels:
            sel = has & (gvals == lev)
            rows.append(_row(d[sel], w[sel], score[sel], item=item, by=gcol, group=str(lev), z=z,
                             level=level, weighted=weights is not None))
    return pd.DataFrame(rows).reindex(columns=NPS_COLUMNS)


def _check_scale(score: np.ndarray, answered: np.ndarray, item: str) -> None:
    s = score[answered]
    bad = (s < 0) | (s > 10) | (s != np.round(s))
    if bad.any():
        rows = np.flatnonzero(answered)[bad] + 1
        raise OutOfRangeError("an NPS item must hold whole numbers from 0 to 10", column=item,
                              rows=rows.tolist(), values=s[bad].tolist(),
                              expected="0, 1, ..., 10 (recode a 1-11 or 1-10 scale first)")


def _with_weights(data: Any, weights: Any) -> tuple[pd.DataFrame, str | None]:
    """The frame and the name of its weight column (None: unweighted). A Survey brings its
    weights unless ``weights=None``; a Series, an array or a RakeResult becomes a column."""
    frame, survey_weights = as_frame(data)
    if weights is UNSET:
        weights = survey_weights
    if weights is None or isinstance(weights, str):
        return frame, weights
    values = resolve_weights(frame, weights, None)
    column = "weights"
    while column in frame.columns:
        column = "_" + column
    return frame.assign(**{column: values}), column


def _weights(data: pd.DataFrame, weights: str | None, answered: np.ndarray) -> np.ndarray:
    if weights is None:
        return np.ones(len(data))
    w = _numeric(data, weights).to_numpy()
    bad = answered & (np.isnan(w) | (w < 0))
    if bad.any():
        raise OutOfRangeError("weights must be non-negative numbers wherever the item is answered",
                              column=weights, rows=(np.flatnonzero(bad) + 1).tolist(),
                              values=w[bad].tolist(), expected="a weight >= 0 for every respondent")
    if not (w[answered] > 0).any():
        raise OutOfRangeError("every weight is zero", column=weights, values=[0.0],
                              expected="positive weights")
    return w


def _row(d: np.ndarray, w: np.ndarray, score: np.ndarray, *, item: str, by: str, group: str,
         z: float, level: float, weighted: bool) -> dict:
    total = w.sum()
    if total <= 0:
        raise OutOfRangeError(f"every weight is zero in {by}={group!r}", column=by,
                              values=[group], expected="positive weights in every group")
    p_pro = w[d > 0].sum() / total
    p_det = w[d < 0].sum() / total
    m = p_pro - p_det
    if weighted:
        var = float(np.sum(w**2 * (d - m) ** 2) / total**2)   # linearization of the ratio mean
        n_eff = float(total**2 / np.sum(w**2))
    else:
        var = (p_pro + p_det - m**2) / d.size                  # multinomial
        n_eff = float(d.size)
    se = 100.0 * np.sqrt(max(var, 0.0))
    value = 100.0 * m
    return {"item": item, "by": by, "group": group, "n": int(d.size), "n_eff": n_eff,
            "weighted": weighted, "pct_promoters": 100.0 * p_pro,
            "pct_passives": 100.0 * (1.0 - p_pro - p_det), "pct_detractors": 100.0 * p_det,
            "nps": value, "se": se, "ci_lower": max(value - z * se, -100.0),
            "ci_upper": min(value + z * se, 100.0), "level": level}
