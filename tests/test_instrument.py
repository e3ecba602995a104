"""Instrument / Construct / Item / Scale: the default codebook, file round trips, validation."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import connection as cx
from connection import instruments
from connection._report import Report
from connection.data._instrument import Construct, Instrument, Item, Scale
from connection.errors import ArgumentError, InstrumentError, NonNumericError, OutOfRangeError

DEFAULT_IDS = {
    "attachment": ["att_affectionate", "att_friendly", "att_loved", "att_peaceful",
                   "att_passionate", "att_delighted", "att_captivated", "att_connected",
                   "att_bonded", "att_attached"],
    "connection": ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family",
                   "ec_parent", "ec_closer", "ec_fitin"],
    "satisfaction": ["sat_overall", "sat_expect", "sat_ideal"],
    "features": ["feat_needs", "feat_easy", "feat_better"],
    "quality": ["qual_overall", "qual_reliable", "qual_needs"],
    "advocacy": ["adv_recommend", "adv_social"],
    "loyalty": ["loy_stay", "loy_switch"],
    "repurchase": ["rep_more"],
}


def small_spec() -> dict:
    return {
        "name": "small",
        "version": "2",
        "sources": {"ref": "A. Author (2020). A paper."},
        "defaults": {"missing": [-99]},
        "scales": {"agree5": {"min": 1, "max": 5, "labels": {1: "Disagree", 5: "Agree"}}},
        "constructs": {
            "connection": {"scale": "agree5", "sources": ["ref"], "label": "Connection",
                           "items": [{"id": "c1", "wording": "I feel close to {brand}."},
                                     {"id": "c2", "wording": "{brand} is me.", "reverse": True},
                                     {"id": "c3", "wording": "I love {brand}.", "missing": [9]}]},
            "satisfaction": {"scale": {"min": 1, "max": 10},
                             "items": [{"id": "s1", "wording": "Satisfied?"},
                                       {"id": "s2", "wording": "Expectations?"}]},
        },
    }


# --------------------------------------------------------------------------------------------
# the default instrument
# --------------------------------------------------------------------------------------------
def test_default_instrument_constructs_and_item_ids():
    inst = instruments.default()
    assert list(inst.constructs) == list(DEFAULT_IDS)
    for name, ids in DEFAULT_IDS.items():
        assert inst.item_ids(name) == ids
    assert len(inst.items) == 32
    assert cx.instruments.default() is inst  # cached, immutable
    assert instruments.load("default") is inst
    assert instruments.available() == ["default"]


def test_default_instrument_scales_and_keys():
    inst = instruments.default()
    for item_id in DEFAULT_IDS["connection"]:
        scale = inst.items[item_id].scale
        assert (scale.min, scale.max) == (1, 5)
        assert scale.top_box(2) == (4, 5)
        assert scale.labels[5] == "Strongly agree"
    for item_id in DEFAULT_IDS["satisfaction"]:
        assert (inst.items[item_id].scale.min, inst.items[item_id].scale.max) == (1, 10)
    assert (inst.items["adv_recommend"].scale.min, inst.items["adv_recommend"].scale.max) == (0, 10)
    assert inst.items["adv_social"].scale.max == 5
    for item_id in DEFAULT_IDS["attachment"]:
        assert (inst.items[item_id].scale.min, inst.items[item_id].scale.max) == (1, 7)
    assert inst.reverse_items == ["loy_switch"]
    assert inst.items["ec_parent"].missing == (-99, -98)
    assert inst.items["ec_belong"].missing == (-99,)
    assert inst.constructs["attachment"].facets == {
        "affection": DEFAULT_IDS["attachment"][:4], "passion": DEFAULT_IDS["attachment"][4:7],
        "bonding": DEFAULT_IDS["attachment"][7:]}


def test_default_instrument_cites_its_sources_and_fills_placeholders():
    inst = instruments.default()
    assert "Thomson" in inst.sources["thomson2005"] and "15(1)" in inst.sources["thomson2005"]
    assert "Business Wire" in inst.sources["motista2011"]
    assert "Journal of Marketing, 60(4)" in inst.sources["fornell1996"]
    assert "thomson2005" in inst.constructs["attachment"].sources
    assert "fornell1996" in inst.constructs["satisfaction"].sources
    for item in inst.items.values():
        text = item.text(brand="Acme", category="bank")
        assert "{" not in text and "}" not in text, item.id
    assert inst.items["ec_belong"].text(brand="Acme") == (
        "I feel I belong with the other customers of Acme.")


def test_default_model_syntax():
    inst = instruments.default()
    lines = inst.model_syntax().splitlines()
    assert lines[1] == ("connection =~ ec_belong + ec_accomplish + ec_goals + ec_express + "
                        "ec_family + ec_parent + ec_closer + ec_fitin")
    assert lines[-2:] == ["repurchase =~ rep_more", "rep_more ~~ 0*rep_more"]
    # every =~ line names the construct and exactly its items
    for line in lines:
        if "=~" in line:
            lhs, rhs = (s.strip() for s in line.split("=~"))
            assert rhs.split(" + ") == inst.item_ids(lhs)
    second = inst.model_syntax("attachment", facets=True).splitlines()
    assert second == [
        "affection =~ att_affectionate + att_friendly + att_loved + att_peaceful",
        "passion =~ att_passionate + att_delighted + att_captivated",
        "bonding =~ att_connected + att_bonded + att_attached",
        "attachment =~ affection + passion + bonding",
    ]
    assert inst.model_syntax(["satisfaction"]) == "satisfaction =~ sat_overall + sat_expect + sat_ideal"
    assert inst.model_syntax("repurchase", fix_single=False) == "repurchase =~ rep_more"
    assert inst.model_syntax("repurchase", ordered=True).splitlines() == [
        "repurchase =~ rep_more", "repurchase ~~ 1*repurchase"]
    assert inst.model_syntax("satisfaction", ordered=True) == inst.model_syntax("satisfaction")


def test_ordered_items_and_the_ordinal_one_item_construct_is_identified():
    """A one-item construct fixed the continuous way (item ~~ 0*item) leaves its variance
    unidentified under WLSMV's delta parameterization; model_syntax(ordered=True) fixes the
    variance instead, and the fit has every measure."""
    from connection.simulation._population import Population, load_config

    inst = instruments.default()
    assert inst.ordered_items() == inst.item_ids()  # every default item: integer, <= 11 points
    assert inst.ordered_items("advocacy") == ["adv_recommend", "adv_social"]
    cfg = load_config(Path(__file__).resolve().parents[1] / "studies" / "social_moms.toml")
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"])
    data = cx.read_survey(pop.simulate(3000, seed=5).data, inst, warn=False).data
    constructs = ["satisfaction", "repurchase", "advocacy"]
    items = inst.ordered_items(constructs)
    from connection.errors import IdentificationWarning

    with pytest.warns(IdentificationWarning, match="singular"):
        bad = cx.cfa(inst.model_syntax(constructs), data, ordered=items)
    assert "not_identified" in {f.code for f in bad.flags}
    good = cx.cfa(inst.model_syntax(constructs, ordered=True), data, ordered=items)
    assert good.converged and not good.flags
    fm = good.fit_measures
    assert np.isfinite(fm["chisq_scaled"]) and 0.95 < fm["cfi_scaled"] <= 1.0
    est = good.estimates.set_index(["lhs", "op", "rhs"])
    # the construct is the item's standardized latent response: loading 1, variance 1
    assert est.loc[("repurchase", "~~", "repurchase"), "est"] == 1.0
    assert est.loc[("rep_more", "~~", "rep_more"), "est"] == pytest.approx(0.0, abs=1e-8)


def test_summary_html_and_frame():
    inst = instruments.default()
    report = inst.summary()
    assert isinstance(report, Report)
    assert report.title == "Instrument 'default' (version 1.0)"
    assert dict(report.header) == {"Constructs": 8, "Items": 32, "Reverse-keyed": "loy_switch"}
    constructs = report.tables[0].frame.set_index("construct")
    assert constructs["n_items"].sum() == 32 and constructs.loc["loyalty", "reverse"] == "loy_switch"
    assert constructs.loc["satisfaction", "items"] == "sat_overall, sat_expect, sat_ideal"
    assert constructs.loc["satisfaction", "scale"] == "1-10"
    assert constructs.loc["advocacy", "scale"] == "0-10, 1-5"
    assert [t.caption for t in report.tables] == ["Constructs", "Scales", "Sources"]
    scales = report.tables[1].frame.set_index("scale")["constructs"]
    assert scales["1-5 (1 = Strongly disagree, 5 = Strongly agree)"].startswith("connection, ")
    assert len(scales) == len({i.scale.describe() for i in inst.items.values()})
    assert set(report.tables[2].frame["source"]) == set(inst.sources)
    text = str(report)
    assert "Items:" in text and "loy_stay, loy_switch" in text
    assert "<table>" in inst._repr_html_() and "ec_fitin" in inst._repr_html_()
    assert inst._repr_html_() == report.as_html()
    assert repr(report) == str(report)
    frame = inst.to_frame()
    assert list(frame.columns) == ["construct", "item", "label", "wording", "scale_min",
                                   "scale_max", "reverse", "missing", "facet"]
    assert len(frame) == 32 and frame["item"].is_unique
    assert frame.set_index("item").loc["adv_recommend", "scale_min"] == 0
    assert "32 items" in repr(inst)


# --------------------------------------------------------------------------------------------
# building, round trips
# --------------------------------------------------------------------------------------------
def test_from_dict_applies_defaults_and_named_scales():
    inst = Instrument.from_dict(small_spec())
    assert inst.items["c1"].missing == (-99,)
    assert inst.items["c3"].missing == (9,)
    assert inst.items["c1"].scale.name == "agree5"
    assert inst.items["s1"].scale.name is None and inst.items["s1"].scale.max == 10
    assert inst.items["c2"].reverse and not inst.items["c1"].reverse
    assert inst.items["s2"].construct == "satisfaction"
    assert inst.as_dict() == {"connection": ["c1", "c2", "c3"], "satisfaction": ["s1", "s2"]}
    assert inst.construct_of("s2") == "satisfaction"
    assert inst.version == "2"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".toml"])
@pytest.mark.parametrize("which", ["small", "default"])
def test_file_round_trip(tmp_path, suffix, which):
    inst = Instrument.from_dict(small_spec()) if which == "small" else instruments.default()
    path = inst.to_file(tmp_path / f"codebook{suffix}")
    back = Instrument.from_file(path)
    assert back == inst
    assert hash(back) == hash(inst)
    assert back.to_dict() == inst.to_dict()
    assert Instrument.from_dict(inst.to_dict()) == inst


def test_toml_written_by_hand_loads(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'name = "t"\n[constructs.connection]\nscale = {min = 1, max = 5, labels = {"1" = "No", '
        '"5" = "Yes"}}\n[[constructs.connection.items]]\nid = "a"\nwording = "A"\n'
        '[[constructs.connection.items]]\nid = "b"\nwording = "B"\nreverse = true\n',
        encoding="utf-8")
    inst = Instrument.from_file(path)
    assert inst.item_ids() == ["a", "b"]
    assert inst.items["a"].scale.labels == {1: "No", 5: "Yes"}
    assert inst.reverse_items == ["b"]


def test_instruments_pickle_and_deepcopy():
    import pickle

    inst = instruments.default()
    for clone in (pickle.loads(pickle.dumps(inst)), copy.deepcopy(inst)):
        assert clone == inst and clone is not inst
        assert clone.items["loy_switch"].scale.labels[5] == "Strongly agree"
        assert clone.model_syntax() == inst.model_syntax()


def test_direct_construction_and_equality():
    scale = Scale(1, 5)
    c = Construct("connection", (Item("a", "A", scale), Item("b", "B", scale, reverse=True)))
    inst = Instrument("direct", [c])
    assert inst.items["a"].construct == "connection"
    assert inst == Instrument("direct", {"connection": c})
    assert inst != Instrument("other", [c])
    assert inst.subset("connection") == inst
    assert instruments.default().subset(["loyalty"]).item_ids() == ["loy_stay", "loy_switch"]
    with pytest.raises(AttributeError):
        inst.name = "x"  # frozen


# --------------------------------------------------------------------------------------------
# validation: each problem raises InstrumentError naming the entry
# --------------------------------------------------------------------------------------------
def _mutate(fn):
    spec = copy.deepcopy(small_spec())
    fn(spec)
    return spec


BAD_SPECS = {
    "duplicate id across constructs": (
        lambda s: s["constructs"]["satisfaction"]["items"].append({"id": "c1", "wording": "x"}),
        ["duplicate item id 'c1'", "connection", "satisfaction"]),
    "duplicate id within a construct": (
        lambda s: s["constructs"]["connection"]["items"].append({"id": "c2", "wording": "x"}),
        ["duplicate item id 'c2'"]),
    "empty construct": (
        lambda s: s["constructs"].update(loyalty={"scale": "agree5", "items": []}),
        ["construct 'loyalty' has no items"]),
    "construct without items key": (
        lambda s: s["constructs"].update(loyalty={"scale": "agree5"}),
        ["construct 'loyalty' has no items"]),
    "min not below max": (
        lambda s: s["constructs"]["satisfaction"].update(scale={"min": 10, "max": 1}),
        ["construct 'satisfaction'", "impossible scale", "10"]),
    "equal bounds": (
        lambda s: s["scales"]["agree5"].update(max=1),
        ["scale 'agree5'", "impossible scale"]),
    "label off the scale": (
        lambda s: s["scales"]["agree5"]["labels"].update({7: "Way off"}),
        ["scale 'agree5'", "not a point of the scale", "7"]),
    "fractional bound on integer scale": (
        lambda s: s["scales"]["agree5"].update(max=5.5),
        ["scale 'agree5'", "whole number", "5.5"]),
    "non-numeric bound": (
        lambda s: s["scales"]["agree5"].update(min="one"),
        ["scale 'agree5'", "min is not a finite number", "'one'"]),
    "missing code inside the scale": (
        lambda s: s["constructs"]["connection"]["items"][0].update(missing=[3]),
        ["item 'c1'", "inside the answer scale", "3"]),
    "unknown item key": (
        lambda s: s["constructs"]["connection"]["items"][1].update(revers=True),
        ["item 'c2'", "unknown key 'revers'", "did you mean 'reverse'"]),
    "unknown construct key": (
        lambda s: s["constructs"]["connection"].update(itemz=[]),
        ["construct 'connection'", "unknown key 'itemz'"]),
    "unknown top-level key": (
        lambda s: s.update(construct={}),
        ["instrument: unknown key 'construct'", "did you mean 'constructs'"]),
    "unknown scale key": (
        lambda s: s["scales"]["agree5"].update(maximum=5),
        ["scale 'agree5'", "unknown key 'maximum'"]),
    "unknown named scale": (
        lambda s: s["constructs"]["connection"].update(scale="agree7"),
        ["construct 'connection'", "unknown scale 'agree7'", "did you mean 'agree5'"]),
    "unknown source": (
        lambda s: s["constructs"]["connection"].update(sources=["reff"]),
        ["construct 'connection' cites unknown source 'reff'"]),
    "invalid item id": (
        lambda s: s["constructs"]["connection"]["items"][0].update(id="1st item"),
        ["item id is not a valid variable name", "'1st item'"]),
    "item without id": (
        lambda s: s["constructs"]["connection"]["items"][0].pop("id"),
        ["construct 'connection', item 1 has no 'id'"]),
    "wording not text": (
        lambda s: s["constructs"]["connection"]["items"][0].update(wording=["a", "b"]),
        ["item 'c1'", "wording is not text"]),
    "item with its construct's name": (
        lambda s: s["constructs"]["connection"]["items"].append({"id": "connection"}),
        ["construct 'connection'", "an item has the construct's own name",
         "Rename the construct", "'connection_f'", "rename={'connection': 'connection_1'}"]),
    "reverse not boolean": (
        lambda s: s["constructs"]["connection"]["items"][0].update(reverse="yes"),
        ["item 'c1'", "reverse must be true or false"]),
    "item named like a construct": (
        lambda s: s["constructs"]["satisfaction"]["items"].append(
            {"id": "connection", "wording": "x"}),
        ["'connection'", "construct name"]),
    "no scale anywhere": (
        lambda s: s["constructs"].update(loyalty={"items": [{"id": "l1", "wording": "x"}]}),
        ["item 'l1' has no scale"]),
    "no constructs": (lambda s: s.update(constructs={}), ["has no constructs"]),
    "constructs as a list": (lambda s: s.update(constructs=[{"items": []}]),
                             ["constructs must be a table", "list"]),
    "no name": (lambda s: s.pop("name"), ["instrument has no name"]),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_invalid_codebooks_raise_instrument_error_naming_the_entry(case):
    mutate, fragments = BAD_SPECS[case]
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict(_mutate(mutate))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (case, message)


def test_item_errors_name_the_entry_once():
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict(_mutate(
            lambda s: s["constructs"]["connection"]["items"][0].update(missing=[3])))
    assert str(info.value).count("item 'c1'") == 1, str(info.value)   # was prefixed twice


def test_file_errors_name_the_file(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("name: d\nconstructs:\n  a:\n    scale: {min: 1, max: 5}\n    items:\n"
                   "      - {id: x, wording: X}\n  a:\n    scale: {min: 1, max: 5}\n"
                   "    items:\n      - {id: y, wording: Y}\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"duplicate key 'a' \(line 7; first on line 3\)") as info:
        Instrument.from_file(dup)
    assert str(dup) in str(info.value)

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="YAML syntax error") as info:
        Instrument.from_file(bad_yaml)
    assert "bad.yaml" in str(info.value)

    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("name = \n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="TOML syntax error"):
        Instrument.from_file(bad_toml)

    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InstrumentError, match="empty or not a table"):
        Instrument.from_file(empty)

    with pytest.raises(InstrumentError, match="cannot read the codebook") as info:
        Instrument.from_file(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)

    with pytest.raises(InstrumentError, match="file type not recognised"):
        Instrument.from_file(tmp_path / "codebook.json")

    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InstrumentError, match="not UTF-8"):
        Instrument.from_file(latin)

    entry = tmp_path / "entry.yaml"
    entry.write_text("name: e\nconstructs:\n  a:\n    scale: {min: 5, max: 1}\n    items:\n"
                     "      - {id: x, wording: X}\n", encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        Instrument.from_file(entry)
    assert "entry.yaml" in str(info.value) and "construct 'a'" in str(info.value)


def test_facet_and_construct_conflicts():
    scale = Scale(1, 5)
    with pytest.raises(InstrumentError, match="facet 'b' is also a construct"):
        Instrument("x", [Construct("a", (Item("a1", "A", scale, facet="b"),)),
                         Construct("b", (Item("b1", "B", scale),))])
    with pytest.raises(InstrumentError, match="duplicate construct name 'a'"):
        Instrument("x", [Construct("a", (Item("a1", "A", scale),)),
                         Construct("a", (Item("a2", "B", scale),))])
    with pytest.raises(InstrumentError, match="says it belongs to construct 'z'"):
        Construct("a", (Item("a1", "A", scale, construct="z"),))


def test_unknown_names_raise_argument_error():
    inst = instruments.default()
    with pytest.raises(ArgumentError, match="no construct 'conection'.*did you mean 'connection'"):
        inst.item_ids("conection")
    with pytest.raises(ArgumentError, match="no item 'ec_belongs'"):
        inst.construct_of("ec_belongs")
    with pytest.raises(InstrumentError, match="no instrument named 'nope'.*one of default"):
        instruments.load("nope")


# --------------------------------------------------------------------------------------------
# reverse-coding
# --------------------------------------------------------------------------------------------
def test_reverse_code_values_and_input_untouched():
    inst = instruments.default()
    frame = pd.DataFrame({"loy_switch": [1, 2, 3, 4, 5], "loy_stay": [1, 2, 3, 4, 5],
                          "other": list("abcde")})
    before = frame.copy()
    out = inst.reverse_code(frame)
    assert out["loy_switch"].tolist() == [5, 4, 3, 2, 1]
    assert out["loy_stay"].tolist() == [1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(frame, before)
    floats = inst.reverse_code(pd.DataFrame({"loy_switch": [1.0, np.nan, 4.0]}))
    assert floats["loy_switch"].tolist()[0] == 5.0 and np.isnan(floats["loy_switch"][1])
    assert inst.reverse_code(pd.DataFrame({"x": [1]})).equals(pd.DataFrame({"x": [1]}))


def test_reverse_code_refuses_codes_off_the_scale():
    inst = instruments.default()
    with pytest.raises(OutOfRangeError) as info:
        inst.reverse_code(pd.DataFrame({"loy_switch": [1, -99, 3]}))
    assert "column 'loy_switch'" in str(info.value) and "row 2" in str(info.value)
    assert "-99" in str(info.value)
    with pytest.raises(ArgumentError):
        inst.reverse_code([1, 2, 3])
    # a text answer used to come back as NaN (coerced, then "reversed")
    with pytest.raises(NonNumericError, match="column 'loy_switch', row 3, value 'agree'"):
        inst.reverse_code(pd.DataFrame({"loy_switch": [1, 2, "agree"]}))
    with pytest.raises(ArgumentError, match="not an item"):
        inst.reverse_code(pd.DataFrame({"a": [1]}), columns=["a"])


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(lo=st.integers(-5, 5), width=st.integers(1, 10), data=st.data())
def test_reverse_is_an_involution_onto_the_scale(lo, width, data):
    scale = Scale(lo, lo + width)
    values = data.draw(st.lists(st.integers(lo, lo + width), min_size=1, max_size=20))
    arr = np.asarray(values)
    rev = scale.reverse(arr)
    assert rev.min() >= scale.min and rev.max() <= scale.max
    assert np.array_equal(scale.reverse(rev), arr)
    # reverse-coding flips the order (a correlation of -1 when values vary)
    if len(set(values)) > 1:
        assert np.corrcoef(arr, rev)[0, 1] == pytest.approx(-1.0)


def test_scale_helpers():
    s = Scale(0, 10, {0: "Not at all likely", 10: "Extremely likely"})
    assert s.points == tuple(range(11)) and s.n_points == 11
    assert s.describe() == "0-10 (0 = Not at all likely, 10 = Extremely likely)"
    assert s.expected() == "an integer from 0 to 10"
    c = Scale(0.0, 1.5, integer=False)
    assert c.points == () and c.n_points is None and "continuous" in c.describe()
    with pytest.raises(ArgumentError):
        c.top_box()
    assert Scale(1, 5, {"2": "x"}).labels == {2: "x"}  # TOML-style string keys
    assert re.fullmatch(r"an integer from 1 to 5", Scale(1.0, 5.0).expected())
