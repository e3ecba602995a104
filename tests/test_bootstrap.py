"""The shared bootstrap engine: seeding, modes, strata, failure accounting, intervals."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connection.errors import BootstrapWarning, ConnectionPackageError
from connection.stats._bootstrap import bootstrap, resample_indices


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).normal(5.0, 2.0, size=300)


def weighted_mean(d, w):
    return (w @ d) / d.shape[0]


def test_same_seed_same_replicates_and_different_seed_differs(x):
    a = bootstrap(np.mean, x, n_boot=300, seed=11, progress=False)
    b = bootstrap(np.mean, x, n_boot=300, seed=11, progress=False)
    c = bootstrap(np.mean, x, n_boot=300, seed=12, progress=False)
    np.testing.assert_array_equal(a.replicates.to_numpy(), b.replicates.to_numpy())
    assert not np.array_equal(a.replicates.to_numpy(), c.replicates.to_numpy())


def test_parallel_gives_the_same_replicates_as_serial(x):
    serial = bootstrap(np.mean, x, n_boot=400, seed=5, progress=False, n_jobs=1)
    parallel = bootstrap(np.mean, x, n_boot=400, seed=5, progress=False, n_jobs=2)
    np.testing.assert_array_equal(serial.replicates.to_numpy(), parallel.replicates.to_numpy())


def test_counts_and_indices_modes_reproduce_rows_mode(x):
    rows = bootstrap(np.mean, x, n_boot=250, seed=9, progress=False).replicates.to_numpy()[:, 0]
    counts = bootstrap(weighted_mean, x, n_boot=250, seed=9, mode="counts",
                       progress=False).replicates.to_numpy()[:, 0]
    idx = bootstrap(lambda d, i: d[i].mean(axis=1), x, n_boot=250, seed=9, mode="indices",
                    progress=False).replicates.to_numpy()[:, 0]
    np.testing.assert_allclose(counts, rows, rtol=0, atol=1e-12)
    np.testing.assert_allclose(idx, rows, rtol=0, atol=1e-12)


def test_standard_error_of_a_mean_matches_theory(x):
    res = bootstrap(weighted_mean, x, n_boot=4000, seed=1, mode="counts", progress=False)
    theory = x.std(ddof=0) / np.sqrt(x.size)
    assert res.se.iloc[0] == pytest.approx(theory, rel=0.06)


def test_percentile_and_bca_intervals_agree_with_scipy_on_a_skewed_statistic():
    y = np.random.default_rng(8).exponential(1.0, size=120)
    ours = bootstrap(np.std, y, n_boot=3000, seed=2, progress=False, bca=True)
    ref = stats.bootstrap((y,), np.std, n_resamples=3000, method="BCa",
                          random_state=np.random.default_rng(2)).confidence_interval
    bca = ours.ci(method="bca")
    # different random draws: agreement to Monte Carlo error, and BCa shifts right of percentile
    assert bca["ci_lower"].iloc[0] == pytest.approx(ref.low, abs=0.03)
    assert bca["ci_upper"].iloc[0] == pytest.approx(ref.high, abs=0.05)
    pct = ours.ci(method="percentile")
    assert bca["ci_upper"].iloc[0] > pct["ci_upper"].iloc[0]


def test_strata_keep_group_sizes():
    groups = np.array(["a"] * 30 + ["b"] * 70)
    idx = resample_indices(np.random.default_rng(0), 100, 50, strata=groups)
    assert idx.shape == (50, 100)
    assert np.all(groups[idx][:, :30] == "a") and np.all(groups[idx][:, 30:] == "b")
    res = bootstrap(lambda d: float((d == "a").sum()), groups, n_boot=50, seed=0,
                    strata=groups, progress=False)
    assert res.replicates.iloc[:, 0].nunique() == 1 and res.replicates.iloc[0, 0] == 30


def test_failed_replicates_are_counted_and_warned():
    data = np.arange(20.0)

    def fragile(d):
        if d.max() < 19:  # replicates that miss the largest value fail
            raise ValueError("no max")
        return d.mean()

    with pytest.warns(BootstrapWarning, match=r"of 400 bootstrap replicates failed \(ValueError"):
        res = bootstrap(fragile, data, n_boot=400, seed=4, progress=False)
    expected_failures = (1 - 1 / 20) ** 20  # chance a replicate misses one value
    assert res.n_failed == res.failures["ValueError"]
    assert res.n_failed / 400 == pytest.approx(expected_failures, abs=0.08)
    assert len(res.replicates) == 400 - res.n_failed
    assert res.to_frame()["n_failed"].iloc[0] == res.n_failed


def test_non_finite_results_are_failures_in_vectorised_mode():
    data = np.arange(10.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bootstrap(lambda d, w: np.where(w[:, 0] > 0, np.nan, 1.0), data, n_boot=200,
                        seed=1, mode="counts", progress=False)
    assert any(issubclass(w.category, BootstrapWarning) for w in caught)
    assert res.failures["non-finite result"] == res.n_failed > 0


def test_named_statistics_keep_their_names():
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) ** 2})
    res = bootstrap(lambda d: d.mean(), frame, n_boot=50, seed=0, progress=False)
    assert list(res.to_frame()["statistic"]) == ["a", "b"]
    assert res.estimate["a"] == pytest.approx(24.5)


def test_bad_arguments_raise_the_package_error(x):
    with pytest.raises(ConnectionPackageError, match="mode must be one of"):
        bootstrap(np.mean, x, mode="weights")
    with pytest.raises(ConnectionPackageError, match="different numbers of rows"):
        bootstrap(lambda a: 0.0, (x, x[:10]))
    with pytest.raises(ConnectionPackageError, match="strata length"):
        bootstrap(np.mean, x, strata=[1, 2])


# ---------------------------------------------------------------------------- issue 13

def _fragile(d):
    if d.max() < 19:  # replicates that miss the largest value fail
        raise ValueError("no max")
    return d.mean()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bootstrap_warning_points_at_the_callers_line_also_with_workers(n_jobs):
    """Replicates fail in the worker processes; the warning is issued once, in this process,
    at this file's line (not at _bootstrap.py or concurrent.futures)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bootstrap(_fragile, np.arange(20.0), n_boot=400, seed=4, progress=False,
                        n_jobs=n_jobs, chunk_size=100)
    boot = [w for w in caught if issubclass(w.category, BootstrapWarning)]
    assert len(boot) == 1 and res.n_failed > 0
    assert boot[0].filename == __file__


