"""Connection vs satisfaction as drivers of each outcome, by cell (observed and latent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import TERM_COLOUR, cell_label, label, legend_on_top

from connection import plots

INPUTS = ["social_moms:tables/drivers_observed.csv", "social_moms:tables/drivers_latent.csv"]
TERMS = ("connection", "satisfaction")


def make(paths):
    obs = pd.read_csv(paths[INPUTS[0]])
    obs = obs[(obs["by"] == "cell") & obs["term"].isin(TERMS)]
    lat = pd.read_csv(paths[INPUTS[1]])
    lat = lat[(lat["group"] != "all") & lat["term"].isin(TERMS)]
    lat = lat.assign(cell=lat["category"] + " / " + lat["group"])
    outcomes = list(dict.fromkeys(obs["outcome"]))
    cells = list(dict.fromkeys(obs["group"]))
    fig, axes = plots.new_figure(plots.PAGE_WIDTH, 0.8 + 0.42 * len(cells), ncols=len(outcomes),
                                 sharey=True, sharex=True)
    offsets = {"connection": -0.14, "satisfaction": 0.14}
    for ax, outcome in zip(axes, outcomes):
        for term in TERMS:
            rows = obs[(obs["outcome"] == outcome) & (obs["term"] == term)].set_index("group")
            rows = rows.loc[cells]
            y = np.arange(len(cells)) + offsets[term]
            colour = TERM_COLOUR[term]
            ax.errorbar(rows["beta"], y, xerr=[rows["beta"] - rows["ci_lower"],
                                               rows["ci_upper"] - rows["beta"]],
                        fmt="o", ms=3, color=colour, lw=0.9, label=f"{term} (observed scores)")
            lrows = lat[(lat["outcome"] == outcome) & (lat["term"] == term)].set_index("cell")
            lrows = lrows.reindex(cells)
            ax.scatter(lrows["beta"], y, marker="D", s=14, facecolor="white", edgecolor=colour,
                       lw=0.9, zorder=3, label=f"{term} (latent model)")
        ax.axvline(0, color=plots.PALETTE["neutral"], lw=0.6)
        ax.set_title(label(outcome), loc="left")
        ax.set_xlabel("standardized effect (95% CI)")
    axes[0].set_yticks(np.arange(len(cells)), [cell_label(c) for c in cells])
    axes[0].set_ylim(len(cells) - 0.5, -0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(w_pad=1.0)
    legend_on_top(fig, handles, labels, ncol=4, columnspacing=1.4)
    return fig
