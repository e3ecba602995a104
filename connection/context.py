"""Published survey figures and their uncertainty: proportions, gaps and rank orders.

The context studies (``studies/why_like.py``, ``studies/perception_gap.py``) put the connection
finding next to published survey results: why people follow or "like" brands on social networking
sites (Nielsen 2011) and how marketers misjudge what consumers want (CMO Council & Lithium 2011,
IBM 2011, Pivot 2012).
Published percentages come without intervals. This module gives them honest ones:

* :func:`proportion_ci` -- Wilson score or exact (Clopper-Pearson) interval of one proportion;
* :func:`diff_proportions` -- difference of two proportions from *independent* samples (consumers
  vs marketers) with the Newcombe hybrid-score and the Wald interval and a pooled z-test;
  computed by the package's one implementation of these intervals (``connection.stats.
  _proportions``, which :func:`connection.outcomes.proportion_difference` uses too);
* :func:`diff_shares` -- difference of two shares of *one* single-choice question in the *same*
  sample (e.g. "discounts" vs "support" as the primary reason), which are negatively correlated;
* :func:`ci_curve` and :func:`min_n_significant` -- the interval as a function of ``n`` when the
  sample size was never published (it must not be invented);
* :func:`rank_agreement` -- Kendall's tau between two rank orders of the same items;
* :func:`load_published_figures` -- the package's data file of published figures, validated.

A published percentage is rounded, so the implied count ``proportion * n`` is usually not an
integer; it is used as is (the Wilson interval depends on the proportion only, and the exact
interval is the beta-quantile form, which is continuous in the count).

Examples
--------
>>> from connection.context import proportion_ci, diff_proportions
>>> ci = proportion_ci(0.45, 100)
>>> print(ci[["ci_lower", "ci_upper"]].round(4).to_string(index=False))
 ci_lower  ci_upper
   0.3561    0.5476
>>> gap = diff_proportions(0.33, 1056, 0.64, 331)     # IBM 2011: "feel connected"
>>> print(gap[["difference", "ci_lower", "ci_upper"]].round(3).to_string(index=False))
 difference  ci_lower  ci_upper
      -0.31    -0.367     -0.25
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from connection._common import (
    DEFAULT_LEVEL,
    check_choice,
    check_level,
    renamed_keywords,
    z_critical,
)
from connection.errors import (
    DataError,
    DuplicateIdError,
    EmptyFileError,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
    UndecodableFileError,
)
from connection.stats._effect_sizes import cohen_h
from connection.stats._multiplicity import adjust_pvalues
from connection.stats._proportions import (
    newcombe_difference,
    pooled_z_test,
    wald_difference,
    wilson_interval,
)

__all__ = [
    "FIGURE_COLUMNS",
    "STATUSES",
    "SIDES",
    "load_published_figures",
    "published_figures_path",
    "proportion_ci",
    "diff_proportions",
    "diff_shares",
    "min_n_significant",
    "ci_curve",
    "rank_agreement",
]

#: Columns of the published-figures file, in order.
FIGURE_COLUMNS = (
    "id", "study", "source", "year", "region", "population", "side", "question", "item",
    "value", "unit", "n", "n_basis", "status", "note",
)
#: P = read in the publisher's own text; S = read in a secondary write-up; U = unconfirmed.
STATUSES = ("P", "S", "U")
SIDES = ("consumers", "marketers")
_UNITS = ("percent",)
_CI_METHODS = {"wilson": "wilson", "exact": "beta", "wald": "normal"}


# --------------------------------------------------------------------------- input checks
def _proportions(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        raise OutOfRangeError(f"{name} must be a proportion", column=name,
                              values=arr[bad].ravel().tolist(),
                              expected="a number from 0 to 1 (divide percentages by 100)")
    return arr


def _sizes(values, name: str) -> np.ndarray:
    arr = np.asarray(pd.Series(np.ravel(values)).astype("Float64").fillna(np.nan), dtype=float)
    arr = arr.reshape(np.shape(values))
    if np.isnan(arr).any():
        raise OutOfRangeError(f"{name}: a sample size is unknown", column=name,
                              rows=(np.flatnonzero(np.isnan(arr.ravel())) + 1).tolist(),
                              expected="a published sample size (never a guess)",
                              hint="Show the interval as a function of n instead "
                                   "(connection.context.ci_curve)")
    bad = ~np.isfinite(arr) | (arr < 1.0)
    if bad.any():
        raise OutOfRangeError(f"{name} must be a sample size", column=name,
                              values=arr[bad].ravel().tolist(),
                              expected="a known positive number of respondents (never a guess)")
    return arr


# --------------------------------------------------------------------------- one proportion
def proportion_ci(proportion, n, *, level: float = DEFAULT_LEVEL,
                  method: str = "wilson") -> pd.DataFrame:
    """Confidence interval of a proportion from a published share and a known sample size.

    Parameters
    ----------
    proportion : float or array-like
        Observed share(s), from 0 to 1.
    n : float or array-like
        Sample size(s), broadcast against ``proportion``. Must be known: when it is not, use
        :func:`ci_curve` to show the interval as a function of ``n``.
    level : float
        Confidence level.
    method : {"wilson", "exact", "wald"}
        Wilson score interval (default; the package's one implementation,
        ``connection.stats._proportions``), exact Clopper-Pearson interval, or the Wald interval
        (for comparison only); the last two by ``statsmodels.stats.proportion.proportion_confint``.

    Returns
    -------
    pandas.DataFrame
        One row per (proportion, n): ``proportion n implied_count method level ci_lower ci_upper``.
        ``implied_count`` is ``proportion * n`` (not rounded).

    Examples
    --------
    Matches R ``prop.test(45, 100, correct = FALSE)$conf.int`` (Wilson) and
    ``binom.test(45, 100)$conf.int`` (exact):

    >>> from connection.context import proportion_ci
    >>> w = proportion_ci(0.45, 100)
    >>> e = proportion_ci(0.45, 100, method="exact")
    >>> print(f"{w.ci_lower[0]:.4f} {w.ci_upper[0]:.4f}")
    0.3561 0.5476
    >>> print(f"{e.ci_lower[0]:.4f} {e.ci_upper[0]:.4f}")
    0.3503 0.5527
    """
    from statsmodels.stats.proportion import proportion_confint

    if method not in _CI_METHODS:
        raise OutOfRangeError("unknown interval method", values=[method],
                              expected=" or ".join(repr(m) for m in _CI_METHODS))
    level = check_level(level)
    p, size = np.broadcast_arrays(_proportions(proportion, "proportion"), _sizes(n, "n"))
    p = np.atleast_1d(p).astype(float).ravel()
    size = np.atleast_1d(size).astype(float).ravel()
    count = p * size
    if method == "wilson":
        lower, upper = wilson_interval(count, size, z_critical(level))
    else:
        lower, upper = proportion_confint(count, size, alpha=1.0 - level,
                                          method=_CI_METHODS[method])
    lower = np.clip(np.asarray(lower, dtype=float), 0.0, 1.0)
    upper = np.clip(np.asarray(upper, dtype=float), 0.0, 1.0)
    return pd.DataFrame({
        "proportion": p, "n": size, "implied_count": count, "method": method, "level": level,
        "ci_lower": lower, "ci_upper": upper,
    })


# --------------------------------------------------------------------------- independent samples
@renamed_keywords(adjust="correction")
def diff_proportions(proportion_1, n_1, proportion_2, n_2, *, level: float = DEFAULT_LEVEL,
                     labels: Sequence[str] | None = None,
                     correction: str | None = None) -> pd.DataFrame:
    """Difference of two proportions from independent samples (e.g. consumers vs marketers).

    ``difference = proportion_1 - proportion_2``. The main interval is Newcombe's hybrid score
    interval (Newcombe 1998, method 10: Wilson limits of each proportion combined), which keeps
    its coverage near the nominal level for small samples and shares near 0 or 1; the Wald
    interval is reported next to it. The test is the pooled two-proportion z-test (equal to
    ``prop.test(correct = FALSE)`` in R).

    Parameters
    ----------
    proportion_1, n_1, proportion_2, n_2 : float or array-like
        Shares (0-1) and known sample sizes of the two groups; arrays give one row per pair.
    level : float
        Confidence level.
    labels : sequence of str, optional
        A label per pair (column ``label``).
    correction : {None, "holm"}
        (``adjust=`` is the old name.) With ``"holm"`` the pairs are treated as one family of tests (e.g. the items of one
        list): ``pvalue_holm`` holds Holm's step-down adjusted p-values (familywise error
        controlled at ``1 - level`` by ``pvalue_holm <= 1 - level``), and
        ``ci_lower_bonferroni`` / ``ci_upper_bonferroni`` hold simultaneous Newcombe intervals,
        each at level ``1 - (1 - level) / k`` for ``k`` pairs. Holm's procedure has no
        compatible intervals in general; the Bonferroni intervals (its first step) are
        conservative and never narrower than the per-pair ones.

    Returns
    -------
    pandas.DataFrame
        ``label proportion_1 n_1 proportion_2 n_2 difference ci_lower ci_upper ci_method
        wald_se wald_ci_lower wald_ci_upper z pvalue cohens_h level`` (plus ``pvalue_holm
        ci_lower_bonferroni ci_upper_bonferroni`` with ``correction="holm"``).

    Examples
    --------
    >>> from connection.context import diff_proportions
    >>> d = diff_proportions(0.67, 1300, 0.27, 132)
    >>> print(d[["difference", "ci_lower", "ci_upper", "z"]].round(3).to_string(index=False))
     difference  ci_lower  ci_upper     z
            0.4     0.314     0.473 9.085

    A family of items (Holm-adjusted p-values, Bonferroni simultaneous intervals):

    >>> f = diff_proportions([0.61, 0.33], 1056, [0.60, 0.64], [331, 331], correction="holm")
    >>> print(f[["pvalue", "pvalue_holm", "ci_lower_bonferroni"]].round(4).to_string(index=False))
     pvalue  pvalue_holm  ci_lower_bonferroni
     0.7451       0.7451              -0.0576
     0.0000       0.0000              -0.3748
    """
    level = check_level(level)
    check_choice(correction, "correction", (None, "holm"))
    arrays = np.broadcast_arrays(
        _proportions(proportion_1, "proportion_1"), _sizes(n_1, "n_1"),
        _proportions(proportion_2, "proportion_2"), _sizes(n_2, "n_2"),
    )
    p1, m1, p2, m2 = (np.atleast_1d(a).astype(float).ravel() for a in arrays)
    k = p1.size
    if labels is None:
        labels = [f"pair_{i + 1}" for i in range(k)]
    labels = list(labels)
    if len(labels) != k:
        raise DataError("one label per pair is needed", values=[len(labels)],
                        expected=f"{k} labels")
    c1, c2 = p1 * m1, p2 * m2   # implied counts (a published share is rounded: not whole)
    z = z_critical(level)
    _, lo, hi = newcombe_difference(c1, m1, c2, m2, z)
    _, _, wlo, whi = wald_difference(c1, m1, c2, m2, z)
    zstat, pvalue = pooled_z_test(c1, m1, c2, m2)
    out = pd.DataFrame({
        "label": labels, "proportion_1": p1, "n_1": m1, "proportion_2": p2, "n_2": m2,
        "difference": p1 - p2, "ci_lower": lo, "ci_upper": hi, "ci_method": "newcombe",
        "wald_se": np.sqrt(p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2),
        "wald_ci_lower": wlo, "wald_ci_upper": whi, "z": zstat, "pvalue": pvalue,
        "cohens_h": cohen_h(p1, p2), "level": level,
    })
    if correction == "holm":
        out["pvalue_holm"] = adjust_pvalues(out["pvalue"].to_numpy(), correction="holm")
        _, lo_b, hi_b = newcombe_difference(c1, m1, c2, m2, z_critical(1.0 - (1.0 - level) / k))
        out["ci_lower_bonferroni"] = lo_b
        out["ci_upper_bonferroni"] = hi_b
    return out


# --------------------------------------------------------------------------- one sample, two shares
def diff_shares(proportion_1, proportion_2, n, *, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Difference of two shares of one single-choice question answered by the same sample.

    When each respondent gives one answer (a *primary* reason), the shares of two answers are
    multinomial and negatively correlated: ``Var(p1 - p2) = (p1 + p2 - (p1 - p2)**2) / n``.
    Treating them as independent samples would be wrong. The interval is the Wald interval with
    that variance; the test uses the variance under ``p1 == p2``, ``(p1 + p2) / n`` (the
    normal form of the conditional binomial test among respondents who gave either answer,
    like McNemar's test).

    Parameters
    ----------
    proportion_1, proportion_2 : float
        The two shares (0-1); their sum must not exceed 1.
    n : float or array-like
        Sample size(s); an array gives the interval as a function of ``n``.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per ``n``: ``proportion_1 proportion_2 n difference se ci_lower ci_upper z
        pvalue level``.

    Examples
    --------
    >>> from connection.context import diff_shares
    >>> d = diff_shares(0.45, 0.33, [100, 1000])
    >>> print(d[["n", "ci_lower", "ci_upper", "pvalue"]].round(4).to_string(index=False))
         n  ci_lower  ci_upper  pvalue
     100.0   -0.0515    0.2915  0.1742
    1000.0    0.0658    0.1742  0.0000
    """
    from scipy.stats import norm

    level = check_level(level)
    p1 = float(_proportions(proportion_1, "proportion_1"))
    p2 = float(_proportions(proportion_2, "proportion_2"))
    if p1 + p2 > 1.0 + 1e-9:
        raise OutOfRangeError("two shares of one single-choice question cannot sum to more "
                              "than 1", values=[p1, p2],
                              expected="shares of mutually exclusive answers")
    size = np.atleast_1d(_sizes(n, "n")).astype(float).ravel()
    d = p1 - p2
    se = np.sqrt(np.maximum(p1 + p2 - d * d, 0.0) / size)
    se0 = np.sqrt((p1 + p2) / size)
    z = np.divide(d, se0, out=np.zeros_like(size), where=se0 > 0)
    crit = z_critical(level)
    return pd.DataFrame({
        "proportion_1": p1, "proportion_2": p2, "n": size, "difference": d, "se": se,
        "ci_lower": d - crit * se, "ci_upper": d + crit * se,
        "z": z, "pvalue": 2.0 * norm.sf(np.abs(z)), "level": level,
    })


