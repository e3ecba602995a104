#!/usr/bin/env python3
"""Power for the social-moms study: respondents per cell for 80% power.

    python studies/power_social_moms.py [--seed N] [--out DIR] [--config FILE] [--reps R]
                                        [--workers N | --scheduler ADDRESS]

Five tests, each at a stated effect size (studies/power_social_moms.toml):

* the connection effect: the coefficient of connection on the outcome holding satisfaction fixed,
  an OLS t test on observed composite scores in one cell;
* the connection x group interaction: the connection slope of social-media moms minus that of
  other moms, a t test of the slope difference;
* scalar non-invariance: one item's thresholds shifted for social-media moms; the chi-square
  difference test of the scalar against the metric model (df = items - 1), whose noncentrality
  comes from fitting both models to the population moments with the SEM engine;
* the two headline tests of the social-moms study: the equivalence of satisfaction between
  connected and other respondents (two one-sided Welch tests against a margin in pooled SDs, on
  the four cells pooled, at an assumed true difference and connected share), and the
  connection-minus-satisfaction contrast (the difference of the two standardized slopes on the
  outcome in one cell, a t test of that linear combination).

Shortcut: the population model is simulated once at a large size per cell, which gives the
population moments of the observed scores (so attenuation by measurement error and ordinal
coarsening is included); power then follows in closed form for every n (noncentral t and
chi-square). A Monte Carlo check at a few n (the same OLS tests; the engine's invariance test
on simulated samples) is drawn as points. The invariance replicates run through
``connection.simulation.monte_carlo``: ``--workers N`` spreads them over N processes, and the
outputs are byte-identical whatever N (replicate i always gets child i of the seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "power_social_moms.toml"


def _social_moms():
    """studies/social_moms.py as a module: its population builder is the one this study uses."""
    import importlib.util

    name = "_social_moms_study_for_power"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "social_moms.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def _population(study_cfg: dict, category: str, overrides: dict | None = None,
                path: Path | None = None):
    """The study's population with all respondents in ``category`` (half in each group); a
    malformed population model is a ConfigError naming ``path`` (the population config)."""
    popcfg = study_cfg["population"]
    shares = {c: {g: (0.5 if c == category else 0.0) for g in popcfg["groups"]}
              for c in popcfg["categories"]}
    over = {"cell_shares": shares, **(overrides or {})}
    return _social_moms()._population(study_cfg, path, overrides=over, items=popcfg.get("items"))


def _cell_frames(pop, n_per_cell: int, seed, category: str):
    sim = pop.simulate(n_per_cell * 2, seed=seed)
    out = {}
    for g in pop.groups:
        mask = (sim.data[pop.category_column] == category) & (sim.data[pop.group_column] == g)
        out[g] = (sim.data[mask].reset_index(drop=True), sim.latent[mask].reset_index(drop=True))
    return out


def _ols_t(x: np.ndarray, y: np.ndarray, j: int) -> np.ndarray:
    """t statistics of slope j in batched OLS: x (R, n, p), y (R, n) -> (R,)."""
    n = x.shape[1]
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("rnp,rnq->rpq", xc, xc)
    sxy = np.einsum("rnp,rn->rp", xc, yc)
    beta = np.linalg.solve(sxx, sxy[..., None])[..., 0]
    resid = yc - np.einsum("rnp,rp->rn", xc, beta)
    s2 = (resid ** 2).sum(axis=1) / (n - x.shape[2] - 1)
    inv = np.linalg.inv(sxx)
    return beta[:, j] / np.sqrt(s2 * inv[:, j, j]), beta[:, j], s2 * inv[:, j, j]


def _ols_contrast_t(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """t statistics of slope 0 minus slope 1 in batched OLS: x (R, n, 2), y (R, n) -> (R,)."""
    n = x.shape[1]
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("rnp,rnq->rpq", xc, xc)
    beta = np.linalg.solve(sxx, np.einsum("rnp,rn->rp", xc, yc)[..., None])[..., 0]
    resid = yc - np.einsum("rnp,rp->rn", xc, beta)
    s2 = (resid ** 2).sum(axis=1) / (n - 3)
    inv = np.linalg.inv(sxx)
    var = s2 * (inv[:, 0, 0] + inv[:, 1, 1] - 2 * inv[:, 0, 1])
    return (beta[:, 0] - beta[:, 1]) / np.sqrt(var)


def tost_power(n_total, difference: float, margin: float, share: float, *,
               alpha: float = 0.05) -> np.ndarray:
    """Power of two one-sided tests of equivalence (normal approximation, unit SDs): ``n_total``
    respondents, a fraction ``share`` in the first group, a true standardized difference
    ``difference``, margin +-``margin``; each one-sided test at ``alpha`` (the 1 - 2 alpha
    interval inside the margin).

    The estimate d has SE s = sqrt(1/n1 + 1/n2); equivalence is shown when
    -margin + z s < d < margin - z s, so power = Phi((margin - z s - delta)/s)
    - Phi((-margin + z s - delta)/s), and 0 once 2 z s >= 2 margin.

    >>> round(float(tost_power(10**6, 0.0, 0.2, 0.5)), 6)   # huge n, no difference: certain
    1.0
    >>> float(tost_power(40, 0.0, 0.2, 0.5))                # too few to fit the interval inside
    0.0
    """
    from scipy import stats

    n = np.asarray(n_total, dtype=float)
    n1, n2 = share * n, (1 - share) * n
    se = np.sqrt(1 / n1 + 1 / n2)
    z = stats.norm.ppf(1 - alpha)
    p = stats.norm.cdf((margin - z * se - difference) / se) - stats.norm.cdf(
        (-margin + z * se - difference) / se)
    return np.clip(p, 0.0, 1.0)


def tost_simulation(n_total: int, difference: float, margin: float, share: float, reps: int,
                    seed, *, alpha: float = 0.05) -> int:
    """Monte Carlo TOST (Welch, each one-sided test at ``alpha``, the margin in pooled SDs as
    estimated) on normal data: how many of ``reps`` replicates show equivalence."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    n1 = int(round(share * n_total))
    n2 = int(n_total) - n1
    hits = 0
    for chunk in np.array_split(np.arange(reps), max(1, reps * n_total // 2_000_000)):
        a = rng.normal(difference, 1.0, (len(chunk), n1))
        b = rng.normal(0.0, 1.0, (len(chunk), n2))
        va, vb = a.var(axis=1, ddof=1), b.var(axis=1, ddof=1)
        d = a.mean(axis=1) - b.mean(axis=1)
        m = margin * np.sqrt((va + vb) / 2)
        se = np.sqrt(va / n1 + vb / n2)
        df = (va / n1 + vb / n2) ** 2 / ((va / n1) ** 2 / (n1 - 1) + (vb / n2) ** 2 / (n2 - 1))
        crit = stats.t.ppf(1 - alpha, df)
        hits += int(np.sum((d - crit * se > -m) & (d + crit * se < m)))
    return hits


def _wilson(k, n, z=1.959963984540054):
    """Wilson interval of k successes in n; held inside [0, p] and [p, 1] (at k = 0 the
    formula's lower end is 0 only up to rounding, e.g. 5.6e-17 > 0 = p)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(np.clip(centre - half, 0.0, p)), float(np.clip(centre + half, p, 1.0))


def _n_for(power_fn, target: float, upper: int = 200_000) -> float:
    """Smallest integer n per cell with power_fn(n) >= target (nan if above ``upper``)."""
    grid = np.unique(np.round(np.geomspace(5, upper, 4000)).astype(int))
    p = power_fn(grid)
    hit = np.flatnonzero(p >= target)
    if hit.size == 0:
        return float("nan")
    hi = int(grid[hit[0]])
    lo = int(grid[hit[0] - 1]) if hit[0] > 0 else 5
    fine = np.arange(lo, hi + 1)
    return float(fine[np.flatnonzero(power_fn(fine) >= target)[0]])


def _scalar_replicate(seed, *, population, model: str, n: int, alpha: float) -> tuple:
    """One Monte Carlo replicate of the scalar test: 2n respondents simulated with ``seed``,
    the scalar step against the metric model (as in the ladder, but tested whatever the metric
    step's verdict), chi-square difference at ``alpha``. Returns (p value, any fit flagged)."""
    import warnings

    import connection as cx

    data = population.simulate(2 * n, seed=seed).data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = cx.invariance(model, data, group=population.group_column,
                            levels=("metric", "scalar"), partial=None,
                            criterion="chisq", alpha=alpha)
    return float(inv.table.set_index("step").loc["scalar", "p_delta"]), bool(inv.flags)


def read_config(path: Path) -> tuple[dict, dict]:
    """The power config and the population config it names, every value checked (ConfigError
    naming the file and the key otherwise)."""
    from connection.errors import ConfigError
    from connection.study import read_toml, setting

    cfg = read_toml(path)
    f = {"file": path}
    if not isinstance(cfg.get("power"), dict):
        raise ConfigError("the config has no [power] table", **f)
    setting(cfg, "power.name", "str", nonempty=True, **f)
    population = setting(cfg, "power.population", "str", nonempty=True, **f)
    setting(cfg, "power.seed", "int", minimum=0, **f)
    setting(cfg, "power.alpha", "float", above=0, maximum=0.5, **f)
    setting(cfg, "power.target", "float", above=0, maximum=0.999, **f)
    category = setting(cfg, "power.category", "str", nonempty=True, **f)
    setting(cfg, "power.outcome", "str", nonempty=True, **f)
    setting(cfg, "power.n_per_cell", "list[int]", minimum=5, nonempty=True, **f)
    setting(cfg, "power.population_n_per_cell", "int", minimum=MIN_POPULATION_N, **f)
    setting(cfg, "power.simulation_reps", "int", minimum=1, **f)
    setting(cfg, "power.simulation_reps_scalar", "int", minimum=1, **f)
    setting(cfg, "power.simulation_n_per_cell", "list[int]", minimum=5, nonempty=True, **f)
    for key in ("connection", "interaction", "noninvariance_shift", "contrast",
                "equivalence_difference"):
        setting(cfg, f"power.effects.{key}", "float", minimum=-1, maximum=1, **f)
    setting(cfg, "power.effects.equivalence_margin", "float", above=0, maximum=2, **f)
    setting(cfg, "power.effects.connected_share", "float", above=0, maximum=0.99, **f)
    setting(cfg, "power.equivalence_cells", "int", minimum=1, **f)
    setting(cfg, "power.simulation_reps_at_n80", "int", minimum=1, **f)
    setting(cfg, "power.effects.noninvariance_item", "str", nonempty=True, **f)
    pop_path = path.parent / population
    if pop_path.resolve() == path.resolve():
        raise ConfigError("power.population names the power config itself", **f,
                          values=[population])
    study_cfg = read_toml(pop_path, what="population config")
    g = {"file": pop_path}
    setting(study_cfg, "population", "table", **g)
    setting(study_cfg, "population.groups", "list[str]", nonempty=True, **g)
    categories = setting(study_cfg, "population.categories", "list[str]", nonempty=True, **g)
    if len(study_cfg["population"]["groups"]) < 2:
        raise ConfigError("the power study compares two groups; population.groups has fewer",
                          values=study_cfg["population"]["groups"], **g)
    outcomes = study_cfg["population"].get("outcomes")
    if isinstance(outcomes, dict) and cfg["power"]["outcome"] not in outcomes:
        raise ConfigError("power.outcome is not an outcome of the population", **f,
                          values=[cfg["power"]["outcome"]],
                          expected="one of " + ", ".join(outcomes))
    if category not in categories:
        raise ConfigError("power.category is not a category of the population", **f,
                          values=[category], expected="one of " + ", ".join(categories))
    return cfg, study_cfg


# the smallest "large" sample per cell that still gives usable population moments
MIN_POPULATION_N = 1000


def run(argv: list[str] | None = None) -> dict:
    from connection import plots
    from connection._flags import format_flags
    from connection.plots import studies as study_plots
    from connection.simulation import (
        chisq_power,
        composite_scores,
        ols_moments,
        scalar_ncp,
        slope_difference_power,
        slope_power,
    )
    from connection.study import (
        Study,
        check_results_folder,
        flags_from_warnings,
        parse_study_args,
        study_parser,
        worker_pool,
    )

    parser = study_parser("power_social_moms.py", __doc__.split("\n\n")[0],
                          config=DEFAULT_CONFIG, out="results/<power.name>", seed=True)
    parser.add_argument("--reps", type=int, default=None, help="Monte Carlo replicates")
    parser.add_argument("--scalar-reps", type=int, default=None,
                        help="Monte Carlo replicates of the scalar test (default: --reps or the "
                             "config's simulation_reps_scalar)")
    parser.add_argument("--reps-at-n80", type=int, default=None,
                        help="Monte Carlo replicates of each test at its own n80 (default: the "
                             "config's simulation_reps_at_n80)")
    parser.add_argument("--population-n", type=int, default=None,
                        help="respondents per cell of the large population sample")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes for the Monte Carlo replicates of the scalar test "
                             "(default 0: serial; the outputs do not depend on it)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (tcp://host:8786) to run the "
                             "Monte Carlo replicates on instead of --workers")
    # the README's reproduce command passes the main study's options to every study: accept them
    args = parse_study_args(parser, argv, ignore_unknown=True, minimums={
        "--reps": 1, "--scalar-reps": 1, "--reps-at-n80": 1, "--population-n": MIN_POPULATION_N,
        "--workers": 0})

    cfg_path = Path(args.config)
    cfg, study_cfg = read_config(cfg_path)
    pw = cfg["power"]
    seed = int(args.seed if args.seed is not None else pw["seed"])
    reps = int(args.reps if args.reps is not None else pw["simulation_reps"])
    scalar_reps = int(args.scalar_reps if args.scalar_reps is not None
                      else args.reps if args.reps is not None else pw["simulation_reps_scalar"])
    big_n = int(args.population_n if args.population_n is not None
                else pw["population_n_per_cell"])
    out = Path(args.out) if args.out else ROOT.parent / "results" / pw["name"]
    alpha, target = float(pw["alpha"]), float(pw["target"])
    category, outcome = pw["category"], pw["outcome"]
    eff = pw["effects"]
    grid = np.asarray(pw["n_per_cell"], dtype=int)

    pop_path = cfg_path.parent / pw["population"]
    inputs = [cfg_path, pop_path]
    check_results_folder(out, pw["name"], inputs)
    # the population model is checked by building it, before the results folder is touched
    _population(study_cfg, category, path=pop_path)
    study = Study(pw["name"], out, seed=seed, config=cfg, config_path=cfg_path,
                  argv=list(sys.argv if argv is None else argv), verbose=not args.quiet,
                  steps_total=6, inputs=inputs)
    seeds = np.random.SeedSequence(seed).spawn(6)
    groups = study_cfg["population"]["groups"]
    g_hi, g_ref = groups[0], groups[1]
    rows, moments = [], []
    n_cells_eq = int(pw["equivalence_cells"])

    with study.step(f"population moments ({big_n:,} respondents per cell, 3 populations)"):
        # (a) connection effect in the reference cell
        pop_a = _population(study_cfg, category, {"outcomes": {outcome: {
            "connection": float(eff["connection"]), "group_interaction": 0.0}}}, pop_path)
        frames_a = _cell_frames(pop_a, big_n, seeds[0], category)
        data, _ = frames_a[g_ref]
        sc = composite_scores(data, pop_a.items, ["connection", "satisfaction", outcome])
        beta, s2, inv = ols_moments(sc[["connection", "satisfaction"]].to_numpy(),
                                     sc[outcome].to_numpy())
        moments_a = {"beta_connection_observed": beta[0], "beta_satisfaction_observed": beta[1],
                     "residual_variance": s2, "sxx_inv_connection": inv[0, 0]}
        moments += [("connection_effect", k, v, "") for k, v in moments_a.items()]

        # (b) interaction: the connection slope differs between the two groups
        pop_b = _population(study_cfg, category, {"outcomes": {outcome: {
            "group_interaction": float(eff["interaction"])}}}, pop_path)
        frames_b = _cell_frames(pop_b, big_n, seeds[1], category)
        slope, var = {}, {}
        for g in (g_hi, g_ref):
            data, _ = frames_b[g]
            sc = composite_scores(data, pop_b.items, ["connection", "satisfaction", outcome])
            b, s2_g, inv_g = ols_moments(sc[["connection", "satisfaction"]].to_numpy(),
                                          sc[outcome].to_numpy())
            slope[g], var[g] = b[0], s2_g * inv_g[0, 0]
            moments += [("interaction", f"beta_connection_observed.{g}", b[0], ""),
                        ("interaction", f"slope_variance_times_n.{g}", var[g], "")]
        diff_b = slope[g_hi] - slope[g_ref]

        # (d) the connection-minus-satisfaction contrast on standardized composites
        pop_d, moments_d = _contrast_moments(study_cfg, category, outcome, eff, big_n,
                                             seeds[3], pop_path)
        moments += [("contrast", k, v, "") for k, v in moments_d.items()
                    if not k.startswith("sd.")]

        # (c) scalar non-invariance of one connection item, and the same without it: the
        # metric and scalar models fitted to the population moments by the engine
        item, shift = eff["noninvariance_item"], float(eff["noninvariance_shift"])
        ncps, pops_c, ncp_flags = {}, {}, {}
        for label, over in (("with_shift", {"threshold_shifts": {item: {category: {g_hi: shift}}}}),
                            ("no_shift", {})):
            pop_c = pops_c[label] = _population(study_cfg, category, over, pop_path)
            sim_c = pop_c.simulate(big_n * 2, seed=seeds[2])
            # scalar_ncp returns a number only: the admissibility warnings of its two fits are
            # the flags of the noncentrality (and of the power and n computed from it)
            with flags_from_warnings() as caught:
                ncps[label] = scalar_ncp(pop_c, sim_c.data, category, (g_hi, g_ref))
            ncp_flags[label] = format_flags(caught)
            moments.append(("scalar_noninvariance", f"ncp_per_respondent_per_group.{label}",
                            ncps[label], ncp_flags[label]))
        cols = pop_c.items.loc[pop_c.items["latent"] == "connection", "item"].tolist()
        df_c = len(cols) - 1

    with study.step("analytic power curves"):
        fns = {
            "connection effect": lambda n: slope_power(
                n, moments_a["beta_connection_observed"], moments_a["residual_variance"],
                moments_a["sxx_inv_connection"], alpha=alpha),
            "connection x group interaction": lambda n: slope_difference_power(
                n, diff_b, var[g_hi], var[g_ref], alpha=alpha),
            "scalar non-invariance": lambda n: chisq_power(
                np.asarray(n, dtype=float) * ncps["with_shift"], df_c, alpha=alpha),
            "connection - satisfaction contrast": lambda n: slope_power(
                n, moments_d["beta_difference"], moments_d["residual_variance"],
                moments_d["contrast_sxx_inv"], alpha=alpha),
            "equivalence of satisfaction": lambda n: tost_power(
                np.asarray(n, dtype=float) * n_cells_eq, float(eff["equivalence_difference"]),
                float(eff["equivalence_margin"]), float(eff["connected_share"]), alpha=alpha),
        }
        # what the scalar test does with no shifted item: ordinal items analysed as continuous
        # still leave a little mean-structure misfit (the test's false-alarm rate grows with n)
        artifact = lambda n: chisq_power(np.asarray(n, dtype=float) * ncps["no_shift"],  # noqa: E731
                                         df_c, alpha=alpha)
        # ``inadmissible``: Monte Carlo replicates whose fits were flagged (none here: no
        # replicates); ``flags``: those of the population fits a curve comes from
        curve_flags = {"scalar non-invariance": ncp_flags["with_shift"]}
        for test, fn in fns.items():
            for n, p in zip(grid, fn(grid)):
                rows.append({"test": test, "method": "analytic", "n_per_cell": int(n),
                             "power": float(p), "ci_lower": np.nan, "ci_upper": np.nan,
                             "reps": 0, "inadmissible": 0, "flags": curve_flags.get(test, "")})
        for n, p in zip(grid, artifact(grid)):
            rows.append({"test": "scalar test, no shifted item (false alarms)",
                         "method": "analytic", "n_per_cell": int(n), "power": float(p),
                         "ci_lower": np.nan, "ci_upper": np.nan, "reps": 0, "inadmissible": 0,
                         "flags": ncp_flags["no_shift"]})
        n80 = []
        for test, fn in fns.items():
            n_needed = _n_for(fn, target)
            n80.append({"test": test, "n_per_cell": n_needed, "target_power": target,
                        "alpha": alpha})
        n80 = pd.DataFrame(n80)
        n80["effect"] = [f"latent beta {eff['connection']:g} beyond satisfaction",
                         f"slope difference {eff['interaction']:g} ({g_hi} - {g_ref})",
                         f"{item} thresholds shifted {shift:g} SD for {g_hi}; chi-square df {df_c}",
                         f"latent beta(connection) - beta(satisfaction) = {eff['contrast']:g}, "
                         "standardized composites, one cell",
                         f"true d {eff['equivalence_difference']:g}, margin "
                         f"+-{eff['equivalence_margin']:g} SD, {eff['connected_share']:g} "
                         f"connected, {n_cells_eq} cells pooled"]
        n80["false_alarm_rate_at_n"] = [np.nan, np.nan, float(artifact(n80["n_per_cell"].iloc[2]))
                                        if np.isfinite(n80["n_per_cell"].iloc[2]) else np.nan,
                                        np.nan, np.nan]
        n80["flags"] = ["", "", format_flags(f for f in ncp_flags.values() if f), "", ""]

    with study.step(f"Monte Carlo check of the OLS tests ({reps} replicates per n)"):
        from scipy import stats

        sim_seeds = np.random.SeedSequence(seed + 1).spawn(len(pw["simulation_n_per_cell"]))
        for n, s in zip(pw["simulation_n_per_cell"], sim_seeds):
            n = int(n)
            s_a, s_b = s.spawn(2)
            fa = _cell_frames(pop_a, n * reps, s_a, category)[g_ref][0]
            sc = composite_scores(fa, pop_a.items, ["connection", "satisfaction", outcome])
            x = sc[["connection", "satisfaction"]].to_numpy().reshape(reps, n, 2)
            y = sc[outcome].to_numpy().reshape(reps, n)
            t, _, _ = _ols_t(x, y, 0)
            crit = stats.t.ppf(1 - alpha / 2, n - 3)
            k = int(np.sum(np.abs(t) > crit))
            lo, hi = _wilson(k, reps)
            rows.append({"test": "connection effect", "method": "simulation", "n_per_cell": n,
                         "power": k / reps, "ci_lower": lo, "ci_upper": hi, "reps": reps,
                         "inadmissible": 0, "flags": ""})
            fb = _cell_frames(pop_b, n * reps, s_b, category)
            est = {}
            for g in (g_hi, g_ref):
                sc = composite_scores(fb[g][0], pop_b.items, ["connection", "satisfaction", outcome])
                x = sc[["connection", "satisfaction"]].to_numpy().reshape(reps, n, 2)
                y = sc[outcome].to_numpy().reshape(reps, n)
                _, b, v = _ols_t(x, y, 0)
                est[g] = (b, v)
            z = (est[g_hi][0] - est[g_ref][0]) / np.sqrt(est[g_hi][1] + est[g_ref][1])
            crit = stats.t.ppf(1 - alpha / 2, 2 * (n - 3))
            k = int(np.sum(np.abs(z) > crit))
            lo, hi = _wilson(k, reps)
            rows.append({"test": "connection x group interaction", "method": "simulation",
                         "n_per_cell": n, "power": k / reps, "ci_lower": lo, "ci_upper": hi,
                         "reps": reps, "inadmissible": 0, "flags": ""})
        checks = {"connection effect": lambda n, r, s: _mc_connection(
                      pop_a, n, r, s, category, g_ref, outcome, alpha),
                  "connection x group interaction": lambda n, r, s: _mc_interaction(
                      pop_b, n, r, s, category, (g_hi, g_ref), outcome, alpha),
                  "connection - satisfaction contrast": lambda n, r, s: _mc_contrast(
                      pop_d, moments_d, n, r, s, category, g_ref, outcome, alpha),
                  "equivalence of satisfaction": lambda n, r, s: tost_simulation(
                      n * n_cells_eq, float(eff["equivalence_difference"]),
                      float(eff["equivalence_margin"]), float(eff["connected_share"]), r, s,
                      alpha=alpha)}
        at_n80 = int(args.reps_at_n80 if args.reps_at_n80 is not None
                     else pw["simulation_reps_at_n80"])
        extra = [(t, int(n), reps) for t in list(checks)[2:] for n in pw["simulation_n_per_cell"]]
        extra += [(t, int(n80.set_index("test").loc[t, "n_per_cell"]), at_n80) for t in checks
                  if np.isfinite(n80.set_index("test").loc[t, "n_per_cell"])]
        for (test, n, r), s in zip(extra, np.random.SeedSequence(seed + 3).spawn(len(extra))):
            k = int(checks[test](n, r, s))
            lo, hi = _wilson(k, r)
            rows.append({"test": test, "method": "simulation", "n_per_cell": n,
                         "power": k / r, "ci_lower": lo, "ci_upper": hi, "reps": r,
                         "inadmissible": 0, "flags": ""})

    with study.step(f"Monte Carlo check of the scalar test ({scalar_reps} replicates per n)"):
        from functools import partial

        from connection.simulation import monte_carlo

        model_c = pops_c["with_shift"].instrument.model_syntax("connection")
        inadmissible: dict[int, tuple[int, int]] = {}
        sim_seeds = np.random.SeedSequence(seed + 2).spawn(len(pw["simulation_n_per_cell"]))
        with worker_pool(args.scheduler or args.workers) as executor:
            for n, s in zip(pw["simulation_n_per_cell"], sim_seeds):
                n = int(n)
                # replicate i gets child i of s (as s.spawn(scalar_reps)): the same numbers
                # serially or on any number of workers
                reps_c = monte_carlo(partial(_scalar_replicate, population=pops_c["with_shift"],
                                             model=model_c, n=n, alpha=alpha),
                                     scalar_reps, seed=s, executor=executor)
                p = np.array([v[0] for v in reps_c.values])
                # a replicate whose metric or scalar fit is inadmissible stays in the estimate
                # (it is part of what the test does at this n); how many there were is recorded
                bad = int(sum(v[1] for v in reps_c.values))
                used = int(np.isfinite(p).sum())
                k = int(np.sum(p[np.isfinite(p)] < alpha))
                lo, hi = _wilson(k, used)
                rows.append({"test": "scalar non-invariance", "method": "simulation",
                             "n_per_cell": n, "power": k / used, "ci_lower": lo, "ci_upper": hi,
                             "reps": used, "inadmissible": bad, "flags": ""})
                inadmissible[n] = (bad, scalar_reps)

    table = pd.DataFrame(rows)
    with study.step("tables and numbers"):
        study.table("power", table)
        study.table("n80", n80)
        study.table("population_moments", pd.DataFrame(moments, columns=["test", "quantity",
                                                                          "value", "flags"]))
        keys = {"connection effect": "connection_effect",
                "connection x group interaction": "interaction",
                "scalar non-invariance": "scalar_noninvariance",
                "connection - satisfaction contrast": "contrast",
                "equivalence of satisfaction": "equivalence"}
        # each n carries the flags of the population fits its curve comes from
        study.number_table("n80", n80.assign(key=n80["test"].map(keys),
                                             curve_flags=n80["test"].map(curve_flags)),
                           key="key", value="n_per_cell", flags_column="curve_flags")
        for n, (bad, total) in inadmissible.items():
            base = f"simulation.scalar_noninvariance.n{n}"
            study.number(f"{base}.inadmissible", bad)
            study.number(f"{base}.inadmissible_share", bad / total)
        study.number("effects.connection", float(eff["connection"]))
        study.number("effects.interaction", float(eff["interaction"]))
        study.number("effects.noninvariance_shift", shift)
        study.number("effects.noninvariance_item", item)
        for key in ("contrast", "equivalence_difference", "equivalence_margin",
                    "connected_share"):
            study.number(f"effects.{key}", float(eff[key]))
        study.number("equivalence_cells", n_cells_eq)
        study.number("observed.beta_difference", float(moments_d["beta_difference"]))
        # power of the two headline tests at given sizes per cell, and the Monte Carlo at each
        # test's own n for the target power (the check reaches the quoted sizes)
        for n_at in pw["n_per_cell"]:
            for test, key in (("equivalence of satisfaction", "equivalence"),
                              ("connection - satisfaction contrast", "contrast")):
                study.number(f"power_at.{key}.n{n_at}", float(fns[test](np.array([n_at]))[0]))
        mc80 = table[(table["method"] == "simulation") & (table["reps"] == at_n80)]
        for r in mc80.itertuples():
            if r.n_per_cell == n80.set_index("test").loc[r.test, "n_per_cell"]:
                study.number(f"check_at_n80.{keys[r.test]}.power", float(r.power))
                study.number(f"check_at_n80.{keys[r.test]}.ci_lower", float(r.ci_lower))
                study.number(f"check_at_n80.{keys[r.test]}.ci_upper", float(r.ci_upper))
                study.number(f"check_at_n80.{keys[r.test]}.reps", int(r.reps))
        study.number("alpha", alpha)
        study.number("target_power", target)
        study.number("observed.beta_connection", moments_a["beta_connection_observed"])
        study.number("observed.slope_difference", float(diff_b))
        sim = table[table["method"] == "simulation"].merge(
            table[table["method"] == "analytic"][["test", "n_per_cell", "power"]],
            on=["test", "n_per_cell"], how="left", suffixes=("", "_analytic"))
        study.number("check.max_abs_gap", float(np.nanmax(np.abs(
            sim["power"] - sim["power_analytic"]))) if sim["power_analytic"].notna().any()
            else float("nan"))

    with study.step("figure"):
        plots.theme()
        # the table as written (power.csv, n80.csv): the paper draws the same figure from them
        fig = study_plots.power_curve(table, target=target, n_target=n80)
        study.figure("power_curve", fig)
    study.finish()
    return {"n80": n80, "power": table, "study": study}


def _standardized(pop, frame, outcome, sd):
    from connection.simulation import composite_scores

    sc = composite_scores(frame, pop.items, ["connection", "satisfaction", outcome])
    return sc[["connection", "satisfaction", outcome]] / pd.Series(sd)


def _contrast_moments(study_cfg, category, outcome, eff, big_n, seed, pop_path):
    """The contrast population (connection's latent effect = satisfaction's + ``contrast``) and
    the population moments of the standardized composites in its reference cell."""
    from connection.simulation import composite_scores, ols_moments

    sat = float(study_cfg["population"]["outcomes"][outcome]["satisfaction"])
    pop = _population(study_cfg, category, {"outcomes": {outcome: {
        "connection": sat + float(eff["contrast"]), "group_interaction": 0.0}}}, pop_path)
    g_ref = study_cfg["population"]["groups"][1]
    data, _ = _cell_frames(pop, big_n, seed, category)[g_ref]
    sc = composite_scores(data, pop.items, ["connection", "satisfaction", outcome])
    sd = {c: float(sc[c].std()) for c in ("connection", "satisfaction", outcome)}
    z = sc[list(sd)] / pd.Series(sd)
    beta, s2, inv = ols_moments(z[["connection", "satisfaction"]].to_numpy(),
                                z[outcome].to_numpy())
    out = {"beta_connection_std": beta[0], "beta_satisfaction_std": beta[1],
           "beta_difference": beta[0] - beta[1], "residual_variance": s2,
           "contrast_sxx_inv": inv[0, 0] + inv[1, 1] - 2 * inv[0, 1]}
    out.update({f"sd.{k}": v for k, v in sd.items()})
    return pop, out


def _ols_batches(pop, n, reps, seed, category, group, outcome, *, sd=None, max_rows=400_000):
    """(x, y) of ``reps`` samples of ``n`` respondents of one cell, simulated in chunks."""
    from connection.simulation import composite_scores

    per = max(1, max_rows // (2 * n))
    sizes = [min(per, reps - i) for i in range(0, reps, per)]
    for m, s in zip(sizes, seed.spawn(len(sizes))):
        frame = _cell_frames(pop, n * m, s, category)[group][0]
        sc = composite_scores(frame, pop.items, ["connection", "satisfaction", outcome])
        if sd is not None:
            sc = sc[list(sd)] / pd.Series(sd)
        yield (sc[["connection", "satisfaction"]].to_numpy().reshape(m, n, 2),
               sc[outcome].to_numpy().reshape(m, n))


def _mc_connection(pop, n, reps, seed, category, group, outcome, alpha) -> int:
    from scipy import stats

    crit = stats.t.ppf(1 - alpha / 2, n - 3)
    return sum(int(np.sum(np.abs(_ols_t(x, y, 0)[0]) > crit))
               for x, y in _ols_batches(pop, n, reps, seed, category, group, outcome))


def _mc_contrast(pop, moments, n, reps, seed, category, group, outcome, alpha) -> int:
    from scipy import stats

    sd = {k[3:]: v for k, v in moments.items() if k.startswith("sd.")}
    crit = stats.t.ppf(1 - alpha / 2, n - 3)
    return sum(int(np.sum(np.abs(_ols_contrast_t(x, y)) > crit))
               for x, y in _ols_batches(pop, n, reps, seed, category, group, outcome, sd=sd))


def _mc_interaction(pop, n, reps, seed, category, groups, outcome, alpha) -> int:
    from scipy import stats

    crit = stats.t.ppf(1 - alpha / 2, 2 * (n - 3))
    hits = 0
    s_hi, s_ref = seed.spawn(2)
    # each group's replicates from its own stream; replicate i of one group meets replicate i
    # of the other
    est = {}
    for g, s in zip(groups, (s_hi, s_ref)):
        parts = [_ols_t(x, y, 0) for x, y in _ols_batches(pop, n, reps, s, category, g, outcome)]
        est[g] = (np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))
    z = (est[groups[0]][0] - est[groups[1]][0]) / np.sqrt(est[groups[0]][1] + est[groups[1]][1])
    hits = int(np.sum(np.abs(z) > crit))
    return hits


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


if __name__ == "__main__":
    from connection.study import run_cli

    sys.exit(run_cli(main, prog="power_social_moms.py"))
