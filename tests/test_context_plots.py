"""connection.plots.context: the figures say on their face where no interval could be drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from connection.context import ci_curve, diff_shares  # noqa: E402
from connection.plots.context import NO_N_NOTE, ci_by_n, gap_dumbbell, reasons_bars  # noqa: E402


def gaps_frame():
    return pd.DataFrame({
        "label": ["feel connected", "offers", "rewards"],
        "consumers_share": [0.33, 0.67, 0.70], "marketers_share": [0.64, 0.27, 0.45],
        "consumers_ci_lower": [0.30, 0.64, np.nan], "consumers_ci_upper": [0.36, 0.70, np.nan],
        "marketers_ci_lower": [0.59, 0.20, np.nan], "marketers_ci_upper": [0.69, 0.35, np.nan],
        "difference": [-0.31, 0.40, 0.25], "ci_lower": [-0.37, 0.31, np.nan],
        "ci_upper": [-0.25, 0.47, np.nan], "has_interval": [True, True, False],
        "comparability": ["same item", "similar item, different question", "same item"],
    })


def test_dumbbell_marks_missing_intervals_and_approximate_pairs():
    fig, ax = plt.subplots()
    out = gap_dumbbell(gaps_frame(), ax=ax)
    assert out is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["feel connected", "offers \u2020", "rewards"]
    notes = [t.get_text() for t in ax.texts]
    assert "+25 pp, n unknown: no interval" in notes
    assert "-31 pp [-37, -25]" in notes
    assert any(n.startswith("\u2020 similar item") for n in notes)
    # whiskers only for the two rows with published n: one errorbar container per side each
    assert len(ax.containers) == 4
    plt.close(fig)


def test_reasons_bars_hatch_unconfirmed_and_say_no_interval():
    reasons = pd.DataFrame({"item": ["discounts", "other"], "proportion": [0.45, 0.03],
                            "status": ["S", "U"]})
    fig = reasons_bars(reasons)
    ax = fig.axes[0]
    assert [p.get_hatch() for p in ax.patches] == [None, "///"]
    assert NO_N_NOTE in [t.get_text() for t in ax.texts]
    plt.close(fig)


def test_ci_by_n_is_labelled_hypothetical():
    grid = np.geomspace(50, 5000, 9).round()
    fig = ci_by_n(ci_curve({"a": 0.45, "b": 0.33}, grid), diff_shares(0.45, 0.33, grid),
                  min_n=209)
    assert "not published" in fig._suptitle.get_text()
    assert all("hypothetical" in ax.get_xlabel() for ax in fig.axes)
    assert "significant from n = 209" in [t.get_text() for t in fig.axes[1].texts]
    plt.close(fig)


def test_dumbbell_marks_holm_significant_gaps_and_carries_the_note():
    frame = gaps_frame()
    frame["pvalue_holm"] = [0.001, 0.2, np.nan]
    fig, ax = plt.subplots()
    gap_dumbbell(frame, ax=ax, note="IBM 2011: all 12 reasons, status S")
    notes = [t.get_text() for t in ax.texts]
    assert "-31 pp [-37, -25] *" in notes          # significant after Holm
    assert "+40 pp [+31, +47]" in notes            # interval, but not significant after Holm
    assert "+25 pp, n unknown: no interval" in notes
    header = next(n for n in notes if n.startswith("\u2020 similar item"))
    assert "after Holm's adjustment" in header and "IBM 2011: all 12 reasons, status S" in header
    plt.close(fig)
