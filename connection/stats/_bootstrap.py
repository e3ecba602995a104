"""The package's one bootstrap engine: seeded, vectorised where the statistic allows, parallel.

Every resampling statistic in the package (alpha and HTMT intervals, the connection-minus-
satisfaction beta difference, risk ratios, value ratios) goes through :func:`bootstrap`, so all of
them share the same seeding, failure accounting and progress reporting.

Three ways to hand over a statistic:

``mode="rows"``
    ``statistic(resampled)`` receives the data with rows resampled; any function works.
``mode="indices"``
    ``statistic(data, idx)`` receives a batch of index arrays, shape ``(b, n)``, and returns
    ``(b, k)``; for statistics that vectorise over replicates.
``mode="counts"``
    ``statistic(data, counts)`` receives multinomial frequency weights, shape ``(b, n)``, each row
    summing to ``n``; the fastest route for moment-based statistics (means, covariances,
    regressions), which become weighted matrix products.

Survey weights (``weights=``) travel with the resampled rows: a respondent drawn twice brings
their weight twice. How the statistic gets them depends on the mode:

``mode="rows"``
    ``statistic(resampled, weights=w)``: ``w`` is the resampled rows' weights (a float array,
    aligned with ``resampled``); on the original data, ``statistic(data, weights=all_weights)``.
``mode="indices"``
    ``statistic(data, idx, weights=w)``: ``w = weights[idx]``, shape ``(b, n)``.
``mode="counts"``
    the signature does not change: ``statistic(data, counts * weights)``, the bootstrap frequency
    times the survey weight of each respondent (shape ``(b, n)``; on the original data the
    weights themselves). The rows then no longer sum to ``n``: a weighted statistic normalises by
    ``counts.sum(axis=1)``.

Without weights (``weights=None``, the default for anything but a Survey) the statistic is called
as above without them. The replicates draw the same rows whether weights are given or not, so a
statistic that treats all weights equal to 1 as no weights gives exactly the unweighted result.

Replicates are drawn in fixed chunks, each with its own generator spawned from the seed's
:class:`numpy.random.SeedSequence` (:func:`connection._common.as_seed_sequence`: an integer, a
SeedSequence or a Generator), so a seed gives the same replicates whatever ``n_jobs`` is.

Examples
--------
>>> import numpy as np
>>> from connection.stats import bootstrap
>>> x = np.random.default_rng(1).normal(10.0, 2.0, size=400)
>>> res = bootstrap(np.mean, x, n_boot=500, seed=7, progress=False)
>>> round(float(res.estimate.iloc[0]), 3)
9.836
>>> ci = res.ci()
>>> bool(ci["ci_lower"].iloc[0] < 10.0 < ci["ci_upper"].iloc[0])
True
>>> # the same in counts mode: a weighted mean per replicate, all replicates at once
>>> res2 = bootstrap(lambda d, w: (w @ d) / d.shape[0], x, n_boot=500, seed=7, mode="counts",
...                  progress=False)
>>> bool(abs(res2.se.iloc[0] - res.se.iloc[0]) < 0.02)
True
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from connection._common import (
    DEFAULT_LEVEL,
    DEFAULT_N_BOOT,
    as_seed_sequence,
    check_choice,
    check_int,
    check_level,
    warn,
    z_critical,
)
from connection._report import Report, Reported
from connection.errors import ArgumentError, BootstrapWarning, ConnectionPackageError
from connection.stats._weights import UNSET, resolve_weights

__all__ = ["bootstrap", "BootstrapResult", "resample_indices", "take_rows"]

_MODES = ("rows", "indices", "counts")


def _n_rows(data: Any) -> int:
    if isinstance(data, tuple | list):
        sizes = {_n_rows(d) for d in data}
        if len(sizes) != 1:
            raise ConnectionPackageError(
                "bootstrap data parts have different numbers of rows",
                values=sorted(sizes), expected="equal lengths (one row per respondent)")
        return sizes.pop()
    return len(data)


def take_rows(data: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a DataFrame, Series, array, or tuple/list of them (index reset)."""
    if isinstance(data, tuple | list):
        return type(data)(take_rows(d, idx) for d in data)
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.iloc[idx].reset_index(drop=True)
    return np.asarray(data)[idx]


def resample_indices(rng: np.random.Generator, n: int, size: int,
                     strata: np.ndarray | None = None) -> np.ndarray:
    """``size`` bootstrap index vectors of length ``n``, shape ``(size, n)``.

    With ``strata`` (codes of length ``n``), each row resamples within each stratum, so group
    sizes are the same in every replicate.
    """
    if strata is None:
        return rng.integers(0, n, size=(size, n))
    out = np.empty((size, n), dtype=np.int64)
    for members in _strata_members(strata):
        picks = rng.integers(0, members.size, size=(size, members.size))
        out[:, members] = members[picks]
    return out


