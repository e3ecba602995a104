"""The connection index: fit a measurement model once, score any respondent on a 0-100 scale.

:class:`ConnectionIndex` follows scikit-learn's fit/transform: :meth:`~ConnectionIndex.fit`
estimates the measurement model of one construct on a calibration sample with
:func:`connection.latent.cfa` and freezes everything needed to score (learned attributes end in
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

Ordinal items (``estimator="WLSMV"``)
------------------------------------
The calibration CFA treats the items as ordinal (thresholds and polychoric correlations, lavaan's
``ordered=``), so the loadings (``loadings_``) are those of the latent responses, not attenuated by
the coarse 1-5 codes. lavaan scores ordinal models by empirical Bayes modes, which are not a
linear function of the answers; an index must be, so the weights are the linear ones the ordinal
fit implies for the codes: under the model, the covariances of the codes
(``sum_c sum_c' d_c d_c' [Phi2(t_c, t_c'; rho) - Phi(t_c) Phi(t_c')]``, ``d`` the steps between
codes) and their covariances with the factors (``Cov(eta, y*) sum_c d_c phi(t_c)``) are exact, and

* ``method="regression"``: ``w = Cov(eta, x) Var(x)^-1``, the best linear predictor of the factor
  from the codes;
* ``method="bartlett"``: ``w = (B' E^-1 B)^-1 B' E^-1`` with ``B`` the codes' linear loadings
  ``Cov(x, eta) Cov(eta)^-1`` and ``E = Var(x) - B Cov(eta) B'`` (the linear score whose
  regression on the factor has slope 1).

Means, the 0-100 map and segments are as for ML. ``fit_measures_`` adds the scaled measures.

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
differentiation -> fully connected* never published its rule, so :class:`SegmentRule`
(``cx.SegmentRule``) is our parameterised choice, stated in :attr:`ConnectionIndex.rule` and saved
with the index:

1. ``fully_connected``: index >= ``connected_min``. These respondents are also
   ``connected = True``; everyone else is not.
2. ``perceives_differentiation``: not fully connected, highly satisfied (mean of the
   ``satisfaction`` items >= ``satisfied_min``) and perceiving differentiation (mean of the
   ``differentiation`` items >= ``differentiated_min``).
3. ``highly_satisfied``: not fully connected, highly satisfied, not perceiving differentiation.
4. ``unconnected``: the rest.

The default rule follows the instrument (:meth:`SegmentRule.for_instrument`): ``connected_min`` is
the index of "agree" (the lower of the top-2 box) on every item of the construct's scale: 75 on a
1-5 agreement scale, 100 * 5/6 on a 1-7 scale; ``satisfied_min`` is the lowest of the top 30% of the
satisfaction scale's points (8 on 1-10); ``differentiated_min`` is "agree" on the differentiation
item's scale (4 on 1-5). It needs the instrument's ``satisfaction`` construct and its
``feat_better`` item and says so when they are missing.

Exact cut-offs. Every comparison with a cut-off is decided exactly, in integer arithmetic on the
numbers as stored (binary floats are exact fractions), never on a rounded float: a respondent who
answers "agree" to every item lands exactly on ``connected_min`` (in float arithmetic
``83.33333333333331 < 100 * 5 / 6`` would leave them out). A cut-off given as a float is read as
the decimal it was typed as (``72.5``) or, when it is the rounded result of a computation (more
than 15 significant digits), as the simplest fraction that rounds to it (``100 * 5 / 6`` is read
as 250/3), so a cut-off written as a computation means what it says. The ``index`` column is the
correctly rounded value of the exact index.

Segment shares
--------------
:meth:`~ConnectionIndex.shares` gives the share of respondents in each segment (and connected),
weighted by a Survey's weights or ``weights=`` and per ``group``, with the linearization SEs of
:func:`connection.describe` (``survey::svymean``/``svyby``); all weights equal give exactly the
unweighted shares. The index itself is fitted unweighted: a weighted calibration CFA is not
available here yet.

Index files
-----------
:meth:`~ConnectionIndex.save` writes every field plus a SHA-256 checksum of the file's canonical
content (sorted keys, no whitespace); :meth:`~ConnectionIndex.load` recomputes it and validates
every field as :meth:`~ConnectionIndex.fit` would (types, sizes, finite numbers, ``score_sd > 0``,
the 0 and 100 anchors implied by the weights and ranges, the rule text, the flags), so a file that
was edited (weights negated, a cut-off moved) is refused with a
:class:`~connection.errors.ConfigError` naming the file and the field. Files of format version 1
(no checksum) are refused too, because nothing shows that they are unmodified; if you trust one,
``ConnectionIndex.load(path, verify_checksum=False)`` loads it (after the same validation, with a
warning) and ``save()`` writes it again with a checksum. The checksum detects edits and damage,
not forgery: anyone can recompute it.

Admissibility
-------------
When the calibration CFA is inadmissible (non-convergence, a negative variance, a latent
covariance matrix that is not positive definite, ...), the weights still come from it; the engine's
flags of that fit (``Fit.flags``) are recorded in :attr:`ConnectionIndex.flags_` (a tuple of :class:`~connection._flags.Flag`), in
the ``flags`` column of :meth:`~ConnectionIndex.weights_frame`, in :meth:`summary` and in the saved
file.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from connection.measurement import ConnectionIndex
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

import hashlib
import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connection._common import DEFAULT_LEVEL, warn
from connection._flags import (
    FLAG_CODES,
    OTHER,
    Flag,
    format_flags,
)
from connection._report import Report
from connection.errors import (
    ArgumentError,
    ConfigError,
    ConnectionWarning,
    EstimationError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NotFittedError,
    OutOfRangeError,
)
from connection.stats._weights import UNSET, weights_label

__all__ = ["ConnectionIndex", "SegmentRule", "SEGMENTS"]


SEGMENTS = ("unconnected", "highly_satisfied", "perceives_differentiation", "fully_connected")
"""The pathway stages, in order."""

_FORMAT = "connection-index"
_FORMAT_VERSION = 2   # 2: checksum and flags; 1 (no checksum) loads only unverified


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


@dataclass(frozen=True)
class SegmentRule:
    """Parameters of the segment rule (see the module docstring); every default is our choice.

    The class defaults are those of the default instrument (1-5 agreement, 1-10 satisfaction);
    :meth:`for_instrument` derives them from any instrument's scales.

    Parameters
    ----------
    connected_min
        Index (0-100) at or above which a respondent is connected / fully connected (a float is
        read as the number it stands for, so ``100 * 5 / 6`` means 250/3; see the module docstring).
    satisfaction
        Column(s) whose row mean is the satisfaction score; ``None`` skips the satisfied stages.
    satisfied_min
        Satisfaction score at or above which a respondent is highly satisfied.
    differentiation
        Column(s) whose row mean measures perceived differentiation; ``None`` skips that stage.
    differentiated_min
        Differentiation score at or above which differentiation is perceived.

    Examples
    --------
    >>> import connection as cx
    >>> cx.SegmentRule(connected_min=100 * 5 / 6).describe()["fully_connected"]
    'index >= 83.3333 (exactly 250/3)'
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
                v = (v,)
            elif v is not None:
                if isinstance(v, Mapping | bytes) or not isinstance(v, Iterable):
                    raise ArgumentError(f"{name} must be column names or None",
                                        values=[type(v).__name__], expected="a list of column names")
                v = tuple(v)
            if v is not None and (not v or not all(isinstance(c, str) and c for c in v)):
                raise ArgumentError(f"{name} must be one or more column names, or None",
                                    values=list(v), expected="non-empty strings")
            object.__setattr__(self, name, v)
        for name in ("connected_min", "satisfied_min", "differentiated_min"):
            v = getattr(self, name)
            if not _is_num(v) or not math.isfinite(v):
                raise ArgumentError(f"{name} must be a finite number", values=[v],
                                    expected="a number")
            object.__setattr__(self, name, float(v))
        if not 0 <= self.connected_min <= 100:
            raise ArgumentError("connected_min is an index value", values=[self.connected_min],
                                expected="a number from 0 to 100")

    @classmethod
    def for_instrument(cls, instrument: Any, construct: str = "connection") -> SegmentRule:
        """The default rule for ``construct`` of ``instrument``, following its scales.

        ``connected_min``: the index of answering "agree" (the lower point of the top-2 box) to
        every item of ``construct``; ``satisfaction``: the items of the ``satisfaction``
        construct, ``satisfied_min`` the lowest of the top 30% of their scale's points (8 on
        1-10); ``differentiation``: the item ``feat_better``, ``differentiated_min`` "agree" on
        its scale. Raises :class:`~connection.errors.ArgumentError` naming what the instrument
        lacks (pass an explicit ``SegmentRule(...)`` or ``segments=None`` then).

        Examples
        --------
        >>> from connection import instruments
        >>> r = SegmentRule.for_instrument(instruments.default(), "attachment")   # 1-7 items
        >>> r.connected_min == 100 * 5 / 6, r.satisfied_min, r.differentiated_min
        (True, 8.0, 4.0)
        """
        constructs = getattr(instrument, "constructs", {})
        lacking = [c for c in (construct, "satisfaction") if c not in constructs]
        items = getattr(instrument, "items", {})
        if "feat_better" not in items:
            lacking.append("feat_better (item)")
        if lacking:
            raise ArgumentError(
                "the default segment rule needs the scored construct, the construct "
                "'satisfaction' (highly satisfied) and the item 'feat_better' (perceives "
                "differentiation); the instrument lacks " + ", ".join(lacking),
                values=lacking, expected=f"an instrument with constructs {construct!r} and "
                "'satisfaction' and the item 'feat_better'",
                hint="pass segments=SegmentRule(connected_min=..., satisfaction=[...], "
                     "differentiation=[...] or None) or segments=None")

        def one_scale(ids: Sequence[str], what: str):
            scales = {(s.min, s.max, s.integer): s for s in (items[i].scale for i in ids)}
            if len(scales) != 1:   # labels may differ; the points must not
                raise ArgumentError(f"the default segment rule needs one answer range for {what}",
                                    values=sorted(s.describe() for s in scales.values()),
                                    expected="items sharing one range",
                                    hint="pass an explicit SegmentRule(...)")
            sc = next(iter(scales.values()))
            if not sc.integer or (sc.n_points or 0) < 3:
                raise ArgumentError(f"the default segment rule needs a rating scale for {what}",
                                    values=[sc.describe()], expected="an integer scale of 3+ points",
                                    hint="pass an explicit SegmentRule(...)")
            return sc

        conn = one_scale(list(constructs[construct].item_ids), f"the {construct!r} items")
        agree = conn.top_box(2)[0]
        cmin = float(Fraction(100) * (Fraction(agree) - Fraction(conn.min))
                     / (Fraction(conn.max) - Fraction(conn.min)))
        sat_items = tuple(constructs["satisfaction"].item_ids)
        sat = one_scale(sat_items, "the satisfaction items")
        k = max(1, min(sat.n_points - 1, round(0.3 * sat.n_points)))
        dif = one_scale(["feat_better"], "the differentiation item")
        return cls(connected_min=cmin, satisfaction=sat_items, satisfied_min=float(sat.top_box(k)[0]),
                   differentiation=("feat_better",), differentiated_min=float(dif.top_box(2)[0]))

    @classmethod
    def for_range(cls, lo: float, hi: float) -> SegmentRule:
        """The class defaults with ``connected_min`` at "agree" (top-2 box) of an integer item
        range ``lo``-``hi`` (75 on 1-5); other ranges keep 75."""
        if float(lo).is_integer() and float(hi).is_integer() and hi - lo >= 2:
            return cls(connected_min=float(Fraction(100) * (Fraction(hi) - 1 - Fraction(lo))
                                           / (Fraction(hi) - Fraction(lo))))
        return cls()

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("satisfaction", "differentiation"):
            d[k] = None if d[k] is None else list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> SegmentRule:
        if not isinstance(d, Mapping):
            raise ConfigError("a segment rule must be a table of its fields",
                              values=[type(d).__name__], expected="{connected_min: ..., ...}")
        allowed = {f.name for f in fields(cls)}
        unknown = set(d) - allowed
        if unknown:
            raise ConfigError("unknown segment-rule keys", values=sorted(map(str, unknown)),
                              expected=", ".join(sorted(allowed)))
        return cls(**dict(d))

    def cut(self, name: str) -> Fraction:
        """The exact cut-off ``name`` (``"connected_min"``, ...) as compared (see the module
        docstring): the typed decimal, or the simplest fraction that rounds to the stored float."""
        return _exact_cut(getattr(self, name))

    def _show(self, name: str) -> str:
        v = getattr(self, name)
        exact = self.cut(name)
        text = f"{v:g}"
        if exact.denominator != 1 and Fraction(text) != exact:
            text += f" (exactly {exact})"
        return text

    def describe(self) -> dict[str, str]:
        """The rule in words, one entry per segment (highest stage first)."""
        sat = (f"mean({', '.join(self.satisfaction)}) >= {self._show('satisfied_min')}"
               if self.satisfaction else None)
        dif = (f"mean({', '.join(self.differentiation)}) >= {self._show('differentiated_min')}"
               if self.differentiation else None)
        cm = self._show("connected_min")
        out = {"fully_connected": f"index >= {cm}"}
        if sat and dif:
            out["perceives_differentiation"] = f"index < {cm} and {sat} and {dif}"
            out["highly_satisfied"] = f"index < {cm} and {sat} and not {dif}"
        elif sat:
            out["highly_satisfied"] = f"index < {cm} and {sat}"
        out["unconnected"] = "otherwise"
        out["connected"] = f"index >= {cm}"
        return out


