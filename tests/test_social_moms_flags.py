"""Inadmissible solutions travel with the social-moms study's numbers (issue 11).

A small survey is crafted so that one connection item (``ec_belong``) is nearly the mean of the
other seven: it correlates with each of them more than a single-factor item can, so every CFA
of the connection construct (the full CFA, the invariance ladder, the index's calibration CFA,
the latent drivers) has a negative residual variance for it (a Heywood case). The study is run
on that file in real-data mode and every number and table row computed from those fits, the
index-derived ones included, must carry the flags; the paper build must refuse to cite them.
The power study's Monte Carlo records how many replicates were inadmissible.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import social_moms_config

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sm = _load("_flags_social_moms", STUDIES / "social_moms.py")
power = _load("_flags_power_social_moms", STUDIES / "power_social_moms.py")
pb = _load("_flags_paper_build", ROOT / "paper" / "build.py")


def heywood_survey(n: int = 800, seed: int = 99) -> pd.DataFrame:
    """A simulated survey whose ``ec_belong`` is the (discretized) mean of the other connection
    items, keeping its answer distribution: implied loading above 1, residual variance < 0."""
    from connection.instruments import default
    from connection.simulation._population import Population, load_config

    cfg = load_config(STUDIES / "social_moms.toml")
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"])
    data = pop.simulate(n, seed=seed).data
    items = default().item_ids("connection")
    others = data[[i for i in items if i != "ec_belong"]].astype(float)
    z = others.mean(axis=1)
    z = (z - z.mean()) / z.std() + 0.05 * np.random.default_rng(seed).normal(size=len(z))
    shares = data["ec_belong"].value_counts(normalize=True).sort_index().to_numpy()
    cuts = np.quantile(z, np.cumsum(shares)[:-1])
    data["ec_belong"] = 1 + np.searchsorted(cuts, z)
    return data


@pytest.fixture(scope="module")
def flagged_run(tmp_path_factory):
    """The study on the crafted survey (real-data mode, no bootstrap: about 5 s)."""
    base = tmp_path_factory.mktemp("heywood")
    survey = base / "heywood_survey.csv"
    heywood_survey().to_csv(survey, index=False)
    out = base / "results" / "social_moms"
    # the flags are the point here, not the small-n step's 100 subsamples
    config = social_moms_config(base / "config" / "social_moms.toml",
                                {"study.small_n_subsamples": "5", "study.cutoff_grid": "[70]"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # silenced on the console: the record must keep them
        sm.run(["--data", str(survey), "--out", str(out), "--n-boot", "0", "--quiet",
                "--config", str(config)])
    return out


def _numbers(out: Path) -> dict:
    return json.loads((out / "numbers.json").read_text())


def _keys(tree: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in tree.items():
        if k == "_flags" and not prefix:
            continue
        keys += _keys(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return keys


def test_the_crafted_survey_gives_a_heywood_case_in_the_connection_cfa():
    import connection as cx
    from connection.instruments import default

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cx.cfa(default().model_syntax("connection"), heywood_survey())
    assert [f.code for f in fit.flags] == ["heywood"]
    assert fit.flags[0].parameters == ("ec_belong ~~ ec_belong",)


def test_numbers_from_flagged_fits_are_flagged_index_derived_ones_included(flagged_run):
    numbers = _numbers(flagged_run)
    flagged = numbers["_flags"]
    keys = _keys(numbers)
    for entry in flagged.values():
        assert "heywood" in entry["flags"] and "ec_belong ~~ ec_belong" in entry["flags"]
        assert entry["accepted"] is None

    def all_flagged(prefix: str, at_least: int = 1) -> None:
        under = [k for k in keys if k.startswith(prefix)]
        assert len(under) >= at_least, prefix
        missing = [k for k in under if k not in flagged]
        assert not missing, f"{prefix}: not flagged: {missing[:5]}"

    # the fits themselves
    for key in ("cfa.cfi", "reliability.connection.omega", "reliability.connection.ave",
                "invariance.strongest"):
        assert key in flagged, key
    all_flagged("invariance.latent_d.", 3)
    all_flagged("drivers.latent.", 6)
    # the index (its calibration CFA) and everything computed from its segments
    all_flagged("index.mean")
    all_flagged("index.calibration_fit.", 3)
    all_flagged("segments.value.", 2)
    all_flagged("compare.equivalence.", 9)
    all_flagged("compare.risk_ratio.", 9)
    for key in ("value.ratio", "value.ci_lower", "value.ci_upper", "value.percent_more"):
        assert key in flagged, key
    # numbers that come from no model stay unflagged
    for key in ("n.total", "reliability.connection.alpha", "htmt.connection_satisfaction",
                "index.n_calibration", "value.level", "value.method"):
        assert key in keys and key not in flagged, key
    assert not [k for k in flagged if k.startswith(("compare.groups.", "drivers.observed."))]


def test_manifest_lists_the_flagged_numbers(flagged_run):
    flagged = _numbers(flagged_run)["_flags"]
    manifest = json.loads((flagged_run / "manifest.json").read_text())
    assert manifest["flags"]["flagged"] == len(flagged) > 50
    assert manifest["flags"]["accepted"] == 0
    assert sorted(manifest["flags"]["unaccepted"]) == sorted(flagged)
    assert "value.ratio" in manifest["flags"]["unaccepted"]


@pytest.mark.parametrize("table", ["segments", "index_by_cell", "index_model",
                                   "compare_connected", "value_ratio", "invariance",
                                   "latent_means", "cfa_fit", "cfa_loadings", "drivers_latent"])
def test_tables_from_flagged_fits_have_a_filled_flags_column(flagged_run, table):
    frame = pd.read_csv(flagged_run / "tables" / f"{table}.csv", keep_default_na=False)
    assert "flags" in frame.columns
    assert len(frame) and frame["flags"].str.contains("heywood").all(), table


def test_invariance_partial_has_a_flags_column(flagged_run):
    frame = pd.read_csv(flagged_run / "tables" / "invariance_partial.csv")
    assert "flags" in frame.columns


def test_paper_build_refuses_the_index_derived_numbers_and_tables(flagged_run, tmp_path):
    results = flagged_run.parent
    for cited in ("{{ social_moms:value.ratio | .2f }}",
                  "{{ social_moms:compare.risk_ratio.all.adv_recommend | .2f }}",
                  "{{ social_moms:index.mean | .1f }}"):
        source = tmp_path / "m.md"
        source.write_text(f"The number is {cited}.\n")
        with pytest.raises(pb.PaperBuildError, match="doubtful solution"):
            pb.build(results, tmp_path / "build", source, pdf=False, verbose=False)
    source = tmp_path / "t.md"
    source.write_text('::: table social_moms:segments {#tab-seg columns="segment:Segment,n:N"}\n'
                      "Segments.\n:::\n")
    with pytest.raises(pb.PaperBuildError, match=r"row\(s\) from a doubtful solution"):
        pb.build(results, tmp_path / "build", source, pdf=False, verbose=False)
    # an unflagged number of the same run is cited
    source.write_text("n = {{ social_moms:n.total }}.\n")
    built = pb.build(results, tmp_path / "ok", source, pdf=False, verbose=False)
    assert "n = 800." in built.html.read_text()


# ------------------------------------------------------------------------------ power study
def test_power_study_records_inadmissible_replicates(power_results):
    table = pd.read_csv(power_results / "tables" / "power.csv", keep_default_na=False)
    assert {"inadmissible", "flags"} <= set(table.columns)
    scalar = table[(table["test"] == "scalar non-invariance") & (table["method"] == "simulation")]
    assert len(scalar) == 3
    numbers = json.loads((power_results / "numbers.json").read_text())
    manifest = json.loads((power_results / "manifest.json").read_text())
    reps = manifest["argv"][manifest["argv"].index("--scalar-reps") + 1]
    for r in scalar.itertuples():
        entry = numbers["simulation"]["scalar_noninvariance"][f"n{r.n_per_cell}"]
        assert entry["inadmissible"] == r.inadmissible
        assert 0 <= r.inadmissible <= int(reps)
        assert entry["inadmissible_share"] == pytest.approx(r.inadmissible / int(reps))
    ols = table[table["test"] != "scalar non-invariance"]
    assert (ols["inadmissible"].astype(int) == 0).all()


def test_power_counts_a_replicate_as_inadmissible_when_its_ladder_is_flagged(monkeypatch,
                                                                              tmp_path):
    """Every scalar-test replicate is made to report a flagged fit: the count must be every
    replicate, and the power estimates must not change (same seeds, same results)."""
    import connection as cx
    from connection._flags import Flag

    args = ["--population-n", "2000", "--reps", "20", "--scalar-reps", "3", "--reps-at-n80", "3",
            "--quiet"]
    clean = power.run([*args, "--out", str(tmp_path / "clean")])
    real = cx.invariance

    def flagged(*a, **k):
        res = real(*a, **k)
        object.__setattr__(res, "flags", (Flag("heywood", "metric step: made up"),))
        return res

    monkeypatch.setattr(cx, "invariance", flagged)
    marked = power.run([*args, "--out", str(tmp_path / "marked")])
    sim = marked["power"][(marked["power"]["test"] == "scalar non-invariance")
                          & (marked["power"]["method"] == "simulation")]
    assert (sim["inadmissible"] == 3).all()
    numbers = json.loads((tmp_path / "marked" / "numbers.json").read_text())
    assert numbers["simulation"]["scalar_noninvariance"]["n50"]["inadmissible_share"] == 1.0
    pd.testing.assert_frame_equal(clean["power"].drop(columns=["inadmissible"]),
                                  marked["power"].drop(columns=["inadmissible"]))


def test_power_study_builds_its_population_with_the_social_moms_builder():
    from connection.errors import ConfigError

    cfg = sm.read_config(STUDIES / "social_moms.toml")
    assert not hasattr(power, "_checked_population")
    bad = copy.deepcopy(cfg)
    bad["population"]["correlations"]["connection"]["satisfaction"] = "high"
    messages = []
    for build in (lambda: sm._population(bad, "pop.toml"),
                  lambda: power._population(bad, "banking", path=Path("pop.toml"))):
        with pytest.raises(ConfigError) as info:
            build()
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    # the typed population config names the key; the study's builder adds the file
    assert "expected a number" in messages[0] and "pop.toml" in messages[0]
    assert "population.correlations.connection.satisfaction" in messages[0]
    # the same population as social_moms' builder with the power study's cell shares
    shares = {c: {g: (0.5 if c == "banking" else 0.0) for g in cfg["population"]["groups"]}
              for c in cfg["population"]["categories"]}
    a = power._population(cfg, "banking")
    b = sm._population(cfg, None, overrides={"cell_shares": shares})
    pd.testing.assert_frame_equal(a.simulate(200, seed=1).data, b.simulate(200, seed=1).data)
