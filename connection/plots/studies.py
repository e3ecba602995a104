"""Figures of the studies: calibration, segments, equivalence, risk ratios, drivers, power, sensitivity.

Each function takes the tidy table the study writes next to the figure (``results/<study>/tables``)
and returns the Figure; the study scripts and the paper's figure scripts (``paper/figures/*.py``)
call the same function on the same table, so the study's figure and the paper's are one drawing.

Conventions shared by every figure here:

- item ids are shown as readable wording (:func:`label`): the instrument's short label
  ("belong with other customers"), or the short-label map :data:`SHORT_LABELS` where the event
  counted is not the item's own wording (the reverse-coded ``loy_switch`` counts respondents who
  would *not* switch; ``adv_recommend`` counts promoters);
- legends sit outside the data, above the panels;
- column figures are :data:`connection.plots.COLUMN_WIDTH` wide, multi-panel ones
  :data:`connection.plots.PAGE_WIDTH`;
- log axes carry readable ticks (1, 1.5, 2, 3, 5, 8 for ratios; 20, 50, 100, ... for sample sizes).

Examples
--------
>>> import pandas as pd
>>> from connection.plots import studies
>>> table = pd.DataFrame({"category": "banking", "group": ["social_media_moms", "other_moms"],
...                       "item": "ec_belong", "published": [37.0, 16.0],
...                       "population": [37.0, 16.0], "sample": [36.2, 16.9]})
>>> fig = studies.calibration(table)
>>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
['Belong with other customers']
>>> studies.label("loy_switch"), studies.label("banking / social_media_moms")
('Would not switch for a deal', 'Banking, social-media moms')
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pandas as pd

from connection import plots

__all__ = ["calibration", "segments", "equivalence", "risk_ratios", "drivers", "power_curve",
           "sensitivity", "ordinal_comparison", "recovery_replicates", "label", "cell_label", "n_at_power", "SHORT_LABELS", "SEGMENT_ORDER",
           "SEGMENT_COLOURS", "RATIO_TICKS"]

# names whose readable form is not the instrument's own label
SHORT_LABELS = {
    # groups, categories, terms
    "social_media_moms": "social-media moms", "other_moms": "other moms",
    "all": "both categories", "banking": "banking", "ereaders": "eReaders",
    # outcome items as the studies count them (events after reverse-coding; promoters = 9-10)
    "adv_recommend": "promoter (recommend 9-10)",
    "adv_social": "posts on social media",
    "loy_switch": "would not switch for a deal",
    "rep_more": "will buy more",
    # segments of the connection pathway
    "unconnected": "unconnected", "highly_satisfied": "highly satisfied",
    "perceives_differentiation": "perceives differentiation", "fully_connected": "fully connected",
    # power tests
    "connection x group interaction": "connection x group",
    "scalar test, no shifted item (false alarms)": "no shifted item (false alarms)",
}
SEGMENT_ORDER = ("unconnected", "highly_satisfied", "perceives_differentiation", "fully_connected")
SEGMENT_COLOURS = {"unconnected": "#BBBBBB", "highly_satisfied": plots.PALETTE["satisfaction"],
                   "perceives_differentiation": "#56B4E9",
                   "fully_connected": plots.PALETTE["connection"]}
RATIO_TICKS = (0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 12, 20, 30, 50)
N_TICKS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
_GROUP_COLOURS = {"social_media_moms": plots.PALETTE["social_moms"],
                  "other_moms": plots.PALETTE["other_moms"]}
_CATEGORY_COLOURS = {"all": plots.PALETTE["neutral"], "banking": plots.PALETTE["banking"],
                     "ereaders": plots.PALETTE["ereaders"]}
_LINE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


@cache
def _default_labels() -> dict[str, str]:
    from connection import instruments

    inst = instruments.default()
    out = {c: getattr(inst.constructs[c], "label", None) or c for c in inst.constructs}
    out.update({i: item.label for i, item in inst.items.items() if item.label})
    return out


def _instrument_labels(instrument) -> dict[str, str]:
    from connection import instruments

    if instrument is None or instrument is instruments.default():
        return _default_labels()
    out = {c: getattr(instrument.constructs[c], "label", None) or c for c in instrument.constructs}
    out.update({i: item.label for i, item in instrument.items.items() if item.label})
    return out


def label(name, labels: Mapping[str, str] | None = None, instrument=None) -> str:
    """A readable label for an item id, construct, group, category, segment or cell.

    Looks ``name`` up in ``labels`` (the caller's own map), then :data:`SHORT_LABELS`, then the
    instrument's item and construct labels (default: :func:`connection.instruments.default`); a
    reverse-coded item without an entry reads "not: <label>". Cells ``"category / group"`` become
    "Banking, social-media moms". The first letter is capitalised.

    >>> label("ec_belong"), label("att_loved"), label("unknown_thing")
    ('Belong with other customers', 'Loved', 'Unknown thing')
    """
    name = str(name)
    if " / " in name and not (labels and name in labels):
        return cell_label(name, labels, instrument)
    if labels and name in labels:
        text = labels[name]
    elif name in SHORT_LABELS:
        text = SHORT_LABELS[name]
    else:
        if instrument is None:
            from connection import instruments

            instrument = instruments.default()
        text = _instrument_labels(instrument).get(name)
        if text is None:
            text = name.replace("_", " ")
        elif name in instrument.items and instrument.items[name].reverse:
            text = f"not: {text}"
    if text[1:2].isupper():  # a brand-like word ("eReaders") keeps its case
        return text
    return text[:1].upper() + text[1:]


def cell_label(cell: str, labels: Mapping[str, str] | None = None, instrument=None) -> str:
    """``"banking / social_media_moms"`` -> ``"Banking, social-media moms"``."""
    category, _, group = str(cell).partition(" / ")
    first = label(category, labels, instrument)
    if not group:
        return first
    second = label(group, labels, instrument)
    return f"{first}, {second[:1].lower() + second[1:]}"


def _wrap(text: str, width: int) -> str:
    """Break a long tick label into (at most) two lines."""
    import textwrap

    lines = textwrap.wrap(text, width)
    return text if len(lines) <= 1 else lines[0] + "\n" + " ".join(lines[1:])


def _colour(name, k: int = 0) -> str:
    name = str(name)
    return (_GROUP_COLOURS.get(name) or _CATEGORY_COLOURS.get(name) or SEGMENT_COLOURS.get(name)
            or plots.PALETTE.get(name) or _LINE_COLOURS[k % len(_LINE_COLOURS)])


def _need(table: pd.DataFrame, columns: set[str], what: str) -> None:
    missing = columns - set(table.columns)
    if missing:
        raise ValueError(f"{what} table lacks columns {sorted(missing)} "
                         f"(it has {sorted(map(str, table.columns))})")


def _fit_width(fig, pad: float = 0.03) -> None:
    """Move the axes so that tick labels and titles stay inside the figure's width.

    (``tight_layout`` does this for simple grids; this also works for grids it declines.)
    """
    for _ in range(3):
        fig.canvas.draw()
        bb = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
        width = fig.get_figwidth()
        over_left, over_right = pad - bb.x0, bb.x1 - (width - pad)
        if abs(over_left) < 0.01 and abs(over_right) < 0.01:
            return
        sp = fig.subplotpars
        left = min(max(sp.left + over_left / width, 0.02), 0.8)
        right = max(min(sp.right - over_right / width, 0.99), left + 0.1)
        fig.subplots_adjust(left=left, right=right)


def _legend_above(fig, handles, texts, *, ncol: int, layout: bool = True, **kwargs):
    """A figure legend just above the top of the axes (and their titles), outside the data.

    The axes are first laid out to keep every tick label inside the figure's width (so a column
    figure is saved 3.5 in wide, not wider); the legend uses at most ``ncol`` columns and fewer
    when it would be wider than the figure.
    """
    if layout:
        _fit_width(fig)
    fig.canvas.draw()  # titles and tick labels laid out, so their extents are known
    renderer = fig.canvas.get_renderer()
    top = 0.0
    for ax in fig.axes:
        top = max(top, ax.get_position().y1)
        for title in (ax.title, ax._left_title, ax._right_title):
            if title.get_text():
                bbox = title.get_window_extent(renderer).transformed(fig.transFigure.inverted())
                top = max(top, bbox.y1)
    y = top + 0.04 / fig.get_figheight()
    kwargs = {"frameon": False, "handletextpad": 0.4, "columnspacing": 1.2, **kwargs}
    width = fig.bbox.width
    for cols in range(max(1, min(ncol, len(handles))), 0, -1):
        legend = fig.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, y),
                            ncol=cols, **kwargs)
        if cols == 1 or legend.get_window_extent(renderer).width <= width:
            return legend
        legend.remove()
    return legend


def _marker(marker, face, edge, text, size=5.0, ls=""):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, ls=ls, markerfacecolor=face, markeredgecolor=edge,
                  color=edge, markersize=size, label=text)


def _log_ticks(ax, lo: float, hi: float, candidates=RATIO_TICKS, axis: str = "x") -> list[float]:
    """Readable major ticks on a log axis (no 10^k labels, no minor ticks)."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    ticks = [v for v in candidates if lo <= v <= hi]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(StrMethodFormatter("{x:,g}"))
    return ticks


