"""Importance-performance map (issue 16): rescaling, importances and quadrants on constructed data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import pandas as pd
import pytest

from connection.data import Instrument, read_survey
from connection.errors import ArgumentError, ExclusionWarning, OutOfRangeError
from connection.outcomes._importance import general_dominance, subset_r2
from connection.outcomes._ipma import IPMAResult, importance_performance


def _data(n=2000, seed=5):
    """Four independent drivers on a 1-7 scale with known means and known effects."""
    rng = np.random.default_rng(seed)
    # per-driver category probabilities set the means: a high, b low, c high, d low
    probs = {"a": [0, 0, 0, .1, .2, .3, .4], "b": [.4, .3, .2, .1, 0, 0, 0],
             "c": [0, 0, .1, .2, .3, .2, .2], "d": [.2, .2, .2, .2, .2, 0, 0]}
    d = pd.DataFrame({k: rng.choice(np.arange(1, 8), n, p=p).astype(float)
                      for k, p in probs.items()})
    z = (d - d.mean()) / d.std()
    # a and b matter a lot; c and d little
    d["loyalty"] = 0.7 * z.a + 0.6 * z.b + 0.1 * z.c + 0.05 * z.d + rng.normal(scale=0.8, size=n)
    return d


DRIVERS = ["a", "b", "c", "d"]


def test_performance_is_the_mean_rescaled_on_the_given_scale():
    d = _data()
    r = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7))
    t = r.to_frame().set_index("driver")
    for k in DRIVERS:
        assert t.loc[k, "mean"] == pytest.approx(d[k].mean(), rel=1e-12)
        assert t.loc[k, "performance"] == pytest.approx((d[k].mean() - 1) / 6 * 100, rel=1e-12)
    # the scale's ends, not the observed ones: a never takes 1-3 yet its minimum is 1
    assert d.a.min() == 4 and t.loc["a", "scale_min"] == 1
    per = importance_performance(d, "loyalty", DRIVERS, scale={"a": (0, 10), "b": (1, 7),
                                                               "c": (1, 7), "d": (1, 7)})
    assert per.table.set_index("driver").loc["a", "performance"] == pytest.approx(
        d.a.mean() * 10, rel=1e-12)


def test_quadrants_split_at_the_mean_importance_and_performance():
    d = _data()
    r = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7))
    t = r.table.set_index("driver")
    assert r.importance_cut == pytest.approx(t.importance.mean())
    assert r.performance_cut == pytest.approx(t.performance.mean())
    # a: important, high mean; b: important, low mean; c: minor, high; d: minor, low
    assert t.quadrant.to_dict() == {"a": "keep up the good work", "b": "concentrate here",
                                    "c": "possible overkill", "d": "low priority"}


def test_dominance_shares_and_coefficients_from_the_driver_model():
    d = _data()
    dom = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7))
    corr = np.corrcoef(d[["loyalty", *DRIVERS]].to_numpy(), rowvar=False)
    gd = general_dominance(subset_r2(corr, 4), 4)
    np.testing.assert_allclose(dom.table.importance, 100 * gd / gd.sum(), rtol=1e-10)
    assert dom.table.importance.sum() == pytest.approx(100.0)
    coef = importance_performance(d, "loyalty", DRIVERS, importance="coefficients", scale=(1, 7))
    z = (d - d.mean()) / d.std()
    beta = np.linalg.lstsq(np.column_stack([np.ones(len(z)), z[DRIVERS]]), z.loyalty,
                           rcond=None)[0][1:]
    np.testing.assert_allclose(coef.table.importance, beta, rtol=1e-8)
    assert coef.r2 == pytest.approx(dom.r2) == pytest.approx(gd.sum())


def test_weights_and_missing_rows():
    d = _data(n=600)
    d["w"] = np.random.default_rng(1).uniform(0.5, 2, len(d))
    r = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7), weights="w")
    wm = np.average(d.b, weights=d.w)
    assert r.table.set_index("driver").loc["b", "mean"] == pytest.approx(wm, rel=1e-12)
    d["one"] = 1.0
    pd.testing.assert_frame_equal(
        importance_performance(d, "loyalty", DRIVERS, scale=(1, 7), weights="one").table,
        importance_performance(d, "loyalty", DRIVERS, scale=(1, 7)).table)
    d.loc[:4, "c"] = np.nan
    with pytest.warns(ExclusionWarning, match="5 of 600"):
        r = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7))
    assert r.n == 595


def test_scales_come_from_a_survey_codebook():
    rng = np.random.default_rng(2)
    n = 300
    spec = {"name": "s", "constructs": {
        "conn": {"scale": {"min": 1, "max": 5}, "items": [{"id": "c1"}, {"id": "c2"}]},
        "sat": {"scale": {"min": 0, "max": 10}, "items": [{"id": "s1"}]}}}
    data = pd.DataFrame({"c1": rng.integers(1, 6, n), "c2": rng.integers(1, 6, n),
                         "s1": rng.integers(0, 11, n)})
    data["y"] = data.c1 + 0.2 * data.s1 + rng.normal(size=n)
    data["conn"] = (data.c1 + data.c2) / 2      # a construct score: its items' common scale
    survey = read_survey(data, Instrument.from_dict(spec))
    r = importance_performance(survey, "y", ["c1", "s1", "conn"])
    t = r.table.set_index("driver")
    assert (t.loc["c1", "scale_min"], t.loc["c1", "scale_max"]) == (1, 5)
    assert (t.loc["s1", "scale_min"], t.loc["s1", "scale_max"]) == (0, 10)
    assert (t.loc["conn", "scale_min"], t.loc["conn", "scale_max"]) == (1, 5)
    assert set(t.scale_source) == {"codebook"}
    assert t.loc["s1", "performance"] == pytest.approx(data.s1.mean() * 10, rel=1e-12)


def test_errors_name_what_to_do():
    d = _data(n=200)
    with pytest.raises(ArgumentError, match="scale of these drivers is not known"):
        importance_performance(d, "loyalty", DRIVERS)
    with pytest.raises(OutOfRangeError, match="outside the scale"):
        importance_performance(d, "loyalty", DRIVERS, scale=(1, 5))
    with pytest.raises(ArgumentError):
        importance_performance(d, "loyalty", DRIVERS, scale=(7, 1))
    with pytest.raises(ArgumentError):
        importance_performance(d, "loyalty", DRIVERS, importance="shapley", scale=(1, 7))


def test_report_plot_and_excel(tmp_path):
    d = _data(n=300)
    r = importance_performance(d, "loyalty", DRIVERS, scale=(1, 7))
    assert isinstance(r, IPMAResult)
    text = r.summary().as_text()
    assert "concentrate here" in text and "Importance-performance map" in text
    fig = r.plot()
    ax = fig.axes[0]
    xy = ax.collections[0].get_offsets()
    np.testing.assert_allclose(xy[:, 0], r.table.importance)
    np.testing.assert_allclose(xy[:, 1], r.table.performance)
    assert [t.get_text() for t in ax.texts][:4] == DRIVERS
    plt.close(fig)
    path = r.to_excel(tmp_path / "ipma.xlsx")
    back = pd.read_excel(path, sheet_name="IPMA")
    np.testing.assert_allclose(back.performance, r.table.performance, rtol=1e-12)
