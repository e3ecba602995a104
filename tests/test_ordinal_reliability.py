"""Ordinal reliability and HTMT on polychorics (issue 14) against psych/semTools.

References: ``tests/references/reliability/make_ordinal_reliability_references.R`` (psych 2.2.9,
semTools 0.5.6, lavaan 0.6.14) on 600 simulated rows of 5- and 4-point items cut from a latent
normal, with a third, continuous construct.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError
from connection.measurement import htmt, reliability

REF = Path(__file__).parent / "references" / "reliability"
CONS = {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2", "b3"], "c": ["c1", "c2", "c3"]}
ORD = CONS["a"] + CONS["b"]


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF / "ordinal_reliability_data.csv")


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "ordinal_reliability.json").read_text())


@pytest.fixture(scope="module")
def table(data):
    return reliability(data, CONS, ordered=ORD).set_index("construct")


@pytest.mark.parametrize("name", ["a", "b"])
def test_ordinal_alpha_is_psych_std_alpha_on_the_polychorics(table, ref, name):
    # psych::alpha(psych::polychoric(x)$rho): psych's polychorics differ from lavCor's by ~4e-6
    assert table.loc[name, "ordinal_alpha"] == pytest.approx(ref[name]["ordinal_alpha_psych"],
                                                             abs=1e-4)
    assert table.loc[name, "ordinal_alpha"] == pytest.approx(ref[name]["ordinal_alpha_lavcor"],
                                                             abs=1e-6)


@pytest.mark.parametrize("name", ["a", "b"])
def test_categorical_omega_is_semtools_comprelsem_default(table, ref, name):
    # compRelSEM(fit) on cfa(..., ordered = items): Green & Yang (2009), obs.var = TRUE
    r, row = ref[name], table.loc[name]
    assert row["categorical_omega"] == pytest.approx(r["categorical_omega"], abs=1e-4)
    assert row["ordinal_omega"] == pytest.approx(r["latent_omega"], abs=1e-4)
    assert row["ordinal_cr"] == pytest.approx(r["cr"], abs=1e-4)
    assert row["ordinal_ave"] == pytest.approx(r["ave"], abs=1e-4)
    assert row["ordinal_flags"] == ""


def test_categorical_omega_differs_from_the_implied_variant(ref):
    # the reference distinguishes the default (sample polychorics) from obs.var = FALSE
    assert abs(ref["a"]["categorical_omega"] - ref["a"]["categorical_omega_implied"]) > 5e-4


def test_joint_ordinal_model_matches_semtools(data, ref):
    tab = reliability(data, CONS, ordered=ORD, joint=True).set_index("construct")
    for name in "ab":
        assert tab.loc[name, "categorical_omega"] == pytest.approx(
            ref["joint"]["categorical_omega"][name], abs=1e-4)
        assert tab.loc[name, "ordinal_omega"] == pytest.approx(
            ref["joint"]["latent_omega"][name], abs=1e-4)
        assert tab.loc[name, "ordinal_ave"] == pytest.approx(ref["joint"]["ave"][name], abs=1e-4)


def test_continuous_construct_gets_no_ordinal_numbers_and_says_so(table):
    row = table.loc["c"]
    assert np.isnan(row["ordinal_alpha"]) and np.isnan(row["categorical_omega"])
    assert "continuous items" in row["note"]
    assert np.isfinite(row["alpha"]) and np.isfinite(row["omega"])   # the usual columns stay


def test_ordered_true_takes_every_construct(data):
    tab = reliability(data, {k: CONS[k] for k in "ab"}, ordered=True)
    assert tab["ordinal_alpha"].notna().all()


def test_without_ordered_the_table_is_unchanged(data):
    tab = reliability(data, CONS)
    assert not any(c.startswith("ordinal") or c == "categorical_omega" for c in tab.columns)


def test_mixed_construct_is_refused_naming_the_item(data):
    with pytest.raises(ArgumentError, match="mixes ordinal and continuous") as exc:
        reliability(data, CONS, ordered=["a1", "a2", "a3"])
    assert exc.value.column == "a4"
    with pytest.raises(ArgumentError, match="belong to no construct"):
        reliability(data, CONS, ordered=["zz"])


def test_bootstrap_is_of_alpha_only_and_the_note_says_so(data):
    tab = reliability(data, {"b": CONS["b"]}, ordered=True, n_boot=20, seed=1, progress=False)
    assert np.isfinite(tab["alpha_boot_ci_lower"].iloc[0])
    assert "not available for the ordinal" in tab["note"].iloc[0]


def test_unequal_weights_give_na_with_a_note_equal_weights_change_nothing(data):
    w = np.where(np.arange(len(data)) % 2 == 0, 1.0, 2.0)
    tab = reliability(data, {"b": CONS["b"]}, ordered=True, weights=w)
    assert np.isnan(tab["ordinal_alpha"].iloc[0])
    assert "weighted polychoric" in tab["note"].iloc[0]
    plain = reliability(data, {"b": CONS["b"]}, ordered=True)
    ones = reliability(data, {"b": CONS["b"]}, ordered=True, weights=np.ones(len(data)))
    pd.testing.assert_frame_equal(plain, ones)


@pytest.mark.parametrize("method,key", [("htmt", "htmt"), ("htmt2", "htmt2")])
def test_htmt_on_polychorics_matches_semtools(data, ref, method, key):
    # semTools::htmt(model, data, ordered = a and b items): polychoric, polyserial with c
    tab = htmt(data, CONS, ordered=ORD, method=method)
    want = [ref[key][k] for k in ("ab", "ac", "bc")]
    np.testing.assert_allclose(tab["htmt"].to_numpy(), want, atol=1e-4)
    pearson = htmt(data, CONS, method=method)["htmt"].to_numpy()
    assert np.all(np.abs(pearson - tab["htmt"].to_numpy()) > 1e-4)   # it is another matrix


def test_htmt_ordinal_refuses_bootstrap_and_unequal_weights(data):
    with pytest.raises(ArgumentError, match="bootstrap interval is not available"):
        htmt(data, CONS, ordered=ORD, n_boot=10)
    with pytest.raises(ArgumentError, match="weighted polychoric"):
        htmt(data, CONS, ordered=ORD, weights=np.arange(1.0, len(data) + 1))