# ---------------------------------------------------------------------------- exact arithmetic
def _simplest_between(a: Fraction, b: Fraction) -> Fraction:
    """The fraction with the smallest denominator strictly between ``a < b``."""
    n = math.floor(a)
    if n + 1 < b:                                   # an integer lies inside
        if a < 0 < b:
            return Fraction(0)
        return Fraction(n + 1) if a >= 0 else Fraction(math.ceil(b) - 1)
    lo_y = 1 / (b - n)                              # x = n + 1/y, y in (1/(b-n), 1/(a-n))
    if a == n:
        return n + 1 / Fraction(math.floor(lo_y) + 1)
    return n + 1 / _simplest_between(lo_y, 1 / (a - n))


def _exact_cut(c: float) -> Fraction:
    """The number a float cut-off stands for: the decimal it was typed as when its shortest
    representation has at most 15 significant digits (``72.5``, ``0.1``), else (a computed
    value such as ``100 * 5 / 6 = 83.33333333333333``) the simplest fraction that rounds to it.

    >>> _exact_cut(100 * 5 / 6), _exact_cut(100 * 2 / 3), _exact_cut(70.0), _exact_cut(0.1)
    (Fraction(250, 3), Fraction(200, 3), Fraction(70, 1), Fraction(1, 10))
    """
    c = float(c)
    f = Fraction(c)
    if c == 0 or not math.isfinite(c):
        return f
    text = repr(c)
    mantissa = text.lower().split("e")[0].lstrip("-").replace(".", "")
    if len(mantissa.lstrip("0").rstrip("0")) <= 15:
        return Fraction(text)
    lo = (f + Fraction(math.nextafter(c, -math.inf))) / 2
    hi = (f + Fraction(math.nextafter(c, math.inf))) / 2
    x = _simplest_between(lo, hi)
    return x if float(x) == c else f


def _dyadic_exponent(*arrays: Any) -> int:
    """The smallest ``F >= 0`` with every finite value times ``2**F`` a whole number."""
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
    vals = vals[np.isfinite(vals) & (vals != 0)]
    if not len(vals):
        return 0
    m, e = np.frexp(vals)                              # vals = m 2**e, 0.5 <= |m| < 1
    M = np.abs(np.ldexp(m, 53)).astype(np.int64)       # exact 53-bit integer mantissa
    tz = np.log2(M & -M).astype(np.int64)              # trailing zero bits (exact: powers of 2)
    return int(max(0, (53 - e - tz).max()))


def _ints(a: Any, F: int) -> np.ndarray:
    """``a * 2**F`` as exact Python integers (object array); ``a * 2**F`` must be whole."""
    a = np.asarray(a, dtype=float)
    own = min(F, _dyadic_exponent(a))        # the array's own exponent, then shift exactly
    y = np.ldexp(a, own)
    if np.all(np.isfinite(y)) and (y.size == 0 or np.abs(y).max() < 2.0**62):
        out = y.astype(np.int64).astype(object)
        return out * (1 << (F - own)) if F > own else out
    scale = 1 << F
    return np.array([int(Fraction(float(v)) * scale) for v in a.ravel()],
                    dtype=object).reshape(a.shape)


def _at_least(num: np.ndarray, den: int, cut: Fraction) -> np.ndarray:
    """Exactly ``num / den >= cut`` for each integer ``num`` (``den > 0``)."""
    if not len(num):
        return np.zeros(0, dtype=bool)
    return np.asarray(num * cut.denominator >= cut.numerator * den, dtype=bool)


def _divide(num: np.ndarray, den: int) -> np.ndarray:
    """Correctly rounded ``num / den`` (Python's integer true division)."""
    return np.array([n / den for n in num], dtype=float)


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


