"""``cfa()`` / ``sem()`` and the :class:`Fit` result."""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import pandas as pd
from scipy import special

from connection._common import (
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    check_choice,
    check_int,
    check_level,
    warn,
    z_critical,
)
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    GroupError,
    ModelSpecificationError,
)
from connection.latent.checks import columns
from connection.latent.defined import defined_parameters
from connection.latent.engine import Estimation, estimate
from connection.latent.fiml_measures import fiml_test_statistics
from connection.latent.partable import ParameterTable, build_table
from connection.latent.samplestats import MomentStats
from connection.latent.standardize import standardize_plan
from connection.latent.teststats import (
    TestStatistics,
    assemble_fit_measures,
    complete_test_statistics,
    dwls_test_statistics,
)
from connection.stats._dask import is_dask_frame
from connection.stats._weights import UNSET, resolve_weights, weights_label

__all__ = ["cfa", "sem", "Fit", "parse_model"]

_EST_COLUMNS = ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower",
                "ci_upper", "std_lv", "std_all"]


def parse_model(text: str, *, ngroups: int = 1, std_lv: bool = False,
                meanstructure: bool = False, group_equal=(), group_partial=()) -> ParameterTable:
    """Parse lavaan model syntax into a full :class:`ParameterTable` (cfa()/sem() defaults).

    Examples
    --------
    >>> from connection.latent import parse_model
    >>> pt = parse_model("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6")
    >>> pt.lv_names, pt.npar
    (['visual', 'textual'], 13)
    """
    return build_table(text, ngroups=ngroups, std_lv=std_lv, meanstructure=meanstructure,
                       group_equal=group_equal, group_partial=group_partial)


# ---------------------------------------------------------------------------- surveys
def survey_parts(obj):
    """``(instrument, frame)`` when ``obj`` is a :class:`connection.data.Survey`, else None.

    The engine sits below the data layer, so a Survey is recognised by what it has (an
    ``instrument`` with ``model_syntax()`` and a ``data`` frame), not imported.
    """
    if obj is None or isinstance(obj, str | pd.DataFrame | np.ndarray | dict | list | tuple):
        return None
    instrument = getattr(obj, "instrument", None)
    frame = getattr(obj, "data", None)
    if callable(getattr(instrument, "model_syntax", None)) and (
            isinstance(frame, pd.DataFrame) or is_dask_frame(frame)):
        return instrument, frame
    return None


def resolve_survey(model, data, where: str):
    """``(model, data)`` with a Survey replaced by what it holds: ``f(survey)`` fits the
    survey's instrument (its measurement model, ``instrument.model_syntax()``) on
    ``survey.data``; ``f(model, survey)`` fits ``model`` on ``survey.data``."""
    parts = survey_parts(model)
    if parts is not None:
        if data is not None:
            raise ArgumentError(
                f"{where}(survey) fits the survey's instrument on survey.data, so data= must "
                "not be given as well", values=[type(data).__name__],
                expected=f"{where}(survey) or {where}(model_text, survey)")
        instrument, frame = parts
        return instrument.model_syntax(), frame
    parts = survey_parts(data)
    if parts is not None:
        return model, parts[1]
    return model, data


# ---------------------------------------------------------------------------- fitting
def survey_weights(model, data):
    """The weights a Survey given as ``model`` or ``data`` carries (None: none, or no Survey)."""
    for obj in (model, data):
        if survey_parts(obj) is not None:
            return getattr(obj, "weights", None)
    return None


def resolve_fit_weights(model, data, weights, *, sample_stats=None, where="cfa"):
    """``(model, data, weights, label)``: a Survey replaced by its data (as
    :func:`resolve_survey`) and ``weights`` (:data:`~connection.stats._weights.UNSET`: the
    Survey's; a column name, values, or None) as a checked array over the rows of the data, or
    None; ``label`` says how they were given."""
    carried = survey_weights(model, data)
    model, data = resolve_survey(model, data, where)
    if weights is UNSET:
        weights = carried
    if weights is None or (sample_stats is not None and weights is carried):
        return model, data, None, None
    if sample_stats is not None:
        raise ModelSpecificationError(
            "weights= needs the raw data, not sample_stats",
            hint="pass the data frame (the weighted moments are computed from its rows)")
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError("weights= needs the data as a DataFrame (or a Survey)",
                            values=[type(data).__name__],
                            expected="a DataFrame holding the model's variables")
    label = weights_label(weights if weights is not carried else UNSET, carried)
    return model, data, resolve_weights(data, weights, name="weights"), label


def _fit(model, data, *, group, estimator, missing, std_lv, group_equal, group_partial,
         meanstructure, sample_stats, kind, start=None, max_iter=500, level=DEFAULT_LEVEL,
         ordered=None, parameterization="delta", weights=UNSET, weights_label=None,
         conditional_x=None):
    level = check_level(level)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if is_dask_frame(data) or is_dask_frame(getattr(data, "data", None)) or is_dask_frame(
            getattr(model, "data", None)):  # larger than memory: from partition-wise moments
        carried = survey_weights(model, data)
        model, data = resolve_survey(model, data, kind)
        if weights is UNSET:  # a Survey's weights on a Dask frame: its weight column
            weights = None if carried is None else getattr(carried, "name", None)
        est = _estimate_dask(model, data, dict(
            group=group, estimator=estimator, missing=missing, std_lv=std_lv,
            group_equal=group_equal, group_partial=group_partial, meanstructure=meanstructure,
            sample_stats=sample_stats, kind=kind, start=start, max_iter=max_iter,
            ordered=ordered, parameterization=parameterization, weights=weights))
        return Fit._from_estimation(est, level=level)
    given_label = weights_label
    model, data, weights, weights_label = resolve_fit_weights(
        model, data, weights, sample_stats=sample_stats, where=kind)
    if weights is not None and given_label is not None:  # refit(): the first fit's words
        weights_label = given_label
    est = estimate(model, data, dict(
        group=group, estimator=estimator, missing=missing, std_lv=std_lv,
        group_equal=group_equal, group_partial=group_partial, meanstructure=meanstructure,
        sample_stats=sample_stats, kind=kind, start=start, max_iter=max_iter,
        ordered=ordered, parameterization=parameterization, weights=weights,
        weights_label=weights_label, conditional_x=conditional_x))
    return Fit._from_estimation(est, level=level)


