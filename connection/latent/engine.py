"""The estimation step: ``estimate(model, data, options) -> Estimation``.

lavaan's named steps (``lav_lavaan_step*``) as this engine has them, in order:

1. options checked (estimator, missing-data rule);
2. sample statistics (:mod:`connection.latent.samplestats`; FIML: :mod:`connection.latent.missing`);
3. the parameter table and the model structure (:mod:`connection.latent.partable`, ``model``);
4. the discrepancy (likelihood) object, chosen once by :func:`discrepancy` from the kind
   (``"ml"`` complete data, ``"fiml"``; WLS/DWLS/ULS and weighted moments plug in as further
   kinds of :data:`DISCREPANCIES`);
5. starting values and the optimisation (Fisher scoring, with a stall criterion);
6. implied moments, information matrices and the covariance matrix of the estimates;
7. the admissibility checks (:mod:`connection.latent.checks`) into the record's flags.

The result is the frozen :class:`Estimation` record; :class:`connection.latent.fit.Fit` is the
read-only view over it (tables, fit measures, flags).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from scipy.linalg import lapack

from connection.errors import EstimationError, GroupError, ModelSpecificationError
from connection.latent.blas import BlasLimit, small_blas
from connection.latent.checks import run_checks
from connection.latent.estimate import DwlsProblem, Moments, Problem, fisher_scoring
from connection.latent.missing import FimlProblem, fiml_group_stats
from connection.latent.model import ModelStructure, second_order_term
from connection.latent.partable import ParameterTable, build_table, model_variables
from connection.latent.samplestats import (
    check_sample_cov,
    check_user_means,
    ordinal_stats,
    prepare_data,
    stats_from_rows,
    stats_from_user,
    user_means_missing,
    weighted_stats,
)
from connection.latent.start import simple_start, start_values

__all__ = ["Estimation", "estimate", "discrepancy", "DISCREPANCIES", "normalise_options"]


@dataclass(frozen=True, eq=False)
class Estimation:
    """One estimation, as a record of named slots (lavaan's object slots)."""

    model: Any                 # the model text (or statements) as given
    data: Any                  # the data frame as given (None with sample_stats)
    options: dict              # the normalised options (see normalise_options)
    partable: ParameterTable   # the full parameter table
    structure: ModelStructure  # the matrix representation (LISREL-style)
    group_labels: tuple        # group labels in order of appearance
    stats: tuple               # per group: GroupStats (complete data) or FimlStats (FIML)
    rows_used: Any             # index labels of the data rows used (None with sample_stats)
    kind: str                  # the discrepancy kind ("ml", "fiml")
    problem: Any               # the discrepancy object (objective, gradient, information)
    fixed: np.ndarray          # values of the fixed rows (fixed.x covariates at sample values)
    theta: np.ndarray          # the free parameters at the solution
    values: np.ndarray         # every row of the structure at the solution
    implied: tuple             # per group: the implied moments (sigma, mu and matrices)
    expected_info: Any         # expected information (None when no free parameters)
    observed_info: Any         # observed information (FIML, MLR), else None
    vcov: np.ndarray           # covariance matrix of theta (NaN when not identified)
    identified: bool           # the information matrix is non-singular
    converged: bool
    iterations: int
    message: str               # the optimiser's last word
    checks: tuple = ()         # admissibility: (warning class, message, Flag) per problem

    @property
    def flags(self) -> tuple:
        """The admissibility flags (:class:`connection._flags.Flag`); empty when admissible."""
        return tuple(flag for _, _, flag in self.checks)

    @property
    def ntotal(self) -> int:
        return int(round(sum(st.n for st in self.stats)))

    @property
    def n_moments(self) -> int:
        """Sample moments the model reproduces (variances, covariances and, with a mean
        structure, means; less the fixed.x block), over the groups: the ``df`` before the
        free parameters are subtracted."""
        p = self.structure.p
        if self.kind == "dwls":  # thresholds (means, variances) and polychoric correlations
            return int(sum(len(st.wls_obs) for st in self.stats))
        nx = len(self.partable.ov_x)
        per = p * (p + 1) // 2 - nx * (nx + 1) // 2
        if self.options["meanstructure"]:
            per += p - nx
        return per * len(self.group_labels)


# ---------------------------------------------------------------------------- discrepancies
def _ml(moments, stats, npar, meanstructure, **_):
    return Problem(moments, stats, npar, meanstructure)


def _fiml(moments, stats, npar, meanstructure, **_):
    return FimlProblem(moments, stats, npar)


def _dwls(moments, stats, npar, meanstructure, *, partable, **_):
    """DWLS/ULS on thresholds and polychoric correlations; the thresholds are the ``|`` rows
    of each group (in lavaan's ``wls.obs`` order: items in the model's order, t1, t2, ...),
    the scales the ``~*~`` rows (free in the other groups under equal thresholds)."""
    frame = partable.frame
    groups = frame["group"].to_numpy()
    ops = frame["op"].to_numpy()
    free = frame["free"].to_numpy() - 1
    ustart = frame["ustart"].to_numpy(dtype=float)
    per_group = [np.flatnonzero((ops == "|") & (groups == g + 1)) for g in range(len(stats))]
    tau = partial(_row_params, per_group, free, ustart)
    jacs = [_row_jacobian(free[rows], npar) for rows in per_group]
    ov_pos = {v: i for i, v in enumerate(partable.ov_names)}
    scale_rows = [np.flatnonzero((ops == "~*~") & (groups == g + 1)) for g in range(len(stats))]
    scale_pos = [np.array([ov_pos[v] for v in frame["lhs"].to_numpy()[rows]], dtype=int)
                 for rows in scale_rows]
    scales = None
    if any((free[rows] >= 0).any() for rows in scale_rows):
        p = len(partable.ov_names)

        def scales(theta):
            out = []
            for vals, pos in zip(_row_params(scale_rows, free, ustart, theta), scale_pos):
                s = np.ones(p)
                s[pos] = vals
                out.append(s)
            return out

        scale_jacs = []
        for rows, pos in zip(scale_rows, scale_pos):
            jac = np.zeros((p, npar))
            jac[pos] = _row_jacobian(free[rows], npar)
            scale_jacs.append(jac)
        scales = (scales, scale_jacs)
    theta_idx = None
    if partable.parameterization == "theta":
        theta_idx = np.array([ov_pos[v] for v in partable.ordered], dtype=int)
    return DwlsProblem(moments, stats, npar, meanstructure, tau, jacs, scales=scales,
                       theta_idx=theta_idx)


def _row_params(per_group, free, ustart, theta) -> list:
    """Per group the values of ``rows``: theta for free rows, the fixed value otherwise."""
    out = []
    for rows in per_group:
        fr = free[rows]
        out.append(np.where(fr >= 0, theta[np.maximum(fr, 0)], ustart[rows]))
    return out


def _row_jacobian(fr, npar) -> np.ndarray:
    """d values / d theta of rows whose free indices (0-based, -1 fixed) are ``fr``."""
    jac = np.zeros((len(fr), npar))
    jac[np.flatnonzero(fr >= 0), fr[fr >= 0]] = 1.0
    return jac


# kind -> factory(moments, stats, npar, meanstructure, partable=) -> an object with
# objective(theta), gradient_and_information(theta) (and, for ML/FIML, hessian(theta),
# score_crossprods(theta); for DWLS delta(theta), meat(theta))
DISCREPANCIES = {"ml": _ml, "fiml": _fiml, "dwls": _dwls}

# the estimators of ordinal indicators: (weights, robust standard errors and scaled test)
WLS_ESTIMATORS = {"WLSMV": ("dwls", True), "DWLS": ("dwls", False),
                  "ULSMV": ("uls", True), "ULS": ("uls", False)}


def discrepancy(kind: str, moments, stats, npar: int, meanstructure: bool, **context):
    """The discrepancy (likelihood) object of ``kind`` (a key of :data:`DISCREPANCIES`)."""
    try:
        factory = DISCREPANCIES[kind]
    except KeyError:
        raise ModelSpecificationError(f"unknown discrepancy kind {kind!r}",
                                      expected=" or ".join(map(repr, DISCREPANCIES))) from None
    return factory(moments, stats, npar, meanstructure, **context)


# ---------------------------------------------------------------------------- steps
def normalise_options(*, estimator, missing, ordered=None, parameterization="delta",
                      **rest) -> dict:
    """Step 1: the estimator and missing-data rule checked and spelled one way; ``ordered``
    (True, or item names) picks WLSMV by default (as lavaan) and needs one of the
    :data:`WLS_ESTIMATORS`, listwise or pairwise deletion (not FIML) and raw data."""
    if ordered is False or (ordered is not None and not isinstance(ordered, bool | str)
                            and not len(list(ordered))):
        ordered = None
    if isinstance(ordered, str):
        ordered = [ordered]
    elif ordered is not None and ordered is not True:
        ordered = list(ordered)
    weighted = rest.get("weights") is not None
    if estimator is None:
        estimator = "WLSMV" if ordered is not None else "ML"
    estimator = str(estimator).upper()
    if weighted and estimator == "ML":
        # lavaan: with sampling weights ML has robust (sandwich) standard errors and the
        # Yuan-Bentler scaled test whatever is asked: MLR
        estimator = "MLR"
    if estimator not in ("ML", "MLR", *WLS_ESTIMATORS):
        raise ModelSpecificationError(f"unknown estimator {estimator!r}",
                                      expected="'ML', 'MLR', 'WLSMV', 'DWLS', 'ULSMV' or 'ULS'")
    missing = {"listwise": "listwise", "ml": "ml", "fiml": "ml", "direct": "ml",
               "pairwise": "pairwise"}.get(str(missing).lower())
    if missing is None:
        raise ModelSpecificationError("unknown missing-data option",
                                      expected="'listwise', 'ml' (FIML) or, with ordered=, "
                                               "'pairwise'")
    if missing == "pairwise" and ordered is None:
        raise ModelSpecificationError(
            "missing='pairwise' is for ordinal indicators (ordered=)",
            expected="missing='ml' (FIML) or 'listwise' for continuous indicators",
            hint="use missing='ml' (full-information ML uses every observed value), or give "
                 "ordered= for ordinal items fitted by WLSMV")
    if (ordered is None) != (estimator not in WLS_ESTIMATORS):
        raise ModelSpecificationError(
            f"estimator {estimator!r} " + ("needs ordinal indicators" if ordered is None else
                                          "is not available for ordinal indicators"),
            expected="ordered= with 'WLSMV', 'DWLS', 'ULSMV' or 'ULS'; 'ML' or 'MLR' without",
            hint="give ordered=True (every indicator ordinal) with estimator='WLSMV', or "
                 "treat the items as continuous (no ordered=) with 'ML'/'MLR'")
    parameterization = str(parameterization).lower()
    if parameterization not in ("delta", "theta"):
        raise ModelSpecificationError(f"unknown parameterization {parameterization!r}",
                                      expected="'delta' (lavaan's default) or 'theta'")
    cond = rest.get("conditional_x")
    if cond is not None and not isinstance(cond, bool | np.bool_):
        raise ModelSpecificationError(f"conditional_x must be True, False or None; got {cond!r}",
                                      expected="None (lavaan's default), True or False")
    if cond and ordered is None:
        raise ModelSpecificationError(
            "conditional_x=True is only available with ordinal variables (ordered=)",
            hint="leave conditional_x out for continuous variables (lavaan's default there is "
                 "conditional.x = FALSE, what this engine does)")
    if ordered is not None:
        _check_ordinal_options(missing, rest)
    if weighted:
        _check_weighted_options(missing, ordered, rest)
    for key in ("group_equal", "group_partial"):  # spelled one way: a tuple of names
        if key in rest:
            value = rest[key]
            rest[key] = (value,) if isinstance(value, str) else tuple(value or ())
    return dict(rest, estimator=estimator, missing=missing, ordered=ordered,
                parameterization=parameterization)


def _check_ordinal_options(missing, rest) -> None:
    """Ordinal indicators: complete rows (listwise) or pairwise deletion, raw data."""
    if missing == "ml":
        raise ModelSpecificationError(
            "missing='ml' (FIML) is not available for ordinal indicators",
            expected="missing='pairwise' or 'listwise' with ordered=",
            hint="use missing='pairwise' (thresholds and polychoric correlations from the "
                 "values each item and pair has, as lavaan's WLSMV), or 'listwise' (lavaan's "
                 "default: complete rows only)")
    if rest.get("sample_stats") is not None:
        raise ModelSpecificationError(
            "ordinal indicators need the raw data, not sample_stats",
            hint="pass the data frame of item codes")


def _check_weighted_options(missing, ordered, rest) -> None:
    """Sampling weights: complete rows (listwise), continuous indicators, raw data."""
    if ordered is not None:
        raise ModelSpecificationError(
            "weights= is not available yet for ordinal indicators (ordered=)",
            hint="fit the items as continuous (no ordered=) with weights, or leave the "
                 "weights out (weights=None) for the ordinal fit")
    if missing != "listwise":
        raise ModelSpecificationError(
            "weights= is not available yet with missing='ml' (FIML)",
            hint="use missing='listwise' (the rows used are in fit.rows_used), or leave the "
                 "weights out (weights=None)")
    if rest.get("sample_stats") is not None:
        raise ModelSpecificationError(
            "weights= needs the raw data, not sample_stats",
            hint="pass the data frame (the weighted moments are computed from its rows)")


def _ordered_items(ordered, ov_names, statements) -> list:
    """The model's ordinal variables, in the model's order: every one but the exogenous
    covariates (``True``, as lavaan's) or the named ones, which must be model variables and
    not covariates (the others are continuous, as lavaan's)."""
    ov_x = set(build_table(statements, ngroups=1).ov_x)
    if ordered is True:
        return [v for v in ov_names if v not in ov_x]
    ordered = [ordered] if isinstance(ordered, str) else list(ordered)
    unknown = [str(v) for v in ordered if v not in ov_names]
    if unknown:
        raise ModelSpecificationError(
            "ordered names variables that are not in the model: " + ", ".join(unknown),
            expected="observed variables of the model: " + ", ".join(ov_names))
    exo = [str(v) for v in ov_names if v in set(ordered) and v in ov_x]
    if exo:
        raise ModelSpecificationError(
            "ordinal exogenous covariates are not supported: " + ", ".join(exo),
            hint="leave the covariate out of ordered= (it is then a continuous covariate, as "
                 "lavaan uses its codes given conditional.x)")
    if not ordered:
        raise ModelSpecificationError(
            "ordered names no variable", expected="True or a list of the model's ordinal "
                                                  "variables",
            hint="leave ordered= out to treat every variable as continuous")
    return [v for v in ov_names if v in set(ordered)]


def estimate(model, data, options: dict) -> Estimation:
    """Run the steps for ``model`` on ``data`` (a DataFrame, or None with
    ``options["sample_stats"]``) and return the :class:`Estimation` record.

    ``options``: group, estimator, missing, std_lv, group_equal, group_partial, meanstructure
    (None: lavaan's default), sample_stats, kind ("cfa"/"sem"), start, max_iter."""
    o = normalise_options(**options)
    group, estimator, missing = o["group"], o["estimator"], o["missing"]
    std_lv, group_equal, group_partial = o["std_lv"], o["group_equal"], o["group_partial"]
    meanstructure, sample_stats, kind = o["meanstructure"], o["sample_stats"], o["kind"]
    start, max_iter = o.get("start"), o.get("max_iter", 500)
    statements = model if isinstance(model, str) else list(model)
    # a first table (one group) gives the variable names needed to read the data
    if isinstance(statements, str):
        ov_names = model_variables(statements)[0]
    else:
        ov_names = build_table(statements, ngroups=1).ov_names
    if not ov_names:  # before any data are read (a p = 0 matrix upsets BLAS)
        build_table(statements, ngroups=1)  # the specification error that names the problem
    if o["ordered"] is not None:
        return _estimate_ordinal(model, data, statements, ov_names, o)
    if sample_stats is not None:
        if missing == "ml" or estimator == "MLR":
            raise ModelSpecificationError(
                "missing='ml' and estimator='MLR' need the raw data, not sample_stats")
        labels, gstats = stats_from_user(sample_stats, ov_names)
        for lab, st in zip(labels, gstats):
            check_sample_cov(st, lab if len(gstats) > 1 else None, "sample_stats", ov_names)
        rows_used = None
    else:
        weights = o.get("weights")
        if weights is not None and np.all(weights == weights[0]):
            weights = None  # equal weights: exactly the unweighted fit (and its fast path)
        labels, groups = prepare_data(data, ov_names, group, missing, weights=weights)
        gstats = []
        for lab, x, _idx, colsum, w in groups:
            if x.shape[0] < 2:
                raise GroupError(f"group {lab!r} has {x.shape[0]} usable row(s)",
                                 column=group, values=[lab], expected="at least 2 rows")
            if missing == "ml":
                gstats.append(None)
            else:
                st = (stats_from_rows(x, keep_data=True, colsum=colsum) if w is None
                      else weighted_stats(x, w))
                check_sample_cov(st, lab if group is not None else None, group, ov_names)
                gstats.append(st)
        rows_used = np.concatenate([g[2] for g in groups])
    ngroups = len(labels)
    if meanstructure is None:
        meanstructure = ngroups > 1 or missing == "ml"
        if sample_stats is not None and user_means_missing(sample_stats):
            # covariances only: a multi-group mean structure on absent means would put every
            # intercept at 0 (checked below when the model or group_equal asks for one)
            meanstructure = bool({"intercepts", "means"} & set(group_equal))
    if missing == "ml":
        meanstructure = True
    pt = build_table(statements, ngroups=ngroups, std_lv=std_lv, meanstructure=meanstructure,
                     group_equal=group_equal if ngroups > 1 else (),
                     group_partial=group_partial, auto_cov_y=True)
    meanstructure = pt.meanstructure  # an intercept in the model text switches it on
    if sample_stats is not None:
        check_user_means(sample_stats, labels, pt, group_equal)
    if missing == "ml":
        gstats = [fiml_group_stats(x, ov_names, label=lab if group is not None else None,
                                   group=group) for lab, x, *_ in groups]
    options = dict(group=group, estimator=estimator, missing=missing, std_lv=std_lv,
                   group_equal=group_equal, group_partial=group_partial,
                   meanstructure=meanstructure, sample_stats=sample_stats, kind=kind,
                   start=start, max_iter=max_iter, weights=o.get("weights"),
                   weights_label=o.get("weights_label"))
    disc_kind = "fiml" if missing == "ml" else "ml"
    return _estimate(model, data, pt, labels, gstats, rows_used, options, start, disc_kind)


def _estimate_ordinal(model, data, statements, ov_names, o) -> Estimation:
    """Steps 2-3 for ordinal indicators (lavaan's ``ordered=``): the complete rows of each
    group (``missing="pairwise"``: the rows with an observed value, each statistic from the
    values it needs; rows missing an exogenous covariate deleted, as lavaan's fixed.x), their
    thresholds, polychoric correlations and Gamma (block-diagonal over the
    groups), the table with the thresholds (and, with ``group_equal``, lavaan's freed scales
    and latent means in the other groups); then the common steps with the DWLS discrepancy."""
    items = _ordered_items(o["ordered"], ov_names, statements)
    conditional_x, covariates = _conditional_x(statements, o.get("conditional_x"), items)
    group, missing = o["group"], o["missing"]
    labels, groups = prepare_data(data, ov_names, group, missing, ordinal=True,
                                  required=covariates)
    weights = WLS_ESTIMATORS[o["estimator"]][0]
    gstats = []
    for lab, x, *_ in groups:
        if x.shape[0] < 2:
            raise GroupError(
                f"group {lab!r} has {x.shape[0]} usable row(s)" if group is not None
                else f"the data have {x.shape[0]} usable row(s)",
                column=group, values=[lab], expected="at least 2 rows")
        gstats.append(ordinal_stats(x, ov_names, weights=weights, ordinal=items,
                                    covariates=covariates, missing=missing))
    if group is not None:
        _check_group_categories(gstats, labels, items, group)
    cats = gstats[0].polychoric.categories
    nth = [(v, len(cats[v]) - 1) for v in items]
    ngroups = len(labels)
    group_equal, group_partial = o["group_equal"], o["group_partial"]
    has_x = conditional_x is False
    pt = build_table(statements, ngroups=ngroups, std_lv=o["std_lv"], meanstructure=True,
                     group_equal=group_equal if ngroups > 1 else (),
                     group_partial=group_partial, auto_cov_y=True, thresholds=nth,
                     fixed_x=not has_x, parameterization=o["parameterization"])
    if covariates:  # a copy: tables of model text are cached and shared
        pt = replace(pt, conditional_x=True, cache={})
    options = dict(group=group, estimator=o["estimator"], missing=missing,
                   std_lv=o["std_lv"], group_equal=group_equal, group_partial=group_partial,
                   meanstructure=True, sample_stats=None, kind=o["kind"], start=o.get("start"),
                   max_iter=o.get("max_iter", 500), ordered=tuple(items),
                   parameterization=o["parameterization"], conditional_x=conditional_x)
    rows_used = np.concatenate([g[2] for g in groups])
    return _estimate(model, data, pt, labels, gstats, rows_used, options, o.get("start"),
                     "dwls")


def _conditional_x(statements, conditional_x, items):
    """lavaan's ``conditional.x`` for ordinal models with exogenous observed covariates:
    ``None`` (lavaan's default there, ``TRUE``) or ``True``: probit (linear) regressions of
    the ordinal (continuous) outcomes on the covariates; ``False``: the covariates modelled
    with the items (their moments free, as lavaan's ``conditional.x = FALSE``, which sets
    ``fixed.x = FALSE``).
    Returns (the option as used, the covariates or ())."""
    ov_x = build_table(statements, ngroups=1).ov_x
    if not ov_x:
        return conditional_x, ()
    if conditional_x is False:
        return False, ()
    return True, tuple(ov_x)


def _check_group_categories(gstats, labels, ov_names, group) -> None:
    """Every item has the same categories in every group (lavaan's thresholds are per item:
    a category empty in one group leaves a threshold that group cannot estimate)."""
    every = {v: sorted(set().union(*(st.polychoric.categories[v] for st in gstats)))
             for v in ov_names}
    for lab, st in zip(labels, gstats):
        for v in ov_names:
            have = list(st.polychoric.categories[v])
            if have != list(every[v]):
                gone = [c for c in every[v] if c not in set(have)]
                raise GroupError(
                    f"item {v!r} has no response in category {gone} in group {lab!r}",
                    column=group, values=[lab],
                    expected=f"every category of {v!r} ({list(every[v])}) observed in every "
                             "group",
                    hint="merge the sparse categories the same way in every group: "
                         "cx.collapse_categories(data, items, group=...).data; or treat the "
                         "item as continuous")


def _row_arrays(pt, struct):
    """(ustart, start, label, fixed.x rows) of the structure's rows (cached in the table)."""
    static = pt.cache.get("row_arrays")
    if static is None:
        rows = pt.frame.loc[struct.row_index]
        ov_pos = {v: i for i, v in enumerate(pt.ov_names)}
        exo = [(r, op, ov_pos[lhs], ov_pos.get(rhs, -1), g - 1)
               for r, (lhs, op, rhs, e, g) in enumerate(zip(
                   rows["lhs"], rows["op"], rows["rhs"], rows["exo"], rows["group"])) if e]
        static = (rows["ustart"].to_numpy(dtype=float), rows["start"].to_numpy(dtype=float),
                  rows["label"].to_numpy(), exo)
        pt.cache["row_arrays"] = static
    return static


class ImpliedMoments:
    """The implied moments (and, on request, their derivatives) at a parameter vector, with
    the last point cached: the line search and the next iteration share a point. A class,
    not a closure, so that a fit (and what holds it, such as a fitted index) pickles."""

    def __init__(self, struct, fixed, meanstructure):
        self.struct, self.fixed, self.meanstructure = struct, fixed, meanstructure
        self.last, self.last_deriv = {}, {}

    def __call__(self, theta, deriv):
        struct, ms = self.struct, self.meanstructure
        key = theta.tobytes()
        imps = self.last.get(key)
        if imps is None:
            vals = struct.row_values(theta, self.fixed)
            imps = [struct.implied(g, vals) for g in range(struct.ngroups)]
            self.last.clear()
            self.last_deriv.clear()
            self.last[key] = imps
        if not deriv:
            return [Moments(imp.sigma, imp.mu) for imp in imps]
        out = self.last_deriv.get(key)
        if out is None:
            out = [Moments(imp.sigma, imp.mu,
                           second=partial(second_order_term, struct, g, imp),
                           lowrank=struct.lowrank(g, imp, means=ms),
                           dense_fn=partial(struct.derivatives, g, imp, means=ms))
                   for g, imp in enumerate(imps)]
            self.last_deriv[key] = out
        return out


def _estimate(model, data, pt, labels, gstats, rows_used, options, start, kind):
    """Steps 3-6 on the table and the sample statistics."""
    meanstructure = bool(options["meanstructure"])
    struct = pt.cache.get("structure")
    if struct is None:
        struct = pt.cache["structure"] = ModelStructure(pt)
    ustart, start0, row_labels, exo_rows = _row_arrays(pt, struct)
    fixed = ustart.copy()
    # fixed.x: exogenous covariates at their sample values
    for r, op, i, j, g in exo_rows:
        st = gstats[g]
        fixed[r] = st.cov[i, j] if op == "~~" else st.mean[i]
    user_start = start0.copy()
    if start:
        for lab, val in dict(start).items():
            user_start[row_labels == lab] = float(val)
    ms = meanstructure

    moments = ImpliedMoments(struct, fixed, ms)
    last = moments.last

    problem = discrepancy(kind, moments, gstats, struct.npar, ms, partable=pt)
    theta0 = start_values(struct, gstats, fixed, user_start)
    if kind == "dwls":
        theta0 = _threshold_start(pt, gstats, theta0, user_start=start)
    fallback = partial(simple_start, struct, gstats, fixed, user_start)
    if struct.npar and not np.isfinite(problem.objective(theta0)):
        theta0, fallback = fallback(), None
        if not np.isfinite(problem.objective(theta0)):
            raise EstimationError(
                "no starting values give a positive definite implied covariance matrix",
                hint="check fixed values in the model text, or give start= values")
    with small_blas(struct) as blas_limit:
        if struct.npar == 0:
            theta, converged, iterations, message = theta0, True, 0, "no free parameters"
        else:
            try:
                theta, converged, iterations, message = _optimise(
                    problem, theta0, fallback, int(options.get("max_iter", 500)))
            except np.linalg.LinAlgError as exc:
                n_total = int(round(sum(st.n for st in gstats)))
                raise EstimationError(
                    f"estimation broke down ({exc})",
                    values=[f"n = {n_total}"],
                    expected="an implied covariance matrix that stays positive definite",
                    hint="the sample may be too small for the model, or the model "
                         "misspecified; try more respondents, fewer free parameters, or "
                         "start= values") from exc
        if options["estimator"] == "MLR" and kind != "fiml" and isinstance(blas_limit,
                                                                           BlasLimit):
            # casewise scores are products over all rows: let BLAS use its threads
            blas_limit.release()
        q, n = struct.npar, int(round(sum(st.n for st in gstats)))
        values = struct.row_values(theta, fixed)
        imps = None
        if q:
            try:  # the implied moments at theta, shared with the information below
                problem.moments(theta, False)
                imps = last.get(theta.tobytes())
            except (np.linalg.LinAlgError, FloatingPointError, ValueError):
                imps = None
        if imps is None:
            imps = [struct.implied(g, values) for g in range(struct.ngroups)]
        values, imps = _completed(struct, problem, theta, values, imps, kind)
        expected_info = observed_info = None
        try:
            vcov, expected_info, observed_info, identified = _information_and_vcov(
                problem, theta, q, n, kind, options["estimator"])
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            identified = False
        if not identified:  # as lavaan: no standard errors from a singular information
            vcov = np.full((q, q), np.nan)
    est = Estimation(
        model=model, data=data, options=options, partable=pt, structure=struct,
        group_labels=tuple(labels), stats=tuple(gstats), rows_used=rows_used, kind=kind,
        problem=problem, fixed=fixed, theta=theta, values=values, implied=tuple(imps),
        expected_info=expected_info, observed_info=observed_info, vcov=vcov,
        identified=bool(identified), converged=bool(converged), iterations=int(iterations),
        message=message)
    # the checks read the record itself; set once here, before anyone else sees it
    object.__setattr__(est, "checks", run_checks(est))
    return est


def _completed(struct, problem, theta, values, imps, kind):
    """The row values and implied moments with the residual variances of ordinal indicators
    (delta parameterization) set to what the model leaves them."""
    values = struct.complete_values(values, imps)
    if kind == "dwls" and problem.scales is not None:
        values, imps = _scaled_residual_variances(struct, problem, theta, values, imps)
    return struct.complete_ordinal_outcomes(values, imps)


def _scaled_residual_variances(struct, problem, theta, values, imps):
    """Delta parameterization with free scales: an ordinal indicator's latent response has
    variance ``1 / delta^2`` and its residual variance is that less the variance its factors
    explain (``values`` and ``imps`` have ``1``); returns both completed."""
    values = values.copy()
    out = []
    d = struct.unit_diag
    for rows, s, imp in zip(struct.unit_rows, problem.scale_values(theta), imps):
        values[rows] += 1.0 / s[struct.i[rows]] ** 2 - 1.0
        extra = 1.0 / s[d] ** 2 - 1.0
        sigma, t = imp.sigma.copy(), imp.T.copy()
        sigma[d, d] += extra
        t[d, d] += extra
        out.append(replace(imp, sigma=sigma, T=t))
    return values, out


def _threshold_start(pt, gstats, theta0, user_start=None):
    """Free thresholds start at the sample thresholds and free scales at 1 (unless given in
    ``start=``)."""
    frame = pt.frame
    theta0 = theta0.copy()
    given = set(dict(user_start or {}))
    scales = frame[(frame["op"] == "~*~") & (frame["free"] > 0)]
    for free, label in zip(scales["free"], scales["label"]):
        if label not in given:
            theta0[free - 1] = 1.0
    for g, st in enumerate(gstats):
        rows = frame[(frame["op"] == "|") & (frame["group"] == g + 1)]
        pos = np.arange(st.n_th) if st.th_num is None else np.flatnonzero(~st.th_num)
        for k, (free, label) in zip(pos, zip(rows["free"], rows["label"])):
            if free > 0 and label not in given:
                theta0[free - 1] = st.wls_obs[k]
    return theta0


def _information_and_vcov(problem, theta, q, n, kind, estimator):
    """(vcov, expected information, observed information, identified) at ``theta``."""
    expected_info = observed_info = None
    identified = True
    vcov = np.full((q, q), np.nan)
    if q:
        _, info = problem.gradient_and_information(theta)
        expected_info = info
        if kind == "fiml":
            info_obs = 0.5 * problem.hessian(theta)
            base_info = info_obs
            observed_info = info_obs
        else:
            base_info = 0.5 * info
        # scale-free check: eigenvalues of the information in correlation form
        dg = np.sqrt(np.abs(np.diag(base_info)))
        a_inv = None
        if np.any(dg <= 0) or not np.all(np.isfinite(base_info)):
            identified = False
        else:
            scaled = base_info / np.outer(dg, dg)
            # a Cholesky factor proves positive definiteness and gives the inverse; then
            # lambda_min >= 1 / ||inverse||_F and lambda_max <= trace = q settle the
            # condition check without an eigendecomposition (which decides otherwise)
            chol, fail = lapack.dpotrf(scaled, lower=1, clean=1)
            if fail == 0:
                inv_l, fail = lapack.dtrtri(chol, lower=1)
            if fail == 0:
                inv_s = inv_l.T @ inv_l
                if np.sqrt(np.sum(inv_s * inv_s)) * 1e-10 * q < 1.0:
                    a_inv = inv_s / np.outer(dg, dg)
            if a_inv is None:
                evals = np.linalg.eigvalsh(scaled)
                if evals[0] <= 1e-10 * max(evals[-1], 1e-300):
                    identified = False
        if a_inv is None:
            try:
                a_inv = np.linalg.inv(base_info)
            except np.linalg.LinAlgError:
                a_inv = np.linalg.pinv(base_info)
        if kind == "dwls":
            # lavaan: 1 / (N - G) times the inverted information (DWLS, ULS) or the
            # robust.sem sandwich E^-1 (D' W Gamma W D) E^-1 (WLSMV, ULSMV)
            divisor = n - len(problem.stats)
            if WLS_ESTIMATORS[estimator][1]:
                vcov = a_inv @ problem.meat(theta) @ a_inv / divisor
            else:
                vcov = a_inv / divisor
        elif estimator == "MLR":
            if kind == "fiml":
                h_obs = base_info
            else:
                h_obs = 0.5 * problem.hessian(theta)
            observed_info = h_obs
            try:
                a_inv = np.linalg.inv(h_obs)
            except np.linalg.LinAlgError:
                a_inv = np.linalg.pinv(h_obs)
            b = sum(problem.score_crossprods(theta)) / n
            vcov = a_inv @ b @ a_inv / n
        else:
            vcov = a_inv / n
    return vcov, expected_info, observed_info, identified


def _optimise(problem, theta0, fallback, max_iter):
    """Fisher scoring from ``theta0``; when it does not converge, once more from the simple
    starting values ``fallback()`` (if any), kept only if that run converges (lavaan's
    starting values and ours can lead the iterations to different basins: e.g.
    ``f =~ x1 + x2 + x3; x1 ~ 0*1`` on the HS data drifts from the model-implied start and
    converges, to lavaan's solution, from the simple one)."""
    theta, converged, iterations, message = fisher_scoring(problem, theta0, max_iter=max_iter)
    if converged or fallback is None:
        return theta, converged, iterations, message
    start = fallback()
    if not np.isfinite(problem.objective(start)):
        return theta, converged, iterations, message
    try:
        again = fisher_scoring(problem, start, max_iter=max_iter)
    except np.linalg.LinAlgError:
        return theta, converged, iterations, message
    if again[1]:
        return again[0], True, iterations + again[2], \
            f"converged from the simple starting values after {message}"
    return theta, converged, iterations, message
