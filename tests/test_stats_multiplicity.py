"""connection.stats.adjust_pvalues: the one multiplicity correction (compare, drivers, context)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

import connection as cx
from connection.context import diff_proportions
from connection.errors import ArgumentError
from connection.outcomes import adjust_pvalues as outcomes_adjust
from connection.stats import adjust_pvalues

ROOT = Path(__file__).resolve().parents[1] / "connection"
P = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216])


def test_one_function_under_every_public_name():
    assert outcomes_adjust is adjust_pvalues and cx.adjust_pvalues is adjust_pvalues
    assert adjust_pvalues.__module__ == "connection.stats._multiplicity"


def test_no_module_calls_multipletests():
    """The corrections are computed in stats/_multiplicity.py (statsmodels' multipletests runs
    a garbage collection on every Holm call); every other module calls adjust_pvalues."""
    callers = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        if "multipletests" in names:
            callers.append(path.relative_to(ROOT).as_posix())
    assert callers == []


@pytest.mark.parametrize("correction, sm", [("holm", "holm"), ("bh", "fdr_bh"),
                                            ("fdr_bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_corrections_equal_multipletests(correction, sm):
    np.testing.assert_allclose(adjust_pvalues(P, correction=correction),
                               multipletests(P, method=sm)[1], rtol=1e-15)


def test_correction_is_keyword_only_and_method_is_its_old_name():
    params = inspect.signature(adjust_pvalues).parameters
    assert params["correction"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(params) == ["pvalues", "correction", "families"]
    with pytest.raises(TypeError):
        adjust_pvalues(P, "holm")
    with pytest.warns(FutureWarning, match="method= is renamed correction="):
        old = adjust_pvalues(P, method="bh")
    np.testing.assert_array_equal(old, adjust_pvalues(P, correction="bh"))
    with pytest.raises(ArgumentError, match="both method="):
        adjust_pvalues(P, method="bh", correction="holm")
    with pytest.raises(ArgumentError, match="unknown multiplicity correction"):
        adjust_pvalues(P, correction="sidak")


def test_context_holm_is_the_one_adjust_pvalues():
    p1 = np.array([0.61, 0.55, 0.53, 0.33, 0.22])
    p2 = np.array([0.60, 0.60, 0.67, 0.64, 0.61])
    fam = diff_proportions(p1, 1056, p2, [331, 334, 333, 331, 329], correction="holm")
    np.testing.assert_array_equal(fam["pvalue_holm"],
                                  adjust_pvalues(fam["pvalue"].to_numpy(), correction="holm"))
    with pytest.warns(FutureWarning, match="adjust= is renamed correction="):
        old = diff_proportions(p1, 1056, p2, [331, 334, 333, 331, 329], adjust="holm")
    assert old.equals(fam)