def cfa(model, data=None, *, group=None, estimator=None, missing="listwise", std_lv=False,
        group_equal=(), group_partial=(), meanstructure=None, sample_stats=None,
        start=None, max_iter=500, level=DEFAULT_LEVEL, ordered=None,
        parameterization="delta", weights=UNSET, conditional_x=None) -> Fit:
    """Confirmatory factor analysis (lavaan's ``cfa()``), by ML or MLR.

    Parameters
    ----------
    model : str or Survey
        lavaan model syntax (see :mod:`connection.latent.syntax` for the supported subset), or
        a :class:`connection.data.Survey`: its instrument's measurement model
        (``survey.instrument.model_syntax()``, one factor per construct) fitted on
        ``survey.data`` (``data`` must then be None).
    data : DataFrame or Survey
        One row per respondent; columns named as the model's observed variables. A Survey
        stands for its ``data``.
    group : str, optional
        Column defining groups (multi-group model with a mean structure); group 1 is the
        first label in order of appearance, as in lavaan.
    estimator : {"ML", "MLR", "WLSMV", "DWLS", "ULSMV", "ULS"}, optional
        ML with expected-information standard errors, or MLR: Huber-White (sandwich) standard
        errors with observed information and the Yuan-Bentler (Mplus variant) scaled test.
        With ``ordered``: WLSMV (the default, as lavaan: diagonally weighted least squares on
        the thresholds and polychoric correlations, robust standard errors and the
        scaled-shifted test), DWLS (the same estimates, standard errors and test without the
        robust corrections), ULSMV / ULS (unweighted). Default: ML, or WLSMV with ``ordered``.
    missing : {"listwise", "ml", "pairwise"}
        Listwise deletion (rows used reported in ``Fit.rows_used``) or full-information ML.
        FIML refuses (:class:`~connection.errors.DataError` naming the columns) a variable
        with no observed value or no variance, two variables never observed together, and
        collinear variables or fewer rows than variables (a singular saturated covariance).
        With ``ordered`` (where FIML is refused): ``"pairwise"``, lavaan's pairwise deletion
        (each item's thresholds from its observed values, each polychoric, polyserial or
        Pearson correlation from the rows where both variables are observed, Gamma from the
        casewise scores with the missing ones left out; ``nobs`` counts the rows with at least
        one observed model variable, as lavaan). With exogenous covariates (``conditional_x``)
        a row missing a covariate is deleted and ``nobs`` counts the rows with an observed
        outcome (lavaan's fixed.x).
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of the first loading.
    group_equal : sequence of str
        Equality constraints across groups: "loadings", "intercepts", "means", "residuals",
        "residual_covariances", "lv_variances", "lv_covariances", "regressions".
    group_partial : sequence of str
        Parameters exempt from ``group_equal``, e.g. ``["visual =~ x2", "x3 ~ 1"]``.
    meanstructure : bool, optional
        Default: True with groups or FIML, else False (as lavaan). An intercept or mean in the
        model text (``x2 ~ 1``) switches it on whatever this says, as in lavaan: every
        observed intercept free, latent means fixed to 0.
    sample_stats : dict or list of dict, optional
        Fit from summary statistics instead of data: ``{"n": n, "cov": S, "mean": m}`` per
        group (``cov`` with divisor n - 1, as lavaan's ``sample.cov``). Checked: ``n`` a whole
        number >= 2; ``cov`` square, named as the model's variables (or in their order),
        finite, symmetric (within 1e-8 of its largest entry), with positive variances and
        positive definite; ``mean`` finite, one per variable. A violation is a
        :class:`~connection.errors.DataError` naming the group and the entry.
    start : dict, optional
        Starting values by parameter label.
    max_iter : int
        Maximum number of Newton / Fisher-scoring iterations. Iterations that make no
        progress over 50 iterations (a hopeless fit) stop earlier. Non-convergence warns with
        :class:`~connection.errors.ConvergenceWarning` and is a ``not_converged`` flag.
    level : float
        Confidence level of the ``ci_lower``/``ci_upper`` columns of :attr:`Fit.estimates`
        (Wald intervals, est +- z * se, as lavaan's ``parameterEstimates(level=)``);
        :meth:`Fit.parameter_estimates` gives them at another level without refitting.
    ordered : True or list of str, optional
        Ordinal indicators (lavaan's ``ordered=``): ``True`` for every model variable, or
        their names (the others are continuous, as lavaan: polyserial and Pearson parts, their
        means and variances among the sample statistics; complete rows). The items hold
        integer category codes (at most 20 observed
        categories, at least 2); the model is fitted to their thresholds and polychoric
        correlations (:func:`connection.polychoric`). ``estimates`` then has lavaan's
        threshold rows (``op "|"``, ``rhs "t1", "t2", ...``) and scale rows (``~*~``, fixed
        at 1); the residual variances of the items are what the factors leave of the unit
        variance of their latent responses (fixed, no standard error, as lavaan).
    parameterization : {"delta", "theta"}
        lavaan's parameterization of ordinal indicators: ``"delta"`` (default: latent
        responses of variance 1, their residual variances what the factors leave) or
        ``"theta"`` (residual variances fixed at 1, free in the other groups under equal
        thresholds; the scales ``~*~`` reported as what the model leaves).
    conditional_x : bool, optional
        lavaan's ``conditional.x`` for models with ``ordered=`` and exogenous observed
        covariates. Default (None) as lavaan's: ``True``, the outcomes' thresholds and slopes
        from probit regressions on the covariates and their residual polychoric correlations
        (the covariates' moments fixed at their sample values, divisor N - 1 as lavaan);
        continuous outcomes by linear regressions (polyserial and Pearson residual
        correlations). ``False`` models the covariates with the items (polyserial
        correlations; their means, variances and covariances free, as lavaan's
        ``conditional.x = FALSE``). ``True`` without ``ordered=`` is refused.
    weights : str, array or None, optional
        Sampling weights (lavaan's ``sampling.weights``): a column of ``data``, one finite
        weight above 0 per row, or None. Default: the weights a Survey carries (``None``
        switches them off). The weights of the rows used are rescaled to sum to their number
        (over all groups: lavaan's ``sampling.weights.normalization = "total"``), so their
        scale does not matter; the model is fitted to the weighted means and covariances
        (divisor the sum of the weights) and the default estimator is MLR (sandwich standard
        errors from the weighted casewise scores, Yuan-Bentler scaled test), as lavaan, which
        uses them with ``estimator="ML"`` too (the fit's estimator is then MLR). Not yet with
        ``ordered=`` or ``missing="ml"`` (a :class:`~connection.errors.ModelSpecificationError`
        says so). A weight that is missing, not a number, 0, negative or infinite is a
        :class:`~connection.errors.DataError` naming its rows and values.

    Returns
    -------
    Fit

    Examples
    --------
    Matches ``lavaan::cfa(model, data = HolzingerSwineford1939)``:

    >>> import connection as cx
    >>> from connection.latent.datasets import holzinger_swineford
    >>> hs = holzinger_swineford()
    >>> fit = cx.cfa("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\n"
    ...              "speed =~ x7 + x8 + x9", hs)
    >>> round(float(fit.fit_measures["chisq"]), 3), int(fit.fit_measures["df"])
    (85.306, 24)
    """
    return _fit(model, data, group=group, estimator=estimator, missing=missing, std_lv=std_lv,
                group_equal=group_equal, group_partial=group_partial,
                meanstructure=meanstructure, sample_stats=sample_stats, kind="cfa", start=start,
                max_iter=max_iter, level=level, ordered=ordered,
                parameterization=parameterization, weights=weights,
                conditional_x=conditional_x)


