"""Tests for connection.plots.drivers: what is drawn equals the tables, and bytes are stable."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from connection import plots  # noqa: E402
from connection.outcomes._compare import compare  # noqa: E402
from connection.outcomes._drivers import drivers  # noqa: E402
from connection.plots.drivers import coefficients, index_by_segment, risk_ratio_forest  # noqa: E402


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    sat = rng.normal(size=n)
    con = 0.5 * sat + np.sqrt(0.75) * rng.normal(size=n)
    mom = np.where(rng.random(n) < 0.5, "social", "other")
    return pd.DataFrame({
        "connection": con, "satisfaction": sat, "mom": mom,
        "advocacy": 0.5 * con + 0.2 * sat + rng.normal(scale=0.8, size=n),
        "loyalty": 0.3 * con + 0.3 * sat + rng.normal(scale=0.8, size=n),
        "connected": con > 0.5,
        "belong": (rng.random(n) < np.where(con > 0.5, 0.5, 0.2)).astype(int),
        "express": (rng.random(n) < np.where(con > 0.5, 0.4, 0.1)).astype(int),
    })


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_coefficients_draws_every_driver_with_its_interval():
    res = drivers(_data(), ["advocacy", "loyalty"], group="mom", n_boot=0)
    fig = coefficients(res)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["advocacy", "advocacy: other", "advocacy: social", "loyalty", "loyalty: other",
                      "loyalty: social"]
    lines = [c for c in ax.containers]
    assert len(lines) == 2  # one errorbar container per driver
    drawn = np.sort(lines[0].lines[0].get_xdata())
    expected = np.sort(res.table.loc[res.table.term == "connection", "beta"].to_numpy())
    assert drawn == pytest.approx(expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["connection", "satisfaction"]


def test_coefficients_on_given_axes_returns_axes_and_labels_logit_scale():
    res = drivers(_data().assign(top=lambda d: (d.advocacy > 0.5).astype(int)), ["top"],
                  family="logit", n_boot=0)
    fig, ax = plt.subplots()
    out = coefficients(res.table, ax=ax, title="top box")
    assert out is ax
    assert "log-odds" in ax.get_xlabel()


def test_risk_ratio_forest_uses_log_axis_and_table_values():
    cmp = compare(_data(), "connected", proportions=["belong", "express"])
    fig = risk_ratio_forest(cmp)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["belong", "express"]  # top first
    x = ax.containers[0].lines[0].get_xdata()
    assert x == pytest.approx(cmp.proportions["risk_ratio"].to_numpy())
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{v:.1f}\u00d7" for v in cmp.proportions["risk_ratio"]]


def test_index_by_segment_orders_categories_and_counts():
    seg = pd.Categorical(["unconnected"] * 5 + ["fully_connected"] * 3 + [None],
                         categories=["unconnected", "highly_satisfied", "perceives_differentiation",
                                     "fully_connected"], ordered=True)
    scores = pd.DataFrame({"index": [10, 20, 30, 40, 50, 80, 90, 85, np.nan], "segment": seg})
    fig = index_by_segment(scores, cutoff=75)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Unconnected (n=5)", "Fully connected (n=3)"]
    assert ax.get_xlim() == (0.0, 100.0)
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())


def test_saved_figures_are_byte_identical(tmp_path):
    res = drivers(_data(), ["advocacy"], n_boot=0)
    paths = []
    for k in range(2):
        fig = coefficients(res)
        paths.append(plots.save_figure(fig, tmp_path / f"coef{k}", formats=("png",))[0])
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_index_by_segment_puts_plain_segment_names_in_pathway_order():
    scores = pd.DataFrame({"index": [80, 90, 30, 40, 50, 60, 20, 25],
                           "segment": ["fully_connected", "fully_connected", "unconnected",
                                       "perceives_differentiation", "highly_satisfied",
                                       "highly_satisfied", "unconnected", "unconnected"]})
    ax = index_by_segment(scores).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # drawn top to bottom in the pathway's order, not in order of appearance
    assert labels == ["Unconnected (n=3)", "Highly satisfied (n=2)",
                      "Perceives differentiation (n=1)", "Fully connected (n=2)"]


def test_risk_ratio_forest_ticks_are_readable_ratios_not_powers_of_ten():
    table = pd.DataFrame({"variable": ["a", "b"], "risk_ratio": [1.4, 6.0],
                          "rr_ci_lower": [1.1, 4.5], "rr_ci_upper": [1.8, 7.9]})
    ax = risk_ratio_forest(table).axes[0]
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["1", "1.5", "2", "3", "5", "8"]


def test_long_labels_stay_inside_the_column_width():
    scores = pd.DataFrame({"index": np.linspace(0, 100, 40),
                           "segment": ["perceives_differentiation"] * 20 + ["fully_connected"] * 20})
    fig = index_by_segment(scores, cutoff=70)
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    assert box.width <= fig.get_figwidth() + 0.05
    assert [t.get_text() for t in fig.axes[0].texts] == ["connected: 70+"]
