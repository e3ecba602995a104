"""The parameter table: the single source of truth of a model.

One row per model parameter (free or fixed), in lavaan's order: the user's statements first,
then the defaults that ``cfa()``/``sem()`` add (residual and latent variances, covariances of
exogenous latent variables, residual covariances of pure outcomes, variances of fixed
exogenous covariates, intercepts and means), repeated for each group, then defined
parameters (``:=``).

Examples
--------
>>> from connection.latent import parse_model
>>> pt = parse_model("f =~ x1 + x2 + x3")
>>> pt.frame[["lhs", "op", "rhs", "free", "ustart"]].head(4)
  lhs  op rhs  free  ustart
0   f  =~  x1     0     1.0
1   f  =~  x2     1     NaN
2   f  =~  x3     2     NaN
3  x1  ~~  x1     3     NaN
>>> pt.npar
6
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np
import pandas as pd

from connection.errors import ModelSpecificationError, ModelSyntaxError
from connection.latent.syntax import parse_expression, parse_statements

__all__ = ["ParameterTable", "build_table", "GROUP_EQUAL_TYPES"]

GROUP_EQUAL_TYPES = ("loadings", "intercepts", "means", "residuals", "residual_covariances",
                     "lv_variances", "lv_covariances", "regressions", "thresholds")


def _uniq(seq):
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


@dataclass
class ParameterTable:
    """Parameter table plus the variable bookkeeping derived from it.

    Attributes
    ----------
    frame : DataFrame
        Columns ``id lhs op rhs user group free ustart exo label plabel start``; ``free`` is the
        1-based index of the free parameter (0 = fixed); rows sharing a label share an index.
    ov_names, lv_names : list of str
        Observed and latent variables in lavaan's order.
    ov_x : list of str
        Exogenous observed covariates whose (co)variances and means are fixed to their sample
        values (lavaan's ``fixed.x = TRUE``).
    ngroups : int
    meanstructure : bool
    """

    frame: pd.DataFrame
    ov_names: list
    lv_names: list
    ov_x: list
    ngroups: int
    meanstructure: bool
    statements: list = field(default_factory=list, repr=False)
    cache: dict = field(default_factory=dict, repr=False, compare=False)
    ordered: list = field(default_factory=list)  # ordinal indicators (thresholds, delta scale)
    parameterization: str = "delta"   # of the ordinal indicators: "delta" or "theta"
    conditional_x: bool = False       # ordinal outcomes given the fixed.x covariates

    @property
    def npar(self) -> int:
        """Number of free parameters (after equality constraints)."""
        if "npar" not in self.cache:
            self.cache["npar"] = int(self.frame["free"].max()) if len(self.frame) else 0
        return self.cache["npar"]

    def copy(self) -> ParameterTable:
        return ParameterTable(self.frame.copy(), list(self.ov_names), list(self.lv_names),
                              list(self.ov_x), self.ngroups, self.meanstructure,
                              list(self.statements), ordered=list(self.ordered),
                              parameterization=self.parameterization,
                              conditional_x=self.conditional_x)

    def __repr__(self) -> str:
        return (f"ParameterTable({len(self.frame)} rows, {self.npar} free parameters, "
                f"{self.ngroups} group(s))\n{self.frame.to_string()}")


def _normalise_equal(group_equal) -> list[str]:
    if isinstance(group_equal, str):
        group_equal = [group_equal]
    out = []
    for item in group_equal or ():
        key = str(item).strip().lower().replace(".", "_")
        if key not in GROUP_EQUAL_TYPES:
            raise ModelSpecificationError(
                f"unknown group_equal entry {item!r}",
                expected="one of " + ", ".join(GROUP_EQUAL_TYPES))
        out.append(key)
    return out


def _parse_partial(group_partial) -> set:
    if isinstance(group_partial, str):
        group_partial = [group_partial]
    out = set()
    for item in group_partial or ():
        text = str(item).replace(" ", "")
        for op in ("=~", "~~", "~1", "~", "|"):
            if op in text:
                lhs, rhs = text.split(op, 1)
                if op == "~" and rhs == "1":
                    op, rhs = "~1", ""
                out.add((lhs, op, rhs))
                break
        else:
            raise ModelSpecificationError(
                f"cannot read group_partial entry {item!r}",
                expected="'lhs op rhs' such as 'f =~ x2', 'x1 ~ 1', 'x1 ~~ x1' or 'x1 | t1'")
    return out


def build_table(model: str | list, *, ngroups: int = 1, std_lv: bool = False,
                meanstructure: bool = False, group_equal=(), group_partial=(),
                auto_cov_y: bool = True, fixed_x: bool = True, thresholds=(),
                parameterization: str = "delta") -> ParameterTable:
    """Build the full parameter table (lavaan's ``lavaanify`` with cfa()/sem() defaults).

    ``thresholds``: ``(item, number of thresholds)`` of each ordinal indicator (lavaan's
    ``ordered=``, delta parameterization): its thresholds ``item | t1, t2, ...`` are free rows
    after the user's rows, its residual variance is fixed (set to ``1 - `` the variance its
    factors explain, so that the latent response has variance 1), its scale ``item ~*~ item``
    is fixed to 1 and its intercept to 0; the mean structure is on. ``parameterization=
    "theta"``: the residual variance is a parameter fixed to 1 (free in the other groups under
    equal thresholds) and the scale ``~*~`` is what the model leaves (``1 / sigma_ii^1/2``).

    Tables of model text are cached (they are treated as immutable by the engine).
    """
    ge = (group_equal,) if isinstance(group_equal, str) else tuple(group_equal or ())
    gp = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial or ())
    th = tuple((str(item), int(k)) for item, k in (thresholds or ()))
    if isinstance(model, str):
        return _build_cached(model, int(ngroups), bool(std_lv), bool(meanstructure), ge, gp,
                             bool(auto_cov_y), bool(fixed_x), th, str(parameterization))
    return _build(model, ngroups=ngroups, std_lv=std_lv, meanstructure=meanstructure,
                  group_equal=ge, group_partial=gp, auto_cov_y=auto_cov_y, fixed_x=fixed_x,
                  thresholds=th, parameterization=str(parameterization))


@dataclass(frozen=True)
class _Variables:
    """The model's variables classified once (lavaan's ``lav_partable_vnames``), from the
    formulas alone: every later step reads these lists."""

    lv_names: list      # latent variables, in order of their first '=~'
    v_ind: list         # indicators ('=~' right-hand sides: observed, or latent for 2nd order)
    eqs_y: list         # regression outcomes
    eqs_x: list         # regression predictors
    ov_names: list      # observed variables, in lavaan's order
    ov_x: list          # observed exogenous covariates
    fixed_ov_x: list    # those whose (co)variances and means are fixed (fixed.x)
    lv_x: list          # exogenous latent variables
    y_pure: list        # pure outcomes, latent then observed (auto.cov.y)
    single_ind: list    # observed variables that are a latent variable's only indicator

    @property
    def lvset(self) -> set:
        return set(self.lv_names)

    @property
    def ov_nox(self) -> list:
        """Observed variables whose residual variances are free (not fixed.x covariates)."""
        return [v for v in self.ov_names if v not in self.fixed_ov_x]


def _classify(formulas, fixed_x: bool = True) -> _Variables:
    """Step 1: the variables of the formulas (``=~ ~ ~~ ~1`` statements)."""
    lv_names = _uniq(s.lhs for s in formulas if s.op == "=~")
    lvset = set(lv_names)
    v_ind = _uniq(s.rhs for s in formulas if s.op == "=~")
    eqs_y = _uniq(s.lhs for s in formulas if s.op == "~")
    eqs_x = _uniq(s.rhs for s in formulas if s.op == "~")
    ov_ind = [v for v in v_ind if v not in lvset]
    ov_y = [v for v in eqs_y if v not in lvset and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lvset and v not in ov_ind and v not in ov_y]
    ov_cov = [s.lhs for s in formulas if s.op == "~~" and s.lhs not in lvset] + [
        s.rhs for s in formulas if s.op == "~~" and s.rhs not in lvset]
    ov_int = [s.lhs for s in formulas if s.op == "~1" and s.lhs not in lvset]
    base = ov_ind + ov_y + ov_x
    ov_names = base + [v for v in _uniq(ov_cov + ov_int) if v not in base]
    # fixed.x: exogenous covariates whose variances the user did not specify
    user_cov_vars = {s.lhs for s in formulas if s.op == "~~"} | {
        s.rhs for s in formulas if s.op == "~~"}
    fixed_ov_x = [v for v in ov_x if v not in user_cov_vars] if fixed_x else []
    lv_x = [v for v in lv_names if v not in v_ind and v not in eqs_y]
    ov_y_pure = [v for v in ov_names if v in eqs_y and v not in v_ind and v not in eqs_x
                 and v not in lvset]
    lv_y_pure = [v for v in lv_names if v in eqs_y and v not in v_ind and v not in eqs_x]
    single_ind = []
    for lv in lv_names:
        inds = [s.rhs for s in formulas if s.op == "=~" and s.lhs == lv]
        if len(inds) == 1 and inds[0] not in lvset:
            if sum(1 for s in formulas if s.op == "=~" and s.rhs == inds[0]) == 1:
                single_ind.append(inds[0])
    return _Variables(lv_names=lv_names, v_ind=v_ind, eqs_y=eqs_y, eqs_x=eqs_x,
                      ov_names=ov_names, ov_x=ov_x, fixed_ov_x=fixed_ov_x, lv_x=lv_x,
                      y_pure=lv_y_pure + ov_y_pure, single_ind=single_ind)


def _formulas(stmts) -> list:
    return [s for s in stmts if s.op in ("=~", "~", "~~", "~1")]


@lru_cache(maxsize=256)
def model_variables(model: str) -> tuple[list, list]:
    """(observed, latent) variable names of a model text, in lavaan's order."""
    v = _classify(_formulas(parse_statements(model)))
    return v.ov_names, v.lv_names