def min_n_significant(proportion_1: float, proportion_2: float, *, level: float = DEFAULT_LEVEL,
                      design: str = "single_choice") -> int:
    """Smallest sample size at which two published shares would differ significantly.

    It needs no sample size, so it can be reported when the survey's ``n`` is unknown.

    Parameters
    ----------
    proportion_1, proportion_2 : float
        The two shares (0-1).
    level : float
        Confidence level; the test is two-sided at ``1 - level``.
    design : {"single_choice", "independent"}
        ``"single_choice"``: two answers of one single-choice question in one sample of ``n``
        (the test of :func:`diff_shares`): ``n = ceil(z**2 (p1 + p2) / (p1 - p2)**2)``.
        ``"independent"``: two independent samples of ``n`` each (the pooled z-test of
        :func:`diff_proportions`): ``n = ceil(2 z**2 pbar (1 - pbar) / (p1 - p2)**2)`` with
        ``pbar = (p1 + p2) / 2``; ``n`` is the size of *each* sample.

    Examples
    --------
    >>> from connection.context import min_n_significant
    >>> min_n_significant(0.45, 0.33)
    209
    >>> min_n_significant(0.70, 0.45, design="independent")    # per side
    31
    """
    level = check_level(level)
    p1 = float(_proportions(proportion_1, "proportion_1"))
    p2 = float(_proportions(proportion_2, "proportion_2"))
    if p1 == p2:
        raise OutOfRangeError("equal shares never differ significantly", values=[p1, p2],
                              expected="two different shares")
    crit = z_critical(level)
    if design == "single_choice":
        n = crit * crit * (p1 + p2) / (p1 - p2) ** 2
    elif design == "independent":
        pbar = (p1 + p2) / 2.0
        n = 2.0 * crit * crit * pbar * (1.0 - pbar) / (p1 - p2) ** 2
    else:
        raise OutOfRangeError("unknown design", values=[design],
                              expected="'single_choice' or 'independent'")
    return max(int(math.ceil(n - 1e-9)), 1)