# ----------------------------------------------------------------------------- calibration
def calibration(table: pd.DataFrame, *, category: str | None = "banking",
                labels: Mapping[str, str] | None = None, instrument=None, ax=None):
    """Published vs reproduced percent agreeing: one row per item, one colour per group.

    ``table`` is the study's ``calibration.csv`` (columns category, group, item, published,
    sample; population optional), in percent. Published values are open circles, the study
    sample's filled dots, joined by a line (its length is the sampling error). ``category``
    selects the rows of one category (``None``: all rows; item labels then name the category
    when there are several).
    """
    _need(table, {"group", "item", "published", "sample"}, "calibration")
    t = table
    if category is not None and "category" in t and (t["category"] == category).any():
        t = t[t["category"] == category]
    several = "category" in t and t["category"].nunique() > 1
    keys = (t["item"] + " | " + t["category"]) if several else t["item"]
    rows = list(dict.fromkeys(keys))
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.75 + 0.27 * len(rows))
    y = {key: i for i, key in enumerate(rows)}
    groups = list(dict.fromkeys(t["group"]))
    offsets = np.linspace(-0.12, 0.12, len(groups)) if len(groups) > 1 else [0.0]
    handles = []
    for k, (group, off) in enumerate(zip(groups, offsets)):
        sub = t[t["group"] == group]
        ys = keys[sub.index].map(y).to_numpy() + off
        colour = _colour(group, k)
        ax.hlines(ys, sub["published"], sub["sample"], color=colour, lw=0.8, alpha=0.6)
        ax.scatter(sub["published"], ys, s=34, facecolor="white", edgecolor=colour, lw=1.2,
                   zorder=3)
        ax.scatter(sub["sample"], ys, s=10, color=colour, zorder=4)
        handles.append(_marker("o", "white", colour, label(group, labels, instrument)))
    handles += [_marker("o", "white", plots.PALETTE["neutral"], "published"),
                _marker("o", plots.PALETTE["neutral"], plots.PALETTE["neutral"], "study sample",
                        3.0)]

    def _text(key):
        item, _, cat = key.partition(" | ")
        text = label(item, labels, instrument)
        return f"{text} ({label(cat, labels, instrument).lower()})" if cat else text

    ax.set_yticks(np.arange(len(rows)), [_text(r) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, max(60.0, float(t[["published", "sample"]].max().max()) + 5))
    ax.set_xlabel("percent agreeing or satisfied (top box)")
    if own:
        _legend_above(ax.figure, handles, [h.get_label() for h in handles], ncol=2)
        return ax.figure
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
              frameon=False)
    return ax


