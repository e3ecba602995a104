"""Figures of the drivers, comparisons and index: connection vs satisfaction, risk ratios, segments.

Each function takes the tidy table the analysis returns (or the result object itself) and an
optional ``ax=``; it returns the Figure (or the Axes when ``ax`` is given) and never calls
``plt.show()``. Nothing is random (no jitter), so saved figures are byte-identical across runs.

Examples
--------
>>> import pandas as pd
>>> from connection.plots.drivers import risk_ratio_forest
>>> rr = pd.DataFrame({"variable": ["belong", "express"], "risk_ratio": [2.3, 2.5],
...                    "rr_ci_lower": [1.8, 1.9], "rr_ci_upper": [2.9, 3.3]})
>>> fig = risk_ratio_forest(rr)
>>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
['belong', 'express']
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["coefficients", "risk_ratio_forest", "index_by_segment"]


def _axes(ax, width, height):
    from connection import plots

    if ax is not None:
        return ax.figure, ax, False
    fig, ax = plots.new_figure(width, height)
    return fig, ax, True


def _colour(name: str, k: int) -> str:
    from connection import plots

    fallback = ["#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#4D4D4D"]
    return plots.PALETTE.get(name, fallback[k % len(fallback)])


def coefficients(table, *, ax=None, role: str = "driver", title: str | None = None):
    """Standardized coefficients with their intervals, by outcome and group, one colour per driver.

    Parameters
    ----------
    table : DataFrame or DriversResult
        :attr:`connection.DriversResult.table` (columns ``outcome by group term role beta
        ci_lower ci_upper``).
    ax : matplotlib Axes, optional
    role : str
        Which terms to draw (``"driver"``; ``None`` for all).
    title : str, optional

    Returns
    -------
    Figure, or the Axes when ``ax`` is given.
    """
    t = getattr(table, "table", table)
    if role is not None:
        t = t[t["role"] == role]
    rows = t[["outcome", "by", "group"]].drop_duplicates().reset_index(drop=True)
    terms = list(dict.fromkeys(t["term"]))
    fig, ax, own = _axes(ax, 3.5, 0.35 * len(rows) * max(1, len(terms)) * 0.6 + 1.0)
    y0 = np.arange(len(rows))[::-1].astype(float)
    step = 0.5 / max(1, len(terms))
    for k, term in enumerate(terms):
        sub = t[t["term"] == term].merge(rows.reset_index(), on=["outcome", "by", "group"])
        ys = y0[sub["index"].to_numpy()] - (k - (len(terms) - 1) / 2) * step  # first term on top
        ax.errorbar(sub["beta"], ys, xerr=[sub["beta"] - sub["ci_lower"], sub["ci_upper"] - sub["beta"]],
                    fmt="o", ms=3.5, lw=1, capsize=1.5, color=_colour(term, k), label=term)
    labels = [o if b == "" else f"{o}: {g}" for o, b, g in zip(rows["outcome"], rows["by"], rows["group"])]
    ax.set_yticks(y0, labels)
    ax.axvline(0, color="0.6", lw=0.6)
    model = str(t["model"].iloc[0]) if len(t) and "model" in t else "ols"
    ax.set_xlabel("standardized coefficient (95% CI)" if model == "ols"
                  else "log-odds per SD of the driver (95% CI)")
    ax.grid(axis="y", visible=False)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(terms))
    if title:
        ax.set_title(title, loc="left", pad=16)
    if own:
        from connection.plots.studies import _fit_width

        _fit_width(fig)
    return fig if own else ax


def risk_ratio_forest(table, *, ax=None, title: str | None = None, label: str = "variable"):
    """Forest plot of risk ratios ("x times more likely") on a log axis, with their intervals.

    Parameters
    ----------
    table : DataFrame or CompareResult
        Rows with ``risk_ratio rr_ci_lower rr_ci_upper`` and a label column (``variable``), e.g.
        :attr:`connection.CompareResult.proportions`; drawn top to bottom in table order.
    ax : matplotlib Axes, optional
    title : str, optional
    label : str
        Column holding the row labels.
    """
    t = getattr(table, "proportions", table)
    t = t.dropna(subset=["risk_ratio"]).reset_index(drop=True)
    fig, ax, own = _axes(ax, 3.5, 0.3 * len(t) + 1.0)
    y = np.arange(len(t))[::-1].astype(float)
    colour = _colour("connected", 0)
    rr, lo, hi = (t[c].to_numpy(dtype=float) for c in ("risk_ratio", "rr_ci_lower", "rr_ci_upper"))
    ax.errorbar(rr, y, xerr=[rr - lo, hi - rr], fmt="s", ms=3.5, lw=1, capsize=1.5, color=colour)
    for yi, r, h in zip(y, rr, hi):
        ax.annotate(f"{r:.1f}\u00d7", xy=(h, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=6)
    ax.set_xscale("log")
    from connection.plots.studies import _log_ticks

    span = (min(1.0, float(np.nanmin(lo))), max(1.0, float(np.nanmax(hi))))
    ax.set_xlim(span[0] / 1.15, span[1] * 1.35)
    _log_ticks(ax, span[0] / 1.15, span[1] * 1.35)  # 1, 1.5, 2, 3, 5, 8 as in the study figures
    ax.axvline(1.0, color="0.5", lw=0.7)
    ax.set_yticks(y, t[label].astype(str).tolist())
    ax.set_xlabel("risk ratio (95% CI, log scale)")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, loc="left")
    if own:
        from connection.plots.studies import _fit_width

        _fit_width(fig)  # long labels stay inside the figure's width
    return fig if own else ax


def index_by_segment(scores: pd.DataFrame, *, ax=None, segment: str = "segment",
                     index: str = "index", cutoff: float | None = None, title: str | None = None):
    """Distribution of the 0-100 index in each segment (violins with quartile marks).

    Parameters
    ----------
    scores : DataFrame
        Output of :meth:`connection.ConnectionIndex.segment` (columns ``index``,
        ``segment``); categorical segments are drawn in category order.
    ax : matplotlib Axes, optional
    segment, index : str
        Column names.
    cutoff : float, optional
        Draw the connected cut-off (e.g. ``rule["parameters"]["connected_min"]``).
    title : str, optional
    """
    from connection.plots.studies import SEGMENT_COLOURS, SEGMENT_ORDER, label

    s = scores[[segment, index]].dropna()
    if isinstance(scores[segment].dtype, pd.CategoricalDtype):
        levels = [c for c in scores[segment].cat.categories if (s[segment] == c).any()]
    else:  # the pathway's order when the names are the index's segments, else first seen
        seen = list(dict.fromkeys(s[segment]))
        levels = [v for v in SEGMENT_ORDER if v in seen] + [v for v in seen
                                                          if v not in SEGMENT_ORDER]
    fig, ax, own = _axes(ax, 3.5, 0.45 * len(levels) + 1.0)
    data = [s.loc[s[segment] == lev, index].to_numpy(dtype=float) for lev in levels]
    y = np.arange(len(levels))[::-1].astype(float)
    drawable = [i for i, d in enumerate(data) if d.size > 1 and np.ptp(d) > 0]
    if drawable:
        parts = ax.violinplot([data[i] for i in drawable], positions=y[drawable],
                              widths=0.8, showextrema=False, orientation="horizontal")
        for k, body in zip(drawable, parts["bodies"]):
            body.set_facecolor(SEGMENT_COLOURS.get(str(levels[k]), _colour(str(levels[k]), k)))
            body.set_alpha(0.55)
    for yi, d in zip(y, data):
        q1, med, q3 = np.percentile(d, [25, 50, 75])
        ax.hlines(yi, q1, q3, color="0.15", lw=2)
        ax.plot(med, yi, "o", color="white", ms=3, mec="0.15", mew=0.8)
    ax.set_yticks(y, [f"{label(lev)} (n={d.size:,})" for lev, d in zip(levels, data)])
    if cutoff is not None:
        ax.axvline(cutoff, color="0.4", lw=0.7, ls="--")
        ax.annotate(f"connected: {cutoff:g}+", xy=(cutoff, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                    fontsize=6.5, color="0.3")
    ax.set_xlim(0, 100) if s[index].between(0, 100).all() else None
    ax.set_xlabel("connection index (0-100)")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, loc="left")
    if own:
        from connection.plots.studies import _fit_width

        _fit_width(fig)  # long labels stay inside the figure's width
    return fig if own else ax
