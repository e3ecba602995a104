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

NPS drivers
-----------
:func:`nps_drivers` asks what makes a promoter and what makes a detractor: two logit models,
promoters (9-10) against everyone else and detractors (0-6) against everyone else, each on the
same drivers and controls, fitted by :func:`connection.outcomes.drivers` (``family="logit"``):
coefficients are log-odds per standard deviation of the driver (drivers z-scored), with robust
(HC0 sandwich) standard errors by default, odds ratios ``exp(beta)`` per SD with their Wald
intervals, the per-unit coefficient and odds ratio, McFadden's pseudo R-squared and, unless
``importance=None``, the drivers' general dominance weights on it and their shares. Two binary
models rather than one multinomial model because each answers the analyst's question directly
(who becomes a promoter; who becomes a detractor) and each has a dominance analysis.
With survey weights (``weights=``, or a Survey's own) both models are survey-weighted logits
with design-based SEs, as ``survey::svyglm(family = quasibinomial)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connection._common import DEFAULT_LEVEL, check_level, warn, z_critical
from connection._report import Report, Reported
from connection.errors import ArgumentError, ExclusionWarning, GroupError, OutOfRangeError
from connection.outcomes._compare import _numeric, _require_columns
from connection.stats._weights import UNSET, as_frame, resolve_weights, weights_label

__all__ = ["nps", "NPS_COLUMNS", "nps_drivers", "NPSDriversResult", "NPS_DRIVER_COLUMNS"]

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


# --------------------------------------------------------------------------------------------
# NPS drivers
# --------------------------------------------------------------------------------------------

NPS_DRIVER_COLUMNS = ["outcome", "by", "group", "n", "n_events", "term", "role", "beta", "se",
                      "statistic", "pvalue", "ci_lower", "ci_upper", "odds_ratio",
                      "odds_ratio_ci_lower", "odds_ratio_ci_upper", "b", "odds_ratio_unit",
                      "general_dominance", "dominance_share", "r2", "cov_type"]
"""Columns of :attr:`NPSDriversResult.table` (one row per model x group x term):

outcome, by, group, n, n_events
    ``"promoter"`` (9-10 against 0-8) or ``"detractor"`` (0-6 against 7-10); the ``group=``
    column (``""`` for everyone) and its level (``"all"``); respondents in the model and how
    many of them are promoters (detractors).
term, role
    The driver or control (``"driver"`` / ``"control"``).
beta, se, statistic, pvalue, ci_lower, ci_upper
    The logit coefficient per standard deviation of the term (drivers and numeric controls
    z-scored; dummies 0/1), its standard error (``cov_type``), z, two-sided p and the Wald
    interval at ``level``.
odds_ratio, odds_ratio_ci_lower, odds_ratio_ci_upper
    ``exp(beta)``: the odds ratio per SD, and its interval (the exponentiated Wald interval).
b, odds_ratio_unit
    The coefficient per unit of the term (``beta / SD``) and ``exp(b)``.
general_dominance, dominance_share, r2
    General dominance weight of each driver on McFadden's pseudo R-squared, its share (the
    drivers' shares add up to 1) and the model's pseudo R-squared (NaN dominance with
    ``importance=None``).
cov_type
    The covariance actually used (``"HC0"`` for any HC choice; ``"nonrobust"``; ``"cluster"``).
"""

_NPS_OUTCOMES = {"promoter": lambda s: s >= 9, "detractor": lambda s: s <= 6}


@dataclass(eq=False, repr=False)
class NPSDriversResult(Reported):
    """What :func:`nps_drivers` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns :data:`NPS_DRIVER_COLUMNS`, promoter model first.
    models : pandas.DataFrame
        One row per model (and group): ``outcome, by, group, n, n_events, pct_events, r2,
        converged``.
    drivers_result : DriversResult
        The :func:`drivers` result the tables come from (its ``differences`` compare the
        drivers' coefficients within each model).
    settings : dict
        The arguments of the call.
    """

    table: pd.DataFrame
    models: pd.DataFrame
    drivers_result: Any
    settings: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (a copy)."""
        return self.table.copy()

    def summary(self) -> Report:
        s = self.settings
        report = Report(f"NPS drivers of {s['item']}", header=[
            ("Models", "logit: promoters (9-10) vs the rest; detractors (0-6) vs the rest"),
            ("Coefficients", "log-odds per SD of the term; odds ratio = exp(beta)"),
            ("Covariance", str(self.table["cov_type"].iloc[0]) if len(self.table) else ""),
            ("Drivers", ", ".join(s["drivers"])),
            *([("Controls", ", ".join(s["controls"]))] if s["controls"] else []),
            ("Level", f"{100 * s['level']:g}%"),
            ("Weights", s.get("weights") or "none (unweighted models)")])
        report.add_table(self.models, caption="Models (pseudo R-squared: McFadden)")
        report.add_table(self.table[["outcome", "group", "term", "beta", "se", "pvalue",
                                     "odds_ratio", "odds_ratio_ci_lower", "odds_ratio_ci_upper",
                                     "dominance_share"]],
                         caption="Coefficients and odds ratios per SD; dominance shares")
        return report


def nps_drivers(
    data: pd.DataFrame | Any,
    item: str,
    drivers: Sequence[str] | str = ("connection", "satisfaction"),
    *,
    controls: Sequence[str] | str = (),
    group: Sequence[str] | str | None = None,
    weights: Any = UNSET,
    cov_type: str = "HC0",
    importance: str | None = "dominance",
    n_boot: int = 0,
    seed: Any = None,
    level: float = DEFAULT_LEVEL,
) -> NPSDriversResult:
    """What drives promoters and detractors: two logit models on a 0-10 recommendation item.

    Parameters
    ----------
    data
        One row per respondent (a DataFrame or a Survey).
    item
        The 0-10 recommendation item (whole numbers 0-10; rows without an answer are left out
        with an :class:`~connection.errors.ExclusionWarning`).
    drivers
        Numeric driver columns.
    controls, group
        As in :func:`connection.outcomes.drivers`: controls enter every model (and every
        dominance subset); each level of ``group`` is also fitted on its own.
    weights
        Survey weights (a column, one weight per row, a rake result; a Survey's own weights
        unless ``weights=None``): both logits are then survey-weighted as ``survey::svyglm``
        (quasibinomial) with design-based (linearization) SEs, through
        :func:`connection.outcomes.drivers` ``weights=`` (``cov_type`` is then
        ``"linearization"``). ``n_events`` stay unweighted counts.
    cov_type
        ``"HC0"`` (robust sandwich, the default), ``"nonrobust"``, or ``"cluster"`` is not offered
        here (use :func:`drivers` directly).
    importance
        ``"dominance"`` (general dominance weights on the pseudo R-squared) or ``None``.
    n_boot, seed
        Bootstrap replicates (0: none) and seed for the intervals of the differences between
        drivers' coefficients (:attr:`NPSDriversResult.drivers_result`).
    level
        Confidence level of every interval.

    Returns
    -------
    NPSDriversResult
    """
    from connection.outcomes._drivers import drivers as _drivers

    level = check_level(level)
    if not isinstance(item, str):
        raise ArgumentError("item must be one column name", values=[item],
                            expected='e.g. "recommend"')
    if cov_type not in ("HC0", "nonrobust"):
        raise ArgumentError("nps_drivers takes cov_type='HC0' or 'nonrobust'", values=[cov_type],
                            expected="'HC0' (robust) or 'nonrobust'")
    frame, w, wlabel = _weighted_frame(data, weights)
    drivers_ = [drivers] if isinstance(drivers, str) else list(drivers)
    controls_ = [controls] if isinstance(controls, str) else list(controls)
    group_cols = [] if group is None else ([group] if isinstance(group, str) else list(group))
    _require_columns(frame, [item, *drivers_, *controls_, *group_cols])
    if item in drivers_ or item in controls_:
        raise ArgumentError("the NPS item cannot also be a driver or a control (it would predict "
                            "itself)", values=[item], expected="drivers and controls other than "
                            "the recommendation item")
    score = _numeric(frame, item).to_numpy()
    answered = ~np.isnan(score)
    _check_scale(score, answered, item)
    names = _outcome_names(frame, item)
    model_frame = frame.assign(**{names[k]: np.where(answered, rule(score), np.nan)
                                  for k, rule in _NPS_OUTCOMES.items()})
    result = _drivers(model_frame, [names["promoter"], names["detractor"]], drivers_,
                      controls=controls_, group=group_cols or None, family="logit",
                      cov_type=cov_type, n_boot=n_boot, seed=seed, level=level,
                      importance=importance, progress=False, weights=w)
    back = {v: k for k, v in names.items()}
    used = [*drivers_, *controls_]
    return NPSDriversResult(_driver_table(result.table, back, model_frame, used),
                            _model_table(result.models, back, model_frame, used), result,
                            {"item": item, "drivers": drivers_, "controls": controls_,
                             "group": group_cols, "cov_type": cov_type, "importance": importance,
                             "n_boot": n_boot, "level": level, "weights": wlabel})


def _weighted_frame(data: Any, weights: Any) -> tuple[pd.DataFrame, np.ndarray | None, str | None]:
    """The frame, the survey weights of its rows (a Survey's own unless ``weights=None``) as an
    array or None, and how they were given."""
    frame, survey_weights = as_frame(data)
    w = resolve_weights(frame, weights, survey_weights)
    return frame, w, None if w is None else weights_label(weights, survey_weights)


def _outcome_names(frame: pd.DataFrame, item: str) -> dict[str, str]:
    """Column names for the two 0/1 outcomes that clash with no column of the data."""
    names = {}
    for k in _NPS_OUTCOMES:
        name = f"{item}_{k}"
        while name in frame.columns:
            name = "_" + name
        names[k] = name
    return names


def _events(model_frame: pd.DataFrame, column: str, by: str, group: str,
            used: list[str]) -> int:
    """Promoters (detractors) among the model's complete cases (of the group)."""
    keep = model_frame[[column, *used]].notna().all(axis=1)
    if by:
        keep &= model_frame[by].notna() & (model_frame[by].astype(str) == group)
    return int(model_frame.loc[keep, column].sum())


def _driver_table(table: pd.DataFrame, back: dict, model_frame: pd.DataFrame,
                  used: list[str]) -> pd.DataFrame:
    t = table.copy()
    t["odds_ratio"] = np.exp(t["beta"])
    t["odds_ratio_ci_lower"] = np.exp(t["ci_lower"])
    t["odds_ratio_ci_upper"] = np.exp(t["ci_upper"])
    t["odds_ratio_unit"] = np.exp(t["b"])
    t["n_events"] = [_events(model_frame, o, b, g, used) for o, b, g in
                     zip(t["outcome"], t["by"], t["group"], strict=True)]
    t["outcome"] = t["outcome"].map(back)
    return t.reindex(columns=NPS_DRIVER_COLUMNS).reset_index(drop=True)


def _model_table(models: pd.DataFrame, back: dict, model_frame: pd.DataFrame,
                 used: list[str]) -> pd.DataFrame:
    m = models.copy()
    m["n_events"] = [_events(model_frame, o, b, g, used) for o, b, g in
                     zip(m["outcome"], m["by"], m["group"], strict=True)]
    m["pct_events"] = 100.0 * m["n_events"] / m["n"]
    m["outcome"] = m["outcome"].map(back)
    return m[["outcome", "by", "group", "n", "n_events", "pct_events", "r2", "converged"]]
