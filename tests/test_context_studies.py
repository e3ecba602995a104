"""The context studies (studies/why_like.py, studies/perception_gap.py) end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connection._io import sha256_file
from connection.context import diff_proportions, load_published_figures, published_figures_path
from connection.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"_study_{name}", STUDIES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results(why_like_results, perception_gap_results):
    """Each study's shared session run (tests/conftest.py): a script run in a fresh process."""
    return {"why_like": why_like_results, "perception_gap": perception_gap_results}


@pytest.fixture(scope="module")
def second_runs(tmp_path_factory):
    """Each study run again, in this process: only for the byte-identity test."""
    out = {}
    for name in ("why_like", "perception_gap"):
        second = tmp_path_factory.mktemp(f"{name}_2")
        load_script(name).main(["--out", str(second), "--quiet"])
        out[name] = second
    return out


def outputs(folder: Path):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["why_like", "perception_gap"])
def test_two_runs_give_identical_tables_numbers_and_figures(results, second_runs, name):
    first, second = results[name], second_runs[name]
    files = outputs(first)
    assert files == outputs(second)
    assert "numbers.json" in files and "manifest.json" in files
    tables = [f for f in files if f.startswith("tables/")]
    figures = [f for f in files if f.startswith("figures/")]
    assert tables and figures
    assert {Path(f).suffix for f in figures} == {".png", ".pdf"}
    for rel in [*tables, "numbers.json", *figures]:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


@pytest.mark.parametrize("name", ["why_like", "perception_gap"])
def test_manifest_hashes_every_output_and_the_data_file(results, name):
    folder = results[name]
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = manifest["outputs"]
    assert set(listed) == set(outputs(folder)) - {"manifest.json"}
    for rel, digest in listed.items():
        assert sha256_file(folder / rel) == digest
    assert manifest["data_sha256"] == sha256_file(published_figures_path())
    assert manifest["study"] == name


# --------------------------------------------------------------------------- why_like
def test_why_like_numbers_trace_to_the_data_file(results):
    folder = results["why_like"]
    numbers = json.loads((folder / "numbers.json").read_text())["why_like"]
    every = load_published_figures(include_unconfirmed=True)
    nielsen = every[every.study == "nielsen_2011"].set_index("id")
    confirmed = nielsen[nielsen.confirmed]
    assert numbers["share"] == pytest.approx(confirmed.proportion.to_dict())
    assert numbers["n_published"] is False
    assert numbers["reasons_unconfirmed"] == int((~nielsen.confirmed).sum())
    p1, p2 = nielsen.loc["nielsen_discounts", "proportion"], nielsen.loc["nielsen_support",
                                                                         "proportion"]
    comp = numbers["comparison"]
    assert comp["difference"] == pytest.approx(p1 - p2)
    # independent threshold search: smallest n where the exact conditional binomial test's normal
    # form (respondents choosing either answer, split p1 : p2) rejects at 5%
    ns = np.arange(1, 2000)
    z = (p1 / (p1 + p2) - 0.5) / np.sqrt(0.25 / (ns * (p1 + p2)))
    assert comp["min_n_significant"] == int(ns[np.argmax(2 * stats.norm.sf(z) <= 0.05)])
    # the interval at n = 1000 from the multinomial variance by hand
    se = np.sqrt((p1 + p2 - (p1 - p2) ** 2) / 1000)
    assert comp["at_n_1000"]["ci_lower"] == pytest.approx(p1 - p2 - 1.959963985 * se, rel=1e-8)


def test_why_like_keeps_unconfirmed_shares_labelled_and_out_of_statistics(results):
    folder = results["why_like"]
    reasons = pd.read_csv(folder / "tables" / "reasons.csv")
    unconfirmed = reasons[reasons.status == "U"]
    assert len(unconfirmed) == 2
    assert not unconfirmed.used_in_statistics.any()
    assert unconfirmed.note.str.contains("UNCONFIRMED").all()
    assert (reasons.interval == "none: sample size not published").all()
    numbers = json.loads((folder / "numbers.json").read_text())["why_like"]
    assert not set(unconfirmed.id) & set(numbers["share"])
    at_marks = pd.read_csv(folder / "tables" / "ci_at_marks.csv")
    assert at_marks.n_status.str.startswith("hypothetical").all()


