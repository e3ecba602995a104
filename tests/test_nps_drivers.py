"""NPS drivers (issue 16): promoter-vs-rest and detractor-vs-rest logit models against
statsmodels' Logit (coefficients, robust and model-based standard errors, McFadden's R-squared,
to 1e-8), odds ratios, event counts, dominance from the subsets' pseudo R-squared, and the
refusal of weights (drivers() fits unweighted models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from connection._report import Report
from connection.errors import ArgumentError, MissingColumnError, OutOfRangeError
from connection.outcomes._drivers import drivers
from connection.outcomes._nps import NPS_DRIVER_COLUMNS, NPSDriversResult, nps_drivers

RULES = {"promoter": lambda s: s >= 9, "detractor": lambda s: s <= 6}


def _data(n=800, seed=0):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = 0.5 * sat + 0.8 * rng.normal(size=n)
    age = rng.integers(18, 80, size=n).astype(float)
    latent = 7 + 1.2 * con + 0.6 * sat + 0.01 * (age - 50) + rng.logistic(size=n)
    return pd.DataFrame({"recommend": np.clip(np.round(latent), 0, 10), "connection": con,
                         "satisfaction": sat, "age": age,
                         "region": rng.choice(["north", "south"], size=n)})


def _logit(y, X, cov_type):
    return sm.Logit(y, sm.add_constant(X)).fit(disp=0, cov_type=cov_type, maxiter=200)


@pytest.mark.parametrize("cov_type", ["HC0", "nonrobust"])
def test_coefficients_and_ses_equal_statsmodels_logit(cov_type):
    d = _data()
    d.loc[:6, "satisfaction"] = np.nan
    with pytest.warns(Warning, match="7 of 800"):
        r = nps_drivers(d, "recommend", ["connection", "satisfaction"], controls=["age"],
                        cov_type=cov_type)
    assert isinstance(r, NPSDriversResult) and list(r.table.columns) == NPS_DRIVER_COLUMNS
    cc = d.dropna()
    X = cc[["connection", "satisfaction", "age"]].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    for outcome, rule in RULES.items():
        y = rule(cc.recommend.to_numpy()).astype(float)
        fz, fx = _logit(y, Z, cov_type), _logit(y, X, cov_type)
        t = r.table[r.table.outcome == outcome]
        np.testing.assert_allclose(t.beta, fz.params[1:], atol=1e-8)
        np.testing.assert_allclose(t.se, fz.bse[1:], atol=1e-8)
        np.testing.assert_allclose(t.pvalue, fz.pvalues[1:], atol=1e-8)
        np.testing.assert_allclose(t.b, fx.params[1:], atol=1e-8)
        np.testing.assert_allclose(t.odds_ratio, np.exp(fz.params[1:]), rtol=1e-8)
        np.testing.assert_allclose(t.odds_ratio_unit, np.exp(fx.params[1:]), rtol=1e-8)
        lo, hi = fz.conf_int(0.05)[1:].T
        np.testing.assert_allclose(t.odds_ratio_ci_lower, np.exp(lo), rtol=1e-8)
        np.testing.assert_allclose(t.odds_ratio_ci_upper, np.exp(hi), rtol=1e-8)
        np.testing.assert_allclose(t.r2, fz.prsquared, atol=1e-8)
        assert (t.n == len(cc)).all() and (t.n_events == y.sum()).all()
        assert list(t.role) == ["driver", "driver", "control"]
        m = r.models.set_index("outcome").loc[outcome]
        assert m["n_events"] == y.sum() and m["pct_events"] == pytest.approx(100 * y.mean())
    assert (r.table.cov_type == cov_type).all()
    # detractors: connection lowers the odds
    assert (r.table.query("outcome == 'detractor' and role == 'driver'").odds_ratio < 1).all()


def test_dominance_is_the_average_increment_in_mcfadden_r2():
    d = _data(seed=3)
    r = nps_drivers(d, "recommend")
    for outcome, rule in RULES.items():
        y = rule(d.recommend.to_numpy()).astype(float)
        X = d[["connection", "satisfaction"]].to_numpy()
        r2 = {k: sm.Logit(y, sm.add_constant(X[:, list(k)])).fit(disp=0).prsquared
              for k in [(0,), (1,), (0, 1)]}
        gd_con = 0.5 * (r2[(0,)] + r2[(0, 1)] - r2[(1,)])
        gd_sat = 0.5 * (r2[(1,)] + r2[(0, 1)] - r2[(0,)])
        t = r.table[r.table.outcome == outcome].set_index("term")
        assert t.loc["connection", "general_dominance"] == pytest.approx(gd_con, abs=1e-8)
        assert t.loc["satisfaction", "general_dominance"] == pytest.approx(gd_sat, abs=1e-8)
        assert t.dominance_share.sum() == pytest.approx(1.0)
    none = nps_drivers(d, "recommend", importance=None)
    assert none.table.general_dominance.isna().all()
    np.testing.assert_allclose(none.table.beta, r.table.beta)


def test_groups_are_fitted_on_their_own():
    d = _data(seed=4)
    r = nps_drivers(d, "recommend", group="region")
    sub = d[d.region == "south"]
    X = sub[["connection", "satisfaction"]].to_numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    y = (sub.recommend >= 9).to_numpy(float)
    t = r.table.query("outcome == 'promoter' and group == 'south'")
    np.testing.assert_allclose(t.beta, _logit(y, Z, "HC0").params[1:], atol=1e-8)
    assert (t.n_events == y.sum()).all() and (t.by == "region").all()
    assert len(r.models) == 6


WREF = Path(__file__).parent / "references" / "drivers"


def test_weighted_promoter_model_equals_svyglm_quasibinomial():
    """Before: weights= raised an ArgumentError. The promoter logit is survey::svyglm
    (quasibinomial) on svydesign(ids = ~1, weights = ~w) (make_weighted_drivers_references.R:
    the 0/1 outcome yb made the promoters of a 0-10 item)."""
    d = pd.read_csv(WREF / "weighted_drivers_sim.csv")
    ref = json.loads((WREF / "weighted_drivers_references.json").read_text())["logit_std"]
    d["recommend"] = np.where(d["yb"] == 1, 10, np.where(d["x3"] > 0, 7, 3))
    r = nps_drivers(d, "recommend", ["x1", "x2", "x3"], controls=["age"], weights="w")
    t = r.table.query("outcome == 'promoter'").set_index("term").loc[["x1", "x2", "x3", "age"]]
    np.testing.assert_allclose(t["beta"], ref["estimate"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"][1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["pvalue"], ref["pvalue"][1:], rtol=0, atol=1e-7)
    assert (t["cov_type"] == "linearization").all()
    assert r.settings["weights"] == "w"
    assert ("Weights", "w") in r.summary().header


def test_weighted_nps_drivers_equal_weighted_drivers_on_the_indicators():
    d = _data(n=300)
    d["w"] = np.random.default_rng(5).uniform(0.5, 2.0, len(d))
    r = nps_drivers(d, "recommend", weights="w")
    m = d.assign(p=(d["recommend"] >= 9).astype(float), q=(d["recommend"] <= 6).astype(float))
    direct = drivers(m, ["p", "q"], ["connection", "satisfaction"], family="logit", weights="w",
                     n_boot=0)
    np.testing.assert_allclose(r.table["beta"], direct.table["beta"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.table["se"], direct.table["se"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.table["dominance_share"], direct.table["dominance_share"],
                               rtol=0, atol=1e-12)
    unweighted = nps_drivers(d, "recommend")
    assert not np.allclose(r.table["beta"], unweighted.table["beta"])


def test_survey_weights_are_used_unless_switched_off():
    d = _data(n=300).assign(w=np.linspace(0.5, 2.0, 300))
    from connection.data import Instrument, read_survey

    spec = {"name": "n", "constructs": {"c": {"scale": {"min": 0, "max": 10},
                                              "items": [{"id": "recommend"}]}},
            "variables": {"w": {"type": "numeric", "role": "weight", "missing": []},
                          "connection": {"type": "numeric"},
                          "satisfaction": {"type": "numeric"}},
            "weights": "w"}
    survey = read_survey(d[["recommend", "connection", "satisfaction", "w"]],
                         Instrument.from_dict(spec))
    np.testing.assert_allclose(nps_drivers(survey, "recommend").table.beta,
                               nps_drivers(d, "recommend", weights="w").table.beta, atol=1e-12)
    r = nps_drivers(survey, "recommend", weights=None)
    np.testing.assert_allclose(r.table.beta, nps_drivers(d, "recommend").table.beta)


def test_report_frame_and_input_errors():
    d = _data(n=300)
    r = nps_drivers(d, "recommend")
    rep = r.summary()
    assert isinstance(rep, Report)
    text = rep.as_text()
    assert "NPS drivers of recommend" in text and "odds_ratio" in text and "unweighted" in text
    f = r.to_frame()
    f.loc[:, "beta"] = 0.0
    assert (r.table.beta != 0).all()
    with pytest.raises(OutOfRangeError, match="0 to 10"):
        nps_drivers(d.assign(recommend=d.recommend + 1), "recommend")
    with pytest.raises(MissingColumnError):
        nps_drivers(d, "recommend", ["connection", "nope"])
    with pytest.raises(ArgumentError, match="cov_type"):
        nps_drivers(d, "recommend", cov_type="HC3")
    with pytest.raises(ArgumentError, match="predict itself"):
        nps_drivers(d, "recommend", ["connection", "recommend"])
