"""connection.latent trust (issue 11): admissibility flags on the Fit, model-text conflicts,
FIML and sample_stats input checks, the optimiser's stall criterion, and fuzz tests of the
adversarial classes "model text" and "values"."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection.latent as cs
from connection._flags import (
    HEYWOOD,
    LATENT_NOT_PD,
    NEGATIVE_DF,
    NOT_CONVERGED,
    NOT_IDENTIFIED,
    RESIDUAL_NOT_PD,
    Flag,
)
from connection.errors import (
    ConvergenceWarning,
    DataError,
    GroupError,
    HeywoodCaseWarning,
    IdentificationWarning,
    ModelSpecificationError,
    ModelSyntaxError,
    NotPositiveDefiniteWarning,
    NoVarianceError,
)
from connection.latent.datasets import holzinger_swineford

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    return holzinger_swineford()


def _stats(cov, names, n=200):
    return {"n": n, "cov": pd.DataFrame(np.asarray(cov, dtype=float), index=names, columns=names)}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------- flags
def test_admissible_fit_has_no_flags(hs):
    fit = cs.cfa(HS_MODEL, hs)
    assert fit.flags == () and isinstance(fit.flags, tuple)
    assert fit.admissible is True
    assert dict(fit.summary().header)["Admissible"] == "yes"
    assert not fit.summary().flags
    assert "flags=" not in repr(fit)


def test_heywood_case_is_a_flag_naming_the_parameter():
    cov = [[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]]
    with pytest.warns(HeywoodCaseWarning) as caught:
        fit = cs.cfa("f =~ a + b + c", sample_stats=_stats(cov, ["a", "b", "c"]))
    # the warning points at this line of this file (connection._common.warn walks out of the
    # package), not at a frame inside the engine
    heywood = [w for w in caught if issubclass(w.category, HeywoodCaseWarning)]
    assert heywood and heywood[0].filename == __file__
    assert fit.admissible is False
    (flag,) = fit.flags
    assert isinstance(flag, Flag) and flag.code == HEYWOOD
    assert flag.parameters == ("a ~~ a",)
    theta_a = (1 - 0.8 * 0.8 / 0.5) * 199 / 200
    assert f"{theta_a:.4g}" in flag.message
    # the estimates are unchanged (lavaan's table has no flags); summary and repr say it
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    assert est.loc[("a", "~~", "a"), "est"] == pytest.approx(theta_a, rel=1e-6)
    assert "flags=heywood" in repr(fit)
    report = fit.summary()
    assert dict(report.header)["Admissible"] == "NO (heywood)"
    assert list(report.flags) == list(fit.flags)
    text = str(report)
    assert "a ~~ a" in text and text.index("NOT ADMISSIBLE") < text.index("Model fit")
    assert "heywood" in fit._repr_html_() and "heywood" in fit.to_latex()


def test_flags_are_recorded_when_warnings_are_silenced():
    cov = [[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", HeywoodCaseWarning)
        fit = cs.cfa("f =~ a + b + c", sample_stats=_stats(cov, ["a", "b", "c"]))
    assert [f.code for f in fit.flags] == [HEYWOOD]


def test_latent_not_positive_definite_flag_names_the_correlation():
    cov = np.full((6, 6), 0.5)
    cov[:3, :3] = cov[3:, 3:] = 0.3
    np.fill_diagonal(cov, 1.0)
    names = [f"v{i}" for i in range(1, 7)]
    with pytest.warns(NotPositiveDefiniteWarning):
        fit = cs.cfa("f =~ v1 + v2 + v3\ng =~ v4 + v5 + v6", sample_stats=_stats(cov, names, 300))
    assert [f.code for f in fit.flags] == [LATENT_NOT_PD]
    assert fit.flags[0].parameters == ("f ~~ g",)


def test_residual_not_positive_definite_flag_names_the_covariance():
    names = list("abcdeh")
    cov = np.zeros((6, 6))
    cov[np.ix_([0, 2, 4], [0, 2, 4])] = 0.3
    cov[np.ix_([1, 3, 5], [1, 3, 5])] = 0.3
    cov[0, 1] = cov[1, 0] = 0.7
    np.fill_diagonal(cov, 1.0)
    model = "f =~ a + c + e\ng =~ b + d + h\nf ~~ 0*g\na ~~ 0.2*a\nb ~~ 0.2*b\na ~~ b"
    with pytest.warns(NotPositiveDefiniteWarning, match="Theta"):
        fit = cs.cfa(model, sample_stats=_stats(cov, names))
    assert [f.code for f in fit.flags] == [RESIDUAL_NOT_PD]
    assert fit.flags[0].parameters == ("a ~~ b",)


def test_non_convergence_is_a_flag(hs):
    with pytest.warns(ConvergenceWarning):
        fit = cs.cfa(HS_MODEL, hs, max_iter=1)
    assert NOT_CONVERGED in [f.code for f in fit.flags]
    assert not fit.admissible


def test_unidentified_model_flags_singular_information_and_negative_df(hs):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fit = cs.cfa("f =~ NA*x1 + x2 + x3", hs)
    codes = [f.code for f in fit.flags]
    assert NOT_IDENTIFIED in codes and NEGATIVE_DF in codes
    # one flag per warning of the checks, in the same order
    checked = [w for w in rec if issubclass(w.category, (IdentificationWarning,
                                                         ConvergenceWarning,
                                                         HeywoodCaseWarning,
                                                         NotPositiveDefiniteWarning))]
    assert len(checked) == len(fit.flags) == len(fit.warnings)


def test_multigroup_heywood_flag_names_the_group(hs):
    d = hs.copy()
    model = "f =~ x1 + x2 + x3"
    # x1's residual variance forced negative in one group by a near-perfect x1-x2 link
    rng = np.random.default_rng(0)
    sel = (d["school"] == "Pasteur").to_numpy()
    d.loc[sel, "x2"] = d.loc[sel, "x1"] + rng.normal(0, 0.05, sel.sum())
    d.loc[sel, "x3"] = d.loc[sel, "x1"] * 0.2 + rng.normal(0, 1.0, sel.sum())
    fit = _quiet(cs.cfa, model, d, group="school")
    (flag,) = fit.flags
    assert flag.code == HEYWOOD
    assert "x1 ~~ x1 (group Pasteur)" in flag.message
    assert flag.parameters == ("x1 ~~ x1",)


# ----------------------------------------------------------------------------- stall
def test_hopeless_fit_stops_early_with_a_not_converged_flag(hs):
    # 3 rows for a 3-indicator factor: the iterations make no progress (they ran all 500
    # iterations before the stall criterion)
    d = hs.sample(3, random_state=0)
    t0 = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="stalled"):
        fit = cs.cfa("f =~ x1 + x2 + x3", d)
    assert time.perf_counter() - t0 < 5
    assert not fit.converged and fit.iterations < 150
    assert [f.code for f in fit.flags][0] == NOT_CONVERGED


def test_drifting_fit_stops_early(hs):
    d = hs.sample(4, random_state=2)
    fit = _quiet(cs.cfa, "f =~ x1 + x2 + x3", d)
    assert not fit.converged and fit.iterations < 250
    assert "stalled" in fit.flags[0].message


def test_stall_rule_never_fires_on_steady_geometric_progress():
    from connection.latent.estimate import _STALL_WINDOW, _stalled

    # F converging linearly at rate 0.9 per iteration: never a stall
    hist = list(1.0 + 0.9 ** np.arange(3 * _STALL_WINDOW))
    assert not any(_stalled(hist[:k]) for k in range(1, len(hist) + 1))
    # no progress at all: a stall after one window
    flat = [2.0] * (_STALL_WINDOW + 1)
    assert _stalled(flat)
    # slow drift (F ~ 1/t): a stall, but not within the first window
    drift = list(5.0 + 1.0 / np.arange(1, 4 * _STALL_WINDOW))
    first = next(k for k in range(1, len(drift) + 1) if _stalled(drift[:k]))
    assert _STALL_WINDOW < first < 4 * _STALL_WINDOW


# ----------------------------------------------------------------------------- model text
REF = Path(__file__).parent / "references" / "lavaan"
BEHAVIOUR = json.loads((REF / "sem_trust_behaviour.json").read_text())


def _reference(case):
    return (json.loads((REF / f"sem_trust_{case}.fit.json").read_text()),
            pd.read_csv(REF / f"sem_trust_{case}.params.csv"))


@pytest.mark.parametrize("meanstructure", [None, False])
def test_explicit_intercept_switches_the_mean_structure_on_as_lavaan(hs, meanstructure):
    ref_fit, ref = _reference("hs_intercept")
    assert ref_fit["meanstructure"] is True
    fit = cs.cfa(ref_fit["model"], hs, meanstructure=meanstructure)
    assert fit.meanstructure and fit.admissible
    est = fit.estimates
    assert list(est["lhs"] + est["op"] + est["rhs"]) == list(ref["lhs"] + ref["op"]
                                                             + ref["rhs"].fillna(""))
    for ours, theirs in (("est", "est"), ("se", "se"), ("std_all", "std.all")):
        np.testing.assert_allclose(est[ours].to_numpy(float), ref[theirs].to_numpy(float),
                                   atol=1e-3, rtol=0, err_msg=ours)
    fm = fit.fit_measures
    for name in ("npar", "chisq", "df", "logl", "unrestricted_logl", "aic", "bic", "cfi", "tli",
                 "rmsea", "srmr"):
        lavaan_name = name.replace("_", ".")
        np.testing.assert_allclose(fm[name], ref_fit["fit_measures"][lavaan_name], rtol=1e-3,
                                   err_msg=name)


def test_fixed_intercept_matches_lavaan(hs):
    # the model-implied starting values lead Fisher scoring away (it stalls); the second run
    # from the simple starting values converges to lavaan's solution (chisq 885.2)
    ref_fit, ref = _reference("fixed_intercept")
    fit = cs.cfa(ref_fit["model"], hs)
    assert fit.meanstructure and fit.converged
    np.testing.assert_allclose(fit.fit_measures["chisq"], ref_fit["fit_measures"]["chisq"],
                               rtol=1e-3)
    np.testing.assert_allclose(fit.estimates["est"].to_numpy(float), ref["est"].to_numpy(float),
                               atol=1e-3)


@pytest.mark.parametrize("case,first,second", [
    ("dup_loading_conflict", 1, 2),
    ("dup_variance_conflict", 2, 3),
    ("dup_loading_exact", 1, 2),
    ("dup_variance_exact", 2, 3),
    ("dup_covariance_reversed", 2, 3),
])
def test_duplicate_statements_are_a_syntax_error_naming_both_lines(hs, case, first, second):
    ref = BEHAVIOUR[case]
    assert "duplicate model element" in ref["outcome"]  # lavaan refuses them all
    lines = ref["model"].split("\n")
    with pytest.raises(ModelSyntaxError) as info:
        cs.cfa(ref["model"], hs)
    msg = str(info.value)
    assert "duplicate model element" in msg
    assert f"line {first} ({lines[first - 1]!r})" in msg
    assert f"line {second} ({lines[second - 1]!r})" in msg
    assert info.value.line == second
    if "conflict" in case:
        assert "conflicting" in msg
    with pytest.raises(ModelSyntaxError):
        cs.parse_model(ref["model"])


@pytest.mark.parametrize("case,var", [("self_regression_latent", "f"),
                                      ("self_regression_observed", "x1")])
def test_self_regression_is_a_specification_error(hs, case, var):
    ref = BEHAVIOUR[case]
    assert ref["outcome"] == "fit" and "lhs and rhs are the same" in ref["warnings"][0]
    with pytest.raises(ModelSpecificationError, match=rf"'{var}' is regressed on itself "
                                                      r"\(line 2"):
        cs.sem(ref["model"], hs)


def test_distinct_statements_of_one_variable_are_not_duplicates(hs):
    fit = cs.cfa("f =~ x1 + x2\nf =~ x3\nx1 ~~ x2\nx2 ~~ x3", hs)
    est = fit.estimates
    assert ((est["op"] == "=~").sum(), (est["op"] == "~~").sum()) == (3, 6)


# ----------------------------------------------------------------------------- FIML data
def _hs_with(hs, **changes):
    d = hs.copy()
    for col, fn in changes.items():
        d[col] = fn(d)
    return d


def test_fiml_all_missing_column_is_a_data_error_naming_it(hs):
    assert "no values (only missings)" in BEHAVIOUR["fiml_all_missing_column"]["outcome"]
    d = _hs_with(hs, x3=lambda d: np.nan)
    with pytest.raises(DataError, match=r"no observed value.*: x3") as info:
        cs.cfa("f =~ x1 + x2 + x3", d, missing="ml")
    assert info.value.column == "x3"


def test_fiml_all_missing_column_in_one_group_names_the_group(hs):
    d = hs.copy()
    d.loc[d["school"] == "Pasteur", "x3"] = np.nan
    with pytest.raises(GroupError, match=r"x3 in group 'Pasteur'"):
        cs.cfa("f =~ x1 + x2 + x3", d, missing="ml", group="school")


def test_fiml_constant_column_and_disjoint_pairs(hs):
    d = _hs_with(hs, x3=lambda d: 3.0)
    d.loc[d.index[::7], "x2"] = np.nan
    with pytest.raises(NoVarianceError, match=r"no variance.*: x3"):
        cs.cfa("f =~ x1 + x2 + x3", d, missing="ml")
    d = hs.copy()
    d.loc[d.index[:150], "x1"] = np.nan
    d.loc[d.index[150:], "x2"] = np.nan
    with pytest.raises(DataError, match=r"never observed together.*x1 and x2"):
        cs.cfa("f =~ x1 + x2 + x3", d, missing="ml")


@pytest.mark.parametrize("holes", [False, True])
def test_fiml_collinear_items_are_a_data_error_naming_them(hs, holes):
    # x4 = x1 + x2: a total beside its items (lavaan only warns and does not converge)
    assert BEHAVIOUR["fiml_collinear"]["outcome"] == "fit"
    d = _hs_with(hs, x4=lambda d: d["x1"] + d["x2"])
    if holes:
        d.loc[d.index[::10], "x1"] = np.nan
    with pytest.raises(DataError, match=r"x1, x2, x4 are \(nearly\) linear combinations"):
        cs.cfa("f =~ x1 + x2 + x3 + x4", d, missing="ml")
    d = _hs_with(hs, x4=lambda d: 2 * d["x1"])
    d.loc[d.index[::7], "x2"] = np.nan  # the EM itself breaks down (numpy's LinAlgError before)
    with pytest.raises(DataError, match=r"\(x1, x4 are \(nearly\) linear"):
        cs.cfa("f =~ x1 + x2 + x3 + x4", d, missing="ml")


def test_fiml_fewer_rows_than_variables_is_a_data_error(hs):
    with pytest.raises(DataError, match=r"4 rows for 6 variables"):
        cs.cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs.sample(4, random_state=0),
               missing="ml")


# ----------------------------------------------------------------------------- sample_stats
def _hs_stats(hs, cols=("x1", "x2", "x3")):
    cols = list(cols)
    return {"n": len(hs), "cov": hs[cols].cov(), "mean": hs[cols].mean()}


def test_asymmetric_sample_cov_is_an_error_naming_the_entry(hs):
    # lavaan fits it silently (as if the matrix were symmetric); here it is refused
    assert BEHAVIOUR["sample_cov_asymmetric"]["outcome"] == "fit"
    st = _hs_stats(hs)
    st["cov"] = st["cov"].copy()
    st["cov"].loc["x1", "x2"] += 0.3
    with pytest.raises(DataError, match=r"not symmetric.*cov\[x1, x2\]") as info:
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=st)
    assert "cov[x2, x1]" in str(info.value)


def test_rounding_asymmetry_is_accepted(hs):
    st = _hs_stats(hs)
    ref = cs.cfa("f =~ x1 + x2 + x3", sample_stats=st)
    st["cov"] = st["cov"].copy()
    st["cov"].loc["x1", "x2"] *= 1 + 1e-13
    fit = cs.cfa("f =~ x1 + x2 + x3", sample_stats=st)
    np.testing.assert_allclose(fit.estimates["est"], ref.estimates["est"], atol=1e-9)


@pytest.mark.parametrize("value,fragment", [(np.nan, "missing or infinite"),
                                            (np.inf, "missing or infinite"),
                                            (-1.0, "variance in 'cov' is not positive"),
                                            (0.0, "variance in 'cov' is not positive")])
def test_non_finite_or_non_positive_variance_names_the_entry(hs, value, fragment):
    st = _hs_stats(hs)
    st["cov"] = st["cov"].copy()
    st["cov"].loc["x2", "x2"] = value
    with pytest.raises(DataError, match=rf"{fragment}.*cov\[x2, x2\]"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=st)


@pytest.mark.parametrize("n", [0, -5, 1, 2.5, "many", None, True])
def test_bad_n_is_an_error(hs, n):
    st = dict(_hs_stats(hs), n=n)
    with pytest.raises(DataError, match=r"'n' must be a whole number of at least 2"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=st)


def test_shape_and_names_are_checked(hs):
    st = _hs_stats(hs)
    with pytest.raises(DataError, match=r"not a square matrix \(shape \(3, 2\)\)"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=dict(st, cov=st["cov"].to_numpy()[:, :2]))
    with pytest.raises(DataError, match=r"'cov' is 2 x 2 but the model has 3"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=dict(st, cov=st["cov"].to_numpy()[:2, :2]))
    renamed = st["cov"].rename(index={"x3": "x9"})
    with pytest.raises(DataError, match=r"row names of 'cov' differ from its column names"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=dict(st, cov=renamed))
    with pytest.raises(DataError, match=r"model variable\(s\) not in 'cov': x4"):
        cs.cfa("f =~ x1 + x2 + x4", sample_stats=st)
    with pytest.raises(DataError, match=r"'mean' has 2 entries for 3 variables"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=dict(st, mean=[1.0, 2.0]))
    with pytest.raises(DataError, match=r"mean\[x3\]"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=dict(st, mean=[1.0, 2.0, np.nan]))
    with pytest.raises(DataError, match=r"dict with 'n' and 'cov'"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats={"cov": st["cov"]})


def test_the_error_names_the_group(hs):
    groups = [dict(_hs_stats(d), label=lab) for lab, d in hs.groupby("school", sort=False)]
    groups[1]["cov"] = groups[1]["cov"].copy()
    groups[1]["cov"].loc["x3", "x1"] = np.nan
    with pytest.raises(DataError, match=r"group 'Grant-White', item 2 of 2.*cov\[x3, x1\]"):
        cs.cfa("f =~ x1 + x2 + x3", sample_stats=groups)


def test_intercepts_need_sample_means(hs):
    # lavaan warns ("sample.mean= argument is missing") and reports every intercept as 0
    st = _hs_stats(hs)
    no_mean = {"n": st["n"], "cov": st["cov"]}
    with pytest.raises(DataError, match=r"intercepts or means \(line 2: 'x2 ~ 1'\).*'mean'"):
        cs.cfa("f =~ x1 + x2 + x3\nx2 ~ 1", sample_stats=no_mean)
    fit = cs.cfa("f =~ x1 + x2 + x3\nx2 ~ 1", sample_stats=st)
    est = fit.estimates.set_index(["lhs", "op"])
    assert est.loc[("x2", "~1"), "est"] == pytest.approx(hs["x2"].mean(), rel=1e-9)
    cs.cfa("f =~ x1 + x2 + x3", sample_stats=no_mean)  # no mean structure: no means needed
