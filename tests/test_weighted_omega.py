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
