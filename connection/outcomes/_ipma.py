"""Importance-performance map analysis (IPMA): what matters for the outcome against how well the
brand does on it.

:func:`importance_performance` regresses the outcome on the drivers (OLS on the complete cases,
weighted when weights are given) and sets each driver's

importance
    ``"dominance"``: its general dominance weight (Shapley / LMG share of R-squared,
    :mod:`connection.outcomes._importance`) as a percentage of R-squared (the shares add up to
    100); ``"coefficients"``: its standardized coefficient, which in a one-equation driver model is
    its standardized total effect (as SmartPLS's IPMA reports for a structural model);
performance
    its (weighted) mean rescaled to 0-100 on the answer scale, ``(mean - min) / (max - min) *
    100``, with ``min`` and ``max`` the scale's ends (not the observed ones): from ``scale=``
    (one ``(min, max)`` for every driver or a mapping per driver), else from a Survey's codebook
    (an item's scale, or the common scale of a construct's items for a construct score);

against the cut points, the mean importance and the mean performance over the drivers, which
split the map into the four quadrants of Martilla & James (1977): ``"concentrate here"`` (high
importance, low performance), ``"keep up the good work"`` (high, high), ``"low priority"`` (low,
low) and ``"possible overkill"`` (low importance, high performance). A value equal to its cut
point counts as high.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = rng.integers(1, 6, size=(400, 3)).astype(float)
>>> d = pd.DataFrame(X, columns=["price", "service", "design"])
>>> d["loyalty"] = X @ [0.6, 0.3, 0.05] + rng.normal(size=400)
>>> r = importance_performance(d, "loyalty", ["price", "service", "design"], scale=(1, 5))
>>> r.table[["driver", "quadrant"]].values.tolist()[0]
['price', 'keep up the good work']
>>> round(float(r.table.importance.sum()), 6)
100.0
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connection import _common
from connection._report import Report, Reported
from connection.errors import ArgumentError, ExclusionWarning, MissingColumnError, OutOfRangeError
from connection.outcomes._compare import _numeric
from connection.outcomes._importance import general_dominance, subset_r2
from connection.stats._weights import UNSET, as_frame, resolve_weights

__all__ = ["importance_performance", "IPMAResult", "IPMA_COLUMNS", "QUADRANTS"]

QUADRANTS = {(True, False): "concentrate here", (True, True): "keep up the good work",
             (False, False): "low priority", (False, True): "possible overkill"}
"""(high importance, high performance) -> the quadrant's name (Martilla & James 1977)."""

IPMA_COLUMNS = ["driver", "importance", "performance", "mean", "scale_min", "scale_max",
                "scale_source", "quadrant"]
"""Columns of :meth:`IPMAResult.to_frame`: the driver; its importance (a share of R-squared in %
or a standardized coefficient); its performance (0-100); its (weighted) mean and the scale's ends
used to rescale it, with where they came from (``"scale="`` or ``"codebook"``); the quadrant."""


