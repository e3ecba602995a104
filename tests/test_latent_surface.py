"""The engine's surface after issue 13: ``level=`` of the Wald intervals (against lavaan 0.6.14's
``parameterEstimates(fit, level=)``, tests/references/latent/make_level_references.R), a
``Survey`` accepted wherever data are (its instrument's model when no model is given), one
Report per ``summary()`` and ``to_frame()`` on every result, and warnings that point at the
caller's line."""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection._common import DEFAULT_LEVEL, z_critical
from connection._report import Report
from connection.data import Instrument, read_survey
from connection.errors import ArgumentError, ExclusionWarning, ModelSpecificationError
from connection.latent import Fit, InvarianceResult, PolychoricResult, SemBootstrapResult

REF = Path(__file__).parent / "references"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def levels_ref() -> dict:
    return json.loads((REF / "latent" / "hs_levels.json").read_text())


# ------------------------------------------------------------------------------ level=
@pytest.mark.parametrize("case", ["ml_90", "ml_99", "mlr_80", "mg_metric_90"])
def test_intervals_at_a_level_match_lavaan_parameter_estimates(hs, levels_ref, case):
    ref = levels_ref["cases"][case]
    options = dict(estimator=ref["estimator"])
    if ref["grouping"]:
        options.update(group=ref["grouping"], group_equal=ref["group_equal"])
    fit = cx.cfa(levels_ref["model"], hs, level=ref["level"], **options)
    est = fit.estimates
    assert list(est["lhs"]) == ref["lhs"] and list(est["op"]) == ref["op"]
    for col in ("est", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(est[col].to_numpy(), np.asarray(ref[col], dtype=float),
                                   atol=1e-5, rtol=0, err_msg=f"{case} {col}")
    # the same table at the level asked for, without refitting
    other = cx.cfa(levels_ref["model"], hs, **options)
    pd.testing.assert_frame_equal(other.parameter_estimates(level=ref["level"]), est)


def test_intervals_are_est_plus_minus_z_times_se_exactly(hs):
    fit = cx.cfa("visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\nab := a*b", hs)
    assert fit.estimates["op"].iloc[-1] == ":="
    assert fit.level == DEFAULT_LEVEL == 0.95
    for level in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        est = fit.parameter_estimates(level=level)
        z = z_critical(level)
        np.testing.assert_array_equal(est["ci_lower"], est["est"] - z * est["se"])
        np.testing.assert_array_equal(est["ci_upper"], est["est"] + z * est["se"])
        # nothing else depends on the level
        pd.testing.assert_frame_equal(est.drop(columns=["ci_lower", "ci_upper"]),
                                      fit.estimates.drop(columns=["ci_lower", "ci_upper"]))
    pd.testing.assert_frame_equal(fit.parameter_estimates(), fit.estimates)
    np.testing.assert_array_equal(fit.estimates["ci_upper"],
                                  fit.estimates["est"] + z_critical(0.95) * fit.estimates["se"])
    wide, narrow = fit.parameter_estimates(level=0.99), fit.parameter_estimates(level=0.8)
    free = fit.estimates["se"] > 0
    assert (wide.loc[free, "ci_lower"] < narrow.loc[free, "ci_lower"]).all()


def test_level_is_kept_by_refit_shown_by_summary_and_checked(hs):
    fit = cx.sem(HS_MODEL, hs, group="school", level=0.9)
    assert fit.level == 0.9
    metric = fit.refit(group_equal=["loadings"])
    assert metric.level == 0.9
    np.testing.assert_array_equal(metric.estimates["ci_lower"],
                                  metric.parameter_estimates(level=0.9)["ci_lower"])
    assert fit.refit(level=0.99).level == 0.99
    assert dict(fit.summary().header)["Interval level"] == "90%"
    assert inspect.signature(cx.cfa).parameters["level"].kind is inspect.Parameter.KEYWORD_ONLY
    for bad in (95, 0, 1.0, -0.5, "0.95", True, None):
        with pytest.raises(ArgumentError, match="level"):
            cx.cfa(HS_MODEL, hs, level=bad)
        if bad is not None:
            with pytest.raises(ArgumentError, match="level"):
                fit.parameter_estimates(level=bad)


# ------------------------------------------------------------------------------ Survey
INSTRUMENT = Instrument.from_dict({
    "name": "two factors",
    "constructs": {
        "connection": {"scale": {"min": 1, "max": 7},
                       "items": [{"id": f"c{i}", "wording": f"C{i}"} for i in (1, 2, 3)]},
        "satisfaction": {"scale": {"min": 1, "max": 7},
                         "items": [{"id": f"s{i}", "wording": f"S{i}"} for i in (1, 2, 3)]},
    },
})


@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(13)
    n = 600
    group = np.repeat(["a", "b"], n // 2)
    eta = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    items = {}
    for name, k in (("c", 0), ("s", 1)):
        for i, lam in zip((1, 2, 3), (0.9, 0.8, 0.7)):
            raw = 4 + 1.2 * (lam * eta[:, k] + 0.6 * rng.normal(size=n))
            items[f"{name}{i}"] = np.clip(np.round(raw), 1, 7)
    frame = pd.DataFrame({"rid": np.arange(n), "group": group, **items})
    return read_survey(frame, INSTRUMENT, id_column="rid")


def _same_fit(a: Fit, b: Fit) -> None:
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    pd.testing.assert_series_equal(a.fit_measures, b.fit_measures)


def test_cfa_of_a_survey_fits_its_instrument_on_its_data(survey):
    model = INSTRUMENT.model_syntax()
    fit = cx.cfa(survey)
    _same_fit(fit, cx.cfa(model, survey.data))
    assert fit.estimates.query("op == '=~'")["lhs"].unique().tolist() == ["connection",
                                                                          "satisfaction"]
    assert fit.ntotal == len(survey.data)
    _same_fit(cx.sem(survey), cx.sem(model, survey.data))
    _same_fit(cx.cfa(survey, group="group", estimator="MLR", level=0.9),
              cx.cfa(model, survey.data, group="group", estimator="MLR", level=0.9))


def test_a_survey_as_data_stands_for_its_data(survey):
    model = "connection =~ c1 + c2 + c3"
    _same_fit(cx.cfa(model, survey), cx.cfa(model, survey.data))
    _same_fit(cx.sem(model, data=survey), cx.sem(model, survey.data))
    # refits and the bootstrap resample the survey's rows
    fit = cx.cfa(model, survey)
    assert fit.refit(std_lv=True).ntotal == len(survey.data)
    boot = fit.bootstrap(n_boot=20, seed=1, progress=False)
    assert boot.n_failed == 0


def test_survey_and_data_together_is_an_argument_error(survey):
    with pytest.raises(ArgumentError, match=r"cfa\(survey\)"):
        cx.cfa(survey, survey.data)
    with pytest.raises(ArgumentError, match=r"invariance\(survey\)"):
        cx.invariance(survey, survey.data, group="group")
    # anything else that is not model text still gets the engine's own error
    with pytest.raises(ModelSpecificationError):
        cx.cfa(HS_MODEL, data=np.zeros((5, 9)))


def test_argument_checks_are_the_shared_ones(hs):
    """Bad arguments of the engine's functions are ArgumentErrors naming the argument."""
    fit = cx.cfa(HS_MODEL, hs)
    cases = [(lambda: cx.cfa(HS_MODEL, hs, max_iter=0), "max_iter"),
             (lambda: cx.cfa(HS_MODEL, hs, max_iter=2.5), "max_iter"),
             (lambda: fit.residuals("pearson"), "type"),
             (lambda: fit.predict(method="ml"), "method"),
             (lambda: cx.lrt(fit), "two fitted models"),
             (lambda: cx.lrt(fit, fit, names=["a"]), "names"),
             (lambda: cx.invariance(HS_MODEL, hs, group="school", alpha=5), "alpha"),
             (lambda: cx.invariance(HS_MODEL, hs, group="school", max_free=0), "max_free"),
             (lambda: cx.invariance(HS_MODEL, hs, group="school", criterion="cfi"), "criterion"),
             (lambda: cx.invariance(HS_MODEL, hs, group="school", cutoffs="tiny"), "cutoffs"),
             (lambda: cx.invariance(HS_MODEL, hs, group="school", estimator="GLS"), "estimator"),
             (lambda: cx.polychoric(hs[["x1", "x2"]].round(), max_categories=1), "max_categories")]
    for call, name in cases:
        with pytest.raises(ArgumentError, match=name):
            call()


def test_invariance_of_a_survey(survey):
    model = INSTRUMENT.model_syntax()
    options = dict(group="group", levels=("configural", "metric", "scalar"))
    by_frame = cx.invariance(model, survey.data, **options)
    for inv in (cx.invariance(model, survey, **options), cx.invariance(survey, **options)):
        pd.testing.assert_frame_equal(inv.table, by_frame.table)
        assert inv.groups == ["a", "b"]
    with pytest.raises(ArgumentError, match="group"):
        cx.invariance(survey)


# ------------------------------------------------------------------------------ reports
def test_every_engine_result_has_a_report_and_a_main_frame(hs):
    from connection.latent.boot import SemBootstrapResult as boot_class

    assert boot_class is SemBootstrapResult
    fit = cx.cfa(HS_MODEL, hs)
    boot = fit.bootstrap(n_boot=10, seed=2, progress=False)
    inv = cx.invariance(HS_MODEL, hs, group="school", partial=None,
                        levels=("configural", "metric"))
    codes = pd.DataFrame(np.digitize(hs[["x1", "x2", "x3"]], [3, 4.5, 6]), columns=["a", "b", "c"])
    poly = cx.polychoric(codes)
    results = [(fit, Fit, fit.estimates), (boot, SemBootstrapResult, boot.estimates),
               (inv, InvarianceResult, inv.table), (poly, PolychoricResult, poly.pairs)]
    for result, cls, main in results:
        assert isinstance(result, cls)
        assert cls.__name__ == "Fit" or cls.__name__.endswith("Result")
        report = result.summary()
        assert isinstance(report, Report), cls
        assert result._repr_html_() == report.as_html()
        pd.testing.assert_frame_equal(result.to_frame(), main)
    assert fit.to_latex() == fit.summary().as_latex()
    assert inv.to_latex() == inv.summary().as_latex()
    # the Fit's report: header as the issue asks, flags first, fit measures then blocks
    report = fit.summary()
    assert [k for k, _ in report.header][:4] == ["Estimator", "Missing", "Observations",
                                                  "Free parameters"]
    header = dict(report.header)
    assert header["Estimator"] == "ML" and header["Observations"] == 301
    assert header["Admissible"] == "yes"
    fm = report.tables[0].frame.set_index("measure")["value"]
    assert fm["Chi-square"] == pytest.approx(float(fit.fit_measures["chisq"]))
    assert [t.caption for t in report.tables[1:]] == ["Latent variables",
                                                      "Covariances and variances"]
    assert sum(len(t.frame) for t in report.tables[1:]) == len(fit.estimates)


# ------------------------------------------------------------------------------ warnings
def test_engine_warnings_point_at_the_callers_line(hs):
    data = hs.copy()
    data.loc[[0, 5], "x1"] = np.nan
    with pytest.warns(ExclusionWarning, match="2 of 301 rows excluded") as caught:
        cx.cfa(HS_MODEL, data)
    assert caught[0].filename == __file__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cx.invariance(HS_MODEL, data, group="school", partial=None,
                      levels=("configural", "metric"))
    excl = [w for w in caught if issubclass(w.category, ExclusionWarning)]
    assert len(excl) == 1 and excl[0].filename == __file__
    codes = pd.DataFrame(np.digitize(hs[["x1", "x2"]], [3, 4.5, 6]), columns=["a", "b"])
    codes = codes.astype(float)
    codes.loc[3, "a"] = np.nan
    with pytest.warns(ExclusionWarning, match="1 of 301 rows dropped") as caught:
        cx.polychoric(codes, gamma=False)
    assert caught[0].filename == __file__
