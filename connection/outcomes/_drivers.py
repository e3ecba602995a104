"""What drives advocacy, loyalty and repurchase: emotional connection versus satisfaction.

:func:`drivers` regresses each outcome on the drivers (by default ``connection`` and
``satisfaction``) and optional controls with statsmodels, and answers four questions per outcome
(and per group):

1. **How strong is each driver?** Standardized coefficients with robust (HC3, or cluster-robust)
   standard errors (R: ``lm`` on z-scored variables with ``sandwich::vcovHC(type = "HC3")``). OLS: both outcome and drivers are z-scored (fully standardized beta).
   Logit and ordinal (proportional-odds logit): drivers are z-scored, so a coefficient is the
   change in log-odds per standard deviation of the driver (x-standardized).
2. **What does each add beyond the other?** Hierarchical delta R-squared: R-squared of the full
   model minus R-squared without the driver (connection over satisfaction plus controls, and the
   reverse). For logit and ordinal models R-squared is McFadden's pseudo-R-squared,
   ``1 - logL(model) / logL(thresholds/intercept only)``.
3. **Which matters more overall?** General dominance weights (Azen & Budescu 2003) over the
   drivers, with the controls in every model (R: ``dominanceanalysis::dominanceAnalysis(fit,
   constants = controls)``, or ``parameters::dominance_analysis(fit, all = ~ controls)``): a
   driver's weight is its average increment in
   R-squared over all subsets of the other drivers, averaged first within and then across subset
   sizes. The weights add up to ``R2(full) - R2(controls only)``; ``dominance_share`` normalises
   them to add up to 1 (100%). For OLS this is the Shapley value / LMG (``relaimpo``,
   ``pingouin.linear_regression(relimp=True)``), computed exactly from the covariance matrix for
   every subset at once (:mod:`connection.outcomes._importance`); logit and ordinal models fit
   every subset by batched Newton steps, each subset warm-started from its parent (9 drivers at
   n = 2,000 in about a second). ``importance=None`` switches it off; with ``n_boot`` the
   weights and shares get bootstrap percentile intervals (``importance_intervals``).
4. **Is connection's coefficient larger than satisfaction's?** ``beta(connection) -
   beta(satisfaction)`` (with more drivers: every pair, or the pairs named in ``contrasts=``)
   with a Wald interval (robust covariance) and a bootstrap percentile
   interval from :func:`connection.bootstrap` (vectorised: weighted moments for OLS,
   batched weighted Newton steps for logit and ordinal; respondents, or clusters when ``cov_type="cluster"``, are
   resampled, and every replicate re-standardizes).

With ``group=`` each group is also fitted on its own (standardized within the group), and an
interaction model on the pooled rows tests whether each driver's slope differs between groups
(Wald test of the driver x group terms with the same robust covariance; slopes standardized on
the pooled rows).

``latent=`` adds the latent version (outcomes regressed on latent connection and satisfaction
through :func:`connection.latent.sem`), reported in :attr:`DriversResult.latent` beside the
observed-score version, because observed scores attenuate the coefficients by their unreliability.
Controls enter it as observed covariates free to covary with the latent drivers (lavaan's default
would fix those covariances at zero and so control for nothing); a poorly fitting or inadmissible
latent solution is warned about and flagged in the table and in :attr:`DriversResult.flags`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from connection.outcomes import drivers
>>> rng = np.random.default_rng(0)
>>> n = 2000
>>> sat = rng.normal(size=n)
>>> con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
>>> df = pd.DataFrame({"connection": con, "satisfaction": sat,
...                    "advocacy": 0.5 * con + 0.2 * sat + rng.normal(scale=0.8, size=n)})
>>> res = drivers(df, outcomes=["advocacy"], n_boot=200, seed=1, progress=False)
>>> print(res.table[["term", "beta", "ci_lower", "ci_upper", "delta_r2"]].round(3).to_string(index=False))
        term  beta  ci_lower  ci_upper  delta_r2
  connection 0.480     0.439     0.520     0.175
satisfaction 0.204     0.164     0.243     0.032
>>> d = res.differences.iloc[0]
>>> d["contrast"], round(float(d["estimate"]), 3), bool(d["ci_lower"] > 0)
('connection - satisfaction', 0.276, True)
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connection._common import (
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    as_seed_sequence,
    check_choice,
    check_level,
    check_n_boot,
    renamed_keywords,
    spawn,
    warn,
    z_critical,
)
from connection._flags import POOR_FIT, Flag, format_flags
from connection._report import Report, Reported
from connection.errors import (
    ArgumentError,
    ConvergenceWarning,
    DataError,
    EstimationError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
    PoorFitWarning,
)
from connection.outcomes._compare import _numeric, _require_columns
from connection.outcomes._importance import (
    OrdinalLikelihood,
    _centred_moments,
    _RelativeWeightsStatistic,
    _replicate_covariances,
    batched_solve,
    general_dominance,
    likelihood_importance,
    make_likelihood,
    newton_batch,
    null_loglik,
    ols_importance,
    subset_loglik,
    subset_r2,
)
from connection.stats._dask import is_dask_frame
from connection.stats._multiplicity import adjust_pvalues, check_correction
from connection.stats._weights import UNSET, as_frame, resolve_weights, weighted_cov, weights_label

__all__ = ["drivers", "DriversResult", "relative_weights", "RelativeWeightsResult",
           "RELATIVE_WEIGHTS_COLUMNS", "TABLE_COLUMNS", "DIFFERENCE_COLUMNS", "MODEL_COLUMNS",
           "INTERACTION_COLUMNS", "LATENT_COLUMNS", "PoorFitWarning", "POOR_FIT_CFI",
           "POOR_FIT_RMSEA"]

_FAMILIES = ("ols", "logit", "ordinal")
_COV_TYPES = ("HC3", "HC0", "HC1", "HC2", "cluster", "nonrobust")

TABLE_COLUMNS = [
    "outcome", "model", "by", "group", "n", "term", "role", "beta", "se", "statistic", "pvalue",
    "ci_lower", "ci_upper", "b", "delta_r2", "general_dominance", "dominance_share",
    "dominance_ci_lower", "dominance_ci_upper", "share_ci_lower", "share_ci_upper", "r2",
    "r2_type", "cov_type",
]
"""Columns of :attr:`DriversResult.table` (one row per outcome x group x term):

outcome, model, by, group
    The outcome, the regression family (``family=``), the ``group=`` column (``""`` for the
    pooled fit) and its level (``"all"`` for the pooled fit).
n
    Respondents in the fit (complete cases).
term, role
    The predictor and whether it is a ``"driver"`` or a ``"control"``.
beta, se, statistic, pvalue, ci_lower, ci_upper
    Standardized coefficient (see the module docstring), its robust SE, z (or t for OLS), p and
    Wald interval.
b
    The unstandardized coefficient (outcome units per driver unit; log-odds for logit/ordinal).
delta_r2
    R-squared lost when the term is dropped from the full model (drivers only).
general_dominance, dominance_share
    General dominance weight (Shapley / LMG for OLS) and its normalised share of the drivers'
    total (the shares add up to 1; drivers only); NaN with ``importance=None``.
dominance_ci_lower, dominance_ci_upper, share_ci_lower, share_ci_upper
    Bootstrap percentile intervals of the general dominance weight and of its share (the same
    replicates, respondents or clusters resampled, survey weights travelling with them; see
    ``importance_intervals``); NaN when not computed.
r2, r2_type, cov_type
    The full model's R-squared (``"r2"`` for OLS, ``"mcfadden"`` otherwise) and the covariance
    actually used (``HC3`` is only defined for OLS; logit and ordinal use the ``HC0`` sandwich;
    ``"linearization"`` for a weighted fit: the design-based covariance of ``survey::svyglm``).