@lru_cache(maxsize=256)
def _build_cached(model, ngroups, std_lv, meanstructure, ge, gp, auto_cov_y, fixed_x, th=(),
                  parameterization="delta"):
    return _build(model, ngroups=ngroups, std_lv=std_lv, meanstructure=meanstructure,
                  group_equal=ge, group_partial=gp, auto_cov_y=auto_cov_y, fixed_x=fixed_x,
                  thresholds=th, parameterization=parameterization)


def _build(model, *, ngroups, std_lv, meanstructure, group_equal, group_partial, auto_cov_y,
           fixed_x, thresholds=(), parameterization="delta") -> ParameterTable:
    """lavaan's ``lavaanify`` as its named steps: the variables, the flat table (the user's
    statements, then the default elements), the default free/fixed status, the groups (with
    the modifiers), the group equalities, the equality constraints and free-parameter indices,
    the defined parameters, the checks."""
    stmts = parse_statements(model) if isinstance(model, str) else list(model)
    formulas = _formulas(stmts)
    # an intercept or mean in the model text switches the mean structure on (as lavaan 0.6,
    # whatever meanstructure= says): every observed intercept free, latent means fixed to 0
    meanstructure = bool(meanstructure) or any(s.op == "~1" for s in formulas) \
        or bool(thresholds)
    variables = _classify(formulas, fixed_x)
    ordered = _check_ordered(thresholds, variables)
    if not variables.ov_names:
        raise ModelSpecificationError("the model has no observed variables",
                                      hint="measure each latent variable with '=~'")
    _check_self_regressions(formulas)
    _check_duplicates(formulas)
    flat = _flat_rows(formulas, variables, meanstructure=meanstructure, auto_cov_y=auto_cov_y,
                      thresholds=thresholds, free_x_cov=not fixed_x)
    base_rows = _default_status(flat, variables, std_lv=std_lv, ordered=set(ordered))
    table = _replicate_groups(base_rows, ngroups)
    equal, partial = _normalise_equal(group_equal), _parse_partial(group_partial)
    if "thresholds" in equal and not ordered:
        raise ModelSpecificationError(
            "group_equal 'thresholds' needs ordinal indicators",
            expected="ordered=True (or the item names) with estimator 'WLSMV'",
            hint="for continuous indicators hold the intercepts equal instead "
                 "(group_equal=['loadings', 'intercepts'])")
    if ordered and "thresholds" in equal and "intercepts" not in equal:
        # as lavaan: equal thresholds hold the continuous variables' intercepts equal too
        # (ordinal intercepts are fixed at 0, so only theirs are concerned)
        equal = [*equal, "intercepts"]
    if ngroups > 1:
        _group_equalities(table, len(base_rows), ngroups, variables, equal, partial, std_lv,
                          theta_items=set(ordered) if parameterization == "theta" else None)
    plabels = {row["plabel"]: i for i, row in enumerate(table)}
    _free_indices(table, [s for s in stmts if s.op == "=="], plabels)
    _defined_rows(table, [s for s in stmts if s.op == ":="], plabels)
    _check_specification(table, variables.lv_names)
    return ParameterTable(_frame(table), variables.ov_names, variables.lv_names,
                          variables.fixed_ov_x, ngroups, meanstructure, stmts, ordered=ordered,
                          parameterization=parameterization)