def sem(model, data=None, *, group=None, estimator=None, missing="listwise", std_lv=False,
        group_equal=(), group_partial=(), meanstructure=None, sample_stats=None,
        start=None, max_iter=500, level=DEFAULT_LEVEL, ordered=None,
        parameterization="delta", weights=UNSET, conditional_x=None) -> Fit:
    """Structural equation model (lavaan's ``sem()``); arguments as :func:`cfa`.

    Examples
    --------
    Matches ``lavaan::sem()`` on the PoliticalDemocracy example:

    >>> import connection as cx
    >>> from connection.latent.datasets import political_democracy
    >>> model = '''
    ... ind60 =~ x1 + x2 + x3
    ... dem60 =~ y1 + y2 + y3 + y4
    ... dem65 =~ y5 + y6 + y7 + y8
    ... dem60 ~ ind60
    ... dem65 ~ ind60 + dem60
    ... y1 ~~ y5
    ... y2 ~~ y4 + y6
    ... y3 ~~ y7
    ... y4 ~~ y8
    ... y6 ~~ y8
    ... '''
    >>> fit = cx.sem(model, political_democracy())
    >>> round(float(fit.fit_measures["chisq"]), 3)
    38.125
    """
    return _fit(model, data, group=group, estimator=estimator, missing=missing, std_lv=std_lv,
                group_equal=group_equal, group_partial=group_partial,
                meanstructure=meanstructure, sample_stats=sample_stats, kind="sem", start=start,
                max_iter=max_iter, level=level, ordered=ordered,
                parameterization=parameterization, weights=weights,
                conditional_x=conditional_x)


