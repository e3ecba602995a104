"""read_survey as named steps over one read state; its vocabulary (group=) and its warnings.

Each step of ``_read_survey`` (connection/data/_survey.py) is called here on a small state and
its effect checked: the problems it adds, the respondents it excludes, the columns it cleans.
The end-to-end behaviour and messages are the contract of tests/test_data.py.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.data import _survey
from connection.data._instrument import Instrument
from connection.data._survey import _ReadState, check_survey, read_survey
from connection.errors import (
    ArgumentError,
    DataError,
    DuplicateIdError,
    EmptyFileError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    NotFittedError,
    OutOfRangeError,
)

INST = Instrument.from_dict({
    "name": "steps",
    "defaults": {"missing": [-99]},
    "constructs": {
        "trust": {"scale": {"min": 1, "max": 5},
                  "items": [{"id": "t1"}, {"id": "t2"}, {"id": "t3", "reverse": True}]},
    },
})


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "rid": ["a", "b", "c", "d", "e"],
        "seg": ["x", "x", "y", "y", "y"],
        "t1": [1, 2, 3, 4, 5],
        "t2": [2, -99, 4, 5, 1],
        "t3": [5, 4, 3, 1, 2],
        "attn": [1, 1, 0, 1, 1],
    })


def state(data=None, **kwargs) -> _ReadState:
    kwargs.setdefault("id_column", "rid")
    kwargs.setdefault("group", "seg")
    return _survey._load_state(frame() if data is None else data, INST, rename=None, fmt=None,
                               encoding=None, sep=None, **kwargs)


# --------------------------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------------------------
def test_load_state_starts_with_everyone_kept_and_nothing_found():
    s = state(group=["seg"])
    assert (s.n_read, s.fmt, s.file, s.id_column, s.group) == (5, "dataframe", None, "rid",
                                                              ["seg"])
    assert s.keep.tolist() == [True] * 5 and s.rownum.tolist() == [1, 2, 3, 4, 5]
    assert s.problems == [] and s.excluded == {} and s.clean == {}
    # an id given as a DataFrame's index name becomes a column
    s = state(frame().set_index("rid"))
    assert "rid" in s.work.columns and s.work["rid"].tolist() == list("abcde")


def test_exclude_records_the_reason_once_per_respondent():
    s = state()
    s.exclude(np.array([False, True, True, False, False]), "attention_check", "first")
    s.exclude(np.array([False, False, True, True, False]), "straightline",
              lambda pos: f"row {pos + 1}")
    assert s.keep.tolist() == [True, False, False, False, True]
    assert s.excluded == {1: ("attention_check", "first"), 2: ("attention_check", "first"),
                          3: ("straightline", "row 4")}   # the first reason stands


def test_check_columns_reports_each_absent_column_and_drops_it_from_later_steps():
    data = frame().drop(columns=["t2"])
    s = state(data, id_column="id", group=["seg", "wave"])
    _survey._check_columns(s, {"attn": 1, "quiz": 2})
    assert [(p.cls, p.kwargs.get("column")) for p in s.problems] == [
        (MissingColumnError, "t2"), (MissingColumnError, "id"), (MissingColumnError, "wave"),
        (MissingColumnError, "quiz")]
    assert s.problems[0].message == "1 item column(s) of instrument 'steps' are not in the data"
    assert s.missing_items == ["t2"] and s.absent == {"id", "wave", "quiz"}
    assert s.id_column is None and s.group == ["seg"]


def test_check_ids_reports_blank_and_repeated_ids_with_their_rows():
    data = frame().assign(rid=["a", "b", "a", None, " "])
    s = state(data)
    _survey._check_ids(s)
    assert [p.cls for p in s.problems] == [DataError, DuplicateIdError]
    assert s.problems[0].kwargs["rows"] == [4, 5]
    assert s.problems[1].kwargs["rows"] == [1, 3] and s.problems[1].kwargs["values"] == ["a"]
    # excluded respondents are not checked
    s = state(data)
    s.exclude(np.array([False, False, True, True, True]), "attention_check", "x")
    _survey._check_ids(s)
    assert s.problems == [] and s.ids.tolist() == data["rid"].tolist()


def test_check_groups_reports_missing_labels():
    s = state(frame().assign(seg=["x", None, "y", "y", np.nan]))
    _survey._check_groups(s)
    assert len(s.problems) == 1 and s.problems[0].cls is GroupError
    assert s.problems[0].kwargs["rows"] == [2, 5]


def test_check_item_cleans_codes_and_refuses_values_off_the_scale():
    s = state(frame().assign(t3=[5, 4, 7, 1, 2]))
    _survey._check_items(s)
    assert s.clean["t1"].tolist() == [1, 2, 3, 4, 5]
    assert np.isnan(s.clean["t2"][1]) and s.clean["t2"][[0, 2, 3, 4]].tolist() == [2, 4, 5, 1]
    assert "t3" not in s.clean
    assert [(p.cls, p.kwargs["column"], p.kwargs["rows"], p.kwargs["values"])
            for p in s.problems] == [(OutOfRangeError, "t3", [3], [7])]
    assert [r["item"] for r in s.missing_rows] == ["t1", "t2"]
    assert s.missing_rows[1]["_codes"][-99].tolist() == [False, True, False, False, False]


def test_attention_and_straightline_steps_exclude_with_details():
    data = frame().assign(t1=[3, 2, 3, 4, 5], t2=[3, 3, 4, 5, 1], t3=[3, 4, 3, 1, 2])
    s = state(data)
    _survey._check_items(s)
    _survey._exclude_attention(s, {"attn": 1})
    assert s.excluded == {2: ("attention_check", "attn: answered 0, expected 1")}
    _survey._exclude_straightliners(s, True)
    assert s.excluded[0] == ("straightline", "same answer throughout: 3 on all 3 1-5 items")
    assert s.keep.tolist() == [False, True, False, True, True]
    assert _survey._check_someone_left(s) and not s.problems


def test_no_one_left_is_a_problem_naming_the_reasons():
    s = state()
    s.exclude(np.ones(5, bool), "attention_check", "x")
    assert not _survey._check_someone_left(s)
    assert s.problems[0].cls is EmptyFileError
    assert s.problems[0].message == "no responses remain after exclusions (5 attention_check)"


def test_build_survey_reverse_codes_and_tables_the_exclusions():
    s = state()
    _survey._check_ids(s)
    _survey._check_items(s)
    _survey._exclude_attention(s, {"attn": 1})
    survey = _survey._build_survey(s, warn=False)
    assert survey.data["t3"].tolist() == [1.0, 2.0, 5.0, 4.0]           # 6 - x
    assert survey.exclusions[["row", "id", "reason"]].values.tolist() == [
        [3, "c", "attention_check"]]
    assert survey.group == ("seg",) and survey.id_column == "rid" and survey.n_read == 5


def test_exclude_unfinished_outside_qualtrics_is_an_argument_error():
    with pytest.raises(ArgumentError, match="exclude_unfinished applies to Qualtrics exports"):
        _survey._exclude_qualtrics(state(), True)


# --------------------------------------------------------------------------------------------
# the vocabulary: group= (group_columns= works one more release)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [read_survey, check_survey])
def test_signature_is_source_instrument_then_keyword_only(fn):
    params = inspect.signature(fn).parameters
    names = list(params)
    assert names[:2] == ["source", "instrument"] and "group" in names
    assert "group_columns" not in names
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in names[2:])
    assert fn.__renamed_keywords__ == {"group_columns": "group"}


def test_check_survey_takes_what_read_survey_takes():
    read = inspect.signature(read_survey).parameters
    check = inspect.signature(check_survey).parameters
    assert list(read) == list(check)
    assert {n: p.default for n, p in read.items() if n != "warn"} == {
        n: p.default for n, p in check.items() if n != "warn"}
    assert (read["warn"].default, check["warn"].default) == (True, False)


def test_group_and_the_old_group_columns_give_the_same_survey():
    new = read_survey(frame().drop(columns="attn"), INST, id_column="rid", group="seg")
    with pytest.warns(FutureWarning, match=r"group_columns= is renamed group=") as record:
        old = read_survey(frame().drop(columns="attn"), INST, id_column="rid",
                          group_columns="seg")
    assert record[0].filename == __file__
    assert new.group == old.group == ("seg",)
    pd.testing.assert_frame_equal(new.data, old.data)
    with pytest.warns(FutureWarning):
        assert check_survey(frame(), INST, group_columns="seg").empty
    with pytest.raises(ArgumentError, match="got both group_columns="):
        read_survey(frame(), INST, group="seg", group_columns="seg")
    with pytest.warns(FutureWarning, match="Survey.group_columns is renamed Survey.group"):
        assert new.group_columns == ("seg",)


def test_top_box_groups_by_group_and_the_old_by_still_works():
    survey = read_survey(frame(), INST)
    new = survey.top_box("t1", group="seg")
    with pytest.warns(FutureWarning, match="by= is renamed group="):
        old = survey.top_box("t1", by="seg")
    pd.testing.assert_frame_equal(new, old)
    assert new[["seg", "n", "n_top"]].values.tolist() == [["x", 2, 0], ["y", 3, 2]]
    with pytest.raises(TypeError):
        survey.top_box("t1", 2)                 # k is keyword-only
    with pytest.raises(TypeError):
        survey.scores("trust", "sum")           # so is method


# --------------------------------------------------------------------------------------------
# warnings point at the caller's line
# --------------------------------------------------------------------------------------------
def test_exclusion_warning_points_at_the_callers_file():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        survey = read_survey(frame(), INST, attention_checks={"attn": 1})
        cx.read_survey(frame(), INST, attention_checks={"attn": 1})
    assert survey.n == 4
    exclusions = [w for w in record if issubclass(w.category, ExclusionWarning)]
    assert len(exclusions) == 2
    assert {w.filename for w in exclusions} == {__file__}
    assert str(exclusions[0].message) == ("1 of 5 responses excluded (1 attention_check); see "
                                          "survey.exclusions")


def test_check_survey_warning_and_top_box_warning_point_at_the_callers_file():
    with pytest.warns(ExclusionWarning) as record:
        check_survey(frame(), INST, attention_checks={"attn": 1}, warn=True)
    assert record[0].filename == __file__
    survey = read_survey(frame().assign(seg=["x", None, "y", "y", "y"]), INST)
    with pytest.warns(ExclusionWarning, match="1 of 5 respondents have no value") as record:
        survey.top_box("t1", group="seg")
    assert record[0].filename == __file__


def test_not_fitted_error_is_an_argument_and_attribute_error():
    err = NotFittedError("the model has not been fitted", hint="Call fit() first")
    assert isinstance(err, ArgumentError) and isinstance(err, AttributeError)
    assert "NotFittedError" in cx.errors.__all__
    assert "Call fit() first" in str(err)

    class Helper:
        @property
        def loadings(self):
            raise NotFittedError("loadings before fit()")

    assert getattr(Helper(), "loadings", None) is None   # hasattr/getattr see AttributeError