def test_why_like_curve_table_is_the_wilson_interval_over_the_grid(results):
    folder = results["why_like"]
    curve = pd.read_csv(folder / "tables" / "ci_by_n.csv")
    z = stats.norm.ppf(0.975)
    n, p = curve.n.to_numpy(float), curve.proportion.to_numpy(float)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    np.testing.assert_allclose(curve.ci_lower, centre - half, rtol=1e-8)
    np.testing.assert_allclose(curve.ci_upper, centre + half, rtol=1e-8)
    assert curve.n.min() >= 50 and curve.n.max() <= 20000


# --------------------------------------------------------------------------- perception_gap
def figures_with_config():
    """The data file's figures and the perception-gap config's [[figures]], as the study reads them."""
    module = load_script("perception_gap")
    path = STUDIES / "perception_gap.toml"
    return module.with_config_figures(load_published_figures(), module.read_config(path), path)


def test_perception_gap_intervals_only_where_both_n_are_published(results):
    folder = results["perception_gap"]
    gaps = pd.read_csv(folder / "tables" / "gaps.csv").set_index("key")
    every = figures_with_config().set_index("id")
    for _, row in gaps.iterrows():
        n_c, n_m = every.loc[row.consumers_id, "n"], every.loc[row.marketers_id, "n"]
        assert row.consumers_share == every.loc[row.consumers_id, "proportion"]
        assert row.marketers_share == every.loc[row.marketers_id, "proportion"]
        if pd.isna(n_c) or pd.isna(n_m):
            assert not row.has_interval and row.interval == "none: sample size not published"
            assert np.isnan([row.ci_lower, row.ci_upper, row.z, row.pvalue]).all()
            assert pd.isna(row.consumers_n) and pd.isna(row.marketers_n)  # nothing invented
        else:
            assert (row.consumers_n, row.marketers_n) == (n_c, n_m)
            ref = diff_proportions(row.consumers_share, n_c, row.marketers_share, n_m).iloc[0]
            assert row.ci_lower == pytest.approx(ref.ci_lower, rel=1e-8)
            assert row.z == pytest.approx(ref.z, rel=1e-8)
        # the sample-size-free threshold: the pooled z-test's p at that n per side, by hand
        n = row.min_n_per_side_significant
        pbar = (row.consumers_share + row.marketers_share) / 2
        for size, significant in ((n, True), (n - 1, False)):
            z = row.difference / np.sqrt(pbar * (1 - pbar) * 2 / size)
            assert bool(2 * stats.norm.sf(abs(z)) <= 0.05) is significant
    assert set(gaps.index[gaps.has_interval]) == {"ibm_feel_connected", "cmo_exclusive_offers"}
    assert set(gaps.index[~gaps.has_interval]) == {"pivot_rewards", "pivot_feedback", "pivot_deals"}


def wilson_by_hand(p, n, level=0.95):
    z = stats.norm.ppf(0.5 + level / 2)
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return c - h, c + h


def newcombe_by_hand(p1, n1, p2, n2, level=0.95):
    (l1, u1), (l2, u2) = wilson_by_hand(p1, n1, level), wilson_by_hand(p2, n2, level)
    return p1 - p2 - np.hypot(p1 - l1, u2 - p2), p1 - p2 + np.hypot(u1 - p1, p2 - l2)


def test_perception_gap_headline_against_hand_newcombe(results):
    numbers = json.loads((results["perception_gap"] / "numbers.json").read_text())
    gap = numbers["perception_gap"]["gaps"]["ibm_feel_connected"]
    every = load_published_figures().set_index("id")
    p1, n1 = every.loc["ibm_cons_feel_connected", ["proportion", "n"]]
    p2, n2 = every.loc["ibm_exec_feel_connected", ["proportion", "n"]]
    assert (p1, n1, p2) == (0.33, 1056, 0.64) and 329 <= n2 <= 336
    assert (gap["n_consumers"], gap["n_marketers"]) == (n1, n2)
    lower, upper = newcombe_by_hand(p1, n1, p2, n2)
    assert gap["ci_lower"] == pytest.approx(lower, rel=1e-8)
    assert gap["ci_upper"] == pytest.approx(upper, rel=1e-8)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z_test = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert gap["z"] == pytest.approx(z_test, rel=1e-8)


