"""Monte Carlo replicates on any executor, with results that do not depend on it (issue 18).

:func:`monte_carlo` runs ``fn(seed)`` for ``reps`` replicates. Every replicate gets its own
child :class:`numpy.random.SeedSequence` of ``seed`` (``_common.spawn``: replicate ``i`` always
gets child ``i``), the replicates are sent in chunks to a ``concurrent.futures`` executor
(threads or processes) or a ``dask.distributed.Client``, and the results come back ordered by
replicate index. So the results are the same, byte for byte, serially, on 1 worker or on 40.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connection._common import check_int, spawn
from connection._report import Report, Reported
from connection.errors import ArgumentError

__all__ = ["monte_carlo", "MonteCarloResult"]

_TASKS = 100  # chunks per run by default: few enough to keep task overhead small


def _run_chunk(fn, start: int, seeds: list, settings: list | None = None) -> list:
    """The replicates ``start, start + 1, ...`` of one chunk, in order (``settings``: the grid
    values of these replicates, passed as ``fn``'s second argument)."""
    out = []
    for k, s in enumerate(seeds):
        try:
            out.append(fn(s) if settings is None else fn(s, settings[k]))
        except Exception as exc:  # name the replicate, keep the error's type
            exc.add_note(f"in Monte Carlo replicate {start + k} (seed {s.entropy}, "
                         f"spawn_key {s.spawn_key})")
            raise
    return out


def _is_dask_client(executor: Any) -> bool:
    return (type(executor).__module__.split(".")[0] == "distributed"
            and hasattr(executor, "submit") and hasattr(executor, "gather"))


def _kind(executor: Any) -> str:
    if executor is None:
        return "serial"
    if _is_dask_client(executor):
        return "dask"
    if isinstance(executor, Executor):
        return "executor"
    raise ArgumentError("executor must be None, a concurrent.futures Executor or a "
                        "dask.distributed Client", values=[type(executor).__name__],
                        expected="e.g. concurrent.futures.ProcessPoolExecutor(4)")


def _progress_bar(progress: bool, reps: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=reps, desc="Monte Carlo", unit="rep")


def _gather(kind: str, executor, fn, chunks: list, bar) -> list:
    """The chunks' results in chunk order (completion order only moves the progress bar)."""
    if kind == "serial":
        out = []
        for start, seeds, settings in chunks:
            out.append(_run_chunk(fn, start, seeds, settings))
            if bar is not None:
                bar.update(len(seeds))
        return out
    if kind == "dask":
        from distributed import as_completed

        futures = [executor.submit(_run_chunk, fn, start, seeds, settings, pure=False)
                   for start, seeds, settings in chunks]
        waited = as_completed(futures)
    else:
        from concurrent.futures import as_completed

        futures = [executor.submit(_run_chunk, fn, start, seeds, settings)
                   for start, seeds, settings in chunks]
        waited = as_completed(futures)
    try:
        for fut in waited:
            if fut.exception() is not None:
                break
            if bar is not None:
                bar.update(len(chunks[futures.index(fut)][1]))
        return [fut.result() for fut in futures]
    finally:
        for fut in futures:
            fut.cancel()


def monte_carlo(fn, reps: int | None = None, *, seed, executor=None, chunk: int | None = None,
                progress: bool = False, grid=None) -> MonteCarloResult:
    """Run ``fn(seed_i)`` for ``i = 0 .. reps - 1``, each with its own child seed sequence.

    Parameters
    ----------
    fn
        One replicate: called with a :class:`numpy.random.SeedSequence` (pass it as ``seed=`` to
        any function of the package, or ``numpy.random.default_rng(seed_i)``); returns anything
        picklable. With a process pool or a cluster ``fn`` must be picklable too (a module-level
        function, or a :func:`functools.partial` of one).
    reps
        Replicates (at least 1); with ``grid``, its length (``None`` or equal to it).
    seed
        int, SeedSequence or Generator (keyword-only). Replicate ``i`` gets child ``i`` of
        ``seed``: with a SeedSequence, the children its ``spawn(reps)`` would give.
    executor
        ``None`` (in this process, in order), any :class:`concurrent.futures.Executor`
        (``ThreadPoolExecutor``, ``ProcessPoolExecutor``) or a ``dask.distributed.Client``.
        The results do not depend on it.
    chunk
        Replicates per task (default: ``reps / 100`` rounded up): fewer, larger tasks cost less
        overhead; the results do not depend on it.
    progress
        Show a progress bar (tqdm) as chunks finish.
    grid
        One setting per replicate (a sensitivity grid, the conditions of a simulation design):
        replicate ``i`` calls ``fn(seed_i, grid[i])``. Each setting is pickled with its chunk
        on a process pool or a cluster.

    Returns
    -------
    MonteCarloResult
        ``values``: the replicates' results, ordered by replicate index.

    >>> import numpy as np
    >>> r = monte_carlo(lambda s: float(np.random.default_rng(s).normal()), 3, seed=1)
    >>> [round(v, 3) for v in r.values]
    [-0.64, 2.486, 1.442]
    >>> g = monte_carlo(lambda s, sd: sd * float(np.random.default_rng(s).normal()), seed=1,
    ...                 grid=[1.0, 10.0, 100.0])
    >>> [round(v, 2) for v in g.values]
    [-0.64, 24.86, 144.24]
    """
    if not callable(fn):
        raise ArgumentError("fn must be callable: one replicate, called with its seed",
                            values=[type(fn).__name__])
    if grid is not None:
        grid = list(grid)
        if reps is not None and check_int(reps, "reps", minimum=1) != len(grid):
            raise ArgumentError("reps must be the length of grid (one replicate per setting)",
                                values=[reps, len(grid)], expected=f"reps={len(grid)} or None")
        reps = len(grid)
    if reps is None:
        raise ArgumentError("monte_carlo needs reps= or grid=", expected="reps=200")
    reps = check_int(reps, "reps", minimum=1)
    kind = _kind(executor)
    if chunk is None:
        chunk = max(1, math.ceil(reps / _TASKS))
    chunk = check_int(chunk, "chunk", minimum=1)
    seeds = spawn(seed, reps)
    chunks = [(start, seeds[start:start + chunk],
               None if grid is None else grid[start:start + chunk])
              for start in range(0, reps, chunk)]
    bar = _progress_bar(progress, reps)
    try:
        parts = _gather(kind, executor, fn, chunks, bar)
    finally:
        if bar is not None:
            bar.close()
    values = [v for part in parts for v in part]
    root = seeds[0]
    return MonteCarloResult(values=values, reps=reps, entropy=root.entropy,
                            spawn_key=tuple(root.spawn_key[:-1]), executor=kind,
                            tasks=len(chunks))


@dataclass(repr=False)
class MonteCarloResult(Reported):
    """What :func:`monte_carlo` returns.

    Attributes
    ----------
    values
        The replicates' results, replicate 0 first.
    reps, tasks
        Replicates; chunks they were sent in.
    entropy, spawn_key
        The root seed sequence's entropy and spawn key (replicate ``i`` is its child ``i``).
    executor
        ``"serial"``, ``"executor"`` or ``"dask"``.
    """

    values: list
    reps: int
    entropy: Any
    spawn_key: tuple
    executor: str
    tasks: int
    flags: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate: ``replicate`` and the result (a dict's or Series' entries as
        columns, a tuple's as ``value_0, value_1, ...``, anything else as ``value``)."""
        first = self.values[0] if self.values else None
        if isinstance(first, dict | pd.Series):
            frame = pd.DataFrame([dict(v) for v in self.values])
        elif isinstance(first, tuple):
            frame = pd.DataFrame([list(v) for v in self.values])
            frame.columns = [f"value_{j}" for j in range(frame.shape[1])]
        else:
            frame = pd.DataFrame({"value": list(self.values)})
        frame.insert(0, "replicate", np.arange(len(self.values)))
        return frame

    def summary(self) -> Report:
        header = [("Replicates", self.reps), ("Tasks", self.tasks), ("Executor", self.executor),
                  ("Seed entropy", self.entropy), ("Spawn key", str(self.spawn_key))]
        report = Report("Monte Carlo replicates", header=header, flags=self.flags)
        frame = self.to_frame()
        numeric = frame.drop(columns="replicate").select_dtypes("number")
        if not numeric.empty:
            table = numeric.agg(["mean", "std", "min", "max"]).T.reset_index(names="result")
            report.add_table(table, caption="Replicates")
        return report
