"""drivers(latent=..., ordered=...): the latent driver model on ordinal items by WLSMV (issue 14).

Reference: tests/references/drivers/drivers_latent2_references.json, written by
make_drivers_latent2_references.R (lavaan 0.6.14 ``sem(ordered=, estimator="WLSMV"/"ULSMV",
std.lv = TRUE)``, ``standardizedSolution`` with delta-method SEs) from drivers_ordinal_sim.csv
(make_drivers_latent2_data.py: 5-point codes cut from a known population model).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError, ConnectionWarning
from connection.outcomes._drivers import drivers

REF = Path(__file__).parent / "references" / "drivers"
ITEMS = {"connection": ["ec1", "ec2", "ec3", "ec4"], "satisfaction": ["sat1", "sat2", "sat3"]}
TOL = 1e-3


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "drivers_latent2_references.json").read_text())["models"]


@pytest.fixture(scope="module")
def data():
    df = pd.read_csv(REF / "drivers_ordinal_sim.csv")
    for name, cols in ITEMS.items():
        df[name] = df[cols].mean(axis=1)
    return df


def _rows(ref, model):
    r = pd.DataFrame(ref[model]["estimates"])
    reg = r[(r.op == "~") & (r.lhs == "advocacy")].set_index("rhs")
    return reg, r[r.op == ":="].set_index("lhs")


@pytest.mark.parametrize("model, estimator", [("wlsmv", None), ("ulsmv", "ULSMV")])
def test_ordinal_latent_drivers_match_lavaan(ref, data, model, estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        res = drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=True,
                      latent_estimator=estimator)
    lat = res.latent.set_index("term")
    reg, defined = _rows(ref, model)
    for d in ITEMS:
        assert lat.loc[d, "beta"] == pytest.approx(reg.loc[d, "std_all"], abs=TOL)
        assert lat.loc[d, "beta_se"] == pytest.approx(reg.loc[d, "std_all_se"], abs=TOL)
        assert lat.loc[d, "est"] == pytest.approx(reg.loc[d, "est"], abs=TOL)
        assert lat.loc[d, "se"] == pytest.approx(reg.loc[d, "se"], abs=TOL)
        assert lat.loc[d, "pvalue"] == pytest.approx(reg.loc[d, "pvalue"], abs=TOL)
    c = defined.loc["drivers_contrast_0_1"]
    diff = lat.loc["connection - satisfaction"]
    assert diff["beta"] == pytest.approx(c["std_all"], abs=TOL)
    assert diff["beta_se"] == pytest.approx(c["std_all_se"], abs=TOL)
    assert diff["se"] == pytest.approx(c["se"], abs=TOL)
    assert diff["pvalue"] == pytest.approx(c["pvalue"], abs=TOL)
    assert set(lat["estimator"]) == {estimator or "WLSMV"}
    fm = ref[model]["fit_measures"]
    assert lat["cfi"].iloc[0] == pytest.approx(fm["cfi_scaled"], abs=TOL)
    assert lat["rmsea"].iloc[0] == pytest.approx(fm["rmsea_scaled"], abs=TOL)


def test_ordinal_outcome_is_not_flagged_inadmissible(data):
    """The engine stored an ordinal outcome's residual in its phantom latent variable and
    flagged Theta as not positive definite (Theta's entry 1 - total variance is negative);
    lavaan's residual variance is 1 - R-squared = .668 here: admissible, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        res = drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=True)
    assert res.flags == ()
    assert (res.latent["flags"] == "").all()


def test_ordinal_differs_from_continuous_treatment(data):
    """Treating 5-point items as continuous attenuates the standardized effects (the reason
    for ordered=): the WLSMV betas exceed the ML ones on the same data."""
    ordinal = drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=True).latent
    continuous = drivers(data, "advocacy", n_boot=0, latent=ITEMS, latent_estimator="ML").latent
    assert ordinal["beta"].iloc[0] > continuous["beta"].iloc[0] + 0.01


def test_controls_with_ordered_are_fitted(data):
    """Numeric controls are continuous variables among the ordinal ones (as lavaan: the
    reference is tests/test_drivers_latent_ordinal_controls.py); a 0/1 control is refused."""
    df = data.assign(age=np.linspace(20, 70, len(data)))
    res = drivers(df, "advocacy", controls=["age"], n_boot=0, latent=ITEMS, ordered=True)
    assert res.latent["estimator"].eq("WLSMV").all() and np.isfinite(res.latent["se"]).all()
    with pytest.raises(ArgumentError, match="two values") as err:
        drivers(df.assign(d=np.arange(len(df)) % 2), "advocacy", controls=["age", "d"],
                n_boot=0, latent=ITEMS, ordered=True)
    assert "'d'" in str(err.value)


def test_ordered_argument_errors(data):
    with pytest.raises(ArgumentError, match="latent version only"):
        drivers(data, "advocacy", n_boot=0, ordered=True)
    with pytest.raises(ArgumentError, match="not in the latent model"):
        drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=["ec1", "nope"])
    with pytest.raises(ArgumentError, match="weights= with ordered="):
        drivers(data.assign(w=1.0), "advocacy", n_boot=0, latent=ITEMS, ordered=True,
                weights="w")


def test_ordered_list_equals_true_when_it_names_every_column(data):
    every = ["advocacy", *ITEMS["connection"], *ITEMS["satisfaction"]]
    a = drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=True).latent
    b = drivers(data, "advocacy", n_boot=0, latent=ITEMS, ordered=every).latent
    pd.testing.assert_frame_equal(a, b)