# ----------------------------------------------------------------------------- segments
def segments(table: pd.DataFrame, *, cell_columns=("category", "group"),
             labels: Mapping[str, str] | None = None, ax=None):
    """Share of each cell in each segment of the connection pathway (stacked bars).

    ``table`` is the study's ``segments.csv`` (columns ``cell_columns``, segment, n); segments
    are stacked in pathway order (:data:`SEGMENT_ORDER`, unknown ones after) and shares of at
    least 7% are printed on the bars.
    """
    _need(table, {"segment", "n"}, "segments")
    t = table.copy()
    cols = [c for c in cell_columns if c in t]
    t["cell"] = t[cols].astype(str).agg(" / ".join, axis=1) if cols else "all"
    shares = t.pivot_table(index="cell", columns="segment", values="n", aggfunc="sum",
                           sort=False).fillna(0)
    shares = shares.div(shares.sum(axis=1), axis=0)
    order = [s for s in SEGMENT_ORDER if s in shares.columns]
    shares = shares[order + [s for s in shares.columns if s not in order]]
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.9 + 0.3 * len(shares))
    left = np.zeros(len(shares))
    y = np.arange(len(shares))
    for k, segment in enumerate(shares.columns):
        values = shares[segment].to_numpy()
        colour = _colour(segment, k)
        ax.barh(y, values, left=left, color=colour, height=0.7, label=label(segment, labels),
                edgecolor="white", lw=0.5)
        dark = segment in {"highly_satisfied", "fully_connected"}
        for yi, (lo, v) in enumerate(zip(left, values)):
            if v >= 0.07:
                ax.text(lo + v / 2, yi, f"{v:.0%}", ha="center", va="center", fontsize=6.5,
                        color="white" if dark else "#222222")
        left += values
    ax.set_yticks(y, [label(c, labels) for c in shares.index])
    ax.set_ylim(len(shares) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of respondents in the cell")
    ax.grid(False)
    handles, texts = ax.get_legend_handles_labels()
    if own:
        _legend_above(ax.figure, handles, texts, ncol=2)
        return ax.figure
    ax.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return ax


# ----------------------------------------------------------------------------- equivalence
def equivalence(table: pd.DataFrame, *, margin: float | None = None,
                labels: Mapping[str, str] | None = None, instrument=None, ax=None):
    """Standardized differences with their TOST intervals against the equivalence margin.

    ``table`` holds the equivalence rows of :func:`connection.outcomes._compare` (columns variable,
    difference, ci_lower, ci_upper, margin_raw, margin_std; optionally category and reject;
    rows of other analyses are ignored). Differences are drawn in pooled-SD units
    (``difference * margin_std / margin_raw``), one colour per category; a filled dot means
    equivalence was shown (``reject``), an open one that it was not. The band is the margin.
    """
    _need(table, {"variable", "difference", "ci_lower", "ci_upper", "margin_raw", "margin_std"},
          "equivalence")
    eq = table[table["analysis"] == "equivalence"] if "analysis" in table else table
    eq = eq.copy()
    scale = eq["margin_std"] / eq["margin_raw"]
    eq["est"], eq["lo"], eq["hi"] = (eq["difference"] * scale, eq["ci_lower"] * scale,
                                     eq["ci_upper"] * scale)
    if "category" not in eq:
        eq["category"] = "all"
    if "reject" not in eq:
        eq["reject"] = True
    m = float(margin if margin is not None else eq["margin_std"].iloc[0])
    variables = list(dict.fromkeys(eq["variable"]))
    categories = list(dict.fromkeys(eq["category"]))
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.6 + 0.5 * len(variables)
                                   * max(1, len(categories)) / 3 + 0.3)
    band = ax.axvspan(-m, m, color=plots.PALETTE["banking"], alpha=0.15, lw=0)
    ax.axvline(0, color=plots.PALETTE["neutral"], lw=0.6)
    offsets = np.linspace(-0.22, 0.22, len(categories)) if len(categories) > 1 else [0.0]
    handles = []
    for k, (off, category) in enumerate(zip(offsets, categories)):
        rows = eq[eq["category"] == category].set_index("variable").reindex(variables)
        y = np.arange(len(variables)) + off
        colour = _colour(category, k)
        ax.errorbar(rows["est"], y, xerr=[rows["est"] - rows["lo"], rows["hi"] - rows["est"]],
                    fmt="none", ecolor=colour, lw=1, capsize=1.5)
        shown = rows["reject"].fillna(False).astype(bool).to_numpy()
        ax.scatter(rows["est"][shown], y[shown], s=16, color=colour, zorder=3)
        ax.scatter(rows["est"][~shown], y[~shown], s=16, facecolor="white", edgecolor=colour,
                   zorder=3)
        handles.append(_marker("o", colour, colour, label(category, labels, instrument), 4.0))
    band.set_label(f"equivalence margin \u00b1{m:g} SD")
    handles.append(band)
    if not eq["reject"].fillna(False).astype(bool).all():
        handles.append(_marker("o", "white", plots.PALETTE["neutral"],
                               "open: equivalence not shown", 4.0))
    ax.set_yticks(np.arange(len(variables)), [label(v, labels, instrument) for v in variables])
    ax.set_ylim(len(variables) - 0.5, -0.5)
    lim = max(m * 1.6, float(np.nanmax(np.abs(eq[["lo", "hi"]].to_numpy()))) * 1.1)
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("connected minus not connected\n(pooled SD, 90% CI)")
    texts = [h.get_label() for h in handles]
    if own:
        _legend_above(ax.figure, handles, texts, ncol=len(handles))
        return ax.figure
    ax.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
              frameon=False)
    return ax


