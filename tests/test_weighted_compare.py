"""Issue 15, step 2: weighted compare(), design-based as R's survey (svyby + svycontrast on
svydesign(ids = ~1, weights = ~w)); references from
tests/references/weights/make_weighted_compare_references.R."""

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
from connection.outcomes import compare

REF = json.loads((Path(__file__).parent / "references" / "weights" /
                  "weighted_compare_references.json").read_text())
R = {r["variable"]: r for r in REF["results"]}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.DataFrame(REF["data"]).astype({"score": float, "flag": float, "w": float})


def run(data, **kwargs):
    kwargs.setdefault("a", "A")
    kwargs.setdefault("b", "B")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return compare(data, "g", **kwargs)


def se(r):
    return float(np.ravel(r["difference_se"])[0])


def test_weighted_proportions_and_risk_ratio_match_svyby_and_svycontrast(data):
    res = run(data, proportions={"flag": None, "score": 9}, weights="w", correction=None)
    t = res.table.set_index("variable")
    z = stats.norm.ppf(0.975)
    for var, ref in (("flag", R["flag"]), ("score", R["top"])):
        row = t.loc[var]
        assert row["test"] == "linearized_z"
        assert row["value_a"] == pytest.approx(ref["estimate"]["A"], abs=1e-10)
        assert row["value_b"] == pytest.approx(ref["estimate"]["B"], abs=1e-10)
        assert row["difference"] == pytest.approx(ref["difference"], abs=1e-10)
        s = se(ref)
        assert row["ci_lower"] == pytest.approx(ref["difference"] - z * s, abs=1e-9)
        assert row["ci_upper"] == pytest.approx(ref["difference"] + z * s, abs=1e-9)
        assert row["statistic"] == pytest.approx(ref["difference"] / s, abs=1e-8)
        assert row["pvalue"] == pytest.approx(2 * stats.norm.sf(abs(ref["difference"] / s)),
                                              rel=1e-8)
        assert row["risk_ratio"] == pytest.approx(ref["ratio"], abs=1e-10)
        se_log = ref["ratio_se"] / ref["ratio"]
        assert row["rr_ci_lower"] == pytest.approx(ref["ratio"] * np.exp(-z * se_log), abs=1e-8)
        assert row["rr_ci_upper"] == pytest.approx(ref["ratio"] * np.exp(z * se_log), abs=1e-8)
        # respondent counts, and Kish's effective n per group
        va = data.loc[(data["g"] == "A") & data[var].notna()]
        assert row["n_a"] == len(va)
        w = va["w"].to_numpy()
        assert res.settings["n_eff"][var][0] == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    assert res.settings["weights"] == "w"
    assert "design-based" in res.summary().as_text()


def test_weighted_tost_matches_svyby_and_svycontrast(data):
    ref = R["score"]
    res = run(data, equivalence=["score"], margin=0.5, weights=data["w"].to_numpy())
    row = res.table.iloc[0]
    s = se(ref)
    d = ref["difference"]
    assert row["test"] == "tost_linearized" and np.isnan(row["df"])
    assert row["value_a"] == pytest.approx(ref["estimate"]["A"], abs=1e-10)
    assert row["difference"] == pytest.approx(d, abs=1e-10)
    assert row["sd_a"] == pytest.approx(np.sqrt(ref["variance"]["A"]), abs=1e-10)
    assert row["sd_b"] == pytest.approx(np.sqrt(ref["variance"]["B"]), abs=1e-10)
    z90 = stats.norm.ppf(0.95)
    assert row["ci_lower"] == pytest.approx(d - z90 * s, abs=1e-9)
    assert row["ci_upper"] == pytest.approx(d + z90 * s, abs=1e-9)
    p = max(stats.norm.sf((d + 0.5) / s), stats.norm.cdf((d - 0.5) / s))
    assert row["pvalue"] == pytest.approx(p, rel=1e-8)
    assert row["statistic"] == pytest.approx(min((d + 0.5) / s, (0.5 - d) / s), abs=1e-8)
    assert row["pvalue_difference"] == pytest.approx(2 * stats.norm.sf(abs(d / s)), rel=1e-8)
    # equivalence shown exactly when the 90% interval lies inside the margin
    assert bool(row["reject"]) == bool(-0.5 < row["ci_lower"] and row["ci_upper"] < 0.5)
    # a margin in pooled (weighted) SDs
    sd = run(data, equivalence=["score"], margin=0.4, margin_scale="sd", weights="w").table
    na, nb = row["n_a"], row["n_b"]
    pooled = np.sqrt(((na - 1) * ref["variance"]["A"] + (nb - 1) * ref["variance"]["B"])
                     / (na + nb - 2))
    assert sd["margin_raw"].iloc[0] == pytest.approx(0.4 * pooled, abs=1e-10)
    assert sd["cohen_d"].iloc[0] == pytest.approx(d / pooled, abs=1e-10)


@pytest.mark.parametrize("value", [1.0, 3.0])
def test_equal_weights_give_exactly_the_unweighted_table(data, value):
    kwargs = {"equivalence": ["score"], "margin": 0.5, "proportions": {"flag": None, "score": 9}}
    plain = run(data, **kwargs)
    weighted = run(data, weights=np.full(len(data), value), **kwargs)
    pd.testing.assert_frame_equal(weighted.table, plain.table, check_exact=True)
    assert weighted.settings["weights"] is None


