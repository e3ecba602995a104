"""Issue 13 for the measurement layer: the one vocabulary, Survey input everywhere, results with
a Report and a frame, NotFittedError and get_params/set_params on the index, warnings at the
user's line. The numbers themselves are the reference tests' (test_reliability.py, test_index.py):
these tests only check that the surface does not change them."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import errors, instruments
from connection._common import DEFAULT_LEVEL, KEYWORD_ONLY, RETIRED
from connection._report import Report
from connection.measurement import (
    ConnectionIndex,
    EFAResult,
    ParallelAnalysisResult,
    cronbach_alpha,
    efa,
    fornell_larcker,
    htmt,
    item_statistics,
    parallel_analysis,
    reliability,
)
from connection.measurement import _index as index_module

EC = ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family", "ec_parent",
      "ec_closer", "ec_fitin"]
SAT = ["sat_overall", "sat_expect", "sat_ideal"]
TWO = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}


def _two_factor(n=300, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2)) @ np.array([[1, .3], [0, .95]])
    x = np.repeat(f, 3, axis=1) + rng.normal(scale=.7, size=(n, 6))
    return pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])


def _answers(n=400, seed=1):
    """Connection items (1-5) from one factor, satisfaction (1-10), a differentiation item."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    cols = {}
    for item, lam in zip(EC, (0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.7, 0.6)):
        latent = lam * eta + np.sqrt(1 - lam**2) * rng.normal(size=n)
        cols[item] = np.searchsorted([-1.2, -0.3, 0.5, 1.3], latent) + 1
    sat = 0.4 * eta + np.sqrt(0.84) * rng.normal(size=n)
    for item in SAT:
        x = 0.85 * sat + np.sqrt(1 - 0.85**2) * rng.normal(size=n)
        cols[item] = np.clip(np.round(7.5 + 1.6 * x), 1, 10)
    cols["feat_better"] = np.clip(np.round(3.3 + 0.9 * rng.normal(size=n) + 0.3 * eta), 1, 5)
    return pd.DataFrame(cols).astype(float)


def _small_instrument():
    """The default instrument's connection construct cut to four items, and satisfaction."""
    inst = instruments.default()
    con = inst.constructs["connection"]
    return cx.Instrument("small", [dataclasses.replace(con, items=con.items[:4]),
                                   inst.constructs["satisfaction"]], sources=dict(inst.sources))


@pytest.fixture(scope="module")
def small_survey():
    return cx.read_survey(_answers(), _small_instrument())


# ------------------------------------------------------------------------- 1. the vocabulary

PUBLIC_FUNCTIONS = [reliability, item_statistics, htmt, fornell_larcker, parallel_analysis, efa,
                    cronbach_alpha]


@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS, ids=lambda f: f.__name__)
def test_measurement_functions_take_data_first_and_role_words_keyword_only(fn):
    params = inspect.signature(fn).parameters
    assert list(params)[0] == "data"
    assert not [p for p in params if p in RETIRED]
    for name, p in params.items():
        if name in KEYWORD_ONLY or name in ("recoded", "threshold", "alternative", "rotation",
                                            "method", "n_iter", "quantile", "joint", "absolute"):
            assert p.kind is p.KEYWORD_ONLY, f"{fn.__name__}: {name}"
    if "level" in params:
        assert params["level"].default == DEFAULT_LEVEL
    if "n_boot" in params:   # the bootstrap is an optional extra here: none by default
        assert params["n_boot"].default == 0


def test_index_methods_take_data_first_and_keyword_only_settings():
    init = inspect.signature(ConnectionIndex.__init__).parameters
    assert list(init)[1:3] == ["instrument_or_model", "construct"]
    assert all(p.kind is p.KEYWORD_ONLY for p in list(init.values())[3:])
    for name in ("fit", "transform", "segment", "fit_transform"):
        assert list(inspect.signature(getattr(ConnectionIndex, name)).parameters)[1] == "data"
    load = inspect.signature(ConnectionIndex.from_dict).parameters
    assert not [p for p in load if p.startswith("_")]   # no private stacklevel argument


def test_cronbach_alpha_takes_data_and_the_old_keyword_warns():
    x = np.array([[1, 2, 2], [2, 3, 3], [4, 4, 5], [3, 5, 4.0]])
    with pytest.warns(FutureWarning, match="x= is renamed data="):
        old = cronbach_alpha(x=x)
    assert old == cronbach_alpha(data=x) == cronbach_alpha(x)


