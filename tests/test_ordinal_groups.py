"""Multi-group ordinal CFA by WLSMV (issue 14, step 3) against lavaan 0.6.14.

References: tests/references/ordinal/make_wlsmv_groups_references.R (``cfa(..., ordered =
TRUE, group = "school", group.equal = ...)``, delta parameterization) on
HolzingerSwineford1939's x1-x9 cut into four categories, by school: configural, equal
thresholds, equal thresholds and loadings, + intercepts, and a partial model. lavaan frees,
in the second group, the scales (``~*~``) and the latent means under equal thresholds.
Estimates, standard errors and std.all to 1e-3 absolute; every fitMeasures value to 1e-3
relative (NA in lavaan is NaN here).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import GroupError, ModelSpecificationError

REF = Path(__file__).parent / "references" / "ordinal"
NAMES = ["configural", "thresholds", "loadings", "intercepts", "partial"]


def _reference(name):
    return json.loads((REF / f"wlsmv_hsg_{name}.json").read_text())


def _listed(value) -> list:
    return [v for v in np.atleast_1d(value) if v]


_FITS: dict = {}


def _fit(name):
    if name not in _FITS:
        ref = _reference(name)
        data = pd.read_csv(REF / ref["data"])
        _FITS[name] = (ref, cx.cfa(ref["model"], data, ordered=True, group="school",
                                   group_equal=_listed(ref["group_equal"]),
                                   group_partial=_listed(ref["group_partial"])))
    return _FITS[name]


@pytest.mark.parametrize("name", NAMES)
def test_multigroup_estimates_and_standard_errors_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and fit.admissible
    assert list(fit.group_labels) == list(ref["group_labels"])
    got = fit.estimates
    exp = pd.DataFrame(ref["estimates"])
    labels = list(ref["group_labels"])
    assert list(got["lhs"]) == list(exp["lhs"])
    assert list(got["op"]) == list(exp["op"])
    assert list(got["rhs"]) == list(exp["rhs"])
    assert list(got["group"]) == [labels[g - 1] for g in exp["group"]]
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(got[col].to_numpy(float), exp[col].to_numpy(float),
                                   atol=1e-3, rtol=0, err_msg=f"{name}: {col}")
    # the free/fixed pattern is lavaan's (scales and latent means of group 2 under thresholds)
    table = fit.parameter_table.frame
    table = table[table["op"] != ":="]
    np.testing.assert_array_equal(table["free"].to_numpy() > 0, exp["free"].to_numpy() > 0)


@pytest.mark.parametrize("name", NAMES)
def test_multigroup_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, f"{name}: {key} missing"
        if value is None:
            assert np.isnan(fm[key]), f"{name}: {key} should be NaN (NA in lavaan)"
        else:
            np.testing.assert_allclose(fm[key], value, rtol=1e-3, atol=1e-9,
                                       err_msg=f"{name}: {key}")


def test_equal_thresholds_free_the_scales_and_means_of_the_other_groups():
    _, fit = _fit("thresholds")
    est = fit.estimates
    scales = est[est["op"] == "~*~"]
    means = est[(est["op"] == "~1") & est["lhs"].isin(["visual", "textual", "speed"])]
    first, second = fit.group_labels
    assert (scales.loc[scales["group"] == first, "est"] == 1).all()
    assert (scales.loc[scales["group"] == second, "se"] > 0).all()
    assert (means.loc[means["group"] == first, "est"] == 0).all()
    assert (means.loc[means["group"] == second, "se"] > 0).all()
    # the thresholds are one parameter per item and threshold over the groups
    th = est[est["op"] == "|"]
    a = th[th["group"] == first]["est"].to_numpy()
    b = th[th["group"] == second]["est"].to_numpy()
    np.testing.assert_array_equal(a, b)
    # a latent response's variance is 1 / scale^2: its residual variance is that less the
    # variance its factor explains (R-squared of the latent responses from the same numbers)
    r2 = fit.rsquare
    resid = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].str.match(r"x\d")]
    for _, row in resid.iterrows():
        s = scales[(scales["lhs"] == row["lhs"]) & (scales["group"] == row["group"])]["est"]
        expected = 1.0 - row["est"] * float(s.iloc[0]) ** 2
        got = r2[(r2["variable"] == row["lhs"]) & (r2["group"] == row["group"])]["rsquare"]
        assert float(got.iloc[0]) == pytest.approx(expected, abs=1e-10)


def test_equal_intercepts_add_nothing_to_equal_thresholds_for_ordinal_items():
    # lavaan: the intercepts of ordinal indicators are fixed at 0, so the '+ intercepts' step
    # of the ladder is the thresholds + loadings model again
    _, a = _fit("loadings")
    _, b = _fit("intercepts")
    np.testing.assert_allclose(a.estimates["est"], b.estimates["est"], atol=1e-12)
    assert a.fit_measures["df"] == b.fit_measures["df"]


def test_partial_thresholds_are_free_in_each_group():
    _, fit = _fit("partial")
    est = fit.estimates
    first, second = fit.group_labels
    for rhs in ("t1", "t2"):
        rows = est[(est["lhs"] == "x3") & (est["op"] == "|") & (est["rhs"] == rhs)]
        assert rows.set_index("group")["est"][first] != rows.set_index("group")["est"][second]
    rows = est[(est["lhs"] == "x3") & (est["op"] == "|") & (est["rhs"] == "t3")]
    assert rows["est"].nunique() == 1


def test_a_category_empty_in_one_group_is_refused_naming_the_item_and_group():
    ref = _reference("configural")
    data = pd.read_csv(REF / ref["data"])
    data.loc[(data["school"] == "Pasteur") & (data["x4"] == 4), "x4"] = 3
    with pytest.raises(GroupError) as info:
        cx.cfa(ref["model"], data, ordered=True, group="school")
    msg = str(info.value)
    assert "x4" in msg and "Pasteur" in msg and "collapse" in msg


def test_unknown_partial_entry_is_refused():
    ref = _reference("configural")
    data = pd.read_csv(REF / ref["data"])
    with pytest.raises(ModelSpecificationError, match="group_partial"):
        cx.cfa(ref["model"], data, ordered=True, group="school", group_equal="thresholds",
               group_partial=["x3 t1"])


def test_lrt_of_the_ordinal_ladder_matches_lavTestLRT_satorra_2000():
    # lavTestLRT's default for WLSMV fits is method "satorra.2000" (scaled-shifted difference,
    # A.method "delta"): the reference has both, identical
    lrt_ref = json.loads((REF / "wlsmv_hsg_lrt.json").read_text())
    assert lrt_ref["default"] == lrt_ref["satorra_2000"]
    ref = lrt_ref["default"]
    fits = [_fit(name)[1] for name in ("configural", "thresholds", "loadings")]
    # given in any order: sorted by df as lavaan
    tab = cx.lrt(fits[2], fits[0], fits[1], names=["loadings", "configural", "thresholds"])
    assert list(tab["model"]) == ref["model"]
    np.testing.assert_allclose(tab["df"], ref["df"])
    np.testing.assert_allclose(tab["chisq"], ref["chisq"], rtol=1e-4)
    for col in ("chisq_diff", "df_diff", "pvalue"):
        np.testing.assert_allclose(tab[col].to_numpy(float)[1:], ref[col][1:], rtol=1e-3,
                                   err_msg=col)
    assert tab[["aic", "bic"]].isna().all().all()  # no likelihood under WLSMV (lavaan: NA)


def test_lrt_of_identical_ordinal_models_has_zero_difference():
    _, a = _fit("loadings")
    _, b = _fit("intercepts")
    tab = cx.lrt(a, b)
    assert tab["df_diff"].iloc[1] == 0
    assert abs(tab["chisq_diff"].iloc[1]) < 1e-6
