"""Statistics shared by every analysis layer: the one bootstrap engine, the one multiplicity
correction, the one implementation of the proportion intervals and of the effect sizes.

:func:`bootstrap` (seeded chunks, rows/indices/counts modes, strata, parallel workers,
percentile and BCa intervals) -> :class:`BootstrapResult`; :func:`adjust_pvalues` (Holm,
Benjamini-Hochberg, Bonferroni within families); survey weights: :func:`rake` (raking to
population margins, as ``survey::rake``) -> :class:`RakeResult` and :func:`describe` (weighted
means and shares with linearization SEs, as ``survey::svymean``/``svyby``). The private modules ``_proportions`` (Wilson,
Newcombe, Wald, Katz, pooled z) and ``_effect_sizes`` (Cohen's d and h, Hedges' g) are the
building blocks of :mod:`connection.outcomes` and :mod:`connection.context`. Sample moments
in partition-wise passes over a pandas or Dask frame (larger than memory): :func:`sample_moments`
-> :class:`SampleMomentsResult` (per group and missing-data pattern, Gamma for MLR).
"""


from connection.stats._bootstrap import BootstrapResult, bootstrap, resample_indices, take_rows  # noqa: F401
from connection.stats._dask import (  # noqa: F401
    SampleMomentsResult,
    first_order_information,
    is_dask_frame,
    sample_moments,
)
from connection.stats._describe import describe  # noqa: F401
from connection.stats._multiplicity import adjust_pvalues  # noqa: F401
from connection.stats._weights import RakeResult, rake  # noqa: F401

__all__ = ['bootstrap', 'BootstrapResult', 'resample_indices', 'take_rows', 'adjust_pvalues',
           'rake', 'RakeResult', 'describe', 'sample_moments', 'SampleMomentsResult',
           'is_dask_frame', 'first_order_information']