@pytest.mark.parametrize("call", [
    lambda d: reliability(d, TWO, level="0.9"),
    lambda d: reliability(d, TWO, level=1.0),
    lambda d: reliability(d, TWO, n_boot=-1),
    lambda d: reliability(d, TWO, n_boot=2.5),
    lambda d: reliability(d, TWO, seed="abc"),       # refused even without a bootstrap
    lambda d: reliability(d, TWO, seed=-3),
    lambda d: htmt(d, TWO, level="high"),
    lambda d: htmt(d, TWO, n_boot=True),
    lambda d: htmt(d, TWO, seed=1.5),
    lambda d: parallel_analysis(d, quantile="0.95"),
    lambda d: parallel_analysis(d, n_iter=2.0),
    lambda d: parallel_analysis(d, seed="x"),
    lambda d: efa(d, 1.5),
], ids=["rel-level-text", "rel-level-1", "rel-nboot-neg", "rel-nboot-float", "rel-seed-text",
        "rel-seed-neg", "htmt-level", "htmt-nboot-bool", "htmt-seed-float", "pa-quantile-text",
        "pa-niter-float", "pa-seed", "efa-nfactors-float"])
def test_bad_level_n_boot_seed_and_counts_are_argument_errors(call):
    with pytest.raises(errors.ArgumentError):
        call(_two_factor())


def _seeded(seed):
    """reliability, HTMT and parallel analysis, each with a fresh ``seed()``."""
    d = _two_factor(200, seed=3)
    rel = reliability(d, TWO, n_boot=60, seed=seed(), progress=False)
    ht = htmt(d, TWO, n_boot=60, seed=seed(), progress=False)
    pa = parallel_analysis(d, n_iter=15, seed=seed())
    return rel, ht, pa


def test_a_generator_seed_works_and_the_same_state_gives_the_same_result():
    rel1, ht1, pa1 = _seeded(lambda: np.random.default_rng(1))
    rel2, ht2, pa2 = _seeded(lambda: np.random.default_rng(1))
    pd.testing.assert_frame_equal(rel1, rel2)
    pd.testing.assert_frame_equal(ht1, ht2)
    pd.testing.assert_frame_equal(pa1.table, pa2.table)
    assert rel1["alpha_boot_ci_lower"].notna().all() and ht1["ci_upper"].notna().all()
    # the generator is consumed, as scikit-learn consumes a RandomState: it moves on
    rng = np.random.default_rng(1)
    first = reliability(_two_factor(200, seed=3), TWO, n_boot=60, seed=rng, progress=False)
    second = reliability(_two_factor(200, seed=3), TWO, n_boot=60, seed=rng, progress=False)
    assert not first["alpha_boot_ci_lower"].equals(second["alpha_boot_ci_lower"])


def test_an_integer_seed_and_its_seed_sequence_give_the_same_numbers():
    by_int = _seeded(lambda: 5)
    by_sequence = _seeded(lambda: np.random.SeedSequence(5))
    pd.testing.assert_frame_equal(by_int[1], by_sequence[1])
    pd.testing.assert_frame_equal(by_int[2].table, by_sequence[2].table)
    # reliability, as before issue 13: an integer gives every construct's bootstrap the same
    # root; one SeedSequence spawns on from construct to construct
    pd.testing.assert_frame_equal(by_int[0].iloc[:1], by_sequence[0].iloc[:1])
    d = _two_factor(200, seed=3)
    one = {"b": TWO["b"]}
    pd.testing.assert_frame_equal(by_int[0].iloc[1:].reset_index(drop=True),
                                  reliability(d, one, n_boot=60, seed=5, progress=False))


def test_efa_gives_the_same_loadings_on_every_call():
    d = _two_factor()
    first = efa(d, 2)   # statsmodels' ML start values came from fresh entropy before
    for _ in range(3):
        pd.testing.assert_frame_equal(efa(d, 2).loadings, first.loadings, check_exact=True)


# ------------------------------------------------------------------------- 2. Survey input

def test_parallel_analysis_and_efa_take_a_survey_and_its_instrument_items(small_survey):
    items = [i for i in small_survey.instrument.item_ids() if i in small_survey.data.columns]
    assert items == EC[:4] + SAT
    pa = parallel_analysis(small_survey, n_iter=20, seed=1)
    direct = parallel_analysis(small_survey.data, items, n_iter=20, seed=1)
    pd.testing.assert_frame_equal(pa.table, direct.table)
    assert pa.table["number"].max() == 7   # feat_better is in the data, not in the instrument
    res = efa(small_survey, 2)
    pd.testing.assert_frame_equal(res.loadings, efa(small_survey.data, 2, items).loadings)
    assert list(res.loadings.index) == items
    sub = efa(small_survey, 1, EC[:4])   # items= chooses among the survey's columns
    assert list(sub.loadings.index) == EC[:4]


