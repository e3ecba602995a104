"""Figures of connection.plots.measurement drawn from a real invariance ladder."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from connection import errors, plots  # noqa: E402
from connection._io import sha256_file  # noqa: E402
from connection.latent._invariance import invariance  # noqa: E402
from connection.plots import measurement  # noqa: E402

REF = Path(__file__).parent / "references"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def inv():
    hs = pd.read_csv(REF / "data" / "HolzingerSwineford1939.csv")
    return invariance(HS_MODEL, hs, "school", partial=None, stop=False)


def _points(ax) -> list[tuple[float, float]]:
    out = []
    for line in ax.get_lines():
        if line.get_marker() == "o":
            out += list(zip(line.get_xdata(), line.get_ydata()))
    return out


def test_loadings_by_group_draws_every_group_and_item(inv):
    import matplotlib.pyplot as plt

    tidy = inv.loadings("configural")
    assert len(tidy) == 18 and set(tidy["group"]) == {"Pasteur", "Grant-White"}
    # configural loadings differ between groups; the metric step makes the unstandardized equal
    met = inv.loadings("metric", standardized=False)
    wide = met.pivot(index="item", columns="group", values="loading")
    np.testing.assert_allclose(wide["Pasteur"], wide["Grant-White"], atol=1e-8)
    fig = measurement.loadings_by_group(tidy)
    ax = fig.axes[0]
    xs = sorted(round(x, 10) for x, _ in _points(ax))
    assert xs == sorted(round(v, 10) for v in tidy["loading"])
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"x{i}" for i in range(1, 10)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Pasteur", "Grant-White"]
    plt.close(fig)
    fig2, ax2 = plots.new_figure()
    assert measurement.loadings_by_group(met, ax=ax2, value="est") is ax2
    plt.close(fig2)


def test_ladder_fit_changes_plots_the_deltas_against_the_cutoffs(inv, tmp_path):
    import matplotlib.pyplot as plt

    fig = measurement.ladder_fit_changes(inv.table)
    assert len(fig.axes) == 3
    tab = inv.table[inv.table["delta_cfi"].notna()]
    for ax, col in zip(fig.axes, ["delta_cfi", "delta_rmsea", "delta_srmr"]):
        ys = [y for _, y in _points(ax)]
        np.testing.assert_allclose(ys, tab[col].to_numpy())
        assert [t.get_text() for t in ax.get_xticklabels()] == ["metric", "scalar", "strict"]
    a = plots.save_figure(fig, tmp_path / "ladder_a", close=False)
    b = plots.save_figure(fig, tmp_path / "ladder_b")
    assert [sha256_file(p) for p in a] == [sha256_file(p) for p in b]
    with pytest.raises(errors.ArgumentError, match="delta_cfi"):
        measurement.ladder_fit_changes(inv.table.drop(columns="delta_cfi"))
    fig2, axes = plt.subplots(1, 2)
    with pytest.raises(errors.ArgumentError, match="three"):
        measurement.ladder_fit_changes(inv.table, ax=axes)
    plt.close(fig2)
