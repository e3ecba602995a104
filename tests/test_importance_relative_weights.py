"""Johnson's relative weights: a hand computation from the paper's formulas, two published worked
examples, the sum to R-squared, the bootstrap through the package's engine, the random-variable
test, and logistic relative weights."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import statsmodels.api as sm

import connection as cx
from connection._report import Report
from connection.errors import ArgumentError, MissingColumnError
from connection.outcomes import _drivers, _importance
from connection.outcomes._drivers import (
    RELATIVE_WEIGHTS_COLUMNS,
    RelativeWeightsResult,
    relative_weights,
)
from connection.outcomes._importance import logistic_relative_weights, relative_weights_from_cov
from connection.stats._bootstrap import bootstrap

REF = json.loads((Path(__file__).parent / "references" / "importance"
                  / "relative_weights.json").read_text())


def johnson_by_hand(R: np.ndarray, y: int, x: list[int]) -> np.ndarray:
    """Johnson (2000) from a correlation matrix, written out: Lambda = Rxx^(1/2) (matrix square
    root), beta = Lambda^-1 rxy, eps_j = sum_k Lambda_jk^2 beta_k^2."""
    rxx = R[np.ix_(x, x)]
    rxy = R[x, y]
    lam = np.real(scipy.linalg.sqrtm(rxx))
    beta = np.linalg.solve(lam, rxy)
    return np.array([sum(lam[j, k] ** 2 * beta[k] ** 2 for k in range(len(x)))
                     for j in range(len(x))])


def frame(n=600, seed=0, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ (np.eye(p) + 0.5 * rng.normal(size=(p, p)))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["y"] = X @ np.linspace(0.6, 0.0, p) + rng.normal(size=n) * 1.5
    df["age"] = 0.4 * X[:, 0] + rng.normal(size=n)
    df["region"] = rng.choice(["n", "s", "w"], size=n)
    return df


def test_equal_a_hand_computation_from_johnsons_formulas():
    df = frame()
    names = ["x0", "x1", "x2", "x3"]
    res = relative_weights(df, "y", names, n_boot=0)
    R = np.corrcoef(df[["y", *names]].to_numpy(), rowvar=False)
    eps = johnson_by_hand(R, 0, [1, 2, 3, 4])
    np.testing.assert_allclose(res.table["raw_weight"], eps, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.table["rescaled"], 100 * eps / eps.sum(), rtol=0, atol=1e-10)
    r2 = sm.OLS(df["y"], sm.add_constant(df[names])).fit().rsquared
    assert res.r2 == pytest.approx(r2, abs=1e-12)
    assert res.table["raw_weight"].sum() == pytest.approx(r2, abs=1e-12)
    assert res.table["rescaled"].sum() == pytest.approx(100.0, abs=1e-10)


def test_published_example_rwa_mtcars():
    ref = REF["rwa_mtcars"]
    df = pd.DataFrame(REF["data"])
    res = relative_weights(df, ref["outcome"], ref["drivers"], n_boot=0)
    np.testing.assert_allclose(res.table["raw_weight"], ref["raw"], rtol=0, atol=5e-8)
    np.testing.assert_allclose(res.table["rescaled"], ref["rescaled"], rtol=0, atol=5e-6)
    assert res.r2 == pytest.approx(ref["r2"], abs=5e-5)


def test_published_example_iopsych_correlation_matrix():
    ref = REF["iopsych_relwt"]
    R = np.array(ref["r"], dtype=float)
    y = ref["y_col"] - 1
    x = [c - 1 for c in ref["x_col"]]
    cov = R[np.ix_([y, *x], [y, *x])]
    np.testing.assert_allclose(relative_weights_from_cov(cov, 4), ref["eps"], rtol=0, atol=5e-9)
    np.testing.assert_allclose(johnson_by_hand(R, y, x), ref["eps"], rtol=0, atol=5e-9)
    # and through the public function: data whose correlation matrix is exactly R
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(400, 5))
    raw -= raw.mean(axis=0)
    white = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False)).T)
    data = pd.DataFrame(white @ np.linalg.cholesky(R).T, columns=list("abcde"))
    res = relative_weights(data, "e", ["a", "b", "c", "d"], n_boot=0)
    np.testing.assert_allclose(res.table["raw_weight"], ref["eps"], rtol=0, atol=5e-9)


def test_controls_are_partialled_out_and_the_weights_add_up_to_the_increment():
    df = frame(seed=3)
    names = ["x0", "x1", "x2"]
    res = relative_weights(df, "y", names, controls=["age", "region"], n_boot=0)
    dummies = pd.get_dummies(df["region"], drop_first=True, dtype=float)
    C = sm.add_constant(pd.concat([df[["age"]], dummies], axis=1))
    full = sm.OLS(df["y"], pd.concat([C, df[names]], axis=1)).fit().rsquared
    base = sm.OLS(df["y"], C).fit().rsquared
    assert res.table["raw_weight"].sum() == pytest.approx(full - base, abs=1e-12)
    # by hand: residualize the drivers on the controls, correlate them among themselves, and
    # correlate each with the outcome's residual scaled by the outcome's total SD
    resid = {c: sm.OLS(df[c], C).fit().resid for c in [*names, "y"]}
    Xr = np.column_stack([resid[c] for c in names])
    rxx = np.corrcoef(Xr, rowvar=False)
    rxy = np.array([np.cov(resid[c], resid["y"])[0, 1] / (resid[c].std(ddof=1) * df["y"].std(ddof=1))
                    for c in names])
    R = np.eye(4)
    R[1:, 1:] = rxx
    R[0, 1:] = R[1:, 0] = rxy
    np.testing.assert_allclose(res.table["raw_weight"], johnson_by_hand(R, 0, [1, 2, 3]),
                               rtol=0, atol=1e-12)


def test_bootstrap_intervals_equal_a_plain_loop_over_resampled_rows():
    df = frame(n=250, seed=5)
    names = ["x0", "x1", "x2"]
    res = relative_weights(df, "y", names, n_boot=80, seed=9, progress=False)
    rw_seed, boot_seed = np.random.SeedSequence(9).spawn(2)
    df = df.assign(random=np.random.default_rng(rw_seed).standard_normal(len(df)))

    def plain(d):
        R = np.corrcoef(d[["y", *names, "random"]].to_numpy(), rowvar=False)
        raw = johnson_by_hand(R, 0, [1, 2, 3])
        with_random = johnson_by_hand(R, 0, [1, 2, 3, 4])
        return np.r_[raw, 100 * raw / raw.sum(), with_random[:3] - with_random[3]]

    ref = bootstrap(plain, df, n_boot=80, seed=boot_seed, progress=False)
    ci = ref.ci(0.95)
    t = res.table
    np.testing.assert_allclose(t["raw_ci_lower"], ci["ci_lower"].iloc[:3], rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["rescaled_ci_upper"], ci["ci_upper"].iloc[3:6], rtol=0, atol=1e-8)
    np.testing.assert_allclose(t["random_ci_lower"], ci["ci_lower"].iloc[6:], rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["random_difference"], ref.estimate.iloc[6:], rtol=0, atol=1e-12)


def test_random_variable_test_finds_real_drivers_and_not_noise():
    rng = np.random.default_rng(12)
    n = 1000
    df = pd.DataFrame({"strong": rng.normal(size=n), "weak": rng.normal(size=n),
                       "noise": rng.normal(size=n)})
    df["y"] = 0.6 * df.strong + 0.25 * df.weak + rng.normal(size=n)
    res = relative_weights(df, "y", ["strong", "weak", "noise"], n_boot=300, seed=2,
                           progress=False)
    t = res.table.set_index("term")
    assert bool(t.loc["strong", "exceeds_random"]) and bool(t.loc["weak", "exceeds_random"])
    assert not bool(t.loc["noise", "exceeds_random"])
    assert (t["raw_ci_lower"] <= t["raw_weight"]).all() and (t["raw_weight"] <= t["raw_ci_upper"]).all()
    again = relative_weights(df, "y", ["strong", "weak", "noise"], n_boot=300, seed=2,
                             progress=False)
    pd.testing.assert_frame_equal(res.table, again.table)
    no_boot = relative_weights(df, "y", ["strong", "weak", "noise"], n_boot=0, seed=2)
    assert no_boot.table["exceeds_random"].isna().all()
    assert no_boot.table["raw_ci_lower"].isna().all()


def test_logistic_relative_weights_by_hand():
    rng = np.random.default_rng(4)
    n = 800
    X = rng.normal(size=(n, 3)) @ np.array([[1, 0.5, 0.2], [0, 1, 0.3], [0, 0, 1.0]])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * X[:, 0] + 0.4 * X[:, 1] - 0.2)))).astype(float)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(top=y)
    res = relative_weights(df, "top", ["a", "b", "c"], family="logit", n_boot=0)
    # by hand (Tonidandel & LeBreton 2010): orthogonal Z = Xz Rxx^-1/2, logistic fit of y on Z,
    # Menard's standardization b * sd(Z) * R / sd(logit y-hat), eps = Lambda^2 beta^2
    Xz = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    rxx = np.corrcoef(X, rowvar=False)
    lam = np.real(scipy.linalg.sqrtm(rxx))
    Z = Xz @ np.linalg.inv(lam)
    fit = sm.Logit(y, sm.add_constant(Z)).fit(disp=0, tol=1e-12)
    logit = fit.fittedvalues
    prob = fit.predict()
    r = np.corrcoef(prob, y)[0, 1]
    beta = fit.params[1:] * Z.std(axis=0, ddof=1) * r / logit.std(ddof=1)
    eps = (lam**2) @ beta**2
    np.testing.assert_allclose(res.table["raw_weight"], eps, rtol=0, atol=1e-8)
    assert res.r2 == pytest.approx(r**2, abs=1e-8)
    assert res.table["r2_type"].iloc[0] == "r2_probability"
    assert logistic_relative_weights(X, y)[0] == pytest.approx(eps, abs=1e-8)


def test_logistic_bootstrap_and_random_test():
    rng = np.random.default_rng(8)
    n = 600
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["top"] = (rng.random(n) < 1 / (1 + np.exp(-1.2 * df.a))).astype(int)
    res = relative_weights(df, "top", ["a", "b"], family="logit", n_boot=100, seed=3,
                           progress=False)
    t = res.table.set_index("term")
    assert t["n_failed"].iloc[0] == 0
    assert bool(t.loc["a", "exceeds_random"]) and not bool(t.loc["b", "exceeds_random"])
    assert t.loc["a", "raw_ci_lower"] < t.loc["a", "raw_weight"] < t.loc["a", "raw_ci_upper"]


def test_errors_name_the_problem():
    df = frame()
    with pytest.raises(ArgumentError, match="outcome must be one column"):
        relative_weights(df, ["y"], ["x0"], n_boot=0)
    with pytest.raises(ArgumentError, match="used twice"):
        relative_weights(df, "y", ["x0", "x0"], n_boot=0)
    with pytest.raises(ArgumentError, match="at least one driver"):
        relative_weights(df, "y", [], n_boot=0)
    with pytest.raises(ArgumentError, match="controls are not available"):
        relative_weights(df.assign(t=(df.y > 0).astype(int)), "t", ["x0"], family="logit",
                         controls=["age"], n_boot=0)
    with pytest.raises(MissingColumnError):
        relative_weights(df, "y", ["x0", "nope"], n_boot=0)
    with pytest.raises(ArgumentError, match="family"):
        relative_weights(df, "y", ["x0"], family="probit", n_boot=0)
    with pytest.raises(ArgumentError, match="level"):
        relative_weights(df, "y", ["x0"], level=95)


def test_missing_rows_are_reported_and_left_out():
    df = frame()
    df.loc[[3, 7], "x1"] = np.nan
    with pytest.warns(cx.errors.ExclusionWarning, match="2 of 600 rows"):
        res = relative_weights(df, "y", ["x0", "x1"], n_boot=0)
    assert res.n == 598


def test_result_summarises_as_a_report_and_has_a_frame():
    res = relative_weights(frame(), "y", ["x0", "x1"], controls=["age"], n_boot=50, seed=1,
                           progress=False)
    assert isinstance(res, RelativeWeightsResult)
    assert list(res.to_frame().columns) == RELATIVE_WEIGHTS_COLUMNS
    report = res.summary()
    assert isinstance(report, Report)
    assert "Relative weights" in report.as_text() and "age" in report.as_text()
    assert "<table" in res._repr_html_()


def test_doctests():
    assert doctest.testmod(_importance).failed == 0
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(_drivers.relative_weights, "relative_weights",
                                             globs=vars(_drivers)):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
