"""The BLAS thread limiter: one BLAS thread while small matrices are multiplied many times."""

from __future__ import annotations

import contextlib

__all__ = ["BlasLimit", "small_blas"]


class BlasLimit:
    """Single-threaded BLAS while small matrices are multiplied many times (a context).

    The optimiser's products involve p x (number of parameters) matrices; OpenBLAS splits
    such products over threads, and on a busy machine waiting for a second thread costs far
    more than the product (fits measured 5x slower). The limit goes through ``threadpoolctl``
    when it is installed (else nothing changes), is process-wide while it lasts, as any BLAS
    thread setting is, and is lifted on exit (or by :meth:`release`).
    """

    _controller = None

    def __enter__(self):
        cls = type(self)
        if cls._controller is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # optional: without it the threads stay as they are
                cls._controller = False
            else:
                cls._controller = ThreadpoolController().select(user_api="blas")
        self._limit = cls._controller.limit(limits=1) if cls._controller else None
        return self

    def release(self):
        if getattr(self, "_limit", None) is not None:
            self._limit.restore_original_limits()
            self._limit = None

    def __exit__(self, *exc):
        self.release()
        return False


# (2 R)^2 p, the largest product per iteration: below the lower bound OpenBLAS stays on one
# thread anyway (its threshold is 4 x 65536 multiply-adds); above the upper one threads pay off
SMALL_BLAS_WORK = (1e5, 2e7)


def small_blas(struct):
    """:class:`BlasLimit` for the iterations and SEs of a mid-size model (not the data pass)."""
    rows = struct.npar * max(struct.ngroups, 1)
    lo, hi = SMALL_BLAS_WORK
    if not lo <= (2 * rows) ** 2 * struct.p <= hi:
        return contextlib.nullcontext()
    return BlasLimit()