def test_a_generator_seed_same_state_same_replicates(x):
    one = bootstrap(np.mean, x, n_boot=300, seed=np.random.default_rng(21), progress=False)
    two = bootstrap(np.mean, x, n_boot=300, seed=np.random.default_rng(21), progress=False)
    np.testing.assert_array_equal(one.replicates.to_numpy(), two.replicates.to_numpy())
    rng = np.random.default_rng(21)
    bootstrap(np.mean, x, n_boot=10, seed=rng, progress=False)
    moved = bootstrap(np.mean, x, n_boot=300, seed=rng, progress=False)
    assert not np.array_equal(moved.replicates.to_numpy(), one.replicates.to_numpy())
    seq = bootstrap(np.mean, x, n_boot=300, seed=np.random.SeedSequence(11), progress=False)
    num = bootstrap(np.mean, x, n_boot=300, seed=11, progress=False)
    np.testing.assert_array_equal(seq.replicates.to_numpy(), num.replicates.to_numpy())


def test_defaults_and_checks_come_from_the_common_vocabulary(x):
    import inspect

    from connection._common import DEFAULT_LEVEL, DEFAULT_N_BOOT
    from connection.errors import ArgumentError

    params = inspect.signature(bootstrap).parameters
    assert params["n_boot"].default == DEFAULT_N_BOOT and params["level"].default == DEFAULT_LEVEL
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY
               for n in ("n_boot", "seed", "level", "n_jobs", "progress", "strata"))
    for bad in (0, 2.5, True):
        with pytest.raises(ArgumentError, match="n_boot"):
            bootstrap(np.mean, x, n_boot=bad)
    with pytest.raises(ArgumentError, match="level must lie strictly between 0 and 1"):
        bootstrap(np.mean, x, n_boot=10, level=95)
    with pytest.raises(ArgumentError, match="seed"):
        bootstrap(np.mean, x, n_boot=10, seed=-1)
    res = bootstrap(np.mean, x, n_boot=50, seed=1, progress=False)
    with pytest.raises(ArgumentError, match="level"):
        res.ci(1.5)


def test_summary_is_a_report_of_to_frame_and_html_comes_from_it():
    from connection._report import Report

    with pytest.warns(BootstrapWarning):
        res = bootstrap(_fragile, np.arange(20.0), n_boot=200, seed=4, progress=False)
    report = res.summary()
    assert isinstance(report, Report)
    assert ("Replicates", 200) in report.header
    assert dict(report.header)["Failed"] == f"{res.n_failed} (ValueError: {res.n_failed})"
    pd.testing.assert_frame_equal(report.tables[0].frame, res.to_frame())
    assert res._repr_html_() == report.as_html() and repr(res) == report.as_text()
    assert list(res.to_frame().columns) == ["statistic", "estimate", "se", "ci_lower", "ci_upper",
                                            "level", "n_boot", "n_failed"]
