"""Group comparisons: equivalence, "x times more likely", multiplicity, and value ratios.

Two segments (say connected and non-connected customers) are compared in two ways:

* **Equivalence** (two one-sided tests, TOST) on variables where the claim is that the segments
  score *the same* (satisfaction, features, quality). "Nearly identical scores" is an equivalence
  claim: it needs a stated margin and a test whose null hypothesis is *a difference at least as
  large as the margin*, not a non-significant difference test.
* **Proportions** on yes/no or top-box variables (emotional items, advocacy, loyalty): the risk
  ratio ("x times more likely", Katz log interval) and the difference in proportions (Newcombe
  hybrid score interval by default, or Wald), with the pooled two-proportion z test.

p-values are adjusted within each family (Holm by default, or Benjamini-Hochberg) with
``statsmodels.stats.multitest.multipletests``.

:func:`value_ratio` gives the ratio of mean value (spend, tenure) between two segments, with a
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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
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

_CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni",
                "none": None, None: None}


# --------------------------------------------------------------------------------------------
# building blocks (vectorised over arrays of counts / moments)
# --------------------------------------------------------------------------------------------

def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _check_n_boot(n_boot: Any) -> None:
    """Bootstrap replicates: a whole number, 0 (no bootstrap interval) or more."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise ArgumentError("n_boot must be a whole number, 0 or more", values=[n_boot],
                            expected="an integer >= 0 (0 = no bootstrap interval)")


def _check_level(level: float, name: str = "level") -> None:
    if not (0.0 < float(level) < 1.0):
        raise ArgumentError(f"{name} must lie strictly between 0 and 1", values=[level],
                            expected="e.g. 0.95")


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


def risk_ratio(events_a, n_a, events_b, n_b, *, level: float = 0.95) -> pd.DataFrame:
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
    _check_level(level)
    a, na, c, nb = _counts(events_a, n_a, events_b, n_b)
    zero = (a == 0) | (c == 0) | (a == na) | (c == nb)
    aa, cc = np.where(zero, a + 0.5, a), np.where(zero, c + 0.5, c)
    naa, nbb = np.where(zero, na + 1.0, na), np.where(zero, nb + 1.0, nb)
    rr = (aa / naa) / (cc / nbb)
    se = np.sqrt(1.0 / aa - 1.0 / naa + 1.0 / cc - 1.0 / nbb)
    z = _z(level)
    return pd.DataFrame({
        "events_a": a, "n_a": na, "events_b": c, "n_b": nb,
        "risk_a": a / na, "risk_b": c / nb, "risk_ratio": rr, "log_rr_se": se,
        "ci_lower": rr * np.exp(-z * se), "ci_upper": rr * np.exp(z * se),
        "zero_correction": zero,
    })


