"""Two-step polychoric correlations, thresholds and their asymptotic covariance (as lavaan's lavCor).

:func:`polychoric` estimates, for ordinal items (integer category codes), the thresholds of each
item's latent response from its marginal proportions and then, pair by pair with the thresholds
fixed, the polychoric correlation by maximum likelihood (Olsson 1979, two-step). It also computes
the asymptotic covariance matrix ``Gamma`` of (thresholds, correlations) by Muthen's (1984)
sandwich, the matrix WLSMV/DWLS estimation weights and corrects with. Every number follows
``lavaan::lavCor(data, ordered = names(data), se = "standard", output = "fit")`` (lavaan 0.6):

* categories are the item's *observed* distinct codes, in increasing order (an unused code is
  not a category, as lavaan's ``ordered()`` recoding);
* thresholds ``t1 .. t(K-1)`` are ``qnorm`` of the cumulative proportions;
* the correlation of each pair maximises the bivariate-normal likelihood of its contingency table
  over ``[-0.999, 0.999]`` (lavaan's bounds); a 2 x 2 table with one empty cell gets 0.5 added to
  that cell with the margins kept (lavaan's defaults ``zero.add = c(0.5, 0)``,
  ``zero.keep.margins = TRUE``); empty cells in larger tables get nothing added
  (``zero.add[2] = 0``); a 2 x 2 table with two empty cells gives +1 or -1;
* ``Gamma`` is ``lavInspect(fit, "gamma")``: N times the asymptotic covariance matrix of the
  sample statistics ordered as lavaan orders them: all thresholds item by item (``"A1|t1"``,
  ``"A1|t2"``, ..., ``"A2|t1"``, ...), then the correlations below the diagonal column by column
  (``"A1~~A2"``, ``"A1~~A3"``, ..., ``"A1~~Ap"``, ``"A2~~A3"``, ...). The standard errors are
  ``sqrt(diag(Gamma) / (N - 1))``, exactly lavaan's (``parameterEstimates`` of the saturated
  model fitted by lavCor with ``se = "standard"``, estimator WLSMV): N - 1, not N.

Where lavaan's optimiser stops short of the maximum of its own two-step likelihood, the
maximum is reported instead (tests/references/ordinal/plateau*): a table that lavaan puts at its
bound 0.999 although its log-likelihood is far higher inside (the cell probabilities underflow
there and lavaan floors them, a flat region its optimiser accepts), and a likelihood that rises
all the way to the bound, where lavaan stops wherever its tolerance is met and this function
returns the bound with a warning.

Rows with a missing value in any item are dropped (listwise, lavCor's default) with an
:class:`~connection.errors.ExclusionWarning` saying how many; ``missing="pairwise"`` keeps them
(lavaan's pairwise deletion: each statistic from the values it needs).

Examples
--------
>>> import numpy as np, pandas as pd
>>> tab = np.array([[30, 15, 5], [15, 40, 20], [5, 20, 50]])   # q1 x q2 counts
>>> a, b = np.indices(tab.shape)
>>> q1, q2 = np.repeat(a.ravel() + 1, tab.ravel()), np.repeat(b.ravel() + 1, tab.ravel())
>>> d = pd.DataFrame({"q1": q1, "q2": q2, "q3": (q1 + q2 + np.arange(200) % 3) // 2})
>>> r = polychoric(d)            # lavCor(d, ordered = names(d)) gives the same to 1e-6
>>> r.correlation.round(3)
       q1     q2     q3
q1  1.000  0.660  0.862
q2  0.660  1.000  0.838
q3  0.862  0.838  1.000
>>> r.thresholds.head(3).round(3)
  item threshold    est     se
0   q1        t1 -0.674  0.097
1   q1        t2  0.319  0.091
2   q2        t1 -0.674  0.097
>>> r.gamma.shape, list(r.gamma.columns[-3:])
((10, 10), ['q1~~q2', 'q1~~q3', 'q2~~q3'])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from connection._common import check_choice, check_int, warn
from connection._report import Report
from connection.errors import (
    ArgumentError,
    ConnectionWarning,
    ConvergenceWarning,
    DataError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
)

__all__ = ["polychoric", "PolychoricResult", "bivariate_normal_cdf"]

RHO_BOUND = 0.999          # lavaan's nlminb bounds for a polychoric correlation
MAX_CATEGORIES = 20        # more observed categories than this: treat the item as continuous
_CHUNK = 4096              # rows per block when accumulating the score cross-products
_PAIR_VALUES = 2_000_000   # values per array when the polyserial pairs are fitted in blocks
_TWO_PI = 2.0 * np.pi

# Gauss-Legendre rule (20 points on [-1, 1]) for the bivariate normal integrals.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


# --------------------------------------------------------------------------------------------
# bivariate normal distribution
# --------------------------------------------------------------------------------------------

def bivariate_normal_cdf(h, k, r):
    """P(X <= h, Y <= k) for standard bivariate normal (X, Y) with correlation ``r``.

    Vectorised over broadcast ``h``, ``k``, ``r`` (finite ``h`` and ``k``; ``|r| < 1``) by the
    method of Drezner & Wesolowsky (1990) as refined by Genz (2004): Gauss-Legendre quadrature of
    the integral over ``asin(r)`` for ``|r| < 0.925``, else of the integral after the
    substitution that removes the singularity at ``|r| = 1``. Absolute error about 1e-15.

    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 12)   # 1/4 + asin(.5)/(2 pi) = 1/3
    0.333333333333
    """
    h, k, r = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h, k, r)))
    # upper orthant P(X > -h, Y > -k) equals the lower one asked for
    dh, dk = -h, -k
    out = np.empty(h.shape)
    low = np.abs(r) < 0.925
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        if low.any():
            hh, kk, rr = dh[low], dk[low], r[low]
            hk = hh * kk
            hs = (hh * hh + kk * kk) / 2.0
            asr = np.arcsin(rr)
            sn = np.sin(asr[:, None] * (_GL_X[None, :] + 1.0) / 2.0)
            f = np.exp((sn * hk[:, None] - hs[:, None]) / (1.0 - sn * sn)) @ _GL_W
            out[low] = f * asr / (2.0 * _TWO_PI) + ndtr(-hh) * ndtr(-kk)
        high = ~low
        if high.any():
            hh, kk, rr = dh[high], dk[high].copy(), r[high]
            neg = rr < 0
            kk[neg] = -kk[neg]
            hk = hh * kk
            as_ = (1.0 - rr) * (1.0 + rr)
            a = np.sqrt(as_)
            bs = (hh - kk) ** 2
            c = (4.0 - hk) / 8.0
            d = (12.0 - hk) / 16.0
            bvn = a * np.exp(-(bs / as_ + hk) / 2.0) * (
                1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0)
            b = np.sqrt(bs)
            tail = np.exp(-hk / 2.0) * np.sqrt(_TWO_PI) * ndtr(-b / a) * b * (
                1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0)
            bvn = bvn - np.where(hk > -160.0, tail, 0.0)
            a2 = a / 2.0
            xs = (a2[:, None] * (_GL_X[None, :] + 1.0)) ** 2
            rs = np.sqrt(1.0 - xs)
            asr = -(bs[:, None] / xs + hk[:, None]) / 2.0
            term = np.exp(asr) * (np.exp(-hk[:, None] * xs / (2.0 * (1.0 + rs) ** 2)) / rs
                                  - (1.0 + c[:, None] * xs * (1.0 + d[:, None] * xs)))
            term = np.where(asr > -100.0, term, 0.0)
            bvn = -(bvn + a2 * (term @ _GL_W)) / _TWO_PI
            pos_val = bvn + ndtr(-np.maximum(hh, kk))
            negv = -bvn
            extra = np.where(kk > hh, np.where(hh < 0, ndtr(kk) - ndtr(hh), ndtr(-hh) - ndtr(-kk)),
                             0.0)
            out[high] = np.where(neg, negv + extra, pos_val)
    return np.clip(out, 0.0, 1.0)


def _phi(x):
    """Standard normal density, 0 at +-inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(x), np.exp(-0.5 * np.square(np.where(np.isfinite(x), x, 0.0)))
                        / np.sqrt(_TWO_PI), 0.0)


def _grid_cdf(th1, th2, r):
    """Phi2 on the boundary grids: th1 (P, A+1), th2 (P, B+1), r (P,) -> (P, A+1, B+1).

    The boundaries may be -inf / +inf (padded categories repeat +inf).
    """
    x = th1[:, :, None]
    y = th2[:, None, :]
    x, y = np.broadcast_arrays(x, y)
    rr = np.broadcast_to(r[:, None, None], x.shape)
    fx, fy = np.isfinite(x), np.isfinite(y)
    both = fx & fy
    out = np.zeros(x.shape)
    out[both] = bivariate_normal_cdf(x[both], y[both], rr[both])
    # one side +inf: the other margin; both +inf: 1; any -inf: 0 (already)
    xi = (x == np.inf)
    yi = (y == np.inf)
    m = xi & fy
    out[m] = ndtr(y[m])
    m = yi & fx
    out[m] = ndtr(x[m])
    out[xi & yi] = 1.0
    return out


def _grid_pdf(th1, th2, r):
    """phi2 (= d Phi2 / d r) and d phi2 / d r on the boundary grids (0 at infinite boundaries)."""
    x = th1[:, :, None]
    y = th2[:, None, :]
    x, y = np.broadcast_arrays(x, y)
    fin = np.isfinite(x) & np.isfinite(y)
    xs = np.where(fin, x, 0.0)
    ys = np.where(fin, y, 0.0)
    rr = r[:, None, None]
    one = 1.0 - rr * rr
    q = xs * xs - 2.0 * rr * xs * ys + ys * ys
    dens = np.where(fin, np.exp(-q / (2.0 * one)) / (_TWO_PI * np.sqrt(one)), 0.0)
    g = rr / one + xs * ys / one - rr * q / one ** 2     # d log phi2 / d r
    return dens, dens * g


