"""The latent-variable engine: CFA/SEM by ML and MLR, multi-group, FIML, matching lavaan 0.6.

Public API
----------
- :func:`cfa`, :func:`sem`: fit a model (lavaan syntax subset, see :mod:`connection.latent.syntax`;
  or a :class:`connection.data.Survey`, whose instrument's measurement model is fitted on its
  data) by ML or MLR, one or several groups (``group=``, ``group_equal=``, ``group_partial=``),
  listwise or FIML (``missing="ml"``), from data or from ``sample_stats``.
- :class:`Fit`: ``estimates``, ``fit_measures``, ``rsquare``, ``standardized``, ``implied``,
  ``matrices()``, ``residuals()``, ``predict()``, ``summary()`` / ``_repr_html_()`` /
  ``to_latex()``,
  ``converged``, ``flags`` / ``admissible`` (non-convergence, Heywood cases, non-positive-
  definite matrices, identification problems as :class:`connection._flags.Flag`),
  ``warnings``, ``nobs``, ``rows_used``, ``param_table``, ``bootstrap()``
  (nonparametric bootstrap SEs and percentile intervals: every replicate refitted by ML, all
  of a chunk at once, through the shared engine :mod:`connection.stats._bootstrap`; see
  :mod:`connection.latent.boot`; returns a :class:`SemBootstrapResult`),
  ``parameter_estimates(level=)`` (the estimates with intervals at another level, as
  lavaan's ``parameterEstimates(level=)``; ``cfa(..., level=)`` sets the level of
  ``estimates``), ``to_frame()``; for invariance work:
  ``n_groups``, ``group_labels``, ``refit(**options)`` (same model and data, e.g. other
  ``group_equal``/``group_partial``), ``modindices()`` (lavaan's ``modindices``, plus
  releases of equality constraints when there are groups) and ``score_test()`` (lavaan's
  ``lavTestScore(fit)$uni``: one row per constrained parameter and group).
- :func:`lrt`: chi-square difference tests (lavaan's ``lavTestLRT``; Satorra-Bentler 2001
  scaling when the fits are MLR).
- :func:`parse_model` -> :class:`ParameterTable`.

- :func:`invariance` -> :class:`InvarianceResult`: the configural -> metric -> scalar -> strict
  ladder with partial invariance.
- :func:`polychoric` -> :class:`PolychoricResult`: ordinal sample statistics as lavaan's lavCor.
- :func:`collapse_categories` -> :class:`CollapseResult`: sparse ordinal categories merged the
  same way in every group (a multi-group ordinal fit needs every category in every group).

Everything else in ``connection.latent`` (the engine's named steps: syntax, partable, model,
samplestats, engine, checks, teststats, ...) is internal; see DESIGN.md section 9.

>>> from connection.latent import cfa, sem, Fit, parse_model, lrt
>>> import connection as cx
>>> cx.sem is sem and cx.cfa is cfa
True
"""

from connection.latent._categories import CollapseResult, collapse_categories
from connection.latent._invariance import InvarianceResult, invariance
from connection.latent._polychoric import PolychoricResult, polychoric
from connection.latent.boot import SemBootstrapResult
from connection.latent.fit import Fit, cfa, parse_model, sem
from connection.latent.model_tests import lrt
from connection.latent.partable import ParameterTable

__all__ = ["cfa", "sem", "Fit", "parse_model", "ParameterTable", "lrt", "invariance",
           "InvarianceResult", "polychoric", "PolychoricResult", "SemBootstrapResult",
           "collapse_categories", "CollapseResult"]
