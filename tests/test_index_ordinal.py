"""ConnectionIndex fitted on ordinal items (estimator="WLSMV"), against simulated known truth,
and the weighted segment-share table (issues 14 and 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connection.errors import ArgumentError
from connection.measurement._index import SEGMENTS, ConnectionIndex, SegmentRule
from connection.measurement._reliability import _code_covariance
from connection.stats._describe import describe

LAM = np.array([0.85, 0.75, 0.65, 0.55, 0.70])     # latent-response loadings (the truth)
TH = np.array([-1.5, -0.5, 0.3, 1.1])              # five categories
ITEMS = [f"c{j}" for j in range(1, 6)]


def simulate(n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """1-5 codes cut from latent responses y* = lam eta + e (unit variances)."""
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal(n)
    ystar = eta[:, None] * LAM + rng.standard_normal((n, len(LAM))) * np.sqrt(1 - LAM**2)
    codes = 1 + (ystar[:, :, None] > TH).sum(axis=2)
    return eta, pd.DataFrame(codes.astype(float), columns=ITEMS)


@pytest.fixture(scope="module")
def calibration():
    return simulate(20_000, 2)


@pytest.fixture(scope="module")
def fitted(calibration):
    _, df = calibration
    return {est: ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=None,
                                 estimator=est).fit(df) for est in ("ML", "WLSMV")}


@pytest.fixture(scope="module")
def best_linear_predictor():
    """The population's best linear predictor of eta from the codes (1e6 rows, least squares),
    normalised to sum 1 (the 0-100 index does not depend on the weights' scale)."""
    eta, big = simulate(1_000_000, 1)
    x = big.to_numpy() - big.to_numpy().mean(axis=0)
    b = np.linalg.lstsq(x, eta - eta.mean(), rcond=None)[0]
    return b / b.sum()


def test_ordinal_fit_recovers_latent_response_loadings_better_than_ml(fitted):
    ml = np.array([fitted["ML"].loadings_[i] for i in ITEMS])
    wl = np.array([fitted["WLSMV"].loadings_[i] for i in ITEMS])
    assert np.all(ml < LAM)                                  # codes as numbers attenuate
    assert np.abs(wl - LAM).max() < 0.02
    assert np.abs(wl - LAM).mean() < 0.5 * np.abs(ml - LAM).mean()


def test_ordinal_weights_are_the_best_linear_predictor(fitted, best_linear_predictor):
    w = fitted["WLSMV"].weights_
    assert np.all(w > 0)
    np.testing.assert_allclose(w / w.sum(), best_linear_predictor, atol=0.008)


def test_code_covariance_matches_the_sample_with_uneven_codes():
    # the model-implied covariance of codes (used for the weights) against a large sample,
    # with codes 1, 2, 4, 5, 7 (steps 1, 2, 1, 2)
    rng = np.random.default_rng(5)
    r = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    y = rng.multivariate_normal(np.zeros(3), r, size=400_000)
    values = np.array([1, 2, 4, 5, 7.0])
    x = values[(y[:, :, None] > TH).sum(axis=2)]
    steps = [np.diff(values)] * 3
    model = _code_covariance([TH] * 3, r, steps)
    np.testing.assert_allclose(model, np.cov(x, rowvar=False), rtol=0.02)


def test_bartlett_is_conditionally_unbiased_in_the_linear_sense(calibration):
    # the WLSMV factor is scaled by the marker c1's latent response: eta_f = 0.85 eta, so the
    # Bartlett score regressed on the true eta has slope 0.85 (and the regression score less)
    _, df = calibration
    eta, new = simulate(200_000, 7)
    bart = ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=None,
                           estimator="WLSMV", method="bartlett").fit(df)
    slope = np.polyfit(eta, bart.transform(new)["score"], 1)[0]
    assert slope == pytest.approx(LAM[0], abs=0.01)


def test_index_scale_segments_and_round_trip_keep_the_estimator(tmp_path, calibration):
    _, df = calibration
    df = df.iloc[:1500].copy()
    df["sat"] = np.clip(df["c1"] * 2, 1, 10)
    rule = SegmentRule(connected_min=75, satisfaction=["sat"], satisfied_min=8,
                       differentiation=None)
    ci = ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=rule,
                         estimator="WLSMV").fit(df)
    # the 0-100 map: every answer "agree" (4) is 75 when every weight is positive
    assert ci.transform(pd.DataFrame({c: [4.0] for c in ITEMS}))["index"].iloc[0] == \
        pytest.approx(75.0, abs=1e-12)
    seg = ci.segment(df)
    assert set(seg["segment"].dropna()) <= set(SEGMENTS)
    assert ci.fit_measures_["chisq_scaled"] > 0 and "cfi_scaled" in ci.fit_measures_
    path = ci.save(tmp_path / "ordinal.json")
    back = ConnectionIndex.load(path)
    assert back.estimator == "WLSMV" and back.get_params()["estimator"] == "WLSMV"
    assert back.to_dict() == ci.to_dict()
    pd.testing.assert_frame_equal(back.segment(df), seg)