# ----------------------------------------------------------------------------- risk ratios
def _risk_ratio_panels(t: pd.DataFrame, instrument,
                       index_constructs=()) -> list[tuple[str, list[str]]]:
    """Panels: the emotional items by construct, then the outcomes (``family`` column); the
    panel of a construct in ``index_constructs`` (the items the connected/not split is built
    from) is titled as circular, the others as outside the index."""
    variables = list(dict.fromkeys(t["variable"]))
    family = (t.drop_duplicates("variable").set_index("variable")["family"]
              if "family" in t else pd.Series("", index=variables))
    if instrument is None:
        from connection import instruments

        instrument = instruments.default()
    panels: dict[str, list[str]] = {}
    for v in variables:
        fam = str(family.get(v, "") or "")
        if fam == "outcomes":
            title = "Outcomes"
        elif v in instrument.items:
            construct = instrument.items[v].construct
            title = label(construct, instrument=instrument)
            if fam and fam != "emotional":
                title = label(fam)
            elif construct in index_constructs:
                # respondents are grouped by an index of these very items: say so on the panel
                title += " (index items: circular)"
            elif index_constructs:
                title += " (outside the index)"
        else:
            title = label(fam) if fam else ""
        panels.setdefault(title, []).append(v)
    return list(panels.items())