"""

DIFFERENCE_COLUMNS = [
    "outcome", "model", "by", "group", "n", "contrast", "estimate", "se", "statistic", "pvalue",
    "wald_ci_lower", "wald_ci_upper", "ci_lower", "ci_upper", "boot_se", "ci_method", "level",
    "n_boot", "n_failed", "resampled",
]
"""Columns of :attr:`DriversResult.differences`: one row per pair of drivers (every pair in the
order of ``drivers``, or the pairs named in ``contrasts=``), ``contrast = "a - b"`` for
``beta(a) - beta(b)``;
``se``/``statistic``/``pvalue``/``wald_ci_*`` from the robust covariance; ``ci_lower``/``ci_upper``
the bootstrap percentile interval (NaN when ``n_boot=0``); ``resampled`` is ``"respondents"`` or
``"clusters"``. The Wald SE treats the standardizing SDs as fixed; the bootstrap re-standardizes
every replicate and so carries that uncertainty too (prefer it for the headline interval)."""

MODEL_COLUMNS = ["outcome", "model", "by", "group", "n", "n_excluded", "r2", "r2_type",
                 "r2_controls", "n_clusters", "cov_type", "converged"]
"""Columns of :attr:`DriversResult.models`: one row per fitted model (``r2_controls`` is the
R-squared of the controls-only model, 0 without controls)."""

INTERACTION_COLUMNS = ["outcome", "model", "by", "driver", "n", "n_groups", "reference",
                       "statistic", "df", "pvalue", "p_adjusted", "slope_difference", "se",
                       "ci_lower", "ci_upper"]
"""Columns of :attr:`DriversResult.interactions`: Wald chi-square test (``df`` = groups - 1) that
the driver's standardized slope is the same in every level of ``group``; with two groups,
``slope_difference`` is the other group's slope minus the ``reference`` group's, with its SE and
interval. ``p_adjusted``: Holm (or the chosen correction) across all interaction tests."""

LATENT_COLUMNS = ["outcome", "term", "beta", "beta_se", "beta_ci_lower", "beta_ci_upper", "est",
                  "se", "pvalue", "ci_lower", "ci_upper", "n", "estimator", "cfi", "rmsea",
                  "srmr", "flags"]
"""Columns of :attr:`DriversResult.latent`: ``beta`` is the completely standardized regression
coefficient (std_all) of the outcome on the latent driver, ``beta_se`` its delta-method SE (as
lavaan's ``standardizedSolution``) and ``beta_ci_*`` its Wald interval; ``est``/``se``/``pvalue``/``ci_*`` are on
the unstandardized scale of the engine (latent variances fixed to 1, so outcome units per
latent SD); contrast rows (``term = "connection - satisfaction"``, one per pair of drivers) use a
defined parameter. ``cfi``/``rmsea`` are the robust versions under MLR, the scaled ones under
WLSMV/ULSMV (``ordered=``). Observed controls enter
the regression and covary freely with every latent driver (and with each other).
``flags`` is ``""`` for an admissible, acceptably fitting solution, else the
:func:`connection._flags.format_flags` of its problems: the engine's admissibility flags
(``Fit.flags``: non-convergence, a Heywood case, a latent (+ control) covariance matrix that is
not positive definite, an unidentified model), and ``poor_fit`` when CFI < :data:`POOR_FIT_CFI` or RMSEA > :data:`POOR_FIT_RMSEA`.
The same flags, prefixed by the outcome, are in :attr:`DriversResult.flags`."""


# --------------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------------

@dataclass
class _Design:
    y: np.ndarray
    X: np.ndarray
    names: list[str]
    n_drivers: int
    scaled: np.ndarray  # bool per X column: z-scored (drivers and numeric controls)
    units: np.ndarray | None  # cluster codes 0..C-1, or None
    n_excluded: int
    w: np.ndarray | None = None  # survey weights of the rows (None: unweighted)

    @property
    def n(self) -> int:
        return self.y.size

    def subset(self, mask: np.ndarray) -> _Design:
        units = None
        if self.units is not None:
            units = pd.factorize(self.units[mask])[0]
        return _Design(self.y[mask], self.X[mask], self.names, self.n_drivers, self.scaled, units,
                       self.n_excluded, None if self.w is None else self.w[mask])


def _design(data: pd.DataFrame, outcome: str, drivers: list[str], controls: list[str],
            cluster: str | None, model: str, extra: Sequence[str] = (),
            weights: np.ndarray | None = None) -> tuple[_Design, np.ndarray]:
    """Complete-case design for one outcome; returns the design and the row mask it used
    (``weights``: one survey weight per row of ``data``, or None)."""
    cols = [outcome, *drivers, *controls, *([cluster] if cluster else []), *extra]
    keep = data[cols].notna().all(axis=1).to_numpy()
    n_excl = int((~keep).sum())
    d = data.loc[keep]
    # checked on the full data so that the rows named in an error are the data's own rows
    numeric = {c: _numeric(data, c).to_numpy()[keep] for c in [outcome, *drivers, *controls]
               if c in drivers or c == outcome or data[c].dtype == bool
               or pd.api.types.is_numeric_dtype(data[c])}
    for c, v in numeric.items():
        _check_magnitude(v, c, keep)
    y = numeric[outcome]
    blocks, names, scaled = [], [], []
    for c in drivers:
        blocks.append(numeric[c][:, None])
        names.append(c)
        scaled.append(True)
    for c in controls:
        s = d[c]
        if c in numeric:
            blocks.append(numeric[c][:, None])
            names.append(c)
            scaled.append(s.dtype != bool)
        else:  # categorical control: dummies, first level (sorted) as reference
            _check_not_mixed(data[c], c, keep)
            levels = sorted(pd.unique(s).tolist(), key=str)
            if len(levels) < 2:   # no dummy would enter: the control would vanish silently
                raise NoVarianceError("a categorical control has one value only among the rows "
                                      "used", column=c, values=levels,
                                      expected="at least two categories (or leave it out of controls)")
            for lev in levels[1:]:
                blocks.append((s == lev).to_numpy(dtype=float)[:, None])
                names.append(f"{c}[{lev}]")
                scaled.append(False)
    X = np.hstack(blocks) if blocks else np.empty((len(d), 0))
    units = pd.factorize(d[cluster])[0] if cluster else None
    if model == "logit":
        ok = np.isin(y, (0.0, 1.0))
        if not ok.all():
            rows = (np.flatnonzero(keep)[~ok] + 1).tolist()
            raise OutOfRangeError("a logit outcome must be 0/1 (or True/False)", column=outcome,
                                  rows=rows, values=y[~ok].tolist(),
                                  expected="0 or 1; code top-box outcomes first, e.g. (recommend >= 9)")
    if model == "ordinal":
        ok = y == np.round(y)
        if not ok.all():
            raise OutOfRangeError("an ordinal outcome must hold whole numbers", column=outcome,
                                  rows=(np.flatnonzero(keep)[~ok] + 1).tolist(),
                                  values=y[~ok].tolist(), expected="integer categories")
    w = None if weights is None else np.asarray(weights, float)[keep]
    return _Design(y, X, names, len(drivers), np.array(scaled, bool), units, n_excl, w), keep


def _check_not_mixed(col: pd.Series, column: str, keep: np.ndarray) -> None:
    """A text control whose values are numbers except a few (``"n/a"`` in an age column) would
    become one dummy per distinct age: refuse it, naming the text values."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return
    s = col[keep]
    as_text = s.astype(str).str.strip()
    parsed = pd.to_numeric(as_text, errors="coerce")
    if parsed.notna().any() and parsed.isna().any():
        bad = parsed.isna().to_numpy()
        raise NonNumericError("a control mixes numbers and text: it would enter as one dummy per "
                              "distinct value", column=column,
                              rows=(np.flatnonzero(keep)[bad] + 1).tolist(),
                              values=s[bad].tolist(),
                              expected="numbers only (a numeric control) or category labels only "
                                       "(a categorical control)",
                              hint="Set the text values to missing (NaN) or declare them as "
                                   "missing-value codes in the codebook; if the numbers are "
                                   "category labels, make the column a pandas Categorical")


_HUGE = 1e150  # beyond this a square overflows double precision (about 1.8e308)


def _check_magnitude(v: np.ndarray, column: str, keep: np.ndarray) -> None:
    """Refuse values whose squares overflow: standardizing would give beta 0 with SE 0 (an
    outcome) or a spurious collinearity (a predictor) instead of an error naming the value."""
    with np.errstate(over="ignore", invalid="ignore"):
        ok = np.isfinite(np.var(v)) if v.size else True
    big = np.abs(v) > _HUGE
    if ok and not big.any():
        return
    if not big.any():  # overflow of the sum only: name the largest values
        big = np.abs(v) >= np.sort(np.abs(v))[-min(5, v.size)]
    raise OutOfRangeError("values too large to compute with (their squares overflow double "
                          "precision)", column=column, rows=(np.flatnonzero(keep)[big] + 1).tolist(),
                          values=v[big].tolist(), expected="values on the survey's scale",
                          hint="Check for unconverted missing-value codes or a unit error")


def _check_variance(design: _Design, outcome: str, where: str) -> None:
    if design.n < design.X.shape[1] + 3:
        raise GroupError(f"too few complete rows to fit {outcome!r}{where}", values=[design.n],
                         expected=f"at least {design.X.shape[1] + 3} rows")
    if np.ptp(design.y) == 0:
        raise NoVarianceError(f"the outcome has one value only{where}", column=outcome,
                              values=[design.y[0]], expected="variation in the outcome")
    for j, name in enumerate(design.names):
        if np.ptp(design.X[:, j]) == 0:
            raise NoVarianceError(f"a predictor has one value only{where}", column=name,
                                  values=[design.X[0, j]], expected="variation in every predictor")
    Z = np.column_stack([np.ones(design.n), design.X])
    Z = (Z - np.r_[0.0, design.X.mean(axis=0)]) / np.r_[1.0, design.X.std(axis=0)]
    rank = np.linalg.matrix_rank(Z)
    if rank < Z.shape[1]:
        # the predictors whose removal keeps the rank are the ones caught in the dependency
        involved = [name for j, name in enumerate(design.names)
                    if np.linalg.matrix_rank(np.delete(Z, j + 1, axis=1)) == rank]
        raise DataError(f"predictors are perfectly collinear{where}: their coefficients are not "
                        "determined", values=involved,
                        expected="predictors none of which is an exact linear combination of the others",
                        hint="Drop one of them (or a dummy level of a categorical control)")


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------

def _mean_sd(v: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Column means and SDs (divisor n - 1); with survey weights the weighted mean and the
    SD of ``survey::svyvar`` (``n / (n - 1) * sum w (v - mean)^2 / sum w``), which is the
    unweighted SD when every weight is equal."""
    if w is None:
        return v.mean(axis=0), v.std(axis=0, ddof=1)
    n = v.shape[0]
    mean = (w @ v) / w.sum()
    return mean, np.sqrt((w @ (v - mean) ** 2) / w.sum() * n / (n - 1))


def _standardize(design: _Design, model: str):
    X = design.X
    x_mean, x_sd = _mean_sd(X, design.w)
    mean = np.where(design.scaled, x_mean, 0.0)
    sd = np.where(design.scaled, x_sd, 1.0)
    Xs = (X - mean) / sd
    if model == "ols":
        y_mean, y_sd = _mean_sd(design.y, design.w)
    else:
        y_mean, y_sd = 0.0, 1.0
    return Xs, (design.y - y_mean) / y_sd, sd, y_sd


def _actual_cov(cov_type: str, model: str) -> str:
    if model != "ols" and cov_type in ("HC1", "HC2", "HC3"):
        return "HC0"  # statsmodels' discrete/likelihood models only define the HC0 sandwich
    return cov_type


def _sm_fit(model: str, y: np.ndarray, Xs: np.ndarray, cov_type: str, units: np.ndarray | None,
            need_cov: bool = True):
    """statsmodels fit -> (result, driver/control params, their covariance, converged).

    ``need_cov=False`` (R-squared of a submodel: only the log-likelihood is used) skips the
    covariance, which statsmodels cannot form when the Hessian is singular.
    """
    import statsmodels.api as sm

    kw: dict[str, Any] = {"cov_type": cov_type}
    if cov_type == "cluster":
        kw["cov_kwds"] = {"groups": units}
    if model == "ols":
        res = sm.OLS(y, sm.add_constant(Xs, has_constant="add")).fit(**kw)
        return res, res.params[1:], res.cov_params()[1:, 1:], True
    if model == "logit":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' own warnings; convergence checked below
            res = sm.Logit(y, sm.add_constant(Xs, has_constant="add")).fit(disp=0, maxiter=200, **kw)
        cov = res.cov_params()[1:, 1:] if need_cov else None
        return res, res.params[1:], cov, bool(res.mle_retvals["converged"])
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    p = Xs.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = OrderedModel(y, Xs, distr="logit").fit(method="bfgs", disp=0, maxiter=1000, **kw)
    cov = res.cov_params()[:p, :p] if need_cov else None
    return res, res.params[:p], cov, bool(res.mle_retvals["converged"])


DESIGN_COV = "linearization"
"""``cov_type`` of a weighted fit: the design-based (Taylor linearization) covariance of
``survey::svyglm`` on ``svydesign(ids = ~1, weights = ~w)`` (``ids = ~cluster`` with ``cluster=``)."""


def _svy_fit(model: str, y: np.ndarray, Xs: np.ndarray, w: np.ndarray, units: np.ndarray | None):
    """Survey-weighted fit as ``survey::svyglm`` (gaussian for OLS, quasibinomial for logit;
    ``survey::svyolr`` for ordinal, parameters ``[thresholds, beta]``):
    coefficients maximise the weighted (pseudo-)likelihood; the covariance is the linearization
    sandwich ``A^-1 B A^-1`` with ``A = Z' diag(w v) Z`` (``v`` = 1, or mu(1 - mu)) and ``B``
    the with-replacement variance of the score totals, ``m / (m - 1) sum (u_c - u_bar)(u_c -
    u_bar)'`` over the ``m`` respondents (or clusters), ``u`` = ``w (y - mu) z`` summed per unit.
    Residual df are svyglm's, ``m - 1 + 1 - (k + 1)``. Returns what :func:`_sm_fit` returns,
    the result being a namespace with ``params`` (intercept first), ``df_resid``, ``use_t``."""
    from types import SimpleNamespace

    Z = np.column_stack([np.ones(y.size), Xs])
    lead = 1
    if model == "ols":
        sw = np.sqrt(w)
        theta = np.linalg.lstsq(Z * sw[:, None], y * sw, rcond=None)[0]
        mu = Z @ theta
        a_inv = np.linalg.inv(Z.T @ (w[:, None] * Z))
        u = Z * (w * (y - mu))[:, None]
        converged = True
    else:
        lik = make_likelihood(model, Xs, y)
        start = lik.null_start(w)[None]
        theta, _, conv = newton_batch(lik, start, np.ones_like(start, bool), w)
        theta, converged, lead = theta[0], bool(conv[0]), lik.n_intercepts
        a_inv = np.linalg.inv(-lik.derivatives(theta[None], w)[2][0])
        u = lik.scores(theta) * w[:, None]
    if units is not None:
        u = np.asarray(pd.DataFrame(u).groupby(units, sort=True).sum())
    m = u.shape[0]
    uc = u - u.mean(axis=0)
    cov = a_inv @ (uc.T @ uc * (m / (m - 1))) @ a_inv
    # svyolr reports no residual df: the ordinal model keeps z, as unweighted
    res = SimpleNamespace(params=theta, df_resid=float(m - theta.size), use_t=model != "ordinal")
    return res, theta[lead:], cov[lead:, lead:], converged


def _null_loglik(y: np.ndarray) -> float:
    # intercept- (or thresholds-) only model reproduces the marginal distribution exactly
    _, counts = np.unique(y, return_counts=True)
    return float((counts * np.log(counts / y.size)).sum())


def _r2_subset(model: str, Xs: np.ndarray, ys: np.ndarray, cols: Sequence[int], llnull: float) -> float:
    if not cols:
        return 0.0
    cols = list(cols)
    if model == "ols":
        Z = Xs[:, cols] - Xs[:, cols].mean(axis=0)
        yc = ys - ys.mean()
        coef, *_ = np.linalg.lstsq(Z, yc, rcond=None)
        resid = yc - Z @ coef
        return float(1.0 - resid @ resid / (yc @ yc))
    try:
        res, *_ = _sm_fit(model, ys, Xs[:, cols], "nonrobust", None, need_cov=False)
    except Exception as exc:  # statsmodels raises assorted errors on degenerate submodels
        raise EstimationError(f"a submodel for the R-squared decomposition could not be fitted: "
                              f"{exc}", hint="Check for separation or too few rows") from exc
    return float(1.0 - res.llf / llnull)


def _dominance_refits(model: str, Xs, ys, n_drivers: int, llnull: float,
                      importance: str | None = "dominance") -> dict[str, Any]:
    """R2 of every subset of drivers (controls always in), one refit per subset; delta R2 and
    general dominance. The path for logit and ordinal models (McFadden R2); for OLS the
    covariance-based :func:`connection.outcomes._importance.ols_importance` replaces it (this
    OLS branch stays for the benchmark and as the tests' cross-check).
    ``importance=None`` fits only the full model, the models without one driver each and the
    controls-only model (``gd`` is NaN)."""
    p = Xs.shape[1]
    controls = list(range(n_drivers, p))
    full = tuple(range(n_drivers))
    if importance is None:
        subsets = [full, (), *(tuple(k for k in full if k != j) for j in full)]
    else:
        subsets = [s for size in range(n_drivers + 1)
                   for s in itertools.combinations(range(n_drivers), size)]
    r2 = {sub: _r2_subset(model, Xs, ys, [*sub, *controls], llnull) for sub in subsets}
    delta = np.array([r2[full] - r2[tuple(k for k in full if k != j)] for j in full])
    gd = np.full(n_drivers, np.nan)
    if importance is not None:
        for j in full:
            others = [k for k in full if k != j]
            per_size = []
            for size in range(n_drivers):
                incs = [r2[tuple(sorted((*s, j)))] - r2[s]
                        for s in itertools.combinations(others, size)]
                per_size.append(np.mean(incs))
            gd[j] = np.mean(per_size)
    return {"r2": r2[full], "r2_controls": r2[()], "delta": delta, "gd": gd}


def _importance(model: str, Xs, ys, n_drivers: int, importance: str | None,
                w: np.ndarray | None = None) -> dict[str, Any]:
    """R2, delta R2 and general dominance: from the (weighted) covariance matrix for OLS (all
    subsets at once, no refit); for logit and ordinal models every subset is fitted by batched,
    warm-started Newton steps (:func:`connection.outcomes._importance.likelihood_importance`:
    the numbers of :func:`_dominance_refits`, which refits each subset with statsmodels)."""
    if model == "ols":
        D = np.column_stack([ys, Xs])
        cov = np.cov(D, rowvar=False) if w is None else weighted_cov(D, w)
        return ols_importance(cov, n_drivers, importance)
    return likelihood_importance(model, Xs, ys, n_drivers, w, importance)


# --------------------------------------------------------------------------------------------
# vectorised bootstrap statistics (picklable classes, so n_jobs > 1 works)
# --------------------------------------------------------------------------------------------

class _OLSStatistic:
    """Standardized driver betas and their contrasts from weighted moments of the sampling units.

    data = (N_u, S1_u, S2_u): per unit (respondent or cluster) the count, the sums of the
    centred columns [y, X], and the sums of their pairwise products (upper triangle).
    """

    def __init__(self, q: int, n_drivers: int, contrasts: Sequence[tuple[int, int]],
                 full_var: np.ndarray | None = None):
        self.q = q
        self.n_drivers = n_drivers
        self.contrasts = list(contrasts)
        self.iu = np.triu_indices(q)
        self.full_var = full_var  # variances of [y, X] in the full sample

    def __call__(self, data, counts):
        n_u, s1, s2 = data
        counts = np.asarray(counts, dtype=float)
        total = counts @ n_u
        m = (counts @ s1) / total[:, None]
        m2 = (counts @ s2) / total[:, None]
        b = counts.shape[0]
        cov = np.empty((b, self.q, self.q))
        i, j = self.iu
        cov[:, i, j] = m2 - m[:, i] * m[:, j]
        cov[:, j, i] = cov[:, i, j]
        sxx = cov[:, 1:, 1:]
        sxy = cov[:, 1:, 0]
        coef = batched_solve(sxx, sxy)
        sd_x = np.sqrt(np.diagonal(sxx, axis1=1, axis2=2))
        beta = coef * sd_x / np.sqrt(cov[:, 0, 0])[:, None]
        if self.full_var is not None:
            # a column that is constant in a resample (a rare dummy level that was not drawn)
            # leaves the model unidentified there: that replicate fails, and is counted
            var = np.diagonal(cov, axis1=1, axis2=2)
            beta[np.any(var < 1e-10 * self.full_var, axis=1)] = np.nan
        return _with_contrasts(beta[:, : self.n_drivers], self.contrasts)


def _with_contrasts(coef: np.ndarray, contrasts: Sequence[tuple[int, int]]) -> np.ndarray:
    """``coef`` (replicates x drivers) with one column ``coef_i - coef_j`` appended per pair."""
    if not contrasts:
        return coef
    return np.column_stack([coef] + [coef[:, i] - coef[:, j] for i, j in contrasts])


def _unit_moments(design: _Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sampling unit: the (survey-weighted) count, sums of the centred ``[y, X]`` and of
    their pairwise products; a replicate's moments are then products with its counts."""
    D = np.column_stack([design.y, design.X])
    D = D - D.mean(axis=0)
    iu = np.triu_indices(D.shape[1])
    prods = D[:, iu[0]] * D[:, iu[1]]
    w = np.ones(design.n) if design.w is None else design.w
    if design.w is not None:
        D, prods = D * w[:, None], prods * w[:, None]
    if design.units is None:
        return w, D, prods
    n_units = int(design.units.max()) + 1
    n_u = np.bincount(design.units, weights=w, minlength=n_units).astype(float)
    s1 = np.zeros((n_units, D.shape[1]))
    s2 = np.zeros((n_units, prods.shape[1]))
    np.add.at(s1, design.units, D)
    np.add.at(s2, design.units, prods)
    return n_u, s1, s2


def _restandardized(raw, w, Xraw, sd, converged, contrasts):
    """Replicate coefficients re-standardized by each replicate's own driver SDs.

    ``raw`` (replicates x drivers) are coefficients on drivers z-scored by the full-sample SDs
    ``sd``; ``w`` the replicate weights of the respondents; non-converged replicates become NaN;
    for each pair ``(i, j)`` of ``contrasts`` the difference ``coef_i - coef_j`` is appended.
    """
    k = raw.shape[1]
    tot = w.sum(axis=1)[:, None]
    xr = Xraw[:, :k]
    m1 = (w @ xr) / tot
    m2 = (w @ xr**2) / tot
    sd_rep = np.sqrt(np.maximum(m2 - m1**2, 0) * tot / (tot - 1))
    coef = raw / sd[:k] * sd_rep
    coef[~converged] = np.nan
    return _with_contrasts(coef, contrasts)


class _LogitStatistic:
    """x-standardized logit driver coefficients by batched weighted IRLS (Newton) over replicates.

    data = unit codes (one per sampling unit); the counts of a replicate weight each respondent
    by the count of their unit.
    """

    def __init__(self, y, Xs, sd, units, start, n_drivers, contrasts, max_iter=50, tol=1e-9,
                 rw=None):
        self.rw = rw  # survey weights of the respondents (mean 1), or None
        self.y = y
        self.Z = np.column_stack([np.ones(y.size), Xs])
        self.sd = sd  # SDs of the (unscaled) columns used to z-score Xs
        self.units = units
        self.start = start
        self.n_drivers = n_drivers
        self.contrasts = list(contrasts)
        self.max_iter = max_iter
        self.tol = tol
        k = self.Z.shape[1]
        self.iu = np.triu_indices(k)
        self.prods = self.Z[:, self.iu[0]] * self.Z[:, self.iu[1]]
        self.Xraw = Xs * sd  # centred raw columns (only SDs matter)

    def __call__(self, data, counts):
        # diverging replicates (separation) overflow harmlessly: they end as NaN, counted as failed
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._irls(counts)

    def _irls(self, counts):
        counts = np.asarray(counts, dtype=float)
        w = counts if self.units is None else counts[:, self.units]
        if self.rw is not None:
            w = w * self.rw
        b, k = w.shape[0], self.Z.shape[1]
        beta = np.tile(self.start, (b, 1))
        converged = np.zeros(b, bool)
        i, j = self.iu
        zt = np.ascontiguousarray(self.Z.T)
        wy = w * self.y
        for _ in range(self.max_iter):
            mu = beta @ zt
            np.negative(mu, out=mu)
            np.exp(mu, out=mu)
            mu += 1.0
            np.reciprocal(mu, out=mu)           # mu = expit(eta)
            grad = (wy - w * mu) @ self.Z
            mu *= 1.0 - mu
            mu *= w                              # mu now holds the IRLS weights
            h = mu @ self.prods
            hess = np.empty((b, k, k))
            hess[:, i, j] = h
            hess[:, j, i] = h
            step = batched_solve(hess, grad)
            beta = beta + step
            converged = np.all(np.abs(step) < self.tol * (1 + np.abs(beta)), axis=1)
            if converged.all() or not np.isfinite(beta).all():
                break
        # separation or divergence: NaN, counted as failed by the engine
        return _restandardized(beta[:, 1 : 1 + self.n_drivers], w, self.Xraw, self.sd,
                               converged, self.contrasts)


class _OrdinalStatistic:
    """x-standardized proportional-odds (ordinal logit) driver coefficients for a batch of
    replicates at once: weighted Newton-Raphson on the exact log-likelihood, warm-started at the
    full-sample estimates. Model (as statsmodels' OrderedModel): P(y <= j) = F(tau_j - x'beta).
    The log-likelihood, gradient and analytic Hessian of every replicate at once are
    :class:`connection.outcomes._importance.OrdinalLikelihood`'s (each Hessian block one matrix
    product of the replicate weights with a fixed per-respondent array).
    """

    def __init__(self, y, Xs, sd, units, beta0, tau0, n_drivers, contrasts, max_iter=50, tol=1e-9,
                 rw=None):
        self.rw = rw  # survey weights of the respondents (mean 1), or None
        self.lik = OrdinalLikelihood(Xs, y)
        self.n_tau = self.lik.T
        self.sd = sd
        self.units = units
        self.start = np.r_[tau0, beta0]
        self.n_drivers = n_drivers
        self.contrasts = list(contrasts)
        self.max_iter = max_iter
        self.tol = tol
        self.Xraw = Xs * sd

    def __call__(self, data, counts):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._newton(counts)

    def _newton(self, counts):
        counts = np.asarray(counts, dtype=float)
        w = counts if self.units is None else counts[:, self.units]
        if self.rw is not None:
            w = w * self.rw
        T = self.n_tau
        theta = np.tile(self.start, (w.shape[0], 1))
        converged = np.zeros(w.shape[0], bool)
        for _ in range(self.max_iter):
            _, grad, hess = self.lik.derivatives(theta, w)
            step = -batched_solve(hess, grad)
            theta = theta + step
            converged = np.all(np.abs(step) < self.tol * (1 + np.abs(theta)), axis=1)
            if converged.all() or not np.isfinite(theta).all():
                break
        # an empty category or separation: NaN, counted as failed
        return _restandardized(theta[:, T: T + self.n_drivers], w, self.Xraw, self.sd,
                               converged, self.contrasts)


# --------------------------------------------------------------------------------------------
# one fit
# --------------------------------------------------------------------------------------------

def _fit_model(design: _Design, model: str, cov_type: str, Xs, ys, outcome: str, where: str):
    """The full model: statsmodels with the chosen robust covariance, or with survey weights the
    svyglm-like fit with the linearization covariance. Returns (res, params, cov, cov_used)."""
    cov_used = DESIGN_COV if design.w is not None else _actual_cov(cov_type, model)
    try:
        if design.w is not None:
            res, params, cov, converged = _svy_fit(model, ys, Xs, design.w, design.units)
        else:
            res, params, cov, converged = _sm_fit(model, ys, Xs, cov_used, design.units)
    except Exception as exc:
        raise EstimationError(f"the {model} model for {outcome!r}{where} could not be fitted: {exc}",
                              column=outcome, hint="Check for separation (a predictor that "
                              "perfectly predicts the outcome) or too few rows") from exc
    if not converged:
        why = ("" if model == "ols" else " (with a logit or ordinal outcome this usually means "
               "separation: some predictor values predict the outcome perfectly)")
        warn(f"the {model} model for {outcome!r}{where} did not converge{why}; its "
             "estimates are not trustworthy", ConvergenceWarning)
    return res, np.asarray(params, dtype=float), np.asarray(cov, dtype=float), cov_used, converged


def _inference(res, model: str, weighted: bool, level: float) -> tuple[float | None, float]:
    """(residual df of the t distribution or None for z, the critical value): statsmodels' t for
    OLS (``use_t``), svyglm's t on its residual df for any weighted fit, z otherwise."""
    if (model == "ols" or weighted) and res.use_t:
        df = float(res.df_resid)
        return df, float(stats.t.ppf(0.5 + level / 2, df))
    return None, z_critical(level)


def _pvalue(stat, df):
    return 2 * (stats.t.sf(np.abs(stat), df) if df is not None else stats.norm.sf(np.abs(stat)))


def _fit_one(design: _Design, *, outcome: str, model: str, cov_type: str, level: float,
             contrasts: Sequence[tuple[int, int]], n_boot: int, seed, n_jobs: int, progress,
             by: str, group: str, importance: str | None = "dominance",
             importance_intervals: bool | None = None
             ) -> tuple[list[dict], list[dict], dict]:
    where = "" if by == "" else f" in {by}={group!r}"
    _check_variance(design, outcome, where)
    if model == "ordinal" and np.unique(design.y).size < 3:
        raise OutOfRangeError(f"an ordinal outcome needs at least 3 categories{where}", column=outcome,
                              values=np.unique(design.y).tolist(), expected="3 or more categories; "
                              "use model='logit' for a yes/no outcome")
    Xs, ys, sd, y_sd = _standardize(design, model)
    res, params, cov, cov_used, converged = _fit_model(design, model, cov_type, Xs, ys, outcome,
                                                       where)
    se = np.sqrt(np.diag(cov))
    df, crit = _inference(res, model, design.w is not None, level)
    stat = params / se
    pval = _pvalue(stat, df)
    dom = _importance(model, Xs, ys, design.n_drivers, importance, design.w)
    if not dom.get("converged", True):
        warn(f"a submodel of the dominance analysis of {outcome!r}{where} did not converge "
             "(separation?); its R-squared decomposition is not trustworthy", ConvergenceWarning)
    gd_total = dom["gd"].sum()
    b_unstd = params * (y_sd if model == "ols" else 1.0) / sd
    rows = []
    for j, name in enumerate(design.names):
        is_driver = j < design.n_drivers
        rows.append({
            "outcome": outcome, "model": model, "by": by, "group": group, "n": design.n,
            "term": name, "role": "driver" if is_driver else "control", "beta": params[j],
            "se": se[j], "statistic": stat[j], "pvalue": pval[j],
            "ci_lower": params[j] - crit * se[j], "ci_upper": params[j] + crit * se[j],
            "b": b_unstd[j],
            "delta_r2": dom["delta"][j] if is_driver else np.nan,
            "general_dominance": dom["gd"][j] if is_driver else np.nan,
            "dominance_share": dom["gd"][j] / gd_total if is_driver and gd_total > 0 else np.nan,
            "dominance_ci_lower": np.nan, "dominance_ci_upper": np.nan,
            "share_ci_lower": np.nan, "share_ci_upper": np.nan,
            "r2": dom["r2"], "r2_type": "r2" if model == "ols" else "mcfadden", "cov_type": cov_used,
        })
    model_row = {"outcome": outcome, "model": model, "by": by, "group": group, "n": design.n,
                 "n_excluded": design.n_excluded, "r2": dom["r2"],
                 "r2_type": "r2" if model == "ols" else "mcfadden",
                 "r2_controls": dom["r2_controls"],
                 "n_clusters": 0 if design.units is None else int(design.units.max()) + 1,
                 "cov_type": cov_used, "converged": converged}
    diff_rows = _difference_rows(design, params, cov, contrasts, df, crit, level,
                                 outcome=outcome, model=model, by=by, group=group)
    if contrasts and n_boot:
        boot = _bootstrap_betas(design, model, Xs, ys, sd, params, res, contrasts, n_boot, seed,
                                n_jobs, progress, level, label=f"drivers {outcome}{where}")
        ci = boot.ci(level)
        # the statistic's columns: the driver coefficients, then one difference per pair
        for c, row in enumerate(diff_rows):
            pos = design.n_drivers + c
            row.update({"ci_lower": ci["ci_lower"].iloc[pos], "ci_upper": ci["ci_upper"].iloc[pos],
                        "boot_se": boot.se.iloc[pos], "ci_method": "bootstrap_percentile",
                        "n_boot": n_boot, "n_failed": boot.n_failed})
    if _wants_dominance_intervals(importance, importance_intervals, model, design.n_drivers,
                                  n_boot):
        dom_seed = seed.spawn(1)[0] if isinstance(seed, np.random.SeedSequence) else seed
        boot = _bootstrap_dominance(design, model, Xs, ys, dom, n_boot, dom_seed, n_jobs,
                                    progress, level, label=f"dominance {outcome}{where}")
        ci = boot.ci(level)
        p = design.n_drivers
        for j in range(p):
            rows[j].update({"dominance_ci_lower": ci["ci_lower"].iloc[j],
                            "dominance_ci_upper": ci["ci_upper"].iloc[j],
                            "share_ci_lower": ci["ci_lower"].iloc[p + j],
                            "share_ci_upper": ci["ci_upper"].iloc[p + j]})
    return rows, diff_rows, model_row


def _difference_rows(design, params, cov, contrasts, df, crit, level, *, outcome, model, by,
                     group) -> list[dict]:
    """Wald rows of the contrasts beta_i - beta_j (bootstrap columns filled in later)."""
    diff_rows = []
    for i, k in contrasts:
        est = params[i] - params[k]
        dse = float(np.sqrt(cov[i, i] + cov[k, k] - 2 * cov[i, k]))
        dstat = est / dse
        diff_rows.append({
            "outcome": outcome, "model": model, "by": by, "group": group, "n": design.n,
            "contrast": f"{design.names[i]} - {design.names[k]}", "estimate": est, "se": dse,
            "statistic": dstat, "pvalue": _pvalue(dstat, df), "wald_ci_lower": est - crit * dse,
            "wald_ci_upper": est + crit * dse, "ci_lower": np.nan, "ci_upper": np.nan,
            "boot_se": np.nan, "ci_method": "none", "level": level, "n_boot": 0, "n_failed": 0,
            "resampled": "clusters" if design.units is not None else "respondents",
        })
    return diff_rows


MAX_INTERVAL_DRIVERS = 12
"""``importance_intervals=None`` bootstraps the OLS dominance weights up to this many drivers
(every replicate computes all ``2**p`` subsets)."""


def _wants_dominance_intervals(importance, importance_intervals, model, p, n_boot) -> bool:
    if importance is None or not n_boot:
        return False
    if importance_intervals is None:
        return model == "ols" and p <= MAX_INTERVAL_DRIVERS
    return bool(importance_intervals)


def _bootstrap_betas(design, model, Xs, ys, sd, params, res, contrasts, n_boot, seed, n_jobs,
                     progress, level, label):
    from connection.stats._bootstrap import bootstrap

    n_units = design.n if design.units is None else int(design.units.max()) + 1
    if model == "ols":
        full_var = np.column_stack([design.y, design.X]).var(axis=0)
        stat = _OLSStatistic(1 + design.X.shape[1], design.n_drivers, contrasts, full_var)
        data = _unit_moments(design)
        mode = "counts"
    elif model == "logit":
        start = np.asarray(res.params, dtype=float)
        stat = _LogitStatistic(design.y, Xs, sd, design.units, start, design.n_drivers, contrasts,
                               rw=_mean_one(design.w))
        data = np.arange(n_units)
        mode = "counts"
    else:
        p = Xs.shape[1]
        if design.w is None:
            cuts = np.asarray(res.model.transform_threshold_params(np.asarray(res.params)))[1:-1]
            beta0 = np.asarray(res.params)[:p]
        else:   # the weighted fit's parameters are [thresholds, beta]
            cuts, beta0 = res.params[:-p], res.params[-p:]
        stat = _OrdinalStatistic(design.y, Xs, sd, design.units, beta0, cuts,
                                 design.n_drivers, contrasts, rw=_mean_one(design.w))
        data = np.arange(n_units)
        mode = "counts"
    return bootstrap(stat, data, n_boot=n_boot, seed=seed, mode=mode, n_jobs=n_jobs, level=level,
                     progress=progress, label=label, chunk_size=100)


def _mean_one(w: np.ndarray | None) -> np.ndarray | None:
    """Survey weights rescaled to mean 1 (weighted estimates do not depend on their scale; a
    replicate's weighted SDs then use about the same n / (n - 1) as the full sample's)."""
    return None if w is None else w / w.mean()


class _DominanceStatistic:
    """General dominance weights and their shares (each weight / their sum) per replicate.

    OLS: data are the (weighted) unit moments of ``[y, X]``; every replicate's covariance gives
    the R-squared of all subsets by sweeps. Logit and ordinal: data are the unit codes; each
    replicate refits all ``2**p`` subsets in one Newton batch, warm-started at the full
    sample's solutions of the same subsets (McFadden R-squared on the replicate's weights).
    """

    def __init__(self, model, n_drivers, full_var, lik=None, y=None, units=None, rw=None,
                 theta=None, controls=False):
        self.model = model
        self.p = n_drivers
        self.full_var = full_var
        self.lik, self.y, self.units, self.rw, self.theta = lik, y, units, rw, theta
        self.controls = controls

    def __call__(self, data, counts):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if self.model == "ols":
                cov = _replicate_covariances(data, counts)
                gd = general_dominance(subset_r2(cov, self.p), self.p)
                var = np.diagonal(cov, axis1=1, axis2=2)
            else:
                gd, var = self._refits(np.asarray(counts, dtype=float))
            out = np.column_stack([gd, gd / gd.sum(axis=1, keepdims=True)])
        out[np.any(var < 1e-10 * self.full_var, axis=1)] = np.nan
        return out

    def _refits(self, counts):
        from connection.latent.blas import BlasLimit

        with BlasLimit():
            return self._refit_all(counts)

    def _refit_all(self, counts):
        w_all = counts if self.units is None else counts[:, self.units]
        if self.rw is not None:
            w_all = w_all * self.rw
        subsets = np.arange(2**self.p)
        gd = np.empty((counts.shape[0], self.p))
        for r, w in enumerate(w_all):
            ll, _, conv = subset_loglik(self.lik, self.p, w, subsets, self.theta)
            r2 = 1.0 - ll / null_loglik(self.y, w)
            if not self.controls:
                r2[0] = 0.0
            gd[r] = general_dominance(r2, self.p) if conv.all() else np.nan
        X = self.lik.X if hasattr(self.lik, "X") else self.lik.Z[:, 1:]
        tot = w_all.sum(axis=1)[:, None]
        m = (w_all @ X) / tot
        return gd, (w_all @ X**2) / tot - m**2


def _bootstrap_dominance(design, model, Xs, ys, dom, n_boot, seed, n_jobs, progress, level,
                         label):
    """Bootstrap percentile intervals of the dominance weights and shares (columns: the
    weights, then the shares), respondents or clusters resampled, survey weights travelling."""
    from connection.stats._bootstrap import bootstrap

    p = design.n_drivers
    if model == "ols":
        full_var = np.column_stack([design.y, design.X]).var(axis=0)
        stat = _DominanceStatistic(model, p, full_var)
        data = _unit_moments(design)
    else:
        stat = _DominanceStatistic(model, p, Xs.var(axis=0),
                                   lik=make_likelihood(model, Xs, ys), y=ys, units=design.units,
                                   rw=_mean_one(design.w), theta=dom["theta"],
                                   controls=Xs.shape[1] > p)
        data = np.arange(design.n if design.units is None else int(design.units.max()) + 1)
    return bootstrap(stat, data, n_boot=n_boot, seed=seed, mode="counts", n_jobs=n_jobs,
                     level=level, progress=progress, label=label, chunk_size=100)


# --------------------------------------------------------------------------------------------
# interactions
# --------------------------------------------------------------------------------------------

def _interactions(design: _Design, groups: np.ndarray, *, outcome: str, model: str, by: str,
                  cov_type: str, level: float) -> list[dict]:
    levels = sorted(pd.unique(groups).tolist(), key=str)
    if len(levels) < 2:
        return []
    Xs, ys, _, _ = _standardize(design, model)
    dummies = np.column_stack([(groups == lev).astype(float) for lev in levels[1:]])
    inter = np.column_stack([Xs[:, j][:, None] * dummies for j in range(design.n_drivers)])
    Xfull = np.column_stack([Xs, dummies, inter])
    cov_used = _actual_cov(cov_type, model)
    try:
        if design.w is not None:
            _, params, cov, _ = _svy_fit(model, ys, Xfull, design.w, design.units)
        else:
            _, params, cov, _ = _sm_fit(model, ys, Xfull, cov_used, design.units)
    except Exception as exc:
        raise EstimationError(f"the interaction model for {outcome!r} by {by!r} could not be fitted: "
                              f"{exc}", column=by) from exc
    params = np.asarray(params, float)
    cov = np.asarray(cov, float)
    p0 = Xs.shape[1] + dummies.shape[1]
    g = len(levels) - 1
    z = z_critical(level)
    rows = []
    for j in range(design.n_drivers):
        sel = np.arange(p0 + j * g, p0 + (j + 1) * g)
        b = params[sel]
        V = cov[np.ix_(sel, sel)]
        chi2 = float(b @ np.linalg.solve(V, b))
        row = {"outcome": outcome, "model": model, "by": by, "driver": design.names[j],
               "n": design.n, "n_groups": len(levels), "reference": str(levels[0]),
               "statistic": chi2, "df": g, "pvalue": float(stats.chi2.sf(chi2, g)),
               "slope_difference": np.nan, "se": np.nan, "ci_lower": np.nan, "ci_upper": np.nan}
        if g == 1:
            se = float(np.sqrt(V[0, 0]))
            row.update({"slope_difference": float(b[0]), "se": se, "ci_lower": float(b[0] - z * se),
                        "ci_upper": float(b[0] + z * se)})
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class DriversResult(Reported):
    """What :func:`drivers` returns; every attribute is a tidy DataFrame.

    Attributes
    ----------
    table : pandas.DataFrame
        Coefficients, delta R-squared and dominance, columns :data:`TABLE_COLUMNS`.
    differences : pandas.DataFrame
        ``beta(connection) - beta(satisfaction)`` (one row per pair of drivers), columns
        :data:`DIFFERENCE_COLUMNS`.
    models : pandas.DataFrame
        One row per fitted model, columns :data:`MODEL_COLUMNS`.
    interactions : pandas.DataFrame
        Driver x group tests, columns :data:`INTERACTION_COLUMNS` (empty without ``by``).
    latent : pandas.DataFrame
        The latent version, columns :data:`LATENT_COLUMNS` (empty without ``latent``).
    settings : dict
        The arguments of the call.
    flags : tuple of connection._flags.Flag
        The problems of the latent version's fits (each message starts with its outcome):
        inadmissible solutions and poor fit; empty when there are none. Also in the ``flags``
        column of :attr:`latent`.
    """

    table: pd.DataFrame
    differences: pd.DataFrame
    models: pd.DataFrame
    interactions: pd.DataFrame
    latent: pd.DataFrame
    settings: dict = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()

    @property
    def admissible(self) -> bool:
        """True when no latent fit has a flag (always True without ``latent=``)."""
        return not self.flags

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (a copy)."""
        return self.table.copy()

    def _header(self) -> list[tuple[str, Any]]:
        s = self.settings
        kind = {"ols": "OLS, fully standardized betas",
                "logit": "logit, log-odds per SD of the driver",
                "ordinal": "proportional-odds logit, log-odds per SD of the driver"}[s["family"]]
        header = [("Family", kind),
                  ("R-squared", "R-squared" if s["family"] == "ols" else "McFadden pseudo-R-squared"),
                  ("Covariance", (DESIGN_COV + " (design-based, as survey::svyglm)"
                                  if s.get("weights") else _actual_cov(s["cov_type"], s["family"]))
                   + (f" (clusters: {s['cluster']})" if s["cluster"] else ""))]
        if s.get("weights"):
            header.append(("Weights", s["weights"]))
        if s["controls"]:
            header.append(("Controls", ", ".join(s["controls"])))
        if s["group"]:
            header.append(("Groups", ", ".join(map(str, s["group"]))))
        header += [("Level", f"{100 * s['level']:g}%"), ("Bootstrap replicates", s["n_boot"])]
        return header

    def summary(self) -> Report:
        """Every table as a :class:`connection._report.Report` (text, HTML, LaTeX): the
        coefficients, the differences of standardized coefficients, the interaction tests and
        the latent version, with the latent version's flags first."""
        report = Report(f"Drivers of {', '.join(self.settings['outcomes'])}",
                        header=self._header(), flags=self.flags)
        report.add_table(self.table[_coefficient_columns(self.table)], caption="Coefficients")
        if self.table[_INTERVAL_COLUMNS].notna().any().any():
            report.add_note("dominance_ci_* and share_ci_*: bootstrap percentile intervals of the "
                            "general dominance weight and of its share (importance_intervals)")
        if len(self.differences):
            report.add_table(self.differences[["outcome", "by", "group", "contrast", "estimate",
                                               "wald_ci_lower", "wald_ci_upper", "ci_lower",
                                               "ci_upper", "n_boot", "n_failed"]],
                             caption="Difference of standardized coefficients (Wald and bootstrap "
                                     "intervals)")
        if len(self.interactions):
            report.add_table(self.interactions[["outcome", "by", "driver", "statistic", "df",
                                                "pvalue", "p_adjusted", "slope_difference"]],
                             caption="Does the slope differ between groups? (Wald chi-square)")
        if len(self.latent):
            report.add_table(self.latent[["outcome", "term", "beta", "beta_se", "est", "se",
                                          "pvalue", "estimator", "cfi", "rmsea"]],
                             caption="Latent version (structural equation model, std_all)")
            if self.flags:
                report.add_note("the latent version is flagged: do not cite these latent numbers "
                                "as they stand")
        return report


_INTERVAL_COLUMNS = ["dominance_ci_lower", "dominance_ci_upper", "share_ci_lower",
                     "share_ci_upper"]


def _coefficient_columns(table: pd.DataFrame) -> list[str]:
    """The summary's coefficient columns: the dominance share when dominance was computed, its
    and the weight's bootstrap intervals when they were (columns that are all NaN are left
    out)."""
    cols = ["outcome", "by", "group", "n", "term", "beta", "ci_lower", "ci_upper", "pvalue",
            "delta_r2", "general_dominance"]
    if table["general_dominance"].notna().any():
        if table[_INTERVAL_COLUMNS[:2]].notna().any().any():
            cols += _INTERVAL_COLUMNS[:2]
        cols.append("dominance_share")
        if table[_INTERVAL_COLUMNS[2:]].notna().any().any():
            cols += _INTERVAL_COLUMNS[2:]
    return cols + ["r2"]


# --------------------------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------------------------

@renamed_keywords(by="group", model="family")
def drivers(
    data: pd.DataFrame,
    outcomes: Sequence[str] | str,
    drivers: Sequence[str] = ("connection", "satisfaction"),
    *,
    controls: Sequence[str] = (),
    group: Sequence[str] | str | None = None,
    family: str = "ols",
    cov_type: str = "HC3",
    cluster: str | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    level: float = DEFAULT_LEVEL,
    correction: str | None = "holm",
    latent: Mapping[str, Sequence[str]] | None = None,
    latent_estimator: str | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
    contrasts: Sequence[Sequence[str]] | None = None,
    importance: str | None = "dominance",
    importance_intervals: bool | None = None,
    weights: Any = UNSET,
    ordered: bool | Sequence[str] | None = None,
) -> DriversResult:
    """Regress outcomes on connection and satisfaction: strength, increments, dominance, contrast.

    Parameters
    ----------
    data
        One row per respondent: a DataFrame, a Survey, or a ``dask.dataframe.DataFrame``
        (data larger than memory). A Dask frame is fitted from partition-wise passes
        (:func:`connection.stats.sample_moments`: moments of the complete rows, then for
        ``HC*`` a second pass for the residuals and leverages): ``family="ols"``,
        ``n_boot=0``, numeric or True/False controls, ``cov_type`` HC0-HC3 or
        ``"nonrobust"``, or ``weights=`` a column of the frame (svyglm's linearization SEs);
        the numbers equal the in-memory path's (to 1e-8). Bootstrap, groups, clusters and
        ``latent=`` need the rows in memory and are refused on a Dask frame (an
        :class:`~connection.errors.ArgumentError` naming what to pass).
    outcomes
        Outcome columns (advocacy, loyalty, repurchase ...); each is fitted separately. Rows with a
        missing value in the outcome, a driver, a control or the cluster column are left out for
        that outcome (an :class:`~connection.errors.ExclusionWarning` says how many).
    drivers
        Numeric driver columns. Their standardized coefficients are contrasted pairwise (see
        ``contrasts``).
    controls
        Columns held constant in every model (numeric: z-scored; True/False: 0/1;
        text/categorical: dummies with the first level in sorted order as reference). Controls
        enter every dominance subset.
    group
        Column(s) defining groups (``by=`` is the old name): each group is fitted on its own, and
        an interaction model tests whether each driver's slope differs between the groups.
    family
        The regression family (``model=`` is the old name): ``"ols"`` (continuous or long
        Likert outcomes), ``"logit"`` (0/1 outcomes, e.g. top-box), ``"ordinal"``
        (proportional-odds logit for short Likert outcomes; statsmodels OrderedModel).
    cov_type
        ``"HC3"`` (default), ``"HC0"``-``"HC2"``, ``"nonrobust"`` or ``"cluster"`` (needs
        ``cluster``). Logit and ordinal models use the ``HC0`` sandwich for any ``HC`` choice.
    cluster
        Column of cluster ids for ``cov_type="cluster"``; the bootstrap then resamples clusters.
    n_boot
        Bootstrap replicates for the contrast interval (0 = none). Every model is vectorised over
        replicates: weighted moments (OLS), batched weighted Newton steps (logit, ordinal).
    seed
        Seed of the bootstrap: an integer, a ``SeedSequence`` or a ``Generator`` (one
        ``SeedSequence`` child per fit, in table order; the same generator state gives the same
        result).
    level
        Confidence level of every interval.
    correction
        Multiplicity correction across the interaction tests (``"holm"``, ``"bh"``,
        ``"bonferroni"``, ``None``; :func:`connection.stats.adjust_pvalues`).
    latent
        ``{"connection": [items], "satisfaction": [items]}``: also fit the latent version (see
        :attr:`DriversResult.latent`), keys matching ``drivers``. Numeric controls enter it as
        observed covariates that covary freely with the latent drivers and with each other (so
        the drivers' coefficients are adjusted for them). A fit with CFI below
        :data:`POOR_FIT_CFI` (.90) or RMSEA above :data:`POOR_FIT_RMSEA` (.10) (the robust
        versions under MLR) issues a :class:`PoorFitWarning` and is flagged ``poor_fit``;
        inadmissible solutions are flagged too (:attr:`DriversResult.flags`).
    latent_estimator
        Estimator of the latent version: ``"ML"`` or ``"MLR"`` (default), with ``ordered``
        ``"WLSMV"`` (default), ``"DWLS"``, ``"ULSMV"`` or ``"ULS"``.
    ordered
        The latent version on ordinal items (lavaan's ``sem(ordered=)``): ``True`` treats every
        item of ``latent`` and the outcome as ordinal (integer categories), a list names the
        ordinal columns. Fitted by WLSMV on polychoric correlations (robust SEs, scaled-shifted
        test; ``cfi``/``rmsea`` are the scaled ones). Numeric controls (and an outcome left
        out of the list) are continuous variables among the ordinal ones, as lavaan fits the
        same model (polyserial and Pearson statistics; a 0/1 control is refused: its mean and
        variance are one statistic). Weights are refused.
    n_jobs, progress
        Passed to :func:`connection.bootstrap`.
    contrasts
        The pairs of drivers whose standardized coefficients are compared, e.g.
        ``[("connection", "satisfaction")]`` (row ``"connection - satisfaction"``: first minus
        second). Default: every pair, in the order of ``drivers`` (with three drivers a, b, c:
        ``a - b``, ``a - c``, ``b - c``); ``[]`` for none. Applies to :attr:`DriversResult.differences`
        and to the latent version. The intervals are per pair (no multiplicity adjustment).
    importance
        ``"dominance"`` (default): general dominance weights (Shapley / LMG) of the drivers in
        ``general_dominance`` and their normalised shares (adding up to 1, i.e. 100%) in
        ``dominance_share``. For OLS they come exactly from the covariance matrix, every subset
        of drivers at once (:mod:`connection.outcomes._importance`: 20 drivers in about a
        second); for logit and ordinal models all ``2**p`` subsets are fitted by batched Newton
        steps with analytic Hessians, each warm-started from its parent subset (the numbers of
        refitting each with statsmodels, to 1e-8; 9 drivers at n = 2,000 in about a second). ``None``: no dominance analysis (those two columns
        are NaN); R-squared and ``delta_r2`` are still computed.
    importance_intervals
        Bootstrap percentile intervals of the dominance weights and shares
        (``dominance_ci_lower`` ... ``share_ci_upper``; ``n_boot`` replicates through
        :func:`connection.bootstrap`, seeded from the fit's seed). ``None`` (default): for OLS
        up to :data:`MAX_INTERVAL_DRIVERS` drivers (exact per replicate from its covariance
        matrix), not for logit/ordinal (each replicate refits all ``2**p`` subsets: one Newton
        batch, warm-started); ``True``/``False`` to force.
    weights
        Survey weights (a column, one weight per row, a rake result; a Survey's own weights
        unless ``weights=None``). Coefficients are then the survey-weighted ones and their SEs,
        t statistics (svyglm's residual df) and intervals are **design-based**: the
        linearization covariance of ``survey::svyglm`` on ``svydesign(ids = ~1, weights = ~w)``
        (``ids = ~cluster`` with ``cluster=``), gaussian for OLS, quasibinomial for logit
        (``survey::svyolr`` for ordinal, with z tests as svyolr gives no residual df);
        ``cov_type`` is then ``"linearization"`` whatever was asked. Drivers are z-scored by
        weighted means and ``svyvar`` SDs. With all weights equal the coefficients are the
        unweighted ones and the SEs the design-based (HC0 x n / (n - 1)) ones. Dominance uses
        the weighted covariance matrix (OLS) or weighted log-likelihoods (logit, ordinal); the
        bootstrap carries the weights with the resampled rows. With ``latent=`` the latent
        version is fitted with lavaan's ``sampling.weights`` (MLR: weighted moments, sandwich
        SEs, Yuan-Bentler scaled test; :func:`connection.latent.sem` ``weights=``).

    Returns
    -------
    DriversResult
        ``.table`` (:data:`TABLE_COLUMNS`), ``.differences`` (:data:`DIFFERENCE_COLUMNS`),
        ``.models`` (:data:`MODEL_COLUMNS`), ``.interactions`` (:data:`INTERACTION_COLUMNS`),
        ``.latent`` (:data:`LATENT_COLUMNS`), ``.summary()``.
    """
    if is_dask_frame(data):
        return _drivers_dask(data, outcomes, drivers, controls=controls, group=group,
                             family=family, cov_type=cov_type, cluster=cluster, n_boot=n_boot,
                             level=level, correction=correction, latent=latent,
                             contrasts=contrasts, importance=importance,
                             importance_intervals=importance_intervals, weights=weights,
                             ordered=ordered, seed=seed)
    data, survey_weights = as_frame(data)
    w = resolve_weights(data, weights, survey_weights)
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    drivers_ = [drivers] if isinstance(drivers, str) else list(drivers)
    controls = [controls] if isinstance(controls, str) else list(controls)
    group_cols = [] if group is None else ([group] if isinstance(group, str) else list(group))
    level = _check_arguments(data, outcomes, drivers_, controls, group_cols, family=family,
                             cov_type=cov_type, cluster=cluster, n_boot=n_boot, level=level,
                             correction=correction)
    check_choice(importance, "importance", ("dominance", None))
    if ordered is not None and not latent:
        raise ArgumentError("ordered= applies to the latent version only", values=[ordered],
                            expected="latent={driver: [items]} with ordered=, or no ordered=")
    pairs = _resolve_contrasts(drivers_, contrasts)

    n_fits = len(outcomes) * (1 + sum(data[g].dropna().nunique() for g in group_cols))
    seeds = iter(as_seed_sequence(seed).spawn(n_fits))
    rows, diffs, models, inters = [], [], [], []
    common = {"model": family, "cov_type": cov_type, "level": level, "contrasts": pairs,
              "n_boot": n_boot, "n_jobs": n_jobs, "progress": progress, "importance": importance,
              "importance_intervals": importance_intervals}
    for outcome in outcomes:
        design, keep = _design(data, outcome, drivers_, controls, cluster, family, weights=w)
        if design.n_excluded:
            warn(f"{outcome}: {design.n_excluded} of {len(data)} rows have a missing value "
                 "in the outcome, a driver, a control or the cluster column and are left out",
                 ExclusionWarning)
        r, d, m = _fit_one(design, outcome=outcome, by="", group="all", seed=next(seeds), **common)
        rows += r
        models.append(m)
        diffs += d
        for gcol in group_cols:
            gvals = data.loc[keep, gcol].to_numpy()
            has = pd.notna(gvals)
            if not has.all():
                warn(f"{outcome}: {int((~has).sum())} of {design.n} complete rows have no "
                     f"{gcol!r} and are left out of the by-group fits and interaction tests "
                     f"(they stay in the pooled fit)", ExclusionWarning)
            for lev in sorted(pd.unique(gvals[has]).tolist(), key=str):
                sub = design.subset(has & (gvals == lev))
                r, d, m = _fit_one(sub, outcome=outcome, by=gcol, group=str(lev), seed=next(seeds),
                                   **common)
                rows += r
                models.append(m)
                diffs += d
            inters += _interactions(design.subset(has), gvals[has], outcome=outcome, model=family,
                                    by=gcol, cov_type=cov_type, level=level)
    inter_df = pd.DataFrame(inters).reindex(columns=INTERACTION_COLUMNS)
    if len(inter_df):
        inter_df["p_adjusted"] = adjust_pvalues(inter_df["pvalue"].to_numpy(), correction=correction)
    latent_df = pd.DataFrame(columns=LATENT_COLUMNS)
    flags: list[Flag] = []
    if latent:
        latent_df, flags = _latent(data, outcomes, drivers_, controls, latent, latent_estimator,
                                   level, pairs, ordered=None if ordered is False else ordered,
                                   weights=w)
    settings = {"outcomes": outcomes, "drivers": drivers_, "controls": controls, "group": group_cols,
                "family": family, "cov_type": cov_type, "cluster": cluster, "n_boot": n_boot,
                "seed": seed if isinstance(seed, int | np.integer) else None,
                "level": level, "correction": correction, "importance": importance,
                "importance_intervals": importance_intervals,
                "weights": None if w is None else weights_label(weights, survey_weights),
                "contrasts": [(drivers_[i], drivers_[j]) for i, j in pairs]}
    return DriversResult(
        table=pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS),
        differences=pd.DataFrame(diffs).reindex(columns=DIFFERENCE_COLUMNS),
        models=pd.DataFrame(models).reindex(columns=MODEL_COLUMNS),
        interactions=inter_df,
        latent=latent_df,
        settings=settings,
        flags=tuple(flags),
    )


def _check_arguments(data, outcomes: list[str], drivers_: list[str], controls: list[str],
                     group_cols: list[str], *, family: str, cov_type: str, cluster: str | None,
                     n_boot: Any, level: Any, correction: Any) -> float:
    """Every argument check of :func:`drivers` before any fit; returns the level."""
    check_choice(family, "family", _FAMILIES)
    check_choice(cov_type, "cov_type", _COV_TYPES)
    if (cov_type == "cluster") != (cluster is not None):
        raise ArgumentError("cov_type='cluster' and cluster= go together",
                            values=[cov_type, cluster], expected="both or neither")
    if not outcomes or not drivers_:
        raise ArgumentError("drivers() needs at least one outcome and one driver",
                            values=[outcomes, drivers_], expected="outcomes=[...], drivers=[...]")
    overlap = set(outcomes) & set(drivers_ + controls)
    if overlap or len(set(drivers_ + controls)) != len(drivers_) + len(controls):
        raise ArgumentError("a column is used twice (as outcome, driver or control)",
                            values=sorted(overlap) or drivers_ + controls,
                            expected="distinct outcome, driver and control columns")
    level = check_level(level)
    check_n_boot(n_boot)
    check_correction(correction)
    _require_columns(data, outcomes + drivers_ + controls + group_cols + ([cluster] if cluster else []))
    for gcol in group_cols:
        levels = pd.unique(data[gcol].dropna())
        if len(levels) < 2:
            raise GroupError(f"group={gcol!r} has fewer than two groups: there is nothing to fit by "
                             "group or to test for an interaction", column=gcol, values=list(levels),
                             expected="a column with at least two groups (or leave it out of group=)")
    return level


def _resolve_contrasts(drivers_: list[str],
                       contrasts: Sequence[Sequence[str]] | None) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` of the driver contrasts ``beta_i - beta_j``."""
    if contrasts is None:
        return list(itertools.combinations(range(len(drivers_)), 2))
    if isinstance(contrasts, str) or not isinstance(contrasts, Sequence):  # a set has no order
        raise ArgumentError("contrasts must be a list of (driver, driver) pairs", values=[contrasts],
                            expected='e.g. contrasts=[("connection", "satisfaction")]')
    if len(contrasts) == 2 and all(isinstance(v, str) for v in contrasts):
        contrasts = [tuple(contrasts)]  # one pair given bare: ("connection", "satisfaction")
    pairs: list[tuple[int, int]] = []
    for pair in contrasts:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ArgumentError("each contrast is a pair of driver names", values=[pair],
                                expected='e.g. ("connection", "satisfaction")')
        a, b = pair
        unknown = [v for v in (a, b) if v not in drivers_]
        if unknown:
            raise ArgumentError("a contrast names a column that is not one of the drivers",
                                values=unknown, expected="one of " + ", ".join(map(repr, drivers_)))
        if a == b:
            raise ArgumentError("a contrast compares a driver with itself", values=[a],
                                expected="two different drivers")
        ij = (drivers_.index(a), drivers_.index(b))
        if ij in pairs:
            raise ArgumentError("a contrast is named twice", values=[f"{a} - {b}"],
                                expected="each pair once")
        pairs.append(ij)
    return pairs


def _latent_model(outcome: str, drivers_: list[str], controls: list[str],
                  latent: Mapping[str, Sequence[str]],
                  contrasts: Sequence[tuple[int, int]] | None = None) -> str:
    """lavaan-style text: a measurement model per latent driver, the regression, the contrasts.

    Observed controls covary freely with every latent driver and with each other (written out:
    ``connection ~~ age``, ``age ~~ female``), so that the coefficients of the drivers are
    adjusted for the controls. lavaan's default for an observed covariate in a regression with
    latent predictors (``fixed.x = TRUE``, and ``fixed.x = FALSE`` too) fixes its covariance with
    the latent variables at zero: nothing is controlled then, and the model misfits.
    A covariance written for a control makes it a random variable (lavaan's ``fixed.x = FALSE``
    for that variable: its variance is a free parameter).

    Contrast ``k`` is the defined parameter ``drivers_contrast_i_j := drivers_bi - drivers_bj``.
    """
    if contrasts is None:
        contrasts = list(itertools.combinations(range(len(drivers_)), 2))
    lines = [f"{lv} =~ " + " + ".join(latent[lv]) for lv in drivers_]
    labels = [f"drivers_b{j}" for j in range(len(drivers_))]
    rhs = [f"{lab}*{lv}" for lab, lv in zip(labels, drivers_)] + list(controls)
    lines.append(f"{outcome} ~ " + " + ".join(rhs))
    if controls:
        lines += [f"{lv} ~~ " + " + ".join(controls) for lv in drivers_]
        lines += [f"{a} ~~ {b}" for a, b in itertools.combinations(controls, 2)]
    lines += [f"{_contrast_label(i, j)} := {labels[i]} - {labels[j]}" for i, j in contrasts]
    return "\n".join(lines)


def _contrast_label(i: int, j: int) -> str:
    return f"drivers_contrast_{i}_{j}"


POOR_FIT_CFI = 0.90
"""The latent version's fit is flagged ``poor_fit`` (and warned about) when its CFI is below this
(the robust CFI under MLR)..."""
POOR_FIT_RMSEA = 0.10
"""... or its RMSEA (robust under MLR) above this (MacCallum, Browne & Sugawara 1996: > .10 poor)."""


def _latent_flags(fit, cfi: float, rmsea: float, estimator: str) -> list[Flag]:
    """The engine's admissibility flags (``Fit.flags``: convergence, identification, Heywood
    cases, a latent or latent-and-control covariance matrix that is not positive definite) and
    the drivers' own ``poor_fit``."""
    flags = list(fit.flags)
    robust = " (robust)" if estimator.upper() == "MLR" else ""
    poor = []
    if np.isfinite(cfi) and cfi < POOR_FIT_CFI:
        poor.append(f"CFI{robust} {cfi:.3f} < {POOR_FIT_CFI:.2f}")
    if np.isfinite(rmsea) and rmsea > POOR_FIT_RMSEA:
        poor.append(f"RMSEA{robust} {rmsea:.3f} > {POOR_FIT_RMSEA:.2f}")
    if poor:
        flags.append(Flag(POOR_FIT, "the latent model fits poorly (" + ", ".join(poor) + ")"))
    return flags


def _latent(data, outcomes, drivers_, controls, latent, estimator, level,
            contrasts=None, ordered=None, weights=None) -> tuple[pd.DataFrame, list[Flag]]:
    """Outcomes regressed on latent drivers through the engine (one SEM per outcome).

    Latent variances are fixed to 1 (``std_lv=True``), so ``est`` is in outcome units per latent
    standard deviation; ``beta`` is the engine's completely standardized value (std_all), with
    its delta-method SE. ``ordered``: the ordinal columns (WLSMV on polychorics, lavaan's
    ``ordered=``); ``weights``: one survey weight per row of ``data`` (lavaan's
    ``sampling.weights``, MLR). Returns the table and every flag, each message prefixed by its
    outcome.
    """
    if contrasts is None:
        contrasts = list(itertools.combinations(range(len(drivers_)), 2))
    items = _latent_items(data, drivers_, controls, latent)
    if estimator is None:
        estimator = "WLSMV" if ordered is not None else "MLR"
    if ordered is not None and weights is not None:
        raise ArgumentError("weights= with ordered= is not available for the latent version yet "
                            "(the engine fits ordinal indicators unweighted only)",
                            values=["ordered", "weights"],
                            expected="weights=None for the ordinal (WLSMV) latent version, or "
                                     "leave out ordered= to fit the items as continuous (MLR) "
                                     "with the weights")
    rows, all_flags = [], []
    for outcome in outcomes:
        sub, w = _latent_rows(data, outcome, items, controls, weights)
        text = _latent_model(outcome, drivers_, controls, latent, contrasts)
        ordinal = _latent_ordered(ordered, outcome, items, controls)
        fit = _latent_fit(text, sub, estimator, ordinal, w, outcome, controls)
        estimator_used = str(fit.estimation.options["estimator"])
        fm = fit.fit_measures

        def measure(name, fm=fm, est=estimator_used):
            suffix = {"MLR": "_robust", "WLSMV": "_scaled", "ULSMV": "_scaled"}.get(est.upper())
            key = f"{name}{suffix}" if suffix and f"{name}{suffix}" in fm.index else name
            return float(fm[key]) if key in fm.index else np.nan

        cfi, rmsea = measure("cfi"), measure("rmsea")
        flags = _latent_flags(fit, cfi, rmsea, estimator_used)
        if any(f.code == POOR_FIT for f in flags):
            poor = next(f for f in flags if f.code == POOR_FIT)
            warn(f"{outcome} (latent): {poor.message}; its coefficients describe a model "
                 "the data reject. Inspect the measurement model (cx.cfa) and "
                 "modification indices before reading them", PoorFitWarning)
        all_flags += [Flag(f.code, f"{outcome} (latent): {f.message}", f.parameters) for f in flags]
        common = {"outcome": outcome, "n": len(sub), "estimator": estimator_used,
                  "cfi": cfi, "rmsea": rmsea, "srmr": measure("srmr"),
                  "flags": format_flags(flags)}
        rows += _latent_rows_of(fit, outcome, drivers_, contrasts, common, level)
    return pd.DataFrame(rows).reindex(columns=LATENT_COLUMNS), all_flags


def _latent_items(data, drivers_, controls, latent) -> list[str]:
    missing = [d for d in drivers_ if d not in latent]
    if missing:
        raise ArgumentError("latent= needs the items of every driver", values=missing,
                            expected="latent={driver: [item columns]} for each driver")
    items = [c for d in drivers_ for c in latent[d]]
    _require_columns(data, items)
    for c in controls:
        if not (pd.api.types.is_numeric_dtype(data[c]) or data[c].dtype == bool):
            raise ArgumentError("the latent version takes numeric controls only", column=c,
                                expected="a numeric or True/False control (code dummies first)")
    return items


def _latent_rows(data, outcome, items, controls, weights):
    """The complete rows of one outcome's latent model (and their weights)."""
    cols = list(dict.fromkeys([outcome, *items, *controls]))
    sub = pd.DataFrame({c: _numeric(data, c) for c in cols})
    for c in cols:
        has = sub[c].notna().to_numpy()
        _check_magnitude(sub[c].to_numpy(dtype=float)[has], c, has)
    complete = sub.notna().all(axis=1)
    if not complete.all():
        warn(f"{outcome} (latent): {int((~complete).sum())} of {len(sub)} rows have a "
             "missing value in the outcome, an item or a control and are left out",
             ExclusionWarning)
    keep = complete.to_numpy()
    return sub.loc[complete], (None if weights is None else np.asarray(weights, float)[keep])


def _latent_ordered(ordered, outcome, items, controls):
    """The ordinal columns of one outcome's model: ``True`` is every item and the outcome (the
    controls stay continuous); a list names them (each a model column)."""
    if ordered is None:
        return None
    if ordered is True:
        return [outcome, *items]
    names = [ordered] if isinstance(ordered, str) else list(ordered)
    model_cols = [outcome, *items, *controls]
    unknown = [c for c in names if c not in model_cols]
    if unknown:
        raise ArgumentError("ordered= names columns that are not in the latent model",
                            values=unknown, expected="items, the outcome or controls: "
                                                     + ", ".join(model_cols))
    return [c for c in model_cols if c in names]


def _latent_fit(text, sub, estimator, ordinal, w, outcome, controls):
    """One engine fit. With ``ordered``, the columns not named ordinal (the controls, and the
    outcome when it is left out of a list) are continuous variables among the ordinal ones:
    each control covaries with the latent drivers, so none is an exogenous covariate and, as
    lavaan (no ``ov.x``, ``conditional.x`` FALSE), the statistics are the mixed ones (the
    controls' means, variances and covariances beside the thresholds and polychorics)."""
    from connection.latent import sem

    kw: dict[str, Any] = {"estimator": estimator, "std_lv": True}
    if ordinal is not None:
        kw["ordered"] = ordinal
        _check_continuous_controls(sub, ordinal, outcome)
    if w is not None:
        kw["weights"] = w
    fit = sem(text, sub, **kw)
    return fit


def _check_continuous_controls(sub, ordinal, outcome):
    """A continuous column among ordinal ones with two values (a 0/1 dummy) has collinear mean
    and variance scores: its asymptotic covariance (Muthen 1984) does not exist (lavaan warns
    and uses a generalized inverse). Refused, naming the column."""
    two = [c for c in sub.columns if c not in ordinal and sub[c].nunique() <= 2]
    if two:
        raise ArgumentError(
            f"{outcome} (latent): with ordered=, a continuous control with two values has no "
            "asymptotic covariance (its mean and variance are one statistic)", values=two,
            expected="continuous controls with more than two values (or no ordered=, the "
                     "items treated as continuous, MLR)",
            hint="leave the dummy out of the ordinal latent version, or fit it without ordered=")


def _std_all_se(fit, positions: list[int]) -> np.ndarray:
    """Delta-method SEs of the completely standardized values (std_all) of rows of
    ``fit.estimates`` (as lavaan's ``standardizedSolution(se = TRUE)``): the Jacobian of
    std_all in the free parameters by central differences, times the fit's covariance."""
    from connection.latent.defined import defined_parameters
    from connection.latent.standardize import standardize_plan

    est = fit.estimation
    struct, pt = est.structure, est.partable
    plan = standardize_plan(struct, pt)
    defined = defined_parameters(struct, pt)
    ridx = np.asarray(struct.row_index)
    n_rows = len(pt.frame)
    n_groups = len(est.implied)

    def std_all(theta):
        vals = struct.row_values(theta, est.fixed)
        imps = [struct.implied(g, vals) for g in range(n_groups)]
        vals = struct.complete_values(vals, imps)
        stacks = [{"sigma": i.sigma[None], "C": i.C[None], "T": i.T[None], "P": i.P[None]}
                  for i in imps]
        _, al = plan(vals[None], stacks, std_lv=False)
        out = np.full(n_rows, np.nan)
        out[ridx] = al[0]
        if len(defined):
            out[defined.rows] = defined(al, errors="nan")[0]
        return out[positions]

    theta = np.asarray(est.theta, dtype=float)
    jac = np.zeros((len(positions), theta.size))
    for k in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        jac[:, k] = (std_all(tp) - std_all(tm)) / (2 * h)
    return np.sqrt(np.clip(np.einsum("ik,kl,il->i", jac, np.asarray(est.vcov), jac), 0, None))


def _latent_rows_of(fit, outcome, drivers_, contrasts, common, level) -> list[dict]:
    """The table rows of one fit: one per driver, one per contrast."""
    est = fit.estimates.reset_index(drop=True)
    z = z_critical(level)
    reg = est[(est["op"] == "~") & (est["lhs"] == outcome)]
    reg_pos = {rhs: int(i) for i, rhs in zip(reg.index, reg["rhs"])}
    defined = est[est["op"] == ":="]
    def_pos = {lhs: int(i) for i, lhs in zip(defined.index, defined["lhs"])}
    positions = ([reg_pos[d] for d in drivers_]
                 + [def_pos[_contrast_label(i, j)] for i, j in contrasts])
    beta_se = _std_all_se(fit, positions)
    rows = []
    terms = list(drivers_) + [f"{drivers_[i]} - {drivers_[j]}" for i, j in contrasts]
    for term, pos, bse in zip(terms, positions, beta_se):
        r = est.loc[pos]
        rows.append({**common, "term": term, "beta": r["std_all"], "beta_se": bse,
                     "beta_ci_lower": r["std_all"] - z * bse,
                     "beta_ci_upper": r["std_all"] + z * bse,
                     "est": r["est"], "se": r["se"], "pvalue": r["pvalue"],
                     "ci_lower": r["est"] - z * r["se"], "ci_upper": r["est"] + z * r["se"]})
    return rows


# --------------------------------------------------------------------------------------------
# Dask frames: OLS from partition-wise moments (issue 18)
# --------------------------------------------------------------------------------------------

_DASK_COV_TYPES = ("HC3", "HC0", "HC1", "HC2", "nonrobust")


def _drivers_dask(data, outcomes, drivers_, *, controls, group, family, cov_type, cluster, n_boot,
                  level, correction, latent, contrasts, importance, importance_intervals,
                  weights, ordered, seed) -> DriversResult:
    """:func:`drivers` on a ``dask.dataframe.DataFrame``: per outcome one pass for the moments
    of ``[outcome, drivers, controls]`` over the complete rows
    (:func:`connection.stats._dask.sample_moments`), the coefficients, R-squared, delta
    R-squared and dominance from them, and for an HC covariance a second pass summing
    ``w_i x_i x_i'`` (``x_i`` centred, ``w_i`` = ``e_i^2``, ``/(1 - h_ii)`` or
    ``/(1 - h_ii)^2``); the numbers of the in-memory path."""
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    drivers_ = [drivers_] if isinstance(drivers_, str) else list(drivers_)
    controls = [controls] if isinstance(controls, str) else list(controls)
    _check_dask_arguments(data, family=family, n_boot=n_boot, group=group, cov_type=cov_type,
                          cluster=cluster, latent=latent, weights=weights, ordered=ordered,
                          importance_intervals=importance_intervals)
    # the frame's empty pandas counterpart (columns and dtypes) for the in-memory checks
    level = _check_arguments(data._meta, outcomes, drivers_, controls, [], family=family,
                             cov_type=cov_type, cluster=None, n_boot=n_boot, level=level,
                             correction=correction)
    check_choice(importance, "importance", ("dominance", None))
    pairs = _resolve_contrasts(drivers_, contrasts)
    wcol = weights if isinstance(weights, str) else None
    if wcol is not None and wcol not in data.columns:
        raise MissingColumnError("weights names a column that is not in the data", column=wcol,
                                 expected="a column of survey weights")
    frame, scaled = _dask_numeric(data, [*outcomes, *drivers_], controls)
    rows, diffs, models = [], [], []
    for outcome in outcomes:
        r, d, m = _fit_dask(frame, outcome, drivers_, controls, scaled, cov_type=cov_type,
                            level=level, contrasts=pairs, importance=importance, wcol=wcol)
        rows += r
        diffs += d
        models.append(m)
    settings = {"outcomes": outcomes, "drivers": drivers_, "controls": controls, "group": [],
                "family": family, "cov_type": cov_type, "cluster": None, "n_boot": 0,
                "seed": seed if isinstance(seed, int | np.integer) else None,
                "level": level, "correction": correction, "importance": importance,
                "importance_intervals": False, "weights": wcol, "dask": True,
                "contrasts": [(drivers_[i], drivers_[j]) for i, j in pairs]}
    return DriversResult(
        table=pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS),
        differences=pd.DataFrame(diffs).reindex(columns=DIFFERENCE_COLUMNS),
        models=pd.DataFrame(models).reindex(columns=MODEL_COLUMNS),
        interactions=pd.DataFrame(columns=INTERACTION_COLUMNS),
        latent=pd.DataFrame(columns=LATENT_COLUMNS), settings=settings)


def _check_dask_arguments(data, *, family, n_boot, group, cov_type, cluster, latent, weights,
                          ordered, importance_intervals) -> None:
    """What a Dask frame does not support yet, each refused naming what to do."""
    what = "on a Dask frame"
    refusals = [
        (family != "ols", "family", family, "family='ols' (logit and ordinal need the rows in "
         "memory: data.compute())"),
        (n_boot != 0, "n_boot", n_boot, "n_boot=0 (the bootstrap needs the rows in memory: "
         "data.compute() for bootstrap intervals)"),
        (group is not None, "group", group, "group=None (fit each group's rows, e.g. "
         "data[data.g == level], separately)"),
        (cluster is not None or cov_type == "cluster", "cluster", cluster,
         "cov_type among " + ", ".join(_DASK_COV_TYPES)),
        (bool(latent), "latent", latent, "latent=None (connection.latent.sem on the moments, or "
         "data.compute())"),
        (ordered is not None, "ordered", ordered, "ordered=None"),
        (weights is not UNSET and weights is not None and not isinstance(weights, str),
         "weights", type(weights).__name__, "weights= as a column of the Dask frame"),
        (bool(importance_intervals), "importance_intervals", importance_intervals,
         "importance_intervals=None (bootstrap intervals need the rows in memory)"),
    ]
    for bad, name, value, expected in refusals:
        if bad:
            raise ArgumentError(f"{name}= is not available {what} yet", values=[value],
                                expected=expected)


def _dask_numeric(data, numeric: list[str], controls: list[str]):
    """The frame with True/False controls as 0/1 floats, and which predictors are z-scored
    (every numeric control; not the 0/1 ones); a text or categorical control is refused."""
    dtypes = data.dtypes
    casts, scaled = {}, {}
    for c in controls:
        if pd.api.types.is_bool_dtype(dtypes[c]):
            casts[c] = data[c].astype(float)
            scaled[c] = False
        elif pd.api.types.is_numeric_dtype(dtypes[c]):
            scaled[c] = True
        else:
            raise NonNumericError(f"control {c!r} is not numeric ({dtypes[c]}): categorical "
                                  "controls are not available on a Dask frame yet", column=c,
                                  expected="a numeric or True/False control (code dummies "
                                           "first, or data.compute())")
    return (data.assign(**casts) if casts else data), scaled


def _fit_dask(frame, outcome, drivers_, controls, scaled, *, cov_type, level, contrasts,
              importance, wcol=None):
    from connection.stats._dask import sample_moments

    cols = [outcome, *drivers_, *controls]
    mom = sample_moments(frame, items=cols, weights=wcol)
    n = int(mom.n.get(None, 0))
    n_excl = int(sum(mom.rows.values()) - n)
    if n_excl:
        warn(f"{outcome}: {n_excl} of {n + n_excl} rows have a missing value in the outcome, a "
             "driver or a control and are left out", ExclusionWarning)
    cov = np.asarray(mom.cov_unbiased[None], float) if n else np.empty((0, 0))
    names = [*drivers_, *controls]
    _check_moments(cov, n, outcome, names)
    mean = np.asarray(mom.mean[None], float)
    sxx, sxy = cov[1:, 1:], cov[1:, 0]
    b = np.linalg.solve(sxx, sxy)
    sd_y = np.sqrt(cov[0, 0])
    sd = np.where([True] * len(drivers_) + [scaled[c] for c in controls],
                  np.sqrt(np.diag(sxx)), 1.0)
    vb, df, crit, cov_type = _dask_vcov(frame, cols, wcol, mean, cov, b, n,
                                        mom.weight_total[None], cov_type, level)
    scale = sd / sd_y
    params = b * scale
    vcov = vb * np.outer(scale, scale)
    se = np.sqrt(np.diag(vcov))
    stat_ = params / se
    pval = _pvalue(stat_, df)
    dom = ols_importance(cov, len(drivers_), importance)
    gd_total = dom["gd"].sum()
    rows = []
    for j, name in enumerate(names):
        is_driver = j < len(drivers_)
        rows.append({
            "outcome": outcome, "model": "ols", "by": "", "group": "all", "n": n, "term": name,
            "role": "driver" if is_driver else "control", "beta": params[j], "se": se[j],
            "statistic": stat_[j], "pvalue": pval[j], "ci_lower": params[j] - crit * se[j],
            "ci_upper": params[j] + crit * se[j], "b": b[j],
            "delta_r2": dom["delta"][j] if is_driver else np.nan,
            "general_dominance": dom["gd"][j] if is_driver else np.nan,
            "dominance_share": dom["gd"][j] / gd_total if is_driver and gd_total > 0 else np.nan,
            "r2": dom["r2"], "r2_type": "r2", "cov_type": cov_type})
    design = _Design(np.empty(n), np.empty((n, 0)), names, len(drivers_), np.array([]), None,
                     n_excl)
    diffs = _difference_rows(design, params, vcov, contrasts, df, crit, level, outcome=outcome,
                             model="ols", by="", group="all")
    model = {"outcome": outcome, "model": "ols", "by": "", "group": "all", "n": n,
             "n_excluded": n_excl, "r2": dom["r2"], "r2_type": "r2",
             "r2_controls": dom["r2_controls"], "n_clusters": 0, "cov_type": cov_type,
             "converged": True}
    return rows, diffs, model


def _check_moments(cov: np.ndarray, n: int, outcome: str, names: list[str]) -> None:
    """The in-memory path's checks (:func:`_check_variance`) on the moments."""
    if n < len(names) + 3:
        raise GroupError(f"too few complete rows to fit {outcome!r}", values=[n],
                         expected=f"at least {len(names) + 3} rows")
    if not np.isfinite(cov).all():
        raise OutOfRangeError("values too large to compute with (their squares overflow double "
                              "precision)", column=outcome, values=[],
                              expected="values on the survey's scale",
                              hint="Check for unconverted missing-value codes or a unit error")
    var = np.diag(cov)
    if var[0] <= 0:
        raise NoVarianceError("the outcome has one value only", column=outcome,
                              expected="variation in the outcome")
    for j, name in enumerate(names):
        if var[j + 1] <= 0:
            raise NoVarianceError("a predictor has one value only", column=name,
                                  expected="variation in every predictor")
    corr = cov[1:, 1:] / np.sqrt(np.outer(var[1:], var[1:]))
    rank = np.linalg.matrix_rank(corr)
    if rank < len(names):
        involved = [nm for j, nm in enumerate(names)
                    if np.linalg.matrix_rank(np.delete(np.delete(corr, j, 0), j, 1)) == rank]
        raise DataError("predictors are perfectly collinear: their coefficients are not "
                        "determined", values=involved,
                        expected="predictors none of which is an exact linear combination of "
                                 "the others",
                        hint="Drop one of them")


def _dask_vcov(frame, cols, wcol, mean, cov, b, n, weight_total, cov_type, level):
    """Covariance of the slopes ``b``, the t df (None: z), the critical value and the
    covariance's name: classical from the moments, HC0-HC3 or (with weights) svyglm's
    linearization sandwich from a second pass. With an intercept and centred predictors
    ``Z'WZ`` is block diagonal, so the slopes' block of the sandwich is
    ``A_xx^-1 M_xx A_xx^-1``; with weights the score totals sum to 0 at the solution, so
    svyglm's ``m / (m - 1) sum (u_i - u_bar)(u_i - u_bar)'`` is ``n / (n - 1) sum w_i^2 e_i^2
    x_i x_i'``."""
    k = len(b)
    if wcol is not None:
        a_inv = np.linalg.inv(cov[1:, 1:] * (n - 1) / n * weight_total)
        meat = _hc_meat(frame, cols, wcol, mean, b, a_inv, n, "weighted") * n / (n - 1)
        df = float(n - k - 1)
        return a_inv @ meat @ a_inv, df, float(stats.t.ppf(0.5 + level / 2, df)), DESIGN_COV
    a_inv = np.linalg.inv((n - 1) * cov[1:, 1:])
    if cov_type == "nonrobust":
        rss = (n - 1) * (cov[0, 0] - cov[1:, 0] @ b)
        df = float(n - k - 1)
        return rss / df * a_inv, df, float(stats.t.ppf(0.5 + level / 2, df)), cov_type
    vb = a_inv @ _hc_meat(frame, cols, None, mean, b, a_inv, n, cov_type) @ a_inv
    if cov_type == "HC1":
        vb = vb * n / (n - k - 1)
    return vb, None, z_critical(level), cov_type


def _hc_meat(frame, cols, wcol, mean, b, a_inv, n, cov_type) -> np.ndarray:
    """Second pass: ``sum_i w_i x_i x_i'`` over the complete rows (``x_i`` the centred
    predictors, ``w_i`` from the residual ``e_i`` and the leverage
    ``h_ii = 1/n + x_i' (X'X)^-1 x_i`` of the model with an intercept; with survey weights
    ``v_i``, ``w_i = v_i^2 e_i^2``)."""
    from connection.stats._dask import _reduce_dask

    use = cols + ([wcol] if wcol is not None else [])
    parts = _reduce_dask(frame[use], _partition_meat, _add_meat, len(cols), mean, b, a_inv, n,
                         cov_type)
    return parts["meat"]


def _partition_meat(part: pd.DataFrame, q, mean, b, a_inv, n, cov_type) -> dict:
    z = part.to_numpy(dtype=float, na_value=np.nan)
    z = z[~np.isnan(z[:, :q]).any(axis=1)]
    v = z[:, q] if z.shape[1] > q else None
    z = z[:, :q] - mean
    x, e = z[:, 1:], z[:, 0] - z[:, 1:] @ b
    w = e**2
    if v is not None:
        w = w * v**2
    elif cov_type in ("HC2", "HC3"):
        h = 1.0 / n + np.einsum("ij,jk,ik->i", x, a_inv, x)
        w = w / (1.0 - h) ** (1 if cov_type == "HC2" else 2)
    return {"meat": (x * w[:, None]).T @ x}


def _add_meat(a: dict, b: dict) -> dict:
    return {"meat": a["meat"] + b["meat"]}


# --------------------------------------------------------------------------------------------
# relative weights (the numerics are in connection.outcomes._importance)
# --------------------------------------------------------------------------------------------

RELATIVE_WEIGHTS_COLUMNS = [
    "outcome", "term", "raw_weight", "raw_ci_lower", "raw_ci_upper", "rescaled",
    "rescaled_ci_lower", "rescaled_ci_upper", "random_difference", "random_ci_lower",
    "random_ci_upper", "exceeds_random", "n", "r2", "r2_type", "family", "level", "n_boot",
    "n_failed",
]
"""Columns of :attr:`RelativeWeightsResult.table` (one row per driver):

outcome, term
    The outcome and the driver.
raw_weight, raw_ci_lower, raw_ci_upper
    Johnson's raw relative weight (epsilon: the driver's share of R-squared, in R-squared units)
    and its bootstrap percentile interval.
rescaled, rescaled_ci_lower, rescaled_ci_upper
    The raw weight as a percentage of the drivers' total (the rescaled weights add up to 100),
    and its interval.
random_difference, random_ci_lower, random_ci_upper, exceeds_random
    Tonidandel, LeBreton & Johnson (2009): a random standard-normal variable (seeded) is added
    to the drivers; ``random_difference`` is the driver's raw weight minus the random
    variable's in that model, with its bootstrap percentile interval; ``exceeds_random`` is True
    when the interval lies above 0 (the driver explains more than chance), NA without bootstrap.
n, r2, r2_type, family
    Respondents used; the drivers' total (the sum of raw weights: R-squared, or with controls
    R-squared(full) - R-squared(controls); for a logit outcome the squared correlation of the
    outcome with the predicted probability), its kind, and the family.
level, n_boot, n_failed
    Interval level, bootstrap replicates and failed replicates (excluded from the intervals).
"""

_RW_FAMILIES = ("ols", "logit")


def relative_weights(
    data,
    outcome: str,
    drivers,
    *,
    controls=(),
    family: str = "ols",
    n_boot: int = DEFAULT_N_BOOT,
    seed=None,
    level: float = DEFAULT_LEVEL,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> RelativeWeightsResult:
    """Johnson's (2000) relative weights with bootstrap intervals and the test against a random
    variable (Tonidandel, LeBreton & Johnson 2009; Tonidandel & LeBreton 2015, RWA-Web).

    Parameters
    ----------
    data
        One row per respondent (a DataFrame).
    outcome
        The outcome column (numeric; 0/1 for ``family="logit"``).
    drivers
        Numeric driver columns (at least one).
    controls
        Columns partialled out of the drivers and the outcome (numeric, True/False, or
        categorical: dummies, as in :func:`connection.drivers`); the drivers' raw weights then add
        up to the R-squared they add beyond the controls. ``family="ols"`` only.
    family
        ``"ols"`` (Johnson 2000, from the covariance matrix) or ``"logit"`` (a binary outcome:
        Tonidandel & LeBreton 2010, standardized logistic coefficients on the orthogonal
        drivers; see :func:`logistic_relative_weights`).
    n_boot
        Bootstrap replicates (:func:`connection.bootstrap`, respondents resampled, every replicate
        at once); default ``DEFAULT_N_BOOT`` (2000); 0 for no intervals and no random-variable
        test.
    seed
        Seeds the random variable and the bootstrap (int, SeedSequence or Generator).
    level
        Interval level (``DEFAULT_LEVEL``, 0.95).
    n_jobs, progress
        Passed to :func:`connection.bootstrap`.

    Returns
    -------
    RelativeWeightsResult
        ``.table`` (:data:`RELATIVE_WEIGHTS_COLUMNS`), ``.r2``, ``.summary()``, ``.to_frame()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import connection as cx
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(800, 3)); x[:, 1] += 0.6 * x[:, 0]
    >>> df = pd.DataFrame(x, columns=["connection", "satisfaction", "price"])
    >>> df["loyalty"] = 0.5 * df.connection + 0.3 * df.satisfaction + rng.normal(size=800)
    >>> res = relative_weights(df, "loyalty", ["connection", "satisfaction", "price"],
    ...                        n_boot=200, seed=1, progress=False)
    >>> t = res.table.set_index("term")
    >>> round(float(t["rescaled"].sum()), 6), bool(abs(t["raw_weight"].sum() - res.r2) < 1e-12)
    (100.0, True)
    >>> t["exceeds_random"].tolist()
    [True, True, False]
    """
    n_boot = check_n_boot(n_boot)
    level = check_level(level)
    check_choice(family, "family", _RW_FAMILIES)
    drivers_, controls_ = _rw_arguments(data, outcome, drivers, controls, family)
    design = _rw_design(data, outcome, drivers_, controls_, family)
    rw_seed, boot_seed = spawn(seed, 2)
    random = np.random.default_rng(rw_seed).standard_normal(design.n)
    p = design.n_drivers
    X = np.column_stack([design.X[:, :p], random, design.X[:, p:]])
    full_var = np.column_stack([design.y, X]).var(axis=0)
    if family == "ols":
        stat = _RelativeWeightsStatistic("ols", p, full_var)
        moments = _centred_moments(np.column_stack([design.y, X]))
    else:
        stat = _RelativeWeightsStatistic("logit", p, full_var[1:], X=X, y=design.y)
        moments = np.arange(design.n)
    estimate = stat(moments, np.ones((1, design.n)))[0]
    if not np.isfinite(estimate).all():
        raise EstimationError("the relative weights could not be computed (a logistic fit did "
                              "not converge: a driver separates the outcome perfectly?)",
                              column=outcome, hint="Check for separation or too few rows")
    boot = None
    if n_boot:
        from connection.stats._bootstrap import bootstrap

        boot = bootstrap(stat, moments, n_boot=n_boot, seed=boot_seed, mode="counts",
                         n_jobs=n_jobs, level=level, progress=progress,
                         label=f"relative weights {outcome}", chunk_size=100)
    table = _rw_table(outcome, drivers_, estimate, boot, design.n, family, level, n_boot)
    settings = {"outcome": outcome, "drivers": drivers_, "controls": controls_, "family": family,
                "n_boot": n_boot, "level": level,
                "seed": seed if isinstance(seed, int | np.integer) else None}
    return RelativeWeightsResult(table=table, r2=float(estimate[:p].sum()), n=design.n,
                                 settings=settings)


def _rw_arguments(data, outcome, drivers, controls, family) -> tuple[list[str], list[str]]:
    if not isinstance(outcome, str):
        raise ArgumentError("outcome must be one column name", values=[outcome],
                            expected='e.g. "loyalty"')
    drivers_ = [drivers] if isinstance(drivers, str) else list(drivers)
    controls_ = [controls] if isinstance(controls, str) else list(controls)
    if not drivers_:
        raise ArgumentError("relative_weights() needs at least one driver", values=[drivers],
                            expected='drivers=["connection", "satisfaction", ...]')
    every = [outcome, *drivers_, *controls_]
    if len(set(every)) != len(every):
        raise ArgumentError("a column is used twice (as outcome, driver or control)",
                            values=every, expected="distinct outcome, driver and control columns")
    if family == "logit" and controls_:
        raise ArgumentError("controls are not available for logistic relative weights",
                            values=controls_, expected="family='ols', or no controls")
    _require_columns(data, every)
    return drivers_, controls_


def _rw_design(data, outcome, drivers_, controls_, family):
    design, _ = _design(data, outcome, drivers_, controls_, None, family)
    if design.n_excluded:
        warn(f"{outcome}: {design.n_excluded} of {len(data)} rows have a missing value in the "
             "outcome, a driver or a control and are left out", ExclusionWarning)
    _check_variance(design, outcome, "")
    return design


def _rw_table(outcome, drivers_, estimate, boot, n, family, level, n_boot):
    p = len(drivers_)
    lo = hi = np.full(3 * p, np.nan)
    n_failed = 0
    if boot is not None:
        ci = boot.ci(level)
        lo, hi = ci["ci_lower"].to_numpy(), ci["ci_upper"].to_numpy()
        n_failed = boot.n_failed
    exceeds = (pd.array(lo[2 * p:] > 0, dtype="boolean") if boot is not None
               else pd.array([pd.NA] * p, dtype="boolean"))
    return pd.DataFrame({
        "outcome": outcome, "term": drivers_,
        "raw_weight": estimate[:p], "raw_ci_lower": lo[:p], "raw_ci_upper": hi[:p],
        "rescaled": estimate[p:2 * p], "rescaled_ci_lower": lo[p:2 * p],
        "rescaled_ci_upper": hi[p:2 * p],
        "random_difference": estimate[2 * p:], "random_ci_lower": lo[2 * p:],
        "random_ci_upper": hi[2 * p:], "exceeds_random": exceeds,
        "n": n, "r2": estimate[:p].sum(),
        "r2_type": "r2" if family == "ols" else "r2_probability",
        "family": family, "level": level, "n_boot": n_boot, "n_failed": n_failed,
    }).reindex(columns=RELATIVE_WEIGHTS_COLUMNS)


@dataclass(frozen=True, repr=False)
class RelativeWeightsResult(Reported):
    """What :func:`relative_weights` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per driver, columns :data:`RELATIVE_WEIGHTS_COLUMNS`.
    r2 : float
        The sum of the raw weights (see ``r2`` in :data:`RELATIVE_WEIGHTS_COLUMNS`).
    n : int
        Respondents used.
    settings : dict
        The arguments of the call.
    """

    table: pd.DataFrame
    r2: float
    n: int
    settings: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The relative-weights table (a copy)."""
        return self.table.copy()

    def summary(self) -> Report:
        """The table as a :class:`connection._report.Report`."""
        s = self.settings
        kind = ("R-squared" if s["family"] == "ols"
                else "squared correlation of outcome and predicted probability")
        header = [("Outcome", s["outcome"]),
                  ("Family", "OLS (Johnson 2000)" if s["family"] == "ols"
                   else "logit (Tonidandel & LeBreton 2010)"),
                  ("Respondents", self.n), (kind, round(self.r2, 4))]
        if s["controls"]:
            header.append(("Controls (partialled out)", ", ".join(s["controls"])))
        header += [("Level", f"{100 * s['level']:g}%"), ("Bootstrap replicates", s["n_boot"])]
        report = Report(f"Relative weights of the drivers of {s['outcome']}", header=header)
        report.add_table(self.table[["term", "raw_weight", "raw_ci_lower", "raw_ci_upper",
                                     "rescaled", "rescaled_ci_lower", "rescaled_ci_upper",
                                     "random_difference", "random_ci_lower", "random_ci_upper",
                                     "exceeds_random"]],
                         caption="Raw weights (R-squared units), rescaled (% of the total) and "
                                 "the test against a random variable")
        report.add_note("rescaled weights add up to 100; a driver exceeds the random variable "
                        "when the interval of its weight minus the random variable's lies above 0")
        return report
