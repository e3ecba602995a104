"""invariance() on a Dask frame (issue 18): the configural -> metric -> scalar -> strict ladder,
the score tests that choose the partial-invariance constraints, the scaled difference tests,
the latent means and the exclusions equal the pandas path to 1e-8 (ML and MLR, one and two
group columns, listwise and FIML, weights) on the synchronous and threads schedulers, from a
few partition-wise passes (no rows computed); the ordinal ladder is refused, typed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import ArgumentError, ExclusionWarning, GroupError

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

MODEL = "f =~ i1 + i2 + i3 + i4 + i5"
TOL = 1e-8


def _simulate(n=800, seed=18, missing=False):
    """One factor, five items; the intercept of i3 is 0.6 higher in group a = 'y' (so scalar
    invariance fails and the search frees ``i3 ~1``), the latent mean 0.3 higher there."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y"], n)
    b = rng.choice(["p", "q"], n)
    f = rng.normal(size=n) + 0.3 * (a == "y")
    x = f[:, None] * np.array([1.0, 0.8, 0.9, 0.7, 0.75]) + rng.normal(scale=0.6, size=(n, 5))
    x[:, 2] += np.where(a == "y", 0.6, 0.0)
    frame = pd.DataFrame(x, columns=[f"i{j}" for j in range(1, 6)]).assign(a=a, b=b)
    frame["w"] = rng.uniform(0.5, 2.0, n)
    if missing:
        for c in ["i1", "i3", "i5"]:
            frame.loc[rng.random(n) < 0.1, c] = np.nan
        frame.loc[[3, 50], "a"] = None  # rows without a group: left out, warned
    return frame


def _run(frame, npartitions=4, scheduler="synchronous", **kw):
    """``(pandas result, Dask result, pandas warnings, Dask warnings)``."""
    with warnings.catch_warnings(record=True) as wa:
        warnings.simplefilter("always")
        a = cx.invariance(MODEL, frame, **kw)
    with warnings.catch_warnings(record=True) as wb:
        warnings.simplefilter("always")
        with dask.config.set(scheduler=scheduler):
            b = cx.invariance(MODEL, dd.from_pandas(frame, npartitions=npartitions), **kw)
    return a, b, [str(w.message) for w in wa], [str(w.message) for w in wb]


def _same_frame(x: pd.DataFrame, y: pd.DataFrame):
    assert list(x.columns) == list(y.columns) and len(x) == len(y)
    for col in x.columns:
        if pd.api.types.is_numeric_dtype(x[col]) and not pd.api.types.is_bool_dtype(x[col]):
            np.testing.assert_allclose(y[col].to_numpy(float), x[col].to_numpy(float),
                                       rtol=TOL, atol=TOL, err_msg=col)
        else:
            assert x[col].astype(str).tolist() == y[col].astype(str).tolist(), col


def _same(a, b):
    _same_frame(a.table, b.table)
    _same_frame(a.partial, b.partial)
    _same_frame(a.latent_means, b.latent_means)
    assert (a.strongest, a.strongest_step, a.groups, a.group, a.notes, a.flags) == (
        b.strongest, b.strongest_step, b.groups, b.group, b.notes, b.flags)
    assert a.summary().as_text() == b.summary().as_text()


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("estimator", ["ML", "MLR"])
@pytest.mark.parametrize("group", ["a", ["a", "b"]])
def test_ladder_with_partial_invariance_equals_pandas(estimator, group, scheduler):
    a, b, _, _ = _run(_simulate(), group=group, estimator=estimator, scheduler=scheduler)
    _same(a, b)
    # the search really ran: scalar failed, the non-invariant intercept was freed by its
    # score test and the partial model holds; latent means under partial scalar invariance
    assert list(b.partial["parameter"]) == ["i3 ~1"] and b.partial["x2"].iloc[0] > 20
    assert "scalar (partial)" in list(b.table["step"]) and b.strongest == "strict"
    assert len(b.latent_means) == len(b.groups) and b.latent_means["mean"].abs().max() > 0.1
    if estimator == "MLR":  # the scaled difference tests, not ML's
        assert np.isfinite(b.table["scaling_factor"]).all()
        assert not np.allclose(b.table["chisq"], b.table["chisq_ml"])


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("missing", ["listwise", "ml"])
@pytest.mark.parametrize("estimator", ["ML", "MLR"])
def test_missing_values_listwise_and_fiml_equal_pandas(estimator, missing, scheduler):
    a, b, wa, wb = _run(_simulate(missing=True), npartitions=5, scheduler=scheduler,
                        group=["a", "b"] if missing == "ml" else "a", estimator=estimator,
                        missing=missing)
    _same(a, b)
    assert wa == wb  # the same exclusions, counted and warned once each
    assert any("2 rows have no value for a" in m and "rows 4, 51" in m for m in wb)
    listwise = [m for m in wb if "left out (listwise)" in m]
    assert len(listwise) == (missing == "listwise")
    assert b.fits["configural"].ntotal == a.fits["configural"].ntotal


