"""connection.latent._polychoric against lavaan::lavCor (references: tests/references/ordinal/)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

from connection._report import Report
from connection.errors import (
    ArgumentError,
    ConnectionWarning,
    DataError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
)
from connection.latent._polychoric import PolychoricResult, bivariate_normal_cdf, polychoric

REF = Path(__file__).parent / "references" / "ordinal"


def _quiet(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConnectionWarning)
        return polychoric(data, **kw)


def _ref(name):
    data = pd.read_csv(REF / f"{name}_data.csv")
    out = {"data": data,
           "cor": pd.read_csv(REF / f"{name}_cor.csv", index_col=0),
           "th": pd.read_csv(REF / f"{name}_thresholds.csv"),
           "pairs": pd.read_csv(REF / f"{name}_correlations.csv"),
           "gamma": pd.read_csv(REF / f"{name}_gamma.csv", index_col=0),
           "info": json.loads((REF / f"{name}.json").read_text())}
    return out


# ---------------------------------------------------------------- bivariate normal CDF

def _phi2_quad(h, k, r):
    f = lambda t: np.exp(-(h * h + k * k - 2 * h * k * np.sin(t)) / (2 * np.cos(t) ** 2))  # noqa: E731
    v, _ = integrate.quad(f, 0, np.arcsin(r), epsabs=1e-15, epsrel=1e-13, limit=200)
    return norm.cdf(h) * norm.cdf(k) + v / (2 * np.pi)


def test_bivariate_normal_cdf_matches_quadrature_including_high_correlations():
    rng = np.random.default_rng(7)
    h = rng.uniform(-3.5, 3.5, 120)
    k = rng.uniform(-3.5, 3.5, 120)
    r = np.concatenate([rng.uniform(-0.9, 0.9, 40), rng.uniform(0.925, 0.999, 40),
                        -rng.uniform(0.925, 0.999, 40)])
    got = bivariate_normal_cdf(h, k, r)
    want = np.array([_phi2_quad(a, b, c) for a, b, c in zip(h, k, r, strict=True)])
    assert np.max(np.abs(got - want)) < 1e-13


def test_bivariate_normal_cdf_closed_forms():
    r = np.array([-0.99, -0.95, -0.5, 0.0, 0.3, 0.93, 0.999])
    assert np.allclose(bivariate_normal_cdf(0.0, 0.0, r), 0.25 + np.arcsin(r) / (2 * np.pi),
                       atol=1e-14, rtol=0)
    # r = 0: product of the margins
    assert bivariate_normal_cdf(0.7, -1.2, 0.0) == pytest.approx(norm.cdf(0.7) * norm.cdf(-1.2),
                                                                 abs=1e-15)


# ---------------------------------------------------------------- lavaan references

@pytest.mark.parametrize("name", ["bfi", "sim5", "zero"])
def test_matches_lavcor(name):
    ref = _ref(name)
    r = _quiet(ref["data"])
    assert r.n == ref["info"]["n"]
    assert r.n_dropped == ref["info"]["rows_dropped"]
    # polychorics (target 1e-4; lavaan's own nlminb tolerance is about 1e-7)
    assert np.max(np.abs(r.correlation.to_numpy() - ref["cor"].to_numpy())) < 1e-6
    assert list(r.correlation.columns) == list(ref["cor"].columns)
    # thresholds and their standard errors
    th = ref["th"]
    assert list(r.thresholds["item"]) == list(th["item"])
    assert list(r.thresholds["threshold"]) == list(th["threshold"])
    assert np.max(np.abs(r.thresholds["est"].to_numpy() - th["est"].to_numpy())) < 1e-10
    assert np.max(np.abs(r.thresholds["se"].to_numpy() - th["se"].to_numpy())) < 1e-8
    # correlation standard errors
    assert list(r.pairs["lhs"]) == list(ref["pairs"]["lhs"])
    assert list(r.pairs["rhs"]) == list(ref["pairs"]["rhs"])
    assert np.max(np.abs(r.pairs["se"].to_numpy() - ref["pairs"]["se"].to_numpy())) < 1e-6
    # Gamma: same labels in the same order, 1e-3 relative asked; we hold 1e-6 of the largest
    g = ref["gamma"]
    assert list(r.gamma.index) == list(g.index) == ref["info"]["wls_obs_names"]
    assert list(r.gamma.columns) == list(g.columns)
    scale = np.abs(g.to_numpy()).max()
    assert np.max(np.abs(r.gamma.to_numpy() - g.to_numpy())) / scale < 1e-6
    assert list(r.wls_obs.index) == ref["info"]["wls_obs_names"]


def test_bfi_missing_rows_dropped_with_a_warning_that_counts_them():
    data = _ref("bfi")["data"]
    with pytest.warns(ExclusionWarning, match=r"168 of 2800 rows dropped \(listwise"):
        r = polychoric(data)
    assert r.n == 2632 and r.n_dropped == 168
    assert any("168 of 2800" in n for n in r.notes)


def test_zero_cells_follow_lavaan_defaults():
    data = _ref("zero")["data"]
    with pytest.warns(ConnectionWarning, match=r"b1~~b2: one empty cell in the 2 x 2 table; 0.5 added"):
        r = polychoric(data)
    pairs = r.pairs.set_index(["lhs", "rhs"])
    assert pairs.loc[("b1", "b2"), "empty_cells"] == 1
    assert "0.5 added" in pairs.loc[("b1", "b2"), "note"]
    # the 2 x 3 table b2 x t3 has an empty cell and gets nothing added (zero.add[2] = 0)
    assert pairs.loc[("b2", "t3"), "empty_cells"] == 1
    assert pairs.loc[("b2", "t3"), "note"] == ""
    cor = _ref("zero")["cor"]
    assert r.correlation.loc["b2", "t3"] == pytest.approx(cor.loc["b2", "t3"], abs=1e-6)


def test_zero_cells_that_break_a_polychoric_stop_at_lavaans_bound_with_a_warning():
    data = pd.read_csv(REF / "bound_data.csv")
    ref = pd.read_csv(REF / "bound_cor.csv", index_col=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = polychoric(data)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConnectionWarning)]
    assert any(m.startswith("b1~~t3: the correlation reached lavaan's bound +0.999")
               for m in messages)
    assert any(m.startswith("b2~~t3: the correlation reached") for m in messages)
    assert np.max(np.abs(r.correlation.to_numpy() - ref.to_numpy())) < 1e-6
    assert r.correlation.loc["b1", "t3"] == 0.999


def test_two_empty_cells_in_a_2x2_table_give_minus_one_as_lavaan():
    d = pd.DataFrame({"a": [1] * 10 + [2] * 15, "b": [2] * 10 + [1] * 15,
                      "c": [1, 2] * 12 + [1]})
    with pytest.warns(ConnectionWarning, match="two empty cells"):
        r = polychoric(d)
    assert r.correlation.loc["a", "b"] == -1.0
    assert np.isnan(r.gamma.loc["a~~b"]).all()
    assert np.isfinite(r.gamma.loc["a~~c", "a~~c"])


# ---------------------------------------------------------------- properties

def _sim(n=400, p=4, seed=3, cuts=(-1.0, -0.2, 0.5, 1.3)):
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal(n)
    ys = 0.7 * eta[:, None] + np.sqrt(1 - 0.49) * rng.standard_normal((n, p))
    return pd.DataFrame(np.digitize(ys, cuts) + 1, columns=[f"y{j + 1}" for j in range(p)])


def test_codes_only_matter_through_their_order():
    d = _sim()
    r = _quiet(d)
    recoded = d.replace({1: -3, 2: 0, 3: 7, 4: 8, 5: 40})
    r2 = _quiet(recoded)
    assert np.allclose(r.correlation, r2.correlation, atol=1e-12)
    assert np.allclose(r.gamma, r2.gamma, atol=1e-10)
    assert r2.categories["y1"] == (-3, 0, 7, 8, 40)


def test_reversing_an_item_flips_its_correlations_and_thresholds():
    d = _sim()
    r = _quiet(d)
    rev = d.assign(y2=6 - d["y2"])
    r2 = _quiet(rev)
    sign = np.ones(4)
    sign[1] = -1
    assert np.allclose(r2.correlation, r.correlation * np.outer(sign, sign), atol=1e-9)
    t = r.thresholds.query("item == 'y2'")["est"].to_numpy()
    t2 = r2.thresholds.query("item == 'y2'")["est"].to_numpy()
    assert np.allclose(t2, -t[::-1], atol=1e-12)


def test_item_order_permutes_the_result():
    d = _sim()
    r = _quiet(d)
    r2 = _quiet(d, items=["y3", "y1", "y4", "y2"])
    assert np.allclose(r2.correlation.loc[r.items, r.items], r.correlation, atol=1e-12)
    assert list(r2.gamma.index[:4]) == ["y3|t1", "y3|t2", "y3|t3", "y3|t4"]
    assert r2.gamma.index[16] == "y3~~y1"
    assert r2.gamma.loc["y1~~y2", "y3|t2"] == pytest.approx(r.gamma.loc["y1~~y2", "y3|t2"],
                                                            abs=1e-10)


def test_unused_code_is_not_a_category_and_gamma_is_positive_definite():
    d = _sim().replace({3: 4})          # codes 1, 2, 4, 5: four categories, three thresholds
    r = _quiet(d)
    assert r.categories["y1"] == (1, 2, 4, 5)
    assert (r.thresholds["item"] == "y1").sum() == 3
    g = r.gamma.to_numpy()
    assert np.allclose(g, g.T)
    assert np.linalg.eigvalsh(g).min() > 0


def test_gamma_false_skips_standard_errors():
    r = _quiet(_sim(), gamma=False)
    assert r.thresholds["se"].isna().all() and r.pairs["se"].isna().all()
    assert np.isnan(r.gamma.to_numpy()).all()
    assert np.allclose(r.correlation, _quiet(_sim()).correlation)


def test_result_is_frozen_and_displays():
    r = _quiet(_sim())
    assert isinstance(r, PolychoricResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n = 3
    assert repr(r) == "<PolychoricResult: 4 items, n = 400, 16 thresholds, 6 correlations, 0 notes>"
    report = r.summary()
    assert isinstance(report, Report)
    assert dict(report.header)["Rows used"] == 400
    assert [t.caption for t in report.tables] == ["Correlations", "Pairs", "Thresholds"]
    np.testing.assert_array_equal(report.tables[0].frame.to_numpy(), r.correlation.to_numpy())
    text = str(report)
    assert "Rows used" in text and "Thresholds" in text and "y4" in text
    assert r._repr_html_() == report.as_html() and "<table" in r._repr_html_()
    pd.testing.assert_frame_equal(r.to_frame(), r.pairs)


def test_numpy_array_input_gets_lavaan_style_names():
    r = _quiet(_sim().to_numpy())
    assert r.items == ("V1", "V2", "V3", "V4")


# ---------------------------------------------------------------- bad input

def test_single_observed_category_names_the_item():
    d = _sim().assign(y3=2)
    with pytest.raises(NoVarianceError, match=r"single observed category.*column 'y3'"):
        polychoric(d)


def test_single_category_after_listwise_deletion():
    d = _sim(n=20)
    d["y4"] = [1.0] * 18 + [2.0, 2.0]
    d.loc[18:, "y1"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        with pytest.raises(NoVarianceError, match="y4"):
            polychoric(d)


def test_non_integer_codes_are_refused_with_rows_and_values():
    d = _sim().astype(float)
    d.loc[4, "y2"] = 2.5
    with pytest.raises(DataError, match=r"not integers \[column 'y2', row 5, value 2.5"):
        polychoric(d)


def test_text_codes_are_refused():
    d = _sim().astype(object)
    d.loc[0, "y1"] = "agree"
    with pytest.raises(NonNumericError, match=r"column 'y1', row 1, value 'agree'"):
        polychoric(d)


def test_more_than_20_categories_says_treat_as_continuous():
    d = _sim()
    d["y1"] = np.arange(len(d)) % 25
    with pytest.raises(DataError, match=r"25 observed categories.*treat the item as continuous"):
        polychoric(d)
    r = _quiet(d, max_categories=30)
    assert (r.thresholds["item"] == "y1").sum() == 24


def test_argument_errors():
    d = _sim()
    with pytest.raises(MissingColumnError, match="nope"):
        polychoric(d, items=["y1", "nope"])
    with pytest.raises(ArgumentError, match="at least 2 items"):
        polychoric(d, items=["y1"])
    with pytest.raises(ArgumentError, match="more than once"):
        polychoric(d, items=["y1", "y1", "y2"])
    with pytest.raises(ArgumentError, match="DataFrame"):
        polychoric([[1, 2], [2, 1]])
    with pytest.raises(ArgumentError, match="max_categories"):
        polychoric(d, max_categories=1)


def test_all_rows_incomplete():
    d = _sim(n=10).astype(float)
    d.loc[:, "y1"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        with pytest.raises(DataError, match="fewer than 2 rows are complete"):
            polychoric(d)


def test_input_frame_is_not_changed():
    d = _sim().astype(float)
    d.loc[3, "y1"] = np.nan
    before = d.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        polychoric(d)
    pd.testing.assert_frame_equal(d, before)


# ---------------------------------------------------------------- continuous variables

MIXED_ORD = ["x2", "x3", "x5", "x7"]
MIXED_CONT = ["x1", "x4", "x9"]


def test_polyserial_and_pearson_match_lavcor():
    data = pd.read_csv(REF / "mixed_data.csv")
    ref = pd.read_csv(REF / "mixed_cor.csv", index_col=0)
    th = pd.read_csv(REF / "mixed_th.csv")
    r = polychoric(data, items=MIXED_ORD, continuous=MIXED_CONT, gamma=False)
    assert list(r.correlation.columns) == MIXED_ORD + MIXED_CONT
    got = r.correlation.loc[ref.index, ref.columns].to_numpy()
    assert np.max(np.abs(got - ref.to_numpy())) < 1e-6
    names = (r.thresholds["item"] + "|" + r.thresholds["threshold"]).tolist()
    assert names == th["name"].tolist()
    assert np.max(np.abs(r.thresholds["est"].to_numpy() - th["est"].to_numpy())) < 1e-10
    types = r.pairs.set_index(["lhs", "rhs"])["type"]
    assert types[("x2", "x3")] == "polychoric"
    assert types[("x2", "x1")] == "polyserial"
    assert types[("x1", "x4")] == "pearson"
    # items=None takes every column not named continuous
    r2 = polychoric(data, continuous=MIXED_CONT, gamma=False)
    assert r2.items == ("x2", "x3", "x5", "x7")
    assert repr(r2).startswith("<PolychoricResult: 4 items + 3 continuous, n = 301")


def _mixgamma():
    ref = json.loads((REF / "mixgamma.json").read_text())
    data = pd.read_csv(REF / ref["data"])
    return ref, data


def test_continuous_gamma_matches_lavcor():
    """Gamma with continuous variables: lavaan's labels, order and values (lavCor on the
    items then the continuous variables; the data's columns interleave the two kinds)."""
    ref, data = _mixgamma()
    with pytest.warns(ExclusionWarning, match="5 of 600 rows"):
        r = polychoric(data, items=ref["items"], continuous=ref["continuous"])
    assert r.n == ref["n"] and r.n_dropped == ref["rows_dropped"]
    assert list(r.gamma.index) == ref["wls_obs"]["names"] == list(r.gamma.columns)
    expected = np.array(ref["gamma"])
    assert np.max(np.abs(r.gamma.to_numpy() - expected)) < 1e-4
    np.testing.assert_allclose(r.wls_obs.to_numpy(), ref["wls_obs"]["values"], atol=1e-6)
    cor = pd.DataFrame(ref["cor"]["values"], index=ref["cor"]["names"],
                       columns=ref["cor"]["names"])
    got = r.correlation.loc[cor.index, cor.columns].to_numpy()
    assert np.max(np.abs(got - cor.to_numpy())) < 1e-6
    th_names = (r.thresholds["item"] + "|" + r.thresholds["threshold"]).tolist()
    assert th_names == ref["thresholds"]["names"]
    np.testing.assert_allclose(r.thresholds["est"], ref["thresholds"]["est"], atol=1e-8)
    np.testing.assert_allclose(r.thresholds["se"], list(ref["se_thresholds"].values()),
                               atol=1e-6)
    se = r.pairs.set_index(r.pairs["lhs"] + "~~" + r.pairs["rhs"])["se"]
    for name, value in {**ref["se_polychoric"], **ref["se_cor"]}.items():
        assert se[name] == pytest.approx(value, abs=1e-6), name
    # the continuous variables' means and variances (divisor N), with lavaan's wls.obs
    obs = dict(zip(ref["wls_obs"]["names"], ref["wls_obs"]["values"], strict=True))
    mo = r.moments.set_index(["variable", "statistic"])
    for v in ref["continuous"]:
        assert mo.loc[(v, "mean"), "est"] == pytest.approx(-obs[f"{v}~1"], abs=1e-6)
        assert mo.loc[(v, "var"), "est"] == pytest.approx(obs[f"{v}~~{v}"], abs=1e-6)
        k = ref["wls_obs"]["names"].index(f"{v}~~{v}")
        assert mo.loc[(v, "var"), "se"] == pytest.approx(
            np.sqrt(expected[k, k] / (ref["n"] - 1)), rel=1e-5)
    assert "Continuous variables" in str(r.summary())


