"""The invariance ladder carries the admissibility flags of its fits (issue 11).

``InvarianceResult.flags`` is the union of every step's ``Fit.flags``, each message prefixed by
its step; the ladder table, the freed-parameter table and the latent means have a ``flags``
column with the flags of the fits each row is computed from.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connection._flags import Flag, format_flags
from connection.latent._invariance import invariance

MODEL = "f =~ i1 + i2 + i3 + i4"


def _heywood_data(seed: int = 3, n: int = 300, shift: float = 0.0) -> pd.DataFrame:
    """i2-i4 load .63 on one factor; i1 is (nearly) their standardized sum, so it correlates
    with each of them more than a single-factor item can: its implied loading is above 1 and
    its residual variance negative (a Heywood case) in every group. ``shift`` moves i2's
    intercept in group b (scalar non-invariance)."""
    rng = np.random.default_rng(seed)
    parts = []
    for g in ("a", "b"):
        f = rng.normal(size=n)
        y = 0.63 * f[:, None] + 0.77 * rng.normal(size=(n, 3))
        s = y.sum(axis=1)
        x1 = s / s.std() + 0.1 * rng.normal(size=n)
        if g == "b":
            y[:, 0] += shift
        parts.append(pd.DataFrame(np.column_stack([x1, y]), columns=["i1", "i2", "i3", "i4"])
                     .assign(g=g))
    return pd.concat(parts, ignore_index=True)


def _admissible_data(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(["a", "b"], 400)
    f = rng.normal(size=(800, 1)) + np.where(g == "b", 0.5, 0.0)[:, None]
    x = f @ np.array([[1.0, 0.8, 0.9, 0.7]]) + rng.normal(scale=0.6, size=(800, 4))
    return pd.DataFrame(x, columns=["i1", "i2", "i3", "i4"]).assign(g=g)


@pytest.fixture(scope="module")
def flagged():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silenced on the console: the flags must still be there
        return invariance(MODEL, _heywood_data(), group="g")


def test_result_flags_are_the_union_of_the_fits_flags_labelled_by_step(flagged):
    inv = flagged
    assert inv.flags and not inv.admissible
    assert all(isinstance(f, Flag) for f in inv.flags)
    expected = [(step, f) for step, fit in inv.fits.items() for f in fit.flags]
    assert expected, "the crafted data must give a flagged fit"
    assert len(inv.flags) == len(expected)
    for got, (step, f) in zip(inv.flags, expected):
        assert got.code == f.code
        assert got.message == f"{step} step: {f.message}"
        assert got.parameters == f.parameters
    assert {f.code for f in inv.flags} == {"heywood"}
    assert all("i1 ~~ i1" in f.parameters for f in inv.flags)
    report = inv.summary()
    assert list(report.flags) == list(inv.flags)  # the Report shows them first
    text = str(report)
    assert text.index("NOT ADMISSIBLE") < text.index("Ladder")
    assert "  - heywood: configural step" in text


def test_ladder_table_rows_carry_their_fits_flags(flagged):
    inv = flagged
    tab = inv.table.set_index("step")
    assert "flags" in inv.table.columns
    for step in inv.fits:
        own = format_flags(f for f in inv.flags if f.message.startswith(f"{step} step:"))
        assert own and own in tab.loc[step, "flags"]
        compared = tab.loc[step, "compared_with"]
        if compared:   # the deltas and the verdict rest on the step compared with too
            assert f"{compared} step:" in tab.loc[step, "flags"]
    assert tab.loc["configural", "flags"].count("step:") == 1


def test_latent_means_and_freed_parameters_carry_the_flags_of_their_fit(flagged):
    inv = flagged
    assert len(inv.latent_means)
    step = inv.strongest_step  # the row (here the partial strict model) the means come from
    assert step == "strict (partial)" and inv.strongest == "strict"
    own = format_flags(f for f in inv.flags if f.message.startswith(f"{step} step:"))
    assert (inv.latent_means["flags"] == own).all()
    # the first parameter freed at a step was chosen by the full step's score tests, the next
    # ones by the partial model's
    for _, rows in inv.partial.groupby("step", sort=False):
        for i, r in enumerate(rows.itertuples()):
            source = r.step if i == 0 else f"{r.step} (partial)"
            assert r.flags == format_flags(f for f in inv.flags
                                           if f.message.startswith(f"{source} step:"))


def test_admissible_ladder_has_no_flags():
    inv = invariance(MODEL, _admissible_data(), group="g")
    assert inv.flags == () and inv.admissible
    assert (inv.table["flags"] == "").all()
    assert (inv.latent_means["flags"] == "").all()
    assert "NOT ADMISSIBLE" not in str(inv.summary()) and not inv.summary().flags


def test_untested_steps_and_user_freed_parameters_have_empty_flags():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = invariance(MODEL, _heywood_data(shift=1.0), group="g", partial=None)
        given = invariance(MODEL, _heywood_data(), group="g", levels=("configural", "metric"),
                           partial=["i2 ~1"])
    tab = inv.table.set_index("step")
    assert not bool(tab.loc["scalar", "holds"]) and pd.isna(tab.loc["strict", "holds"])
    assert tab.loc["strict", "flags"] == ""
    assert "scalar step:" in tab.loc["scalar", "flags"]
    assert inv.latent_means.empty and "flags" in inv.latent_means.columns
    assert given.partial.loc[given.partial["step"] == "all", "flags"].tolist() == [""]
