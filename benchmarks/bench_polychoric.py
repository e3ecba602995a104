#!/usr/bin/env python3
"""Speed of :func:`connection.latent._polychoric.polychoric` against ``lavaan::lavCor``, in one run.

    python benchmarks/bench_polychoric.py [--sizes 10000 100000] [--items 30] [--reps 3]
                                          [--skip-lavaan]

Simulated five-point items (seeded; one factor, loadings .5-.8, cuts -1.6, -0.6, 0.3, 1.2). For
each n, the same data are timed in this run by ours and by lavaan inside ``Rscript`` (data passed
as CSV and read before the clock starts; ``system.time`` in R, so R start-up is excluded):

* ``cor``: correlations and thresholds only: ``polychoric(..., gamma=False)`` against
  ``lavCor(d, ordered = names(d))``;
* ``gamma``: plus standard errors and Gamma (what WLSMV needs): ``polychoric(...)`` against
  ``lavCor(d, ordered = names(d), se = "standard", output = "fit")``.

Ours is the median of ``--reps`` calls after one warm-up call; lavaan's is one call. With
``--skip-lavaan`` the lavaan timing recorded by tests/references/ordinal/make_polychoric_references.R
(timing.json, 30 items, n = 1e4, measured on the machine it ran on) is shown instead, marked as
such. Target (issue 14): the whole WLSMV at least 10x faster than lavaan; this is its first step.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connection.latent._polychoric import polychoric  # noqa: E402

R_CODE = r"""
suppressMessages(library(lavaan))
d <- read.csv(commandArgs(TRUE)[1])
t1 <- system.time(lavCor(d, ordered = names(d)))[["elapsed"]]
t2 <- system.time(lavCor(d, ordered = names(d), se = "standard", output = "fit"))[["elapsed"]]
cat(t1, t2, "\n")
"""


def simulate(n: int, p: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal(n)
    lam = 0.5 + 0.3 * (np.arange(1, p + 1) % 4) / 3
    ys = lam * eta[:, None] + np.sqrt(1 - lam**2) * rng.standard_normal((n, p))
    return pd.DataFrame(np.digitize(ys, [-1.6, -0.6, 0.3, 1.2]) + 1,
                        columns=[f"V{j + 1}" for j in range(p)])


def time_ours(data: pd.DataFrame, gamma: bool, reps: int) -> float:
    polychoric(data, gamma=gamma)           # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        polychoric(data, gamma=gamma)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def time_lavaan(data: pd.DataFrame) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "t.R"
        data.to_csv(csv, index=False)
        script.write_text(R_CODE)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True,
                             check=True)
    t1, t2 = (float(v) for v in out.stdout.split())
    return t1, t2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-lavaan", action="store_true")
    args = ap.parse_args()
    recorded = json.loads((ROOT / "tests/references/ordinal/timing.json").read_text())
    warnings.simplefilter("ignore")
    print(f"{'n':>8} {'p':>4} {'part':>6} {'ours s':>9} {'lavaan s':>9} {'ratio':>7}  lavaan from")
    for n in args.sizes:
        data = simulate(n, args.items)
        lav = None if args.skip_lavaan else time_lavaan(data)
        source = "this run"
        if lav is None:
            if n == recorded["n"] and args.items == recorded["items"]:
                lav = (recorded["lavcor_cor_seconds"], recorded["lavcor_fit_gamma_seconds"])
                source = "timing.json (recorded)"
            else:
                lav = (float("nan"), float("nan"))
                source = "not timed"
        for part, gamma, lt in (("cor", False, lav[0]), ("gamma", True, lav[1])):
            ours = time_ours(data, gamma, args.reps)
            print(f"{n:>8} {args.items:>4} {part:>6} {ours:>9.3f} {lt:>9.3f} {lt / ours:>6.1f}x  "
                  f"{source}")


if __name__ == "__main__":
    main()
