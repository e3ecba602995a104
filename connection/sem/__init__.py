"""The latent-variable engine: CFA/SEM by ML and MLR, multi-group, FIML, matching lavaan 0.6.

Public API
----------
- :func:`cfa`, :func:`sem`: fit a model (lavaan syntax subset, see :mod:`connection.sem.syntax`)
  by ML or MLR, one or several groups (``group=``, ``group_equal=``, ``group_partial=``),
  listwise or FIML (``missing="ml"``), from data or from ``sample_stats``.
- :class:`Fit`: ``estimates``, ``fit_measures``, ``rsquare``, ``standardized``, ``implied``,
  ``matrices()``, ``residuals()``, ``predict()``, ``summary()`` / ``_repr_html_()`` /
  ``to_latex()``,
  ``converged``, ``flags`` / ``admissible`` (non-convergence, Heywood cases, non-positive-
  definite matrices, identification problems as :class:`connection._flags.Flag`),
  ``warnings``, ``nobs``, ``rows_used``, ``param_table``, ``bootstrap()``
  (nonparametric bootstrap SEs and percentile intervals: every replicate refitted by ML, all
  of a chunk at once, through the shared engine :mod:`connection.bootstrap`; see
  :mod:`connection.sem.boot`); for invariance work:
  ``n_groups``, ``group_labels``, ``refit(**options)`` (same model and data, e.g. other
  ``group_equal``/``group_partial``), ``modindices()`` (lavaan's ``modindices``, plus
  releases of equality constraints when there are groups) and ``score_test()`` (lavaan's
  ``lavTestScore(fit)$uni``: one row per constrained parameter and group).
- :func:`lrt`: chi-square difference tests (lavaan's ``lavTestLRT``; Satorra-Bentler 2001
  scaling when the fits are MLR).
- :func:`parse_model` -> :class:`ParameterTable`.

``connection.sem`` is also callable, so that ``connection.sem(model, data)`` (the lazily
exported public name) fits a model like :func:`sem`.

>>> from connection.sem import cfa, sem, Fit, parse_model, lrt
>>> import connection as cx
>>> callable(cx.sem)
True
"""

from connection._callable import make_module_callable
from connection.sem.fit import Fit, cfa, parse_model, sem
from connection.sem.model_tests import lrt
from connection.sem.partable import ParameterTable

__all__ = ["cfa", "sem", "Fit", "parse_model", "ParameterTable", "lrt"]

make_module_callable(__name__)  # cx.sem(...) calls sem() (see connection/_callable.py)
