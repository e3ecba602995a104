"""Likelihood-ratio tests, score tests and modification indices."""

from __future__ import annotations

__all__ = ["lrt"]


def lrt(*fits):
    raise NotImplementedError