def _cells(grid):
    """Rectangle probabilities from a grid of corner values: (P, A+1, B+1) -> (P, A, B)."""
    return grid[:, 1:, 1:] - grid[:, :-1, 1:] - grid[:, 1:, :-1] + grid[:, :-1, :-1]


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolychoricResult:
    """What :func:`polychoric` returns.

    Attributes
    ----------
    correlation
        The correlation matrix, lavCor(output = "cor"): the items, then any continuous variables.
    thresholds
        One row per threshold: ``item``, ``threshold`` (``"t1"`` .. ``"t(K-1)"``), ``est``, ``se``.
    pairs
        One row per pair of variables in lavaan's order: ``lhs``, ``rhs``, ``type``
        (``"polychoric"``, ``"polyserial"`` or ``"pearson"``), ``est``, ``se``, ``empty_cells``
        (empty cells of the pair's table), ``note`` (what was done about them).
    gamma
        lavaan's ``lavInspect(fit, "gamma")``: N times the asymptotic covariance matrix of the
        sample statistics, labelled as lavaan's ``wls.obs``. Items only: the thresholds item by
        item (``"A1|t1"``, ``"A1|t2"``, ..., ``"A2|t1"``, ...), then the correlations below the
        diagonal column by column (``"A1~~A2"``, ``"A1~~A3"``, ..., ``"A2~~A3"``, ...). With
        continuous variables (lavaan's ``muthen1984`` statistics of a mixed model, the variables
        in the order of :attr:`correlation`: items, then continuous): first, variable by
        variable, each item's thresholds and each continuous variable's *minus* mean
        (``"c1~1"``, lavaan's sign); then the continuous variables' variances (``"c1~~c1"``,
        divisor N); then the pairs below the diagonal column by column, where a pair with a
        continuous variable is a *covariance*: the polyserial correlation times the continuous
        variable's SD, a Pearson covariance (divisor N) between two continuous variables. This
        is ``lavInspect(lavCor(data[c(items, continuous)], ordered = items, output = "fit"),
        "gamma")``; :attr:`wls_obs` holds the statistics themselves.
    n
        Rows used (complete on every item; with ``missing="pairwise"`` the rows with at least
        one observed value, lavaan's ``nobs``).
    n_dropped
        Rows dropped because an item was missing (listwise), or because nothing was observed
        in them (pairwise).
    items
        The items, in order.
    categories
        Per item, the observed codes (the categories, in increasing order).
    notes
        Sentences about zero cells, bounds and dropped rows (also issued as warnings).
    continuous
        The continuous variables (polyserial and Pearson correlations), if any.
    moments
        One row per continuous variable and statistic: ``variable``, ``statistic`` (``"mean"``,
        ``"var"``: divisor N, as lavaan), ``est``, ``se`` (``sqrt(diag(Gamma) / (N - 1))``);
        empty without continuous variables.
    missing
        ``"listwise"`` or ``"pairwise"``, as asked.

    The standard errors of thresholds and polychoric correlations are ``sqrt(diag(Gamma) / (N
    - 1))`` (lavaan's); those of polyserial and Pearson correlations come from Gamma by the
    delta method (the correlation is the covariance over the SD or SDs), with the same divisor.
    """

    correlation: pd.DataFrame
    thresholds: pd.DataFrame
    pairs: pd.DataFrame
    gamma: pd.DataFrame
    n: int
    n_dropped: int
    items: tuple[str, ...]
    categories: dict = field(repr=False)
    notes: tuple[str, ...] = ()
    continuous: tuple[str, ...] = ()
    moments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"variable": [], "statistic": [], "est": [], "se": []}))
    missing: str = "listwise"

    @property
    def wls_obs(self) -> pd.Series:
        """The sample statistics in Gamma's order (lavaan's ``lavInspect(fit, "wls.obs")``):
        thresholds and correlations; with continuous variables minus their means, their
        variances and the covariances of the pairs with a continuous variable (see
        :attr:`gamma`)."""
        if not self.continuous:
            values = np.concatenate([self.thresholds["est"].to_numpy(),
                                     self.pairs["est"].to_numpy()])
            return pd.Series(values, index=self.gamma.index, name="est")
        mo = self.moments.set_index(["variable", "statistic"])["est"]
        first = {f"{r.item}|{r.threshold}": r.est for r in self.thresholds.itertuples()}
        first.update({f"{v}~1": -mo[(v, "mean")] for v in self.continuous})
        sd = {v: np.sqrt(mo[(v, "var")]) for v in self.continuous}
        rest = {f"{v}~~{v}": mo[(v, "var")] for v in self.continuous}
        for r in self.pairs.itertuples():
            rest[f"{r.lhs}~~{r.rhs}"] = r.est * sd.get(r.lhs, 1.0) * sd.get(r.rhs, 1.0)
        both = {**first, **rest}
        return pd.Series([both[k] for k in self.gamma.index], index=self.gamma.index, name="est")

    def summary(self) -> Report:
        """The result as a :class:`connection._report.Report`: items, continuous variables,
        rows used and dropped in the header; the correlation matrix, the pairs (type, estimate,
        standard error, empty cells) and the thresholds; the notes (zero cells, bounds, dropped
        rows) last."""
        header = [("Items", ", ".join(self.items)), ("Rows used", self.n),
                  ("Rows dropped (incomplete)", self.n_dropped) if self.missing == "listwise"
                  else ("Rows dropped (nothing observed)", self.n_dropped),
                  ("Missing values", self.missing)]
        if self.continuous:
            header.insert(1, ("Continuous", ", ".join(self.continuous)))
        report = Report("Polychoric correlations (two-step, as lavaan::lavCor)", header=header,
                        notes=list(self.notes))
        report.add_table(self.correlation, "Correlations", index=True)
        report.add_table(self.pairs[["lhs", "rhs", "type", "est", "se", "empty_cells"]],
                         "Pairs")
        report.add_table(self.thresholds, "Thresholds")
        if self.continuous:
            report.add_table(self.moments, "Continuous variables (divisor N)")
        return report

    def to_frame(self) -> pd.DataFrame:
        """The main table: :attr:`pairs`, one row per correlation."""
        return self.pairs.copy()

    def __repr__(self) -> str:
        k = len(self.items)
        cont = f" + {len(self.continuous)} continuous" if self.continuous else ""
        return (f"<PolychoricResult: {k} items{cont}, n = {self.n}, {len(self.thresholds)} "
                f"thresholds, {len(self.pairs)} correlations, {len(self.notes)} notes>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------

def _rows(mask) -> list[int]:
    """1-based row numbers where ``mask`` holds."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask))]


def _as_frame(data) -> pd.DataFrame:
    """The data as a DataFrame (a 2-D array gets lavaan's names V1, V2, ...)."""
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ArgumentError(f"data must be a 2-D table; got a {data.ndim}-D array",
                                expected="a pandas DataFrame (one column per item)")
        data = pd.DataFrame(data, columns=[f"V{j + 1}" for j in range(data.shape[1])])
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"data must be a pandas DataFrame; got {type(data).__name__}",
                            expected="a DataFrame with one column per ordinal item")
    return data


def _as_list(names) -> list:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _variable_names(data: pd.DataFrame, items, continuous,
                    min_items: int = 2) -> tuple[list, list]:
    """The ordinal items and the continuous variables, checked: each named once, in one role
    only, and a column of the data; at least two items."""
    continuous = _as_list(continuous)
    items = [c for c in data.columns if c not in continuous] if items is None else _as_list(items)
    for names, what, expected in ((items, "items", "each item once"),
                                  (continuous, "continuous", "each variable once")):
        dup = sorted({str(i) for i in names if names.count(i) > 1})
        if dup:
            raise ArgumentError(f"{what} names a column more than once", values=dup,
                                expected=expected)
    both = [str(i) for i in items if i in continuous]
    if both:
        raise ArgumentError("a column is named both as an ordinal item and as continuous",
                            values=both, expected="each column in items or in continuous")
    missing_cols = [i for i in items + continuous if i not in data.columns]
    if missing_cols:
        raise MissingColumnError(f"item column(s) not in the data: {', '.join(map(str, missing_cols))}",
                                 column=str(missing_cols[0]),
                                 expected=f"one of the data's columns ({len(data.columns)})")
    if len(items) < min_items:
        raise ArgumentError(f"polychoric correlations need at least 2 items; got {len(items)}",
                            expected="two or more ordinal items")
    return items, continuous


def _column_values(data: pd.DataFrame, item, ordinal: bool, labels: dict) -> np.ndarray:
    """One column as floats (NaN = missing), checked: numbers, finite, integer codes for an
    ordinal item (an ordered Categorical gives its codes 1..K, its levels kept in ``labels``)."""
    kind = "an ordinal item" if ordinal else "a continuous variable"
    col = data[item]
    if isinstance(col, pd.DataFrame):
        raise ArgumentError("the data has more than one column with this name",
                            column=str(item), expected="unique column names")
    if col.dtype == bool:
        col = col.astype(float)
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered and ordinal:
        # an ordered categorical: its levels in their order are the categories
        labels[str(item)] = list(col.cat.categories)
        col = pd.Series(np.where(col.cat.codes.to_numpy() < 0, np.nan,
                                 col.cat.codes.to_numpy() + 1.0), index=col.index)
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna()
    if bad.any():
        raise NonNumericError(f"{kind} holds values that are not numbers",
                              column=str(item), rows=_rows(bad), values=list(col[bad])[:10],
                              expected="integer category codes (e.g. 1-5)"
                              if ordinal else "numbers",
                              hint="recode the answers to integers in their order "
                                   "(1 = lowest category) or make the column an ordered "
                                   "pandas Categorical" if ordinal else
                                   "convert the column to numbers")
    arr = values.to_numpy(dtype=float)
    inf = np.isinf(arr)
    if inf.any():
        raise DataError(f"{kind} holds infinite values", column=str(item),
                        rows=_rows(inf), expected="finite numbers")
    frac = np.isfinite(arr) & (arr != np.round(arr)) & ordinal
    if frac.any():
        raise DataError("an ordinal item holds codes that are not integers",
                        column=str(item), rows=_rows(frac), values=list(arr[frac])[:10],
                        expected="integer category codes (e.g. 1-5)",
                        hint="a variable with fractional values is not ordinal: treat it as "
                             "continuous, or recode it to integer categories")
    return arr


def _complete_rows(X: np.ndarray, names: list) -> tuple[np.ndarray, int, list[str]]:
    """Rows complete on every variable (listwise, lavCor's default), how many were dropped
    and the note saying which; fewer than 2 complete rows is a DataError."""
    incomplete = np.isnan(X).any(axis=1)
    notes = []
    n_dropped = int(incomplete.sum())
    if n_dropped:
        per_item = {str(it): int(np.isnan(X[:, j]).sum())
                    for j, it in enumerate(names) if np.isnan(X[:, j]).any()}
        rows = _rows(incomplete)
        shown = ", ".join(map(str, rows[:10])) + (f", ... ({len(rows)} in all)" if len(rows) > 10
                                                  else "")
        notes.append(f"{n_dropped} of {len(X)} rows dropped (listwise, as lavCor's default) "
                     f"because an item is missing (rows {shown}; missing per item: "
                     + ", ".join(f"{k} {v}" for k, v in per_item.items()) + ")")
        X = X[~incomplete]
    if len(X) < 2:
        raise DataError("fewer than 2 rows are complete on every item",
                        rows=None, expected="complete answers to all items from 2+ respondents",
                        hint="check the missing-value codes or choose fewer items")
    return X, n_dropped, notes


def _nonempty_rows(X: np.ndarray, names: list) -> tuple[np.ndarray, int, list[str]]:
    """Pairwise deletion (lavaan's ``missing = "pairwise"``): every row with at least one
    observed variable is kept (its missing values are left out of the statistics that need
    them); rows with nothing observed are dropped, as lavaan's empty cases, with the note
    saying which; fewer than 2 rows kept is a DataError."""
    empty = np.isnan(X).all(axis=1)
    notes = []
    n_dropped = int(empty.sum())
    if n_dropped:
        rows = _rows(empty)
        shown = ", ".join(map(str, rows[:10])) + (f", ... ({len(rows)} in all)" if len(rows) > 10
                                                  else "")
        notes.append(f"{n_dropped} of {len(X)} rows dropped because no variable is observed "
                     f"in them (rows {shown}; lavaan's empty cases under missing='pairwise')")
        X = X[~empty]
    if len(X) < 2:
        raise DataError("fewer than 2 rows have an observed value", rows=None,
                        expected="answers from 2+ respondents",
                        hint="check the missing-value codes")
    return X, n_dropped, notes


def _check_coverage(X: np.ndarray, names: list) -> None:
    """Pairwise deletion needs, for every pair of variables, rows where both are observed
    (lavaan's coverage): a pair observed together in fewer than 2 rows is refused, naming it."""
    obs = (~np.isnan(X)).astype(float)
    both = obs.T @ obs
    low = np.argwhere(np.triu(both < 2, k=1))
    if len(low):
        a, b = low[0]
        raise DataError(f"variables {names[a]!r} and {names[b]!r} are observed together in "
                        f"{int(both[a, b])} row(s): their correlation cannot be estimated",
                        column=str(names[b]), values=[f"{names[a]}~~{names[b]}"],
                        expected="every pair of variables observed together in 2+ rows",
                        hint="drop one of the two variables, or check how the survey routed "
                             "its questions")


def _categories(X: np.ndarray, items: list, labels: dict,
                max_categories: int) -> tuple[np.ndarray, dict]:
    """Category codes 0..K-1 of each item (its observed distinct values in order; -1 where
    missing) and the categories per item (the ordered Categorical's levels, else the codes)."""
    codes = np.empty(X.shape, dtype=np.intp)
    cats = {}
    for j, item in enumerate(items):
        seen = ~np.isnan(X[:, j])
        levels, inv = np.unique(X[seen, j], return_inverse=True)
        if len(levels) < 2:
            raise NoVarianceError("an ordinal item has a single observed category among the "
                                  "rows used, so it has no threshold and no correlation",
                                  column=str(item), values=[levels[0]],
                                  expected="at least 2 observed categories",
                                  hint="drop the item from the analysis")
        if len(levels) > max_categories:
            raise DataError(f"an ordinal item has {len(levels)} observed categories (more than "
                            f"max_categories = {max_categories})", column=str(item),
                            expected=f"at most {max_categories} categories",
                            hint="treat the item as continuous (leave it out of the ordinal "
                                 "items), collapse categories, or raise max_categories")
        codes[:, j] = -1
        codes[seen, j] = inv
        if str(item) in labels:
            cats[str(item)] = tuple(labels[str(item)][int(v) - 1] for v in levels)
        else:
            cats[str(item)] = tuple(int(v) for v in levels)
    return codes, cats


def _prepare(data, items, continuous, max_categories, min_items=2, missing="listwise"):
    """The input checked and coded, by named steps: the frame, the variable names, each
    column's values, the rows used (complete ones, or with ``missing="pairwise"`` those with
    an observed value), the continuous variables' variance, the categories (code -1 and NaN
    in ``Xc`` where a value is missing)."""
    data = _as_frame(data)
    items, continuous = _variable_names(data, items, continuous, min_items)
    max_categories = check_int(max_categories, "max_categories", minimum=2)
    labels: dict = {}
    X = np.column_stack([_column_values(data, item, item not in continuous, labels)
                         for item in items + continuous])
    if missing == "pairwise":
        X, n_dropped, notes = _nonempty_rows(X, items + continuous)
        _check_coverage(X, [str(v) for v in items + continuous])
    else:
        X, n_dropped, notes = _complete_rows(X, items + continuous)
    Xc = X[:, len(items):]
    X = X[:, :len(items)]
    for j, name in enumerate(continuous):
        seen = Xc[~np.isnan(Xc[:, j]), j]
        if np.ptp(seen) == 0:
            raise NoVarianceError("a continuous variable is constant among the rows used",
                                  column=str(name), values=[seen[0]],
                                  expected="at least 2 distinct values",
                                  hint="drop the variable from the analysis")
    codes, cats = _categories(X, items, labels, max_categories)
    order = [str(c) for c in data.columns if c in items or c in continuous]
    return ([str(i) for i in items], codes, cats, n_dropped, notes,
            [str(c) for c in continuous], Xc, order)


# --------------------------------------------------------------------------------------------
# estimation
# --------------------------------------------------------------------------------------------

def _loglik(freq, pi):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(freq > 0, freq * np.log(np.where(pi > 0, pi, 1.0)), 0.0).sum(axis=(1, 2)) \
            + np.where((freq > 0) & (pi <= 0), -np.inf, 0.0).sum(axis=(1, 2))


def _fit_rho(freq, T1, T2, start, active):
    """Newton-Raphson (with step halving and Fisher-scoring fallback) for each pair's rho."""
    rho = np.clip(start, -0.95, 0.95)
    converged = np.zeros(len(rho), dtype=bool)
    converged[~active] = True
    for _ in range(100):
        idx = np.flatnonzero(~converged)
        if idx.size == 0:
            break
        f, t1, t2, r = freq[idx], T1[idx], T2[idx], rho[idx]
        pi = _cells(_grid_cdf(t1, t2, r))
        d1g, d2g = _grid_pdf(t1, t2, r)
        dpi, d2pi = _cells(d1g), _cells(d2g)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = pi > 0
            ratio = np.where(ok, dpi / np.where(ok, pi, 1.0), 0.0)
            grad = (f * ratio).sum(axis=(1, 2))
            hess = (f * np.where(ok, d2pi / np.where(ok, pi, 1.0), 0.0)).sum(axis=(1, 2)) \
                - (f * ratio * ratio).sum(axis=(1, 2))
            info = f.sum(axis=(1, 2)) * np.where(ok, dpi * dpi / np.where(ok, pi, 1.0), 0.0).sum(
                axis=(1, 2))
        curv = np.where(hess < 0, -hess, info)
        step = grad / np.where(curv > 0, curv, 1.0)
        ll0 = _loglik(f, pi)
        new = np.clip(r + step, -RHO_BOUND, RHO_BOUND)
        for _half in range(30):
            ll1 = _loglik(f, _cells(_grid_cdf(t1, t2, new)))
            worse = ll1 < ll0 - 1e-12 * np.abs(ll0)
            if not worse.any():
                break
            new = np.where(worse, (new + r) / 2.0, new)
        done = (np.abs(new - r) < 1e-11) | ((np.abs(new) >= RHO_BOUND)
                                            & (np.abs(r) >= RHO_BOUND))
        rho[idx] = new
        converged[idx] = done
    # a likelihood that keeps rising (to within rounding) up to a bound has its supremum there:
    # take the bound, as the likelihood cannot tell the two apart (lavaan's optimiser may stop
    # earlier on such a plateau, where its tolerance is met)
    idx = np.flatnonzero(active)
    if idx.size:
        f, t1, t2 = freq[idx], T1[idx], T2[idx]
        ll = _loglik(f, _cells(_grid_cdf(t1, t2, rho[idx])))
        for bound in (RHO_BOUND, -RHO_BOUND):
            llb = _loglik(f, _cells(_grid_cdf(t1, t2, np.full(idx.size, bound))))
            jump = np.isfinite(llb) & (llb >= ll - 1e-12 * np.abs(ll))
            rho[idx[jump]] = bound
            converged[idx[jump]] = True
    return rho, converged


def polychoric(data, items=None, *, continuous=None, max_categories: int = MAX_CATEGORIES,
               gamma: bool = True, missing: str = "listwise") -> PolychoricResult:
    """Two-step polychoric correlations, thresholds and Gamma, as ``lavaan::lavCor``.

    Parameters
    ----------
    data
        A DataFrame with one column per ordinal item, holding integer category codes (any
        integers: the observed distinct codes are the categories, in increasing order). Missing
        values (NaN/None) drop the row (listwise), or with ``missing="pairwise"`` only leave
        themselves out.
    items
        The ordinal item columns (at least 2); ``None`` takes every column not in
        ``continuous``. Other columns are ignored.
    continuous
        Continuous columns to correlate with the items as lavCor does with variables not in
        ``ordered``: two-step polyserial correlations with the items (mean and variance with
        divisor N, rho by maximum likelihood within lavaan's bounds +-0.995) and Pearson
        correlations among themselves. They come after the items in ``correlation``; their
        means and variances are in ``moments``, and Gamma (``gamma=True``) is lavaan's for the
        mixed statistics (thresholds and minus means, variances, covariances: see
        :attr:`PolychoricResult.gamma` for the order).
    max_categories
        An item with more observed categories is refused (treat it as continuous).
    gamma
        Compute ``Gamma`` and the standard errors (the slower part); with ``False`` the ``se``
        columns and ``gamma`` hold NaN.
    missing
        ``"listwise"`` (the default, lavCor's): the rows complete on every variable.
        ``"pairwise"`` (``lavCor(missing = "pairwise")``): each item's thresholds (and each
        continuous variable's mean and variance) from its observed values, each correlation
        from the rows where both variables are observed (given those univariate estimates),
        and Gamma from every row's scores with a missing value's scores left out (Muthen's
        sandwich as lavaan computes it then); ``n`` is then the rows with at least one
        observed value (rows with none are dropped, as lavaan's empty cases). A pair of
        variables never observed together is refused.

    Returns
    -------
    PolychoricResult

    Raises
    ------
    NonNumericError
        An item holds text (names the column, rows and values).
    DataError
        Non-integer codes, more than ``max_categories`` categories, fewer than 2 complete rows.
    NoVarianceError
        An item has a single observed category.
    MissingColumnError, ArgumentError
        An item is not a column; bad arguments.

    Warns
    -----
    ExclusionWarning
        Rows with missing values were dropped (how many, which rows).
    ConnectionWarning
        A zero cell changed or broke a polychoric (the 0.5 added to a 2 x 2 table, a correlation
        at lavaan's bound 0.999, two empty cells giving +-1).
    ConvergenceWarning
        A pair's correlation did not converge (named in the message and in ``pairs.note``).
    """
    missing = check_choice(missing, "missing", ("listwise", "pairwise"))
    if continuous is not None and len(_as_list(continuous)):
        res, t = _two_step(data, items, continuous, max_categories, False, missing=missing)
        return _with_continuous_gamma(res, t) if gamma else res
    return _two_step(data, items, continuous, max_categories, gamma, missing=missing)[0]


def _with_continuous_gamma(res: PolychoricResult, t: dict) -> PolychoricResult:
    """``res`` (items and continuous variables, no Gamma) with lavaan's mixed Gamma and the
    standard errors it gives (:attr:`PolychoricResult.gamma`)."""
    items, cont = list(res.items), list(res.continuous)
    names = items + cont
    ms = _assemble_mixed(names, items, cont, {v: k for k, v in enumerate(names)}, res, t)
    G = ms.gamma.copy()
    lab = list(ms.labels)
    where = {k: i for i, k in enumerate(lab)}
    n = res.n
    bad = [where[f"{items[a]}~~{items[b]}"]
           for a, b, act, r in zip(t["ia"], t["ib"], t["active"], t["rho"], strict=True)
           if not act and abs(r) == 1.0]
    G[bad, :] = np.nan
    G[:, bad] = np.nan
    dg = np.diag(G) / (n - 1)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(dg)
    thresholds = res.thresholds.copy()
    thresholds["se"] = [se[where[f"{r.item}|{r.threshold}"]] for r in thresholds.itertuples()]
    var = {v: ms.cov[k, k] for k, v in enumerate(names) if v in set(cont)}
    pairs = res.pairs.copy()
    pse = []
    for r in pairs.itertuples():
        k = where[f"{r.lhs}~~{r.rhs}"]
        cs = [v for v in (r.lhs, r.rhs) if v in var]
        if not cs:
            pse.append(se[k])
            continue
        g = np.zeros(len(lab))          # the correlation is the covariance over the SDs
        den = float(np.prod([np.sqrt(var[v]) for v in cs]))
        g[k] = 1.0 / den
        for v in cs:
            g[where[f"{v}~~{v}"]] += -ms.obs[k] / den / (2.0 * var[v])
        pse.append(float(np.sqrt(g @ G @ g / (n - 1))))
    pairs["se"] = pse
    moments = res.moments.copy()
    moments["se"] = [se[where[f"{v}~1" if s_ == "mean" else f"{v}~~{v}"]]
                     for v, s_ in zip(moments["variable"], moments["statistic"], strict=True)]
    return replace(res, thresholds=thresholds, pairs=pairs, moments=moments,
                   gamma=pd.DataFrame(G, index=lab, columns=lab))


def _observed(codes, Xc):
    """The masks of observed values (None when nothing is missing) and the data with the
    missing values filled (code 0, the variable's mean): every casewise score is computed
    on the filled data and multiplied by the mask, so a missing value adds nothing (lavaan's
    scores are NA there and its cross-products skip them)."""
    miss, miss_c = codes < 0, np.isnan(Xc)
    obs = ~miss if miss.any() else None
    obs_c = ~miss_c if miss_c.any() else None
    mean = np.array([Xc[~miss_c[:, c], c].mean() for c in range(Xc.shape[1])])
    var = np.array([((Xc[~miss_c[:, c], c] - mean[c]) ** 2).mean() for c in range(Xc.shape[1])])
    if obs is not None:
        codes = np.where(miss, 0, codes)
    if obs_c is not None:
        Xc = np.where(miss_c, mean[None, :], Xc)
    return codes, Xc, obs, obs_c, mean, var


def _masked(values, *masks):
    """``values`` times the product of the masks that are not None (a missing value: 0)."""
    for m in masks:
        if m is not None:
            values = values * m
    return values


def _pair_tables(codes, obs, ia, ib, kmax):
    """The contingency table of each pair (P, kmax, kmax) over its complete rows."""
    P = len(ia)
    kk = kmax * kmax
    freq = np.zeros((P, kmax, kmax))
    for a in np.unique(ia):
        sel = np.flatnonzero(ia == a)
        flat = codes[:, a, None] * kmax + codes[:, ib[sel]] + np.arange(len(sel)) * kk
        if obs is not None:
            flat = flat[obs[:, a, None] & obs[:, ib[sel]]]
        freq[sel] = np.bincount(flat.ravel(), minlength=len(sel) * kk).reshape(
            len(sel), kmax, kmax)
    return freq


def _two_step(data, items, continuous, max_categories, gamma, min_items=2, missing="listwise"):
    """:func:`polychoric`'s work: the result and the pieces Gamma is built from (a dict)."""
    items, codes, cats, n_dropped, notes, cont, Xc, _order = _prepare(
        data, items, continuous, max_categories, min_items, missing)
    for note in notes:
        warn(note, ExclusionWarning)
    codes, Xc, obs, obs_c, c_mean, c_var = _observed(codes, Xc)
    n, p = codes.shape
    K = np.array([len(cats[it]) for it in items])
    kmax = int(K.max())

    # ---- step 1: thresholds from the margins (each item's observed values) -----------------
    counts = np.zeros((p, kmax))
    for j in range(p):
        cj = codes[:, j] if obs is None else codes[obs[:, j], j]
        counts[j, :K[j]] = np.bincount(cj, minlength=K[j])
    prop = counts / counts.sum(axis=1, keepdims=True)
    # boundaries: T[j] = [-inf, t1, ..., t(K-1), +inf, +inf ...] (kmax + 1 values)
    T = np.full((p, kmax + 1), np.inf)
    T[:, 0] = -np.inf
    cum = np.cumsum(prop, axis=1)
    for j in range(p):
        T[j, 1:K[j]] = ndtri(cum[j, :K[j] - 1])

    # ---- step 2: the pairs, in lavaan's order (column-wise below the diagonal) -------------
    pi_idx, pj_idx = [], []
    for a in range(p):
        for b in range(a + 1, p):
            pi_idx.append(a)
            pj_idx.append(b)
    ia = np.array(pi_idx, dtype=np.intp)
    ib = np.array(pj_idx, dtype=np.intp)
    P = len(ia)
    freq = _pair_tables(codes, obs, ia, ib, kmax)
    T1, T2 = T[ia], T[ib]
    valid = (np.arange(kmax)[None, :, None] < K[ia][:, None, None]) \
        & (np.arange(kmax)[None, None, :] < K[ib][:, None, None])
    empty = ((freq == 0) & valid).sum(axis=(1, 2))

    # lavaan's zero-cell rules (zero.add = c(0.5, 0), zero.keep.margins = TRUE)
    efreq = freq.copy()
    fixed = np.full(P, np.nan)
    pair_note = [""] * P
    names = [f"{items[a]}~~{items[b]}" for a, b in zip(ia, ib, strict=True)]
    two = (K[ia] == 2) & (K[ib] == 2)
    for q in np.flatnonzero(two):
        t = freq[q, :2, :2]
        zeros = np.argwhere(t == 0)
        if len(zeros) == 2:
            fixed[q] = 1.0 if t[0, 0] > 0 else -1.0
            pair_note[q] = (f"{names[q]}: two empty cells in the 2 x 2 table; the correlation is "
                            f"set to {fixed[q]:+.0f} (as lavaan) and its row of Gamma is NaN")
        elif len(zeros) == 1:
            a, b = zeros[0]
            s = 0.5 if (a == b) else -0.5
            efreq[q, 0, 0] += s
            efreq[q, 1, 1] += s
            efreq[q, 0, 1] -= s
            efreq[q, 1, 0] -= s
            pair_note[q] = (f"{names[q]}: one empty cell in the 2 x 2 table; 0.5 added to it "
                            f"with the margins kept, as lavaan (zero.add = c(0.5, 0), "
                            f"zero.keep.margins = TRUE)")
        if np.isnan(fixed[q]):
            e = efreq[q, :2, :2]
            if e[0, 0] * e[1, 1] == e[0, 1] * e[1, 0]:
                fixed[q] = 0.0

    # start: Pearson correlation of the normal scores of the categories
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = ndtr(T[:, :-1])
        hi = ndtr(T[:, 1:])
        dens = (_phi(T[:, :-1]) - _phi(T[:, 1:])) / np.where(hi - lo > 0, hi - lo, 1.0)
    scores = dens[np.arange(p)[None, :], codes]
    if obs is not None:       # a start only: the missing scores at their item's mean
        scores = np.where(obs, scores, (scores * obs).sum(axis=0) / obs.sum(axis=0))
    sc = scores - scores.mean(axis=0)
    sd = np.sqrt((sc * sc).mean(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cor0 = np.nan_to_num((sc.T @ sc) / n / np.outer(sd, sd))
    start = cor0[ia, ib]
    active = np.isnan(fixed)
    rho, conv = _fit_rho(efreq, T1, T2, start, active)
    rho[~active] = fixed[~active]
    for q in np.flatnonzero(~conv):
        pair_note[q] = (pair_note[q] + "; " if pair_note[q] else "") + (
            f"{names[q]}: the polychoric correlation did not converge")
    at_bound = active & (np.abs(rho) >= RHO_BOUND)
    for q in np.flatnonzero(at_bound):
        why = (f"because empty cells ({int(empty[q])}) leave no evidence against a perfect "
               f"association (lavaan adds nothing to empty cells of tables larger than 2 x 2 and "
               f"warns 'correlation is (nearly) 1.0')" if empty[q] else
               "(the two items are practically the same)")
        pair_note[q] = (pair_note[q] + "; " if pair_note[q] else "") + (
            f"{names[q]}: the correlation reached lavaan's bound {rho[q]:+.3f} {why}; collapse "
            f"categories or drop one of the items")
    for q, note in enumerate(pair_note):
        if note:
            notes.append(note)
            warn(note, ConvergenceWarning if not conv[q] else ConnectionWarning)

    R = np.eye(p)
    R[ia, ib] = rho
    R[ib, ia] = rho

    # ---- Gamma (Muthen 1984 sandwich, lavaan's muthen1984) ------------------------------------
    nth = K - 1
    th_start = np.concatenate([[0], np.cumsum(nth)])
    n_th = int(th_start[-1])
    th_names = [f"{it}|t{k + 1}" for j, it in enumerate(items) for k in range(nth[j])]
    labels = th_names + names
    G = np.full((n_th + P, n_th + P), np.nan)
    th_se = np.full(n_th, np.nan)
    rho_se = np.full(P, np.nan)
    if gamma:
        G = _gamma(codes, K, T, prop, ia, ib, rho, active, th_start, n_th, freq, obs)
        dg = np.diag(G) / (n - 1)      # lavaan's standard errors divide by N - 1
        with np.errstate(invalid="ignore"):
            th_se = np.sqrt(dg[:n_th])
            rho_se = np.sqrt(dg[n_th:])
        bad = ~active & (np.abs(rho) == 1.0)
        G[n_th + np.flatnonzero(bad), :] = np.nan
        G[:, n_th + np.flatnonzero(bad)] = np.nan
        rho_se[bad] = np.nan

    th_est = np.concatenate([T[j, 1:K[j]] for j in range(p)])
    thresholds = pd.DataFrame({
        "item": [it for j, it in enumerate(items) for _ in range(nth[j])],
        "threshold": [f"t{k + 1}" for j in range(p) for k in range(nth[j])],
        "est": th_est, "se": th_se})
    pairs = pd.DataFrame({"lhs": [items[a] for a in ia], "rhs": [items[b] for b in ib],
                          "est": rho, "se": rho_se, "empty_cells": empty.astype(int),
                          "note": pair_note})
    pairs.insert(2, "type", "polychoric")
    variables = items + cont
    extra = {}
    if cont:
        R, pairs = _mixed(R, pairs, codes, T, K, Xc, items, cont, notes,
                          (obs, obs_c, c_mean, c_var))
        extra["moments"] = pd.DataFrame({
            "variable": [v for v in cont for _ in range(2)], "statistic": ["mean", "var"] * len(cont),
            "est": np.column_stack([c_mean, c_var]).ravel(), "se": np.nan})
        labels = (th_names + [f"{v}~1" for v in cont] + [f"{v}~~{v}" for v in cont]
                  + [f"{a}~~{b}" for a, b in zip(pairs["lhs"], pairs["rhs"], strict=True)])
        G = np.full((len(labels), len(labels)), np.nan)
    corr = pd.DataFrame(R, index=variables, columns=variables)
    gam = pd.DataFrame(G, index=labels, columns=labels)
    res = PolychoricResult(correlation=corr, thresholds=thresholds, pairs=pairs, gamma=gam,
                           n=int(n), n_dropped=n_dropped, items=tuple(items), categories=cats,
                           notes=tuple(notes), continuous=tuple(cont), missing=missing,
                           **extra)
    return res, dict(codes=codes, K=K, T=T, prop=prop, ia=ia, ib=ib, rho=rho, active=active,
                     th_start=th_start, n_th=n_th, freq=freq, Xc=Xc, R=R, obs=obs,
                     obs_c=obs_c, mean=c_mean, var=c_var)


def _polyserial(codes, T, K, Z, jj, cc, mask=None):
    """Two-step polyserial rho for pairs (ordinal jj[m], continuous cc[m]), lavaan's bounds;
    ``mask`` (n, m): the rows where both are observed (None: every row)."""
    lo = T[jj[None, :], codes[:, jj]]                 # (n, m) lower boundary of the category
    hi = T[jj[None, :], codes[:, jj] + 1]
    z = Z[:, cc]
    w = np.ones(z.shape) if mask is None else mask.astype(float)

    def score(r):
        s = np.sqrt(1.0 - r * r)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            uh = np.where(np.isfinite(hi), (hi - r * z) / s, np.inf)
            ul = np.where(np.isfinite(lo), (lo - r * z) / s, -np.inf)
            lik = ndtr(uh) - ndtr(ul)
            dh = np.where(np.isfinite(hi), _phi(uh) * (r * hi - z), 0.0)
            dl = np.where(np.isfinite(lo), _phi(ul) * (r * lo - z), 0.0)
            d = (dh - dl) / s ** 3
            return (w * d / lik).sum(axis=0), (w * np.log(lik)).sum(axis=0)

    # start: Pearson correlation of z with the category's normal score
    r = np.clip(np.array([np.corrcoef(codes[w[:, m] > 0, j], Z[w[:, m] > 0, c])[0, 1]
                          for m, (j, c) in enumerate(zip(jj, cc, strict=True))]), -0.9, 0.9)
    bound = 0.995
    done = np.zeros(len(r), dtype=bool)
    for _ in range(100):
        g, ll = score(r)
        eps = 1e-6
        h = (score(np.clip(r + eps, -bound, bound))[0] - score(np.clip(r - eps, -bound, bound))[0]) \
            / (np.clip(r + eps, -bound, bound) - np.clip(r - eps, -bound, bound))
        step = np.where(h < 0, -g / np.where(h < 0, h, -1.0), 0.1 * np.sign(g))
        new = np.clip(r + step, -bound, bound)
        for _half in range(30):
            worse = score(new)[1] < ll - 1e-12 * np.abs(ll)
            if not worse.any():
                break
            new = np.where(worse, (new + r) / 2.0, new)
        new = np.where(done, r, new)
        done = done | (np.abs(new - r) < 1e-11) | ((np.abs(new) >= bound) & (np.abs(r) >= bound))
        r = new
        if done.all():
            break
    return r, done


def _bvreg_rho(z1, z2):
    """lavaan's two-step correlation of two continuous variables given their (univariate)
    means and variances: the maximum of the bivariate normal likelihood of the standardized
    values ``z1``, ``z2`` (complete pairs) in rho, a root of ``n r (1 - r^2) + (1 + r^2) s12 -
    r (s11 + s22)``. With nothing missing it is the Pearson correlation (divisor N)."""
    n, s12 = len(z1), float(z1 @ z2)
    s11, s22 = float(z1 @ z1), float(z2 @ z2)
    roots = np.roots([-n, s12, n - s11 - s22, s12])
    roots = roots[(np.abs(roots.imag) < 1e-10) & (np.abs(roots.real) < 1.0)].real
    if not roots.size:
        return float(np.clip(s12 / np.sqrt(s11 * s22), -RHO_BOUND, RHO_BOUND))

    def loglik(r):
        return -0.5 * n * np.log(1 - r * r) - (s11 - 2 * r * s12 + s22) / (2 * (1 - r * r))
    return float(max(roots, key=loglik))


def _mixed(R_ord, pairs_ord, codes, T, K, Xc, items, cont, notes, observed):
    """Add polyserial (item x continuous) and Pearson (continuous x continuous) correlations;
    ``observed`` = (item mask, continuous mask, continuous means, variances) (masks None when
    nothing is missing): each pair from its complete rows, given the univariate estimates."""
    obs, obs_c, mean, var = observed
    p, q = len(items), len(cont)
    sd = np.sqrt(var)                                    # divisor N, as lavaan
    Z = (Xc - mean) / sd
    R = np.eye(p + q)
    R[:p, :p] = R_ord
    if obs_c is None:
        R[p:, p:] = (Z.T @ Z) / len(Z)
    else:
        for a in range(q):
            for b in range(a + 1, q):
                both = obs_c[:, a] & obs_c[:, b]
                R[p + a, p + b] = R[p + b, p + a] = _bvreg_rho(Z[both, a], Z[both, b])
    np.fill_diagonal(R, 1.0)
    jj, cc = np.meshgrid(np.arange(p), np.arange(q), indexing="ij")
    jj, cc = jj.ravel(), cc.ravel()
    rho = np.empty(len(jj))
    conv = np.empty(len(jj), dtype=bool)
    block = max(1, _PAIR_VALUES // len(Z))          # pairs per block
    for b0 in range(0, len(jj), block):
        sl = slice(b0, b0 + block)
        mask = None
        if obs is not None or obs_c is not None:
            mask = np.ones((len(Z), len(jj[sl])), dtype=bool)
            mask = _masked(mask, None if obs is None else obs[:, jj[sl]],
                           None if obs_c is None else obs_c[:, cc[sl]]).astype(bool)
        rho[sl], conv[sl] = _polyserial(codes, T, K, Z, jj[sl], cc[sl], mask)
    R[jj, p + cc] = rho
    R[p + cc, jj] = rho
    for j, c, ok, r in zip(jj, cc, conv, rho, strict=True):
        if not ok or abs(r) >= 0.995:
            note = (f"{items[j]}~~{cont[c]}: the polyserial correlation "
                    + ("did not converge" if not ok else f"reached lavaan's bound {r:+.3f}"))
            notes.append(note)
            warn(note, ConnectionWarning if ok else ConvergenceWarning)
    variables = items + cont
    types = ["polychoric"] * (p + q)
    rows = []
    ord_pairs = pairs_ord.set_index(["lhs", "rhs"])
    for b in range(p + q):            # lavaan's order: below the diagonal, column by column
        for a in range(b + 1, p + q):
            lhs, rhs = variables[b], variables[a]
            if a < p:
                row = ord_pairs.loc[(lhs, rhs)]
                rows.append({"lhs": lhs, "rhs": rhs, "type": types[a], "est": row["est"],
                             "se": row["se"], "empty_cells": row["empty_cells"],
                             "note": row["note"]})
            else:
                kind = "polyserial" if b < p else "pearson"
                rows.append({"lhs": lhs, "rhs": rhs, "type": kind, "est": R[a, b],
                             "se": np.nan, "empty_cells": 0, "note": ""})
    return R, pd.DataFrame(rows)


def _ordinal_terms(K, T, prop, ia, ib, rho, active, th_start, n_th, freq):
    """The ordinal pieces of Muthen's (1984) sandwich: the threshold scores per category
    ``uscore`` (p, kmax, kmax-1), the rho score per cell ``srho`` (P, kmax, kmax) and ``A21``
    (P x n_th: sum over cases of the rho score times the pair's threshold scores)."""
    p = len(K)
    kmax = T.shape[1] - 1
    P = len(ia)
    r = np.where(active, rho, np.clip(rho, -RHO_BOUND, RHO_BOUND))
    T1, T2 = T[ia], T[ib]

    # univariate threshold scores per category: (p, kmax, kmax-1)
    ph = _phi(T)                                            # (p, kmax+1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_p = np.where(prop > 0, 1.0 / np.where(prop > 0, prop, 1.0), 0.0)   # (p, kmax)
    uscore = np.zeros((p, kmax, max(kmax - 1, 1)))
    for c in range(kmax):
        if c < kmax - 1:
            uscore[:, c, c] += ph[:, c + 1] * inv_p[:, c]        # upper boundary of c is t_c
        if c >= 1:
            uscore[:, c, c - 1] -= ph[:, c] * inv_p[:, c]        # lower boundary is t_(c-1)

    # bivariate pieces at the estimates
    pi = _cells(_grid_cdf(T1, T2, r))
    dens, _ = _grid_pdf(T1, T2, r)
    dpi = _cells(dens)
    with np.errstate(invalid="ignore", divide="ignore"):
        okc = pi > 0
        srho = np.where(okc, dpi / np.where(okc, pi, 1.0), 0.0)          # (P, kmax, kmax)
        s = np.sqrt(1.0 - r * r)[:, None, None]
        # d Phi2(x, y) / dx = phi(x) Phi((y - r x)/s): G1[q, a', b] over boundaries a' of item ia
        x = np.where(np.isfinite(T1), T1, 0.0)[:, :, None]
        yb = T2[:, None, :]
        cdfz = ndtr((yb - r[:, None, None] * x) / s)                      # (P, kmax+1, kmax+1)
        cdfz = np.where(np.isfinite(yb), cdfz, np.where(yb > 0, 1.0, 0.0))
        g1 = _phi(T1)[:, :, None] * (cdfz[:, :, 1:] - cdfz[:, :, :-1])   # (P, kmax+1, kmax)
        y = np.where(np.isfinite(T2), T2, 0.0)[:, None, :]
        xa = T1[:, :, None]
        cdfz2 = ndtr((xa - r[:, None, None] * y) / s)
        cdfz2 = np.where(np.isfinite(xa), cdfz2, np.where(xa > 0, 1.0, 0.0))
        g2 = _phi(T2)[:, None, :] * (cdfz2[:, 1:, :] - cdfz2[:, :-1, :])  # (P, kmax, kmax+1)
        inv_pi = np.where(okc, 1.0 / np.where(okc, pi, 1.0), 0.0)

    # freq: the observed tables (not the zero-added ones), as lavaan's scores use the data
    # A21: sum over cells of n_ab * srho_ab * d log pi_ab / d tau
    w = freq * srho * inv_pi                                               # (P, kmax, kmax)
    # threshold k of the row item is the upper boundary of row k and the lower one of row k + 1
    # (padded rows and columns have w = 0 and g = 0, so sums may run over all kmax cells)
    u1 = ((w[:, :-1, :] - w[:, 1:, :]) * g1[:, 1:kmax, :]).sum(axis=2)       # (P, kmax - 1)
    u2 = ((w[:, :, :-1] - w[:, :, 1:]) * g2[:, :, 1:kmax]).sum(axis=1)       # (P, kmax - 1)
    A21 = np.zeros((P, n_th))
    ks = np.arange(kmax - 1)
    rows = np.broadcast_to(np.arange(P)[:, None], (P, kmax - 1))
    for item, u in ((ia, u1), (ib, u2)):
        use = ks[None, :] < (K[item] - 1)[:, None]
        cols = th_start[item][:, None] + ks[None, :]
        A21[rows[use], cols[use]] = u[use]
    return uscore, srho, A21


def _gamma(codes, K, T, prop, ia, ib, rho, active, th_start, n_th, freq, obs=None):
    """lavaan's NACOV of (thresholds, correlations): N * B^-1 S'S B^-T (Muthen 1984). With
    missing values (``obs``, pairwise deletion) a case's threshold scores of an item it did
    not answer and its rho scores of a pair it did not answer both of are 0 (lavaan's NA
    scores, left out of its cross-products); N is the number of rows."""
    n, p = codes.shape
    kmax = T.shape[1] - 1
    P = len(ia)
    uscore, srho, A21 = _ordinal_terms(K, T, prop, ia, ib, rho, active, th_start, n_th, freq)

    # score matrix, accumulated in blocks: S = [threshold scores | rho scores]
    col_item = np.concatenate([np.full(K[j] - 1, j) for j in range(p)])
    col_k = np.concatenate([np.arange(K[j] - 1) for j in range(p)])
    kk = kmax * kmax
    srho_flat = srho.reshape(P * kk)
    offs = np.arange(P) * kk
    m = n_th + P
    INNER = np.zeros((m, m))
    codes32 = codes.astype(np.int32)
    uflat = uscore.reshape(-1)
    uoff = (col_item * kmax * uscore.shape[2] + col_k).astype(np.int32)
    ustride = np.int32(uscore.shape[2])
    offs = offs.astype(np.int32)
    for start in range(0, n, _CHUNK):
        c = codes32[start:start + _CHUNK]
        sth = uflat.take(uoff[None, :] + c[:, col_item] * ustride)          # (rows, n_th)
        cell = c[:, ia] * np.int32(kmax)
        cell += c[:, ib]
        cell += offs[None, :]
        sr = srho_flat.take(cell)                                          # (rows, P)
        if obs is not None:
            o = obs[start:start + _CHUNK]
            sth = sth * o[:, col_item]
            sr = sr * (o[:, ia] & o[:, ib])
        S = np.concatenate([sth, sr], axis=1)
        INNER += S.T @ S
    A11 = np.zeros((n_th, n_th))
    for j in range(p):
        sl = slice(th_start[j], th_start[j + 1])
        A11[sl, sl] = INNER[sl, sl]
    a22 = np.diag(INNER)[n_th:].copy()
    A11inv = np.zeros_like(A11)
    for j in range(p):
        sl = slice(th_start[j], th_start[j + 1])
        A11inv[sl, sl] = np.linalg.inv(A11[sl, sl])
    with np.errstate(divide="ignore"):
        a22inv = np.where(a22 > 0, 1.0 / a22, np.nan)
    Binv = np.zeros((m, m))
    Binv[:n_th, :n_th] = A11inv
    Binv[n_th:, n_th:] = np.diag(a22inv)
    Binv[n_th:, :n_th] = -(a22inv[:, None] * A21) @ A11inv
    G = n * (Binv @ INNER @ Binv.T)
    return (G + G.T) / 2.0


# --------------------------------------------------------------------------------------------
# ordinal and continuous variables together (lavaan's sample statistics for sem(ordered=))
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MixedStatistics:
    """lavaan's sample statistics of ordinal and continuous variables (``muthen1984``), in
    the order of ``names``: ``obs`` = the thresholds of each ordinal variable and minus the
    mean of each continuous one (variable by variable), the continuous variables' variances,
    then the covariances below the diagonal column by column (polychoric correlations, a
    polyserial correlation times the continuous SD, Pearson covariances; divisor N);
    ``gamma`` = N times their asymptotic covariance; ``cov`` the matrix behind the pairs (with
    the variances on the diagonal, 1 for ordinal variables), ``mean`` the continuous means (0
    for ordinal ones); ``th_var`` the variable of each entry of the first block, ``th_num``
    whether it is a (minus) mean, ``var_idx`` the continuous variables, ``pairs`` (ia, ib)."""

    names: tuple
    labels: tuple
    obs: np.ndarray
    gamma: np.ndarray
    cov: np.ndarray
    mean: np.ndarray
    th_var: np.ndarray
    th_num: np.ndarray
    var_idx: np.ndarray
    pairs: tuple
    polychoric: PolychoricResult


def mixed_statistics(data: pd.DataFrame, names, ordinal,
                     missing: str = "listwise") -> MixedStatistics:
    """The statistics of the complete rows of ``data[names]`` (``missing="pairwise"``: of
    the available values, see :func:`polychoric`) with the ``ordinal`` ones treated as
    ordinal (at least one of each kind), lavaan's two-step estimates and Gamma."""
    names = [str(v) for v in names]
    items = [v for v in names if v in set(ordinal)]
    cont = [v for v in names if v not in set(ordinal)]
    res, t = _two_step(data, items, cont, MAX_CATEGORIES, False, min_items=1, missing=missing)
    pos = {v: k for k, v in enumerate(items + cont)}
    return _assemble_mixed(names, items, cont, pos, res, t)


def _uni_scores(t, names, items, cont, pos):
    """Per case the univariate scores in lavaan's order (thresholds / means, then variances),
    the columns of each variable and the statistics themselves."""
    codes, K, T, prop = t["codes"], t["K"], t["T"], t["prop"]
    Xc, obs, obs_c = t["Xc"], t.get("obs"), t.get("obs_c")
    n = codes.shape[0]
    mean, var = t["mean"], t["var"]
    th_cols, th_obs, th_var, th_num, cols = [], [], [], [], {}
    uscore = _ordinal_terms(K, T, prop, t["ia"], t["ib"], t["rho"], t["active"],
                            t["th_start"], t["n_th"], t["freq"])[0]
    col = 0
    for v, name in enumerate(names):
        k = pos[name]
        if name in set(items):
            m = K[k] - 1
            th_cols.append(_masked(uscore[k][codes[:, k], :m],
                                   None if obs is None else obs[:, k, None]))
            th_obs.extend(T[k, 1:K[k]])
            th_var.extend([v] * m)
            th_num.extend([False] * m)
            cols[name] = list(range(col, col + m))
            col += m
        else:
            c = k - len(items)
            th_cols.append(_masked((Xc[:, c] - mean[c]) / var[c],
                                   None if obs_c is None else obs_c[:, c])[:, None])
            th_obs.append(-mean[c])
            th_var.append(v)
            th_num.append(True)
            cols[name] = [col]
            col += 1
    var_cols = []
    for name in names:
        if name in set(cont):
            c = pos[name] - len(items)
            res = Xc[:, c] - mean[c]
            var_cols.append(_masked(-1.0 / (2 * var[c]) + res * res / (2 * var[c] ** 2),
                                    None if obs_c is None else obs_c[:, c]))
            cols[name] = cols[name] + [col]
            col += 1
    S = np.column_stack(th_cols + ([np.column_stack(var_cols)] if var_cols else []))
    assert S.shape == (n, col)
    return S, cols, np.array(th_obs), np.array(th_var), np.array(th_num), mean, var


def _pair_num_ord(x, m, v, codes_j, Tj, Kj, rho):
    """lavaan's ``lav_bvmix_cor_scores``: per case d l / d (rho, mean, var, thresholds)."""
    sd = np.sqrt(v)
    z = (x - m) / sd
    R = np.sqrt(1.0 - rho * rho)
    z1, z2 = Tj[codes_j + 1], Tj[codes_j]
    with np.errstate(invalid="ignore", over="ignore"):
        s1 = np.where(np.isfinite(z1), (z1 - rho * z) / R, z1)
        s2 = np.where(np.isfinite(z2), (z2 - rho * z) / R, z2)
        y1, y2 = _phi(s1), _phi(s2)
        py = np.maximum(ndtr(s1) - ndtr(s2), np.finfo(float).eps)
        inv = 1.0 / py
        dmu = (z + inv * (rho / R) * (y1 - y2)) / sd
        dvar = ((z * z - 1.0) + inv * rho * z / R * (y1 - y2)) / (2.0 * v)
        t1 = np.where(np.isfinite(z1), y1 * (np.where(np.isfinite(z1), z1, 0.0) * rho - z), 0.0)
        t2 = np.where(np.isfinite(z2), y2 * (np.where(np.isfinite(z2), z2, 0.0) * rho - z), 0.0)
    drho = inv / R ** 3 * (t1 - t2)
    dth = np.zeros((len(x), Kj - 1))
    rows = np.arange(len(x))
    up = codes_j < Kj - 1
    dth[rows[up], codes_j[up]] += (y1 * inv / R)[up]
    lo = codes_j > 0
    dth[rows[lo], codes_j[lo] - 1] -= (y2 * inv / R)[lo]
    return drho, dmu, dvar, dth


def _pair_num_num(x1, m1, v1, x2, m2, v2, rho):
    """lavaan's ``lav_bvreg_cor_scores`` (y1 = x1, y2 = x2)."""
    y1c, y2c = x1 - m1, x2 - m2
    s1, s2 = np.sqrt(v1), np.sqrt(v2)
    R = 1.0 - rho * rho
    dmu1 = (2 * y1c / v1 - 2 * rho * y2c / (s1 * s2)) / (2 * R)
    dmu2 = -(2 * rho * y1c / (s1 * s2) - 2 * y2c / v2) / (2 * R)
    dv1 = -(0.5 / v1 - (y1c * y1c / (v1 * v1) - rho * y1c * y2c / (v1 * s1 * s2)) / (2 * R))
    dv2 = -(0.5 / v2 + (rho * y1c * y2c / (v2 * s1 * s2) - y2c * y2c / (v2 * v2)) / (2 * R))
    zz = y1c * y1c / v1 - 2 * rho * y1c * y2c / (s1 * s2) + y2c * y2c / v2
    drho = rho / R + (y1c * y2c / (s1 * s2 * R) - zz * rho / (R * R))
    return drho, dmu1, dv1, dmu2, dv2


def _check_two_valued(Xc, cont, obs_c=None) -> None:
    """A continuous variable with two values (a 0/1 dummy) has collinear mean and variance
    scores, so the sandwich's block for it cannot be inverted (lavaan warns "trouble
    constructing W matrix" and uses a generalized inverse): refused, naming it. ``obs_c``:
    the observed values (None: all)."""
    two = [c for j, c in enumerate(cont)
           if len(np.unique(Xc[:, j] if obs_c is None else Xc[obs_c[:, j], j])) <= 2]
    if two:
        raise DataError(
            "a continuous variable with two values among ordinal ones has no asymptotic "
            "covariance (its mean and variance are one statistic)", column=two[0],
            values=two, expected="continuous variables with more than two values",
            hint="treat it as ordinal (a binary item: add it to the ordinal ones), or leave "
                 "it out")


def _assemble_mixed(names, items, cont, pos, res, t):
    """Muthen's (1984) sandwich over ordinal and continuous variables, as lavaan's
    ``muthen1984``: B^-1 S'S B^-T with B's univariate blocks and its pair rows, then the delta
    method from correlations to covariances (``H``) and the sign of the means flipped."""
    _check_two_valued(t["Xc"], cont, t.get("obs_c"))
    S1, cols, th_obs, th_var, th_num, mean, var = _uni_scores(t, names, items, cont, pos)
    codes, K, T, Xc, Rf = t["codes"], t["K"], t["T"], t["Xc"], t["R"]
    o_item, o_cont = t.get("obs"), t.get("obs_c")

    def seen(name):          # the mask of a variable's observed rows (None: all)
        k = pos[name]
        if name in set(items):
            return None if o_item is None else o_item[:, k]
        return None if o_cont is None else o_cont[:, k - len(items)]
    n, m1 = S1.shape
    nv = len(names)
    uni_ord = _ordinal_terms(K, T, t["prop"], t["ia"], t["ib"], t["rho"], t["active"],
                             t["th_start"], t["n_th"], t["freq"])
    _, srho, A21o = uni_ord
    kmax = T.shape[1] - 1
    ord_pair = {(int(a), int(b)): q for q, (a, b) in enumerate(zip(t["ia"], t["ib"]))}
    ia, ib, labels, obs, sc_cols, a21_rows, h21, h22 = [], [], [], [], [], [], [], []
    sd = np.sqrt(var)
    for jv in range(nv):
        for iv in range(jv + 1, nv):
            a, b = names[jv], names[iv]
            ia.append(jv)
            ib.append(iv)
            labels.append(f"{a}~~{b}")
            ka, kb = pos[a], pos[b]
            row = np.zeros(m1)
            hrow = np.zeros(m1)
            r = Rf[ka, kb]
            if a in set(items) and b in set(items):
                q = ord_pair[(min(ka, kb), max(ka, kb))]
                aa, bb = (ka, kb) if ka < kb else (kb, ka)
                sc = _masked(srho[q].reshape(-1)[codes[:, aa] * kmax + codes[:, bb]],
                             seen(a), seen(b))
                for it, k in ((items[aa], aa), (items[bb], bb)):
                    th = A21o[q, t["th_start"][k]:t["th_start"][k + 1]]
                    row[cols[it]] = th
                obs.append(r)
                h = 1.0
            elif a in set(items) or b in set(items):
                it, cn = (a, b) if a in set(items) else (b, a)
                k, c = pos[it], pos[cn] - len(items)
                sc, dmu, dvar, dth = _pair_num_ord(Xc[:, c], mean[c], var[c], codes[:, k],
                                                   T[k], K[k], r)
                sc = _masked(sc, seen(a), seen(b))
                row[cols[it]] = sc @ dth
                row[cols[cn]] = [sc @ dmu, sc @ dvar]
                hrow[cols[cn][1]] = r / (2 * sd[c])
                obs.append(r * sd[c])
                h = sd[c]
            else:   # y1 = the later variable (lavaan's i), y2 = the earlier (j)
                c1, c2 = pos[b] - len(items), pos[a] - len(items)
                sc, dmu1, dv1, dmu2, dv2 = _pair_num_num(Xc[:, c1], mean[c1], var[c1],
                                                         Xc[:, c2], mean[c2], var[c2], r)
                sc = _masked(sc, seen(a), seen(b))
                row[cols[b]] = [sc @ dmu1, sc @ dv1]
                row[cols[a]] = [sc @ dmu2, sc @ dv2]
                hrow[cols[b][1]] = sd[c2] * r / (2 * sd[c1])
                hrow[cols[a][1]] = sd[c1] * r / (2 * sd[c2])
                obs.append(r * sd[c1] * sd[c2])
                h = sd[c1] * sd[c2]
            sc_cols.append(sc)
            a21_rows.append(row)
            h21.append(hrow)
            h22.append(h)
    P = len(sc_cols)
    S = np.column_stack([S1] + ([np.column_stack(sc_cols)] if P else []))
    inner = S.T @ S
    m = m1 + P
    binv = np.zeros((m, m))
    for name in names:
        idx = np.array(cols[name])
        binv[np.ix_(idx, idx)] = np.linalg.inv(inner[np.ix_(idx, idx)])
    a22 = np.diag(inner)[m1:]
    with np.errstate(divide="ignore"):
        a22inv = np.where(a22 > 0, 1.0 / a22, np.nan)
    binv[m1:, m1:] = np.diag(a22inv)
    if P:
        binv[m1:, :m1] = -(a22inv[:, None] * np.array(a21_rows)) @ binv[:m1, :m1]
    W = binv @ inner @ binv.T
    H = np.eye(m)
    if P:
        H[m1:, :m1] = np.array(h21)
        H[m1:, m1:] = np.diag(h22)
    W = H @ W @ H.T
    flip = np.ones(m)
    flip[np.flatnonzero(th_num)] = -1.0
    G = n * (flip[:, None] * W * flip[None, :])
    G = (G + G.T) / 2.0
    n_th = len(th_obs)
    var_idx = np.array([v for v, name in enumerate(names) if name in set(cont)], dtype=int)
    lab = [f"{names[v]}~1" if num else "" for v, num in zip(th_var, th_num)]
    k_in = {}
    for e in range(n_th):
        if not th_num[e]:
            v = th_var[e]
            k_in[v] = k_in.get(v, 0) + 1
            lab[e] = f"{names[v]}|t{k_in[v]}"
    lab += [f"{names[v]}~~{names[v]}" for v in var_idx] + labels
    cov = np.eye(nv)
    cov[np.array(ib, dtype=int), np.array(ia, dtype=int)] = obs
    cov[np.array(ia, dtype=int), np.array(ib, dtype=int)] = obs
    mu = np.zeros(nv)
    for v in var_idx:
        c = pos[names[v]] - len(items)
        cov[v, v] = var[c]
        mu[v] = mean[c]
    allobs = np.concatenate([th_obs, var[[pos[names[v]] - len(items) for v in var_idx]],
                             np.array(obs)])
    return MixedStatistics(names=tuple(names), labels=tuple(lab), obs=allobs, gamma=G, cov=cov,
                           mean=mu, th_var=th_var, th_num=th_num, var_idx=var_idx,
                           pairs=(np.array(ia, dtype=int), np.array(ib, dtype=int)),
                           polychoric=res)


# --------------------------------------------------------------------------------------------
# conditional on exogenous covariates (lavaan's conditional.x = TRUE with ordinal outcomes)
# --------------------------------------------------------------------------------------------

_Z_CAP = 100.0   # lavaan's cap of the standardized boundaries (pnorm(100) = 1)


@dataclass(frozen=True)
class ConditionalStatistics:
    """lavaan's sample statistics of ordinal outcomes given exogenous covariates
    (``conditional.x = TRUE``): ``obs`` = the thresholds of each outcome's probit regression
    on the covariates (outcome by outcome), its slopes (covariate by covariate, outcomes
    within), the residual polychoric correlations below the diagonal column by column;
    ``gamma`` N times their asymptotic covariance (``muthen1984`` with ``eXo``); ``x_cov``,
    ``x_mean`` the covariates' moments (divisor N)."""

    labels: tuple
    obs: np.ndarray
    gamma: np.ndarray
    n_th: int
    th_var: np.ndarray      # outcome (0-based, among the outcomes) of each threshold
    pairs: tuple            # (ia, ib) among the outcomes
    res_cor: np.ndarray
    x_cov: np.ndarray
    x_mean: np.ndarray
    categories: dict
    n: int
    th_num: np.ndarray = None       # entries of the first block that are minus an intercept
    var_pos: np.ndarray = None      # the continuous outcomes (their residual variances)
    y_mean: np.ndarray = None       # the continuous outcomes' means (0 for ordinal ones)


def _bounds(tau, codes, eta):
    """Per case the upper and lower standardized boundaries (lavaan's z1, z2), capped."""
    t = np.concatenate([[-_Z_CAP * 10], tau, [_Z_CAP * 10]])
    z1 = np.minimum(t[codes + 1] - eta, _Z_CAP)
    z2 = np.maximum(t[codes] - eta, -_Z_CAP)
    return z1, z2


def _probit_scores(tau, beta, codes, X):
    """Casewise log-likelihood and scores (thresholds, slopes) of an ordinal probit."""
    eta = X @ beta
    z1, z2 = _bounds(tau, codes, eta)
    p = np.maximum(ndtr(z1) - ndtr(z2), 1e-300)
    p1, p2 = _phi(z1), _phi(z2)
    k = len(tau)
    sth = np.zeros((len(codes), k))
    rows = np.arange(len(codes))
    up = codes < k
    sth[rows[up], codes[up]] += (p1 / p)[up]
    lo = codes > 0
    sth[rows[lo], codes[lo] - 1] -= (p2 / p)[lo]
    ssl = -X * ((p1 - p2) / p)[:, None]
    return np.log(p), np.column_stack([sth, ssl])


def _probit_fit(codes, K, X, item):
    """ML ordinal probit regression (thresholds, slopes) by Newton steps with a numerical
    Hessian of the analytic gradient; lavaan's ``lav_uvord_fit``."""
    cum = np.cumsum(np.bincount(codes, minlength=K))[:-1] / len(codes)
    par = np.concatenate([ndtri(cum), np.zeros(X.shape[1])])
    k = K - 1

    def f(v):
        ll, sc = _probit_scores(v[:k], v[k:], codes, X)
        return ll.sum(), sc.sum(axis=0)

    ll, g = f(par)
    for _ in range(200):
        h = np.empty((len(par), len(par)))
        for j in range(len(par)):
            e = np.zeros(len(par))
            e[j] = 1e-6 * max(1.0, abs(par[j]))
            h[:, j] = (f(par + e)[1] - f(par - e)[1]) / (2 * e[j])
        h = (h + h.T) / 2
        step = np.linalg.lstsq(h, -g, rcond=None)[0]
        for _half in range(40):
            new = par + step
            if np.all(np.diff(new[:k]) > 0):
                ll_new, g_new = f(new)
                if ll_new >= ll - 1e-12 * abs(ll):
                    break
            step = step / 2
        else:
            break
        done = np.max(np.abs(new - par)) < 1e-10
        par, ll, g = new, ll_new, g_new
        if done:
            break
    if not np.all(np.isfinite(par)):  # pragma: no cover - a separated outcome
        raise DataError("the probit regression of an ordinal outcome on the covariates does "
                        "not converge", column=str(item),
                        hint="collapse sparse categories or pass conditional_x=False")
    return par[:k], par[k:]


def _bv_terms(za1, za2, zb1, zb2, rho):
    """Casewise likelihood of a pair given the covariates and its scores (lavaan's
    ``lav_bvord_cor_scores`` with eXo): lik, d/d rho, the Z terms of each outcome."""
    lik = (bivariate_normal_cdf(za1, zb1, rho) - bivariate_normal_cdf(za2, zb1, rho)
           - bivariate_normal_cdf(za1, zb2, rho) + bivariate_normal_cdf(za2, zb2, rho))
    R = np.sqrt(1.0 - rho * rho)

    def dens(x, y):
        return np.exp(-(x * x - 2 * rho * x * y + y * y) / (2 * R * R)) / (_TWO_PI * R)

    drho = dens(za1, zb1) - dens(za2, zb1) - dens(za1, zb2) + dens(za2, zb2)
    a1 = _phi(za1) * (ndtr((zb1 - rho * za1) / R) - ndtr((zb2 - rho * za1) / R))
    a2 = _phi(za2) * (ndtr((zb1 - rho * za2) / R) - ndtr((zb2 - rho * za2) / R))
    b1 = _phi(zb1) * (ndtr((za1 - rho * zb1) / R) - ndtr((za2 - rho * zb1) / R))
    b2 = _phi(zb2) * (ndtr((za1 - rho * zb2) / R) - ndtr((za2 - rho * zb2) / R))
    return lik, drho, (a1, a2), (b1, b2)


_GL_GENZ = {n: np.polynomial.legendre.leggauss(n) for n in (6, 12)}


def _bvn_scalar(h, k, r):
    """:func:`bivariate_normal_cdf` for one correlation ``r``: Genz's (2004) choice of 6 or
    12 Gauss-Legendre points for ``|r| < 0.3`` or ``< 0.75`` (double precision there), else
    the general function (20 points, or the high-correlation branch)."""
    ar = abs(r)
    if ar >= 0.75:
        return bivariate_normal_cdf(h, k, r)
    x, w = _GL_GENZ[6 if ar < 0.3 else 12]
    asr = np.arcsin(r)
    sn = np.sin(asr * (x + 1.0) / 2.0)
    hk = h * k
    hs = (h * h + k * k) / 2.0
    f = np.exp((hk[:, None] * sn[None, :] - hs[:, None]) / (1.0 - sn * sn)[None, :]) @ w
    return np.clip(f * asr / (2.0 * _TWO_PI) + ndtr(h) * ndtr(k), 0.0, 1.0)


def _capped_cdf(a, b, rho):
    """Phi2(a, b; rho) where a boundary at the cap (+-100) is infinite: the margin or 0."""
    out = np.zeros(a.shape)
    lo = (a <= -_Z_CAP) | (b <= -_Z_CAP)
    ha, hb = a >= _Z_CAP, b >= _Z_CAP
    both = ~lo & ~ha & ~hb
    out[both] = _bvn_scalar(a[both], b[both], rho)
    m = ~lo & ha & ~hb
    out[m] = ndtr(b[m])
    m = ~lo & hb & ~ha
    out[m] = ndtr(a[m])
    out[~lo & ha & hb] = 1.0
    return out


def _bv_score(za1, za2, zb1, zb2, rho):
    """Casewise likelihood and d/d rho of a pair given the covariates."""
    lik = (_capped_cdf(za1, zb1, rho) - _capped_cdf(za2, zb1, rho)
           - _capped_cdf(za1, zb2, rho) + _capped_cdf(za2, zb2, rho))
    q = 2.0 * (1.0 - rho * rho)
    norm = 1.0 / (_TWO_PI * np.sqrt(1.0 - rho * rho))
    d = norm * (np.exp(-(za1 * za1 - 2 * rho * za1 * zb1 + zb1 * zb1) / q)
                - np.exp(-(za2 * za2 - 2 * rho * za2 * zb1 + zb1 * zb1) / q)
                - np.exp(-(za1 * za1 - 2 * rho * za1 * zb2 + zb2 * zb2) / q)
                + np.exp(-(za2 * za2 - 2 * rho * za2 * zb2 + zb2 * zb2) / q))
    return np.maximum(lik, 1e-300), d


def _bv_rho(za1, za2, zb1, zb2):
    """The residual polychoric correlation of a pair given the covariates (two-step ML):
    scoring steps (the outer product of the casewise scores as information), then the secant
    on the score, halved while the log-likelihood falls, within lavaan's bounds."""

    def at(r):
        lik, d = _bv_score(za1, za2, zb1, zb2, r)
        return float(np.sum(np.log(lik))), d / lik

    r, (ll, sc) = 0.0, at(0.0)
    r_old = g_old = None
    for _ in range(100):
        g = float(sc.sum())
        step = g / max(float(sc @ sc), 1e-300)
        if g_old is not None and g != g_old:
            secant = -g * (r - r_old) / (g - g_old)
            if np.isfinite(secant) and abs(secant) <= 2 * abs(step) + 1e-8:
                step = secant
        for _half in range(60):
            cand = float(np.clip(r + step, -RHO_BOUND, RHO_BOUND))
            ll_c, sc_c = at(cand)
            if ll_c >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        r_old, g_old = r, g
        r, ll, sc = cand, ll_c, sc_c
        if abs(r - r_old) < 1e-10:
            break
    return r


def _outcome_fit(kind, codes_j, K_j, y, X, name):
    """One outcome's regression on the covariates: (stat of the first block, slopes, residual
    variance or None, casewise scores [first | slopes | variance], per-case boundaries or
    standardized residuals)."""
    n = len(X)
    if kind == "o":
        tau, beta = _probit_fit(codes_j, K_j, X, name)
        sc = _probit_scores(tau, beta, codes_j, X)[1]
        return tau, beta, None, sc, _bounds(tau, codes_j, X @ beta)
    X1 = np.column_stack([np.ones(n), X])
    coef = np.linalg.lstsq(X1, y, rcond=None)[0]
    e = y - X1 @ coef
    v = float(e @ e) / n
    sc = np.column_stack([X1 * (e / v)[:, None], -1.0 / (2 * v) + e * e / (2 * v * v)])
    return coef[:1], coef[1:], v, sc, e


def _pair_conditional(ka, kb, fa, fb, ca, cb, X, Ka, Kb):
    """rho of a pair of outcomes given the covariates and its scores: (rho, casewise rho
    score, {outcome: d loglik / d (first block, slopes, variance)} summed against the rho
    score is done by the caller; here the casewise derivative matrices), H21 parts, H22."""
    if ka == "o" and kb == "o":
        (za1, za2), (zb1, zb2) = fa[4], fb[4]
        rho = _bv_rho(za1, za2, zb1, zb2)
        lik, drho, (a1, a2), (b1, b2) = _bv_terms(za1, za2, zb1, zb2, rho)
        sc = drho / lik
        return rho, sc, (_ord_derivs(ca, Ka, a1, a2, lik, X), _ord_derivs(cb, Kb, b1, b2, lik,
                                                                            X)), None, 1.0
    if ka == "n" and kb == "n":
        e1, e2 = fa[4], fb[4]
        v1, v2 = fa[2], fb[2]
        s1, s2 = np.sqrt(v1), np.sqrt(v2)
        rho = float(e1 @ e2) / len(e1) / (s1 * s2)
        sc, dmu1, dv1, dmu2, dv2 = _pair_num_num(e1, 0.0, v1, e2, 0.0, v2, rho)
        d1 = np.column_stack([dmu1, dmu1[:, None] * X, dv1])
        d2 = np.column_stack([dmu2, dmu2[:, None] * X, dv2])
        return rho, sc, (d1, d2), (s2 * rho / (2 * s1), s1 * rho / (2 * s2)), s1 * s2
    # one continuous (y1), one ordinal (y2): lavaan's lav_bvmix with eXo
    num_first = ka == "n"
    fn, fo, co, Ko = (fa, fb, cb, Kb) if num_first else (fb, fa, ca, Ka)
    e, v = fn[4], fn[2]
    z = e / np.sqrt(v)
    z1, z2 = fo[4]
    rho = _bv_mix_rho(z, z1, z2)
    R = np.sqrt(1.0 - rho * rho)
    s1, s2 = (z1 - rho * z) / R, (z2 - rho * z) / R
    y1, y2 = _phi(s1), _phi(s2)
    inv = 1.0 / np.maximum(ndtr(s1) - ndtr(s2), np.finfo(float).eps)
    sd = np.sqrt(v)
    dmu = (z + inv * (rho / R) * (y1 - y2)) / sd
    dvar = ((z * z - 1.0) + inv * rho * z / R * (y1 - y2)) / (2.0 * v)
    sc = inv / R ** 3 * (y1 * (z1 * rho - z) - y2 * (z2 * rho - z))
    dn = np.column_stack([dmu, dmu[:, None] * X, dvar])
    do = _ord_derivs(co, Ko, y1 * inv / R, y2 * inv / R, 1.0, X)
    derivs = (dn, do) if num_first else (do, dn)
    h21 = (rho / (2 * sd), None) if num_first else (None, rho / (2 * sd))
    return rho, sc, derivs, h21, sd


def _pair_on_rows(kind, ab, fits, cc, X, K, seen):
    """:func:`_pair_conditional` of outcomes ``ab`` on the rows where both are observed
    (``seen``: their masks, None = every row), its casewise rho score put back at those rows
    (0 elsewhere); the derivative matrices stay on those rows (summed against the score)."""
    a, b = ab
    if seen[0] is None and seen[1] is None:
        return _pair_conditional(kind[a], kind[b], fits[a], fits[b], cc[0], cc[1], X, K[a],
                                 K[b])
    rows = np.ones(len(X), dtype=bool)
    for s_ in seen:
        if s_ is not None:
            rows &= s_
    rho, sc, (da, db), hh, h = _pair_conditional(
        kind[a], kind[b], _sub_fit(fits[a], kind[a], rows), _sub_fit(fits[b], kind[b], rows),
        None if cc[0] is None else cc[0][rows], None if cc[1] is None else cc[1][rows],
        X[rows], K[a], K[b])
    full = np.zeros(len(X))
    full[rows] = sc
    out_a, out_b = np.zeros((len(X), da.shape[1])), np.zeros((len(X), db.shape[1]))
    out_a[rows], out_b[rows] = da, db
    return rho, full, (out_a, out_b), hh, h


def _ord_derivs(codes_j, K_j, t1, t2, lik, X):
    """Casewise d loglik / d (thresholds, slopes) of an ordinal outcome in a pair, from the
    terms at its upper (``t1``) and lower (``t2``) boundaries (lavaan's Z1, Z2)."""
    n, k = len(codes_j), K_j - 1
    dth = np.zeros((n, k))
    rr = np.arange(n)
    up, lo = codes_j < k, codes_j > 0
    dth[rr[up], codes_j[up]] += (t1 / lik)[up]
    dth[rr[lo], codes_j[lo] - 1] -= (t2 / lik)[lo]
    return np.column_stack([dth, X * ((t2 - t1) / lik)[:, None]])


def _bv_mix_rho(z, z1, z2):
    """The polyserial correlation given the covariates (lavaan's bounds +-0.995)."""
    from scipy.optimize import minimize_scalar  # noqa: PLC0415 - only on this path

    def nll(r):
        R = np.sqrt(1.0 - r * r)
        p = ndtr((z1 - r * z) / R) - ndtr((z2 - r * z) / R)
        return -np.sum(np.log(np.maximum(p, 1e-300)))

    return float(minimize_scalar(nll, bounds=(-0.995, 0.995), method="bounded",
                                 options={"xatol": 1e-10, "maxiter": 500}).x)


def _complete_covariates(data: pd.DataFrame, covariates: list) -> pd.DataFrame:
    """Pairwise deletion given covariates (lavaan's fixed.x): the rows missing a covariate
    are deleted, with an ExclusionWarning saying how many."""
    miss = data[covariates].isna().any(axis=1).to_numpy()
    if miss.any():
        warn(f"{int(miss.sum())} of {len(data)} rows deleted because an exogenous covariate "
             f"({', '.join(covariates)}) is missing (lavaan's fixed.x: the outcomes are "
             "modelled given the covariates)", ExclusionWarning)
        data = data.loc[~miss]
    return data


def _observed_fit(kind, codes_j, K_j, y, X, name, seen):
    """:func:`_outcome_fit` on the rows where the outcome is observed (``seen``; None: all),
    its casewise scores and per-case terms put back at those rows (scores 0 elsewhere)."""
    if seen is None:
        return _outcome_fit(kind, codes_j, K_j, y, X, name)
    f = _outcome_fit(kind, None if codes_j is None else codes_j[seen], K_j,
                     None if y is None else y[seen], X[seen], name)
    sc = np.zeros((len(X), f[3].shape[1]))
    sc[seen] = f[3]

    def full(a):
        out = np.zeros(len(X))
        out[seen] = a
        return out
    aux = tuple(full(a) for a in f[4]) if kind == "o" else full(f[4])
    return f[0], f[1], f[2], sc, aux


def _sub_fit(f, kind, rows):
    """An outcome's fit with its per-case terms restricted to ``rows`` (for a pair)."""
    aux = tuple(a[rows] for a in f[4]) if kind == "o" else f[4][rows]
    return f[0], f[1], f[2], None, aux


def conditional_statistics(data: pd.DataFrame, outcomes, covariates,
                           ordinal=None, missing: str = "listwise") -> ConditionalStatistics:
    """Step 1 and 2 of lavaan's ``conditional.x = TRUE`` for ``outcomes`` (the ``ordinal``
    ones, default all, ordinal; the others continuous) given continuous ``covariates``
    (complete rows of ``data``): probit (linear) regressions, residual polychoric (polyserial,
    Pearson) correlations, and Gamma by Muthen's (1984) sandwich (lavaan's ``muthen1984``
    with ``eXo``: the delta method to covariances, the intercepts' sign flipped).
    ``missing="pairwise"`` (lavaan's): rows missing a covariate are deleted; each regression
    uses the rows where its outcome is observed, each pair the rows where both are, a missing
    value's scores are 0; ``n`` (Gamma's multiplier, lavaan's nobs) counts the rows with an
    observed outcome, while the covariates' moments use every row kept."""
    outcomes, covariates = [str(v) for v in outcomes], [str(v) for v in covariates]
    ordinal = outcomes if ordinal is None else [str(v) for v in ordinal]
    ords = [v for v in outcomes if v in set(ordinal)]
    nums = [v for v in outcomes if v not in set(ordinal)]
    if missing == "pairwise":
        data = _complete_covariates(_as_frame(data), covariates)
    items, codes, cats, _, _, cont, Xall, _ = _prepare(data, ords, nums + covariates,
                                                       MAX_CATEGORIES, min_items=1,
                                                       missing=missing)
    X = Xall[:, len(nums):]
    n, nx, p = len(X), X.shape[1], len(outcomes)
    kind = ["o" if v in set(ords) else "n" for v in outcomes]
    K = np.array([len(cats[v]) if k == "o" else 2 for v, k in zip(outcomes, kind)])
    col_of = {v: (ords.index(v) if k == "o" else nums.index(v)) for v, k in zip(outcomes, kind)}
    seen = [(codes[:, col_of[v]] >= 0) if k == "o" else ~np.isnan(Xall[:, col_of[v]])
            for v, k in zip(outcomes, kind)]
    n_obs = int(np.any(seen, axis=0).sum()) if p else n
    seen = [None if s.all() else s for s in seen]
    fits = [_observed_fit(k, codes[:, col_of[v]] if k == "o" else None, K[j],
                          Xall[:, col_of[v]] if k == "n" else None, X, v, seen[j])
            for j, (v, k) in enumerate(zip(outcomes, kind))]
    th_start = np.concatenate([[0], np.cumsum(K - 1)])
    n_th = int(th_start[-1])
    num_pos = [j for j in range(p) if kind[j] == "n"]
    m1 = n_th + p * nx + len(num_pos)
    cols = []
    S1 = np.zeros((n, m1))
    for j, f in enumerate(fits):
        c = list(range(th_start[j], th_start[j + 1])) + list(n_th + j + p * np.arange(nx))
        if kind[j] == "n":
            c.append(n_th + p * nx + num_pos.index(j))
        cols.append(c)
        S1[:, c] = f[3]
    ia, ib, rhos, S_cor, a21, h21, h22, labels = [], [], [], [], [], [], [], []
    for a in range(p):
        for b in range(a + 1, p):
            ca = codes[:, col_of[outcomes[a]]] if kind[a] == "o" else None
            cb = codes[:, col_of[outcomes[b]]] if kind[b] == "o" else None
            rho, sc, (da, db), hh, h = _pair_on_rows(kind, (a, b), fits, (ca, cb), X, K,
                                                     (seen[a], seen[b]))
            row, hrow = np.zeros(m1), np.zeros(m1)
            row[cols[a]] = sc @ da
            row[cols[b]] = sc @ db
            if hh is not None:
                for j, val in ((a, hh[0]), (b, hh[1])):
                    if val is not None:
                        hrow[cols[j][-1]] = val
            ia.append(a)
            ib.append(b)
            rhos.append(rho)
            S_cor.append(sc)
            a21.append(row)
            h21.append(hrow)
            h22.append(h)
            labels.append(f"{outcomes[a]}~~{outcomes[b]}")
    P = len(rhos)
    S = np.column_stack([S1] + ([np.column_stack(S_cor)] if P else []))
    inner = S.T @ S
    m = m1 + P
    binv = np.zeros((m, m))
    for j in range(p):
        idx = np.array(cols[j])
        binv[np.ix_(idx, idx)] = np.linalg.inv(inner[np.ix_(idx, idx)])
    H = np.eye(m)
    if P:
        a22inv = 1.0 / np.diag(inner)[m1:]
        binv[m1:, m1:] = np.diag(a22inv)
        binv[m1:, :m1] = -(a22inv[:, None] * np.array(a21)) @ binv[:m1, :m1]
        H[m1:, :m1] = np.array(h21)
        H[m1:, m1:] = np.diag(h22)
    W = H @ (binv @ inner @ binv.T) @ H.T
    th_num = np.array([kind[j] == "n" for j in range(p) for _ in range(K[j] - 1)])
    flip = np.ones(m)
    flip[np.flatnonzero(th_num)] = -1.0
    G = n_obs * (flip[:, None] * W * flip[None, :])
    G = (G + G.T) / 2.0
    th_lab = [f"{outcomes[j]}|t{k + 1}" if kind[j] == "o" else f"{outcomes[j]}~1"
              for j in range(p) for k in range(K[j] - 1)]
    sl_lab = [f"{outcomes[j]}~{covariates[c]}" for c in range(nx) for j in range(p)]
    var_lab = [f"{outcomes[j]}~~{outcomes[j]}" for j in num_pos]
    first = np.concatenate([f[0] if kind[j] == "o" else -f[0] for j, f in enumerate(fits)])
    cov = np.eye(p)
    sds = np.array([np.sqrt(f[2]) if kind[j] == "n" else 1.0 for j, f in enumerate(fits)])
    covs = np.array(rhos) * sds[np.array(ia, dtype=int)] * sds[np.array(ib, dtype=int)] \
        if P else np.zeros(0)
    cov[np.array(ia, dtype=int), np.array(ib, dtype=int)] = covs
    cov[np.array(ib, dtype=int), np.array(ia, dtype=int)] = covs
    cov[num_pos, num_pos] = [fits[j][2] for j in num_pos]
    obs = np.concatenate([first, np.array([fits[j][1][c] for c in range(nx) for j in range(p)]),
                          np.array([fits[j][2] for j in num_pos]), covs])
    xm = X.mean(axis=0)
    xc = (X - xm).T @ (X - xm) / (n - 1)   # lavaan's cov.x under conditional.x: N - 1
    y_mean = np.array([np.nanmean(Xall[:, col_of[v]]) if k == "n" else 0.0
                       for v, k in zip(outcomes, kind)])
    return ConditionalStatistics(
        labels=tuple(th_lab + sl_lab + var_lab + labels), obs=obs, gamma=G, n_th=n_th,
        th_var=np.repeat(np.arange(p), K - 1), pairs=(np.array(ia, dtype=int),
                                                       np.array(ib, dtype=int)),
        res_cor=cov, x_cov=xc, x_mean=xm, categories=cats, n=n_obs, th_num=th_num,
        var_pos=np.array(num_pos, dtype=int), y_mean=y_mean)