class ConnectionIndex:
    """Fit a construct's measurement model on a calibration sample; score anyone 0-100.

    Parameters
    ----------
    instrument_or_model
        An :class:`~connection.Instrument` (the construct's items and their scale
        ranges come from it; a one-factor model of ``construct`` is fitted), a dict
        ``{construct: [item columns]}``, or lavaan-style model text (then ``construct`` names the
        factor to score; with several factors, regression weights involve all their items).
        ``None`` (default): the instrument of the Survey given to :meth:`fit`, else the
        package's default instrument.
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
        Estimator of the calibration CFA: ``"ML"`` or ``"MLR"`` (items taken as numbers; scores
        do not depend on the SEs), or ``"WLSMV"`` (also ``"DWLS"``, ``"ULSMV"``, ``"ULS"``):
        the items are ordinal, fitted by :func:`connection.cfa` with ``ordered=True`` (delta
        parameterization), and the weights are the linear factor-score weights that fit
        implies for the item codes (see "Ordinal items" in the module docstring). Saved with
        the index.
    facets
        With an Instrument whose construct has facets: fit the second-order model (facets under
        the construct) instead of one factor over all items; the construct's regression scores
        then come from the second-order factor (as lavaan's ``lavPredict``).

    Notes
    -----
    Items are used as they arrive: pass the :class:`~connection.Survey` from
    :func:`connection.read_survey` (or its ``data``: reverse-keyed items already recoded), or
    recode them first. :meth:`fit`, :meth:`transform`, :meth:`segment` and
    :meth:`fit_transform` take a DataFrame or a Survey.

    As in scikit-learn, :meth:`get_params` / :meth:`set_params` read and change the constructor
    arguments; a fitted-state attribute (ending in ``_``) or a method that needs one, used before
    :meth:`fit` or :meth:`load`, raises :class:`NotFittedError` (an
    :class:`~connection.errors.ArgumentError` and an :class:`AttributeError`).

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
    fit_ : connection.latent.Fit
        The calibration fit (not saved by :meth:`save`).
    flags_ : tuple of connection._flags.Flag
        Admissibility flags of the calibration fit (empty when admissible).
    """

    _FITTED = ("items_", "weights_", "means_", "item_min_", "item_max_", "score_min_",
               "score_max_", "score_mean_", "score_sd_", "loadings_", "fit_measures_",
               "n_calibration_", "model_", "fit_", "flags_", "rule_")
    _PARAMS = ("instrument_or_model", "construct", "method", "scaling", "segments", "item_range",
               "estimator", "facets")

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

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: a fitted-state attribute before fit()
        # (admissible_ is a property: its NotFittedError, an AttributeError, lands here too)
        if name in type(self)._FITTED or name == "admissible_":
            if name == "fit_" and "weights_" in self.__dict__:
                raise AttributeError("a loaded ConnectionIndex has no calibration fit: fit_ is not "
                                     "saved in the index file (refit on the calibration data to "
                                     "inspect it)")
            self._check_fitted(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready values (scikit-learn's ``get_params``).

        What the index takes from an Instrument (explicit, a Survey's or the default one) is
        written out: ``instrument_or_model`` is the model text, ``item_range`` the item ranges
        ``{item: [min, max]}`` (``None`` when none are known) and ``segments`` the segment rule's
        fields (``None`` without segments, or when the instrument cannot give the default rule).
        So ``ConnectionIndex(**index.get_params())`` fits the same index, the parameters can go
        into a manifest as they are, and an index loaded with :meth:`load` reports the
        parameters of the index that was saved. ``deep`` is accepted for scikit-learn's sake
        (the index holds no nested estimators).

        Examples
        --------
        >>> p = ConnectionIndex({"f": ["a", "b", "c"]}, "f", item_range=(1, 5)).get_params()
        >>> p["instrument_or_model"], p["item_range"]["a"], p["segments"]["connected_min"]
        ('f =~ a + b + c', [1.0, 5.0], 75.0)
        >>> ConnectionIndex(**p).get_params() == p
        True
        """
        model, items, ranges = self._model_and_items()
        try:
            rule = self._rule()
        except ArgumentError:
            if not (isinstance(self.segments, str) and self.segments == "default"):
                raise
            rule = None   # fit() scores without segments then
        known = {i: [float(ranges[i][0]), float(ranges[i][1])] for i in items if i in ranges}
        return {"instrument_or_model": model, "construct": self.construct, "method": self.method,
                "scaling": self.scaling, "segments": None if rule is None else rule.to_dict(),
                "item_range": known or None, "estimator": self.estimator,
                "facets": bool(self.facets)}

    def set_params(self, **params: Any) -> ConnectionIndex:
        """Change constructor arguments (scikit-learn's ``set_params``); returns the index.

        The fitted state is kept until the next :meth:`fit`. An unknown name is an
        :class:`~connection.errors.ArgumentError` listing the parameters.
        """
        unknown = [k for k in params if k not in self._PARAMS]
        if unknown:
            raise ArgumentError("ConnectionIndex has no such parameter", values=unknown,
                                expected=", ".join(self._PARAMS))
        for key, value in params.items():
            setattr(self, key, value)
        return self

    # ------------------------------------------------------------------ configuration
    def _rule(self) -> SegmentRule | None:
        s = self.segments
        if isinstance(s, str) and s == "default":
            return self._default_rule()
        if s is None or isinstance(s, SegmentRule):
            return s
        if isinstance(s, Mapping):
            return SegmentRule.from_dict(s)
        raise ArgumentError("segments must be a SegmentRule, a dict of its fields or None",
                            values=[type(s).__name__], expected="SegmentRule(...)")

    def _default_rule(self) -> SegmentRule:
        """The default rule: from the instrument's scales (:meth:`SegmentRule.for_instrument`),
        else from a single ``item_range`` (:meth:`SegmentRule.for_range`), else the class
        defaults."""
        src = self._source()
        if hasattr(src, "model_syntax") and hasattr(src, "constructs"):
            return SegmentRule.for_instrument(src, self.construct)
        ir = self.item_range
        try:
            pairs = ({(float(v[0]), float(v[1])) for v in ir.values()} if isinstance(ir, Mapping)
                     else set() if ir is None else {(float(ir[0]), float(ir[1]))})
        except (TypeError, ValueError, IndexError):
            pairs = set()
        if len(pairs) == 1:
            (lo, hi), = pairs
            if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
                return SegmentRule.for_range(lo, hi)
        return SegmentRule()

    @property
    def rule(self) -> dict:
        """The segment rule: its parameters and the rule in words (``{}`` without segments)."""
        r = self.rule_ if hasattr(self, "weights_") else self._rule()
        return {} if r is None else {"parameters": r.to_dict(), "segments": r.describe()}

    def _source(self) -> Any:
        """``instrument_or_model``; when it is None, the instrument of the Survey last given to
        :meth:`fit`, else the package's default instrument."""
        src = self.instrument_or_model
        if src is None:
            src = self.__dict__.get("_survey_instrument")
        if src is None:
            from connection import instruments

            src = instruments.default()
        return src

    def _model_and_items(self) -> tuple[str, list[str], dict[str, tuple[float, float]]]:
        src = self._source()
        ranges: dict[str, tuple[float, float]] = {}
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
            from connection.latent import parse_model

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
    def fit(self, data: pd.DataFrame | Any, y: Any = None, *,
            weights: Any = UNSET) -> ConnectionIndex:
        """Fit the measurement model on the calibration sample and freeze the scoring rule.

        ``data``: a DataFrame or a :class:`~connection.Survey` (its data; its instrument when
        ``instrument_or_model`` is None), or a ``dask.dataframe.DataFrame`` (the calibration
        CFA from its partition-wise moments: :func:`connection.cfa` on a Dask frame). ``y`` is
        ignored (scikit-learn's signature).

        ``weights``: survey weights of the calibration rows (a column, an array or Series, a
        :class:`~connection.stats.RakeResult`, or ``None``; default a Survey's weights). The
        calibration CFA is then weighted (lavaan's ``sampling.weights``: the score weights come
        from the weighted model), ``means_`` are the weighted item means and ``score_sd_`` the
        weighted SD of the calibration scores (``svyvar``'s ``n / (n - 1)``). All weights equal
        give exactly the unweighted index. Not with an ordinal estimator (the engine has no
        weighted polychorics: refused with a typed error).
        """
        survey = _is_survey(data)
        survey_weights = getattr(data, "weights", None) if survey else None
        self._survey_instrument = data.instrument if survey else None
        if _is_dask(data):
            return self._fit_dask(data, weights)
        data = _as_frame(data, "fit")
        model, items, ranges, rule = self._prepare_fit(data)
        _check_columns(data, items)
        from connection.latent import cfa

        X = data[items]
        _numeric_items(X)
        if self.scaling == "range":  # a calibration answer off the scale would skew 0 and 100
            _check_ranges(X.to_numpy(dtype=float), items, np.array([ranges[i][0] for i in items]),
                          np.array([ranges[i][1] for i in items]))
        return self._fit_frame(data, X, model, ranges, rule, weights, survey_weights, cfa)

    def _prepare_fit(self, data: Any) -> tuple:
        """The checked options, the model, its items and ranges, and the segment rule."""
        if self.method not in ("regression", "bartlett"):
            raise ArgumentError("unknown factor-score method", values=[self.method],
                                expected="'regression' or 'bartlett'")
        if self.scaling not in ("range", "zscore"):
            raise ArgumentError("unknown scaling", values=[self.scaling],
                                expected="'range' (theoretical item range) or 'zscore'")
        model, items, ranges = self._model_and_items()
        self._rule_error = None
        try:
            rule = self._rule()
        except ArgumentError as exc:
            if not (isinstance(self.segments, str) and self.segments == "default"):
                raise
            # the instrument cannot give the default rule: score without segments; segment()
            # says what is missing
            rule, self._rule_error = None, exc
        if self.scaling == "range":
            lacking = [i for i in items if i not in ranges]
            if lacking:
                raise ArgumentError("scaling='range' needs each item's scale range", values=lacking,
                                    expected="item_range=(min, max) or {item: (min, max)}, or an "
                                             "Instrument")
        return model, items, ranges, rule

    def _fit_frame(self, data, X, model, ranges, rule, weights, survey_weights, cfa):
        """:meth:`fit` on a pandas frame: the (weighted) calibration CFA and the scoring rule."""
        ordinal = _check_estimator(self.estimator)
        w = _calibration_weights(data, X, weights, survey_weights)
        if w is not None and ordinal and weights is UNSET:
            warn("the Survey's weights are not used by the ordinal calibration CFA (no weighted "
                 "polychorics yet): the index is fitted unweighted; pass weights=None to say so",
                 ConnectionWarning)
            w = None
        if w is not None and ordinal:
            raise ArgumentError("weights= is not available with an ordinal estimator of the "
                                "calibration CFA yet", values=[self.estimator],
                                expected="estimator='ML' or 'MLR' with weights, or weights=None")
        try:
            fit = (cfa(model, X, estimator=self.estimator, ordered=True) if ordinal else
                   cfa(model, X, estimator=self.estimator, weights=w))
        except np.linalg.LinAlgError as exc:   # the engine should raise its own error (reported)
            raise EstimationError(f"the calibration CFA of {self.construct!r} could not be fitted "
                                  f"({exc})", values=[f"n={len(X)}"],
                                  expected="more respondents than items and a positive definite "
                                           "item covariance matrix") from None
        used = X.loc[fit.rows_used] if len(fit.rows_used) else X.dropna()
        weights = (_ordinal_score_weights(fit, self.construct, self.method, used) if ordinal
                   else _score_weights(fit, self.construct, self.method))
        self.fit_ = fit
        self.model_ = model
        self.items_ = [str(c) for c in weights.index]
        self.weights_ = weights.to_numpy(dtype=float)
        arr = used[self.items_].to_numpy(dtype=float)
        w_used = None if w is None else w[X.notna().all(axis=1).to_numpy()]
        self.means_ = arr.mean(axis=0) if w_used is None else w_used @ arr / w_used.sum()
        self.n_calibration_ = int(len(used))
        calib = (arr - self.means_) @ self.weights_
        if w_used is None:
            mean, sd = float(calib.mean()), float(calib.std(ddof=1))
        else:
            mean = float(w_used @ calib / w_used.sum())
            n = len(calib)
            sd = math.sqrt(n / (n - 1) * float(w_used @ (calib - mean) ** 2) / w_used.sum())
        return self._finish_fit(fit, ranges, rule, ordinal, mean, sd)

    def _finish_fit(self, fit, ranges, rule, ordinal, score_mean, score_sd) -> ConnectionIndex:
        """The scale ends, the calibration score's mean and SD, loadings and fit measures."""
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
        self.score_mean_, self.score_sd_ = score_mean, score_sd
        if not (math.isfinite(self.score_sd_) and self.score_sd_ > 0):
            raise EstimationError(f"the calibration scores of {self.construct!r} do not vary",
                                  values=[f"n={self.n_calibration_}", f"SD={self.score_sd_}"],
                                  expected="a calibration sample whose answers vary")
        est = fit.estimates
        lo_rows = est[(est["op"] == "=~") & (est["lhs"] == self.construct)]
        self.loadings_ = {str(r): float(v) for r, v in zip(lo_rows["rhs"], lo_rows["std_all"])}
        fm = fit.fit_measures
        self.fit_measures_ = {k: float(fm[k]) for k in _FIT_MEASURES if k in fm.index
                              and (ordinal or not k.endswith("_scaled"))}
        self.flags_ = tuple(fit.flags)   # the engine's admissibility flags
        self.rule_ = rule
        return self

    @property
    def admissible_(self) -> bool:
        """True when the calibration solution has no admissibility flag (see :attr:`flags_`)."""
        self._check_fitted()
        return not self.flags_

    def _check_fitted(self, what: str | None = None) -> None:
        if "weights_" not in self.__dict__:
            raise NotFittedError("this ConnectionIndex is not fitted yet"
                                 + (f": {what} is learned by fit()" if what else ""),
                                 expected="call .fit(calibration_data) or ConnectionIndex.load(path)")

    # ------------------------------------------------------------------ scoring
    def transform(self, data: pd.DataFrame | Any) -> pd.DataFrame:
        """Scores and the 0-100 index for every row of ``data`` (a DataFrame or a
        :class:`~connection.Survey`; the result's index is aligned with the data's).

        Rows with a missing item get NaN (never imputed) and an
        :class:`~connection.errors.ExclusionWarning`; values outside an item's range raise
        :class:`~connection.errors.OutOfRangeError` (``scaling="range"``).

        Returns
        -------
        pandas.DataFrame
            ``score`` (factor score, calibration-centred) and ``index``.
        """
        if _is_dask(data):
            return self._partitionwise(data, "transform")
        out, _, _ = self._scores(data)
        return out

    def _partitionwise(self, data: Any, what: str) -> Any:
        """:meth:`transform` / :meth:`segment` of a Dask frame, partition by partition (each
        row's score and segment depend on that row only): a Dask frame with the same columns
        and index. Errors and warnings name rows within their partition."""
        self._check_fitted()
        method = getattr(self, what)
        meta = method(data._meta)
        return data.map_partitions(method, meta=meta)

    def _fit_dask(self, data: Any, weights: Any) -> ConnectionIndex:
        """:meth:`fit` on a Dask frame: the calibration CFA by :func:`connection.cfa` on the
        frame (partition-wise moments), the means and the calibration scores' SD from the
        fit's moments (``score_sd_ = sqrt(n / (n - 1) w' S w)``, ``S`` the ML covariance,
        weighted when weighted)."""
        if weights is not UNSET and weights is not None and not isinstance(weights, str):
            raise ArgumentError("weights= on a Dask frame must name a column of the frame",
                                values=[type(weights).__name__],
                                expected="weights='column' (or data.compute())")
        wcol = None if weights is UNSET else weights
        if _check_estimator(self.estimator):
            raise ArgumentError("an ordinal calibration CFA is not available on a Dask frame",
                                values=[self.estimator],
                                expected="estimator='ML' or 'MLR', or fit on data.compute()")
        model, items, ranges, rule = self._prepare_fit(data)
        _check_columns(data, items)
        _numeric_items(data._meta[items])
        import dask

        lo = hi = None
        if self.scaling == "range":
            lo = np.array([ranges[i][0] for i in items])
            hi = np.array([ranges[i][1] for i in items])
        dask.compute(*[dask.delayed(_check_items_part)(part, items, lo, hi)
                       for part in data[items].to_delayed()])
        from connection.latent import cfa

        cols = list(dict.fromkeys([*items, *([wcol] if wcol else [])]))
        fit = cfa(model, data[cols], estimator=self.estimator, weights=wcol)
        weights_ = _score_weights(fit, self.construct, self.method)
        st = fit.estimation.stats[0]
        ov = list(fit.estimation.partable.ov_names)
        pos = [ov.index(str(c)) for c in weights_.index]
        self.fit_ = fit
        self.model_ = model
        self.items_ = [str(c) for c in weights_.index]
        self.weights_ = weights_.to_numpy(dtype=float)
        self.means_ = np.asarray(st.mean, dtype=float)[pos]
        n = int(st.rows)
        self.n_calibration_ = n
        cov = np.asarray(st.cov, dtype=float)[np.ix_(pos, pos)]
        sd = math.sqrt(n / (n - 1) * float(self.weights_ @ cov @ self.weights_))
        return self._finish_fit(fit, ranges, rule, False, 0.0, sd)

    def _scores(self, data: Any) -> tuple[pd.DataFrame, np.ndarray, int]:
        """transform()'s frame, plus the exact index of the complete rows as ``num / den``
        (``num`` an object array of Python integers, NaN rows dropped)."""
        self._check_fitted()
        data = _as_frame(data, "transform")
        _check_columns(data, self.items_)
        X = data[self.items_]
        _numeric_items(X)
        arr = X.to_numpy(dtype=float)
        if self.scaling == "range":
            _check_ranges(arr, self.items_, self.item_min_, self.item_max_)
        missing = np.isnan(arr).any(axis=1)
        if missing.any():
            warn(f"{int(missing.sum())} of {len(arr)} rows have a missing item and get no "
                 "score (NaN); scores are never imputed", ExclusionWarning)
        score = (arr - self.means_) @ self.weights_
        num, den = self._exact_index(arr[~missing])
        index = np.full(len(arr), np.nan)
        index[~missing] = _divide(num, den)
        return pd.DataFrame({"score": score, "index": index}, index=data.index), num, den

    def _exact_index(self, arr: np.ndarray) -> tuple[np.ndarray, int]:
        """The index of complete rows exactly, as integers ``num`` over one ``den > 0``.

        ``range``: ``100 sum_j |w_j| d_j / sum_j |w_j| (max_j - min_j)`` with ``d_j`` the distance
        of the answer from the end of item j's scale that lowers the score (the calibration
        means cancel); ``zscore``: ``50 + 10 (sum_j w_j (x_j - m_j) - mean) / sd``. Every stored
        float is an exact binary fraction, so scaling by a power of two makes all terms integers.
        """
        w = self.weights_
        if self.scaling == "range":
            lo, hi = self.item_min_, self.item_max_
            F = _dyadic_exponent(arr, lo, hi)
            E = _dyadic_exponent(w)
            A = _ints(np.abs(w), E)
            X, LO, HI = _ints(arr, F), _ints(lo, F), _ints(hi, F)
            d = np.where(w > 0, X - LO, HI - X) if len(arr) else np.zeros((0, len(w)), dtype=object)
            num = (d @ A) * 100 if len(arr) else np.zeros(0, dtype=object)
            den = int((HI - LO) @ A)
            return np.asarray(num, dtype=object), den
        F = _dyadic_exponent(arr, self.means_, [self.score_mean_, self.score_sd_])
        E = _dyadic_exponent(w)
        W = _ints(w, E)
        X, M = _ints(arr, F), _ints(self.means_, F)
        mu = int(Fraction(self.score_mean_) * (1 << (F + E)))
        sd = int(Fraction(self.score_sd_) * (1 << (F + E)))
        s = (X - M) @ W if len(arr) else np.zeros(0, dtype=object)
        return np.asarray(50 * sd + 10 * (s - mu), dtype=object), sd

    def fit_transform(self, data: pd.DataFrame | Any, y: Any = None) -> pd.DataFrame:
        """``fit(data).transform(data)``."""
        return self.fit(data).transform(data)

    def segment(self, data: pd.DataFrame | Any) -> pd.DataFrame:
        """Scores, index, and the segment of each row of ``data`` (a DataFrame or a
        :class:`~connection.Survey`) under :attr:`rule`.

        Returns
        -------
        pandas.DataFrame
            ``score index connected satisfaction highly_satisfied differentiation differentiated
            segment``; ``segment`` is an ordered categorical over :data:`SEGMENTS` (NaN when a
            needed value is missing); satisfaction/differentiation columns are absent when the
            rule skips them.
        """
        self._check_fitted()
        if _is_dask(data):
            return self._partitionwise(data, "segment")
        data = _as_frame(data, "segment")
        rule = self.rule_
        if rule is None:
            why = getattr(self, "_rule_error", None)
            raise ArgumentError("this index has no segment rule"
                                + (f": {why.message}" if why is not None else ""),
                                values=None if why is None else why.values,
                                expected="segments=SegmentRule(...)" if why is None else why.expected,
                                hint=None if why is None else why.hint)
        out, num, den = self._scores(data)
        idx = out["index"].to_numpy()
        known = ~np.isnan(idx)
        connected = np.zeros(len(idx), dtype=bool)
        connected[known] = _at_least(num, den, rule.cut("connected_min"))
        out["connected"] = pd.array(np.where(known, connected, pd.NA), dtype="boolean")
        seg = np.where(connected, "fully_connected", "unconnected").astype(object)
        if rule.satisfaction:
            sat, high = _row_mean(data, rule.satisfaction, rule.cut("satisfied_min"))
            known &= ~np.isnan(sat) | connected  # fully connected needs the index only
            out["satisfaction"] = sat
            out["highly_satisfied"] = pd.array(np.where(np.isnan(sat), pd.NA, high), dtype="boolean")
            stage = np.full(len(out), "highly_satisfied", dtype=object)
            if rule.differentiation:
                dif, differentiated = _row_mean(data, rule.differentiation,
                                                rule.cut("differentiated_min"))
                out["differentiation"] = dif
                out["differentiated"] = pd.array(np.where(np.isnan(dif), pd.NA, differentiated),
                                                 dtype="boolean")
                stage = np.where(differentiated, "perceives_differentiation", "highly_satisfied")
                # differentiation only matters for the highly satisfied who are not connected
                known &= ~(np.isnan(dif) & high & ~connected)
            seg = np.where(connected, "fully_connected", np.where(high, stage, "unconnected"))
        lost = ~known & ~np.isnan(idx)
        if lost.any():
            warn(f"{int(lost.sum())} of {len(out)} rows have an index but no segment: a "
                 "satisfaction or differentiation item the rule needs is missing (rows "
                 f"{', '.join(str(r) for r in (np.flatnonzero(lost) + 1)[:10])}"
                 f"{' ...' if lost.sum() > 10 else ''})", ExclusionWarning)
        seg = np.where(known, seg, None)
        out["segment"] = pd.Categorical(seg, categories=list(SEGMENTS), ordered=True)
        return out

    def shares(self, data: pd.DataFrame | Any, *, weights: Any = UNSET,
               group: str | Sequence[str] | None = None,
               level: float = DEFAULT_LEVEL) -> pd.DataFrame:
        """The share of respondents in each segment (and connected), with design-based SEs.

        The rows of :meth:`segment` described by :func:`connection.describe`: weighted shares
        with ``survey::svymean``'s linearization standard errors on ``svydesign(ids = ~1,
        weights = ~w)``, per ``group`` as domain estimates (``svyby``). Rows without a segment
        (a missing item) are left out and counted in ``n_missing``.

        Parameters
        ----------
        data
            The respondents (a DataFrame or a :class:`~connection.Survey`).
        weights
            Survey weights: a column of ``data``, an array or Series, a
            :class:`~connection.stats.RakeResult` (calibration-adjusted SEs) or ``None``.
            Default: a Survey's weights (none for a DataFrame). All weights equal give exactly
            the unweighted shares. The index itself is fitted as :meth:`fit` was told
            (``fit(..., weights=)`` weights the calibration CFA).
        group
            Column(s) of ``data`` to estimate the shares in.
        level
            Confidence level of the intervals.

        Returns
        -------
        pandas.DataFrame
            :func:`connection.describe`'s table for the variables ``segment`` (one row per
            segment, in pathway order, empty ones at 0) and ``connected`` (``False``/``True``).
        """
        from connection.stats._describe import describe
        from connection.stats._weights import RakeResult, resolve_weights

        survey_weights = getattr(data, "weights", None) if _is_survey(data) else None
        frame = _as_frame(data, "shares")
        seg = self.segment(frame)
        groups = [] if group is None else [group] if isinstance(group, str) else list(group)
        _check_columns(frame, groups)
        table = pd.DataFrame({g: frame[g] for g in groups}, index=frame.index)
        table["segment"] = seg["segment"]
        table["connected"] = seg["connected"]
        w = weights if isinstance(weights, RakeResult) else resolve_weights(
            frame, weights, survey_weights)
        out = describe(table, ["segment", "connected"], weights=w, group=group, level=level)
        out.attrs["weights"] = ("none" if w is None else weights_label(weights, survey_weights))
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Everything needed to score, as plain JSON-ready values, with the ``checksum`` that
        :meth:`from_dict` / :meth:`load` verify (see the module docstring)."""
        self._check_fitted()

        def num(v: float) -> float | None:   # JSON has no NaN: unknown values are null
            return float(v) if math.isfinite(v) else None

        d = {
            "format": _FORMAT, "format_version": _FORMAT_VERSION,
            "construct": self.construct, "method": self.method, "scaling": self.scaling,
            "estimator": self.estimator, "facets": bool(self.facets), "model": self.model_,
            "items": list(self.items_),
            "weights": [float(v) for v in self.weights_], "means": [float(v) for v in self.means_],
            "item_min": [num(v) for v in self.item_min_],
            "item_max": [num(v) for v in self.item_max_],
            "score_min": num(self.score_min_), "score_max": num(self.score_max_),
            "score_mean": float(self.score_mean_), "score_sd": float(self.score_sd_),
            "n_calibration": int(self.n_calibration_),
            "loadings": {str(k): num(v) for k, v in self.loadings_.items()},
            "fit_measures": {str(k): num(v) for k, v in self.fit_measures_.items()},
            "segments": None if self.rule_ is None else self.rule_.to_dict(),
            "rule": self.rule,
            "flags": [{"code": f.code, "message": f.message, "parameters": list(f.parameters)}
                      for f in self.flags_],
        }
        d["checksum"] = _checksum(d)
        return d

    @classmethod
    def from_dict(cls, d: Mapping, source: str | None = None, *,
                  verify_checksum: bool = True) -> ConnectionIndex:
        """Rebuild a fitted index from :meth:`to_dict` output, validating every field.

        Raises :class:`~connection.errors.ConfigError` (naming ``source`` and the field) for
        anything :meth:`fit` could not have produced, and for a missing or wrong checksum unless
        ``verify_checksum=False`` (then a warning; the fields are validated all the same).
        """
        return _IndexFileReader(cls, d, source, verify_checksum).read()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted index to a small JSON file (atomically), with its checksum."""
        from connection._io import write_json

        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, *, verify_checksum: bool = True) -> ConnectionIndex:
        """Read an index written by :meth:`save`; it scores exactly as the saved one did.

        Every field is validated and the checksum verified; an edited, damaged or foreign file is
        a :class:`~connection.errors.ConfigError` naming the file and the field. Files written
        before checksums existed (format version 1) are refused unless
        ``verify_checksum=False``, which loads a file you trust (with a warning) so that
        :meth:`save` can write it again with a checksum.
        """
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"), parse_constant=_no_constant)
        except OSError as exc:
            raise ConfigError(f"cannot read the index file ({exc.strerror or exc})", file=str(p),
                              expected="a JSON file written by ConnectionIndex.save()") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError("the index file is not UTF-8 text", file=str(p),
                              expected="a JSON file written by ConnectionIndex.save()") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the index file is not valid JSON: {exc.msg}", file=str(p),
                              rows=[exc.lineno], hint=_REFIT) from exc
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"the index file is not valid JSON: {exc}"[:300], file=str(p),
                              hint=_REFIT) from None
        return cls.from_dict(d, source=str(p), verify_checksum=verify_checksum)

    def weights_frame(self) -> pd.DataFrame:
        """Tidy table of the scoring rule: ``item weight calibration_mean item_min item_max
        loading_std flags`` (``loading_std``: the item's standardized loading on the construct,
        NaN for items that load on a facet or another factor; ``flags``: the calibration fit's
        admissibility flags, ``""`` when admissible, on every row since every weight comes from
        that fit)."""
        self._check_fitted()
        return pd.DataFrame({"item": self.items_, "weight": self.weights_,
                             "calibration_mean": self.means_, "item_min": self.item_min_,
                             "item_max": self.item_max_,
                             "loading_std": [self.loadings_.get(i, np.nan) for i in self.items_],
                             "flags": format_flags(self.flags_)})

    def to_frame(self) -> pd.DataFrame:
        """The main table: the scoring rule, as :meth:`weights_frame`."""
        return self.weights_frame()

    def summary(self) -> Report:
        """The scoring rule, the calibration fit and the segment rule, as a
        :class:`~connection._report.Report` (the calibration fit's flags first)."""
        self._check_fitted()
        fm = ", ".join(f"{k} {v:.4g}" for k, v in self.fit_measures_.items())
        scaling = (f"range (score {self.score_min_:.4g} to {self.score_max_:.4g} maps to 0-100)"
                   if self.scaling == "range" else
                   f"zscore (50 + 10 z; calibration score mean {self.score_mean_:.4g}, "
                   f"SD {self.score_sd_:.4g})")
        header = [("Construct", self.construct), ("Factor-score weights", self.method),
                  ("Scaling", scaling), ("Estimator", self.estimator),
                  ("Calibration rows", self.n_calibration_),
                  ("Model", "; ".join(line.strip() for line in self.model_.strip().splitlines()))]
        if fm:
            header.append(("Calibration fit", fm))
        report = Report(f"Connection index of {self.construct!r}", header=header,
                        flags=self.flags_)
        report.add_table(self.weights_frame().drop(columns="flags"), caption="Scoring rule",
                         digits=4)
        if self.rule_ is not None:
            described = self.rule_.describe()
            report.add_table(pd.DataFrame({"segment": list(described),
                                           "rule": list(described.values())}),
                             caption="Segments (our rule)")
        if self.flags_:
            report.add_note("the calibration fit is inadmissible, so the weights are not "
                            "trustworthy: see the flags above")
        return report

    def _repr_html_(self) -> str:
        if "weights_" not in self.__dict__:
            import html

            return f"<p>{html.escape(repr(self))}</p>"
        return self.summary().as_html()

    def __repr__(self) -> str:
        state = (f"fitted on {self.n_calibration_} rows, {len(self.items_)} items"
                 if hasattr(self, "weights_") else "not fitted")
        return (f"ConnectionIndex(construct={self.construct!r}, method={self.method!r}, "
                f"scaling={self.scaling!r}; {state})")


# --------------------------------------------------------------------------------------------- files
_REFIT = ("Refit the index on its calibration data (ConnectionIndex(...).fit(data)) and save it "
          "again with .save(); never edit an index file by hand")
_KEYS = ("checksum", "construct", "estimator", "facets", "fit_measures", "flags", "format",
         "format_version", "item_max", "item_min", "items", "loadings", "means", "method", "model",
         "n_calibration", "rule", "scaling", "score_max", "score_mean", "score_min", "score_sd",
         "segments", "weights")
_KEYS_V1 = tuple(k for k in _KEYS if k not in ("checksum", "flags"))
_FIT_MEASURES = ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "chisq_scaled", "cfi_scaled",
                 "tli_scaled", "rmsea_scaled")   # the scaled ones: ordinal (WLSMV...) fits
