"""read_survey and Survey: every format round-trips, every bad input gets its typed error."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import instruments, read_survey
from connection._io import sha256_file
from connection._report import Report
from connection.data._instrument import Instrument
from connection.data._survey import check_survey
from connection.errors import (
    ArgumentError,
    ConnectionPackageError,
    DataError,
    DuplicateIdError,
    EmptyFileError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
    QualtricsExportError,
    UndecodableFileError,
    UnsupportedFormatError,
)

DATA = Path(__file__).parent / "data"
QUALTRICS_CONSTRUCTS = ["connection", "satisfaction", "loyalty"]

INST = Instrument.from_dict({
    "name": "test",
    "defaults": {"missing": [-99]},
    "constructs": {
        "connection": {"scale": {"min": 1, "max": 5, "labels": {1: "Strongly disagree",
                                                                 5: "Strongly agree"}},
                       "items": [{"id": "c1", "wording": "A"}, {"id": "c2", "wording": "B"},
                                 {"id": "c3", "wording": "C", "reverse": True}]},
        "satisfaction": {"scale": {"min": 1, "max": 10},
                         "items": [{"id": "s1", "wording": "S1"}, {"id": "s2", "wording": "S2"}]},
    },
})
ITEMS = ["c1", "c2", "c3", "s1", "s2"]


def make_frame() -> pd.DataFrame:
    """Eight respondents; row 3 has c2 = -99 (no answer), row 6 leaves s2 blank."""
    return pd.DataFrame({
        "rid": [101, 102, 103, 104, 105, 106, 107, 108],
        "group": ["a", "a", "a", "a", "b", "b", "b", "b"],
        "c1": [1, 2, 3, 4, 5, 4, 3, 2],
        "c2": [2, 3, -99, 5, 4, 3, 2, 1],
        "c3": [5, 4, 3, 2, 1, 2, 3, 4],
        "s1": [1, 3, 5, 7, 9, 10, 8, 6],
        "s2": [2, 4, 6, 8, 10, np.nan, 7, 5],
    })


def expected_items(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[ITEMS].astype(float).replace(-99.0, np.nan)
    out["c3"] = 6.0 - out["c3"]
    return out


def read_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return read_survey(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------------
def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "semicolon":
        frame.to_csv(path, index=False, sep=";")
    elif fmt == "parquet":
        frame.to_parquet(path, engine="pyarrow", index=False)
    elif fmt == "sav":
        import pyreadstat

        pyreadstat.write_sav(frame, str(path))
    elif fmt == "dta":
        import pyreadstat

        pyreadstat.write_dta(frame, str(path))
    else:  # pragma: no cover
        raise AssertionError(fmt)


SUFFIX = {"csv": ".csv", "tsv": ".tsv", "semicolon": ".csv", "parquet": ".parquet",
          "sav": ".sav", "dta": ".dta"}


@pytest.mark.parametrize("fmt", list(SUFFIX))
def test_round_trip_every_format(tmp_path, fmt):
    frame = make_frame()
    path = tmp_path / f"responses{SUFFIX[fmt]}"
    _write(frame, path, fmt)
    survey = read_survey(path, INST, id_column="rid", group="group")
    pd.testing.assert_frame_equal(survey.data[ITEMS].reset_index(drop=True),
                                  expected_items(frame), check_dtype=False)
    assert survey.data["rid"].astype(int).tolist() == frame["rid"].tolist()
    assert survey.data["group"].tolist() == frame["group"].tolist()
    assert survey.n == survey.n_read == 8 and len(survey.exclusions) == 0
    assert survey.source == str(path)
    assert survey.format == {"semicolon": "csv"}.get(fmt, fmt)
    # raw is the data as read: the -99 code is still there, c3 is not reversed
    assert survey.raw["c2"].tolist()[2] == -99 and survey.raw["c3"].tolist()[0] == 5
    report = survey.missing_report().set_index("item")
    assert report.loc["c2", ["n_missing", "n_coded", "n_blank"]].tolist() == [1, 1, 0]
    assert report.loc["s2", ["n_missing", "n_coded", "n_blank"]].tolist() == [1, 0, 1]
    assert report.loc["c2", "codes"] == "-99: 1"


def test_round_trip_dataframe_and_input_not_modified():
    frame = make_frame()
    before = frame.copy()
    survey = read_survey(frame, INST, id_column="rid")
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(survey.data[ITEMS], expected_items(frame), check_dtype=False)
    assert survey.format == "dataframe" and survey.source == "<DataFrame>"
    # changing what the survey hands out never changes the survey
    handed = survey.data
    handed.loc[:, "c1"] = 0.0
    assert survey.data["c1"].tolist() == frame["c1"].astype(float).tolist()


def test_parquet_with_nullable_and_categorical_columns(tmp_path):
    frame = make_frame()
    frame["c1"] = pd.Categorical(frame["c1"])
    frame["s2"] = frame["s2"].astype("Int64")
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path, engine="pyarrow")
    survey = read_survey(path, INST)
    pd.testing.assert_frame_equal(survey.data[ITEMS].reset_index(drop=True),
                                  expected_items(make_frame()), check_dtype=False)


def test_dataframe_index_as_id_column():
    frame = make_frame().set_index("rid")
    survey = read_survey(frame, INST, id_column="rid")
    assert survey.data["rid"].tolist() == list(range(101, 109))


@pytest.mark.parametrize("fmt", list(SUFFIX) + ["qualtrics"])
def test_input_files_are_never_modified(tmp_path, fmt):
    if fmt == "qualtrics":
        path = tmp_path / "export.csv"
        path.write_bytes((DATA / "qualtrics_numeric.csv").read_bytes())
        kwargs = {"constructs": QUALTRICS_CONSTRUCTS}
    else:
        path = tmp_path / f"responses{SUFFIX[fmt]}"
        _write(make_frame(), path, fmt)
        kwargs = {"instrument": INST}
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    digest, stat = sha256_file(path), path.stat()
    survey = read_quietly(path, **kwargs)
    assert survey.n > 0
    assert sha256_file(path) == digest
    assert path.stat().st_mtime_ns == stat.st_mtime_ns == 1_600_000_000_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing written beside it


def test_sav_keeps_labels_and_user_missing_codes(tmp_path):
    import pyreadstat

    frame = make_frame()
    frame.loc[1, "c1"] = 9       # declared user-missing in the file, not in the instrument
    frame.loc[4, "s1"] = 98      # inside a declared missing range 97..99
    path = tmp_path / "labelled.sav"
    pyreadstat.write_sav(
        frame, str(path),
        column_labels={"c1": "I feel close to the brand", "s1": "Overall satisfaction"},
        variable_value_labels={"c1": {1.0: "Strongly disagree", 5.0: "Strongly agree",
                                      9.0: "Don't know"}},
        missing_ranges={"c1": [9], "s1": [{"lo": 97, "hi": 99}]})
    survey = read_survey(path, INST, id_column="rid")
    assert survey.labels.variables["c1"] == "I feel close to the brand"
    assert survey.labels.variables["s1"] == "Overall satisfaction"
    assert survey.labels.values["c1"][9] == "Don't know"
    assert survey.labels.missing["c1"] == [9] and survey.labels.missing["s1"] == [(97, 99)]
    assert survey.raw["c1"].tolist()[1] == 9 and survey.raw["s1"].tolist()[4] == 98
    assert np.isnan(survey.data["c1"].iloc[1]) and np.isnan(survey.data["s1"].iloc[4])
    report = survey.missing_report().set_index("item")
    assert report.loc["c1", "codes"] == "9: 1"
    assert report.loc["s1", "codes"] == "97..99: 1"
    assert report.loc["c1", "n_coded"] == 1 and report.loc["s1", "n_coded"] == 1


def test_sav_code_not_declared_is_out_of_range(tmp_path):
    import pyreadstat

    frame = make_frame()
    frame.loc[1, "c1"] = 9
    path = tmp_path / "undeclared.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={"c1": {9.0: "Don't know"}})
    with pytest.raises(OutOfRangeError) as info:
        read_survey(path, INST)
    msg = str(info.value)
    assert "column 'c1'" in msg and "row 2" in msg and "value 9" in msg
    assert "undeclared.sav" in msg and "or a missing-value code (-99)" in msg
    assert "The file labels 9 \"Don't know\"" in msg and "missing codes" in msg


# --------------------------------------------------------------------------------------------
# Qualtrics exports
# --------------------------------------------------------------------------------------------
def test_qualtrics_numeric_export():
    path = DATA / "qualtrics_numeric.csv"
    with pytest.warns(ExclusionWarning, match="3 of 12 responses excluded"):
        survey = read_survey(path, constructs=QUALTRICS_CONSTRUCTS, attention_checks={"attn": 4},
                             group=["segment"])
    assert survey.format == "qualtrics" and survey.id_column == "ResponseId"
    assert survey.n_read == 12 and survey.n == 9
    ex = survey.exclusions
    assert list(ex.columns) == ["row", "id", "reason", "detail"]
    assert ex["row"].tolist() == [3, 11, 12]
    assert ex["id"].tolist() == ["R_fixture03", "R_fixture11", "R_fixture12"]
    assert ex["reason"].tolist() == ["attention_check", "qualtrics_preview", "qualtrics_test"]
    assert ex["detail"].iloc[0] == "attn: answered 2, expected 4"
    assert "R_fixture11" not in survey.data["ResponseId"].tolist()
    # question text (second header row) is kept as variable labels
    assert survey.labels.variables["ec_belong"].endswith("about Acme? - ec_belong")
    # the -98 "not applicable" code and a blank are both missing, counted separately
    report = survey.missing_report().set_index("item")
    assert report.loc["ec_parent", ["n_coded", "n_blank"]].tolist() == [1, 0]
    assert report.loc["sat_ideal", ["n_coded", "n_blank"]].tolist() == [0, 1]
    # values: the file's third data row is excluded; data rows keep file order
    raw = pd.read_csv(path, skiprows=[1, 2], encoding="utf-8-sig")
    kept = raw[~raw["ResponseId"].isin(ex["id"])]
    assert survey.data["ec_belong"].tolist() == kept["ec_belong"].astype(float).tolist()
    assert survey.data["loy_switch"].tolist() == (6 - kept["loy_switch"]).astype(float).tolist()
    header = dict(survey.summary().header)
    assert (header["Rows read"], header["Analysed"]) == (12, 9)
    assert header["Excluded"] == "3 (attention_check 1, qualtrics_preview 1, qualtrics_test 1)"
    assert header["Groups of segment"] == "other 5, social 4"


def test_qualtrics_counts_without_attention_checks():
    survey = read_quietly(DATA / "qualtrics_numeric.csv", constructs=QUALTRICS_CONSTRUCTS)
    assert survey.n == 10
    assert survey.exclusions["reason"].value_counts().to_dict() == {
        "qualtrics_preview": 1, "qualtrics_test": 1}


def test_qualtrics_choice_text_export_is_refused():
    with pytest.raises(QualtricsExportError) as info:
        read_survey(DATA / "qualtrics_choice_text.csv", constructs=QUALTRICS_CONSTRUCTS)
    msg = str(info.value)
    assert "column 'ec_belong'" in msg and "qualtrics_choice_text.csv" in msg
    assert "Use numeric values" in msg and "'Strongly disagree'" in msg
    assert info.value.column == "ec_belong" and info.value.rows[0] == 1
    assert isinstance(info.value, DataError)


def test_qualtrics_unfinished_responses(tmp_path):
    lines = (DATA / "qualtrics_numeric.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    cells = lines[4].split(",")           # data row 2
    cells[4], cells[6] = "60", "0"        # Progress 60, Finished 0
    lines[4] = ",".join(cells)
    path = tmp_path / "partial.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    kept = read_quietly(path, constructs=QUALTRICS_CONSTRUCTS)
    assert kept.n == 10
    survey = read_quietly(path, constructs=QUALTRICS_CONSTRUCTS, exclude_unfinished=True)
    ex = survey.exclusions.set_index("row")
    assert survey.n == 9 and ex.loc[2, "reason"] == "qualtrics_unfinished"
    assert ex.loc[2, "detail"] == "unfinished response (Progress 60)"
    with pytest.raises(ArgumentError, match="Qualtrics exports only"):
        read_survey(make_frame(), INST, exclude_unfinished=True)


def test_format_qualtrics_on_a_plain_csv_is_refused(tmp_path):
    path = tmp_path / "plain.csv"
    make_frame().to_csv(path, index=False)
    with pytest.raises(QualtricsExportError, match="third row does not hold ImportId"):
        read_survey(path, INST, format="qualtrics")


def test_qualtrics_rename_and_utf16(tmp_path):
    text = (DATA / "qualtrics_numeric.csv").read_text(encoding="utf-8-sig")
    text = text.replace("ec_belong,", "Q5_1,", 1)
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("utf-16"))
    survey = read_quietly(path, constructs=QUALTRICS_CONSTRUCTS, rename={"Q5_1": "ec_belong"})
    assert survey.format == "qualtrics" and survey.n == 10
    assert "Q5_1" in survey.raw.columns and "ec_belong" in survey.data.columns


# --------------------------------------------------------------------------------------------
# bad input: one test per error class, asserting type and what the message names
# --------------------------------------------------------------------------------------------
def test_missing_item_columns():
    frame = make_frame().drop(columns=["c2", "s1"])
    with pytest.raises(MissingColumnError) as info:
        read_survey(frame, INST)
    msg = str(info.value)
    assert "2 item column(s)" in msg and "'c2'" in msg and "'s1'" in msg
    assert info.value.column == "c2" and info.value.values == ["c2", "s1"]
    assert "rename=" in msg and "constructs=" in msg
    assert isinstance(info.value, KeyError)


def test_missing_item_column_case_hint():
    frame = make_frame().rename(columns={"c1": "C1"})
    with pytest.raises(MissingColumnError, match="differ only in case: pass rename=\\{'C1': 'c1'\\}"):
        read_survey(frame, INST)


def test_missing_id_group_and_attention_columns():
    frame = make_frame()
    with pytest.raises(MissingColumnError, match="id column not in the data.*'respondent'"):
        read_survey(frame, INST, id_column="respondent")
    with pytest.raises(MissingColumnError, match="group column.*'segment'"):
        read_survey(frame, INST, group=["segment"])
    with pytest.raises(MissingColumnError, match="attention-check column.*'attn'"):
        read_survey(frame, INST, attention_checks={"attn": 3})
    with pytest.raises(MissingColumnError, match="rename names a column.*'Q1'"):
        read_survey(frame, INST, rename={"Q1": "c1"})


def test_non_numeric_values(tmp_path):
    frame = make_frame().astype({"s1": object})
    frame.loc[3, "s1"] = "seven"
    frame.loc[5, "s1"] = "n/a?"
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(NonNumericError) as info:
        read_survey(path, INST)
    msg = str(info.value)
    assert "column 's1'" in msg and "rows 4, 6" in msg and "'seven'" in msg and "'n/a?'" in msg
    assert "text.csv" in msg and "an integer from 1 to 10" in msg
    assert info.value.rows == [4, 6]


def test_non_numeric_labels_get_a_hint():
    frame = make_frame().astype({"c1": object})
    frame.loc[0, "c1"] = "Strongly agree"
    with pytest.raises(NonNumericError, match="look like answer labels"):
        read_survey(frame, INST)


def test_odd_python_objects_in_item_columns():
    from decimal import Decimal

    frame = make_frame().astype({"c1": object, "s1": object})
    frame.loc[0, "c1"] = Decimal("2")
    assert read_survey(frame, INST).data["c1"].iloc[0] == 2.0
    frame.loc[1, "s1"] = 10**400          # beyond float range
    frame.loc[2, "s1"] = pd.Timestamp("2026-01-01")
    with pytest.raises(NonNumericError) as info:
        read_survey(frame, INST)
    assert info.value.column == "s1" and info.value.rows == [2, 3]


def test_survey_pickles():
    import pickle

    survey = read_survey(make_frame(), INST, id_column="rid")
    clone = pickle.loads(pickle.dumps(survey))
    pd.testing.assert_frame_equal(clone.data, survey.data)
    assert clone.instrument == INST and clone.n == survey.n


def test_boolean_column_is_non_numeric():
    frame = make_frame()
    frame["c2"] = [True, False] * 4
    with pytest.raises(NonNumericError) as info:
        read_survey(frame, INST)
    assert info.value.column == "c2" and info.value.rows[:2] == [1, 2]


def test_out_of_range_values():
    frame = make_frame()
    frame.loc[2, "s2"] = 11
    frame.loc[6, "s2"] = 0
    with pytest.raises(OutOfRangeError) as info:
        read_survey(frame, INST)
    msg = str(info.value)
    assert "column 's2'" in msg and "rows 3, 7" in msg and "values 11, 0" in msg
    assert "an integer from 1 to 10, or a missing-value code (-99)" in msg


def test_fractional_value_on_integer_scale():
    frame = make_frame().astype({"c1": float})
    frame.loc[4, "c1"] = 2.5
    with pytest.raises(OutOfRangeError, match="not a whole number") as info:
        read_survey(frame, INST)
    assert info.value.column == "c1" and info.value.rows == [5] and info.value.values == [2.5]


def test_several_problems_are_all_mentioned():
    frame = make_frame()
    frame.loc[0, "c1"] = 8
    frame.loc[1, "s1"] = 12
    with pytest.raises(OutOfRangeError) as info:
        read_survey(frame, INST)
    msg = str(info.value)
    assert "column 'c1'" in msg and "Also: 's1': value outside" in msg


def test_duplicate_respondent_ids():
    frame = make_frame()
    frame.loc[5, "rid"] = 102
    with pytest.raises(DuplicateIdError) as info:
        read_survey(frame, INST, id_column="rid")
    msg = str(info.value)
    assert "column 'rid'" in msg and "rows 2, 6" in msg and "value 102" in msg


def test_missing_respondent_id():
    frame = make_frame().astype({"rid": object})
    frame.loc[3, "rid"] = None
    with pytest.raises(DataError, match="respondent id is missing") as info:
        read_survey(frame, INST, id_column="rid")
    assert info.value.column == "rid" and info.value.rows == [4]


def test_missing_group_label():
    frame = make_frame()
    frame.loc[7, "group"] = None
    with pytest.raises(GroupError, match="group label is missing") as info:
        read_survey(frame, INST, group="group")
    assert info.value.column == "group" and info.value.rows == [8]


def test_item_without_variance():
    frame = make_frame()
    frame["s1"] = 7
    with pytest.raises(NoVarianceError) as info:
        read_survey(frame, INST)
    assert "column 's1'" in str(info.value) and "value 7" in str(info.value)
    assert read_survey(frame, INST, check_variance=False).n == 8


def test_item_without_variance_within_a_group():
    frame = make_frame()
    frame.loc[frame["group"] == "b", "c1"] = 4
    read_survey(frame, INST)  # varies overall
    with pytest.raises(NoVarianceError, match="in group 'b' of 'group'") as info:
        read_survey(frame, INST, group="group")
    assert info.value.column == "c1"


def test_item_with_no_answers():
    frame = make_frame()
    frame["s2"] = -99
    with pytest.raises(NoVarianceError, match="every value is missing") as info:
        read_survey(frame, INST)
    assert info.value.column == "s2"


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"rid,c1,c2,c3,s1,s2\n"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(EmptyFileError) as info:
        read_survey(path, INST)
    assert "empty.csv" in str(info.value)


def test_empty_dataframe_and_empty_sav(tmp_path):
    import pyreadstat

    with pytest.raises(EmptyFileError, match="no rows"):
        read_survey(make_frame().iloc[:0], INST)
    path = tmp_path / "empty.sav"
    pyreadstat.write_sav(make_frame().iloc[:0], str(path))
    with pytest.raises(EmptyFileError, match="no data rows") as info:
        read_survey(path, INST)
    assert "empty.sav" in str(info.value)


def test_everyone_excluded_is_an_empty_result():
    frame = make_frame()
    frame["attn"] = 1
    with pytest.raises(EmptyFileError, match=r"no responses remain after exclusions \(8 attention"):
        read_survey(frame, INST, attention_checks={"attn": 2})


def test_undecodable_text(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("rid,c1,c2,c3,s1,s2,note\n1,1,2,3,4,5,caf\xe9\n".encode("latin-1"))
    with pytest.raises(UndecodableFileError) as info:
        read_survey(path, INST)
    msg = str(info.value)
    assert "latin1.csv" in msg and "line 2" in msg and "encoding=" in msg
    survey = read_survey(path.with_name("latin1.csv"), INST, encoding="latin-1",
                         check_variance=False)
    assert survey.data["note"].tolist() == ["caf\xe9"]


def test_binary_file_with_text_suffix(tmp_path):
    import pyreadstat

    path = tmp_path / "really_sav.csv"
    pyreadstat.write_sav(make_frame(), str(path))
    with pytest.raises(UndecodableFileError, match="binary") as info:
        read_survey(path, INST)
    assert "really_sav.csv" in str(info.value)
    assert read_survey(path, INST, format="sav").n == 8


@pytest.mark.parametrize("suffix", [".sav", ".parquet", ".dta"])
def test_corrupt_binary_files(tmp_path, suffix):
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(b"this is not a real file of that type\n" * 3)
    with pytest.raises(UndecodableFileError) as info:
        read_survey(path, INST)
    assert f"corrupt{suffix}" in str(info.value)


def test_ragged_csv(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("rid,c1,c2,c3,s1,s2\n1,1,2,3,4,5\n2,2,3,4,5,6,7,8\n", encoding="utf-8")
    with pytest.raises(UndecodableFileError, match="cannot parse") as info:
        read_survey(path, INST)
    assert "ragged.csv" in str(info.value)


def test_duplicate_header(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("rid,c1,c2,c3,s1,s2,c1\n1,1,2,3,4,5,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate column name") as info:
        read_survey(path, INST)
    assert info.value.column == "c1"
    frame = pd.DataFrame([[1, 2, 3]], columns=["c1", "c1", "c2"])
    with pytest.raises(DataError, match="duplicate column name"):
        read_survey(frame, INST)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(UnsupportedFormatError, match="not supported") as info:
        read_survey(tmp_path / "responses.xlsx", INST)
    assert "responses.xlsx" in str(info.value) and "'.xlsx'" in str(info.value)
    with pytest.raises(DataError, match="file not found") as info:
        read_survey(tmp_path / "absent.csv", INST)
    assert "absent.csv" in str(info.value)
    with pytest.raises(ArgumentError, match="unknown format"):
        read_survey(tmp_path / "x.csv", INST, format="xls")
    with pytest.raises(ArgumentError, match="file path or a pandas DataFrame"):
        read_survey([1, 2, 3], INST)
    with pytest.raises(ArgumentError, match="must be an Instrument"):
        read_survey(make_frame(), {"connection": ["c1"]})


def test_every_error_is_a_package_error():
    for cls in (MissingColumnError, NonNumericError, OutOfRangeError, DuplicateIdError,
                NoVarianceError, EmptyFileError, UndecodableFileError, UnsupportedFormatError,
                QualtricsExportError):
        assert issubclass(cls, ConnectionPackageError) and issubclass(cls, DataError)


# --------------------------------------------------------------------------------------------
# exclusions
# --------------------------------------------------------------------------------------------
def test_attention_checks_value_list_and_function():
    frame = make_frame()
    frame["attn"] = [4, 4, 2, 4, np.nan, 4, 4, 4]
    frame["attn2"] = ["blue", "blue", "blue", "red", "blue", "Blue", "blue", "blue"]
    survey = read_quietly(frame, INST, id_column="rid",
                          attention_checks={"attn": 4, "attn2": ["blue", "Blue"]})
    ex = survey.exclusions
    assert ex["row"].tolist() == [3, 4, 5]
    assert ex["id"].tolist() == [103, 104, 105]
    assert ex["detail"].tolist() == ["attn: answered 2, expected 4",
                                     "attn2: answered 'red', expected one of 'blue', 'Blue'",
                                     "attn: answered nothing, expected 4"]
    assert survey.n == 5 and 103 not in survey.data["rid"].tolist()
    survey = read_quietly(frame, INST, attention_checks={"attn": lambda s: s.fillna(0) >= 4})
    assert survey.exclusions["row"].tolist() == [3, 5]
    with pytest.raises(ArgumentError, match="one True/False per row"):
        read_survey(frame, INST, attention_checks={"attn": lambda s: [True]})


def test_straightlining():
    frame = make_frame()
    frame.loc[len(frame)] = [109, "b", 3, 3, 3, 6, 6]    # same on every block: excluded
    frame.loc[len(frame)] = [110, "b", 5, 5, 4, 9, 9]    # varies on the 1-5 block: kept
    with pytest.warns(ExclusionWarning, match="1 of 10 responses excluded"):
        survey = read_survey(frame, INST, id_column="rid", straightline=True)
    ex = survey.exclusions
    assert ex["id"].tolist() == [109] and ex["reason"].tolist() == ["straightline"]
    assert ex["detail"].iloc[0] == "same answer throughout: 3 on all 3 1-5 items"
    # the 1-10 block has two items only, so it does not count; the chosen constructs only
    survey = read_survey(frame, INST, id_column="rid", straightline=["satisfaction"])
    assert len(survey.exclusions) == 0
    survey = read_survey(frame, INST, id_column="rid", straightline=False)
    assert survey.n == 10


def test_no_warning_when_asked():
    frame = make_frame()
    frame["attn"] = [1, 2, 2, 2, 2, 2, 2, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        survey = read_survey(frame, INST, attention_checks={"attn": 2}, warn=False)
    assert survey.exclusions["row"].tolist() == [1]


# --------------------------------------------------------------------------------------------
# Survey methods
# --------------------------------------------------------------------------------------------
def test_items_and_scores():
    frame = make_frame()
    survey = read_survey(frame, INST)
    items = expected_items(frame)
    pd.testing.assert_frame_equal(survey.items("connection"), items[["c1", "c2", "c3"]],
                                  check_dtype=False)
    mean = survey.scores("connection")
    assert mean.name == "connection"
    expected = items[["c1", "c2", "c3"]].mean(axis=1).where(items[["c1", "c2", "c3"]].notna().all(axis=1))
    np.testing.assert_allclose(mean.to_numpy(), expected.to_numpy())
    assert np.isnan(mean.iloc[2])  # c2 missing: no silent filling by default
    lenient = survey.scores("connection", min_items=2)
    assert lenient.iloc[2] == pytest.approx((3 + (6 - 3)) / 2)
    total = survey.scores("satisfaction", method="sum")
    assert total.iloc[0] == 3 and np.isnan(total.iloc[5])
    pomp = survey.scores("satisfaction", method="pomp")
    assert pomp.iloc[0] == pytest.approx(100 * ((0 / 9) + (1 / 9)) / 2)
    both = survey.scores()
    assert list(both.columns) == ["connection", "satisfaction"]
    with pytest.raises(ArgumentError, match="unknown scoring method"):
        survey.scores("connection", method="median")
    with pytest.raises(ArgumentError, match="min_items"):
        survey.scores("connection", min_items=4)
    with pytest.raises(ArgumentError, match="whole number"):   # was truncated to 2 silently
        survey.scores("connection", min_items=2.5)
    with pytest.raises(ArgumentError, match="no construct 'loyalty'"):
        survey.scores("loyalty")


def test_mixed_scale_mean_is_refused_but_pomp_works():
    inst = instruments.default().subset(["advocacy", "repurchase"])
    frame = pd.DataFrame({"adv_recommend": [0, 10, 5, 9], "adv_social": [1, 5, 3, 2],
                          "rep_more": [1, 2, 3, 4]})
    survey = read_survey(frame, inst)
    with pytest.raises(ArgumentError, match="different scales.*pomp"):
        survey.scores("advocacy")
    pomp = survey.scores("advocacy", method="pomp")
    np.testing.assert_allclose(pomp.to_numpy(), [0.0, 100.0, 50.0, (90 + 25) / 2])


def test_top_box_percent_agreeing():
    inst = instruments.default().subset(["loyalty", "connection"])
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({c: rng.integers(1, 6, 40) for c in inst.item_ids()})
    frame["seg"] = ["x"] * 20 + ["y"] * 20
    frame.loc[0, "ec_parent"] = -98
    survey = read_survey(frame, inst)
    table = survey.top_box(["connection", "loy_switch"]).set_index("item")
    for col in inst.item_ids("connection"):
        answered = frame[col][frame[col] > 0]
        assert table.loc[col, "n"] == len(answered)
        assert table.loc[col, "percent"] == pytest.approx(100 * (answered >= 4).mean())
    # reverse-keyed item judged as worded: agreeing that one would switch
    assert table.loc["loy_switch", "percent"] == pytest.approx(100 * (frame["loy_switch"] >= 4).mean())
    by = survey.top_box("ec_belong", group="seg")
    assert by["seg"].tolist() == ["x", "y"]
    assert by["percent"].tolist() == pytest.approx(
        [100 * (frame["ec_belong"][:20] >= 4).mean(), 100 * (frame["ec_belong"][20:] >= 4).mean()])
    assert survey.top_box("ec_goals", k=1)["n_top"].iloc[0] == int((frame["ec_goals"] == 5).sum())
    for k in (0, -1, 5, 2.5):   # k=0 counted everyone as top box; -1 counted points 2-5
        with pytest.raises(ArgumentError, match="from 1 to 4"):
            survey.top_box("ec_goals", k=k)
    holes = read_survey(frame.assign(seg=[None] * 3 + ["x"] * 17 + ["y"] * 20), inst)
    with pytest.warns(ExclusionWarning, match="3 of 40 respondents have no value in 'seg'"):
        assert holes.top_box("ec_belong", group="seg")["n"].sum() == 37
    two = survey.top_box("ec_belong", group=["seg", "ec_goals"])
    assert list(two.columns[:2]) == ["seg", "ec_goals"] and two["n"].sum() == 40
    with pytest.raises(ArgumentError, match="not an item or construct"):
        survey.top_box("nope")
    with pytest.raises(MissingColumnError, match="grouping column"):
        survey.top_box("ec_belong", group="segment")


def test_summary_repr_and_html():
    frame = make_frame()
    frame["attn"] = [1, 1, 1, 0, 1, 1, 1, 1]
    survey = read_quietly(frame, INST, attention_checks={"attn": 1}, group="group",
                          id_column="rid")
    report = survey.summary()
    assert isinstance(report, Report)
    header = dict(report.header)
    assert (header["Rows read"], header["Excluded"], header["Analysed"]) == (
        8, "1 (attention_check 1)", 7)
    assert header["Missing answers"] == "2 of 35 (5.7%; blank 1, missing-value codes 1)"
    assert header["Groups of group"] == "a 3, b 4" and header["Id column"] == "rid"
    assert header["Instrument"] == f"{INST.name!r}: {len(INST.constructs)} constructs, 5 items"
    text = str(report)
    assert text.startswith("Survey from '<DataFrame>' (dataframe)\n")
    assert "Rows read:" in text and "Missing answers: 2 of 35 (5.7%" in text
    # the items most often missing: one table, worst first, percent of the analysed
    worst = report.tables[0]
    assert worst.caption == "Most missing answers"
    miss = survey.missing_report()
    expected = miss[miss["n_missing"] > 0].sort_values("pct_missing", ascending=False)
    assert worst.frame["item"].tolist() == expected["item"].tolist()[:5]
    assert worst.frame["pct_missing"].tolist() == pytest.approx(
        expected["pct_missing"].tolist()[:5])
    assert survey._repr_html_() == report.as_html() and "<table>" in survey._repr_html_()
    assert repr(survey) == "<Survey n=7 of 8 read, 5 items, 1 excluded, source='<DataFrame>'>"
    assert len(survey) == 7


def test_default_instrument_is_used_when_none_given():
    inst = instruments.default()
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        c: rng.integers(int(inst.items[c].scale.min), int(inst.items[c].scale.max) + 1, 30)
        for c in inst.item_ids()})
    survey = cx.read_survey(frame)
    assert survey.instrument is inst and survey.n == 30
    assert (survey.data["loy_switch"] == 6 - frame["loy_switch"]).all()


# --------------------------------------------------------------------------------------------
# check_survey: every problem at once
# --------------------------------------------------------------------------------------------
def test_check_survey_lists_every_problem(tmp_path):
    frame = make_frame().drop(columns=["s2"]).astype({"c2": object})
    frame.loc[0, "c1"] = 8
    frame.loc[3, "c2"] = "often"
    frame.loc[5, "rid"] = 101
    frame.loc[6, "group"] = None
    frame["c3"] = 3
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    report = check_survey(path, INST, id_column="rid", group="group",
                          attention_checks={"attn": 1})
    assert list(report.columns) == ["problem", "column", "n_rows", "rows", "values", "message"]
    assert report["problem"].tolist() == [
        "MissingColumnError", "MissingColumnError", "DuplicateIdError", "GroupError",
        "OutOfRangeError", "NonNumericError", "NoVarianceError"]
    assert report["column"].tolist() == ["s2", "attn", "rid", "group", "c1", "c2", "c3"]
    assert report["rows"].tolist()[2:6] == [[1, 6], [7], [1], [4]]
    assert report["values"].tolist()[4:6] == [[8], ["often"]]
    assert all("messy.csv" in m for m in report["message"])
    # read_survey raises the first and names the others
    with pytest.raises(MissingColumnError) as info:
        read_survey(path, INST, id_column="rid", group="group",
                    attention_checks={"attn": 1})
    msg = str(info.value)
    for fragment in ("'attn': attention-check column not in the data",
                     "'c2': item column holds values that are not numbers",
                     "'c3': item has no variance"):
        assert fragment in msg


def test_check_survey_clean_data_and_file_problems(tmp_path):
    assert check_survey(make_frame(), INST, id_column="rid").empty
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    report = check_survey(empty, INST)
    assert report["problem"].tolist() == ["EmptyFileError"]
    assert "empty.csv" in report["message"].iloc[0]
    with pytest.raises(ArgumentError):
        check_survey(make_frame(), INST, straightline=True, attention_checks={"c1": lambda s: 1})
