"""Satisfaction, features and quality: connected minus not connected, against the margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import CATEGORY_COLOUR, CATEGORY_LABEL, label, legend_on_top

from connection import plots

INPUTS = ["social_moms:tables/compare_connected.csv"]


def make(paths):
    table = pd.read_csv(paths[INPUTS[0]])
    eq = table[table["analysis"] == "equivalence"].copy()
    scale = eq["margin_std"] / eq["margin_raw"]  # raw scale points -> pooled SD units
    eq["est"], eq["lo"], eq["hi"] = eq["difference"] * scale, eq["ci_lower"] * scale, eq["ci_upper"] * scale
    margin = float(eq["margin_std"].iloc[0])
    variables = list(dict.fromkeys(eq["variable"]))
    categories = list(dict.fromkeys(eq["category"]))
    fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.7 + 0.55 * len(variables))
    ax.axvspan(-margin, margin, color=plots.PALETTE["banking"], alpha=0.15, lw=0)
    ax.axvline(0, color=plots.PALETTE["neutral"], lw=0.6)
    offsets = np.linspace(-0.22, 0.22, len(categories))
    for off, category in zip(offsets, categories):
        rows = eq[eq["category"] == category].set_index("variable").loc[variables]
        y = np.arange(len(variables)) + off
        colour = CATEGORY_COLOUR.get(category, plots.PALETTE["neutral"])
        ax.errorbar(rows["est"], y, xerr=[rows["est"] - rows["lo"], rows["hi"] - rows["est"]],
                    fmt="none", ecolor=colour, lw=1, capsize=1.5)
        equivalent = rows["reject"].astype(bool).to_numpy()
        ax.scatter(rows["est"][equivalent], y[equivalent], s=16, color=colour, zorder=3,
                   label=CATEGORY_LABEL.get(category, category))
        ax.scatter(rows["est"][~equivalent], y[~equivalent], s=16, facecolor="white",
                   edgecolor=colour, zorder=3)
    ax.set_yticks(np.arange(len(variables)), [label(v) for v in variables])
    ax.invert_yaxis()
    lim = max(margin * 1.6, float(np.abs(eq[["lo", "hi"]].to_numpy()).max()) * 1.1)
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("connected minus not connected (pooled SD), 90% CI")
    ax.text(0, -0.62, f"equivalence margin \u00b1{margin:g} SD", ha="center", va="bottom",
            fontsize=6.5, color=plots.PALETTE["neutral"])
    ax.set_ylim(len(variables) - 0.5, -0.75)
    handles, labels = ax.get_legend_handles_labels()
    legend_on_top(fig, handles, labels, ncol=len(categories), gap=0.05,
                  title="filled: equivalent; open: equivalence not shown", title_fontsize=6.5)
    return fig
