"""drivers(latent=..., weights=...): the latent driver model with survey weights (issue 15).

Reference: tests/references/drivers/drivers_latent2_references.json, written by
make_drivers_latent2_references.R (lavaan 0.6.14 ``sem(sampling.weights = "w", estimator =
"MLR", std.lv = TRUE, fixed.x = FALSE)``) from drivers_weighted_sim.csv.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ConnectionWarning
from connection.outcomes._drivers import drivers

REF = Path(__file__).parent / "references" / "drivers"
ITEMS = {"connection": ["ec1", "ec2", "ec3", "ec4"], "satisfaction": ["sat1", "sat2", "sat3"]}
TOL = 1e-3


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "drivers_latent2_references.json").read_text())["models"]


@pytest.fixture(scope="module")
def data():
    df = pd.read_csv(REF / "drivers_weighted_sim.csv")
    for name, cols in ITEMS.items():
        df[name] = df[cols].mean(axis=1)
    return df


def _fit(data, controls, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        return drivers(data, "advocacy", controls=controls, n_boot=0, latent=ITEMS, **kw)


@pytest.mark.parametrize("model, controls, weights", [
    ("weighted_mlr", [], "w"), ("weighted_mlr_control", ["age"], "w"),
    ("unweighted_mlr_control", ["age"], None)])
def test_weighted_latent_drivers_match_lavaan_sampling_weights(ref, data, model, controls,
                                                                weights):
    """Before: weights= with latent= raised an ArgumentError."""
    res = _fit(data, controls, weights=weights)
    lat = res.latent.set_index("term")
    r = pd.DataFrame(ref[model]["estimates"])
    reg = r[(r.op == "~") & (r.lhs == "advocacy")].set_index("rhs")
    for d in ITEMS:
        for ours, theirs in [("beta", "std_all"), ("beta_se", "std_all_se"), ("est", "est"),
                             ("se", "se"), ("pvalue", "pvalue")]:
            assert lat.loc[d, ours] == pytest.approx(reg.loc[d, theirs], abs=TOL), (d, ours)
    c = r[r.op == ":="].set_index("lhs").loc["drivers_contrast_0_1"]
    diff = lat.loc["connection - satisfaction"]
    for ours, theirs in [("beta", "std_all"), ("beta_se", "std_all_se"), ("est", "est"),
                         ("se", "se")]:
        assert diff[ours] == pytest.approx(c[theirs], abs=TOL), ours
    fm = ref[model]["fit_measures"]
    assert lat["cfi"].iloc[0] == pytest.approx(fm["cfi_robust"], abs=TOL)
    assert set(lat["estimator"]) == {"MLR"}
    assert res.settings["weights"] == (None if weights is None else "w")


def test_weights_change_the_latent_coefficients(data):
    a = _fit(data, ["age"], weights="w").latent
    b = _fit(data, ["age"], weights=None).latent
    assert abs(a["beta"].iloc[0] - b["beta"].iloc[0]) > 0.01


def test_equal_weights_give_the_unweighted_mlr_fit(data):
    """All weights 1: exactly the unweighted MLR latent version."""
    a = _fit(data, ["age"], weights=np.ones(len(data))).latent
    b = _fit(data, ["age"], weights=None).latent
    cols = ["beta", "beta_se", "est", "se", "pvalue", "cfi", "rmsea", "srmr"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-7,
                               atol=1e-9)


def test_weights_follow_the_rows_left_out(data):
    """A row with a missing item is left out of the latent fit together with its weight."""
    df = data.copy()
    df.loc[3, "ec2"] = np.nan
    with pytest.warns(ConnectionWarning, match="left out"):
        res = drivers(df, "advocacy", n_boot=0, latent=ITEMS, weights="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = drivers(df.drop(index=3), "advocacy", n_boot=0, latent=ITEMS, weights="w")
    assert res.latent["n"].iloc[0] == len(df) - 1
    pd.testing.assert_frame_equal(res.latent, ref.latent)


def test_summary_shows_the_dominance_intervals_when_computed(data):
    """Before: the summary's coefficient table had no share nor interval columns."""
    with_ci = drivers(data, "advocacy", n_boot=200, seed=3, progress=False)
    table = with_ci.summary().tables[0].frame
    for c in ["dominance_share", "dominance_ci_lower", "dominance_ci_upper", "share_ci_lower",
              "share_ci_upper"]:
        assert c in table.columns
        np.testing.assert_array_equal(table[c].to_numpy(), with_ci.table[c].to_numpy())
    assert "bootstrap percentile intervals" in str(with_ci.summary())
    plain = drivers(data, "advocacy", n_boot=0).summary().tables[0].frame
    assert "dominance_share" in plain.columns and "share_ci_lower" not in plain.columns
    none = drivers(data, "advocacy", n_boot=0, importance=None).summary().tables[0].frame
    assert "dominance_share" not in none.columns


def test_summary_shows_the_latent_standardized_se(data):
    res = _fit(data, [], weights="w")
    latent = [t for t in res.summary().tables if t.caption.startswith("Latent")][0].frame
    np.testing.assert_array_equal(latent["beta_se"].to_numpy(), res.latent["beta_se"].to_numpy())