def tau_b_by_hand(x, y):
    """Kendall's tau-b and its tie-corrected normal-approximation p-value, pair by pair."""
    n = len(x)
    s = conc = disc = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            conc += dx * dy > 0
            disc += dx * dy < 0
            ties_x += dx == 0
            ties_y += dy == 0
    s = conc - disc
    n0 = n * (n - 1) / 2
    tau = s / np.sqrt((n0 - ties_x) * (n0 - ties_y))
    gx = np.unique(x, return_counts=True)[1]
    gy = np.unique(y, return_counts=True)[1]
    var = ((n * (n - 1) * (2 * n + 5) - np.sum(gx * (gx - 1) * (2 * gx + 5))
            - np.sum(gy * (gy - 1) * (2 * gy + 5))) / 18
           + np.sum(gx * (gx - 1)) * np.sum(gy * (gy - 1)) / (2 * n * (n - 1))
           + np.sum(gx * (gx - 1) * (gx - 2)) * np.sum(gy * (gy - 1) * (gy - 2))
           / (9 * n * (n - 1) * (n - 2)))
    return conc, disc, tau, 2 * stats.norm.sf(abs(s) / np.sqrt(var))


def ibm_reasons_from_the_data_file():
    figs = load_published_figures()
    ibm = figs[figs.study == "ibm_2011"]
    cons = ibm[ibm.side == "consumers"].set_index("item")
    mark = ibm[ibm.side == "marketers"].set_index("item").loc[cons.index]
    return cons, mark


def test_ibm_rank_orders_kendall_tau_b_against_scipy_hand_and_r(results):
    folder = results["perception_gap"]
    ranks = pd.read_csv(folder / "tables" / "rank_orders.csv").set_index("study")
    ibm = ranks.loc["ibm_2011"]
    assert ibm.computed and ibm.reasons_known_both == 12
    cons, mark = ibm_reasons_from_the_data_file()
    x, y = cons.proportion.to_numpy(), mark.proportion.to_numpy()
    ref = stats.kendalltau(x, y)
    conc, disc, tau, p = tau_b_by_hand(x, y)
    assert (ibm.concordant, ibm.discordant) == (conc, disc)
    assert (ibm.ties_consumers, ibm.ties_marketers) == (1, 3)  # 53/53; 60/60, 61/61, 63/63
    for value in (ref.statistic, tau):
        assert ibm.tau == pytest.approx(value, rel=1e-9)
    for value in (ref.pvalue, p):
        assert ibm.pvalue == pytest.approx(value, rel=1e-8)
    r = pd.read_csv(ROOT / "tests" / "references" / "context" / "ibm_kendall.csv").iloc[0]
    assert ibm.tau == pytest.approx(r.tau_b, rel=1e-9)
    assert ibm.pvalue == pytest.approx(r.pvalue, rel=1e-8)
    # the rank orders barely agree: the top consumer reason is near the bottom for executives
    assert abs(ibm.tau) < 0.2 and ibm.pvalue > 0.5
    numbers = json.loads((folder / "numbers.json").read_text())["perception_gap"]
    got = numbers["rank_orders"]["ibm_2011"]
    assert got["computed"] is True and got["kendall_tau"] == pytest.approx(tau, abs=1e-9)
    assert "reason" in got  # the paper quotes it


