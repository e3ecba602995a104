"""connection.simulation._population: the calibrated population model (truth known by construction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connection.errors import ConfigError, NonNumericError
from connection.simulation._population import (
    EXOGENOUS,
    Population,
    load_config,
    percent_at_or_above,
    simulate,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "studies" / "social_moms.toml"

# the published banking figures (../shared/studies/published_figures.md section 1a, status P),
# typed in here independently of the study config so a config edit cannot pass silently
PUBLISHED = {
    "social_media_moms": {"sat_overall": 54, "ec_belong": 37, "ec_accomplish": 41, "ec_goals": 46,
                          "ec_express": 35, "ec_family": 40, "ec_parent": 32},
    "other_moms": {"sat_overall": 53, "ec_belong": 16, "ec_accomplish": 21, "ec_goals": 26,
                   "ec_express": 14, "ec_family": 21, "ec_parent": 11},
}

# a self-contained item list (the instrument's ids and scales), so these tests do not depend on
# the data layer; tests/test_social_moms.py runs the same model on the default instrument
ITEMS = {
    "connection": [{"id": i, "min": 1, "max": 5} for i in
                   ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family",
                    "ec_parent", "ec_closer", "ec_fitin"]],
    "satisfaction": [{"id": i, "min": 1, "max": 10} for i in
                     ["sat_overall", "sat_expect", "sat_ideal"]],
    "features": [{"id": f"feat_{i}", "min": 1, "max": 5} for i in (1, 2, 3)],
    "quality": [{"id": f"qual_{i}", "min": 1, "max": 5} for i in (1, 2, 3)],
    "advocacy": [{"id": "adv_recommend", "min": 0, "max": 10},
                 {"id": "adv_social", "min": 1, "max": 5}],
    "loyalty": [{"id": "loy_stay", "min": 1, "max": 5},
                {"id": "loy_switch", "min": 1, "max": 5, "reverse": True}],
    "repurchase": [{"id": "rep_more", "min": 1, "max": 5}],
}


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def population(config):
    return Population.from_config(config["population"], items=ITEMS,
                                  calibration=config["calibration"])


@pytest.fixture(scope="module")
def big(population):
    return population.simulate(200_000, seed=20110504)


def test_config_targets_are_the_published_figures(config):
    targets = config["calibration"]["targets"]["banking"]
    assert targets == PUBLISHED


def test_population_reproduces_published_percentages_exactly(population):
    table = population.calibration_table()
    assert len(table) == 14
    for row in table.itertuples():
        assert row.published == PUBLISHED[row.group][row.item]
        assert row.population == pytest.approx(row.published, abs=1e-9)


def test_large_sample_lands_within_1_5_points(big):
    table = big.calibration_table()
    assert list(table.columns) == ["category", "group", "item", "cut", "published", "population",
                                   "sample"]
    assert table["sample"].notna().all()
    worst = (table["sample"] - table["published"]).abs().max()
    assert worst < 1.5, table
    # at 50,000 per cell the standard error is ~0.2 points: a far tighter bound also holds
    assert worst < 0.8


def test_closed_form_percent_matches_sample_for_every_item_and_cell(population, big):
    """The closed form (thresholds and latent-response means) against Monte Carlo, including the
    reverse-coded item, the 0-10 and 1-10 scales and the outcome latents."""
    pct = population.percent_table()
    data = big.data
    errors = []
    for row in pct.itertuples():
        mask = (data["category"] == row.category) & (data["group"] == row.group)
        sample = percent_at_or_above(data.loc[mask, row.item], row.cut)
        se = 100 * np.sqrt(row.population / 100 * (1 - row.population / 100) / mask.sum())
        errors.append(abs(sample - row.population) / se)
    assert max(errors) < 4.5  # 4.5 SE over ~88 cells: a wrong formula would be off by far more


def test_calibrated_parameters_follow_the_normal_quantiles(population):
    """Independent check of the closed form: loading * gap = z(social) - z(other)."""
    gap = population.calibration["connection_gap"]
    loadings = population.items.set_index("item")["loading"]
    z = stats.norm.ppf
    for item in ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family", "ec_parent"]:
        diff = z(PUBLISHED["social_media_moms"][item] / 100) - z(PUBLISHED["other_moms"][item] / 100)
        assert loadings[item] * gap == pytest.approx(diff, abs=1e-12)
    calibrated = loadings[["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family",
                           "ec_parent"]]
    assert calibrated.mean() == pytest.approx(0.70, abs=1e-12)  # the named assumption
    assert loadings["sat_overall"] == pytest.approx(0.85)
    sat_gap = population.calibration["satisfaction_gap"]
    assert 0.85 * sat_gap == pytest.approx(z(0.54) - z(0.53), abs=1e-12)


def test_latent_structure_recovered(population, big):
    lat = big.latent
    truth = population.truth()
    means = truth["latent_means"].set_index(["category", "group", "latent"])["mean"]
    for (c, g), cell in lat.groupby(["category", "group"]):
        for k in EXOGENOUS:
            assert cell[k].mean() == pytest.approx(means[(c, g, k)], abs=0.03)
            assert cell[k].std() == pytest.approx(1.0, abs=0.02)
        r = np.corrcoef(cell[["connection", "satisfaction"]].to_numpy().T)[0, 1]
        assert r == pytest.approx(0.05, abs=0.025)
        # structural coefficients: OLS of the outcome latent on the true predictors
        x = np.column_stack([np.ones(len(cell)), cell["connection"], cell["satisfaction"]])
        beta = np.linalg.lstsq(x, cell["advocacy"].to_numpy(), rcond=None)[0]
        assert beta[1] == pytest.approx(0.50, abs=0.02)
        assert beta[2] == pytest.approx(0.15, abs=0.02)
        assert cell["advocacy"].var() == pytest.approx(1.0, abs=0.03)


def test_social_moms_more_connected_but_equally_satisfied(big):
    cells = big.latent.groupby(["category", "group"])
    m = cells[["connection", "satisfaction"]].mean()
    for c in ("banking", "ereaders"):
        gap_c = m.loc[(c, "social_media_moms"), "connection"] - m.loc[(c, "other_moms"), "connection"]
        gap_s = m.loc[(c, "social_media_moms"), "satisfaction"] - m.loc[(c, "other_moms"),
                                                                       "satisfaction"]
        assert gap_c > 0.8
        assert abs(gap_s) < 0.06


def test_reverse_coded_item_runs_against_its_construct(big):
    d = big.data
    assert np.corrcoef(d["loy_switch"], d["loy_stay"])[0, 1] < -0.3
    assert np.corrcoef(big.latent["loyalty"], d["loy_switch"])[0, 1] < -0.5


def test_values_are_on_each_scale(big):
    for construct in ITEMS.values():
        for spec in construct:
            col = big.data[spec["id"]]
            assert col.min() >= spec["min"] and col.max() <= spec["max"]
            assert col.nunique() == spec["max"] - spec["min"] + 1  # every point used at n=200k
    assert (big.data["spend"] > 0).all()


def test_seeded_and_deterministic(population):
    a = population.simulate(400, seed=3).data
    b = population.simulate(400, seed=3).data
    c = population.simulate(400, seed=4).data
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    g1 = population.simulate(400, seed=np.random.default_rng(9)).data
    g2 = population.simulate(400, seed=np.random.default_rng(9)).data
    pd.testing.assert_frame_equal(g1, g2)


def test_cell_sizes_split_n_deterministically(population):
    sizes = population.cell_sizes(1003)
    assert sum(sizes.values()) == 1003
    assert sorted(sizes.values()) == [250, 251, 251, 251]
    sim = population.simulate(1003, seed=1)
    counts = sim.data.groupby(["category", "group"]).size()
    for (c, g), m in sizes.items():
        assert counts[(c, g)] == m
    assert sim.data["respondent_id"].is_unique


def test_cells_draw_independent_streams(config):
    """Changing one cell's share leaves another cell's first respondents unchanged."""
    a = Population.from_config(config["population"], items=ITEMS, calibration=config["calibration"])
    shares = {"banking": {"social_media_moms": 0.4, "other_moms": 0.2},
              "ereaders": {"social_media_moms": 0.2, "other_moms": 0.2}}
    b = Population.from_config(config["population"], items=ITEMS, calibration=config["calibration"],
                               overrides={"cell_shares": shares})
    da = a.simulate(1000, seed=5).data
    db = b.simulate(1000, seed=5).data
    cols = [i["id"] for i in ITEMS["connection"]]
    first_a = da[da["group"] == "other_moms"].head(100)[cols].to_numpy()
    first_b = db[db["group"] == "other_moms"].head(100)[cols].to_numpy()
    assert np.array_equal(first_a, first_b)


def test_overrides_change_the_correlation(config):
    pop = Population.from_config(config["population"], items=ITEMS, calibration=config["calibration"],
                                 overrides={"correlations": {"connection": {"satisfaction": 0.6}}})
    corr = pop.truth()["latent_correlations"]
    sel = corr[(corr["lhs"] == "connection") & (corr["rhs"] == "satisfaction")]
    assert (sel["value"] == 0.6).all()
    # calibration still exact with a different correlation
    assert np.allclose(pop.calibration_table()["population"], pop.calibration_table()["published"])


def test_simulate_accepts_toml_path_with_items(tmp_path):
    text = CONFIG.read_text()
    lat = simulate(load_config(CONFIG) | {"population": load_config(CONFIG)["population"]
                                           | {"items": ITEMS}}, n=40, seed=1)
    assert len(lat.data) == 40
    assert "[population]" in text


def test_percent_at_or_above_counts_answers_and_refuses_text():
    assert percent_at_or_above([1, 4, 5, 3, None, np.nan], 4) == pytest.approx(50.0)
    with pytest.raises(NonNumericError, match="row 3, value 'agree'"):   # was dropped as missing
        percent_at_or_above([1, 4, "agree", 5], 4)


def test_bad_configs_raise_config_errors(config):
    pop_cfg = config["population"]
    with pytest.raises(ConfigError, match="positive definite"):
        Population.from_config(pop_cfg, items=ITEMS, calibration=config["calibration"],
                               overrides={"correlations": {"satisfaction": {"features": 0.99},
                                                           "features": {"quality": -0.9}}})
    bad_targets = {**config["calibration"], "targets": {"banking": {
        "social_media_moms": {"ec_nope": 30}, "other_moms": {"ec_nope": 20}}}}
    with pytest.raises(ConfigError, match="ec_nope"):
        Population.from_config(pop_cfg, items=ITEMS, calibration=bad_targets)
    hundred = {**config["calibration"], "targets": {"banking": {
        "social_media_moms": {"ec_belong": 100}, "other_moms": {"ec_belong": 20}}}}
    with pytest.raises(ConfigError, match="between 0 and 100"):
        Population.from_config(pop_cfg, items=ITEMS, calibration=hundred)
    with pytest.raises(ConfigError, match="0.98"):   # an average loading this high forces > .98
        Population.from_config(pop_cfg, items=ITEMS,
                               calibration={**config["calibration"], "mean_loading": 0.9})
    with pytest.raises(ConfigError, match="explained variance"):
        Population.from_config(pop_cfg, items=ITEMS, calibration=config["calibration"],
                               overrides={"outcomes": {"advocacy": {"connection": 0.9,
                                                                    "satisfaction": 0.6}}})
    with pytest.raises(ConfigError, match="cannot generate"):
        Population.from_config(pop_cfg, items={**ITEMS, "mood": [{"id": "m1", "min": 1, "max": 5}]},
                               calibration=config["calibration"])
    with pytest.raises(ConfigError, match="not valid TOML"):
        bad = Path(config.get("_tmp", "/nonexistent"))
        del bad
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
            fh.write("[population\n")
        load_config(fh.name)


def test_simulation_survey_on_the_default_instrument():
    """The default instrument end to end: every item generated, read_survey validates the raw
    data and reverse-codes loy_switch; the published banking cells are calibrated on it too."""
    import connection as cx

    sim = simulate(CONFIG, n=800, seed=12)
    inst = cx.instruments.default()
    assert set(inst.item_ids()) <= set(sim.data.columns)
    survey = sim.survey()
    assert isinstance(survey, cx.Survey)
    assert survey.n == 800 and len(survey.exclusions) == 0
    raw = sim.data.set_index("respondent_id")["loy_switch"]
    recoded = survey.data.set_index("respondent_id")["loy_switch"]
    assert ((raw + recoded) == 6).all()
    table = sim.population.calibration_table()
    assert np.allclose(table["population"], table["published"])
    truth = sim.truth
    assert set(truth) == {"latent_means", "latent_correlations", "items", "structural", "cells"}
    assert set(truth["items"]["item"]) == set(inst.item_ids())


def test_typos_in_the_config_are_refused(config):
    with pytest.raises(ConfigError, match="Did you mean 'outcomes'"):
        Population.from_config({**config["population"], "outcome": {}}, items=ITEMS,
                               calibration=config["calibration"])
    with pytest.raises(ConfigError, match="group_interaction"):
        Population.from_config(config["population"], items=ITEMS, calibration=config["calibration"],
                               overrides={"outcomes": {"advocacy": {"group_interation": 0.1}}})
    with pytest.raises(ConfigError, match="mean_loading"):
        Population.from_config(config["population"], items=ITEMS,
                               calibration={**config["calibration"], "mean_loadings": 0.7})
    with pytest.raises(ConfigError, match="ebooks"):
        Population.from_config(config["population"], items=ITEMS, calibration=config["calibration"],
                               overrides={"means": {"ebooks": {}}})


def test_cell_specific_correlations_and_threshold_shifts(config):
    """correlations_by_cell changes one cell only; a threshold shift moves one item in one cell,
    and the closed-form percentage follows it (checked against a large sample)."""
    pop = Population.from_config(
        config["population"], items=ITEMS, calibration=config["calibration"], overrides={
            "correlations_by_cell": {"ereaders": {"other_moms": {
                "connection": {"satisfaction": 0.5}}}},
            "threshold_shifts": {"ec_closer": {"ereaders": {"social_media_moms": 0.4}}}})
    corr = pop.truth()["latent_correlations"]
    cs = corr[(corr["lhs"] == "connection") & (corr["rhs"] == "satisfaction")].set_index(
        ["category", "group"])["value"]
    assert cs[("ereaders", "other_moms")] == 0.5
    assert cs[("banking", "other_moms")] == 0.05
    shifted = pop.percent("ec_closer", 4, ("ereaders", "social_media_moms"))
    unshifted = pop.percent("ec_closer", 4, ("banking", "social_media_moms"))
    assert shifted < unshifted - 10   # 0.4 SD higher thresholds: far fewer agree
    sim = pop.simulate(160_000, seed=8)
    d = sim.data
    cell = d[(d["category"] == "ereaders") & (d["group"] == "social_media_moms")]
    assert percent_at_or_above(cell["ec_closer"], 4) == pytest.approx(shifted, abs=0.8)
    lat = sim.latent[(sim.latent["category"] == "ereaders") & (sim.latent["group"] == "other_moms")]
    assert np.corrcoef(lat["connection"], lat["satisfaction"])[0, 1] == pytest.approx(0.5, abs=0.02)
    # the calibration (banking) is untouched by either change
    assert np.allclose(pop.calibration_table()["population"], pop.calibration_table()["published"])


def test_composite_scores_match_the_surveys_pomp_scores():
    import connection as cx
    from connection.simulation._population import composite_scores

    sim = simulate(CONFIG, n=400, seed=21)
    survey = cx.read_survey(sim.data, cx.instruments.default(), id_column="respondent_id")
    ours = composite_scores(sim.data, sim.population.items)
    theirs = survey.scores(method="pomp")
    for construct in theirs.columns:
        np.testing.assert_allclose(ours[construct].to_numpy(), theirs[construct].to_numpy(),
                                   atol=1e-10)


# ------------------------------------------------------------------------- seeds (issue 13)
def test_seed_is_keyword_only(population):
    with pytest.raises(TypeError):
        population.simulate(40, 1)
    with pytest.raises(TypeError):
        simulate(population, 40, 1)


def test_seed_accepts_int_seed_sequence_and_generator(population):
    """An int and the SeedSequence made from it give the same respondents; a Generator is
    consumed through as_seed_sequence (the same state gives the same respondents)."""
    from connection._common import as_seed_sequence

    by_int = simulate(population, 80, seed=7).data
    by_sequence = simulate(population, 80, seed=np.random.SeedSequence(7)).data
    pd.testing.assert_frame_equal(by_int, by_sequence)
    rng = np.random.default_rng(11)
    via = as_seed_sequence(np.random.default_rng(11))
    pd.testing.assert_frame_equal(population.simulate(80, seed=rng).data,
                                  population.simulate(80, seed=via).data)
    # the generator moved on: drawing again from it gives other respondents
    assert not population.simulate(80, seed=rng).data.equals(population.simulate(80, seed=via).data)


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_a_bad_seed_is_an_argument_error(population, seed):
    from connection.errors import ArgumentError

    with pytest.raises(ArgumentError, match="seed"):
        population.simulate(40, seed=seed)


def test_recover_level_and_chisq_power_alpha_are_keyword_only(population):
    from connection.simulation import chisq_power, recover

    with pytest.raises(TypeError):
        chisq_power(1.0, 1, 0.05)
    with pytest.raises(TypeError):
        recover(population, pd.DataFrame(), None, ("advocacy",), 0.9)


# ------------------------------------------------------------- the typed config (issue 13)
def test_the_config_is_parsed_into_typed_sections(config):
    from connection.simulation._config import (
        CalibrationConfig,
        OutcomeConfig,
        PopulationConfig,
        SpendConfig,
    )

    cfg = PopulationConfig.parse(config["population"], calibration=config["calibration"],
                                 overrides={"outcomes": {"loyalty": {"connection": 0.3}}})
    assert cfg.groups == ("social_media_moms", "other_moms")
    assert cfg.cells[0] == ("banking", "social_media_moms") and len(cfg.cells) == 4
    assert cfg.means[("banking", "social_media_moms")]["connection"] == "calibrated"
    assert cfg.means[("ereaders", "social_media_moms")]["attachment"] == "banking"
    assert cfg.means[("banking", "other_moms")]["quality"] == 0.0
    assert cfg.outcomes["loyalty"] == OutcomeConfig(0.3, 0.25, 0.0, 0.0)    # the override
    assert isinstance(cfg.spend, SpendConfig) and cfg.spend.median == {"banking": 600.0,
                                                                       "ereaders": 150.0}
    assert isinstance(cfg.calibration, CalibrationConfig)
    assert cfg.calibration.targets["banking"]["other_moms"]["ec_belong"] == 16
    assert cfg.thresholds.span == (-1.8, 1.0) and cfg.thresholds.follow_calibrated
    assert cfg.correlations["connection"]["attachment"] == 0.6


def _edit(config, path: str, value):
    """The population config with the dotted key ``path`` set to ``value``."""
    import copy

    out = copy.deepcopy(config["population"])
    node = out
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return out


# (dotted key, bad value, what the message says, the key it names): each was a Python
# TypeError/ValueError/KeyError, silently accepted or silently ignored before the config was typed
BAD_VALUES = {
    "mean_not_a_number": ("means.banking.other_moms.connection", [0.1], "expected a number",
                          "population.means.banking.other_moms.connection"),
    "mean_bool": ("means.banking.other_moms.quality", True, "expected a number",
                  "population.means.banking.other_moms.quality"),
    "mean_unknown_group": ("means.banking.dads", {"connection": 0.1},
                           "means for a group that is not in population.groups",
                           "population.means.banking"),
    "correlation_text": ("correlations.connection.satisfaction", "0.3", "expected a number",
                         "population.correlations.connection.satisfaction"),
    "correlation_by_cell_unknown_group": ("correlations_by_cell.banking.dads",
                                          {"connection": {"satisfaction": 0.2}},
                                          "correlations_by_cell for a group",
                                          "population.correlations_by_cell.banking"),
    "outcome_text": ("outcomes.advocacy.connection", "big", "expected a number",
                     "population.outcomes.advocacy.connection"),
    "groups_text": ("groups", "social_media_moms", "expected a list of names",
                    "population.groups"),
    "groups_repeat": ("groups", ["a", "a"], "names repeat", "population.groups"),
    "share_unknown_group": ("cell_shares.banking.dads", 0.2,
                            "cell_shares for a group that is not in population.groups",
                            "population.cell_shares.banking"),
    "spend_median_zero": ("spend.median.banking", 0, "a median spend must be positive",
                          "population.spend.median.banking"),
    "spend_median_unknown_category": ("spend.median.cars", 10.0,
                                      "spend median for a category that is not in",
                                      "population.spend.median"),
    "span_one_number": ("thresholds.span", [1.0], "two numbers", "population.thresholds.span"),
    "follow_text": ("thresholds.follow_calibrated", "yes", "true or false",
                    "population.thresholds.follow_calibrated"),
    "thresholds_unknown_item": ("thresholds.items", {"ec_nope": [-1, 0, 1, 2]},
                                "thresholds for an unknown item", "population.thresholds.items"),
    "loading_unknown_item": ("loadings.items", {"ec_nope": 0.5}, "loading for an unknown item",
                             "population.loadings.items"),
    "loading_unknown_construct": ("loadings.conection", 0.5,
                                  "loading for a construct the items do not have",
                                  "population.loadings"),
    "loading_text": ("loadings.connection", "high", "a number or 'calibrated'",
                     "population.loadings.connection"),
    "construct_to_unknown_latent": ("constructs.connection", "mood", "cannot generate",
                                    "population.constructs"),
    "shift_text": ("threshold_shifts.ec_closer.banking.other_moms", "0.4", "expected a number",
                   "population.threshold_shifts.ec_closer.banking.other_moms"),
    "column_empty": ("group_column", "", "non-empty text", "population.group_column"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_value_is_a_config_error_naming_its_key(config, case):
    path, value, message, key = BAD_VALUES[case]
    with pytest.raises(ConfigError, match=message) as err:
        Population.from_config(_edit(config, path, value), items=ITEMS,
                               calibration=config["calibration"])
    assert f"column '{key}'" in str(err.value)


@pytest.mark.parametrize("targets,message", [
    ({"cars": {"social_media_moms": {"ec_belong": 30}, "other_moms": {"ec_belong": 20}}},
     "calibration targets for a category that is not in population.categories"),
    ({"banking": {"dads": {"ec_belong": 30}, "other_moms": {"ec_belong": 20}}},
     "calibration targets for a group that is not in population.groups"),
    ({"banking": {"social_media_moms": {"ec_belong": "37%"}, "other_moms": {"ec_belong": 20}}},
     "expected a number"),
])
def test_bad_calibration_targets_are_config_errors(config, targets, message):
    with pytest.raises(ConfigError, match=message):
        Population.from_config(config["population"], items=ITEMS,
                               calibration={**config["calibration"], "targets": targets})


@pytest.mark.parametrize("items,message", [
    ({"connection": [{"id": "c1", "min": 1}]}, "an item needs an id, a min and a max"),
    ({"connection": [{"id": "c1", "min": 1, "max": "5"}]}, "max must be a whole number"),
    ({"connection": {"id": "c1"}}, "must be a list of tables"),
    ({"connection": [{"id": "c1", "min": 1, "max": 5, "reverse": "no"}]}, "true or false"),
])
def test_bad_item_entries_are_config_errors(items, message):
    cfg = {"groups": ["a"], "categories": ["x"]}
    with pytest.raises(ConfigError, match=message):
        Population.from_config(cfg, items=items)
