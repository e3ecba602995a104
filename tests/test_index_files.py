"""Index files (issue 11, adversarial class "index files"): ConnectionIndex.load validates every
field as fit() would produce it and verifies a SHA-256 checksum of the file's canonical content,
so an edited, damaged or foreign file is a ConfigError naming the file and the field; a saved
file round-trips exactly. Property tests mutate one field of a saved file at a time."""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection import instruments
from connection.errors import ConfigError, ConnectionWarning
from connection.measurement._index import ConnectionIndex, SegmentRule, _checksum

EC = ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family", "ec_parent",
      "ec_closer", "ec_fitin"]


def survey(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    cols = {item: np.clip(np.round(3 + 0.9 * eta + rng.normal(scale=0.8, size=n)), 1, 5)
            for item in EC}
    for item in ("sat_overall", "sat_expect", "sat_ideal"):
        cols[item] = np.clip(np.round(7 + 1.5 * rng.normal(size=n) + 0.5 * eta), 1, 10)
    cols["feat_better"] = np.clip(np.round(3.3 + 0.9 * rng.normal(size=n)), 1, 5)
    return pd.DataFrame(cols).astype(float)


@pytest.fixture(scope="module")
def fitted() -> ConnectionIndex:
    return ConnectionIndex(instruments.default(), "connection").fit(survey(500, 1))


@pytest.fixture(scope="module")
def saved(fitted) -> dict:
    return json.loads(json.dumps(fitted.to_dict()))


def resign(d: dict) -> dict:
    d = copy.deepcopy(d)
    d["checksum"] = _checksum(d)
    return d


def write(path: Path, d) -> Path:
    text = json.dumps(d, indent=2, allow_nan=True).replace('"__1e999__"', "1e999")
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- round trip

def test_round_trip_is_exact(fitted, tmp_path):
    path = fitted.save(tmp_path / "index.json")
    loaded = ConnectionIndex.load(path)
    for attr in ("weights_", "means_", "item_min_", "item_max_"):
        assert np.array_equal(getattr(loaded, attr), getattr(fitted, attr))
    for attr in ("score_min_", "score_max_", "score_mean_", "score_sd_", "n_calibration_",
                 "items_", "loadings_", "fit_measures_", "flags_", "rule_", "model_"):
        assert getattr(loaded, attr) == getattr(fitted, attr), attr
    assert loaded.to_dict() == fitted.to_dict()
    assert loaded.save(tmp_path / "again.json").read_bytes() == path.read_bytes()
    wave = survey(200, 2)
    a, b = fitted.segment(wave), loaded.segment(wave)
    pd.testing.assert_frame_equal(a, b)
    d = json.loads(path.read_text())
    assert d["format_version"] == 2 and d["checksum"].startswith("sha256:")
    assert d["checksum"] == _checksum(d) and d["flags"] == []


def test_round_trip_without_item_ranges(tmp_path):
    ci = ConnectionIndex({"connection": EC}, scaling="zscore", segments=None).fit(survey(300, 3))
    loaded = ConnectionIndex.load(ci.save(tmp_path / "z.json"))
    assert np.isnan(loaded.item_min_).all() and np.isnan(loaded.score_min_)
    wave = survey(50, 4)
    assert np.array_equal(loaded.transform(wave).to_numpy(), ci.transform(wave).to_numpy())


# ---------------------------------------------------------------------------- every field

def _set(path, value):
    def edit(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
    return edit


def _negate_consistently(d):
    d["weights"] = [-w for w in d["weights"]]
    d["score_min"], d["score_max"] = -d["score_max"], -d["score_min"]


def _drop(key):
    def edit(d):
        del d[key]
    return edit


CORRUPTIONS = [
    ("format_version", _set(["format_version"], 3)),
    ("format_version", _set(["format_version"], "2")),
    ("construct", _set(["construct"], "")),
    ("construct", _set(["construct"], "passion")),
    ("method", _set(["method"], "ridge")),
    ("scaling", _set(["scaling"], "minmax")),
    ("estimator", _set(["estimator"], "WLS")),
    ("facets", _set(["facets"], "no")),
    ("model", _set(["model"], "connection =~ ")),
    ("items", _set(["model"], "connection =~ ec_belong + ec_goals")),
    ("items", _set(["items"], [])),
    ("items", _set(["items", 1], "ec_belong")),
    ("weights", _set(["weights"], lambda w: w[:-1])),
    ("weights", _set(["weights", 2], None)),
    ("weights", _set(["weights", 2], "0.3")),
    ("weights", _set(["weights", 2], True)),
    ("weights", _set(["weights"], lambda w: [0.0] * len(w))),
    ("weights", _negate_consistently),              # all weights negated, 0/100 moved along
    ("score_min", _set(["weights", 0], lambda w: 2 * w)),
    ("score_min", _set(["weights", 0], lambda w: w * (1 + 1e-12))),   # even a tiny nudge
    ("score_min", _set(["means", 3], lambda m: m + 1e-9)),
    ("means", _set(["means", 0], "__1e999__")),     # written as 1e999: infinity once read
    ("item_min", _set(["item_min", 0], None)),
    ("item_min", _set(["item_min", 0], 9.0)),
    ("score_min", _set(["score_min"], lambda v: v - 0.01)),
    ("score_max", _set(["score_max"], None)),
    ("score_sd", _set(["score_sd"], 0.0)),
    ("score_sd", _set(["score_sd"], -1.0)),
    ("score_mean", _set(["score_mean"], None)),
    ("n_calibration", _set(["n_calibration"], 1)),
    ("n_calibration", _set(["n_calibration"], 2.5)),
    ("n_calibration", _set(["n_calibration"], True)),
    ("loadings", _set(["loadings"], "high")),
    ("loadings", _set(["loadings", "nope"], 0.5)),
    ("fit_measures", _set(["fit_measures", "cfi"], "good")),
    ("segments", _set(["segments", "connected_min"], 170)),
    ("segments", _set(["segments", "cutoff"], 3)),
    ("segments", _set(["segments", "satisfaction"], "sat_overall")),
    ("rule", _set(["segments", "connected_min"], 60.0)),   # a moved cut-off: text disagrees
    ("rule", _set(["rule", "segments", "fully_connected"], "index >= 60")),
    ("flags", _set(["flags"], [{"code": "bogus", "message": "", "parameters": []}])),
    ("flags", _set(["flags"], "none")),
    ("extra", _set(["extra"], 1)),
    ("means", _drop("means")),
]


@pytest.mark.parametrize("field, edit", CORRUPTIONS,
                         ids=[f"{i}-{f}" for i, (f, _) in enumerate(CORRUPTIONS)])
def test_each_corrupted_field_is_refused_naming_the_file(saved, tmp_path, field, edit):
    d = copy.deepcopy(saved)
    edit(d)
    path = write(tmp_path / "edited.json", d)
    with pytest.raises(ConfigError) as err:          # as edited: the checksum catches it
        ConnectionIndex.load(path)
    assert str(path) in str(err.value)
    assert field in str(err.value) or "checksum" in str(err.value)
    assert "Refit the index" in str(err.value) or "earlier version" in str(err.value)
    if "checksum" in d and "__1e999__" not in json.dumps(d):   # recomputed checksum: the field
        path = write(tmp_path / "resigned.json", resign(d))
        with pytest.raises(ConfigError) as err:
            ConnectionIndex.load(path)
        assert str(path) in str(err.value) and repr(field) in str(err.value) or (
            field == "extra" and "unknown fields" in str(err.value) and "'extra'" in str(err.value))
        assert "does not match its checksum" not in str(err.value)


def test_negated_weights_are_refused(saved, tmp_path):
    d = copy.deepcopy(saved)
    _negate_consistently(d)
    with pytest.raises(ConfigError, match="does not match its checksum"):
        ConnectionIndex.load(write(tmp_path / "neg.json", d))
    with pytest.raises(ConfigError, match="weight's sign contradicts its item's loading"):
        ConnectionIndex.load(write(tmp_path / "neg2.json", resign(d)))


def test_weights_too_large_for_floating_point_are_refused_not_overflowed(saved, tmp_path):
    # found by the property test below: the score range overflowed (a RuntimeWarning)
    d = copy.deepcopy(saved)
    d["weights"] = [1e308 * np.sign(w) for w in d["weights"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="infinite score range"):
            ConnectionIndex.load(write(tmp_path / "huge.json", resign(d)))


def test_checksum_missing_or_garbled_is_refused(saved, tmp_path):
    for value in ("sha256:0", 5, None):
        d = copy.deepcopy(saved)
        d["checksum"] = value
        with pytest.raises(ConfigError, match="'checksum'.*changed after it was saved"):
            ConnectionIndex.load(write(tmp_path / "c.json", d))
    d = copy.deepcopy(saved)
    del d["checksum"]
    with pytest.raises(ConfigError, match="lacks fields.*'checksum'|lacks fields"):
        ConnectionIndex.load(write(tmp_path / "c.json", d))


def test_non_json_numbers_and_deep_nesting_are_config_errors(saved, tmp_path):
    p = tmp_path / "nan.json"
    p.write_text(json.dumps(saved).replace('"score_sd": ', '"score_sd": NaN, "x": '))
    with pytest.raises(ConfigError, match="NaN is not a number JSON can hold"):
        ConnectionIndex.load(p)
    p.write_text('{"format": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match=str(p).replace("\\", "\\\\")):
        ConnectionIndex.load(p)
    p.write_text('{"format": "connection-index", "format_version": 2, "n_calibration": 1'
                 + "0" * 5000 + "}")
    with pytest.raises(ConfigError):
        ConnectionIndex.load(p)


# ---------------------------------------------------------------------------- format 1 files

def test_files_of_the_previous_format_are_refused_unless_trusted(fitted, saved, tmp_path):
    old = {k: v for k, v in saved.items() if k not in ("checksum", "flags")}
    old["format_version"] = 1
    path = write(tmp_path / "v1.json", old)
    with pytest.raises(ConfigError, match="earlier version.*no checksum") as err:
        ConnectionIndex.load(path)
    assert str(path) in str(err.value) and "verify_checksum=False" in str(err.value)
    with pytest.warns(ConnectionWarning, match="no checksum"):
        trusted = ConnectionIndex.load(path, verify_checksum=False)
    assert np.array_equal(trusted.weights_, fitted.weights_)
    assert [f.code for f in trusted.flags_] == ["other"]        # admissibility unknown
    resaved = ConnectionIndex.load(trusted.save(tmp_path / "v2.json"))
    assert resaved.to_dict()["format_version"] == 2
    # a format-1 file is still validated field by field
    old["weights"] = old["weights"][:-1]
    with pytest.raises(ConfigError, match="'weights': has the wrong length"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ConnectionIndex.load(write(tmp_path / "v1b.json", old), verify_checksum=False)


# ---------------------------------------------------------------------------- properties

def _paths(obj, prefix=()):
    """Every place in the JSON tree a single edit can touch."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
        ["regression", "bartlett", "range", "zscore", "ML", "MLR", "connection", "ec_goals"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


@st.composite
def mutation(draw, d):
    d = copy.deepcopy(d)
    path = draw(st.sampled_from(_paths(d)))
    parent = d
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    kind = draw(st.sampled_from(["replace", "nudge", "delete", "add"]))
    if kind == "nudge" and isinstance(old, float) and not isinstance(old, bool):
        parent[path[-1]] = draw(st.sampled_from([-old, old * (1 + 1e-12), old + 1, 0.0, old]))
    elif kind == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif kind == "delete" and isinstance(parent, list):
        parent.pop(path[-1])
    elif kind == "add" and isinstance(old, dict):
        old[draw(st.text(min_size=1, max_size=6))] = draw(JSON)
    elif kind == "add" and isinstance(old, list):
        old.append(draw(JSON))
    else:
        parent[path[-1]] = draw(JSON)
    return d


def _load(d):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "i.json", d)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return ConnectionIndex.load(path), str(path)
        except ConfigError as exc:
            assert str(path) in str(exc)
            return None, str(path)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_edit_of_a_saved_file_is_refused_or_changes_nothing(saved, fitted, data):
    d = data.draw(mutation(saved))
    loaded, _ = _load(d)
    if loaded is not None:              # only an edit that left the canonical content as it was
        assert _checksum(d) == saved["checksum"]
        assert loaded.to_dict() == fitted.to_dict()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_an_edited_and_resigned_file_is_refused_or_loads_exactly_what_it_says(saved, data):
    # a tool that recomputes the checksum: the field validation alone must refuse anything fit()
    # could not have written, and whatever loads holds exactly the file's values and scores
    # every admissible answer pattern inside 0-100
    d = data.draw(mutation(saved))
    if isinstance(d, dict) and "checksum" in d:
        try:
            d = resign(d)
        except ValueError:              # NaN: JSON cannot hold it, nothing to sign
            pass
    loaded, _ = _load(d)
    if loaded is None:
        return
    # the same values (a number may come back as 75.0 where the edit wrote 75, which changes
    # only the checksum of the text)
    assert {k: v for k, v in loaded.to_dict().items() if k != "checksum"} == {
        k: v for k, v in d.items() if k != "checksum"}
    rng = np.random.default_rng(0)
    lo = np.where(np.isnan(loaded.item_min_), 1.0, loaded.item_min_)
    hi = np.where(np.isnan(loaded.item_max_), 5.0, loaded.item_max_)
    pats = pd.DataFrame({i: np.r_[rng.uniform(a, b, 48), a, b]
                         for i, a, b in zip(loaded.items_, lo, hi)})
    idx = loaded.transform(pats)["index"].to_numpy()
    assert np.isfinite(idx).all()
    if loaded.scaling == "range":
        assert ((idx >= 0) & (idx <= 100)).all()
    if loaded.rule_ is not None:
        assert isinstance(loaded.rule_, SegmentRule)