def ci_curve(proportions: Mapping[str, float], n_values, *, level: float = DEFAULT_LEVEL,
             method: str = "wilson") -> pd.DataFrame:
    """The interval of each share as a function of the (unknown) sample size.

    Parameters
    ----------
    proportions : mapping of label -> share (0-1)
    n_values : array-like
        Candidate sample sizes (a grid), not estimates of the real one.
    level, method
        As in :func:`proportion_ci`.

    Returns
    -------
    pandas.DataFrame
        Long format: ``label proportion n ci_lower ci_upper half_width method level``.

    Examples
    --------
    >>> from connection.context import ci_curve
    >>> c = ci_curve({"discounts": 0.45}, [100, 400, 1600])
    >>> print(c[["n", "half_width"]].round(4).to_string(index=False))
         n  half_width
     100.0      0.0957
     400.0      0.0485
    1600.0      0.0243
    """
    frames = []
    for label, p in proportions.items():
        ci = proportion_ci(p, np.asarray(n_values, dtype=float), level=level, method=method)
        ci.insert(0, "label", label)
        frames.append(ci)
    if not frames:
        raise DataError("no shares given", expected="a mapping of label -> share")
    out = pd.concat(frames, ignore_index=True)
    out["half_width"] = (out["ci_upper"] - out["ci_lower"]) / 2.0
    return out[["label", "proportion", "n", "ci_lower", "ci_upper", "half_width", "method",
                "level"]]


