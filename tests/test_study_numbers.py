"""Study.number keys (each '.' nests; a key is one value, recorded once) and the flags that
flags_from_warnings makes of the package's warnings (issue 11)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connection.latent as cs
from connection._flags import (
    HEYWOOD,
    LATENT_NOT_PD,
    NEGATIVE_DF,
    NOT_IDENTIFIED,
    POOR_FIT,
    RESIDUAL_NOT_PD,
)
from connection.errors import ArgumentError, ConfigError, PoorFitWarning
from connection.study import Study, as_package_error, flags_from_warnings


@pytest.fixture
def study(tmp_path):
    s = Study("t", tmp_path / "res", verbose=False)
    yield s
    s.abandon()


# --------------------------------------------------------------------------- key collisions
@pytest.mark.parametrize("first,second,named", [
    (("a", 1), ("a.b", 2), "would nest under 'a', which is already recorded as a value"),
    (("a.b", 2), ("a", 1), "is already the group of recorded numbers (e.g. 'a.b')"),
    (("x.a", 1), ("x.a.b.c", 2), "would nest under 'x.a'"),
    (("x.a.b.c", 2), ("x.a", 1), "(e.g. 'x.a.b.c')"),
])
def test_a_key_collision_is_an_argument_error_naming_both_keys(study, first, second, named):
    study.number(*first)
    with pytest.raises(ArgumentError, match="collides|nest|group") as info:
        study.number(*second)
    message = str(info.value)
    assert named in message
    assert repr(first[0]) in message and repr(second[0]) in message
    assert "a '.' in a key nests" in message  # says what to do
    # not the misleading "ConfigError: a required key is missing" of a raw KeyError
    assert as_package_error(info.value) is info.value
    assert not isinstance(as_package_error(info.value), ConfigError)
    # nothing was replaced
    node = study.numbers
    for part in first[0].split("."):
        node = node[part]
    assert node == first[1]


def test_a_value_does_not_silently_replace_a_flagged_group(study):
    study.number("rel.a.omega", 1.2, flags="heywood: x1 ~~ x1 = -0.2")
    with pytest.raises(ArgumentError, match="'rel.a'.*'rel.a.omega'"):
        study.number("rel.a", 0.5)
    assert study.numbers == {"rel": {"a": {"omega": 1.2}}}
    assert list(study.flags()) == ["rel.a.omega"]


def test_a_dict_value_is_one_value_not_a_group(study):
    study.number("cfg", {"b": 1})
    with pytest.raises(ArgumentError, match="would nest under 'cfg'"):
        study.number("cfg.c", 2)
    assert study.numbers == {"cfg": {"b": 1}}


def test_recording_a_key_again_needs_the_same_value_and_flags(study):
    study.number("a", 1.0, flags="heywood: x")
    study.number("a", 1.0, flags="heywood: x")  # the same: nothing changes
    with pytest.raises(ArgumentError, match=r"'a' is recorded twice with another value \(1.0 "):
        study.number("a", 2.0, flags="heywood: x")
    with pytest.raises(ArgumentError, match="another value"):
        study.number("a", 1)  # 1 and 1.0 differ in numbers.json
    with pytest.raises(ArgumentError, match="recorded twice with other flags"):
        study.number("a", 1.0)  # a flag is never dropped by recording the number again
    with pytest.raises(ArgumentError, match="other flags"):
        study.number("a", 1.0, flags="not_converged: y")
    assert study.numbers == {"a": 1.0}
    assert study.flags() == {"a": {"flags": "heywood: x", "accepted": None}}
    study.number("s.nan", float("nan"))
    study.number("s.nan", float("nan"))  # null both times: the same value
    assert study.numbers["s"] == {"nan": None}


def test_a_label_with_a_dot_nests_as_the_paper_cites_it(study, tmp_path):
    """The documented rule: every '.' nests, in Study.number and in the paper's citations."""
    import importlib.util
    import sys
    from pathlib import Path

    study.number("drivers.group 1.5.beta", 0.3)   # a label "group 1.5" becomes two levels
    study.table("t", pd.DataFrame({"x": [1.0]}))
    study.finish()
    numbers = json.loads((tmp_path / "res" / "numbers.json").read_text())
    assert numbers["drivers"] == {"group 1": {"5": {"beta": 0.3}}}
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("_pb_numbers", root / "paper" / "build.py")
    pb = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = pb
    spec.loader.exec_module(pb)
    results = pb.Results(tmp_path)
    assert results.value("res", "drivers.group 1.5.beta", "here") == 0.3
    assert results.errors == []


