"""The power study: analytic shortcuts against independent references and the full study run."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestPower

from connection.simulation._population import (
    Population,
    chisq_power,
    load_config,
    scalar_ncp,
    slope_power,
)

ROOT = Path(__file__).resolve().parents[1]


def test_slope_power_matches_statsmodels_noncentral_t():
    """slope_power with p predictors is a t test with df = n - p - 1; statsmodels' TTestPower is
    the one-sample t (df = n - 1, noncentrality d sqrt(n)): with p = 0 they must agree."""
    for n, beta, s2, sxx in [(50, 0.3, 1.0, 1.0), (200, 0.1, 2.0, 1.5), (1000, 0.05, 1.0, 1.0)]:
        se = np.sqrt(s2 * sxx / n)
        d = beta / se / np.sqrt(n)
        ref = TTestPower().power(effect_size=d, nobs=n, alpha=0.05, alternative="two-sided")
        ours = slope_power(n, beta, s2, sxx, alpha=0.05, n_predictors=0)
        assert float(ours) == pytest.approx(ref, abs=1e-10)


def test_chisq_power_is_alpha_without_misfit_and_grows():
    assert float(chisq_power(0.0, 7)) == pytest.approx(0.05, abs=1e-6)
    p = chisq_power(np.array([1.0, 5.0, 20.0]), 1)
    assert np.all(np.diff(p) > 0)
    assert float(chisq_power(7.84887, 1)) == pytest.approx(0.80, abs=0.002)  # known 1-df value


def test_scalar_ncp_matches_the_engines_chi_square_difference():
    """The noncentrality from population moments against data: with one item's thresholds
    shifted in one of two groups of 20,000, the scalar-vs-metric chi-square difference of
    ``cx.invariance`` on a simulated sample is about ncp + df."""
    import connection as cx

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    shares = {"banking": {"social_media_moms": 0.5, "other_moms": 0.5},
              "ereaders": {"social_media_moms": 0.0, "other_moms": 0.0}}
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"], overrides={
        "cell_shares": shares,
        "threshold_shifts": {"ec_belong": {"banking": {"social_media_moms": 0.25}}}})
    moments = pop.simulate(400_000, seed=4).data      # population moments
    per_group = scalar_ncp(pop, moments, "banking", ("social_media_moms", "other_moms"))
    n_per_group = 20_000
    ncp = n_per_group * per_group
    sim = pop.simulate(2 * n_per_group, seed=3)       # one study
    survey = cx.read_survey(sim.data, pop.instrument, id_column="respondent_id", warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = cx.invariance(pop.instrument.model_syntax("connection"), survey.data, group="group",
                            levels=("configural", "metric", "scalar"), partial=None)
    row = inv.table.set_index("step").loc["scalar"]
    df = len(pop.instrument.item_ids("connection")) - 1
    assert row["delta_df"] == df
    expected = ncp + df
    sd = np.sqrt(2 * (df + 2 * ncp))
    assert ncp > 500  # a real effect at this n
    assert abs(row["delta_chisq"] - expected) < 2.5 * sd, (row["delta_chisq"], expected, sd)
    # without the shift the same test has almost no noncentrality (ordinal coarsening only)
    null = Population.from_config(cfg["population"], calibration=cfg["calibration"],
                                  overrides={"cell_shares": shares})
    assert scalar_ncp(null, null.simulate(400_000, seed=4).data, "banking",
                      ("social_media_moms", "other_moms")) * n_per_group < 10


def test_power_study_outputs(power_results):
    """The shared session run (tests/conftest.py): ``--population-n 30000 --reps 300
    --scalar-reps 40``."""
    out = power_results
    n80 = pd.read_csv(out / "tables" / "n80.csv").set_index("test")["n_per_cell"]
    power = pd.read_csv(out / "tables" / "power.csv")
    analytic = power[power["method"] == "analytic"]
    for test, curve in analytic.groupby("test"):
        assert np.all(np.diff(curve.sort_values("n_per_cell")["power"]) >= -1e-12), test
    # the interaction (a difference of slopes) needs more respondents than the main effect
    assert n80["connection x group interaction"] > n80["connection effect"]
    assert all(np.isfinite(n80))
    # Monte Carlo points agree with the analytic curve within their binomial error (OLS tests:
    # 300 replicates; the scalar test through the engine's invariance ladder: 40)
    sim = power[power["method"] == "simulation"]
    # 3 check sizes x 5 tests, and the four OLS/equivalence tests again at their own n80
    assert len(sim) == 19
    for test in ("connection effect", "connection x group interaction",
                 "connection - satisfaction contrast", "equivalence of satisfaction"):
        at = sim[(sim["test"] == test) & (sim["n_per_cell"] == n80[test])]
        assert len(at) == 1, test
        # at the analytic n80 the simulated power is the target, within its binomial error
        se = np.sqrt(0.8 * 0.2 / at["reps"].iloc[0])
        assert abs(at["power"].iloc[0] - 0.8) < 4 * se, (test, at["power"].iloc[0])
    # the contrast of two slopes that differ by 0.10 needs more than the connection slope of 0.10
    # beyond satisfaction (its estimate carries the sampling error of both slopes)
    assert n80["connection - satisfaction contrast"] > n80["connection effect"]
    curves = {t: c.set_index("n_per_cell")["power"] for t, c in analytic.groupby("test")}
    for r in sim.itertuples():
        curve = curves[r.test]
        expected = float(np.interp(np.log(r.n_per_cell), np.log(curve.index.to_numpy(float)),
                                   curve.to_numpy()))
        se = np.sqrt(max(expected * (1 - expected), 0.05) / r.reps)
        assert abs(r.power - expected) < 4 * se + 0.03, (r.test, r.n_per_cell, r.power, expected)
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["n80"]["connection_effect"] == n80["connection effect"]
    assert numbers["n80"]["equivalence"] == n80["equivalence of satisfaction"]
    assert numbers["check_at_n80"]["contrast"]["reps"] > 0
    assert (out / "figures" / "power_curve.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "tables/n80.csv" in manifest["outputs"]


def test_wilson_interval_holds_the_share_at_zero_and_all_successes():
    """A Monte Carlo power of 0 or 1 (k = 0 or k = reps) gave a lower bound of 5.6e-17 > 0 =
    power, and the power curve's error bars crashed on the negative length ('yerr must not
    contain negative values'); elsewhere the interval is statsmodels' Wilson interval."""
    import importlib.util

    from statsmodels.stats.proportion import proportion_confint

    spec = importlib.util.spec_from_file_location("_power_for_wilson",
                                                  ROOT / "studies" / "power_social_moms.py")
    power = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(power)
    for k, n in [(0, 3), (0, 50), (3, 3), (50, 50), (1, 12), (7, 40), (299, 300)]:
        lo, hi = power._wilson(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, lo, hi)
        ref_lo, ref_hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert lo == pytest.approx(ref_lo, abs=1e-12) and hi == pytest.approx(ref_hi, abs=1e-12)
    assert power._wilson(0, 3)[0] == 0.0 and power._wilson(3, 3)[1] == 1.0


def _power_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_power_for_tost",
                                                  ROOT / "studies" / "power_social_moms.py")
    power = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(power)
    return power


def test_tost_power_matches_simulated_welch_tost():
    """The closed-form TOST power (normal approximation) against Welch TOSTs on simulated normal
    data, at sizes where power is low, middling and high, and with a true difference at the
    margin (power = alpha at most)."""
    power = _power_module()
    for n, delta, share in [(600, 0.1, 0.13), (1600, 0.1, 0.13), (4000, 0.05, 0.3),
                            (2000, 0.0, 0.5)]:
        reps = 4000
        k = power.tost_simulation(n, delta, 0.2, share, reps, np.random.SeedSequence(n))
        expected = float(power.tost_power(n, delta, 0.2, share))
        se = np.sqrt(max(expected * (1 - expected), 0.01) / reps)
        assert abs(k / reps - expected) < 4 * se + 0.01, (n, delta, k / reps, expected)
    assert float(power.tost_power(10**6, 0.2, 0.2, 0.5)) == pytest.approx(0.05, abs=1e-3)
    # power grows with n and falls as the true difference nears the margin
    p = power.tost_power(np.array([500, 1000, 2000, 4000]), 0.1, 0.2, 0.13)
    assert np.all(np.diff(p) > 0)
    assert power.tost_power(2000, 0.15, 0.2, 0.13) < power.tost_power(2000, 0.05, 0.2, 0.13)