def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = x / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def proportion_difference(events_a, n_a, events_b, n_b, *, method: str = "newcombe",
                          level: float = 0.95) -> pd.DataFrame:
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
    _check_level(level)
    if method not in ("newcombe", "wald"):
        raise ArgumentError("unknown interval method for a difference in proportions",
                            values=[method], expected="'newcombe' or 'wald'")
    a, na, c, nb = _counts(events_a, n_a, events_b, n_b)
    pa, pb = a / na, c / nb
    d = pa - pb
    z = _z(level)
    if method == "wald":
        half = z * np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        lo, hi = d - half, d + half
    else:
        la, ua = _wilson(a, na, z)
        lb, ub = _wilson(c, nb, z)
        lo = d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
        hi = d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    pooled = (a + c) / (na + nb)
    se0 = np.sqrt(pooled * (1 - pooled) * (1.0 / na + 1.0 / nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zstat = np.where(se0 > 0, d / se0, 0.0)
    return pd.DataFrame({
        "risk_a": pa, "risk_b": pb, "difference": d, "ci_lower": lo, "ci_upper": hi,
        "method": method, "statistic": zstat, "pvalue": 2 * stats.norm.sf(np.abs(zstat)),
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


def adjust_pvalues(pvalues, method: str | None = "holm", families=None) -> np.ndarray:
    """Adjust p-values for multiplicity within each family.

    Parameters
    ----------
    pvalues
        Array of p-values (NaN entries are left NaN and not counted).
    method
        ``"holm"`` (default), ``"fdr_bh"`` / ``"bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or
        ``None`` (no adjustment).
    families
        Labels, one per p-value; each family is adjusted separately. ``None``: one family.

    Examples
    --------
    >>> from connection.outcomes import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.20], "holm").round(3).tolist()
    [0.04, 0.09, 0.09, 0.2]
    """
    if method not in _CORRECTIONS:
        raise ArgumentError("unknown multiplicity correction", values=[method],
                            expected="'holm', 'fdr_bh' ('bh'), 'bonferroni' or None")
    p = np.atleast_1d(np.asarray(pvalues, dtype=float))
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ArgumentError("p-values must lie between 0 and 1", rows=(np.flatnonzero(bad) + 1).tolist(),
                            values=p[bad].tolist(), expected="0 <= p <= 1 (NaN for untested)")
    if families is not None and len(families) != p.size:
        raise ArgumentError("families needs one label per p-value", values=[len(families), p.size],
                            expected=f"{p.size} family labels")
    out = p.copy()
    sm_method = _CORRECTIONS[method]
    if sm_method is None:
        return out
    from statsmodels.stats.multitest import multipletests

    fam = np.zeros(p.size, dtype=int) if families is None else pd.factorize(np.asarray(families))[0]
    for f in np.unique(fam):
        sel = (fam == f) & ~np.isnan(p)
        if sel.any():
            out[sel] = multipletests(p[sel], method=sm_method)[1]
    return out


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


@dataclass(frozen=True)
class CompareResult:
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

    def summary(self) -> str:
        s = self.settings
        lines = [f"Comparison of {s['segment']}: {s['group_a']!r} (a) vs {s['group_b']!r} (b); "
                 f"alpha {self.alpha:g}; multiplicity: {s['correction'] or 'none'} within each family"]
        if (self.table["analysis"] == "equivalence").any():
            lines.append(f"\nEquivalence (TOST, {'Welch' if s['welch'] else 'Student'} t; margins in "
                         f"raw scale points, margin_std = margin / pooled SD; interval at "
                         f"{1 - 2 * self.alpha:.0%}):")
            eq = self.equivalence[["variable", "value_a", "value_b", "difference", "ci_lower",
                                   "ci_upper", "margin_raw", "margin_std", "p_adjusted",
                                   "conclusion", "hedges_g"]]
            lines.append(eq.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        if (self.table["analysis"] == "proportion").any():
            lines.append(f"\nProportions (risk ratio with Katz log interval; difference with "
                         f"{s['difference_method']} interval; pooled z test; level {s['level']:.0%}):")
            pr = self.proportions[["variable", "value_a", "value_b", "risk_ratio", "rr_ci_lower",
                                   "rr_ci_upper", "difference", "ci_lower", "ci_upper",
                                   "p_adjusted", "conclusion"]]
            lines.append(pr.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        fmt = lambda v: f"{v:.3g}"  # noqa: E731
        s = self.settings
        html = [f"<p><b>Comparison</b> of {s['segment']}: {s['group_a']!r} vs {s['group_b']!r}, "
                f"alpha {self.alpha:g}, {s['correction'] or 'no'} correction per family</p>"]
        if (self.table["analysis"] == "equivalence").any():
            html.append("<p>Equivalence (TOST)</p>" + self.equivalence.to_html(index=False, float_format=fmt))
        if (self.table["analysis"] == "proportion").any():
            html.append("<p>Proportions</p>" + self.proportions.to_html(index=False, float_format=fmt))
        return "\n".join(html)


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


def _split_segment(data: pd.DataFrame, segment: str, a: Any, b: Any):
    _require_columns(data, [segment])
    seg = data[segment]
    missing = seg.isna()
    if missing.any():
        warnings.warn(f"{int(missing.sum())} rows have no value in {segment!r} and are left out "
                      f"of the comparison", ExclusionWarning, stacklevel=3)
    values = pd.unique(seg[~missing])
    if a is None and b is None:
        as_set = set(values.tolist())
        if as_set <= {True, False} and len(as_set) == 2:
            a, b = True, False
        else:
            raise ArgumentError(
                f"say which two groups of {segment!r} to compare", column=segment,
                values=list(values), expected="a= and b= (needed unless the column is True/False)")
    if a == b:
        raise ArgumentError("a and b name the same group", column=segment, values=[a, b],
                            expected="two different groups of the segment column")
    for label, name in ((a, "a"), (b, "b")):
        if not (seg == label).any():
            raise ArgumentError(f"group {name}={label!r} does not occur in {segment!r}",
                                column=segment, values=list(values), expected="a value present in the column")
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


def compare(
    data: pd.DataFrame,
    segment: str,
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
    level: float = 0.95,
) -> CompareResult:
    """Compare two segments: equivalence on scores, risk ratios on proportions, per-family correction.

    Parameters
    ----------
    data
        One row per respondent.
    segment
        Column holding the segment labels.
    a, b
        The two groups compared (a vs b: differences are a - b, risk ratios a / b). Optional when
        ``segment`` is True/False (then a = True, b = False). Rows in other groups are ignored.
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
        ``"holm"`` (default), ``"fdr_bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or ``None``.
    welch
        Welch (default) or Student t in the TOST.
    difference_method
        ``"newcombe"`` (default) or ``"wald"`` interval for the difference in proportions.
    level
        Confidence level of the proportion intervals; tests use ``alpha = 1 - level``, and the
        TOST interval is at ``1 - 2 * alpha`` (90% for level 0.95), the interval that matches it.

    Returns
    -------
    CompareResult
        ``.table`` has one row per variable, columns :data:`COMPARE_COLUMNS`:

        family, variable, segment, group_a, group_b
            Identification; ``analysis`` is ``"equivalence"`` or ``"proportion"``.
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
            Welch/Student difference test, Cohen's d and Hedges' g (pingouin ``compute_effsize``).
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
    _check_level(level)
    alpha = 1.0 - level
    if margin_scale not in ("raw", "sd"):
        raise ArgumentError("margin_scale must be 'raw' or 'sd'", values=[margin_scale],
                            expected="'raw' (scale points) or 'sd' (pooled standard deviations)")
    if correction not in _CORRECTIONS:
        raise ArgumentError("unknown multiplicity correction", values=[correction],
                            expected="'holm', 'fdr_bh' ('bh'), 'bonferroni' or None")
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
    a, b, in_a, in_b = _split_segment(data, segment, a, b)
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
    for var in equivalence:
        x = _numeric(data, var).to_numpy()
        xa, xb = x[in_a], x[in_b]
        lost[var] = int(np.isnan(xa).sum() + np.isnan(xb).sum())
        xa, xb = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
        _check_tost_samples(xa, xb, var)
        va, vb = xa.var(ddof=1), xb.var(ddof=1)
        pooled_sd = np.sqrt(((xa.size - 1) * va + (xb.size - 1) * vb) / (xa.size + xb.size - 2))
        m = float(margin[var] if isinstance(margin, Mapping) else margin)
        if not m > 0:
            raise ArgumentError("an equivalence margin must be positive", column=var, values=[m],
                                expected="a number > 0")
        m_raw = m * pooled_sd if margin_scale == "sd" else m
        r = _tost_moments(xa.mean(), xb.mean(), va, vb, xa.size, xb.size, -m_raw, m_raw,
                          welch=welch, alpha=alpha)
        d, g = _effect_sizes(xa, xb)
        rows.append({
            "family": families.get(var, "equivalence"), "variable": var, "analysis": "equivalence",
            "n_a": xa.size, "n_b": xb.size, "value_a": xa.mean(), "value_b": xb.mean(),
            "difference": float(r["difference"]), "ci_lower": float(r["ci_lower"]),
            "ci_upper": float(r["ci_upper"]), "ci_level": 1 - 2 * alpha, "test": "tost",
            "statistic": float(min(r["t_lower"], -r["t_upper"])), "df": float(r["df"]),
            "pvalue": float(r["pvalue"]), "sd_a": np.sqrt(va), "sd_b": np.sqrt(vb),
            "margin_raw": m_raw, "margin_std": m_raw / pooled_sd,
            "pvalue_difference": float(r["pvalue_difference"]), "cohen_d": d, "hedges_g": g,
        })

    for var, threshold in proportions.items():
        v = _binary(data[var], var, threshold).to_numpy()
        va_, vb_ = v[in_a], v[in_b]
        lost[var] = int(np.isnan(va_).sum() + np.isnan(vb_).sum())
        va_, vb_ = va_[~np.isnan(va_)], vb_[~np.isnan(vb_)]
        if va_.size == 0 or vb_.size == 0:
            raise ArgumentError("a group has no values for a proportion", column=var,
                                values=[va_.size, vb_.size], expected="at least 1 per group")
        ea, eb = va_.sum(), vb_.sum()
        rr = risk_ratio(ea, va_.size, eb, vb_.size, level=level).iloc[0]
        pdiff = proportion_difference(ea, va_.size, eb, vb_.size, method=difference_method,
                                      level=level).iloc[0]
        pa, pb = ea / va_.size, eb / vb_.size
        rows.append({
            "family": families.get(var, "proportions"), "variable": var, "analysis": "proportion",
            "n_a": va_.size, "n_b": vb_.size, "value_a": pa, "value_b": pb,
            "difference": pdiff["difference"], "ci_lower": pdiff["ci_lower"],
            "ci_upper": pdiff["ci_upper"], "ci_level": level, "test": "two_proportion_z",
            "statistic": pdiff["statistic"], "df": np.nan, "pvalue": pdiff["pvalue"],
            "events_a": ea, "events_b": eb, "risk_ratio": rr["risk_ratio"],
            "rr_ci_lower": rr["ci_lower"], "rr_ci_upper": rr["ci_upper"],
            "zero_correction": bool(rr["zero_correction"]),
            "threshold": np.nan if threshold is None else float(threshold),
            "cohen_h": 2 * np.arcsin(np.sqrt(pa)) - 2 * np.arcsin(np.sqrt(pb)),
        })

    lost = {k: v for k, v in lost.items() if v}
    if lost:
        warnings.warn("compare: respondents of the two groups without a value are left out per "
                      "variable (" + ", ".join(f"{k}: {v} of {n_ab}" for k, v in lost.items())
                      + "); n_a and n_b give the numbers used", ExclusionWarning, stacklevel=2)
    table = pd.DataFrame(rows).reindex(columns=COMPARE_COLUMNS)
    table["segment"] = segment
    table["group_a"] = [a] * len(table)
    table["group_b"] = [b] * len(table)
    table["p_adjusted"] = adjust_pvalues(table["pvalue"].to_numpy(), correction, table["family"])
    table["correction"] = _CORRECTIONS[correction] or "none"
    table["reject"] = table["p_adjusted"] < alpha
    table["conclusion"] = [_conclusion(r) for r in table.itertuples()]
    for col in ("zero_correction",):
        table[col] = table[col].astype("boolean")
    settings = {"segment": segment, "group_a": a, "group_b": b, "margin": margin,
                "margin_scale": margin_scale, "correction": _CORRECTIONS[correction],
                "welch": welch, "difference_method": difference_method, "level": level}
    return CompareResult(table=table, alpha=alpha, settings=settings)


def _conclusion(row) -> str:
    if row.analysis == "equivalence":
        return "equivalent" if row.reject else "not shown equivalent"
    if not row.reject:
        return "no difference shown"
    return "a more likely" if row.difference > 0 else "a less likely"


def _effect_sizes(xa: np.ndarray, xb: np.ndarray) -> tuple[float, float]:
    from pingouin import compute_effsize

    return (float(compute_effsize(xa, xb, eftype="cohen")),
            float(compute_effsize(xa, xb, eftype="hedges")))


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
                progress, label: str) -> list[dict]:
    from connection.stats._bootstrap import bootstrap

    ma, mb = y_a.mean(), y_b.mean()
    ratio = ma / mb
    va, vb = y_a.var(ddof=1) / y_a.size, y_b.var(ddof=1) / y_b.size
    z = _z(level)
    rows = []
    if n_boot:
        y = np.concatenate([y_a, y_b])
        in_a = np.r_[np.ones(y_a.size, bool), np.zeros(y_b.size, bool)]
        res = bootstrap(_ratio_statistic, (y, in_a), n_boot=n_boot, seed=seed, mode="counts",
                        strata=in_a, level=level, progress=progress, label=label)
        ci = res.ci(level).iloc[0]
        rows.append({"method": "bootstrap_percentile", "ci_lower": ci["ci_lower"],
                     "ci_upper": ci["ci_upper"], "n_boot": n_boot, "n_failed": res.n_failed})
        # BCa: the leave-one-out ratios are closed-form, so the jackknife costs O(n)
        loo = np.r_[(y_a.sum() - y_a) / (y_a.size - 1) / mb, ma / ((y_b.sum() - y_b) / (y_b.size - 1))]
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
        r.update({"n_a": y_a.size, "n_b": y_b.size, "mean_a": ma, "mean_b": mb, "ratio": ratio,
                  "percent_more": 100 * (ratio - 1), "level": level,
                  "percent_ci_lower": 100 * (r["ci_lower"] - 1),
                  "percent_ci_upper": 100 * (r["ci_upper"] - 1)})
    return rows


def value_ratio(
    data: pd.DataFrame,
    value: str = "spend",
    segment: str = "segment",
    a: Any = None,
    b: Any = None,
    *,
    by: str | None = None,
    n_boot: int = 2000,
    seed: int | np.random.SeedSequence | None = None,
    level: float = 0.95,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Ratio of mean value between two segments, with three intervals.

    ``ratio = mean(value | segment == a) / mean(value | segment == b)``; ``percent_more =
    100 * (ratio - 1)`` is the "a customers are 52% more valuable than b customers" figure.

    Intervals (one row each, ``method``):

    ``bootstrap_percentile``
        Stratified bootstrap (respondents resampled within each segment, so segment sizes are
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
    segment, a, b
        Segment column and the two groups (a in the numerator). Optional for True/False columns.
    by
        Optional column: one ratio per level of it (e.g. retail category), plus nothing pooled.
    n_boot, seed, level, progress
        Bootstrap replicates, seed, confidence level, progress bar (see ``bootstrap``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VALUE_RATIO_COLUMNS` (``by`` and ``group`` are empty without ``by``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.outcomes import value_ratio
    >>> rng = np.random.default_rng(11)
    >>> df = pd.DataFrame({"segment": np.repeat(["fully_connected", "highly_satisfied"], 500),
    ...                    "spend": np.r_[rng.gamma(4, 38, 500), rng.gamma(4, 25, 500)]})
    >>> out = value_ratio(df, "spend", "segment", "fully_connected", "highly_satisfied",
    ...                   n_boot=500, seed=1, progress=False)
    >>> print(out[["method", "ratio", "ci_lower", "ci_upper"]].round(3).to_string(index=False))
                  method  ratio  ci_lower  ci_upper
    bootstrap_percentile   1.57     1.483     1.673
           bootstrap_bca   1.57     1.483     1.674
               delta_log   1.57     1.476     1.671
                 fieller   1.57     1.476     1.671
    """
    _check_level(level)
    _check_n_boot(n_boot)
    _require_columns(data, [value] + ([by] if by else []))
    a, b, in_a, in_b = _split_segment(data, segment, a, b)
    y = _numeric(data, value).to_numpy()
    has = ~np.isnan(y)
    in_ab = in_a | in_b
    lost = in_ab & ~has
    if by is not None:
        lost |= in_ab & has & data[by].isna().to_numpy()
    if lost.any():
        warnings.warn(f"value_ratio: {int(lost.sum())} of {int(in_ab.sum())} rows of groups {a!r} and "
                      f"{b!r} have no {value!r}" + ("" if by is None else f" or no {by!r}")
                      + f" and are left out (rows {_rows_text(np.flatnonzero(lost) + 1)})",
                      ExclusionWarning, stacklevel=2)
    groups = [(None, np.ones(len(data), bool))] if by is None else [
        (g, (data[by] == g).to_numpy()) for g in pd.unique(data[by].dropna())]
    seeds = np.random.SeedSequence(seed).spawn(len(groups)) if not isinstance(
        seed, np.random.SeedSequence) else seed.spawn(len(groups))
    rows = []
    for (g, sel), s in zip(groups, seeds):
        ya, yb = y[sel & in_a & has], y[sel & in_b & has]
        if ya.size < 2 or yb.size < 2:
            raise ArgumentError("too few values for a value ratio", column=value,
                                values=[ya.size, yb.size],
                                expected="at least 2 respondents with a value in each group"
                                         + ("" if g is None else f" (in {by}={g!r})"))
        if not (ya.mean() > 0 and yb.mean() > 0):
            raise ArgumentError("a ratio of means needs a positive mean in both groups", column=value,
                                values=[float(ya.mean()), float(yb.mean())],
                                expected=f"positive mean {value!r} for {a!r} and {b!r}"
                                         + ("" if g is None else f" (in {by}={g!r})"),
                                hint="Compare a difference of means instead when values can be "
                                     "negative or zero on average")
        for r in _ratio_rows(ya, yb, n_boot=n_boot, seed=s, level=level, progress=progress,
                             label=f"value ratio {value}"):
            r.update({"value": value, "segment": segment, "by": by or "", "group": "" if g is None else g,
                      "group_a": a, "group_b": b})
            rows.append(r)
    return pd.DataFrame(rows).reindex(columns=VALUE_RATIO_COLUMNS)