# ---------------------------------------------------------------------------- result
class Fit:
    """A fitted CFA/SEM (made by :func:`cfa` / :func:`sem`); refit with :meth:`refit`.

    Attributes
    ----------
    param_table : DataFrame
        The parameter table (single source of truth) with ``est`` and ``se``: ``id lhs op
        rhs user group free ustart exo label plabel start line est se`` (``free`` = index of the
        free parameter, 0 = fixed; rows sharing a label share the index).
    estimates : DataFrame
        lavaan's ``parameterEstimates`` + ``standardizedSolution`` columns (snake_case):
        ``lhs op rhs group label est se z pvalue ci_lower ci_upper std_lv std_all``, rows in
        lavaan's order. ``group`` is the group label as in the data; single-group fits use
        ``1``; defined parameters (``:=``) use ``0``. Fixed parameters have ``se`` 0 and no
        ``z``; ``std_all`` of a covariance between two residuals is their correlation
        (lavaan's default). The intervals are at :attr:`level` (the ``level=`` of
        :func:`cfa`); :meth:`parameter_estimates` gives the same table at another level.
    level : float
        Confidence level of the intervals in :attr:`estimates` (default 0.95).
    fit_measures : Series
        lavaan's ``fitMeasures`` names with dots replaced by underscores (computed on first
        access): npar fmin chisq df pvalue baseline_* cfi tli nnfi rfi nfi pnfi ifi rni logl
        unrestricted_logl aic bic bic2 rmsea rmsea_ci_* rmsea_pvalue srmr rmr crmr srmr_mplus
        gfi agfi pgfi mfi ecvi cn_05 cn_01, and for MLR chisq_scaled chisq_scaling_factor
        (Yuan-Bentler, Mplus variant) *_scaled and cfi_robust tli_robust rmsea_robust
        (+ CI, p-values); under FIML the robust indices use lavaan 0.6.14's FIML-corrected
        statistic (also reported for ML, as lavaan does). Ordinal fits (``ordered=``) report
        lavaan 0.6.14's DWLS set: no likelihood family; for WLSMV/ULSMV ``*_scaled`` from the
        scaled-shifted test (``chisq_shift`` its shift, lavaan's ``shift.parameter``) and
        ``*_robust`` from lavaan's catML statistic; ``wrmr``; ULS/ULSMV give no unscaled
        p-values (NaN, as lavaan).
    converged : bool
    iterations : int
    flags : tuple of connection._flags.Flag
        Admissibility flags (``not_converged``, ``heywood``, ``latent_not_pd``,
        ``residual_not_pd``, ``not_identified``, ``negative_df``) with the parameters
        concerned; empty when the solution is admissible. ``admissible`` is ``not flags``.
        The estimates are unchanged (as lavaan's); ``summary()`` and the repr show the flags.
    warnings : list of str
        Messages of every warning issued after the fit (also issued as warnings).
    nobs : list of int
        Rows used per group; ``ntotal`` their sum.
    rows_used : ndarray
        Index labels of the data rows used (after listwise deletion; all rows with at
        least one observed model variable under FIML and pairwise deletion).
    n_groups, group_labels
        Number of groups and their labels in order of appearance (lavaan's group order).
    vcov : ndarray
        Covariance matrix of the free parameters (expected information for ML, observed for
        FIML, sandwich for MLR); NaN when the information matrix is singular.
    """

    # ------------------------------------------------------------ construction
    @classmethod
    def _from_estimation(cls, est: Estimation, *, level: float = DEFAULT_LEVEL) -> Fit:
        """The view over an :class:`~connection.latent.engine.Estimation` (its tables, fit
        measures and admissibility flags are built here)."""
        self = cls.__new__(cls)
        self.estimation = est
        self.level = check_level(level)
        options = est.options
        self._model = est.model
        self._data = est.data
        self._options = options
        self.group_labels = list(est.group_labels)
        self.n_groups = len(est.group_labels)
        self._stats = list(est.stats)
        self.rows_used = est.rows_used
        self.nobs = [int(getattr(s, "rows", s.n)) for s in est.stats]
        self.ntotal = int(sum(self.nobs))
        self.estimator = options["estimator"]
        self.missing = options["missing"]
        self.meanstructure = bool(options["meanstructure"])
        self._pt = est.partable
        self._struct = est.structure
        self._fixed = est.fixed
        self._problem = est.problem
        self._theta = est.theta
        self.converged = est.converged
        self.iterations = est.iterations
        self._message = est.message
        self.warnings = []
        self._vals = est.values
        self._implied = list(est.implied)
        self._identified = est.identified
        if est.expected_info is not None:
            self._expected_info = est.expected_info
        if est.observed_info is not None:
            self._observed_info = est.observed_info
        self.vcov = est.vcov
        self._finish_tables(est.vcov)
        return self

    def _warn(self, category, message):
        self.warnings.append(message)
        warn(message, category)

    def _finish_tables(self, vcov):
        struct, theta = self._struct, self._theta
        q = struct.npar
        se_theta = np.sqrt(np.maximum(vcov.diagonal(), 0)) if q else np.zeros(0)
        cols = columns(self._pt)
        est = np.full(len(cols["op"]), np.nan)
        se = np.zeros(len(cols["op"]))
        est[struct.row_index] = self._vals
        free, isfree = cols["free_index"], cols["isfree"]
        other = np.ones(len(est), dtype=bool)  # thresholds and scales: theta or fixed value
        other[struct.row_index] = False
        other &= ~cols["defmask"]
        if other.any():
            ustart = self._pt.frame["ustart"].to_numpy(dtype=float)
            est[other] = np.where(isfree[other], theta[np.maximum(free[other], 0)] if q else 0.0,
                                  ustart[other])
        se[isfree] = se_theta[free[isfree]]
        self._theta_scales(cols, est)
        # defined parameters (delta method)
        defmask = cols["defmask"]
        if defmask.any():
            dvals, djac = self._defined(theta)
            est[defmask] = dvals
            dse = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", djac, vcov, djac), 0, None))
            se[defmask] = dse
        self._est, self._se = est, se
        self._param_table = None
        self._fit_measures = None  # computed on first use (fit_measures)
        self._checks()

    def _theta_scales(self, cols, est):
        """Theta parameterization: the scale rows ``~*~`` are what the model leaves,
        ``1 / sqrt(sigma_ii)`` of the latent response (as lavaan reports them)."""
        if self._options.get("parameterization") != "theta":
            return
        frame = self._pt.frame
        ov_pos = {v: i for i, v in enumerate(self._struct.ov_names)}
        x = self._struct.cond_x
        for r in np.flatnonzero(cols["op"] == "~*~"):
            g = int(frame["group"].iat[r]) - 1
            k = ov_pos[frame["lhs"].iat[r]]
            sigma = self._implied[g].sigma
            var = sigma[k, k]
            if x is not None:  # conditional.x: the variance given the covariates
                var -= sigma[k, x] @ np.linalg.solve(sigma[np.ix_(x, x)], sigma[x, k])
            est[r] = 1.0 / np.sqrt(var)

    def _defined(self, theta):
        struct, fixed = self._struct, self._fixed
        return defined_parameters(struct, self._pt).with_jacobian(
            theta, lambda th: struct.row_values(th, fixed)[None, :])

    # ------------------------------------------------------------ fit measures
    def _ndat(self):
        return self.estimation.n_moments

    def test_statistics(self) -> TestStatistics:
        """The model's and baseline's test statistics (chi-square, df, likelihoods, scaled
        and robust variants), produced once by the producer of the discrepancy kind."""
        ts = getattr(self, "_test_statistics", None)
        if ts is None:
            producer = (_moments_test_statistics if isinstance(self._stats[0], MomentStats)
                        else _TEST_STATISTICS[self.estimation.kind])
            ts = self._test_statistics = producer(self)
        return ts

    def _compute_fit_measures(self) -> pd.Series:
        return assemble_fit_measures(self.estimation, self.test_statistics())

    @property
    def fit_measures(self) -> pd.Series:
        """lavaan's fitMeasures (names with underscores); computed on first access."""
        if self._fit_measures is None:
            self._fit_measures = self._compute_fit_measures()
        return self._fit_measures.copy()

    # ------------------------------------------------------------ checks
    def _checks(self):
        """Run every admissibility check: each problem is a warning and a :class:`Flag`."""
        for category, message, _flag in self.estimation.checks:
            self._warn(category, message)
        self._flags = self.estimation.flags

    @property
    def flags(self) -> tuple:
        """The admissibility flags (:class:`connection._flags.Flag`): empty when admissible.

        Non-convergence, Heywood cases, non-positive-definite latent or residual covariance
        matrices, a singular information matrix and negative degrees of freedom each give one
        flag, with the parameters concerned (as lavaan writes them). The same problems are also
        issued as warnings, which users may silence; the flags stay with the result.
        """
        return self._flags

    @property
    def admissible(self) -> bool:
        """True when the fit has no admissibility flag (converged, no Heywood case, ...)."""
        return not self._flags

    def _group_name(self, g):
        return self.group_labels[g - 1] if g >= 1 else ""

    # ------------------------------------------------------------ public views
    @property
    def param_table(self) -> pd.DataFrame:
        """The parameter table with ``est`` and ``se`` (a copy; the single source of truth)."""
        if self._param_table is None:
            frame = self._pt.frame.copy()
            frame["est"] = self._est
            frame["se"] = self._se
            self._param_table = frame
        return self._param_table.copy()

    @property
    def parameter_table(self) -> ParameterTable:
        """The :class:`ParameterTable` object the model was built from."""
        return self._pt

    @property
    def estimates(self) -> pd.DataFrame:
        """The parameter estimates with intervals at :attr:`level` (see the class docstring);
        ``parameter_estimates(level=...)`` for another level."""
        return self.parameter_estimates()

    def parameter_estimates(self, *, level: float | None = None) -> pd.DataFrame:
        """lavaan's ``parameterEstimates(fit, level=)``: :attr:`estimates` with the intervals
        (``ci_lower``, ``ci_upper`` = est -+ z * se, z the two-sided normal critical value of
        ``level``) at ``level``, without refitting. ``None``: the fit's :attr:`level`.

        The standardized columns (``std_lv``, ``std_all``) have no intervals here (no standard
        errors of the standardized solution), so they do not depend on ``level``.

        Examples
        --------
        >>> import connection as cx
        >>> from connection.latent.datasets import holzinger_swineford
        >>> fit = cx.cfa("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\n"
        ...              "speed =~ x7 + x8 + x9", holzinger_swineford())
        >>> row = fit.parameter_estimates(level=0.90).iloc[1]   # visual =~ x2, as lavaan
        >>> round(float(row["ci_lower"]), 3), round(float(row["ci_upper"]), 3)
        (0.39, 0.717)
        """
        crit = z_critical(self.level if level is None else check_level(level))
        frame = self.param_table
        est = frame["est"].to_numpy(dtype=float)
        se = frame["se"].to_numpy(dtype=float)
        fixed = ((frame["free"] == 0) & (frame["op"] != ":=")).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(fixed | (se <= 0), np.nan, est / se)
        pval = 2 * special.ndtr(-np.abs(z))
        std_lv, std_all = self._standardize()
        if self.n_groups > 1:
            groups = [self._group_name(g) if g >= 1 else 0 for g in frame["group"]]
        else:
            groups = [1 if g >= 1 else 0 for g in frame["group"]]
        label = [lab if lab else "" for lab in frame["label"]]
        out = pd.DataFrame({
            "lhs": frame["lhs"].to_numpy(), "op": frame["op"].to_numpy(),
            "rhs": frame["rhs"].to_numpy(), "group": groups, "label": label,
            "est": est, "se": se, "z": z, "pvalue": pval,
            "ci_lower": est - crit * se, "ci_upper": est + crit * se,
            "std_lv": std_lv, "std_all": std_all,
        })
        return out[_EST_COLUMNS]

    @property
    def standardized(self) -> pd.DataFrame:
        """The standardized solution (``std_lv``, ``std_all``) with ``lhs op rhs group``."""
        return self.estimates[["lhs", "op", "rhs", "group", "label", "est", "std_lv", "std_all"]]

    def _sds(self, g):
        imp = self._implied[g]
        sig = np.sqrt(np.clip(np.diag(imp.sigma), 0, None))
        lat_tot = np.sqrt(np.clip(np.diag(imp.C), 0, None))
        res_ov = np.diag(imp.T)
        res_lat = np.diag(imp.P)
        return sig, lat_tot, res_ov, res_lat

    def _standardize(self, values=None):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._standardize_impl(values)

    def _standardize_impl(self, values=None):
        frame = self.param_table
        est = frame["est"].to_numpy(dtype=float) if values is None else values
        std_lv = np.full(len(frame), np.nan)
        std_all = np.full(len(frame), np.nan)
        est_all = self.estimation
        plan = standardize_plan(est_all.structure, est_all.partable)
        rows = est_all.structure.row_index
        imps = [dict(sigma=i.sigma[None], C=i.C[None], T=i.T[None], P=i.P[None])
                for i in est_all.implied]
        lv, al = plan(np.asarray(est, dtype=float)[rows][None, :], imps)
        std_lv[rows], std_all[rows] = lv[0], al[0]
        self._standardize_ordinal(frame, est, std_lv, std_all)
        defined = defined_parameters(est_all.structure, est_all.partable)
        if len(defined) and values is None:
            std_lv[defined.rows] = defined(lv, errors="nan")[0]
            std_all[defined.rows] = defined(al, errors="nan")[0]
        return std_lv, std_all

    def _standardize_ordinal(self, frame, est, std_lv, std_all):
        """Thresholds over the SD of their latent response (std_all; std_lv leaves them as
        estimated, as lavaan: the latent response's SD is ``1 / delta``); scales as
        estimated (std_lv) and 1 (std_all, as lavaan)."""
        ops = frame["op"].to_numpy()
        if not ((ops == "|") | (ops == "~*~")).any():
            return
        ov_pos = {v: i for i, v in enumerate(self._struct.ov_names)}
        for r in np.flatnonzero((ops == "|") | (ops == "~*~")):
            g = int(frame["group"].iat[r]) - 1
            k = ov_pos[frame["lhs"].iat[r]]
            sd = np.sqrt(self.estimation.implied[g].sigma[k, k])
            if ops[r] == "~*~":
                std_lv[r], std_all[r] = est[r], 1.0  # lavaan's lav_standardize_all: 1
                continue
            std_lv[r], std_all[r] = est[r], est[r] / sd

    @property
    def rsquare(self) -> pd.DataFrame:
        """R-squared of endogenous variables (indicators, outcomes), per group (lavaan order)."""
        struct = self._struct
        rows = []
        ov_pos = {v: i for i, v in enumerate(struct.ov_names)}
        eta_pos = {v: i for i, v in enumerate(struct.eta_names)}
        frame = self.param_table
        for g in range(self.n_groups):
            imp = self._implied[g]
            sub = frame[frame["group"] == g + 1]
            endo = []
            for lhs, op, rhs in zip(sub["lhs"], sub["op"], sub["rhs"]):
                name = rhs if op == "=~" else (lhs if op == "~" else None)
                if name is not None and name not in endo:
                    endo.append(name)
            for v in endo:
                if v in eta_pos:
                    k = eta_pos[v]
                    tot, res = imp.C[k, k], imp.P[k, k]
                else:
                    k = ov_pos[v]
                    tot, res = imp.sigma[k, k], imp.T[k, k]
                rows.append({"group": self._group_name(g + 1) if self.n_groups > 1 else 1,
                             "variable": v, "rsquare": 1 - res / tot if tot > 0 else np.nan})
        return pd.DataFrame(rows, columns=["group", "variable", "rsquare"])

    @property
    def implied(self) -> dict:
        """Model-implied covariance matrices (and means) per group label."""
        out = {}
        names = self._struct.ov_names
        for g, imp in enumerate(self._implied):
            lab = self.group_labels[g]
            out[lab] = {"cov": pd.DataFrame(imp.sigma, index=names, columns=names),
                        "mean": pd.Series(imp.mu if self.meanstructure else self._stats[g].mean,
                                          index=names)}
        return out

    def residuals(self, type: str = "raw") -> dict:  # noqa: A002 - lavaan's argument name
        """Residual covariances (and means) per group label: lavaan's ``resid(fit, type)``.

        ``type``: ``"raw"`` (sample minus implied), ``"cor"`` (Bollen: sample minus implied
        correlations) or ``"cor.bentler"`` (raw residuals scaled by the sample SDs, whose
        root mean square is the SRMR). Under FIML the sample moments are the saturated (EM)
        estimates. Returns ``{label: {"cov": DataFrame, "mean": Series}}``.
        """
        kind = check_choice(str(type).lower().replace("_", "."), "type",
                            ("raw", "cor", "cor.bollen", "cor.bentler"))
        names = self._struct.ov_names
        out = {}
        for g, (st, imp) in enumerate(zip(self._stats, self._implied)):
            mu = imp.mu if self.meanstructure else st.mean
            sd_s = np.sqrt(np.diag(st.cov))
            if kind == "raw":
                cov, mean = st.cov - imp.sigma, st.mean - mu
            elif kind == "cor.bentler":
                cov = (st.cov - imp.sigma) / np.outer(sd_s, sd_s)
                mean = (st.mean - mu) / sd_s
            else:
                sd_h = np.sqrt(np.diag(imp.sigma))
                cov = st.cov / np.outer(sd_s, sd_s) - imp.sigma / np.outer(sd_h, sd_h)
                mean = (st.mean - mu) / sd_s
            out[self.group_labels[g]] = {"cov": pd.DataFrame(cov, index=names, columns=names),
                                         "mean": pd.Series(mean, index=names)}
        return out

    def matrices(self, group=None) -> dict:
        """Model matrices (lambda, beta, psi, theta, nu, alpha) of one group as DataFrames."""
        g = 0 if group is None else self.group_labels.index(group)
        imp = self._implied[g]
        ov, eta = self._struct.ov_names, self._struct.eta_names
        return {"lambda": pd.DataFrame(imp.L, index=ov, columns=eta),
                "beta": pd.DataFrame(imp.B, index=eta, columns=eta),
                "psi": pd.DataFrame(imp.P, index=eta, columns=eta),
                "theta": pd.DataFrame(imp.T, index=ov, columns=ov),
                "nu": pd.Series(imp.nu, index=ov), "alpha": pd.Series(imp.al, index=eta)}

    # ------------------------------------------------------------ refit / scores / tests
    def refit(self, **changes) -> Fit:
        """Fit the same model and data again with some options changed (e.g. group_equal);
        the interval ``level`` is kept unless changed."""
        opts = {k: v for k, v in self._options.items() if k != "kind"}
        opts["level"] = self.level
        opts.update(changes)
        model = opts.pop("model", self._model)
        data = opts.pop("data", self._data)
        return _fit(model, data, kind=self._options["kind"], **opts)

    def bootstrap(self, *, n_boot: int = DEFAULT_N_BOOT, seed=None, n_jobs: int = 1,
                  progress=None, level: float = DEFAULT_LEVEL, chunk_size: int = 250):
        """Nonparametric bootstrap: standard errors and percentile intervals of every parameter.

        Respondents are resampled (within groups for multi-group fits) through the package's
        one engine (:func:`connection.bootstrap`, ``mode="counts"``), so a seed gives
        the same replicates for any ``n_jobs``. Each replicate is refitted by ML from its
        weighted moments, all replicates of a chunk at once (lavaan's
        ``bootstrapLavaan``/``se="bootstrap"`` refits row by row; the estimates are the same
        as ``cfa()`` on the resampled rows). FIML fits are refitted replicate by replicate.

        Parameters
        ----------
        n_boot : int
            Number of replicates (default ``DEFAULT_N_BOOT``, 2000).
        seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
            The same seed gives identical results (a Generator is consumed: the same generator
            state gives the same replicates).
        n_jobs : int
            Worker processes (``-1``: all cores).
        progress : bool, optional
            Progress bar: ``None`` only when interactive.
        level : float
            Level of the percentile intervals.
        chunk_size : int
            Replicates per chunk (per spawned generator, and per batched fit).

        Returns
        -------
        SemBootstrapResult
            ``estimates`` (``lhs op rhs group label est se ci_lower ci_upper std_all
            std_all_se std_all_ci_lower std_all_ci_upper``), ``replicates``, ``n_failed``
            (replicates that did not converge: excluded, reported, and announced with a
            :class:`~connection.errors.BootstrapWarning`), ``failures``, ``n_inadmissible``.

        Examples
        --------
        >>> import connection as cx
        >>> from connection.latent.datasets import holzinger_swineford
        >>> fit = cx.cfa("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\n"
        ...              "speed =~ x7 + x8 + x9", holzinger_swineford())
        >>> boot = fit.bootstrap(n_boot=200, seed=1, progress=False)
        >>> boot.n_failed
        0
        >>> row = boot.estimates.query("lhs == 'visual' and rhs == 'x2'").iloc[0]
        >>> bool(0.1 < row["se"] < 0.2 and row["ci_lower"] < row["est"] < row["ci_upper"])
        True
        """
        self._not_for_ordinal("bootstrap()")
        self._not_for_dask("bootstrap()")
        if self.estimation.options.get("weights") is not None:
            raise ModelSpecificationError(
                "bootstrap() of a fit with sampling weights is not available yet",
                hint="use the fit's robust (sandwich) standard errors, which account for the "
                     "weights, or refit with weights=None to bootstrap the unweighted model")
        from connection.latent.boot import bootstrap_fit

        return bootstrap_fit(self, n_boot=n_boot, seed=seed, n_jobs=n_jobs, progress=progress,
                             level=level, chunk_size=chunk_size)

    def predict(self, data=None, method: str = "regression") -> pd.DataFrame:
        """Factor scores (lavaan's ``lavPredict``): ``"regression"`` or ``"bartlett"``."""
        self._not_for_ordinal("predict()")
        if data is None:
            self._not_for_dask("predict()")
        from connection.latent.scores import predict

        return predict(self, data, method)

    def modindices(self, *, free_only: bool = False, sort: bool = False) -> pd.DataFrame:
        """Modification indices (``mi``) and expected parameter changes (``epc``).

        Score tests for every fixed parameter that could be freed (loadings, residual
        covariances, regressions) and, with ``free_only=False``, for releasing each
        across-group equality constraint (lavaan's ``lavTestScore`` univariate tests).
        """
        self._not_for_ordinal("modindices()")
        from connection.latent.model_tests import modindices

        return modindices(self, sort=sort, free_only=free_only)

    def score_test(self) -> pd.DataFrame:
        """Univariate score tests of equality constraints (lavaan's ``lavTestScore``)."""
        self._not_for_ordinal("score_test()")
        from connection.latent.model_tests import score_test

        return score_test(self)

    def _not_for_dask(self, what: str) -> None:
        """Refuse (typed) what needs the rows in memory when the fit is from a Dask frame."""
        if is_dask_frame(self.estimation.data):
            raise ModelSpecificationError(
                f"{what} needs the rows in memory; this fit is from a Dask frame's moments",
                hint="call .compute() on the Dask frame (or on a sample of it) and fit the "
                     "pandas frame for this")

    def _not_for_ordinal(self, what: str) -> None:
        """Refuse (typed) what is not available yet for ordinal indicators (WLSMV fits)."""
        if self.estimation.kind == "dwls":
            raise ModelSpecificationError(
                f"{what} is not available yet for ordinal indicators ({self.estimator})",
                hint="fit the items as continuous (no ordered=) for this, or use the "
                     "ordinal fit's estimates and robust standard errors")

    # ------------------------------------------------------------ presentation
    def summary(self):
        """The fit as a :class:`connection._report.Report`: header (estimator, missing-data
        rule, observations, convergence, admissibility, interval level), the admissibility
        flags first, then the fit measures and the parameter blocks (latent variables,
        regressions, covariances, intercepts, defined parameters) per group, and the
        warnings as notes. ``print(fit.summary())`` for text, ``.as_html()``, ``.as_latex()``.
        """
        from connection.latent.report import fit_report

        return fit_report(self)

    def to_frame(self) -> pd.DataFrame:
        """The main table: :attr:`estimates`."""
        return self.estimates

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def to_latex(self) -> str:
        """The summary as LaTeX: the same as ``summary().as_latex()``."""
        return self.summary().as_latex()

    def __repr__(self) -> str:
        fm = self.fit_measures
        return (f"<Fit {self._options['kind']} estimator={self.estimator} "
                f"groups={self.n_groups} n={self.ntotal} npar={self._struct.npar} "
                f"chisq={fm.get('chisq', np.nan):.3f} df={fm.get('df', np.nan):g} "
                f"converged={self.converged}"
                + (" flags=" + ",".join(dict.fromkeys(f.code for f in self.flags))
                   if self.flags else "") + ">")