@dataclass(eq=False, repr=False)
class IPMAResult(Reported):
    """An importance-performance map (:func:`importance_performance`).

    Attributes
    ----------
    table : pandas.DataFrame
        :data:`IPMA_COLUMNS`, one row per driver, in the order given.
    outcome : str
    importance : str
        ``"dominance"`` or ``"coefficients"``.
    r2 : float
        R-squared of the driver model.
    n : int
        Complete cases used.
    importance_cut, performance_cut : float
        The quadrant cut points (mean importance, mean performance over the drivers).
    weighted : bool
    """

    table: pd.DataFrame
    outcome: str
    importance: str
    r2: float
    n: int
    importance_cut: float
    performance_cut: float
    weighted: bool

    def to_frame(self) -> pd.DataFrame:
        """The table (:data:`IPMA_COLUMNS`)."""
        return self.table.copy()

    def summary(self) -> Report:
        what = ("general dominance, % of R-squared" if self.importance == "dominance"
                else "standardized total effect")
        rep = Report(f"Importance-performance map: {self.outcome}", header=[
            ("Respondents", self.n), ("Drivers", len(self.table)), ("R-squared", self.r2),
            ("Importance", what), ("Performance", "mean rescaled to 0-100 on the scale"),
            ("Weights", "yes" if self.weighted else "none")])
        rep.add_table(self.table, caption="Drivers", digits=2)
        rep.add_note(f"Quadrants split at the mean importance ({self.importance_cut:.3g}) and "
                     f"the mean performance ({self.performance_cut:.3g}) over the drivers.")
        return rep

    def to_excel(self, path: str | os.PathLike) -> str:
        """Write the table to a formatted .xlsx (sheet ``IPMA``); returns the path."""
        from connection.outcomes._banner import write_excel
        return write_excel(path, {"IPMA": self.table})

    def plot(self, ax: Any = None):
        """The map: importance (x) against performance (y), one labelled point per driver,
        dashed lines at the cut points, the quadrants named in the corners. Returns the
        matplotlib Figure (drawn on ``ax`` when given)."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 5))
        else:
            fig = ax.figure
        t = self.table
        ax.scatter(t.importance, t.performance, color="#1f4e79", zorder=3)
        for name, x, y in zip(t.driver, t.importance, t.performance):
            ax.annotate(str(name), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.axvline(self.importance_cut, color="grey", linestyle="--", linewidth=1)
        ax.axhline(self.performance_cut, color="grey", linestyle="--", linewidth=1)
        corners = {"concentrate here": (0.98, 0.02, "right", "bottom"),
                   "keep up the good work": (0.98, 0.98, "right", "top"),
                   "low priority": (0.02, 0.02, "left", "bottom"),
                   "possible overkill": (0.02, 0.98, "left", "top")}
        for label, (x, y, ha, va) in corners.items():
            ax.text(x, y, label, transform=ax.transAxes, ha=ha, va=va, fontsize=8, color="grey")
        ax.set_xlabel("Importance (" + ("% of R-squared" if self.importance == "dominance"
                                        else "standardized total effect") + ")")
        ax.set_ylabel("Performance (0-100)")
        ax.set_title(f"Importance-performance map: {self.outcome}")
        return fig


# ------------------------------------------------------------------------------------- scales
def _scale_from_codebook(data: Any, driver: str) -> tuple[float, float] | None:
    instrument = getattr(data, "instrument", None)
    if instrument is None:
        return None
    items = getattr(instrument, "items", {}) or {}
    if driver in items:
        s = items[driver].scale
        return float(s.min), float(s.max)
    construct = (getattr(instrument, "constructs", {}) or {}).get(driver)
    if construct is not None:
        ends = {(float(items[i].scale.min), float(items[i].scale.max))
                for i in instrument.item_ids(driver)}
        if len(ends) == 1:
            return ends.pop()
    return None


def _check_pair(value: Any, driver: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ArgumentError(f"scale for {driver!r} must be (min, max)", values=[value],
                            expected="e.g. scale=(1, 7)") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ArgumentError(f"scale for {driver!r} must have finite min < max", values=[value],
                            expected="e.g. scale=(1, 7)")
    return lo, hi


def _scales(data: Any, drivers: list[str], scale: Any) -> dict[str, tuple[float, float, str]]:
    out, unknown = {}, []
    for d in drivers:
        if isinstance(scale, Mapping) and d in scale:
            out[d] = (*_check_pair(scale[d], d), "scale=")
        elif scale is not None and not isinstance(scale, Mapping):
            out[d] = (*_check_pair(scale, d), "scale=")
        elif (ends := _scale_from_codebook(data, d)) is not None:
            out[d] = (*ends, "codebook")
        else:
            unknown.append(d)
    if unknown:
        raise ArgumentError("performance is rescaled on the answer scale, and the scale of "
                            "these drivers is not known", values=unknown,
                            expected="scale=(min, max), or scale={driver: (min, max)}, or a "
                            "Survey whose codebook declares them")
    return out


# ------------------------------------------------------------------------------------ analysis
def _complete(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    values = np.column_stack([_numeric(frame, c).to_numpy() for c in columns])
    keep = ~np.isnan(values).any(axis=1)
    if not keep.all():
        _common.warn(f"importance_performance: {int((~keep).sum())} of {len(frame)} respondents "
                     "lack the outcome or a driver and are left out", ExclusionWarning)
    if keep.sum() <= len(columns):
        raise ArgumentError("too few complete respondents for the driver model",
                            values=[int(keep.sum())], expected=f"more than {len(columns)}")
    return values[keep], keep


def _importances(cov: np.ndarray, p: int, importance: str) -> tuple[np.ndarray, float]:
    sd = np.sqrt(np.diag(cov))
    if (sd == 0).any():
        raise ArgumentError("the outcome or a driver does not vary", values=[],
                            expected="variables with some variance")
    corr = cov / np.outer(sd, sd)
    r2_all = subset_r2(corr, p) if importance == "dominance" else None
    beta = np.linalg.solve(corr[1:, 1:], corr[1:, 0])
    r2 = float(corr[1:, 0] @ beta)
    if importance == "dominance":
        gd = general_dominance(r2_all, p)
        return 100.0 * gd / gd.sum(), r2
    return beta, r2


def importance_performance(data: Any, outcome: str, drivers: Sequence[str], *,
                           importance: str = "dominance",
                           scale: tuple[float, float] | Mapping[str, tuple[float, float]]
                           | None = None,
                           weights: Any = UNSET) -> IPMAResult:
    """Importance-performance map of the drivers of one outcome (module docstring).

    Parameters
    ----------
    data
        The respondents: a DataFrame or a Survey (its codebook gives the drivers' scales, its
        weights are used unless ``weights=None``).
    outcome
        The outcome column.
    drivers
        Driver columns (items or construct scores on a known answer scale).
    importance
        ``"dominance"`` (general dominance as % of R-squared) or ``"coefficients"``
        (standardized total effects).
    scale
        ``(min, max)`` of the answer scale for every driver, or ``{driver: (min, max)}``;
        required for drivers a Survey's codebook does not declare.
    weights
        A column, array or Series of weights, or ``None``; default a Survey's weights.

    Returns
    -------
    IPMAResult
    """
    _common.check_choice(importance, "importance", ("dominance", "coefficients"))
    frame, survey_weights = as_frame(data)
    if not isinstance(outcome, str):
        raise ArgumentError("outcome must be one column name", values=[outcome],
                            expected='e.g. "loyalty"')
    drivers_ = [drivers] if isinstance(drivers, str) else list(drivers)
    if not drivers_ or len(set(drivers_)) != len(drivers_) or outcome in drivers_:
        raise ArgumentError("drivers must be distinct columns, other than the outcome",
                            values=drivers_, expected='e.g. ["price", "service"]')
    for c in [outcome, *drivers_]:
        if c not in frame.columns:
            raise MissingColumnError(f"column {c!r} is not in the data", column=c,
                                     expected="one of: " + ", ".join(map(str, frame.columns[:20])))
    scales = _scales(data, drivers_, scale)
    w_all = resolve_weights(frame, weights, survey_weights)
    values, keep = _complete(frame, [outcome, *drivers_])
    w = np.ones(len(values)) if w_all is None else w_all[keep]
    cov = np.cov(values, rowvar=False, aweights=w)
    imp, r2 = _importances(cov, len(drivers_), importance)
    means = (w[:, None] * values[:, 1:]).sum(axis=0) / w.sum()
    rows = []
    for j, d in enumerate(drivers_):
        lo, hi, source = scales[d]
        col = values[:, 1 + j]
        if col.min() < lo or col.max() > hi:
            bad = col[(col < lo) | (col > hi)]
            raise OutOfRangeError(f"{d}: values outside the scale ({lo:g} to {hi:g})", column=d,
                                  values=bad[:10].tolist(), expected=f"{lo:g} to {hi:g}")
        rows.append({"driver": d, "importance": float(imp[j]),
                     "performance": float((means[j] - lo) / (hi - lo) * 100.0),
                     "mean": float(means[j]), "scale_min": lo, "scale_max": hi,
                     "scale_source": source})
    table = pd.DataFrame(rows)
    icut, pcut = float(table.importance.mean()), float(table.performance.mean())
    table["quadrant"] = [QUADRANTS[(bool(i >= icut), bool(p >= pcut))]
                         for i, p in zip(table.importance, table.performance)]
    return IPMAResult(table.reindex(columns=IPMA_COLUMNS), outcome, importance, r2,
                      int(len(values)), icut, pcut, w_all is not None)