# --------------------------------------------------------------------------- rank orders
def rank_agreement(ranks_1, ranks_2) -> pd.DataFrame:
    """Kendall's tau between two rank orders of the same items.

    Parameters
    ----------
    ranks_1, ranks_2 : mapping or pandas.Series of item -> rank (1 = first)
        Both must rank exactly the same items: partial orders are not silently compared.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_items concordant discordant ties_1 ties_2 tau pvalue method``. ``tau`` is
        Kendall's tau-b (tau-a when there are no ties) from ``scipy.stats.kendalltau``, whose
        p-value is exact for small untied orders.

    Examples
    --------
    >>> from connection.context import rank_agreement
    >>> r = rank_agreement({"a": 1, "b": 2, "c": 3, "d": 4}, {"a": 2, "b": 1, "c": 3, "d": 4})
    >>> print(r[["n_items", "concordant", "discordant", "tau"]].round(4).to_string(index=False))
     n_items  concordant  discordant    tau
           4           5           1 0.6667
    """
    from scipy.stats import kendalltau

    s1, s2 = pd.Series(ranks_1, dtype=float), pd.Series(ranks_2, dtype=float)
    for name, s in (("ranks_1", s1), ("ranks_2", s2)):
        if s.index.has_duplicates:
            raise DuplicateIdError("an item is ranked twice", column=name,
                                   values=s.index[s.index.duplicated()].tolist())
        if not np.isfinite(s.to_numpy()).all():
            raise NonNumericError("ranks must be numbers", column=name,
                                  values=s.index[~np.isfinite(s.to_numpy())].tolist())
    only_1 = sorted(set(s1.index) - set(s2.index), key=str)
    only_2 = sorted(set(s2.index) - set(s1.index), key=str)
    if only_1 or only_2:
        raise DataError("the two rank orders do not rank the same items",
                        values=[*(f"{v} (only in ranks_1)" for v in only_1),
                                *(f"{v} (only in ranks_2)" for v in only_2)],
                        expected="the same items on both sides; partial orders cannot be compared")
    items = list(s1.index)
    if len(items) < 2:
        raise DataError("a rank order needs at least two items", values=items)
    a = s1.loc[items].to_numpy()
    b = s2.loc[items].to_numpy()
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(len(items), k=1)
    prod = (da * db)[upper]
    res = kendalltau(a, b)
    return pd.DataFrame([{
        "n_items": len(items),
        "concordant": int((prod > 0).sum()),
        "discordant": int((prod < 0).sum()),
        "ties_1": int((da[upper] == 0).sum()),
        "ties_2": int((db[upper] == 0).sum()),
        "tau": float(res.statistic),
        "pvalue": float(res.pvalue),
        "method": "kendall tau-b",
    }])


