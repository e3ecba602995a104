"""Power against respondents per cell, with each test's n for the target power marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import legend_on_top

from connection import plots

INPUTS = ["power_social_moms:tables/power.csv", "power_social_moms:tables/n80.csv"]
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
SHORT = {"connection x group interaction": "connection x group",
         "scalar test, no shifted item (false alarms)": "no shift (false alarms)"}


def make(paths):
    power = pd.read_csv(paths[INPUTS[0]])
    n80 = pd.read_csv(paths[INPUTS[1]]).set_index("test")
    tests = list(dict.fromkeys(power["test"]))
    target = float(n80["target_power"].iloc[0])
    fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 2.7)
    for colour, test in zip(COLOURS, tests):
        line = power[(power["test"] == test) & (power["method"] == "analytic")]
        line = line.sort_values("n_per_cell")
        ax.plot(line["n_per_cell"], line["power"], color=colour, lw=1.3, label=SHORT.get(test, test))
        sim = power[(power["test"] == test) & (power["method"] == "simulation")]
        if len(sim):
            ax.errorbar(sim["n_per_cell"], sim["power"],
                        yerr=[sim["power"] - sim["ci_lower"], sim["ci_upper"] - sim["power"]],
                        fmt="s", ms=2.6, mfc="white", color=colour, lw=0.7, capsize=1.2)
        if test in n80.index and np.isfinite(n80.loc[test, "n_per_cell"]):
            n = float(n80.loc[test, "n_per_cell"])
            ax.plot([n], [target], "o", color=colour, ms=3.5, zorder=4)
            ax.annotate(f"{n:,.0f}", (n, target), xytext=(-3, 4), textcoords="offset points",
                        ha="right", fontsize=6.5, color=colour)
    ax.axhline(target, ls="--", lw=0.7, color=plots.PALETTE["neutral"])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("respondents per cell (log scale)")
    ax.set_ylabel("power")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], marker="s", ls="", mfc="white", color=plots.PALETTE["neutral"],
                          ms=3))
    labels.append("Monte Carlo check")
    legend_on_top(fig, handles, labels, ncol=2)
    return fig
