"""Codebook files (connection.data._codebook): the format apart from the model it describes.

Instrument.from_file/to_file/from_dict/to_dict delegate here; these tests check the module's own
steps, that the delegation keeps the public behaviour (and paper/build.py's imports), and the
validation steps of the model classes that replaced their long __post_init__ methods.
"""

from __future__ import annotations

import ast
import copy
import inspect
from pathlib import Path

import pytest

from connection import instruments
from connection.data import _codebook, _instrument
from connection.data._codebook import Model, _Reading
from connection.data._instrument import Construct, Instrument, Item, Scale, Variable
from connection.errors import InstrumentError

ROOT = Path(__file__).resolve().parents[1]


def spec() -> dict:
    return {
        "name": "book", "version": 3, "sources": {"ref": "A. Author (2020)."},
        "defaults": {"missing": [-99]},
        "scales": {"agree5": {"min": 1, "max": 5, "labels": {1: "No", 5: "Yes"}}},
        "constructs": {
            "trust": {"scale": "agree5", "sources": "ref",
                      "items": [{"id": "t1", "wording": "A"},
                                {"id": "t2", "wording": "B", "reverse": True, "missing": [9]},
                                {"id": "t3", "scale": {"min": 0, "max": 10}}]}},
        "variables": {"age": {"min": 16, "max": 99, "integer": True},
                      "region": {"type": "text", "missing": ["n/a"]}},
    }


MODEL = _instrument._model(Instrument)


