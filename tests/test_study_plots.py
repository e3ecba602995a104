"""connection.plots.studies: the study figures show what the tables hold, readably.

Every figure is checked for what a reader would see: the points drawn equal the table's rows,
tick labels are readable wording (not item ids), legends sit outside every axes, log axes carry
ratio ticks, the power figure marks the interpolated n, and column figures fit 3.5 in. The paper's
figure scripts are checked to draw the very same figure as the package function.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from connection import instruments, plots  # noqa: E402
from connection.plots import studies  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CELLS = [("banking", "social_media_moms"), ("banking", "other_moms"),
         ("ereaders", "social_media_moms"), ("ereaders", "other_moms")]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- small tables
def calibration_table():
    items = ["sat_overall", "ec_belong", "ec_parent"]
    rows = []
    for group, pub in (("social_media_moms", [54, 37, 32]), ("other_moms", [53, 16, 11])):
        for item, p in zip(items, pub):
            rows.append({"category": "banking", "group": group, "item": item, "published": p,
                         "population": p, "sample": p + 0.7})
    return pd.DataFrame(rows)


def compare_table():
    rng = np.random.default_rng(3)
    rows = []
    for cat in ("all", "banking", "ereaders"):
        for v, reject in (("satisfaction", True), ("features", False)):
            d = rng.normal(0.5, 0.3)
            rows.append({"category": cat, "family": "equivalence", "variable": v,
                         "analysis": "equivalence", "difference": d, "ci_lower": d - 0.6,
                         "ci_upper": d + 0.6, "margin_raw": 4.5, "margin_std": 0.2,
                         "reject": reject})
        for v, fam, rr in (("ec_belong", "emotional", 4.4), ("att_loved", "emotional", 1.9),
                           ("adv_recommend", "outcomes", 2.2), ("loy_switch", "outcomes", 1.9)):
            rows.append({"category": cat, "family": fam, "variable": v, "analysis": "proportion",
                         "risk_ratio": rr, "rr_ci_lower": rr * 0.9, "rr_ci_upper": rr * 1.1})
    return pd.DataFrame(rows)


def drivers_tables():
    obs, lat = [], []
    for outcome in ("advocacy", "loyalty"):
        obs += [{"outcome": outcome, "model": "ols", "by": "", "group": "all", "term": t,
                 "beta": b, "ci_lower": b - 0.03, "ci_upper": b + 0.03}
                for t, b in (("connection", 0.44), ("satisfaction", 0.12))]
        for k, (c, g) in enumerate(CELLS):
            for t, b in (("connection", 0.40 + 0.01 * k), ("satisfaction", 0.10 + 0.01 * k)):
                obs.append({"outcome": outcome, "model": "ols", "by": "cell",
                            "group": f"{c} / {g}", "term": t, "beta": b, "ci_lower": b - 0.03,
                            "ci_upper": b + 0.03})
                lat.append({"category": c, "group": g, "outcome": outcome, "term": t,
                            "beta": b + 0.02})
            lat.append({"category": c, "group": "all", "outcome": outcome, "term": "connection",
                        "beta": 0.9})
    return pd.DataFrame(obs), pd.DataFrame(lat)


def power_tables():
    grid = np.array([20, 50, 100, 200, 500, 1000, 2000, 5000])
    rows = []
    for test, scale in (("connection effect", 800.0), ("scalar non-invariance", 200.0)):
        for n in grid:
            rows.append({"test": test, "method": "analytic", "n_per_cell": n,
                         "power": float(1 - np.exp(-n / scale)), "ci_lower": np.nan,
                         "ci_upper": np.nan})
        rows.append({"test": test, "method": "simulation", "n_per_cell": 150,
                     "power": float(1 - np.exp(-150 / scale)), "ci_lower": 0.05,
                     "ci_upper": 0.6})
    for n in grid:
        rows.append({"test": "scalar test, no shifted item (false alarms)", "method": "analytic",
                     "n_per_cell": n, "power": 0.05, "ci_lower": np.nan, "ci_upper": np.nan})
    n80 = pd.DataFrame({"test": ["connection effect", "scalar non-invariance"],
                        "n_per_cell": [800 * np.log(5), 200 * np.log(5)], "target_power": 0.8})
    return pd.DataFrame(rows), n80


def segments_table():
    rows = []
    for c, g in CELLS:
        for seg, n in (("fully_connected", 20), ("unconnected", 50), ("highly_satisfied", 10),
                       ("perceives_differentiation", 20)):
            rows.append({"category": c, "group": g, "segment": seg, "n": n})
    return pd.DataFrame(rows)


def sensitivity_table():
    rows = []
    for r in (0.0, 0.35, 0.7):
        rows.append({"correlation": r, "measure": "satisfaction_difference", "estimate": 1.4 * r,
                     "ci_lower": 1.4 * r - 0.05, "ci_upper": 1.4 * r + 0.05, "ci_level": 0.9,
                     "truth": 1.5 * r})
        for m, b in (("beta_difference", 0.33), ("beta_difference_latent", 0.35)):
            rows.append({"correlation": r, "measure": m, "estimate": b - 0.05 * r,
                         "ci_lower": b - 0.05 * r - 0.02, "ci_upper": b - 0.05 * r + 0.02,
                         "ci_level": 0.95, "truth": 0.35})
    return pd.DataFrame(rows)


def _drivers():
    obs, lat = drivers_tables()
    return studies.drivers(obs, lat)


def _power():
    power, n80 = power_tables()
    return studies.power_curve(power, n_target=n80)


FIGURES = {
    "calibration": lambda: studies.calibration(calibration_table()),
    "segments": lambda: studies.segments(segments_table()),
    "equivalence": lambda: studies.equivalence(compare_table()),
    "risk_ratios": lambda: studies.risk_ratios(compare_table()),
    "drivers": _drivers,
    "power_curve": _power,
    "sensitivity": lambda: studies.sensitivity(sensitivity_table(), margin=0.2),
}


def _ticks(labels):
    return [t.get_text() for t in labels]


# ----------------------------------------------------------------------------- every figure
@pytest.mark.parametrize("name", ["calibration", "segments", "equivalence", "risk_ratios",
                                  "drivers", "power_curve", "sensitivity"])
def test_legend_sits_outside_every_axes_and_tick_labels_are_not_ids(name):
    fig = FIGURES[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends, "the figure has a legend"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), (name, ax.get_title())
    for ax in fig.axes:
        for text in _ticks(ax.get_yticklabels()) + _ticks(ax.get_xticklabels()):
            assert "_" not in text, (name, text)


@pytest.mark.parametrize("name,width", [("calibration", plots.COLUMN_WIDTH),
                                        ("segments", plots.COLUMN_WIDTH),
                                        ("equivalence", plots.COLUMN_WIDTH),
                                        ("risk_ratios", plots.PAGE_WIDTH),
                                        ("power_curve", plots.COLUMN_WIDTH),
                                        ("drivers", plots.PAGE_WIDTH),
                                        ("sensitivity", plots.PAGE_WIDTH)])
def test_figures_keep_their_width_so_text_is_not_shrunk(name, width):
    fig = FIGURES[name]()
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # what save_figure crops to, in inches
    assert fig.get_figwidth() == pytest.approx(width)
    assert box.width <= width + 0.05, (name, box.width)


# ----------------------------------------------------------------------------- one by one
def test_calibration_draws_every_row_with_the_instruments_wording():
    table = calibration_table()
    ax = studies.calibration(table).axes[0]
    wording = instruments.default().items
    assert _ticks(ax.get_yticklabels()) == ["Overall satisfaction",
                                            "Belong with other customers", "Be a better parent"]
    assert wording["ec_belong"].label == "belong with other customers"
    # per group: one scatter of published values, one of sample values
    offsets = np.vstack([c.get_offsets() for c in ax.collections if hasattr(c, "get_offsets")
                         and len(c.get_offsets()) and c.get_offsets().shape[1] == 2
                         and type(c).__name__ == "PathCollection"])
    assert len(offsets) == 2 * len(table)
    assert sorted(offsets[:, 0]) == pytest.approx(sorted(list(table["published"])
                                                         + list(table["sample"])))


def test_labels_come_from_the_instrument_and_the_short_label_map():
    assert studies.label("ec_parent") == "Be a better parent"
    assert studies.label("loy_switch") == "Would not switch for a deal"  # reverse-coded event
    assert studies.label("adv_recommend") == "Promoter (recommend 9-10)"
    assert studies.label("ereaders") == "eReaders"
    assert studies.label("ereaders / other_moms") == "eReaders, other moms"
    assert studies.label("ec_parent", labels={"ec_parent": "better parent"}) == "Better parent"
    inst = instruments.default()
    reverse = [i for i, item in inst.items.items() if item.reverse and i not in
               studies.SHORT_LABELS]
    for item_id in reverse:  # a reverse-coded item with no short label says so
        assert studies.label(item_id).startswith("Not: ")


def test_risk_ratios_panels_ticks_and_points():
    table = compare_table()
    fig = studies.risk_ratios(table)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["Emotional connection", "Emotional attachment", "Outcomes"]
    last = fig.axes[-1]
    fig.canvas.draw()
    assert last.get_xscale() == "log"
    assert _ticks(last.get_xticklabels()) == ["1", "1.5", "2", "3", "5"]
    assert _ticks(last.get_yticklabels()) == ["Promoter (recommend 9-10)",
                                              "Would not switch for a deal"]
    drawn = sum(len(c.lines[0].get_xdata()) for ax in fig.axes for c in ax.containers)
    assert drawn == int((table["analysis"] == "proportion").sum())
    x = np.concatenate([c.lines[0].get_xdata() for c in last.containers])
    expected = table[(table["analysis"] == "proportion") & (table["family"] == "outcomes")]
    assert sorted(x) == pytest.approx(sorted(expected["risk_ratio"]))


def test_equivalence_draws_differences_in_sd_units_filled_only_when_shown():
    table = compare_table()
    ax = studies.equivalence(table).axes[0]
    eq = table[table["analysis"] == "equivalence"]
    dots = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
    x = np.concatenate([d.get_offsets()[:, 0] for d in dots])
    assert sorted(x) == pytest.approx(sorted(eq["difference"] * 0.2 / 4.5))
    open_dots = sum(len(d.get_offsets()) for d in dots
                    if np.allclose(d.get_facecolor()[:, :3], 1.0))
    assert open_dots == int((eq["reject"] == False).sum()) == 3  # noqa: E712
    assert _ticks(ax.get_yticklabels()) == ["Satisfaction", "Features"]


def test_drivers_rows_are_the_cells_and_latent_cells_are_matched():
    obs, lat = drivers_tables()
    fig = studies.drivers(obs, lat)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Advocacy", "Loyalty"]
    assert _ticks(fig.axes[0].get_yticklabels()) == [
        "Banking, social-media moms", "Banking, other moms", "eReaders, social-media moms",
        "eReaders, other moms"]
    ax = fig.axes[0]
    observed = np.concatenate([c.lines[0].get_xdata() for c in ax.containers])
    cells = obs[(obs["by"] == "cell") & (obs["outcome"] == "advocacy")]
    assert sorted(observed) == pytest.approx(sorted(cells["beta"]))
    diamonds = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections
                               if type(c).__name__ == "PathCollection"])
    latent = lat[(lat["group"] != "all") & (lat["outcome"] == "advocacy")]
    assert sorted(diamonds) == pytest.approx(sorted(latent["beta"]))  # the "all" rows left out


def test_power_marks_the_interpolated_n_not_the_next_grid_point():
    power, n80 = power_tables()
    ax = studies.power_curve(power, n_target=None).axes[0]
    grid = set(power["n_per_cell"])
    marks = [line.get_xdata()[0] for line in ax.get_lines()
             if len(line.get_xdata()) == 1 and line.get_marker() == "o"]
    analytic = power[power["method"] == "analytic"]
    expected = [studies.n_at_power(g["n_per_cell"], g["power"], 0.8)
                for _, g in analytic.groupby("test", sort=False)]
    expected = [e for e in expected if np.isfinite(e)]
    assert marks == pytest.approx(expected)
    assert not any(m in grid for m in marks)
    # between the two grid points that bracket 80% power, on the log scale
    assert 1000 < marks[0] < 2000 and 200 < marks[1] < 500
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{m:,.0f}" for m in marks]


def test_power_marks_the_reported_n_and_readable_log_ticks():
    power, n80 = power_tables()
    ax = studies.power_curve(power, n_target=n80).axes[0]
    ax.figure.canvas.draw()
    marks = [line.get_xdata()[0] for line in ax.get_lines()
             if len(line.get_xdata()) == 1 and line.get_marker() == "o"]
    assert marks == pytest.approx(list(n80["n_per_cell"]))  # false-alarm curve: no mark
    assert _ticks(ax.get_xticklabels()) == ["20", "50", "100", "200", "500", "1,000", "2,000",
                                            "5,000"]
    analytic_lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert len(analytic_lines) == 3


def test_n_at_power_edges():
    assert np.isnan(studies.n_at_power([10, 20], [0.1, 0.2]))
    assert studies.n_at_power([10, 20], [0.9, 0.95]) == 10
    assert studies.n_at_power([100, 400], [0.6, 1.0]) == pytest.approx(200.0)


def test_segments_stack_to_one_in_pathway_order():
    ax = studies.segments(segments_table()).axes[0]
    handles, texts = ax.get_legend_handles_labels()
    assert texts == ["Unconnected", "Highly satisfied", "Perceives differentiation",
                     "Fully connected"]
    widths = np.array([[p.get_width() for p in c.patches] for c in ax.containers])
    assert widths.sum(axis=0) == pytest.approx(np.ones(len(CELLS)))
    assert widths[0] == pytest.approx(0.5)


def test_sensitivity_one_panel_per_contrast_with_latent_on_the_same_panel():
    fig = studies.sensitivity(sensitivity_table(), margin=0.2)
    assert len(fig.axes) == 2
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 4]  # estimate, truth, zero (+latent)
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert "equivalence margin \u00b10.2 SD" in texts
    assert any("90% CI left, 95% right" in t for t in texts)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="published"):
        studies.calibration(pd.DataFrame({"group": ["a"], "item": ["x"], "sample": [1.0]}))


# ----------------------------------------------------------------------------- the paper's scripts
def _script(name):
    folder = ROOT / "paper" / "figures"
    spec = importlib.util.spec_from_file_location(f"paper_fig_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@pytest.mark.parametrize("name,function,tables", [
    ("calibration", lambda t: studies.calibration(t[0], category="banking"), ["calibration"]),
    ("power", lambda t: studies.power_curve(t[0], n_target=t[1]), ["power", "n80"]),
    ("risk_ratios", lambda t: studies.risk_ratios(t[0]), ["compare"]),
])
def test_the_paper_script_draws_the_package_figure(tmp_path, name, function, tables):
    power, n80 = power_tables()
    frames = {"calibration": calibration_table(), "power": power, "n80": n80,
              "compare": compare_table()}
    module = _script(name)
    paths = {}
    for key, table in zip(module.INPUTS, tables):
        path = tmp_path / f"{table}.csv"
        frames[table].to_csv(path, index=False)
        paths[key] = path
    by_script = plots.save_figure(module.make(paths), tmp_path / "script", formats=("png",))[0]
    read = [pd.read_csv(tmp_path / f"{t}.csv") for t in tables]
    by_package = plots.save_figure(function(read), tmp_path / "package", formats=("png",))[0]
    assert by_script.read_bytes() == by_package.read_bytes()



def test_risk_ratios_figure_leaves_the_ratios_room():
    """The item labels take about two inches: the figure is wider than a column so the
    ratio axis keeps at least half of the width (at column width it had a third)."""
    fig = studies.risk_ratios(compare_table())
    fig.canvas.draw()
    box = fig.axes[-1].get_position()
    assert fig.get_figwidth() > 3.5
    assert box.width * fig.get_figwidth() >= 0.5 * fig.get_figwidth()


def test_recovery_replicates_pools_the_cells_and_draws_bias_and_coverage():
    """Bias markers sit at the cell-pooled mean bias of each estimator; coverage markers at the
    pooled share of covering intervals (replicate-weighted)."""
    rows = []
    for e, shift in (("WLSMV", 0.0), ("MLR", -0.01)):
        for cell, (cov, reps) in enumerate([(0.9, 50), (1.0, 40)]):
            for o, p, true in (("advocacy", "connection", 0.6), ("loyalty", "satisfaction", 0.3)):
                rows.append({"estimator": e, "category": f"c{cell}", "group": "g",
                             "outcome": o, "predictor": p, "true": true,
                             "mean_estimate": true + shift + 0.002 * cell, "empirical_sd": 0.02,
                             "coverage": cov, "replicates": reps})
    fig = studies.recovery_replicates(pd.DataFrame(rows))
    bias_ax, cov_ax = fig.axes[:2]
    lines = [ln for ln in bias_ax.lines if len(ln.get_xdata()) == 2 and ln.get_marker() != "None"]
    xs = sorted(round(float(x), 6) for ln in lines for x in ln.get_xdata())
    assert xs == sorted([0.001, 0.001, -0.009, -0.009])
    cov_lines = [ln for ln in cov_ax.lines if ln.get_marker() not in ("None", None)
                 and len(ln.get_xdata()) == 2]
    pooled = (0.9 * 50 + 1.0 * 40) / 90
    assert all(x == pytest.approx(pooled) for ln in cov_lines for x in ln.get_xdata())
    labels = [t.get_text() for t in bias_ax.get_yticklabels()]
    assert len(labels) == 2 and all(" on " in t for t in labels)
    plt.close(fig)