# discrepancy kind -> producer of its TestStatistics
_TEST_STATISTICS = {"ml": complete_test_statistics, "fiml": fiml_test_statistics,
                    "dwls": dwls_test_statistics}


# ---------------------------------------------------------------------------- Dask frames
# the per-group statistics of a Dask frame, kept while a caller fits several models to the
# same rows (invariance(): every step and partial fit from one pass), keyed by the frame's
# graph name and what the statistics depend on; None: every fit reads the frame
_DASK_STATS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("_DASK_STATS",
                                                                          default=None)


@contextlib.contextmanager
def dask_stats_cache(labels: dict | None = None):
    """Within the block, fits of a Dask frame compute their per-group statistics (and group
    labels) once per frame and kind (listwise or FIML, ML or MLR, weights) and share them.
    ``labels``: ``{(frame name, group column): labels}`` already known (no pass for them).
    """
    cache: dict = {}
    for (name, group), labs in (labels or {}).items():
        cache[("labels", name, group)] = list(labs)
    token = _DASK_STATS.set(cache)
    try:
        yield cache
    finally:
        _DASK_STATS.reset(token)


def _cached(key, compute):
    """``compute()``, or its value from the active :func:`dask_stats_cache`."""
    cache = _DASK_STATS.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _dask_refusals(options: dict) -> None:
    """What a fit on a Dask frame does not support, each refused naming what to do."""
    weights = options["weights"]
    refusals = [
        (options["ordered"] is not None, "ordered", options["ordered"],
         "ordered=None (polychoric correlations need the rows in memory: data.compute())"),
        (options["sample_stats"] is not None, "sample_stats", "given",
         "either a Dask frame or sample_stats, not both"),
        (weights is not UNSET and weights is not None and not isinstance(weights, str),
         "weights", type(weights).__name__, "weights= as the name of a column of the Dask "
         "frame"),
    ]
    for bad, name, value, expected in refusals:
        if bad:
            raise ArgumentError(f"{name}= is not available on a Dask frame yet",
                                values=[value], expected=expected)