def test_ibm_reason_gaps_item_by_item_against_hand_and_r(results):
    folder = results["perception_gap"]
    table = pd.read_csv(folder / "tables" / "reason_gaps.csv")
    cons, mark = ibm_reasons_from_the_data_file()
    assert len(table) == 12 and set(table.item) == set(cons.index)
    assert table.has_interval.all() and (table.consumers_status == "S").all()
    # consumers' order, most chosen first
    assert (np.diff(table.consumers_share) <= 0).all()
    assert table.item.iloc[0] == "get discounts" and table.item.iloc[-1] == "be part of a community"
    t = table.set_index("item")
    r = pd.read_csv(ROOT / "tests" / "references" / "context" / "ibm_reasons.csv").set_index("item")
    k = len(t)
    for item, row in t.iterrows():
        p1, n1 = cons.loc[item, ["proportion", "n"]]
        p2, n2 = mark.loc[item, ["proportion", "n"]]
        assert (row.consumers_share, row.consumers_n, row.marketers_share, row.marketers_n) == (
            p1, n1, p2, n2)
        assert (r.loc[item, "consumers"], r.loc[item, "n_marketers"]) == (p1, n2)
        lower, upper = newcombe_by_hand(p1, n1, p2, n2)
        assert (row.ci_lower, row.ci_upper) == pytest.approx((lower, upper), rel=1e-8)
        lower, upper = newcombe_by_hand(p1, n1, p2, n2, level=1 - 0.05 / k)
        assert (row.ci_lower_bonferroni, row.ci_upper_bonferroni) == pytest.approx(
            (lower, upper), rel=1e-8)
        assert row.ci_lower_bonferroni < row.ci_lower and row.ci_upper < row.ci_upper_bonferroni
        assert row.z == pytest.approx(r.loc[item, "z"], rel=1e-8)
        assert row.pvalue == pytest.approx(r.loc[item, "pvalue"], rel=1e-6, abs=1e-300)
        assert row.pvalue_holm == pytest.approx(r.loc[item, "pvalue_holm"], rel=1e-6, abs=1e-300)
        assert (row.consumers_ci_lower, row.consumers_ci_upper) == pytest.approx(
            wilson_by_hand(p1, n1), rel=1e-8)
    # Holm by hand: sorted p times (k - i), running maximum, capped at 1
    order = np.argsort(table.pvalue.to_numpy())
    stepped = np.minimum(1, np.maximum.accumulate(table.pvalue.to_numpy()[order]
                                                  * (k - np.arange(k))))
    holm = np.empty(k)
    holm[order] = stepped
    np.testing.assert_allclose(table.pvalue_holm, holm, rtol=1e-8)  # tables keep 10 digits
    # ranks: 1 = most chosen, ties share the average rank
    assert t.loc["general information", "consumers_rank"] == 3.5
    assert t.loc["get discounts", "marketers_rank"] == 11.5
    numbers = json.loads((folder / "numbers.json").read_text())["perception_gap"]["reasons"]
    ibm = numbers["ibm_2011"]
    assert ibm["significant_holm"] == int((table.pvalue_holm <= 0.05).sum()) == 10
    assert ibm["largest_gap_item"] == "be part of a community"
    assert ibm["items"]["feel_connected"]["difference"] == pytest.approx(0.33 - 0.64)


def test_ibm_percentages_are_secondary_and_sourced():
    every = load_published_figures(include_unconfirmed=True)
    ibm = every[every.study == "ibm_2011"]
    assert len(ibm) == 24 and (ibm.status == "S").all()  # never upgraded to P
    assert ibm.source.str.contains("https://").all()
    cons, mark = ibm_reasons_from_the_data_file()
    assert len(cons) == len(mark) == 12
    assert (cons.n == 1056).all() and mark.n.between(329, 336).all()
    # the four figures the project had before the full list was found are unchanged
    assert cons.loc["get discounts", "value"] == 61 and cons.loc["feel connected", "value"] == 33
    assert mark.loc["feel connected", "value"] == 64
    assert mark.loc["be part of a community", "value"] == 61


def test_shares_table_n_and_intervals_follow_the_data_file(results):
    shares = pd.read_csv(results["perception_gap"] / "tables" / "shares.csv")
    every = figures_with_config().set_index("id")
    assert (shares.status != "U").all()
    for _, row in shares.iterrows():
        published = every.loc[row.id, "n"]
        if pd.isna(published):
            assert pd.isna(row.n) and np.isnan(row.ci_lower)
        else:
            assert row.n == published and row.ci_lower < row.proportion < row.ci_upper
            assert row.exact_ci_lower <= row.ci_lower + 0.01


