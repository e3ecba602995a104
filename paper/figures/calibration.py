"""Published vs reproduced percent agreeing in the banking cells (study table calibration.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import GROUP_COLOUR, label, legend_on_top

from connection import plots

INPUTS = ["social_moms:tables/calibration.csv"]


def make(paths):
    table = pd.read_csv(paths[INPUTS[0]])
    table = table[table["category"] == "banking"]
    items = list(dict.fromkeys(table["item"]))
    fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.75 + 0.27 * len(items))
    y = {item: i for i, item in enumerate(items)}
    for group, rows in table.groupby("group", sort=False):
        colour = GROUP_COLOUR.get(group, plots.PALETTE["neutral"])
        ys = rows["item"].map(y).to_numpy()
        ax.hlines(ys, rows["published"], rows["sample"], color=colour, lw=0.8, alpha=0.6)
        ax.scatter(rows["published"], ys, s=34, facecolor="white", edgecolor=colour, lw=1.2,
                   zorder=3)
        ax.scatter(rows["sample"], ys, s=10, color=colour, zorder=4)
    ax.set_yticks(np.arange(len(items)), [label(i) for i in items])
    ax.invert_yaxis()
    ax.set_xlim(0, max(60, float(table[["published", "sample"]].max().max()) + 5))
    ax.set_xlabel("percent agreeing (satisfaction: 8-10 of 10)")
    handles = [
        plt_marker("o", "white", GROUP_COLOUR["social_media_moms"], "Social-media moms"),
        plt_marker("o", "white", GROUP_COLOUR["other_moms"], "Other moms"),
        plt_marker("o", "white", plots.PALETTE["neutral"], "published (Motista 2011)"),
        plt_marker("o", plots.PALETTE["neutral"], plots.PALETTE["neutral"], "study sample", 3),
    ]
    legend_on_top(fig, handles, [h.get_label() for h in handles], ncol=2)
    return fig


def plt_marker(marker, face, edge, text, size=5):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, ls="", markerfacecolor=face, markeredgecolor=edge,
                  markersize=size, label=text)
