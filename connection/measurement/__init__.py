"""The measurement layer: reliability and validity of constructs, and the connection index.

:func:`reliability` (alpha, omega, CR, AVE), :func:`item_statistics`, :func:`htmt`,
:func:`fornell_larcker`, :func:`parallel_analysis`, :func:`efa`, :func:`cronbach_alpha`;
:class:`ConnectionIndex` (0-100 index fitted on a calibration sample) and :class:`SegmentRule`.
"""


from connection.measurement._index import SEGMENTS, ConnectionIndex, SegmentRule  # noqa: F401
from connection.measurement._reliability import (  # noqa: F401
    EFAResult,
    ParallelAnalysis,
    cronbach_alpha,
    efa,
    fornell_larcker,
    htmt,
    item_statistics,
    parallel_analysis,
    reliability,
)

__all__ = ['reliability', 'item_statistics', 'htmt', 'fornell_larcker', 'parallel_analysis', 'ParallelAnalysis', 'efa', 'EFAResult', 'cronbach_alpha', 'ConnectionIndex', 'SegmentRule', 'SEGMENTS']
