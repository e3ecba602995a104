"""The connection index: fit a measurement model once, score any respondent on a 0-100 scale.

:class:`ConnectionIndex` follows scikit-learn's fit/transform: :meth:`~ConnectionIndex.fit`
estimates the measurement model of one construct on a calibration sample with
:func:`connection.sem.cfa` and freezes everything needed to score (learned attributes end in
``_``); :meth:`~ConnectionIndex.transform` scores anyone with those frozen numbers;
:meth:`~ConnectionIndex.save` / :meth:`~ConnectionIndex.load` keep them in a small JSON file so a
new survey wave is scored exactly as the calibration wave was.

Scores
------
A factor score is a fixed linear combination of the items, ``score = sum_j w_j (x_j - m_j)``,
with ``m`` the calibration sample's item means and ``w`` the factor-score weights of the fitted
model (lavaan's ``lavPredict`` with ``meanstructure = FALSE``):

* ``method="regression"`` (Thurstone): ``w = Cov(eta) Lambda' Sigma^-1`` (model-implied
  ``Sigma``); the default, as in lavaan.
* ``method="bartlett"``: ``w = (Lambda' Theta^-1 Lambda)^-1 Lambda' Theta^-1`` (first-order
  factors only); unbiased for the latent value, at the price of more variance.

The 0-100 index (``scaling``)
-----------------------------
``"range"`` (default): a linear map fixed by the items' *theoretical* range, not by any sample:
0 is the lowest score any answer pattern can produce (every item at the end of its scale that
lowers the score) and 100 the highest. Because the score is linear in the items, a respondent who
gives the same answer ``v`` to every item of a construct whose items share the range ``[lo, hi]``
gets exactly ``100 (v - lo) / (hi - lo)`` when every weight is positive (a one-factor model with
positive loadings, the default): on a 1-5 agreement scale "agree" (4) on every item is 75. With
several correlated factors in the model, regression weights also fall on other factors' items and
some may be negative; 0 and 100 are still the lowest and highest attainable scores, but a constant
answer no longer maps to that simple fraction (see :meth:`ConnectionIndex.weights_frame`). Nothing in the map depends on percentiles, so the index of a new wave is comparable with the
calibration wave's. ``"zscore"``: ``50 + 10 z`` with ``z`` the score standardized by the
calibration sample's mean and SD (a T-score; not bounded to 0-100).

Segments (our own rule)
-----------------------
The firm that described the pathway *unconnected -> highly satisfied -> perceives
differentiation -> fully connected* never published its rule, so :class:`SegmentRule` is our
parameterised choice, stated in :attr:`ConnectionIndex.rule` and saved with the index:

1. ``fully_connected``: index >= ``connected_min`` (default 75, "agree" on every item of a 1-5
   agreement scale). These respondents are also ``connected = True``; everyone else is not.
2. ``perceives_differentiation``: not fully connected, highly satisfied (mean of the
   ``satisfaction`` items >= ``satisfied_min``, default 8 on the 1-10 satisfaction items) and
   perceiving differentiation (mean of the ``differentiation`` items >= ``differentiated_min``,
   default 4 = "agree" that the brand offers features others do not).
3. ``highly_satisfied``: not fully connected, highly satisfied, not perceiving differentiation.
4. ``unconnected``: the rest.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from connection.index import ConnectionIndex
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=500)
>>> items = {f"c{j}": np.clip(np.round(3 + 0.9 * f + rng.normal(scale=0.7, size=500)), 1, 5)
...          for j in range(1, 5)}
>>> df = pd.DataFrame(items)
>>> ci = ConnectionIndex({"connection": list(items)}, item_range=(1, 5), segments=None).fit(df)
>>> out = ci.transform(df)
>>> list(out.columns)
['score', 'index']
>>> ci.transform(pd.DataFrame({c: [4] for c in items}))["index"].round(6).tolist()
[75.0]
>>> bool(out["index"].between(0, 100).all())
True
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connection.errors import (
    ArgumentError,
    ConfigError,
    EstimationError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
)

__all__ = ["ConnectionIndex", "SegmentRule", "SEGMENTS"]

SEGMENTS = ("unconnected", "highly_satisfied", "perceives_differentiation", "fully_connected")
"""The pathway stages, in order."""

_FORMAT = "connection-index"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SegmentRule:
    """Parameters of the segment rule (see the module docstring); every default is our choice.

    Parameters
    ----------
    connected_min
        Index (0-100) at or above which a respondent is connected / fully connected.
    satisfaction
        Column(s) whose row mean is the satisfaction score; ``None`` skips the satisfied stages.
    satisfied_min
        Satisfaction score at or above which a respondent is highly satisfied.
    differentiation
        Column(s) whose row mean measures perceived differentiation; ``None`` skips that stage.
    differentiated_min
        Differentiation score at or above which differentiation is perceived.
    """

    connected_min: float = 75.0
    satisfaction: tuple[str, ...] | None = ("sat_overall", "sat_expect", "sat_ideal")
    satisfied_min: float = 8.0
    differentiation: tuple[str, ...] | None = ("feat_better",)
    differentiated_min: float = 4.0

    def __post_init__(self) -> None:
        for name in ("satisfaction", "differentiation"):
            v = getattr(self, name)
            if isinstance(v, str):
                object.__setattr__(self, name, (v,))
            elif v is not None:
                object.__setattr__(self, name, tuple(v))
        if not 0 <= float(self.connected_min) <= 100:
            raise ArgumentError("connected_min is an index value", values=[self.connected_min],
                                expected="a number from 0 to 100")

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("satisfaction", "differentiation"):
            d[k] = None if d[k] is None else list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> SegmentRule:
        allowed = {f.name for f in fields(cls)}
        unknown = set(d) - allowed
        if unknown:
            raise ConfigError("unknown segment-rule keys", values=sorted(unknown),
                              expected=", ".join(sorted(allowed)))
        return cls(**dict(d))

    def describe(self) -> dict[str, str]:
        """The rule in words, one entry per segment (highest stage first)."""
        sat = (f"mean({', '.join(self.satisfaction)}) >= {self.satisfied_min:g}"
               if self.satisfaction else None)
        dif = (f"mean({', '.join(self.differentiation)}) >= {self.differentiated_min:g}"
               if self.differentiation else None)
        out = {"fully_connected": f"index >= {self.connected_min:g}"}
        if sat and dif:
            out["perceives_differentiation"] = f"index < {self.connected_min:g} and {sat} and {dif}"
            out["highly_satisfied"] = f"index < {self.connected_min:g} and {sat} and not {dif}"
        elif sat:
            out["highly_satisfied"] = f"index < {self.connected_min:g} and {sat}"
        out["unconnected"] = "otherwise"
        out["connected"] = f"index >= {self.connected_min:g}"
        return out


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


class ConnectionIndex:
    """Fit a construct's measurement model on a calibration sample; score anyone 0-100.

    Parameters
    ----------
    instrument_or_model
        An :class:`~connection.instrument.Instrument` (the construct's items and their scale
        ranges come from it; a one-factor model of ``construct`` is fitted), a dict
        ``{construct: [item columns]}``, or lavaan-style model text (then ``construct`` names the
        factor to score; with several factors, regression weights involve all their items).
    construct
        The factor to score.
    method
        ``"regression"`` (default) or ``"bartlett"`` factor-score weights.
    scaling
        ``"range"`` (default: 0-100 over the items' theoretical range) or ``"zscore"``.
    segments
        A :class:`SegmentRule` (default: ``SegmentRule()``), a dict of its fields, or ``None``
        for no segments.
    item_range
        ``(min, max)`` for every item, or ``{item: (min, max)}``; needed for ``scaling="range"``
        unless an Instrument supplies the scales.
    estimator
        Estimator of the calibration CFA (``"ML"`` or ``"MLR"``; scores do not depend on the SEs).
    facets
        With an Instrument whose construct has facets: fit the second-order model (facets under
        the construct) instead of one factor over all items; the construct's regression scores
        then come from the second-order factor (as lavaan's ``lavPredict``).

    Notes
    -----
    Items are used as they arrive: pass data from :func:`connection.read_survey` (reverse-keyed
    items already recoded), or recode them first.

    Attributes
    ----------
    items_ : list of str
        Item columns, in weight order.
    weights_, means_ : numpy.ndarray
        Factor-score weights and calibration item means.
    item_min_, item_max_ : numpy.ndarray
        Item ranges used by ``scaling="range"``.
    score_min_, score_max_ : float
        Lowest and highest possible score (index 0 and 100).
    score_mean_, score_sd_ : float
        Calibration sample's score mean and SD.
    loadings_ : dict
        Standardized loadings (std_all) of the construct's items.
    fit_measures_ : dict
        chisq, df, cfi, tli, rmsea, srmr of the calibration CFA.
    n_calibration_ : int
        Calibration rows used.
    model_ : str
        The model text fitted.
    fit_ : connection.sem.Fit
        The calibration fit (not saved by :meth:`save`).
    """

    def __init__(self, instrument_or_model: Any = None, construct: str = "connection", *,
                 method: str = "regression", scaling: str = "range",
                 segments: SegmentRule | Mapping | None | str = "default",
                 item_range: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
                 estimator: str = "ML", facets: bool = False) -> None:
        self.instrument_or_model = instrument_or_model
        self.construct = construct
        self.method = method
        self.scaling = scaling
        self.segments = segments
        self.item_range = item_range
        self.estimator = estimator
        self.facets = facets

    # ------------------------------------------------------------------ configuration
    def _rule(self) -> SegmentRule | None:
        s = self.segments
        if isinstance(s, str) and s == "default":
            return SegmentRule()
        if s is None or isinstance(s, SegmentRule):
            return s
        if isinstance(s, Mapping):
            return SegmentRule.from_dict(s)
        raise ArgumentError("segments must be a SegmentRule, a dict of its fields or None",
                            values=[type(s).__name__], expected="SegmentRule(...)")

    @property
    def rule(self) -> dict:
        """The segment rule: its parameters and the rule in words (``{}`` without segments)."""
        r = self._rule()
        return {} if r is None else {"parameters": r.to_dict(), "segments": r.describe()}

    def _model_and_items(self) -> tuple[str, list[str], dict[str, tuple[float, float]]]:
        src = self.instrument_or_model
        ranges: dict[str, tuple[float, float]] = {}
        if src is None:
            from connection import instruments

            src = instruments.default()
        if hasattr(src, "model_syntax") and hasattr(src, "constructs"):
            if self.construct not in src.constructs:
                raise ArgumentError(f"the instrument has no construct {self.construct!r}",
                                    values=[self.construct], expected=", ".join(src.constructs))
            items = list(src.constructs[self.construct].item_ids)
            if self.facets and src.constructs[self.construct].facets:
                model = src.model_syntax(self.construct, facets=True)
            else:
                model = f"{self.construct} =~ " + " + ".join(items)
            for i in items:
                sc = src.items[i].scale
                ranges[i] = (float(sc.min), float(sc.max))
        elif isinstance(src, Mapping):
            if self.construct not in src:
                raise ArgumentError(f"no items given for construct {self.construct!r}",
                                    values=list(src), expected=f"{{{self.construct!r}: [items]}}")
            lines = [f"{name} =~ " + " + ".join(_as_list(its)) for name, its in src.items()]
            model = "\n".join(lines)
            items = [i for its in src.values() for i in _as_list(its)]
        elif isinstance(src, str):
            model = src
            from connection.sem import parse_model

            pt = parse_model(model).frame
            items = list(dict.fromkeys(pt.loc[pt["op"] == "=~", "rhs"]))
            lvs = set(pt.loc[pt["op"] == "=~", "lhs"])
            items = [i for i in items if i not in lvs]
            if self.construct not in lvs:
                raise ArgumentError(f"the model has no factor {self.construct!r}",
                                    values=sorted(lvs), expected="construct= one of its factors")
        else:
            raise ArgumentError("instrument_or_model must be an Instrument, a dict or model text",
                                values=[type(src).__name__])
        ir = self.item_range
        try:
            if isinstance(ir, Mapping):
                ranges.update({k: (float(v[0]), float(v[1])) for k, v in ir.items()})
            elif ir is not None:
                ranges.update({i: (float(ir[0]), float(ir[1])) for i in items})
        except (TypeError, ValueError, IndexError):
            raise ArgumentError("item_range must be (min, max) or {item: (min, max)}", values=[ir],
                                expected="two numbers per item, min < max") from None
        for item, (lo, hi) in ranges.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ArgumentError("an item's scale range must be two finite numbers, min < max",
                                    column=item, values=[lo, hi], expected="(min, max) with min < max")
        return model, items, ranges

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame, y: Any = None) -> ConnectionIndex:
        """Fit the measurement model on the calibration sample and freeze the scoring rule."""
        if self.method not in ("regression", "bartlett"):
            raise ArgumentError("unknown factor-score method", values=[self.method],
                                expected="'regression' or 'bartlett'")
        if self.scaling not in ("range", "zscore"):
            raise ArgumentError("unknown scaling", values=[self.scaling],
                                expected="'range' (theoretical item range) or 'zscore'")
        rule = self._rule()
        model, items, ranges = self._model_and_items()
        _check_columns(data, items)
        if self.scaling == "range":
            lacking = [i for i in items if i not in ranges]
            if lacking:
                raise ArgumentError("scaling='range' needs each item's scale range", values=lacking,
                                    expected="item_range=(min, max) or {item: (min, max)}, or an "
                                             "Instrument")
        from connection.sem import cfa

        X = data[items]
        _numeric_items(X)
        if self.scaling == "range":  # a calibration answer off the scale would skew 0 and 100
            _check_ranges(X.to_numpy(dtype=float), items, np.array([ranges[i][0] for i in items]),
                          np.array([ranges[i][1] for i in items]))
        try:
            fit = cfa(model, X, estimator=self.estimator)
        except np.linalg.LinAlgError as exc:   # the engine should raise its own error (reported)
            raise EstimationError(f"the calibration CFA of {self.construct!r} could not be fitted "
                                  f"({exc})", values=[f"n={len(X)}"],
                                  expected="more respondents than items and a positive definite "
                                           "item covariance matrix") from None
        weights = _score_weights(fit, self.construct, self.method)
        used = X.loc[fit.rows_used] if len(fit.rows_used) else X.dropna()
        self.fit_ = fit
        self.model_ = model
        self.items_ = [str(c) for c in weights.index]
        self.weights_ = weights.to_numpy(dtype=float)
        self.means_ = used[self.items_].to_numpy(dtype=float).mean(axis=0)
        self.n_calibration_ = int(len(used))
        if self.scaling == "range":
            lo = np.array([ranges[i][0] for i in self.items_])
            hi = np.array([ranges[i][1] for i in self.items_])
        else:
            lo = np.array([ranges.get(i, (np.nan, np.nan))[0] for i in self.items_])
            hi = np.array([ranges.get(i, (np.nan, np.nan))[1] for i in self.items_])
        self.item_min_, self.item_max_ = lo, hi
        w, m = self.weights_, self.means_
        self.score_min_ = float(np.sum(np.where(w > 0, w * (lo - m), w * (hi - m))))
        self.score_max_ = float(np.sum(np.where(w > 0, w * (hi - m), w * (lo - m))))
        calib = (used[self.items_].to_numpy(dtype=float) - m) @ w
        self.score_mean_ = float(calib.mean())
        self.score_sd_ = float(calib.std(ddof=1))
        est = fit.estimates
        lo_rows = est[(est["op"] == "=~") & (est["lhs"] == self.construct)]
        self.loadings_ = {str(r): float(v) for r, v in zip(lo_rows["rhs"], lo_rows["std_all"])}
        fm = fit.fit_measures
        self.fit_measures_ = {k: float(fm[k]) for k in ("chisq", "df", "cfi", "tli", "rmsea", "srmr")
                              if k in fm.index}
        self.rule_ = rule
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise ArgumentError("this ConnectionIndex is not fitted yet",
                                expected="call .fit(calibration_data) or ConnectionIndex.load(path)")

    # ------------------------------------------------------------------ scoring
    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        """Scores and the 0-100 index for every row of ``data`` (index aligned with ``data``).

        Rows with a missing item get NaN (never imputed) and an
        :class:`~connection.errors.ExclusionWarning`; values outside an item's range raise
        :class:`~connection.errors.OutOfRangeError` (``scaling="range"``).

        Returns
        -------
        pandas.DataFrame
            ``score`` (factor score, calibration-centred) and ``index``.
        """
        self._check_fitted()
        _check_columns(data, self.items_)
        X = data[self.items_]
        _numeric_items(X)
        arr = X.to_numpy(dtype=float)
        if self.scaling == "range":
            _check_ranges(arr, self.items_, self.item_min_, self.item_max_)
        missing = np.isnan(arr).any(axis=1)
        if missing.any():
            warnings.warn(f"{int(missing.sum())} of {len(arr)} rows have a missing item and get no "
                          "score (NaN); scores are never imputed", ExclusionWarning, stacklevel=2)
        score = (arr - self.means_) @ self.weights_
        if self.scaling == "range":
            index = 100.0 * (score - self.score_min_) / (self.score_max_ - self.score_min_)
            # items are checked to lie in range, so only rounding error can leave [0, 100]
            index = np.clip(index, 0.0, 100.0)
        else:
            index = 50.0 + 10.0 * (score - self.score_mean_) / self.score_sd_
        return pd.DataFrame({"score": score, "index": index}, index=data.index)

    def fit_transform(self, data: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        """``fit(data).transform(data)``."""
        return self.fit(data).transform(data)

    def segment(self, data: pd.DataFrame) -> pd.DataFrame:
        """Scores, index, and the segment of each row under :attr:`rule`.

        Returns
        -------
        pandas.DataFrame
            ``score index connected satisfaction highly_satisfied differentiation differentiated
            segment``; ``segment`` is an ordered categorical over :data:`SEGMENTS` (NaN when a
            needed value is missing); satisfaction/differentiation columns are absent when the
            rule skips them.
        """
        self._check_fitted()
        rule = self.rule_
        if rule is None:
            raise ArgumentError("this index has no segment rule", expected="segments=SegmentRule(...)")
        out = self.transform(data)
        idx = out["index"].to_numpy()
        known = ~np.isnan(idx)
        connected = idx >= rule.connected_min
        out["connected"] = pd.array(np.where(known, connected, pd.NA), dtype="boolean")
        seg = np.where(connected, "fully_connected", "unconnected").astype(object)
        if rule.satisfaction:
            sat = _row_mean(data, rule.satisfaction)
            high = sat >= rule.satisfied_min
            known &= ~np.isnan(sat) | connected  # fully connected needs the index only
            out["satisfaction"] = sat
            out["highly_satisfied"] = pd.array(np.where(np.isnan(sat), pd.NA, high), dtype="boolean")
            stage = np.full(len(out), "highly_satisfied", dtype=object)
            if rule.differentiation:
                dif = _row_mean(data, rule.differentiation)
                differentiated = dif >= rule.differentiated_min
                out["differentiation"] = dif
                out["differentiated"] = pd.array(np.where(np.isnan(dif), pd.NA, differentiated),
                                                 dtype="boolean")
                stage = np.where(differentiated, "perceives_differentiation", "highly_satisfied")
                # differentiation only matters for the highly satisfied who are not connected
                known &= ~(np.isnan(dif) & high & ~connected)
            seg = np.where(connected, "fully_connected", np.where(high, stage, "unconnected"))
        lost = ~known & ~np.isnan(idx)
        if lost.any():
            warnings.warn(f"{int(lost.sum())} of {len(out)} rows have an index but no segment: a "
                          "satisfaction or differentiation item the rule needs is missing (rows "
                          f"{', '.join(str(r) for r in (np.flatnonzero(lost) + 1)[:10])}"
                          f"{' ...' if lost.sum() > 10 else ''})", ExclusionWarning, stacklevel=2)
        seg = np.where(known, seg, None)
        out["segment"] = pd.Categorical(seg, categories=list(SEGMENTS), ordered=True)
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Everything needed to score, as plain JSON-ready values."""
        self._check_fitted()
        return {
            "format": _FORMAT, "format_version": _FORMAT_VERSION,
            "construct": self.construct, "method": self.method, "scaling": self.scaling,
            "estimator": self.estimator, "facets": bool(self.facets), "model": self.model_,
            "items": list(self.items_),
            "weights": [float(v) for v in self.weights_], "means": [float(v) for v in self.means_],
            "item_min": [float(v) for v in self.item_min_],
            "item_max": [float(v) for v in self.item_max_],
            "score_min": self.score_min_, "score_max": self.score_max_,
            "score_mean": self.score_mean_, "score_sd": self.score_sd_,
            "n_calibration": self.n_calibration_, "loadings": dict(self.loadings_),
            "fit_measures": dict(self.fit_measures_),
            "segments": None if self.rule_ is None else self.rule_.to_dict(),
            "rule": self.rule,
        }

    @classmethod
    def from_dict(cls, d: Mapping, source: str | None = None) -> ConnectionIndex:
        """Rebuild a fitted index from :meth:`to_dict` output."""
        if not isinstance(d, Mapping):
            raise ConfigError("not a connection-index file (expected a JSON object)", file=source,
                              values=[type(d).__name__])
        if d.get("format") != _FORMAT or d.get("format_version") != _FORMAT_VERSION:
            raise ConfigError("not a connection-index file", file=source,
                              values=[d.get("format"), d.get("format_version")],
                              expected=f"format {_FORMAT!r}, format_version {_FORMAT_VERSION}")
        need = ["construct", "method", "scaling", "items", "weights", "means", "item_min",
                "item_max", "score_min", "score_max", "score_mean", "score_sd"]
        lacking = [k for k in need if k not in d]
        if lacking:
            raise ConfigError("the index file lacks entries", file=source, values=lacking)
        k = len(d["items"])
        for key in ("weights", "means", "item_min", "item_max"):
            if len(d[key]) != k:
                raise ConfigError(f"{key!r} has the wrong length", file=source,
                                  values=[len(d[key])], expected=f"{k} (one per item)")
        seg = d.get("segments")
        obj = cls(None, d["construct"], method=d["method"], scaling=d["scaling"],
                  segments=None if seg is None else SegmentRule.from_dict(seg),
                  estimator=d.get("estimator", "ML"), facets=bool(d.get("facets", False)))
        obj.model_ = d.get("model", "")
        obj.items_ = list(d["items"])
        try:
            obj.weights_ = np.array(d["weights"], dtype=float)
            obj.means_ = np.array(d["means"], dtype=float)
            obj.item_min_ = np.array([np.nan if v is None else v for v in d["item_min"]], dtype=float)
            obj.item_max_ = np.array([np.nan if v is None else v for v in d["item_max"]], dtype=float)
            for key in ("score_min", "score_max", "score_mean", "score_sd"):
                setattr(obj, key + "_", float(d[key]))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"the index file holds a value that is not a number ({exc})",
                              file=source, expected="numbers in weights, means, ranges and scores"
                              ) from None
        if not (np.isfinite(obj.weights_).all() and np.isfinite(obj.means_).all()):
            raise ConfigError("the index file has missing or infinite weights or means", file=source)
        if obj.scaling == "range":
            # 0 and 100 must be the extremes the weights and ranges imply (catches hand edits)
            w, m, lo, hi = obj.weights_, obj.means_, obj.item_min_, obj.item_max_
            smin = float(np.sum(np.where(w > 0, w * (lo - m), w * (hi - m))))
            smax = float(np.sum(np.where(w > 0, w * (hi - m), w * (lo - m))))
            if not (np.allclose([smin, smax], [obj.score_min_, obj.score_max_], rtol=1e-9, atol=1e-12)
                    and smin < smax):
                raise ConfigError("the index file is inconsistent: score_min/score_max do not follow "
                                  "from its weights, means and item ranges (edited by hand?)",
                                  file=source, values=[obj.score_min_, obj.score_max_, smin, smax],
                                  expected="an unmodified file written by ConnectionIndex.save()")
        obj.n_calibration_ = int(d.get("n_calibration", 0))
        obj.loadings_ = dict(d.get("loadings", {}))
        obj.fit_measures_ = dict(d.get("fit_measures", {}))
        obj.rule_ = obj._rule()
        return obj

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted index to a small JSON file (atomically)."""
        from connection._io import write_json

        d = self.to_dict()
        # JSON has no NaN: ranges unknown under scaling="zscore" are stored as null
        for key in ("item_min", "item_max"):
            d[key] = [None if not math.isfinite(v) else v for v in d[key]]
        return write_json(path, d)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ConnectionIndex:
        """Read an index written by :meth:`save`; it scores exactly as the saved one did."""
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the index file ({exc.strerror or exc})", file=str(p),
                              expected="a JSON file written by ConnectionIndex.save()") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError("the index file is not UTF-8 text", file=str(p),
                              expected="a JSON file written by ConnectionIndex.save()") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the index file is not valid JSON: {exc.msg}", file=str(p),
                              rows=[exc.lineno]) from exc
        return cls.from_dict(d, source=str(p))

    def weights_frame(self) -> pd.DataFrame:
        """Tidy table of the scoring rule: ``item weight calibration_mean item_min item_max
        loading_std`` (``loading_std``: the item's standardized loading on the construct, NaN for
        items that load on a facet or another factor)."""
        self._check_fitted()
        return pd.DataFrame({"item": self.items_, "weight": self.weights_,
                             "calibration_mean": self.means_, "item_min": self.item_min_,
                             "item_max": self.item_max_,
                             "loading_std": [self.loadings_.get(i, np.nan) for i in self.items_]})

    def summary(self) -> str:
        """The scoring rule, the calibration fit and the segment rule, as text."""
        self._check_fitted()
        fm = ", ".join(f"{k} {v:.4g}" for k, v in self.fit_measures_.items())
        lines = [repr(self), f"model: {self.model_.strip()}" if self.model_ else "",
                 f"calibration fit: {fm}" if fm else "",
                 f"scaling: {self.scaling} (score range {self.score_min_:.4g} to "
                 f"{self.score_max_:.4g} maps to 0-100)" if self.scaling == "range" else
                 f"scaling: zscore (50 + 10 z; calibration score mean {self.score_mean_:.4g}, "
                 f"SD {self.score_sd_:.4g})",
                 self.weights_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}")]
        if self.rule_ is not None:
            lines.append("segments (our rule):")
            lines += [f"  {k}: {v}" for k, v in self.rule_.describe().items()]
        return "\n".join(line for line in lines if line)

    def _repr_html_(self) -> str:
        if not hasattr(self, "weights_"):
            return f"<p>{repr(self)}</p>"
        rule = ""
        if self.rule_ is not None:
            rule = "<p>Segments (our rule):</p><ul>" + "".join(
                f"<li><b>{k}</b>: {v}</li>" for k, v in self.rule_.describe().items()) + "</ul>"
        return (f"<p><b>{repr(self)}</b></p>"
                + self.weights_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
                + rule)

    def __repr__(self) -> str:
        state = (f"fitted on {self.n_calibration_} rows, {len(self.items_)} items"
                 if hasattr(self, "weights_") else "not fitted")
        return (f"ConnectionIndex(construct={self.construct!r}, method={self.method!r}, "
                f"scaling={self.scaling!r}; {state})")


# ---------------------------------------------------------------------------------------------
def _check_columns(data: pd.DataFrame, items: Sequence[str]) -> None:
    for c in items:
        if c not in data.columns:
            raise MissingColumnError(f"item column {c!r} is not in the data", column=c,
                                     expected="every item of the construct")


def _numeric_items(X: pd.DataFrame) -> None:
    for c in X.columns:
        s = X[c]
        if not (pd.api.types.is_numeric_dtype(s) or s.dtype == bool):
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            raise NonNumericError("item values are not numbers", column=c,
                                  rows=(np.flatnonzero(bad.to_numpy()) + 1).tolist(),
                                  values=s[bad].tolist(), expected="numeric answers")
        inf = np.isinf(s.to_numpy(dtype=float))
        if inf.any():
            raise OutOfRangeError("item values are infinite", column=c,
                                  rows=(np.flatnonzero(inf) + 1).tolist(), values=s[inf].tolist(),
                                  expected="finite answers (NaN for missing)")


def _check_ranges(arr: np.ndarray, items: Sequence[str], lo: np.ndarray, hi: np.ndarray) -> None:
    for j, item in enumerate(items):
        col = arr[:, j]
        bad = (col < lo[j]) | (col > hi[j])
        if bad.any():
            raise OutOfRangeError(
                "value outside the item's scale", column=item,
                rows=(np.flatnonzero(bad) + 1).tolist(), values=col[bad].tolist(),
                expected=f"a value from {lo[j]:g} to {hi[j]:g}")


def _row_mean(data: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    _check_columns(data, cols)
    X = data[list(cols)]
    _numeric_items(X)
    arr = X.to_numpy(dtype=float)
    out = np.full(len(arr), np.nan)
    ok = ~np.isnan(arr).any(axis=1)
    out[ok] = arr[ok].mean(axis=1)
    return out


def _score_weights(fit, construct: str, method: str) -> pd.Series:
    """Factor-score weights of ``construct`` over the observed variables (lavPredict's)."""
    mats = fit.matrices()
    lam, beta, psi, theta = mats["lambda"], mats["beta"], mats["psi"], mats["theta"]
    ov, eta = list(lam.index), list(lam.columns)
    if construct not in eta:
        raise ArgumentError(f"the fitted model has no factor {construct!r}", values=eta)
    L = lam.to_numpy()
    k = eta.index(construct)
    if method == "regression":
        label = fit.group_labels[0]
        sigma = fit.implied[label]["cov"].loc[ov, ov].to_numpy()
        ib = np.linalg.inv(np.eye(len(eta)) - beta.to_numpy())
        cov_eta = ib @ psi.to_numpy() @ ib.T
        W = cov_eta @ L.T @ np.linalg.inv(sigma)
    else:
        if not np.any(L[:, k] != 0):
            raise ArgumentError("Bartlett scores need a factor with its own indicators",
                                values=[construct], expected="a first-order factor, or method='regression'")
        first = [j for j in range(len(eta)) if np.any(L[:, j] != 0)]
        Lf = L[:, first]
        ti = np.linalg.inv(theta.to_numpy())
        W = np.linalg.solve(Lf.T @ ti @ Lf, Lf.T @ ti)
        k = first.index(k)
    return pd.Series(W[k], index=ov)
