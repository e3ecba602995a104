#!/usr/bin/env python3
"""Benchmarks of the social-moms study: wall time at n = 20,000 and parameter recovery.

    python benchmarks/bench_study.py [--n 20000] [--reps 200] [--n-per-cell 500] [--skip-study]
                                     [--out results/bench_study]

1. Runs ``studies/social_moms.py`` end to end at ``--n`` respondents (default bootstrap counts)
   and prints the time per step and in total (the target: under 2 minutes on 2 cores).
2. Parameter recovery over repeated simulated studies: for ``--reps`` samples of ``--n-per-cell``
   respondents per cell, fits the structural model (outcome latents on connection and
   satisfaction) in every cell and reports, per parameter, the true value, the mean estimate,
   its bias, the empirical SD against the mean standard error, and the coverage of the 95%
   intervals; written to ``<out>/recovery.csv``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def time_study(n: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "studies" / "social_moms.py"), "--n", str(n),
                        "--out", out, "--quiet"], check=True, cwd=ROOT,
                       env={**__import__("os").environ, "MPLBACKEND": "Agg"})
        wall = time.perf_counter() - start
        manifest = json.loads((Path(out) / "manifest.json").read_text())
    return {"wall_seconds": wall, "steps": manifest["timings_seconds"]}


def recovery(reps: int, n_per_cell: int, seed: int = 1, estimator: str = "WLSMV"
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    import connection as cx
    from connection.simulation._population import Population, load_config, recover

    cfg = load_config(ROOT / "studies" / "social_moms.toml")
    pop = Population.from_config(cfg["population"], calibration=cfg["calibration"])
    n_cells = len(pop.cells)
    runs = []
    for i, s in enumerate(np.random.SeedSequence(seed).spawn(reps)):
        sim = pop.simulate(n_per_cell * n_cells, seed=s)
        survey = cx.read_survey(sim.data, pop.instrument, id_column=pop.id_column, warn=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = recover(pop, survey.data, estimator=estimator)
        rec.insert(0, "rep", i)
        runs.append(rec)
    all_runs = pd.concat(runs, ignore_index=True)
    keys = ["category", "group", "outcome", "predictor"]
    summary = all_runs.groupby(keys, sort=False).agg(
        true=("true", "first"), mean_estimate=("estimate", "mean"),
        empirical_sd=("estimate", "std"), mean_se=("se", "mean"), coverage=("covered", "mean"),
        converged=("converged", "mean")).reset_index()
    summary["bias"] = summary["mean_estimate"] - summary["true"]
    summary["reps"] = reps
    summary["n_per_cell"] = n_per_cell
    return summary, all_runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--n-per-cell", type=int, default=500)
    p.add_argument("--skip-study", action="store_true")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_study"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.skip_study:
        t = time_study(args.n)
        print(f"social_moms.py at n = {args.n:,}: {t['wall_seconds']:.1f} s wall (process)")
        for step, secs in t["steps"].items():
            print(f"  {secs:7.2f} s  {step}")
        (out / "study_time.json").write_text(json.dumps({"n": args.n, **t}, indent=2) + "\n")
    start = time.perf_counter()
    summary, runs = recovery(args.reps, args.n_per_cell)
    secs = time.perf_counter() - start
    print(f"\nparameter recovery: {args.reps} studies x {args.n_per_cell} per cell "
          f"({secs:.1f} s)")
    with pd.option_context("display.width", 160):
        print(summary.round(3).to_string(index=False))
    print(f"overall coverage of 95% intervals: {runs['covered'].mean():.3f} "
          f"({len(runs)} intervals); mean |bias| {summary['bias'].abs().mean():.4f}")
    summary.to_csv(out / "recovery.csv", index=False, float_format="%.6g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
