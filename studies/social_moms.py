#!/usr/bin/env python3
"""The social-moms study: emotionally connected moms in banking and eReaders.

    python studies/social_moms.py [--seed N] [--n N] [--out DIR] [--config FILE]
                                  [--data FILE --instrument FILE] [--estimator WLSMV|MLR|...]
                                  [--workers N | --scheduler ADDRESS] [--quiet]

Simulation mode (default): respondents are drawn from the population model of
``studies/social_moms.toml``, calibrated to the published banking percentages (Motista, 2011).
Real-data mode (``--data``, optionally ``--instrument``): the same analysis on a researcher's survey
file (CSV, Parquet, SPSS .sav, Qualtrics export); it needs the group and category columns named in
the config (``population.group_column``, ``population.category_column``).

The latent models (CFA, invariance, latent drivers, recovery) are fitted by ``study.estimator``
(default WLSMV: the items as ordinal, lavaan's ``ordered=``) and the CFA, invariance and recovery
also by ``study.comparison_estimator`` (default MLR: the codes as continuous) for comparison.

Steps: data -> calibration (simulation only) -> validation -> reliability -> CFA -> invariance ->
index and segments -> comparisons (also at the notebooks' n and at other cut-offs) -> drivers -> value ->
recovery (simulation only) -> ordinal vs
continuous (simulation only) -> weighting -> out of sample -> the latent gap over assumed loadings
(simulation only) -> sensitivity (simulation only) -> assumptions table (simulation only). Writes ``tables/*.csv``, ``numbers.json``, ``figures/*.png|pdf`` and
``manifest.json`` to DIR (default ``results/social_moms``); the same seed gives byte-identical
tables, numbers and figures.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from connection._flags import format_flags
from connection.study import flags_from_warnings


def _union(flags) -> str:
    """One ``flags`` text from several (table cells, strings or Flag objects; blanks and NaN
    skipped): a number computed from several rows carries the flags of every one of them."""
    return format_flags(part.strip() for f in flags if isinstance(f, str) and f.strip()
                        for part in f.split("; ") if part.strip())

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "social_moms.toml"

# outcome items as events for "x times more likely" (after reverse-coding: loy_switch >= 4 means
# the respondent would NOT switch for a better deal); the 0-10 recommend item uses promoters (9-10)
OUTCOME_EVENTS = {"adv_recommend": 9, "adv_social": 4, "loy_stay": 4, "loy_switch": 4,
                  "rep_more": 4}
OUTCOMES = ("advocacy", "loyalty", "repurchase")
DRIVERS = ("connection", "satisfaction")


def _parse(argv):
    from connection.study import parse_study_args, study_parser

    parser = study_parser("social_moms.py", __doc__.split("\n\n")[0], config=DEFAULT_CONFIG,
                          out="results/social_moms", seed=True,
                          data="a survey file: run on real data")
    parser.add_argument("--n", type=int, default=None, help="respondents (simulation mode)")
    parser.add_argument("--instrument", default=None, help="codebook of --data (YAML/TOML)")
    parser.add_argument("--n-boot", type=int, default=None, help="bootstrap replicates")
    parser.add_argument("--no-sensitivity", action="store_true", help="skip the sensitivity step")
    parser.add_argument("--estimator", default=None, type=str.upper, choices=ESTIMATORS,
                        help="estimator of the measurement model, invariance, latent drivers "
                             "and recovery (default: the config's study.estimator, WLSMV)")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes for the repeated-sample steps (ordinal vs continuous, "
                             "recovery, sensitivity; default 0: serial; the outputs do not "
                             "depend on it)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (tcp://host:8786) to run "
                             "the repeated-sample steps on instead of --workers")
    args = parse_study_args(parser, argv, minimums={"--n": MIN_N, "--n-boot": 0,
                                                             "--workers": 0})
    if args.instrument and not args.data:
        parser.error("--instrument goes with --data")
    if args.scheduler and args.workers:
        parser.error("--scheduler and --workers are alternatives: give one")
    # what the repeated-sample steps run on (connection.study.worker_pool)
    args.pool = args.scheduler or args.workers
    return args


# the smallest simulated sample the analysis can run on (CFA and invariance in four cells)
MIN_N = 100
# estimators of the latent models: WLSMV/ULSMV fit the items as ordinal (polychoric correlations,
# lavaan's ordered=), ML/MLR treat their integer codes as continuous
ESTIMATORS = ("WLSMV", "ULSMV", "MLR", "ML")
ORDINAL_ESTIMATORS = ("WLSMV", "ULSMV")


def latent_options(instrument, constructs, estimator: str) -> tuple[str, dict]:
    """The measurement model of ``constructs`` and the keywords of a fit by ``estimator``:
    with an ordinal estimator every ordinal item is ``ordered`` (and a one-item construct is
    identified the ordinal way, :meth:`connection.data.Instrument.model_syntax`)."""
    ordinal = estimator in ORDINAL_ESTIMATORS
    kw = {"estimator": estimator}
    if ordinal:
        kw["ordered"] = instrument.ordered_items(constructs)
    return instrument.model_syntax(constructs, ordered=ordinal), kw


def read_config(path: Path) -> dict:
    """Read the study config and check every value the script uses (ConfigError naming the file
    and the key otherwise); the population model is checked by building it."""
    from connection.errors import ConfigError
    from connection.study import read_toml, setting

    cfg = read_toml(path)
    f = {"file": path}
    for table in ("study", "population"):
        if not isinstance(cfg.get(table), dict):
            raise ConfigError(f"the config has no [{table}] table", **f)
    setting(cfg, "study.name", "str", nonempty=True, **f)
    setting(cfg, "study.seed", "int", minimum=0, **f)
    setting(cfg, "study.n", "int", minimum=MIN_N, **f)
    setting(cfg, "study.n_boot", "int", minimum=0, **f)
    setting(cfg, "study.equivalence_margin", "float", above=0, **f)
    setting(cfg, "study.connected_min", "float", minimum=0, maximum=100, **f)
    setting(cfg, "study.satisfied_min", "float", **f)
    setting(cfg, "study.differentiation_items", "list[str]", default=["feat_better"],
            nonempty=True, **f)
    setting(cfg, "study.differentiated_min", "float", default=4.0, **f)
    setting(cfg, "study.index_calibration_share", "float", default=0.5, above=0, maximum=1, **f)
    setting(cfg, "study.sensitivity_correlations", "list[float]", minimum=0, maximum=0.8,
            nonempty=True, **f)
    setting(cfg, "study.small_n", "int", default=2000, minimum=20, **f)
    setting(cfg, "study.small_n_subsamples", "int", default=100, minimum=1, **f)
    setting(cfg, "study.cutoff_grid", "list[float]", default=[], minimum=0, maximum=100, **f)
    setting(cfg, "study.estimator", "str", default="WLSMV", choices=ESTIMATORS, **f)
    setting(cfg, "study.comparison_estimator", "str", default="MLR", choices=(*ESTIMATORS, ""),
            **f)
    setting(cfg, "identification.loadings", "list[float]", default=[0.55, 0.7, 0.85], above=0,
            maximum=0.99, nonempty=True, **f)
    for key in ("group_column", "category_column", "id_column", "spend_column"):
        setting(cfg, f"population.{key}", "str", nonempty=True, **f)
    setting(cfg, "calibration", "table", default={}, **f)
    setting(cfg, "calibration.satisfied_min", "float", default=8.0, **f)
    setting(cfg, "ordinal.replicates", "int", default=200, minimum=1, **f)
    setting(cfg, "recovery.replicates", "int", default=50, minimum=0, **f)
    setting(cfg, "ordinal.cell", "list[str]", default=[], **f)
    if len(cfg.get("ordinal", {}).get("cell", ["", ""])) != 2:
        raise ConfigError("config key 'ordinal.cell' names one cell", file=str(path),
                          values=[cfg["ordinal"]["cell"]], expected="[category, group]")
    setting(cfg, "weighting.oversample", "table", default={}, **f)
    for g in cfg.get("weighting", {}).get("oversample", {}):
        setting(cfg, f"weighting.oversample.{g}", "float", above=0, **f)
    setting(cfg, "weighting.n", "int", default=0, minimum=MIN_N, **f)
    setting(cfg, "weighting.weight_column", "str", default="", **f)
    setting(cfg, "predictive.folds", "int", default=10, minimum=2, **f)
    setting(cfg, "predictive.repeats", "int", default=5, minimum=1, **f)
    setting(cfg, "predictive.outcomes", "list[str]", default=["advocacy", "loyalty"],
            nonempty=True, **f)
    return cfg


def _population(cfg, cfg_path, instrument=None, overrides=None, *, items=None):
    """The simulated population; a malformed population model is a ConfigError naming the file
    (and, from the population's typed config, the key).

    Shared with studies/power_social_moms.py (which passes the config's ``items`` instead of an
    instrument)."""
    from connection.errors import ConfigError, ConnectionPackageError
    from connection.simulation import Population

    try:
        return Population.from_config(cfg["population"], instrument=instrument, items=items,
                                      calibration=cfg.get("calibration"), overrides=overrides)
    except ConfigError as err:
        if err.file is not None or cfg_path is None:
            raise
        raise ConfigError(err.message, file=str(cfg_path), column=err.column, rows=err.rows,
                          values=err.values, expected=err.expected, hint=err.hint) from None
    except ConnectionPackageError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise ConfigError(f"the population model of the config is malformed "
                          f"({type(err).__name__}: {err})", file=str(cfg_path)) from None


def _top_box_cut(item) -> float:
    """Top-2-box cut of an agreement item (4 of 1-5, 6 of 1-7)."""
    return float(item.scale.max - 1)


def scores_frame(survey, cfg) -> pd.DataFrame:
    """Analysis frame: ids, cell columns, spend, construct scores (POMP 0-100) and items."""
    pop = cfg["population"]
    data = survey.data
    scores = survey.scores(method="pomp")
    keep = [c for c in (pop["id_column"], pop["group_column"], pop["category_column"],
                        pop["spend_column"]) if c in data.columns]
    frame = pd.concat([data[keep], scores, data[survey.instrument.item_ids()]], axis=1)
    frame["cell"] = (frame[pop["category_column"]].astype(str) + " / "
                     + frame[pop["group_column"]].astype(str))
    return frame


def run(argv: list[str] | None = None) -> dict:
    import connection as cx
    from connection import plots
    from connection.errors import DataError
    from connection.study import Study, check_results_folder

    args = _parse(argv)
    cfg_path = Path(args.config)
    cfg = read_config(cfg_path)
    st = cfg["study"]
    seed = int(args.seed if args.seed is not None else st["seed"])
    n = int(args.n if args.n is not None else st["n"])
    n_boot = int(args.n_boot if args.n_boot is not None else st["n_boot"])
    real = args.data is not None
    out = Path(args.out) if args.out else ROOT.parent / "results" / st["name"]
    margin = float(st["equivalence_margin"])
    do_sensitivity = not real and not args.no_sensitivity
    estimator = args.estimator or st.get("estimator", "WLSMV")
    comparison = st.get("comparison_estimator", "MLR")
    estimators = [estimator] + ([comparison] if comparison and comparison != estimator else [])
    # bootstrap progress bars: tqdm when the terminal is interactive, none with --quiet
    bars = False if args.quiet else None

    # everything is read and checked before the results folder is touched
    inputs = [cfg_path, args.data, args.instrument]
    check_results_folder(out, st["name"], inputs)
    population = sim = None
    if real:
        if not Path(args.data).is_file():
            raise DataError("the survey file does not exist" if not Path(args.data).exists()
                            else "the survey path is not a file", file=str(args.data))
        instrument = (cx.Instrument.from_file(args.instrument) if args.instrument
                      else cx.instruments.default())
    else:
        instrument = cx.instruments.default()
        population = _population(cfg, cfg_path, instrument)

    rec_reps = 0 if real else int(cfg.get("recovery", {}).get("replicates", 50))
    steps = 14 + (0 if real else 4) + (1 if do_sensitivity else 0) + (1 if rec_reps else 0)
    study = Study(st["name"], out, seed=seed, config=cfg, config_path=cfg_path,
                  argv=list(sys.argv if argv is None else argv), verbose=not args.quiet,
                  steps_total=steps, inputs=inputs)
    # the first seven streams are those of the earlier steps (spawn keys 0-6: their numbers do not
    # change when streams are added after them)
    seeds = dict(zip(["sample", "reliability", "htmt", "drivers", "value", "sensitivity",
                      "index", "ordinal", "weighting", "predictive", "small_n", "recovery"],
                     np.random.SeedSequence(seed).spawn(12)))
    study.number("mode", "real" if real else "simulation")
    study.number("settings.estimator", estimator)
    study.number("settings.comparison_estimator", estimators[1] if len(estimators) > 1 else "")
    plots.theme()

    # ------------------------------------------------------------------ data
    with study.step("data: " + (f"read {args.data}" if real else f"simulate {n:,} respondents")):
        if real:
            source = args.data
            study.record_data(args.data, {"source": str(args.data), "mode": "real"})
        else:
            sim = population.simulate(n, seed=seeds["sample"])
            source = sim.data
            study.record_data(sim.data, {"source": "simulated", "mode": "simulation", "n": n})
            for name, table in population.truth().items():
                study.table(f"truth_{name}", table)

    if not real:
        with study.step("calibration: published vs population vs sample"):
            _step_calibration(study, population, sim, instrument)

    with study.step("validate: read_survey"):
        survey, frame = _step_validation(cx, study, source, instrument, cfg, args)

    with study.step(f"reliability and discriminant validity ({n_boot} bootstrap replicates)"):
        _step_reliability(cx, study, survey, instrument, n_boot, seeds, bars)

    with study.step("confirmatory factor analysis (all constructs): " + " and ".join(estimators)):
        _step_cfa(cx, study, survey, instrument, estimators)

    with study.step("measurement invariance across group x category: "
                    + " and ".join(estimators)):
        ladders = _step_invariance(cx, study, frame, instrument, cfg, estimators)

    with study.step("connection index and segments"):
        frame, _, index_flags, index = _index_and_segments(cx, instrument, frame, cfg, study,
                                                            seeds["index"])

    with study.step("comparisons: connected vs not; social-media moms vs other moms"):
        _step_comparisons(cx, study, frame, instrument, cfg, margin, index_flags)

    with study.step("comparisons at a smaller n and at other cut-offs"):
        _step_small_n(cx, study, frame, instrument, cfg, margin, index_flags, seeds["small_n"])
        _step_cutoffs(cx, study, frame, instrument, cfg, margin, index_flags)

    with study.step(f"drivers: connection vs satisfaction by cell ({n_boot} bootstrap replicates)"):
        _step_drivers(cx, study, frame, instrument, cfg, n_boot, seeds["drivers"], bars,
                      estimator)

    with study.step(f"value: fully connected vs highly satisfied ({n_boot} bootstrap replicates)"):
        _step_value(cx, study, frame, cfg, n_boot, seeds["value"], bars, index_flags)

    if not real:
        with study.step("recovery: true vs estimated parameters"):
            # the truth against the invariance ladder and the per-cell SEM fits, by the study's
            # estimator (numbers recovery.*) and by the comparison (recovery.<estimator>.*)
            rec = pd.concat([_recovery(population, ladders[e], survey, e) for e in estimators],
                            ignore_index=True)
            study.table("recovery", rec)
            for e, sub in rec.groupby("estimator", sort=False):
                prefix = "recovery." if e == estimator else f"recovery.{e.lower()}."
                rec_flags = _union(sub["flags"])
                study.number(prefix + "max_abs_error", float(sub["error"].abs().max()),
                             flags=rec_flags)
                study.number(prefix + "coverage", float(sub["covered"].mean()), flags=rec_flags)
                study.number(prefix + "intervals", int(len(sub)))

        rec_reps = int(cfg.get("recovery", {}).get("replicates", 50))
        if rec_reps:
            with study.step(f"recovery over {rec_reps} repeated samples of {n:,}: "
                            + " and ".join(estimators)):
                _step_recovery_replicates(study, population, instrument, n, rec_reps,
                                          estimators, seeds["recovery"], args)

    if not real:
        reps = int(cfg.get("ordinal", {}).get("replicates", 200))
        with study.step(f"ordinal vs continuous: WLSMV and ML against the truth ({reps} "
                        "replicate samples)"):
            _step_ordinal(cx, study, population, sim, instrument, cfg, seeds["ordinal"],
                          args.quiet, args.pool)

    with study.step("weighting: " + ("the survey's weights" if real else
                                     "an unbalanced sample raked to the population margins")):
        _step_weighting(cx, study, population, index, instrument, cfg, frame, survey, n,
                        seeds["weighting"], real)

    with study.step("out of sample: connection beyond satisfaction (repeated k-fold CV)"):
        _step_predictive(cx, study, frame, cfg, seeds["predictive"])

    if not real:
        with study.step("identification: the latent connection gap over assumed loadings"):
            _step_loadings(study, cfg, cfg_path, instrument)

    if do_sensitivity:
        with study.step("sensitivity to corr(connection, satisfaction)"):
            _step_sensitivity(cx, study, population, cfg, instrument, seeds["sensitivity"],
                              margin, n, estimator, args.pool)

    if not real:
        with study.step("assumptions: each with its source and the numbers it moves"):
            study.table("assumptions", assumptions_table(cfg, study.numbers))

    with study.step("finish: numbers and manifest"):
        study.number("settings.n_boot", n_boot)
        study.number("settings.equivalence_margin", margin)
        manifest = study.finish()
    return {"study": study, "manifest": manifest, "frame": frame}


def _step_calibration(study, population, sim, instrument) -> None:
    """Published vs population (closed form) vs sample percentages, and the published "x times
    more likely" the percentages imply (first group / second)."""
    from connection.plots import studies as study_plots

    cal = population.calibration_table(sim.data)
    study.table("calibration", cal[["category", "group", "item", "published", "population",
                                    "sample"]])
    study.number("calibration.max_abs_diff_population",
                 float((cal["population"] - cal["published"]).abs().max()))
    study.number("calibration.max_abs_diff_sample",
                 float((cal["sample"] - cal["published"]).abs().max()))
    study.number("calibration.connection_gap", population.calibration["connection_gap"])
    study.number("calibration.satisfaction_gap", population.calibration["satisfaction_gap"])
    cells = ["category", "group", "item"]
    study.number_table("published", cal, key=cells, value="published", flags_column=None)
    study.number_table("reproduced", cal, key=cells, value="sample", flags_column=None)
    wide = cal.pivot_table(index=["category", "item"], columns="group", values="published")
    g_a, g_b = population.groups[0], population.groups[1]
    ratios = (wide[g_a] / wide[g_b]).astype(float).rename("ratio").reset_index()
    study.number_table("published_risk_ratio", ratios, key=["category", "item"], value="ratio",
                       flags_column=None)
    study.number("calibration.source", str(population.calibration.get("source") or ""))
    study.table("population_percent", population.percent_table())
    study.figure("calibration", study_plots.calibration(cal, category="banking",
                                                         instrument=instrument))


def _step_validation(cx, study, source, instrument, cfg, args):
    """Read and validate the survey; the analysis frame; cell sizes and exclusions."""
    pop_cfg = cfg["population"]
    gcol, ccol = pop_cfg["group_column"], pop_cfg["category_column"]
    columns = _columns(source)
    survey = cx.read_survey(source, instrument, id_column=pop_cfg["id_column"]
                            if pop_cfg["id_column"] in columns else None,
                            group=[c for c in (gcol, ccol) if c in columns])
    missing_cols = [c for c in (gcol, ccol) if c not in survey.data.columns]
    if missing_cols:
        from connection.errors import MissingColumnError

        raise MissingColumnError("the study compares groups within categories; the data "
                                 "lack a grouping column", column=missing_cols[0],
                                 file=str(args.data) if args.data is not None else None,
                                 expected=f"columns {gcol!r} and {ccol!r} (set "
                                          "population.group_column/category_column)")
    frame = scores_frame(survey, cfg)
    cells = frame.groupby([ccol, gcol], sort=False).size().rename("n").reset_index()
    study.table("cells", cells)
    study.table("exclusions", survey.exclusions)
    study.number("n.total", int(len(frame)))
    study.number("n.read", int(survey.n_read))
    study.number("n.excluded", int(len(survey.exclusions)))
    study.number_table("n", cells, key=[ccol, gcol], value="n", flags_column=None)
    lacking = [c for c in DRIVERS if c not in instrument.constructs]
    if lacking:
        from connection.errors import ConfigError

        raise ConfigError("the study needs the instrument's connection and satisfaction "
                          "constructs", column=lacking[0],
                          file=str(args.instrument) if args.instrument else None,
                          expected="constructs named 'connection' and 'satisfaction'")
    return survey, frame


def _step_reliability(cx, study, survey, instrument, n_boot, seeds, bars) -> None:
    # the table's flags column: the admissibility flags of the CFA behind omega, CR and AVE
    rel = cx.reliability(survey, n_boot=n_boot, seed=seeds["reliability"], progress=bars)
    study.table("reliability", rel)
    multi = {c: instrument.item_ids(c) for c in instrument.constructs
             if len(instrument.item_ids(c)) >= 2}
    ht = cx.htmt(survey.data, multi, n_boot=n_boot, seed=seeds["htmt"], progress=bars)
    study.table("htmt", ht)
    # alpha needs no model; omega, CR and AVE carry the flags of the CFA behind them
    study.number_table("reliability", rel, key="construct", columns=["alpha"], flags_column=None)
    study.number_table("reliability", rel, key="construct", columns=["omega", "cr", "ave"])
    pair = ht[((ht["construct_a"] == "connection") & (ht["construct_b"] == "satisfaction"))
              | ((ht["construct_a"] == "satisfaction") & (ht["construct_b"] == "connection"))]
    if len(pair):
        study.number("htmt.connection_satisfaction", float(pair["htmt"].iloc[0]))
        study.number("htmt.connection_satisfaction_ci_upper", float(pair["ci_upper"].iloc[0]))
        study.number("htmt.connection_satisfaction_distinct", bool(pair["distinct"].iloc[0]))


CFA_MEASURES = ("npar", "chisq", "df", "pvalue", "chisq_scaled", "df_scaled", "pvalue_scaled",
                "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr", "cfi_scaled",
                "tli_scaled", "rmsea_scaled", "cfi_robust", "tli_robust", "rmsea_robust", "aic",
                "bic")


def _step_cfa(cx, study, survey, instrument, estimators) -> None:
    """The measurement model of every construct by each estimator (the first is the study's:
    numbers ``cfa.*``; the comparison's are ``cfa.<estimator>.*``)."""
    fits, loadings = [], []
    for i, estimator in enumerate(estimators):
        model, kw = latent_options(instrument, None, estimator)
        fit = cx.cfa(model, survey.data, **kw)
        fm = fit.fit_measures
        flags = format_flags(fit.flags)
        keys = [k for k in CFA_MEASURES if k in fm.index and np.isfinite(fm[k])]
        fits.append(pd.DataFrame({"estimator": estimator, "measure": keys,
                                  "value": [float(fm[k]) for k in keys], "flags": flags}))
        est = fit.estimates
        lo = est[est["op"] == "=~"].reset_index(drop=True)
        lo.insert(0, "estimator", estimator)
        if "flags" not in lo.columns:
            lo["flags"] = flags
        loadings.append(lo)
        prefix = "cfa." if i == 0 else f"cfa.{estimator.lower()}."
        for k in keys:
            study.number(prefix + k, float(fm[k]), flags=flags)
        study.number(prefix + "converged", bool(fit.converged))
    study.table("cfa_fit", pd.concat(fits, ignore_index=True))
    study.table("cfa_loadings", pd.concat(loadings, ignore_index=True))


def _step_invariance(cx, study, frame, instrument, cfg, estimators) -> dict:
    """The invariance ladder of connection and satisfaction across the four cells by each
    estimator (ordinal: configural -> thresholds -> loadings -> intercepts, Wu & Estabrook
    2016; continuous: configural -> metric -> scalar -> strict). Tables and numbers of the
    study's estimator as ``invariance*``; the comparison's with an ``estimator`` column in
    the same tables and as ``invariance.<estimator>.*``. Returns ``{estimator: result}``.

    An ordinal ladder needs every category of every item observed in every cell (equal
    thresholds): a category empty in some cell (10-point items in small samples) is merged
    with its neighbour the same way in every cell first (:func:`connection.collapse_categories`),
    and the merges are a table (``invariance_collapsed``) and a number."""
    pop_cfg = cfg["population"]
    cells = [pop_cfg["group_column"], pop_cfg["category_column"]]
    out, tables = {}, {"invariance": [], "invariance_partial": [], "latent_means": []}
    for i, estimator in enumerate(estimators):
        model, kw = latent_options(instrument, ["connection", "satisfaction"], estimator)
        data = frame
        if "ordered" in kw:
            collapsed = cx.collapse_categories(frame, kw["ordered"], group=cells)
            data = collapsed.data
            study.table("invariance_collapsed", collapsed.table)
            study.number("invariance.collapsed_items", len(collapsed.collapsed))
        inv = cx.invariance(model, data, group=cells, **kw)
        out[estimator] = inv
        # every table of the ladder has a flags column (the flags of the fits behind each row)
        for name, t in (("invariance", inv.table), ("invariance_partial", inv.partial),
                        ("latent_means", inv.latent_means)):
            tables[name].append(t.assign(estimator=estimator))
        prefix = "invariance." if i == 0 else f"invariance.{estimator.lower()}."
        # the strongest level rests on every fit of the ladder
        study.number(prefix + "strongest", inv.strongest, flags=inv.flags)
        lm = inv.latent_means
        study.number_table(prefix + "latent_d", lm.assign(cell=lm["group"].map(_key)),
                           key=["factor", "cell"], value="d")
    for name, parts in tables.items():
        t = pd.concat(parts, ignore_index=True)
        study.table(name, t[["estimator", *[c for c in t.columns if c != "estimator"]]])
    return out


def _step_comparisons(cx, study, frame, instrument, cfg, margin, index_flags) -> None:
    from connection.plots import studies as study_plots

    ccol, gcol = cfg["population"]["category_column"], cfg["population"]["group_column"]
    categories = list(dict.fromkeys(frame[ccol]))
    groups = list(dict.fromkeys(frame[gcol]))
    cmp_conn, cmp_groups = _comparisons(cx, instrument, frame, cfg, categories, groups, margin)
    # connected vs not: the segmentation comes from the index, so do its flags
    cmp_conn["flags"] = index_flags
    # the items the index (and so the connected/not split) is built from: their risk ratios are
    # circular
    cmp_conn.insert(cmp_conn.columns.get_loc("flags"), "in_index",
                    cmp_conn["variable"].isin(instrument.item_ids("connection")))
    study.table("compare_connected", cmp_conn)
    study.table("compare_groups", cmp_groups)
    eq = cmp_conn[cmp_conn["analysis"] == "equivalence"]
    study.number_table("compare.equivalence", eq, key=["category", "variable"],
                       columns={"cohen_d": "d", "difference": "difference",
                                "reject": "equivalent", "pvalue": "p_tost",
                                "p_adjusted": "p_tost_holm",
                                "pvalue_difference": "p_difference"})
    pr = cmp_conn[cmp_conn["analysis"] == "proportion"]
    study.number_table("compare.risk_ratio", pr, key=["category", "variable"],
                       value="risk_ratio")
    # items outside the index (attachment): the connected/not split is not built from them, so
    # their risk ratios are not circular (they rest on the assumed connection-attachment
    # correlation instead); the index's own items are grouped by themselves
    outside = pr[pr["variable"].isin(instrument.item_ids("attachment"))] if (
        "attachment" in instrument.constructs) else pr.iloc[:0]
    inside = pr[pr["variable"].isin(instrument.item_ids("connection"))]
    for c, sub in outside.groupby("category", sort=False):
        for stat in ("min", "median", "max"):
            study.number(f"compare.outside_index.{c}.{stat}", float(sub["risk_ratio"].agg(stat)),
                         flags=index_flags)
    for c, sub in inside.groupby("category", sort=False):
        for stat in ("min", "median", "max"):
            study.number(f"compare.inside_index.{c}.{stat}", float(sub["risk_ratio"].agg(stat)),
                         flags=index_flags)
    if len(cmp_groups):
        study.number_table("compare.groups", cmp_groups, key=["category", "variable"],
                           columns=["risk_ratio"], flags_column=None)
    study.figure("equivalence", study_plots.equivalence(eq, margin=margin, instrument=instrument))
    study.figure("risk_ratios", study_plots.risk_ratios(pr, instrument=instrument))


def _step_drivers(cx, study, frame, instrument, cfg, n_boot, seed, bars, estimator) -> None:
    from connection.plots import studies as study_plots

    ccol, gcol = cfg["population"]["category_column"], cfg["population"]["group_column"]
    categories = list(dict.fromkeys(frame[ccol]))
    groups = list(dict.fromkeys(frame[gcol]))
    outcomes = [o for o in OUTCOMES if o in frame.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        drv = cx.drivers(frame, outcomes, list(DRIVERS), group="cell", n_boot=n_boot, seed=seed,
                         progress=bars)
    study.table("drivers_observed", drv.table)
    study.table("drivers_differences", drv.differences)
    study.table("drivers_interactions", drv.interactions)
    latent_rows = []
    latent_map = {d: instrument.item_ids(d) for d in DRIVERS}
    latent_kw = latent_drivers_options(instrument, estimator)
    units = [(c, None) for c in categories] + [(c, g) for c in categories for g in groups]
    for c, g in units:
        sub = frame[(frame[ccol] == c) & ((frame[gcol] == g) if g is not None else True)]
        # res.latent has a flags column: the latent model's admissibility flags
        res = cx.drivers(sub, outcomes, list(DRIVERS), n_boot=0, latent=latent_map,
                         progress=False, **latent_kw)
        lat = res.latent.copy()
        lat.insert(0, "group", g if g is not None else "all")
        lat.insert(0, "category", c)
        latent_rows.append(lat)
    latent = pd.concat(latent_rows, ignore_index=True)
    study.table("drivers_latent", latent)
    # drivers.latent.<category>[.<group>].<outcome>.<term> (no group level for the category)
    cell = np.where(latent["group"] == "all", latent["category"],
                    latent["category"] + "." + latent["group"].astype(str))
    study.number_table("drivers.latent", latent.assign(
        cell=cell, term_key=latent["term"].str.replace(" - ", "_minus_")),
        key=["cell", "outcome", "term_key"], value="beta")
    obs = drv.table[drv.table["by"] == "cell"]
    study.number_table("drivers.observed", obs.assign(cell=obs["group"].map(_key)),
                       key=["cell", "outcome", "term"], value="beta", flags_column=None)
    dif = drv.differences
    study.number_table("drivers.difference", dif[dif["by"] == ""], key="outcome",
                       columns=["estimate", "ci_lower", "ci_upper"], flags_column=None)
    cell_dif = dif[dif["by"] == "cell"]
    study.number("drivers.connection_beats_satisfaction_in_every_cell",
                 bool((cell_dif["ci_lower"] > 0).all()) if len(cell_dif) else False)
    study.figure("drivers", study_plots.drivers(obs, latent, instrument=instrument))


def latent_drivers_options(instrument, estimator: str) -> dict:
    """``drivers()`` keywords of the latent version by ``estimator`` (ordinal: the drivers'
    items ordered; the outcome, a 0-100 score, stays continuous)."""
    kw = {"latent_estimator": estimator}
    if estimator in ORDINAL_ESTIMATORS:
        kw["ordered"] = instrument.ordered_items(list(DRIVERS))
    return kw


def _step_value(cx, study, frame, cfg, n_boot, seed, bars, index_flags) -> None:
    spend = cfg["population"]["spend_column"]
    if spend not in frame.columns:
        study.number("value.skipped", f"no {spend!r} column in the data")
        return
    val = cx.value_ratio(frame, spend, between="value_segment", a="fully_connected",
                         b="highly_satisfied", n_boot=n_boot, seed=seed, progress=bars)
    val_cat = cx.value_ratio(frame, spend, between="value_segment", a="fully_connected",
                             b="highly_satisfied", group=cfg["population"]["category_column"],
                             n_boot=n_boot, seed=seed, progress=bars)
    # the value segments come from the index: its flags travel with the ratios
    study.table("value_ratio", pd.concat([val, val_cat], ignore_index=True)
                .assign(flags=index_flags))
    main = val[val["method"] == "bootstrap_percentile"] if n_boot else val[
        val["method"] == "delta_log"]
    r = main.iloc[0]
    study.number("value.ratio", float(r["ratio"]), flags=index_flags)
    study.number("value.ci_lower", float(r["ci_lower"]), flags=index_flags)
    study.number("value.ci_upper", float(r["ci_upper"]), flags=index_flags)
    study.number("value.level", float(r["level"]) if "level" in main else 0.95)
    study.number("value.method", str(r["method"]))
    study.number("value.percent_more", float(100 * (r["ratio"] - 1)), flags=index_flags)


def _step_sensitivity(cx, study, population, cfg, instrument, seed, margin, n,
                      estimator, workers) -> None:
    from connection.plots import studies as study_plots

    sens = _sensitivity(cx, population, cfg, instrument, seed, margin, n, estimator, workers)
    study.table("sensitivity", sens)
    study.number_table("sensitivity", sens.assign(
        grid=[f"r{int(round(r * 100)):02d}" for r in sens["correlation"]]),
        key=["grid", "measure"], value="estimate")
    # where a finding breaks rests on every row of its measure: the union of their flags
    for measure, key in (("satisfaction_difference", "same_satisfaction_breaks_at"),
                         ("beta_difference", "connection_verdict_breaks_at"),
                         ("beta_difference_latent", "latent_verdict_breaks_at")):
        bd = sens[sens["measure"] == measure].sort_values("correlation")
        lost = bd[~bd["finding_holds"].astype(bool)]
        study.number(f"sensitivity.{key}",
                     float(lost["correlation"].iloc[0]) if len(lost) else float("nan"),
                     flags=_union(bd["flags"]))
    study.figure("sensitivity", study_plots.sensitivity(sens, margin=margin))


def _equivalence_verdicts(cx, frame, cfg, margin, categories, variables):
    """TOST verdicts (and difference-test p values) of connected vs not, per category."""
    ccol = cfg["population"]["category_column"]
    rows = []
    for c in ["all", *categories]:
        sub = frame if c == "all" else frame[frame[ccol] == c]
        if not _testable(sub):
            # fewer than two respondents on one side: no test; the row says so
            rows += [{"category": c, "variable": v, "n": int(len(sub)), "d": np.nan,
                      "equivalent": False, "p_difference": np.nan} for v in variables]
            continue
        t = cx.compare(sub, "connected", a=True, b=False, equivalence=variables, margin=margin,
                       margin_scale="sd").table
        rows += [{"category": c, "variable": r.variable, "n": int(r.n_a + r.n_b),
                  "d": float(r.cohen_d), "equivalent": bool(r.reject),
                  "p_difference": float(r.pvalue_difference)} for r in t.itertuples()]
    return pd.DataFrame(rows)


def _testable(frame: pd.DataFrame, column: str = "connected") -> bool:
    """Two or more respondents on each side of the connected/not split."""
    k = int(frame[column].sum())
    return k >= 2 and len(frame) - k >= 2


def _step_small_n(cx, study, frame, instrument, cfg, margin, index_flags, seed) -> None:
    """The equivalence tests at the notebooks' sample size: one random subsample (the verdicts
    a study of that size would report), and how often satisfaction is shown equivalent over
    ``study.small_n_subsamples`` subsamples (the test's power at that n in this population)."""
    st = cfg["study"]
    # a sample smaller than study.small_n is halved instead (the numbers name the size used)
    m = min(int(st.get("small_n", 2000)), len(frame) // 2)
    reps = int(st.get("small_n_subsamples", 100))
    ccol = cfg["population"]["category_column"]
    categories = list(dict.fromkeys(frame[ccol]))
    eq_vars = [c for c in ("satisfaction", "features", "quality") if c in frame.columns]
    rng = np.random.default_rng(seed)
    one = frame.iloc[np.sort(rng.choice(len(frame), m, replace=False))]
    table = _equivalence_verdicts(cx, one, cfg, margin, categories, eq_vars).assign(
        flags=index_flags)
    study.table("equivalence_small_n", table)
    study.number("small_n.n", m)
    by_cat = table[table["category"] != "all"]
    study.number("small_n.tests", int(len(by_cat)))
    study.number("small_n.equivalent", int(by_cat["equivalent"].sum()), flags=index_flags)
    study.number_table("small_n", table, key=["category", "variable"],
                       columns=["d", "equivalent", "p_difference"])
    hits = []
    for _ in range(reps):
        sub = frame.iloc[rng.choice(len(frame), m, replace=False)]
        if not _testable(sub):
            hits.append(False)  # no test possible: equivalence not shown
            continue
        t = cx.compare(sub, "connected", a=True, b=False, equivalence=["satisfaction"],
                       margin=margin, margin_scale="sd").table.iloc[0]
        hits.append(bool(t["reject"]))
    study.number("small_n.subsamples", reps)
    study.number("small_n.satisfaction_equivalent_share", float(np.mean(hits)), flags=index_flags)


def _step_cutoffs(cx, study, frame, instrument, cfg, margin, index_flags) -> None:
    """The connected/not comparisons at other index cut-offs (the index itself unchanged): the
    connected share, the satisfaction difference and its TOST verdict, and the median risk ratio
    of the items outside the index."""
    cuts = [float(c) for c in cfg["study"].get("cutoff_grid", [])]
    if not cuts:
        return
    outside = (instrument.item_ids("attachment") if "attachment" in instrument.constructs
               else [])
    props = {i: _top_box_cut(instrument.items[i]) for i in outside}
    rows = []
    for cut in cuts:
        sub = frame.assign(connected=frame["index"] >= cut)
        if not _testable(sub):
            continue  # the table lists the cut-offs that could be tested
        t = cx.compare(sub, "connected", a=True, b=False, equivalence=["satisfaction"],
                       margin=margin, margin_scale="sd", proportions=props).table
        eq = t[t["analysis"] == "equivalence"].iloc[0]
        rr = t[t["analysis"] == "proportion"]["risk_ratio"]
        rows.append({"cutoff": cut, "connected_share": float(sub["connected"].mean()),
                     "satisfaction_d": float(eq["cohen_d"]), "equivalent": bool(eq["reject"]),
                     "p_difference": float(eq["pvalue_difference"]),
                     "outside_index_rr_median": float(rr.median()) if len(rr) else np.nan,
                     "flags": index_flags})
    if not rows:
        return
    table = pd.DataFrame(rows)
    study.table("cutoffs", table)
    study.number_table("cutoffs", table.assign(key=[f"c{int(c)}" for c in table["cutoff"]]),
                       key="key", columns=["connected_share", "satisfaction_d", "equivalent",
                                           "outside_index_rr_median"])


def loading_grid_gaps(cfg, cfg_path, instrument, loadings) -> pd.DataFrame:
    """The calibrated latent connection gap (social-media moms minus other moms, within-cell SD)
    for each assumed mean loading of the calibrated items: the published percentages fix the
    gap on the latent-response (probit) scale, loading x gap; the gap itself moves as 1/loading."""
    from connection.errors import ConfigError

    rows = []
    for lam in loadings:
        over_cfg = {**cfg, "calibration": {**cfg["calibration"], "mean_loading": float(lam)}}
        try:
            pop = _population(over_cfg, cfg_path, instrument)
        except ConfigError as err:
            # the calibrated item loadings are proportional to their published probit gaps: a
            # mean loading this high puts the item with the largest gap at or above 1
            rows.append({"loading": float(lam), "connection_gap": np.nan, "probit_gap": np.nan,
                         "admissible": False, "reason": err.message})
            continue
        gap = float(pop.calibration["connection_gap"])
        rows.append({"loading": float(lam), "connection_gap": gap,
                     "probit_gap": float(lam) * gap, "admissible": True, "reason": ""})
    return pd.DataFrame(rows)


def _step_loadings(study, cfg, cfg_path, instrument) -> None:
    grid = [float(v) for v in cfg.get("identification", {}).get(
        "loadings", [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85])]
    table = loading_grid_gaps(cfg, cfg_path, instrument, grid)
    study.table("loading_sensitivity", table)
    inadmissible = table[~table["admissible"]]
    study.number("identification.loadings_inadmissible_from",
                 float(inadmissible["loading"].min()) if len(inadmissible) else float("nan"))
    table = table[table["admissible"]]
    study.number("identification.probit_gap", float(table["probit_gap"].mean()))
    study.number("identification.assumed_loading", float(cfg["calibration"]["mean_loading"]))
    study.number("identification.loading_min", float(table["loading"].min()))
    study.number("identification.loading_max", float(table["loading"].max()))
    # the gap is negative for the reference group; report magnitudes at the grid's ends
    study.number("identification.gap_at_loading_min",
                 float(table.loc[table["loading"].idxmin(), "connection_gap"]))
    study.number("identification.gap_at_loading_max",
                 float(table.loc[table["loading"].idxmax(), "connection_gap"]))
    study.number_table("identification.gap", table.assign(
        key=[f"l{int(round(v * 100)):03d}" for v in table["loading"]]),
        key="key", value="connection_gap", flags_column=None)


def _get(numbers: dict, key: str):
    cur = numbers
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and bool(np.isfinite(x))


def _fmt_range(lo, hi, fmt="{:.2f}") -> str:
    return "not computed" if lo is None or hi is None else f"{fmt.format(lo)} to {fmt.format(hi)}"


def assumptions_table(cfg, numbers: dict) -> pd.DataFrame:
    """Every assumption of the simulation, its value, where it comes from, the headline numbers
    it moves, and the range the study computed for them (or that the study does not vary it)."""
    pop, st, cal = cfg["population"], cfg["study"], cfg["calibration"]
    g = lambda k: _get(numbers, k)  # noqa: E731
    sens = g("sensitivity") or {}
    sat_d = [v["satisfaction_difference"] for v in sens.values()
             if isinstance(v, dict) and "satisfaction_difference" in v]
    beta_d = [v["beta_difference"] for v in sens.values()
              if isinstance(v, dict) and "beta_difference" in v]
    corr = [float(r) for r in st.get("sensitivity_correlations", [])]
    breaks = g("sensitivity.same_satisfaction_breaks_at")
    cuts = g("cutoffs") or {}
    cut_share = [v["connected_share"] for v in cuts.values()]
    cut_d = [v["satisfaction_d"] for v in cuts.values()]
    cut_keys = sorted(cuts)
    adv = pop["outcomes"]["advocacy"]
    rows = [
        ("mean loading of the six calibrated connection items", f"{cal['mean_loading']:g}",
         "not published; a conventional 'good' loading",
         "latent connection gap between the groups (and every latent d)",
         f"gap {_fmt_range(g('identification.gap_at_loading_min'), g('identification.gap_at_loading_max'))}"
         f" SD over loadings {g('identification.loading_min'):g} to {g('identification.loading_max'):g}"
         + (f"; from {g('identification.loadings_inadmissible_from'):g} an item's loading would "
            "reach 1" if _finite(g("identification.loadings_inadmissible_from")) else "")
         if g("identification.loading_min") is not None else "not computed"),
        ("loading of overall satisfaction", f"{cal['satisfaction_loading']:g}",
         "not published", "latent satisfaction gap (near zero whatever the loading: 54% vs 53%)",
         "not varied"),
        ("within-cell corr(connection, satisfaction)",
         f"{pop['correlations']['connection']['satisfaction']:g}",
         "not identified by group-level percentages; chosen near zero ('equally satisfied')",
         "satisfaction gap of connected vs other respondents; the equivalence verdict; the drivers contrast",
         (f"satisfaction d {_fmt_range(min(sat_d), max(sat_d))}, drivers contrast "
          f"{_fmt_range(min(beta_d), max(beta_d))} over r = {min(corr):g} to {max(corr):g}; "
          + (f"equivalence lost from r = {breaks:.1f}" if breaks is not None and np.isfinite(breaks)
             else "equivalence holds throughout")) if sat_d else "not computed"),
        ("within-cell corr(connection, attachment)",
         f"{pop['correlations']['connection']['attachment']:g}",
         "not published", "risk ratios on the attachment items (outside the index)", "not varied"),
        ("outcome effects of connection and satisfaction",
         f"advocacy {adv['connection']:g} / {adv['satisfaction']:g}; loyalty "
         f"{pop['outcomes']['loyalty']['connection']:g} / "
         f"{pop['outcomes']['loyalty']['satisfaction']:g}; repurchase "
         f"{pop['outcomes']['repurchase']['connection']:g} / "
         f"{pop['outcomes']['repurchase']['satisfaction']:g}",
         "the qualitative claim; no published coefficient",
         "drivers contrasts, outcome risk ratios, out-of-sample gain",
         "by construction: the estimates recover these values"),
        ("spend model", f"log spend = {pop['spend']['connection']:g} x connection + "
         f"{pop['spend']['satisfaction']:g} x satisfaction + noise (sd {pop['spend']['sd']:g})",
         "illustrative; the HBR ratios were not used", "the spend ratio", "by construction"),
        ("eReader cells", "repeat the banking gaps",
         "no eReader percentage was published", "every eReader number",
         "by construction: eReader results copy banking ones"),
        ("attachment gap between the groups",
         f"{pop['means']['banking']['social_media_moms']['attachment']:g} SD",
         "not published", "group differences on the attachment items", "not varied"),
        ("cell sizes", f"n = {st['n']} in four equal cells", "not published",
         "the width of every interval (simulation error at this n)",
         f"at n = {g('small_n.n')}: {g('small_n.equivalent')} of {g('small_n.tests')} "
         "per-category equivalence tests hold" if g("small_n.n") is not None else "not computed"),
        ("'connected' cut-off on the 0-100 index", f"{st['connected_min']:g}",
         "not published (the firm's rule is unknown)",
         "connected share, equivalence verdict, risk ratios, spend ratio",
         (f"connected share {_fmt_range(min(cut_share), max(cut_share), '{:.0%}')}, satisfaction d "
          f"{_fmt_range(min(cut_d), max(cut_d))} over cut-offs {cut_keys[0][1:]} to "
          f"{cut_keys[-1][1:]}; equivalent at {sum(bool(v['equivalent']) for v in cuts.values())}"
          f" of {len(cuts)}") if cut_share else "not computed"),
        ("'highly satisfied'", f"mean satisfaction >= {st['satisfied_min']:g} of 10",
         "not published", "the spend ratio's comparison group", "not varied"),
        ("equivalence margin", f"+-{st['equivalence_margin']:g} SD",
         "a conventional small effect", "every equivalence verdict",
         "the power study sizes the test at this margin"),
    ]
    return pd.DataFrame(rows, columns=["assumption", "value", "source", "moves", "sensitivity"])


def _columns(source) -> list[str]:
    if isinstance(source, pd.DataFrame):
        return list(source.columns)
    return _file_columns(source)


def _file_columns(path) -> list[str]:
    """Column names of a survey file, read cheaply (to choose the id and group columns; problems
    with the file itself are left to read_survey, which reports them properly)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".sav", ".zsav", ".dta"):
        import pyreadstat

        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        try:
            _, meta = reader(str(path), metadataonly=True)
        except Exception:  # noqa: BLE001
            return []
        return list(meta.column_names)
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        except Exception:  # noqa: BLE001
            return []
    try:
        return list(pd.read_csv(path, nrows=0, sep=None, engine="python").columns)
    except Exception:  # noqa: BLE001
        return []


def _key(label: str) -> str:
    return str(label).replace(" / ", "__").replace(" ", "_")


def fit_index(instrument, frame: pd.DataFrame, cfg, seed):
    """Fit the connection index on a random calibration sample (``study.index_calibration_share``
    of the respondents, drawn with ``seed``) and return the fitted :class:`ConnectionIndex`."""
    from connection.measurement import ConnectionIndex, SegmentRule

    st = cfg["study"]
    rule = SegmentRule(connected_min=float(st["connected_min"]),
                       satisfied_min=float(st["satisfied_min"]),
                       differentiation=tuple(st.get("differentiation_items", ("feat_better",))),
                       differentiated_min=float(st.get("differentiated_min", 4.0)))
    share = float(st.get("index_calibration_share", 0.5))
    rng = np.random.default_rng(seed)
    calib = np.sort(rng.choice(len(frame), size=max(2, int(round(share * len(frame)))),
                               replace=False))
    return ConnectionIndex(instrument, "connection", segments=rule).fit(frame.iloc[calib])


def segment(frame: pd.DataFrame, index) -> pd.DataFrame:
    """Add the index, the pathway segment and the two segmentations the study compares.

    ``connected``: index >= connected_min (the index's rule). ``value_segment``:
    ``fully_connected``; ``highly_satisfied`` (highly satisfied but not connected, whether or not
    they perceive differentiation: the HBR comparison group); ``other``.
    """
    seg = index.segment(frame)
    out = frame.copy()
    out["index"] = seg["index"].to_numpy()
    out["connected"] = seg["connected"].to_numpy(dtype=bool, na_value=False)
    out["segment"] = seg["segment"].astype(str).to_numpy()
    high = seg["highly_satisfied"].to_numpy(dtype=bool, na_value=False)
    out["value_segment"] = np.where(out["connected"], "fully_connected",
                                    np.where(high, "highly_satisfied", "other"))
    return out


def _index_and_segments(cx, instrument, frame, cfg, study, seed):
    """Fit the index, segment the respondents, write the index tables and numbers; returns the
    segmented frame, the per-cell table and the index's flags (``""`` when its calibration CFA
    is admissible), which every number computed from the index or its segments carries."""
    pop = cfg["population"]
    index = fit_index(instrument, frame, cfg, seed)
    study.record_params("connection_index", index)  # how the index was set up, in the manifest
    # the admissibility flags of the CFA the index weights come from travel with every index number
    flags = format_flags(index.flags_)
    frame = segment(frame, index)
    by_cell = frame.groupby([pop["category_column"], pop["group_column"]], sort=False).agg(
        n=("index", "size"), index_mean=("index", "mean"), index_sd=("index", "std"),
        connected_share=("connected", "mean")).reset_index()
    by_cell["flags"] = flags
    study.table("index_by_cell", by_cell)
    seg = (frame.groupby([pop["category_column"], pop["group_column"], "segment"], sort=False)
           .size().rename("n").reset_index())
    seg["flags"] = flags
    study.table("segments", seg)
    from connection.plots import studies as study_plots

    study.figure("segments", study_plots.segments(
        seg, cell_columns=(pop["category_column"], pop["group_column"])))
    study.table("index_model", pd.DataFrame({
        "item": index.items_, "weight": index.weights_, "calibration_mean": index.means_,
        "loading_std": [index.loadings_.get(i, np.nan) for i in index.items_], "flags": flags}))
    study.number("index.mean", float(frame["index"].mean()), flags=flags)
    study.number("index.connected_share", float(frame["connected"].mean()), flags=flags)
    study.number("index.n_calibration", int(index.n_calibration_))
    for k, v in index.fit_measures_.items():
        study.number(f"index.calibration_fit.{k}", float(v), flags=flags)
    for r in by_cell.itertuples():
        key = f"index.{getattr(r, pop['category_column'])}.{getattr(r, pop['group_column'])}"
        study.number(f"{key}.mean", float(r.index_mean), flags=flags)
        study.number(f"{key}.connected_share", float(r.connected_share), flags=flags)
    for name, count in frame["value_segment"].value_counts().sort_index().items():
        study.number(f"segments.value.{name}", int(count), flags=flags)
    from connection.plots.drivers import index_by_segment

    study.figure("index_by_segment", index_by_segment(frame, segment="segment", index="index",
                                                      cutoff=float(cfg["study"]["connected_min"])))
    return frame, by_cell, flags, index


def _comparisons(cx, instrument, frame, cfg, categories, groups, margin):
    pop = cfg["population"]
    gcol, ccol = pop["group_column"], pop["category_column"]
    emotional = {i: _top_box_cut(instrument.items[i])
                 for c in ("connection", "attachment") if c in instrument.constructs
                 for i in instrument.item_ids(c)}
    outcome_events = {i: v for i, v in OUTCOME_EVENTS.items() if i in frame.columns}
    families = {**{i: "emotional" for i in emotional}, **{i: "outcomes" for i in outcome_events}}
    eq_vars = [c for c in ("satisfaction", "features", "quality") if c in frame.columns]
    conn, grp = [], []
    for c in ["all", *categories]:
        sub = frame if c == "all" else frame[frame[ccol] == c]
        res = cx.compare(sub, "connected", a=True, b=False, equivalence=eq_vars, margin=margin,
                         margin_scale="sd", proportions={**emotional, **outcome_events},
                         families={**families, **{v: "equivalence" for v in eq_vars}})
        t = res.table.copy()
        t.insert(0, "category", c)
        conn.append(t)
        if c == "all" or len(groups) != 2:
            continue
        published = {**{i: _top_box_cut(instrument.items[i]) for i in emotional},
                     "sat_overall": float(cfg["calibration"].get("satisfied_min", 8)),
                     **outcome_events}
        res_g = cx.compare(sub, gcol, a=groups[0], b=groups[1],
                           proportions={k: v for k, v in published.items() if k in sub.columns})
        t = res_g.table.copy()
        t.insert(0, "category", c)
        grp.append(t)
    conn = pd.concat(conn, ignore_index=True)
    grp = pd.concat(grp, ignore_index=True) if grp else pd.DataFrame()
    return conn, grp


def _recovery(population, inv, survey, estimator):
    """True vs estimated, by ``estimator``: latent mean gaps (invariance model ``inv``) and
    structural coefficients (:func:`connection.recover`).

    ``flags``: a latent-mean row carries the flags of the invariance fit its mean comes from; a
    structural row those of the per-cell SEM fits (:func:`connection.recover` returns
    no flags, so they are the admissibility warnings its fits issue)."""
    from scipy import stats

    from connection.simulation import recover

    rows = []
    means = population.truth()["latent_means"].set_index(["category", "group", "latent"])["mean"]
    z = stats.norm.ppf(0.975)
    lm = inv.latent_means
    if len(lm):
        ref = lm["group"].iloc[0]
        ref_g, ref_c = [s.strip() for s in ref.split(" / ")]
        for r in lm.itertuples():
            if r.group == ref:
                continue
            g, c = [s.strip() for s in r.group.split(" / ")]
            true = means[(c, g, r.factor)] - means[(ref_c, ref_g, r.factor)]
            # d is the mean difference over the pooled latent SD; the true SD is 1 in every cell
            sd = r.mean / r.d if r.d not in (0, 0.0) and np.isfinite(r.d) else np.nan
            se = r.se / sd if np.isfinite(sd) and sd > 0 else np.nan
            rows.append({"estimator": estimator,
                         "parameter": "latent mean difference (d)", "category": c, "group": g,
                         "outcome": "", "predictor": r.factor, "true": true, "estimate": r.d,
                         "se": se, "ci_lower": r.d - z * se, "ci_upper": r.d + z * se,
                         "flags": r.flags})
    with flags_from_warnings() as caught:
        rec = recover(population, survey.data, survey.instrument, estimator=estimator)
    rec_flags = format_flags(caught)
    for r in rec.itertuples():
        rows.append({"estimator": estimator,
                     "parameter": "structural coefficient (std_lv metric)", "category": r.category,
                     "group": r.group, "outcome": r.outcome, "predictor": r.predictor,
                     "true": r.true, "estimate": r.estimate, "se": r.se, "ci_lower": r.ci_lower,
                     "ci_upper": r.ci_upper, "flags": rec_flags})
    out = pd.DataFrame(rows)
    out["error"] = out["estimate"] - out["true"]
    out["covered"] = (out["ci_lower"] <= out["true"]) & (out["true"] <= out["ci_upper"])
    return out[[c for c in out.columns if c != "flags"] + ["flags"]]


RECOVERY_KEYS = ["category", "group", "outcome", "predictor"]


def _recovery_replicate(s, *, population, instrument, n, estimators) -> dict:
    """One repeated study: ``n`` respondents drawn from ``population`` with seed ``s``, the
    structural model fitted in every cell by each estimator (:func:`connection.recover`).
    ``{estimator: rows}``, ``None`` for a fit that failed, did not converge or warned (left out
    of that estimator's summary and counted)."""
    import connection as cx
    from connection.errors import ConnectionPackageError
    from connection.simulation import recover

    sim = population.simulate(n, seed=s)
    data = cx.read_survey(sim.data, instrument, id_column=population.id_column, warn=False).data
    out = {}
    for e in estimators:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rec = recover(population, data, instrument, estimator=e)
        except ConnectionPackageError:
            out[e] = None
            continue
        ok = not caught and bool(rec["converged"].all())
        out[e] = rec[[*RECOVERY_KEYS, "true", "estimate", "se", "covered"]] if ok else None
    return out


def recovery_summary(runs: list, estimators) -> tuple[pd.DataFrame, dict]:
    """Per estimator and parameter over the repeated studies: the truth, mean estimate, bias,
    empirical SD, mean SE and coverage of the 95% intervals; and per estimator the overall
    coverage (with its Wilson interval), the largest and mean absolute bias, the mean ratio of
    SE to empirical SD and the replicates left out."""
    from scipy import stats

    from connection.stats._proportions import wilson_interval

    tables, overall = [], {}
    for e in estimators:
        kept = [r[e] for r in runs if r[e] is not None]
        if not kept:
            overall[e] = {"left_out": len(runs)}
            continue
        every = pd.concat(kept, ignore_index=True)
        t = every.groupby(RECOVERY_KEYS, sort=False).agg(
            true=("true", "first"), mean_estimate=("estimate", "mean"),
            empirical_sd=("estimate", "std"), mean_se=("se", "mean"),
            coverage=("covered", "mean"), replicates=("estimate", "size")).reset_index()
        t["bias"] = t["mean_estimate"] - t["true"]
        t.insert(0, "estimator", e)
        tables.append(t)
        k, m = int(every["covered"].sum()), len(every)
        lo, hi = wilson_interval(np.array([k]), np.array([m]), float(stats.norm.ppf(0.975)))
        overall[e] = {"coverage": k / m, "coverage_ci_lower": float(lo[0]),
                      "coverage_ci_upper": float(hi[0]), "intervals": m,
                      "max_abs_bias": float(t["bias"].abs().max()),
                      "mean_abs_bias": float(t["bias"].abs().mean()),
                      "mean_bias": float(t["bias"].mean()),
                      "se_ratio": float((t["mean_se"] / t["empirical_sd"]).mean()),
                      "left_out": len(runs) - len(kept)}
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return table, overall


def _step_recovery_replicates(study, population, instrument, n, reps, estimators, seed,
                              args) -> None:
    """The recovery check over ``reps`` repeated studies of ``n`` (replicate ``i`` from child
    ``i`` of ``seed``, through :func:`connection.monte_carlo`: the same numbers serially or on
    ``--workers`` processes): does each estimator recover the structural coefficients on
    average, and do its intervals cover them 95% of the time?"""
    from functools import partial

    import connection as cx
    from connection.study import worker_pool

    one = partial(_recovery_replicate, population=population, instrument=instrument, n=n,
                  estimators=tuple(estimators))
    with worker_pool(args.pool) as executor:
        res = cx.monte_carlo(one, reps, seed=seed, executor=executor,
                             progress=not args.quiet and sys.stderr.isatty())
    table, overall = recovery_summary(res.values, estimators)
    study.table("recovery_replicates", table)
    if len(table):
        from connection.plots import studies as study_plots

        study.figure("recovery_replicates", study_plots.recovery_replicates(table))
    study.number("recovery.repeated.replicates", reps)
    study.number("recovery.repeated.n", n)
    for i, e in enumerate(estimators):
        prefix = "recovery.repeated." if i == 0 else f"recovery.repeated.{e.lower()}."
        for key, value in overall[e].items():
            study.number(prefix + key, value)


def sensitivity_overrides(cfg, r: float) -> dict:
    """Correlation overrides that set corr(connection, satisfaction) = r coherently.

    Connection relates to features and quality only through satisfaction
    (corr(C, X) = r * corr(S, X)), and attachment to satisfaction, features and quality only
    through connection (corr(A, X) = corr(A, C) * corr(C, X)), so every r in 0..0.8 gives a valid
    correlation matrix.
    """
    c = cfg["population"]["correlations"]
    ca = float(c["connection"]["attachment"])
    sf, sq = float(c["satisfaction"]["features"]), float(c["satisfaction"]["quality"])
    return {"correlations": {
        "connection": {"satisfaction": r, "features": r * sf, "quality": r * sq},
        "attachment": {"satisfaction": ca * r, "features": ca * r * sf, "quality": ca * r * sq}}}


def _sensitivity(cx, population, cfg, instrument, seed, margin, n, estimator="WLSMV",
                 workers=0, progress=False):
    """Re-run the two findings as corr(connection, satisfaction) varies (everything else fixed):
    one study per grid value, grid value ``i`` drawn from child ``i`` of ``seed`` (through
    :func:`connection.monte_carlo`, so serially or on ``workers`` processes alike)."""
    from functools import partial

    from connection.study import worker_pool

    grid = [float(r) for r in cfg["study"]["sensitivity_correlations"]]
    point = partial(_sensitivity_point, cfg=cfg, instrument=instrument, margin=margin, n=n,
                    estimator=estimator)
    with worker_pool(workers) as executor:
        res = cx.monte_carlo(point, seed=seed, grid=grid, executor=executor, chunk=1,
                             progress=progress)
    return pd.DataFrame([row for rows in res.values for row in rows])


def _sensitivity_point(s, r: float, *, cfg, instrument, margin, n, estimator) -> list[dict]:
    """The sensitivity rows at one correlation ``r``: a study of ``n`` drawn from child seed
    ``s`` of a population with corr(connection, satisfaction) = ``r``."""
    import connection as cx
    from connection.simulation import Population

    pop_cfg = cfg["population"]
    rows = []
    s_sample, s_index = s.spawn(2)
    pop = Population.from_config(pop_cfg, instrument=instrument,
                                 calibration=cfg["calibration"],
                                 overrides=sensitivity_overrides(cfg, r))
    sim = pop.simulate(n, seed=s_sample)
    survey = cx.read_survey(sim.data, instrument, id_column=pop_cfg["id_column"], warn=False)
    frame = scores_frame(survey, cfg)
    index = fit_index(instrument, frame, cfg, s_index)
    # every row shows the connected share, which comes from this replicate's index
    index_flags = format_flags(index.flags_)
    frame = segment(frame, index)
    eq = cx.compare(frame, "connected", a=True, b=False, equivalence=["satisfaction"],
                    margin=margin, margin_scale="sd").table.iloc[0]
    scale = eq["margin_std"] / eq["margin_raw"]
    # the same contrast on the true latent satisfaction (SD 1 within cells)
    lat = sim.latent["satisfaction"].to_numpy()
    conn = frame["connected"].to_numpy()
    true_d = (lat[conn].mean() - lat[~conn].mean()) / np.sqrt(
        (lat[conn].var(ddof=1) + lat[~conn].var(ddof=1)) / 2)
    rows.append({"correlation": r, "measure": "satisfaction_difference",
                 "estimate": eq["difference"] * scale, "ci_lower": eq["ci_lower"] * scale,
                 "ci_upper": eq["ci_upper"] * scale, "ci_level": eq["ci_level"],
                 "truth": true_d, "finding": "connected and not connected equally satisfied",
                 "finding_holds": bool(eq["reject"]),
                 "connected_share": float(conn.mean()), "flags": index_flags})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        drv = cx.drivers(frame, ["advocacy"], list(DRIVERS), n_boot=0, progress=False,
                         latent={d: instrument.item_ids(d) for d in DRIVERS},
                         **latent_drivers_options(instrument, estimator))
    d = drv.differences.iloc[0]
    coef = pop.outcome_coef[pop.cells[0]][0]
    common = {"correlation": r, "truth": float(coef[0] - coef[1]),
              "finding": "connection drives advocacy more than satisfaction",
              "connected_share": float(conn.mean()), "flags": index_flags}
    rows.append({**common, "measure": "beta_difference", "estimate": d["estimate"],
                 "ci_lower": d["wald_ci_lower"], "ci_upper": d["wald_ci_upper"],
                 "ci_level": d["level"], "finding_holds": bool(d["wald_ci_lower"] > 0)})
    # the same contrast with latent drivers (standardized; interval rescaled from the
    # engine's unstandardized defined parameter); drv.latent's flags column holds the
    # latent model's admissibility flags
    lat = drv.latent[drv.latent["term"] == "connection - satisfaction"].iloc[0]
    ratio = lat["beta"] / lat["est"] if lat["est"] else np.nan
    rows.append({**common, "measure": "beta_difference_latent", "estimate": lat["beta"],
                 "ci_lower": lat["ci_lower"] * ratio, "ci_upper": lat["ci_upper"] * ratio,
                 "ci_level": 0.95, "finding_holds": bool(lat["ci_lower"] * ratio > 0),
                 "flags": _union([index_flags, lat["flags"]])})
    return rows


# ------------------------------------------------------------------ ordinal vs continuous (issue 14)
# the constructs of the ordinal comparison: the 5-point connection items, the 10-point satisfaction
# items and the advocacy items (0-10 and 5-point), as a three-factor CFA whose factor correlations
# give the standardized structural coefficients of advocacy on connection and satisfaction
ORDINAL_CONSTRUCTS = ("connection", "satisfaction", "advocacy")
ORDINAL_METHODS = {"wlsmv": "WLSMV on the ordinal items (polychoric, delta parameterization)",
                   "ml": "ML on the integer codes treated as continuous"}


def ordinal_model(instrument, *, standardize: bool = False) -> str:
    """Three correlated factors (std_lv) with the standardized coefficients of advocacy on
    connection and satisfaction and their contrast as defined parameters of the factor
    correlations (b = R_xx^-1 r_xy), so every parameter compared has a delta-method interval.

    ``standardize``: also define every item's standardized loading
    ``std_<item> := l / sqrt(l^2 + theta)`` (for a fit on the raw codes; in WLSMV's delta
    parameterization the loadings are standardized already)."""
    lines = []
    for c in ORDINAL_CONSTRUCTS:
        items = instrument.item_ids(c)
        if standardize:
            lines.append(f"{c} =~ " + " + ".join(f"l_{i}*{i}" for i in items))
            lines += [f"{i} ~~ e_{i}*{i}" for i in items]
            lines += [f"std_{i} := l_{i}/sqrt(l_{i}^2 + e_{i})" for i in items]
        else:
            lines.append(f"{c} =~ " + " + ".join(items))
    return "\n".join(lines + [
        "connection ~~ r_cs*satisfaction",
        "connection ~~ r_ca*advocacy",
        "satisfaction ~~ r_sa*advocacy",
        "b_conn := (r_ca - r_cs*r_sa)/(1 - r_cs^2)",
        "b_sat := (r_sa - r_cs*r_ca)/(1 - r_cs^2)",
        "contrast := b_conn - b_sat"]) + "\n"


_ORDINAL_LABELS = {"r_cs": "corr.connection_satisfaction", "r_ca": "corr.connection_advocacy",
                   "r_sa": "corr.satisfaction_advocacy", "b_conn": "beta.connection",
                   "b_sat": "beta.satisfaction", "contrast": "contrast"}


def ordinal_truth(population, cell, instrument) -> dict[str, float]:
    """The population's values of the compared parameters in ``cell`` (within-cell latent
    variances and latent-response variances are 1): latent-response loadings, latent
    correlations, the standardized advocacy coefficients and their contrast."""
    items = population.items.set_index("item")
    truth = {f"loading.{i}": float(items.loc[i, "loading"])
             for c in ORDINAL_CONSTRUCTS for i in instrument.item_ids(c)}
    r_cs = float(population.corr[cell][0, 1])
    b_conn, b_sat = (float(b) for b in population.outcome_coef[cell][0])  # advocacy
    truth.update({"corr.connection_satisfaction": r_cs,
                  "corr.connection_advocacy": b_conn + b_sat * r_cs,
                  "corr.satisfaction_advocacy": b_sat + b_conn * r_cs,
                  "beta.connection": b_conn, "beta.satisfaction": b_sat,
                  "contrast": b_conn - b_sat})
    return truth


def _ordinal_rows(fit) -> dict[str, tuple[float, float, float]]:
    """parameter -> (estimate, ci_lower, ci_upper) of the compared parameters of one fit."""
    est = fit.estimates
    out = {}
    std = est[(est["op"] == ":=") & est["label"].str.startswith("std_")]
    if len(std):
        for r in std.itertuples():
            out[f"loading.{r.label[4:]}"] = (r.est, r.ci_lower, r.ci_upper)
    else:
        for r in est[est["op"] == "=~"].itertuples():
            out[f"loading.{r.rhs}"] = (r.est, r.ci_lower, r.ci_upper)
    for r in est[est["label"].isin(list(_ORDINAL_LABELS))].itertuples():
        out[_ORDINAL_LABELS[r.label]] = (r.est, r.ci_lower, r.ci_upper)
    return out


def ordinal_fits(cx, data: pd.DataFrame, models: tuple[str, str], items: list[str]) -> dict:
    """The two fits compared: WLSMV with every item ordered (``models[0]``), and ML on the
    integer codes (``models[1]``, whose standardized loadings are defined parameters: the
    std_all loadings a researcher treating the codes as continuous reports, with delta-method
    intervals)."""
    codes = data[items]
    return {"wlsmv": cx.cfa(models[0], codes, ordered=True, std_lv=True),
            "ml": cx.cfa(models[1], codes.astype(float), std_lv=True, estimator="ML")}


def _cell_population(population, cell):
    """The population restricted to one cell (every respondent drawn from it)."""
    import dataclasses

    return dataclasses.replace(population, shares={k: float(k == cell) for k in population.cells})


def _ordinal_replicate(s, *, population, m, model, items):
    """One replicate sample of ``m`` from ``population`` (one cell): ``{(method, parameter):
    (estimate, ci_lower, ci_upper)}``, or ``None`` when a fit failed, did not converge, was
    flagged or warned (the replicate is then left out of both methods' coverage)."""
    import connection as cx
    from connection.errors import ConnectionPackageError

    sample = population.simulate(m, seed=s).data
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits = ordinal_fits(cx, sample, model, items)
    except ConnectionPackageError:
        return None
    if caught or any(not f.converged or f.flags for f in fits.values()):
        return None
    return {(method, name): row for method, fit in fits.items()
            for name, row in _ordinal_rows(fit).items()}


def _ordinal_replicates(cx, population, cell, m, reps, seed, model, items, quiet, workers=0):
    """Coverage and mean estimate of every compared parameter over ``reps`` samples of ``m``
    respondents from ``cell`` (replicate ``i`` from child ``i`` of ``seed``, through
    :func:`connection.monte_carlo`: serially or on ``workers`` processes alike); a replicate
    whose fit is not admissible (not converged or flagged) is counted and left out of both
    methods' coverage."""
    from functools import partial

    from connection.study import worker_pool

    one = partial(_ordinal_replicate, population=_cell_population(population, cell), m=m,
                  model=model, items=items)
    with worker_pool(workers) as executor:
        res = cx.monte_carlo(one, reps, seed=seed, executor=executor,
                             progress=not quiet and sys.stderr.isatty())
    hits: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    failed = 0
    for rep in res.values:
        if rep is None:
            failed += 1
            continue
        for key, row in rep.items():
            hits.setdefault(key, []).append(row)
    return hits, failed


def ordinal_comparison(cx, population, cell, sample: pd.DataFrame, instrument, *, reps: int,
                       seed, quiet: bool = False, workers: int = 0
                       ) -> tuple[pd.DataFrame, dict]:
    """WLSMV vs ML against the population's truth in one cell: the study sample's estimates
    and intervals, and over ``reps`` replicate samples of the same size the mean estimate, the
    mean relative bias and the coverage of the 95% intervals. Returns the tidy table and
    ``{"failed": replicates left out, "flags": {method: flags of the sample's fit}}``."""
    items = [i for c in ORDINAL_CONSTRUCTS for i in instrument.item_ids(c)]
    model = (ordinal_model(instrument), ordinal_model(instrument, standardize=True))
    truth = ordinal_truth(population, cell, instrument)
    with flags_from_warnings() as caught:
        fits = ordinal_fits(cx, sample, model, items)
    flags = {k: _union([format_flags(f.flags), format_flags(caught)]) for k, f in fits.items()}
    hits, failed = _ordinal_replicates(cx, population, cell, len(sample), reps, seed, model,
                                       items, quiet, workers)
    rows = []
    for method, fit in fits.items():
        for name, (e, lo, hi) in _ordinal_rows(fit).items():
            t = truth[name]
            rep = np.array(hits.get((method, name), []), dtype=float).reshape(-1, 3)
            mean = float(rep[:, 0].mean()) if len(rep) else np.nan
            rows.append({
                "parameter": name, "kind": name.split(".")[0], "method": method,
                "truth": t, "estimate": e, "ci_lower": lo, "ci_upper": hi,
                "relative_bias": e / t - 1.0, "covered": bool(lo <= t <= hi),
                "replicates": len(rep), "mean_estimate": mean,
                "mean_relative_bias": mean / t - 1.0,
                "coverage": float(((rep[:, 1] <= t) & (t <= rep[:, 2])).mean())
                if len(rep) else np.nan,
                "flags": flags[method]})
    return pd.DataFrame(rows), {"failed": failed, "flags": flags}


# ------------------------------------------------------------------ weighting (issue 15)
# the headline shares of the weighting comparison: item -> the cut a respondent reaches
HEADLINE_SHARES = {"ec_belong": "agree", "sat_overall": "satisfied", "adv_recommend": "promoter"}


def unbalanced_population(population, oversample: dict[str, float]):
    """The population sampled with every group's cells over-represented by its factor
    (``{"social_media_moms": 2.0}``: twice their population share relative to the others),
    shares renormalised; latent model, items and truth unchanged."""
    import dataclasses

    raw = {k: population.shares[k] * float(oversample.get(k[1], 1.0)) for k in population.cells}
    total = sum(raw.values())
    return dataclasses.replace(population, shares={k: v / total for k, v in raw.items()})


def population_margins(population) -> dict[str, dict[str, float]]:
    """The population's group and category margins (proportions) from its cell shares."""
    groups = {g: sum(population.shares[(c, g)] for c in population.categories)
              for g in population.groups}
    cats = {c: sum(population.shares[(c, g)] for g in population.groups)
            for c in population.categories}
    return {population.group_column: groups, population.category_column: cats}


def population_headline(population) -> dict[str, float]:
    """Closed-form population values of the headline shares (cell percentages over the
    population's cell shares)."""
    out = {}
    for item, name in HEADLINE_SHARES.items():
        cut = population.cut_of(item) or float(population.items.set_index("item")
                                                .loc[item, "max"] - 1)
        out[f"{name}_{item}"] = sum(population.shares[k] * population.percent(item, cut, k)
                                    for k in population.cells) / 100.0
    return out


def headline_indicators(frame: pd.DataFrame, instrument) -> pd.DataFrame:
    """0/1 columns of the headline shares, and the connected indicator as a number."""
    out = pd.DataFrame(index=frame.index)
    for item, name in HEADLINE_SHARES.items():
        if item not in frame.columns:
            continue
        if name == "satisfied":
            cut = 8.0
        elif name == "promoter":
            cut = 9.0
        else:
            cut = _top_box_cut(instrument.items[item])
        out[f"{name}_{item}"] = (frame[item] >= cut).astype(float)
    out["connected_share"] = frame["connected"].astype(float)
    return out


def weighted_headline(cx, frame, instrument, cfg, weights, n_boot_value=0):
    """Unweighted and weighted headline numbers: the shares overall, mean satisfaction and
    connection (0-100) overall and by group, and the value ratio (fully connected vs highly satisfied;
    delta-log interval). One row per quantity and group with both estimates."""
    gcol = cfg["population"]["group_column"]
    ind = headline_indicators(frame, instrument)
    data = pd.concat([frame[[gcol, "satisfaction", "connection"]], ind], axis=1)
    rows = []
    for label, w in (("unweighted", None), ("weighted", weights)):
        overall = cx.describe(data, [*ind.columns, "satisfaction", "connection"],
                              weights=w).assign(group="all")
        by = cx.describe(data, ["satisfaction", "connection"], weights=w, group=gcol)
        by = by.rename(columns={gcol: "group"})
        both = pd.concat([overall, by], ignore_index=True)
        both["method"] = label
        rows.append(both[["variable", "group", "method", "n", "n_eff", "estimate", "se"]])
    spend = cfg["population"]["spend_column"]
    if spend in frame.columns:
        for label, w in (("unweighted", None), ("weighted", weights)):
            v = cx.value_ratio(frame, spend, between="value_segment", a="fully_connected",
                               b="highly_satisfied", n_boot=0, weights=w)
            r = v[v["method"] == "delta_log"].iloc[0]
            rows.append(pd.DataFrame([{"variable": "value_ratio", "group": "all",
                                       "method": label, "n": len(frame), "n_eff": np.nan,
                                       "estimate": float(r["ratio"]), "se": np.nan}]))
    long = pd.concat(rows, ignore_index=True)
    keys = ["variable", "group"]
    un = long[long["method"] == "unweighted"].drop(columns=["method", "n_eff"])
    wt = long[long["method"] == "weighted"].drop(columns=["method", "n"])
    return un.rename(columns={"estimate": "unweighted", "se": "unweighted_se"}).merge(
        wt.rename(columns={"estimate": "weighted", "se": "weighted_se"}), on=keys,
        how="left", validate="one_to_one")


def _step_ordinal(cx, study, population, sim, instrument, cfg, seed, quiet, workers) -> None:
    """Issue 14: the measurement model on the ordinal items by WLSMV and by ML on the integer
    codes, against the population's truth in one cell, with simulation-based coverage."""
    from connection.plots import studies as study_plots

    pop_cfg, oc = cfg["population"], cfg.get("ordinal", {})
    cell = tuple(oc.get("cell", (population.categories[0], population.groups[-1])))
    data = sim.data
    sample = data[(data[pop_cfg["category_column"]] == cell[0])
                  & (data[pop_cfg["group_column"]] == cell[1])].reset_index(drop=True)
    reps = int(oc.get("replicates", 200))
    table, info = ordinal_comparison(cx, population, cell, sample, instrument, reps=reps,
                                     seed=seed, quiet=quiet, workers=workers)
    study.table("ordinal_vs_continuous", table)
    study.number("ordinal.cell", f"{cell[0]} / {cell[1]}")
    study.number("ordinal.n", int(len(sample)))
    study.number("ordinal.replicates", reps)
    study.number("ordinal.replicates_left_out", int(info["failed"]))
    study.number_table("ordinal.truth", table[table["method"] == "wlsmv"], key="parameter",
                       value="truth", flags_column=None)
    study.number_table("ordinal", table, key=["method", "parameter"],
                       columns=["estimate", "ci_lower", "ci_upper", "relative_bias",
                                "mean_relative_bias", "coverage"])
    for (method, kind), sub in table.groupby(["method", "kind"], sort=False):
        flags = _union(sub["flags"])
        study.number(f"ordinal.summary.{method}.{kind}.mean_relative_bias",
                     float(sub["mean_relative_bias"].mean()), flags=flags)
        study.number(f"ordinal.summary.{method}.{kind}.coverage",
                     float(sub["coverage"].mean()), flags=flags)
    study.figure("ordinal_vs_continuous", study_plots.ordinal_comparison(table))


def _step_weighting(cx, study, population, index, instrument, cfg, frame, survey, n, seed,
                    real) -> None:
    """Issue 15: in simulation mode, an unbalanced sample raked to the population margins
    (unweighted vs raked vs population truth); in real-data mode, the survey's weights."""
    wc = cfg.get("weighting", {})
    if real:
        _weighting_real(cx, study, instrument, cfg, frame, survey, wc)
        return
    oversample = {str(k): float(v) for k, v in
                  wc.get("oversample", {population.groups[0]: 2.0}).items()}
    unknown = sorted(set(oversample) - set(population.groups))
    if unknown:
        from connection.errors import ConfigError

        raise ConfigError("weighting.oversample names a group the population does not have",
                          values=unknown, expected="one of " + ", ".join(population.groups))
    n_w = int(wc.get("n", n))
    sample = unbalanced_population(population, oversample).simulate(n_w, seed=seed)
    survey_w = cx.read_survey(sample.data, instrument, id_column=cfg["population"]["id_column"],
                              warn=False)
    frame_w = segment(scores_frame(survey_w, cfg), index)
    margins = population_margins(population)
    rk = cx.rake(frame_w, margins)
    weights = rk.weights.to_numpy()
    head = weighted_headline(cx, frame_w, instrument, cfg, weights)
    # the reference: closed-form population shares; otherwise the study's balanced sample
    truth = population_headline(population)
    balanced = weighted_headline(cx, frame, instrument, cfg, None)
    ref = balanced.set_index(["variable", "group"])["unweighted"]
    head["reference"] = [truth[v] if v in truth else ref.get((v, g), np.nan)
                         for v, g in zip(head["variable"], head["group"])]
    head["reference_kind"] = ["population" if v in truth else "balanced study sample"
                              for v in head["variable"]]
    head["unweighted_error"] = head["unweighted"] - head["reference"]
    head["weighted_error"] = head["weighted"] - head["reference"]
    head["flags"] = format_flags(index.flags_)
    study.table("weighting", head)
    study.table("weighting_margins", rk.margins)
    total = weights.sum()
    err = max(abs(weights[(frame_w[var] == cat).to_numpy()].sum() / total - share)
              for var, m in margins.items() for cat, share in m.items())
    gcol = cfg["population"]["group_column"]
    for g, share in frame_w[gcol].value_counts(normalize=True).sort_index().items():
        study.number(f"weighting.sample_share.{g}", float(share))
        study.number(f"weighting.population_share.{g}", float(margins[gcol][g]))
    study.number("weighting.n", int(len(frame_w)))
    study.number("weighting.converged", bool(rk.converged))
    study.number("weighting.max_margin_error", float(err))
    _weighting_numbers(study, head, weights)


def _weighting_numbers(study, head, weights) -> None:
    w = np.asarray(weights, dtype=float)
    deff = len(w) * float((w ** 2).sum()) / float(w.sum()) ** 2
    study.number("weighting.design_effect", deff)
    study.number("weighting.n_eff", len(w) / deff)
    cols = [c for c in ("unweighted", "weighted", "reference", "unweighted_se", "weighted_se")
            if c in head.columns]
    study.number_table("weighting", head, key=["variable", "group"], columns=cols)


def _weighting_real(cx, study, instrument, cfg, frame, survey, wc) -> None:
    """Real-data mode: the codebook's survey weight (``weights:``), else the config's
    ``weighting.weight_column``; without either the step records that it was skipped."""
    from connection.errors import DataError

    weights = survey.weights
    column = str(wc.get("weight_column", "") or "")
    if weights is None and column:
        if column not in survey.data.columns:
            from connection.errors import MissingColumnError

            raise MissingColumnError("the weight column named by weighting.weight_column is "
                                     "not in the data", column=column)
        weights = pd.to_numeric(survey.data[column], errors="coerce")
        bad = ~(np.isfinite(weights.to_numpy(dtype=float)) & (weights.to_numpy() > 0))
        if bad.any():
            raise DataError("survey weights must be finite numbers above 0", column=column,
                            rows=[int(i) for i in np.flatnonzero(bad)[:10]],
                            hint="fix or drop these respondents, or remove weight_column")
    if weights is None:
        study.number("weighting.skipped", "no survey weights (codebook weights: or "
                                          "weighting.weight_column)")
        return
    w = np.asarray(weights, dtype=float)
    head = weighted_headline(cx, frame, instrument, cfg, w)
    head["flags"] = ""
    study.table("weighting", head)
    study.number("weighting.n", int(len(frame)))
    _weighting_numbers(study, head, w)


def _step_predictive(cx, study, frame, cfg, seed) -> None:
    """Issue 16: out-of-sample evidence that connection predicts the outcomes beyond
    satisfaction (repeated k-fold cross-validation, Nadeau-Bengio corrected t)."""
    pc = cfg.get("predictive", {})
    folds, repeats = int(pc.get("folds", 10)), int(pc.get("repeats", 5))
    outcomes = [o for o in pc.get("outcomes", ["advocacy", "loyalty"]) if o in frame.columns]
    # one integer seed for every outcome: the same partitions for each
    part_seed = int(seed.generate_state(1)[0])
    rows = []
    for o in outcomes:
        res = cx.predictive_comparison(frame, o, base=["satisfaction"], added=["connection"],
                                       folds=folds, repeats=repeats, seed=part_seed)
        t = res.to_frame()
        t.insert(0, "outcome", o)
        rows.append(t)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    study.table("predictive", table)
    study.number("predictive.folds", folds)
    study.number("predictive.repeats", repeats)
    study.number("predictive.test", "Nadeau-Bengio corrected resampled t (one-sided)")
    for o in outcomes:
        sub = table[table["outcome"] == o].set_index("model")
        d = sub.loc["difference"]
        study.number(f"predictive.{o}.r2_base", float(sub.loc["base", "r2_oos"]))
        study.number(f"predictive.{o}.r2_full", float(sub.loc["full", "r2_oos"]))
        study.number(f"predictive.{o}.r2_gain", float(d["r2_oos"]))
        for k in ("loss", "se", "t", "df", "p_value", "ci_lower", "ci_upper"):
            study.number(f"predictive.{o}.{'loss_difference' if k == 'loss' else k}",
                         float(d[k]))


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    from connection.study import run_cli

    sys.exit(run_cli(main, prog="social_moms.py"))