def _check_ordered(thresholds, v: _Variables) -> list:
    """The ordinal indicators, in the model's order; each must be a model variable that is
    not a fixed exogenous covariate (those are conditioned on, not modelled)."""
    names = [item for item, _ in thresholds]
    unknown = [x for x in names if x not in v.ov_names]
    if unknown:
        raise ModelSpecificationError(
            "ordered names variables that are not in the model: " + ", ".join(unknown),
            expected="observed variables of the model text")
    exo = [x for x in names if x in v.fixed_ov_x]
    if exo:
        raise ModelSpecificationError(
            "ordinal exogenous covariates are not supported: " + ", ".join(exo),
            hint="leave the covariate out of ordered= (it is then treated as continuous)")
    return [x for x in v.ov_names if x in set(names)]


def _flat_rows(formulas, v: _Variables, *, meanstructure: bool, auto_cov_y: bool,
               thresholds=(), free_x_cov: bool = False) -> list:
    """Step 2 (``lav_partable_flat``): the user's rows, each parameter stated once, then the
    default elements not already given: thresholds of ordinal indicators, residual and latent
    variances, covariances of the exogenous latent variables and of pure outcomes, the fixed.x
    block, the scales of ordinal indicators (``~*~``), intercepts and means."""
    user = [dict(lhs=s.lhs, op=s.op, rhs=s.rhs, user=1, mods=list(s.modifiers), stmt=s)
            for s in formulas]
    nth = dict(thresholds)
    default_keys = [(x, "|", f"t{k + 1}") for x in v.ov_names if x in nth
                    for k in range(nth[x])]
    default_keys += [(x, "~~", x) for x in v.ov_nox] + [(x, "~~", x) for x in v.lv_names]
    default_keys += [(a, "~~", b) for a, b in combinations(v.lv_x, 2)]
    if auto_cov_y:
        default_keys += [(a, "~~", b) for a, b in combinations(v.y_pure, 2)]
    fx = v.fixed_ov_x
    default_keys += [(fx[i], "~~", fx[j]) for i in range(len(fx)) for j in range(i, len(fx))]
    if free_x_cov:  # fixed.x = FALSE: the covariates' covariances are free parameters
        ox = v.ov_x
        default_keys += [(ox[i], "~~", ox[j]) for i in range(len(ox))
                         for j in range(i + 1, len(ox))]
    default_keys += [(x, "~*~", x) for x in v.ov_names if x in nth]
    if meanstructure:
        default_keys += [(x, "~1", "") for x in v.ov_names] + [(x, "~1", "") for x in v.lv_names]
    have = {(r["lhs"], r["op"], r["rhs"]) for r in user}
    have |= {(r["rhs"], r["op"], r["lhs"]) for r in user if r["op"] == "~~"}
    return user + [dict(lhs=lhs, op=op, rhs=rhs, user=0, mods=[], stmt=None)
                   for lhs, op, rhs in default_keys if (lhs, op, rhs) not in have]


