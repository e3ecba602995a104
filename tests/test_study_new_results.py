"""The social-moms study's results for issues 14-16: ordinal vs continuous against the
population's truth, weighting an unbalanced sample, and the out-of-sample comparison.

The study run is the session's small run (``social_moms_results``: n = 1,200, seed 7; the ordinal
step's 200 replicate samples of the reference cell, 300 respondents each); the same-seed
byte-identity of every output (new tables and figure included) is
tests/test_social_moms.py::test_same_seed_gives_byte_identical_outputs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "studies" / "social_moms.py"
REPS = 200
# a coverage estimate from REPS replicates: its binomial SE at the nominal 0.95
COVERAGE_SE = float(np.sqrt(0.95 * 0.05 / REPS))


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("social_moms_study_new", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["social_moms_study_new"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def population(study):
    import connection as cx
    from connection.simulation._population import load_config

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    return study._population(cfg, None, cx.instruments.default())


def _numbers(folder: Path) -> dict:
    return json.loads((folder / "numbers.json").read_text())


def _table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "tables" / f"{name}.csv", keep_default_na=False,
                       na_values=[""])


# ------------------------------------------------------------------ ordinal vs continuous
def test_ordinal_truth_is_the_populations(study, population):
    import connection as cx

    cell = ("banking", "other_moms")
    truth = study.ordinal_truth(population, cell, cx.instruments.default())
    items = population.items.set_index("item")["loading"]
    assert truth["loading.ec_belong"] == pytest.approx(items["ec_belong"], abs=0)
    assert truth["loading.sat_overall"] == 0.85
    assert truth["corr.connection_satisfaction"] == 0.05
    assert truth["beta.connection"] == 0.5 and truth["beta.satisfaction"] == 0.15
    assert truth["contrast"] == pytest.approx(0.35, abs=1e-15)
    # the implied correlations invert back to the coefficients (b = R_xx^-1 r_xy)
    r = truth["corr.connection_satisfaction"]
    b = np.linalg.solve([[1, r], [r, 1]], [truth["corr.connection_advocacy"],
                                           truth["corr.satisfaction_advocacy"]])
    assert b == pytest.approx([0.5, 0.15], abs=1e-12)


def test_ordinal_table_and_numbers(social_moms_results):
    t = _table(social_moms_results, "ordinal_vs_continuous")
    numbers = _numbers(social_moms_results)
    assert set(t["method"]) == {"wlsmv", "ml"}
    assert (t["replicates"] == REPS).all()
    assert numbers["ordinal"]["replicates"] == REPS
    assert numbers["ordinal"]["replicates_left_out"] == 0
    assert numbers["ordinal"]["n"] == 300  # the reference cell of 1,200 respondents
    # relative bias as defined, and the numbers are the table's
    assert np.allclose(t["relative_bias"], t["estimate"] / t["truth"] - 1, rtol=1e-8)
    row = t[(t["method"] == "ml") & (t["parameter"] == "contrast")].iloc[0]
    assert numbers["ordinal"]["ml"]["contrast"]["estimate"] == pytest.approx(row["estimate"])
    assert numbers["ordinal"]["truth"]["loading"]["ec_belong"] == pytest.approx(
        t[t["parameter"] == "loading.ec_belong"]["truth"].iloc[0])
    # every interval holds its estimate
    assert ((t["ci_lower"] <= t["estimate"]) & (t["estimate"] <= t["ci_upper"])).all()
    assert (social_moms_results / "figures" / "ordinal_vs_continuous.png").exists()


def test_wlsmv_loadings_are_unbiased_and_ml_attenuates_them(social_moms_results):
    t = _table(social_moms_results, "ordinal_vs_continuous")
    load = t[t["kind"] == "loading"].pivot(index="parameter", columns="method",
                                           values="mean_relative_bias")
    # treating 5-point items as continuous attenuates every connection loading (the population's
    # thresholds are uneven: [-1.8, 1.0]); WLSMV recovers them
    conn = load[load.index.str.startswith("loading.ec_")]
    assert (conn["ml"] < -0.02).all()
    assert load["wlsmv"].abs().mean() < 0.01
    assert (load["wlsmv"].abs() < load["ml"].abs()).mean() >= 0.9
    assert load["wlsmv"].abs().mean() < load["ml"].abs().mean() / 4


def test_wlsmv_interval_coverage_is_nominal(social_moms_results):
    t = _table(social_moms_results, "ordinal_vs_continuous")
    w = t[t["method"] == "wlsmv"]
    loadings = w[w["kind"] == "loading"]
    # each loading's coverage within 3.5 binomial SEs of 0.95; their mean within 2.5 SEs
    assert (loadings["coverage"] > 0.95 - 3.5 * COVERAGE_SE).all()
    assert abs(loadings["coverage"].mean() - 0.95) < 2.5 * COVERAGE_SE
    # ML's attenuated loadings cover less often than WLSMV's
    ml = t[(t["method"] == "ml") & (t["kind"] == "loading")]
    assert ml["coverage"].mean() < loadings["coverage"].mean()


# ------------------------------------------------------------------ weighting
def test_unbalanced_population_oversamples_by_the_factor(study, population):
    unb = study.unbalanced_population(population, {"social_media_moms": 2.0})
    sizes = unb.cell_sizes(1200)
    smm = sum(v for (c, g), v in sizes.items() if g == "social_media_moms")
    assert smm == 800
    # the population itself is untouched (its truth and margins)
    assert study.population_margins(population)["group"] == {"social_media_moms": 0.5,
                                                              "other_moms": 0.5}
    assert unb.corr == population.corr and unb.means == population.means


def test_population_headline_shares_match_a_large_sample(study, population):
    import connection as cx

    truth = study.population_headline(population)
    data = population.simulate(40000, seed=5).data
    frame = data.assign(connected=False)
    ind = study.headline_indicators(frame, cx.instruments.default())
    for name, value in truth.items():
        # a share's SE at n = 40,000 is at most 0.0025
        assert ind[name].mean() == pytest.approx(value, abs=0.01), name


def test_raked_weights_meet_the_population_margins(social_moms_results):
    numbers = _numbers(social_moms_results)["weighting"]
    assert numbers["converged"] is True
    assert numbers["max_margin_error"] < 1e-8
    m = _table(social_moms_results, "weighting_margins")
    assert np.allclose(m["achieved_share"], m["target_share"], atol=1e-8)
    assert numbers["sample_share"]["social_media_moms"] == pytest.approx(2 / 3, abs=1e-10)
    # 2:1 over-representation of one of two equal groups: weights 3/4 and 3/2, Kish design
    # effect 2/3 * 9/16 + 1/3 * 9/4 = 1.125 and n_eff = n / 1.125
    assert numbers["design_effect"] == pytest.approx(1.125, abs=1e-9)
    assert numbers["n_eff"] == pytest.approx(numbers["n"] / 1.125, rel=1e-9)


def test_weighting_table(social_moms_results):
    w = _table(social_moms_results, "weighting").set_index(["variable", "group"])
    # within a group the raking weights are equal (categories are balanced in each group):
    # group means do not move; the pooled connection mean does, towards the balanced sample
    for g in ("social_media_moms", "other_moms"):
        assert w.loc[("connection", g), "weighted"] == pytest.approx(
            w.loc[("connection", g), "unweighted"], rel=1e-12)
    conn = w.loc[("connection", "all")]
    assert abs(conn["weighted_error"]) < abs(conn["unweighted_error"])
    assert conn["unweighted"] > conn["weighted"]  # social-media moms are more connected
    assert (w.loc[("agree_ec_belong", "all"), "reference_kind"]) == "population"
    numbers = _numbers(social_moms_results)["weighting"]
    assert numbers["connection"]["all"]["weighted"] == pytest.approx(conn["weighted"])


def test_weighted_headline_is_the_weighted_mean(study):
    import connection as cx

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "group": rng.choice(["a", "b"], n), "satisfaction": rng.uniform(0, 100, n),
        "connection": rng.uniform(0, 100, n), "ec_belong": rng.integers(1, 6, n),
        "sat_overall": rng.integers(1, 11, n), "adv_recommend": rng.integers(0, 11, n),
        "connected": rng.random(n) < 0.3})
    cfg = {"population": {"group_column": "group", "spend_column": "spend"}}
    w = rng.uniform(0.5, 2.0, n)
    head = study.weighted_headline(cx, frame, cx.instruments.default(), cfg, w)
    head = head.set_index(["variable", "group"])
    x = (frame["ec_belong"] >= 4).to_numpy(float)
    assert head.loc[("agree_ec_belong", "all"), "weighted"] == pytest.approx(
        (w * x).sum() / w.sum(), rel=1e-12)
    assert head.loc[("agree_ec_belong", "all"), "unweighted"] == pytest.approx(x.mean())
    a = (frame["group"] == "a").to_numpy()
    assert head.loc[("satisfaction", "a"), "weighted"] == pytest.approx(
        (w[a] * frame["satisfaction"][a]).sum() / w[a].sum(), rel=1e-12)
    assert head.loc[("promoter_adv_recommend", "all"), "unweighted"] == pytest.approx(
        (frame["adv_recommend"] >= 9).mean())


def _real_file(tmp_path: Path, weights) -> Path:
    from connection.simulation._population import Population, load_config

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"])
    data = pop.simulate(800, seed=11).data
    data["w"] = weights(len(data))
    path = tmp_path / "moms.csv"
    data.to_csv(path, index=False)
    config = (ROOT / "studies" / "social_moms.toml").read_text().replace(
        'weight_column = ""', 'weight_column = "w"')
    (tmp_path / "cfg.toml").write_text(config)
    return path


@pytest.mark.slow   # a full real-data run of the study, ~18 s; .ci/run runs the slow tests too
def test_real_data_mode_uses_the_configured_weight_column(study, tmp_path):
    rng = np.random.default_rng(2)
    path = _real_file(tmp_path, lambda n: rng.uniform(0.5, 2.0, n))
    out = tmp_path / "out"
    study.run(["--data", str(path), "--config", str(tmp_path / "cfg.toml"), "--out", str(out),
               "--n-boot", "0", "--quiet"])
    numbers = _numbers(out)
    data = pd.read_csv(path)
    w = data["w"].to_numpy()
    assert numbers["weighting"]["design_effect"] == pytest.approx(
        len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-9)
    x = (data["sat_overall"] >= 8).to_numpy(float)
    assert numbers["weighting"]["satisfied_sat_overall"]["all"]["weighted"] == pytest.approx(
        (w * x).sum() / w.sum(), rel=1e-8)
    assert "ordinal" not in numbers  # no truth in real-data mode
    assert numbers["predictive"]["advocacy"]["r2_gain"] > 0


@pytest.mark.slow   # a real-data run of the study, ~16 s; .ci/run runs the slow tests too
def test_real_data_mode_refuses_a_nonpositive_weight(study, tmp_path):
    from connection.errors import DataError

    path = _real_file(tmp_path, lambda n: np.r_[0.0, np.ones(n - 1)])
    with pytest.raises(DataError, match="weights") as err:
        study.run(["--data", str(path), "--config", str(tmp_path / "cfg.toml"),
                   "--out", str(tmp_path / "out"), "--n-boot", "0", "--quiet"])
    assert err.value.column == "w"


# ------------------------------------------------------------------ out of sample
def test_predictive_comparison_numbers(social_moms_results):
    t = _table(social_moms_results, "predictive")
    numbers = _numbers(social_moms_results)["predictive"]
    assert numbers["folds"] == 10 and numbers["repeats"] == 5
    for outcome in ("advocacy", "loyalty"):
        sub = t[t["outcome"] == outcome].set_index("model")
        gain = sub.loc["full", "r2_oos"] - sub.loc["base", "r2_oos"]
        assert sub.loc["difference", "r2_oos"] == pytest.approx(gain, abs=1e-9)
        assert numbers[outcome]["r2_gain"] == pytest.approx(gain, abs=1e-9)
        # 10 folds x 5 repeats: the corrected t has 49 degrees of freedom
        assert numbers[outcome]["df"] == 49
        # connection drives both outcomes in the population (0.5 and 0.4 beyond satisfaction)
        assert numbers[outcome]["p_value"] < 1e-3
        assert numbers[outcome]["ci_lower"] > 0
    # connection adds more to advocacy (0.50) than to loyalty (0.40)
    assert numbers["advocacy"]["r2_gain"] > numbers["loyalty"]["r2_gain"]


def test_new_outputs_are_in_the_manifest(social_moms_results):
    manifest = json.loads((social_moms_results / "manifest.json").read_text())
    for rel in ("tables/ordinal_vs_continuous.csv", "tables/weighting.csv",
                "tables/weighting_margins.csv", "tables/predictive.csv",
                "figures/ordinal_vs_continuous.pdf"):
        assert rel in manifest["outputs"], rel
    steps = manifest["timings_seconds"]
    assert any(k.startswith("ordinal vs continuous") for k in steps)