def test_continuous_without_gamma_has_the_same_statistics_and_no_standard_errors():
    ref, data = _mixgamma()
    with pytest.warns(ExclusionWarning):
        r = polychoric(data, items=ref["items"], continuous=ref["continuous"], gamma=False)
    assert list(r.gamma.index) == ref["wls_obs"]["names"]
    assert r.gamma.isna().all().all() and r.pairs["se"].isna().all()
    assert r.moments["se"].isna().all() and len(r.moments) == 4
    np.testing.assert_allclose(r.wls_obs.to_numpy(), ref["wls_obs"]["values"], atol=1e-6)
    # the items only: no moments, wls_obs as before
    plain = polychoric(data.dropna(), items=ref["items"], gamma=False)
    assert plain.moments.empty and len(plain.wls_obs) == 16 + 6


def test_two_valued_continuous_variable_with_gamma_is_refused_naming_it():
    """A 0/1 column as a continuous variable: its mean and variance scores are collinear and
    Muthen's sandwich cannot be built (was a bare LinAlgError: Singular matrix)."""
    ref, data = _mixgamma()
    data = data.dropna().assign(d=lambda x: np.arange(len(x)) % 2)
    with pytest.raises(DataError, match="two values") as err:
        polychoric(data, items=ref["items"], continuous=["c1", "d"])
    assert err.value.column == "d"
    r = polychoric(data, items=ref["items"], continuous=["c1", "d"], gamma=False)
    assert r.correlation.shape == (6, 6)