def _default_status(rows: list, v: _Variables, *, std_lv: bool, ordered=frozenset()) -> list:
    """Step 3: free or fixed before the modifiers (identical in every group): the first
    loading of each factor at 1 (or its variance at 1 with ``std_lv``), a single indicator's
    residual variance at 0, the fixed.x block at the sample values (``exo``), latent means 0;
    for an ordinal indicator (delta parameterization) its residual variance (computed from the
    others: ``ustart`` 1 as lavaan), scale 1 and intercept 0 fixed, its thresholds free."""
    lvset, fixed_ov_x = v.lvset, set(v.fixed_ov_x)
    first_seen: set = set()
    out = []
    for r in rows:
        lhs, op, rhs, user = r["lhs"], r["op"], r["rhs"], r["user"]
        free, ustart, exo = True, np.nan, 0
        if op == "=~":
            if not std_lv and lhs not in first_seen:
                free, ustart = False, 1.0
            first_seen.add(lhs)
        elif op == "~~":
            if lhs == rhs and lhs in lvset and std_lv:
                free, ustart = False, 1.0
            if lhs == rhs and user == 0 and lhs in v.single_ind:
                free, ustart = False, 0.0
            if lhs in fixed_ov_x and rhs in fixed_ov_x and user == 0:
                free, exo = False, 1
            if lhs == rhs and lhs in ordered and user == 0:
                free, ustart = False, 1.0
        elif op == "~*~":
            free, ustart = False, 1.0
        elif op == "~1" and user == 0:
            if lhs in ordered:
                free, ustart = False, 0.0
            elif lhs in lvset:
                free, ustart = False, 0.0
            elif lhs in fixed_ov_x:
                free, exo = False, 1
        out.append(dict(r, free=free, ustart=ustart, exo=exo))
    return out