# --------------------------------------------------------------------------------------------
# the module boundary
# --------------------------------------------------------------------------------------------
def test_codebook_module_never_imports_the_model_module():
    """The classes reach _codebook as a Model; an import of _instrument would be a cycle."""
    tree = ast.parse((ROOT / "connection" / "data" / "_codebook.py").read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any("_instrument" in n or n in ("connection.data", "connection") for n in names)


def test_paper_build_names_stay_importable_from_instrument():
    from connection.data._instrument import MAX_DEPTH, _UniqueKeyLoader

    assert MAX_DEPTH == _codebook.MAX_DEPTH == 12
    assert _UniqueKeyLoader is _codebook._UniqueKeyLoader
    import yaml
    with pytest.raises(InstrumentError, match=r"YAML alias \(\*a\) on line 2"):
        yaml.load("x: 1\ny: *a\n", Loader=_UniqueKeyLoader.get())  # noqa: S506


def test_instrument_methods_are_thin_delegations_with_their_signatures():
    for name in ("from_dict", "to_dict", "from_file", "to_file"):
        method = getattr(Instrument, name)
        assert len(inspect.getsource(method).splitlines()) <= 12, name
    assert list(inspect.signature(Instrument.from_dict).parameters) == ["spec", "source"]
    assert list(inspect.signature(Instrument.from_file).parameters) == ["path"]


def test_model_builds_with_the_classes_it_is_given():
    class MyInstrument(Instrument):
        pass

    inst = MyInstrument.from_dict(spec())
    assert type(inst) is MyInstrument
    assert _codebook.instrument_from_dict(spec(), MODEL) == inst
    assert isinstance(MODEL, Model) and MODEL.scale is Scale and MODEL.variable is Variable


# --------------------------------------------------------------------------------------------
# reading steps, one at a time
# --------------------------------------------------------------------------------------------
def test_named_scales_and_resolution():
    reading = _Reading(MODEL, "b.yaml")
    reading.scales = _codebook._named_scales(spec(), reading)
    agree = reading.scales["agree5"]
    assert (agree.min, agree.max, agree.name, dict(agree.labels)) == (1, 5, "agree5",
                                                                      {1: "No", 5: "Yes"})
    assert _codebook._resolve_scale(reading, "agree5", "x") is agree
    assert _codebook._resolve_scale(reading, None, "x") is None
    table = _codebook._resolve_scale(reading, {"min": 0, "max": 10, "integer": False}, "x")
    assert (table.min, table.max, table.integer, table.name) == (0, 10, False, None)
    with pytest.raises(InstrumentError) as info:
        _codebook._resolve_scale(reading, "agree7", "construct 'c'")
    assert str(info.value).startswith("construct 'c': unknown scale 'agree7' [file 'b.yaml'")
    assert "did you mean 'agree5'?" in str(info.value)
    with pytest.raises(InstrumentError, match=r"construct 'c': scale has no 'max'"):
        _codebook._resolve_scale(reading, {"min": 1}, "construct 'c'")


def test_item_step_inherits_the_construct_scale_and_missing_codes():
    reading = _Reading(MODEL, None)
    scale = Scale(1, 5)
    item = _codebook._item(reading, "construct 'c'", "c", 1, {"id": "a1"}, scale, [-99, -98])
    assert (item.id, item.scale, item.missing, item.construct, item.wording) == (
        "a1", scale, (-99, -98), "c", "")
    with pytest.raises(InstrumentError, match=r"^construct 'c', item 2 has no 'id'"):
        _codebook._item(reading, "construct 'c'", "c", 2, {"wording": "x"}, scale, None)
    with pytest.raises(InstrumentError, match=r"^construct 'c', item 'a3' has no scale"):
        _codebook._item(reading, "construct 'c'", "c", 3, {"id": "a3"}, None, None)


def test_variable_step_applies_default_missing_codes_unless_the_entry_says():
    reading = _Reading(MODEL, None, default_missing=[-99])
    assert _codebook._variable(reading, "age", {}).missing == (-99,)
    assert _codebook._variable(reading, "age", {"missing": []}).missing == ()
    assert _codebook._variable(reading, "note", {"type": "text"}).missing == ()
    with pytest.raises(InstrumentError, match=r"^variable 'age': unknown key 'maximum'"):
        _codebook._variable(reading, "age", {"maximum": 3})


def test_read_spec_from_yaml_and_toml_gives_the_same_dictionary(tmp_path):
    inst = Instrument.from_dict(spec())
    for suffix in (".yaml", ".toml"):
        path = _codebook.write_codebook(inst, tmp_path / f"b{suffix}")
        raw = _codebook.read_codebook_spec(path)
        expected = _codebook.instrument_to_dict(inst)
        if suffix == ".toml":   # TOML keys are text; Scale reads '1' as the point 1
            expected["scales"]["agree5"]["labels"] = {"1": "No", "5": "Yes"}
        assert raw == expected
        assert _codebook.read_codebook(path, MODEL) == inst
    assert inst.to_dict()["constructs"]["trust"]["sources"] == ["ref"]
    assert inst.version == "3"


@pytest.mark.parametrize("text, message", [
    ("name: t\nscale: &s {min: 1, max: 5}\n", "YAML anchor (&s) on line 2"),
    ("name: t\nname: u\n", "duplicate key 'name' (line 2; first on line 1)"),
    ("x: " + "[" * 13 + "]" * 13 + "\n", "nested more than 12 levels deep (line 1)"),
    ("- a\n- b\n", "codebook is empty or not a table of keys"),
])
def test_reading_refuses_unsafe_or_malformed_yaml_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        _codebook.read_codebook_spec(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_dictionaries_nested_too_deep_are_refused_before_they_are_walked():
    deep: dict = {"name": "t", "description": {}}
    node = deep["description"]
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(InstrumentError, match="nested more than 12 levels deep"):
        Instrument.from_dict(deep)
    cyclic: dict = {"name": "t", "constructs": {}}
    cyclic["constructs"]["self"] = cyclic
    with pytest.raises(InstrumentError, match="nested more than 12 levels deep"):
        Instrument.from_dict(cyclic)


@pytest.mark.parametrize("sources", [-99, 2.5, True, [{"id": "c"}], [[]], ["ok", 3], [" "]])
def test_construct_sources_that_are_not_keys_are_an_instrument_error(sources):
    """These raised TypeError (e.g. "'int' object is not iterable", "unhashable type")."""
    book = spec()
    book["constructs"]["trust"]["sources"] = sources
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict(book)
    assert "construct 'trust': sources must be a list of source keys" in str(info.value)
    with pytest.raises(InstrumentError, match="sources must be a list of source keys"):
        Construct("trust", (Item("t1", "A", Scale(1, 5)),), sources=sources)


def test_default_codebook_round_trips_through_the_module(tmp_path):
    inst = instruments.default()
    for suffix in (".yml", ".toml"):
        path = inst.to_file(tmp_path / f"default{suffix}")
        assert Instrument.from_file(path) == inst
    assert Instrument.from_dict(copy.deepcopy(inst.to_dict())) == inst


# --------------------------------------------------------------------------------------------
# the validation steps of the model classes (each one a named method or function)
# --------------------------------------------------------------------------------------------
def test_variable_validation_steps_in_order():
    # the first problem found is the one raised, in the documented order
    with pytest.raises(InstrumentError, match="unknown type"):
        Variable("v", "numbr", min=5, max=1)
    with pytest.raises(InstrumentError, match="impossible range"):
        Variable("v", min=5, max=1, values=[7])
    with pytest.raises(InstrumentError, match="allowed value outside min..max"):
        Variable("v", min=1, max=5, values=[7], missing=[3])
    with pytest.raises(InstrumentError, match="missing-value code lies inside the variable's range"):
        Variable("v", min=1, max=5, values=[2], missing=[3])
    weight = Variable("w", role="weight")
    assert (weight.min, weight.max) == (0, None)
    with pytest.raises(InstrumentError, match="a weight's min is negative"):
        Variable("w", role="weight", min=-1)
    v = Variable("edu", "categorical", values={"1": "School", 2: "College"}, missing=["x", -98])
    assert v.values == (1, 2) and dict(v.labels) == {1: "School", 2: "College"}
    assert v.missing == ("x", -98)
    assert Variable("v", missing=[-99, -99.0]).missing == (-99,)
    with pytest.raises(InstrumentError, match="allowed value listed twice"):
        Variable("c", "categorical", values=[1, "1"])
    with pytest.raises(InstrumentError, match="label of value 1 is not text"):
        Variable("c", "categorical", values={1: 5})


def test_instrument_validation_steps():
    s = Scale(1, 5)
    a = Construct("a", (Item("a1", "", s, facet="fa"), Item("a2", "", s)))
    b = Construct("b", (Item("b1", "", s),), sources=("ref",))
    by_name, owner = _instrument._index_constructs([a, b])
    assert list(by_name) == ["a", "b"] and owner == {"a1": "a", "a2": "a", "b1": "b"}
    _instrument._check_item_and_facet_names([a, b], {"a", "b"}, owner)
    with pytest.raises(InstrumentError, match="facet 'fa' is also a construct or item name"):
        _instrument._check_item_and_facet_names([a], {"fa"}, owner)
    assert _instrument._checked_sources({"ref": "R."}, [a, b]) == {"ref": "R."}
    with pytest.raises(InstrumentError, match="cites unknown source 'ref'"):
        _instrument._checked_sources({}, [a, b])
    age = Variable("age")
    assert _instrument._index_variables({"age": age}, {"a1"}) == {"age": age}
    with pytest.raises(InstrumentError, match="variable 'a1' is also an item or construct name"):
        _instrument._index_variables([Variable("a1")], {"a1"})
    with pytest.raises(InstrumentError, match="variable stored under 'x' is named 'age'"):
        _instrument._index_variables({"x": age}, set())
    inst = Instrument("i", [a, b], sources={"ref": "R."}, variables=[age])
    assert list(inst.items) == ["a1", "a2", "b1"] and list(inst.variables) == ["age"]
