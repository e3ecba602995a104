"""What consumers say vs what marketers believe: shares (left) and their gap (right)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import legend_on_top

from connection import plots

INPUTS = ["perception_gap:tables/gaps.csv"]


def make(paths):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    gaps = pd.read_csv(paths[INPUTS[0]])
    plots.theme()
    fig, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(plots.PAGE_WIDTH - 1.6, 0.9 + 0.42 * len(gaps)),
                                      gridspec_kw={"width_ratios": [3, 2], "wspace": 0.16})
    y = np.arange(len(gaps))
    sides = [("consumers", plots.PALETTE["consumers"]), ("marketers", plots.PALETTE["marketers"])]
    for i, row in gaps.iterrows():
        known = bool(row["has_interval"])
        left.plot([row["consumers_share"], row["marketers_share"]], [i, i],
                  color=plots.PALETTE["not_connected"], lw=2, alpha=0.5, zorder=1)
        for side, colour in sides:
            share = row[f"{side}_share"]
            if known:
                left.errorbar(share, i, xerr=[[share - row[f"{side}_ci_lower"]],
                                              [row[f"{side}_ci_upper"] - share]],
                              fmt="o", ms=4.5, color=colour, lw=0.9, capsize=1.5, zorder=3)
            else:
                left.scatter(share, i, s=22, facecolor="white", edgecolor=colour, lw=1.2, zorder=3)
        if known:
            right.errorbar(row["difference"], i, xerr=[[row["difference"] - row["ci_lower"]],
                                                       [row["ci_upper"] - row["difference"]]],
                           fmt="o", ms=4, color=plots.PALETTE["neutral"], lw=0.9, capsize=1.5)
        else:
            right.scatter(row["difference"], i, s=20, facecolor="white",
                          edgecolor=plots.PALETTE["neutral"], lw=1.2)
            right.annotate("n not published", (row["difference"], i), xytext=(6, 0),
                           textcoords="offset points", va="center", fontsize=6.5,
                           color=plots.PALETTE["neutral"])
    labels = [f"{lab}{' *' if comp != 'same item' else ''}"
              for lab, comp in zip(gaps["label"], gaps["comparability"])]
    left.set_yticks(y, labels)
    left.set_ylim(len(gaps) - 0.5, -0.5)
    left.set_xlim(0, 1)
    left.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    left.set_xlabel("share choosing the item\n(95% Wilson interval)")
    left.set_xticks([0, 0.25, 0.5, 0.75, 1])
    right.axvline(0, color=plots.PALETTE["neutral"], lw=0.6)
    lim = max(0.5, float(np.nanmax(np.abs(gaps[["ci_lower", "ci_upper", "difference"]].to_numpy()))) + 0.05)
    right.set_xlim(-lim, lim)
    right.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v * 100:+.0f}" if round(v * 100) else "0"))
    right.set_xlabel("consumers minus marketers\n(points, 95% Newcombe interval)")
    right.set_xticks([-0.4, -0.2, 0, 0.2, 0.4])
    handles = [Line2D([], [], marker="o", ls="", color=plots.PALETTE["consumers"], label="consumers"),
               Line2D([], [], marker="o", ls="", color=plots.PALETTE["marketers"],
                      label="marketers / executives"),
               Line2D([], [], marker="o", ls="", mfc="white", color=plots.PALETTE["neutral"],
                      label="sample size not published: no interval")]
    legend_on_top(fig, handles, [h.get_label() for h in handles], ncol=3)
    if (gaps["comparability"] != "same item").any():
        fig.text(0.01, -0.2, "* similar item, differently worded question on each side",
                 fontsize=6.5, color=plots.PALETTE["neutral"], ha="left", va="top")
    return fig