def _modified(r: dict, g: int, ngroups: int) -> tuple:
    """A row's ``(free, ustart, label, start)`` in group ``g`` after its modifiers (``c()``:
    one value per group)."""
    free, ustart, label, start = r["free"], r["ustart"], "", np.nan
    for mod in r["mods"]:
        for kind in ("fixed", "label", "start"):
            vals = getattr(mod, kind)
            if vals is None:
                continue
            if len(vals) not in (1, ngroups):
                st = r["stmt"]
                raise ModelSyntaxError(
                    f"modifier has {len(vals)} values but the model has {ngroups} group(s)",
                    line=st.line, text=st.text, operator=st.op,
                    hint="give one value per group in c(...), or a single value")
            value = vals[0] if len(vals) == 1 else vals[g - 1]
            if kind == "fixed":
                free, ustart = (True, np.nan) if value is None else (False, float(value))
            elif kind == "label":
                label = "" if value is None else value
            else:
                start = float(value)
    return free, ustart, label, start


def _replicate_groups(base_rows: list, ngroups: int) -> list:
    """Step 4: the rows repeated per group with their modifiers applied; ids and plabels."""
    table = []
    for g in range(1, ngroups + 1):
        for r in base_rows:
            free, ustart, label, start = _modified(r, g, ngroups)
            table.append(dict(lhs=r["lhs"], op=r["op"], rhs=r["rhs"], user=r["user"],
                              group=g, free=free, ustart=ustart, exo=r["exo"], label=label,
                              start=start, line=r["stmt"].line if r["stmt"] else 0))
    for idx, row in enumerate(table, start=1):
        row["id"] = idx
        row["plabel"] = f".p{idx}."
    return table


def _equal_kind(lhs: str, op: str, rhs: str, lvset: set, ovset: set) -> str | None:
    """The ``group_equal`` type a row belongs to (None: none)."""
    if op == "=~":
        return "loadings"
    if op == "|":
        return "thresholds"
    if op == "~":
        return "regressions"
    if op == "~1":
        return "means" if lhs in lvset else ("intercepts" if lhs in ovset else None)
    if op == "~~":
        if lhs in lvset and rhs in lvset:
            return "lv_variances" if lhs == rhs else "lv_covariances"
        if lhs in ovset and rhs in ovset:
            return "residuals" if lhs == rhs else "residual_covariances"
    return None