def test_recoding_the_codes_leaves_the_index_unchanged(calibration):
    # weights on codes 2x + 1 are half the weights on x; the 0-100 index is the same
    _, df = calibration
    df = df.iloc[:3000]
    a = ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=None,
                        estimator="WLSMV").fit(df)
    b = ConnectionIndex({"f": ITEMS}, "f", item_range=(3, 11), segments=None,
                        estimator="WLSMV").fit(2 * df + 1)
    np.testing.assert_allclose(b.weights_, a.weights_ / 2, rtol=1e-6)
    np.testing.assert_allclose(b.transform(2 * df + 1)["index"], a.transform(df)["index"],
                               atol=1e-9)


def test_unknown_estimator_is_refused():
    _, df = simulate(300, 3)
    with pytest.raises(ArgumentError, match="unknown estimator"):
        ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=None,
                        estimator="WLS").fit(df)


# ------------------------------------------------------------------------- weighted shares
@pytest.fixture(scope="module")
def segmented():
    _, df = simulate(800, 11)
    rng = np.random.default_rng(12)
    df["sat"] = np.clip(np.round(2 * df["c2"] + rng.normal(size=len(df))), 1, 10)
    df["g"] = rng.integers(0, 2, len(df))
    df["w"] = rng.uniform(0.4, 2.5, len(df))
    rule = SegmentRule(connected_min=60, satisfaction=["sat"], satisfied_min=8,
                       differentiation=None)
    ci = ConnectionIndex({"f": ITEMS}, "f", item_range=(1, 5), segments=rule).fit(df)
    return ci, df


def test_weighted_shares_are_the_weighted_proportions(segmented):
    ci, df = segmented
    tab = ci.shares(df, weights="w")
    seg = ci.segment(df)["segment"]
    w = df["w"].to_numpy()
    for s in SEGMENTS:
        row = tab[(tab["variable"] == "segment") & (tab["category"] == s)].iloc[0]
        assert row["estimate"] == pytest.approx(w[(seg == s).to_numpy()].sum() / w.sum(),
                                                rel=1e-12)
    # the same numbers as describe() (survey::svymean, tested against R) on the segments
    same = describe(pd.DataFrame({"segment": seg}), "segment", weights=w)
    np.testing.assert_allclose(tab.loc[tab["variable"] == "segment", "se"], same["se"],
                               rtol=1e-12)
    assert tab.attrs["weights"] == "w"
    unweighted = ci.shares(df)
    assert not np.allclose(unweighted["estimate"], tab["estimate"])


def test_all_weights_one_give_exactly_the_unweighted_shares(segmented):
    ci, df = segmented
    plain = ci.shares(df, group="g")
    ones = ci.shares(df, group="g", weights=np.ones(len(df)))
    pd.testing.assert_frame_equal(plain, ones, check_like=False, check_exact=True)
    assert plain.attrs["weights"] == "none" and ones.attrs["weights"] == "given weights"


def test_shares_use_a_surveys_weights(segmented):
    from connection.data import Instrument, read_survey

    ci, df = segmented
    inst = Instrument.from_dict({
        "name": "sim",
        "constructs": {"f": {"scale": {"min": 1, "max": 5},
                             "items": [{"id": c} for c in ITEMS]},
                       "satisfaction": {"scale": {"min": 1, "max": 10},
                                        "items": [{"id": "sat"}]}},
        "variables": {"w": {"type": "numeric", "role": "weight"},
                      "g": {"type": "numeric"}}, "weights": "w"})
    survey = read_survey(df, inst)
    got = ci.shares(survey)
    want = ci.shares(df, weights="w")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs["weights"].startswith("the survey's weights")
    pd.testing.assert_frame_equal(ci.shares(survey, weights=None), ci.shares(df),
                                  check_exact=True)

def test_weighted_shares_match_survey_svymean_and_svyby():
    # tests/references/reliability/make_index_shares_{data.py,references.R}: the segments of a
    # WLSMV index on simulated data, and survey::svymean / svyby of them
    import importlib.util
    import json
    from pathlib import Path

    here = Path(__file__).parent / "references" / "reliability"
    spec = importlib.util.spec_from_file_location("gen", here / "make_index_shares_data.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    df = gen.simulate()
    ci = gen.index(df)
    stored = pd.read_csv(here / "index_shares_data.csv")
    assert (ci.segment(df)["segment"].astype(str).to_numpy() == stored["segment"]).all()
    ref = json.loads((here / "index_shares.json").read_text())
    tab = ci.shares(df, weights="w")
    seg = tab[tab["variable"] == "segment"]
    assert list(seg["category"]) == ref["overall"]["category"] == list(SEGMENTS)
    np.testing.assert_allclose(seg["estimate"], ref["overall"]["estimate"], atol=1e-10)
    np.testing.assert_allclose(seg["se"], ref["overall"]["se"], atol=1e-8)
    by = ci.shares(df, weights="w", group="g")
    by = by[by["variable"] == "segment"]
    for k, g in enumerate(ref["by_group"]["g"]):
        rows = by[by["g"] == g]
        np.testing.assert_allclose(rows["estimate"], ref["by_group"]["estimate"][k], atol=1e-10)
        np.testing.assert_allclose(rows["se"], ref["by_group"]["se"][k], atol=1e-8)
