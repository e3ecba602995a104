"""The latent version of connection.outcomes._drivers against lavaan (issue 11).

References: tests/references/drivers/drivers_latent_references.json, written by
make_drivers_references.R (lavaan 0.6.14) from drivers_sim.csv (make_drivers_data.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ConnectionWarning, HeywoodCaseWarning, NotPositiveDefiniteWarning
from connection.latent import sem
from connection.outcomes._drivers import PoorFitWarning, _latent_model, drivers

REF = Path(__file__).parent / "references" / "drivers"
ITEMS = {"connection": ["ec1", "ec2", "ec3", "ec4"], "satisfaction": ["sat1", "sat2", "sat3"],
         "features": ["feat1", "feat2", "feat3"]}
REL = 1e-4


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "drivers_latent_references.json").read_text())


@pytest.fixture(scope="module")
def data():
    df = pd.read_csv(REF / "drivers_sim.csv")
    for name, cols in ITEMS.items():   # the observed version needs composites
        df[name] = df[cols].mean(axis=1)
    return df


def _ref_table(ref, model):
    return pd.DataFrame(ref["models"][model]["estimates"])


def _latent(data, drivers_, controls, estimator, **kw):
    items = {d: ITEMS[d] for d in drivers_}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConnectionWarning)   # none expected on these data
        res = drivers(data, ["advocacy"], drivers=drivers_, controls=controls, n_boot=0,
                      latent=items, latent_estimator=estimator, **kw)
    return res


@pytest.mark.parametrize("model, drivers_, controls, estimator", [
    ("mlr_two_controls", ["connection", "satisfaction"], ["age", "female"], "MLR"),
    ("ml_one_control", ["connection", "satisfaction"], ["age"], "ML"),
    ("mlr_three_drivers", ["connection", "satisfaction", "features"], ["age"], "MLR"),
])
def test_latent_table_matches_lavaan_with_controls_covarying(ref, data, model, drivers_, controls,
                                                             estimator):
    """Before the fix the controls were uncorrelated with the latent drivers: on the two-control
    data connection's beta was .525 (lavaan's fixed.x model) instead of .624, CFI .852."""
    res = _latent(data, drivers_, controls, estimator)
    lat = res.latent.set_index("term")
    r = _ref_table(ref, model)
    reg = r[(r.op == "~") & (r.lhs == "advocacy")].set_index("rhs")
    for d in drivers_:
        assert lat.loc[d, "est"] == pytest.approx(reg.loc[d, "est"], rel=REL)
        assert lat.loc[d, "se"] == pytest.approx(reg.loc[d, "se"], rel=REL)
        assert lat.loc[d, "beta"] == pytest.approx(reg.loc[d, "std_all"], rel=REL)
        assert lat.loc[d, "pvalue"] == pytest.approx(reg.loc[d, "pvalue"], rel=1e-3, abs=1e-12)
    defined = r[r.op == ":="].set_index("lhs")
    pairs = [(a, b) for k, a in enumerate(drivers_) for b in drivers_[k + 1:]]
    assert [t for t in lat.index if " - " in t] == [f"{a} - {b}" for a, b in pairs]
    for a, b in pairs:
        c = defined.loc[f"{a}_minus_{b}"]
        assert lat.loc[f"{a} - {b}", "est"] == pytest.approx(c["est"], rel=REL)
        assert lat.loc[f"{a} - {b}", "se"] == pytest.approx(c["se"], rel=REL)
    fm = ref["models"][model]["fit_measures"]
    cfi = fm["cfi_robust"] if estimator == "MLR" else fm["cfi"]
    rmsea = fm["rmsea_robust"] if estimator == "MLR" else fm["rmsea"]
    assert lat["cfi"].iloc[0] == pytest.approx(cfi, abs=1e-6)
    assert lat["rmsea"].iloc[0] == pytest.approx(rmsea, abs=1e-6)
    assert lat["srmr"].iloc[0] == pytest.approx(fm["srmr"], rel=REL)
    assert (lat["flags"] == "").all() and res.flags == () and res.admissible


def test_latent_model_every_parameter_matches_lavaan(ref, data):
    """The model text drivers() builds equals lavaan's explicit-covariance model, parameter by
    parameter (loadings, control ~~ latent covariances, control variances) and in fit."""
    text = _latent_model("advocacy", ["connection", "satisfaction"], ["age", "female"], ITEMS)
    assert "connection ~~ age + female" in text and "age ~~ female" in text
    fit = sem(text, data, estimator="MLR", std_lv=True)
    got = fit.estimates[fit.estimates.op != ":="].set_index(["lhs", "op", "rhs"])
    r = _ref_table(ref, "mlr_two_controls")
    r = r[r.op != ":="].set_index(["lhs", "op", "rhs"])
    assert len(got) == len(r)
    for key, row in r.iterrows():
        key = key if key in got.index else (key[2], key[1], key[0])
        assert got.loc[key, "est"] == pytest.approx(row["est"], rel=REL, abs=1e-9), key
        assert got.loc[key, "se"] == pytest.approx(row["se"], rel=REL, abs=1e-9), key
    fm = ref["models"]["mlr_two_controls"]["fit_measures"]
    for name in ("chisq", "df", "npar", "tli", "chisq_scaled", "srmr"):
        assert fit.fit_measures[name] == pytest.approx(fm[name], rel=REL), name


def test_the_old_model_was_lavaans_misfitting_default(ref, data):
    """What drivers() used to fit (no control ~~ latent covariance) is lavaan's default model,
    which fits these data badly; fixed.x = FALSE alone does not change it."""
    for name in ("naive_fixedx", "naive_randomx"):
        m = ref["models"][name]
        assert m["fit_measures"]["cfi"] == pytest.approx(ref["models"]["naive_fixedx"]["fit_measures"]["cfi"])
    m = ref["models"]["naive_fixedx"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sem(m["model"], data, estimator="MLR", std_lv=True)
    assert fit.fit_measures["cfi"] == pytest.approx(m["fit_measures"]["cfi"], rel=REL)
    assert m["fit_measures"]["cfi"] < 0.86
    old = fit.estimates.set_index(["lhs", "op", "rhs"]).loc[("advocacy", "~", "connection"), "std_all"]
    new = _latent(data, ["connection", "satisfaction"], ["age", "female"], "MLR").latent
    new_beta = new.set_index("term").loc["connection", "beta"]
    assert new_beta - old > 0.05   # the control was not controlled for


def test_poor_fit_warns_and_flags(data):
    """A misspecified measurement model (the features items put under connection) fits badly:
    PoorFitWarning, a poor_fit flag on every row of that outcome and in result.flags."""
    items = {"connection": ITEMS["connection"] + ITEMS["features"], "satisfaction": ITEMS["satisfaction"]}
    with pytest.warns(PoorFitWarning, match=r"advocacy \(latent\).*CFI \(robust\) 0\.85\d < 0\.90"):
        res = drivers(data, ["advocacy"], controls=["age"], n_boot=0, latent=items)
    lat = res.latent
    assert lat["cfi"].iloc[0] < 0.90 and lat["rmsea"].iloc[0] > 0.10
    assert lat["flags"].str.startswith("poor_fit: the latent model fits poorly").all()
    assert [f.code for f in res.flags] == ["poor_fit"] and not res.admissible
    assert res.flags[0].message.startswith("advocacy (latent): ")
    assert "do not cite" in str(res.summary())


def _small(seed, n, r_lat, lam_c, lam_s):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = r_lat * sat + np.sqrt(1 - r_lat**2) * rng.normal(size=n)
    df = pd.DataFrame({"advocacy": 0.5 * con + rng.normal(size=n), "connection": con,
                       "satisfaction": sat})
    for j, lam in enumerate(lam_c):
        df[f"ec{j}"] = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
    for j, lam in enumerate(lam_s):
        df[f"s{j}"] = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
    return df, {"connection": ["ec0", "ec1", "ec2"], "satisfaction": ["s0", "s1", "s2"]}


def test_heywood_case_is_in_the_table_and_the_result():
    """n = 60, one near-perfect indicator: its residual variance is estimated at -0.0116.
    Before: an empty table cell and only a console warning."""
    df, items = _small(0, 60, 0.6, [0.97, 0.5, 0.45], [0.8, 0.7, 0.6])
    with pytest.warns(HeywoodCaseWarning):
        res = drivers(df, ["advocacy"], n_boot=0, latent=items)
    assert res.latent["flags"].str.contains(r"heywood: .*ec0 ~~ ec0 = -0\.01").all()
    heywood = [f for f in res.flags if f.code == "heywood"]
    assert len(heywood) == 1 and heywood[0].parameters == ("ec0 ~~ ec0",)
    assert not res.admissible


def test_latent_correlation_beyond_one_is_flagged():
    df, items = _small(0, 50, 0.97, [0.6, 0.5, 0.55], [0.6, 0.5, 0.55])
    with pytest.warns(NotPositiveDefiniteWarning):
        res = drivers(df, ["advocacy"], n_boot=0, latent=items)
    flag = [f for f in res.flags if f.code == "latent_not_pd"]
    assert len(flag) == 1 and flag[0].parameters == ("connection ~~ satisfaction",)
    assert res.latent["flags"].str.contains("latent_not_pd").all()


def test_non_convergence_is_flagged_from_the_fit(monkeypatch, data):
    """The engine's not_converged flag (an optimiser stopped after 2 iterations) reaches the
    table and the result once."""
    import connection.latent as sem_module

    real = sem_module.sem

    def not_converged(*args, **kwargs):
        return real(*args, max_iter=2, **kwargs)

    monkeypatch.setattr(sem_module, "sem", not_converged)
    with pytest.warns(ConnectionWarning):
        res = drivers(data, ["advocacy"], n_boot=0,
                      latent={"connection": ITEMS["connection"],
                              "satisfaction": ITEMS["satisfaction"]})
    assert [f.code for f in res.flags].count("not_converged") == 1
    assert res.latent["flags"].str.startswith("not_converged").all()


def test_known_effects_with_a_confounding_control_are_recovered():
    """Known truth: age drives connection and advocacy; the effects per SD of the latent drivers
    are .4 (connection), .2 (satisfaction) and -.4 (age). The model with the control free to
    covary with the latent drivers recovers them and fits; the old model (that covariance fixed
    at 0) misfits (robust CFI .86), its coefficients a compromise of a wrong model."""
    rng = np.random.default_rng(50)
    n = 3000
    age = rng.normal(size=n)
    con = 0.6 * age + 0.8 * rng.normal(size=n)
    sat = 0.3 * con + np.sqrt(0.91) * rng.normal(size=n)
    df = pd.DataFrame({"advocacy": 0.4 * con + 0.2 * sat - 0.4 * age + rng.normal(size=n),
                       "age": age})
    items = {"connection": [], "satisfaction": []}
    for j, lam in enumerate([0.8, 0.7, 0.75]):
        df[f"ec{j}"] = lam * con + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["connection"].append(f"ec{j}")
    for j, lam in enumerate([0.85, 0.8, 0.7]):
        df[f"s{j}"] = lam * sat + np.sqrt(1 - lam**2) * rng.normal(size=n)
        items["satisfaction"].append(f"s{j}")
    for k, v in items.items():
        df[k] = df[v].mean(axis=1)
    res = drivers(df, ["advocacy"], controls=["age"], n_boot=0, latent=items)
    lat = res.latent.set_index("term")
    for term, truth in (("connection", 0.4), ("satisfaction", 0.2),
                        ("connection - satisfaction", 0.2)):   # within 3 SE of the truth
        assert abs(lat.loc[term, "est"] - truth) < 3 * lat.loc[term, "se"], term
    assert lat["cfi"].iloc[0] > 0.99 and res.admissible
    text = _latent_model("advocacy", ["connection", "satisfaction"], ["age"], items)
    fit = sem(text, df.drop(columns=["connection", "satisfaction"]), estimator="MLR", std_lv=True)
    b_age = fit.estimates.set_index(["lhs", "op", "rhs"]).loc[("advocacy", "~", "age")]
    assert abs(b_age["est"] + 0.4) < 3 * b_age["se"]
    naive = ("connection =~ ec0 + ec1 + ec2\nsatisfaction =~ s0 + s1 + s2\n"
             "advocacy ~ connection + satisfaction + age")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = sem(naive, df.drop(columns=["connection", "satisfaction"]), estimator="MLR", std_lv=True)
    assert old.fit_measures["cfi_robust"] < 0.90


def test_poor_fit_warning_points_at_the_callers_line_and_the_report_shows_the_flag_first(data):
    """warn() finds the first frame outside the package: this file, not _drivers.py."""
    items = {"connection": ITEMS["connection"] + ITEMS["features"], "satisfaction": ITEMS["satisfaction"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = drivers(data, ["advocacy"], controls=["age"], n_boot=0, latent=items)
    poor = [w for w in caught if issubclass(w.category, PoorFitWarning)]
    assert len(poor) == 1
    assert poor[0].filename == __file__
    report = res.summary()
    assert report.flags == list(res.flags)
    text = report.as_text()
    assert text.index("NOT ADMISSIBLE") < text.index("Coefficients")
    assert "advocacy (latent): the latent model fits poorly" in text
