"""Reliability and validity of multi-item constructs: alpha, omega, CR, AVE, HTMT, Fornell-Larcker,
and dimensionality (Horn's parallel analysis, exploratory factor analysis).

Every function takes the item data first (a DataFrame, one column per item, or a
:class:`~connection.Survey`) and then the constructs, given either as an
:class:`~connection.Instrument` (its ``constructs``) or as a plain ``{construct: [item columns]}``
dict (with a Survey: omitted, or construct names of its instrument), or, for parallel analysis and
EFA, a flat list of ``items`` (a Survey's default: its instrument's items). It returns a tidy
DataFrame or a result object (:class:`ParallelAnalysisResult`, :class:`EFAResult`) with
``to_frame()`` and a ``summary()`` that is a :class:`~connection._report.Report`. A
:class:`~connection.Survey` from ``read_survey`` is known to be clean and reverse-coded: pass it
itself (``cx.reliability(survey)``). A DataFrame
with an Instrument whose items used include reverse-keyed ones must say whether those were
reverse-coded (``recoded=True`` or ``False``); without it the call is refused.

Missing data: each construct's statistics use the rows complete on that construct's items
(listwise within the construct; HTMT and Fornell-Larcker: listwise over all items involved, as
semTools' ``htmt(missing="listwise")``). Nothing is imputed; dropped rows are counted in the ``n``
column and announced with an :class:`~connection.errors.ExclusionWarning`.

Survey weights (:func:`reliability` and :func:`htmt`, ``weights=``; a Survey's own weights unless
``weights=None``): the item covariances are the weighted covariances of ``survey::svyvar`` on
``svydesign(ids = ~1, weights = ~w)`` (``n / (n - 1) * sum w (x - xbar)(x - xbar)' / sum w``,
:func:`connection.stats._weights.weighted_cov`) of the construct's complete rows; alpha and HTMT
are their formulas on that matrix; bootstrap replicates carry each respondent's weight
(:func:`connection.bootstrap` in counts mode: frequency times weight); the Feldt interval of
alpha uses Kish's effective n in place of n. Omega, CR and AVE come from the weighted CFA
(lavaan's ``sampling.weights``, as ``semTools::compRelSEM``/``AVE`` on that fit; AVE over the
weighted item variances, divisor the sum of the weights). All weights equal (1 or any constant) give exactly the unweighted results,
omega, CR and AVE included (every one of these statistics is invariant to the scale of the
weights). The table's ``attrs`` record ``weights`` (what weighted it) and ``n_eff`` (per
construct; HTMT: one number).

Dask (:func:`reliability` and :func:`htmt`): a ``dask.dataframe.DataFrame`` (constructs as
``{construct: [item columns]}``) or a Survey whose data are one (``read_survey`` of a directory:
its instrument, construct names and weight column as for a pandas Survey) gives the pandas
results from partition-wise moments; the bootstrap and ``ordered=`` need the rows in memory
(refused, typed: ``.compute()``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> import connection as cx
>>> rng = np.random.default_rng(3)
>>> f = rng.normal(size=(500, 1))
>>> items = pd.DataFrame(0.8 * f + 0.6 * rng.normal(size=(500, 4)), columns=["a1", "a2", "a3", "a4"])
>>> tab = cx.reliability(items, {"a": ["a1", "a2", "a3", "a4"]})
>>> tab[["construct", "n", "n_items"]].to_dict("records")
[{'construct': 'a', 'n': 500, 'n_items': 4}]
>>> bool(0.85 < tab["alpha"].iloc[0] < 0.92)
True
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connection._common import (
    DEFAULT_LEVEL,
    as_generator,
    as_seed_sequence,
    check_int,
    check_level,
    check_n_boot,
    renamed_keywords,
    warn,
)
from connection._flags import format_flags
from connection._report import Report, Reported
from connection.data._instrument import Instrument
from connection.errors import (
    ArgumentError,
    ConvergenceWarning,
    DataError,
    EstimationError,
    ExclusionWarning,
    HeywoodCaseWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
)
from connection.stats._dask import is_dask_frame
from connection.stats._weights import (
    UNSET,
    equal_weights,
    kish_n_eff,
    resolve_weights,
    weighted_cov,
    weights_label,
)

__all__ = [
    "reliability",
    "item_statistics",
    "htmt",
    "fornell_larcker",
    "parallel_analysis",
    "ParallelAnalysisResult",
    "efa",
    "EFAResult",
    "cronbach_alpha",
]

DISTINCT_THRESHOLD = 0.85  # Henseler, Ringle & Sarstedt (2015), conservative cut-off


# ----------------------------------------------------------------------------- input handling


def _is_survey(data: Any) -> bool:
    """A :class:`~connection.Survey` (or anything shaped like one: ``data`` and ``instrument``)."""
    return (not isinstance(data, pd.DataFrame | np.ndarray) and hasattr(data, "instrument")
            and hasattr(data, "data"))


def _resolve(data: Any, constructs: Any, *, recoded: bool | None = None,
             reverse_matters: bool = True, what: str = "reliability",
             ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """DataFrame and ``{construct: [item columns]}`` from the accepted input shapes.

    A :class:`~connection.Survey` is used as it is (``read_survey`` already turned missing
    codes into NaN, checked the scales and reverse-coded); its instrument gives the constructs
    when ``constructs`` is omitted or names some of them. A DataFrame with an
    :class:`~connection.Instrument` gets the instrument's codebook applied
    (:func:`_apply_instrument`); a DataFrame with a plain dict is used as it is.
    """
    survey = _is_survey(data)
    constructs = _survey_constructs(data, constructs, what) if survey else constructs
    if hasattr(data, "data") and not isinstance(data, pd.DataFrame | np.ndarray):
        data = data.data
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError("item data must be a pandas DataFrame (one column per item)",
                            values=[type(data).__name__], expected="a DataFrame or a Survey")
    if constructs is None:
        raise ArgumentError("no constructs given", expected="an Instrument or {construct: [item columns]}")
    instrument = constructs if isinstance(constructs, Instrument) else None
    _check_recoded(recoded, instrument is not None, survey, what)
    out = _construct_map(data, constructs, check_numeric=instrument is None or survey)
    if instrument is not None and not survey:
        data = _apply_instrument(data, instrument, out, recoded=recoded,
                                 reverse_matters=reverse_matters, what=what)
    return data, out


def _survey_constructs(survey: Any, constructs: Any, what: str) -> Any:
    """A Survey's constructs: its instrument (all of it, or the constructs named), or those
    given as a mapping or Instrument."""
    if constructs is None:
        return survey.instrument
    if isinstance(constructs, str) or (isinstance(constructs, Sequence) and constructs
                                       and all(isinstance(c, str) for c in constructs)):
        return survey.instrument.subset(constructs)   # names the construct it lacks
    return constructs


def _check_recoded(recoded: Any, with_instrument: bool, survey: bool, what: str) -> None:
    if recoded is not None and not isinstance(recoded, bool):
        raise ArgumentError("recoded must be True, False or None", values=[recoded])
    if recoded is not None and not with_instrument and not survey:
        raise ArgumentError(f"{what}: recoded= applies to data given with an Instrument (its reverse "
                            "keys); a plain {construct: [items]} dict has none", values=[recoded],
                            expected="an Instrument as constructs, or recoded=None")
    if recoded is False and survey:
        raise ArgumentError(f"{what}: a Survey's data are already reverse-coded by read_survey",
                            values=[recoded], expected="recoded=None (or True) with a Survey",
                            hint="Pass the raw DataFrame with recoded=False to apply the reverse keys")


def _construct_map(data: pd.DataFrame, constructs: Any, *, check_numeric: bool
                   ) -> dict[str, list[str]]:
    """``{construct: [item columns]}``, every column present (and numeric when
    ``check_numeric``; with an Instrument the codebook check names text values instead)."""
    if hasattr(constructs, "as_dict") and hasattr(constructs, "constructs"):
        constructs = constructs.as_dict()  # an Instrument: {construct: [item ids]}
    elif hasattr(constructs, "constructs"):
        constructs = constructs.constructs
    if isinstance(constructs, str) or (isinstance(constructs, Sequence) and constructs
                                       and all(isinstance(c, str) for c in constructs)):
        raise ArgumentError("construct names need a Survey, whose instrument knows their items",
                            values=[constructs] if isinstance(constructs, str) else list(constructs),
                            expected="an Instrument or {construct: [item columns]} with a DataFrame",
                            hint="Pass the Survey from cx.read_survey(...) to name constructs")
    if not isinstance(constructs, Mapping) or not constructs:
        raise ArgumentError("constructs must map construct names to item columns",
                            values=[type(constructs).__name__],
                            expected="an Instrument or a non-empty {construct: [item columns]} dict")
    out: dict[str, list[str]] = {}
    for name, spec in constructs.items():
        items = spec.items if hasattr(spec, "items") and not isinstance(spec, Mapping) else spec
        if callable(items):  # a Mapping's .items method: not a construct spec
            items = list(spec)
        if isinstance(items, str):
            items = [items]
        cols = [getattr(it, "id", it) for it in items]
        if not cols:
            raise ArgumentError(f"construct {name!r} has no items", expected="at least one item column")
        for c in cols:
            _check_item_column(data, c, name, check_numeric)
        out[str(name)] = list(cols)
    return out


def _check_item_column(data: pd.DataFrame, c: Any, name: Any, check_numeric: bool) -> None:
    if c not in data.columns:
        raise MissingColumnError(f"item of construct {name!r} is not in the data", column=str(c),
                                 expected="a column of the data frame",
                                 hint=f"Columns present: {', '.join(map(str, data.columns[:20]))}")
    if not check_numeric:
        return
    if not (pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])):
        bad = data[c][pd.to_numeric(data[c], errors="coerce").isna() & data[c].notna()]
        raise NonNumericError(f"item of construct {name!r} is not numeric", column=str(c),
                              rows=[int(i) + 1 for i in bad.index[:10]] if len(bad) else None,
                              values=list(bad.iloc[:10]) if len(bad) else None,
                              expected="numbers (recode labels to scale points first)")


def _apply_instrument(data: pd.DataFrame, instrument: Instrument, cmap: dict[str, list[str]], *,
                      recoded: bool | None, reverse_matters: bool, what: str) -> pd.DataFrame:
    """The item columns with the instrument's codebook applied, as :func:`read_survey` applies it.

    Missing-value codes become NaN; a value that is neither on the item's scale nor one of its
    codes is refused (:class:`~connection.errors.OutOfRangeError` naming column, rows and values);
    reverse-keyed items are reverse-coded only when ``recoded=False`` (raw answers). A plain
    DataFrame does not say whether its reverse-keyed items were already reverse-coded, and both
    readings give a number (raw answers taken as recoded give a low or negative alpha without a
    word), so with ``recoded=None`` and reverse-keyed items among those used the call is refused,
    asking for ``recoded`` (a :class:`~connection.Survey` is known to be recoded and never
    gets here). Applying the codebook twice changes nothing, so clean data pass unchanged.
    """
    from connection.data._survey import read_survey

    cols = list(dict.fromkeys(c for cs in cmap.values() for c in cs))
    reverse_keyed = [c for c in cols if instrument.items[c].reverse]
    if reverse_keyed and recoded is None and reverse_matters:
        raw = {}
        for c in cols:
            codes = instrument.items[c].missing
            if codes:
                values = pd.to_numeric(data[c], errors="coerce")
                hit = values.isin(codes).to_numpy()
                if hit.any():
                    raw[c] = (np.flatnonzero(hit) + 1).tolist()
        expected = ("recoded=False (raw answers: the reverse keys are applied once) or "
                    "recoded=True (already reverse-coded, as survey.data)")
        hint = ("Or pass the Survey from cx.read_survey(..., instrument) itself "
                f"(cx.{_FUNCTIONS.get(what, 'reliability')}(survey)): its data are known to be "
                "reverse-coded")
        if raw:   # the data hold missing codes: they did not come from read_survey
            col, rows = next(iter(raw.items()))
            raise ArgumentError(
                f"{what}: the data still hold missing-value codes, so they were not read with "
                "read_survey, and the instrument marks reverse-keyed items "
                f"({', '.join(reverse_keyed)}): it cannot be known whether these were reverse-coded",
                column=str(col), rows=rows, values=[_plain(v) for v in data[col].iloc[
                    np.asarray(rows[:10]) - 1].tolist()], expected=expected, hint=hint)
        raise ArgumentError(
            f"{what}: the instrument marks reverse-keyed items ({', '.join(reverse_keyed)}) and a "
            "DataFrame does not say whether they were reverse-coded; raw answers taken as recoded "
            "(or recoded data reversed again) give a wrong number",
            column=str(reverse_keyed[0]), expected=expected, hint=hint)
    reverse = recoded is False
    if reverse:
        sub = instrument
    else:  # the same codebook without reverse keys: codes and scales only
        sub = dataclasses.replace(instrument, constructs=[
            dataclasses.replace(c, items=tuple(dataclasses.replace(i, reverse=False) for i in c.items))
            for c in instrument.constructs.values()])
    names = [n for n, c in sub.constructs.items() if any(i in cols for i in c.item_ids)]
    try:
        survey = read_survey(data[cols], sub, constructs=names, check_variance=False, warn=False)
    except OutOfRangeError as exc:
        todo = ("If fractional answers are valid, declare the item's scale continuous "
                "(integer = false); otherwise correct the data" if "whole number" in exc.message else
                "If a value means 'no answer', declare it among the item's missing codes in the "
                "instrument (missing = [...]); otherwise correct the data")
        raise OutOfRangeError(
            f"{what}: {exc.message}", column=exc.column, rows=exc.rows, values=exc.values,
            expected=exc.expected, hint=(exc.hint + ". " if exc.hint else "") + todo) from None
    out = data.copy()
    clean = survey.data
    for c in cols:
        out[c] = clean[c].to_numpy(dtype=float)
    return out


_FUNCTIONS = {"reliability": "reliability", "item statistics": "reliability.item_statistics", "HTMT": "htmt",
              "Fornell-Larcker": "fornell_larcker"}


def _plain(value: Any) -> Any:
    """A value as a person reads it (1 rather than np.int64(1), -99 rather than -99.0)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _items_frame(data: Any, items: Sequence[str] | None, what: str
                 ) -> tuple[pd.DataFrame, list[str]]:
    """The item data and the items: those given, else a Survey's instrument items present in its
    data, else every numeric/boolean column of a DataFrame (saying which columns were left out)."""
    if _is_survey(data):
        frame = data.data
        if items is None:
            items = [i for i in data.instrument.item_ids() if i in frame.columns]
        return frame, list(items)
    if items is not None:
        return data, list(items)
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError(f"{what}: item data must be a pandas DataFrame", values=[type(data).__name__],
                            expected="a DataFrame with one column per item, or a Survey")
    numeric = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c])]
    left_out = [str(c) for c in data.columns if c not in numeric]
    if left_out:
        warn(f"{what}: {len(left_out)} column(s) are not numeric and were left out: "
             f"{', '.join(left_out[:20])}{' ...' if len(left_out) > 20 else ''}; pass items=[...] "
             "to choose the items (a text value in an item column is then reported)",
             ExclusionWarning)
    return data, numeric