_CONTINUOUS_ESTIMATORS = ("ML", "MLR")
_ORDINAL_ESTIMATORS = ("WLSMV", "DWLS", "ULSMV", "ULS")


def _known_ranges(items: list[str], lo: np.ndarray, hi: np.ndarray
                  ) -> dict[str, list[float]] | None:
    """``{item: [min, max]}`` for the items whose range is known (None when none is)."""
    known = {i: [float(a), float(b)] for i, a, b in zip(items, lo, hi) if not np.isnan(a)}
    return known or None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON can hold")


def _checksum(d: Mapping) -> str:
    """``"sha256:<hex>"`` of the canonical JSON of every field but ``checksum`` (sorted keys, no
    whitespace, ASCII, no NaN)."""
    body = {k: v for k, v in d.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _short(v: Any) -> Any:
    text = repr(v)
    return v if len(text) <= 60 and not isinstance(v, Mapping | list) else text[:57] + "..."


class _IndexFileReader:
    """Validates an index file's content field by field, as fit() would have produced it."""

    def __init__(self, cls: type, d: Any, source: str | None, verify: bool) -> None:
        self.cls, self.d, self.source, self.verify = cls, d, source, verify

    def fail(self, field: str | None, message: str, values: Any = None,
             expected: str | None = None):
        text = f"index file field {field!r}: {message}" if field else message
        if values is not None and (isinstance(values, str) or not isinstance(values, list)):
            values = [values]
        raise ConfigError(text, file=self.source,
                          values=None if values is None else [_short(v) for v in values],
                          expected=expected, hint=_REFIT)

    # ---- typed getters
    def text(self, key: str, choices: Sequence[str] | None = None, empty: bool = False) -> str:
        v = self.d[key]
        if not isinstance(v, str) or (not empty and not v.strip()):
            self.fail(key, "not a non-empty text", v, "text")
        if choices is not None and v not in choices:
            self.fail(key, "not a known value", v, " or ".join(map(repr, choices)))
        return v

    def number(self, key: str, v: Any = None, *, allow_none: bool = False,
               positive: bool = False, where: str = "") -> float:
        v = self.d[key] if v is None and not where else v
        if v is None and allow_none:
            return math.nan
        if not _is_num(v) or not math.isfinite(v):
            self.fail(key, f"{where}not a finite number", v, "a finite number"
                      + (" or null" if allow_none else ""))
        if positive and not v > 0:
            self.fail(key, f"{where}must be positive", v, "a number > 0")
        return float(v)

    def vector(self, key: str, k: int, *, allow_none: bool = False) -> np.ndarray:
        v = self.d[key]
        if not isinstance(v, list):
            self.fail(key, "not a list of numbers", v, f"a list of {k} numbers (one per item)")
        if len(v) != k:
            self.fail(key, "has the wrong length", [len(v)], f"{k} (one per item)")
        return np.array([self.number(key, x, allow_none=allow_none, where=f"entry {i + 1} is ")
                         for i, x in enumerate(v)], dtype=float)

    # ---- the file
    def read(self):
        d = self.d
        if not isinstance(d, Mapping):
            raise ConfigError("not a connection-index file (expected a JSON object)",
                              file=self.source, values=[type(d).__name__],
                              expected="a JSON file written by ConnectionIndex.save()")
        if d.get("format") != _FORMAT:
            raise ConfigError("not a connection-index file", file=self.source,
                              values=[_short(d.get("format"))],
                              expected=f"format {_FORMAT!r} (a file written by ConnectionIndex.save())")
        version = d.get("format_version")
        if type(version) is not int or version not in (1, _FORMAT_VERSION):
            self.fail("format_version", "not a format this version of the package reads", version,
                      f"{_FORMAT_VERSION} (or 1, read with verify_checksum=False); a newer "
                      "format needs a newer package")
        allowed = _KEYS if version == _FORMAT_VERSION else _KEYS_V1
        unknown = sorted(str(k) for k in d if k not in allowed)
        if unknown:
            self.fail(None, "the index file has unknown fields", unknown, ", ".join(allowed))
        lacking = [k for k in allowed if k not in d]
        if lacking:
            self.fail(None, "the index file lacks fields", lacking, ", ".join(allowed))
        self.check_sum(version)
        return self.build(version)

    def check_sum(self, version: int) -> None:
        if version == 1:
            if self.verify:
                raise ConfigError(
                    "the index file was written by an earlier version of the package (format "
                    "1) and carries no checksum, so nothing shows that it is unmodified",
                    file=self.source, expected=f"format_version {_FORMAT_VERSION} with a checksum",
                    hint="Refit the index and save it again; or, if you trust this file, load it "
                         "with ConnectionIndex.load(path, verify_checksum=False) and save() it "
                         "again, which writes a checksum")
            warn(f"index file {self.source!r} has no checksum (format 1): loaded "
                 "unverified because verify_checksum=False; save() it again to add one",
                 ConnectionWarning)
            return
        stored = self.d["checksum"]
        try:
            actual = _checksum(self.d)
        except (TypeError, ValueError):
            # an infinite number (1e999 in the file) or, from Python, NaN or an object: the
            # field validation names the field; anything it lets through is refused after it
            self.build(version)
            self.fail(None, "the index holds a value JSON cannot store (NaN, infinity or an "
                      "object)", expected="numbers, text, lists and tables only")
        if not isinstance(stored, str) or stored != actual:
            if self.verify:
                self.fail("checksum", "the file's content does not match its checksum: it was "
                          "changed after it was saved (edited by hand or damaged)",
                          None if not isinstance(stored, str) else stored[:20] + "...",
                          "an unmodified file written by ConnectionIndex.save()")
            warn(f"index file {self.source!r}: checksum mismatch ignored because "
                 "verify_checksum=False", ConnectionWarning)

    def _check_score_range(self, weights, means, lo, hi, score_min, score_max, k) -> None:
        """score_min/score_max must be the lowest/highest score the weights allow."""
        with np.errstate(over="ignore", invalid="ignore"):
            low = np.where(weights > 0, weights * (lo - means), weights * (hi - means))
            high = np.where(weights > 0, weights * (hi - means), weights * (lo - means))
            smin, smax = float(np.sum(low)), float(np.sum(high))
        if not (np.isfinite(smin) and np.isfinite(smax)):
            self.fail("weights", "the weights, means and item ranges give an infinite "
                      "score range (values too large for floating point)",
                      [smin, smax], "the factor-score weights of a fit")
        for key, got, want, terms in (("score_min", score_min, smin, low),
                                      ("score_max", score_max, smax, high)):
            # fit() computed the same sum from the same numbers: only the order of
            # summation may differ (another numpy), so allow its rounding error and no more
            tol = 4 * (k + 2) * np.finfo(float).eps * float(np.sum(np.abs(terms)))
            if not abs(got - want) <= tol:
                self.fail(key, "does not follow from the weights, means and item ranges",
                          [got, want], "the lowest/highest score the weights allow")
        if not smin < smax:
            self.fail("score_max", "not above score_min", [smin, smax], "score_min < score_max")

    def build(self, version: int):
        d = self.d
        construct = self.text("construct")
        method = self.text("method", ("regression", "bartlett"))
        scaling = self.text("scaling", ("range", "zscore"))
        estimator = self.text("estimator", _CONTINUOUS_ESTIMATORS + _ORDINAL_ESTIMATORS)
        if not isinstance(d["facets"], bool):
            self.fail("facets", "not true or false", d["facets"], "true or false")
        model = self.text("model")
        items = d["items"]
        if (not isinstance(items, list) or not items
                or not all(isinstance(i, str) and i for i in items)):
            self.fail("items", "not a list of item names", items, "a non-empty list of column names")
        if len(set(items)) != len(items):
            self.fail("items", "names an item twice",
                      sorted({i for i in items if items.count(i) > 1}), "distinct item names")
        k = len(items)
        lvs = self.check_model(model, construct, items)
        weights = self.vector("weights", k)
        if not np.any(weights != 0):
            self.fail("weights", "every weight is zero", None, "the factor-score weights of a fit")
        means = self.vector("means", k)
        ranged = scaling == "range"
        lo = self.vector("item_min", k, allow_none=not ranged)
        hi = self.vector("item_max", k, allow_none=not ranged)
        if not np.array_equal(np.isnan(lo), np.isnan(hi)):
            self.fail("item_max", "an item has only one end of its range", None,
                      "both ends or neither (null)")
        bad = np.flatnonzero(~np.isnan(lo) & ~(lo < hi))
        if len(bad):
            self.fail("item_min", "an item's range is empty or reversed",
                      [f"{items[j]}: {lo[j]:g} to {hi[j]:g}" for j in bad], "min < max")
        known = not np.isnan(lo).any()
        score_min = self.number("score_min", allow_none=not known)
        score_max = self.number("score_max", allow_none=not known)
        if known:
            self._check_score_range(weights, means, lo, hi, score_min, score_max, k)
        elif not (np.isnan(score_min) and np.isnan(score_max)):
            self.fail("score_min", "given although the item ranges are unknown", [score_min],
                      "null, as save() writes without item ranges")
        score_mean = self.number("score_mean")
        score_sd = self.number("score_sd", positive=True)
        n = d["n_calibration"]
        if type(n) is not int or n < 2:
            self.fail("n_calibration", "not a count of calibration rows", n, "a whole number >= 2")
        loadings = self.table("loadings", set(items) | lvs)
        fit_measures = self.table("fit_measures", set(_FIT_MEASURES))
        rule = None
        if d["segments"] is not None:
            seg = d["segments"]
            names = [f.name for f in fields(SegmentRule)]
            if not isinstance(seg, Mapping) or sorted(seg) != sorted(names):
                self.fail("segments", "not a complete segment rule",
                          sorted(seg) if isinstance(seg, Mapping) else seg, ", ".join(names))
            try:
                rule = SegmentRule.from_dict(seg)
            except (ConfigError, ArgumentError) as exc:
                self.fail("segments", exc.message, exc.values, exc.expected)
            if rule.to_dict() != seg:
                self.fail("segments", "holds values of the wrong type", None,
                          "numbers for the cut-offs and lists of column names")
        expected_rule = {} if rule is None else {"parameters": rule.to_dict(),
                                                 "segments": rule.describe()}
        if d["rule"] != expected_rule:
            self.fail("rule", "the rule in words does not match the segment rule's parameters",
                      None, "the text save() writes for 'segments'")
        flags = self.flags() if version == _FORMAT_VERSION else (Flag(
            OTHER, "admissibility of the calibration fit was not recorded (index file format "
            "1); refit the index to check it"),)

        if lvs == {construct} and not flags and estimator in _CONTINUOUS_ESTIMATORS:
            # one factor, admissible: each weight is proportional to loading / residual variance
            # (residual variances > 0), so it has its loading's sign; negated weights are refused
            wrong = [i for i, w in zip(items, weights)
                     if w != 0 and np.isfinite(loadings.get(i, np.nan)) and loadings[i] != 0
                     and np.sign(w) != np.sign(loadings[i])]
            if wrong:
                self.fail("weights", "a weight's sign contradicts its item's loading (in an "
                          "admissible one-factor model every weight has its loading's sign)",
                          wrong, "weights as fit() computed them")
        # the constructor arguments as get_params() writes them out, so that a loaded index
        # reports the parameters of the saved one
        obj = self.cls(model, construct, method=method, scaling=scaling, segments=rule,
                       item_range=_known_ranges(items, lo, hi), estimator=estimator,
                       facets=d["facets"])
        obj.model_ = model
        obj.items_ = list(items)
        obj.weights_, obj.means_ = weights, means
        obj.item_min_, obj.item_max_ = lo, hi
        obj.score_min_, obj.score_max_ = score_min, score_max
        obj.score_mean_, obj.score_sd_ = score_mean, score_sd
        obj.n_calibration_ = n
        obj.loadings_, obj.fit_measures_ = loadings, fit_measures
        obj.flags_ = flags
        obj.rule_ = rule
        return obj

    def check_model(self, model: str, construct: str, items: list[str]) -> set[str]:
        from connection.latent import parse_model

        try:
            pt = parse_model(model).frame
        except Exception as exc:  # noqa: BLE001 - any parser failure means a damaged file
            self.fail("model", f"not valid model text ({type(exc).__name__})", model[:60],
                      "the lavaan-style model text fit() wrote")
        lvs = set(pt.loc[pt["op"] == "=~", "lhs"])
        indicators = [i for i in dict.fromkeys(pt.loc[pt["op"] == "=~", "rhs"]) if i not in lvs]
        if construct not in lvs:
            self.fail("construct", "is not a factor of the file's model", construct, ", ".join(sorted(lvs)))
        if sorted(indicators) != sorted(items):
            self.fail("items", "do not match the indicators of the file's model",
                      sorted(set(items) ^ set(indicators)), "the model's observed indicators")
        return lvs

    def table(self, key: str, names: set[str]) -> dict[str, float]:
        v = self.d[key]
        if not isinstance(v, Mapping):
            self.fail(key, "not a table of numbers", v, "{name: number}")
        out = {}
        for name, x in v.items():
            if name not in names:
                self.fail(key, "names something the model does not have", name,
                          ", ".join(sorted(names)))
            out[name] = self.number(key, x, allow_none=True, where=f"entry {name!r} is ")
        return out

    def flags(self) -> tuple[Flag, ...]:
        v = self.d["flags"]
        if not isinstance(v, list):
            self.fail("flags", "not a list", v, "a list of {code, message, parameters}")
        out = []
        for i, f in enumerate(v):
            ok = (isinstance(f, Mapping) and sorted(f) == ["code", "message", "parameters"]
                  and f["code"] in FLAG_CODES and isinstance(f["message"], str)
                  and isinstance(f["parameters"], list)
                  and all(isinstance(p, str) for p in f["parameters"]))
            if not ok:
                self.fail("flags", f"entry {i + 1} is not a flag", f,
                          f"{{code: one of {', '.join(FLAG_CODES)}, message: text, "
                          "parameters: [text]}")
            out.append(Flag(f["code"], f["message"], tuple(f["parameters"])))
        return tuple(out)


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


def _num_text(v: float) -> str:
    """``v`` short (``5``) unless that hides digits (``1.000000000001``)."""
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


def _check_ranges(arr: np.ndarray, items: Sequence[str], lo: np.ndarray, hi: np.ndarray) -> None:
    for j, item in enumerate(items):
        col = arr[:, j]
        bad = (col < lo[j]) | (col > hi[j])
        if bad.any():
            raise OutOfRangeError(
                "value outside the item's scale", column=item,
                rows=(np.flatnonzero(bad) + 1).tolist(), values=col[bad].tolist(),
                expected=f"a value from {_num_text(lo[j])} to {_num_text(hi[j])}")


def _row_mean(data: pd.DataFrame, cols: Sequence[str], cut: Fraction
              ) -> tuple[np.ndarray, np.ndarray]:
    """Row means of ``cols`` (correctly rounded; NaN when a value is missing) and, decided
    exactly, whether each is at least ``cut`` (False when missing)."""
    _check_columns(data, cols)
    X = data[list(cols)]
    _numeric_items(X)
    arr = X.to_numpy(dtype=float)
    mean = np.full(len(arr), np.nan)
    at_least = np.zeros(len(arr), dtype=bool)
    ok = ~np.isnan(arr).any(axis=1)
    if ok.any():
        F = _dyadic_exponent(arr[ok])
        total = _ints(arr[ok], F).sum(axis=1)
        den = len(cols) << F
        mean[ok] = _divide(total, den)
        at_least[ok] = _at_least(total, den, cut)
    return mean, at_least


def _is_survey(data: Any) -> bool:
    """A :class:`~connection.Survey` (or anything shaped like one: ``data`` and ``instrument``)."""
    return (not isinstance(data, pd.DataFrame | np.ndarray) and hasattr(data, "instrument")
            and hasattr(data, "data"))


def _as_frame(data: Any, what: str) -> pd.DataFrame:
    """The respondents as a DataFrame: a Survey's data, or the DataFrame given."""
    if _is_survey(data):
        data = data.data
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"ConnectionIndex.{what}() takes the respondents as a DataFrame or a "
                            "Survey", values=[type(data).__name__],
                            expected="a pandas DataFrame (one column per item) or a Survey")
    return data


