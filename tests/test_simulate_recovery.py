"""Parameter recovery over repeated simulated studies (slow): the structural model fitted per cell
recovers the known coefficients, and its 95% intervals cover them about 95% of the time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_recovery_bias_and_coverage():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_study import recovery
    finally:
        sys.path.pop(0)
    summary, runs = recovery(reps=80, n_per_cell=500, seed=11)
    assert runs["converged"].all()
    assert len(runs) == 80 * 16
    coverage = runs["covered"].mean()
    # 1,280 intervals: binomial SE about 0.6 points around 0.95
    assert 0.92 <= coverage <= 0.975, summary
    # unbiased within a few Monte Carlo SEs (empirical SD / sqrt(80) ~ 0.008)
    assert summary["bias"].abs().max() < 0.035, summary
    assert abs(summary["bias"].mean()) < 0.01
    # the standard errors match the sampling variability
    ratio = summary["mean_se"] / summary["empirical_sd"]
    assert ratio.between(0.75, 1.3).all(), summary