def _complete(data: pd.DataFrame, cols: list[str], what: str, announce: bool = True) -> np.ndarray:
    """Rows complete on ``cols`` as a float array; warn how many rows were dropped."""
    return _complete_rows(data, cols, what, announce)[0]


def _complete_rows(data: pd.DataFrame, cols: list[str], what: str, announce: bool = True
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_complete` and the mask of the rows kept (to take their weights)."""
    sub = data[cols].astype(float)
    inf = np.isinf(sub.to_numpy())
    if inf.any():
        j = int(np.flatnonzero(inf.any(axis=0))[0])
        rows = np.flatnonzero(inf[:, j])
        raise OutOfRangeError(f"{what}: item values are infinite", column=str(cols[j]),
                              rows=(rows + 1).tolist(), values=sub.iloc[rows, j].tolist(),
                              expected="finite answers (NaN for missing)")
    ok = sub.notna().all(axis=1).to_numpy()
    dropped = int((~ok).sum())
    if dropped and announce:
        warn(f"{what}: {dropped} of {len(ok)} rows have missing values on "
             f"{', '.join(cols)} and were left out (listwise)", ExclusionWarning)
    x = sub.to_numpy()[ok]
    return x, ok


def _survey_weights(data: Any) -> Any:
    """A Survey's weights (``None`` for anything else)."""
    return getattr(data, "weights", None) if _is_survey(data) else None


def _construct_weights(weights: np.ndarray | None, ok: np.ndarray) -> np.ndarray | None:
    """The weights of the complete rows; ``None`` when there are none or all are equal (the
    weighted statistics are then exactly the unweighted ones)."""
    if weights is None:
        return None
    kept = weights[ok]
    return None if equal_weights(kept) else kept



def _check_disjoint(cmap: dict[str, list[str]], what: str) -> None:
    """Discriminant validity compares constructs: an item may belong to only one of them."""
    owner: dict[str, str] = {}
    for name, cols in cmap.items():
        for c in cols:
            if c in owner and owner[c] != name:
                raise ArgumentError(f"{what}: an item belongs to two constructs ({owner[c]!r} and "
                                    f"{name!r}), which makes them look alike by construction",
                                    column=str(c), expected="each item in one construct only")
            owner[c] = name


def _check_variance(x: np.ndarray, cols: list[str], construct: str) -> None:
    sd = x.std(axis=0) if x.shape[0] else np.zeros(len(cols))
    for j in np.flatnonzero(~(sd > 0)):
        raise NoVarianceError(f"item of construct {construct!r} has no variance",
                              column=cols[j], values=[x[0, j]] if x.shape[0] else None,
                              expected="responses that differ between respondents",
                              hint="Drop the item or check its coding")


# ----------------------------------------------------------------------------- alpha


def _alpha_from_cov(cov: np.ndarray) -> np.ndarray:
    """Cronbach's alpha from covariance matrices of shape (..., k, k)."""
    k = cov.shape[-1]
    total = cov.sum(axis=(-1, -2))
    trace = np.trace(cov, axis1=-2, axis2=-1)
    return k / (k - 1) * (1.0 - trace / total)


def _sum_varies(cov: np.ndarray) -> bool:
    """Whether the sum score varies (beyond rounding error, relative to the item variances)."""
    return bool(cov.sum() > 1e-10 * np.trace(cov))


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    """Feldt (1965) interval for alpha, as psych::alpha.ci."""
    a = 1.0 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.ppf(a / 2, df1, df2)
    return float(lower), float(upper)


@renamed_keywords(x="data")
def cronbach_alpha(data: np.ndarray | pd.DataFrame) -> float:
    """Cronbach's alpha of one construct's complete item data (rows = respondents, columns =
    its items), as psych's ``raw_alpha``. For constructs of a Survey or a DataFrame, with
    missing data, intervals, omega, CR and AVE, use :func:`reliability`.

    >>> round(cronbach_alpha(np.array([[1, 2, 2], [2, 3, 3], [4, 4, 5], [3, 5, 4.0]])), 4)
    0.9512
    """
    if _is_survey(data):
        raise ArgumentError("cronbach_alpha takes one construct's item matrix, not a Survey",
                            values=[type(data).__name__],
                            expected="a respondents x items array or DataFrame",
                            hint="cx.reliability(survey) gives alpha for each construct")
    try:
        x = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise NonNumericError(f"item data are not numeric ({exc})",
                              expected="numbers (recode labels to scale points first)") from None
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        raise ArgumentError("alpha needs a respondents x items matrix with at least 2 rows and 2 items",
                            values=[x.shape], expected="shape (n >= 2, k >= 2)")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ArgumentError("alpha needs complete item data: rows with missing or infinite values",
                            rows=(np.flatnonzero(bad) + 1).tolist(),
                            expected="complete rows (use reliability(), which drops incomplete rows "
                                     "listwise and counts them)")
    cov = np.cov(x, rowvar=False)
    if not _sum_varies(cov):
        raise NoVarianceError("the item total has no variance, so alpha is undefined",
                              expected="items whose sum varies between respondents")
    return float(_alpha_from_cov(cov))


def _weighted_moments(xc: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Covariance matrices (divisor: the sum of the weights) of centred data ``xc`` under
    frequency weights (times survey weights, when there are any).

    ``counts`` has shape (b, n) (unweighted, rows summing to n: the divisor is n exactly);
    returns (b, p, p). One matrix product over the p(p+1)/2 cross-products does all replicates
    at once.
    """
    p = xc.shape[1]
    iu, ju = np.triu_indices(p)
    total = counts.sum(axis=1, keepdims=True)
    m1 = counts @ xc / total
    m2 = counts @ (xc[:, iu] * xc[:, ju]) / total
    upper = m2 - m1[:, iu] * m1[:, ju]
    cov = np.empty((counts.shape[0], p, p))
    cov[:, iu, ju] = upper
    cov[:, ju, iu] = upper
    return cov


def _alpha_counts(xc: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return _alpha_from_cov(_weighted_moments(xc, counts))


# ----------------------------------------------------------------------------- one-factor CFA


def _cfa(model: str, frame: pd.DataFrame, what: str, weights: np.ndarray | None = None) -> Any:
    """The engine's CFA (weighted: lavaan's ``sampling.weights``, MLR); a numerical failure
    becomes an EstimationError naming the construct."""
    from connection.latent import cfa

    try:
        return cfa(model, frame, weights=weights)
    except np.linalg.LinAlgError as exc:   # the engine should raise its own error (reported)
        raise EstimationError(f"the CFA for {what} could not be fitted ({exc})",
                              values=[f"n={len(frame)}"],
                              expected="more respondents than items and a positive definite "
                                       "item covariance matrix") from None


def _congeneric(x: np.ndarray, cols: list[str], construct: str,
                weights: np.ndarray | None = None) -> dict[str, Any]:
    """Loadings, residual variances and standardized loadings of a one-factor ML model (with
    unequal weights the weighted fit, as lavaan's ``sampling.weights``)."""
    cols = [str(c) for c in cols]
    frame = pd.DataFrame(x, columns=cols)
    fit = _cfa(f"{_safe(construct)} =~ " + " + ".join(cols), frame, f"construct {construct!r}",
               weights)
    return _factor_pieces(fit, _safe(construct), cols, _ml_var(x, weights))


def _ml_var(x: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The items' sample variances as the fit has them (``lavInspect(fit, "sampstat")``,
    divisor n; weighted: divisor the sum of the weights), the denominator of AVE."""
    if weights is None:
        return x.var(axis=0)
    mean = weights @ x / weights.sum()
    return weights @ (x - mean) ** 2 / weights.sum()


def _safe(name: str) -> str:
    """A construct name usable as a latent variable name in model syntax."""
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"f_{out}"


def _factor_pieces(fit: Any, latent: str, cols: list[str], sample_var: np.ndarray) -> dict[str, Any]:
    est = fit.estimates
    if "group" in est.columns and est["group"].nunique() > 1:
        raise ArgumentError("reliability needs a single-group fit")
    load = est[(est["op"] == "=~") & (est["lhs"] == latent)].set_index("rhs").reindex(cols)
    var = est[est["op"] == "~~"]
    theta = np.zeros((len(cols), len(cols)))
    pos = {c: i for i, c in enumerate(cols)}
    for row in var.itertuples():
        if row.lhs in pos and row.rhs in pos:
            i, j = pos[row.lhs], pos[row.rhs]
            theta[i, j] = theta[j, i] = row.est
    psi = float(var[(var["lhs"] == latent) & (var["rhs"] == latent)]["est"].iloc[0])
    lam = load["est"].to_numpy(dtype=float)
    return {"lambda": lam, "theta": theta, "psi": psi, "std": load["std_all"].to_numpy(dtype=float),
            "sample_var": np.asarray(sample_var, dtype=float),
            "flags": fit.flags}


def _bounded(values: dict[str, float], notes: list[str]) -> dict[str, float]:
    """Proportions of variance outside [0, 1] are impossible: NA, with the values in the note."""
    out, off = {}, []
    for name, value in values.items():
        if np.isfinite(value) and not -1e-12 <= value <= 1.0 + 1e-12:
            off.append(f"{name} {value:.4g}")
            value = np.nan
        out[name] = value
    if off:
        notes.append(", ".join(off) + (" lies" if len(off) == 1 else " lie")
                     + " outside [0, 1] (impossible for a proportion of variance): reported as NA")
    return out


def _omega_cr_ave(pieces: dict[str, Any]) -> tuple[float, float, float]:
    lam, theta, psi, std = pieces["lambda"], pieces["theta"], pieces["psi"], pieces["std"]
    true = lam.sum() ** 2 * psi
    omega = true / (true + theta.sum())  # McDonald's omega total, model-implied total variance
    cr = std.sum() ** 2 / (std.sum() ** 2 + (1.0 - std**2).sum())
    # Fornell & Larcker's AVE as semTools::AVE: explained over observed item variance (sums)
    ave = float((lam**2).sum() * psi / pieces["sample_var"].sum())
    return float(omega), float(cr), ave


# ----------------------------------------------------------------------------- ordinal items


def _ordinal_constructs(ordered: Any, cmap: dict[str, list[str]], what: str) -> list[str]:
    """The constructs whose items are ordinal: all (``ordered=True``), none (``None``/``False``)
    or those whose items are all in the list given. A construct mixing listed and unlisted items
    is refused (the engine fits all-ordinal or all-continuous models, and alpha on a mixed
    polychoric/Pearson matrix is not what either reference computes)."""
    if ordered is None or ordered is False:
        return []
    if ordered is True:
        return list(cmap)
    listed = [ordered] if isinstance(ordered, str) else ordered
    if not isinstance(listed, Sequence) or not all(isinstance(i, str) for i in listed):
        raise ArgumentError(f"{what}: ordered must be True, False/None or a list of item columns",
                            values=[ordered], expected="True or ['item1', 'item2', ...]")
    listed = set(listed)
    known = {c for cs in cmap.values() for c in cs}
    stray = sorted(listed - known)
    if stray:
        raise ArgumentError(f"{what}: ordered names items that belong to no construct",
                            values=stray, expected="item columns of the constructs")
    out = []
    for name, cols in cmap.items():
        inside = [c for c in cols if c in listed]
        if inside and len(inside) < len(cols):
            raise ArgumentError(
                f"{what}: construct {name!r} mixes ordinal and continuous items; its items must "
                "be all ordinal or all continuous", column=str([c for c in cols if c not in
                                                               listed][0]),
                values=inside, expected=f"all of {', '.join(cols)} in ordered, or none",
                hint="Add the construct's other items to ordered= (or treat all as continuous)")
        if inside:
            out.append(name)
    return out


def _code_covariance(thresholds: Sequence[np.ndarray], r: np.ndarray,
                     steps: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Covariance matrix of item codes ``x_j = v_j1 + sum_c d_jc 1[y*_j > t_jc]`` when the latent
    responses ``y*`` are normal with (co)variances ``r`` (unit variances for the full matrix; the
    common part alone on the diagonal for a true-score matrix) and thresholds ``t_j``:
    ``sum_c sum_c' d_jc d_kc' [Phi2(t_jc, t_kc'; r_jk) - Phi(t_jc) Phi(t_kc')]`` (Green & Yang
    2009, whose codes are consecutive: ``d = 1``, the default; ``r_jk = 1`` gives
    ``Phi(min(t, t'))``)."""
    from scipy.special import ndtr

    from connection.latent._polychoric import bivariate_normal_cdf

    k = len(thresholds)
    out = np.empty((k, k))
    for j in range(k):
        for m in range(j, k):
            a, b = np.meshgrid(thresholds[j], thresholds[m], indexing="ij")
            rho = float(r[j, m])
            joint = (ndtr(np.minimum(a, b)) if rho >= 1.0 - 1e-12 else
                     bivariate_normal_cdf(a, b, np.full(a.shape, rho)))
            term = joint - ndtr(a) * ndtr(b)
            if steps is not None:
                term = term * np.outer(steps[j], steps[m])
            out[j, m] = out[m, j] = float(np.sum(term))
    return out


def _ordinal_fit(model: str, frame: pd.DataFrame, what: str) -> Any:
    """The engine's WLSMV CFA of ordinal items (delta parameterization)."""
    from connection.latent import cfa

    try:
        return cfa(model, frame, ordered=True)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the ordinal CFA for {what} could not be fitted ({exc})",
                              values=[f"n={len(frame)}"],
                              expected="more respondents than items and a positive definite "
                                       "polychoric matrix") from None


def _ordinal_pieces(fit: Any, latent: str, cols: list[str], poly: np.ndarray) -> dict[str, Any]:
    """Loadings, factor variance, thresholds and flags of ``latent`` in an ordinal fit, with the
    sample polychoric correlations ``poly`` of ``cols``."""
    est = fit.estimates
    load = est[(est["op"] == "=~") & (est["lhs"] == latent)].set_index("rhs").reindex(cols)
    var = est[(est["op"] == "~~") & (est["lhs"] == latent) & (est["rhs"] == latent)]
    th = est[est["op"] == "|"]
    thresholds = [th.loc[th["lhs"] == c, "est"].to_numpy(dtype=float) for c in cols]
    return {"lambda": load["est"].to_numpy(dtype=float), "psi": float(var["est"].iloc[0]),
            "std": load["std_all"].to_numpy(dtype=float), "thresholds": thresholds,
            "poly": poly, "flags": fit.flags}


def _ordinal_reliabilities(p: dict[str, Any]) -> dict[str, float]:
    """Categorical omega (Green & Yang 2009, as ``semTools::compRelSEM(fit)``: model thresholds
    and common covariances over the sample polychorics, ``obs.var = TRUE``), the omega of the
    latent responses (``compRelSEM(fit, ord.scale = FALSE)``), CR from the standardized loadings
    and AVE (``semTools::AVE(fit)``: explained over the polychorics' unit variances)."""
    lam, psi, poly = p["lambda"], p["psi"], p["poly"]
    common = np.outer(lam, lam) * psi
    omega_cat = (_code_covariance(p["thresholds"], common).sum()
                 / _code_covariance(p["thresholds"], poly).sum())
    std = p["std"]
    return {"categorical_omega": float(omega_cat),
            "ordinal_omega": float(common.sum() / poly.sum()),
            "ordinal_cr": float(std.sum() ** 2 / (std.sum() ** 2 + (1.0 - std**2).sum())),
            "ordinal_ave": float(np.trace(common) / np.trace(poly))}


_ORDINAL_COLUMNS = ("ordinal_alpha", "categorical_omega", "ordinal_omega", "ordinal_cr",
                    "ordinal_ave", "ordinal_flags")


def _polychoric_matrix(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    from connection.latent._polychoric import polychoric

    return polychoric(frame, items=cols, gamma=False).correlation.loc[cols, cols].to_numpy()


def _ordinal_columns(x: np.ndarray, cols: list[str], name: str, notes: list[str], *,
                     joint_pieces: dict[str, Any] | None, joint: bool) -> dict[str, Any]:
    """The ordinal columns of one construct from its complete rows ``x``: alpha on the
    polychorics, and the reliabilities of a WLSMV fit (its own one-factor fit, or the joint
    ordinal model's pieces)."""
    scols = [str(c) for c in cols]
    frame = pd.DataFrame(x, columns=scols)
    poly = _polychoric_matrix(frame, scols)
    row: dict[str, Any] = {"ordinal_alpha": float(_alpha_from_cov(poly)) if len(cols) > 1
                           else np.nan}
    if joint:
        pieces = joint_pieces
    elif len(cols) >= 3:
        fit = _ordinal_fit(f"{_safe(name)} =~ " + " + ".join(scols), frame,
                           f"construct {name!r}")
        pieces = _ordinal_pieces(fit, _safe(name), scols, poly)
    else:
        pieces = None
    if pieces is None:
        notes.append("ordinal omega, CR and AVE need at least 3 items (or joint=True)")
        row.update({k: np.nan for k in _ORDINAL_COLUMNS[1:-1]})
        row["ordinal_flags"] = format_flags(())
        return row
    values = _ordinal_reliabilities(pieces)
    if pieces["flags"]:
        notes.append("the ordinal reliabilities come from an inadmissible WLSMV fit ("
                     + ", ".join(dict.fromkeys(f.code for f in pieces["flags"])) + ")")
    kept = _bounded({k: v for k, v in values.items()}, notes)
    row.update(kept)
    row["ordinal_flags"] = format_flags(pieces["flags"])
    return row


def _joint_ordinal_pieces(data: pd.DataFrame, cmap: dict[str, list[str]],
                          names: list[str]) -> dict[str, dict[str, Any]]:
    """Each ordinal construct's pieces of one WLSMV CFA of all ordinal constructs (rows
    complete on all their items)."""
    sub = {n: cmap[n] for n in names}
    cols = [str(c) for c in dict.fromkeys(c for cs in sub.values() for c in cs)]
    x = _complete(data, cols, "ordinal measurement model")
    frame = pd.DataFrame(x, columns=cols)
    latents = {n: _safe(n) for n in names}
    model = "\n".join(f"{latents[n]} =~ " + " + ".join(map(str, cs)) for n, cs in sub.items())
    fit = _ordinal_fit(model, frame, "the ordinal measurement model")
    poly = pd.DataFrame(_polychoric_matrix(frame, cols), index=cols, columns=cols)
    return {n: _ordinal_pieces(fit, latents[n], [str(c) for c in cs],
                               poly.loc[[str(c) for c in cs], [str(c) for c in cs]].to_numpy())
            for n, cs in sub.items()}


def _weighted_ordinal_columns(notes: list[str]) -> dict[str, Any]:
    """Under unequal weights: NA ordinal columns (no weighted polychorics yet), said in the note."""
    notes.append("ordinal alpha and omegas: weighted polychoric correlations are not available "
                 "yet (NA rather than unweighted)")
    return {**{k: np.nan for k in _ORDINAL_COLUMNS[:-1]}, "ordinal_flags": format_flags(())}


# ----------------------------------------------------------------------------- reliability


def reliability(
    data: pd.DataFrame | Any,
    constructs: Any = None,
    *,
    level: float = DEFAULT_LEVEL,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    joint: bool = False,
    progress: bool | None = None,
    recoded: bool | None = None,
    weights: Any = UNSET,
    ordered: bool | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reliability of each construct: alpha (Feldt and bootstrap CIs), omega, CR and AVE.

    Parameters
    ----------
    data
        Item responses, one column per item (or a :class:`~connection.Survey`, whose
        instrument is used when ``constructs`` is omitted).
    constructs
        An :class:`~connection.Instrument` or ``{construct: [item columns]}`` (with a Survey
        also construct names, ``"connection"`` or ``["connection", "satisfaction"]``: those
        constructs of its instrument). With an Instrument and a DataFrame, the instrument's codebook is applied as
        :func:`connection.read_survey` applies it: missing-value codes become NaN, and a value
        that is neither on the item's scale nor a declared code raises
        :class:`~connection.errors.OutOfRangeError` (naming column, rows and values). A
        :class:`~connection.Survey` is already clean and is used as it is.
    level
        Confidence level of the alpha intervals.
    n_boot
        Bootstrap replicates for a percentile interval of alpha. The bootstrap is an optional
        extra here (the Feldt interval is always given), so the default is 0 = none. Replicates
        run through :func:`connection.bootstrap` (vectorised weighted covariances).
    seed
        Seed of the bootstrap (keyword-only): an integer, a :class:`numpy.random.SeedSequence`
        or a :class:`numpy.random.Generator` (drawn from once per construct, so the same
        generator state gives the same intervals).
    joint
        ``False`` (default): omega, CR and AVE from a one-factor CFA per construct (congeneric
        model, as ``semTools::compRelSEM`` on ``cfa("f =~ items")``). ``True``: from one CFA of all
        constructs with correlated factors (as ``compRelSEM`` on the full measurement model).
    progress
        Progress bar of the bootstrap (``None``: only when interactive).
    recoded
        With a DataFrame and an Instrument that has reverse-keyed items: ``False`` = raw answers,
        the reverse keys are applied (once); ``True`` = already reverse-coded (as
        ``survey.data``). ``None`` (default) with such items is refused with an
        :class:`~connection.errors.ArgumentError` asking which: a DataFrame does not say, and
        raw answers taken as recoded give a wrong alpha without a word. Not needed with a
        :class:`~connection.Survey` (pass the Survey itself: its data are known to be
        recoded), with an Instrument without reverse keys, or with a dict.
    weights
        Survey weights: a column of the data, an array or Series (one weight per row), a
        :class:`~connection.stats.RakeResult`, or ``None`` (unweighted). Default: a Survey's
        weights. Alpha comes from the weighted covariance matrix (``survey::svyvar``), its
        Feldt interval uses Kish's effective n, the bootstrap carries the weights; omega, CR
        and AVE come from the weighted CFA (lavaan's ``sampling.weights``: ``compRelSEM`` and
        ``AVE`` on that fit; AVE over the weighted item variances).
    ordered
        Ordinal items (as lavaan's ``ordered=``): ``True`` (every construct) or a list of item
        columns (the constructs whose items are all listed; a construct mixing listed and
        unlisted items is refused). For those constructs the table gains ``ordinal_alpha``
        (alpha on the polychoric correlation matrix, Zumbo, Gadermann & Zeisser 2007: psych's
        standardized alpha of ``polychoric(x)$rho``), ``categorical_omega`` (Green & Yang 2009,
        as semTools 0.5's default ``compRelSEM(fit)`` on a WLSMV fit with ordered items: the
        reliability of the sum of the item codes, from the model's thresholds and common
        covariances over the sample polychorics), ``ordinal_omega`` (omega of the sum of the
        latent responses, ``compRelSEM(fit, ord.scale = FALSE)``), ``ordinal_cr`` (CR from the
        WLSMV standardized loadings) and ``ordinal_ave`` (``semTools::AVE(fit)``: the mean
        squared standardized loading), and ``ordinal_flags`` (the WLSMV fit's admissibility
        flags). The fit is :func:`connection.cfa` with ``ordered=True`` (WLSMV, delta
        parameterization): one-factor per construct, or with ``joint=True`` one model of all
        ordinal constructs. Of the ordinal numbers, ``categorical_omega`` is the reliability of
        the score people compute (the sum of the codes); ``ordinal_alpha``, ``ordinal_omega``,
        ``ordinal_cr`` and ``ordinal_ave`` describe the unobserved latent responses, not any
        observed score. The other columns stay those of the codes taken as numbers (the
        comparison). Not available yet: a bootstrap interval of the ordinal numbers
        (``n_boot`` bootstraps alpha only; ``note`` says so) and weighted polychorics (NA under
        unequal weights, with a note).

    Returns
    -------
    pandas.DataFrame
        One row per construct: ``construct, n, n_items, alpha, alpha_ci_lower, alpha_ci_upper``
        (Feldt 1965, as ``psych::alpha``), ``alpha_boot_ci_lower, alpha_boot_ci_upper`` (when
        ``n_boot > 0``), ``omega`` (McDonald's omega total: (sum of loadings)^2 * factor variance
        over the model-implied variance of the sum score; ``compRelSEM(obs.var = FALSE)``),
        ``cr`` (composite reliability from standardized loadings, Fornell & Larcker 1981), ``ave``
        (average variance extracted, Fornell & Larcker 1981: sum of squared loadings times the
        factor variance over the sum of the items' sample variances, as ``semTools::AVE``),
        ``flags`` (the admissibility flags of the CFA behind omega, CR and AVE, the engine's
        ``Fit.flags`` as :func:`connection._flags.format_flags` writes them, ``""`` when
        admissible: ``heywood``, ``not_converged``, ``latent_not_pd``, ...), ``note``.
        From an inadmissible fit, omega, CR and AVE are kept as ``semTools::compRelSEM``/``AVE``
        report them when they lie in [0, 1] (and ``note`` says they come from an inadmissible
        fit); outside [0, 1] they are impossible as proportions of variance and are NA, with the
        value in ``note``.
        Omega, CR and AVE need at least three items per construct in the separate models (two
        items do not identify a one-factor model): otherwise they are NaN and ``note`` says why.
        ``note`` also names items whose item-rest correlation is negative (a reverse-keyed item
        left unrecoded is the usual cause; :func:`connection.read_survey` recodes them).

    Notes
    -----
    Missing data: listwise within each construct; ``n`` is the number of complete rows used.
    Item-level statistics (alpha if deleted, item-rest correlations) come from
    :func:`item_statistics`.

    Examples
    --------
    Matches ``psych::alpha(hs[, c("x1", "x2", "x3")])`` (alpha, Feldt CI) and
    ``semTools::compRelSEM(cfa("visual =~ x1 + x2 + x3", hs), obs.var = FALSE)`` on lavaan's
    HolzingerSwineford1939:

    >>> from connection.latent.datasets import holzinger_swineford
    >>> from connection.measurement import reliability
    >>> hs = holzinger_swineford()
    >>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...           "speed": ["x7", "x8", "x9"]}
    >>> tab = reliability(hs, scales)
    >>> print(tab.drop(columns=["flags", "note"]).round(3).to_string(index=False))
    construct   n  n_items  alpha  alpha_ci_lower  alpha_ci_upper  omega    cr   ave
       visual 301        3  0.626           0.547           0.694  0.633 0.635 0.369
      textual 301        3  0.883           0.858           0.904  0.886 0.885 0.723
        speed 301        3  0.688           0.622           0.745  0.696 0.698 0.438
    """
    if is_dask_frame(data) or (_is_survey(data) and is_dask_frame(data.data)):
        data, constructs, weights, label, instrument = _dask_survey(data, constructs, weights,
                                                                    recoded, "reliability")
        return _reliability_dask(data, constructs, level=check_level(level),
                                 n_boot=check_n_boot(n_boot), joint=joint,
                                 weights=weights, ordered=ordered, label=label,
                                 instrument=instrument, recoded=recoded)
    survey_weights = _survey_weights(data)
    data, cmap = _resolve(data, constructs, recoded=recoded, what="reliability")
    instrument = constructs if isinstance(constructs, Instrument) else getattr(
        constructs, "instrument", None) if constructs is not None else None
    level = check_level(level)
    n_boot = check_n_boot(n_boot)
    _check_seed(seed)
    w_all = resolve_weights(data, weights, survey_weights)
    ordinal = _ordinal_constructs(ordered, cmap, "reliability")
    pieces_joint = _joint_pieces(data, cmap, w_all) if joint else {}
    ordinal_joint = (_joint_ordinal_pieces(data, cmap, ordinal)
                     if joint and ordinal and not _unequal(w_all, data, cmap, ordinal) else {})
    rows, n_eff = [], {}
    for name, cols in cmap.items():
        x, ok = _complete_rows(data, cols, f"reliability of {name!r}")
        n, k = x.shape
        if n < 3:
            raise ArgumentError(f"construct {name!r} has fewer than 3 complete rows", values=[n],
                                expected="at least 3 respondents with all items answered")
        _check_variance(x, cols, name)
        w = _construct_weights(w_all, ok)
        n_eff[name] = float(n) if w is None else kish_n_eff(w)
        row: dict[str, Any] = {"construct": name, "n": n, "n_items": k}
        notes: list[str] = []
        row.update(_alpha_columns(x, cols, level, notes, instrument=instrument, recoded=recoded,
                                  weights=w))
        if n_boot:
            row.update(_alpha_boot_columns(x, name, n_boot=n_boot, seed=seed, level=level,
                                           progress=progress, weights=w))
        if w is not None:
            notes.append(f"weighted (Kish effective n {n_eff[name]:.1f}, used by the Feldt "
                         "interval); omega, CR and AVE from the weighted CFA (lavaan's "
                         "sampling.weights)")
        pieces = (pieces_joint[name] if joint and k >= 2 else
                  _congeneric(x, cols, name, w) if not joint and k >= 3 else None)
        row.update(_omega_columns(pieces, joint, notes))
        if ordinal:
            row.update(_ordinal_row(x, cols, name, notes, ordinal=name in ordinal, weights=w,
                                    joint=joint, joint_pieces=ordinal_joint.get(name),
                                    n_boot=n_boot))
        row["note"] = "; ".join(notes)
        rows.append(row)
    table = pd.DataFrame(rows)
    label = None if w_all is None else weights_label(weights, survey_weights)
    table.attrs.update({"weights": label, "n_eff": n_eff})
    return table


def _unequal(w_all: np.ndarray | None, data: pd.DataFrame, cmap: dict[str, list[str]],
             names: list[str]) -> bool:
    """Whether the rows complete on the items of ``names`` have unequal weights."""
    if w_all is None:
        return False
    cols = list(dict.fromkeys(c for n in names for c in cmap[n]))
    ok = data[cols].astype(float).notna().all(axis=1).to_numpy()
    return not equal_weights(w_all[ok])


def _ordinal_row(x: np.ndarray, cols: list[str], name: str, notes: list[str], *, ordinal: bool,
                 weights: np.ndarray | None, joint: bool, joint_pieces: dict[str, Any] | None,
                 n_boot: int) -> dict[str, Any]:
    """The ordinal columns of one construct (NA for a continuous one, or under unequal
    weights, each with its reason in the note)."""
    if not ordinal:
        notes.append("continuous items (not in ordered=): no ordinal reliabilities")
        return {**{k: np.nan for k in _ORDINAL_COLUMNS[:-1]}, "ordinal_flags": ""}
    if weights is not None:
        return _weighted_ordinal_columns(notes)
    if n_boot:
        notes.append("the bootstrap interval is of alpha only: not available for the ordinal "
                     "alpha and omegas yet")
    return _ordinal_columns(x, cols, name, notes, joint_pieces=joint_pieces, joint=joint)


def _check_seed(seed: Any) -> None:
    """Refuse a seed :func:`~connection._common.as_seed_sequence` would refuse, without drawing
    from a Generator (that happens when a bootstrap runs)."""
    if not isinstance(seed, np.random.Generator):
        as_seed_sequence(seed)


def _item_rest_corr(item: np.ndarray, rest: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        return float(np.corrcoef(item, rest)[0, 1])
    c = weighted_cov(np.column_stack([item, rest]), weights)
    return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))


def _alpha_columns(x: np.ndarray, cols: list[str], level: float, notes: list[str], *,
                   instrument: Any, recoded: bool | None,
                   weights: np.ndarray | None = None) -> dict[str, float]:
    """Alpha and its Feldt interval; notes on a constant sum and negative item-rest correlations.
    With (unequal) weights: from the weighted covariances, Feldt with Kish's effective n."""
    n, k = x.shape
    if k < 2:
        notes.append("alpha needs at least 2 items")
        return {"alpha": np.nan, "alpha_ci_lower": np.nan, "alpha_ci_upper": np.nan}
    total = x.sum(axis=1)
    cov = np.cov(x, rowvar=False) if weights is None else weighted_cov(x, weights)
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant sum or rest score
        negative = [c for j, c in enumerate(cols)
                    if _item_rest_corr(x[:, j], total - x[:, j], weights) < 0]
    return _alpha_from_parts(cov, n if weights is None else kish_n_eff(weights), cols, negative,
                             level, notes, instrument=instrument, recoded=recoded)


def _alpha_from_parts(cov: np.ndarray, n_eff: float, cols: list[str], negative: list,
                      level: float, notes: list[str], *, instrument: Any,
                      recoded: bool | None) -> dict[str, float]:
    """Alpha from the (weighted, divisor n - 1) covariance matrix, Feldt with ``n_eff``, and the
    notes on a constant sum and the items of ``negative`` item-rest correlation."""
    k = cov.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = float(_alpha_from_cov(cov)) if _sum_varies(cov) else np.nan
    if not np.isfinite(a):
        a = np.nan
        notes.append("alpha is undefined: the sum score does not vary")
    lo, hi = _feldt(a, n_eff, k, level)
    if negative:
        notes.append("negative item-rest correlation for " + ", ".join(map(str, negative))
                     + ": reverse-keyed and not recoded?")
        keyed = [c for c in negative if isinstance(instrument, Instrument)
                 and c in instrument.items and instrument.items[c].reverse]
        if keyed and recoded is True:
            notes.append(", ".join(keyed) + " reverse-keyed in the instrument and taken as "
                         "already recoded (recoded=True); for raw answers pass recoded=False")
    return {"alpha": a, "alpha_ci_lower": lo, "alpha_ci_upper": hi}


def _alpha_boot_columns(x: np.ndarray, name: str, *, n_boot: int, seed: Any, level: float,
                        progress: bool | None,
                        weights: np.ndarray | None = None) -> dict[str, float]:
    """Percentile bootstrap interval of alpha. Each construct's bootstrap takes its streams from
    ``as_seed_sequence(seed)``: an integer gives every construct the same root, a SeedSequence
    spawns on, a Generator is drawn from once per construct."""
    if x.shape[1] < 2:
        return {"alpha_boot_ci_lower": np.nan, "alpha_boot_ci_upper": np.nan}
    from connection.stats._bootstrap import bootstrap

    xc = x - (x.mean(axis=0) if weights is None else weights @ x / weights.sum())
    res = bootstrap(_alpha_counts, xc, n_boot=n_boot, seed=as_seed_sequence(seed), mode="counts",
                    level=level, progress=progress, label=f"alpha {name}", weights=weights)
    ci = res.ci()
    return {"alpha_boot_ci_lower": float(ci["ci_lower"].iloc[0]),
            "alpha_boot_ci_upper": float(ci["ci_upper"].iloc[0])}


def _omega_columns(pieces: dict[str, Any] | None, joint: bool, notes: list[str]) -> dict[str, Any]:
    """Omega, CR and AVE from a CFA's pieces (NaN without one), and the CFA's flags."""
    if pieces is None:
        notes.append("omega, CR and AVE need at least 2 items" if joint else
                     "omega, CR and AVE need at least 3 items (or joint=True)")
        return {"omega": np.nan, "cr": np.nan, "ave": np.nan, "flags": format_flags(())}
    om, cr, ave = _omega_cr_ave(pieces)
    flags = pieces["flags"]
    if flags:
        notes.append("omega, CR and AVE come from an inadmissible "
                     + ("joint CFA" if joint else "one-factor CFA") + " ("
                     + ", ".join(dict.fromkeys(f.code for f in flags)) + "): see flags")
    kept = _bounded({"omega": om, "CR": cr, "AVE": ave}, notes)
    return {"omega": kept["omega"], "cr": kept["CR"], "ave": kept["AVE"],
            "flags": format_flags(flags)}


def _joint_pieces(data: pd.DataFrame, cmap: dict[str, list[str]],
                  weights: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Each construct's pieces of the joint CFA (weighted when the rows of the joint model have
    unequal weights)."""
    fit, latents, var = _joint_fit(data, cmap, weights)
    return {name: _factor_pieces(fit, latents[name], [str(c) for c in cols],
                                 var[[str(c) for c in cols]].to_numpy())
            for name, cols in cmap.items()}


def _joint_fit(data: pd.DataFrame, cmap: dict[str, list[str]],
               weights: np.ndarray | None = None):
    """One CFA of all constructs (correlated factors) on the rows complete on all items
    (weighted when their weights are unequal)."""

    cols = list(dict.fromkeys(c for cs in cmap.values() for c in cs))
    x, ok = _complete_rows(data, cols, "measurement model")
    w = _construct_weights(weights, ok)
    for name, cs in cmap.items():
        _check_variance(x[:, [cols.index(c) for c in cs]], cs, name)
    latents = {name: _safe(name) for name in cmap}
    model = "\n".join(f"{latents[n]} =~ " + " + ".join(map(str, cs)) for n, cs in cmap.items())
    fit = _cfa(model, pd.DataFrame(x, columns=[str(c) for c in cols]), "the measurement model",
               w)
    return fit, latents, pd.Series(_ml_var(x, w), index=[str(c) for c in cols])


def item_statistics(data: pd.DataFrame | Any, constructs: Any = None, *,
                    recoded: bool | None = None) -> pd.DataFrame:
    """Item-level statistics per construct, as ``psych::alpha``'s ``alpha.drop`` and ``item.stats``.

    ``data``, ``constructs`` and ``recoded`` as in :func:`reliability` (an Instrument's missing
    codes and scales are applied).

    Returns
    -------
    pandas.DataFrame
        ``construct, item, n, mean, sd, item_total_r`` (``raw.r``), ``item_rest_r`` (corrected
        item-total correlation, ``r.drop``), ``alpha_if_deleted`` (``raw_alpha`` of
        ``alpha.drop``; NaN when fewer than two items would remain).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 4, 3, 5.0], "b": [2, 3, 4, 5, 5], "c": [2, 3, 5, 4, 4]})
    >>> item_statistics(df, {"s": ["a", "b", "c"]})[["item", "item_rest_r"]].round(3).values.tolist()
    [['a', 0.893], ['b', 0.853], ['c', 0.838]]
    """
    data, cmap = _resolve(data, constructs, recoded=recoded, what="item statistics")
    rows = []
    for name, cols in cmap.items():
        x = _complete(data, cols, f"item statistics of {name!r}")
        n, k = x.shape
        if n < 3:
            raise ArgumentError(f"construct {name!r} has fewer than 3 complete rows", values=[n],
                                expected="at least 3 respondents with all items answered")
        _check_variance(x, cols, name)
        total = x.sum(axis=1)
        for j, c in enumerate(cols):
            rest = total - x[:, j]
            keep = [i for i in range(k) if i != j]
            cov_keep = np.cov(x[:, keep], rowvar=False) if k > 2 else None
            with np.errstate(invalid="ignore", divide="ignore"):  # a rest score that does not vary
                r_total = float(np.corrcoef(x[:, j], total)[0, 1])
                r_rest = float(np.corrcoef(x[:, j], rest)[0, 1]) if k > 1 else np.nan
            rows.append({
                "construct": name, "item": c, "n": n,
                "mean": float(x[:, j].mean()), "sd": float(x[:, j].std(ddof=1)),
                "item_total_r": r_total,
                "item_rest_r": r_rest,
                "alpha_if_deleted": (float(_alpha_from_cov(cov_keep))
                                     if cov_keep is not None and _sum_varies(cov_keep) else np.nan),
            })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- HTMT


def _htmt_from_corr(r: np.ndarray, blocks: list[np.ndarray], pairs: list[tuple[int, int]],
                    method: str, absolute: bool) -> np.ndarray:
    """HTMT of each construct pair from correlation matrices of shape (b, p, p) -> (b, n_pairs)."""
    if absolute:
        r = np.abs(r)

    def avg(vals: np.ndarray) -> np.ndarray:
        if method == "htmt2":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.exp(np.log(vals).mean(axis=-1))
        return vals.mean(axis=-1)

    mono = []
    for idx in blocks:
        if idx.size < 2:
            mono.append(np.full(r.shape[0], np.nan))
            continue
        iu, ju = np.triu_indices(idx.size, 1)
        mono.append(avg(r[:, idx[iu], idx[ju]]))
    out = np.empty((r.shape[0], len(pairs)))
    for m, (a, b) in enumerate(pairs):
        hetero = r[:, blocks[a]][:, :, blocks[b]].reshape(r.shape[0], -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, m] = avg(hetero) / np.sqrt(mono[a] * mono[b])
    return out


def htmt(
    data: pd.DataFrame | Any,
    constructs: Any = None,
    *,
    method: str = "htmt",
    absolute: bool = True,
    n_boot: int = 0,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    level: float = DEFAULT_LEVEL,
    threshold: float = DISTINCT_THRESHOLD,
    progress: bool | None = None,
    alternative: str = "two-sided",
    recoded: bool | None = None,
    weights: Any = UNSET,
    ordered: bool | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations (Henseler, Ringle & Sarstedt 2015).

    HTMT of constructs *a* and *b* is the mean correlation between items of *a* and items of *b*,
    divided by the geometric mean of the average within-construct item correlations of *a* and of
    *b*. Values well below 1 mean the constructs are empirically distinct.

    Parameters
    ----------
    data, constructs, recoded
        As in :func:`reliability` (an Instrument's missing codes and scales are applied; reverse
        keys matter only with ``absolute=False``).
    method
        ``"htmt"`` (arithmetic means, Henseler et al. 2015) or ``"htmt2"`` (geometric means,
        Roemer, Schuberth & Henseler 2021; semTools' default).
    absolute
        Use absolute correlations (as ``semTools::htmt``'s default), so reverse-keyed items that
        were not recoded do not cancel out.
    n_boot, seed, level
        Percentile bootstrap interval: ``n_boot`` replicates (an optional extra, so 0 = none by
        default), via :func:`connection.bootstrap` in ``counts`` mode (all replicates'
        correlation matrices come from one matrix product); ``seed`` an integer, SeedSequence or
        Generator (keyword-only); ``level`` its confidence level.
    threshold
        The cut-off for the ``distinct`` verdict (0.85, the conservative criterion; 0.90 is the
        liberal one).
    alternative
        The interval behind the verdict. ``"two-sided"`` (default): the equal-tailed ``level``
        percentile interval (2.5th to 97.5th percentile for 0.95). ``"less"``: the one-sided test
        of Henseler, Ringle & Sarstedt (2015) that HTMT lies below the threshold: the upper
        bound of a one-sided ``level`` interval, the ``level`` percentile of the bootstrap
        replicates (the 95th for 0.95); ``ci_lower`` is then NaN (the interval is unbounded
        below). Names as in ``scipy.stats`` (``alternative="less"``: the alternative hypothesis
        is HTMT < threshold).
    weights
        Survey weights (as in :func:`reliability`; default: a Survey's weights): HTMT from the
        weighted item correlations (``survey::svyvar``'s covariances), the bootstrap carrying
        each respondent's weight.
    ordered
        Ordinal items (``True``: all; or a list of item columns): HTMT from the polychoric
        correlations of the ordinal items, polyserial ones between ordinal and continuous
        items and Pearson ones among the continuous (:func:`connection.polychoric`), as
        ``semTools::htmt(model, data, ordered = ...)`` on ``lavCor``. Not available yet with
        ``n_boot > 0`` or unequal weights (refused, with an
        :class:`~connection.errors.ArgumentError`).

    Returns
    -------
    pandas.DataFrame
        One row per pair of constructs: ``construct_a, construct_b, n, htmt, ci_lower, ci_upper``
        (NaN without bootstrap), ``ci_level``, ``ci_sides`` (``"two-sided"`` or ``"one-sided"``;
        NaN and ``""`` without bootstrap), ``threshold``, ``distinct`` (HTMT below the threshold,
        and when a bootstrap ran, the upper confidence limit too), ``finding`` (the verdict in
        words, naming the interval's sidedness).
        A construct with a single item has no within-construct correlation: its HTMT is NaN.
        ``table.pivot(index="construct_a", columns="construct_b", values="htmt")`` gives the
        matrix. Missing data: listwise over all items of all constructs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.measurement import htmt
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 2)) @ np.array([[1, .3], [0, .95]])
    >>> x = np.repeat(f, 3, axis=1) + rng.normal(scale=.7, size=(400, 6))
    >>> df = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> tab = htmt(df, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}, n_boot=200, seed=1,
    ...            progress=False)
    >>> tab[["construct_a", "construct_b", "distinct"]].values.tolist()
    [['a', 'b', True]]
    >>> print(tab["finding"].iloc[0])
    a and b are distinct: HTMT = 0.306 < 0.85 (two-sided 95% bootstrap percentile CI 0.190 to 0.409)

    The one-sided test of Henseler et al. (2015): the 95th percentile below the threshold.

    >>> one = htmt(df, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}, n_boot=200, seed=1,
    ...            progress=False, alternative="less")
    >>> print(one["finding"].iloc[0])
    a and b are distinct: HTMT = 0.306 < 0.85 (one-sided 95% upper bound 0.385, the 95th bootstrap percentile)

    On lavaan's HolzingerSwineford1939, as ``semTools::htmt(model, hs, htmt2 = FALSE)``:

    >>> from connection.latent.datasets import holzinger_swineford
    >>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...           "speed": ["x7", "x8", "x9"]}
    >>> htmt(holzinger_swineford(), scales)[["construct_a", "construct_b", "htmt"]].round(4)
      construct_a construct_b    htmt
    0      visual     textual  0.4243
    1      visual       speed  0.4665
    2     textual       speed  0.2896
    """
    if method not in ("htmt", "htmt2"):
        raise ArgumentError("unknown HTMT method", values=[method], expected="'htmt' or 'htmt2'")
    level = check_level(level)
    if alternative not in ("two-sided", "less"):
        raise ArgumentError("unknown alternative", values=[alternative],
                            expected="'two-sided' (equal-tailed interval) or 'less' (one-sided test "
                                     "that HTMT is below the threshold, Henseler et al. 2015)")
    n_boot = check_n_boot(n_boot)
    _check_seed(seed)
    if is_dask_frame(data) or (_is_survey(data) and is_dask_frame(data.data)):
        data, constructs, weights, label, _ = _dask_survey(data, constructs, weights, recoded,
                                                           "HTMT")
        return _htmt_dask(data, constructs, method=method, absolute=absolute, n_boot=n_boot,
                          level=level, threshold=threshold, alternative=alternative,
                          weights=weights, ordered=ordered, label=label)
    survey_weights = _survey_weights(data)
    data, cmap = _resolve(data, constructs, recoded=recoded, reverse_matters=not absolute,
                          what="HTMT")
    w_all = resolve_weights(data, weights, survey_weights)
    if len(cmap) < 2:
        raise ArgumentError("HTMT needs at least two constructs", values=list(cmap))
    _check_disjoint(cmap, "HTMT")
    cols = list(dict.fromkeys(c for cs in cmap.values() for c in cs))
    x, ok = _complete_rows(data, cols, "HTMT")
    for name, cs in cmap.items():
        _check_variance(x[:, [cols.index(c) for c in cs]], cs, name)
    w = _construct_weights(w_all, ok)
    names = list(cmap)
    blocks = [np.array([cols.index(c) for c in cmap[nm]]) for nm in names]
    pairs = [(a, b) for a in range(len(names)) for b in range(a + 1, len(names))]
    if ordered is not None and ordered is not False:
        est = _htmt_ordinal(x, cols, ordered, blocks, pairs, method, absolute, n_boot=n_boot,
                            weighted=w is not None)
        return _htmt_table(names, pairs, est, np.full(len(pairs), np.nan),
                           np.full(len(pairs), np.nan), x.shape[0], level, n_boot, threshold,
                           alternative, None, float(x.shape[0]))
    xc = x - (x.mean(axis=0) if w is None else w @ x / w.sum())

    def stat(xc_: np.ndarray, counts: np.ndarray) -> np.ndarray:
        cov = _weighted_moments(xc_, counts)
        sd = np.sqrt(np.einsum("bii->bi", cov))
        corr = cov / sd[:, :, None] / sd[:, None, :]
        return _htmt_from_corr(corr, blocks, pairs, method, absolute)

    est = stat(xc, np.ones((1, xc.shape[0])) if w is None else w[None, :])[0]
    lo, hi = np.full(len(pairs), np.nan), np.full(len(pairs), np.nan)
    # pairs with a single-item construct have no HTMT (NaN); resampling them would only add
    # replicates that "fail" by construction, so they are left out of the bootstrap
    defined = np.flatnonzero(np.isfinite(est))
    if n_boot and defined.size:
        from connection.stats._bootstrap import bootstrap

        res = bootstrap(lambda d, w: stat(d, w)[:, defined], xc, n_boot=n_boot,
                        seed=as_seed_sequence(seed), mode="counts", level=level,
                        progress=progress, label="HTMT", weights=w)
        if alternative == "two-sided":
            ci = res.ci()
            lo[defined], hi[defined] = ci["ci_lower"].to_numpy(), ci["ci_upper"].to_numpy()
        else:  # one-sided: the level-th percentile is the upper bound (as BootstrapResult.ci's)
            reps = res.replicates.to_numpy()
            if reps.shape[0] >= 2:
                hi[defined] = np.quantile(reps, level, axis=0)
    label = None if w_all is None else weights_label(weights, survey_weights)
    return _htmt_table(names, pairs, est, lo, hi, x.shape[0], level, n_boot, threshold,
                       alternative, label, float(x.shape[0]) if w is None else kish_n_eff(w))


def _htmt_ordinal(x: np.ndarray, cols: list[str], ordered: Any, blocks: list[np.ndarray],
                  pairs: list[tuple[int, int]], method: str, absolute: bool, *, n_boot: int,
                  weighted: bool) -> np.ndarray:
    """HTMT on the polychoric (and polyserial/Pearson) correlations of the complete rows."""
    if n_boot:
        raise ArgumentError("HTMT with ordered=: a bootstrap interval is not available yet",
                            values=[n_boot], expected="n_boot=0 with ordered=",
                            hint="Use ordered=None for the bootstrap of the Pearson HTMT")
    if weighted:
        raise ArgumentError("HTMT with ordered=: weighted polychoric correlations are not "
                            "available yet", expected="weights=None (or equal weights) with "
                            "ordered=", hint="Use ordered=None for the weighted Pearson HTMT")
    names = [str(c) for c in cols]
    if ordered is True:
        items = names
    else:
        listed = [ordered] if isinstance(ordered, str) else list(ordered)
        stray = [str(i) for i in listed if str(i) not in names]
        if stray:
            raise ArgumentError("HTMT: ordered names items that belong to no construct",
                                values=stray, expected="item columns of the constructs")
        items = [c for c in names if c in {str(i) for i in listed}]
    others = [c for c in names if c not in items]
    from connection.latent._polychoric import polychoric

    frame = pd.DataFrame(x, columns=names)
    r = polychoric(frame, items=items, continuous=others or None,
                   gamma=False).correlation.loc[names, names].to_numpy()
    return _htmt_from_corr(r[None, :, :], blocks, pairs, method, absolute)[0]


def _htmt_table(names: list[str], pairs: list[tuple[int, int]], est: np.ndarray,
                lo: np.ndarray, hi: np.ndarray, n: int, level: float, n_boot: int,
                threshold: float, alternative: str, label: str | None,
                n_eff: float) -> pd.DataFrame:
    rows = []
    sides = "two-sided" if alternative == "two-sided" else "one-sided"
    for m, (a, b) in enumerate(pairs):
        value = est[m]
        upper = hi[m]
        ok = bool(value < threshold and (np.isnan(upper) or upper < threshold))
        rows.append({"construct_a": names[a], "construct_b": names[b], "n": n,
                     "htmt": value, "ci_lower": lo[m], "ci_upper": upper,
                     "ci_level": level if n_boot else np.nan,
                     "ci_sides": sides if n_boot else "", "threshold": threshold,
                     "distinct": ok,
                     "finding": _htmt_finding(names[a], names[b], value, lo[m], upper, threshold,
                                              level, alternative)})
    table = pd.DataFrame(rows)
    table.attrs.update({"weights": label, "n_eff": n_eff})
    return table


def _htmt_finding(a: str, b: str, value: float, lo: float, hi: float, threshold: float,
                  level: float, alternative: str = "two-sided") -> str:
    if np.isnan(value):
        return f"HTMT of {a} and {b} is undefined (a construct needs at least two items)"
    if np.isnan(hi):
        ci = ""
    elif alternative == "two-sided":
        ci = f" (two-sided {level:.0%} bootstrap percentile CI {lo:.3f} to {hi:.3f})"
    else:
        ci = (f" (one-sided {level:.0%} upper bound {hi:.3f}, the {_ordinal(100 * level)} "
              "bootstrap percentile)")
    if value < threshold and (np.isnan(hi) or hi < threshold):
        return f"{a} and {b} are distinct: HTMT = {value:.3f} < {threshold:.2f}{ci}"
    if value < threshold:
        return (f"{a} and {b} are not clearly distinct: HTMT = {value:.3f} < {threshold:.2f} but the "
                f"upper confidence limit is not{ci}")
    return f"{a} and {b} are not distinct: HTMT = {value:.3f} >= {threshold:.2f}{ci}"


def _ordinal(pct: float) -> str:
    """95 -> '95th', 97.5 -> '97.5th', 91 -> '91st'."""
    text = f"{pct:.10g}"
    if "." in text:
        return text + "th"
    n = int(text)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ----------------------------------------------------------------------------- Fornell-Larcker


def fornell_larcker(data: pd.DataFrame | Any, constructs: Any = None, *,
                    recoded: bool | None = None) -> pd.DataFrame:
    """Fornell-Larcker (1981) criterion from one CFA of all constructs (correlated factors).

    Discriminant validity holds for a pair when the square root of each construct's AVE exceeds
    the absolute correlation between the two factors.

    Parameters
    ----------
    data, constructs, recoded
        As in :func:`reliability` (an Instrument's missing codes and scales are applied).

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``construct_a, construct_b, correlation`` (factor correlation, lavaan
        ``std.all``), ``sqrt_ave_a, sqrt_ave_b, holds``, ``flags`` (the admissibility flags of
        the joint CFA, ``""`` when admissible). An AVE outside [0, 1] (only possible from an
        inadmissible fit) gives NA for its square root and for ``holds``. Missing data: listwise
        over all items.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.measurement import fornell_larcker
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 2)) @ np.array([[1, .3], [0, .95]])
    >>> x = np.repeat(f, 3, axis=1) + rng.normal(scale=.7, size=(400, 6))
    >>> df = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> fornell_larcker(df, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]})["holds"].tolist()
    [True]
    """
    data, cmap = _resolve(data, constructs, recoded=recoded, what="Fornell-Larcker")
    _check_disjoint(cmap, "Fornell-Larcker")
    if len(cmap) < 2:
        raise ArgumentError("the Fornell-Larcker criterion needs at least two constructs",
                            values=list(cmap))
    fit, latents, var = _joint_fit(data, cmap)
    est = fit.estimates
    flags = format_flags(fit.flags)
    ave = {n: _omega_cr_ave(_factor_pieces(fit, latents[n], [str(c) for c in cs],
                                           var[[str(c) for c in cs]].to_numpy()))[2]
           for n, cs in cmap.items()}
    names = list(cmap)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = latents[a], latents[b]
            sel = est[(est["op"] == "~~") & (((est["lhs"] == la) & (est["rhs"] == lb))
                                             | ((est["lhs"] == lb) & (est["rhs"] == la)))]
            r = float(sel["std_all"].iloc[0])
            # an AVE outside [0, 1] comes from an inadmissible fit (a negative variance), which
            # the flags column names; the criterion is then undefined (NA), not True or False
            sa, sb = (float(np.sqrt(v)) if 0 <= v <= 1 + 1e-12 else np.nan for v in (ave[a], ave[b]))
            holds = pd.NA if np.isnan(sa) or np.isnan(sb) else bool(min(sa, sb) > abs(r))
            rows.append({"construct_a": a, "construct_b": b, "correlation": r,
                         "sqrt_ave_a": sa, "sqrt_ave_b": sb, "holds": holds, "flags": flags})
    out = pd.DataFrame(rows)
    out["holds"] = out["holds"].astype("boolean")
    return out


# ----------------------------------------------------------------------------- dimensionality


def _check_positive_definite(r: np.ndarray, cols: list[str], what: str, n: int) -> None:
    """A singular item correlation matrix (collinear items, or too few rows) has no SMCs."""
    vals, vecs = np.linalg.eigh(r)
    if vals[0] > 1e-8 * max(vals[-1], 1.0):
        return
    involved = [str(cols[j]) for j in np.flatnonzero(np.abs(vecs[:, 0]) > 0.1)]
    raise DataError(f"{what}: the item correlation matrix is singular (items that are exact linear "
                    "combinations of others, or too few respondents)", values=involved,
                    expected=f"items none of which is determined by the others; n = {n} rows",
                    hint="Drop one of the items named, or collect more responses")


def _smc_reduced(r: np.ndarray) -> np.ndarray:
    """Correlation matrix with squared multiple correlations on the diagonal."""
    red = r.copy()
    np.fill_diagonal(red, 1.0 - 1.0 / np.diag(np.linalg.inv(r)))
    return red


@dataclass(frozen=True, repr=False)
class ParallelAnalysisResult(Reported):
    """Horn's parallel analysis (returned by :func:`parallel_analysis`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per position: ``number, kind`` (``"pc"``: eigenvalues of the correlation matrix;
        ``"fa"``: of the reduced correlation matrix with squared multiple correlations on the
        diagonal), ``observed, random_mean, random_quantile, retain``.
    n_components, n_factors : int
        Leading observed eigenvalues above the random quantile (components, factors).
    n, n_iter, quantile : int, int, float
    """

    table: pd.DataFrame
    n_components: int
    n_factors: int
    n: int
    n_iter: int
    quantile: float

    def to_frame(self) -> pd.DataFrame:
        """The eigenvalue table (a copy of :attr:`table`)."""
        return self.table.copy()

    def summary(self) -> Report:
        """The suggested numbers of components and factors and the eigenvalue table."""
        report = Report("Parallel analysis (Horn 1965)", header=[
            ("Respondents", self.n), ("Random data sets", self.n_iter),
            ("Quantile compared", f"{self.quantile:.0%}"),
            ("Suggested components", self.n_components), ("Suggested factors", self.n_factors)])
        report.add_table(self.table, caption="Observed and random eigenvalues")
        return report.add_note("pc: eigenvalues of the correlation matrix; fa: of the reduced "
                               "matrix (squared multiple correlations on the diagonal)")


def parallel_analysis(
    data: pd.DataFrame | Any,
    items: Sequence[str] | None = None,
    *,
    n_iter: int = 100,
    quantile: float = 0.95,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
) -> ParallelAnalysisResult:
    """Horn's (1965) parallel analysis: how many factors the items support.

    Observed eigenvalues are compared with those of ``n_iter`` data sets of independent normal
    variables with the same n and number of items; a dimension is retained while its observed
    eigenvalue exceeds the ``quantile`` of the random ones (Glorfeld 1995). Both principal
    components (correlation matrix) and common factors (reduced matrix, squared multiple
    correlations on the diagonal) are reported.

    Parameters
    ----------
    data
        Item responses (a DataFrame or a :class:`~connection.Survey`); rows with missing values
        are left out (listwise).
    items
        Columns to use (default: a Survey's instrument items present in its data; with a
        DataFrame, all numeric columns).
    n_iter, quantile
        Number of random data sets and the quantile compared against (strictly between 0 and 1:
        0.95 as Glorfeld, 0.5 for Horn's mean criterion).
    seed
        Seed of the random data sets (keyword-only): an integer, a
        :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`.

    Returns
    -------
    ParallelAnalysisResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.measurement import parallel_analysis
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 2))
    >>> x = np.repeat(f, 4, axis=1) * 0.8 + rng.normal(scale=0.6, size=(500, 8))
    >>> pa = parallel_analysis(pd.DataFrame(x), n_iter=50, seed=1)
    >>> pa.n_components, pa.n_factors
    (2, 2)
    """
    n_iter = check_int(n_iter, "n_iter", minimum=1, what="a whole number of random data sets, "
                       "at least 1 (e.g. 100)")
    quantile = check_level(quantile, "quantile")
    _check_seed(seed)
    data, items = _items_frame(data, items, "parallel analysis")
    _, cmap = _resolve(data, {"items": items})
    x = _complete(data, cmap["items"], "parallel analysis")
    n, p = x.shape
    if p < 2 or n <= p:
        raise ArgumentError("parallel analysis needs at least two items and more rows than items",
                            values=[f"n={n}", f"items={p}"])
    _check_variance(x, cmap["items"], "items")
    r = np.corrcoef(x, rowvar=False)
    _check_positive_definite(r, cmap["items"], "parallel analysis", n)
    obs_pc = np.linalg.eigvalsh(r)[::-1]
    obs_fa = np.linalg.eigvalsh(_smc_reduced(r))[::-1]
    rng = as_generator(seed)
    rand_pc = np.empty((n_iter, p))
    rand_fa = np.empty((n_iter, p))
    for i in range(n_iter):
        rr = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
        rand_pc[i] = np.linalg.eigvalsh(rr)[::-1]
        rand_fa[i] = np.linalg.eigvalsh(_smc_reduced(rr))[::-1]
    rows = []
    counts = {}
    for kind, obs, rand in (("pc", obs_pc, rand_pc), ("fa", obs_fa, rand_fa)):
        q = np.quantile(rand, quantile, axis=0)
        above = obs > q
        n_keep = int(np.argmin(above)) if not above.all() else p
        counts[kind] = n_keep
        for j in range(p):
            rows.append({"number": j + 1, "kind": kind, "observed": obs[j],
                         "random_mean": rand[:, j].mean(), "random_quantile": q[j],
                         "retain": j < n_keep})
    return ParallelAnalysisResult(table=pd.DataFrame(rows), n_components=counts["pc"],
                                  n_factors=counts["fa"], n=n, n_iter=n_iter, quantile=quantile)


def __getattr__(name: str) -> Any:
    """``ParallelAnalysis``: the old name of :class:`ParallelAnalysisResult` (issue 13), kept for
    one release with a FutureWarning."""
    if name == "ParallelAnalysis":
        warn("ParallelAnalysis is renamed ParallelAnalysisResult; the old name will stop working "
             "in the next release", FutureWarning)
        return ParallelAnalysisResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, repr=False)
class EFAResult(Reported):
    """An exploratory factor analysis (returned by :func:`efa`).

    Attributes
    ----------
    loadings : pandas.DataFrame
        Items x factors (pattern loadings after rotation), factors ordered by the variance they
        explain and signed so each factor's loadings sum to a positive value.
    factor_correlations : pandas.DataFrame
        Factor correlation matrix (identity for orthogonal rotations).
    communalities, uniquenesses : pandas.Series
    rotation, method : str
    n : int
    """

    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    rotation: str
    method: str
    n: int

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: ``item, factor, loading`` plus each item's ``communality``."""
        out = self.loadings.rename_axis("item").reset_index().melt(
            id_vars="item", var_name="factor", value_name="loading")
        out["communality"] = out["item"].map(self.communalities)
        return out

    def summary(self) -> Report:
        """The loadings with communalities, and the factor correlations."""
        report = Report(f"EFA ({self.method.upper()}, {self.rotation} rotation)", header=[
            ("Respondents", self.n), ("Factors", self.loadings.shape[1]),
            ("Items", self.loadings.shape[0])])
        report.add_table(self.loadings.assign(communality=self.communalities),
                         caption="Pattern loadings", index=True)
        report.add_table(self.factor_correlations, caption="Factor correlations", index=True)
        return report


