"""Issue 15, step 2: weighted alpha and HTMT (survey::svyvar covariances), references from
tests/references/weights/make_weighted_reliability_references.R."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connection.data import Instrument, read_survey
from connection.errors import ExclusionWarning, OutOfRangeError
from connection.measurement import htmt, reliability
from connection.stats._weights import weighted_cov

REF = json.loads((Path(__file__).parent / "references" / "weights" /
                  "weighted_reliability_references.json").read_text())
SCALES = REF["scales"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.DataFrame(REF["data"]).astype(float)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return function(*args, **kwargs)


def test_weighted_cov_is_svyvar(data):
    for ref in REF["constructs"]:
        sub = data[ref["items"] + ["w"]].dropna()
        ours = weighted_cov(sub[ref["items"]].to_numpy(), sub["w"].to_numpy())
        np.testing.assert_allclose(ours, np.array(ref["cov"]), rtol=1e-12, atol=0)
    x = data[["x1", "x3"]].to_numpy()
    np.testing.assert_allclose(weighted_cov(x, np.full(len(x), 3.0)), np.cov(x, rowvar=False),
                               rtol=1e-13)


def test_weighted_alpha_matches_the_formula_on_svyvar(data):
    tab = quiet(reliability, data, SCALES, weights="w").set_index("construct")
    for ref in REF["constructs"]:
        row = tab.loc[ref["construct"]]
        assert row["n"] == ref["n"]
        assert row["alpha"] == pytest.approx(ref["alpha"], abs=1e-10)
        assert tab.attrs["n_eff"][ref["construct"]] == pytest.approx(ref["n_eff"], abs=1e-9)
        # Feldt's interval with Kish's effective n (psych::alpha.ci's formula)
        n_eff, k = ref["n_eff"], len(ref["items"])
        f_hi = stats.f.ppf(0.975, n_eff - 1, (n_eff - 1) * (k - 1))
        f_lo = stats.f.ppf(0.025, n_eff - 1, (n_eff - 1) * (k - 1))
        assert row["alpha_ci_lower"] == pytest.approx(1 - (1 - ref["alpha"]) * f_hi, abs=1e-9)
        assert row["alpha_ci_upper"] == pytest.approx(1 - (1 - ref["alpha"]) * f_lo, abs=1e-9)
        # omega, CR and AVE from the weighted CFA (tests/test_weighted_omega.py: semTools)
        assert np.isfinite(row["omega"]) and "weighted CFA" in row["note"]
    assert tab.attrs["weights"] == "w"
    plain = quiet(reliability, data, SCALES).set_index("construct")
    assert not np.isclose(plain.loc["visual", "alpha"], tab.loc["visual", "alpha"], atol=1e-4)


def test_weighted_htmt_matches_semtools_on_the_svyvar_matrix(data):
    for method, key in (("htmt", "htmt"), ("htmt2", "htmt2")):
        tab = quiet(htmt, data, SCALES, weights=data["w"], method=method)
        assert (tab["n"] == REF["htmt"]["n"]).all()
        for ref, (_, row) in zip(REF["htmt"]["pairs"], tab.iterrows()):
            assert (row["construct_a"], row["construct_b"]) == (ref["construct_a"],
                                                                ref["construct_b"])
            assert row["htmt"] == pytest.approx(ref[key], abs=1e-10)
    assert tab.attrs["weights"] == "given weights"


@pytest.mark.parametrize("value", [1.0, 2.5])
def test_equal_weights_give_exactly_the_unweighted_tables(data, value):
    ones = np.full(len(data), value)
    for kwargs in ({}, {"n_boot": 60, "seed": 3, "progress": False}, {"joint": True}):
        plain = quiet(reliability, data, SCALES, **kwargs)
        weighted = quiet(reliability, data, SCALES, weights=ones, **kwargs)
        pd.testing.assert_frame_equal(weighted, plain, check_exact=True)
    for kwargs in ({}, {"n_boot": 60, "seed": 3, "progress": False, "method": "htmt2"}):
        plain = quiet(htmt, data, SCALES, **kwargs)
        weighted = quiet(htmt, data, SCALES, weights=ones, **kwargs)
        pd.testing.assert_frame_equal(weighted, plain, check_exact=True)


def test_weighted_bootstrap_intervals_carry_the_weights(data):
    kw = {"n_boot": 300, "seed": 8, "progress": False}
    one = quiet(reliability, data, SCALES, weights="w", **kw)
    two = quiet(reliability, data, SCALES, weights="w", **kw)
    pd.testing.assert_frame_equal(one, two)
    plain = quiet(reliability, data, SCALES, **kw)
    for tab in (one,):
        inside = (tab["alpha_boot_ci_lower"] < tab["alpha"]) & (tab["alpha"] < tab["alpha_boot_ci_upper"])
        assert inside.all()
    # the same resamples, other weights: other intervals
    assert not np.allclose(one["alpha_boot_ci_lower"], plain["alpha_boot_ci_lower"])
    h = quiet(htmt, data, SCALES, weights="w", **kw)
    assert ((h["ci_lower"] < h["htmt"]) & (h["htmt"] < h["ci_upper"])).all()


def test_a_surveys_weights_are_used_unless_switched_off(data):
    inst = Instrument.from_dict({
        "name": "hs",
        "constructs": {name: {"scale": {"min": -10, "max": 20},
                              "items": [{"id": c} for c in cols]}
                       for name, cols in SCALES.items()},
        "variables": {"w": {"type": "numeric", "role": "weight"}}, "weights": "w"})
    complete = data.dropna().reset_index(drop=True)
    complete[[c for cols in SCALES.values() for c in cols]] = complete.drop(columns="w").round()
    survey = read_survey(complete, inst)
    by_survey = reliability(survey)
    given = reliability(complete, SCALES, weights="w")
    np.testing.assert_allclose(by_survey["alpha"], given["alpha"], rtol=0, atol=1e-15)
    off = reliability(survey, weights=None)
    pd.testing.assert_frame_equal(off, reliability(complete, SCALES), check_exact=True)
    np.testing.assert_allclose(htmt(survey)["htmt"], htmt(complete, SCALES, weights="w")["htmt"],
                               rtol=0, atol=1e-15)


def test_bad_weights_are_refused_naming_rows(data):
    w = data["w"].to_numpy().copy()
    w[10] = -2.0
    with pytest.raises(OutOfRangeError, match="11"):
        quiet(reliability, data, SCALES, weights=w)
    with pytest.raises(OutOfRangeError, match="11"):
        quiet(htmt, data, SCALES, weights=w)
