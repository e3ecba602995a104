#!/usr/bin/env python3
"""Moments of a survey larger than memory: the package's partition-wise pass against Dask's own
covariance, and against the in-memory path, on the same Parquet files in the same run.

    python benchmarks/bench_dask.py [--n 1000000] [--rows-per-file 1000000] [--seed 18]
                                    [--dir DIR] [--keep] [--skip-in-memory]

1. Writes ``n`` rows x 30 five-point Likert items (``int8`` columns; three correlated factors
   of ten items each) as Parquet files of ``--rows-per-file`` rows, file ``k`` drawn from child
   ``k`` of ``--seed`` (the same files whatever the machine).
2. Times, each in its own subprocess (so each peak memory is its own: ``ru_maxrss``):
   * ``package``: ``connection.stats.sample_moments(dd.read_parquet(dir))`` (per-pattern
     ``(n, mean, M2)`` per partition, merged by Chan et al.; missing-data patterns counted),
     Dask's threaded scheduler;
   * ``cfa``: ``connection.cfa(<three-factor model>, dd.read_parquet(dir))`` by ML: the same
     moment pass, then the optimisation in memory (the fit's covariance is the sample one);
   * ``cfa_fiml``: the same model by FIML (``missing="ml"``) after about 5% of the values of
     the first item of each factor are set missing in each partition (seeded by the
     partition's number; 8 missing-data patterns); its ``cov`` is the saturated (EM) one;
   * ``invariance`` / ``invariance_in_memory``: the ML ladder of the three-factor model across
     two groups (``g``, drawn per partition from its number) by ``connection.invariance`` on
     the Dask frame (two passes over the files for every step and partial fit) and on the
     frame computed into memory (reading included);
   * ``dask_cov``: ``dd.read_parquet(dir).cov()`` (Dask's own covariance), the same scheduler;
   * ``in_memory``: ``pandas.read_parquet(dir)`` then the engine's in-memory moments
     (``connection.latent.samplestats.stats_from_rows``, what ``cfa()`` does today), unless
     ``--skip-in-memory`` (it needs ~8 bytes x 30 x n of memory).
   BLAS runs single-threaded in every phase (Dask runs one thread per core).
3. Prints the wall and CPU times (CPU: all threads of the phase; less sensitive to other
   work on the machine than the wall time), the peak resident memory of each, the ratios and the largest difference
   between the package's covariance (divisor n - 1) and Dask's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
P, FACTORS = 30, 3


def _chunk(seed: np.random.SeedSequence, rows: int):
    """One file's rows: three factors (correlation 0.4), loadings 0.6-0.8, cut to 1..5."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    phi = np.full((FACTORS, FACTORS), 0.4) + 0.6 * np.eye(FACTORS)
    f = rng.standard_normal((rows, FACTORS)) @ np.linalg.cholesky(phi).T
    lam = np.linspace(0.6, 0.8, P // FACTORS)
    cols = {}
    for j in range(P):
        k, load = divmod(j, P // FACTORS)
        y = lam[load] * f[:, k] + np.sqrt(1 - lam[load] ** 2) * rng.standard_normal(rows)
        cols[f"q{j + 1:02d}"] = (np.digitize(y, [-1.5, -0.5, 0.5, 1.5]) + 1).astype(np.int8)
    return pd.DataFrame(cols)


def write(directory: Path, n: int, per_file: int, seed: int) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = -(-n // per_file)
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(files)):
        rows = min(per_file, n - k * per_file)
        table = pa.Table.from_pandas(_chunk(child, rows), preserve_index=False)
        pq.write_table(table, directory / f"part{k:05d}.parquet")
    return time.perf_counter() - t0


def _holes(frame, share: float = 0.05, partition_info=None):
    """The partition as floats with about ``share`` of the values of the first item of each
    factor missing (up to 8 missing-data patterns; the partition's number seeds the draw: the
    same holes whatever the scheduler)."""
    number = 0 if partition_info is None else partition_info["number"]
    rng = np.random.default_rng([18, number])
    out = frame.astype("float64")
    for col in out.columns[::P // FACTORS]:
        out.loc[rng.random(len(out)) < share, col] = np.nan
    return out


def _grouped(frame, partition_info=None):
    """The partition with a group column ``g`` ("a"/"b", about half each; the partition's
    number seeds the draw: the same groups whatever the scheduler)."""
    number = 0 if partition_info is None else partition_info["number"]
    rng = np.random.default_rng([19, number])
    return frame.assign(g=np.where(rng.random(len(frame)) < 0.5, "a", "b"))


def _model() -> str:
    k = P // FACTORS
    return "\n".join(f"f{f + 1} =~ " + " + ".join(f"q{f * k + j + 1:02d}" for j in range(k))
                     for f in range(FACTORS))


def _phase(name: str, directory: Path) -> dict:
    """One measurement (run in a subprocess of its own; imports are not timed)."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from connection.latent.samplestats import stats_from_rows
    from connection.stats import sample_moments

    t0, c0 = time.perf_counter(), time.process_time()
    extra: dict = {}
    if name == "package":
        with dask.config.set(scheduler="threads"):
            r = sample_moments(dd.read_parquet(directory))
        cov, n = r.cov_unbiased[None], r.n[None]
        extra = {"patterns": len(r.patterns), "left_out": r.excluded["listwise"]}
    elif name in ("cfa", "cfa_fiml"):
        import connection as cx

        k = P // FACTORS
        model = "\n".join(f"f{f + 1} =~ " + " + ".join(f"q{f * k + j + 1:02d}" for j in range(k))
                          for f in range(FACTORS))
        data = dd.read_parquet(directory)
        kw = {}
        if name == "cfa_fiml":
            data, kw = data.map_partitions(_holes, meta=data.dtypes.map(lambda _: "f8")
                                           .to_dict()), {"missing": "ml"}
        with dask.config.set(scheduler="threads"):
            fit = cx.cfa(model, data, estimator="ML", **kw)
        n = int(fit.nobs) if np.ndim(fit.nobs) == 0 else int(np.sum(fit.nobs))
        st = fit.estimation.stats[0]
        cov = np.asarray(st.cov) * n / (n - 1)
        patterns = sum(len(s.patterns) for s in fit.estimation.stats) if kw else 1
        extra = {"chisq": float(fit.fit_measures["chisq"]), "cfi": float(fit.fit_measures["cfi"]),
                 "patterns": patterns, "left_out": 0}
    elif name in ("invariance", "invariance_in_memory"):
        import connection as cx

        data = dd.read_parquet(directory)
        data = data.map_partitions(_grouped, meta={**data.dtypes.to_dict(), "g": "object"})
        with dask.config.set(scheduler="threads"):
            if name == "invariance_in_memory":
                data = data.compute()
            res = cx.invariance(_model(), data, group="g", estimator="ML")
        table = res.table
        n = None
        cov = [[0.0]]
        extra = {"steps": table["step"].tolist(), "chisq": table["chisq"].tolist(),
                 "strongest": res.strongest, "fits": len(res.fits)}
    elif name == "dask_cov":
        with dask.config.set(scheduler="threads"):
            cov = dd.read_parquet(directory).cov().compute().to_numpy()
        n = None
    else:
        frame = pd.read_parquet(directory)
        st = stats_from_rows(frame.to_numpy(dtype=np.float64), keep_data=False)
        n = st.n
        cov = st.cov * n / (n - 1)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"phase": name, "seconds": seconds, "cpu": cpu, "peak_mib": peak_kib / 1024, "n": n,
            "cov": np.asarray(cov).tolist(), **extra}


def run_phase(name: str, directory: Path) -> dict:
    env_py = [sys.executable, __file__, "--phase", name, "--dir", str(directory)]
    out = subprocess.run(env_py, capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    if out.returncode != 0:
        sys.exit(f"phase {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=float, default=1e6, help="rows (e.g. 1e7)")
    ap.add_argument("--rows-per-file", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--dir", default=None, help="where the Parquet files go (default: a "
                    "temporary directory, removed at the end unless --keep)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-in-memory", action="store_true")
    ap.add_argument("--phases", default="package,dask_cov",
                    help="comma-separated: package, cfa, cfa_fiml, dask_cov, invariance, "
                         "invariance_in_memory (in_memory unless --skip-in-memory); the first "
                         "is compared with the others")
    ap.add_argument("--phase", choices=["package", "cfa", "cfa_fiml", "dask_cov", "in_memory",
                                        "invariance", "invariance_in_memory"],
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(_phase(args.phase, Path(args.dir))))
        return 0
    n = int(args.n)
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_dask_"))
    try:
        if not any(directory.glob("*.parquet")):
            secs = write(directory, n, args.rows_per_file, args.seed)
            size = sum(p.stat().st_size for p in directory.glob("*.parquet")) / 2**20
            print(f"wrote {n:,} rows x {P} int8 items in {secs:.1f} s ({size:,.0f} MiB Parquet)")
        phases = args.phases.split(",") + ([] if args.skip_in_memory else ["in_memory"])
        res = {name: run_phase(name, directory) for name in phases}
        for name, r in res.items():
            print(f"{name:10s} wall {r['seconds']:8.2f} s   cpu {r['cpu']:8.2f} s   "
                  f"peak RSS {r['peak_mib']:8.0f} MiB")
        ours = res[phases[0]]
        for other in phases[1:]:
            o = res[other]
            print(f"{phases[0]} / {other}: wall {ours['seconds'] / o['seconds']:.2f}, cpu "
                  f"{ours['cpu'] / o['cpu']:.2f}, peak memory {ours['peak_mib'] / o['peak_mib']:.2f}")
        if "steps" in ours:  # the invariance ladders: the same steps and chi-squares
            for name in phases[1:]:
                diff = np.max(np.abs(np.array(ours["chisq"]) - np.array(res[name]["chisq"])))
                print(f"max |chisq({phases[0]}) - chisq({name})| over the steps = {diff:.2e}")
            print(f"{phases[0]}: steps {ours['steps']}, {ours['fits']} fits, strongest "
                  f"{ours['strongest']}, chisq {[round(c, 3) for c in ours['chisq']]}")
            return 0
        for name in phases[1:]:
            diff = np.max(np.abs(np.array(ours["cov"]) - np.array(res[name]["cov"])))
            print(f"max |cov({phases[0]}) - cov({name})| = {diff:.2e}")
        print(f"{phases[0]}: n = {ours['n']:,}, patterns = {ours['patterns']}, "
              f"left out = {ours['left_out']}"
              + (f", chisq = {ours['chisq']:.3f}, cfi = {ours['cfi']:.6f}" if "chisq" in ours
                 else ""))
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