# --------------------------------------------------------------------------- the rank-order path
def with_fixture_study(tmp_path, consumer_values, marketer_values):
    """The shipped file plus a made-up test study whose 12 reasons are known on both sides."""
    base = pd.read_csv(published_figures_path(), dtype=str, keep_default_na=False)
    template = base.iloc[0].to_dict()
    rows = []
    for side, values in (("consumers", consumer_values), ("marketers", marketer_values)):
        for i, v in enumerate(values):
            rows.append({**template, "id": f"fixture_{side}_{i}", "study": "fixture_ranks",
                         "source": "test fixture (not a published study)", "side": side,
                         "item": f"reason {i}", "value": str(v), "n": "", "n_basis": "unknown",
                         "status": "S"})
    path = tmp_path / "figures.csv"
    pd.concat([base, pd.DataFrame(rows)], ignore_index=True).to_csv(path, index=False)
    config = (STUDIES / "perception_gap.toml").read_text().replace(
        'studies = ["cmo_lithium_2011", "ibm_2011", "pivot_solis_2012"]',
        'studies = ["cmo_lithium_2011", "ibm_2011", "pivot_solis_2012", "fixture_ranks"]')
    config += "\n[rank_orders.fixture_ranks]\nn_items = 12\n"
    config_path = tmp_path / "config.toml"
    config_path.write_text(config)
    return path, config_path


def test_rank_orders_computed_when_every_reason_is_in_the_data_file(tmp_path):
    consumers = [61, 55, 53, 52, 49, 47, 33, 30, 22, 20, 17, 12]
    marketers = [40, 60, 45, 51, 73, 71, 64, 66, 61, 30, 28, 25]
    data, config = with_fixture_study(tmp_path, consumers, marketers)
    load_script("perception_gap").run(tmp_path / "out", config, data, verbose=False)
    ranks = pd.read_csv(tmp_path / "out" / "tables" / "rank_orders.csv").set_index("study")
    row = ranks.loc["fixture_ranks"]
    ref = stats.kendalltau(consumers, marketers)
    assert row.computed and row.reasons_known_both == 12
    assert row.tau == pytest.approx(ref.statistic, rel=1e-9)  # tables keep 10 digits
    assert row.pvalue == pytest.approx(ref.pvalue, rel=1e-8)
    assert ranks.loc["ibm_2011"].computed


def test_rank_orders_refused_with_one_reason_missing(tmp_path):
    data, config = with_fixture_study(tmp_path, list(range(12, 0, -1)), list(range(11, 0, -1)))
    load_script("perception_gap").run(tmp_path / "out", config, data, verbose=False)
    row = pd.read_csv(tmp_path / "out" / "tables" / "rank_orders.csv").set_index(
        "study").loc["fixture_ranks"]
    assert not row.computed and "11 of 12" in row.reason


def test_reason_gaps_refused_with_one_reason_missing(tmp_path):
    data, config = with_fixture_study(tmp_path, list(range(12, 0, -1)), list(range(11, 0, -1)))
    config.write_text(config.read_text() + "\n[reasons.fixture_ranks]\nn_items = 12\n")
    load_script("perception_gap").run(tmp_path / "out", config, data, verbose=False)
    table = pd.read_csv(tmp_path / "out" / "tables" / "reason_gaps.csv")
    assert set(table.study) == {"ibm_2011"}  # the incomplete list is not compared item by item
    numbers = json.loads((tmp_path / "out" / "numbers.json").read_text())["perception_gap"]
    assert numbers["reasons"]["fixture_ranks"]["computed"] is False
    assert "11 of 12" in numbers["reasons"]["fixture_ranks"]["reason"]


