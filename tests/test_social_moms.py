"""End-to-end tests of studies/social_moms.py: determinism, outputs, real-data mode."""

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


def _load():
    spec = importlib.util.spec_from_file_location("social_moms_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["social_moms_study"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def study():
    return _load()


def _outputs(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_same_seed_gives_byte_identical_outputs(social_moms_results, social_moms_rerun):
    """The rerun has another PYTHONHASHSEED and spreads the repeated-sample steps (ordinal
    replicates, repeated recovery, sensitivity grid) over two processes (--workers 2)."""
    a, b = social_moms_results, social_moms_rerun
    assert "--workers" in json.loads((b / "manifest.json").read_text())["argv"]
    out_a, out_b = _outputs(a), _outputs(b)
    assert out_a.keys() == out_b.keys()
    assert len([k for k in out_a if k.startswith("tables/")]) >= 20
    assert any(k.startswith("figures/") for k in out_a)
    differing = [k for k in out_a if out_a[k] != out_b[k]]
    assert differing == []


def test_manifest_records_provenance_and_every_output(social_moms_results):
    a = social_moms_results
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["data_sha256"] and len(manifest["data_sha256"]) == 64
    assert manifest["config_sha256"]
    assert "numbers.json" in manifest["outputs"]
    for rel in ("tables/calibration.csv", "tables/invariance.csv", "tables/drivers_latent.csv",
                "tables/value_ratio.csv", "tables/sensitivity.csv", "figures/calibration.png",
                "figures/sensitivity.pdf", "figures/drivers.png", "figures/risk_ratios.png",
                "figures/equivalence.png"):
        assert rel in manifest["outputs"], rel
    steps = manifest["timings_seconds"]
    assert "total" in steps and len(steps) >= 12
    # how the index was set up: enough to build the same index again
    from connection.measurement import ConnectionIndex
    params = manifest["parameters"]["connection_index"]
    assert params["instrument_or_model"].startswith("connection =~ ")
    assert ConnectionIndex(**params).get_params() == params


def test_calibration_table_and_published_numbers(social_moms_results):
    a = social_moms_results
    cal = pd.read_csv(a / "tables" / "calibration.csv")
    assert list(cal.columns) == ["category", "group", "item", "published", "population", "sample"]
    assert len(cal) == 14
    assert np.allclose(cal["population"], cal["published"], atol=1e-9)
    # 300 respondents per cell: sampling SE up to 2.9 points; a broken sampler would be far off
    assert (cal["sample"] - cal["published"]).abs().max() < 10
    numbers = json.loads((a / "numbers.json").read_text())
    assert numbers["published"]["banking"]["social_media_moms"]["ec_belong"] == 37
    assert numbers["published"]["banking"]["other_moms"]["sat_overall"] == 53
    assert numbers["n"]["total"] == 1200
    assert numbers["mode"] == "simulation"


def test_findings_follow_the_population(social_moms_results):
    """Properties of the default population that a small study should already show."""
    a = social_moms_results
    numbers = json.loads((a / "numbers.json").read_text())
    lat = numbers["drivers"]["latent"]["banking"]["advocacy"]
    assert lat["connection"] > lat["satisfaction"]
    assert numbers["value"]["ratio"] > 1.0
    # the study's estimator (WLSMV: the ordinal ladder) and the comparison (MLR: continuous)
    assert numbers["settings"]["estimator"] == "WLSMV"
    assert numbers["settings"]["comparison_estimator"] == "MLR"
    inv = pd.read_csv(a / "tables" / "invariance.csv")
    steps = inv.groupby("estimator", sort=False)["step"].apply(list)
    assert list(steps.index) == ["WLSMV", "MLR"]
    assert steps["WLSMV"][:3] == ["configural", "thresholds", "metric"]
    assert steps["MLR"][:3] == ["configural", "metric", "scalar"]
    assert numbers["invariance"]["strongest"] in ("scalar", "metric")
    means = pd.read_csv(a / "tables" / "latent_means.csv")
    for estimator in ("WLSMV", "MLR"):
        m = means[(means["factor"] == "connection") & (means["estimator"] == estimator)]
        conn = m.set_index("group")["d"]
        # social-media moms are the reference group; other moms sit about 0.9 SD lower (truth
        # 0.903)
        other = conn[[g for g in conn.index if g.startswith("other_moms")]]
        assert ((other < -0.5) & (other > -1.4)).all()
    # at 300 per cell some categories of the 10-point items are empty in a cell: merged first
    # (the same way in every cell), and said so
    collapsed = pd.read_csv(a / "tables" / "invariance_collapsed.csv")
    assert numbers["invariance"]["collapsed_items"] == collapsed["item"].nunique() > 0
    assert (collapsed["min_count"] == 0).any()
    fit = pd.read_csv(a / "tables" / "cfa_fit.csv").set_index(["estimator", "measure"])["value"]
    assert fit[("WLSMV", "chisq_scaled")] == pytest.approx(numbers["cfa"]["chisq_scaled"])
    assert fit[("MLR", "cfi_robust")] == pytest.approx(numbers["cfa"]["mlr"]["cfi_robust"])
    assert 0.9 < numbers["cfa"]["cfi_scaled"] <= 1.0
    loadings = pd.read_csv(a / "tables" / "cfa_loadings.csv")
    # delta parameterization: std_all loadings of latent responses; the ordinal ones are larger
    # than those of the codes treated as continuous (attenuation by coarsening)
    mean_std = loadings.groupby("estimator")["std_all"].mean()
    assert mean_std["WLSMV"] > mean_std["MLR"]
    sens = pd.read_csv(a / "tables" / "sensitivity.csv")
    sat = sens[sens["measure"] == "satisfaction_difference"].set_index("correlation")["estimate"]
    assert sat.loc[0.7] > sat.loc[0.0] + 0.4   # the satisfaction gap grows with the correlation
    rec = pd.read_csv(a / "tables" / "recovery.csv")
    assert list(rec["estimator"].unique()) == ["WLSMV", "MLR"]
    assert rec.groupby("estimator")["covered"].mean().min() > 0.7
    assert numbers["recovery"]["coverage"] == pytest.approx(
        rec.loc[rec["estimator"] == "WLSMV", "covered"].mean())
    # the recovery check over repeated studies (12 in the small config), both estimators
    rep = pd.read_csv(a / "tables" / "recovery_replicates.csv")
    repeated = numbers["recovery"]["repeated"]
    assert repeated["replicates"] == 12 and repeated["n"] == 1200
    for e, sub in rep.groupby("estimator", sort=False):
        got = repeated if e == "WLSMV" else repeated[e.lower()]
        assert len(sub) == 16 and (sub["replicates"] == 12 - got["left_out"]).all()
        assert got["intervals"] == sub["replicates"].sum()
        assert got["coverage"] == pytest.approx((sub["coverage"] * sub["replicates"]).sum()
                                                / sub["replicates"].sum())
        assert got["coverage_ci_lower"] < got["coverage"] < got["coverage_ci_upper"]
        assert 0.8 < got["coverage"] <= 1.0 and abs(got["mean_bias"]) < 0.05
        assert 0.7 < got["se_ratio"] < 1.4


def test_recovery_summary_counts_coverage_bias_and_left_out(study):
    keys = {"category": "banking", "group": "g", "outcome": "advocacy"}
    def rows(est, covered):
        return pd.DataFrame([{**keys, "predictor": p, "true": 0.5, "estimate": e, "se": 0.1,
                              "covered": c} for p, e, c in zip(["connection", "satisfaction"],
                                                              est, covered)])
    runs = [{"WLSMV": rows([0.4, 0.6], [True, True]), "ML": None},
            {"WLSMV": rows([0.6, 0.8], [True, False]), "ML": rows([0.3, 0.3], [False, False])}]
    table, overall = study.recovery_summary(runs, ["WLSMV", "ML"])
    w = table[table["estimator"] == "WLSMV"].set_index("predictor")
    assert w.loc["connection", "bias"] == pytest.approx(0.0)
    assert w.loc["satisfaction", "bias"] == pytest.approx(0.2)
    assert w.loc["satisfaction", "empirical_sd"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert overall["WLSMV"]["coverage"] == 0.75 and overall["WLSMV"]["intervals"] == 4
    assert overall["WLSMV"]["left_out"] == 0 and overall["ML"]["left_out"] == 1
    assert overall["ML"]["coverage"] == 0.0 and overall["ML"]["mean_bias"] == pytest.approx(-0.2)
    # the Wilson interval of 3 of 4
    assert overall["WLSMV"]["coverage_ci_lower"] == pytest.approx(0.3006, abs=1e-4)
    assert overall["WLSMV"]["coverage_ci_upper"] == pytest.approx(0.9544, abs=1e-4)


def test_the_estimator_switch_sets_the_ordinal_or_continuous_model(study, tmp_path):
    from connection import instruments
    from connection.errors import ArgumentError, ConfigError

    inst = instruments.default()
    model, kw = study.latent_options(inst, None, "WLSMV")
    assert kw["estimator"] == "WLSMV" and kw["ordered"] == inst.ordered_items()
    assert "repurchase ~~ 1*repurchase" in model and "rep_more ~~ 0*rep_more" not in model
    model, kw = study.latent_options(inst, None, "MLR")
    assert kw == {"estimator": "MLR"} and "rep_more ~~ 0*rep_more" in model
    assert study.latent_drivers_options(inst, "ML") == {"latent_estimator": "ML"}
    assert study.latent_drivers_options(inst, "WLSMV")["ordered"] == inst.ordered_items(
        ["connection", "satisfaction"])
    text = (ROOT / "studies" / "social_moms.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('estimator = "WLSMV"', 'estimator = "GLS"'))
    with pytest.raises(ConfigError, match="study.estimator"):
        study.read_config(bad)
    with pytest.raises(ArgumentError, match="invalid choice: 'GLS'"):
        study._parse(["--estimator", "GLS"])
    assert study._parse(["--estimator", "mlr"]).estimator == "MLR"


def _real_file(study, tmp_path: Path, drop: str | None = None) -> Path:
    import pyreadstat

    from connection.simulation._population import Population, load_config

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"])
    data = pop.simulate(1200, seed=99).data
    if drop:
        data = data.drop(columns=[drop])
    path = tmp_path / "moms.sav"
    labels = {"group": "Social-media mom or other mom", "category": "Brand category"}
    pyreadstat.write_sav(data, str(path), column_labels={k: v for k, v in labels.items()
                                                         if k in data.columns})
    return path


@pytest.mark.slow   # a full real-data run of the study, ~19 s; .ci/run runs the slow tests too
def test_real_data_mode_runs_on_a_sav_file(study, tmp_path):
    sav = _real_file(study, tmp_path)
    out = tmp_path / "out"
    study.run(["--data", str(sav), "--out", str(out), "--n-boot", "20", "--quiet"])
    numbers = json.loads((out / "numbers.json").read_text())
    assert numbers["mode"] == "real"
    assert numbers["n"]["total"] == 1200
    assert "calibration" not in numbers and "sensitivity" not in numbers
    assert not (out / "tables" / "calibration.csv").exists()
    for rel in ("reliability", "invariance", "compare_connected", "drivers_latent", "value_ratio"):
        assert (out / "tables" / f"{rel}.csv").exists(), rel
    manifest = json.loads((out / "manifest.json").read_text())
    from connection._io import sha256_file

    assert manifest["data_sha256"] == sha256_file(sav)


def test_real_data_without_group_column_is_refused(study, tmp_path):
    from connection.errors import MissingColumnError

    sav = _real_file(study, tmp_path, drop="category")
    with pytest.raises(MissingColumnError, match="category"):
        study.run(["--data", str(sav), "--out", str(tmp_path / "o"), "--quiet"])


def test_instrument_needs_data(study, tmp_path):
    from connection.errors import ArgumentError

    with pytest.raises(ArgumentError, match="--instrument goes with --data"):
        study.run(["--instrument", "x.yaml", "--out", str(tmp_path)])


def test_sensitivity_overrides_keep_correlations_valid(study):
    from connection.simulation._population import Population, load_config

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    for r in (0.0, 0.35, 0.7, 0.8):
        pop = Population.from_config(cfg["population"], calibration=cfg["calibration"],
                                     overrides=study.sensitivity_overrides(cfg, r))
        corr = pop.truth()["latent_correlations"]
        cs = corr[(corr["lhs"] == "connection") & (corr["rhs"] == "satisfaction")]["value"]
        assert (cs == r).all()
        # the calibration does not depend on the correlations
        tab = pop.calibration_table()
        assert np.allclose(tab["population"], tab["published"])


def test_the_sensitivity_grid_is_the_same_serially_and_on_a_dask_cluster(study):
    """The study's repeated-sample steps go through cx.monte_carlo: grid value i gets child i
    of the seed whatever runs it (here serially and on a Dask scheduler given by address, as
    --scheduler does)."""
    import connection as cx
    from connection import instruments

    distributed = pytest.importorskip("distributed")
    cfg = study.read_config(ROOT / "studies" / "social_moms.toml")
    cfg["study"]["sensitivity_correlations"] = [0.0, 0.6]
    inst = instruments.default()
    pop = study._population(cfg, ROOT / "studies" / "social_moms.toml", inst)
    kw = {"margin": 0.2, "n": 600, "estimator": "MLR"}
    serial = study._sensitivity(cx, pop, cfg, inst, np.random.SeedSequence(3), **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        dask = study._sensitivity(cx, pop, cfg, inst, np.random.SeedSequence(3), **kw,
                                  workers=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial, dask)
    assert list(serial["correlation"].unique()) == [0.0, 0.6] and len(serial) == 6
    # and the same as the loop over seed.spawn(2) the grid stands for
    first = study._sensitivity_point(np.random.SeedSequence(3).spawn(2)[0], 0.0, cfg=cfg,
                                     instrument=inst, **kw)
    pd.testing.assert_frame_equal(pd.DataFrame(first), serial.iloc[:3])