def test_continuous_bad_input():
    data = pd.read_csv(REF / "mixed_data.csv")
    with pytest.raises(ArgumentError, match=r"both as an ordinal item and as continuous.*'x2'"):
        polychoric(data, items=MIXED_ORD, continuous=["x2"], gamma=False)
    with pytest.raises(NoVarianceError, match=r"continuous variable is constant.*column 'x1'"):
        polychoric(data.assign(x1=3.0), items=MIXED_ORD, continuous=["x1"], gamma=False)
    bad = data.astype({"x4": object})
    bad.loc[2, "x4"] = "n/a"
    with pytest.raises(NonNumericError, match=r"a continuous variable holds .*row 3, value 'n/a'"):
        polychoric(bad, items=MIXED_ORD, continuous=["x4"], gamma=False)
    # fractional values are fine for a continuous variable
    r = polychoric(data, items=MIXED_ORD, continuous=["x1"], gamma=False)
    assert r.correlation.shape == (5, 5)


def test_polyserial_in_blocks_gives_the_same(monkeypatch):
    import connection.latent._polychoric as mod

    data = pd.read_csv(REF / "mixed_data.csv")
    whole = polychoric(data, items=MIXED_ORD, continuous=MIXED_CONT, gamma=False)
    monkeypatch.setattr(mod, "_PAIR_VALUES", 2 * len(data))       # two pairs per block
    blocks = polychoric(data, items=MIXED_ORD, continuous=MIXED_CONT, gamma=False)
    pd.testing.assert_frame_equal(whole.correlation, blocks.correlation)