def risk_ratios(table: pd.DataFrame, *, labels: Mapping[str, str] | None = None, instrument=None,
                axes=None):
    """How many times more likely connected respondents are to agree: a forest plot per family.

    ``table`` holds the proportion rows of :func:`connection.outcomes._compare` (columns variable,
    risk_ratio, rr_ci_lower, rr_ci_upper; optionally category and family; rows of other analyses
    are ignored). One panel per construct of the emotional items and one for the outcomes; one
    colour per category; log x axis with ticks 1, 1.5, 2, 3, 5, 8; 1 = no difference. With an
    ``in_index`` column (true for the items the connected/not split is built from), the panel of
    those items is titled as circular and the other emotional panels as outside the index.
    """
    _need(table, {"variable", "risk_ratio", "rr_ci_lower", "rr_ci_upper"}, "risk-ratio")
    rr = table[table["analysis"] == "proportion"] if "analysis" in table else table
    rr = rr.dropna(subset=["risk_ratio"]).copy()
    if "category" not in rr:
        rr["category"] = "all"
    categories = list(dict.fromkeys(rr["category"]))
    # an ``in_index`` column (the study's) marks the items the connected/not split is built from
    if instrument is None:
        from connection import instruments

        instrument = instruments.default()
    index_constructs = ()
    if "in_index" in rr:
        inside = rr.loc[rr["in_index"].astype(bool), "variable"]
        index_constructs = tuple(dict.fromkeys(instrument.items[v].construct for v in inside
                                               if v in instrument.items))
    parts = _risk_ratio_panels(rr, instrument, index_constructs)
    sizes = [len(v) for _, v in parts]
    own = axes is None
    if own:
        # page-wide: at column width the item labels take half of it, leaving the ratios no room
        fig, axes = plots.new_figure(plots.PAGE_WIDTH,
                                     0.7 + 0.22 * sum(sizes) + 0.25 * len(parts),
                                     nrows=len(parts), sharex=True, squeeze=False,
                                     gridspec_kw={"height_ratios": sizes, "hspace": 0.3})
        axes = axes[:, 0]
    lo = min(1.0, float(np.nanmin(rr["rr_ci_lower"])))
    hi = max(1.0, float(np.nanmax(rr["rr_ci_upper"])))
    offsets = np.linspace(-0.2, 0.2, len(categories)) if len(categories) > 1 else [0.0]
    for ax, (title, variables) in zip(axes, parts):
        part = rr[rr["variable"].isin(variables)]
        for k, (off, category) in enumerate(zip(offsets, categories)):
            rows = part[part["category"] == category].set_index("variable").reindex(variables)
            y = np.arange(len(variables)) + off
            colour = _colour(category, k)
            ax.errorbar(rows["risk_ratio"], y,
                        xerr=[rows["risk_ratio"] - rows["rr_ci_lower"],
                              rows["rr_ci_upper"] - rows["risk_ratio"]],
                        fmt="o", ms=2.4, color=colour, lw=0.8, capsize=1,
                        label=label(category, labels, instrument))
        ax.set_yticks(np.arange(len(variables)),
                      [_wrap(label(v, labels, instrument), 27) for v in variables])
        ax.set_ylim(len(variables) - 0.5, -0.5)
        ax.axvline(1, color=plots.PALETTE["neutral"], lw=0.6, ls="--")
        if title:
            ax.set_title(title, loc="left", fontsize=7.5, fontweight="bold")
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.1, hi * 1.15)
        _log_ticks(ax, lo / 1.1, hi * 1.15)
        ax.grid(axis="y", visible=False)
    axes[-1].set_xlabel("risk ratio, connected vs not connected\n(95% CI, log scale)")
    handles, texts = axes[0].get_legend_handles_labels()
    if own:
        if len(categories) > 1:
            _legend_above(fig, handles, texts, ncol=len(texts))
        return fig
    if len(categories) > 1:
        axes[0].legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 1.12),
                       ncol=len(texts), frameon=False)
    return axes


# ----------------------------------------------------------------------------- drivers
def drivers(observed: pd.DataFrame, latent: pd.DataFrame | None = None, *,
            terms=("connection", "satisfaction"), labels: Mapping[str, str] | None = None,
            instrument=None, axes=None):
    """Standardized effects of connection and satisfaction on each outcome, by cell.

    ``observed`` is the study's ``drivers_observed.csv`` (columns outcome, group, term, beta,
    ci_lower, ci_upper; with a ``by`` column, the ``by == "cell"`` rows are drawn when there are
    any); ``latent`` (optional) ``drivers_latent.csv`` (columns category, group, outcome, term,
    beta), drawn as open diamonds on the row of cell ``"<category> / <group>"``. One panel per
    outcome; filled dots with bootstrap intervals are the observed scale scores.
    """
    _need(observed, {"outcome", "group", "term", "beta", "ci_lower", "ci_upper"}, "drivers")
    obs = observed
    if "by" in obs and (obs["by"] == "cell").any():
        obs = obs[obs["by"] == "cell"]
    obs = obs[obs["term"].isin(terms)]
    lat = None
    if latent is not None and len(latent) and {"category", "group"} <= set(latent.columns):
        lat = latent[(latent["group"] != "all") & latent["term"].isin(terms)]
        lat = lat.assign(cell=lat["category"].astype(str) + " / " + lat["group"].astype(str))
    outcomes = list(dict.fromkeys(obs["outcome"]))
    cells = list(dict.fromkeys(obs["group"]))
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 0.9 + 0.42 * len(cells),
                                     ncols=len(outcomes), sharey=True, sharex=True, squeeze=False)
        axes = axes[0]
    offsets = np.linspace(-0.14, 0.14, len(terms)) if len(terms) > 1 else [0.0]
    for ax, outcome in zip(axes, outcomes):
        for k, (term, off) in enumerate(zip(terms, offsets)):
            rows = obs[(obs["outcome"] == outcome) & (obs["term"] == term)].set_index("group")
            rows = rows.reindex(cells)
            y = np.arange(len(cells)) + off
            colour = _colour(term, k)
            ax.errorbar(rows["beta"], y, xerr=[rows["beta"] - rows["ci_lower"],
                                               rows["ci_upper"] - rows["beta"]],
                        fmt="o", ms=3, color=colour, lw=0.9,
                        label=f"{term} (observed scores)")
            if lat is not None:
                lrows = lat[(lat["outcome"] == outcome) & (lat["term"] == term)]
                lrows = lrows.set_index("cell").reindex(cells)
                if lrows["beta"].notna().any():
                    ax.scatter(lrows["beta"], y, marker="D", s=14, facecolor="white",
                               edgecolor=colour, lw=0.9, zorder=3,
                               label=f"{term} (latent model)")
        ax.axvline(0, color=plots.PALETTE["neutral"], lw=0.6)
        ax.set_title(label(outcome, labels, instrument), loc="left")
        ax.set_xlabel("standardized effect (95% CI)")
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(np.arange(len(cells)), [label(c, labels, instrument) for c in cells])
    axes[0].set_ylim(len(cells) - 0.5, -0.5)
    handles, texts = axes[0].get_legend_handles_labels()
    order = sorted(range(len(texts)), key=lambda i: "latent" in texts[i])  # observed first
    handles, texts = [handles[i] for i in order], [texts[i] for i in order]
    if own:
        fig.tight_layout(pad=0.3, w_pad=1.0)
        _legend_above(fig, handles, texts, ncol=len(texts), layout=False)
        return fig
    return axes


