"""Standardized effect sizes of two-group contrasts: Cohen's d, Hedges' g, Cohen's h.

Cohen's d divides the difference of means by the pooled standard deviation,
``sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2))`` (sample variances, ``ddof=1``);
Hedges' g multiplies it by the small-sample correction ``1 - 3 / (4 (n_a + n_b) - 9)`` (the
approximation pingouin's ``compute_effsize`` documents; Hedges 1981). Cohen's h is the difference
of the arcsine-transformed proportions, ``2 asin(sqrt(p_a)) - 2 asin(sqrt(p_b))``.

>>> import numpy as np
>>> d, g = cohen_d_hedges_g(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.0, 4.0, 5.0, 6.0]))
>>> print(f"{d:.4f} {g:.4f}")
-1.0247 -0.9108
"""

from __future__ import annotations

import numpy as np

__all__ = ["cohen_d_hedges_g", "cohen_h"]


def cohen_d_hedges_g(x_a: np.ndarray, x_b: np.ndarray) -> tuple[float, float]:
    """Cohen's d and Hedges' g of ``mean(x_a) - mean(x_b)`` (two independent samples, no NaN)."""
    x_a, x_b = np.asarray(x_a, dtype=float), np.asarray(x_b, dtype=float)
    n_a, n_b = x_a.size, x_b.size
    pooled_var = ((n_a - 1) * x_a.var(ddof=1) + (n_b - 1) * x_b.var(ddof=1)) / (n_a + n_b - 2)
    d = float((x_a.mean() - x_b.mean()) / np.sqrt(pooled_var))
    return d, d * (1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0))


def cohen_h(p_a, p_b):
    """Cohen's h of two proportions (arrays broadcast)."""
    return 2 * np.arcsin(np.sqrt(p_a)) - 2 * np.arcsin(np.sqrt(p_b))