def _group_equalities(table: list, n_per: int, ngroups: int, v: _Variables, equal: list,
                      partial: set, std_lv: bool, theta_items=None) -> None:
    """Step 5 (lavaan's ``group.equal`` / ``group.partial``): the rows of an equal type share
    the first group's plabel as their label (unless partial, fixed or labelled by the user);
    then, in the other groups, latent means are freed under equal intercepts or thresholds
    (without equal means), latent variances under equal loadings with ``std_lv`` and, under
    equal thresholds, the scales of ordinal indicators (``~*~``, delta parameterization) or
    their residual variances (``theta_items``: theta parameterization), as lavaan's
    ``lavaanify``."""
    if not equal:
        return
    lvset, ovset = v.lvset, set(v.ov_nox)
    for i in range(n_per):
        r1 = table[i]
        kind = _equal_kind(r1["lhs"], r1["op"], r1["rhs"], lvset, ovset)
        if kind not in equal or (r1["lhs"], r1["op"], r1["rhs"]) in partial:
            continue
        idx = [i + n_per * g for g in range(ngroups)]
        if all(table[j]["free"] for j in idx) and not any(table[j]["label"] for j in idx):
            for j in idx:
                table[j]["label"] = r1["plabel"]
    free_means = ("intercepts" in equal or "thresholds" in equal) and "means" not in equal
    free_lv_var = "loadings" in equal and std_lv
    for row in table:
        if row["group"] > 1 and "thresholds" in equal and (
                (row["op"] == "~*~" and theta_items is None)
                or (theta_items is not None and row["op"] == "~~" and row["lhs"] == row["rhs"]
                    and row["lhs"] in theta_items and row["user"] == 0)):
            row["free"], row["ustart"] = True, np.nan
        if row["group"] == 1 or row["user"] != 0 or row["lhs"] not in lvset:
            continue
        if free_means and row["op"] == "~1":
            row["free"], row["ustart"] = True, np.nan
        if free_lv_var and row["op"] == "~~" and row["lhs"] == row["rhs"]:
            row["free"], row["ustart"] = True, np.nan


def _constraint_aliases(table: list, constraints: list, label_rows: dict,
                        plabels: dict) -> dict:
    """Step 6a: simple equality constraints. ``a == 1`` fixes the rows of ``a``; ``a == b``
    makes ``b`` an alias of ``a`` (returned, label -> label)."""
    alias: dict = {}
    for s in constraints:
        a, b = s.lhs, s.rhs
        if a not in label_rows and a not in plabels:
            raise ModelSyntaxError(f"unknown label {a!r} in constraint", line=s.line,
                                   text=s.text, operator="==")
        try:
            value = float(b)
        except ValueError:
            value = None
        if value is not None:
            for j in label_rows.get(a) or [plabels[a]]:
                table[j]["free"], table[j]["ustart"] = False, value
            continue
        if b not in label_rows and b not in plabels:
            raise ModelSyntaxError(f"unknown label {b!r} in constraint", line=s.line,
                                   text=s.text, operator="==")
        alias[b] = a
    return alias


def _free_indices(table: list, constraints: list, plabels: dict) -> None:
    """Step 6: the free-parameter index of every row (0 = fixed): rows sharing a label (or
    tied by ``==``) share one index; a label shared by a fixed and free rows is fixed."""
    label_rows: dict = {}
    for i, row in enumerate(table):
        if row["label"]:
            label_rows.setdefault(row["label"], []).append(i)
    alias = _constraint_aliases(table, constraints, label_rows, plabels)
    for idxs in label_rows.values():
        fixed_vals = [table[j]["ustart"] for j in idxs if not table[j]["free"]]
        if fixed_vals and any(table[j]["free"] for j in idxs):
            for j in idxs:
                table[j]["ustart"], table[j]["free"] = fixed_vals[0], False
    key_to_index: dict = {}
    for row in table:
        if not row["free"]:
            row["free"] = 0
            continue
        lab = row["label"] or row["plabel"]
        seen = set()
        while lab in alias and lab not in seen:
            seen.add(lab)
            lab = alias[lab]
        if lab not in key_to_index:
            key_to_index[lab] = len(key_to_index) + 1
        row["free"] = key_to_index[lab]