# ----------------------------------------------------------------------------- power
def n_at_power(n, power, target: float = 0.8) -> float:
    """The n at which a power curve first reaches ``target``, interpolated linearly in log n.

    ``nan`` when the curve never reaches it; the first n when it starts above it.

    >>> round(n_at_power([100, 200, 400], [0.5, 0.7, 0.9]), 1)
    282.8
    """
    n = np.asarray(n, dtype=float)
    p = np.asarray(power, dtype=float)
    order = np.argsort(n)
    n, p = n[order], p[order]
    above = np.flatnonzero(p >= target)
    if not len(above):
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(n[0])
    frac = (target - p[i - 1]) / (p[i] - p[i - 1])
    return float(np.exp(np.log(n[i - 1]) + frac * (np.log(n[i]) - np.log(n[i - 1]))))


def power_curve(table: pd.DataFrame, *, target: float | None = None,
                n_target: pd.DataFrame | None = None, labels: Mapping[str, str] | None = None,
                ax=None):
    """Power against respondents per cell, one line per test, each test's n for ``target`` marked.

    ``table`` is the study's ``power.csv`` (columns test, n_per_cell, power; optionally
    ``method``: ``analytic`` lines and ``simulation`` points with ``ci_lower``/``ci_upper``).
    ``n_target`` is ``n80.csv`` (columns test, n_per_cell, optionally target_power): the n the
    text reports. Tests without a row there are marked at :func:`n_at_power` of their curve
    (interpolated, never snapped to the next grid point); tests in ``n_target`` are those the
    study sizes, the others (e.g. a false-alarm curve) are drawn without a mark.
    """
    _need(table, {"test", "n_per_cell", "power"}, "power")
    if target is None:
        target = (float(n_target["target_power"].iloc[0]) if n_target is not None
                  and "target_power" in n_target else 0.8)
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 2.7)
    method = table["method"] if "method" in table else pd.Series("analytic", index=table.index)
    tests = list(dict.fromkeys(table["test"]))
    sized = (n_target.set_index("test")["n_per_cell"] if n_target is not None
             else pd.Series(dtype=float))
    marks: list[tuple[float, str]] = []
    for k, test in enumerate(tests):
        colour = _LINE_COLOURS[k % len(_LINE_COLOURS)]
        line = table[(table["test"] == test) & (method == "analytic")].sort_values("n_per_cell")
        if len(line):
            ax.plot(line["n_per_cell"], line["power"], color=colour, lw=1.3,
                    label=label(test, labels))
        pts = table[(table["test"] == test) & (method == "simulation")]
        if len(pts):
            yerr = None
            if {"ci_lower", "ci_upper"} <= set(pts.columns):
                yerr = np.vstack([pts["power"] - pts["ci_lower"], pts["ci_upper"] - pts["power"]])
            ax.errorbar(pts["n_per_cell"], pts["power"], yerr=yerr, fmt="s", ms=2.6, mfc="white",
                        color=colour, lw=0.7, capsize=1.2,
                        label=None if len(line) else label(test, labels))
        if n_target is not None and test not in sized.index:
            continue  # not a sized test (e.g. the false-alarm rate): no mark
        n80 = (float(sized.loc[test]) if test in sized.index
               else n_at_power(line["n_per_cell"], line["power"], target) if len(line)
               else float("nan"))
        if np.isfinite(n80):
            ax.plot([n80], [target], "o", color=colour, ms=3.5, zorder=4)
            marks.append((n80, colour))
    _n80_labels(ax, marks, target)
    ax.axhline(target, ls="--", lw=0.7, color=plots.PALETTE["neutral"])
    ax.set_xscale("log")
    n_all = table["n_per_cell"].astype(float)
    _log_ticks(ax, float(n_all.min()), float(n_all.max()), N_TICKS)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("respondents per cell (log scale)")
    ax.set_ylabel("power")
    handles, texts = ax.get_legend_handles_labels()
    if (method == "simulation").any():
        handles.append(_marker("s", "white", plots.PALETTE["neutral"], "", 3.0))
        texts.append("Monte Carlo check (95% CI)")
    if own:
        _legend_above(ax.figure, handles, texts, ncol=2)
        return ax.figure
    ax.legend(handles, texts, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return ax


def _n80_labels(ax, marks: list[tuple[float, str]], target: float) -> None:
    """Label each marked n above the target line; a label closer than a quarter decade to the
    previous one goes one row higher, so neighbouring sizes never print over each other."""
    levels, level, last = {}, 0, -np.inf
    for k in sorted(range(len(marks)), key=lambda i: marks[i][0]):
        level = level + 1 if np.log10(marks[k][0]) - last < 0.25 else 0
        last = np.log10(marks[k][0])
        levels[k] = level
    for k, (n80, colour) in enumerate(marks):  # drawn in the order of the tests
        ax.annotate(f"{n80:,.0f}", (n80, target), xytext=(-3, 4 + 7 * levels[k]),
                    textcoords="offset points", ha="right", fontsize=6.5, color=colour)


# ----------------------------------------------------------------------------- sensitivity
def sensitivity(table: pd.DataFrame, *, margin: float | None = None, axes=None):
    """How two findings move with corr(connection, satisfaction): one panel per ``measure``.

    ``table`` has columns correlation, measure, estimate, ci_lower, ci_upper and optionally
    ``truth`` (the population value, drawn dotted) and ``ci_level``. Rows of
    ``<measure>_latent`` are drawn on the panel of ``<measure>`` (observed-score and latent
    versions of one contrast). For ``satisfaction_difference`` the equivalence margin
    ``+/- margin`` is shaded; the zero line is drawn on every panel. One legend, above the panels.
    """
    _need(table, {"correlation", "measure", "estimate", "ci_lower", "ci_upper"}, "sensitivity")
    names = set(table["measure"])
    measures = [m for m in dict.fromkeys(table["measure"])
                if not (m.endswith("_latent") and m[:-7] in names)]
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 2.5, ncols=len(measures), squeeze=False)
        axes = axes[0]
    titles = {"satisfaction_difference": "Satisfaction, connected minus not (SD units)",
              "beta_difference": "\u03b2(connection) \u2212 \u03b2(satisfaction) on advocacy"}
    levels = []
    handles: dict[str, list] = {}
    for ax, measure in zip(axes, measures):
        sub = table[table["measure"] == measure].sort_values("correlation")
        colour = plots.PALETTE["connection"]
        levels.append(f"{float(sub['ci_level'].iloc[0]):.0%}" if "ci_level" in sub
                      and sub["ci_level"].notna().any() else "95%")
        ax.fill_between(sub["correlation"], sub["ci_lower"], sub["ci_upper"], color=colour,
                        alpha=0.2, lw=0)
        (h,) = ax.plot(sub["correlation"], sub["estimate"], marker="o", ms=3, color=colour)
        handles.setdefault("observed", [h])
        latent = table[table["measure"] == f"{measure}_latent"].sort_values("correlation")
        if len(latent):
            other = plots.PALETTE["satisfaction"]
            ax.fill_between(latent["correlation"], latent["ci_lower"], latent["ci_upper"],
                            color=other, alpha=0.15, lw=0)
            (h,) = ax.plot(latent["correlation"], latent["estimate"], marker="s", ms=3,
                           color=other)
            handles.setdefault("latent", [h])
        if "truth" in sub and sub["truth"].notna().any():
            (h,) = ax.plot(sub["correlation"], sub["truth"], ls=":",
                           color=plots.PALETTE["neutral"])
            handles.setdefault("truth", [h])
        if measure == "satisfaction_difference" and margin is not None:
            h = ax.axhspan(-margin, margin, color=plots.PALETTE["banking"], alpha=0.15, lw=0)
            handles.setdefault("margin", [h, f"equivalence margin \u00b1{margin:g} SD"])
        ax.axhline(0, lw=0.6, color=plots.PALETTE["neutral"])
        ax.set_xlabel("corr(connection, satisfaction) within cell")
        ax.set_title(titles.get(measure, label(measure)), loc="left")
    if len(set(levels)) > 1 and len(levels) == 2:
        ci = f"band: {levels[0]} CI left, {levels[1]} right"
    else:
        ci = f"band: {levels[0]} CI" if levels else "band: CI"
    texts = {"observed": f"observed scale scores ({ci})", "latent": "latent model (95% CI)",
             "truth": "true value"}
    entries = [(v[0], v[1] if len(v) > 1 else texts[k]) for k, v in handles.items()]
    if own:
        fig.tight_layout(pad=0.3, w_pad=2.0)
        _legend_above(fig, [h for h, _ in entries], [t for _, t in entries], ncol=len(entries),
                      layout=False)
        return fig
    return axes


