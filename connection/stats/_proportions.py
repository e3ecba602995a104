"""The one implementation of the proportion intervals and tests, vectorised over arrays of counts.

Every proportion interval of the package comes from here: :func:`connection.outcomes.risk_ratio`,
:func:`connection.outcomes.proportion_difference` (and :func:`connection.outcomes.compare`) and
:func:`connection.context.proportion_ci` / :func:`connection.context.diff_proportions` are thin
tables around these functions. They take counts (``events``, ``n``; a count may be fractional,
as a published share times a sample size is) and a critical value ``z`` (from
:func:`connection._common.z_critical`), broadcast their arguments, and return arrays. They do not
check their input: the public functions do, each with its own messages.

* :func:`wilson_interval`: Wilson's score interval of one proportion (Wilson 1927; R
  ``prop.test(correct = FALSE)``, statsmodels ``proportion_confint(method="wilson")``);
* :func:`newcombe_difference`: the hybrid score interval of ``p_a - p_b`` built from the two
  Wilson intervals (Newcombe 1998, method 10; statsmodels ``confint_proportions_2indep(method=
  "newcomb")``);
* :func:`wald_difference`: ``p_a - p_b +/- z * sqrt(p_a q_a / n_a + p_b q_b / n_b)``;
* :func:`katz_risk_ratio`: ``p_a / p_b`` with the Katz log interval (Katz et al. 1978), 0.5
  added to every cell when a group has no events or only events (Haldane-Anscombe);
* :func:`pooled_z_test`: the pooled two-proportion z test (R ``prop.test(correct = FALSE)``).

>>> lo, hi = wilson_interval(45.0, 100.0, 1.959963984540054)
>>> print(f"{float(lo):.4f} {float(hi):.4f}")
0.3561 0.5476
>>> d, lo, hi = newcombe_difference(56.0, 70.0, 48.0, 80.0, 1.959963984540054)
>>> print(f"{float(d):.2f} {float(lo):.4f} {float(hi):.4f}")    # Newcombe (1998), example (c)
0.20 0.0524 0.3339
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["wilson_interval", "newcombe_difference", "wald_difference", "katz_risk_ratio",
           "pooled_z_test"]


def wilson_interval(events, n, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(lower, upper)`` of ``events / n`` at critical value ``z``."""
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    p = events / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def newcombe_difference(events_a, n_a, events_b, n_b,
                        z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p_a - p_b, lower, upper)`` with Newcombe's hybrid score interval (method 10)."""
    events_a, n_a, events_b, n_b = (np.asarray(v, dtype=float)
                                    for v in (events_a, n_a, events_b, n_b))
    pa, pb = events_a / n_a, events_b / n_b
    d = pa - pb
    la, ua = wilson_interval(events_a, n_a, z)
    lb, ub = wilson_interval(events_b, n_b, z)
    lower = d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    upper = d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return d, lower, upper


def wald_difference(events_a, n_a, events_b, n_b,
                    z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(p_a - p_b, se, lower, upper)`` with the Wald (unpooled normal) interval."""
    events_a, n_a, events_b, n_b = (np.asarray(v, dtype=float)
                                    for v in (events_a, n_a, events_b, n_b))
    pa, pb = events_a / n_a, events_b / n_b
    d = pa - pb
    se = np.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    return d, se, d - z * se, d + z * se


def katz_risk_ratio(events_a, n_a, events_b, n_b, z: float) -> dict[str, np.ndarray]:
    """Risk ratio ``p_a / p_b`` with the Katz log interval.

    Returns ``risk_ratio``, ``log_rr_se``, ``ci_lower``, ``ci_upper`` and ``zero_correction``
    (True where a group had no events or only events, so that 0.5 was added to each of the four
    cells for the estimate and the interval).
    """
    a, na, c, nb = (np.asarray(v, dtype=float) for v in (events_a, n_a, events_b, n_b))
    zero = (a == 0) | (c == 0) | (a == na) | (c == nb)
    aa, cc = np.where(zero, a + 0.5, a), np.where(zero, c + 0.5, c)
    naa, nbb = np.where(zero, na + 1.0, na), np.where(zero, nb + 1.0, nb)
    rr = (aa / naa) / (cc / nbb)
    se = np.sqrt(1.0 / aa - 1.0 / naa + 1.0 / cc - 1.0 / nbb)
    return {"risk_ratio": rr, "log_rr_se": se, "ci_lower": rr * np.exp(-z * se),
            "ci_upper": rr * np.exp(z * se), "zero_correction": zero}


def pooled_z_test(events_a, n_a, events_b, n_b) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z statistic of ``p_a - p_b`` and its two-sided p-value.

    Where both groups have no events (or only events) there is no variance and no evidence of
    a difference: z is 0 and p is 1.
    """
    a, na, c, nb = (np.asarray(v, dtype=float) for v in (events_a, n_a, events_b, n_b))
    d = a / na - c / nb
    pooled = (a + c) / (na + nb)
    se0 = np.sqrt(pooled * (1 - pooled) * (1.0 / na + 1.0 / nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se0 > 0, d / se0, 0.0)
    return z, 2 * ndtr(-np.abs(z))