def _dask_labels(data, group):
    """Group labels in order of appearance (as the pandas path), from one pass over the
    group column."""
    if group is None:
        return [1]
    if group not in data.columns:
        from connection.errors import MissingColumnError  # noqa: PLC0415

        raise MissingColumnError(f"group column {group!r} not found in the data", column=group)
    import dask  # noqa: PLC0415 - optional: only with a Dask frame

    parts = [dask.delayed(lambda s: pd.unique(s.dropna()))(part)
             for part in data[group].to_delayed()]
    found = dask.compute(*parts)
    return list(pd.unique(np.concatenate([np.asarray(f, dtype=object) for f in found])))


def _dask_weight_column(data, weights, ov_names, group):
    """The weight column, or None when none is given or every weight of the rows used is
    the same (exactly the unweighted fit, as the pandas path)."""
    if weights is UNSET or weights is None:
        return None
    if weights not in data.columns:
        from connection.errors import MissingColumnError  # noqa: PLC0415

        raise MissingColumnError("weights names a column that is not in the data",
                                 column=weights, expected="a column of survey weights")
    import dask  # noqa: PLC0415

    used = data[list(dict.fromkeys([*ov_names, *([group] if group else []), weights]))]
    col = used.dropna()[weights]
    lo, hi = dask.compute(col.min(), col.max())
    return None if lo == hi else weights


