"""Multi-group ordinal models against lavaan 0.6.14 (issue 14): the theta parameterization with
``group_partial``, and an SEM with a continuous exogenous covariate under equal loadings and
thresholds (lavaan's default ``conditional.x = TRUE``; delta and theta).

References: tests/references/ordinal/make_wlsmv_partial_references.R. Estimates, standard
errors, std.all and std.lv to 1e-3 absolute (the fits agree to 1e-4: checked too), every
fitMeasures value to 1e-3 relative. These fits hold parameters equal across groups of
different sizes, which is where lavaan's weighting of the groups in the discrepancy shows:
lavaan minimises ``sum_g (n_g - 1) F_g``, not ``sum_g n_g F_g`` (before that was matched the
estimates differed from lavaan's by up to 1.5e-3 and standard errors by 3.6e-3).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx

REF = Path(__file__).parent / "references" / "ordinal"
ORD = ["x2", "x3", "x7", "x8", "x9"]
FITS = {  # name: (function, keywords besides the model and data)
    "theta_hsg_partial": (cx.cfa, {"ordered": True, "group": "school",
                                   "parameterization": "theta",
                                   "group_equal": ["thresholds", "loadings"],
                                   "group_partial": ["visual=~x2", "x3|t1"]}),
    "mixed_groups_cx_equal": (cx.sem, {"ordered": ORD, "group": "school",
                                       "group_equal": ["loadings", "thresholds"]}),
    "mixed_groups_cx_equal_theta": (cx.sem, {"ordered": ORD, "group": "school",
                                             "group_equal": ["loadings", "thresholds"],
                                             "parameterization": "theta"}),
}
_CACHE: dict = {}


def _fit(name):
    if name not in _CACHE:
        ref = json.loads((REF / f"wlsmv_{name}.json").read_text())
        data = pd.read_csv(REF / ref["data"])
        fn, kw = FITS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # no Heywood case, no convergence warning
            _CACHE[name] = (ref, fn(ref["model"], data, **kw))
    return _CACHE[name]


def _merged(ref, fit):
    exp = pd.DataFrame(ref["estimates"])
    exp["group"] = [ref["group_labels"][g - 1] for g in exp["group"]]
    m = exp.merge(fit.estimates, on=["lhs", "op", "rhs", "group"], how="outer",
                  suffixes=("_ref", ""), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    return m


@pytest.mark.parametrize("name", list(FITS))
def test_estimates_and_standard_errors_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and fit.admissible
    m = _merged(ref, fit)
    for col in ("est", "se", "std_all", "std_lv"):
        got, exp = m[col].to_numpy(float), m[col + "_ref"].to_numpy(float)
        np.testing.assert_allclose(got, exp, atol=1e-3, err_msg=f"{name}: {col}")
        np.testing.assert_allclose(got, exp, atol=1e-4, rtol=1e-4, err_msg=f"{name}: {col}")
    # free, fixed and equal as lavaan's table
    np.testing.assert_array_equal(m["se"].to_numpy() > 0, m["free"].to_numpy() > 0)


@pytest.mark.parametrize("name", list(FITS))
def test_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, key
        if value is None:
            assert np.isnan(fm[key]), key
        else:
            assert fm[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key


def test_group_partial_frees_exactly_the_named_loading_and_threshold():
    ref, fit = _fit("theta_hsg_partial")
    est = fit.estimates.set_index(["lhs", "op", "rhs", "group"])
    g1, g2 = ref["group_labels"]
    for key, equal in [(("visual", "=~", "x2"), False), (("x3", "|", "t1"), False),
                       (("visual", "=~", "x3"), True), (("x3", "|", "t2"), True),
                       (("x2", "|", "t1"), True)]:
        a, b = est.loc[key + (g1,), "est"], est.loc[key + (g2,), "est"]
        assert (abs(a - b) < 1e-12) == equal, key
    # theta: the residual variances of the latent responses are fixed in the first group
    # and free in the second (lavaan's identification with equal thresholds and loadings)
    res = fit.estimates[(fit.estimates["op"] == "~~") & (fit.estimates["lhs"] == "x5")
                        & (fit.estimates["rhs"] == "x5")].set_index("group")
    assert res.loc[g1, "se"] == 0 and res.loc[g1, "est"] == 1 and res.loc[g2, "se"] > 0


def test_groups_are_weighted_as_lavaan_in_the_discrepancy():
    """lavaan's objective counts each group as n_g - 1: with unequal groups and equalities
    the minimum of ``sum_g (n_g - 1) F_g`` is where the gradient of that sum vanishes (and
    not of ``sum_g n_g F_g``)."""
    _, fit = _fit("mixed_groups_cx_equal")
    est = fit.estimation
    problem, theta = est.problem, est.theta
    n_g = np.array([st.n for st in est.stats], dtype=float)
    assert n_g[0] != n_g[1]
    f_g = problem.group_discrepancies(theta)
    assert problem.objective(theta) == pytest.approx(np.sum((n_g - 1) * f_g) / n_g.sum(),
                                                     rel=1e-12)
    grad = problem.gradient(theta)
    assert np.max(np.abs(grad)) < 1e-6
    step = 1e-6
    for k in range(len(theta)):  # the gradient is the objective's (finite differences)
        e = np.zeros_like(theta)
        e[k] = step
        fd = (problem.objective(theta + e) - problem.objective(theta - e)) / (2 * step)
        assert fd == pytest.approx(grad[k], abs=1e-7)