def test_reason_gaps_without_sample_sizes_have_no_intervals(tmp_path):
    data, config = with_fixture_study(tmp_path, list(range(60, 48, -1)), list(range(30, 42)))
    config.write_text(config.read_text() + "\n[reasons.fixture_ranks]\nn_items = 12\n")
    load_script("perception_gap").run(tmp_path / "out", config, data, verbose=False)
    table = pd.read_csv(tmp_path / "out" / "tables" / "reason_gaps.csv")
    fixture = table[table.study == "fixture_ranks"]
    assert len(fixture) == 12 and not fixture.has_interval.any()
    assert fixture[["ci_lower", "pvalue", "pvalue_holm"]].isna().all().all()
    assert (fixture.interval == "none: sample size not published").all()
    np.testing.assert_allclose(fixture.difference, fixture.consumers_share
                               - fixture.marketers_share)


@pytest.mark.parametrize("old,new,match", [
    ('marketers = "ibm_exec_feel_connected"', 'marketers = "ibm_cons_discounts"',
     "from the consumers side"),
    ('consumers = "pivot_cons_rewards"', 'consumers = "no_such_figure"', "not in the data file"),
])
def test_perception_gap_config_errors_name_the_pair(tmp_path, old, new, match):
    text = (STUDIES / "perception_gap.toml").read_text()
    assert old in text
    config = tmp_path / "bad.toml"
    config.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=match) as err:
        load_script("perception_gap").run(tmp_path / "out", config, verbose=False)
    assert "bad.toml" in str(err.value)


def test_why_like_refuses_an_unconfirmed_share_in_a_statistic(tmp_path):
    text = (STUDIES / "why_like.toml").read_text()
    config = tmp_path / "bad.toml"
    config.write_text(text.replace('share_2 = "nielsen_support"', 'share_2 = "nielsen_other"'))
    with pytest.raises(ConfigError, match="unconfirmed"):
        load_script("why_like").run(tmp_path / "out", config, verbose=False)


def test_gap_sensitivity_to_the_sample_sizes_the_sources_allow(results):
    folder = results["perception_gap"]
    sens = pd.read_csv(folder / "tables" / "gaps_sensitivity.csv")
    gaps = pd.read_csv(folder / "tables" / "gaps.csv").set_index("key")
    main = sens[sens.main].set_index("key")
    assert set(main.index) == set(gaps.index[gaps.has_interval])
    for key, row in main.iterrows():
        assert (row.consumers_n, row.marketers_n) == (gaps.loc[key, "consumers_n"],
                                                      gaps.loc[key, "marketers_n"])
        assert row.ci_lower == gaps.loc[key, "ci_lower"]
    ibm = sens[sens.key == "ibm_feel_connected"]
    assert sorted(ibm.marketers_n) == [329, 331, 336]
    # the smallest n the source allows gives the widest interval
    width = (ibm.ci_upper - ibm.ci_lower).to_numpy()
    assert width[ibm.marketers_n.to_numpy() == 329][0] > width[ibm.marketers_n.to_numpy() == 336][0]
    for _, row in sens.iterrows():
        ref = diff_proportions(gaps.loc[row.key, "consumers_share"], row.consumers_n,
                               gaps.loc[row.key, "marketers_share"], row.marketers_n).iloc[0]
        assert row.ci_upper == pytest.approx(ref.ci_upper, rel=1e-8)


def test_alternative_sample_sizes_must_be_whole_numbers(tmp_path):
    text = (STUDIES / "perception_gap.toml").read_text()
    config = tmp_path / "bad.toml"
    config.write_text(text.replace("ibm_exec_feel_connected = [329, 336]",
                                   "ibm_exec_feel_connected = [329, 332.5]"))
    with pytest.raises(ConfigError, match="whole numbers"):
        load_script("perception_gap").run(tmp_path / "out", config, verbose=False)


# --------------------------------------------------------------------------- issue 17
def test_why_like_figure_title_is_the_charts_question(results):
    """The chart asks about following or liking a brand, company or celebrity on social
    networking sites; the figure's title says so (not "on Facebook"), from the data file."""
    folder = results["why_like"]
    title = json.loads((folder / "numbers.json").read_text())["why_like"]["figure_title"]
    flat = " ".join(title.split())
    assert "Facebook" not in flat
    assert flat.startswith("Primary reason for following or liking a brand, company or celebrity "
                           "on social networking sites")
    nielsen = load_published_figures(include_unconfirmed=True).query("study == 'nielsen_2011'")
    question = nielsen.question.iloc[0].replace(" / ", " or ")
    assert flat.lower().startswith(question.lower())
    assert all(len(line) <= 58 for line in title.splitlines())
    assert (folder / "figures" / "why_like_reasons.png").stat().st_size > 0
    script = (STUDIES / "why_like.py").read_text() + (STUDIES / "why_like.toml").read_text()
    assert "on Facebook" not in script.replace('not "on Facebook"', "")