_ROTATIONS = ("oblimin", "promax", "varimax", "none")


def efa(
    data: pd.DataFrame | Any,
    n_factors: int,
    items: Sequence[str] | None = None,
    *,
    rotation: str = "oblimin",
    method: str = "ml",
) -> EFAResult:
    """Exploratory factor analysis with an oblique (default) rotation.

    Extraction is statsmodels' :class:`~statsmodels.multivariate.factor.Factor` on the correlation
    matrix (``method="ml"``: maximum likelihood, as ``psych::fa(fm = "ml")``/``factanal``;
    ``"pa"``: principal axis). Rotations: ``"oblimin"`` (direct quartimin, gamma = 0, by
    statsmodels' gradient-projection algorithm, as ``GPArotation::oblimin`` used by
    ``psych::fa(rotate = "oblimin")``), ``"promax"`` (power 4 on a Kaiser-normalised varimax, of Kaiser-row-normalised
    loadings, as ``psych::fa(rotate = "promax")``), ``"varimax"`` (Kaiser-normalised, as ``stats::varimax``),
    ``"none"``. Rows with missing values are left out (listwise).

    Parameters
    ----------
    data
        Item responses: a DataFrame or a :class:`~connection.Survey`.
    n_factors
        Factors to extract (1 to one fewer than the items).
    items
        Columns to use (default: a Survey's instrument items present in its data; with a
        DataFrame, all numeric columns).
    rotation, method
        As above.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from connection.measurement import efa
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(600, 2)) @ np.array([[1, .4], [0, .9]])
    >>> x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(scale=0.6, size=(600, 6))
    >>> res = efa(pd.DataFrame(x, columns=list("abcdef")), 2)
    >>> res.loadings.abs().idxmax(axis=1).tolist()  # simple structure recovered
    ['factor1', 'factor1', 'factor1', 'factor2', 'factor2', 'factor2']
    >>> bool(0.25 < res.factor_correlations.iloc[0, 1] < 0.55)
    True
    """
    if rotation not in _ROTATIONS:
        raise ArgumentError("unknown rotation", values=[rotation], expected=", ".join(_ROTATIONS))
    if method not in ("ml", "pa"):
        raise ArgumentError("unknown extraction method", values=[method], expected="'ml' or 'pa'")
    data, items = _items_frame(data, items, "EFA")
    _, cmap = _resolve(data, {"items": items})
    cols = cmap["items"]
    x = _complete(data, cols, "EFA")
    n, p = x.shape
    n_factors = check_int(n_factors, "n_factors", minimum=1,
                          what=f"a whole number of factors, 1 to {max(p - 1, 1)}")
    if not 1 <= n_factors < p:
        raise ArgumentError("n_factors must be at least 1 and fewer than the items",
                            values=[n_factors], expected=f"1 to {p - 1}")
    _check_variance(x, cols, "items")
    r = np.corrcoef(x, rowvar=False)
    _check_positive_definite(r, cols, "EFA", n)
    a = _efa_extract(r, n_factors, n, method)
    a, phi = _efa_rotate(a, n_factors, rotation)
    communality = np.sum(a * (a @ phi), axis=1)
    # order factors by explained variance (as psych), sign so that loadings sum positive
    ss = np.diag(phi @ a.T @ a @ phi) if rotation != "none" else (a**2).sum(axis=0)
    order = np.argsort(-ss, kind="stable")
    a, phi = a[:, order], phi[np.ix_(order, order)]
    sign = np.where(a.sum(axis=0) < 0, -1.0, 1.0)
    a, phi = a * sign, phi * np.outer(sign, sign)
    names = [f"factor{j + 1}" for j in range(n_factors)]
    return EFAResult(
        loadings=pd.DataFrame(a, index=cols, columns=names),
        factor_correlations=pd.DataFrame(phi, index=names, columns=names),
        communalities=pd.Series(communality, index=cols, name="communality"),
        uniquenesses=pd.Series(1.0 - communality, index=cols, name="uniqueness"),
        rotation=rotation, method=method, n=n,
    )