def test_reliability_family_takes_a_survey_and_construct_names(small_survey):
    every = reliability(small_survey)
    assert list(every["construct"]) == ["connection", "satisfaction"]
    one = reliability(small_survey, "connection")
    pd.testing.assert_frame_equal(one, every.iloc[:1])
    both = htmt(small_survey, ["connection", "satisfaction"])
    pd.testing.assert_frame_equal(both, htmt(small_survey))
    assert len(item_statistics(small_survey, ["satisfaction"])) == 3
    assert fornell_larcker(small_survey)["construct_a"].tolist() == ["connection"]
    with pytest.raises(errors.ArgumentError, match="no construct 'loyalty'"):
        reliability(small_survey, ["loyalty"])
    with pytest.raises(errors.ArgumentError, match="construct names need a Survey"):
        reliability(small_survey.data, ["connection"])
    with pytest.raises(errors.ArgumentError, match="not a Survey"):
        cronbach_alpha(small_survey)


def test_the_index_fits_transforms_and_segments_a_survey_with_its_instrument(small_survey):
    ci = ConnectionIndex().fit(small_survey)   # leaked AttributeError before
    assert ci.items_ == EC[:4]                 # the survey's instrument, not the default one
    assert ci.model_ == "connection =~ " + " + ".join(EC[:4])
    direct = ConnectionIndex(small_survey.instrument).fit(small_survey.data)
    np.testing.assert_array_equal(ci.weights_, direct.weights_)
    pd.testing.assert_frame_equal(ci.transform(small_survey), direct.transform(small_survey.data))
    pd.testing.assert_frame_equal(ci.fit_transform(small_survey),
                                  direct.transform(small_survey.data))
    full = ConnectionIndex(instruments.default()).fit(_answers())
    survey = cx.read_survey(_answers(), instruments.default(),
                            constructs=["connection", "satisfaction"])
    pd.testing.assert_frame_equal(full.segment(survey), full.segment(survey.data))
    with pytest.raises(errors.ArgumentError, match="DataFrame or a Survey"):
        full.transform(survey.data.to_numpy())


# ------------------------------------------------------------------------- 3. results

def test_parallel_analysis_result_is_the_new_name_and_the_old_one_warns():
    pa = parallel_analysis(_two_factor(), n_iter=10, seed=1)
    assert type(pa) is ParallelAnalysisResult
    assert "ParallelAnalysis" not in cx.measurement.__all__
    assert "ParallelAnalysisResult" in cx.measurement.__all__
    with pytest.warns(FutureWarning, match="renamed ParallelAnalysisResult"):
        old = cx.measurement.ParallelAnalysis
    assert old is ParallelAnalysisResult and isinstance(pa, old)
    assert pickle.loads(pickle.dumps(pa)).n_factors == pa.n_factors


def test_parallel_analysis_and_efa_summaries_are_reports_with_frames():
    d = _two_factor()
    pa = parallel_analysis(d, n_iter=20, seed=1)
    report = pa.summary()
    assert isinstance(report, Report)
    assert ("Suggested factors", 2) in report.header and ("Suggested components", 2) in report.header
    pd.testing.assert_frame_equal(report.tables[0].frame, pa.table)
    assert pa._repr_html_() == report.as_html() and repr(pa) == report.as_text()
    pd.testing.assert_frame_equal(pa.to_frame(), pa.table)
    assert pa.to_frame() is not pa.table
    res = efa(d, 2)
    assert isinstance(res, EFAResult)
    report = res.summary()
    assert isinstance(report, Report) and report.title == "EFA (ML, oblimin rotation)"
    pd.testing.assert_frame_equal(report.tables[0].frame,
                                  res.loadings.assign(communality=res.communalities))
    pd.testing.assert_frame_equal(report.tables[1].frame, res.factor_correlations)
    assert res._repr_html_() == report.as_html() and report.as_latex().startswith("\\begin")
    assert len(res.to_frame()) == 12


# ------------------------------------------------------------------------- 4. the index

FITTED_ATTRIBUTES = ["items_", "weights_", "means_", "item_min_", "item_max_", "score_min_",
                     "score_max_", "score_mean_", "score_sd_", "loadings_", "fit_measures_",
                     "n_calibration_", "model_", "fit_", "flags_", "rule_", "admissible_"]


@pytest.mark.parametrize("name", FITTED_ATTRIBUTES)
def test_a_fitted_attribute_before_fit_is_a_not_fitted_error(name):
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5))
    with pytest.raises(index_module.NotFittedError, match="not fitted") as info:
        getattr(ci, name)
    assert isinstance(info.value, errors.ArgumentError) and isinstance(info.value, AttributeError)
    assert not hasattr(ci, name)


