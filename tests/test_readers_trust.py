"""Issue 11, readers and codebooks: no silent wrong values from files, ids or codebooks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connection import read_survey
from connection.data._instrument import Instrument, Item, Scale
from connection.data._survey import check_survey
from connection.errors import (
    ConfigError,
    DataError,
    DuplicateIdError,
    ExclusionWarning,
    InstrumentError,
    ModelSyntaxError,
    OutOfRangeError,
)

INST = Instrument.from_dict({
    "name": "trust",
    "defaults": {"missing": [-99]},
    "constructs": {
        "connection": {"scale": {"min": 1, "max": 5},
                       "items": [{"id": "c1", "wording": "A"}, {"id": "c2", "wording": "B"},
                                 {"id": "c3", "wording": "C", "reverse": True}]},
        "satisfaction": {"scale": {"min": 1, "max": 10},
                         "items": [{"id": "s1", "wording": "S1"}, {"id": "s2", "wording": "S2"}]},
    },
})
ITEMS = ["c1", "c2", "c3", "s1", "s2"]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "rid": ["001", "002", "003", "004", "005", "006"],
        "c1": [1, 2, 3, 4, 5, 4], "c2": [2, 3, 1, 5, 4, 3], "c3": [5, 4, 3, 2, 1, 2],
        "s1": [1, 3, 5, 7, 9, 10], "s2": [2, 4, 6, 8, 10, 7],
    })


def csv_text(sep: str = ",") -> str:
    return frame().to_csv(index=False, sep=sep)


# --------------------------------------------------------------------------------------------
# rows with more or fewer fields than the header
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sep,suffix", [(",", ".csv"), ("\t", ".tsv")])
def test_trailing_separator_on_every_row_is_refused_not_shifted(tmp_path, sep, suffix):
    lines = csv_text(sep).splitlines()
    path = tmp_path / f"trailing{suffix}"
    path.write_text("\n".join([lines[0]] + [line + sep for line in lines[1:]]) + "\n")
    with pytest.raises(DataError) as info:   # pandas shifted every column left before
        read_survey(path, INST, id_column="rid")
    err = info.value
    assert err.file == str(path) and err.rows == [1, 2, 3, 4, 5, 6]
    msg = str(err)
    assert "6 of 6 data rows have more fields than the header's 6" in msg
    assert "extra fields are empty" in msg and "separator at the end" in msg
    table = check_survey(path, INST, id_column="rid")
    assert len(table) == 1 and table["problem"].iloc[0] == "UndecodableFileError"
    assert table["rows"].iloc[0] == [1, 2, 3, 4, 5, 6]


def test_trailing_separator_on_one_row_is_refused(tmp_path):
    lines = csv_text().splitlines()
    lines[3] += ","
    path = tmp_path / "one.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        read_survey(path, INST)
    assert info.value.rows == [3] and "file lines 4" in str(info.value)
    assert check_survey(path, INST)["rows"].tolist() == [[3]]


def test_truncated_rows_are_an_error_not_blanks(tmp_path):
    text = csv_text()
    path = tmp_path / "cut.csv"
    path.write_text(text[: text.rindex(",")] + "\n")      # last row loses its last field
    with pytest.raises(DataError) as info:   # read as a blank s2 before
        read_survey(path, INST)
    assert info.value.rows == [6] and "fewer fields than the header's 6" in str(info.value)
    lines = csv_text().splitlines()
    lines[2] = lines[2].rsplit(",", 2)[0]
    path.write_text("\n".join(lines) + "\n")
    table = check_survey(path, INST)
    assert table["rows"].tolist() == [[2]] and "truncated" in table["message"].iloc[0]


def test_blank_lines_are_still_skipped(tmp_path):
    path = tmp_path / "blank.csv"
    lines = csv_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], "", "   ", *lines[2:], "", ""]) + "\n")
    survey = read_survey(path, INST, id_column="rid")
    assert survey.n == 6
    assert survey.raw["c1"].tolist() == frame()["c1"].tolist()


# --------------------------------------------------------------------------------------------
# respondent ids
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sep,suffix", [(",", ".csv"), ("\t", ".tsv")])
def test_ids_stay_text_as_written(tmp_path, sep, suffix):
    path = tmp_path / f"ids{suffix}"
    path.write_text(csv_text(sep))
    survey = read_survey(path, INST, id_column="rid")
    assert survey.data["rid"].tolist() == ["001", "002", "003", "004", "005", "006"]


def test_ids_one_and_one_point_zero_are_distinct(tmp_path):
    data = frame()
    data["rid"] = ["1", "1.0", "01", "2", "2.0", "3"]
    path = tmp_path / "ids.csv"
    data.to_csv(path, index=False)
    survey = read_survey(path, INST, id_column="rid")   # DuplicateIdError before
    assert survey.data["rid"].tolist() == ["1", "1.0", "01", "2", "2.0", "3"]
    # a real repeat is still caught, with the ids as written
    data["rid"] = ["001", "002", "001", "004", "005", "006"]
    data.to_csv(path, index=False)
    with pytest.raises(DuplicateIdError) as info:
        read_survey(path, INST, id_column="rid")
    assert info.value.values == ["001"] and info.value.rows == [1, 3]


def test_renamed_id_column_is_text_too(tmp_path):
    data = frame().rename(columns={"rid": "Respondent"})
    path = tmp_path / "ids.csv"
    data.to_csv(path, index=False)
    survey = read_survey(path, INST, id_column="rid", rename={"Respondent": "rid"})
    assert survey.data["rid"].tolist()[:2] == ["001", "002"]


def test_qualtrics_response_ids_are_text(tmp_path):
    data = frame().rename(columns={"rid": "ResponseId"})
    data["ResponseId"] = ["0012", "0013", "1e3", "1000", "1.0", "7"]
    header = ",".join(data.columns)
    question = ",".join(f"Question {c}" for c in data.columns)
    tags = ",".join('"{""ImportId"":""' + c + '""}"' for c in data.columns)
    path = tmp_path / "export.csv"
    path.write_text("\n".join([header, question, tags, *data.to_csv(index=False,
                                                                       header=False).splitlines()]))
    survey = read_survey(path, INST)
    assert survey.format == "qualtrics" and survey.id_column == "ResponseId"
    assert survey.data["ResponseId"].tolist() == ["0012", "0013", "1e3", "1000", "1.0", "7"]


def test_float_ids_beyond_exact_integers_are_refused():
    data = frame()
    data["rid"] = [2.0 ** 53 + 2 * k for k in range(6)]   # 2**53 + 1 would round to 2**53
    with pytest.raises(DataError, match="too large to be exact") as info:
        read_survey(data, INST, id_column="rid")
    assert info.value.column == "rid"


def test_mixed_number_ids_that_are_equal_say_so():
    data = frame()
    data["rid"] = pd.Series([1, 1.0, 2, 3, 4, 5], dtype=object)
    with pytest.raises(DuplicateIdError) as info:
        read_survey(data, INST, id_column="rid")
    assert info.value.values == [1, 1.0]
    assert "the same number" in str(info.value)


# --------------------------------------------------------------------------------------------
# Parquet index
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ids", [[101, 102, 103, 104, 105, 106], [0, 1, 2, 3, 4, 5],
                                 ["001", "002", "003", "004", "005", "006"]])
def test_parquet_index_holding_the_id_is_restored_as_a_column(tmp_path, ids):
    data = frame()
    data["rid"] = ids
    path = tmp_path / "indexed.parquet"
    data.set_index("rid").to_parquet(path)
    survey = read_survey(path, INST, id_column="rid")   # MissingColumnError 'rid' before
    assert survey.data["rid"].tolist() == ids
    assert survey.data["c1"].tolist() == data["c1"].astype(float).tolist()


def test_parquet_two_level_index_is_restored(tmp_path):
    data = frame()
    data["wave"] = [1, 1, 1, 2, 2, 2]
    path = tmp_path / "multi.parquet"
    data.set_index(["wave", "rid"]).to_parquet(path)
    survey = read_survey(path, INST, id_column="rid", group="wave")
    assert survey.data["rid"].tolist() == frame()["rid"].tolist()
    assert survey.data["wave"].tolist() == [1, 1, 1, 2, 2, 2]


# --------------------------------------------------------------------------------------------
# SPSS user-missing codes inside the answer scale
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("declared,shown", [([3], "3"), ([{"lo": 0, "hi": 2}], "0..2")])
def test_sav_user_missing_code_inside_the_scale_is_refused(tmp_path, declared, shown):
    import pyreadstat

    data = frame()
    data["rid"] = range(1, 7)
    path = tmp_path / "usermissing.sav"
    pyreadstat.write_sav(data, str(path), missing_ranges={"c1": declared})
    with pytest.raises(DataError) as info:   # read 3 (or 1, 2) as "no answer" before
        read_survey(path, INST)
    err = info.value
    assert err.column == "c1" and err.file == str(path)
    assert "user-missing code inside the item's answer scale" in str(err)
    assert f"value {shown!r}" in str(err) or f"value {shown}" in str(err)
    assert "would turn real answers into missing values" in str(err)
    table = check_survey(path, INST)
    assert table["column"].tolist() == ["c1"]


def test_sav_user_missing_outside_the_scale_still_applies(tmp_path):
    import pyreadstat

    data = frame()
    data["rid"] = range(1, 7)
    data.loc[2, "c1"] = 9
    path = tmp_path / "ok.sav"
    pyreadstat.write_sav(data, str(path), missing_ranges={"c1": [9]})
    survey = read_survey(path, INST)
    assert np.isnan(survey.data["c1"].iloc[2]) and survey.data["c1"].iloc[0] == 1


# --------------------------------------------------------------------------------------------
# codebooks: wording, names, YAML aliases, nesting, placeholders
# --------------------------------------------------------------------------------------------
def test_item_wording_may_be_empty_or_absent():
    inst = Instrument.from_dict({"name": "x", "constructs": {"f": {
        "scale": {"min": 1, "max": 5},
        "items": [{"id": "a"}, {"id": "b", "wording": ""}, {"id": "c", "wording": "C"}]}}})
    assert [i.wording for i in inst.items.values()] == ["", "", "C"]
    assert inst.items["a"].text(brand="Acme") == ""
    assert Instrument.from_dict(inst.to_dict()) == inst


def test_item_with_its_constructs_name_gets_a_rename_hint():
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict({"name": "x", "constructs": {"nps": {
            "scale": {"min": 0, "max": 10}, "items": [{"id": "nps"}]}}})
    msg = str(info.value)
    assert "construct 'nps'" in msg and "'nps_f'" in msg and "rename={'nps': 'nps_1'}" in msg


BILLION_LAUGHS = ('name: x\n'
                  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
                  + "".join(f'{k}: &{k} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n'
                            for p, k in zip("abcdefgh", "bcdefghi")))


def test_yaml_aliases_are_refused_before_expansion(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 800
    with pytest.raises(InstrumentError) as info:   # 45 s and 2 GB before
        Instrument.from_file(path)
    assert "anchor" in str(info.value) and "laughs.yaml" in str(info.value)


def test_a_single_yaml_alias_is_refused(tmp_path):
    path = tmp_path / "alias.yaml"
    path.write_text("name: x\nscales:\n  s: &s {min: 1, max: 5}\nconstructs:\n  f:\n"
                    "    scale: {min: 1, max: 5}\n    items:\n      - {id: a, wording: A}\n"
                    "  g:\n    scale: *s\n    items:\n      - {id: b, wording: B}\n")
    with pytest.raises(InstrumentError, match="not allowed in codebooks") as info:
        Instrument.from_file(path)
    assert "line 3" in str(info.value)


@pytest.mark.parametrize("suffix,text", [
    (".yaml", "name: x\nconstructs: " + "[" * 5000 + "]" * 5000 + "\n"),
    (".yaml", "name: x\nconstructs: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"),
    (".toml", "name = 'x'\nconstructs = " + "[" * 3000 + "]" * 3000 + "\n"),
])
def test_deep_nesting_is_a_typed_error(tmp_path, suffix, text):
    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    with pytest.raises(InstrumentError, match="nested") as info:
        Instrument.from_file(path)
    assert path.name in str(info.value)


def test_deep_nesting_in_a_dictionary_is_a_typed_error():
    spec: dict = {"name": "x", "constructs": {}}
    node = spec["constructs"]
    for _ in range(50):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InstrumentError, match="nested more than"):
        Instrument.from_dict(spec)


@pytest.mark.parametrize("wording", [
    "{brand.__class__}", "{brand.__class__.__mro__}", "{brand.__init__.__globals__}",
    "{brand[0]}", "{brand!r}", "{brand:>100000}", "{0}", "{}", "{brand", "brand}",
])
def test_item_text_fills_only_plain_placeholders(wording):
    text = Item("x1", wording, Scale(1, 5)).text(brand="Acme")
    assert text == wording          # left as written: nothing evaluated, nothing raised
    assert "class" not in text.replace("__class__", "") and len(text) < 100


def test_item_text_fills_known_names_and_escapes():
    item = Item("x1", "{brand} in {category}, {{brand}}, {city}", Scale(1, 5))
    assert item.text(brand="Acme", category="banking") == "Acme in banking, {brand}, {city}"
    assert item.text(brand="Acme", city="Oslo").endswith("{brand}, Oslo")


# --------------------------------------------------------------------------------------------
# error messages
# --------------------------------------------------------------------------------------------
def test_error_messages_cap_long_values(tmp_path):
    huge = "x" * 100_000
    data = frame()
    data["c1"] = data["c1"].astype(object)
    data.loc[0, "c1"] = huge
    with pytest.raises(DataError) as info:
        read_survey(data, INST)
    assert len(str(info.value)) < 2_000 and "100,002 characters" in str(info.value)
    assert info.value.values[0] == huge          # the attribute keeps the full value
    path = tmp_path / "long.csv"
    path.write_text(huge + ",c1\n1,2\n")
    with pytest.raises(DataError) as info:
        read_survey(path, INST)
    assert len(str(info.value)) < 2_000


def test_error_messages_show_plain_numbers():
    err = OutOfRangeError("off the scale", values=[np.int64(0), np.float64(1.5), (np.int64(2),)])
    assert str(err) == "off the scale [values 0, 1.5, (2,)]"
    err = ModelSyntaxError(f"bad value {np.float64(2.5)!r}", text=str([np.int64(3)]))
    assert "np." not in str(err) and "2.5" in str(err)
    data = frame()
    data["c1"] = np.array([0, 1, 2, 3, 4, 5], dtype=np.int64)
    with pytest.raises(OutOfRangeError) as info:
        read_survey(data, INST)
    assert "np." not in str(info.value) and "value 0" in str(info.value)


def test_index_file_errors_name_the_file():
    err = ConfigError("the index file lacks entries", file="/tmp/idx.json", values=["weights"])
    assert str(err).startswith("the index file lacks entries [file '/tmp/idx.json'")


def _read_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return read_survey(*args, **kwargs)



# --------------------------------------------------------------------------------------------
# codebook variables: demographics, controls, weights, groups with their own codes and types
# --------------------------------------------------------------------------------------------
VAR_SPEC = {
    "name": "vars",
    "defaults": {"missing": [-99]},
    "constructs": INST.to_dict()["constructs"],
    "variables": {
        "age": {"type": "numeric", "role": "demographic", "min": 16, "max": 99, "integer": True},
        "education": {"type": "categorical", "role": "control", "missing": [-99, -98],
                      "values": {1: "School", 2: "College", 3: "University"}},
        "region": {"type": "text", "role": "group", "missing": ["n/a"]},
        "w": {"type": "numeric", "role": "weight", "missing": []},
    },
}


def var_frame() -> pd.DataFrame:
    data = frame()
    data["age"] = [34, -99, 51, 27, -99, 45]
    data["education"] = [1, 3, -98, 2, -99, 3]
    data["region"] = ["north", "south", "n/a", "north", "south", "east"]
    data["w"] = [1.0, 0.5, 2.0, 1.0, 1.5, 1.0]
    return data


def test_codebook_variables_apply_their_missing_codes(tmp_path):
    inst = Instrument.from_dict(VAR_SPEC)
    assert inst.variables["age"].missing == (-99,)           # defaults: missing applies
    assert inst.variables["w"].missing == () and inst.variables["w"].min == 0
    path = tmp_path / "vars.csv"
    var_frame().to_csv(path, index=False)
    survey = read_survey(path, inst, id_column="rid")     # -99 was kept as an age before
    data = survey.data
    assert data["age"].isna().tolist() == [False, True, False, False, True, False]
    assert data["age"].iloc[[0, 2, 3, 5]].tolist() == [34, 51, 27, 45]
    assert data["education"].isna().tolist() == [False, False, True, False, True, False]
    assert data["region"].isna().tolist() == [False, False, True, False, False, False]
    assert survey.raw["age"].tolist()[1] == -99              # raw is as read
    report = survey.variables_report().set_index("variable")
    assert report.loc["age", ["n_missing", "n_coded", "codes"]].tolist() == [2, 2, "-99: 2"]
    assert report.loc["education", "codes"] == "-99: 1, -98: 1"
    # the same through a DataFrame
    survey = read_survey(var_frame(), inst)
    assert int(survey.data["age"].isna().sum()) == 2


def test_drivers_controls_no_longer_use_missing_codes_as_values():
    from connection.outcomes._drivers import drivers

    rng = np.random.default_rng(7)
    n = 120
    conn = rng.integers(1, 6, n)
    data = pd.DataFrame({"rid": range(n), "c1": conn, "c2": np.clip(conn + rng.integers(-1, 2, n), 1, 5),
                         "c3": 6 - conn, "s1": rng.integers(1, 11, n), "s2": rng.integers(1, 11, n),
                         "age": rng.integers(18, 80, n)})
    data.loc[:9, "age"] = -99
    inst = Instrument.from_dict({**VAR_SPEC, "variables": {"age": VAR_SPEC["variables"]["age"]}})
    survey = read_survey(data, inst, id_column="rid")
    frame_ = survey.scores().join(survey.data[["age"]])
    frame_["outcome"] = frame_["connection"] + rng.normal(size=n)
    with pytest.warns(ExclusionWarning, match="10"):
        result = drivers(frame_, "outcome", controls=["age"], n_boot=0, seed=1)
    assert int(result.models["n"].iloc[0]) == n - 10


@pytest.mark.parametrize("column,value,error", [
    ("age", 7, OutOfRangeError), ("age", 34.5, OutOfRangeError),
    ("education", 4, OutOfRangeError), ("w", -1.0, OutOfRangeError),
    ("age", "old", "NonNumericError"),
])
def test_codebook_variables_validate_their_values(column, value, error):
    inst = Instrument.from_dict(VAR_SPEC)
    data = var_frame()
    data[column] = data[column].astype(object)
    data.loc[3, column] = value
    with pytest.raises(DataError) as info:
        read_survey(data, inst)
    err = info.value
    assert err.column == column and err.rows == [4]
    if isinstance(error, str):
        assert type(err).__name__ == error
    else:
        assert isinstance(err, error)
    table = check_survey(data, inst)
    assert table["column"].tolist() == [column]


@pytest.mark.parametrize("body,fragment", [
    ({"type": "number"}, "unknown type"),
    ({"role": "controll"}, "did you mean 'control'"),
    ({"min": -100, "max": 120}, "missing-value code lies inside the variable's range"),
    ({"type": "categorical", "values": [1, 2, -99]}, "also an allowed value"),
    ({"type": "text", "values": ["a"]}, "a text variable has no list of values"),
    ({"type": "text", "min": 1}, "applies to numeric variables only"),
    ({"type": "numeric", "missing": ["n/a"]}, "not a finite number"),
    ({"type": "numeric", "role": "weight", "min": -1}, "weight's min is negative"),
    ({"typ": "numeric"}, "unknown key 'typ'"),
])
def test_invalid_variables_are_instrument_errors(body, fragment):
    spec = {**VAR_SPEC, "variables": {"age": body}}
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict(spec, source="book.yaml")
    assert "variable 'age'" in str(info.value) and fragment in str(info.value)
    assert "book.yaml" in str(info.value)


def test_variable_named_like_an_item_is_refused():
    spec = {**VAR_SPEC, "variables": {"c1": {"type": "numeric"}}}
    with pytest.raises(InstrumentError, match="also an item or construct name"):
        Instrument.from_dict(spec)


def test_variables_round_trip_yaml_toml_and_pickle(tmp_path):
    import pickle

    inst = Instrument.from_dict(VAR_SPEC)
    for suffix in (".yaml", ".toml"):
        path = inst.to_file(tmp_path / f"book{suffix}")
        assert Instrument.from_file(path) == inst
    assert pickle.loads(pickle.dumps(inst)) == inst
    assert inst.subset("connection").variables == inst.variables
    variables = {t.caption: t.frame for t in inst.summary().tables}["Variables (not items)"]
    row = variables.set_index("variable").loc["age"]
    assert (row["type"], row["role"]) == ("numeric", "demographic")
    assert "Variables (not items)" in str(inst.summary())
    old = {k: v for k, v in VAR_SPEC.items() if k != "variables"}
    assert Instrument.from_dict(old).variables == {}     # codebooks without variables stay valid


def test_sav_user_missing_on_other_columns_applies(tmp_path):
    import pyreadstat

    data = frame()
    data["rid"] = range(1, 7)
    data["age"] = [34, -99, 51, 27, 30, 45]
    path = tmp_path / "age.sav"
    pyreadstat.write_sav(data, str(path), missing_ranges={"age": [-99]})
    survey = read_survey(path, INST)
    assert np.isnan(survey.data["age"].iloc[1]) and survey.data["age"].iloc[0] == 34
    assert survey.variables_report()["codes"].tolist() == ["-99: 1"]


def test_exclusions_list_ids_as_written(tmp_path):
    data = frame()
    data["check"] = [1, 1, 0, 1, 1, 1]
    path = tmp_path / "ids.csv"
    data.to_csv(path, index=False)
    with pytest.warns(ExclusionWarning):
        survey = read_survey(path, INST, id_column="rid", attention_checks={"check": 1})
    assert survey.exclusions["id"].tolist() == ["003"]     # was 3 (an int) before


def test_an_id_declared_numeric_keeps_its_text(tmp_path):
    spec = {**VAR_SPEC, "variables": {"rid": {"type": "numeric", "role": "id", "min": 1}}}
    path = tmp_path / "ids.csv"
    frame().to_csv(path, index=False)
    survey = read_survey(path, Instrument.from_dict(spec), id_column="rid")
    assert survey.data["rid"].tolist()[:2] == ["001", "002"]


def test_header_ending_with_a_separator_needs_no_field_on_the_rows(tmp_path):
    lines = csv_text().splitlines()
    path = tmp_path / "header.csv"
    path.write_text("\n".join([lines[0] + ","] + lines[1:]) + "\n")
    survey = read_survey(path, INST, id_column="rid")    # the unnamed column is simply empty
    assert survey.raw["c1"].tolist() == frame()["c1"].tolist()
    assert survey.data["rid"].tolist()[0] == "001"
