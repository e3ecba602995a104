"""The one multiplicity correction of the package: :func:`adjust_pvalues`.

:func:`connection.outcomes.compare` (per family), :func:`connection.outcomes.drivers` (the
interaction tests) and :func:`connection.context.diff_proportions` (a list of items) adjust their
p-values here, through ``statsmodels.stats.multitest.multipletests``.
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
    from statsmodels.stats.multitest import multipletests

    fam = np.zeros(p.size, dtype=int) if families is None else pd.factorize(np.asarray(families))[0]
    for f in np.unique(fam):
        sel = (fam == f) & ~np.isnan(p)
        if sel.any():
            out[sel] = multipletests(p[sel], method=sm_method)[1]
    return out
