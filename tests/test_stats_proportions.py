"""connection.stats._proportions: the one implementation of the proportion intervals, checked
against statsmodels, and shared by connection.outcomes (compare) and connection.context."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

import connection.context as context
import connection.outcomes._compare as compare_module
from connection._common import z_critical
from connection.stats import _proportions
from connection.stats._proportions import (
    katz_risk_ratio,
    newcombe_difference,
    pooled_z_test,
    wald_difference,
    wilson_interval,
)

ROOT = Path(__file__).resolve().parents[1] / "connection"
COUNTS = [(0, 20), (1, 20), (9, 20), (20, 20), (45, 100), (88, 132), (350, 1056), (3, 7)]
LEVELS = [0.80, 0.90, 0.95, 0.99, 0.999]


@pytest.mark.parametrize("level", LEVELS)
def test_wilson_equals_statsmodels_wilson_vectorised(level):
    x = np.array([c for c, _ in COUNTS], float)
    n = np.array([m for _, m in COUNTS], float)
    lo, hi = wilson_interval(x, n, z_critical(level))
    ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=1e-12)
    assert lo.shape == x.shape and ((lo <= x / n + 1e-15) & (x / n <= hi + 1e-15)).all()


@pytest.mark.parametrize("level", LEVELS)
def test_newcombe_and_wald_differences_equal_statsmodels(level):
    rng = np.random.default_rng(13)
    na, nb = rng.integers(5, 400, 40).astype(float), rng.integers(5, 400, 40).astype(float)
    a, c = np.floor(rng.random(40) * (na + 1)), np.floor(rng.random(40) * (nb + 1))
    a[:3], c[3:6] = 0, nb[3:6]              # the edges: no events, only events
    z = z_critical(level)
    d, lo, hi = newcombe_difference(a, na, c, nb, z)
    d_w, se, lo_w, hi_w = wald_difference(a, na, c, nb, z)
    for i in range(a.size):
        ref = confint_proportions_2indep(a[i], na[i], c[i], nb[i], method="newcomb",
                                         compare="diff", alpha=1 - level)
        ref_w = confint_proportions_2indep(a[i], na[i], c[i], nb[i], method="wald",
                                           compare="diff", alpha=1 - level)
        assert (lo[i], hi[i]) == pytest.approx(ref, abs=1e-12)
        assert (lo_w[i], hi_w[i]) == pytest.approx(ref_w, abs=1e-12)
    np.testing.assert_array_equal(d, a / na - c / nb)
    np.testing.assert_array_equal(d_w, d)
    assert (lo <= d).all() and (d <= hi).all()


def test_katz_and_pooled_z_equal_statsmodels():
    for a, na, c, nb in [(46, 500, 26, 500), (32, 410, 11, 377), (7, 50, 1, 61)]:
        rr = katz_risk_ratio(a, na, c, nb, z_critical(0.9))
        table = Table2x2(np.array([[a, na - a], [c, nb - c]]))
        assert float(rr["risk_ratio"]) == pytest.approx(table.riskratio, rel=1e-12)
        assert (float(rr["ci_lower"]), float(rr["ci_upper"])) == pytest.approx(
            table.riskratio_confint(alpha=0.1), rel=1e-12)
        z, p = pooled_z_test(a, na, c, nb)
        assert (float(z), float(p)) == pytest.approx(proportions_ztest([a, c], [na, nb]), rel=1e-10)
    z, p = pooled_z_test([0, 5], [10, 5], [0, 7], [12, 7])   # no variance: z 0, p 1
    np.testing.assert_array_equal(z, [0.0, 0.0])
    np.testing.assert_array_equal(p, [1.0, 1.0])


def test_compare_and_context_compute_through_the_one_implementation():
    # the very same functions, not copies
    assert compare_module.newcombe_difference is _proportions.newcombe_difference
    assert compare_module.wald_difference is _proportions.wald_difference
    assert compare_module.pooled_z_test is _proportions.pooled_z_test
    assert compare_module.katz_risk_ratio is _proportions.katz_risk_ratio
    assert context.newcombe_difference is _proportions.newcombe_difference
    assert context.wald_difference is _proportions.wald_difference
    assert context.pooled_z_test is _proportions.pooled_z_test
    assert context.wilson_interval is _proportions.wilson_interval
    # and nowhere else a Wilson or Newcombe formula, or statsmodels' two-sample intervals
    for path in [*ROOT.glob("outcomes/*.py"), ROOT / "context.py", *ROOT.glob("stats/*.py")]:
        if path.name == "_proportions.py":
            continue
        tree = ast.parse(path.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not {"_wilson", "wilson", "_newcombe"} & defined, path
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    for a in n.names}
        assert not {"confint_proportions_2indep", "proportions_ztest"} & imported, path


def test_both_public_functions_give_the_same_numbers_with_their_own_columns():
    a, na, c, nb = np.array([40, 3, 17]), np.array([100, 50, 60]), np.array([20, 7, 17]), 80
    ours = compare_module.proportion_difference(a, na, c, nb, level=0.9)
    ctx = context.diff_proportions(a / na, na, c / nb, np.full(3, nb), level=0.9)
    np.testing.assert_allclose(ctx["ci_lower"], ours["ci_lower"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ctx["ci_upper"], ours["ci_upper"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ctx["z"], ours["statistic"], rtol=1e-13)
    np.testing.assert_allclose(ctx["pvalue"], ours["pvalue"], rtol=1e-12)
    wald = compare_module.proportion_difference(a, na, c, nb, level=0.9, method="wald")
    np.testing.assert_allclose(ctx["wald_ci_lower"], wald["ci_lower"], rtol=0, atol=1e-15)
    # each keeps its own column names
    assert list(ours.columns) == ["risk_a", "risk_b", "difference", "ci_lower", "ci_upper",
                                  "method", "statistic", "pvalue"]
    assert {"proportion_1", "n_1", "z", "cohens_h", "wald_ci_lower"} <= set(ctx.columns)


def test_proportion_ci_wilson_is_the_one_wilson():
    p, n = np.array([0.45, 0.0, 1.0, 0.33]), np.array([100, 20, 30, 1056])
    ci = context.proportion_ci(p, n, level=0.9)
    lo, hi = wilson_interval(p * n, n, z_critical(0.9))
    np.testing.assert_array_equal(ci["ci_lower"], np.clip(lo, 0, 1))
    np.testing.assert_array_equal(ci["ci_upper"], np.clip(hi, 0, 1))


def test_the_z_critical_value_is_computed_in_one_place():
    """No module of these layers computes a normal critical value itself."""
    for path in [*ROOT.glob("outcomes/*.py"), ROOT / "context.py", *ROOT.glob("stats/*.py")]:
        text = path.read_text()
        for pattern in ("norm.ppf(0.5", "norm.ppf(1 -", "norm.isf(", "ndtri(", "def _z(",
                        "def _zcrit("):
            assert pattern not in text, (path.name, pattern)