def _strata_members(strata: np.ndarray) -> list[np.ndarray]:
    _, codes = np.unique(np.asarray(strata), return_inverse=True)
    return [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]


def _counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def _as_row(value: Any) -> tuple[np.ndarray, list[str] | None]:
    if isinstance(value, pd.Series):
        return value.to_numpy(dtype=float), [str(k) for k in value.index]
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    return arr.ravel(), None


def _run_chunk(args: tuple) -> tuple[np.ndarray, Counter]:
    statistic, data, mode, n, size, seed_seq, strata, k, weights = args
    rng = np.random.default_rng(seed_seq)
    idx = resample_indices(rng, n, size, strata)
    failures: Counter = Counter()
    out = np.full((size, k), np.nan)
    if mode == "rows":
        for r in range(size):
            try:
                row, _ = _as_row(_call_rows(statistic, take_rows(data, idx[r]), weights, idx[r]))
            except Exception as exc:  # a failed replicate is counted, never hidden
                failures[type(exc).__name__] += 1
                continue
            if row.size != k:
                failures["wrong output length"] += 1
                continue
            out[r] = row
    else:
        batch = idx if mode == "indices" else _counts_from_indices(idx, n)
        try:
            res = np.asarray(_call_batch(statistic, data, mode, batch, weights),
                             dtype=float).reshape(size, -1)
        except Exception as exc:
            failures[type(exc).__name__] += size
            return out, failures
        if res.shape[1] != k:
            raise ConnectionPackageError(
                "vectorised bootstrap statistic returned the wrong number of columns",
                values=[res.shape[1]], expected=f"{k} columns, as on the original data")
        out = res
    n_nonfinite = int((~np.all(np.isfinite(out), axis=1)).sum()) - sum(failures.values())
    if n_nonfinite > 0:
        failures["non-finite result"] += n_nonfinite
    return out, failures


def _call_rows(statistic: Callable, rows: Any, weights: np.ndarray | None,
               idx: np.ndarray) -> Any:
    """The statistic on resampled rows, with the rows' weights when there are weights."""
    if weights is None:
        return statistic(rows)
    return statistic(rows, weights=weights[idx])


def _call_batch(statistic: Callable, data: Any, mode: str, batch: np.ndarray,
                weights: np.ndarray | None) -> Any:
    """A vectorised statistic on a batch of index arrays or frequency weights (with weights:
    the indexed weights, or the frequencies times the weights)."""
    if weights is None:
        return statistic(data, batch)
    if mode == "indices":
        return statistic(data, batch, weights=weights[batch])
    return statistic(data, batch * weights)


def _resolve_data_weights(data: Any, weights: Any) -> tuple[Any, np.ndarray | None]:
    """``(data, weights array or None)``: a Survey gives its data and (unless told otherwise) its
    weights; a column name needs a DataFrame; an array or Series needs one weight per row."""
    survey_weights = None
    if not isinstance(data, pd.DataFrame | pd.Series | np.ndarray | tuple | list) and hasattr(
            data, "instrument") and isinstance(getattr(data, "data", None), pd.DataFrame):
        data, survey_weights = data.data, getattr(data, "weights", None)
    if weights is UNSET:
        weights = survey_weights
    if weights is None:
        return data, None
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        if isinstance(weights, str):
            raise ArgumentError("weights names a column, but the bootstrap data is not a DataFrame",
                                values=[weights], expected="a DataFrame with that column, or an "
                                "array of one weight per row")
        frame = pd.DataFrame(index=pd.RangeIndex(_n_rows(data)))
    return data, resolve_weights(frame, weights)


