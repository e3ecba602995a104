"""Out-of-sample comparison (issue 16): identical folds per seed, hand-checked fold numbers, the
corrected t test, and its behaviour in simulation (recovers an added effect; none when none)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from connection.errors import ArgumentError, ExclusionWarning, OutOfRangeError
from connection.outcomes._predictive import (
    PredictiveComparisonResult,
    fold_assignment,
    predictive_comparison,
)


def _data(n=300, effect=0.3, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(rng.normal(size=(n, 3)), columns=["sat", "conn", "age"])
    eta = 0.5 * d.sat + effect * d.conn + 0.1 * d.age
    if binary:
        d["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        d["y"] = eta + rng.normal(size=n)
    return d


def test_the_same_seed_gives_the_same_folds_and_results():
    d = _data()
    a = predictive_comparison(d, "y", base=["sat"], added=["conn"], seed=11)
    b = predictive_comparison(d, "y", base=["sat", "age"], added=["conn"], seed=11)
    c = predictive_comparison(d, "y", base=["sat"], added=["conn"], seed=12)
    np.testing.assert_array_equal(a.fold_ids, b.fold_ids)        # folds do not depend on models
    assert not np.array_equal(a.fold_ids, c.fold_ids)
    pd.testing.assert_frame_equal(
        a.folds, predictive_comparison(d, "y", base=["sat"], added=["conn"], seed=11).folds)
    assert a.fold_ids.shape == (5, 300)
    for row in a.fold_ids:                                       # a partition, balanced
        assert np.bincount(row).tolist() == [30] * 10
    assert len({tuple(r) for r in a.fold_ids}) == 5              # repeats differ
    np.testing.assert_array_equal(fold_assignment(300, 10, 5, 11), a.fold_ids)


def test_fold_numbers_equal_statsmodels_fits_on_the_same_split():
    d = _data()
    r = predictive_comparison(d, "y", base=["sat"], added=["conn"], folds=5, repeats=2, seed=3)
    ids = r.fold_ids
    for rep in range(2):
        for f in range(5):
            test = ids[rep] == f
            row = r.folds[(r.folds.repeat == rep + 1) & (r.folds.fold == f + 1)].iloc[0]
            for cols, loss_col, r2_col in ((["sat"], "loss_base", "r2_base"),
                                           (["sat", "conn"], "loss_full", "r2_full")):
                X = sm.add_constant(d[cols].to_numpy())
                fit = sm.OLS(d.y[~test].to_numpy(), X[~test]).fit()
                err = (d.y[test].to_numpy() - fit.predict(X[test])) ** 2
                sst = ((d.y[test] - d.y[~test].mean()) ** 2).sum()
                assert row[loss_col] == pytest.approx(err.mean(), rel=1e-10)
                assert row[r2_col] == pytest.approx(1 - err.sum() / sst, rel=1e-10)


def test_the_test_is_the_nadeau_bengio_corrected_t_over_folds():
    d = _data()
    r = predictive_comparison(d, "y", base=["sat"], added=["conn"], seed=5, level=0.9)
    diff = r.folds.loss_base - r.folds.loss_full
    J = len(diff)
    se = np.sqrt((1 / J + 1 / 9) * diff.var(ddof=1))           # n_test / n_train = 1/9
    t = diff.mean() / se
    assert r.test["se"] == pytest.approx(se, rel=1e-12)
    assert r.test["t"] == pytest.approx(t, rel=1e-12)
    assert r.test["p_value"] == pytest.approx(stats.t.sf(t, J - 1), rel=1e-10)
    q = stats.t.ppf(0.95, J - 1)
    assert r.test["ci_lower"] == pytest.approx(diff.mean() - q * se, rel=1e-12)
    tab = r.to_frame().set_index("model")
    assert tab.loc["difference", "p_value"] == r.test["p_value"]
    assert tab.loc["full", "r2_oos"] == pytest.approx(r.folds.r2_full.mean())
    assert isinstance(r, PredictiveComparisonResult)
    assert "Nadeau-Bengio" in r.summary().as_text()


def test_to_excel(tmp_path):
    r = predictive_comparison(_data(), "y", base=["sat"], added=["conn"], seed=5)
    path = r.to_excel(tmp_path / "cv.xlsx")
    folds = pd.read_excel(path, sheet_name="Folds")
    np.testing.assert_allclose(folds.loss_difference, r.folds.loss_difference, rtol=1e-12)
    models = pd.read_excel(path, sheet_name="Models")
    assert models.model.tolist() == ["base", "full", "difference"]


def _rejections(effect, n, sims, seed0):
    hits = 0
    for s in range(sims):
        d = _data(n=n, effect=effect, seed=seed0 + s)
        hits += predictive_comparison(d, "y", base=["sat", "age"], added=["conn"],
                                      seed=s).test["p_value"] < 0.05
    return hits / sims


def test_simulation_recovers_a_known_added_effect():
    assert _rejections(0.3, 400, 40, 100) >= 0.9


@pytest.mark.slow   # a 150-run simulation, ~14 s; .ci/run runs the slow tests too
def test_simulation_no_effect_rejects_at_most_at_the_nominal_rate():
    sims = 300
    bound = 0.05 + 3 * np.sqrt(0.05 * 0.95 / sims)
    assert _rejections(0.0, 200, sims, 2000) <= bound
    # an added effect so small that it about pays for its estimation noise (b**2 ~ 1 / n_train):
    # equal expected out-of-sample loss; the uncorrected t over folds rejects ~11% here
    assert _rejections(0.075, 200, sims, 4000) <= bound


def test_logit_family_uses_the_log_loss():
    d = _data(n=500, effect=1.0, seed=4, binary=True)
    r = predictive_comparison(d, "y", base=["sat"], added=["conn"], family="logit", folds=5,
                              repeats=1, seed=2)
    test = r.fold_ids[0] == 0
    X = sm.add_constant(d[["sat", "conn"]].to_numpy())
    fit = sm.Logit(d.y[~test].to_numpy(), X[~test]).fit(disp=0)
    p = fit.predict(X[test])
    y = d.y[test].to_numpy()
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert r.folds.loss_full.iloc[0] == pytest.approx(loss.mean(), rel=1e-8)
    assert r.test["mean_difference"] > 0 and r.test["p_value"] < 0.05
    with pytest.raises(OutOfRangeError, match="0/1"):
        predictive_comparison(_data(), "y", base=["sat"], added=["conn"], family="logit")


def test_errors_and_missing_rows():
    d = _data()
    d.loc[:3, "conn"] = np.nan
    with pytest.warns(ExclusionWarning, match="4 of 300"):
        r = predictive_comparison(d, "y", base=["sat"], added=["conn"], seed=1)
    assert r.n == 296
    with pytest.raises(ArgumentError, match="added"):
        predictive_comparison(d, "y", base=["sat"], added=[])
    with pytest.raises(ArgumentError):
        predictive_comparison(d, "y", base=["sat"], added=["sat"])
    with pytest.raises(ArgumentError):
        predictive_comparison(d, "y", base=["sat"], added=["conn"], folds=1)
    with pytest.raises(ArgumentError):
        predictive_comparison(d, "y", base=["sat"], added=["conn"], family="poisson")
