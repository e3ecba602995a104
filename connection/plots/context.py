"""Figures of the context studies: why people like brands, and the perception gap.

Each function takes the tidy tables the studies write (see ``studies/why_like.py`` and
``studies/perception_gap.py``) and an optional ``ax=``; it returns the Figure (or the Axes when
``ax`` is given) and never calls ``plt.show()``. Where a sample size was never published the
figures say so on their face instead of drawing an interval.

Examples
--------
>>> import pandas as pd
>>> from connection.plots.context import reasons_bars
>>> reasons = pd.DataFrame({"item": ["discounts", "support", "other"],
...                         "proportion": [0.45, 0.33, 0.03], "status": ["S", "S", "U"]})
>>> fig = reasons_bars(reasons)
>>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
['discounts', 'support', 'other (unconfirmed)']
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["reasons_bars", "ci_by_n", "gap_dumbbell", "NO_N_NOTE"]

#: The words every figure without a published sample size carries.
NO_N_NOTE = "sample size not published: no confidence intervals"


def _axes(ax, width, height):
    from connection import plots

    if ax is not None:
        return ax.figure, ax, False
    fig, ax = plots.new_figure(width, height)
    return fig, ax, True


def _pct(x) -> str:
    return f"{100 * x:.0f}%"


def reasons_bars(reasons: pd.DataFrame, *, ax=None, title: str | None = None):
    """Horizontal bars of published shares; unconfirmed (status U) shares drawn hollow.

    Parameters
    ----------
    reasons : DataFrame with columns ``item``, ``proportion``, ``status``
        In the order to draw, top first.
    ax : matplotlib Axes, optional
    title : str, optional
    """
    from connection import plots

    fig, ax, own = _axes(ax, plots.COLUMN_WIDTH, 0.3 * len(reasons) + 1.0)
    colour = plots.PALETTE["consumers"]
    y = np.arange(len(reasons))[::-1]
    labels = []
    for yi, (_, row) in zip(y, reasons.iterrows()):
        confirmed = row["status"] != "U"
        ax.barh(yi, row["proportion"], height=0.65, color=colour if confirmed else "white",
                edgecolor=colour, hatch=None if confirmed else "///", linewidth=0.8)
        ax.text(row["proportion"] + 0.01, yi, _pct(row["proportion"]), va="center", fontsize=7)
        labels.append(row["item"] if confirmed else f"{row['item']} (unconfirmed)")
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(0.1, float(reasons["proportion"].max())) * 1.2)
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("share of respondents")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title, loc="left")
    ax.annotate(NO_N_NOTE, xy=(1.0, -0.02), xycoords="axes fraction", ha="right", va="top",
                fontsize=6, style="italic", xytext=(0, -24), textcoords="offset points")
    return fig if own else ax


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{100 * v:.0f}%")


def ci_by_n(curve: pd.DataFrame, difference: pd.DataFrame | None = None, *,
            min_n: int | None = None, level: float = 0.95):
    """The interval as a function of the (unpublished) sample size.

    Parameters
    ----------
    curve : DataFrame ``label proportion n ci_lower ci_upper`` (from
        :func:`connection.context.ci_curve`)
    difference : DataFrame ``n difference ci_lower ci_upper``, optional
        From :func:`connection.context.diff_shares` over the same grid; drawn in a second panel.
    min_n : int, optional
        Smallest ``n`` at which the difference is significant; marked on the second panel.
    level : float
        For the axis labels.

    Returns
    -------
    matplotlib Figure
    """
    from connection import plots

    panels = 1 if difference is None else 2
    fig, axes = plots.new_figure(plots.PAGE_WIDTH if panels == 2 else plots.COLUMN_WIDTH, 2.6,
                                 ncols=panels, squeeze=False)
    axes = axes[0]
    colours = [plots.PALETTE["consumers"], plots.PALETTE["marketers"], plots.PALETTE["neutral"]]
    ax = axes[0]
    for colour, (label, part) in zip(colours * 4, curve.groupby("label", sort=False)):
        ax.fill_between(part["n"], part["ci_lower"], part["ci_upper"], color=colour, alpha=0.25,
                        linewidth=0)
        ax.plot(part["n"], part["proportion"], color=colour, linewidth=1.0,
                label=f"{label} ({_pct(part['proportion'].iloc[0])})")
    ax.set_xscale("log")
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("hypothetical sample size n (not published)")
    ax.set_ylabel(f"share, {level:.0%} Wilson interval")
    ax.legend(loc="upper right", frameon=False)
    ax.set_title("each share", loc="left")
    if difference is not None:
        ax = axes[1]
        colour = plots.PALETTE["neutral"]
        ax.fill_between(difference["n"], difference["ci_lower"], difference["ci_upper"],
                        color=colour, alpha=0.25, linewidth=0)
        ax.plot(difference["n"], difference["difference"], color=colour, linewidth=1.0)
        ax.axhline(0.0, color="black", linewidth=0.6)
        if min_n is not None:
            ax.axvline(min_n, color=plots.PALETTE["marketers"], linewidth=0.8, linestyle="--")
            ax.annotate(f"significant from n = {min_n}", xy=(min_n, 0.0), xytext=(4, 6),
                        textcoords="offset points", fontsize=6.5,
                        color=plots.PALETTE["marketers"])
        ax.set_xscale("log")
        ax.yaxis.set_major_formatter(_points_formatter())
        ax.set_xlabel("hypothetical sample size n (not published)")
        ax.set_ylabel(f"difference, {level:.0%} interval")
        ax.set_title("difference of the two shares (same respondents)", loc="left")
    fig.suptitle("Sample size not published: intervals shown as a function of n",
                 fontsize=8, style="italic", x=0.01, ha="left")
    fig.tight_layout()
    return fig


def _points_formatter():
    """Percentage points: 0.12 -> '+12 pp'."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{100 * v:+.0f} pp" if v else "0")


