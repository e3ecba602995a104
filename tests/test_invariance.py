"""connection.latent._invariance against lavaan 0.6.14 / semTools on HolzingerSwineford1939 by school
(tests/references/lavaan/hs_mg_school_* from the shared reference script; tests/references/psych/
hs_mg_school_* from make_reliability_references.R), and against simulated truth.

Tolerances as the engine's: estimates and SEs 1e-3 absolute; chi-square and fit measures 1e-3
relative."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import errors
from connection._report import Report
from connection.latent._invariance import invariance

REF = Path(__file__).parent / "references"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
REL = 1e-3
ABS = 1e-3


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def ladder_ml(hs):
    return invariance(HS_MODEL, hs, "school", partial=None, stop=False)


def test_ml_ladder_matches_lavaan(ladder_ml):
    ref = json.loads((REF / "lavaan" / "hs_mg_school_invariance.json").read_text())
    tab = ladder_ml.table.set_index("step")
    for step in ("configural", "metric", "scalar"):
        for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr"):
            assert tab.loc[step, k] == pytest.approx(ref["fit"][step][k], rel=REL), (step, k)
    assert tab.loc["metric", "delta_cfi"] == pytest.approx(
        ref["delta_cfi"]["metric_vs_configural"], abs=1e-5)
    assert tab.loc["scalar", "delta_rmsea"] == pytest.approx(
        ref["delta_rmsea"]["scalar_vs_metric"], abs=1e-5)
    assert ladder_ml.groups == ref["group_labels"] == ["Pasteur", "Grant-White"]


def test_ml_chisq_differences_match_lavtestlrt(ladder_ml):
    lrt = pd.read_csv(REF / "lavaan" / "hs_mg_school_lrt.csv").set_index("model")
    strict = pd.read_csv(REF / "psych" / "hs_mg_school_ladder_ml_lrt.csv").set_index("step")
    tab = ladder_ml.table.set_index("step")
    for step in ("metric", "scalar"):
        assert tab.loc[step, "delta_chisq"] == pytest.approx(lrt.loc[step, "Chisq diff"], rel=REL)
        assert tab.loc[step, "delta_df"] == lrt.loc[step, "Df diff"]
        assert tab.loc[step, "p_delta"] == pytest.approx(lrt.loc[step, "Pr(>Chisq)"], rel=REL)
    assert tab.loc["strict", "delta_chisq"] == pytest.approx(strict.loc["strict", "Chisq diff"],
                                                             rel=REL)
    assert tab.loc["strict", "delta_df"] == 9
    fit = pd.read_csv(REF / "psych" / "hs_mg_school_ladder_ml_fit.csv").set_index("step")
    for k in ("chisq", "df", "cfi", "rmsea", "srmr", "npar"):
        assert tab.loc["strict", k] == pytest.approx(fit.loc["strict", k], rel=REL), k


def test_mlr_ladder_matches_lavaan_scaled_tests(hs):
    inv = invariance(HS_MODEL, hs, "school", estimator="MLR", partial=None, stop=False)
    tab = inv.table.set_index("step")
    fit = pd.read_csv(REF / "psych" / "hs_mg_school_ladder_mlr_fit.csv").set_index("step")
    lrt = pd.read_csv(REF / "psych" / "hs_mg_school_ladder_mlr_lrt.csv").set_index("step")
    for step in ("configural", "metric", "scalar", "strict"):
        assert tab.loc[step, "chisq"] == pytest.approx(fit.loc[step, "chisq.scaled"], rel=REL)
        assert tab.loc[step, "chisq_ml"] == pytest.approx(fit.loc[step, "chisq"], rel=REL)
        assert tab.loc[step, "scaling_factor"] == pytest.approx(
            fit.loc[step, "chisq.scaling.factor"], rel=REL)
        assert tab.loc[step, "cfi"] == pytest.approx(fit.loc[step, "cfi.robust"], rel=REL)
        assert tab.loc[step, "rmsea"] == pytest.approx(fit.loc[step, "rmsea.robust"], rel=REL)
        assert tab.loc[step, "srmr"] == pytest.approx(fit.loc[step, "srmr"], rel=REL)
    for step in ("metric", "scalar", "strict"):
        # Satorra-Bentler (2001) scaled difference, lavTestLRT's default for MLR
        assert tab.loc[step, "delta_chisq"] == pytest.approx(lrt.loc[step, "Chisq diff"], rel=REL)
        assert tab.loc[step, "p_delta"] == pytest.approx(lrt.loc[step, "Pr(>Chisq)"], rel=REL)
    assert inv.estimator == "MLR"


def test_chen_verdicts_and_stopping(hs):
    inv = invariance(HS_MODEL, hs, "school", partial=None)
    tab = inv.table.set_index("step")
    # metric: delta CFI -0.0025 >= -0.010 -> holds; scalar: delta CFI -0.038 -> does not
    assert bool(tab.loc["configural", "holds"]) and bool(tab.loc["metric", "holds"])
    assert not bool(tab.loc["scalar", "holds"])
    assert pd.isna(tab.loc["strict", "holds"]) and np.isnan(tab.loc["strict", "chisq"])
    assert "not tested" in tab.loc["strict", "verdict"]
    assert tab.loc["scalar", "cutoff_cfi"] == -0.010 and tab.loc["scalar", "cutoff_srmr"] == 0.010
    assert tab.loc["metric", "cutoff_srmr"] == 0.030
    assert "scalar invariance (equal intercepts) does not hold" in tab.loc["scalar", "verdict"]
    assert inv.strongest == "metric" and inv.latent_means.empty
    assert any("not comparable" in n for n in inv.notes)
    report = inv.summary()
    assert isinstance(report, Report)
    assert dict(report.header)["Strongest level that holds"] == "metric"
    assert "Strongest level that holds: metric" in str(report)
    assert inv._repr_html_() == report.as_html() and "<table" in inv._repr_html_()
    latex = inv.to_latex()
    assert latex == report.as_latex()
    assert "\\begin{tabular}" in latex and "not tested" in latex and "metric" in latex
    pd.testing.assert_frame_equal(inv.to_frame(), inv.table)
    # by the chi-square criterion metric holds (p = .224) and scalar does not
    by_chisq = invariance(HS_MODEL, hs, "school", partial=None, criterion="chisq",
                          levels=("configural", "metric", "scalar"))
    assert by_chisq.table["holds"].tolist() == [True, True, False]


def test_latent_means_under_scalar_match_lavaan(hs):
    inv = invariance(HS_MODEL, hs, "school", partial=None, levels=("configural", "metric", "scalar"),
                     latent_means_at="scalar")
    ref = pd.read_csv(REF / "lavaan" / "hs_mg_school_scalar_latent_means.csv")
    ref = ref.rename(columns=lambda c: c.replace(".", "_"))
    lm = inv.latent_means
    for r in ref.itertuples():
        row = lm[(lm["group"] == r.group_label) & (lm["factor"] == r.lhs)].iloc[0]
        assert row["mean"] == pytest.approx(r.est, abs=ABS)
        assert row["se"] == pytest.approx(r.se, abs=ABS)
        assert row["std_lv"] == pytest.approx(r.std_lv, abs=ABS)
    assert any("does not hold" in n for n in inv.notes)
    assert (lm.loc[lm["group"] == "Pasteur", "d"] == 0).all()


def test_user_partial_scalar_matches_lavaan_group_partial(hs):
    ref = json.loads((REF / "psych" / "hs_mg_school_partial_scalar.json").read_text())
    inv = invariance(HS_MODEL, hs, "school", partial=["x3 ~1", "x7 ~1"],
                     levels=("configural", "metric", "scalar"))
    tab = inv.table.set_index("step")
    for k in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "npar"):
        assert tab.loc["scalar", k] == pytest.approx(ref["fit"][k], rel=REL), k
    assert bool(tab.loc["scalar", "holds"]) and inv.strongest == "scalar"
    lm = inv.latent_means
    for r in ref["latent_means"]:
        if r["group"] == 2:
            row = lm[(lm["group"] == "Grant-White") & (lm["factor"] == r["lhs"])].iloc[0]
            assert row["mean"] == pytest.approx(r["est"], abs=ABS)
            assert row["se"] == pytest.approx(r["se"], abs=ABS)
    assert inv.partial["parameter"].tolist() == ["x3 ~1", "x7 ~1"]


def test_auto_partial_frees_the_intercepts_lavtestscore_flags(hs):
    scores = pd.read_csv(REF / "psych" / "hs_mg_school_scalar_score_tests.csv")
    inv = invariance(HS_MODEL, hs, "school", levels=("configural", "metric", "scalar"))
    first = inv.partial.iloc[0]
    top = scores.sort_values("X2", ascending=False).iloc[0]
    assert first["parameter"].replace(" ", "") == top["parameter"].replace(" ", "") == "x3~1"
    assert first["x2"] == pytest.approx(top["X2"], rel=REL)
    tab = inv.table.set_index("step")
    assert bool(tab.loc["scalar (partial)", "holds"])
    assert inv.strongest == "scalar" and inv.strongest_step == "scalar (partial)"
    assert not inv.latent_means.empty
    # the search freed x3 then x7, which is lavaan's group.partial = c("x3~1", "x7~1") fit
    assert inv.partial["parameter"].tolist() == ["x3 ~1", "x7 ~1"]
    ref = json.loads((REF / "psych" / "hs_mg_school_partial_scalar.json").read_text())
    row = tab.loc["scalar (partial)"]
    for k in ("chisq", "df", "cfi", "rmsea", "srmr"):
        assert row[k] == pytest.approx(ref["fit"][k], rel=REL), k
    assert row["partial"] == "x3 ~1, x7 ~1" and row["level"] == "scalar"
    assert "partial scalar invariance (equal intercepts) holds after freeing" in row["verdict"]


def test_failed_full_step_is_shown_above_the_partial_step_that_holds(hs):
    """Issue 13: the full scalar step (every intercept equal) that failed is a row of the table,
    with lavaan's numbers for group.equal = c("loadings", "intercepts"), and the partial model
    that holds follows it, with the freed parameters; both are compared with the metric step."""
    inv = invariance(HS_MODEL, hs, "school", levels=("configural", "metric", "scalar"))
    assert inv.table["step"].tolist() == ["configural", "metric", "scalar", "scalar (partial)"]
    assert inv.table["level"].tolist() == ["configural", "metric", "scalar", "scalar"]
    tab = inv.table.set_index("step")
    full = json.loads((REF / "lavaan" / "hs_mg_school_invariance.json").read_text())["fit"]
    for k in ("chisq", "df", "cfi", "rmsea", "srmr"):
        assert tab.loc["scalar", k] == pytest.approx(full["scalar"][k], rel=REL), k
    assert tab.loc["scalar", "delta_cfi"] == pytest.approx(
        full["scalar"]["cfi"] - full["metric"]["cfi"], abs=1e-5)
    assert not bool(tab.loc["scalar", "holds"]) and tab.loc["scalar", "partial"] == ""
    assert "does not hold" in tab.loc["scalar", "verdict"]
    assert "partial invariance is sought in the next row" in tab.loc["scalar", "verdict"]
    assert bool(tab.loc["scalar (partial)", "holds"])
    assert tab.loc["scalar (partial)", "partial"] == "x3 ~1, x7 ~1"
    assert tab.loc["scalar", "compared_with"] == tab.loc["scalar (partial)", "compared_with"] \
        == "metric"
    assert tab.loc["scalar (partial)", "df"] == tab.loc["scalar", "df"] - 2
    # each row has its own fit; the latent means come from the partial model
    assert set(inv.fits) == {"configural", "metric", "scalar", "scalar (partial)"}
    assert inv.fits["scalar"].fit_measures["chisq"] == pytest.approx(tab.loc["scalar", "chisq"])
    partial_means = inv.fits["scalar (partial)"].estimates.query("op == '~1' and lhs == 'visual'")
    assert inv.latent_means.query("factor == 'visual'")["mean"].tolist() == pytest.approx(
        partial_means["est"].tolist())
    # the summary shows both rows
    ladder = inv.summary().tables[0].frame
    assert ladder["step"].tolist()[-2:] == ["scalar", "scalar (partial)"]
    assert ladder["holds"].tolist()[-2:] == ["no", "yes"]
    # the layout before issue 13 (one row per level, the partial model under the level's name)
    old = inv.ladder
    assert old["step"].tolist() == ["configural", "metric", "scalar"]
    assert old.set_index("step").loc["scalar", "chisq"] == tab.loc["scalar (partial)", "chisq"]


def test_a_step_the_search_cannot_rescue_is_not_carried_on():
    """Freed constraints that do not rescue a step leave the partial row with holds False; the
    ladder stops there and the next step is not tested."""
    data = _simulate(400, ["a", "b"], seed=2, loadings=(1.0, 0.8, 0.9, 0.7))
    for item, shift in (("i2", 0.9), ("i3", -0.8), ("i4", 0.7)):
        data.loc[data["segment"] == "b", item] += shift
    inv = invariance(MODEL4, data, "segment", max_free=1)
    tab = inv.table.set_index("step")
    assert not bool(tab.loc["scalar", "holds"])
    assert not bool(tab.loc["scalar (partial)", "holds"])
    assert len(tab.loc["scalar (partial)", "partial"].split(", ")) == 1
    assert pd.isna(tab.loc["strict", "holds"]) and inv.strongest == "metric"
    assert inv.strongest_step == "metric" and inv.latent_means.empty


def test_score_tests_used_for_partial_match_lavtestscore(hs):
    from connection.latent import cfa
    from connection.latent._invariance import _score_tests

    fit = cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    ref = pd.read_csv(REF / "psych" / "hs_mg_school_scalar_score_tests.csv")
    ref["parameter"] = ref["parameter"].str.replace(" ", "")
    for op in ("~1", "=~"):
        got = _score_tests(fit, op, set())
        theirs = ref[ref["parameter"].str.contains(op, regex=False)].set_index("parameter")["X2"]
        assert len(got) == len(theirs) > 0
        for r in got.itertuples():
            assert r.x2 == pytest.approx(theirs[r.parameter.replace(" ", "")], rel=REL)
        assert list(got["x2"]) == sorted(got["x2"], reverse=True)
    assert _score_tests(fit, "~1", {"x3 ~1"})["parameter"].iloc[0] == "x7 ~1"


# ----------------------------------------------------------------------------- simulated truth

def _simulate(n_per_group, groups, shift_item=None, shift=0.0, mean_diff=0.0, seed=0,
              loadings=(1.0, 0.8, 0.9, 0.7)):
    rng = np.random.default_rng(seed)
    frames = []
    for i, g in enumerate(groups):
        f = rng.normal(loc=mean_diff * (i > 0), size=(n_per_group, 1))
        x = f @ np.array([loadings]) + rng.normal(scale=0.6, size=(n_per_group, len(loadings)))
        x += 3.0
        df = pd.DataFrame(x, columns=[f"i{j + 1}" for j in range(len(loadings))])
        if shift_item and i > 0:
            df[shift_item] += shift
        if isinstance(g, tuple):
            df = df.assign(segment=g[0], category=g[1])
        else:
            df = df.assign(segment=g)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


MODEL4 = "f =~ i1 + i2 + i3 + i4"


def test_auto_partial_finds_the_biased_intercept_and_recovers_the_mean_difference():
    data = _simulate(600, ["a", "b"], shift_item="i3", shift=0.8, mean_diff=0.4, seed=3)
    inv = invariance(MODEL4, data, "segment", levels=("configural", "metric", "scalar"))
    assert inv.partial["parameter"].str.replace(" ", "").tolist() == ["i3~1"]
    assert inv.strongest == "scalar"
    row = inv.latent_means.query("group == 'b'").iloc[0]
    assert abs(row["mean"] - 0.4) < 3 * row["se"]


def test_invariant_data_hold_every_step_and_group_by_two_columns():
    groups = [("moms", "banking"), ("moms", "ereaders"), ("other", "banking"),
              ("other", "ereaders")]
    data = _simulate(250, groups, mean_diff=0.3, seed=5)
    inv = invariance(MODEL4, data, ["segment", "category"])
    assert inv.groups == ["moms / banking", "moms / ereaders", "other / banking", "other / ereaders"]
    assert inv.group == "segment x category"
    assert inv.table["holds"].tolist() == [True, True, True, True]
    assert inv.strongest == "strict" and inv.partial.empty
    lm = inv.latent_means
    assert set(lm["group"]) == set(inv.groups) and len(lm) == 4
    for g in inv.groups[1:]:
        row = lm[lm["group"] == g].iloc[0]
        assert abs(row["mean"] - 0.3) < 3.5 * row["se"]
    # the ladder's fits are the engine's, with the constraints of each step
    assert inv.fits["metric"].fit_measures["df"] - inv.fits["configural"].fit_measures["df"] == 9


def test_public_name_is_callable(hs):
    inv = cx.invariance(HS_MODEL, hs, group="school", partial=None,
                        levels=("configural", "metric"))
    assert inv.table["step"].tolist() == ["configural", "metric"]


# ----------------------------------------------------------------------------- bad groupings

def test_group_smaller_than_free_parameters_is_named():
    data = _simulate(200, ["a", "b"], seed=1)
    small = pd.concat([data, data.iloc[:5].assign(segment="tiny")], ignore_index=True)
    with pytest.raises(errors.GroupError, match=r"group 'tiny' has 5 usable cases.*12 free") as exc:
        invariance(MODEL4, small, "segment")
    assert exc.value.column == "segment" and exc.value.values == ["tiny"]


def test_constant_item_in_a_group_is_named():
    data = _simulate(200, ["a", "b"], seed=1)
    data.loc[data["segment"] == "b", "i2"] = 4
    with pytest.raises(errors.GroupError, match=r"item 'i2' is constant in group 'b'") as exc:
        invariance(MODEL4, data, "segment")
    assert exc.value.column == "i2"


def test_item_missing_in_a_group_is_named():
    data = _simulate(200, ["a", "b"], seed=1)
    data.loc[data["segment"] == "a", "i4"] = np.nan
    with pytest.raises(errors.GroupError, match=r"item 'i4' is entirely missing in group 'a'"):
        invariance(MODEL4, data, "segment")


def test_other_bad_inputs():
    data = _simulate(200, ["a", "b"], seed=1)
    with pytest.raises(errors.GroupError, match="at least two groups"):
        invariance(MODEL4, data.query("segment == 'a'"), "segment")
    with pytest.raises(errors.MissingColumnError, match="wave"):
        invariance(MODEL4, data, "wave")
    with pytest.raises(errors.MissingColumnError, match="i9"):
        invariance("f =~ i1 + i2 + i9", data, "segment")
    with pytest.raises(errors.ArgumentError):
        invariance(MODEL4, data, "segment", levels=("scalar", "metric"))
    with pytest.raises(errors.ArgumentError):
        invariance(MODEL4, data, "segment", estimator="WLSMV")
    with_na = data.copy()
    with_na.loc[[0, 1], "segment"] = np.nan
    with pytest.warns(errors.ExclusionWarning, match="2 rows have no value for segment"):
        invariance(MODEL4, with_na, "segment", levels=("configural", "metric"))


def test_listwise_deletion_is_announced_once_and_fiml_keeps_every_row(hs):
    import warnings

    rng = np.random.default_rng(0)
    data = hs.copy()
    for c in ["x1", "x5", "x9"]:
        data.loc[rng.random(len(data)) < 0.1, c] = np.nan
    n_complete = int(data[[f"x{i}" for i in range(1, 10)]].notna().all(axis=1).sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inv = invariance(HS_MODEL, data, "school", levels=("configural", "metric"))
    excl = [w for w in caught if issubclass(w.category, errors.ExclusionWarning)]
    assert len(excl) == 1 and f"{301 - n_complete} of 301 rows" in str(excl[0].message)
    assert inv.fits["metric"].ntotal == n_complete
    fiml = invariance(HS_MODEL, data, "school", missing="ml", levels=("configural", "metric"))
    assert fiml.fits["metric"].ntotal == 301


def test_ladder_on_the_social_moms_population_finds_the_shifted_item():
    """The study's population with one connection item made easier for other moms buying
    eReaders (a threshold shift): the scalar step frees exactly that intercept, and the latent
    gap between social-media moms and other moms is the population's."""
    from connection.instruments import default
    from connection.simulation._population import simulate

    config = Path(__file__).parents[1] / "studies" / "social_moms.toml"
    sim = simulate(config, n=2000, seed=11,
                   overrides={"threshold_shifts": {"ec_family": {"ereaders": {"other_moms": -1.0}}}})
    survey = sim.survey()
    inv = invariance(default().model_syntax(["connection"]), survey.data,
                     group=["group", "category"], levels=("configural", "metric", "scalar"))
    assert inv.partial["parameter"].tolist() == ["ec_family ~1"]
    assert "other_moms / ereaders" in inv.partial["reason"].iloc[0]
    assert inv.strongest == "scalar"
    truth = sim.truth["latent_means"]
    gap = float(truth.query("category == 'banking' and group == 'social_media_moms' "
                            "and latent == 'connection'")["mean"].iloc[0])
    lm = inv.latent_means.set_index("group")
    assert lm.loc["other_moms / banking", "d"] == pytest.approx(-gap, abs=0.15)
    assert lm.loc["other_moms / ereaders", "d"] == pytest.approx(-gap, abs=0.15)
