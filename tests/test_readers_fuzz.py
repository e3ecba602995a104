"""Property tests for the adversarial classes "files", "values" and "codebooks" (issue 11).

- files: a valid CSV whose rows get extra or missing fields is either refused with a DataError
  naming those rows, or read with exactly the original values - never shifted;
- values: whatever lands in a cell (long text, numpy scalars, odd objects), read_survey either
  reads it or raises the package's error, and the message stays below the cap with plain numbers;
- codebooks: any YAML text or structure gives an Instrument or an InstrumentError, nothing else.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection import read_survey
from connection.data._instrument import Instrument
from connection.data._survey import check_survey
from connection.errors import (
    MAX_MESSAGE_CHARS,
    ConnectionPackageError,
    DataError,
    ExclusionWarning,
    InstrumentError,
    UndecodableFileError,
)

_HUNT = os.environ.get("CONNECTION_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_HUNT or 80), derandomize=_HUNT is None, database=None,
                deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])

INST = Instrument.from_dict({
    "name": "fuzz",
    "defaults": {"missing": [-99]},
    "constructs": {
        "connection": {"scale": {"min": 1, "max": 5},
                       "items": [{"id": "c1"}, {"id": "c2"}, {"id": "c3", "reverse": True}]},
        "satisfaction": {"scale": {"min": 1, "max": 10}, "items": [{"id": "s1"}, {"id": "s2"}]},
    },
    "variables": {"age": {"type": "numeric", "min": 16, "max": 99},
                  "edu": {"type": "categorical", "values": [1, 2, 3], "missing": [-98]}},
})
COLUMNS = ["rid", "c1", "c2", "c3", "s1", "s2", "age", "edu"]


def base_frame(n: int) -> pd.DataFrame:
    k = np.arange(n)
    return pd.DataFrame({
        "rid": [f"{i:03d}" for i in range(1, n + 1)],
        "c1": k % 5 + 1, "c2": (k * 2) % 5 + 1, "c3": (k * 3 + 1) % 5 + 1,
        "s1": k % 10 + 1, "s2": (k * 7 + 3) % 10 + 1,
        "age": 20 + (k * 3) % 60, "edu": k % 3 + 1,
    })


def _tmp_file(name: str, content: str | bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="readers_fuzz_"))
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# files: extra and missing fields
# --------------------------------------------------------------------------------------------
corruption = st.lists(
    st.tuples(st.integers(0, 11),                                    # which data row
              st.sampled_from(["trailing", "extra", "cut", "cut2", "none"])),
    min_size=0, max_size=5)


@FUZZ
@given(n=st.integers(3, 12), changes=corruption, sep=st.sampled_from([",", "\t", ";"]),
       every_row=st.booleans())
def test_corrupted_rows_are_refused_or_read_exactly(n, changes, sep, every_row):
    frame = base_frame(n)
    lines = frame.to_csv(index=False, sep=sep).splitlines()
    if every_row:
        changes = [(k, "trailing") for k in range(n)]
    for row, kind in changes:
        if row >= n or kind == "none":
            continue
        line = lines[row + 1]
        if kind == "trailing":
            line += sep
        elif kind == "extra":
            line += sep + "7"
        elif kind == "cut":
            line = line.rsplit(sep, 1)[0]
        else:
            line = line.split(sep, 1)[0]
        lines[row + 1] = line
    width = len(COLUMNS)
    changed = {k for k in range(1, n + 1) if len(lines[k].split(sep)) != width}
    original = frame.to_csv(index=False, sep=sep).splitlines()
    path = _tmp_file("data.csv", "\n".join(lines) + "\n")
    try:
        survey = read_survey(path, INST, id_column="rid", sep=sep, warn=False)
    except UndecodableFileError as err:   # rows of the wrong width: refused, naming them all
        assert changed, str(err)
        assert err.file == str(path)
        assert set(err.rows or []) == changed, (err.rows, changed)
        assert len(str(err)) <= MAX_MESSAGE_CHARS
        table = check_survey(path, INST, id_column="rid", sep=sep)
        assert set(table["rows"].iloc[0]) == changed
    except DataError as err:   # a value itself changed (e.g. a cut field replaced): named
        assert not changed and lines != original, str(err)
    else:
        assert not changed
        raw = survey.raw
        for k in range(n):   # every cell is the field written on its line, never a neighbour's
            fields = lines[k + 1].split(sep)
            assert raw["rid"].iloc[k] == fields[0]
            for j, col in enumerate(COLUMNS[1:], start=1):
                cell = raw[col].iloc[k]
                if fields[j] == "":
                    assert pd.isna(cell), (col, k)
                else:
                    assert float(cell) == float(fields[j]), (col, k)


# --------------------------------------------------------------------------------------------
# values: anything in a cell
# --------------------------------------------------------------------------------------------
odd_values = st.one_of(
    st.integers(-1000, 1000),
    st.integers(-1000, 1000).map(np.int64),
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(min_size=0, max_size=20),
    st.integers(100, 5000).map(lambda k: "x" * k),
    st.sampled_from([-99, -98, None, True, b"\x00\xff", (1, 2), "1.0", "001", " 3 "]),
)


@FUZZ
@given(cells=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(COLUMNS), odd_values),
                      min_size=1, max_size=6),
       long_name=st.booleans())
def test_any_cell_value_is_read_or_refused_with_a_capped_plain_message(cells, long_name):
    frame = base_frame(6).astype(object)
    for row, col, value in cells:
        frame.at[row, col] = value
    if long_name:
        frame["y" * 5000] = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExclusionWarning)
            survey = read_survey(frame, INST, id_column="rid")
    except ConnectionPackageError as err:
        text = str(err)
        assert len(text) <= MAX_MESSAGE_CHARS
        assert "np.int64(" not in text and "np.float64(" not in text
        assert type(err).__name__ in check_survey(frame, INST, id_column="rid")[
            "problem"].tolist() or isinstance(err, DataError)
    else:
        data = survey.data
        for col in ("c1", "c2", "s1", "s2"):
            values = data[col].dropna()
            assert values.between(INST.items[col].scale.min, INST.items[col].scale.max).all()
        assert data["age"].dropna().between(16, 99).all()
        assert {float(v) for v in data["edu"].dropna()} <= {1.0, 2.0, 3.0}


# --------------------------------------------------------------------------------------------
# codebooks: any structure, any YAML text
# --------------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-200, 200),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["agree5", "numeric", "categorical", "text", "weight", "c1",
                                     "connection", "{brand.__class__}", "-99"]))
keys = st.one_of(st.sampled_from(["name", "constructs", "items", "id", "wording", "scale", "min",
                                  "max", "missing", "reverse", "defaults", "scales", "labels",
                                  "variables", "type", "values", "role", "integer", "facet",
                                  "sources", "label"]),
                 st.text(max_size=6), st.integers(-3, 9))
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=30)


def _valid_spec() -> dict:
    return {"name": "x", "defaults": {"missing": [-99]},
            "scales": {"agree5": {"min": 1, "max": 5}},
            "constructs": {"f": {"scale": "agree5", "items": [{"id": "a", "wording": "A"},
                                                               {"id": "b"}]}},
            "variables": {"age": {"type": "numeric", "min": 16}}}


@FUZZ
@given(spec=structures)
def test_any_codebook_structure_is_an_instrument_or_an_instrument_error(spec):
    try:
        Instrument.from_dict(spec)
    except InstrumentError as err:
        assert len(str(err)) <= MAX_MESSAGE_CHARS


@FUZZ
@given(path=st.lists(st.sampled_from(["constructs", "f", "items", 0, 1, "scale", "variables",
                                      "age", "scales", "agree5", "defaults"]), max_size=4),
       value=structures)
def test_any_change_to_a_valid_codebook_is_an_instrument_or_an_instrument_error(path, value):
    spec = _valid_spec()
    node = spec
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    try:
        if path:
            node[path[-1]] = value
    except (IndexError, TypeError):
        pass
    try:
        inst = Instrument.from_dict(spec)
    except InstrumentError as err:
        assert len(str(err)) <= MAX_MESSAGE_CHARS
    else:
        assert Instrument.from_dict(inst.to_dict()) == inst


@FUZZ
@given(spec=structures, cut=st.integers(0, 400), insert=st.sampled_from(
    ["", "&a ", "*a ", "[", "{", ": ", "- ", "!!python/object:os.system ", "\t", "\x00", "<<: *a"]))
def test_any_yaml_text_is_an_instrument_or_an_instrument_error(spec, cut, insert):
    text = yaml.safe_dump(_valid_spec(), sort_keys=False)
    text += yaml.safe_dump({"description": spec}, sort_keys=False) if isinstance(
        spec, str | int | float | list | dict) else ""
    cut = min(cut, len(text))
    text = text[:cut] + insert + text[cut:]
    path = _tmp_file("book.yaml", text)
    try:
        Instrument.from_file(path)
    except InstrumentError as err:
        assert str(path) in str(err) and len(str(err)) <= MAX_MESSAGE_CHARS
