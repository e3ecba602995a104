"""The social-moms study's identification and robustness numbers (issue 17): the latent
connection gap over assumed loadings, risk ratios on items outside the index, the equivalence
tests with the ordinary difference test, at the notebooks' n and at other cut-offs, and the
assumptions table. Checked against quantities computed here from the published percentages,
from the study's own tables, or on data with a known answer."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "studies" / "social_moms.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("social_moms_study_ident", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["social_moms_study_ident"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cfg(study):
    return study.read_config(study.DEFAULT_CONFIG)


def _published_probit_gaps(cfg) -> np.ndarray:
    """Probit(p social-media moms) - probit(p other moms) of the six published banking items."""
    t = cfg["calibration"]["targets"]["banking"]
    items = [i for i in t["social_media_moms"] if i.startswith("ec_")]
    return np.array([stats.norm.ppf(t["social_media_moms"][i] / 100)
                     - stats.norm.ppf(t["other_moms"][i] / 100) for i in items])


def test_latent_gap_is_the_published_probit_gap_over_the_assumed_loading(study, cfg):
    """The percentages identify loading x gap (the mean probit gap of the six items), not the
    gap: over a grid of loadings the calibrated gap is that product over the loading, and a
    loading at which the item with the largest probit gap would load 0.98 or more is refused."""
    import connection as cx

    gaps = _published_probit_gaps(cfg)
    grid = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9]
    table = study.loading_grid_gaps(cfg, study.DEFAULT_CONFIG, cx.instruments.default(), grid)
    for r in table.itertuples():
        max_item_loading = r.loading * gaps.max() / gaps.mean()
        assert r.admissible == (max_item_loading < 0.98), (r.loading, max_item_loading)
        if r.admissible:
            assert r.connection_gap == pytest.approx(gaps.mean() / r.loading, rel=1e-9)
            assert r.probit_gap == pytest.approx(gaps.mean(), rel=1e-9)
    # the paper's default (0.70) gives the ~0.90 SD gap; 0.55 gives ~1.15
    at = table.set_index("loading")["connection_gap"]
    assert at[0.7] == pytest.approx(0.9027, abs=1e-3)


def test_equivalence_verdicts_on_data_with_a_known_difference(study):
    """_equivalence_verdicts: with no true difference and many respondents satisfaction is
    equivalent and the difference test does not reject; with a true d of 0.5 it is not
    equivalent and the difference test rejects."""
    rng = np.random.default_rng(3)
    n = 8000
    connected = rng.random(n) < 0.3
    cfg = {"population": {"category_column": "category"}}
    for shift, equivalent in ((0.0, True), (0.5, False)):
        frame = pd.DataFrame({"connected": connected, "category": np.where(rng.random(n) < 0.5,
                                                                           "a", "b"),
                              "satisfaction": rng.normal(0, 1, n) + shift * connected})
        out = study._equivalence_verdicts(_cx(), frame, cfg, 0.2, ["a", "b"],
                                          ["satisfaction"]).set_index("category")
        assert bool(out.loc["all", "equivalent"]) is equivalent
        assert bool(out.loc["all", "p_difference"] < 1e-6) is (not equivalent)
        assert out.loc["all", "d"] == pytest.approx(shift, abs=0.07)
        assert out.loc["a", "n"] + out.loc["b", "n"] == n


def _cx():
    import connection as cx

    return cx


def test_small_n_step_reports_the_verdicts_of_a_subsample(study, tmp_path, cfg):
    """At a subsample of 600 from 6,000 respondents with a true satisfaction d of 0.1, the
    equivalence test at margin 0.2 mostly fails (its power is low there), while on all 6,000
    it holds; the numbers name the subsample's size and count its tests."""
    from connection.study import Study

    rng = np.random.default_rng(5)
    n = 6000
    connected = rng.random(n) < 0.3
    frame = pd.DataFrame({"connected": connected,
                          "category": np.where(rng.random(n) < 0.5, "banking", "ereaders"),
                          "satisfaction": rng.normal(0, 1, n) + 0.1 * connected})
    small = {"study": {"small_n": 600, "small_n_subsamples": 40},
             "population": {"category_column": "category"}}
    s = Study("t", tmp_path / "out", seed=1, verbose=False)
    study._step_small_n(_cx(), s, frame, None, small, 0.2, "", np.random.SeedSequence(2))
    num = s.numbers["small_n"]
    assert num["n"] == 600 and num["tests"] == 2
    assert 0 <= num["equivalent"] <= 2
    # power of TOST at n = 600 (180 connected), d = 0.1, margin 0.2 is about 0.1
    assert num["satisfaction_equivalent_share"] < 0.4
    full = study._equivalence_verdicts(_cx(), frame, small, 0.2, [], ["satisfaction"])
    assert bool(full["equivalent"].iloc[0])
    s.abandon()


def test_study_run_outside_index_cutoffs_and_assumptions(social_moms_results):
    out = social_moms_results
    numbers = json.loads((out / "numbers.json").read_text())
    cmp = pd.read_csv(out / "tables" / "compare_connected.csv")
    pr = cmp[(cmp["analysis"] == "proportion") & (cmp["category"] == "all")]
    att = pr[pr["variable"].str.startswith("att_")]["risk_ratio"]
    ec = pr[pr["variable"].str.startswith("ec_")]["risk_ratio"]
    assert numbers["compare"]["outside_index"]["all"]["median"] == pytest.approx(att.median())
    assert numbers["compare"]["inside_index"]["all"]["max"] == pytest.approx(ec.max())
    # grouping respondents by an index of the same items inflates their risk ratios
    assert numbers["compare"]["outside_index"]["all"]["median"] < \
        numbers["compare"]["inside_index"]["all"]["median"]
    eq = cmp[(cmp["analysis"] == "equivalence") & (cmp["category"] == "all")].set_index("variable")
    assert numbers["compare"]["equivalence"]["all"]["satisfaction"]["p_difference"] == \
        pytest.approx(eq.loc["satisfaction", "pvalue_difference"])
    # the cut-off grid: fewer connected at a higher cut-off; at the study's cut-off the share is
    # the index's own
    cuts = pd.read_csv(out / "tables" / "cutoffs.csv").sort_values("cutoff")
    assert np.all(np.diff(cuts["connected_share"]) <= 0)
    at70 = cuts[cuts["cutoff"] == 70]["connected_share"].iloc[0]
    assert at70 == pytest.approx(numbers["index"]["connected_share"])
    # the loading grid and the assumptions table
    ident = numbers["identification"]
    assert ident["gap_at_loading_min"] > ident["gap_at_loading_max"] > 0
    table = pd.read_csv(out / "tables" / "assumptions.csv", keep_default_na=False)
    assert len(table) >= 10
    assert (table[["assumption", "value", "source", "moves", "sensitivity"]] != "").all().all()
    row = table[table["assumption"].str.contains("corr\\(connection, satisfaction")].iloc[0]
    assert "r = 0 to 0.7" in row["sensitivity"]
