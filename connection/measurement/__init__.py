"""The measurement layer: reliability and validity of constructs, and the connection index.

:func:`reliability` (alpha, omega, CR, AVE), :func:`item_statistics`, :func:`htmt`,
:func:`fornell_larcker`, :func:`parallel_analysis` (-> :class:`ParallelAnalysisResult`),
:func:`efa` (-> :class:`EFAResult`), :func:`cronbach_alpha`; :class:`ConnectionIndex` (0-100
index fitted on a calibration sample) and :class:`SegmentRule`. ``ParallelAnalysis``, the old
name of :class:`ParallelAnalysisResult`, works for one release with a FutureWarning.
"""

from typing import Any

from connection.measurement._index import SEGMENTS, ConnectionIndex, SegmentRule  # noqa: F401
from connection.measurement._reliability import (  # noqa: F401
    EFAResult,
    ParallelAnalysisResult,
    cronbach_alpha,
    efa,
    fornell_larcker,
    htmt,
    item_statistics,
    parallel_analysis,
    reliability,
)

__all__ = ['reliability', 'item_statistics', 'htmt', 'fornell_larcker', 'parallel_analysis',
           'ParallelAnalysisResult', 'efa', 'EFAResult', 'cronbach_alpha', 'ConnectionIndex',
           'SegmentRule', 'SEGMENTS']


def __getattr__(name: str) -> Any:
    if name == "ParallelAnalysis":   # renamed ParallelAnalysisResult (issue 13): warns
        from connection.measurement import _reliability

        return _reliability.ParallelAnalysis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
