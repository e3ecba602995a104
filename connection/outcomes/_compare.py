"""Group comparisons: equivalence, "x times more likely", multiplicity, and value ratios.

Two groups of a ``between`` column (say connected and non-connected customers) are compared in
two ways:

* **Equivalence** (two one-sided tests, TOST) on variables where the claim is that the segments
  score *the same* (satisfaction, features, quality). "Nearly identical scores" is an equivalence
  claim: it needs a stated margin and a test whose null hypothesis is *a difference at least as
  large as the margin*, not a non-significant difference test.
* **Proportions** on yes/no or top-box variables (emotional items, advocacy, loyalty): the risk
  ratio ("x times more likely", Katz log interval) and the difference in proportions (Newcombe
  hybrid score interval by default, or Wald), with the pooled two-proportion z test.

Survey weights (``compare(weights=)``; a Survey's own weights unless ``weights=None``) make the
comparison design-based, as R's ``survey`` package on ``svydesign(ids = ~1, weights = ~w)``: each
group's mean or proportion is a weighted domain mean (``svyby(..., svymean, na.rm = TRUE)``: the
design is every row of the data, a group and a missing value are domains, ``n`` stays the whole
sample's) with its linearization SE; the difference ``a - b`` has the SE of ``svycontrast(by,
c(a = 1, b = -1))`` (``sqrt(se_a^2 + se_b^2)``: the domains' influence values do not overlap) and
the risk ratio the delta-method SE of ``svycontrast(by, quote(a / b))``. Under weights every
interval and test is a Wald one on these SEs with normal critical values (survey's ``confint``):
the difference of proportions ``d +/- z SE`` with the z test ``d / SE`` (``test =
"linearized_z"``), the risk ratio ``exp(log RR +/- z SE(RR) / RR)`` (no zero-cell correction: a
group with no events has RR 0 or infinite and no interval), and TOST with ``z`` in place of
Welch's t (``test = "tost_linearized"``, ``df`` NaN). Newcombe's and Katz's intervals assume
binomial counts, which weighted data are not, so they are not used under weights
(``difference_method`` then does not apply). Standard deviations are each group's ``svyvar``
on its respondents with a value; Cohen's d and Hedges' g use them pooled with the respondent
counts. ``n_a``, ``n_b``,
``events_a``, ``events_b`` stay respondent counts; ``settings["n_eff"]`` gives Kish's effective n
per variable and group. :func:`value_ratio` takes weights the same way (weighted means, their
linearization SEs in the delta and Fieller intervals, the weights carried by the bootstrap). All
weights equal (1 or any constant): the sample is self-weighting and the unweighted methods are
used, so the table is exactly the unweighted one.

p-values are adjusted within each family (Holm by default, or Benjamini-Hochberg) by
:func:`connection.stats.adjust_pvalues`. The intervals of proportions are the package's one
implementation (``connection.stats._proportions``), which :mod:`connection.context` uses too.

:func:`value_ratio` gives the ratio of mean value (spend, tenure) between two groups, with a
stratified bootstrap interval, a delta-method interval on the log ratio and Fieller's interval:
the "fully connected customers are 52% more valuable" kind of statement.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from connection.outcomes import risk_ratio, proportion_difference
>>> rr = risk_ratio(40, 100, 20, 100)     # 40% vs 20%
>>> print(rr[["risk_ratio", "ci_lower", "ci_upper"]].round(3).to_string(index=False))
 risk_ratio  ci_lower  ci_upper
        2.0     1.263     3.167
>>> d = proportion_difference(40, 100, 20, 100)   # R: PropCIs::diffscoreci-like, Newcombe (1998) #10
>>> print(d[["difference", "ci_lower", "ci_upper"]].round(4).to_string(index=False))
 difference  ci_lower  ci_upper
        0.2    0.0731    0.3185
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connection._common import (
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    as_seed_sequence,
    check_level,
    check_n_boot,
    renamed_keywords,
    warn,
    z_critical,
)
from connection._report import Report, Reported
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
)
from connection.stats._effect_sizes import cohen_d_hedges_g, cohen_h
from connection.stats._multiplicity import adjust_pvalues, check_correction
from connection.stats._proportions import (
    katz_risk_ratio,
    newcombe_difference,
    pooled_z_test,
    wald_difference,
)
from connection.stats._weights import (
    UNSET,
    as_frame,
    equal_weights,
    kish_n_eff,
    resolve_weights,
    weighted_cov,
    weights_label,
)

__all__ = [
    "compare",
    "CompareResult",
    "tost",
    "risk_ratio",
    "proportion_difference",
    "adjust_pvalues",
    "value_ratio",
    "COMPARE_COLUMNS",
    "VALUE_RATIO_COLUMNS",
]

# --------------------------------------------------------------------------------------------
# building blocks (vectorised over arrays of counts / moments)
# --------------------------------------------------------------------------------------------

def _counts(events_a, n_a, events_b, n_b) -> tuple[np.ndarray, ...]:
    """The four count arrays, broadcast, checked: whole numbers with 0 <= events <= n, n >= 1."""
    try:
        arrs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (events_a, n_a, events_b, n_b)]
        a, na, c, nb = np.broadcast_arrays(*arrs)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"counts must be numbers of equal length ({exc})",
                            values=[events_a, n_a, events_b, n_b],
                            expected="events_a, n_a, events_b, n_b as whole numbers or equal-length arrays"
                            ) from None
    allv = np.stack([a, na, c, nb])
    bad = ~np.isfinite(allv).all(axis=0) | (allv != np.round(allv)).any(axis=0)
    bad |= (a < 0) | (c < 0) | (a > na) | (c > nb) | (na < 1) | (nb < 1)
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = [f"({a[i]:g}/{na[i]:g} vs {c[i]:g}/{nb[i]:g})" for i in idx]
        raise ArgumentError("event counts must be whole numbers between 0 and the group size, sizes "
                            "at least 1", rows=(idx + 1).tolist() if a.size > 1 else None,
                            values=shown, expected="0 <= events <= n, n >= 1, no NaN")
    return a, na, c, nb


def risk_ratio(events_a, n_a, events_b, n_b, *, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Risk ratio ``(events_a / n_a) / (events_b / n_b)`` with the Katz log interval.

    The interval is ``exp(log RR +/- z * sqrt(1/a - 1/n_a + 1/c - 1/n_b))`` (Katz et al. 1978),
    the one ``statsmodels.stats.contingency_tables.Table2x2.riskratio_confint`` and R's
    ``epitools::riskratio(method="wald")`` give. When either group has zero events (or every
    respondent has the event), 0.5 is added to each of the four cells (Haldane-Anscombe) for the
    estimate and the interval, and ``zero_correction`` is True.

    Parameters
    ----------
    events_a, n_a, events_b, n_b
        Counts (scalars or equal-length arrays).
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``events_a n_a events_b n_b risk_a risk_b risk_ratio log_rr_se ci_lower ci_upper
        zero_correction``.

    Examples
    --------
    >>> from connection.outcomes import risk_ratio
    >>> risk_ratio([46, 32], 500, [26, 11], 500)[["risk_ratio", "ci_lower"]].round(3)
       risk_ratio  ci_lower
    0       1.769     1.112
    1       2.909     1.483
    """
    z = z_critical(level)
    a, na, c, nb = _counts(events_a, n_a, events_b, n_b)
    rr = katz_risk_ratio(a, na, c, nb, z)
    return pd.DataFrame({
        "events_a": a, "n_a": na, "events_b": c, "n_b": nb,
        "risk_a": a / na, "risk_b": c / nb, "risk_ratio": rr["risk_ratio"],
        "log_rr_se": rr["log_rr_se"], "ci_lower": rr["ci_lower"], "ci_upper": rr["ci_upper"],
        "zero_correction": rr["zero_correction"],
    })


