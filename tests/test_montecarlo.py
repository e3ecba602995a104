"""monte_carlo (issue 18): results ordered by replicate, identical whatever the executor."""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest

from connection.errors import ArgumentError
from connection.simulation._montecarlo import MonteCarloResult, monte_carlo


def _replicate(seed, n=50):
    """A small study: the mean and sd of n normal draws and the sum of a few integers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)),
            "k": int(rng.integers(0, 100, size=3).sum())}


def _fails_at_7(seed):
    if seed.spawn_key[-1] == 7:
        raise ValueError("replicate went wrong")
    return 1


REPS = 37


def _bytes(result):
    """The results as bytes: repr round-trips every float exactly; the table as CSV. (pickle's
    bytes depend on object identity, e.g. shared dict keys, not only on the values.)"""
    return repr(result.values).encode() + result.to_frame().to_csv(float_format="%.17g").encode()


@pytest.fixture(scope="module")
def serial():
    return monte_carlo(_replicate, REPS, seed=2024)


def test_replicate_i_gets_child_i(serial):
    children = np.random.SeedSequence(2024).spawn(REPS)
    assert serial.values == [_replicate(s) for s in children]
    assert serial.entropy == 2024 and serial.executor == "serial"
    # a SeedSequence seed gives the children its own spawn() would (the study relies on it)
    root = np.random.SeedSequence(7).spawn(2)[1]
    got = monte_carlo(_replicate, 4, seed=root).values
    assert got == [_replicate(s) for s in np.random.SeedSequence(7).spawn(2)[1].spawn(4)]


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
@pytest.mark.parametrize("workers", [1, 4])
def test_byte_identical_whatever_the_workers(serial, pool, workers):
    with pool(workers) as ex:
        r = monte_carlo(partial(_replicate, n=50), REPS, seed=2024, executor=ex, chunk=3)
    assert _bytes(r) == _bytes(serial)
    assert r.executor == "executor" and r.tasks == 13


def test_chunking_does_not_change_results(serial):
    with ThreadPoolExecutor(3) as ex:
        for chunk in (1, 5, 100):
            r = monte_carlo(_replicate, REPS, seed=2024, executor=ex, chunk=chunk)
            assert _bytes(r) == _bytes(serial)


def test_dask_local_cluster(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        r = monte_carlo(_replicate, REPS, seed=2024, executor=client, chunk=4)
    assert _bytes(r) == _bytes(serial)
    assert r.executor == "dask"


def test_a_failing_replicate_is_named():
    with pytest.raises(ValueError, match="went wrong") as info:
        monte_carlo(_fails_at_7, 10, seed=1)
    assert any("replicate 7" in note for note in info.value.__notes__)
    with ThreadPoolExecutor(2) as ex, pytest.raises(ValueError) as info:
        monte_carlo(_fails_at_7, 10, seed=1, executor=ex, chunk=2)
    assert any("replicate 7" in note for note in info.value.__notes__)


def _scaled(seed, setting):
    """A replicate of a design: the setting scales and shifts the draws."""
    rng = np.random.default_rng(seed)
    return {"setting": setting["sd"], "mean": float(setting["sd"] * rng.normal(size=20).mean()
                                                    + setting["shift"])}


GRID = [{"sd": sd, "shift": shift} for sd in (0.5, 1.0, 2.0) for shift in (0.0, 10.0)]


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_a_grid_gives_replicate_i_its_setting_and_child_seed(workers):
    children = np.random.SeedSequence(99).spawn(len(GRID))
    expected = [_scaled(s, g) for s, g in zip(children, GRID)]
    if workers:
        with ProcessPoolExecutor(workers) as ex:
            r = monte_carlo(_scaled, seed=99, grid=GRID, executor=ex, chunk=2)
    else:
        r = monte_carlo(_scaled, seed=99, grid=GRID)
    assert r.values == expected and r.reps == len(GRID)
    assert monte_carlo(_scaled, len(GRID), seed=99, grid=iter(GRID)).values == expected
    with pytest.raises(ArgumentError, match="length of grid"):
        monte_carlo(_scaled, 5, seed=99, grid=GRID)
    with pytest.raises(ArgumentError, match="reps= or grid="):
        monte_carlo(_scaled, seed=99)


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="executor"):
        monte_carlo(_replicate, 3, seed=1, executor="threads")
    with pytest.raises(ArgumentError, match="reps"):
        monte_carlo(_replicate, 0, seed=1)
    with pytest.raises(ArgumentError, match="seed"):
        monte_carlo(_replicate, 3, seed=-1)
    with pytest.raises(ArgumentError, match="callable"):
        monte_carlo(3, 3, seed=1)


def test_frame_and_summary(serial):
    frame = serial.to_frame()
    assert list(frame.columns) == ["replicate", "mean", "sd", "k"] and len(frame) == REPS
    assert frame["mean"].tolist() == [v["mean"] for v in serial.values]
    assert isinstance(serial, MonteCarloResult)
    text = serial.summary().as_text()
    assert "Replicates" in text and "37" in text
    tup = monte_carlo(lambda s: (1, 2.0), 2, seed=0).to_frame()
    assert list(tup.columns) == ["replicate", "value_0", "value_1"]


@pytest.mark.slow   # about 30 s: two full runs of the power study (CI runs the slow tests too)
def test_power_study_outputs_do_not_depend_on_the_workers(tmp_path):
    """studies/power_social_moms.py --workers 1 and --workers 4: the same files, byte for byte
    (tables, numbers, figures); only the manifest's command line and timings differ."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(root)}
    outs = {}
    for workers in (1, 4):
        out = tmp_path / f"w{workers}"
        subprocess.run([sys.executable, str(root / "studies" / "power_social_moms.py"),
                        "--population-n", "2000", "--reps", "10", "--scalar-reps", "4",
                        "--reps-at-n80", "3",
                        "--workers", str(workers), "--out", str(out), "--quiet"],
                       cwd=root, env=env, check=True, capture_output=True, timeout=600)
        outs[workers] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                         if p.is_file() and p.name != "manifest.json"}
    assert outs[1].keys() == outs[4].keys() and len(outs[1]) >= 5
    assert outs[1] == outs[4]