def _efa_extract(r: np.ndarray, n_factors: int, n: int, method: str) -> np.ndarray:
    """Unrotated loadings from statsmodels' Factor; its warnings re-issued as the package's.

    The ML extraction starts from EM iterations on random loadings, drawn from fresh entropy
    unless a generator is given (statsmodels >= 0.15: ``rng``): a fixed one makes the loadings
    the same on every call (they differed in the 7th decimal)."""
    from statsmodels.multivariate.factor import Factor

    fixed = {"rng": np.random.default_rng(0)} if (
        method == "ml" and "rng" in inspect.signature(Factor.fit).parameters) else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = Factor(endog=None, n_factor=n_factors, corr=r, method=method, nobs=n).fit(**fixed)
    # statsmodels' own warning classes would escape a filter on ConnectionWarning: re-issue them
    for w in caught:
        text = str(w.message)
        if "converge" in text.lower():
            warn(f"EFA with {n_factors} factor(s): the {method.upper()} extraction did not "
                 f"converge ({text}); the loadings are not trustworthy -- try fewer "
                 "factors or method='pa'", ConvergenceWarning)
        elif "uniqueness" in text.lower():
            warn(f"EFA with {n_factors} factor(s): {text} (a Heywood case: an item is "
                 "explained entirely by the factors) -- inspect communalities; try fewer "
                 "factors", HeywoodCaseWarning)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return np.asarray(fit.loadings, dtype=float)