def gap_dumbbell(gaps: pd.DataFrame, *, ax=None, level: float = 0.95, note: str | None = None):
    """Dumbbell chart of consumer vs marketer shares for comparable items.

    Parameters
    ----------
    gaps : DataFrame
        One row per comparable pair, top first, with columns ``label``, ``consumers_share``,
        ``marketers_share``, ``consumers_ci_lower``, ``consumers_ci_upper``,
        ``marketers_ci_lower``, ``marketers_ci_upper`` (NaN when n is unknown), ``difference``,
        ``ci_lower``, ``ci_upper`` (interval of the difference, NaN when n is unknown),
        ``has_interval`` (bool) and ``comparability``. An optional ``pvalue_holm`` column
        (NaN where not adjusted) marks with ``*`` the gaps significant after Holm's adjustment.
    ax : matplotlib Axes, optional
    level : float
        For the legend text.
    note : str, optional
        A further line of explanation under the figure's note (e.g. the sources' status).

    Returns
    -------
    matplotlib Figure (or the Axes when ``ax`` is given)
    """
    from matplotlib.lines import Line2D

    from connection import plots

    fig, ax, own = _axes(ax, plots.PAGE_WIDTH, 0.45 * len(gaps) + 1.4)
    cons, mark = plots.PALETTE["consumers"], plots.PALETTE["marketers"]
    y = np.arange(len(gaps))[::-1]
    labels = []
    for yi, (_, row) in zip(y, gaps.iterrows()):
        known = bool(row["has_interval"])
        ax.plot([row["consumers_share"], row["marketers_share"]], [yi, yi], color="0.7",
                linewidth=2.0, zorder=1)
        for side, colour in (("consumers", cons), ("marketers", mark)):
            share = row[f"{side}_share"]
            if known:
                ax.errorbar(share, yi, xerr=[[share - row[f"{side}_ci_lower"]],
                                             [row[f"{side}_ci_upper"] - share]],
                            fmt="o", color=colour, markersize=5, capsize=2, linewidth=1.0,
                            zorder=3)
            else:
                ax.plot(share, yi, "o", markerfacecolor="white", markeredgecolor=colour,
                        markersize=5, markeredgewidth=1.2, zorder=3)
        if known:
            text = (f"{100 * row['difference']:+.0f} pp [{100 * row['ci_lower']:+.0f}, "
                    f"{100 * row['ci_upper']:+.0f}]")
            holm = row.get("pvalue_holm", np.nan)
            if pd.notna(holm) and holm <= 1.0 - level:
                text += " *"
        else:
            text = f"{100 * row['difference']:+.0f} pp, n unknown: no interval"
        ax.annotate(text, xy=(1.0, yi), xycoords=("axes fraction", "data"), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=6.5)
        mark_text = "" if row["comparability"] == "same item" else " \u2020"
        labels.append(f"{row['label']}{mark_text}")
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(gaps) - 0.3)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("share of each side choosing the item")
    ax.grid(axis="y", visible=False)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=cons, label="consumers"),
        Line2D([], [], marker="o", linestyle="", color=mark, label="marketers / executives"),
        Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.3",
               label="n not published (no interval)"),
    ]
    # about half an inch below the axes, whatever the number of rows
    ax.legend(handles=handles, loc="upper center", ncol=3, frameon=False,
              bbox_to_anchor=(0.5, -0.5 / (0.45 * max(len(gaps), 1))))
    lines = [f"Whiskers: {level:.0%} Wilson intervals. Right: consumers minus marketers, "
             f"{level:.0%} Newcombe interval."]
    if (gaps["comparability"] != "same item").any():
        lines[0] = "\u2020 similar item, different question. " + lines[0]
    if "pvalue_holm" in gaps and (gaps["pvalue_holm"] <= 1.0 - level).any():
        lines.append(f"* p < {1.0 - level:.2g} after Holm's adjustment over the list's items.")
    if note:
        lines.append(note)
    ax.annotate("\n".join(lines), xy=(0.0, 1.0), xycoords="axes fraction", xytext=(0, 6),
                textcoords="offset points", fontsize=6, style="italic", va="bottom")
    if own:
        fig.tight_layout()
    return fig if own else ax
