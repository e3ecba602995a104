"""The outcomes layer: what connection is worth.

:func:`drivers` (advocacy, loyalty, repurchase regressed on connection and satisfaction,
observed or latent, with general dominance weights) -> :class:`DriversResult`;
:func:`relative_weights` (Johnson's relative weights with bootstrap intervals and the test against
a random variable) -> :class:`RelativeWeightsResult`; :func:`nps` (Net Promoter Score with its
multinomial or linearized SE, by group) -> a tidy frame; :func:`compare` (two-group equivalence and risk
ratios with multiplicity) -> :class:`CompareResult`; :func:`value_ratio`; :func:`banner` (row variables by column categories with significance
letters, low-base flags, ``to_excel``) -> :class:`BannerResult`, and :func:`write_excel` (any
frames to a formatted .xlsx); :func:`importance_performance` (importance against 0-100
performance, quadrants, a figure) -> :class:`IPMAResult`; :func:`predictive_comparison`
(repeated k-fold out-of-sample comparison of a base and a full model, corrected t over folds) ->
:class:`PredictiveComparisonResult`; the building blocks
:func:`tost`, :func:`risk_ratio`, :func:`proportion_difference`, and :func:`adjust_pvalues` (the
one multiplicity correction, at home in :mod:`connection.stats`).
"""


from connection.outcomes._banner import BannerResult, banner, write_excel  # noqa: F401
from connection.outcomes._compare import (  # noqa: F401
    CompareResult,
    compare,
    proportion_difference,
    risk_ratio,
    tost,
    value_ratio,
)
from connection.outcomes._drivers import (  # noqa: F401
    DriversResult,
    RelativeWeightsResult,
    drivers,
    relative_weights,
)
from connection.outcomes._ipma import IPMAResult, importance_performance  # noqa: F401
from connection.outcomes._nps import NPSDriversResult, nps, nps_drivers  # noqa: F401
from connection.outcomes._predictive import (  # noqa: F401
    PredictiveComparisonResult,
    predictive_comparison,
)
from connection.stats._multiplicity import adjust_pvalues  # noqa: F401

__all__ = ['drivers', 'DriversResult', 'relative_weights', 'RelativeWeightsResult', 'nps', 'nps_drivers', 'NPSDriversResult', 'compare', 'CompareResult', 'tost', 'risk_ratio', 'proportion_difference', 'adjust_pvalues', 'value_ratio',
           'banner', 'BannerResult', 'write_excel', 'importance_performance', 'IPMAResult',
           'predictive_comparison', 'PredictiveComparisonResult']