def ordinal_comparison(table: pd.DataFrame, *, axes=None):
    """Estimate against the population's truth by method (WLSMV on the ordinal items, ML on the
    integer codes), with the 95% interval of each estimate; the diagonal is "estimate = truth".

    ``table`` has columns parameter, kind, method, truth, estimate, ci_lower, ci_upper (the
    study's ``ordinal_vs_continuous`` table). One panel for the loadings, one for the
    correlations, coefficients and contrast.
    """
    _need(table, {"parameter", "kind", "method", "truth", "estimate", "ci_lower", "ci_upper"},
          "ordinal_comparison")
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 3.0, ncols=2, squeeze=False)
        axes = axes[0]
    panels = [("Latent-response loadings", table["kind"] == "loading"),
              ("Correlations, coefficients, contrast", table["kind"] != "loading")]
    styles = {"wlsmv": (plots.PALETTE["connection"], "o", "WLSMV, ordinal items"),
              "ml": (plots.PALETTE["satisfaction"], "s", "ML, integer codes as continuous")}
    handles = {}
    for ax, (title, mask) in zip(axes, panels):
        sub = table[mask]
        if not len(sub):
            ax.set_visible(False)
            continue
        lo = float(min(sub["truth"].min(), sub["ci_lower"].min()))
        hi = float(max(sub["truth"].max(), sub["ci_upper"].max()))
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], lw=0.6, ls=":",
                color=plots.PALETTE["neutral"])
        for k, method in enumerate(m for m in styles if m in set(sub["method"])):
            colour, marker, text = styles[method]
            s = sub[sub["method"] == method]
            # a small horizontal offset keeps the two methods' bars apart
            x = s["truth"].to_numpy() + (k - 0.5) * 0.006 * (hi - lo or 1.0)
            h = ax.errorbar(x, s["estimate"], yerr=[s["estimate"] - s["ci_lower"],
                                                     s["ci_upper"] - s["estimate"]],
                            fmt=marker, ms=3, lw=0.8, color=colour, capsize=0)
            handles.setdefault(method, (h, text))
        ax.set_xlabel("population value (truth)")
        ax.set_ylabel("estimate (95% CI)")
        ax.set_title(title, loc="left")
    if own:
        fig.tight_layout(pad=0.3, w_pad=2.0)
        _legend_above(fig, [h for h, _ in handles.values()], [t for _, t in handles.values()],
                      ncol=len(handles), layout=False)
        return fig
    return axes


