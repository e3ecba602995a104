"""connection.measurement._reliability against psych / semTools / pingouin (references in tests/references/psych,
made by tests/references/make_reliability_references.R) and against properties that could fail."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection import errors
from connection.measurement._reliability import (
    cronbach_alpha,
    efa,
    fornell_larcker,
    htmt,
    item_statistics,
    parallel_analysis,
    reliability,
)
from connection.stats._bootstrap import bootstrap

REF = Path(__file__).parent / "references"
HS_C = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
PD_C = {"ind60": ["x1", "x2", "x3"], "dem60": ["y1", "y2", "y3", "y4"],
        "dem65": ["y5", "y6", "y7", "y8"]}
CASES = {"hs": ("HolzingerSwineford1939", HS_C), "poldem": ("PoliticalDemocracy", PD_C)}


def _data(case: str) -> tuple[pd.DataFrame, dict]:
    file, constructs = CASES[case]
    return pd.read_csv(REF / "data" / f"{file}.csv"), constructs


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "psych" / name)


@pytest.mark.parametrize("case", ["hs", "poldem"])
def test_alpha_and_feldt_ci_match_psych(case):
    data, constructs = _data(case)
    tab = reliability(data, constructs).set_index("construct")
    ref = _ref(f"{case}_alpha.csv").set_index("construct")
    assert list(tab.index) == list(ref.index)
    np.testing.assert_allclose(tab["alpha"], ref["alpha"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab["alpha_ci_lower"], ref["feldt_lower"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(tab["alpha_ci_upper"], ref["feldt_upper"], rtol=0, atol=1e-10)
    assert (tab["n"] == ref["n"]).all() and (tab["n_items"] == ref["n_items"]).all()


@pytest.mark.parametrize("case", ["hs", "poldem"])
def test_item_statistics_match_psych_alpha_drop(case):
    data, constructs = _data(case)
    got = item_statistics(data, constructs)
    ref = _ref(f"{case}_alpha_items.csv")
    assert got["item"].tolist() == ref["item"].tolist()
    for ours, theirs in [("alpha_if_deleted", "alpha_if_deleted"), ("item_rest_r", "r_drop"),
                         ("item_total_r", "raw_r"), ("mean", "mean"), ("sd", "sd")]:
        np.testing.assert_allclose(got[ours], ref[theirs], rtol=0, atol=1e-10, err_msg=ours)


def test_alpha_matches_pingouin():
    import pingouin as pg

    data, constructs = _data("hs")
    tab = reliability(data, constructs).set_index("construct")
    for name, cols in constructs.items():
        a, ci = pg.cronbach_alpha(data[cols])
        assert tab.loc[name, "alpha"] == pytest.approx(a, abs=1e-12)
        # pingouin rounds its F-based (Feldt) interval to 3 decimals
        assert tab.loc[name, "alpha_ci_lower"] == pytest.approx(ci[0], abs=5e-4)
        assert tab.loc[name, "alpha_ci_upper"] == pytest.approx(ci[1], abs=5e-4)


@pytest.mark.parametrize("case", ["hs", "poldem"])
def test_omega_cr_ave_match_semtools_separate_models(case):
    data, constructs = _data(case)
    tab = reliability(data, constructs).set_index("construct")
    ref = _ref(f"{case}_omega_cr_ave.csv")
    ref = ref[ref["fit"] == "separate"].set_index("construct")
    np.testing.assert_allclose(tab["omega"], ref["omega"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(tab["cr"], ref["cr_std"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(tab["ave"], ref["ave"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("case", ["hs", "poldem"])
def test_omega_cr_ave_match_semtools_joint_model(case):
    data, constructs = _data(case)
    tab = reliability(data, constructs, joint=True).set_index("construct")
    ref = _ref(f"{case}_omega_cr_ave.csv")
    ref = ref[ref["fit"] == "joint"].set_index("construct")
    np.testing.assert_allclose(tab["omega"], ref["omega"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(tab["cr"], ref["cr_std"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(tab["ave"], ref["ave"], rtol=0, atol=1e-5)


def test_fornell_larcker_uses_lavaan_factor_correlations():
    data, constructs = _data("hs")
    fl = fornell_larcker(data, constructs)
    ref = _ref("hs_factor_correlations.csv")
    ave = _ref("hs_omega_cr_ave.csv").query("fit == 'joint'").set_index("construct")["ave"]
    for row in fl.itertuples():
        r = ref[((ref.lhs == row.construct_a) & (ref.rhs == row.construct_b))
                | ((ref.lhs == row.construct_b) & (ref.rhs == row.construct_a))]["est.std"].iloc[0]
        assert row.correlation == pytest.approx(r, abs=1e-3)
        assert row.sqrt_ave_a == pytest.approx(np.sqrt(ave[row.construct_a]), abs=1e-4)
        assert row.holds == (min(row.sqrt_ave_a, row.sqrt_ave_b) > abs(row.correlation))
    assert len(fl) == 3


def test_instrument_and_dict_give_the_same_table():
    from connection.data._instrument import Instrument

    data, constructs = _data("hs")
    inst = Instrument.from_dict({"name": "hs", "constructs": {
        name: {"scale": {"min": 0, "max": 11, "integer": False},
               "items": [{"id": c, "wording": c} for c in cols]}
        for name, cols in constructs.items()}})
    pd.testing.assert_frame_equal(reliability(data, inst), reliability(data, constructs))


@pytest.mark.parametrize("case", ["hs", "poldem"])
@pytest.mark.parametrize("method", ["htmt", "htmt2"])
def test_htmt_matches_semtools(case, method):
    data, constructs = _data(case)
    got = htmt(data, constructs, method=method)
    ref = _ref(f"{case}_{method}.csv")
    for row in got.itertuples():
        r = ref[(ref["row"] == row.construct_b) & (ref["col"] == row.construct_a)]["htmt"]
        if r.empty:
            r = ref[(ref["row"] == row.construct_a) & (ref["col"] == row.construct_b)]["htmt"]
        assert row.htmt == pytest.approx(float(r.iloc[0]), abs=1e-10)
    # verdict: below .85; the HS scales are distinct, democracy 1960 vs 1965 (same scale, twice) not
    assert (got["distinct"] == (got["htmt"] < 0.85)).all()
    assert got["distinct"].all() if case == "hs" else not got["distinct"].all()
    assert len(got) == 3


def test_htmt_bootstrap_counts_equal_rows_mode_replicates():
    """The vectorised weighted-correlation statistic gives exactly the per-replicate HTMT."""
    data, constructs = _data("hs")
    tab = htmt(data, constructs, n_boot=60, seed=11, progress=False)
    cols = [c for cs in constructs.values() for c in cs]

    def per_replicate(frame):
        return htmt(frame, constructs)["htmt"].to_numpy()

    x = data[cols]
    res = bootstrap(per_replicate, x, n_boot=60, seed=11, progress=False)
    ci = res.ci()
    np.testing.assert_allclose(tab["ci_lower"], ci["ci_lower"], atol=1e-10)
    np.testing.assert_allclose(tab["ci_upper"], ci["ci_upper"], atol=1e-10)
    assert (tab["ci_lower"] < tab["htmt"]).all() and (tab["htmt"] < tab["ci_upper"]).all()


def test_alpha_bootstrap_counts_equal_rows_mode_and_is_seeded():
    data, constructs = _data("hs")
    tab = reliability(data, {"speed": constructs["speed"]}, n_boot=80, seed=5, progress=False)
    res = bootstrap(cronbach_alpha, data[constructs["speed"]].to_numpy(), n_boot=80, seed=5,
                    progress=False)
    ci = res.ci()
    assert tab["alpha_boot_ci_lower"].iloc[0] == pytest.approx(ci["ci_lower"].iloc[0], abs=1e-10)
    assert tab["alpha_boot_ci_upper"].iloc[0] == pytest.approx(ci["ci_upper"].iloc[0], abs=1e-10)
    again = reliability(data, {"speed": constructs["speed"]}, n_boot=80, seed=5, progress=False)
    pd.testing.assert_frame_equal(tab, again)
    other = reliability(data, {"speed": constructs["speed"]}, n_boot=80, seed=6, progress=False)
    assert other["alpha_boot_ci_lower"].iloc[0] != tab["alpha_boot_ci_lower"].iloc[0]


def _two_constructs(n, r, rng, k=4):
    f = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=n)
    x = np.repeat(f, k, axis=1) * 0.8 + rng.normal(scale=0.6, size=(n, 2 * k))
    cols = [f"c{i}" for i in range(k)] + [f"s{i}" for i in range(k)]
    return pd.DataFrame(x, columns=cols), {"connection": cols[:k], "satisfaction": cols[k:]}


def test_htmt_recovers_latent_correlation_and_flags_non_distinct_constructs():
    rng = np.random.default_rng(2026)
    data, constructs = _two_constructs(4000, 0.95, rng)
    tab = htmt(data, constructs, n_boot=200, seed=1, progress=False)
    # with equal loadings HTMT estimates the latent correlation
    assert tab["htmt"].iloc[0] == pytest.approx(0.95, abs=0.02)
    assert not tab["distinct"].iloc[0]
    assert tab["finding"].iloc[0].startswith("connection and satisfaction are not distinct")
    data2, _ = _two_constructs(4000, 0.5, rng)
    tab2 = htmt(data2, constructs, n_boot=200, seed=1, progress=False)
    assert tab2["distinct"].iloc[0] and tab2["htmt"].iloc[0] == pytest.approx(0.5, abs=0.04)


@pytest.mark.slow
def test_htmt_bootstrap_2000_reps_n5000_gives_finite_intervals():
    rng = np.random.default_rng(1)
    data, constructs = _two_constructs(5000, 0.6, rng, k=6)
    tab = htmt(data, constructs, n_boot=2000, seed=3, progress=False)
    assert np.isfinite(tab[["ci_lower", "ci_upper"]].to_numpy()).all()


def test_listwise_deletion_is_counted_and_announced():
    data, constructs = _data("hs")
    data = data.copy()
    data.loc[[0, 5, 9], "x2"] = np.nan
    with pytest.warns(errors.ExclusionWarning, match="3 of 301 rows"):
        tab = reliability(data, constructs).set_index("construct")
    assert tab.loc["visual", "n"] == 298 and tab.loc["textual", "n"] == 301
    complete = data.dropna(subset=["x1", "x2", "x3"])
    assert tab.loc["visual", "alpha"] == pytest.approx(cronbach_alpha(complete[["x1", "x2", "x3"]]))


def test_bad_inputs_raise_typed_errors_naming_the_column():
    data, constructs = _data("hs")
    with pytest.raises(errors.MissingColumnError, match="x99"):
        reliability(data, {"visual": ["x1", "x99"]})
    bad = data.copy()
    bad["x3"] = "a"
    with pytest.raises(errors.NonNumericError, match="x3"):
        reliability(bad, constructs)
    const = data.copy()
    const["x5"] = 3.0
    with pytest.raises(errors.NoVarianceError, match="x5"):
        reliability(const, constructs)
    with pytest.raises(errors.NoVarianceError, match="x5"):
        htmt(const, constructs)
    with pytest.raises(errors.ArgumentError):
        htmt(data, {"visual": HS_C["visual"]})


def test_text_columns_are_not_dropped_silently_and_alpha_checks_its_input():
    data, _ = _data("hs")
    items = [f"x{j}" for j in range(1, 10)]
    text = data[items].copy()
    text["x2"] = text["x2"].astype(object)
    text.loc[4, "x2"] = "n/a"   # one text answer makes the column non-numeric
    with pytest.warns(errors.ExclusionWarning, match="not numeric and were left out: x2"):
        pa = parallel_analysis(text, n_iter=5, seed=1)
    assert pa.table["number"].max() == 8   # 8 numeric items used
    with pytest.warns(errors.ExclusionWarning, match="left out: x2"):
        efa(text, 2)
    with pytest.raises(errors.NonNumericError, match="column 'x2', row 5, value 'n/a'"):
        parallel_analysis(text, items=items, n_iter=5, seed=1)
    x = data[["x1", "x2", "x3"]].to_numpy(copy=True)
    x[3, 1] = np.nan
    with pytest.raises(errors.ArgumentError, match="row 4"):
        cronbach_alpha(x)
    with pytest.raises(errors.NoVarianceError):
        cronbach_alpha(np.ones((5, 3)))
    with pytest.raises(errors.ArgumentError, match="at least 2 rows and 2 items"):
        cronbach_alpha(data[["x1"]])


def test_overlapping_constructs_and_bad_settings_are_refused():
    data, _ = _data("hs")
    shared = {"visual": ["x1", "x2", "x3"], "mixed": ["x3", "x4", "x5"]}
    with pytest.raises(errors.ArgumentError, match="column 'x3'"):
        htmt(data, shared)   # x3's correlation with itself (1) entered the heterotrait mean
    with pytest.raises(errors.ArgumentError, match="two constructs"):
        fornell_larcker(data, shared)
    items = [f"x{j}" for j in range(1, 10)]
    with pytest.raises(errors.ArgumentError, match="n_iter"):
        parallel_analysis(data, items=items, n_iter=0)       # was an IndexError
    with pytest.raises(errors.ArgumentError, match="quantile"):
        parallel_analysis(data, items=items, quantile=95)    # was numpy's ValueError
    with pytest.raises(errors.ArgumentError, match="level"):
        htmt(data, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}, level=95)
    for bad in (-1, 2.5):
        with pytest.raises(errors.ArgumentError, match="n_boot"):
            reliability(data, {"visual": ["x1", "x2", "x3"]}, n_boot=bad)
        with pytest.raises(errors.ArgumentError, match="n_boot"):
            htmt(data, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}, n_boot=bad)


def test_infinite_values_and_a_constant_sum_score():
    data, _ = _data("hs")
    inf = data.copy()
    inf.loc[6, "x2"] = np.inf
    with pytest.raises(errors.OutOfRangeError, match="column 'x2', row 7"):   # was "no variance"
        reliability(inf, {"visual": ["x1", "x2", "x3"]})
    with pytest.raises(errors.OutOfRangeError, match="infinite"):
        htmt(inf, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]})
    mirror = pd.DataFrame({"a": data["x1"], "b": 10 - data["x1"]})   # a + b never varies
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        row = reliability(mirror, {"pair": ["a", "b"]}).iloc[0]
    assert np.isnan(row["alpha"]) and "sum score does not vary" in row["note"]


def test_singular_item_correlations_are_named_not_a_linalg_crash():
    data, _ = _data("hs")
    items = data[["x1", "x2", "x3", "x4"]].assign(x5=lambda d: d.x1 + d.x2)   # x5 = x1 + x2
    with pytest.raises(errors.DataError, match=r"singular.*'x1', 'x2'.*'x5'"):
        parallel_analysis(items, n_iter=5, seed=1)   # was numpy's LinAlgError
    with pytest.raises(errors.DataError, match="singular"):
        efa(items, 2)


def test_efa_non_convergence_is_the_packages_filterable_warning():
    noise = pd.DataFrame(np.random.default_rng(0).normal(size=(10, 6)), columns=list("abcdef"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        efa(noise, 3)
    classes = {type(w.message) for w in caught}
    assert errors.ConvergenceWarning in classes   # was statsmodels' own ConvergenceWarning
    assert all(issubclass(c, errors.ConnectionWarning) for c in classes), classes


def test_short_constructs_give_nan_with_a_note():
    data, _ = _data("hs")
    tab = reliability(data, {"pair": ["x1", "x2"], "single": ["x3"]}).set_index("construct")
    assert np.isnan(tab.loc["pair", "omega"]) and "3 items" in tab.loc["pair", "note"]
    assert tab.loc["pair", "alpha"] == pytest.approx(cronbach_alpha(data[["x1", "x2"]]))
    assert np.isnan(tab.loc["single", "alpha"])
    joint = reliability(data, {"pair": ["x1", "x2"], "single": ["x3"], "textual": HS_C["textual"]},
                        joint=True).set_index("construct")
    assert 0 < joint.loc["pair", "omega"] < 1 and np.isnan(joint.loc["single", "omega"])
    assert "at least 2 items" in joint.loc["single", "note"]


# ----------------------------------------------------------------------------- dimensionality

def _match_columns(ours: pd.DataFrame, theirs: pd.DataFrame) -> list[str]:
    """Order of ``theirs``' columns matching ``ours`` (factor order differs between programs)."""
    order = []
    for c in ours.columns:
        corr = {t: abs(np.corrcoef(ours[c], theirs[t])[0, 1]) for t in theirs.columns if t not in order}
        order.append(max(corr, key=corr.get))
    return order