def test_pivot_deals_gap_is_the_published_83_against_53(results):
    """Pivot's deals figures: 83% of consumers seek deals, 53% of marketers think that is what
    customers want; the 53% comes from the config's [[figures]] with its source, the 83% from the
    data file; no sample size, so no interval; the pair is drawn in the figure."""
    import tomllib

    config = tomllib.loads((STUDIES / "perception_gap.toml").read_text())
    entry = next(f for f in config["figures"] if f["id"] == "pivot_mkt_think_deals")
    assert entry["value"] == 53 and entry["status"] == "S" and entry["url"].startswith("http")
    assert "53% of businesses" in entry["source"] and entry["side"] == "marketers"
    data = load_published_figures().set_index("id")
    assert data.loc["pivot_cons_expect_deals", "value"] == 83
    assert "pivot_mkt_think_deals" not in data.index  # a new figure, not a copy of a data-file row

    folder = results["perception_gap"]
    numbers = json.loads((folder / "numbers.json").read_text())["perception_gap"]
    assert numbers["figures_from_config"] == len(config["figures"])
    share = numbers["shares"]["pivot_mkt_think_deals"]
    assert share["share"] == pytest.approx(entry["value"] / 100)
    assert share["status"] == "S" and entry["url"] in share["source"]
    assert share["interval"].startswith("none")
    gap = numbers["gaps"]["pivot_deals"]
    assert gap["difference"] == pytest.approx((83 - entry["value"]) / 100)
    assert gap["comparability"] == "same item" and gap["interval"].startswith("none")
    assert "ci_lower" not in gap and "pvalue" not in gap
    # smallest n per side at which a 30-point gap would be significant, by hand (pooled z test)
    p1, p2 = 0.83, entry["value"] / 100
    ns = np.arange(2, 500)
    pbar = (p1 + p2) / 2
    z = (p1 - p2) / np.sqrt(pbar * (1 - pbar) * 2 / ns)
    assert gap["min_n_per_side_significant"] == int(ns[np.argmax(2 * stats.norm.sf(z) <= 0.05)])
    # in the figure: the dumbbell rows are the full list's reasons, then every other pair
    module = load_script("perception_gap")
    gaps = pd.read_csv(folder / "tables" / "gaps.csv")
    reasons = pd.read_csv(folder / "tables" / "reason_gaps.csv")
    shown = module.dumbbell_rows(reasons, gaps, config.get("reasons", {}))
    assert "deals (Pivot 2012)" in set(shown["label"])
    assert (folder / "figures" / "perception_gap_dumbbell.png").stat().st_size > 0
    shares = pd.read_csv(folder / "tables" / "shares.csv").set_index("id")
    assert shares.loc["pivot_mkt_think_deals", "interval"].startswith("none")


@pytest.mark.parametrize("old, new, match", [
    ('id = "pivot_mkt_think_deals"', 'id = "pivot_cons_expect_deals"', "ids repeat"),
    ('status = "S"\nnote = "the consumers', 'status = "U"\nnote = "the consumers', "status"),
    ('url = "http://joshaer', 'url = "joshaer', "web address"),
    ("value = 53\n", "value = 53\nn = 100\n", "sample size belongs in the data file"),
    ("value = 53\n", "value = 153\n", "value"),
])
def test_config_figures_are_checked(tmp_path, old, new, match):
    text = (STUDIES / "perception_gap.toml").read_text()
    assert text.count(old) == 1
    path = tmp_path / "perception_gap.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=match):
        load_script("perception_gap").run(tmp_path / "out", path, verbose=False)