@dataclass(frozen=True, repr=False)
class BootstrapResult(Reported):
    """Bootstrap replicates of a statistic, with intervals.

    Attributes
    ----------
    estimate : pandas.Series
        The statistic on the original data.
    replicates : pandas.DataFrame
        One row per successful replicate, one column per statistic.
    n_boot : int
        Replicates requested.
    n_failed : int
        Replicates that raised or gave non-finite values (excluded from intervals).
    failures : dict
        Reason -> count for the failed replicates.
    level : float
        Default confidence level.
    """

    estimate: pd.Series
    replicates: pd.DataFrame
    n_boot: int
    n_failed: int
    failures: dict = field(default_factory=dict)
    level: float = DEFAULT_LEVEL
    jackknife: pd.DataFrame | None = None

    @property
    def se(self) -> pd.Series:
        """Bootstrap standard errors (standard deviation of the replicates, ddof=1)."""
        return self.replicates.std(ddof=1)

    def ci(self, level: float | None = None, method: str = "percentile") -> pd.DataFrame:
        """Confidence intervals, one row per statistic: ``ci_lower``, ``ci_upper``.

        ``method``: ``"percentile"``, ``"basic"`` or ``"bca"`` (bias-corrected and accelerated;
        needs the jackknife values, available when the statistic ran in ``rows`` mode with
        ``bca=True``).
        """
        level = self.level if level is None else check_level(level)
        alpha = 1.0 - level
        reps = self.replicates.to_numpy()
        est = self.estimate.to_numpy()
        if reps.shape[0] < 2:
            lo = hi = np.full(est.shape, np.nan)
        elif method == "percentile":
            lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
        elif method == "basic":
            q_lo, q_hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)
            lo, hi = 2 * est - q_hi, 2 * est - q_lo
        elif method == "bca":
            if self.jackknife is None:
                raise ConnectionPackageError(
                    "BCa intervals need jackknife values", expected="bootstrap(..., bca=True) in rows mode",
                    hint="Use method='percentile', or rerun with bca=True")
            lo, hi = self._bca(reps, est, level)
        else:
            raise ConnectionPackageError("unknown interval method", values=[method],
                                         expected="'percentile', 'basic' or 'bca'")
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi}, index=self.estimate.index)

    def _bca(self, reps: np.ndarray, est: np.ndarray, level: float):
        prop = (reps < est).mean(axis=0) + 0.5 * (reps == est).mean(axis=0)
        z0 = stats.norm.ppf(np.clip(prop, 1e-10, 1 - 1e-10))
        jk = self.jackknife.to_numpy()
        d = jk.mean(axis=0) - jk
        denom = 6.0 * (d**2).sum(axis=0) ** 1.5
        acc = np.divide((d**3).sum(axis=0), denom, out=np.zeros_like(denom), where=denom > 0)
        lo, hi = np.empty(est.shape), np.empty(est.shape)
        crit = z_critical(level)
        for j in range(est.size):
            qs = []
            for z in (-crit, crit):
                adj = stats.norm.cdf(z0[j] + (z0[j] + z) / (1 - acc[j] * (z0[j] + z)))
                qs.append(np.quantile(reps[:, j], adj))
            lo[j], hi[j] = qs
        return lo, hi

    def to_frame(self, method: str = "percentile", *, level: float | None = None) -> pd.DataFrame:
        """Tidy table: statistic, estimate, se, ci_lower, ci_upper, level, n_boot, n_failed."""
        ci = self.ci(level, method)
        return pd.DataFrame({
            "statistic": self.estimate.index.astype(str),
            "estimate": self.estimate.to_numpy(),
            "se": self.se.reindex(self.estimate.index).to_numpy(),
            "ci_lower": ci["ci_lower"].to_numpy(),
            "ci_upper": ci["ci_upper"].to_numpy(),
            "level": self.level if level is None else level,
            "n_boot": self.n_boot,
            "n_failed": self.n_failed,
        })

    def summary(self) -> Report:
        """The replicates requested and failed (with the reasons) and :meth:`to_frame`'s table
        (percentile intervals), as a :class:`connection._report.Report`."""
        failed = str(self.n_failed) + (
            f" ({', '.join(f'{k}: {v}' for k, v in self.failures.items())})"
            if self.failures else "")
        report = Report("Bootstrap", header=[("Replicates", self.n_boot), ("Failed", failed),
                                             ("Level", f"{100 * self.level:g}%")])
        report.add_table(self.to_frame(), caption="Estimates, bootstrap SEs and percentile "
                         "intervals", digits=4)
        return report


def _progress(total: int, label: str, progress: bool | None):
    from tqdm.auto import tqdm

    # disable=None: tqdm shows the bar only on an interactive terminal or notebook
    return tqdm(total=total, desc=label, unit="rep", disable=None if progress is None else not progress,
                leave=False)


