"""How many times more likely connected respondents are to agree (study table compare_connected)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import CATEGORY_COLOUR, CATEGORY_LABEL, label, legend_on_top
from matplotlib.ticker import NullLocator

from connection import plots

INPUTS = ["social_moms:tables/compare_connected.csv"]

PANELS = [("Emotional motivators", "ec_"), ("Attachment adjectives", "att_"),
          ("Outcomes", ("adv_", "loy_", "rep_"))]
TICKS = [1, 2, 3, 5, 8]


def make(paths):
    import matplotlib.pyplot as plt

    table = pd.read_csv(paths[INPUTS[0]])
    rr = table[table["analysis"] == "proportion"]
    categories = list(dict.fromkeys(rr["category"]))
    parts = [(title, rr[rr["variable"].str.startswith(prefix)]) for title, prefix in PANELS]
    parts = [(t, p) for t, p in parts if len(p)]
    sizes = [p["variable"].nunique() for _, p in parts]
    plots.theme()
    fig, axes = plt.subplots(len(parts), 1, sharex=True, squeeze=False,
                             figsize=(plots.COLUMN_WIDTH, 0.9 + 0.2 * sum(sizes)),
                             gridspec_kw={"height_ratios": sizes, "hspace": 0.35})
    hi = float(rr["rr_ci_upper"].max())
    ticks = [t for t in TICKS if t <= hi * 1.1]
    offsets = np.linspace(-0.2, 0.2, len(categories))
    for ax, (title, part) in zip(axes[:, 0], parts):
        variables = list(dict.fromkeys(part["variable"]))
        for off, category in zip(offsets, categories):
            rows = part[part["category"] == category].set_index("variable").loc[variables]
            y = np.arange(len(variables)) + off
            colour = CATEGORY_COLOUR.get(category, plots.PALETTE["neutral"])
            ax.errorbar(rows["risk_ratio"], y,
                        xerr=[rows["risk_ratio"] - rows["rr_ci_lower"],
                              rows["rr_ci_upper"] - rows["risk_ratio"]],
                        fmt="o", ms=2.4, color=colour, lw=0.8, capsize=0,
                        label=CATEGORY_LABEL.get(category, category))
        ax.set_yticks(np.arange(len(variables)), [label(v) for v in variables])
        ax.set_ylim(len(variables) - 0.5, -0.5)
        ax.axvline(1, color=plots.PALETTE["neutral"], lw=0.6, ls="--")
        ax.set_title(title, loc="left", fontsize=7.5, fontweight="bold")
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlim(0.9, hi * 1.15)
    axes[-1, 0].set_xlabel("risk ratio, connected vs not connected\n(95% CI, log scale)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    legend_on_top(fig, handles, labels, ncol=len(labels))
    return fig
