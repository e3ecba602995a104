"""An ordinal observed outcome regressed on latent variables (delta parameterization): every
row of the engine's estimates, the outcome's residual variance ``advocacy ~~ advocacy``
(lavaan: 1 - R-squared) included, equals lavaan's, and the solution is not flagged.

Reference: tests/references/drivers/drivers_latent2_references.json (lavaan 0.6.14, written
by make_drivers_latent2_references.R from drivers_ordinal_sim.csv).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import connection as cx
from connection.errors import ConnectionWarning

REF = Path(__file__).parent / "references" / "drivers"
MODEL = """connection =~ ec1 + ec2 + ec3 + ec4
satisfaction =~ sat1 + sat2 + sat3
advocacy ~ drivers_b0*connection + drivers_b1*satisfaction
drivers_contrast_0_1 := drivers_b0 - drivers_b1"""


@pytest.mark.parametrize("model, estimator", [("wlsmv", "WLSMV"), ("ulsmv", "ULSMV")])
def test_every_row_and_the_outcome_residual_variance_match_lavaan(model, estimator):
    ref = pd.DataFrame(json.loads((REF / "drivers_latent2_references.json").read_text())
                       ["models"][model]["estimates"])
    data = pd.read_csv(REF / "drivers_ordinal_sim.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)
        fit = cx.sem(MODEL, data, ordered=True, estimator=estimator, std_lv=True)
    assert fit.flags == ()
    ours = fit.estimates.set_index(["lhs", "op", "rhs"])
    checked = 0
    for row in ref.itertuples():
        key = (row.lhs, row.op, row.rhs)
        if key not in ours.index or row.op == "~*~":
            continue
        assert ours.loc[key, "est"] == pytest.approx(row.est, abs=1e-3), key
        assert ours.loc[key, "std_all"] == pytest.approx(row.std_all, abs=1e-3), key
        checked += 1
    resid = ref[(ref.lhs == "advocacy") & (ref.op == "~~") & (ref.rhs == "advocacy")].iloc[0]
    assert resid.est < 0.9        # 1 - R-squared, not the phantom's fixed 1
    assert ours.loc[("advocacy", "~~", "advocacy"), "est"] == pytest.approx(resid.est, abs=1e-3)
    r2 = fit.rsquare.set_index("variable")["rsquare"]   # was 0.25 = .332 / 1.332 before the fix
    assert r2["advocacy"] == pytest.approx(1 - resid.est, abs=1e-3)
    assert checked >= 30
