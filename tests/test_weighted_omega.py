"""Issue 15: omega, CR and AVE under unequal sampling weights from the weighted CFA (lavaan's
sampling.weights), against semTools::compRelSEM(obs.var = FALSE) and AVE on lavaan fits with
sampling.weights (tests/references/weights/make_weighted_omega_references.R); all weights
equal give exactly the unweighted table."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ExclusionWarning
from connection.measurement import reliability

HERE = Path(__file__).parent / "references" / "weights"
REF = json.loads((HERE / "weighted_omega_references.json").read_text())
DATA = json.loads((HERE / "weighted_reliability_references.json").read_text())
SCALES = DATA["scales"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.DataFrame(DATA["data"]).astype(float)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return function(*args, **kwargs)


@pytest.mark.parametrize("joint", [False, True])
def test_weighted_omega_cr_ave_match_semtools(data, joint):
    tab = quiet(reliability, data, SCALES, weights="w", joint=joint).set_index("construct")
    refs = REF["joint" if joint else "separate"]
    for name, ref in refs.items():
        row = tab.loc[name]
        if not joint:
            assert row["n"] == ref["n"]
        assert row["omega"] == pytest.approx(ref["omega"], abs=1e-6)
        assert row["cr"] == pytest.approx(ref["cr"], abs=1e-6)
        assert row["ave"] == pytest.approx(ref["ave"], abs=1e-6)
        assert row["flags"] == ""
        assert "weighted CFA" in row["note"]
    plain = quiet(reliability, data, SCALES, joint=joint).set_index("construct")
    # the weights change the numbers (the test could fail: not the unweighted values)
    assert abs(plain.loc["visual", "omega"] - tab.loc["visual", "omega"]) > 1e-3


@pytest.mark.parametrize("joint", [False, True])
def test_equal_weights_give_exactly_the_unweighted_table(data, joint):
    ones = data.assign(w=1.0)
    a = quiet(reliability, ones, SCALES, weights="w", joint=joint)
    b = quiet(reliability, ones, SCALES, joint=joint)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = quiet(reliability, ones.assign(w=7.25), SCALES, weights="w", joint=joint)
    pd.testing.assert_frame_equal(c, b, check_exact=True)
    assert np.isfinite(b["omega"]).all()


def test_weighted_index_calibration_matches_lavaan(data):
    """ConnectionIndex.fit(weights=): the score weights are lavPredict's regression weights
    of lavaan's sampling.weights fit, the means the weighted item means."""
    from connection.measurement import ConnectionIndex

    ref = REF["index"]
    idx = quiet(ConnectionIndex({"visual": ["x1", "x2", "x3"]}, "visual", item_range=(0, 10),
                                segments=None).fit, data, weights="w")
    assert idx.n_calibration_ == ref["n"]
    np.testing.assert_allclose(idx.weights_, ref["weights"], rtol=1e-6)
    np.testing.assert_allclose(idx.means_, ref["means"], rtol=1e-12)
    assert idx.fit_.estimator == "MLR"
    rows = data[["x1", "x2", "x3"]].notna().all(axis=1).to_numpy()
    w = data["w"].to_numpy()[rows]
    s = (data[["x1", "x2", "x3"]].to_numpy()[rows] - idx.means_) @ idx.weights_
    assert idx.score_mean_ == pytest.approx(0.0, abs=1e-12)
    n = len(s)
    assert idx.score_sd_ == pytest.approx(np.sqrt(n / (n - 1) * w @ s**2 / w.sum()), rel=1e-12)
    plain = quiet(ConnectionIndex({"visual": ["x1", "x2", "x3"]}, "visual", item_range=(0, 10),
                                  segments=None).fit, data)
    assert np.max(np.abs(plain.weights_ - idx.weights_)) > 1e-3


@pytest.mark.parametrize("constant", [1.0, 3.5])
def test_index_with_equal_weights_is_exactly_the_unweighted_index(data, constant):
    from connection.measurement import ConnectionIndex

    def make():
        return ConnectionIndex({"visual": ["x1", "x2", "x3"]}, "visual", item_range=(0, 10),
                               segments=None)

    ones = data.assign(w=constant)
    a = quiet(make().fit, ones, weights="w")
    b = quiet(make().fit, ones)
    assert a.to_dict() == b.to_dict()
    pd.testing.assert_frame_equal(quiet(a.transform, ones), quiet(b.transform, ones),
                                  check_exact=True)


def test_index_weights_from_a_survey_and_ordinal_refusal(data):
    """A weighted Survey's weights are used by default (weights=None switches them off); an
    explicit weights= with an ordinal estimator is refused, typed."""
    from types import SimpleNamespace

    from connection.errors import ArgumentError
    from connection.measurement import ConnectionIndex

    def make(**kw):
        return ConnectionIndex({"visual": ["x1", "x2", "x3"]}, "visual", item_range=(0, 10),
                               segments=None, **kw)

    survey = SimpleNamespace(data=data, instrument=None, weights=data["w"])
    via_survey = quiet(make().fit, survey)
    via_column = quiet(make().fit, data, weights="w")
    np.testing.assert_array_equal(via_survey.weights_, via_column.weights_)
    off = quiet(make().fit, survey, weights=None)
    np.testing.assert_array_equal(off.weights_, quiet(make().fit, data).weights_)
    codes = data.assign(**{c: data[c].round().clip(0, 10) for c in ["x1", "x2", "x3"]})
    with pytest.raises(ArgumentError, match="ordinal estimator"):
        quiet(make(estimator="WLSMV").fit, codes, weights="w")