def test_a_surveys_weights_are_used_unless_switched_off(data):
    inst = Instrument.from_dict({
        "name": "cmp", "constructs": {"s": {"scale": {"min": 0, "max": 10},
                                            "items": [{"id": "score"}]}},
        "variables": {"w": {"type": "numeric", "role": "weight"},
                      "g": {"type": "categorical", "values": ["A", "B", "C"]},
                      "flag": {"type": "numeric"}},
        "weights": "w"})
    frame = data[["g", "score", "flag", "w"]].dropna(subset=["score"]).reset_index(drop=True)
    survey = read_survey(frame, inst)
    kwargs = {"proportions": ["flag"], "equivalence": ["score"], "margin": 0.5}
    by_survey = run(survey, **kwargs).table
    given = run(survey.data, weights=survey.weights, **kwargs).table
    pd.testing.assert_frame_equal(by_survey, given)
    off = run(survey, weights=None, **kwargs).table
    pd.testing.assert_frame_equal(off, run(survey.data, **kwargs).table)
    assert (by_survey["test"] == ["tost_linearized", "linearized_z"]).all()


def test_a_group_without_events_has_no_risk_ratio_interval(data):
    d = data.copy()
    d.loc[d["g"] == "B", "flag"] = 0.0
    row = run(d, proportions=["flag"], weights="w").table.iloc[0]
    assert np.isinf(row["risk_ratio"]) and np.isnan(row["rr_ci_lower"])
    assert row["value_b"] == 0.0 and np.isfinite(row["ci_lower"])


def test_bad_weights_are_refused(data):
    w = data["w"].to_numpy().copy()
    w[4] = np.nan
    with pytest.raises(Exception, match="row.? 5"):
        run(data, proportions=["flag"], weights=w)
    w[4] = -1.0
    with pytest.raises(OutOfRangeError):
        run(data, proportions=["flag"], weights=w)


# ------------------------------------------------------------------------------ value_ratio
def ratio_table(data, **kwargs):
    from connection.outcomes import value_ratio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return value_ratio(data, "score", between="g", a="A", b="B", progress=False,
                           **kwargs).set_index("method")


def test_weighted_value_ratio_matches_svycontrast_of_the_ratio(data):
    ref = R["score"]
    t = ratio_table(data, weights="w", n_boot=0)
    z = stats.norm.ppf(0.975)
    assert t.loc["delta_log", "ratio"] == pytest.approx(ref["ratio"], abs=1e-10)
    assert t.loc["delta_log", "mean_a"] == pytest.approx(ref["estimate"]["A"], abs=1e-10)
    se_log = ref["ratio_se"] / ref["ratio"]
    assert t.loc["delta_log", "ci_lower"] == pytest.approx(ref["ratio"] * np.exp(-z * se_log),
                                                           abs=1e-9)
    assert t.loc["delta_log", "ci_upper"] == pytest.approx(ref["ratio"] * np.exp(z * se_log),
                                                           abs=1e-9)
    # Fieller with the linearization variances of the two weighted means (svyby's SEs)
    ma, mb = ref["estimate"]["A"], ref["estimate"]["B"]
    va, vb = ref["se"]["A"] ** 2, ref["se"]["B"] ** 2
    qa, qb, qc = mb ** 2 - z ** 2 * vb, -2 * ma * mb, ma ** 2 - z ** 2 * va
    root = np.sqrt(qb ** 2 - 4 * qa * qc)
    assert t.loc["fieller", "ci_lower"] == pytest.approx((-qb - root) / (2 * qa), abs=1e-9)
    assert t.loc["fieller", "ci_upper"] == pytest.approx((-qb + root) / (2 * qa), abs=1e-9)


def test_weighted_value_ratio_bootstrap_carries_the_weights(data):
    t = ratio_table(data, weights="w", n_boot=400, seed=3)
    plain = ratio_table(data, n_boot=400, seed=3)
    for method in ("bootstrap_percentile", "bootstrap_bca"):
        assert t.loc[method, "ci_lower"] < t.loc[method, "ratio"] < t.loc[method, "ci_upper"]
        assert t.loc[method, "ci_lower"] != pytest.approx(plain.loc[method, "ci_lower"],
                                                          abs=1e-6)
    # the bootstrap interval agrees with the design-based one to Monte Carlo error
    assert t.loc["bootstrap_percentile", "ci_lower"] == pytest.approx(
        t.loc["delta_log", "ci_lower"], abs=0.02)
    assert t.loc["bootstrap_percentile", "ci_upper"] == pytest.approx(
        t.loc["delta_log", "ci_upper"], abs=0.02)


@pytest.mark.parametrize("value", [1.0, 0.5])
def test_value_ratio_with_equal_weights_is_exactly_the_unweighted_table(data, value):
    plain = ratio_table(data, n_boot=200, seed=5)
    weighted = ratio_table(data, n_boot=200, seed=5, weights=np.full(len(data), value))
    pd.testing.assert_frame_equal(weighted, plain, check_exact=True)