def test_ordered_categorical_and_nullable_integers():
    d = _sim(n=200, p=3)
    r = _quiet(d)
    labels = ["sd", "d", "n", "a", "sa"]
    cat = d.apply(lambda c: pd.Categorical.from_codes(c - 1, categories=labels, ordered=True))
    rc = _quiet(cat)
    assert np.allclose(rc.correlation, r.correlation, atol=1e-12)
    assert rc.categories["y1"] == tuple(labels[v - 1] for v in sorted(d["y1"].unique()))
    unordered = cat.astype(str).astype("category")
    with pytest.raises(NonNumericError, match="ordered pandas Categorical"):
        polychoric(unordered)
    nullable = d.astype("Int64")
    nullable.loc[5, "y2"] = pd.NA
    with pytest.warns(ExclusionWarning, match=r"1 of 200 rows dropped .*rows 6; missing per item: y2 1"):
        rn = polychoric(nullable)
    assert rn.n == 199


# ---------------------------------------------------------------- where lavaan stops short

def _lavaan_logl(name):
    ref = json.loads((REF / f"{name}.json").read_text())
    return float(np.ravel(ref["lavcor"])[0]), np.array(ref["rho"]), np.array(ref["logl"])


def test_plateau_where_lavaan_stops_at_the_bound_we_take_its_likelihood_maximum():
    # lavCor says 0.999 (with its "(nearly) 1.0" warning), but lavaan's own log-likelihood is
    # 84 units higher near 0.961: our estimate is the maximum of lavaan's likelihood.
    data = pd.read_csv(REF / "plateau1_data.csv")
    lavcor, grid, logl = _lavaan_logl("plateau1")
    r = polychoric(data)
    est = r.correlation.loc["a", "b"]
    assert lavcor == 0.999
    assert abs(est - grid[np.argmax(logl)]) <= 0.0005
    assert logl.max() - logl[grid == lavcor][0] > 50


def test_likelihood_rising_to_the_bound_gives_the_bound_with_a_warning():
    # lavaan's log-likelihood rises (by less than 1e-6) all the way to the bound; lavCor stops at
    # 0.939 where its tolerance is met. We take the bound and say so.
    data = pd.read_csv(REF / "plateau2_data.csv")
    lavcor, grid, logl = _lavaan_logl("plateau2")
    with pytest.warns(ConnectionWarning, match=r"a~~b: the correlation reached lavaan's bound \+0.999"):
        r = polychoric(data)
    assert r.correlation.loc["a", "b"] == 0.999
    assert logl[grid == 0.999][0] >= logl[np.isclose(grid, lavcor)][0]
    assert logl.max() - logl[grid == 0.999][0] < 1e-6