def _calibration_weights(data: pd.DataFrame, X: pd.DataFrame, weights: Any,
                         survey_weights: Any) -> np.ndarray | None:
    """The calibration rows' weights (one per row of ``data``), or None when none are given or
    the rows the CFA uses (complete on the items) all have the same weight (exactly the
    unweighted index)."""
    from connection.stats._weights import equal_weights, resolve_weights

    w = resolve_weights(data, weights, survey_weights)
    if w is None:
        return None
    ok = X.notna().all(axis=1).to_numpy()
    return None if not ok.any() or equal_weights(w[ok]) else w


def _check_items_part(part: pd.DataFrame, items: list, lo: np.ndarray | None,
                      hi: np.ndarray | None) -> int:
    """:func:`_numeric_items` and (``lo``/``hi`` given) :func:`_check_ranges` on one partition
    of a Dask frame (its rows named within the partition)."""
    _numeric_items(part)
    if lo is not None:
        _check_ranges(part.to_numpy(dtype=float), items, lo, hi)
    return len(part)


def _is_dask(data: Any) -> bool:
    from connection.stats._dask import is_dask_frame

    return is_dask_frame(data)


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


def _check_estimator(estimator: Any) -> bool:
    """Whether ``estimator`` is an ordinal one (refusing an unknown one)."""
    if estimator in _CONTINUOUS_ESTIMATORS:
        return False
    if estimator in _ORDINAL_ESTIMATORS:
        return True
    raise ArgumentError("unknown estimator of the calibration CFA", values=[estimator],
                        expected="'ML' or 'MLR' (items as numbers), or 'WLSMV', 'DWLS', "
                                 "'ULSMV', 'ULS' (ordinal items)")


