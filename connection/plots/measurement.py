"""Figures of the measurement model: loadings by group, and the invariance ladder's fit changes.

Each function takes a tidy DataFrame (what :class:`~connection.latent._invariance.InvarianceResult`
gives: ``inv.loadings()`` and ``inv.table``), an optional ``ax=``, and returns the Figure (or the
Axes it drew on when ``ax`` is given). Nothing calls ``plt.show()``.

Examples
--------
>>> import pandas as pd
>>> from connection.plots import measurement
>>> loadings = pd.DataFrame({"group": ["a", "a", "b", "b"], "factor": "f",
...                          "item": ["x1", "x2", "x1", "x2"], "loading": [0.8, 0.6, 0.75, 0.4]})
>>> fig = measurement.loadings_by_group(loadings)
>>> len(fig.axes)
1
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connection import plots
from connection.errors import ArgumentError

__all__ = ["loadings_by_group", "ladder_fit_changes"]


def _need(table: pd.DataFrame, cols: set[str], what: str) -> None:
    missing = cols - set(table.columns)
    if missing:
        raise ArgumentError(f"{what} table lacks columns", values=sorted(missing),
                            expected=", ".join(sorted(cols)))


def _group_colours(groups: list) -> dict:
    import seaborn as sns

    pal = sns.color_palette("colorblind", max(len(groups), 3))
    return {g: plots.PALETTE.get(str(g), pal[i % len(pal)]) for i, g in enumerate(groups)}


def loadings_by_group(loadings: pd.DataFrame, ax=None, *, value: str = "loading",
                      title: str | None = None):
    """Standardized loadings per item, one colour per group, items grouped by factor.

    Parameters
    ----------
    loadings
        Columns ``group, factor, item`` and ``value`` (default ``loading``); optional
        ``ci_lower``/``ci_upper`` are drawn as intervals only when ``value`` is ``"est"`` (they
        are intervals of the unstandardized estimate). ``InvarianceResult.loadings()`` has this
        shape.
    ax
        Draw on this Axes; otherwise a new column-width figure.

    Notes
    -----
    Groups whose dots sit apart on an item are where metric invariance is at stake.
    """
    _need(loadings, {"group", "factor", "item", value}, "loadings")
    own = ax is None
    rows = list(dict.fromkeys(zip(loadings["factor"], loadings["item"])))
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.9 + 0.28 * len(rows))
    groups = list(dict.fromkeys(loadings["group"]))
    colours = _group_colours(groups)
    offsets = np.linspace(-0.2, 0.2, len(groups)) if len(groups) > 1 else [0.0]
    ypos = {key: i for i, key in enumerate(rows)}
    show_ci = value == "est" and {"ci_lower", "ci_upper"} <= set(loadings.columns)
    for off, g in zip(offsets, groups):
        sub = loadings[loadings["group"] == g]
        y = np.array([ypos[(f, i)] for f, i in zip(sub["factor"], sub["item"])]) + off
        x = sub[value].to_numpy(dtype=float)
        if show_ci:
            ax.hlines(y, sub["ci_lower"], sub["ci_upper"], color=colours[g], lw=1, alpha=0.7)
        ax.plot(x, y, "o", ms=4, color=colours[g], label=str(g))
    # separate factors with light lines and label them
    factors = list(dict.fromkeys(f for f, _ in rows))
    for f in factors:
        idx = [ypos[k] for k in rows if k[0] == f]
        ax.axhline(max(idx) + 0.5, color="0.85", lw=0.6)
        ax.text(1.0, (min(idx) + max(idx)) / 2, str(f).replace("_", " "), rotation=-90,
                va="center", ha="left", transform=ax.get_yaxis_transform(), fontsize=7)
    ax.set_yticks(range(len(rows)), [i for _, i in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("standardized loading" if value == "loading" else value)
    ax.set_ylabel("")
    if len(groups) > 1:
        ax.legend(title="group", loc="lower left", frameon=False)
    if title:
        ax.set_title(title)
    return ax.figure if own else ax


_DELTAS = (("delta_cfi", "cutoff_cfi", "change in CFI"),
           ("delta_rmsea", "cutoff_rmsea", "change in RMSEA"),
           ("delta_srmr", "cutoff_srmr", "change in SRMR"))


def ladder_fit_changes(table: pd.DataFrame, ax=None):
    """Change in CFI, RMSEA and SRMR at each step of the ladder, against Chen's (2007) cut-offs.

    Parameters
    ----------
    table
        ``InvarianceResult.table``: columns ``step, delta_cfi, delta_rmsea, delta_srmr``,
        ``cutoff_cfi, cutoff_rmsea, cutoff_srmr`` and ``holds``.
    ax
        A sequence of three Axes (CFI, RMSEA, SRMR) to draw on; otherwise a new page-width
        figure with three panels.

    Notes
    -----
    Filled markers: the step holds; open markers: it does not. The dashed line is the cut-off
    (per step: SRMR's is .030 for loadings and .010 for intercepts and residuals).
    """
    _need(table, {"step", "holds"} | {c for d in _DELTAS for c in d[:2]}, "invariance")
    tab = table[table["delta_cfi"].notna()]
    own = ax is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 2.2, ncols=3)
    else:
        axes = list(ax)
        if len(axes) != 3:
            raise ArgumentError("ladder_fit_changes draws three panels", values=[len(axes)],
                                expected="ax = a sequence of three Axes (CFI, RMSEA, SRMR)")
    steps = list(tab["step"])
    x = np.arange(len(steps))
    holds = tab["holds"].fillna(False).astype(bool).to_numpy()
    colour_ok, colour_bad = plots.PALETTE["satisfaction"], plots.PALETTE["connection"]
    for axis, (delta, cut, label) in zip(axes, _DELTAS):
        vals = tab[delta].to_numpy(dtype=float)
        cuts = tab[cut].to_numpy(dtype=float)
        axis.axhline(0, color="0.6", lw=0.6)
        axis.hlines(cuts, x - 0.3, x + 0.3, colors="0.3", linestyles="--", lw=0.9)
        axis.vlines(x, 0, vals, color="0.5", lw=1)
        for xi, v, ok in zip(x, vals, holds):
            axis.plot(xi, v, "o", ms=5, color=colour_ok if ok else colour_bad,
                      mfc=colour_ok if ok else "white")
        axis.set_xticks(x, steps)
        axis.set_xlim(-0.6, len(steps) - 0.4)
        axis.set_title(label)
    axes[0].set_ylabel("change from the previous step")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=colour_ok, label="holds"),
               Line2D([], [], marker="o", ls="", color=colour_bad, mfc="white",
                      label="does not hold"),
               Line2D([], [], ls="--", color="0.3", label="Chen (2007) cut-off")]
    axes[-1].legend(handles=handles, frameon=False, loc="best")
    if own:
        fig.tight_layout()
        return fig
    return axes