def _dask_stats(data, ov_names, group, wcol, labels, robust):
    """Per group the engine's statistics from partition-wise moments (and, for MLR, the
    fourth moments of the score weights), with the exclusions warned as the pandas path."""
    from connection.latent.samplestats import check_sample_cov, stats_from_moments  # noqa: PLC0415
    from connection.stats._dask import sample_moments  # noqa: PLC0415

    mom = sample_moments(data, items=ov_names, group=group, weights=wcol,
                         gamma=robust and wcol is None)
    fourth = mom if robust and wcol is None else None
    if robust and wcol is not None:
        fourth = sample_moments(data.assign(__w2=data[wcol] ** 2), items=ov_names,
                                group=group, weights="__w2", gamma=True)
    keys = [lab if group is not None else None for lab in labels]
    total = sum(mom.rows.values()) + mom.excluded.get("group missing", 0)
    dropped = mom.excluded.get("listwise", 0) + mom.excluded.get("group missing", 0)
    if dropped:
        reason = "a missing value in a model variable" + (
            f" or a missing group ({group!r})" if mom.excluded.get("group missing") else "")
        warn(f"{dropped} of {total} rows excluded ({reason}); consider missing='ml' (FIML)",
             ExclusionWarning)
    for lab, key in zip(labels, keys):
        if mom.n.get(key, 0) < 2:
            raise GroupError(f"group {lab!r} has {mom.n.get(key, 0)} usable row(s)",
                             column=group, values=[lab], expected="at least 2 rows")
    scale = 1.0
    if wcol is not None:
        scale = sum(mom.n[k] for k in keys) / sum(mom.weight_total[k] for k in keys)
    gstats = stats_from_moments(mom, ov_names, keys, fourth=fourth, scale=scale)
    for lab, st in zip(labels, gstats):
        check_sample_cov(st, lab if group is not None else None, group, ov_names)
    return gstats


def _dask_fiml_stats(data, ov_names, group, labels, robust):
    """Per group the FIML statistics (:class:`~connection.latent.missing.FimlStats`) from the
    missing-data patterns' moments of one partition-wise pass (and, for MLR, a second pass
    for each pattern's fourth moments: the casewise scores' cross-products are quadratic
    forms in them); rows with no observed model variable, or no group, excluded and warned
    as the pandas path."""
    from connection.latent.missing import Pattern, fiml_stats_from_patterns  # noqa: PLC0415
    from connection.stats._dask import sample_moments  # noqa: PLC0415

    mom = sample_moments(data, items=ov_names, group=group, pattern_gamma=robust)
    empty = "0" * len(ov_names)
    none_observed = sum(acc[0] for (_, pattern), acc in mom.pattern_moments.items()
                        if pattern == empty)
    gmiss = mom.excluded.get("group missing", 0)
    if none_observed + gmiss:
        reason = "no observed model variable" + (
            f" or a missing group ({group!r})" if gmiss else "")
        warn(f"{none_observed + gmiss} of {sum(mom.rows.values()) + gmiss} rows excluded "
             f"({reason})", ExclusionWarning)
    gstats = []
    for lab in labels:
        key = lab if group is not None else None
        pats = []
        for (g, pattern), (n, w, mean, m2) in mom.pattern_moments.items():
            if g != key or pattern == empty:
                continue
            cov = m2 / w
            fourth = None if not robust else (w, mean, cov, mom.pattern_gamma[(g, pattern)])
            pats.append(Pattern(np.flatnonzero([f == "1" for f in pattern]), int(n), mean, cov,
                                fourth=fourth))
        n = sum(pat.n for pat in pats)
        if n < 2:
            raise GroupError(f"group {lab!r} has {n} usable row(s)", column=group,
                             values=[lab], expected="at least 2 rows")
        gstats.append(fiml_stats_from_patterns(pats, len(ov_names), ov_names,
                                               label=key, group=group))
    return gstats


def _estimate_dask_fiml(model, data, statements, ov_names, o) -> Estimation:
    """FIML (``missing='ml'``, ML or MLR) on a Dask frame: the engine's steps on the
    missing-data patterns' moments (:func:`_dask_fiml_stats`)."""
    from connection.latent import engine  # noqa: PLC0415

    group = o["group"]
    robust = o["estimator"] == "MLR"
    labels = _cached(("labels", data._name, group), lambda: _dask_labels(data, group))
    gstats = _cached(("fiml", data._name, tuple(ov_names), group, robust),
                     lambda: _dask_fiml_stats(data, ov_names, group, labels, robust))
    pt, opts = _dask_table(statements, labels, o, meanstructure=True,
                           estimator=o["estimator"], missing="ml", weights=None,
                           weights_label=None)
    return engine._estimate(model, data, pt, labels, gstats, None, opts, o.get("start"),
                            "fiml")