def proportion_difference(events_a, n_a, events_b, n_b, *, method: str = "newcombe",
                          level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Difference in proportions ``p_a - p_b`` with a confidence interval and the pooled z test.

    Parameters
    ----------
    events_a, n_a, events_b, n_b
        Counts (scalars or equal-length arrays).
    method
        ``"newcombe"``: the hybrid score interval built from the two Wilson intervals (Newcombe
        1998, method 10; statsmodels ``confint_proportions_2indep(method="newcomb")``).
        ``"wald"``: ``d +/- z * sqrt(p_a q_a / n_a + p_b q_b / n_b)``.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``risk_a risk_b difference ci_lower ci_upper method statistic pvalue``; ``statistic`` is
        the pooled two-proportion z (the square root of Pearson's chi-square without continuity
        correction, R's ``prop.test(correct=FALSE)``), ``pvalue`` its two-sided p-value.
    """
    z = z_critical(level)
    if method not in ("newcombe", "wald"):
        raise ArgumentError("unknown interval method for a difference in proportions",
                            values=[method], expected="'newcombe' or 'wald'")
    a, na, c, nb = _counts(events_a, n_a, events_b, n_b)
    if method == "wald":
        d, _, lo, hi = wald_difference(a, na, c, nb, z)
    else:
        d, lo, hi = newcombe_difference(a, na, c, nb, z)
    zstat, pvalue = pooled_z_test(a, na, c, nb)
    return pd.DataFrame({
        "risk_a": a / na, "risk_b": c / nb, "difference": d, "ci_lower": lo, "ci_upper": hi,
        "method": method, "statistic": zstat, "pvalue": pvalue,
    })


def _tost_moments(mean_a, mean_b, var_a, var_b, n_a, n_b, low, high, *, welch: bool, alpha: float):
    """TOST from summary moments; ``low < 0 < high`` are the equivalence bounds for mean_a - mean_b."""
    mean_a, mean_b, var_a, var_b, n_a, n_b, low, high = (
        np.asarray(v, dtype=float) for v in (mean_a, mean_b, var_a, var_b, n_a, n_b, low, high))
    diff = mean_a - mean_b
    if welch:
        va, vb = var_a / n_a, var_b / n_b
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    else:
        df = n_a + n_b - 2
        pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / df
        se = np.sqrt(pooled * (1.0 / n_a + 1.0 / n_b))
    t_lower = (diff - low) / se   # H0: diff <= low
    t_upper = (diff - high) / se  # H0: diff >= high
    p_lower = stats.t.sf(t_lower, df)
    p_upper = stats.t.cdf(t_upper, df)
    crit = stats.t.ppf(1 - alpha, df)
    t_diff = diff / se
    return {
        "difference": diff, "se": se, "df": df, "t_lower": t_lower, "t_upper": t_upper,
        "p_lower": p_lower, "p_upper": p_upper, "pvalue": np.maximum(p_lower, p_upper),
        "ci_lower": diff - crit * se, "ci_upper": diff + crit * se,
        "t_difference": t_diff, "pvalue_difference": 2 * stats.t.sf(np.abs(t_diff), df),
    }


def tost(x, y, margin: float | tuple[float, float], *, welch: bool = True,
         alpha: float = 0.05) -> pd.DataFrame:
    """Two one-sided tests of equivalence of two independent means.

    H0: ``mean(x) - mean(y) <= low`` or ``>= high``; H1: ``low < mean(x) - mean(y) < high``.
    A symmetric ``margin`` m means ``(low, high) = (-m, m)``; margins are in the variable's raw
    units. Matches statsmodels ``ttost_ind(x, y, low, high, usevar="unequal")`` and R's
    ``TOSTER::t_TOST(x, y, eqb = c(low, high))`` (Welch). Equivalence is shown at level ``alpha`` when ``pvalue < alpha``, which is the same as
    the ``1 - 2 * alpha`` confidence interval lying inside the bounds.

    Parameters
    ----------
    x, y
        The two samples (missing values are dropped).
    margin
        ``m`` for bounds ``(-m, m)``, or ``(low, high)``.
    welch
        Welch's unequal-variance t (default) or Student's pooled t.
    alpha
        Test level; the reported interval is at ``1 - 2 * alpha``.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_x n_y mean_x mean_y difference se df low high t_lower t_upper p_lower p_upper
        pvalue ci_lower ci_upper ci_level equivalent``.

    Examples
    --------
    >>> import numpy as np
    >>> from connection.outcomes import tost
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(7.0, 1.5, 400), rng.normal(7.05, 1.5, 400)
    >>> res = tost(x, y, margin=0.5)   # statsmodels ttost_ind(x, y, -0.5, 0.5, usevar="unequal")
    >>> bool(res["equivalent"].iloc[0]), round(float(res["pvalue"].iloc[0]), 6)
    (True, 4.4e-05)
    """
    low, high = (-abs(margin), abs(margin)) if np.isscalar(margin) else tuple(margin)
    if not low < high:
        raise ArgumentError("equivalence bounds must satisfy low < high", values=[low, high],
                            expected="a positive margin or (low, high) with low < high")
    if not 0.0 < float(alpha) < 0.5:
        raise ArgumentError("alpha must lie strictly between 0 and 0.5", values=[alpha],
                            expected="e.g. 0.05 (the TOST interval is at 1 - 2 * alpha)")
    x = _sample(x, "x")
    y = _sample(y, "y")
    _check_tost_samples(x, y, "x/y")
    res = _tost_moments(x.mean(), y.mean(), x.var(ddof=1), y.var(ddof=1), x.size, y.size, low, high,
                        welch=welch, alpha=alpha)
    out = {"n_x": x.size, "n_y": y.size, "mean_x": x.mean(), "mean_y": y.mean(),
           "difference": res["difference"], "se": res["se"], "df": res["df"], "low": low,
           "high": high}
    out.update({k: res[k] for k in ("t_lower", "t_upper", "p_lower", "p_upper", "pvalue",
                                    "ci_lower", "ci_upper")})
    out["ci_level"] = 1 - 2 * alpha
    out["equivalent"] = bool(res["pvalue"] < alpha)
    return pd.DataFrame({k: [np.asarray(v).item() if np.ndim(v) == 0 else v] for k, v in out.items()})


def _sample(values, name: str) -> np.ndarray:
    """A 1-d float sample with missing values dropped; text and infinite values are refused."""
    series = pd.Series(np.ravel(values))
    return _numeric(series.to_frame(name), name).dropna().to_numpy()


def _check_tost_samples(xa: np.ndarray, xb: np.ndarray, column: str) -> None:
    if xa.size < 2 or xb.size < 2:
        raise ArgumentError("too few values in a group for an equivalence test", column=column,
                            values=[xa.size, xb.size], expected="at least 2 non-missing values per group")
    if np.ptp(xa) == 0 and np.ptp(xb) == 0:
        raise NoVarianceError("no variance within either group: the t statistics of the equivalence "
                              "test are undefined", column=column, values=[xa[0], xb[0]],
                              expected="values that vary within at least one group")


# --------------------------------------------------------------------------------------------
# compare(): the tidy comparison table
# --------------------------------------------------------------------------------------------

COMPARE_COLUMNS = [
    "family", "variable", "analysis", "segment", "group_a", "group_b", "n_a", "n_b",
    "value_a", "value_b", "difference", "ci_lower", "ci_upper", "ci_level",
    "test", "statistic", "df", "pvalue", "p_adjusted", "correction", "reject", "conclusion",
    "sd_a", "sd_b", "margin_raw", "margin_std", "pvalue_difference", "cohen_d", "hedges_g",
    "events_a", "events_b", "risk_ratio", "rr_ci_lower", "rr_ci_upper", "zero_correction",
    "threshold", "cohen_h",
]
"""Columns of :attr:`CompareResult.table` (see :func:`compare` for their meaning)."""


@dataclass(frozen=True, repr=False)
class CompareResult(Reported):
    """Result of :func:`compare`: one row per variable in :attr:`table`.

    Attributes
    ----------
    table : pandas.DataFrame
        Every comparison, columns :data:`COMPARE_COLUMNS`.
    alpha : float
        Test level used for ``reject``.
    settings : dict
        The arguments that shaped the comparison (margin, correction, ...).
    """

    table: pd.DataFrame
    alpha: float
    settings: dict

    @property
    def equivalence(self) -> pd.DataFrame:
        """The equivalence (TOST) rows with their relevant columns."""
        cols = ["family", "variable", "group_a", "group_b", "n_a", "n_b", "value_a", "value_b",
                "sd_a", "sd_b", "difference", "ci_lower", "ci_upper", "ci_level", "margin_raw",
                "margin_std", "statistic", "df", "pvalue", "p_adjusted", "reject", "conclusion",
                "pvalue_difference", "cohen_d", "hedges_g"]
        t = self.table
        return t.loc[t["analysis"] == "equivalence", cols].reset_index(drop=True)

    @property
    def proportions(self) -> pd.DataFrame:
        """The proportion rows (risk ratio, difference) with their relevant columns."""
        cols = ["family", "variable", "threshold", "group_a", "group_b", "n_a", "n_b", "events_a",
                "events_b", "value_a", "value_b", "risk_ratio", "rr_ci_lower", "rr_ci_upper",
                "difference", "ci_lower", "ci_upper", "ci_level", "statistic", "pvalue",
                "p_adjusted", "reject", "conclusion", "zero_correction", "cohen_h"]
        t = self.table
        return t.loc[t["analysis"] == "proportion", cols].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The full tidy table (a copy)."""
        return self.table.copy()

    def summary(self) -> Report:
        """The comparison as a :class:`connection._report.Report`: the groups, the test level and
        the correction in the header, then the equivalence and the proportion tables."""
        s = self.settings
        report = Report(f"Comparison of {s['between']}: {s['group_a']!r} (a) vs {s['group_b']!r} (b)",
                        header=[("Alpha", f"{self.alpha:g}"),
                                ("Multiplicity", f"{s['correction'] or 'none'} within each family")])
        weighted = s.get("weights") is not None
        if weighted:
            report.header.append(("Weights", f"{s['weights']} (design-based: linearization SEs, "
                                             "Wald intervals, z tests)"))
        if (self.table["analysis"] == "equivalence").any():
            eq = self.equivalence[["variable", "value_a", "value_b", "difference", "ci_lower",
                                   "ci_upper", "margin_raw", "margin_std", "p_adjusted",
                                   "conclusion", "hedges_g"]]
            test = "z on linearization SEs" if weighted else (
                f"{'Welch' if s['welch'] else 'Student'} t")
            report.add_table(eq, caption=f"Equivalence (TOST, {test}"
                             f"; margins in raw scale points, margin_std = margin / pooled SD; "
                             f"interval at {1 - 2 * self.alpha:.0%})")
        if (self.table["analysis"] == "proportion").any():
            pr = self.proportions[["variable", "value_a", "value_b", "risk_ratio", "rr_ci_lower",
                                   "rr_ci_upper", "difference", "ci_lower", "ci_upper",
                                   "p_adjusted", "conclusion"]]
            methods = ("weighted; risk ratio with delta-method log interval; difference with Wald "
                       "interval and z test on linearization SEs" if weighted else
                       f"risk ratio with Katz log interval; difference with "
                       f"{s['difference_method']} interval; pooled z test")
            report.add_table(pr, caption=f"Proportions ({methods}; level {s['level']:.0%})")
        return report


def _require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError("data must be a pandas DataFrame (one row per respondent)",
                            values=[type(data).__name__], expected="a DataFrame (e.g. survey.data)")
    for col in columns:
        if col not in data.columns:
            raise MissingColumnError(f"column {col!r} is not in the data", column=col,
                                     expected="one of: " + ", ".join(map(str, data.columns[:20])))


def _numeric(data: pd.DataFrame, col: str) -> pd.Series:
    """The column as floats (NaN = missing); text and infinite values raise, naming the rows."""
    s = data[col]
    if s.dtype == bool:
        return s.astype(float)
    if not pd.api.types.is_numeric_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if not bad.any() and s.map(lambda v: isinstance(v, int | float | np.number) or pd.isna(v)).all():
            s = conv  # an object column holding numbers only (e.g. ints mixed with None)
        else:
            rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
            raise NonNumericError("values are not numbers" if bad.any() else
                                  "the column holds text (numbers stored as strings)", column=col,
                                  rows=rows or None, values=(s[bad] if bad.any() else s.dropna()).tolist()[:10],
                                  expected="numeric values (convert the column with pd.to_numeric)")
    out = s.astype(float)
    inf = np.isinf(out.to_numpy())
    if inf.any():
        raise OutOfRangeError("values are infinite", column=col, rows=(np.flatnonzero(inf) + 1).tolist(),
                              values=out[inf].tolist(), expected="finite numbers (or NaN for missing)")
    return out


def _rows_text(rows: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f", ... ({len(rows)} in all)" if len(rows) > limit else "")


def _split_groups(data: pd.DataFrame, between: str, a: Any, b: Any):
    """The two groups ``a`` and ``b`` of column ``between``: ``(a, b, in_a, in_b)``."""
    _require_columns(data, [between])
    seg = data[between]
    missing = seg.isna()
    if missing.any():
        warn(f"{int(missing.sum())} rows have no value in {between!r} and are left out "
             f"of the comparison", ExclusionWarning)
    values = pd.unique(seg[~missing])
    if a is None and b is None:
        as_set = set(values.tolist())
        if as_set <= {True, False} and len(as_set) == 2:
            a, b = True, False
        else:
            raise ArgumentError(
                f"say which two groups of {between!r} to compare", column=between,
                values=list(values), expected="a= and b= (needed unless the column is True/False)")
    if a == b:
        raise ArgumentError("a and b name the same group", column=between, values=[a, b],
                            expected=f"two different groups of the column {between!r}")
    for label, name in ((a, "a"), (b, "b")):
        if not (seg == label).any():
            raise ArgumentError(f"group {name}={label!r} does not occur in {between!r}",
                                column=between, values=list(values), expected="a value present in the column")
    return a, b, (seg == a).to_numpy(), (seg == b).to_numpy()


def _binary(values: pd.Series, col: str, threshold: float | None) -> pd.Series:
    """0/1 with NaN kept; threshold: event = value >= threshold."""
    v = _numeric(values.to_frame(col), col)
    if threshold is not None:
        return (v >= threshold).astype(float).where(v.notna())
    ok = v.isna() | v.isin([0.0, 1.0])
    if not ok.all():
        rows = (np.flatnonzero(~ok.to_numpy()) + 1).tolist()
        raise OutOfRangeError("a proportion needs a 0/1 (or True/False) column", column=col,
                              rows=rows, values=v[~ok].tolist(),
                              expected="0 or 1, or give a threshold: proportions={column: threshold}")
    return v


@renamed_keywords(segment="between")
def compare(
    data: pd.DataFrame,
    between: str,
    *,
    a: Any = None,
    b: Any = None,
    equivalence: Sequence[str] = (),
    margin: float | Mapping[str, float] | None = None,
    margin_scale: str = "raw",
    proportions: Sequence[str] | Mapping[str, float | None] = (),
    families: Mapping[str, str] | None = None,
    correction: str | None = "holm",
    welch: bool = True,
    difference_method: str = "newcombe",
    level: float = DEFAULT_LEVEL,
    weights: Any = UNSET,
) -> CompareResult:
    """Compare two groups: equivalence on scores, risk ratios on proportions, per-family correction.

    Parameters
    ----------
    data
        One row per respondent: a DataFrame or a Survey.
    between
        Column holding the group labels (say the segments); ``segment=`` is its old name.
    a, b
        The two groups compared (a vs b: differences are a - b, risk ratios a / b). Optional when
        ``between`` is True/False (then a = True, b = False). Rows in other groups are ignored.
    equivalence
        Numeric columns tested for equivalence (TOST) of their means.
    margin
        Equivalence margin ``m`` (bounds ``-m, m`` on ``mean_a - mean_b``): one number for every
        variable or a dict per variable. Required with ``equivalence``; there is no default,
        because the margin is a substantive claim ("within half a scale point is the same").
    margin_scale
        ``"raw"``: ``margin`` is in the variable's scale points (default). ``"sd"``: ``margin`` is
        in pooled standard deviations (a standardized margin) and is converted to scale points per
        variable. Both versions are reported (``margin_raw``, ``margin_std``).
    proportions
        Columns compared as proportions: a list of 0/1 (or True/False) columns, or a dict
        ``{column: threshold}`` where an event is ``value >= threshold`` (top-box coding, e.g.
        ``{"recommend": 9}``; ``None`` = already 0/1).
    families
        ``{variable: family}``; p-values are adjusted within each family. Default: all equivalence
        variables form the family ``"equivalence"``, all proportions ``"proportions"``.
    correction
        ``"holm"`` (default), ``"bh"`` (or ``"fdr_bh"``: Benjamini-Hochberg), ``"bonferroni"`` or
        ``None`` (:func:`connection.stats.adjust_pvalues`).
    welch
        Welch (default) or Student t in the TOST.
    difference_method
        ``"newcombe"`` (default) or ``"wald"`` interval for the difference in proportions.
    level
        Confidence level of the proportion intervals; tests use ``alpha = 1 - level``, and the
        TOST interval is at ``1 - 2 * alpha`` (90% for level 0.95), the interval that matches it.
    weights
        Survey weights: a column of the data, an array or Series (one weight per row), a
        :class:`~connection.stats.RakeResult`, or ``None`` (unweighted). Default: a Survey's
        weights. Under (unequal) weights the comparison is design-based: domain means and
        proportions with linearization SEs, Wald intervals and z tests on them (as R's
        ``survey::svyby`` and ``svycontrast``; see the module docstring).

    Returns
    -------
    CompareResult
        ``.table`` has one row per variable, columns :data:`COMPARE_COLUMNS`:

        family, variable, segment, group_a, group_b
            Identification (``segment`` holds the ``between`` column's name); ``analysis`` is
            ``"equivalence"`` or ``"proportion"``.
        n_a, n_b
            Respondents with a value (missing values are left out per variable).
        value_a, value_b
            Means (equivalence) or proportions.
        difference, ci_lower, ci_upper, ci_level
            ``a - b`` and its interval (TOST: ``1 - 2 alpha``; proportions: ``level``).
        test, statistic, df, pvalue
            ``"tost"``: the smaller of the two one-sided t statistics, Welch df, and the TOST
            p-value (the larger one-sided p); ``"two_proportion_z"``: pooled z and its p.
        p_adjusted, correction, reject, conclusion
            Adjusted p within the family; ``reject`` = ``p_adjusted < alpha`` (for TOST the
            rejected null is non-equivalence); ``conclusion`` in words.
        sd_a, sd_b, margin_raw, margin_std, pvalue_difference, cohen_d, hedges_g
            Equivalence rows: SDs, margin in scale points and in pooled SDs, the ordinary
            Welch/Student difference test, Cohen's d (pooled SD) and Hedges' g (``d * (1 - 3 / (4 (n_a + n_b) - 9))``, as pingouin's ``compute_effsize``).
        events_a, events_b, risk_ratio, rr_ci_lower, rr_ci_upper, zero_correction, threshold, cohen_h
            Proportion rows: counts, risk ratio ("x times more likely") with the Katz log
            interval, the top-box threshold if any, and Cohen's h.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import connection as cx
    >>> rng = np.random.default_rng(3)
    >>> n = 600
    >>> connected = rng.random(n) < 0.4
    >>> df = pd.DataFrame({"connected": connected,
    ...                    "satisfaction": rng.normal(7.5, 1.2, n).round(),
    ...                    "recommend": (rng.random(n) < np.where(connected, 0.6, 0.25)).astype(int)})
    >>> res = cx.compare(df, "connected", equivalence=["satisfaction"], margin=0.5,
    ...                  proportions=["recommend"])
    >>> print(res.table[["variable", "conclusion"]].to_string(index=False))
        variable    conclusion
    satisfaction    equivalent
       recommend a more likely
    >>> round(float(res.proportions["risk_ratio"].iloc[0]), 2)   # "2.3 times more likely"
    2.34
    """
    level = check_level(level)
    alpha = 1.0 - level
    data, survey_weights = as_frame(data)
    w = resolve_weights(data, weights, survey_weights)
    w = None if equal_weights(w) else w   # self-weighting: the unweighted methods
    if margin_scale not in ("raw", "sd"):
        raise ArgumentError("margin_scale must be 'raw' or 'sd'", values=[margin_scale],
                            expected="'raw' (scale points) or 'sd' (pooled standard deviations)")
    sm_correction = check_correction(correction)
    equivalence = [equivalence] if isinstance(equivalence, str) else list(equivalence)
    if isinstance(proportions, str):
        proportions = {proportions: None}
    elif not isinstance(proportions, Mapping):
        proportions = {p: None for p in proportions}
    if not equivalence and not proportions:
        raise ArgumentError("nothing to compare", expected="equivalence=[...] and/or proportions=[...]")
    if equivalence and margin is None:
        raise ArgumentError("equivalence tests need a margin", values=equivalence,
                            expected="margin=<scale points> (or margin_scale='sd' and SD units), "
                                     "one number or a dict per variable")
    if isinstance(margin, Mapping):
        lacking = [v for v in equivalence if v not in margin]
        if lacking:
            raise ArgumentError("no margin given for some equivalence variables", values=lacking,
                                expected="a margin for every variable in equivalence")
    _require_columns(data, equivalence + list(proportions))
    a, b, in_a, in_b = _split_groups(data, between, a, b)
    families = dict(families or {})
    unknown = [v for v in families if v not in equivalence and v not in proportions]
    if unknown:
        raise ArgumentError("families names variables that are not compared", values=unknown,
                            expected="keys among: " + ", ".join(map(str, equivalence + list(proportions))))
    for var, threshold in proportions.items():
        if threshold is not None and not (isinstance(threshold, int | float | np.number)
                                          and np.isfinite(threshold)):
            raise ArgumentError("a top-box threshold must be a finite number (or None for a 0/1 "
                                "column)", column=var, values=[threshold],
                                expected="e.g. {'recommend': 9}: an event is value >= threshold")

    rows: list[dict] = []
    n_ab = int(in_a.sum() + in_b.sum())
    lost: dict[str, int] = {}
    n_eff: dict[str, tuple[float, float]] = {}
    groups = (in_a, in_b)
    for var in equivalence:
        x = _numeric(data, var).to_numpy()
        lost[var] = int(np.isnan(x[in_a]).sum() + np.isnan(x[in_b]).sum())
        m = float(margin[var] if isinstance(margin, Mapping) else margin)
        if not m > 0:
            raise ArgumentError("an equivalence margin must be positive", column=var, values=[m],
                                expected="a number > 0")
        row = (_equivalence_row(x, groups, var, m, margin_scale, welch, alpha) if w is None else
               _weighted_equivalence_row(x, groups, w, var, m, margin_scale, alpha))
        n_eff[var] = row.pop("_n_eff")
        rows.append({"family": families.get(var, "equivalence"), **row})

    for var, threshold in proportions.items():
        v = _binary(data[var], var, threshold).to_numpy()
        lost[var] = int(np.isnan(v[in_a]).sum() + np.isnan(v[in_b]).sum())
        row = (_proportion_row(v, groups, var, difference_method, level) if w is None else
               _weighted_proportion_row(v, groups, w, var, level))
        n_eff[var] = row.pop("_n_eff")
        rows.append({"family": families.get(var, "proportions"), **row,
                     "threshold": np.nan if threshold is None else float(threshold)})

    lost = {k: v for k, v in lost.items() if v}
    if lost:
        warn("compare: respondents of the two groups without a value are left out per "
             "variable (" + ", ".join(f"{k}: {v} of {n_ab}" for k, v in lost.items())
             + "); n_a and n_b give the numbers used", ExclusionWarning)
    table = pd.DataFrame(rows).reindex(columns=COMPARE_COLUMNS)
    table["segment"] = between
    table["group_a"] = [a] * len(table)
    table["group_b"] = [b] * len(table)
    table["p_adjusted"] = adjust_pvalues(table["pvalue"].to_numpy(), correction=correction,
                                         families=table["family"])
    table["correction"] = sm_correction or "none"
    table["reject"] = table["p_adjusted"] < alpha
    table["conclusion"] = [_conclusion(r) for r in table.itertuples()]
    for col in ("zero_correction",):
        table[col] = table[col].astype("boolean")
    settings = {"between": between, "group_a": a, "group_b": b, "margin": margin,
                "margin_scale": margin_scale, "correction": sm_correction,
                "welch": welch, "difference_method": difference_method, "level": level,
                "weights": None if w is None else weights_label(weights, survey_weights),
                "n_eff": n_eff}
    return CompareResult(table=table, alpha=alpha, settings=settings)



def _present(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    return x[group][~np.isnan(x[group])]


def _equivalence_row(x: np.ndarray, groups: tuple, var: str, m: float, margin_scale: str,
                     welch: bool, alpha: float) -> dict:
    """TOST of one variable, unweighted (Welch or Student t)."""
    xa, xb = _present(x, groups[0]), _present(x, groups[1])
    _check_tost_samples(xa, xb, var)
    va, vb = xa.var(ddof=1), xb.var(ddof=1)
    pooled_sd = np.sqrt(((xa.size - 1) * va + (xb.size - 1) * vb) / (xa.size + xb.size - 2))
    m_raw = m * pooled_sd if margin_scale == "sd" else m
    r = _tost_moments(xa.mean(), xb.mean(), va, vb, xa.size, xb.size, -m_raw, m_raw,
                      welch=welch, alpha=alpha)
    d, g = cohen_d_hedges_g(xa, xb)
    return {
        "variable": var, "analysis": "equivalence",
        "n_a": xa.size, "n_b": xb.size, "value_a": xa.mean(), "value_b": xb.mean(),
        "difference": float(r["difference"]), "ci_lower": float(r["ci_lower"]),
        "ci_upper": float(r["ci_upper"]), "ci_level": 1 - 2 * alpha, "test": "tost",
        "statistic": float(min(r["t_lower"], -r["t_upper"])), "df": float(r["df"]),
        "pvalue": float(r["pvalue"]), "sd_a": np.sqrt(va), "sd_b": np.sqrt(vb),
        "margin_raw": m_raw, "margin_std": m_raw / pooled_sd,
        "pvalue_difference": float(r["pvalue_difference"]), "cohen_d": d, "hedges_g": g,
        "_n_eff": (float(xa.size), float(xb.size)),
    }


def _proportion_row(v: np.ndarray, groups: tuple, var: str, difference_method: str,
                    level: float) -> dict:
    """Risk ratio (Katz), difference (Newcombe or Wald) and pooled z of one 0/1 variable."""
    va_, vb_ = _present(v, groups[0]), _present(v, groups[1])
    if va_.size == 0 or vb_.size == 0:
        raise ArgumentError("a group has no values for a proportion", column=var,
                            values=[va_.size, vb_.size], expected="at least 1 per group")
    ea, eb = va_.sum(), vb_.sum()
    rr = risk_ratio(ea, va_.size, eb, vb_.size, level=level).iloc[0]
    pdiff = proportion_difference(ea, va_.size, eb, vb_.size, method=difference_method,
                                  level=level).iloc[0]
    pa, pb = ea / va_.size, eb / vb_.size
    return {
        "variable": var, "analysis": "proportion",
        "n_a": va_.size, "n_b": vb_.size, "value_a": pa, "value_b": pb,
        "difference": pdiff["difference"], "ci_lower": pdiff["ci_lower"],
        "ci_upper": pdiff["ci_upper"], "ci_level": level, "test": "two_proportion_z",
        "statistic": pdiff["statistic"], "df": np.nan, "pvalue": pdiff["pvalue"],
        "events_a": ea, "events_b": eb, "risk_ratio": rr["risk_ratio"],
        "rr_ci_lower": rr["ci_lower"], "rr_ci_upper": rr["ci_upper"],
        "zero_correction": bool(rr["zero_correction"]), "cohen_h": cohen_h(pa, pb),
        "_n_eff": (float(va_.size), float(vb_.size)),
    }


@dataclass(frozen=True)
class _Domain:
    """A weighted domain mean (``svymean(na.rm = TRUE)`` within a group) and its pieces."""

    n: int             # respondents with a value in the group
    n_eff: float       # Kish's effective n of their weights
    mean: float
    se: float          # linearization SE (the design: every row of the data)
    var: float         # the domain's svyvar (NaN with fewer than 2 respondents)


def _domain(x: np.ndarray, group: np.ndarray, w: np.ndarray) -> _Domain:
    """svyby(~x, ~group, svydesign(ids = ~1, weights = ~w), svymean, na.rm = TRUE) for one
    group: influence ``w (x - mean) / sum w`` inside the domain, 0 outside, and
    ``SE^2 = n / (n - 1) * sum (z - mean(z))^2`` over all ``n`` rows of the data."""
    inside = group & ~np.isnan(x)
    n = x.size
    xi, wi = x[inside], w[inside]
    if xi.size == 0:
        return _Domain(0, 0.0, np.nan, np.nan, np.nan)
    total = wi.sum()
    mean = float(wi @ xi / total)
    z = np.zeros(n)
    z[inside] = wi * (xi - mean) / total
    se = float(np.sqrt(n / (n - 1) * np.sum((z - z.mean()) ** 2)))
    var = float(weighted_cov(xi[:, None], wi)[0, 0]) if xi.size > 1 else np.nan
    return _Domain(int(xi.size), kish_n_eff(wi), mean, se, var)


def _weighted_equivalence_row(x: np.ndarray, groups: tuple, w: np.ndarray, var: str, m: float,
                              margin_scale: str, alpha: float) -> dict:
    """TOST of weighted domain means: z statistics on the linearization SE of a - b."""
    da, db = _domain(x, groups[0], w), _domain(x, groups[1], w)
    _check_tost_samples(_present(x, groups[0]), _present(x, groups[1]), var)
    pooled_sd = float(np.sqrt(((da.n - 1) * da.var + (db.n - 1) * db.var) / (da.n + db.n - 2)))
    m_raw = m * pooled_sd if margin_scale == "sd" else m
    diff = da.mean - db.mean
    se = float(np.hypot(da.se, db.se))
    z_lower, z_upper = (diff + m_raw) / se, (diff - m_raw) / se
    p_lower, p_upper = float(stats.norm.sf(z_lower)), float(stats.norm.cdf(z_upper))
    crit = z_critical(1 - 2 * alpha)   # the one-sided 1 - alpha quantile
    d = diff / pooled_sd
    return {
        "variable": var, "analysis": "equivalence",
        "n_a": da.n, "n_b": db.n, "value_a": da.mean, "value_b": db.mean,
        "difference": diff, "ci_lower": diff - crit * se, "ci_upper": diff + crit * se,
        "ci_level": 1 - 2 * alpha, "test": "tost_linearized",
        "statistic": float(min(z_lower, -z_upper)), "df": np.nan,
        "pvalue": max(p_lower, p_upper), "sd_a": np.sqrt(da.var), "sd_b": np.sqrt(db.var),
        "margin_raw": m_raw, "margin_std": m_raw / pooled_sd,
        "pvalue_difference": float(2 * stats.norm.sf(abs(diff / se))), "cohen_d": d,
        "hedges_g": d * (1.0 - 3.0 / (4.0 * (da.n + db.n) - 9.0)),
        "_n_eff": (da.n_eff, db.n_eff),
    }


def _weighted_proportion_row(v: np.ndarray, groups: tuple, w: np.ndarray, var: str,
                             level: float) -> dict:
    """Weighted domain proportions: Wald interval and z test of a - b on the linearization SE,
    risk ratio with the delta-method SE on the log scale."""
    da, db = _domain(v, groups[0], w), _domain(v, groups[1], w)
    if da.n == 0 or db.n == 0:
        raise ArgumentError("a group has no values for a proportion", column=var,
                            values=[da.n, db.n], expected="at least 1 per group")
    z = z_critical(level)
    pa, pb = da.mean, db.mean
    diff = pa - pb
    se = float(np.hypot(da.se, db.se))
    statistic = diff / se if se > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = pa / pb if pb > 0 else (np.inf if pa > 0 else np.nan)
        se_log = float(np.hypot(da.se / pa, db.se / pb)) if pa > 0 and pb > 0 else np.nan
    return {
        "variable": var, "analysis": "proportion",
        "n_a": da.n, "n_b": db.n, "value_a": pa, "value_b": pb,
        "difference": diff, "ci_lower": diff - z * se, "ci_upper": diff + z * se,
        "ci_level": level, "test": "linearized_z", "statistic": statistic, "df": np.nan,
        "pvalue": float(2 * stats.norm.sf(abs(statistic))),
        "events_a": float(_present(v, groups[0]).sum()),
        "events_b": float(_present(v, groups[1]).sum()), "risk_ratio": rr,
        "rr_ci_lower": rr * np.exp(-z * se_log), "rr_ci_upper": rr * np.exp(z * se_log),
        "zero_correction": False, "cohen_h": cohen_h(pa, pb),
        "_n_eff": (da.n_eff, db.n_eff),
    }


def _conclusion(row) -> str:
    if row.analysis == "equivalence":
        return "equivalent" if row.reject else "not shown equivalent"
    if not row.reject:
        return "no difference shown"
    return "a more likely" if row.difference > 0 else "a less likely"


# --------------------------------------------------------------------------------------------
# value_ratio(): "52% more valuable"
# --------------------------------------------------------------------------------------------

VALUE_RATIO_COLUMNS = [
    "value", "segment", "by", "group", "group_a", "group_b", "n_a", "n_b", "mean_a", "mean_b",
    "ratio", "percent_more", "method", "ci_lower", "ci_upper", "percent_ci_lower",
    "percent_ci_upper", "level", "n_boot", "n_failed",
]
"""Columns of the :func:`value_ratio` table."""


def _ratio_statistic(data, counts):
    y, in_a = data
    wa, wb = counts[:, in_a], counts[:, ~in_a]
    mean_a = wa @ y[in_a] / wa.sum(axis=1)
    mean_b = wb @ y[~in_a] / wb.sum(axis=1)
    return mean_a / mean_b


def _ratio_rows(y_a: np.ndarray, y_b: np.ndarray, *, n_boot: int, seed, level: float,
                progress, label: str, weighted: tuple | None = None) -> list[dict]:
    """The four interval rows of a ratio of means; ``weighted``: ``(w_a, w_b, (se_a, se_b))``,
    the groups' weights and the linearization SEs of their weighted means."""
    from connection.stats._bootstrap import bootstrap

    if weighted is None:
        ma, mb = y_a.mean(), y_b.mean()
        va, vb = y_a.var(ddof=1) / y_a.size, y_b.var(ddof=1) / y_b.size
    else:
        w_a, w_b, (se_a, se_b) = weighted
        ma, mb = w_a @ y_a / w_a.sum(), w_b @ y_b / w_b.sum()
        va, vb = se_a ** 2, se_b ** 2
    ratio = ma / mb
    z = z_critical(level)
    rows = []
    if n_boot:
        y = np.concatenate([y_a, y_b])
        in_a = np.r_[np.ones(y_a.size, bool), np.zeros(y_b.size, bool)]
        res = bootstrap(_ratio_statistic, (y, in_a), n_boot=n_boot, seed=seed, mode="counts",
                        strata=in_a, level=level, progress=progress, label=label,
                        weights=None if weighted is None else np.r_[w_a, w_b])
        ci = res.ci(level).iloc[0]
        rows.append({"method": "bootstrap_percentile", "ci_lower": ci["ci_lower"],
                     "ci_upper": ci["ci_upper"], "n_boot": n_boot, "n_failed": res.n_failed})
        # BCa: the leave-one-out ratios are closed-form, so the jackknife costs O(n)
        if weighted is None:
            loo = np.r_[(y_a.sum() - y_a) / (y_a.size - 1) / mb,
                        ma / ((y_b.sum() - y_b) / (y_b.size - 1))]
        else:
            loo = np.r_[(w_a @ y_a - w_a * y_a) / (w_a.sum() - w_a) / mb,
                        ma / ((w_b @ y_b - w_b * y_b) / (w_b.sum() - w_b))]
        jack = pd.DataFrame(loo[:, None], columns=res.estimate.index)
        bca = replace(res, jackknife=jack).ci(level, method="bca").iloc[0]
        rows.append({"method": "bootstrap_bca", "ci_lower": bca["ci_lower"],
                     "ci_upper": bca["ci_upper"], "n_boot": n_boot, "n_failed": res.n_failed})
    # delta method on log(ratio): var = va / ma^2 + vb / mb^2
    se_log = np.sqrt(va / ma**2 + vb / mb**2)
    rows.append({"method": "delta_log", "ci_lower": ratio * np.exp(-z * se_log),
                 "ci_upper": ratio * np.exp(z * se_log), "n_boot": 0, "n_failed": 0})
    # Fieller: solve (ma - R mb)^2 = z^2 (va + R^2 vb) for R
    qa, qb, qc = mb**2 - z**2 * vb, -2 * ma * mb, ma**2 - z**2 * va
    disc = qb**2 - 4 * qa * qc
    if qa > 0 and disc >= 0:
        root = np.sqrt(disc)
        lo, hi = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
    else:  # the denominator mean is not clearly away from zero: the Fieller set is unbounded
        lo, hi = -np.inf, np.inf
    rows.append({"method": "fieller", "ci_lower": lo, "ci_upper": hi, "n_boot": 0, "n_failed": 0})
    for r in rows:
        r.update({"n_a": y_a.size, "n_b": y_b.size, "mean_a": float(ma), "mean_b": float(mb),
                  "ratio": float(ratio),
                  "percent_more": 100 * (ratio - 1), "level": level,
                  "percent_ci_lower": 100 * (r["ci_lower"] - 1),
                  "percent_ci_upper": 100 * (r["ci_upper"] - 1)})
    return rows


def _legacy_positional(*names: str) -> Callable:
    """Let arguments that became keyword-only (``names``, in their old order) still come by
    position after the positional ones, for one release, with a FutureWarning.

    ``value_ratio(data, "spend", "segment", "a", "b")`` (the old positional form) then means
    ``value_ratio(data, "spend", between="segment", a="a", b="b")``. The wrapped function keeps
    its signature (``inspect.signature`` follows ``__wrapped__``), name and pickling.
    """
    def decorate(function: Callable) -> Callable:
        params = inspect.signature(function).parameters.values()
        n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_pos:
                extra = args[n_pos:]
                if len(extra) > len(names):
                    raise TypeError(f"{function.__qualname__}() takes at most "
                                    f"{n_pos + len(names)} positional arguments")
                given = names[: len(extra)]
                twice = [n for n in given if n in kwargs]
                if twice:
                    raise ArgumentError(f"{function.__qualname__}() got {twice[0]}= twice (by "
                                        "position and by keyword)", expected=f"only {twice[0]}=")
                warn(f"{function.__qualname__}(): pass " + ", ".join(f"{n}=" for n in given)
                     + " by keyword; by position they will stop working in the next release",
                     FutureWarning)
                kwargs.update(zip(given, extra))
                args = args[:n_pos]
            return function(*args, **kwargs)

        return wrapper
    return decorate


@_legacy_positional("between", "a", "b")
@renamed_keywords(segment="between", by="group")
def value_ratio(
    data: pd.DataFrame,
    value: str = "spend",
    *,
    between: str = "segment",
    a: Any = None,
    b: Any = None,
    group: str | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    level: float = DEFAULT_LEVEL,
    progress: bool | None = None,
    weights: Any = UNSET,
) -> pd.DataFrame:
    """Ratio of mean value between two groups, with three intervals.

    ``ratio = mean(value | between == a) / mean(value | between == b)``; ``percent_more =
    100 * (ratio - 1)`` is the "a customers are 52% more valuable than b customers" figure.

    Intervals (one row each, ``method``):

    ``bootstrap_percentile``
        Stratified bootstrap (respondents resampled within each group, so group sizes are
        fixed, as in a design that samples segments), through :func:`connection.bootstrap`
        in ``counts`` mode; seeded by ``seed``. Skipped when ``n_boot=0``.
    ``bootstrap_bca``
        Bias-corrected and accelerated interval from the same replicates (Efron 1987); the
        acceleration comes from the closed-form leave-one-out ratios.
    ``delta_log``
        Delta method on ``log(ratio)``: ``se^2 = s_a^2 / (n_a m_a^2) + s_b^2 / (n_b m_b^2)``.
    ``fieller``
        Fieller's interval for a ratio of independent means (normal quantile); infinite bounds
        when the mean of b is not clearly away from zero.

    Parameters
    ----------
    data
        One row per respondent.
    value
        Numeric value column (spend, tenure, lifetime value); rows with a missing value are left out.
    between, a, b
        The column of the two groups (say the value segments; ``segment=`` is its old name) and
        the two groups (a in the numerator). ``a``/``b`` are optional for True/False columns.
    group
        Optional column (``by=`` is its old name): one ratio per level of it (e.g. retail
        category), plus nothing pooled.
    n_boot, seed, level, progress
        Bootstrap replicates, seed (an integer, a SeedSequence or a Generator; one child per
        ``group`` level), confidence level, progress bar (see ``bootstrap``).
    weights
        Survey weights (as in :func:`compare`; default: a Survey's weights). Under unequal
        weights the means are weighted domain means; ``delta_log`` and ``fieller`` use their
        linearization SEs (``survey::svyby`` + ``svycontrast(quote(a / b))``; the design is
        every row of the data), and the bootstrap carries each respondent's weight (resampling
        within the groups; BCa from the weighted leave-one-out ratios). All weights equal:
        exactly the unweighted table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALUE_RATIO_COLUMNS`: ``segment`` holds the ``between`` column's name,
        ``by`` the ``group`` column's name and ``group`` its level (both empty without ``group``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.outcomes import value_ratio
    >>> rng = np.random.default_rng(11)
    >>> df = pd.DataFrame({"segment": np.repeat(["fully_connected", "highly_satisfied"], 500),
    ...                    "spend": np.r_[rng.gamma(4, 38, 500), rng.gamma(4, 25, 500)]})
    >>> out = value_ratio(df, "spend", between="segment", a="fully_connected",
    ...                   b="highly_satisfied", n_boot=500, seed=1, progress=False)
    >>> print(out[["method", "ratio", "ci_lower", "ci_upper"]].round(3).to_string(index=False))
                  method  ratio  ci_lower  ci_upper
    bootstrap_percentile   1.57     1.483     1.673
           bootstrap_bca   1.57     1.483     1.674
               delta_log   1.57     1.476     1.671
                 fieller   1.57     1.476     1.671
    """
    level = check_level(level)
    check_n_boot(n_boot)
    data, survey_weights = as_frame(data)
    w = resolve_weights(data, weights, survey_weights)
    w = None if equal_weights(w) else w   # self-weighting: the unweighted methods
    _require_columns(data, [value] + ([group] if group else []))
    a, b, in_a, in_b = _split_groups(data, between, a, b)
    y = _numeric(data, value).to_numpy()
    has = ~np.isnan(y)
    in_ab = in_a | in_b
    lost = in_ab & ~has
    if group is not None:
        lost |= in_ab & has & data[group].isna().to_numpy()
    if lost.any():
        warn(f"value_ratio: {int(lost.sum())} of {int(in_ab.sum())} rows of groups {a!r} and "
             f"{b!r} have no {value!r}" + ("" if group is None else f" or no {group!r}")
             + f" and are left out (rows {_rows_text(np.flatnonzero(lost) + 1)})",
             ExclusionWarning)
    levels = [(None, np.ones(len(data), bool))] if group is None else [
        (g, (data[group] == g).to_numpy()) for g in pd.unique(data[group].dropna())]
    seeds = as_seed_sequence(seed).spawn(len(levels))
    rows = []
    for (g, sel), s in zip(levels, seeds):
        where = "" if g is None else f" (in {group}={g!r})"
        ya, yb = y[sel & in_a & has], y[sel & in_b & has]
        if ya.size < 2 or yb.size < 2:
            raise ArgumentError("too few values for a value ratio", column=value,
                                values=[ya.size, yb.size],
                                expected="at least 2 respondents with a value in each group" + where)
        means = ((ya.mean(), yb.mean()) if w is None else
                 (np.average(ya, weights=w[sel & in_a & has]),
                  np.average(yb, weights=w[sel & in_b & has])))
        if not (means[0] > 0 and means[1] > 0):
            raise ArgumentError("a ratio of means needs a positive mean in both groups", column=value,
                                values=[float(means[0]), float(means[1])],
                                expected=f"positive mean {value!r} for {a!r} and {b!r}" + where,
                                hint="Compare a difference of means instead when values can be "
                                     "negative or zero on average")
        weighted = None if w is None else (
            w[sel & in_a & has], w[sel & in_b & has],
            (_domain(y, sel & in_a, w).se, _domain(y, sel & in_b, w).se))
        for r in _ratio_rows(ya, yb, n_boot=n_boot, seed=s, level=level, progress=progress,
                             label=f"value ratio {value}", weighted=weighted):
            r.update({"value": value, "segment": between, "by": group or "",
                      "group": "" if g is None else g, "group_a": a, "group_b": b})
            rows.append(r)
    return pd.DataFrame(rows).reindex(columns=VALUE_RATIO_COLUMNS)