def _efa_rotate(a: np.ndarray, n_factors: int, rotation: str) -> tuple[np.ndarray, np.ndarray]:
    """Rotated loadings and the factor correlations (identity unless oblique)."""
    phi = np.eye(n_factors)
    if n_factors > 1 and rotation == "oblimin":
        from statsmodels.multivariate.factor_rotation import rotate_factors

        a, t = rotate_factors(a, "oblimin", 0.0, "oblique")
        phi = t.T @ t
    elif n_factors > 1 and rotation == "varimax":
        a, _ = _varimax(a)
    elif n_factors > 1 and rotation == "promax":
        h = np.sqrt((a**2).sum(axis=1))  # Kaiser row normalisation first, as psych::fa does
        a, phi = _promax(a / h[:, None])
        a = a * h[:, None]
    return a, phi


def _varimax(a: np.ndarray, eps: float = 1e-5, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Kaiser-normalised varimax by the SVD algorithm of R's ``stats::varimax``."""
    p, k = a.shape
    h = np.sqrt((a**2).sum(axis=1))
    x = a / h[:, None]
    t = np.eye(k)
    d = 0.0
    for _ in range(max_iter):
        z = x @ t
        b = x.T @ (z**3 - z @ np.diag((z**2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        t = u @ vt
        d_old, d = d, s.sum()
        if d < d_old * (1 + eps):
            break
    return (x @ t) * h[:, None], t


def _promax(a: np.ndarray, m: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Promax (Hendrickson & White 1964) as R's ``stats::promax``; returns (pattern, Phi)."""
    lv, t = _varimax(a)
    q = lv * np.abs(lv) ** (m - 1)
    u = np.linalg.lstsq(lv, q, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    u = u @ np.diag(np.sqrt(d))
    pattern = lv @ u
    u_full = t @ u
    ui = np.linalg.inv(u_full)
    phi = ui @ ui.T
    return pattern, phi


# ----------------------------------------------------------------------------- Dask frames
def _dask_refuse(what: str, n_boot: int, weights: Any, ordered: Any) -> None:
    """What :func:`reliability` / :func:`htmt` do not support on a Dask frame, refused."""
    refusals = [
        (n_boot > 0, "n_boot", n_boot, "n_boot=0 (the bootstrap needs the rows in memory: "
         "data.compute(), or a sample of it)"),
        (ordered is not None and ordered is not False, "ordered", ordered,
         "ordered=None (polychoric correlations need the rows in memory: data.compute())"),
        (weights is not UNSET and weights is not None and not isinstance(weights, str),
         "weights", type(weights).__name__, "weights= as the name of a column of the frame"),
    ]
    for bad, name, value, expected in refusals:
        if bad:
            raise ArgumentError(f"{what}: {name}= is not available on a Dask frame yet",
                                values=[value], expected=expected)


def _dask_survey(data: Any, constructs: Any, weights: Any, recoded: Any, what: str):
    """``(frame, constructs, weights, label, instrument)`` of a Dask frame or a Survey whose data
    are one (``read_survey`` of a directory): the Survey's instrument (or the constructs it
    names) as ``{construct: [item columns]}`` (its data are already recoded), its weight
    column unless ``weights`` is given, and the weights' label as the pandas path words it."""
    if not _is_survey(data):
        return data, constructs, weights, None, None
    constructs = _survey_constructs(data, constructs, what)
    _check_recoded(recoded, True, True, what)
    instrument = constructs if isinstance(constructs, Instrument) else None
    if instrument is not None:
        constructs = instrument.as_dict()
    carried = _survey_weights(data)
    label = None
    if weights is UNSET:
        weights = None if carried is None else str(carried.name)
        label = None if carried is None else weights_label(UNSET, carried)
    return data.data, constructs, weights, label, instrument


def _dask_cmap(data: Any, constructs: Any, what: str) -> dict[str, list[str]]:
    """``{construct: [item columns]}`` of a Dask frame: a mapping (an Instrument's codebook
    is applied by :func:`connection.read_survey`, not here)."""
    if not isinstance(constructs, Mapping) or isinstance(constructs, Instrument):
        raise ArgumentError(f"{what} on a Dask frame takes the constructs as "
                            "{construct: [item columns]}", values=[type(constructs).__name__],
                            expected="a dict of item columns (apply an instrument's codebook "
                                     "first, e.g. with read_survey)")
    cmap = {str(k): [str(c) for c in v] for k, v in constructs.items()}
    missing = [c for cs in cmap.values() for c in cs if c not in data.columns]
    if missing:
        raise MissingColumnError(f"{what}: item column(s) not in the data: {missing[:10]}",
                                 column=missing[0], expected="every item of the constructs")
    return cmap


def _dask_moments(data: Any, cols: list[str], wcol: str | None, what: str):
    """Listwise moments of ``cols`` (weighted by the column ``wcol`` unless its weights on the
    complete rows are all equal), Kish's effective n, and the exclusions warned."""
    import dask

    from connection.stats._dask import sample_moments

    if wcol is not None:
        sub = data[list(dict.fromkeys([*cols, wcol]))].dropna()[wcol]
        lo, hi, total, total2 = dask.compute(sub.min(), sub.max(), sub.sum(), (sub ** 2).sum())
        if lo == hi:
            wcol = None
    m = sample_moments(data, items=cols, weights=wcol)
    dropped = m.excluded.get("listwise", 0)
    if dropped:
        warn(f"{what}: {dropped} of {m.rows[None]} rows have missing values on "
             f"{', '.join(cols)} and were left out (listwise)", ExclusionWarning)
    n = m.n.get(None, 0)
    n_eff = float(n) if wcol is None else float(total) ** 2 / float(total2)
    return m, wcol, n, n_eff


def _dask_variance(cov: np.ndarray, cols: list[str], construct: str) -> None:
    for j in np.flatnonzero(~(np.diag(cov) > 0)):
        raise NoVarianceError(f"item of construct {construct!r} has no variance",
                              column=cols[j], expected="responses that differ between "
                                                       "respondents",
                              hint="Drop the item or check its coding")


def _dask_pieces(data: Any, model: str, cols_by: dict[str, list[str]], latents: dict[str, str],
                 wcol: str | None) -> dict[str, dict[str, Any]]:
    """Omega/CR/AVE pieces of each construct from :func:`connection.cfa` on the Dask frame
    (weighted when ``wcol``); AVE over the fit's (weighted) sample variances."""
    from connection.latent import cfa

    items = list(dict.fromkeys(c for cs in cols_by.values() for c in cs))
    fit = cfa(model, data[list(dict.fromkeys([*items, *([wcol] if wcol else [])]))],
              weights=wcol)
    ov = list(fit.estimation.partable.ov_names)
    var = np.diag(fit.estimation.stats[0].cov)
    return {name: _factor_pieces(fit, latents[name], cs, var[[ov.index(c) for c in cs]])
            for name, cs in cols_by.items()}


def _reliability_dask(data: Any, constructs: Any, *, level: float, n_boot: int, joint: bool,
                      weights: Any, ordered: Any, label: str | None = None,
                      instrument: Any = None, recoded: bool | None = None) -> pd.DataFrame:
    """:func:`reliability` of a Dask frame: alpha, Feldt, item-rest signs from each
    construct's listwise (weighted) moments; omega, CR and AVE from :func:`connection.cfa` on
    the frame. Equal to the pandas path (to rounding)."""
    _dask_refuse("reliability", n_boot, weights, ordered)
    cmap = _dask_cmap(data, constructs, "reliability")
    wcol = None if weights is UNSET else weights
    latents = {name: _safe(name) for name in cmap}
    joint_pieces: dict[str, Any] = {}
    if joint:
        all_cols = list(dict.fromkeys(c for cs in cmap.values() for c in cs))
        m, wj, _, _ = _dask_moments(data, all_cols, wcol, "measurement model")
        for name, cs in cmap.items():
            _dask_variance(m.cov[None][np.ix_(*[[all_cols.index(c) for c in cs]] * 2)], cs, name)
        model = "\n".join(f"{latents[n]} =~ " + " + ".join(cs) for n, cs in cmap.items())
        joint_pieces = _dask_pieces(data, model, cmap, latents, wj)
    rows, n_eff = [], {}
    for name, cols in cmap.items():
        m, wc, n, n_eff[name] = _dask_moments(data, cols, wcol, f"reliability of {name!r}")
        if n < 3:
            raise ArgumentError(f"construct {name!r} has fewer than 3 complete rows", values=[n],
                                expected="at least 3 respondents with all items answered")
        cov = m.cov_unbiased[None]
        _dask_variance(cov, cols, name)
        notes: list[str] = []
        row: dict[str, Any] = {"construct": name, "n": n, "n_items": len(cols)}
        if len(cols) < 2:
            notes.append("alpha needs at least 2 items")
            row.update({"alpha": np.nan, "alpha_ci_lower": np.nan, "alpha_ci_upper": np.nan})
        else:
            one = np.ones(len(cols))
            rest = [cov[j] @ one - cov[j, j] for j in range(len(cols))]
            negative = [c for j, c in enumerate(cols) if rest[j] < 0]
            row.update(_alpha_from_parts(cov, n_eff[name], cols, negative, level, notes,
                                         instrument=instrument, recoded=recoded))
        if wc is not None:
            notes.append(f"weighted (Kish effective n {n_eff[name]:.1f}, used by the Feldt "
                         "interval); omega, CR and AVE from the weighted CFA (lavaan's "
                         "sampling.weights)")
        k = len(cols)
        pieces = (joint_pieces[name] if joint and k >= 2 else
                  _dask_pieces(data, f"{latents[name]} =~ " + " + ".join(cols), {name: cols},
                               latents, wc)[name] if not joint and k >= 3 else None)
        row.update(_omega_columns(pieces, joint, notes))
        row["note"] = "; ".join(notes)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs.update({"weights": None if wcol is None else label or weights_label(wcol),
                        "n_eff": n_eff})
    return table


def _htmt_dask(data: Any, constructs: Any, *, method: str, absolute: bool, n_boot: int,
               level: float, threshold: float, alternative: str, weights: Any,
               ordered: Any, label: str | None = None) -> pd.DataFrame:
    """:func:`htmt` of a Dask frame from the listwise (weighted) correlation matrix of all
    items (one partition-wise pass). Equal to the pandas path (to rounding)."""
    _dask_refuse("HTMT", n_boot, weights, ordered)
    cmap = _dask_cmap(data, constructs, "HTMT")
    if len(cmap) < 2:
        raise ArgumentError("HTMT needs at least two constructs", values=list(cmap))
    _check_disjoint(cmap, "HTMT")
    wcol = None if weights is UNSET else weights
    cols = list(dict.fromkeys(c for cs in cmap.values() for c in cs))
    m, wc, n, n_eff = _dask_moments(data, cols, wcol, "HTMT")
    cov = m.cov[None]
    names = list(cmap)
    blocks = [np.array([cols.index(c) for c in cmap[nm]]) for nm in names]
    for name, b in zip(names, blocks):
        _dask_variance(cov[np.ix_(b, b)], cmap[name], name)
    pairs = [(a, b) for a in range(len(names)) for b in range(a + 1, len(names))]
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    est = _htmt_from_corr(corr[None], blocks, pairs, method, absolute)[0]
    nan = np.full(len(pairs), np.nan)
    return _htmt_table(names, pairs, est, nan, nan.copy(), n, level, 0, threshold, alternative,
                       None if wcol is None else label or weights_label(wcol), n_eff)
