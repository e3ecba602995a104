"""Issue 15, step 2: survey weights travel with the rows the bootstrap resamples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connection.data import Instrument, read_survey
from connection.errors import ArgumentError, OutOfRangeError
from connection.stats._bootstrap import bootstrap


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(21)
    x = rng.normal(5.0, 2.0, size=250)
    w = rng.uniform(0.3, 3.0, size=250)
    return x, w


def average(d, weights=None):
    return np.average(d, weights=weights)


def counts_mean(d, counts):
    return (counts @ d) / counts.sum(axis=1)


def test_all_weights_one_give_exactly_the_unweighted_replicates(sample):
    x, _ = sample
    ones = np.ones(x.size)
    for mode, stat in (("rows", average), ("counts", counts_mean),
                       ("indices", lambda d, i, weights=None: np.average(
                           d[i], axis=1, weights=weights))):
        plain = bootstrap(stat, x, n_boot=200, seed=4, mode=mode, progress=False)
        weighted = bootstrap(stat, x, n_boot=200, seed=4, mode=mode, progress=False,
                             weights=ones)
        np.testing.assert_array_equal(weighted.replicates.to_numpy(), plain.replicates.to_numpy())
        np.testing.assert_array_equal(weighted.estimate.to_numpy(), plain.estimate.to_numpy())
    # bca's jackknife too
    plain = bootstrap(average, x, n_boot=50, seed=4, bca=True, progress=False)
    weighted = bootstrap(average, x, n_boot=50, seed=4, bca=True, progress=False, weights=ones)
    np.testing.assert_array_equal(weighted.jackknife.to_numpy(), plain.jackknife.to_numpy())


def test_weights_travel_with_their_rows_in_every_mode(sample):
    x, w = sample
    frame = pd.DataFrame({"row": np.arange(x.size), "x": x})

    def check_rows(d, weights):
        # the weights handed over are the resampled rows' own weights
        return float(np.array_equal(weights, w[d["row"].to_numpy()]))

    res = bootstrap(check_rows, frame, n_boot=60, seed=2, progress=False, weights=w)
    assert res.estimate.iloc[0] == 1.0 and (res.replicates.to_numpy() == 1.0).all()

    def check_indices(d, idx, weights):
        return np.array([float(np.array_equal(weights[r], w[idx[r]])) for r in range(len(idx))])

    res = bootstrap(check_indices, x, n_boot=60, seed=2, mode="indices", progress=False,
                    weights=w)
    assert (res.replicates.to_numpy() == 1.0).all()


def test_the_three_modes_give_the_same_weighted_replicates(sample):
    x, w = sample
    rows = bootstrap(average, x, n_boot=300, seed=9, progress=False, weights=w)
    counts = bootstrap(counts_mean, x, n_boot=300, seed=9, mode="counts", progress=False,
                       weights=w)
    idx = bootstrap(lambda d, i, weights: np.average(d[i], axis=1, weights=weights), x,
                    n_boot=300, seed=9, mode="indices", progress=False, weights=w)
    assert rows.estimate.iloc[0] == pytest.approx(np.sum(w * x) / w.sum(), abs=1e-12)
    np.testing.assert_allclose(counts.replicates.to_numpy(), rows.replicates.to_numpy(),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(idx.replicates.to_numpy(), rows.replicates.to_numpy(),
                               rtol=0, atol=1e-12)


def test_bootstrap_se_of_a_weighted_mean_matches_the_linearization_se(sample):
    x, w = sample
    res = bootstrap(counts_mean, x, n_boot=4000, seed=1, mode="counts", progress=False,
                    weights=w)
    n = x.size
    ybar = np.sum(w * x) / w.sum()
    z = w * (x - ybar) / w.sum()                       # svymean's influence values
    se_lin = np.sqrt(n / (n - 1) * np.sum((z - z.mean()) ** 2))
    assert res.se.iloc[0] == pytest.approx(se_lin, rel=0.06)
    # and clearly not the unweighted SE when the weights matter
    plain = bootstrap(counts_mean, x, n_boot=500, seed=1, mode="counts", progress=False)
    assert res.estimate.iloc[0] != pytest.approx(plain.estimate.iloc[0], abs=1e-6)


def test_weights_by_column_series_and_survey(sample):
    x, w = sample
    frame = pd.DataFrame({"x": x, "w": w}, index=np.arange(x.size) + 100)
    by_array = bootstrap(lambda d, weights: np.average(d["x"], weights=weights), frame,
                         n_boot=100, seed=3, progress=False, weights=w)
    by_column = bootstrap(lambda d, weights: np.average(d["x"], weights=weights), frame,
                          n_boot=100, seed=3, progress=False, weights="w")
    by_series = bootstrap(lambda d, weights: np.average(d["x"], weights=weights), frame,
                          n_boot=100, seed=3, progress=False, weights=frame["w"])
    for other in (by_column, by_series):
        np.testing.assert_array_equal(other.replicates.to_numpy(), by_array.replicates.to_numpy())

    inst = Instrument.from_dict({
        "name": "w", "constructs": {"c": {"scale": {"min": 1, "max": 5},
                                          "items": [{"id": "c1"}, {"id": "c2"}]}},
        "variables": {"w": {"type": "numeric", "role": "weight"}}, "weights": "w"})
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"c1": rng.integers(1, 6, 80), "c2": rng.integers(1, 6, 80),
                         "w": rng.uniform(0.5, 2.0, 80)})
    survey = read_survey(data, inst)

    def stat(d, weights=None):
        return np.average(d["c1"], weights=weights)

    from_survey = bootstrap(stat, survey, n_boot=80, seed=6, progress=False)
    given = bootstrap(stat, survey.data, n_boot=80, seed=6, progress=False,
                      weights=survey.weights)
    np.testing.assert_array_equal(from_survey.replicates.to_numpy(), given.replicates.to_numpy())
    off = bootstrap(stat, survey, n_boot=80, seed=6, progress=False, weights=None)
    assert off.estimate.iloc[0] == pytest.approx(survey.data["c1"].mean(), abs=1e-12)
    assert from_survey.estimate.iloc[0] != pytest.approx(off.estimate.iloc[0], abs=1e-9)


def test_bad_weights_are_refused(sample):
    x, w = sample
    bad = w.copy()
    bad[[3, 7]] = [0.0, -1.0]
    with pytest.raises(OutOfRangeError, match="rows 4, 8|4, 8"):
        bootstrap(average, x, n_boot=10, seed=1, progress=False, weights=bad)
    with pytest.raises(ArgumentError, match="one weight per row"):
        bootstrap(average, x, n_boot=10, seed=1, progress=False, weights=w[:-1])
    with pytest.raises(ArgumentError, match="not a DataFrame"):
        bootstrap(average, x, n_boot=10, seed=1, progress=False, weights="w")