def bootstrap(
    statistic: Callable,
    data: Any,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    mode: str = "rows",
    strata: Sequence | np.ndarray | None = None,
    n_jobs: int = 1,
    level: float = DEFAULT_LEVEL,
    progress: bool | None = None,
    label: str = "bootstrap",
    chunk_size: int = 100,
    bca: bool = False,
    weights: Any = UNSET,
) -> BootstrapResult:
    """Bootstrap a statistic over respondents (rows).

    Parameters
    ----------
    statistic
        See the module docstring for its signature in each ``mode``.
    data
        DataFrame, array (rows = respondents), or a tuple/list of them with equal lengths.
    n_boot
        Number of replicates (at least 1).
    seed
        Integer, ``SeedSequence`` or ``Generator``; the same seed (or the same generator state)
        gives the same replicates for any ``n_jobs``. A Generator is consumed (moves on).
    mode
        ``"rows"``, ``"indices"`` or ``"counts"``.
    strata
        Labels (length n): resample within each stratum, keeping group sizes.
    n_jobs
        Worker processes (``-1`` = all cores); the statistic must then be picklable.
    level
        Confidence level of the default intervals.
    progress
        ``None``: a progress bar only when interactive; ``True``/``False`` to force.
    label
        Text for the progress bar and warnings.
    chunk_size
        Replicates per chunk (per spawned generator, and per vectorised call).
    bca
        Also compute jackknife values (rows mode), enabling ``ci(method="bca")``.
    weights
        Survey weights that travel with the resampled rows (see the module docstring for how
        the statistic receives them in each mode): a column of a DataFrame ``data``, an array or
        Series of one weight per row, a :class:`~connection.stats.RakeResult`, or ``None``.
        Default: a Survey's weights (then the statistic receives ``survey.data``); ``None`` for
        any other data. Each weight must be a finite number above 0.

    Returns
    -------
    BootstrapResult
    """
    check_choice(mode, "mode", _MODES)
    n_boot = check_int(n_boot, "n_boot", minimum=1,
                       what="an integer n_boot >= 1 (callers that allow n_boot=0 skip the "
                            "bootstrap themselves)")
    level = check_level(level)
    root = as_seed_sequence(seed)
    data, w = _resolve_data_weights(data, weights)
    n = _n_rows(data)
    if n < 2:
        raise ConnectionPackageError("cannot bootstrap fewer than two rows", values=[n],
                                     expected="at least 2 respondents")
    strata_arr = None if strata is None else np.asarray(strata)
    if strata_arr is not None and strata_arr.shape[0] != n:
        raise ConnectionPackageError("strata length differs from the data", values=[strata_arr.shape[0]],
                                     expected=f"{n} labels, one per row")

    if mode == "rows":
        first = _call_rows(statistic, data, w, np.arange(n))
    elif mode == "indices":
        first = np.asarray(_call_batch(statistic, data, mode, np.arange(n)[None, :], w),
                           dtype=float).reshape(1, -1)[0]
    else:
        first = np.asarray(_call_batch(statistic, data, mode, np.ones((1, n)), w),
                           dtype=float).reshape(1, -1)[0]
    est_values, names = _as_row(first)
    k = est_values.size
    names = names or ([label] if k == 1 and label != "bootstrap" else [f"stat_{j}" for j in range(k)])
    estimate = pd.Series(est_values, index=pd.Index(names, name="statistic"))

    n_chunks = math.ceil(n_boot / chunk_size)
    children = root.spawn(n_chunks)
    sizes = [min(chunk_size, n_boot - i * chunk_size) for i in range(n_chunks)]
    tasks = [(statistic, data, mode, n, s, c, strata_arr, k, w) for s, c in zip(sizes, children)]

    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    blocks: list[np.ndarray] = []
    failures: Counter = Counter()
    bar = _progress(n_boot, label, progress)
    try:
        if workers == 1 or n_chunks == 1:
            results = map(_run_chunk, tasks)
            for (block, fails), s in zip(results, sizes):
                blocks.append(block)
                failures.update(fails)
                bar.update(s)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for (block, fails), s in zip(pool.map(_run_chunk, tasks), sizes):
                    blocks.append(block)
                    failures.update(fails)
                    bar.update(s)
    finally:
        bar.close()

    reps = np.vstack(blocks)
    ok = np.all(np.isfinite(reps), axis=1)
    n_failed = int((~ok).sum())
    if n_failed:
        reasons = ", ".join(f"{r}: {c}" for r, c in failures.items())
        # issued here, in the calling process (never in a worker), at the user's line
        warn(f"{label}: {n_failed} of {n_boot} bootstrap replicates failed ({reasons}); "
             "they are excluded from the intervals and reported in n_failed", BootstrapWarning)
    jack = None
    if bca:
        if mode != "rows":
            raise ConnectionPackageError("bca=True needs mode='rows'", values=[mode],
                                         expected="mode='rows'")
        keep = np.ones(n, dtype=bool)
        rows = []
        for i in range(n):
            keep[i] = False
            kept = np.flatnonzero(keep)
            rows.append(_as_row(_call_rows(statistic, take_rows(data, kept), w, kept))[0])
            keep[i] = True
        jack = pd.DataFrame(np.vstack(rows), columns=estimate.index)
    return BootstrapResult(
        estimate=estimate,
        replicates=pd.DataFrame(reps[ok], columns=estimate.index),
        n_boot=n_boot,
        n_failed=n_failed,
        failures=dict(failures),
        level=level,
        jackknife=jack,
    )
