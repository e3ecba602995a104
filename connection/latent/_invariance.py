"""Measurement invariance across groups: the configural -> metric -> scalar -> strict ladder.

Each step adds equality constraints across groups (lavaan's ``group.equal``): ``metric`` equal
loadings, ``scalar`` also equal intercepts, ``strict`` also equal residual variances. A step
holds when fit does not get worse by more than Chen's (2007) cut-offs relative to the last step
that held; the chi-square difference test (for MLR the Satorra-Bentler 2001 scaled difference,
as lavaan's ``lavTestLRT``) is reported beside it. When a step fails, partial invariance can be
sought: the equality constraint with the largest score test (lavaan's ``lavTestScore``) is
released, one at a time, until the step holds (``partial="auto"``), and the freed parameters are
reported with their test statistics. Latent means are compared under the strongest level that
holds, provided it is at least (partial) scalar invariance.

Examples
--------
>>> import numpy as np, pandas as pd
>>> import connection as cx
>>> from connection.latent._invariance import invariance
>>> rng = np.random.default_rng(7)
>>> g = np.repeat(["a", "b"], 400)
>>> f = rng.normal(size=(800, 1)) + np.where(g == "b", 0.5, 0.0)[:, None]
>>> x = f @ np.array([[1.0, 0.8, 0.9, 0.7]]) + rng.normal(scale=0.6, size=(800, 4))
>>> df = pd.DataFrame(x, columns=["i1", "i2", "i3", "i4"]).assign(segment=g)
>>> inv = invariance("f =~ i1 + i2 + i3 + i4", df, group="segment")
>>> inv.table[["step", "holds"]].values.tolist()
[['configural', True], ['metric', True], ['scalar', True], ['strict', True]]
>>> inv.strongest
'strict'
>>> row = inv.latent_means.query("group == 'b'").iloc[0]
>>> bool(0.35 < row["mean"] < 0.65)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connection._common import check_choice, check_int, check_level, warn
from connection._flags import Flag, format_flags
from connection._report import Report, Reported
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
)
from connection.stats._dask import is_dask_frame
from connection.stats._weights import UNSET, weights_label

__all__ = ["invariance", "InvarianceResult", "LEVELS", "ORDINAL_LEVELS", "CHEN_2007"]

LEVELS = ("configural", "metric", "scalar", "strict")
_EQUAL = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
# ordinal indicators (``ordered=``, WLSMV): Wu & Estabrook's (2016) ladder as lavaan frees it:
# equal thresholds (the scales and latent means of the other groups free), + loadings, +
# intercepts (those of ordinal indicators are fixed at 0: the same model as the step before)
ORDINAL_LEVELS = ("configural", "thresholds", "metric", "scalar")
_EQUAL_ORDINAL = {
    "configural": (),
    "thresholds": ("thresholds",),
    "metric": ("thresholds", "loadings"),
    "scalar": ("thresholds", "loadings", "intercepts"),
}
_RELEASE_OP = {"metric": "=~", "scalar": "~1", "strict": "~~"}

# Chen (2007), N > 300 per group: non-invariance when CFI drops by .010 or more, supplemented by
# an RMSEA increase of .015 or more or an SRMR increase of .030 (loadings) / .010 (intercepts,
# residuals). The small-sample variant (N <= 300, unequal groups) uses .005, .010 and .025/.005.
CHEN_2007 = {
    "standard": {"cfi": -0.010, "rmsea": 0.015, "srmr": {"metric": 0.030, "scalar": 0.010,
                                                         "strict": 0.010}},
    "small": {"cfi": -0.005, "rmsea": 0.010, "srmr": {"metric": 0.025, "scalar": 0.005,
                                                      "strict": 0.005}},
}


# ----------------------------------------------------------------------------- groups and checks


def _group_columns(data, group: str | Sequence[str]) -> list:
    """The group column(s), checked to be columns of the data."""
    cols = [group] if isinstance(group, str) else list(group)
    if not cols:
        raise ArgumentError("group must name at least one column", values=[group])
    for c in cols:
        if c not in data.columns:
            raise MissingColumnError("group column is not in the data", column=str(c),
                                     expected="a column of the data frame")
    return cols


def _group_name(cols: list) -> str:
    return cols[0] if len(cols) == 1 else " x ".join(cols)


def _joined(frame: pd.DataFrame, cols: list) -> pd.Series:
    """The group of each row: the column, or the columns' values joined by ``" / "``."""
    if len(cols) == 1:
        return frame[cols[0]]
    combined = frame[cols[0]].astype(str)
    for c in cols[1:]:
        combined = combined + " / " + frame[c].astype(str)
    return combined


def _warn_group_missing(cols: list, count: int, rows: list[int]) -> None:
    """The rows without a group (1-based positions, the first ten) left out, warned once."""
    warn(f"invariance: {count} rows have no value for {' x '.join(cols)} and were "
         f"left out (rows {', '.join(map(str, rows[:10]))}"
         f"{', ...' if count > 10 else ''})", ExclusionWarning)


def _group_labels(data: pd.DataFrame, group: str | Sequence[str]) -> tuple[pd.DataFrame, str, list]:
    """Data with one group column (combined from several when needed), its name and its labels."""
    cols = _group_columns(data, group)
    missing = data[cols].isna().any(axis=1)
    if missing.any():
        rows = [int(i) + 1 for i in np.flatnonzero(missing.to_numpy())]
        _warn_group_missing(cols, len(rows), rows)
        data = data.loc[~missing]
    name = _group_name(cols)
    if len(cols) > 1:
        data = data.assign(**{name: _joined(data, cols).to_numpy()})
    return data, name, list(pd.unique(data[name]))


def _item_summary(x: np.ndarray) -> dict:
    """What the group checks need of one group's item values ``x`` (rows x items, NaN
    missing): rows, complete rows, per item the answers, the smallest and the largest."""
    with np.errstate(invalid="ignore"):
        return {"rows": len(x), "complete": int((~np.isnan(x).any(axis=1)).sum()),
                "count": (~np.isnan(x)).sum(axis=0), "min": np.fmin.reduce(x, axis=0),
                "max": np.fmax.reduce(x, axis=0)}