_ESTIMATOR_STYLES = {"WLSMV": (plots.PALETTE["connection"], "o", "WLSMV, ordinal items"),
                     "ULSMV": (plots.PALETTE["connection"], "D", "ULSMV, ordinal items"),
                     "MLR": (plots.PALETTE["satisfaction"], "s", "MLR, codes as continuous"),
                     "ML": (plots.PALETTE["satisfaction"], "^", "ML, codes as continuous")}


def recovery_replicates(table: pd.DataFrame, *, level: float = 0.95, axes=None):
    """The recovery check over repeated studies, by estimator: the bias of each structural
    coefficient (mean estimate minus truth, pooled over the cells, with a Monte Carlo interval
    of +-2 standard errors of the mean) and the coverage of its intervals (with a Wilson
    interval; the dashed line is the nominal ``level``).

    ``table`` has columns estimator, outcome, predictor, true, mean_estimate, empirical_sd,
    coverage, replicates (the study's ``recovery_replicates`` table, one row per cell).
    """
    from connection.stats._proportions import wilson_interval

    _need(table, {"estimator", "outcome", "predictor", "true", "mean_estimate", "empirical_sd",
                  "coverage", "replicates"}, "recovery_replicates")
    t = table.assign(bias=table["mean_estimate"] - table["true"],
                     var=table["empirical_sd"] ** 2 / table["replicates"],
                     hits=table["coverage"] * table["replicates"])
    g = t.groupby(["outcome", "predictor", "estimator"], sort=False).agg(
        bias=("bias", "mean"), var=("var", "sum"), cells=("bias", "size"),
        hits=("hits", "sum"), n=("replicates", "sum")).reset_index()
    g["mc_se"] = np.sqrt(g["var"]) / g["cells"]
    params = list(dict.fromkeys(zip(g["outcome"], g["predictor"])))
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 0.5 + 0.38 * len(params), ncols=2,
                                     squeeze=False)
        axes = axes[0]
    estimators = list(dict.fromkeys(g["estimator"]))
    handles = []
    for k, e in enumerate(estimators):
        colour, marker, text = _ESTIMATOR_STYLES.get(e, (plots.PALETTE["neutral"], "o", e))
        s = g[g["estimator"] == e].set_index(["outcome", "predictor"]).loc[params]
        y = np.arange(len(params)) + (k - (len(estimators) - 1) / 2) * 0.22
        h = axes[0].errorbar(s["bias"], y, xerr=2 * s["mc_se"], fmt=marker, ms=3.5, lw=0.8,
                             color=colour, capsize=0)
        lo, hi = wilson_interval(s["hits"].to_numpy(), s["n"].to_numpy(), 1.959963984540054)
        cov = (s["hits"] / s["n"]).to_numpy()
        axes[1].errorbar(cov, y, xerr=[cov - lo, hi - cov], fmt=marker, ms=3.5, lw=0.8,
                         color=colour, capsize=0)
        handles.append((h, text))
    ticks = [f"{label(o)} on {label(p)}" for o, p in params]
    for ax in axes:
        ax.set_yticks(np.arange(len(params)), ticks if ax is axes[0] else [""] * len(params))
        ax.invert_yaxis()
    from matplotlib.ticker import MaxNLocator

    axes[0].xaxis.set_major_locator(MaxNLocator(5))
    axes[0].axvline(0, lw=0.6, ls=":", color=plots.PALETTE["neutral"])
    axes[0].set_xlabel("bias: mean estimate - truth (+-2 MC SE)")
    axes[0].set_title("Bias", loc="left")
    axes[1].axvline(level, lw=0.8, ls="--", color=plots.PALETTE["neutral"])
    axes[1].set_xlabel(f"coverage of the {level:.0%} intervals (Wilson interval)")
    axes[1].set_title("Coverage", loc="left")
    if own:
        fig.tight_layout(pad=0.3, w_pad=1.5)
        _legend_above(fig, [h for h, _ in handles], [t for _, t in handles],
                      ncol=len(handles), layout=False)
        return fig
    return axes