def _dask_table(statements, labels, o, *, meanstructure, **options):
    """The parameter table of a Dask fit and the options its estimation record keeps
    (``options``: estimator, missing, weights, weights_label)."""
    group_equal = o["group_equal"] if len(labels) > 1 else ()
    pt = build_table(statements, ngroups=len(labels), std_lv=o["std_lv"],
                     meanstructure=meanstructure, group_equal=group_equal,
                     group_partial=o["group_partial"], auto_cov_y=True)
    opts = dict(group=o["group"], std_lv=o["std_lv"], group_equal=o["group_equal"],
                group_partial=o["group_partial"], meanstructure=pt.meanstructure,
                sample_stats=None, kind=o["kind"], start=o.get("start"),
                max_iter=o.get("max_iter", 500), **options)
    return pt, opts


def _estimate_dask(model, data, options: dict) -> Estimation:
    """:func:`connection.latent.engine.estimate` for a ``dask.dataframe.DataFrame``: the
    sample statistics (listwise; per group; weighted) from partition-wise passes
    (:func:`connection.stats._dask.sample_moments`), the optimisation in memory as for a
    pandas frame; MLR's sandwich and scaled test from the fourth moments (the casewise
    scores' cross-products are quadratic forms in them)."""
    from dataclasses import replace  # noqa: PLC0415

    from connection.latent import engine  # noqa: PLC0415
    from connection.latent.checks import run_checks  # noqa: PLC0415
    from connection.latent.partable import model_variables  # noqa: PLC0415
    from connection.latent.samplestats import MomentProblem  # noqa: PLC0415

    _dask_refusals(options)
    group = options["group"]
    statements = model if isinstance(model, str) else list(model)
    ov_names = (model_variables(statements)[0] if isinstance(statements, str)
                else build_table(statements, ngroups=1).ov_names)
    if not ov_names:
        build_table(statements, ngroups=1)
    given = None if options["weights"] is UNSET else options["weights"]
    o = engine.normalise_options(**dict(options, weights=given))  # refuses weights with FIML
    if o["missing"] == "ml":
        return _estimate_dask_fiml(model, data, statements, ov_names, o)
    wcol = _cached(("weights", data._name, tuple(ov_names), group, options["weights"]),
                   lambda: _dask_weight_column(data, options["weights"], ov_names, group))
    o = engine.normalise_options(**dict(options, weights=wcol))
    robust = o["estimator"] == "MLR"
    labels = _cached(("labels", data._name, group), lambda: _dask_labels(data, group))
    gstats = _cached(("listwise", data._name, tuple(ov_names), group, wcol, robust),
                     lambda: _dask_stats(data, ov_names, group, wcol, labels, robust))
    meanstructure = o["meanstructure"]
    pt, opts = _dask_table(statements, labels, o,
                           meanstructure=len(labels) > 1 if meanstructure is None
                           else meanstructure,
                           estimator="ML", missing="listwise", weights=wcol,
                           weights_label=None if wcol is None else weights_label(wcol))
    est = engine._estimate(model, data, pt, labels, gstats, None, opts, o.get("start"), "ml")
    if not robust:
        return est
    problem = MomentProblem.like(est.problem)
    q, n = est.structure.npar, est.ntotal
    try:
        vcov, expected, observed, identified = engine._information_and_vcov(
            problem, est.theta, q, n, "ml", "MLR")
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        vcov, expected, observed, identified = (np.full((q, q), np.nan), est.expected_info,
                                                None, False)
    if not identified:
        vcov = np.full((q, q), np.nan)
    est = replace(est, options=dict(opts, estimator="MLR"), problem=problem, vcov=vcov,
                  expected_info=expected, observed_info=observed, identified=bool(identified))
    object.__setattr__(est, "checks", run_checks(est))
    return est


def _moments_test_statistics(fit) -> TestStatistics:
    """:func:`complete_test_statistics` for a fit from moments (a Dask frame): the ML test
    as the pandas path; MLR's Yuan-Bentler scaling from the fourth moments."""
    from dataclasses import replace  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    from connection.latent.teststats import RobustTest  # noqa: PLC0415

    est = fit.estimation
    ml = replace(est, options=dict(est.options, estimator="ML"))
    ts = complete_test_statistics(SimpleNamespace(estimation=ml))
    if est.options["estimator"] != "MLR":
        return ts
    c, c_h1, c_h0, bc = _moment_yb_traces(fit, ts.df, ts.baseline_df)
    xs = ts.chisq / c if ts.df > 0 else np.nan
    return replace(ts, scaled=(xs, c, c_h1, c_h0, bc),
                   robust=RobustTest(ts.chisq, xs, ts.df, c, ts.baseline_chisq,
                                     ts.baseline_df, bc))


def _moment_yb_traces(fit, df, bdf):
    """:func:`connection.latent.robust.yb_mplus_traces` for a fit from moments: the
    unstructured model's first-order information and every score cross-product from the
    fourth moments (:func:`moment_score_crossprod`)."""
    from connection.latent.estimate import Moments, _group_grad_info  # noqa: PLC0415
    from connection.latent.robust import (  # noqa: PLC0415
        _baseline_problem,
        _non_x_moments,
        _trace_h0,
        _vech_basis,
    )
    from connection.latent.samplestats import MomentProblem, moment_score_crossprod  # noqa: PLC0415

    est = fit.estimation
    ms = fit.meanstructure
    trace_h1 = trace_h1_full = 0.0
    ndat = 0
    for st in est.stats:
        p = len(st.cov)
        basis = _vech_basis(p)
        if ms:
            ds = np.concatenate([np.zeros((p, p, p)), basis])
            dmu = np.concatenate([np.eye(p), np.zeros((len(basis), p))])
        else:
            ds, dmu = basis, None
        mo = Moments(st.cov, st.mean, ds, dmu)
        a1 = 0.5 * _group_grad_info(st, mo, ms, True)[1]
        b1 = moment_score_crossprod(st, st.cov, st.mean, ds, dmu) / st.n
        trace_h1_full += np.trace(np.linalg.solve(a1, b1))
        keep = _non_x_moments(fit, p)
        if keep is not None:
            a1, b1 = a1[np.ix_(keep, keep)], b1[np.ix_(keep, keep)]
        trace_h1 += np.trace(np.linalg.solve(a1, b1))
        ndat += a1.shape[0]
    trace_h0 = _trace_h0(est.problem, est.theta, est.observed_info)
    c = (trace_h1 - trace_h0) / df if df > 0 else np.nan
    if not np.isfinite(c) or c <= 0:
        c = np.nan
    bprob, btheta = _baseline_problem(fit)
    bprob = MomentProblem.like(bprob)
    trace_b = _trace_h0(bprob, btheta, 0.5 * bprob.hessian(btheta))
    bc = (trace_h1_full - trace_b) / bdf if bdf > 0 else np.nan
    if not np.isfinite(bc) or bc <= 0:
        bc = np.nan
    nx_free = int(np.sum(est.structure.free >= 0))
    return c, trace_h1 / ndat, trace_h0 / nx_free, bc