@pytest.mark.parametrize("call", [
    lambda ci, d, p: ci.transform(d), lambda ci, d, p: ci.segment(d),
    lambda ci, d, p: ci.weights_frame(), lambda ci, d, p: ci.to_frame(),
    lambda ci, d, p: ci.save(p / "i.json"), lambda ci, d, p: ci.to_dict(),
    lambda ci, d, p: ci.summary(),
], ids=["transform", "segment", "weights_frame", "to_frame", "save", "to_dict", "summary"])
def test_a_fitted_method_before_fit_is_a_not_fitted_error(call, tmp_path):
    with pytest.raises(index_module.NotFittedError, match="not fitted yet"):
        call(ConnectionIndex({"connection": EC}, item_range=(1, 5)), _answers(50), tmp_path)
    assert not (tmp_path / "i.json").exists()


def test_other_missing_attributes_stay_plain_attribute_errors(tmp_path):
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5))
    with pytest.raises(AttributeError) as info:
        _ = ci.no_such_thing
    assert not isinstance(info.value, errors.ArgumentError)
    fitted = ConnectionIndex({"connection": EC}, item_range=(1, 5)).fit(_answers())
    loaded = ConnectionIndex.load(fitted.save(tmp_path / "i.json"))
    with pytest.raises(AttributeError, match="fit_ is not saved"):
        _ = loaded.fit_
    # copies and pickles work (no recursion in __getattr__); a fitted index holds the engine's
    # Fit (fit_), which does not pickle, so only the loaded one goes through pickle
    for clone in (copy.deepcopy(ci), copy.deepcopy(fitted), copy.deepcopy(loaded),
                  pickle.loads(pickle.dumps(ci)), pickle.loads(pickle.dumps(loaded))):
        assert repr(clone) in (repr(ci), repr(fitted))
    assert pickle.loads(pickle.dumps(loaded)).get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(copy.deepcopy(fitted).transform(_answers(30)),
                                  fitted.transform(_answers(30)))


@pytest.mark.parametrize("source", ["instrument", "dict", "model", "survey"])
def test_get_params_round_trips_and_a_loaded_index_reports_the_saved_ones(source, tmp_path,
                                                                           small_survey):
    data = _answers()
    if source == "instrument":
        ci = ConnectionIndex(instruments.default(), method="bartlett")
    elif source == "dict":
        ci = ConnectionIndex({"connection": EC}, item_range={i: (1, 5) for i in EC})
    elif source == "model":
        ci = ConnectionIndex("connection =~ " + " + ".join(EC), scaling="zscore", segments=None)
    else:
        ci, data = ConnectionIndex(), small_survey
    ci.fit(data)
    params = ci.get_params()
    assert set(params) == set(inspect.signature(ConnectionIndex.__init__).parameters) - {"self"}
    assert json.loads(json.dumps(params)) == params            # JSON as it is
    again = ConnectionIndex(**params)
    assert again.get_params() == params
    frame = data.data if source == "survey" else data
    pd.testing.assert_frame_equal(again.fit(frame).transform(frame), ci.transform(data))
    loaded = ConnectionIndex.load(ci.save(tmp_path / "index.json"))
    assert loaded.get_params() == params
    pd.testing.assert_frame_equal(loaded.transform(data), ci.transform(data))


def test_get_params_writes_out_what_the_instrument_gives():
    params = ConnectionIndex(instruments.default()).get_params()
    assert params["instrument_or_model"] == "connection =~ " + " + ".join(EC)
    assert params["item_range"] == {i: [1.0, 5.0] for i in EC}
    assert params["segments"] == cx.SegmentRule.for_instrument(instruments.default()).to_dict()
    # an instrument that cannot give the default rule: the index scores without segments
    assert ConnectionIndex(_small_instrument()).get_params()["segments"] is None


def test_set_params_changes_the_arguments_and_refuses_unknown_ones():
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5))
    assert ci.set_params(method="bartlett", segments=None) is ci
    assert ci.method == "bartlett" and ci.get_params()["segments"] is None
    with pytest.raises(errors.ArgumentError, match="no such parameter") as info:
        ci.set_params(n_boot=10)
    assert "instrument_or_model" in str(info.value)


# ------------------------------------------------------------------------- 5. warnings

def _only(caught, category, text):
    found = [w for w in caught if issubclass(w.category, category) and text in str(w.message)]
    assert found, [str(w.message) for w in caught]
    return found


def test_measurement_warnings_point_at_the_callers_line(tmp_path):
    d = _two_factor()
    d.loc[[3, 7], "a2"] = np.nan
    d["label"] = "x"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reliability(d, TWO)
        reliability(d, TWO, joint=True)
        fornell_larcker(d, TWO)        # its warning came from two calls down, before
        parallel_analysis(d, n_iter=5, seed=1)
    for w in _only(caught, errors.ExclusionWarning, "left out"):
        assert w.filename == __file__, (str(w.message), w.filename)
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None)
    wave = _answers()
    wave.loc[5, "ec_goals"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ci.fit_transform(wave)          # pointed into the package before
        ci.transform(wave)
    for w in _only(caught, errors.ExclusionWarning, "get no score"):
        assert w.filename == __file__
