"""predictive_comparison(family="ordinal") and the out-of-sample AUC of family="logit" (issue 16).

References: statsmodels' OrderedModel (the proportional-odds logit, to 1e-6), sklearn's
roc_auc_score (or a hand Mann-Whitney count without sklearn), the Nadeau-Bengio corrected t
formula by hand, and simulations with known truth.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from connection.errors import ArgumentError, ExclusionWarning, OutOfRangeError
from connection.outcomes._predictive import auc, ordinal_fit, predictive_comparison

CUTS = [-1.5, -0.3, 0.7, 2.0]


def _ordinal_data(n=400, effect=0.5, seed=0, cuts=CUTS):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    conn = 0.4 * sat + np.sqrt(0.84) * rng.normal(size=n)
    latent = 0.8 * sat + effect * conn + rng.logistic(size=n)
    return pd.DataFrame({"sat": sat, "conn": conn, "age": rng.normal(size=n),
                         "y": np.digitize(latent, cuts) + 1})     # categories 1..5


def _binary_data(n=400, effect=0.8, seed=0):
    d = _ordinal_data(n, effect, seed, cuts=[0.0])
    d["y"] = d["y"] - 1
    return d


def _statsmodels_ordinal(X, y):
    fit = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=0, gtol=1e-12, maxiter=10000)
    return fit, fit.model.transform_threshold_params(fit.params)[1:-1], fit.params[:X.shape[1]]


def _hand_auc(y, s):
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


# ------------------------------------------------------------------------------- the ordinal fit
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ordinal_fit_equals_statsmodels_ordered_model(seed):
    d = _ordinal_data(n=300, seed=seed)
    X = d[["sat", "conn", "age"]].to_numpy()
    y = d.y.to_numpy() - 1
    tau, b = ordinal_fit(X, y, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sm_tau, sm_b = _statsmodels_ordinal(X, y)
    np.testing.assert_allclose(b, sm_b, atol=1e-6)
    np.testing.assert_allclose(tau, sm_tau, atol=1e-6)
    assert np.all(np.diff(tau) > 0)


def test_ordinal_fold_loss_equals_statsmodels_predicted_probabilities():
    d = _ordinal_data(n=300, seed=5)
    r = predictive_comparison(d, "y", base=["sat"], added=["conn"], family="ordinal", folds=5,
                              repeats=1, seed=3)
    test = r.fold_ids[0] == 0
    y = d.y.to_numpy() - 1
    X = d[["sat", "conn"]].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit, _, _ = _statsmodels_ordinal(X[~test], y[~test])
    prob = fit.model.predict(fit.params, exog=X[test])[np.arange(test.sum()), y[test]]
    assert r.folds.loss_full.iloc[0] == pytest.approx(-np.log(prob).mean(), abs=1e-6)
    shares = np.bincount(y[~test], minlength=5) / (~test).sum()
    null = -np.log(shares[y[test]]).sum()
    assert r.folds.r2_full.iloc[0] == pytest.approx(1 - (-np.log(prob).sum()) / null, abs=1e-6)
    assert r.folds.auc_full.isna().all() and r.auc_test is None


def test_ordinal_base_may_be_thresholds_only():
    d = _ordinal_data(n=300, seed=6)
    r = predictive_comparison(d, "y", base=[], added=["sat"], family="ordinal", folds=5,
                              repeats=1, seed=1)
    # the base model is the training shares: its pseudo R-squared is exactly 0
    np.testing.assert_allclose(r.folds.r2_base, 0.0, atol=1e-8)


# ---------------------------------------------------------------------------- folds and a seed
@pytest.mark.parametrize("family,make", [("ordinal", _ordinal_data), ("logit", _binary_data)])
def test_the_same_seed_gives_identical_folds_and_results(family, make):
    d = make(n=300, seed=2)
    a = predictive_comparison(d, "y", base=["sat"], added=["conn"], family=family, folds=5,
                              repeats=3, seed=11)
    b = predictive_comparison(d, "y", base=["sat"], added=["conn"], family=family, folds=5,
                              repeats=3, seed=11)
    c = predictive_comparison(d, "y", base=["sat"], added=["conn"], family=family, folds=5,
                              repeats=3, seed=12)
    np.testing.assert_array_equal(a.fold_ids, b.fold_ids)
    pd.testing.assert_frame_equal(a.folds, b.folds)
    assert not np.array_equal(a.fold_ids, c.fold_ids)
    # the same folds as the ordinary family on the same rows and seed
    o = predictive_comparison(d, "y", base=["sat"], added=["conn"], folds=5, repeats=3, seed=11)
    np.testing.assert_array_equal(a.fold_ids, o.fold_ids)


# --------------------------------------------------------------------------------------- AUC
def test_auc_equals_sklearn_or_a_mann_whitney_count_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    s = np.round(rng.normal(size=200) + 0.7 * y, 1)           # many ties
    expected = _hand_auc(y, s)
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:   # pragma: no cover
        roc_auc_score = None
    if roc_auc_score is not None:
        assert expected == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auc(y, s) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(auc(np.ones(5), np.arange(5.0)))


def test_fold_auc_equals_roc_auc_of_statsmodels_logit_predictions():
    d = _binary_data(n=400, seed=4)
    r = predictive_comparison(d, "y", base=["sat"], added=["conn"], family="logit", folds=5,
                              repeats=2, seed=9)
    X = sm.add_constant(d[["sat", "conn"]].to_numpy())
    y = d.y.to_numpy()
    for row in (0, 7):
        rep, fold = divmod(row, 5)
        test = r.fold_ids[rep] == fold
        full = sm.Logit(y[~test], X[~test]).fit(disp=0).predict(X[test])
        base = sm.Logit(y[~test], X[~test][:, :2]).fit(disp=0).predict(X[test][:, :2])
        assert r.folds.auc_full.iloc[row] == pytest.approx(_hand_auc(y[test], full), abs=1e-12)
        assert r.folds.auc_base.iloc[row] == pytest.approx(_hand_auc(y[test], base), abs=1e-12)
    # the AUC test is the Nadeau-Bengio corrected t over the folds' AUC differences
    dd = r.folds.auc_difference.to_numpy()
    J = dd.size
    ratio = (r.folds.n_test / r.folds.n_train).mean()
    se = np.sqrt((1 / J + ratio) * dd.var(ddof=1))
    assert r.auc_test["mean_difference"] == pytest.approx(dd.mean(), abs=1e-14)
    assert r.auc_test["se"] == pytest.approx(se, rel=1e-12)
    assert r.auc_test["p_value"] == pytest.approx(stats.t.sf(dd.mean() / se, J - 1), rel=1e-10)
    diff_row = r.table.set_index("model").loc["difference"]
    assert diff_row["auc"] == pytest.approx(dd.mean())
    assert "AUC difference" in str(r.summary())


def test_folds_with_one_class_are_left_out_of_the_auc_test():
    d = _binary_data(n=120, seed=1)
    d.loc[:, "y"] = 0
    d.loc[:2, "y"] = 1           # three 1s: most held-out folds have none
    with pytest.warns(ExclusionWarning, match="one class only"):
        r = predictive_comparison(d, "y", base=["sat"], added=["conn"], family="logit", folds=10,
                                  repeats=1, seed=0)
    has = r.folds.auc_difference.notna()
    assert 0 < has.sum() < 10
    assert r.auc_test["df"] == has.sum() - 1


# ------------------------------------------------------------------------------- simulations
def _rejections(family, make, effect, n, sims, seed0, key="test"):
    hits = 0
    for s in range(sims):
        d = make(n=n, effect=effect, seed=seed0 + s)
        r = predictive_comparison(d, "y", base=["sat", "age"], added=["conn"], family=family,
                                  folds=5, repeats=2, seed=s)
        hits += getattr(r, key)["p_value"] < 0.05
    return hits / sims


def test_ordinal_recovers_a_known_added_effect():
    assert _rejections("ordinal", _ordinal_data, 0.8, 400, 30, 100) >= 0.9   # 0.97 here


def test_logit_auc_recovers_a_known_added_effect():
    assert _rejections("logit", _binary_data, 1.3, 400, 30, 200, key="auc_test") >= 0.9  # 1.0 here


@pytest.mark.slow   # a 150-run simulation, ~12 s; .ci/run runs the slow tests too
def test_no_added_effect_rejects_at_most_at_the_nominal_rate():
    # tolerance: the nominal 5% plus three binomial standard errors of the simulated rate. Adding
    # a pure-noise driver costs the full model its estimation noise out of sample, so the
    # one-sided tests are conservative here (0/150 and 1/150 rejections at these seeds).
    sims = 150
    bound = 0.05 + 3 * np.sqrt(0.05 * 0.95 / sims)
    assert _rejections("ordinal", _ordinal_data, 0.0, 200, sims, 3000) <= bound
    assert _rejections("logit", _binary_data, 0.0, 200, sims, 5000, key="auc_test") <= bound


# ------------------------------------------------------------------------------------ errors
def test_ordinal_errors():
    d = _ordinal_data(n=200, seed=1)
    with pytest.raises(OutOfRangeError, match="at least 3 ordered categories"):
        predictive_comparison(d.assign(y=(d.y > 3).astype(int)), "y", base=["sat"],
                              added=["conn"], family="ordinal")
    rare = d.copy()
    rare.loc[0, "y"] = 9          # a category answered once: absent from one training part
    with pytest.raises(OutOfRangeError, match=r"category \[9\.0\].*missing from the training"):
        predictive_comparison(rare, "y", base=["sat"], added=["conn"], family="ordinal", seed=1)
    with pytest.raises(ArgumentError):
        predictive_comparison(d, "y", base=["sat"], added=["conn"], family="probit")