def test_weights_column_equals_pandas():
    a, b, wa, wb = _run(_simulate(missing=True), scheduler="threads", group=["a", "b"],
                        weights="w")
    _same(a, b)
    assert wa == wb and b.estimator == "MLR"
    assert any("weighted by w" in n for n in b.notes)


def test_a_ladder_reads_the_frame_in_few_passes_and_never_computes_its_rows(monkeypatch):
    """One pass for the groups and checks, one for the moments (MLR: one more for the
    fourth moments) however many steps and partial fits: every fit shares them."""
    ddf = dd.from_pandas(_simulate(missing=True), npartitions=4)
    calls = []
    compute = dask.compute
    monkeypatch.setattr(dask, "compute", lambda *a, **k: calls.append(1) or compute(*a, **k))

    def no_rows(self, *a, **k):
        raise AssertionError("the rows were computed")

    monkeypatch.setattr(type(ddf), "compute", no_rows)
    for estimator, missing, passes in [("ML", "listwise", 2), ("MLR", "listwise", 3),
                                       ("ML", "ml", 2), ("MLR", "ml", 3)]:
        calls.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExclusionWarning)
            with dask.config.set(scheduler="synchronous"):
                res = cx.invariance(MODEL, ddf, group="a", estimator=estimator,
                                    missing=missing)
        assert len(res.fits) >= 5  # four steps and a partial fit
        assert len(calls) == passes, (estimator, missing)


def test_group_checks_on_a_dask_frame_raise_as_pandas():
    frame = _simulate()
    frame.loc[frame["a"] == "y", "i4"] = 2.5  # constant in group y
    with pytest.raises(GroupError, match="item 'i4' is constant in group 'y'"):
        cx.invariance(MODEL, dd.from_pandas(frame, npartitions=3), group="a")
    one = _simulate().assign(a="x")
    with pytest.raises(GroupError, match="at least two groups"):
        cx.invariance(MODEL, dd.from_pandas(one, npartitions=3), group="a")


def test_ordinal_ladder_and_weight_values_are_refused_on_a_dask_frame():
    ddf = dd.from_pandas(_simulate(), npartitions=2)
    with pytest.raises(ArgumentError, match=r"ordered=.*Dask.*compute\(\)"):
        cx.invariance(MODEL, ddf, group="a", ordered=True)
    with pytest.raises(ArgumentError, match="name of a column"):
        cx.invariance(MODEL, ddf, group="a", weights=np.ones(800))


def test_a_weighted_dask_survey_equals_its_pandas_survey(tmp_path):
    """invariance(survey, group=): the instrument's model, the survey's weight column."""
    import dataclasses

    from connection import instruments
    from connection.data import Variable

    inst = instruments.default().subset(["satisfaction", "quality"])
    inst = dataclasses.replace(inst, variables=[Variable("w", role="weight")], weights="w")
    rng = np.random.default_rng(5)
    frames = []
    for part in range(3):
        n = 150
        f = pd.DataFrame({"rid": [f"r{part}_{i}" for i in range(n)],
                          "w": rng.uniform(0.3, 3.0, n), "seg": rng.choice(["u", "v"], n)})
        for items in inst.as_dict().values():
            factor = rng.normal(size=n)
            for item in items:
                sc = inst.items[item].scale
                raw = (sc.min + sc.max) / 2 + 1.2 * factor + rng.normal(size=n)
                f[item] = np.clip(np.round(raw), sc.min, sc.max)
        f.to_parquet(tmp_path / f"part{part}.parquet")
        frames.append(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with dask.config.set(scheduler="threads"):
            lazy = cx.read_survey(tmp_path, inst, id_column="rid")
            b = cx.invariance(lazy, group="seg")
        whole = cx.read_survey(pd.concat(frames, ignore_index=True), inst, id_column="rid")
        a = cx.invariance(whole, group="seg")
    assert isinstance(lazy.data, dd.DataFrame)
    _same(a, b)
    assert b.estimator == "MLR" and "the survey's weights (w)" in b.notes[-1]
