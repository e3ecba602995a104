"""Figures of the studies: calibration, power curves, sensitivity.

Each function takes a tidy DataFrame (the table the study writes next to the figure), an optional
``ax=``, and returns the Figure (or the Axes it drew on when ``ax`` is given).

Examples
--------
>>> import pandas as pd
>>> from connection.plots import studies
>>> table = pd.DataFrame({"category": "banking", "group": ["social_media_moms", "other_moms"],
...                       "item": "ec_belong", "published": [37.0, 16.0],
...                       "population": [37.0, 16.0], "sample": [36.2, 16.9]})
>>> fig = studies.calibration(table)
>>> len(fig.axes)
1
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connection import plots

__all__ = ["calibration", "power_curve", "sensitivity", "equivalence", "risk_ratios", "drivers"]

_GROUP_COLOURS = {"social_media_moms": plots.PALETTE["social_moms"],
                  "other_moms": plots.PALETTE["other_moms"]}


def _label(text: str) -> str:
    return str(text).replace("_", " ")


def _colour(name, fallback_index: int):
    import seaborn as sns

    return _GROUP_COLOURS.get(name, plots.PALETTE.get(name, sns.color_palette(
        "colorblind")[fallback_index % 10]))


def calibration(table: pd.DataFrame, ax=None):
    """Published vs reproduced percentages: one row per item, one colour per group.

    ``table`` has columns category, group, item, published, population and (optionally) sample,
    in percent. Published values are open circles, the population's filled diamonds (they sit on
    the circles when calibration is exact), the sample's small crosses.
    """
    need = {"group", "item", "published", "population"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"calibration table lacks columns {sorted(missing)}")
    own = ax is None
    items = list(dict.fromkeys(table["item"]))
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.9 + 0.32 * len(items))
    ypos = {item: i for i, item in enumerate(items)}
    groups = list(dict.fromkeys(table["group"]))
    offsets = np.linspace(-0.15, 0.15, len(groups)) if len(groups) > 1 else [0.0]
    for k, (g, off) in enumerate(zip(groups, offsets)):
        sub = table[table["group"] == g]
        y = sub["item"].map(ypos).to_numpy() + off
        colour = _colour(g, k)
        ax.scatter(sub["population"], y, s=10, marker="D", color=colour, zorder=3,
                   label=f"{_label(g)}: population")
        ax.scatter(sub["published"], y, s=48, facecolors="none", edgecolors=colour, linewidths=1.1,
                   label=f"{_label(g)}: published", zorder=4)
        if "sample" in sub and sub["sample"].notna().any():
            ax.scatter(sub["sample"], y, s=22, marker="x", color=plots.PALETTE["neutral"],
                       linewidths=0.9, zorder=5, label="sample" if k == 0 else None)
    ax.set_yticks(range(len(items)), [_label(i) for i in items])
    ax.invert_yaxis()
    ax.set_xlim(0, max(60.0, float(table[["published", "population"]].max().max()) * 1.12))
    ax.set_xlabel("percent agreeing / satisfied")
    ax.legend(loc="upper center", bbox_to_anchor=(0.45, -0.16 - 0.5 / max(len(items), 1)),
              ncol=2, frameon=False, fontsize=6)
    return ax.figure if own else ax


def power_curve(table: pd.DataFrame, *, target: float = 0.8, n_target: pd.DataFrame | None = None,
                ax=None):
    """Power against respondents per cell, one line per test.

    ``table`` has columns test, n_per_cell, power (and optionally ``method``: ``analytic`` lines
    and ``simulation`` points with ``ci_lower``/``ci_upper`` error bars). The dashed line marks
    ``target`` power; each test's smallest n reaching it (from ``n_target``, columns test and
    n_per_cell, or else the first grid point) is marked and annotated.
    """
    need = {"test", "n_per_cell", "power"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"power table lacks columns {sorted(missing)}")
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 2.6)
    method = table["method"] if "method" in table else pd.Series("analytic", index=table.index)
    tests = list(dict.fromkeys(table["test"]))
    import seaborn as sns

    colours = sns.color_palette("colorblind", len(tests))
    for colour, test in zip(colours, tests):
        line = table[(table["test"] == test) & (method == "analytic")].sort_values("n_per_cell")
        if len(line):
            ax.plot(line["n_per_cell"], line["power"], color=colour, lw=1.4, label=_label(test))
            if n_target is not None and test in set(n_target["test"]):
                n80 = float(n_target.set_index("test").loc[test, "n_per_cell"])
            else:
                reached = line[line["power"] >= target]
                n80 = float(reached["n_per_cell"].iloc[0]) if len(reached) else np.nan
            if np.isfinite(n80):
                ax.plot([n80], [target], marker="o", color=colour, ms=3.5)
                ax.annotate(f"{n80:,.0f}", xy=(n80, target), xytext=(3, -9),
                            textcoords="offset points", fontsize=6, color=colour)
        pts = table[(table["test"] == test) & (method == "simulation")]
        if len(pts):
            yerr = None
            if {"ci_lower", "ci_upper"} <= set(pts.columns):
                yerr = np.vstack([pts["power"] - pts["ci_lower"], pts["ci_upper"] - pts["power"]])
            ax.errorbar(pts["n_per_cell"], pts["power"], yerr=yerr, fmt="s", ms=3, color=colour,
                        mfc="white", lw=0.8, capsize=1.5,
                        label=f"{_label(test)} (simulated)" if not len(line) else None)
    ax.axhline(target, ls="--", lw=0.8, color=plots.PALETTE["neutral"])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("respondents per cell")
    ax.set_ylabel("power")
    ax.legend(loc="upper left", frameon=False, fontsize=6)
    return ax.figure if own else ax


def sensitivity(table: pd.DataFrame, *, margin: float | None = None, axes=None):
    """How two findings move with corr(connection, satisfaction): one panel per ``measure``.

    ``table`` has columns correlation, measure, estimate, ci_lower, ci_upper and optionally
    ``truth`` (the population value, drawn as a line). Rows of ``<measure>_latent`` are drawn on
    the panel of ``<measure>`` (observed-score and latent versions of one contrast). For the measure named
    ``satisfaction_difference`` the equivalence margin ``+/- margin`` is shaded; for
    ``beta_difference`` the zero line is drawn.
    """
    need = {"correlation", "measure", "estimate", "ci_lower", "ci_upper"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"sensitivity table lacks columns {sorted(missing)}")
    # "<measure>_latent" rows are drawn on the panel of "<measure>", in a second colour
    measures = [m for m in dict.fromkeys(table["measure"])
                if not (m.endswith("_latent") and m[:-7] in set(table["measure"]))]
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 2.4, ncols=len(measures), squeeze=False)
        axes = axes[0]
    titles = {"satisfaction_difference": "satisfaction: connected minus not (SD units)",
              "beta_difference": "beta(connection) - beta(satisfaction)"}
    for ax, measure in zip(axes, measures):
        sub = table[table["measure"] == measure].sort_values("correlation")
        colour = plots.PALETTE["connection"]
        ax.fill_between(sub["correlation"], sub["ci_lower"], sub["ci_upper"], color=colour,
                        alpha=0.2, lw=0)
        latent = table[table["measure"] == f"{measure}_latent"].sort_values("correlation")
        ax.plot(sub["correlation"], sub["estimate"], marker="o", ms=3, color=colour,
                label=("observed scores" if len(latent) else "estimate")
                + (" (95% CI)" if measure != "satisfaction_difference" else " (90% CI)"))
        if len(latent):
            other = plots.PALETTE["satisfaction"]
            ax.fill_between(latent["correlation"], latent["ci_lower"], latent["ci_upper"],
                            color=other, alpha=0.15, lw=0)
            ax.plot(latent["correlation"], latent["estimate"], marker="s", ms=3, color=other,
                    label="latent drivers (95% CI)")
        if "truth" in sub and sub["truth"].notna().any():
            ax.plot(sub["correlation"], sub["truth"], ls=":", color=plots.PALETTE["neutral"],
                    label="true (latent) value")
        if measure == "satisfaction_difference" and margin is not None:
            ax.axhspan(-margin, margin, color=plots.PALETTE["satisfaction"], alpha=0.08, lw=0,
                       label=f"equivalence margin +/-{margin:g}")
        ax.axhline(0, lw=0.6, color=plots.PALETTE["neutral"])
        ax.set_xlabel("corr(connection, satisfaction), within cell")
        ax.set_title(titles.get(measure, _label(measure)))
        ax.legend(frameon=False, fontsize=6)
    return axes[0].figure if own else axes


def equivalence(table: pd.DataFrame, *, margin: float | None = None, ax=None):
    """Standardized differences with their TOST intervals against the equivalence margin.

    ``table`` holds equivalence rows of :func:`connection.compare` (columns variable, difference,
    ci_lower, ci_upper, margin_raw, margin_std; optionally category). Differences are shown in
    pooled-SD units (``difference * margin_std / margin_raw``); the shaded band is the margin.
    """
    need = {"variable", "difference", "ci_lower", "ci_upper", "margin_raw", "margin_std"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"equivalence table lacks columns {sorted(missing)}")
    t = table.copy()
    scale = t["margin_std"] / t["margin_raw"]
    for col in ("difference", "ci_lower", "ci_upper"):
        t[col] = t[col] * scale
    if "category" not in t:
        t["category"] = "all"
    cats = list(dict.fromkeys(t["category"]))
    variables = list(dict.fromkeys(t["variable"]))
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.COLUMN_WIDTH, 0.8 + 0.28 * len(variables) * len(cats))
    m = float(margin if margin is not None else t["margin_std"].iloc[0])
    ax.axvspan(-m, m, color=plots.PALETTE["satisfaction"], alpha=0.10, lw=0,
               label=f"equivalence margin +/-{m:g} SD")
    ax.axvline(0, lw=0.6, color=plots.PALETTE["neutral"])
    labels, y = [], 0
    for k, cat in enumerate(cats):
        sub = t[t["category"] == cat]
        colour = _colour(cat, k) if cat != "all" else plots.PALETTE["neutral"]
        for r in sub.itertuples():
            ax.errorbar([r.difference], [y], xerr=[[r.difference - r.ci_lower],
                                                  [r.ci_upper - r.difference]],
                        fmt="o", ms=3.5, color=colour, lw=1.1, capsize=2)
            labels.append(f"{_label(r.variable)} ({_label(cat)})")
            y += 1
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    lim = max(m * 1.6, float(np.nanmax(np.abs(t[["ci_lower", "ci_upper"]].to_numpy()))) * 1.15)
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("connected minus not connected (pooled SD), 90% CI")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=6)
    return ax.figure if own else ax


def risk_ratios(table: pd.DataFrame, *, ax=None):
    """Forest plot of risk ratios ("x times more likely"), one row per variable, by category.

    ``table`` holds proportion rows of :func:`connection.compare` (columns variable, risk_ratio,
    rr_ci_lower, rr_ci_upper; optionally category and family). Log-scaled x axis; 1 = no
    difference.
    """
    need = {"variable", "risk_ratio", "rr_ci_lower", "rr_ci_upper"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"risk-ratio table lacks columns {sorted(missing)}")
    t = table.copy()
    if "category" not in t:
        t["category"] = "all"
    cats = list(dict.fromkeys(t["category"]))
    variables = list(dict.fromkeys(t["variable"]))
    own = ax is None
    if own:
        fig, ax = plots.new_figure(plots.PAGE_WIDTH * 0.62, 0.8 + 0.2 * len(variables))
    ypos = {v: i for i, v in enumerate(variables)}
    offsets = np.linspace(-0.25, 0.25, len(cats)) if len(cats) > 1 else [0.0]
    for k, (cat, off) in enumerate(zip(cats, offsets)):
        sub = t[t["category"] == cat]
        y = sub["variable"].map(ypos).to_numpy() + off
        colour = _colour(cat, k) if cat != "all" else plots.PALETTE["neutral"]
        rr = sub["risk_ratio"].to_numpy()
        ax.errorbar(rr, y, xerr=[rr - sub["rr_ci_lower"].to_numpy(),
                                 sub["rr_ci_upper"].to_numpy() - rr],
                    fmt="o", ms=3, lw=0.9, capsize=1.5, color=colour, label=_label(cat))
    ax.axvline(1.0, lw=0.7, color=plots.PALETTE["neutral"], ls="--")
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    hi = float(np.nanmax(t["rr_ci_upper"])) if len(t) else 2.0
    lo = min(1.0, float(np.nanmin(t["rr_ci_lower"])) if len(t) else 1.0)
    ticks = [v for v in (0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 25, 50)
             if lo / 1.3 <= v <= hi * 1.3]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.set_yticks(range(len(variables)), [_label(v) for v in variables])
    ax.invert_yaxis()
    ax.set_xlabel("risk ratio, connected vs not connected (95% CI, log scale)")
    ax.legend(loc="lower right", frameon=False, fontsize=6)
    return ax.figure if own else ax


def drivers(observed: pd.DataFrame, latent: pd.DataFrame | None = None, *, axes=None):
    """Standardized effects of connection and satisfaction on each outcome, by group.

    ``observed`` holds :attr:`connection.drivers.DriversResult.table` rows (columns outcome,
    group, term, beta, ci_lower, ci_upper); ``latent`` (optional) rows of the latent version with
    columns outcome, term, beta and a ``category``/``group`` pair, drawn as open diamonds on the
    rows whose group label is ``"<category> / <group>"``. One panel per outcome.
    """
    need = {"outcome", "group", "term", "beta", "ci_lower", "ci_upper"}
    missing = need - set(observed.columns)
    if missing:
        raise ValueError(f"drivers table lacks columns {sorted(missing)}")
    outcomes = list(dict.fromkeys(observed["outcome"]))
    groups = list(dict.fromkeys(observed["group"]))
    terms = list(dict.fromkeys(observed["term"]))
    own = axes is None
    if own:
        fig, axes = plots.new_figure(plots.PAGE_WIDTH, 0.9 + 0.3 * len(groups),
                                     ncols=len(outcomes), squeeze=False, sharey=True)
        axes = axes[0]
    offsets = np.linspace(-0.15, 0.15, len(terms)) if len(terms) > 1 else [0.0]
    for ax, outcome in zip(axes, outcomes):
        sub = observed[observed["outcome"] == outcome]
        for k, (term, off) in enumerate(zip(terms, offsets)):
            tt = sub[sub["term"] == term]
            y = np.array([groups.index(g) for g in tt["group"]]) + off
            colour = plots.PALETTE.get(str(term), _colour(term, k))
            b = tt["beta"].to_numpy()
            ax.errorbar(b, y, xerr=[b - tt["ci_lower"].to_numpy(), tt["ci_upper"].to_numpy() - b],
                        fmt="o", ms=3, lw=0.9, capsize=1.5, color=colour,
                        label=f"{_label(term)} (observed)")
            if latent is not None and len(latent):
                lt = latent[(latent["outcome"] == outcome) & (latent["term"] == term)]
                if {"category", "group"} <= set(lt.columns):
                    labels = lt["category"].astype(str) + " / " + lt["group"].astype(str)
                    keep = labels.isin(groups).to_numpy()
                    lt, labels = lt[keep], labels[keep]
                    if len(lt):
                        ly = np.array([groups.index(g) for g in labels]) + off
                        ax.scatter(lt["beta"], ly, marker="D", s=16, facecolors="none",
                                   edgecolors=colour, zorder=5, label=f"{_label(term)} (latent)")
        ax.axvline(0, lw=0.6, color=plots.PALETTE["neutral"])
        ax.set_title(_label(outcome))
        ax.set_xlabel("standardized beta (95% CI)")
    axes[0].set_yticks(range(len(groups)), [_label(g) for g in groups])
    axes[0].invert_yaxis()
    axes[-1].legend(loc="lower right", frameon=False, fontsize=6)
    return axes[0].figure if own else axes
