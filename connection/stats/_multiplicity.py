"""The one multiplicity correction of the package: :func:`adjust_pvalues`.

:func:`connection.outcomes.compare` (per family), :func:`connection.outcomes.drivers` (the
interaction tests) and :func:`connection.context.diff_proportions` (a list of items) adjust their
p-values here. The step-down (Holm), step-up (Benjamini-Hochberg) and Bonferroni adjustments are
computed directly, as R's ``p.adjust`` defines them (tested against it and against
``statsmodels.stats.multitest.multipletests``, whose Holm path runs a full garbage collection on
every call: 30 ms in a fresh process, a third of a second in a long session).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connection._common import renamed_keywords
from connection.errors import ArgumentError

__all__ = ["adjust_pvalues", "CORRECTIONS", "check_correction"]

#: accepted ``correction=`` values -> the statsmodels ``multipletests`` method (None: no
#: correction). ``"bh"`` is the vocabulary's word; ``"fdr_bh"`` and ``"none"`` are accepted too.
CORRECTIONS: dict[str | None, str | None] = {
    "holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni",
    "none": None, None: None,
}


def check_correction(correction, name: str = "correction") -> str | None:
    """The statsmodels method of ``correction`` (None for no correction), else ArgumentError."""
    try:
        return CORRECTIONS[correction]
    except (KeyError, TypeError):
        raise ArgumentError(f"unknown multiplicity correction ({name}=)", values=[correction],
                            expected="'holm', 'bh' (or 'fdr_bh'), 'bonferroni' or None") from None


@renamed_keywords(method="correction")
def adjust_pvalues(pvalues, *, correction: str | None = "holm", families=None) -> np.ndarray:
    """Adjust p-values for multiplicity within each family.

    Parameters
    ----------
    pvalues
        Array of p-values (NaN entries are left NaN and not counted).
    correction
        ``"holm"`` (default), ``"bh"`` / ``"fdr_bh"`` (Benjamini-Hochberg), ``"bonferroni"`` or
        ``None`` (no adjustment). (``method=`` is the old name of this argument.)
    families
        Labels, one per p-value; each family is adjusted separately. ``None``: one family.

    Examples
    --------
    >>> from connection.stats import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.20], correction="holm").round(3).tolist()
    [0.04, 0.09, 0.09, 0.2]
    """
    sm_method = check_correction(correction)
    p = np.atleast_1d(np.asarray(pvalues, dtype=float))
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ArgumentError("p-values must lie between 0 and 1", rows=(np.flatnonzero(bad) + 1).tolist(),
                            values=p[bad].tolist(), expected="0 <= p <= 1 (NaN for untested)")
    if families is not None and len(families) != p.size:
        raise ArgumentError("families needs one label per p-value", values=[len(families), p.size],
                            expected=f"{p.size} family labels")
    out = p.copy()
    if sm_method is None:
        return out
    fam = np.zeros(p.size, dtype=int) if families is None else pd.factorize(np.asarray(families))[0]
    for f in np.unique(fam):
        sel = (fam == f) & ~np.isnan(p)
        if sel.any():
            out[sel] = _adjust(p[sel], sm_method)
    return out


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family (no NaN), as R's ``p.adjust``: Holm
    ``cummax((m - i + 1) p_(i))``, Benjamini-Hochberg ``cummin`` of ``m / i p_(i)`` from the
    largest down, Bonferroni ``m p``; each capped at 1."""
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:  # fdr_bh
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out
