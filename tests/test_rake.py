"""Issue 15, step 1: raking (connection.stats.rake) against R's survey::rake and trimWeights."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection._report import Report
from connection.data import Instrument, read_survey
from connection.errors import (
    ArgumentError,
    ConvergenceWarning,
    DataError,
    MissingColumnError,
    OutOfRangeError,
)
from connection.stats import RakeResult, rake
from connection.stats._weights import UNSET

REFS = json.loads((Path(__file__).parent / "references" / "weights" /
                   "rake_references.json").read_text())
CASES = [k for k, v in REFS.items() if isinstance(v, dict)]


def _case(name):
    ref = REFS[name]
    data = pd.DataFrame(ref["data"])
    margins = {}
    for var, margin in ref["margins"].items():   # JSON keys are text: numeric codes back
        numeric = pd.api.types.is_numeric_dtype(data[var])
        margins[var] = {(int(k) if numeric else k): v for k, v in margin.items()}
    return ref, data, margins


@pytest.mark.parametrize("name", CASES)
def test_raked_weights_equal_survey_rake(name):
    ref, data, margins = _case(name)
    trim = tuple(ref["trim"]) if ref["trim"] else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = rake(data, margins, base_weights=ref["base_weights"], max_iter=ref["maxit"],
                      tol=ref["tol"], trim=trim)
    expected = np.array(ref["weights"])
    np.testing.assert_allclose(result.weights.to_numpy(), expected, rtol=1e-10, atol=1e-8)
    assert result.converged == ref["converged"]
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught) == (
        not ref["converged"])
    w = expected
    assert result.design_effect == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-9)
    assert result.n_eff == pytest.approx(w.sum() ** 2 / (w ** 2).sum(), rel=1e-9)
    if result.proportions:
        assert result.weights.sum() == pytest.approx(len(data), rel=1e-12)
    if trim is not None:
        assert result.weights.min() >= trim[0] - 1e-12 and result.weights.max() <= trim[1] + 1e-12
        assert result.n_trimmed > 0
    elif ref["converged"]:
        np.testing.assert_allclose(result.margins["achieved"], result.margins["target"],
                                   rtol=1e-9)


def test_not_converging_is_a_flag_a_warning_and_in_the_summary():
    ref, data, margins = _case("simulated_maxit2")
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 sweeps"):
        result = rake(data, margins, max_iter=2, tol=1e-13)
    assert not result.converged and result.iterations == 2
    assert [f.code for f in result.flags] == ["not_converged"]
    report = result.summary()
    assert isinstance(report, Report) and "NOT ADMISSIBLE" in str(report)
    assert dict(report.header)["Converged"].startswith("NO")


def test_margins_equal_to_the_sample_margins_give_weights_of_one():
    rng = np.random.default_rng(15)
    n = 500
    data = pd.DataFrame({"gender": rng.integers(1, 3, n),
                         "region": rng.choice(["n", "s", "e", "w"], n, p=[.4, .3, .2, .1]),
                         "age": rng.integers(1, 6, n)})
    counts = {v: data[v].value_counts().to_dict() for v in data}
    result = rake(data, counts)
    np.testing.assert_allclose(result.weights.to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert result.converged and result.iterations == 1 and not result.proportions
    assert result.design_effect == pytest.approx(1.0, abs=1e-12)
    shares = {v: (data[v].value_counts() / n).to_dict() for v in data}
    result = rake(data, shares)
    np.testing.assert_allclose(result.weights.to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert result.proportions and result.n_eff == pytest.approx(n, abs=1e-9)


def test_result_frame_summary_and_pickling():
    _, data, margins = _case("simulated")
    result = rake(data, margins)
    assert isinstance(result, RakeResult)
    frame = result.to_frame()
    assert list(frame.columns) == ["variable", "category", "n", "sample_share", "target",
                                   "target_share", "achieved", "achieved_share", "difference"]
    assert frame["n"].groupby(frame["variable"]).sum().tolist() == [len(data)] * 3
    np.testing.assert_allclose(frame["target_share"],
                               [s for m in margins.values() for s in m.values()])
    assert result.weights.index.equals(data.index) and result.weights.name == "weight"
    assert (result.base_weights == 1).all()
    text = str(result.summary())
    assert "Design effect (Kish)" in text and "Margins: target and achieved" in text
    back = pickle.loads(pickle.dumps(result))
    assert back.weights.equals(result.weights)
    assert pickle.loads(pickle.dumps(UNSET)) is UNSET


def test_a_survey_brings_its_weights_as_base_weights_unless_switched_off():
    spec = {"name": "w", "constructs": {"c": {"scale": {"min": 1, "max": 5},
                                              "items": [{"id": "c1"}, {"id": "c2"}]}},
            "variables": {"w": {"type": "numeric", "role": "weight", "missing": []}},
            "weights": "w"}
    _, sim, margins = _case("simulated")
    rng = np.random.default_rng(1)
    data = sim.assign(c1=rng.integers(1, 6, len(sim)), c2=rng.integers(1, 6, len(sim)),
                      w=rng.uniform(0.5, 2, len(sim)))
    survey = read_survey(data, Instrument.from_dict(spec))
    from_survey = rake(survey, margins)
    assert np.allclose(from_survey.base_weights, data["w"])
    explicit = rake(data, margins, base_weights="w")
    np.testing.assert_array_equal(from_survey.weights.to_numpy(), explicit.weights.to_numpy())
    unweighted = rake(survey, margins, base_weights=None)
    np.testing.assert_array_equal(unweighted.weights.to_numpy(),
                                  rake(data, margins).weights.to_numpy())
    assert not np.allclose(unweighted.weights, from_survey.weights)


def _small():
    return pd.DataFrame({"gender": [1, 2, 2, 1, 2, 1], "region": ["n", "s", "s", "n", "n", "s"],
                         "w": [1.0, 2.0, 1.0, 1.0, 0.5, 1.0]})


@pytest.mark.parametrize("margins,cls,fragment,check", [
    ({"gender": {1: .5, 2: .3, 3: .2}}, ArgumentError, "categories no respondent is in",
     lambda e: e.values == [3]),
    ({"gender": {1: .5, 2: .5}, "region": {"n": .5}}, ArgumentError,
     "do not sum to the same total", lambda e: "region: 0.5" in str(e)),
    ({"gender": {1: 1.0}, "region": {"n": .5, "s": .5}}, DataError,
     "categories its margin does not list", lambda e: e.column == "gender" and e.rows == [2, 3, 5]
     and e.values == [2]),
    ({"gender": {1: 300, 2: 300}, "region": {"n": 300, "s": 301}}, ArgumentError,
     "do not sum to the same total", None),
    ({"gender": {1: .49, 2: .5}, "region": {"n": .5, "s": .5}}, ArgumentError,
     "do not sum to the same total", lambda e: "fix the rounding" in str(e)),
    ({"age": {1: 1.0}}, MissingColumnError, "not in the data", lambda e: e.column == "age"),
    ({"gender": {1: -1, 2: 2}}, ArgumentError, "finite number >= 0", None),
    ({"gender": {1: 1.0, 2: 0.0}}, ArgumentError, "target of 0", lambda e: e.values == [2]),
    ({}, ArgumentError, "margins must be a table", None),
    ({"gender": [0.5, 0.5]}, ArgumentError, "must be a table {category", None),
])
def test_bad_margins_are_typed_errors(margins, cls, fragment, check):
    with pytest.raises(cls) as info:
        rake(_small(), margins)
    assert fragment in str(info.value)
    if check is not None:
        assert check(info.value), str(info.value)


def test_missing_values_in_a_raking_variable_are_named():
    data = _small()
    data.loc[[1, 4], "region"] = None
    with pytest.raises(DataError) as info:
        rake(data, {"region": {"n": .5, "s": .5}})
    assert "missing values" in str(info.value) and info.value.rows == [2, 5]


@pytest.mark.parametrize("kwargs,cls,fragment", [
    ({"base_weights": [1, 1, 0, 1, 1, 1]}, OutOfRangeError, "finite numbers above 0"),
    ({"base_weights": [1, 1, np.nan, 1, 1, 1]}, DataError, "are missing"),
    ({"base_weights": [1, 1, 1]}, ArgumentError, "one weight per row"),
    ({"base_weights": "wt"}, MissingColumnError, "not in the data"),
    ({"max_iter": 0}, ArgumentError, "max_iter"),
    ({"tol": 0.0}, ArgumentError, "tol"),
    ({"trim": (2.0, 1.0)}, ArgumentError, "lower bound is not below"),
    ({"trim": (None, 0.5)}, ArgumentError, "no weights within the trim bounds"),
    ({"trim": 3.0}, ArgumentError, "pair (lower, upper)"),
])
def test_bad_arguments_are_typed_errors(kwargs, cls, fragment):
    with pytest.raises(cls, match=None) as info:
        rake(_small(), {"gender": {1: .5, 2: .5}}, **kwargs)
    assert fragment in str(info.value)


def test_base_weights_scale_the_start_and_trimming_keeps_the_total():
    _, data, margins = _case("simulated")
    base = np.linspace(0.5, 1.5, len(data))
    result = rake(data, margins, base_weights=base)
    assert result.converged
    np.testing.assert_allclose(result.margins["achieved"], result.margins["target"], rtol=1e-9)
    trimmed = rake(data, margins, base_weights=base, trim=(0.6, None))
    assert trimmed.weights.min() >= 0.6 - 1e-12
    assert trimmed.weights.sum() == pytest.approx(result.weights.sum(), rel=1e-12)
    assert (trimmed.margins["difference"].abs() > 1e-6).any()   # reported, not hidden
    assert "Trimmed" in dict(trimmed.summary().header)
