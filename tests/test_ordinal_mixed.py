"""Ordinal and continuous variables in one model (issue 14, step 4) against lavaan 0.6.14.

References: tests/references/ordinal/make_wlsmv_mixed_references.R on the hs4 items with x1
and x4 continuous, the age (continuous) and the school: a two-factor CFA with two continuous
indicators (WLSMV and ULSMV), a CFA with a single ordinal item, and an SEM with two
continuous covariates by ``sem(..., conditional.x = FALSE)`` and by lavaan's default
``conditional.x = TRUE`` (probit regressions on the covariates; also with a direct effect and
the theta parameterization; and with a continuous indicator: linear regression, polyserial and
Pearson residual correlations); both in two schools (equal thresholds, which hold the continuous
intercepts equal too, as lavaan; and the covariate SEM per school). The sample statistics (lavaan's
``wls.obs``: thresholds and minus the means, the continuous variances, the covariances with
polyserial and Pearson parts) and their Gamma to 1e-6; estimates, standard errors,
thresholds, std.all, std.lv and R-squared to 1e-3 absolute; every fitMeasures value to 1e-3
relative (NA in lavaan is NaN here).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import DataError, ModelSpecificationError
from connection.latent._polychoric import conditional_statistics, mixed_statistics

REF = Path(__file__).parent / "references" / "ordinal"
FITS = {  # name: (ordered, extra keywords)
    "mixed_cfa": (["x2", "x3", "x5", "x6"], {}),
    "mixed_ulsmv": (["x2", "x3", "x5", "x6"], {"estimator": "ULSMV"}),
    "mixed_one": ("x2", {}),
    "mixed_sem": (["x5", "x6", "x7"], {"conditional_x": False}),
    "mixed_sem_cx": (["x5", "x6", "x7"], {}),
    "mixed_sem_cx_num": (["x5", "x6", "x7"], {}),
    "mixed_sem_cx_theta": (["x5", "x6", "x7", "x8"], {"parameterization": "theta"}),
    "mixed_groups": (["x2", "x3", "x5", "x6"],
                     {"group": "school", "group_equal": ["thresholds", "loadings"]}),
    "mixed_groups_cx": (["x5", "x6", "x7"], {"group": "school"}),
}
HEYWOOD = {"mixed_groups_cx"}   # x6 ~~ x6 < 0 in one school, in lavaan too


def _reference(name):
    return json.loads((REF / f"wlsmv_{name}.json").read_text())


_CACHE: dict = {}


def _fit(name):
    if name not in _CACHE:
        ref = _reference(name)
        data = pd.read_csv(REF / ref["data"])
        ordered, extra = FITS[name]
        fn = cx.sem if ref["call"].startswith("sem") else cx.cfa
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if name in HEYWOOD else "default")
            _CACHE[name] = (ref, fn(ref["model"], data, ordered=ordered, **extra))
    return _CACHE[name]


@pytest.mark.parametrize("name", ["mixed_cfa", "mixed_sem", "mixed_one"])
def test_sample_statistics_and_gamma_match_lavaan(name):
    ref, fit = _fit(name)
    st = fit.estimation.stats[0]
    names = list(fit.estimation.partable.ov_names)
    ordered = FITS[name][0]
    data = pd.read_csv(REF / ref["data"])
    ms = mixed_statistics(data[names], names, [ordered] if isinstance(ordered, str) else ordered)
    assert list(ms.labels) == ref["wls_obs"]["names"]
    np.testing.assert_allclose(ms.obs, ref["wls_obs"]["values"], atol=1e-6)
    np.testing.assert_allclose(st.wls_obs, ref["wls_obs"]["values"], atol=1e-6)
    np.testing.assert_allclose(st.gamma, np.array(ref["gamma"]), atol=1e-6)


def _merged(ref, fit):
    exp = pd.DataFrame(ref["estimates"])
    exp["group"] = [ref["group_labels"][g - 1] for g in exp["group"]] if fit.n_groups > 1 \
        else 1
    got = fit.estimates
    m = exp.merge(got, on=["lhs", "op", "rhs", "group"], how="outer", suffixes=("_ref", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    return m


@pytest.mark.parametrize("name", list(FITS))
def test_estimates_standard_errors_and_standardized_match_lavaan(name):
    ref, fit = _fit(name)
    assert fit.converged and (fit.admissible or name in HEYWOOD)
    m = _merged(ref, fit)
    np.testing.assert_array_equal(m["se"].to_numpy() > 0, m["free"].to_numpy() > 0)
    for col in ("est", "se", "std_all", "std_lv"):
        np.testing.assert_allclose(m[col].to_numpy(float), m[col + "_ref"].to_numpy(float),
                                   atol=1e-3, err_msg=f"{name}: {col}")
    # thresholds and the continuous intercepts are estimated, with standard errors
    th = m[m["op"] == "|"]
    assert len(th) and (th["se"] > 0).all()
    if fit.n_groups == 1:
        r2 = fit.rsquare.set_index("variable")["rsquare"]
        for var, value in ref["rsquare"].items():
            assert r2[var] == pytest.approx(value, abs=1e-3)


@pytest.mark.parametrize("name", list(FITS))
def test_fit_measures_match_lavaan(name):
    ref, fit = _fit(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm = fit.fit_measures
    for key, value in ref["fit_measures"].items():
        assert key in fm.index, key
        if value is None:  # lavaan: NA (the robust measures need catML: no continuous ones)
            assert np.isnan(fm[key]), key
        else:
            assert fm[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key


def test_conditional_statistics_match_lavaan():
    ref, fit = _fit("mixed_sem_cx")
    assert ref["conditional_x"] is True  # lavaan's default with ordinal outcomes
    data = pd.read_csv(REF / ref["data"])
    cs = conditional_statistics(data, ["x5", "x6", "x7"], ["x1", "age"])
    assert list(cs.labels) == ref["wls_obs"]["names"]
    np.testing.assert_allclose(cs.obs, ref["wls_obs"]["values"], atol=1e-6)
    np.testing.assert_allclose(cs.gamma, np.array(ref["gamma"]), atol=1e-5)
    st = fit.estimation.stats[0]
    np.testing.assert_allclose(st.wls_obs, ref["wls_obs"]["values"], atol=1e-6)
    # the covariates' moments are fixed at lavaan's cov.x (divisor N - 1 under conditional.x)
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    assert est.loc[("x1", "~~", "x1"), "se"] == 0
    assert est.loc[("x1", "~~", "x1"), "est"] == pytest.approx(
        data["x1"].var(ddof=1), rel=1e-12)


def test_conditional_statistics_with_a_continuous_outcome_match_lavaan():
    ref, _ = _fit("mixed_sem_cx_num")
    data = pd.read_csv(REF / ref["data"])
    cs = conditional_statistics(data, ["x4", "x5", "x6", "x7"], ["age", "x1"],
                                ["x5", "x6", "x7"])
    assert list(cs.labels) == ref["wls_obs"]["names"]   # x4~1 (minus), x4~~x4, x4~~x5, ...
    np.testing.assert_allclose(cs.obs, ref["wls_obs"]["values"], atol=1e-6)
    np.testing.assert_allclose(cs.gamma, np.array(ref["gamma"]), atol=1e-5)


def test_polyserial_given_covariates_is_the_likelihood_maximum():
    # lavaan 0.6.14 puts this pair at its bound 0.995 (see the generator script): the
    # two-step likelihood of rho, with the regressions fixed, peaks inside and is returned
    from scipy.special import ndtr

    data = pd.read_csv(REF / "wlsmv_mixed_data.csv")
    cs = conditional_statistics(data, ["x5", "x1"], ["age", "x9"], ["x5"])
    X = data[["age", "x9"]].to_numpy(float)
    tau = cs.obs[:3]
    beta = cs.obs[[4, 6]]
    e = data["x1"] - np.column_stack([np.ones(len(X)), X]) @ np.linalg.lstsq(
        np.column_stack([np.ones(len(X)), X]), data["x1"], rcond=None)[0]
    z = (e / np.sqrt(np.mean(e * e))).to_numpy()
    t = np.concatenate([[-1e3], tau, [1e3]])
    c = data["x5"].to_numpy() - 1
    eta = X @ beta

    def loglik(r):
        s = np.sqrt(1 - r * r)
        with np.errstate(divide="ignore"):  # near +-1 a case's probability underflows
            return np.sum(np.log(ndtr((t[c + 1] - eta - r * z) / s)
                                 - ndtr((t[c] - eta - r * z) / s)))

    rho = cs.res_cor[0, 1] / np.sqrt(cs.res_cor[1, 1])
    assert 0.1 < rho < 0.4
    grid = np.linspace(-0.99, 0.99, 397)
    assert loglik(rho) >= max(loglik(r) for r in grid) - 1e-9


def test_conditional_x_true_needs_ordinal_variables():
    data = pd.read_csv(REF / "wlsmv_mixed_data.csv")
    with pytest.raises(ModelSpecificationError, match="only available with ordinal"):
        cx.sem("f =~ x5 + x6 + x7\nf ~ x1", data, conditional_x=True)


def test_conditional_x_false_frees_the_covariates_as_lavaan():
    _, fit = _fit("mixed_sem")
    est = fit.estimates.set_index(["lhs", "op", "rhs"])
    for row in (("x1", "~~", "x1"), ("x1", "~~", "age"), ("age", "~1", "")):
        assert est.loc[row, "se"] > 0
    assert fit.fit_measures["baseline_df"] == 9  # the covariates' covariance stays free


def test_more_than_20_categories_says_what_cfa_can_do():
    rng = np.random.default_rng(14)
    f = rng.standard_normal(500)
    y = 0.7 * f[:, None] + 0.7 * rng.standard_normal((500, 3))
    d = pd.DataFrame({"a": np.digitize(y[:, 0], [-1, 0, 1]), "b": np.digitize(y[:, 1], [-.5, .5]),
                      "c": np.digitize(y[:, 2], np.linspace(-2, 2, 24))})
    with pytest.raises(DataError) as info:
        cx.cfa("f =~ a + b + c", d, ordered=True)
    text = str(info.value)
    assert "max_categories" not in text
    assert "ordered=" in text and "'c'" in text
    # leaving it out of ordered= fits it as a continuous indicator
    fit = cx.cfa("f =~ a + b + c", d, ordered=["a", "b"])
    assert "c~~c" in {f"{a}{o}{b}" for a, o, b in
                      fit.estimates.loc[fit.estimates["se"] > 0, ["lhs", "op", "rhs"]].to_numpy()}


def test_ordered_true_leaves_the_covariates_continuous_as_lavaan():
    # lavaan: lavNames(sem(..., ordered = TRUE), "ov.ord") has the outcomes only
    ref, fit = _fit("mixed_sem_cx")
    data = pd.read_csv(REF / ref["data"])
    again = cx.sem(ref["model"], data, ordered=True)
    np.testing.assert_allclose(again.estimates["est"], fit.estimates["est"], atol=1e-10)
    with pytest.raises(ModelSpecificationError, match="ordinal exogenous covariates.*x1"):
        cx.sem(ref["model"], data, ordered=["x5", "x6", "x7", "x1"])