def _defined_rows(table: list, defined: list, plabels: dict) -> None:
    """Step 7: the defined parameters (``:=``), each using only labels defined before it."""
    known = {row["label"] for row in table if row["label"]} | set(plabels)
    for s_ in defined:
        _, names = parse_expression(s_.expression, line=s_.line, text=s_.text)
        for n in names:
            if n not in known:
                raise ModelSyntaxError(
                    f"defined parameter {s_.lhs!r} uses the unknown label {n!r}", line=s_.line,
                    text=s_.text, operator=":=",
                    hint="label the parameters first, e.g. 'm ~ a*x' and 'y ~ b*m'")
        known.add(s_.lhs)
        table.append(dict(id=len(table) + 1, lhs=s_.lhs, op=":=", rhs=s_.expression, user=1,
                          group=0, free=0, ustart=np.nan, exo=0, label=s_.lhs, start=np.nan,
                          line=s_.line, plabel=""))


def _frame(table: list) -> pd.DataFrame:
    cols = ["id", "lhs", "op", "rhs", "user", "group", "free", "ustart", "exo", "label",
            "plabel", "start", "line"]
    frame = pd.DataFrame({c: [row[c] for row in table] for c in cols})
    for c in ("id", "user", "group", "free", "exo", "line"):
        frame[c] = frame[c].astype(int)
    for c in ("ustart", "start"):
        frame[c] = frame[c].astype(float)
    for c in ("lhs", "op", "rhs", "label", "plabel"):
        frame[c] = frame[c].astype(object)
    return frame


def _element(s) -> str:
    return f"{s.lhs} ~ 1" if s.op == "~1" else f"{s.lhs} {s.op} {s.rhs}"


def _check_duplicates(formulas) -> None:
    """Each parameter is stated once (lavaan 0.6: "duplicate model element"): a second
    statement of ``f =~ x2`` or of ``x1 ~~ x2`` / ``x2 ~~ x1`` is an error naming both lines,
    whether it repeats the first or conflicts with it (``f =~ 0.5*x2``)."""
    first: dict = {}
    for s in formulas:
        key = (s.lhs, s.op, s.rhs)
        if s.op == "~~" and (s.rhs, s.op, s.lhs) in first:
            key = (s.rhs, s.op, s.lhs)
        prev = first.get(key)
        if prev is None:
            first[key] = s
            continue
        kind = ("repeated" if prev.modifiers == s.modifiers else
                "stated twice, with conflicting modifiers")
        raise ModelSyntaxError(
            f"duplicate model element {_element(s)!r} ({kind}): line {prev.line} "
            f"({prev.text!r}) and line {s.line} ({s.text!r})", line=s.line, text=s.text,
            operator="~" if s.op == "~1" else s.op,
            hint="state each parameter once, with all its modifiers on that statement "
                 "(e.g. 'f =~ 0.5*x2' or 'x1 ~~ start(0.2)*x1')")


def _check_self_regressions(formulas) -> None:
    """``f ~ f`` / ``x1 ~ x1``: a variable regressed on itself (lavaan warns and fits a
    meaningless model with negative degrees of freedom; here it is an error)."""
    for s in formulas:
        if s.op == "~" and s.lhs == s.rhs:
            raise ModelSpecificationError(
                f"{s.lhs!r} is regressed on itself (line {s.line}: {s.text!r})",
                hint="remove the statement; a variable cannot predict itself (for a residual "
                     f"variance write '{s.lhs} ~~ {s.lhs}')")


def _check_specification(table: list, lv_names) -> None:
    measured = {row["lhs"] for row in table if row["op"] == "=~"}
    for lv in lv_names:
        if lv not in measured:
            raise ModelSpecificationError(f"latent variable {lv!r} has no indicators")
    for row in table:
        if row["op"] == "=~" and row["lhs"] == row["rhs"]:
            raise ModelSpecificationError(
                f"latent variable {row['lhs']!r} is its own indicator")