PARTS = st.sampled_from(["a", "b", "c"])
KEYS = st.lists(PARTS, min_size=1, max_size=3).map(".".join)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(KEYS, st.integers(0, 2)), min_size=1, max_size=8))
def test_property_every_recorded_number_is_in_numbers_json_as_recorded(tmp_path_factory,
                                                                       records):
    """Whatever order keys come in, a recording either goes through or is an ArgumentError, and
    at the end every key that went through reads back from numbers.json with its value (the
    paper's dotted walk): nothing replaced, nothing lost."""
    out = tmp_path_factory.mktemp("n") / "res"
    s = Study("t", out, verbose=False)
    kept: dict[str, int] = {}
    for key, value in records:
        try:
            s.number(key, value)
        except ArgumentError:
            continue
        assert kept.setdefault(key, value) == value
    s.finish()
    numbers = json.loads((out / "numbers.json").read_text())
    for key, value in kept.items():
        node = numbers
        for part in key.split("."):
            node = node[part]
        assert node == value
    # and nothing else: the leaves of numbers.json are exactly the kept keys
    def leaves(node, prefix=""):
        for k, v in node.items():
            if k == "_flags":
                continue
            if isinstance(v, dict):
                yield from leaves(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"
    assert sorted(leaves(numbers)) == sorted(kept)


# --------------------------------------------------------------------------- warnings -> flags
def _stats(cov, names, n=200):
    return {"n": n, "cov": pd.DataFrame(cov, index=names, columns=names)}


def _codes(found):
    return [f.code for f in found]


def test_a_residual_not_pd_warning_becomes_residual_not_pd_not_latent():
    """The engine's Theta warning is a residual_not_pd flag (it was latent_not_pd): the flags
    made from the warnings are the fit's own flags."""
    names = list("abcdeh")
    cov = np.zeros((6, 6))
    cov[np.ix_([0, 2, 4], [0, 2, 4])] = 0.3
    cov[np.ix_([1, 3, 5], [1, 3, 5])] = 0.3
    cov[0, 1] = cov[1, 0] = 0.7
    np.fill_diagonal(cov, 1.0)
    model = "f =~ a + c + e\ng =~ b + d + h\nf ~~ 0*g\na ~~ 0.2*a\nb ~~ 0.2*b\na ~~ b"
    with pytest.warns(Warning, match="Theta"), flags_from_warnings() as found:
        fit = cs.cfa(model, sample_stats=_stats(cov, names))
    assert _codes(fit.flags) == [RESIDUAL_NOT_PD]
    assert _codes(found) == [RESIDUAL_NOT_PD]
    assert "residual covariance matrix (Theta)" in found[0].message


def test_a_latent_not_pd_warning_stays_latent_not_pd():
    cov = np.full((6, 6), 0.5)
    cov[:3, :3] = cov[3:, 3:] = 0.3
    np.fill_diagonal(cov, 1.0)
    names = [f"v{i}" for i in range(1, 7)]
    with pytest.warns(Warning, match="latent variables"), flags_from_warnings() as found:
        fit = cs.cfa("f =~ v1 + v2 + v3\ng =~ v4 + v5 + v6", sample_stats=_stats(cov, names, 300))
    assert _codes(found) == _codes(fit.flags) == [LATENT_NOT_PD]


def test_negative_df_and_singular_information_keep_their_own_codes():
    from connection.latent.datasets import holzinger_swineford

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with flags_from_warnings() as found:
            fit = cs.cfa("f =~ NA*x1 + x2 + x3", holzinger_swineford())
    assert sorted(_codes(found)) == sorted(_codes(fit.flags))
    assert {NOT_IDENTIFIED, NEGATIVE_DF} <= set(_codes(found))


def test_a_heywood_warning_is_still_heywood():
    cov = [[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]]
    with pytest.warns(Warning), flags_from_warnings() as found:
        fit = cs.cfa("f =~ a + b + c", sample_stats=_stats(cov, ["a", "b", "c"]))
    assert _codes(found) == _codes(fit.flags) == [HEYWOOD]


def test_a_poor_fit_warning_becomes_a_poor_fit_flag():
    message = ("advocacy (latent): the latent model fits poorly (CFI (robust) 0.851 < 0.90); "
               "its coefficients describe a model the data reject")
    with pytest.warns(PoorFitWarning), flags_from_warnings() as found:
        warnings.warn(message, PoorFitWarning, stacklevel=1)
    assert _codes(found) == [POOR_FIT]
    assert found[0].message == message


@pytest.mark.parametrize("text,code", [
    ("the residual covariance matrix (Theta) in group 'latent' is not positive definite: "
     "inspect residual covariances in fit.estimates", RESIDUAL_NOT_PD),
    ("the covariance matrix of the latent variables in group 'residual' is not positive "
     "definite: inspect the latent correlations (f, g)", LATENT_NOT_PD),
    ("advocacy (latent): Theta is not positive definite", RESIDUAL_NOT_PD),
    ("a matrix is not positive definite", "other"),
])
def test_not_pd_warnings_are_told_apart_by_what_they_say(text, code):
    from connection.errors import NotPositiveDefiniteWarning

    with pytest.warns(NotPositiveDefiniteWarning), flags_from_warnings() as found:
        warnings.warn(text, NotPositiveDefiniteWarning, stacklevel=1)
    assert _codes(found) == [code]


# ------------------------------------------------------------- Study.number_table (issue 13)
def _table():
    return pd.DataFrame({"category": ["banking", "banking", "ereaders"],
                         "group": ["a", "b", "a"],
                         "omega": [0.81, np.float64(1.2), np.nan],
                         "n": np.array([10, 20, 30], dtype=np.int64),
                         "ok": np.array([True, False, True]),
                         "flags": ["", "heywood: x1 ~~ x1 = -0.1", ""]})


def test_number_table_records_one_key_per_row_and_column_with_the_rows_flags(study):
    count = study.number_table("rel", _table(), key=["category", "group"],
                               columns={"omega": "omega", "n": "size", "ok": "ok"})
    assert count == 9
    # the same numbers, one number() call each, in another study
    numbers = study.numbers["rel"]
    assert numbers["banking"]["a"] == {"omega": 0.81, "size": 10, "ok": True}
    assert numbers["banking"]["b"] == {"omega": 1.2, "size": 20, "ok": False}
    assert numbers["ereaders"]["a"]["omega"] is None         # NaN is null, as number() records it
    assert type(numbers["banking"]["a"]["size"]) is int       # numpy scalars become Python ones
    assert type(numbers["banking"]["a"]["ok"]) is bool
    # the flagged row's numbers carry its flags, and only they do
    assert sorted(study.flags()) == ["rel.banking.b.ok", "rel.banking.b.omega", "rel.banking.b.size"]


def test_number_table_value_records_the_row_key_itself(study):
    study.number_table("n", _table(), key=["category", "group"], value="n", flags_column=None)
    assert study.numbers["n"] == {"banking": {"a": 10, "b": 20}, "ereaders": {"a": 30}}
    assert study.flags() == {}


def test_number_table_equals_number_by_number(tmp_path):
    """number_table is exactly the loop it replaces: numbers.json byte for byte."""
    table = _table()
    a = Study("t", tmp_path / "a", verbose=False)
    a.number_table("rel", table, key=["category", "group"], columns=["omega", "n", "ok"])
    a.finish()
    b = Study("t", tmp_path / "b", verbose=False)
    for r in table.itertuples():
        for column in ("omega", "n", "ok"):
            b.number(f"rel.{r.category}.{r.group}.{column}", getattr(r, column), flags=r.flags)
    b.finish()
    assert (tmp_path / "a" / "numbers.json").read_bytes() == \
        (tmp_path / "b" / "numbers.json").read_bytes()


def test_number_table_refuses_a_row_key_recorded_twice_with_another_value(study):
    with pytest.raises(ArgumentError, match="recorded twice"):
        study.number_table("rel", _table(), key="group", columns=["omega"])  # 'a' twice


@pytest.mark.parametrize("kwargs,text", [
    ({"key": "grup", "columns": ["omega"]}, "no column 'grup'"),
    ({"key": "group", "columns": ["omgea"]}, "no column 'omgea'"),
    ({"key": "group", "value": "omega", "flags_column": "flag"}, "no column 'flag'"),
    ({"key": "group"}, "needs columns= or value="),
    ({"key": "group", "columns": ["n"], "value": "omega"}, "not both"),
])
def test_number_table_refuses_a_missing_column_and_an_unclear_call(study, kwargs, text):
    with pytest.raises(ArgumentError, match=text):
        study.number_table("rel", _table(), **kwargs)
    assert study.numbers == {}
