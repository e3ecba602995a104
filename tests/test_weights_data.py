"""Issue 15, step 1: the codebook names the survey weight; read_survey checks it; Survey carries it."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from connection.data import Instrument, check_survey, read_survey
from connection.errors import DataError, InstrumentError, MissingColumnError, OutOfRangeError

SPEC = {
    "name": "weighted",
    "defaults": {"missing": [-99]},
    "constructs": {"connection": {"scale": {"min": 1, "max": 5},
                                  "items": [{"id": "c1"}, {"id": "c2"}, {"id": "c3"}]}},
    "variables": {
        "design_w": {"type": "numeric", "role": "weight", "missing": []},
        "w": {"type": "numeric", "role": "weight", "missing": [-1]},
        "gender": {"type": "categorical", "values": [1, 2]},
    },
    "weights": "w",
}


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "rid": [1, 2, 3, 4, 5, 6],
        "c1": [1, 2, 3, 4, 5, 4], "c2": [2, 3, 1, 5, 4, 3], "c3": [5, 4, 3, 2, 1, 2],
        "gender": [1, 2, 2, 1, 2, 1],
        "design_w": [1.0, 0.0, 2.0, 1.0, 1.0, 1.0],     # a zero is fine: not the survey weight
        "w": [0.5, 1.5, 1.0, 2.0, 0.75, 1.25],
    })


def test_the_codebook_names_the_survey_weight_and_the_survey_carries_it(tmp_path):
    inst = Instrument.from_dict(SPEC)
    assert inst.weights == "w"
    survey = read_survey(frame(), inst, id_column="rid")
    w = survey.weights
    assert isinstance(w, pd.Series) and w.name == "w" and w.dtype == float
    assert w.index.equals(survey.data.index)
    assert w.tolist() == [0.5, 1.5, 1.0, 2.0, 0.75, 1.25]
    header = dict(survey.summary().header)
    assert header["Survey weight"].startswith("w (sum 7;")
    # a codebook without weights: gives an unweighted survey
    plain = Instrument.from_dict({k: v for k, v in SPEC.items() if k != "weights"})
    assert plain.weights is None and read_survey(frame(), plain).weights is None
    # files: YAML and TOML round trips keep the name; pickling and subset keep it
    for suffix in (".yaml", ".toml"):
        path = inst.to_file(tmp_path / f"book{suffix}")
        assert "weights" in path.read_text()
        back = Instrument.from_file(path)
        assert back == inst and back.weights == "w"
    assert pickle.loads(pickle.dumps(inst)).weights == "w"
    assert inst.subset("connection").weights == "w"
    assert inst != plain
    assert dict(inst.summary().header)["Survey weight"] == "w"


def test_survey_weights_survive_exclusions_and_follow_the_data():
    data = frame()
    data["attn"] = [1, 1, 0, 1, 1, 1]
    survey = read_survey(data, Instrument.from_dict(SPEC), attention_checks={"attn": 1},
                         warn=False)
    assert survey.weights.tolist() == [0.5, 1.5, 2.0, 0.75, 1.25]
    assert survey.weights.index.equals(survey.data.index)


@pytest.mark.parametrize("values,cls,fragment,rows,shown", [
    ([0.5, 0.0, 1.0, 2.0, 0.75, 1.25], OutOfRangeError, "not a finite number above 0", [2], [0]),
    ([0.5, 1.5, 1.0, np.inf, 0.75, 1.25], OutOfRangeError, "not valid for numeric", [4],
     [np.inf]),
    ([0.5, np.nan, 1.0, 2.0, np.nan, 1.25], DataError, "survey weight is missing", [2, 5], None),
    ([0.5, -1, 1.0, 2.0, 0.75, 1.25], DataError, "survey weight is missing", [2], None),  # code
    ([0.5, -3.0, 1.0, 2.0, 0.75, 1.25], OutOfRangeError, "not valid for numeric", [2], [-3.0]),
    ([0.5, "heavy", 1.0, 2.0, 0.75, 1.25], DataError, "not numbers", [2], ["heavy"]),
])
def test_bad_survey_weights_are_typed_errors_naming_rows_and_values(values, cls, fragment, rows,
                                                                   shown):
    data = frame()
    data["w"] = pd.Series(values, dtype=object if "heavy" in values else float)
    with pytest.raises(cls) as info:
        read_survey(data, Instrument.from_dict(SPEC))
    err = info.value
    assert fragment in str(err) and err.column == "w" and err.rows == rows
    if shown is not None:
        assert err.values == shown
    table = check_survey(data, Instrument.from_dict(SPEC))
    assert table["column"].tolist() == ["w"]          # reported once, not twice


def test_a_weight_of_an_excluded_respondent_is_not_checked():
    data = frame()
    data["attn"] = [1, 0, 1, 1, 1, 1]
    data["w"] = [0.5, np.nan, 1.0, 2.0, 0.75, 1.25]
    survey = read_survey(data, Instrument.from_dict(SPEC), attention_checks={"attn": 1},
                         warn=False)
    assert survey.weights.tolist() == [0.5, 1.0, 2.0, 0.75, 1.25]


def test_a_survey_weight_column_absent_from_the_data_is_named():
    data = frame().rename(columns={"w": "weight"})
    with pytest.raises(MissingColumnError) as info:
        read_survey(data, Instrument.from_dict(SPEC))
    assert info.value.column == "w" and "weights:" in str(info.value)


@pytest.mark.parametrize("weights,fragment", [
    ("wt", "not declared under variables"),
    ("gender", "whose role is not weight"),
    (3, "weights must name a variable"),
])
def test_a_codebook_weight_that_is_not_a_declared_weight_is_an_instrument_error(weights, fragment):
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict({**SPEC, "weights": weights}, source="book.yaml")
    assert fragment in str(info.value) and "book.yaml" in str(info.value)
