"""connection.latent: syntax errors, admissibility warnings, known-truth recovery, internals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection.latent as cs
from connection.errors import (
    ConnectionPackageError,
    ConvergenceWarning,
    ExclusionWarning,
    GroupError,
    HeywoodCaseWarning,
    IdentificationWarning,
    MissingColumnError,
    ModelSpecificationError,
    ModelSyntaxError,
    NonNumericError,
    NotPositiveDefiniteWarning,
)
from connection.latent.datasets import holzinger_swineford, political_democracy

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    return holzinger_swineford()


# ----------------------------------------------------------------------------- syntax
@pytest.mark.parametrize("text,operator,line", [
    ("f =~ x1 + x2\nf <~ x3", "<~", 2),
    ("f =~ x1 + x2 + x3\n\ny | t1", "|", 3),
    ("f =~ x1 + x2 + x3\nx1 ~*~ x1", "~*~", 2),
    ("f =~ x1 + x2\nx1 > 0", ">", 2),
])
def test_unsupported_operator_names_operator_and_line(text, operator, line):
    with pytest.raises(ModelSyntaxError) as err:
        cs.parse_model(text)
    assert err.value.operator == operator
    assert err.value.line == line
    assert f"line {line}" in str(err.value) and repr(operator) in str(err.value)


@pytest.mark.parametrize("text,fragment", [
    ("f =~", "missing right-hand side"),
    ("=~ x1 + x2", "missing left-hand side"),
    ("f =~ x1 + + x2", "empty term"),
    ("f =~ x1 + foo(1)*x2", "cannot read modifier"),
    ("f =~ x1 + x2\nab := a*b", "unknown label"),
    ("f =~ x1 + 2x", "invalid variable name"),
    ("just words", "no operator"),
    ("", "empty"),
    ("f =~ x1 + x2\ng =~ x3 + x4 ~ x5", "more than one operator"),
])
def test_bad_syntax_messages(text, fragment):
    with pytest.raises(ModelSyntaxError, match=fragment):
        cs.parse_model(text)


def test_modifier_length_must_match_groups(hs):
    with pytest.raises(ModelSyntaxError, match="3 values but the model has 2 group"):
        cs.cfa("visual =~ x1 + c(a, b, c)*x2 + x3", hs, group="school")


def test_comments_continuation_and_semicolons():
    pt = cs.parse_model("# a comment\nf =~ x1 + x2 +\n      x3   ! another\ng =~ x4 + x5; g ~~ f")
    frame = pt.frame
    assert list(frame.loc[frame["op"] == "=~", "rhs"]) == ["x1", "x2", "x3", "x4", "x5"]
    assert ((frame["lhs"] == "g") & (frame["op"] == "~~") & (frame["rhs"] == "f")).sum() == 1


def test_parameter_table_defaults():
    pt = cs.parse_model("f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ f")
    frame = pt.frame
    # first loading fixed to 1, residual variances and latent (residual) variances free,
    # no covariance between f and g (g is regressed on f)
    first = frame[(frame["op"] == "=~") & (frame["rhs"].isin(["x1", "x4"]))]
    assert (first["free"] == 0).all() and (first["ustart"] == 1).all()
    assert not ((frame["op"] == "~~") & (frame["lhs"] != frame["rhs"])).any()
    assert pt.npar == 13
    pt_std = cs.parse_model("f =~ x1 + x2 + x3", std_lv=True)
    fvar = pt_std.frame[(pt_std.frame["lhs"] == "f") & (pt_std.frame["op"] == "~~")]
    assert fvar["free"].iloc[0] == 0 and fvar["ustart"].iloc[0] == 1.0
    assert (pt_std.frame.loc[pt_std.frame["op"] == "=~", "free"] > 0).all()


def test_fixed_and_freed_modifiers(hs):
    fit = cs.cfa("visual =~ NA*x1 + x2 + x3\nvisual ~~ 1*visual\ntextual =~ x4 + 0.9*x5 + x6",
                 hs)
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    assert est.loc[("textual", "=~", "x5"), "est"] == 0.9
    assert est.loc[("textual", "=~", "x5"), "se"] == 0
    assert est.loc[("visual", "~~", "visual"), "est"] == 1.0
    assert est.loc[("visual", "=~", "x1"), "se"] > 0
    # freeing x1 and fixing the variance is an equivalent identification
    a = cs.cfa("visual =~ NA*x1 + x2 + x3\nvisual ~~ 1*visual\ntextual =~ x4 + x5 + x6", hs)
    b = cs.cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs)
    assert a.fit_measures["chisq"] == pytest.approx(b.fit_measures["chisq"], rel=1e-8)


def test_equality_constraint_operator(hs):
    a = cs.cfa("visual =~ x1 + a*x2 + b*x3\nb == a", hs)
    b = cs.cfa("visual =~ x1 + a*x2 + a*x3", hs)
    assert a.fit_measures["npar"] == b.fit_measures["npar"] == 5
    assert a.fit_measures["chisq"] == pytest.approx(b.fit_measures["chisq"], rel=1e-10)


# ----------------------------------------------------------------------------- data errors
def test_unknown_variable(hs):
    with pytest.raises(MissingColumnError, match="x99"):
        cs.cfa("f =~ x1 + x2 + x99", hs)


def test_non_numeric_column(hs):
    bad = hs.copy()
    bad["x2"] = bad["x2"].astype(object)
    bad.loc[4, "x2"] = "n/a"
    with pytest.raises(NonNumericError) as err:
        cs.cfa("f =~ x1 + x2 + x3", bad)
    assert err.value.column == "x2" and err.value.rows == [5] and err.value.values == ["n/a"]


def test_unknown_estimator_and_missing(hs):
    with pytest.raises(ModelSpecificationError, match="estimator"):
        cs.cfa(HS_MODEL, hs, estimator="WLSMV")
    with pytest.raises(ModelSpecificationError, match="missing"):
        cs.cfa(HS_MODEL, hs, missing="pairwise")
    with pytest.raises(ModelSpecificationError, match="group_equal"):
        cs.cfa(HS_MODEL, hs, group="school", group_equal=["thresholds"])


def test_tiny_group(hs):
    d = hs.copy()
    d.loc[0, "school"] = "Tiny"
    with pytest.raises(GroupError, match="Tiny"):
        cs.cfa(HS_MODEL, d, group="school")


# ----------------------------------------------------------------------------- admissibility
def _heywood_stats():
    cov = np.array([[1.0, 0.8, 0.8], [0.8, 1.0, 0.5], [0.8, 0.5, 1.0]])
    return {"n": 200, "cov": pd.DataFrame(cov, index=["a", "b", "c"], columns=["a", "b", "c"])}


def test_heywood_case_warns_and_names_variable():
    with pytest.warns(HeywoodCaseWarning, match=r"a ~~ a") as rec:
        fit = cs.cfa("f =~ a + b + c", sample_stats=_heywood_stats())
    assert fit.converged
    assert any("Heywood" in w for w in fit.warnings)
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    # closed form: theta_a = 1 - r_ab r_ac / r_bc (sample covariance rescaled by (n-1)/n)
    assert est.loc[("a", "~~", "a"), "est"] == pytest.approx((1 - 0.8 * 0.8 / 0.5) * 199 / 200,
                                                             rel=1e-6)
    assert "inspect" in str(rec[0].message).lower()


def test_not_positive_definite_latent_covariance():
    within, between = 0.3, 0.5
    cov = np.full((6, 6), between)
    cov[:3, :3] = within
    cov[3:, 3:] = within
    np.fill_diagonal(cov, 1.0)
    names = [f"v{i}" for i in range(1, 7)]
    stats = {"n": 300, "cov": pd.DataFrame(cov, index=names, columns=names)}
    with pytest.warns(NotPositiveDefiniteWarning, match="latent variables"):
        fit = cs.cfa("f =~ v1 + v2 + v3\ng =~ v4 + v5 + v6", sample_stats=stats)
    std = fit.estimates.set_index(["lhs", "op", "rhs"])
    assert std.loc[("f", "~~", "g"), "std_all"] > 1


def test_non_convergence_warns(hs):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = cs.cfa(HS_MODEL, hs, max_iter=1)
    assert not fit.converged
    assert "DID NOT CONVERGE" in dict(fit.summary().header)["Converged"]
    assert "DID NOT CONVERGE" in str(fit.summary())


def test_under_identified_model_warns(hs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*negative degrees of freedom")
        with pytest.warns(IdentificationWarning, match="not be identified"):
            fit = cs.cfa("f =~ NA*x1 + x2 + x3", hs)
    free = fit.param_table["free"] > 0
    assert free.sum() == 7
    assert fit.estimates.loc[free.to_numpy(), "se"].isna().all()  # as lavaan: no SEs


def test_warning_classes_can_be_filtered():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", HeywoodCaseWarning)
        cs.cfa("f =~ a + b + c", sample_stats=_heywood_stats())


def test_listwise_warns_and_fiml_keeps_rows(hs):
    d = hs.copy()
    d.loc[[3, 10, 20], "x5"] = np.nan
    with pytest.warns(ExclusionWarning, match="3 of 301 rows"):
        fit = cs.cfa(HS_MODEL, d)
    assert fit.nobs == [298] and 3 not in set(fit.rows_used)
    fiml = cs.cfa(HS_MODEL, d, missing="ml")
    assert fiml.nobs == [301]


# ----------------------------------------------------------------------------- known truth
def _simulate(n, seed):
    rng = np.random.default_rng(seed)
    lam = np.array([[1.0, 0.0], [0.8, 0.0], [0.6, 0.0], [0.0, 1.0], [0.0, 0.7], [0.0, 1.2]])
    phi = np.array([[1.0, 0.4], [0.4, 0.8]])
    theta = np.diag([0.5, 0.4, 0.6, 0.3, 0.5, 0.4])
    sigma = lam @ phi @ lam.T + theta
    x = rng.multivariate_normal(np.arange(6.0), sigma, size=n)
    return pd.DataFrame(x, columns=[f"y{i}" for i in range(1, 7)]), lam, phi, theta


def test_recovers_known_parameters_and_coverage():
    data, lam, phi, theta = _simulate(20_000, seed=1)
    fit = cs.cfa("f =~ y1 + y2 + y3\ng =~ y4 + y5 + y6", data)
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    truth = {("f", "=~", "y2"): 0.8, ("f", "=~", "y3"): 0.6, ("g", "=~", "y5"): 0.7,
             ("g", "=~", "y6"): 1.2, ("f", "~~", "g"): 0.4, ("f", "~~", "f"): 1.0,
             ("g", "~~", "g"): 0.8, ("y1", "~~", "y1"): 0.5, ("y6", "~~", "y6"): 0.4}
    for key, value in truth.items():
        row = est.loc[key]
        assert abs(row["est"] - value) < 4 * row["se"], key
    assert fit.fit_measures["pvalue"] > 0.001  # the model is true


def test_sample_stats_equal_raw_data(hs):
    fit = cs.cfa(HS_MODEL, hs)
    cols = [f"x{i}" for i in range(1, 10)]
    stats = {"n": len(hs), "cov": hs[cols].cov(), "mean": hs[cols].mean()}
    fit2 = cs.cfa(HS_MODEL, sample_stats=stats)
    np.testing.assert_allclose(fit.estimates["est"], fit2.estimates["est"], atol=1e-8)
    np.testing.assert_allclose(fit.estimates["se"], fit2.estimates["se"], atol=1e-8)


@pytest.mark.filterwarnings("ignore::connection.errors.HeywoodCaseWarning")
def test_analytic_hessian_matches_numerical(hs):
    pd_model = """ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5"""
    d = political_democracy()
    d["g"] = np.where(np.arange(len(d)) % 2 == 0, "a", "b")
    for fit in (cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"]),
                cs.sem(pd_model, d, group="g", group_equal=["loadings", "intercepts"])):
        theta = fit.estimation.theta + 0.01 * np.sin(np.arange(len(fit.estimation.theta)))
        exact = fit.estimation.problem.gradient_and_hessian(theta)[2]
        numeric = fit.estimation.problem.numeric_hessian(theta)
        np.testing.assert_allclose(exact, numeric, atol=1e-5 * np.abs(numeric).max())


def test_fit_object_views(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school")
    assert fit.n_groups == 2 and fit.group_labels == ["Pasteur", "Grant-White"]
    est = fit.estimates
    assert list(est.columns) == ["lhs", "op", "rhs", "group", "label", "est", "se", "z",
                                 "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all"]
    implied = fit.implied["Pasteur"]
    assert implied["cov"].shape == (9, 9) and list(implied["mean"].index)[0] == "x1"
    r2 = fit.rsquare
    assert set(r2["group"]) == {"Pasteur", "Grant-White"}
    assert ((r2["rsquare"] > 0) & (r2["rsquare"] < 1)).all()
    mats = fit.matrices("Grant-White")
    assert mats["lambda"].loc["x2", "visual"] == pytest.approx(
        est[(est["group"] == "Grant-White") & (est["rhs"] == "x2") & (est["op"] == "=~")]
        ["est"].iloc[0])
    report = fit.summary()
    captions = [t.caption for t in report.tables]
    assert captions[0] == "Model fit"
    assert "Latent variables (group Grant-White)" in captions
    assert "Intercepts and means (group Pasteur)" in captions
    assert dict(report.header)["Observations"] == "Pasteur (n = 156), Grant-White (n = 145)"
    block = report.tables[captions.index("Latent variables (group Grant-White)")].frame
    ld = est[(est["group"] == "Grant-White") & (est["op"] == "=~")]
    np.testing.assert_array_equal(block["est"].to_numpy(), ld["est"].to_numpy())
    assert block["parameter"].tolist()[:2] == ["visual =~ x1", "visual =~ x2"]
    assert np.isnan(block["se"].iloc[0])  # a fixed loading shows no standard error
    assert "Latent variables (group Grant-White)" in str(report)
    assert fit._repr_html_() == report.as_html() and "<table" in fit._repr_html_()
    assert fit.to_latex() == report.as_latex()
    pd.testing.assert_frame_equal(fit.to_frame(), fit.estimates)
    metric = fit.refit(group_equal=["loadings"])
    assert metric.fit_measures["df"] == fit.fit_measures["df"] + 6
    assert isinstance(repr(fit), str)


def test_predict_new_data_and_missing_rows(hs):
    fit = cs.cfa(HS_MODEL, hs)
    new = hs.iloc[:5].copy()
    new.loc[new.index[0], "x1"] = np.nan
    scores = fit.predict(new)
    full = fit.predict().iloc[:5]
    np.testing.assert_allclose(scores.iloc[1:].to_numpy(), full.iloc[1:].to_numpy())
    assert np.isfinite(scores.iloc[0]).all()
    assert not np.allclose(scores.iloc[0], full.iloc[0])


def test_impossible_fixed_values_raise_estimation_error(hs):
    from connection.errors import EstimationError

    with pytest.raises(EstimationError, match="positive definite"):
        cs.cfa("f =~ x1 + x2 + x3\nx1 ~~ -50*x1", hs)


@pytest.mark.parametrize("scale", [0.1, 3.0, 250.0])
def test_rescaling_an_indicator_rescales_its_parameters(hs, scale):
    base = cs.cfa(HS_MODEL, hs)
    d = hs.copy()
    d["x5"] = d["x5"] * scale
    fit = cs.cfa(HS_MODEL, d)
    assert fit.fit_measures["chisq"] == pytest.approx(base.fit_measures["chisq"], rel=1e-7)
    a = base.estimates.set_index(["lhs", "op", "rhs"])
    b = fit.estimates.set_index(["lhs", "op", "rhs"])
    assert b.loc[("textual", "=~", "x5"), "est"] == pytest.approx(
        scale * a.loc[("textual", "=~", "x5"), "est"], rel=1e-6)
    assert b.loc[("x5", "~~", "x5"), "est"] == pytest.approx(
        scale**2 * a.loc[("x5", "~~", "x5"), "est"], rel=1e-6)
    np.testing.assert_allclose(b["std_all"], a["std_all"], atol=1e-6)
    np.testing.assert_allclose(b["z"].fillna(0), a["z"].fillna(0), atol=1e-4)


def test_modindices_multigroup_include_equality_releases(hs):
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    mi = fit.modindices(sort=True)
    assert {"lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all",
            "constraint"} <= set(mi.columns)
    releases = mi[mi["constraint"] != ""]
    assert len(releases) == 15  # 6 loadings + 9 intercepts, released in group 2
    assert releases.iloc[0][["lhs", "op"]].tolist() == ["x3", "~1"]
    assert (mi["mi"].diff().dropna() <= 1e-12).all()  # sorted
    # releasing the constraint and refitting lowers chi-square by about the score statistic
    top = releases.iloc[0]
    freed = fit.refit(group_partial=["x3 ~ 1"])
    drop = fit.fit_measures["chisq"] - freed.fit_measures["chisq"]
    assert drop == pytest.approx(top["mi"], rel=0.25)



def test_modindices_free_only_leaves_out_the_equality_releases(hs):
    """free_only=True was documented but ignored: the 15 releases came back anyway."""
    fit = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"])
    full = fit.modindices()
    free = fit.modindices(free_only=True)
    assert "constraint" not in free or (free["constraint"] == "").all()
    absent = full[full["constraint"] == ""].drop(columns="constraint").reset_index(drop=True)
    assert len(free) == len(absent) == len(full) - 15
    pd.testing.assert_frame_equal(free.reset_index(drop=True), absent, check_dtype=False)

def test_lrt_rejects_different_data(hs):
    a = cs.cfa(HS_MODEL, hs)
    b = cs.cfa(HS_MODEL, hs.iloc[:200])
    with pytest.raises(ModelSpecificationError, match="different numbers of rows"):
        cs.lrt(a, b)
    with pytest.raises(ValueError, match="at least two"):
        cs.lrt(a)


def test_singular_sample_covariance_in_a_group(hs):
    d = hs.iloc[:160].copy()
    d.loc[d.index[:8], "school"] = "Tiny"  # 8 rows, 9 variables
    with pytest.raises(GroupError, match="Tiny.*not positive definite|not positive definite.*Tiny"):
        cs.cfa(HS_MODEL, d, group="school")
    const = hs.copy()
    const["x4"] = 1.0
    from connection.errors import DataError

    with pytest.raises(DataError, match="constant variable.*x4"):
        cs.cfa(HS_MODEL, const)


def test_singular_sample_stats_rejected():
    from connection.errors import DataError

    cov = np.array([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]])
    names = ["a", "b", "c"]
    with pytest.raises(DataError, match="not positive definite"):
        cs.cfa("f =~ a + b + c", sample_stats={"n": 100, "cov": pd.DataFrame(
            cov, index=names, columns=names)})


@pytest.mark.parametrize("shift", [0.0, 5.0, 1e3, 1e7])
def test_sample_moments_accurate_for_any_location(shift):
    from connection.latent.samplestats import stats_from_rows as _stats_from_rows

    rng = np.random.default_rng(3)
    x = rng.standard_normal((5_000, 4)) * [1.0, 0.01, 3.0, 1.0] + shift
    st = _stats_from_rows(x, keep_data=False)
    ref = np.cov(x, rowvar=False, bias=True)
    np.testing.assert_allclose(st.cov, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_allclose(st.mean, x.mean(axis=0), rtol=1e-12)


def test_tiny_samples_give_package_errors_not_numpy_errors():
    # n = 3..5 pupils on three 1-5 items: every outcome is a fit or the package's own error
    kinds = set()
    for n in (3, 4, 5):
        for seed in range(60):
            rng = np.random.default_rng(seed)
            d = pd.DataFrame(rng.integers(1, 6, size=(n, 3)).astype(float), columns=["a", "b", "c"])
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cs.cfa("f =~ a + b + c", d)
                kinds.add("fit")
            except ConnectionPackageError as exc:
                kinds.add(type(exc).__name__)
                assert "expected" in str(exc)
    assert "fit" in kinds and kinds - {"fit"}


def _group_covs(hs, means=False):
    ov = [f"x{i}" for i in range(1, 10)]
    return [{"n": len(g), "cov": g[ov].cov().to_numpy(), **({"mean": g[ov].mean().to_numpy()}
                                                           if means else {})}
            for _, g in hs.groupby("school", sort=False)]


def test_multigroup_sample_stats_without_means_fit_covariances_only(hs):
    """Several groups' covariances without means: the fit was given a mean structure with
    every intercept estimated at exactly 0 (a number that looks fine). Now no intercept rows,
    and chi-square and df equal the raw-data fit's (saturated means add nothing to either)."""
    for equal in ([], ["loadings"]):
        fit = cs.cfa(HS_MODEL, sample_stats=_group_covs(hs), group_equal=equal)
        raw = cs.cfa(HS_MODEL, hs, group="school", group_equal=equal)
        assert not (fit.estimates["op"] == "~1").any()
        assert fit.fit_measures["df"] == raw.fit_measures["df"]
        assert fit.fit_measures["chisq"] == pytest.approx(raw.fit_measures["chisq"], rel=1e-8)
    # with the means given, the intercepts are the raw fit's
    fit = cs.cfa(HS_MODEL, sample_stats=_group_covs(hs, means=True), group_equal=["loadings"])
    raw = cs.cfa(HS_MODEL, hs, group="school", group_equal=["loadings"])
    def intercepts(f):
        e = f.estimates
        return e[(e["op"] == "~1") & e["lhs"].str.startswith("x")]["est"].to_numpy()

    a, b = intercepts(fit), intercepts(raw)
    assert len(a) == 18 and np.allclose(a, b, atol=1e-6) and np.abs(a).min() > 1


@pytest.mark.parametrize("kwargs,says", [
    ({"group_equal": ["loadings", "intercepts"]}, "group_equal"),
    ({"meanstructure": True}, "meanstructure=True"),
])
def test_multigroup_sample_stats_without_means_refuse_a_mean_structure(hs, kwargs, says):
    from connection.errors import DataError

    with pytest.raises(DataError, match=says) as info:
        cs.cfa(HS_MODEL, sample_stats=_group_covs(hs), **kwargs)
    assert "no 'mean' is given" in str(info.value)
