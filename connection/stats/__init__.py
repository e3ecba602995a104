"""Statistics shared by every analysis layer: the one bootstrap engine.

:func:`bootstrap` (seeded chunks, rows/indices/counts modes, strata, parallel workers,
percentile and BCa intervals) -> :class:`BootstrapResult`.
"""


from connection.stats._bootstrap import BootstrapResult, bootstrap, resample_indices, take_rows  # noqa: F401

__all__ = ['bootstrap', 'BootstrapResult', 'resample_indices', 'take_rows']