@pytest.mark.parametrize("rotation", ["oblimin", "promax", "varimax"])
def test_efa_matches_psych_fa_ml(rotation):
    data, _ = _data("hs")
    items = [f"x{i}" for i in range(1, 10)]
    res = efa(data, 3, items, rotation=rotation)
    ref = _ref(f"hs_efa_ml_{rotation}_loadings.csv").set_index("item")
    comm = ref.pop("communality")
    order = _match_columns(res.loadings, ref)
    np.testing.assert_allclose(res.loadings.to_numpy(), ref[order].to_numpy(), atol=1e-4)
    np.testing.assert_allclose(res.communalities.to_numpy(), comm.to_numpy(), atol=1e-4)
    if rotation != "varimax":
        phi = _ref(f"hs_efa_ml_{rotation}_phi.csv").set_index("factor")
        np.testing.assert_allclose(res.factor_correlations.to_numpy(),
                                   phi.loc[order, order].to_numpy(), atol=1e-4)
    else:
        np.testing.assert_allclose(res.factor_correlations.to_numpy(), np.eye(3), atol=1e-10)
    tidy = res.to_frame()
    assert list(tidy.columns) == ["item", "factor", "loading", "communality"] and len(tidy) == 27


def test_parallel_analysis_on_hs_matches_psych():
    data, _ = _data("hs")
    ref = json.loads((REF / "psych" / "hs_parallel.json").read_text())
    pa = parallel_analysis(data, [f"x{i}" for i in range(1, 10)], n_iter=200, seed=1)
    obs = pa.table.query("kind == 'pc'")["observed"].to_numpy()
    np.testing.assert_allclose(obs, ref["pc_values"], atol=1e-10)
    assert (pa.n_factors, pa.n_components) == (ref["nfact"], ref["ncomp"]) == (3, 3)
    again = parallel_analysis(data, [f"x{i}" for i in range(1, 10)], n_iter=200, seed=1)
    pd.testing.assert_frame_equal(pa.table, again.table)
    assert "Suggested components: 3" in str(pa.summary())


