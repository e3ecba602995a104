"""The ordinal invariance ladder (issue 14, step 3): ``cx.invariance(..., ordered=True)``
fits configural -> thresholds -> + loadings -> + intercepts by WLSMV (Wu & Estabrook 2016, as
lavaan frees it) and compares the steps by lavTestLRT's scaled-shifted difference.

References: tests/references/ordinal/make_wlsmv_groups_references.R (the same fits by lavaan
0.6.14 and lavTestLRT of configural / thresholds / loadings).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import ArgumentError

REF = Path(__file__).parent / "references" / "ordinal"
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
_CACHE: dict = {}


def _ref(name):
    return json.loads((REF / f"wlsmv_hsg_{name}.json").read_text())


def _data():
    return pd.read_csv(REF / "wlsmv_hsg_data.csv")


def _ladder():
    if "ladder" not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CACHE["ladder"] = cx.invariance(MODEL, _data(), group="school", ordered=True,
                                             stop=False, latent_means_at="metric")
    return _CACHE["ladder"]


def test_ordinal_ladder_rows_match_lavaan_fits_and_lavTestLRT():
    inv = _ladder()
    tab = inv.table.set_index("step")
    assert list(tab.index) == ["configural", "thresholds", "metric", "scalar"]
    assert inv.estimator == "WLSMV"
    for step, name in [("configural", "configural"), ("thresholds", "thresholds"),
                       ("metric", "loadings"), ("scalar", "intercepts")]:
        fm = _ref(name)["fit_measures"]
        row = tab.loc[step]
        np.testing.assert_allclose(
            row[["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "chisq_ml",
                 "scaling_factor"]].to_numpy(float),
            [fm["chisq_scaled"], fm["df"], fm["pvalue_scaled"], fm["cfi_scaled"],
             fm["tli_scaled"], fm["rmsea_scaled"], fm["srmr"], fm["chisq"],
             fm["chisq_scaling_factor"]], rtol=1e-3, atol=1e-9, err_msg=step)
    lrt = json.loads((REF / "wlsmv_hsg_lrt.json").read_text())["default"]
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "delta_chisq"],
                               lrt["chisq_diff"][1:], rtol=1e-3)
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "delta_df"], lrt["df_diff"][1:])
    np.testing.assert_allclose(tab.loc[["thresholds", "metric"], "p_delta"], lrt["pvalue"][1:],
                               rtol=1e-3)
    # + intercepts: ordinal intercepts are fixed at 0, the same model (no difference)
    assert tab.loc["scalar", "delta_df"] == 0
    assert abs(tab.loc["scalar", "delta_chisq"]) < 1e-6
    # equal thresholds fail on these data by Chen's CFI cut-off (delta CFI = -0.043)
    assert not tab.loc["thresholds", "holds"]
    assert tab.loc["thresholds", "delta_cfi"] == pytest.approx(
        _ref("thresholds")["fit_measures"]["cfi_scaled"]
        - _ref("configural")["fit_measures"]["cfi_scaled"], abs=1e-6)
    assert inv.strongest == "configural"


def test_ordinal_latent_means_come_from_the_threshold_and_loading_step():
    inv = _ladder()
    ref = pd.DataFrame(_ref("loadings")["estimates"])
    means = ref[(ref["op"] == "~1") & ref["lhs"].isin(["visual", "textual", "speed"])
                & (ref["group"] == 2)]
    got = inv.latent_means[inv.latent_means["group"] == "Grant-White"].set_index("factor")
    np.testing.assert_allclose(got.loc[means["lhs"], "mean"], means["est"], atol=1e-3)
    np.testing.assert_allclose(got.loc[means["lhs"], "se"], means["se"], atol=1e-3)
    assert any("as requested, although it does not hold" in n for n in inv.notes)
    assert any("partial='auto' frees nothing" in n for n in inv.notes)


def test_ordinal_ladder_stops_and_partial_list_is_passed_to_the_fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = cx.invariance(MODEL, _data(), group="school", ordered=True,
                            partial=["x3|t1", "x3|t2", "visual=~x2"], levels=["configural",
                                                                               "metric"])
    fit = inv.fits["metric"]
    ref = _ref("partial")
    np.testing.assert_allclose(fit.estimates["est"], ref["estimates"]["est"], atol=1e-3)
    assert list(inv.partial["parameter"]) == ["x3|t1", "x3|t2", "visual=~x2"]


@pytest.mark.parametrize("kwargs", [
    {"estimator": "ML"},
    {"levels": ["configural", "strict"]},
    {"levels": ["metric", "thresholds"]},
])
def test_ordinal_ladder_options_are_checked(kwargs):
    with pytest.raises(ArgumentError):
        cx.invariance(MODEL, _data(), group="school", ordered=True, **kwargs)
