"""Survey weights: checking them, Kish's effective sample size, and raking (:func:`rake`).

:func:`rake` is iterative proportional fitting as R's ``survey::rake``: each sweep
post-stratifies the weights to each margin in turn (``w *= target / weighted sample total`` per
category), and raking stops when no cell of the cross-classification of the raking variables
moved by ``tol`` times the sum of the base weights in a sweep (survey's ``control$epsilon`` when
below 1). Optional trimming follows ``survey::trimWeights(strict = TRUE)``: weights outside
``[lower, upper]`` (absolute weights) are set to the bound and the trimmed amount is spread
equally over the weights inside, until every weight is inside.

The functions here take a DataFrame or a :class:`~connection.data.Survey` (recognised by its
``data``, ``instrument`` and ``weights`` attributes: this layer does not import the data layer).

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"gender": [1, 1, 1, 2, 2], "age": ["young", "old", "old", "young", "old"]})
>>> r = rake(d, {"gender": {1: 0.5, 2: 0.5}, "age": {"young": 0.5, "old": 0.5}})
>>> r.weights.round(4).tolist(), r.converged
([1.0355, 0.7322, 0.7322, 1.4645, 1.0355], True)
>>> round(float(r.weights.sum()), 10), round(r.n_eff, 3)   # shares: the weights sum to n
(5.0, 4.663)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connection import _common
from connection._flags import NOT_CONVERGED, Flag
from connection._report import Report
from connection.errors import (
    ArgumentError,
    ConvergenceWarning,
    DataError,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
)

__all__ = ["rake", "RakeResult", "kish_n_eff", "design_effect", "UNSET", "as_frame", "weights_label",
           "resolve_weights", "weighted_cov", "equal_weights"]

class _Unset:
    """The default of ``weights=``: "not given" (a Survey's weights), unlike ``None`` (none)."""

    def __repr__(self) -> str:
        return "<the survey's weights>"

    def __reduce__(self) -> str:
        return "UNSET"


#: ``weights=`` left out: use a Survey's weights (``weights=None`` switches them off)
UNSET: Any = _Unset()

_SHARE_TOL = 1e-9     # margins summing to 1 within this are proportions
_TOTAL_TOL = 1e-9     # relative difference allowed between the totals of the margins
_MAX_TRIM_PASSES = 100_000


# ---------------------------------------------------------------------------------- the data
def as_frame(data: Any, name: str = "data") -> tuple[pd.DataFrame, pd.Series | None]:
    """``(frame, survey weights or None)`` of a DataFrame or a Survey."""
    if isinstance(data, pd.DataFrame):
        return data, None
    frame = getattr(data, "data", None)
    if isinstance(frame, pd.DataFrame) and hasattr(data, "instrument"):
        return frame, getattr(data, "weights", None)
    raise ArgumentError(f"{name} must be a DataFrame or a Survey", values=[type(data).__name__],
                        expected="a pandas DataFrame or the Survey read_survey returns")


def weights_label(weights: Any, survey_weights: Any = None) -> str:
    """How the weights of a weighted result were given, for its settings or ``attrs``: the
    column's name, the survey's weights, raked weights or weights given as values."""
    if isinstance(weights, str):
        return weights
    if weights is UNSET:
        return f"the survey's weights ({getattr(survey_weights, 'name', None) or 'weights'})"
    if isinstance(weights, RakeResult):
        return "raked weights"
    return "given weights"


def _rows(mask: np.ndarray) -> list[int]:
    return (np.flatnonzero(mask) + 1).tolist()


def resolve_weights(frame: pd.DataFrame, weights: Any, survey_weights: pd.Series | None = None,
                    *, name: str = "weights") -> np.ndarray | None:
    """The weights as a float array aligned with ``frame`` (``None``: unweighted).

    ``weights`` is :data:`UNSET` (the survey's weights, if any), ``None``, a column of
    ``frame``, a Series (aligned on the index when it has the frame's index) or an array of one
    weight per row; a :class:`RakeResult` gives its weights. Every weight must be a finite
    number above 0: a DataError naming the column, rows and values otherwise.
    """
    if weights is UNSET:
        weights = survey_weights
    if weights is None:
        return None
    column = None
    if isinstance(weights, RakeResult):
        weights = weights.weights
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise MissingColumnError(f"{name} names a column that is not in the data",
                                     column=weights, expected="a column of survey weights")
        column = weights
        series = frame[weights]
    elif isinstance(weights, pd.Series):
        column = None if weights.name is None else str(weights.name)
        if len(weights) == len(frame) and weights.index.equals(frame.index):
            series = weights
        elif weights.index.is_unique and frame.index.isin(weights.index).all():
            series = weights.reindex(frame.index)
        else:
            raise ArgumentError(f"{name} (a Series) does not cover the rows of the data",
                                values=[len(weights)], expected=f"a weight for each of the "
                                f"{len(frame)} rows, with the data's index")
    else:
        try:
            array = np.asarray(weights)
        except Exception:  # noqa: BLE001 - anything that is not array-like
            array = np.asarray([weights], dtype=object)
        if array.ndim != 1 or len(array) != len(frame):
            raise ArgumentError(f"{name} must hold one weight per row of the data",
                                values=[getattr(array, "shape", None)],
                                expected=f"{len(frame)} weights, a column name, or None")
        series = pd.Series(array, index=frame.index)
    return _checked_weights(series, column, name)


def _checked_weights(series: pd.Series, column: str | None, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype) or not (
            pd.api.types.is_numeric_dtype(series.dtype)
            or series.dtype == object):
        raise NonNumericError(f"{name} are not numbers", column=column,
                              values=[str(series.dtype)], expected="finite numbers above 0")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = series.notna().to_numpy() & np.isnan(values)
    if text.any():
        raise NonNumericError(f"{name} hold values that are not numbers", column=column,
                              rows=_rows(text), values=series[text].head(10).tolist(),
                              expected="finite numbers above 0")
    missing = np.isnan(values)
    if missing.any():
        raise DataError(f"{name} are missing", column=column, rows=_rows(missing),
                        expected="a weight above 0 on every row",
                        hint="Give these respondents a weight, or drop them from the data first")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise OutOfRangeError(f"{name} must be finite numbers above 0", column=column,
                              rows=_rows(bad), values=values[bad][:10].tolist(),
                              expected="finite numbers above 0",
                              hint="A weight of 0 leaves a respondent out: drop the row instead")
    return values


def kish_n_eff(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (``n`` when all weights are equal)."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else float("nan")


def design_effect(weights: np.ndarray) -> float:
    """Kish's design effect of unequal weighting, ``n sum w^2 / (sum w)^2 = n / n_eff``."""
    w = np.asarray(weights, dtype=float)
    return float(len(w) * (w ** 2).sum() / w.sum() ** 2) if len(w) else float("nan")


def equal_weights(weights: np.ndarray | None) -> bool:
    """Whether there are no weights, or all are equal (every weighted estimator of the package
    that is invariant to the scale of the weights then is the unweighted one)."""
    return weights is None or len(weights) == 0 or bool(np.all(weights == weights[0]))


def weighted_cov(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted covariance matrix of ``x`` (rows = respondents) as ``survey::svyvar`` on
    ``svydesign(ids = ~1, weights = ~w)``: ``n / (n - 1) * sum w (x - xbar)(x - xbar)' / sum w``
    with ``xbar`` the weighted mean (``np.cov(x, rowvar=False)`` when all weights are equal)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = x.shape[0]
    xc = x - (w @ x) / w.sum()
    return (xc * w[:, None]).T @ xc / w.sum() * (n / (n - 1))


# ------------------------------------------------------------------------------------ result
@dataclass(eq=False)
class RakeResult:
    """Raked survey weights (:func:`rake`).

    Attributes
    ----------
    weights : pandas.Series
        The raked (and trimmed, when asked) weights, aligned with the data, named ``weight``.
    base_weights : pandas.Series
        The weights raking started from (1 when none were given).
    converged : bool
        Whether raking met ``tol`` within ``max_iter`` sweeps (also a ``not_converged`` flag).
    iterations : int
        Sweeps over the margins (each post-stratifies to every margin once).
    design_effect, n_eff : float
        Kish's design effect ``n sum w^2 / (sum w)^2`` and effective sample size
        ``(sum w)^2 / sum w^2`` of the final weights.
    margins : pandas.DataFrame
        Per variable and category: ``n`` (respondents), ``sample_share`` (unweighted),
        ``target`` and ``target_share``, ``achieved`` and ``achieved_share`` (weighted by the
        final weights) and ``difference`` (achieved - target; not 0 after trimming).
    proportions : bool
        Whether the margins were given as proportions (the weights then sum to n).
    trim : tuple or None
        ``(lower, upper)`` absolute bounds of the weights; ``n_trimmed`` weights were outside.
    flags : tuple of Flag
        ``not_converged`` when raking stopped at ``max_iter``.
    """

    weights: pd.Series
    base_weights: pd.Series
    converged: bool
    iterations: int
    max_iter: int
    tol: float
    design_effect: float
    n_eff: float
    margins: pd.DataFrame
    proportions: bool
    trim: tuple | None = None
    n_trimmed: int = 0
    flags: tuple = ()
    # per margin, (category codes, weights after post-stratifying to it in the last sweep): the
    # calibration of the design (as survey's postStrata of a raked design), for describe()
    _calibration: tuple = field(default=(), repr=False)

    @property
    def n(self) -> int:
        return len(self.weights)

    def to_frame(self) -> pd.DataFrame:
        """The margins, target against achieved (:attr:`margins`)."""
        return self.margins.copy()

    def summary(self) -> Report:
        w = self.weights.to_numpy()
        header = [
            ("Respondents", self.n),
            ("Margins", ", ".join(dict.fromkeys(self.margins["variable"]))),
            ("Given as", "proportions (weights sum to n)" if self.proportions else "totals"),
            ("Converged", "yes" if self.converged else f"NO (stopped at {self.max_iter} sweeps)"),
            ("Sweeps", self.iterations),
            ("Sum of weights", float(w.sum())),
            ("Weights min / max", f"{w.min():.4g} / {w.max():.4g}"),
            ("Design effect (Kish)", self.design_effect),
            ("Effective n (Kish)", self.n_eff),
        ]
        if self.trim is not None:
            lo, hi = self.trim
            header.append(("Trimmed", f"{self.n_trimmed} weights outside [{_bound(lo)}, "
                                      f"{_bound(hi)}]"))
        report = Report("Raked survey weights", header=header, flags=self.flags)
        report.add_table(self.margins, caption="Margins: target and achieved", digits=4)
        quantiles = np.quantile(w, [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1])
        report.add_table(pd.DataFrame({"quantile": ["min", "1%", "5%", "25%", "median", "75%",
                                                    "95%", "99%", "max"],
                                       "weight": quantiles}), caption="Weights", digits=4)
        if self.trim is not None and self.n_trimmed:
            report.add_note("Trimming moves the achieved margins away from the targets (see "
                            "difference).")
        return report

    def __repr__(self) -> str:
        return (f"<RakeResult n={self.n}, {'converged' if self.converged else 'NOT converged'} "
                f"in {self.iterations} sweeps, design effect {self.design_effect:.3f}, "
                f"n_eff {self.n_eff:.1f}>")

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def _bound(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


# -------------------------------------------------------------------------------------- rake
@dataclass
class _Margin:
    variable: str
    levels: list
    targets: np.ndarray           # totals
    codes: np.ndarray             # per row, the index of its level


def rake(data: Any, margins: Mapping[str, Mapping[Any, float]], *, base_weights: Any = UNSET,
         max_iter: int = 1000, tol: float = 1e-10,
         trim: tuple[float | None, float | None] | None = None) -> RakeResult:
    """Rake survey weights to population margins (iterative proportional fitting, as
    ``survey::rake``).

    Parameters
    ----------
    data
        The respondents: a DataFrame or a Survey.
    margins
        ``{variable: {category: target}}`` per raking variable (e.g.
        ``{"gender": {1: 0.49, 2: 0.51}, "region": {"north": 0.3, ...}}``). Targets are
        population totals, or proportions (each margin sums to 1): the weights then sum to n
        (the targets are ``share * n``). All margins must have the same total; every category
        in the data must be in its margin and every category of a margin in the data.
    base_weights
        Weights to start from: a column, an array, or ``None`` (all 1). Default: a Survey's
        weights (``None`` for a DataFrame).
    max_iter
        Most sweeps over the margins.
    tol
        Convergence: no cell of the cross-classification of the raking variables changes by
        ``tol`` times the sum of the base weights in a sweep (``survey::rake``'s
        ``control$epsilon``, below 1).
    trim
        ``(lower, upper)``: absolute bounds for the raked weights (either may be ``None``);
        weights outside are set to the bound and the excess is spread equally over the others
        until all are inside, as ``survey::trimWeights(strict = TRUE)``. The margins then no
        longer hold exactly (:attr:`RakeResult.margins` shows by how much).

    Returns
    -------
    RakeResult
        The weights, convergence, Kish's design effect and effective n, the margins achieved.
        Non-convergence is a ``not_converged`` flag and a ConvergenceWarning.

    Raises
    ------
    MissingColumnError, DataError
        A raking variable not in the data, missing in some rows, or with categories its margin
        does not list.
    ArgumentError
        A margin category no respondent is in, margins with different totals, a negative or
        non-finite target, bounds the weights cannot meet.
    """
    frame, survey_weights = as_frame(data)
    max_iter = _common.check_int(max_iter, "max_iter", minimum=1)
    tol = _check_tol(tol)
    n = len(frame)
    if n == 0:
        raise DataError("no respondents to rake", expected="at least one row")
    w0 = resolve_weights(frame, base_weights, survey_weights, name="base_weights")
    w0 = np.ones(n) if w0 is None else w0
    specs = _margin_specs(margins)
    proportions = _margin_kind(specs)
    scale = float(n) if proportions else 1.0
    parsed = [_parse_margin(frame, variable, spec, scale) for variable, spec in specs.items()]
    weights, sweeps, converged, calibration = _ipf(w0, parsed, max_iter, tol)
    flags: tuple = ()
    if not converged:
        message = (f"raking did not converge in {max_iter} sweeps (tol {tol:g}); the margins "
                   "are not met: raise max_iter, or check for margins the sample cannot meet "
                   "(a category with very few respondents)")
        flags = (Flag(NOT_CONVERGED, message),)
        _common.warn(message, ConvergenceWarning)
    bounds, n_trimmed = None, 0
    if trim is not None:
        bounds = _check_trim(trim, weights)
        weights, n_trimmed = _trim(weights, *bounds)
    index = frame.index
    return RakeResult(
        weights=pd.Series(weights, index=index, name="weight"),
        base_weights=pd.Series(w0, index=index, name="base_weight"),
        converged=converged, iterations=sweeps, max_iter=max_iter, tol=tol,
        design_effect=design_effect(weights), n_eff=kish_n_eff(weights),
        margins=_margins_table(parsed, weights, n), proportions=proportions, trim=bounds,
        n_trimmed=n_trimmed, flags=flags, _calibration=calibration)


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.integer | np.floating) or not (
            math.isfinite(tol) and tol > 0):
        raise ArgumentError("tol must be a finite number above 0", values=[tol],
                            expected="e.g. 1e-10 (relative to the sum of the weights)")
    return float(tol)


def _margin_specs(margins: Any) -> dict[str, dict]:
    """``{variable: {category: target}}`` as plain dictionaries (Series accepted)."""
    if isinstance(margins, pd.Series) or not isinstance(margins, Mapping) or not margins:
        raise ArgumentError("margins must be a table {variable: {category: target}}",
                            values=[type(margins).__name__],
                            expected='e.g. {"gender": {1: 0.49, 2: 0.51}}')
    specs: dict[str, dict] = {}
    for variable, spec in margins.items():
        if isinstance(spec, pd.Series):
            spec = dict(spec.items())
        if not isinstance(spec, Mapping) or not spec:
            raise ArgumentError(f"the margin of {variable!r} must be a table {{category: "
                                "target}}", values=[type(spec).__name__],
                                expected='e.g. {1: 0.49, 2: 0.51}')
        for level, target in spec.items():
            ok = (not isinstance(target, bool) and isinstance(target, int | float | np.integer
                                                              | np.floating)
                  and math.isfinite(target) and target >= 0)
            if not ok:
                raise ArgumentError(f"the margin of {variable!r} has a target that is not a "
                                    "finite number >= 0", values=[level, target],
                                    expected="a population total or proportion per category")
        specs[variable] = dict(spec)
    return specs


def _margin_kind(specs: dict[str, dict]) -> bool:
    """Whether the margins are proportions; refuses margins with different totals."""
    totals = {v: float(sum(spec.values())) for v, spec in specs.items()}
    shares = [abs(t - 1.0) <= _SHARE_TOL for t in totals.values()]
    first = next(iter(totals.values()))
    if all(shares):
        return True
    if any(abs(t - first) > _TOTAL_TOL * max(abs(first), abs(t)) for t in totals.values()):
        raise ArgumentError("the margins do not sum to the same total",
                            values=[f"{v}: {t:.10g}" for v, t in totals.items()],
                            expected="proportions summing to 1 in every margin, or population "
                                     "totals with one total",
                            hint="Raking cannot meet margins with different totals; rescale them "
                                 "to a common total (shares rounded in print may not sum to 1: "
                                 "fix the rounding)")
    return False


def _parse_margin(frame: pd.DataFrame, variable: str, spec: dict, scale: float) -> _Margin:
    if variable not in frame.columns:
        raise MissingColumnError("a raking variable is not in the data", column=str(variable),
                                 expected="a column for every margin")
    column = frame[variable]
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError("a raking variable has missing values", column=str(variable),
                        rows=_rows(missing), expected="a category on every row",
                        hint="Raking needs every respondent's category: give the missing a "
                             "category of its own (with its target), or drop these "
                             "respondents first")
    levels = list(spec)
    codes = pd.Index(levels, dtype=object).get_indexer(column.to_numpy(dtype=object))
    unknown = codes < 0
    if unknown.any():
        raise DataError("the data has categories its margin does not list",
                        column=str(variable), rows=_rows(unknown),
                        values=list(dict.fromkeys(column[unknown].tolist()))[:10],
                        expected="one of " + ", ".join(repr(v) for v in levels),
                        hint="Add these categories to the margin (with their population "
                             "targets), or recode them into listed categories")
    counts = np.bincount(codes, minlength=len(levels))
    targets = np.array([float(spec[level]) for level in levels]) * scale
    empty = [level for level, k in zip(levels, counts) if k == 0]
    if empty:
        raise ArgumentError(f"the margin of {variable!r} has categories no respondent is in",
                            values=empty, hint="Raking cannot give weight to a category nobody in "
                            "the sample is in: merge it with a neighbouring category (adding "
                            "their targets) or check the coding of the data")
    zero = [level for level, k, t in zip(levels, counts, targets) if k and t == 0]
    if zero:
        raise ArgumentError(f"the margin of {variable!r} gives a target of 0 to categories "
                            "respondents are in", values=zero,
                            hint="Drop these respondents first, or give the category its target")
    return _Margin(str(variable), levels, targets, codes)


def _ipf(w0: np.ndarray, margins: Sequence[_Margin], max_iter: int,
         tol: float) -> tuple[np.ndarray, int, bool, tuple]:
    """Post-stratify to each margin in turn until the cross-classified table stops moving."""
    cells = np.zeros(len(w0), dtype=np.int64)
    for m in margins:   # one code per cell of the cross-classification
        cells = cells * len(m.levels) + m.codes
    _, cells = np.unique(cells, return_inverse=True)
    epsilon = tol * float(w0.sum())
    w = w0.copy()
    old = np.bincount(cells, w)
    calibration: list = []
    for sweep in range(1, max_iter + 1):
        calibration = []
        for m in margins:
            sums = np.bincount(m.codes, w, minlength=len(m.levels))
            w = w * (m.targets / sums)[m.codes]
            calibration.append((m.codes, w))
        new = np.bincount(cells, w)
        if np.max(np.abs(old - new)) < epsilon:
            return w, sweep, True, tuple(calibration)
        old = new
    return w, max_iter, False, tuple(calibration)


def _check_trim(trim: Any, weights: np.ndarray) -> tuple[float | None, float | None]:
    if not isinstance(trim, Sequence) or isinstance(trim, str) or len(trim) != 2:
        raise ArgumentError("trim must be a pair (lower, upper)", values=[trim],
                            expected="absolute weight bounds, e.g. (0.3, 3); None for an open end")
    bounds = []
    for name, value in zip(("lower", "upper"), trim):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, int | float | np.integer | np.floating) or not math.isfinite(value)):
            raise ArgumentError(f"trim's {name} bound is not a finite number", values=[value])
        bounds.append(None if value is None else float(value))
    lo, hi = bounds
    if lo is not None and hi is not None and lo >= hi:
        raise ArgumentError("trim's lower bound is not below its upper bound",
                            values=[lo, hi], expected="lower < upper")
    n, total = len(weights), float(weights.sum())
    if (hi is not None and hi * n < total) or (lo is not None and lo * n > total):
        raise ArgumentError("no weights within the trim bounds have the weights' total",
                            values=[lo, hi], expected=f"lower <= {total / n:.6g} (the mean "
                            "weight) <= upper")
    return lo, hi


def _trim(weights: np.ndarray, lower: float | None,
          upper: float | None) -> tuple[np.ndarray, int]:
    """survey::trimWeights(strict = TRUE): clip, spread the trimmed amount equally over the
    weights inside, repeat until every weight is inside."""
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper
    w = weights.copy()
    ever = np.zeros(len(w), bool)
    for _ in range(_MAX_TRIM_PASSES):
        outside = (w < lo) | (w > hi)
        if not outside.any():
            return w, int(ever.sum())
        if outside.all():
            raise ArgumentError("every weight lies outside the trim bounds", values=[lower, upper],
                                hint="Widen the bounds")
        ever |= outside
        new = np.clip(w, lo, hi)
        new[~outside] += (w - new).sum() / (~outside).sum()
        w = new
    raise ArgumentError("trimming did not settle within the bounds", values=[lower, upper],
                        hint="Widen the bounds")


def _margins_table(margins: Sequence[_Margin], weights: np.ndarray, n: int) -> pd.DataFrame:
    rows = []
    total = float(weights.sum())
    for m in margins:
        counts = np.bincount(m.codes, minlength=len(m.levels))
        achieved = np.bincount(m.codes, weights, minlength=len(m.levels))
        target_total = float(m.targets.sum())
        for k, level in enumerate(m.levels):
            rows.append({"variable": m.variable, "category": level, "n": int(counts[k]),
                         "sample_share": counts[k] / n, "target": float(m.targets[k]),
                         "target_share": float(m.targets[k]) / target_total,
                         "achieved": float(achieved[k]), "achieved_share": achieved[k] / total,
                         "difference": float(achieved[k] - m.targets[k])})
    return pd.DataFrame(rows, columns=["variable", "category", "n", "sample_share", "target",
                                       "target_share", "achieved", "achieved_share",
                                       "difference"])