def _ordinal_score_weights(fit, construct: str, method: str, used: pd.DataFrame) -> pd.Series:
    """Linear factor-score weights of ``construct`` on the item codes, implied by an ordinal
    (delta-parameterized) fit.

    Under the fitted model the codes are ``x_j = v_j1 + sum_c d_jc 1[y*_j > t_jc]`` (``v`` the
    item's observed codes, ``d`` their steps, ``t`` the thresholds, ``y*`` the latent responses
    with unit variances and model-implied correlations). Their covariance matrix ``V`` and their
    covariances with the factors, ``Cov(eta, x_j) = Cov(eta, y*_j) sum_c d_jc phi(t_jc)``
    (Stein's lemma), are exact functions of the fit. ``regression``: the best linear predictor
    ``Cov(eta, x) V^-1``; ``bartlett``: with ``B = Cov(x, eta) Cov(eta)^-1`` (the codes' linear
    loadings) and ``E = V - B Cov(eta) B'``, ``(B' E^-1 B)^-1 B' E^-1`` (first-order factors).
    """
    from scipy.stats import norm

    from connection.measurement._reliability import _code_covariance

    mats = fit.matrices()
    lam, beta, psi = mats["lambda"], mats["beta"], mats["psi"]
    ov, eta = list(lam.index), list(lam.columns)
    if construct not in eta:
        raise ArgumentError(f"the fitted model has no factor {construct!r}", values=eta)
    est = fit.estimates
    th = est[est["op"] == "|"]
    thresholds = [th.loc[th["lhs"] == c, "est"].to_numpy(dtype=float) for c in ov]
    steps = [np.diff(np.unique(used[c].to_numpy(dtype=float))) for c in ov]
    corr = fit.implied[fit.group_labels[0]]["cov"].loc[ov, ov].to_numpy()
    V = _code_covariance(thresholds, corr, steps)
    L = lam.to_numpy()
    ib = np.linalg.inv(np.eye(len(eta)) - beta.to_numpy())
    cov_eta = ib @ psi.to_numpy() @ ib.T
    slope = np.array([float(np.sum(d * norm.pdf(t))) for d, t in zip(steps, thresholds)])
    cov_eta_x = (cov_eta @ L.T) * slope[None, :]          # Cov(eta, x): factors x items
    k = eta.index(construct)
    if method == "regression":
        W = np.linalg.solve(V, cov_eta_x.T).T
    else:
        first = [j for j in range(len(eta)) if np.any(L[:, j] != 0)]
        if k not in first:
            raise ArgumentError("Bartlett scores need a factor with its own indicators",
                                values=[construct],
                                expected="a first-order factor, or method='regression'")
        ce = cov_eta[np.ix_(first, first)]
        B = np.linalg.solve(ce, cov_eta_x[first]).T         # items x factors
        E = V - B @ ce @ B.T
        Ei_B = np.linalg.solve(E, B)
        W = np.linalg.solve(B.T @ Ei_B, Ei_B.T)
        k = first.index(k)
    return pd.Series(W[k], index=ov)