def _merge_summary(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    return {"rows": a["rows"] + b["rows"], "complete": a["complete"] + b["complete"],
            "count": a["count"] + b["count"], "min": np.fmin(a["min"], b["min"]),
            "max": np.fmax(a["max"], b["max"])}


def _numeric(frame: pd.DataFrame, items: list[str]) -> np.ndarray:
    return np.column_stack([pd.to_numeric(frame[it], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan) for it in items]) if len(frame) else np.zeros(
        (0, len(items)))


def _summaries(labels: pd.Series, x: np.ndarray) -> dict:
    """``{label: _item_summary}`` of the rows of each group."""
    codes, levels = pd.factorize(labels, sort=False)
    return {lab: _item_summary(x[codes == k]) for k, lab in enumerate(levels)}


def _check_groups(gcol: str, labels: list, items: list[str], npar: int, missing: str,
                  summary: dict) -> None:
    """Every group checked from its :func:`_item_summary` (the same numbers from a pandas or
    a Dask frame)."""
    if len(labels) < 2:
        raise GroupError("invariance needs at least two groups", column=gcol, values=labels,
                         expected="two or more distinct group values")
    for lab in labels:
        s = summary[lab]
        for j, item in enumerate(items):
            if s["count"][j] == 0:
                raise GroupError(f"item {item!r} is entirely missing in group {lab!r}",
                                 column=item, values=[lab],
                                 expected="at least some answers to every item in every group",
                                 hint="Drop the item from the model or merge the group with another")
            if s["min"][j] == s["max"][j]:
                raise GroupError(f"item {item!r} is constant in group {lab!r}", column=item,
                                 values=[lab, s["min"][j]],
                                 expected="responses that vary within every group",
                                 hint="A constant item has no variance to model in that group; drop "
                                      "it or merge the group with another")
        n_used = s["complete"] if missing == "listwise" else s["rows"]
        if n_used < npar:
            raise GroupError(f"group {lab!r} has {n_used} usable cases but the configural model "
                             f"estimates {npar} free parameters per group", column=gcol,
                             values=[lab], expected=f"at least {npar} cases per group",
                             hint="Merge small groups, or use a smaller model")


# ----------------------------------------------------------------------------- Dask frames


def _partition_checks(part: pd.DataFrame, cols: list, items: list[str]) -> dict:
    """One partition's share of the checks: its rows, those without a group (positions, the
    first ten), the groups in order of appearance (of every row, and of the complete rows)
    and each group's :func:`_item_summary`."""
    gmiss = part[cols].isna().any(axis=1).to_numpy()
    keep = part.loc[~gmiss]
    labels = _joined(keep, cols)
    x = _numeric(keep, items)
    complete = ~np.isnan(x).any(axis=1)
    return {"rows": len(part), "gmiss": int(gmiss.sum()), "gmiss_at": np.flatnonzero(gmiss)[:10],
            "labels": list(pd.unique(labels)),
            "labels_complete": list(pd.unique(labels[complete])),
            "groups": _summaries(labels, x)}


def _dask_rows(part: pd.DataFrame, cols: list, name: str, items: list[str],
               listwise: bool) -> pd.DataFrame:
    """The rows the fits use (a group; listwise: every item) with the group column."""
    keep = part[cols].notna().all(axis=1)
    if listwise:
        keep &= part[items].notna().all(axis=1)
    out = part.loc[keep]
    if len(cols) > 1:
        out = out.assign(**{name: _joined(out, cols).to_numpy()})
    return out


def _prepare_dask(data, group, items: list[str], npar: int, missing: str):
    """:func:`_prepare_data` for a Dask frame: one partition-wise pass gives the groups, the
    rows left out and every group's checks (small per-group aggregates, no rows computed);
    the rows the fits use are a lazy selection of the frame. ``(data, group column, labels,
    cases per group, labels of the fitted rows)``."""
    import dask  # noqa: PLC0415 - optional: only with a Dask frame

    cols = _group_columns(data, group)
    name = _group_name(cols)
    parts = dask.compute(*[dask.delayed(_partition_checks)(p, cols, items)
                           for p in data.to_delayed()])
    offset, gmiss_rows, found, found_complete, summary = 0, [], [], [], {}
    for part in parts:
        gmiss_rows += [offset + int(i) + 1 for i in part["gmiss_at"]]
        offset += part["rows"]
        found += part["labels"]
        found_complete += part["labels_complete"]
        for lab, s in part["groups"].items():
            summary[lab] = _merge_summary(summary.get(lab), s)
    gmiss = sum(p["gmiss"] for p in parts)
    if gmiss:
        _warn_group_missing(cols, gmiss, gmiss_rows)
    labels = list(pd.unique(np.asarray(found, dtype=object))) if found else []
    _check_groups(name, labels, items, npar, missing, summary)
    listwise = missing == "listwise"
    rows = sum(s["rows"] for s in summary.values())
    incomplete = rows - sum(s["complete"] for s in summary.values())
    if listwise and incomplete:
        warn(f"invariance: {incomplete} of {rows} rows have a missing value in a model "
             "variable and were left out (listwise); consider missing='ml' (FIML)",
             ExclusionWarning)
    if gmiss or len(cols) > 1 or (listwise and incomplete):
        meta = _dask_rows(data._meta, cols, name, items, listwise)
        data = data.map_partitions(_dask_rows, cols, name, items, listwise, meta=meta)
    counts = {lab: s["complete" if listwise else "rows"] for lab, s in summary.items()}
    fitted = (list(pd.unique(np.asarray(found_complete, dtype=object))) if listwise
              else labels)
    return data, name, labels, counts, fitted


# ----------------------------------------------------------------------------- engine adapters


def _fit(model: str, data: pd.DataFrame, gcol: str, estimator: str, missing: str,
         level: str, partial: list[str], ordered=None, weights=None):
    from connection.latent.fit import cfa

    if ordered is not None:
        return cfa(model, data, group=gcol, estimator=estimator, missing=missing,
                   group_equal=_EQUAL_ORDINAL[level], group_partial=tuple(partial),
                   ordered=ordered, weights=weights)
    return cfa(model, data, group=gcol, estimator=estimator, missing=missing,
               group_equal=_EQUAL[level], group_partial=tuple(partial), weights=weights)


# the column the ladder keeps the resolved sampling weights in (so that the rows it leaves out
# take their weights with them)
_WEIGHTS_COLUMN = "_connection_sampling_weights_"


def _stats_shared(data, gcol: str, labels: list | None):
    """A Dask frame: every fit of the ladder from one computation of the per-group moments
    (and the groups known from the checks' pass); a pandas frame: nothing to share."""
    import contextlib  # noqa: PLC0415

    from connection.latent.fit import dask_stats_cache  # noqa: PLC0415

    if not is_dask_frame(data):
        return contextlib.nullcontext()
    return dask_stats_cache(labels={(data._name, gcol): labels})


def _dask_weights(model, data, weights):
    """:func:`_with_weights` for a Dask frame: the weights a column of it (as cfa() on a Dask
    frame), a Survey's weights its weight column."""
    from connection.latent.fit import resolve_survey, survey_weights  # noqa: PLC0415

    carried = survey_weights(model, data)
    model, data = resolve_survey(model, data, "invariance")
    given = weights
    if weights is UNSET:
        weights = None if carried is None else getattr(carried, "name", None)
    if weights is None:
        return model, data, None, None
    if not isinstance(weights, str):
        raise ArgumentError("weights= is not available on a Dask frame as values",
                            values=[type(weights).__name__],
                            expected="weights= as the name of a column of the Dask frame")
    if weights not in data.columns:
        raise MissingColumnError("weights names a column that is not in the data",
                                 column=weights, expected="a column of survey weights")
    return model, data, weights, weights_label(given, carried)


def _with_weights(model, data, weights):
    """``(model, data, weights column or None, label)``: a Survey replaced by its data, and
    the weights (a column, values, or the Survey's: see :func:`connection.latent.cfa`) checked
    and kept in a column of the data."""
    from connection.latent.fit import resolve_fit_weights, survey_parts

    frame = survey_parts(model)[1] if survey_parts(model) is not None else (
        survey_parts(data)[1] if survey_parts(data) is not None else data)
    if is_dask_frame(frame):
        return _dask_weights(model, data, weights)

    model, data, values, label = resolve_fit_weights(model, data, weights, where="invariance")
    if values is None:
        return model, data, None, None
    return model, data.assign(**{_WEIGHTS_COLUMN: values}), _WEIGHTS_COLUMN, label


def _measures(fit: Any, estimator: str) -> dict[str, float]:
    fm = fit.fit_measures
    if estimator.upper() in ("WLSMV", "ULSMV"):
        return _shifted_measures(fm)
    robust = estimator.upper() == "MLR"

    def get(name: str, alt: str | None = None) -> float:
        if robust and alt is not None and alt in fm.index:
            return float(fm[alt])
        return float(fm[name]) if name in fm.index else np.nan

    return {
        "npar": get("npar"),
        "chisq": get("chisq", "chisq_scaled"),
        "df": get("df"),
        "pvalue": get("pvalue", "pvalue_scaled"),
        "cfi": get("cfi", "cfi_robust"),
        "tli": get("tli", "tli_robust"),
        "rmsea": get("rmsea", "rmsea_robust"),
        "srmr": get("srmr"),
        "chisq_ml": get("chisq"),
        "scaling_factor": get("chisq_scaling_factor") if robust else np.nan,
    }


def _shifted_measures(fm) -> dict[str, float]:
    """WLSMV/ULSMV: the scaled-shifted chi-square and lavaan's ``*_scaled`` CFI/TLI/RMSEA
    (the ``*_robust`` ones are NA in lavaan once thresholds are held equal)."""
    def get(name: str) -> float:
        return float(fm[name]) if name in fm.index else np.nan

    return {"npar": get("npar"), "chisq": get("chisq_scaled"), "df": get("df"),
            "pvalue": get("pvalue_scaled"), "cfi": get("cfi_scaled"), "tli": get("tli_scaled"),
            "rmsea": get("rmsea_scaled"), "srmr": get("srmr"), "chisq_ml": get("chisq"),
            "scaling_factor": get("chisq_scaling_factor")}


def _difference(fit0: Any, fit1: Any) -> tuple[float, float, float]:
    """Chi-square difference of nested fits (``fit1`` more constrained) by the engine's
    :func:`connection.latent.lrt` (Satorra-Bentler 2001 scaled for MLR, Satorra 2000
    scaled-shifted for WLSMV/ULSMV, as ``lavTestLRT``)."""
    from connection.latent.model_tests import lrt

    row = lrt(fit0, fit1, names=["base", "step"]).set_index("model").loc["step"]
    return float(row["chisq_diff"]), float(row["df_diff"]), float(row["pvalue"])


def _score_tests(fit: Any, op: str, exclude: set[str]) -> pd.DataFrame:
    """Score tests (``lavTestScore``) of the cross-group equality constraints on parameters
    ``op``, one row per parameter (its largest statistic over groups), best first.

    Returns ``parameter`` ('lhs op rhs' as group_partial takes it), ``x2``, ``df``, ``pvalue``,
    ``group`` (whose copy the statistic releases).
    """
    tab = fit.score_test()
    cols = ["parameter", "x2", "df", "pvalue", "group"]
    if tab.empty:
        return pd.DataFrame(columns=cols)
    tab = tab[tab["op"] == op].copy()
    if op == "~~":  # residual variances only
        tab = tab[tab["lhs"] == tab["rhs"]]
    tab["parameter"] = [f"{r.lhs} {r.op} {r.rhs}".strip() for r in tab.itertuples()]
    tab = tab[~tab["parameter"].isin(exclude)]
    tab = tab.sort_values("x2", ascending=False, kind="stable")
    return tab.drop_duplicates("parameter")[cols].reset_index(drop=True)

# ----------------------------------------------------------------------------- the result


def _partial_label(level: str) -> str:
    """The table's label of a step's partial model: ``"scalar (partial)"``."""
    return f"{level} (partial)"


@dataclass(frozen=True, repr=False)
class InvarianceResult(Reported):
    """The invariance ladder and what follows from it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model fitted: ``step`` (the row's label), ``level`` (its invariance level),
        ``npar, chisq, df, pvalue, cfi, tli, rmsea, srmr`` (for MLR the scaled chi-square and
        robust CFI/TLI/RMSEA; ``chisq_ml`` and ``scaling_factor`` keep the uncorrected values),
        ``compared_with`` (the row it is compared with), ``delta_chisq, delta_df, p_delta``
        (scaled for MLR, as ``lavTestLRT``), ``delta_cfi, delta_rmsea, delta_srmr``, the Chen
        (2007) cut-offs ``cutoff_cfi, cutoff_rmsea, cutoff_srmr``, ``holds``, ``partial`` (the
        parameters freed in this row's model by the search for partial invariance), ``verdict``
        (in words), ``flags`` (the admissibility flags of the row's fit and of the fit it is
        compared with, each naming its step; ``""`` when both are admissible or the step was
        not tested). A step is always shown with all its constraints (``"scalar"``); when it
        fails and ``partial="auto"`` frees constraints, the partial model follows it in a row of
        its own (``"scalar (partial)"``, with the freed parameters in ``partial``), and the
        next step builds on (and is compared with) the partial model when that holds.
    fits : dict
        Row label (``step``) -> fitted :class:`~connection.latent.Fit`.
    partial : pandas.DataFrame
        Freed parameters: ``step, parameter, x2, df, pvalue, reason, flags`` (``step``: the level
        whose constraint was released; ``flags``: those of the fit whose score tests chose it,
        the full step's for the first, the partial model's for the next ones).
    latent_means : pandas.DataFrame
        Per group and factor under the strongest level that holds (at least scalar):
        ``group, factor, mean, se, z, pvalue, ci_lower, ci_upper, variance, std_lv, d``; the first
        group is the reference (means fixed at 0); ``std_lv`` is lavaan's (mean / the group's
        latent SD) and ``d`` the difference from the reference over the pooled latent SD,
        ``flags`` (those of the fit the means come from). Empty when scalar invariance does not
        hold (latent means are then not comparable).
    strongest : str
        The strongest level that holds (``"configural"`` when none beyond it does), fully or
        partially; :attr:`strongest_step` says which row (``"scalar (partial)"``).
    group, groups, estimator, criterion : str, list, str, str
    notes : list of str
    flags : tuple of connection._flags.Flag
        The admissibility flags of every fit of the ladder (:attr:`Fit.flags
        <connection.latent.Fit.flags>`), each message prefixed by its step (``"heywood: scalar
        step: negative variance estimate ..."``); empty when every fit is admissible.
        ``strongest`` rests on all of them.
    strongest_step : str
        The row of :attr:`table` that :attr:`strongest` rests on.
    """

    table: pd.DataFrame
    fits: dict
    partial: pd.DataFrame
    latent_means: pd.DataFrame
    strongest: str
    group: str
    groups: list
    estimator: str
    criterion: str
    notes: list = field(default_factory=list)
    flags: tuple = ()
    strongest_step: str = ""

    @property
    def admissible(self) -> bool:
        """True when no fit of the ladder has an admissibility flag."""
        return not self.flags

    @property
    def ladder(self) -> pd.DataFrame:
        """One row per level, the model the ladder went on with: the partial model where
        constraints were freed (its ``step`` relabelled with the level), else the step itself.
        The layout of ``table`` before the failed full steps were shown (compatibility)."""
        tab = self.table
        partial_levels = set(tab.loc[tab["step"] != tab["level"], "level"])
        keep = (tab["step"] != tab["level"]) | ~tab["level"].isin(partial_levels)
        return tab[keep].assign(step=tab.loc[keep, "level"]).reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The main table: :attr:`table`."""
        return self.table.copy()

    def loadings(self, step: str = "configural", standardized: bool = True) -> pd.DataFrame:
        """Tidy factor loadings of one step's fit, per group (for :func:`plots.measurement.loadings_by_group`).

        ``step`` is a row label of :attr:`table` (``"scalar"``, ``"scalar (partial)"``).
        Columns ``step, group, factor, item, loading`` (``std_all`` when ``standardized``, else the
        unstandardized estimate) and ``est, se, ci_lower, ci_upper`` (unstandardized).
        """
        if step not in self.fits:
            raise ArgumentError("no fit for this step", values=[step], expected=", ".join(self.fits))
        est = self.fits[step].estimates
        ld = est[est["op"] == "=~"]
        return pd.DataFrame({
            "step": step, "group": ld["group"].to_numpy(), "factor": ld["lhs"].to_numpy(),
            "item": ld["rhs"].to_numpy(),
            "loading": (ld["std_all"] if standardized else ld["est"]).to_numpy(dtype=float),
            "est": ld["est"].to_numpy(dtype=float), "se": ld["se"].to_numpy(dtype=float),
            "ci_lower": ld["ci_lower"].to_numpy(dtype=float),
            "ci_upper": ld["ci_upper"].to_numpy(dtype=float),
        })

    def summary(self) -> Report:
        """The ladder as a :class:`connection._report.Report`: groups, estimator, criterion and
        the strongest level in the header, the flags first, then the ladder (every fitted row,
        ``holds`` as yes / no / not tested), the verdicts, the freed parameters and the latent
        means; notes last."""
        strongest = self.strongest + (" (partial)" if self.strongest_step != self.strongest
                                      and self.strongest_step else "")
        report = Report(f"Measurement invariance across {self.group}",
                        header=[("Groups", ", ".join(map(str, self.groups))),
                                ("Estimator", self.estimator), ("Criterion", self.criterion),
                                ("Strongest level that holds", strongest)],
                        flags=self.flags, notes=list(self.notes))
        cols = ["step", "chisq", "df", "cfi", "rmsea", "srmr", "delta_chisq", "delta_df",
                "p_delta", "delta_cfi", "delta_rmsea", "delta_srmr", "holds", "partial"]
        tab = self.table[cols].copy()
        tab["holds"] = [("yes" if v else "no") if not pd.isna(v) else "not tested"
                        for v in self.table["holds"]]
        report.add_table(tab, "Ladder")
        report.add_table(self.table[["step", "verdict"]], "Verdicts")
        if len(self.partial):
            report.add_table(self.partial.drop(columns=["flags"]), "Freed parameters")
        if len(self.latent_means):
            report.add_table(self.latent_means[["group", "factor", "mean", "se", "pvalue",
                                                "ci_lower", "ci_upper", "d"]],
                             f"Latent means ({self.strongest_step or self.strongest} model)")
        return report

    def to_latex(self) -> str:
        """The summary as LaTeX: the same as ``summary().as_latex()``."""
        return self.summary().as_latex()


# ----------------------------------------------------------------------------- the ladder


def _verdict(step: str, d: dict, cut: dict, holds: bool, p_delta: float, freed: list[str]) -> str:
    what = {"metric": "equal loadings", "scalar": "equal intercepts",
            "strict": "equal residual variances", "thresholds": "equal thresholds"}[step]
    text = (f"delta CFI = {d['delta_cfi']:+.3f} (cut-off {cut['cfi']:+.3f}), delta RMSEA = "
            f"{d['delta_rmsea']:+.3f} ({cut['rmsea']:+.3f}), delta SRMR = {d['delta_srmr']:+.3f} "
            f"({cut['srmr']:+.3f}); chi-square difference p = {p_delta:.3g}")
    part = f" after freeing {', '.join(freed)}" if freed else ""
    if holds:
        kind = "partial " if freed else ""
        return f"{kind}{step} invariance ({what}) holds{part}: {text}"
    return f"{step} invariance ({what}) does not hold{part}: {text}"


def _holds(d: dict, cut: dict, p_delta: float, criterion: str, alpha: float) -> bool:
    fit_ok = d["delta_cfi"] >= cut["cfi"] and (d["delta_rmsea"] <= cut["rmsea"]
                                                or d["delta_srmr"] <= cut["srmr"])
    chisq_ok = not (p_delta < alpha)
    if criterion == "chen2007":
        return bool(fit_ok)
    if criterion == "chisq":
        return bool(chisq_ok)
    return bool(fit_ok and chisq_ok)


def _check_arguments(estimator: str, levels: Sequence[str], criterion: str,
                     cutoffs: str, ordered=None) -> list[str]:
    """The ladder's options checked (typed errors naming the value); the levels as a list."""
    if ordered is None:
        check_choice(str(estimator).upper(), "estimator", ("ML", "MLR"))
    else:
        check_choice(str(estimator).upper(), "estimator", ("WLSMV", "ULSMV"))
    allowed = LEVELS if ordered is None else ORDINAL_LEVELS
    levels = list(levels)
    bad = [lv for lv in levels if lv not in allowed]
    if bad or not levels or len(set(levels)) != len(levels):
        raise ArgumentError("unknown or repeated invariance level", values=bad or levels,
                            expected=", ".join(allowed) + ", each once, in increasing "
                                                          "strictness")
    if [allowed.index(lv) for lv in levels] != sorted(allowed.index(lv) for lv in levels):
        raise ArgumentError("levels must go from weaker to stronger", values=levels,
                            expected="an ordered subset of " + ", ".join(allowed))
    check_choice(criterion, "criterion", ("chen2007", "chisq", "both"))
    check_choice(cutoffs, "cutoffs", tuple(CHEN_2007))
    return levels


def _check_search(alpha: float, max_free: int | None) -> None:
    """The size of the tests (strictly between 0 and 1) and the most parameters freed."""
    check_level(alpha, "alpha")
    if max_free is not None:
        check_int(max_free, "max_free", minimum=1)


def _prepare_data(model: str, data, group, missing: str, *, ordinal: bool = False):
    """The one-group table of the model, and the data with one group column, checked:
    ``(pt1, items, data, group column, labels, cases per group, labels of the fitted rows)``.
    Rows incomplete on the items are left out here under listwise deletion, and rows with no
    item observed under pairwise deletion, with one warning (rather than one from every fit).
    A Dask frame stays one: see :func:`_prepare_dask`."""
    from connection.latent.partable import build_table

    dask_frame = is_dask_frame(data)
    if not isinstance(data, pd.DataFrame) and not dask_frame:
        raise ArgumentError("data must be a pandas or Dask DataFrame or a Survey",
                            values=[type(data).__name__],
                            expected="a DataFrame (pandas or Dask) or a Survey")
    if group is None:
        raise ArgumentError("invariance needs group=, the column whose values form the groups",
                            expected="group='segment' or group=['segment', 'category']")
    pt1 = build_table(model, ngroups=1, meanstructure=True)
    items = list(pt1.ov_names)
    for it in items:
        if it not in data.columns:
            raise MissingColumnError("model variable is not in the data", column=it,
                                     expected="a column of the data frame")
    if dask_frame:
        return (pt1, items, *_prepare_dask(data, group, items, pt1.npar, missing))
    data, gcol, labels = _group_labels(data, group)
    _check_groups(gcol, labels, items, pt1.npar, missing,
                  _summaries(data[gcol], _numeric(data, items)))
    if missing == "listwise":
        incomplete = data[items].isna().any(axis=1).to_numpy()
        if incomplete.any():
            warn(f"invariance: {int(incomplete.sum())} of {len(incomplete)} rows have a "
                 "missing value in a model variable and were left out (listwise); consider "
                 + ("missing='pairwise' (ordinal items)" if ordinal else "missing='ml' (FIML)"),
                 ExclusionWarning)
            data = data.loc[~incomplete]
    elif missing == "pairwise":
        empty = data[items].isna().all(axis=1).to_numpy()
        if empty.any():
            warn(f"invariance: {int(empty.sum())} of {len(empty)} rows have no model variable "
                 "observed and were left out (pairwise deletion, as lavaan)", ExclusionWarning)
            data = data.loc[~empty]
    return pt1, items, data, gcol, labels, data[gcol].value_counts(), None


class _Ladder:
    """The ladder's state while it is climbed: the fits and rows so far, the parameters freed,
    the row each next step is compared with."""

    def __init__(self, model, data, gcol, *, estimator, missing, partial, criterion, cutoffs,
                 alpha, max_free, stop, n_constraints, ordered=None, weights=None):
        self.model, self.data, self.gcol, self.ordered = model, data, gcol, ordered
        self.weights = weights
        self.estimator, self.missing = estimator, missing
        self.criterion, self.alpha, self.max_free, self.stop = criterion, alpha, max_free, stop
        self.cut_set = CHEN_2007[cutoffs]
        self.n_constraints = n_constraints
        self.user_partial = [] if partial in (None, "auto") else [str(p) for p in partial]
        # the score tests that choose constraints to free are not available for ordinal fits
        self.auto = partial == "auto" and ordered is None
        self.freed: list[str] = list(self.user_partial)  # carried on to the next steps
        self.fits: dict[str, Any] = {}
        self.meas: dict[str, dict] = {}
        self.rows: list[dict] = []
        self.freed_rows: list[dict] = []
        self.accepted: str | None = None  # the strongest level that holds, all weaker too
        self.accepted_step: str | None = None  # its row
        self.base: str | None = None  # the row the next step is compared with
        self.carried: dict[str, str] = {}  # level -> the row the ladder went on with
        self.stopped_at: str | None = None

    # ---------------------------------------------------------------- fitting
    def _fit(self, level: str):
        return _fit(self.model, self.data, self.gcol, self.estimator, self.missing, level,
                    self.freed, self.ordered, self.weights)

    def _record(self, label: str, fit) -> dict:
        self.fits[label] = fit
        self.meas[label] = m = _measures(fit, self.estimator)
        return m

    def _compare(self, level: str, label: str) -> tuple[dict, float, float, float, bool]:
        """Row ``label`` against the base row: the changes in fit, the chi-square difference
        and whether the step holds."""
        base, m = self.meas[self.base], self.meas[label]
        d = {"delta_cfi": m["cfi"] - base["cfi"], "delta_rmsea": m["rmsea"] - base["rmsea"],
             "delta_srmr": m["srmr"] - base["srmr"]}
        dchi, ddf, p = _difference(self.fits[self.base], self.fits[label])
        cut = self._cut(level)
        return d, dchi, ddf, p, _holds(d, cut, p, self.criterion, self.alpha)

    def _cut(self, level: str) -> dict:
        # equal thresholds are location constraints: the SRMR cut-off of intercepts
        srmr = self.cut_set["srmr"]["scalar" if level == "thresholds" else level]
        return {"cfi": self.cut_set["cfi"], "rmsea": self.cut_set["rmsea"], "srmr": srmr}

    def _row(self, label: str, level: str, m: dict, comparison, freed: list[str],
             verdict: str) -> dict:
        d, dchi, ddf, p, ok = comparison
        cut = self._cut(level)
        return {"step": label, "level": level, **m, "compared_with": self.base,
                "delta_chisq": dchi, "delta_df": ddf, "p_delta": p, **d,
                "cutoff_cfi": cut["cfi"], "cutoff_rmsea": cut["rmsea"],
                "cutoff_srmr": cut["srmr"], "holds": ok, "partial": ", ".join(freed),
                "verdict": verdict}

    # ---------------------------------------------------------------- the steps
    def climb(self, levels: list[str]) -> None:
        for level in levels:
            if self.stopped_at is not None and self.stop:
                self.rows.append({"step": level, "level": level, "holds": pd.NA, "partial": "",
                                  "verdict": f"{level} invariance not tested: "
                                             f"{self.stopped_at} did not hold"})
            elif self.base is None:
                self._baseline(level)
            else:
                self._step(level)

    def _baseline(self, level: str) -> None:
        m = self._record(level, self._fit(level))
        self.base = self.accepted = self.accepted_step = self.carried[level] = level
        self.rows.append({"step": level, "level": level, **m, "compared_with": "", "holds": True,
                          "partial": "",
                          "verdict": f"{level} model (baseline): chi-square = {m['chisq']:.3f}, "
                                     f"df = {m['df']:.0f}, CFI = {m['cfi']:.3f}, RMSEA = "
                                     f"{m['rmsea']:.3f}"})

    def _step(self, level: str) -> None:
        """The full step (every constraint of the level), then, if it fails and
        ``partial="auto"``, the partial model as a row of its own."""
        m = self._record(level, self._fit(level))
        full = self._compare(level, level)
        ok = full[4]
        step_freed = [] if ok or not self.auto else self._search(level)
        verdict = _verdict(level, full[0], self._cut(level), ok, full[3], [])
        if step_freed:
            verdict += "; partial invariance is sought in the next row"
        self.rows.append(self._row(level, level, m, full, [], verdict))
        holding = level if ok else None
        if step_freed:
            label = _partial_label(level)
            part = self._compare(level, label)
            ok = part[4]
            self.rows.append(self._row(label, level, self.meas[label], part, step_freed,
                                       _verdict(level, part[0], self._cut(level), ok, part[3],
                                                step_freed)))
            holding = label if ok else None
            if not ok:  # the freed constraints did not rescue the step: not carried on
                for f_ in step_freed:
                    self.freed.remove(f_)
        self._advance(level, holding)

    def _search(self, level: str) -> list[str]:
        """Free the constraint with the largest significant score test, one at a time, until
        the step holds (at most ``max_free``); the last partial fit is recorded under the
        step's partial label. Returns the freed parameters (empty when none qualified)."""
        limit = (self.max_free if self.max_free is not None
                 else max(1, self.n_constraints[level] // 2))
        label = _partial_label(level)
        step_freed: list[str] = []
        fit, source = self.fits[level], level  # the fit whose score tests choose
        while len(step_freed) < limit:
            cand = _score_tests(fit, _RELEASE_OP[level], set(self.freed))
            if cand.empty or not cand["pvalue"].iloc[0] < self.alpha:
                break
            best = cand.iloc[0]
            step_freed.append(best["parameter"])
            self.freed.append(best["parameter"])
            self.freed_rows.append({
                "step": level, "parameter": best["parameter"], "x2": best["x2"],
                "df": best["df"], "pvalue": best["pvalue"],
                "reason": f"largest score test of the {level} constraints (x2 = "
                          f"{best['x2']:.2f}, p = {best['pvalue']:.3g}, releasing group "
                          f"{best['group']!r} from the first)", "source": source})
            fit, source = self._fit(level), label
            self._record(label, fit)
            if self._compare(level, label)[4]:
                break
        return step_freed

    def _advance(self, level: str, holding: str | None) -> None:
        """The next step builds on the row that holds, else on the full step (whose
        constraints it carries on)."""
        self.base = self.carried[level] = holding or level
        if holding is not None and self.stopped_at is None:
            self.accepted, self.accepted_step = level, holding
        elif holding is None:
            self.stopped_at = self.stopped_at or level


_TABLE_COLUMNS = ["step", "level", "npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                  "srmr", "chisq_ml", "scaling_factor", "compared_with", "delta_chisq",
                  "delta_df", "p_delta", "delta_cfi", "delta_rmsea", "delta_srmr", "cutoff_cfi",
                  "cutoff_rmsea", "cutoff_srmr", "holds", "partial", "verdict", "flags"]


def _ladder_table(ladder: _Ladder, step_flags: dict, estimator: str) -> pd.DataFrame:
    """The rows as a frame, each with the flags of its fit and of the fit it is compared with."""
    for row in ladder.rows:
        compared = row.get("compared_with") or None
        row["flags"] = format_flags([*step_flags.get(compared, ()),
                                     *step_flags.get(row["step"], ())]
                                    if row["step"] in ladder.fits else ())
    table = pd.DataFrame(ladder.rows).reindex(columns=_TABLE_COLUMNS)
    table["holds"] = table["holds"].astype("boolean")
    if estimator.upper() == "ML":
        table = table.drop(columns=["chisq_ml", "scaling_factor"])
    return table


def _means_step(ladder: _Ladder, levels: list[str], latent_means_at: str | None,
                notes: list[str], order: tuple = LEVELS) -> tuple[str, str]:
    """``(level, row)`` whose fit gives the latent means: the strongest that holds, or the
    level asked for (with a note when it does not hold)."""
    strongest = ladder.accepted or levels[0]
    if latent_means_at is None:
        return strongest, ladder.accepted_step or strongest
    allowed = ("scalar", "strict") if order is LEVELS else ("metric", "scalar")
    if latent_means_at not in allowed or latent_means_at not in ladder.carried:
        raise ArgumentError(f"latent_means_at must be a fitted {' or '.join(allowed)} step",
                            values=[latent_means_at], expected=f"one of {sorted(ladder.carried)} "
                            f"that is {' or '.join(map(repr, allowed))}")
    if order.index(latent_means_at) > order.index(strongest):
        notes.append(f"latent means are reported under {latent_means_at} invariance as "
                     f"requested, although it does not hold (strongest: {strongest}); "
                     "interpret their differences with caution")
    return latent_means_at, ladder.carried[latent_means_at]


def _partial_table(ladder: _Ladder, step_flags: dict) -> pd.DataFrame:
    for r in ladder.freed_rows:  # the flags of the fit whose score tests chose the parameter
        r["flags"] = format_flags(step_flags.get(r.pop("source"), ()))
    tab = pd.DataFrame(ladder.freed_rows, columns=["step", "parameter", "x2", "df", "pvalue",
                                                   "reason", "flags"])
    for p_ in ladder.user_partial:
        tab.loc[len(tab)] = ["all", p_, np.nan, np.nan, np.nan, "given by the user", ""]
    return tab


def invariance(
    model,
    data=None,
    group: str | Sequence[str] | None = None,
    *,
    estimator: str | None = None,
    missing: str = "listwise",
    levels: Sequence[str] | None = None,
    partial: str | Sequence[str] | None = "auto",
    criterion: str = "chen2007",
    cutoffs: str = "standard",
    alpha: float = 0.05,
    max_free: int | None = None,
    latent_means_at: str | None = None,
    stop: bool = True,
    ordered=None,
    weights=UNSET,
) -> InvarianceResult:
    """Test measurement invariance across groups: configural, metric, scalar, strict (with
    ``ordered=``, ordinal items by WLSMV: configural, thresholds, + loadings, + intercepts).

    Parameters
    ----------
    model
        Measurement model in lavaan syntax (``"f =~ x1 + x2 + x3"``), or a
        :class:`connection.data.Survey`: its instrument's measurement model on its data.
    data
        One row per respondent, with the items and the group column(s); a Survey stands for
        its ``data``.
    group
        Group column, or several columns whose combinations form the groups (labels joined by
        ``" / "``, e.g. ``"social_moms / banking"``). Groups are ordered by first appearance; the
        first is the reference for latent means (as lavaan).
    estimator
        ``"ML"`` (default) or ``"MLR"`` (robust fit indices and the Satorra-Bentler 2001 scaled
        chi-square difference, as ``lavTestLRT``); with ``ordered=``, ``"WLSMV"`` (default) or
        ``"ULSMV"`` (the scaled-shifted chi-square, lavaan's ``*_scaled`` CFI/TLI/RMSEA in the
        table, and Satorra's 2000 scaled-shifted difference, as ``lavTestLRT``).
    missing
        ``"listwise"`` or ``"ml"`` (FIML), passed to :func:`connection.latent.cfa`.
    levels
        Steps to test, in order; the first is the baseline (normally ``"configural"``).
        Default: :data:`LEVELS`; with ``ordered=``, :data:`ORDINAL_LEVELS`: ``"configural"``,
        ``"thresholds"`` (equal thresholds; lavaan then frees the scales and latent means of
        the other groups), ``"metric"`` (+ equal loadings), ``"scalar"`` (+ equal intercepts:
        fixed at 0 for ordinal items, so the same model as ``"metric"``; Wu & Estabrook 2016).
    partial
        ``"auto"``: when a step fails, free the equality constraint with the largest score test,
        one at a time, while it is significant at ``alpha``, until the step holds (at most
        ``max_free`` per step; by default half of the step's constraints); the failed step and
        the partial model are both in the table (``"scalar"``, ``"scalar (partial)"``). A list
        of parameters (``"x3 ~1"``, ``"f =~ x2"``) frees those from the start (lavaan's
        ``group.partial``). ``None``: no partial invariance.
    criterion
        ``"chen2007"`` (default: change in CFI, supplemented by RMSEA or SRMR, Chen 2007),
        ``"chisq"`` (chi-square difference at ``alpha``) or ``"both"``.
    cutoffs
        ``"standard"`` (Chen's cut-offs for n > 300 per group) or ``"small"``.
    alpha
        Significance level of the chi-square difference (``criterion="chisq"``/``"both"``) and of
        the score tests that choose parameters to free.
    max_free
        Most parameters freed per step by ``partial="auto"``.
    latent_means_at
        Report latent means from this step's fit (``"scalar"`` or ``"strict"``) even if it does
        not hold; a note then says so. Default: the strongest level that holds.
    stop
        ``True`` (default): stop at the first step that does not hold (the stronger steps
        presuppose it); they appear as "not tested". ``False``: fit every step and compare each
        with the step before it, as ``lavTestLRT`` does.
    ordered
        ``True`` (every item ordinal) or the item names, as :func:`connection.latent.cfa`: the
        ordinal ladder by WLSMV (listwise). ``partial="auto"`` frees nothing there (the score
        tests are not available for ordinal fits; a note says so); a list of parameters
        (``"x3|t1"``, ``"f =~ x2"``) is freed from the start. Latent means are reported from
        the thresholds + loadings (``"metric"``) step on.
    weights
        Sampling weights, as :func:`connection.latent.cfa` (lavaan's ``sampling.weights``,
        normalised over all groups): a column, one weight per row, or None; default: a
        Survey's weights. Every step is then fitted by MLR (as lavaan, also when ``"ML"`` is
        asked) and compared by the scaled difference test and the robust indices.

    Returns
    -------
    InvarianceResult
        ``.table``, ``.fits``, ``.partial``, ``.latent_means``, ``.strongest``, ``summary()``.

    Raises
    ------
    GroupError
        A group with fewer usable cases than the configural model's free parameters per group,
        an item that is constant or entirely missing in a group, or fewer than two groups.
    """
    model, data, wcol, wlabel = _with_weights(model, data, weights)
    if ordered is False:
        ordered = None
    order = LEVELS if ordered is None else ORDINAL_LEVELS
    estimator = estimator or ("ML" if ordered is None else "WLSMV")
    if wcol is not None and str(estimator).upper() == "ML":
        estimator = "MLR"  # lavaan: sampling weights mean the sandwich and the scaled test
    levels = _check_arguments(estimator, order if levels is None else levels, criterion,
                              cutoffs, ordered)
    _check_search(alpha, max_free)
    if ordered is not None and is_dask_frame(data):
        raise ArgumentError(
            "ordered= is not available on a Dask frame (polychoric correlations need the "
            "rows in memory)", values=[ordered],
            expected="data.compute() (or a sample of it) as a pandas DataFrame for the "
                     "ordinal ladder, or ordered=None to treat the items as continuous")
    pt1, items, data, gcol, labels, counts, fitted = _prepare_data(model, data, group, missing,
                                                                   ordinal=ordered is not None)
    n_constraints = {
        "metric": int(((pt1.frame["op"] == "=~") & (pt1.frame["free"] > 0)).sum()),
        "scalar": int(((pt1.frame["op"] == "~1") & pt1.frame["lhs"].isin(items)).sum()),
        "strict": len(items),
    }
    ladder = _Ladder(model, data, gcol, estimator=estimator, missing=missing, partial=partial,
                     criterion=criterion, cutoffs=cutoffs, alpha=alpha, max_free=max_free,
                     stop=stop, n_constraints=n_constraints, ordered=ordered, weights=wcol)
    with _stats_shared(data, gcol, fitted):  # a Dask frame: its moments read once
        ladder.climb(levels)
    step_flags = {lv: _step_flags(lv, f) for lv, f in ladder.fits.items()}
    table = _ladder_table(ladder, step_flags, estimator)
    notes: list[str] = []
    means_level, means_step = _means_step(ladder, levels, latent_means_at, notes, order)
    means_from = "scalar" if ordered is None else "metric"
    latent = _latent_means(ladder.fits.get(means_step), means_level, pt1.lv_names, labels,
                           counts, comparable=order.index(means_level) >= order.index(means_from))
    latent["flags"] = format_flags(step_flags.get(means_step, ()))
    notes += _ladder_notes(latent, levels, partial, ordered)
    if wlabel is not None:
        notes.append(f"weighted by {wlabel} (lavaan's sampling.weights, normalised over all "
                     "groups): MLR fits, scaled difference tests and robust indices")
    all_flags = tuple(dict.fromkeys(f for lv in ladder.fits for f in step_flags[lv]))
    strongest = ladder.accepted or levels[0]
    return InvarianceResult(table=table, fits=ladder.fits,
                            partial=_partial_table(ladder, step_flags), latent_means=latent,
                            strongest=strongest, group=gcol, groups=labels,
                            estimator=estimator.upper(), criterion=criterion, notes=notes,
                            flags=all_flags, strongest_step=ladder.accepted_step or strongest)


def _ladder_notes(latent: pd.DataFrame, levels: list, partial, ordered) -> list[str]:
    """Notes on what the ladder could not report."""
    notes = []
    need = "scalar" if ordered is None else "metric"
    what = "scalar" if ordered is None else "threshold and loading"
    if latent.empty:
        notes.append(f"latent means are not comparable without (partial) {what} invariance, "
                     "which did not hold; none are reported" if need in levels else
                     f"latent means are not comparable without the {need} step; add it to "
                     "levels")
    if ordered is not None and partial == "auto":
        notes.append("partial='auto' frees nothing for ordinal items (score tests are not "
                     "available for WLSMV fits); give the parameters to free as a list")
    return notes


def _step_flags(step: str, fit: Any) -> tuple[Flag, ...]:
    """The fit's admissibility flags (``fit.flags``), each message prefixed by the step."""
    out = []
    for f in getattr(fit, "flags", ()) or ():
        if isinstance(f, Flag):
            out.append(Flag(f.code, f"{step} step: {f.message}", tuple(f.parameters)))
        elif str(f).strip():
            out.append(Flag("other", f"{step} step: {f}"))
    return tuple(out)


def _latent_means(fit: Any, level: str, lv_names: list[str], labels: list, n, *,
                  comparable: bool = True) -> pd.DataFrame:
    """The latent means per group (``n``: the cases of each group, for the pooled SD)."""
    cols = ["group", "factor", "mean", "se", "z", "pvalue", "ci_lower", "ci_upper", "variance",
            "std_lv", "d"]
    if fit is None or not comparable:
        return pd.DataFrame(columns=cols)
    est = fit.estimates
    gvals = list(pd.unique(est["group"]))
    to_label = {g: labels[i] if g not in labels else g for i, g in enumerate(gvals)}
    rows = []
    for lv in lv_names:
        means = est[(est["op"] == "~1") & (est["lhs"] == lv)]
        var = est[(est["op"] == "~~") & (est["lhs"] == lv) & (est["rhs"] == lv)]
        psi = {to_label[g]: float(v) for g, v in zip(var["group"], var["est"])}
        w = np.array([n.get(lab, 0) for lab in labels], dtype=float)
        pooled = float(np.sqrt(np.dot(w, [psi[lab] for lab in labels]) / w.sum()))
        ref_mean = None
        for r in means.itertuples():
            lab = to_label[r.group]
            mean = float(r.est)
            if ref_mean is None:
                ref_mean = mean
            rows.append({"group": lab, "factor": lv, "mean": mean, "se": float(r.se), "z": r.z,
                         "pvalue": r.pvalue, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper,
                         "variance": psi[lab], "std_lv": mean / np.sqrt(psi[lab]),
                         "d": (mean - ref_mean) / pooled})
    return pd.DataFrame(rows, columns=cols)
