"""Cohen's d and Hedges' g computed by the package, checked against pingouin (a test reference
only: it is no longer a runtime dependency)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from connection.errors import ExclusionWarning
from connection.outcomes import compare
from connection.stats._effect_sizes import cohen_d_hedges_g, cohen_h


@pytest.mark.parametrize("seed", range(12))
def test_cohen_d_and_hedges_g_equal_pingouin(seed):
    rng = np.random.default_rng(seed)
    n_a, n_b = rng.integers(2, 300, 2)
    x = rng.normal(rng.normal(0, 3), rng.uniform(0.1, 5), n_a)
    y = rng.normal(rng.normal(0, 3), rng.uniform(0.1, 5), n_b)
    d, g = cohen_d_hedges_g(x, y)
    assert d == pytest.approx(pg.compute_effsize(x, y, eftype="cohen"), rel=1e-12, abs=1e-12)
    assert g == pytest.approx(pg.compute_effsize(x, y, eftype="hedges"), rel=1e-12, abs=1e-12)


def test_hedges_correction_by_hand():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    d, g = cohen_d_hedges_g(x, y)
    pooled = np.sqrt((3 * np.var(x, ddof=1) + 4 * np.var(y, ddof=1)) / 7)
    assert d == pytest.approx(-1.5 / pooled, rel=1e-15)
    assert g == pytest.approx(d * (1 - 3 / (4 * 9 - 9)), rel=1e-15)
    assert cohen_h(0.5, 0.5) == 0.0
    assert cohen_h(1.0, 0.0) == pytest.approx(np.pi)


def test_compare_effect_sizes_equal_pingouin():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"g": rng.random(700) < 0.3, "v": rng.normal(5, 1.2, 700).round(1)})
    df.loc[::13, "v"] = np.nan   # missing values are left out before the effect sizes
    with pytest.warns(ExclusionWarning, match="v: 54 of 700"):
        row = compare(df, "g", equivalence=["v"], margin=0.5).equivalence.iloc[0]
    a, b = df.loc[df.g, "v"].dropna(), df.loc[~df.g, "v"].dropna()
    assert row["cohen_d"] == pytest.approx(pg.compute_effsize(a, b, eftype="cohen"), rel=1e-12)
    assert row["hedges_g"] == pytest.approx(pg.compute_effsize(a, b, eftype="hedges"), rel=1e-12)


def test_the_package_runs_compare_without_importing_pingouin():
    code = ("import sys, numpy as np, pandas as pd, connection as cx\n"
            "rng = np.random.default_rng(0)\n"
            "df = pd.DataFrame({'g': rng.random(200) < 0.5, 'v': rng.normal(size=200)})\n"
            "cx.compare(df, 'g', equivalence=['v'], margin=0.5)\n"
            "print('pingouin' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pingouin_is_not_a_runtime_dependency():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    runtime = [d.split(">")[0].split("=")[0].strip() for d in project["project"]["dependencies"]]
    assert "pingouin" not in runtime
    assert any(d.startswith("pingouin") for d in project["project"]["optional-dependencies"]["dev"])