def test_parallel_analysis_finds_one_factor_and_none_in_noise():
    rng = np.random.default_rng(9)
    f = rng.normal(size=(800, 1))
    one = pd.DataFrame(f * 0.7 + rng.normal(scale=0.7, size=(800, 6)))
    assert parallel_analysis(one, n_iter=40, seed=2).n_factors == 1
    noise = pd.DataFrame(rng.normal(size=(800, 6)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parallel_analysis(noise, n_iter=40, seed=2).n_components == 0


def test_unrecoded_reverse_item_is_named_in_the_note():
    data, _ = _data("hs")
    flipped = data.assign(x2=12 - data["x2"])
    tab = reliability(flipped, {"visual": HS_C["visual"]})
    assert tab["alpha"].iloc[0] < reliability(data, {"visual": HS_C["visual"]})["alpha"].iloc[0]
    assert "negative item-rest correlation for x2" in tab["note"].iloc[0]
    assert reliability(data, HS_C)["note"].eq("").all()


def test_survey_input_uses_its_instrument_and_recoded_data():
    from connection.simulation._population import simulate

    sim = simulate(Path(__file__).parents[1] / "studies" / "social_moms.toml", n=800, seed=4)
    survey = sim.survey()
    tab = reliability(survey).set_index("construct")
    assert list(tab.index) == list(survey.instrument.constructs)
    # read_survey recoded the reverse-keyed loyalty item, so alpha is positive there
    assert tab.loc["loyalty", "alpha"] > 0 and tab.loc["loyalty", "note"].startswith("omega")
    # the same data as a plain DataFrame must say that they are recoded (loyalty is reverse-keyed)
    with pytest.raises(errors.ArgumentError, match="recoded="):
        reliability(survey.data, survey.instrument)
    direct = reliability(survey.data, survey.instrument, recoded=True)
    pd.testing.assert_frame_equal(tab.reset_index(), direct)


def test_item_statistics_refuses_tiny_samples_and_constant_items():
    data, _ = _data("hs")
    scale = {"visual": ["x1", "x2", "x3"]}
    with pytest.raises(errors.ArgumentError, match="fewer than 3 complete rows"):   # NaN means
        item_statistics(data.iloc[:2], scale)
    with pytest.raises(errors.NoVarianceError, match="x2"):   # NaN correlations before
        item_statistics(data.assign(x2=4.0), scale)


def test_htmt_bootstrap_skips_pairs_with_a_single_item_construct():
    from connection.errors import BootstrapWarning

    rng = np.random.default_rng(4)
    f = rng.normal(size=(400, 2))
    data = pd.DataFrame({
        "a1": f[:, 0] + rng.normal(size=400), "a2": f[:, 0] + rng.normal(size=400),
        "b1": f[:, 1] + rng.normal(size=400), "b2": f[:, 1] + rng.normal(size=400),
        "c1": rng.normal(size=400),
    })
    cmap = {"a": ["a1", "a2"], "b": ["b1", "b2"], "c": ["c1"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", BootstrapWarning)  # no replicate may fail
        table = htmt(data, cmap, n_boot=200, seed=1, progress=False)
    ab = table[(table.construct_a == "a") & (table.construct_b == "b")].iloc[0]
    assert ab.ci_lower <= ab.htmt <= ab.ci_upper
    single = table[table.construct_b == "c"]
    assert single["htmt"].isna().all() and single["ci_upper"].isna().all()
