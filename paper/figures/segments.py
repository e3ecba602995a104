"""Where respondents sit on the connection pathway, by cell (study table segments.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import cell_label, legend_on_top

from connection import plots

INPUTS = ["social_moms:tables/segments.csv"]
ORDER = ["unconnected", "highly_satisfied", "perceives_differentiation", "fully_connected"]
COLOURS = {"unconnected": "#BBBBBB", "highly_satisfied": plots.PALETTE["satisfaction"],
           "perceives_differentiation": "#56B4E9", "fully_connected": plots.PALETTE["connection"]}


def make(paths):
    table = pd.read_csv(paths[INPUTS[0]])
    table["cell"] = table["category"] + " / " + table["group"]
    shares = table.pivot_table(index="cell", columns="segment", values="n", aggfunc="sum",
                               sort=False).fillna(0)
    shares = shares.div(shares.sum(axis=1), axis=0)
    shares = shares[[s for s in ORDER if s in shares.columns]]
    fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.9 + 0.3 * len(shares))
    left = np.zeros(len(shares))
    y = np.arange(len(shares))
    for segment in shares.columns:
        values = shares[segment].to_numpy()
        ax.barh(y, values, left=left, color=COLOURS.get(segment, "#999999"), height=0.7,
                label=segment.replace("_", " "), edgecolor="white", lw=0.5)
        for yi, (lo, v) in enumerate(zip(left, values)):
            if v >= 0.07:
                ax.text(lo + v / 2, yi, f"{v:.0%}", ha="center", va="center", fontsize=6.5,
                        color="white" if segment != "unconnected" else "#333333")
        left += values
    ax.set_yticks(y, [cell_label(c) for c in shares.index])
    ax.set_ylim(len(shares) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of respondents in the cell")
    ax.grid(False)
    handles, labels = ax.get_legend_handles_labels()
    legend_on_top(fig, handles, labels, ncol=2)
    return fig