# --------------------------------------------------------------------------- the data file
def published_figures_path() -> Path:
    """Path of the package's published-figures file (``connection/published/published_figures.csv``)."""
    from importlib.resources import files

    return Path(str(files("connection").joinpath("published", "published_figures.csv")))


def load_published_figures(path: str | os.PathLike | None = None, *,
                           include_unconfirmed: bool = False) -> pd.DataFrame:
    """Read and validate the file of published figures.

    One row per published figure: ``id study source year region population side question item
    value unit n n_basis status note``. ``status`` is P (read in the publisher's text), S (read
    in a secondary write-up) or U (unconfirmed: an assumption, never a fact). ``n`` is blank
    when the sample size is unknown; it is never filled in.

    Parameters
    ----------
    path : path-like, optional
        Defaults to the file shipped with the package.
    include_unconfirmed : bool
        Keep status-U rows (default: drop them, so confirmed and unconfirmed figures are never
        mixed by accident).

    Returns
    -------
    pandas.DataFrame
        The file's columns (``n`` as nullable integers) plus ``proportion`` (value / 100) and
        ``confirmed`` (status P or S).

    Examples
    --------
    >>> from connection.context import load_published_figures
    >>> figs = load_published_figures()
    >>> row = figs.set_index("id").loc["nielsen_discounts"]
    >>> print(row.proportion, row.status, row.n)
    0.45 S <NA>
    >>> bool(figs.loc[figs.study == "nielsen_2011", "n"].isna().all())   # n was never published
    True
    >>> "U" in set(figs.status)
    False
    """
    path = published_figures_path() if path is None else Path(path)
    shown = str(path)
    if not path.is_file():
        raise DataError("the published-figures file does not exist" if not path.exists()
                        else "the published-figures path is not a file", file=shown)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except pd.errors.EmptyDataError:
        raise EmptyFileError("the published-figures file is empty", file=shown) from None
    except UnicodeDecodeError as err:
        raise UndecodableFileError(f"the published-figures file is not UTF-8 text (byte "
                                   f"{err.start})", file=shown) from None
    except (pd.errors.ParserError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UndecodableFileError("cannot parse the published-figures file as CSV "
                                   f"({first[:300]})", file=shown) from None
    missing = [c for c in FIGURE_COLUMNS if c not in raw.columns]
    if missing:
        raise MissingColumnError("the published-figures file lacks columns", file=shown,
                                 values=missing, expected=", ".join(FIGURE_COLUMNS))
    if raw.empty:
        raise EmptyFileError("the published-figures file has no rows", file=shown)
    raw = raw[list(FIGURE_COLUMNS)].apply(lambda s: s.str.strip())
    rows = np.arange(1, len(raw) + 1)

    def bad(mask, column, message, expected, cls=OutOfRangeError):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            raise cls(message, file=shown, column=column, rows=rows[mask].tolist(),
                      values=raw.loc[mask, column].tolist(), expected=expected)

    bad(raw["id"] == "", "id", "a figure has no id", "a unique identifier", DataError)
    dup = raw["id"].duplicated(keep=False)
    bad(dup, "id", "figure ids repeat", "each id once", DuplicateIdError)
    for column in ("study", "source", "item"):
        bad(raw[column] == "", column, f"a figure has no {column}", f"a {column} for every row",
            DataError)
    bad(~raw["status"].isin(STATUSES), "status", "unknown status", "P, S or U")
    bad(~raw["side"].isin(SIDES), "side", "unknown side", "consumers or marketers")
    bad(~raw["unit"].isin(_UNITS), "unit", "unknown unit", " or ".join(_UNITS))
    value = pd.to_numeric(raw["value"], errors="coerce")
    bad(value.isna(), "value", "a value is not a number", "a percentage such as 45",
        NonNumericError)
    bad((value < 0) | (value > 100), "value", "a percentage outside 0-100", "0 to 100")
    n_text = raw["n"]
    n = pd.to_numeric(n_text.where(n_text != ""), errors="coerce")
    bad((n_text != "") & n.isna(), "n", "a sample size is not a number",
        "a whole number, or blank when unknown", NonNumericError)
    bad(n.notna() & ((n < 1) | (n != n.round())), "n", "a sample size is not a positive "
        "whole number", "a whole number >= 1, or blank when unknown")
    bad((n_text == "") & (raw["n_basis"] != "unknown"), "n_basis",
        "a blank n must be marked unknown", "n_basis 'unknown' when n is blank", DataError)

    out = raw.copy()
    out["value"] = value.astype(float)
    out["n"] = n.astype("Int64")
    out["proportion"] = out["value"] / 100.0
    out["confirmed"] = out["status"].isin(("P", "S"))
    if not include_unconfirmed:
        out = out[out["confirmed"]]
    return out.reset_index(drop=True)
