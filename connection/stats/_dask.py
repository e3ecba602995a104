"""Sample moments in partition-wise passes: the same numbers from a pandas frame in memory or
from a Dask DataFrame larger than memory (issue 18).

The engine needs only sufficient statistics. :func:`sample_moments` computes them per group in
one pass over the partitions (a second pass for ``gamma=True``), and merges the partitions'
``(n, weight, mean, M2)`` pairwise (Chan, Golub and LeVeque 1979: ``M2 = M2_a + M2_b +
d d' w_a w_b / w``, ``d`` the difference of the means), so nothing is ever formed as a raw
``X'X - n m m'`` (no cancellation, whatever the means). Inside a partition the rows are taken
in blocks of :data:`_BLOCK`, each centred on its own mean, so the memory of a pass is bounded by
one partition.

The one pass gives, per group and per missing-data pattern (which items are observed), the
counts, weights, means and centred cross-products of the observed items: the listwise moments
are those of the all-observed pattern, the FIML summary is the pattern table, and the rows left
out are counted by column and by pattern (nothing is dropped without being reported).

``gamma=True`` adds, per group, the asymptotic covariance of the sample moments (``Gamma``,
lavaan's ``NACOV`` for complete data, divisor n): the covariance matrix of
``d_i = (y_i - ybar, vech((y_i - ybar)(y_i - ybar)'))`` over the listwise-complete rows, in the
engine's order (the means, then the lower triangle row by row as ``numpy.tril_indices``).
:func:`first_order_information` turns it into the first-order (sandwich "meat") information of
the unstructured model, the ``b1`` that :func:`connection.latent.robust.h1_information` computes
casewise in memory for lavaan's MLR test.

Dask is optional: a Dask frame is recognised by its class (dask is never imported unless the
data are a Dask frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from connection._report import Report, Reported
from connection.errors import ArgumentError, DataError, MissingColumnError, NonNumericError

__all__ = ["sample_moments", "SampleMomentsResult", "is_dask_frame", "first_order_information"]

_BLOCK = 65_536  # rows per block inside a partition (cache-sized centring and BLAS updates)
_SPLIT_EVERY = 16  # partitions merged per node of the reduction tree
_GAMMA_BYTES = 32_000_000  # bytes of the per-row moment vectors of one gamma block


def is_dask_frame(obj: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (told by its class: dask is not imported)."""
    return any(c.__module__.split(".")[0] == "dask" and c.__name__ == "DataFrame"
               for c in type(obj).__mro__)


# ------------------------------------------------------------------- (n, weight, mean, M2) pairs
def _block_acc(x: np.ndarray, w: np.ndarray | None) -> tuple:
    """``(n, weight, mean, M2)`` of the rows of ``x`` (centred on their own mean)."""
    n = len(x)
    if w is None:
        total = float(n)
        mean = x.mean(axis=0)
        xc = x - mean
        m2 = xc.T @ xc
    else:
        total = float(w.sum())
        mean = (w @ x) / total
        xc = x - mean
        m2 = (xc * w[:, None]).T @ xc
    return n, total, mean, m2


def _merge(a: tuple | None, b: tuple | None) -> tuple | None:
    """Chan et al.'s pairwise merge of two ``(n, weight, mean, M2)``."""
    if a is None:
        return b
    if b is None:
        return a
    na, wa, ma, m2a = a
    nb, wb, mb, m2b = b
    w = wa + wb
    d = mb - ma
    return na + nb, w, ma + d * (wb / w), m2a + m2b + np.outer(d, d) * (wa * wb / w)


def _acc(x: np.ndarray, w: np.ndarray | None, block: int = _BLOCK) -> tuple | None:
    out = None
    for start in range(0, len(x), block):
        out = _merge(out, _block_acc(x[start:start + block],
                                     None if w is None else w[start:start + block]))
    return out


def _merge_dicts(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out.get(key), value) if key != "excluded" else _add(out.get(key), value)
    return out


def _add(a: dict | None, b: dict) -> dict:
    out = dict(a or {})
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


# ------------------------------------------------------------------------------ one partition
def _arrays(frame: pd.DataFrame, items: list, group: str | None, weights: str | None):
    x = frame[items].to_numpy(dtype=float, na_value=np.nan)
    w = None
    if weights is not None:
        w = frame[weights].to_numpy(dtype=float, na_value=np.nan)
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            rows = [frame.index[i] for i in np.flatnonzero(bad)[:5]]
            raise DataError(f"weights column {weights!r} has {int(bad.sum())} weight(s) that are "
                            "missing, not finite or not above 0", column=weights, rows=rows,
                            values=w[bad][:5].tolist(), expected="finite weights above 0",
                            hint="drop or fix those rows before computing the moments")
    if group is None:
        codes, levels = np.zeros(len(frame), dtype=np.intp), [None]
    else:
        codes, levels = pd.factorize(frame[group], sort=False)
    return x, w, codes, list(levels)


def _pattern_rows(x: np.ndarray, w: np.ndarray | None, codes: np.ndarray, levels: list,
                  grouped: bool):
    """``(level, observed-pattern mask, rows of the observed items, their weights)`` for every
    group and missing-data pattern of one partition (the all-observed pattern without a copy)."""
    for k, level in enumerate(levels):
        rows = np.flatnonzero(codes == k) if grouped else slice(None)
        xg, wg = x[rows], (None if w is None else w[rows])
        observed = ~np.isnan(xg)
        if observed.all():
            keys, inverse = observed[:1], np.zeros(len(xg), dtype=np.intp)
        else:
            keys, inverse = _unique_rows(observed)
        if len(keys) == 1:  # one pattern: no row selection (no copy when complete)
            if len(xg):
                yield level, keys[0], (xg if keys[0].all() else xg[:, keys[0]]), wg
            continue
        order = np.argsort(inverse, kind="stable")  # the rows of each pattern, contiguous
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(keys)))])
        for j, key in enumerate(keys):
            sel = order[bounds[j]:bounds[j + 1]]
            if len(sel):
                yield level, key, xg[sel][:, key], (None if wg is None else wg[sel])


def _unique_rows(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix and each row's index among them (as
    ``numpy.unique(axis=0, return_inverse=True)``, the rows packed into bytes first: the
    row-wise sort of ``unique(axis=0)`` is an order of magnitude slower)."""
    packed = np.packbits(observed, axis=1)
    width = packed.shape[1]
    if width <= 8:  # one integer per row
        codes = np.zeros(len(packed), dtype=np.uint64)
        for b in range(width):
            codes |= packed[:, b].astype(np.uint64) << np.uint64(8 * (width - 1 - b))
    else:
        codes = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return observed[first], inverse.reshape(-1)


def _partition_patterns(frame: pd.DataFrame, items: list, group: str | None,
                        weights: str | None) -> dict:
    """``{(group, observed-pattern bytes): (n, weight, mean, M2) of the observed items}`` and
    ``"excluded"``: rows whose group is missing."""
    x, w, codes, levels = _arrays(frame, items, group, weights)
    out: dict = {"excluded": {"group missing": int(np.sum(codes < 0))}}
    for level, key, xs, ws in _pattern_rows(x, w, codes, levels, group is not None):
        out[(level, key.tobytes())] = _acc(xs, ws)
    return out


def _gamma_rows(y: np.ndarray) -> np.ndarray:
    """``d_i = (y_i, vech(y_i y_i'))`` of centred rows ``y`` (engine order: numpy.tril_indices)."""
    r, c = np.tril_indices(y.shape[1])
    return np.concatenate([y, y[:, r] * y[:, c]], axis=1)


def _partition_gamma(frame: pd.DataFrame, items: list, group: str | None, weights: str | None,
                     means: dict) -> dict:
    """``{group: (n, weight, mean, M2) of d_i}`` over the complete rows of each group."""
    x, w, codes, levels = _arrays(frame, items, group, weights)
    complete = ~np.isnan(x).any(axis=1)
    out: dict = {}
    for k, level in enumerate(levels):
        if level not in means:
            continue
        sel = complete & (codes == k)
        acc = _gamma_acc(x[sel] - means[level], None if w is None else w[sel])
        if acc is not None:
            out[level] = acc
    return out


def _gamma_acc(xs: np.ndarray, ws: np.ndarray | None) -> tuple | None:
    """``(n, weight, mean, M2)`` of ``d_i`` of the (centred) rows ``xs``, in blocks."""
    p = xs.shape[1]
    block = max(1, _GAMMA_BYTES // (8 * (p + p * (p + 1) // 2)))
    acc = None
    for start in range(0, len(xs), block):
        acc = _merge(acc, _block_acc(_gamma_rows(xs[start:start + block]),
                                     None if ws is None else ws[start:start + block]))
    return acc


def _partition_pattern_gamma(frame: pd.DataFrame, items: list, group: str | None,
                             weights: str | None, means: dict) -> dict:
    """``{(group, pattern bytes): (n, weight, mean, M2) of d_i}`` of the observed items of each
    missing-data pattern, centred on the pattern's mean (FIML's casewise score terms)."""
    x, w, codes, levels = _arrays(frame, items, group, weights)
    out: dict = {}
    for level, key, xs, ws in _pattern_rows(x, w, codes, levels, group is not None):
        centre = means.get((level, key.tobytes()))
        if centre is not None and xs.shape[1]:
            out[(level, key.tobytes())] = _gamma_acc(xs - centre, ws)
    return out


# --------------------------------------------------------------------------------- the passes
def _reduce_pandas(data: pd.DataFrame, fn, merge, *args) -> dict:
    return fn(data, *args)


def _reduce_dask(data, fn, merge, *args) -> dict:
    import dask

    parts = [dask.delayed(fn)(part, *args) for part in data.to_delayed()]
    while len(parts) > 1:
        parts = [dask.delayed(_merge_many)(merge, *parts[i:i + _SPLIT_EVERY])
                 for i in range(0, len(parts), _SPLIT_EVERY)]
    (out,) = dask.compute(parts[0])
    return out


def _merge_many(merge, *dicts: dict) -> dict:
    out = dicts[0]
    for d in dicts[1:]:
        out = merge(out, d)
    return out


def _merge_groups(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out.get(key), value)
    return out


def _check_columns(data, items, group, weights) -> list:
    if not isinstance(data, pd.DataFrame) and not is_dask_frame(data):
        raise ArgumentError("data must be a pandas or a Dask DataFrame",
                            values=[type(data).__name__],
                            expected="a pandas.DataFrame or a dask.dataframe.DataFrame")
    items = list(data.columns if items is None else items)
    if not items:
        raise ArgumentError("items is empty", expected="one or more numeric item columns")
    wanted = items + [c for c in (group, weights) if c is not None]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise MissingColumnError(f"column(s) {missing} not in the data", column=missing[0],
                                 expected=f"columns among {list(data.columns)[:20]}")
    if len(set(items)) != len(items):
        raise ArgumentError("items repeats a column", values=items)
    dtypes = data.dtypes
    for c in items + ([weights] if weights is not None else []):
        dt = dtypes[c]
        if not (pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)):
            raise NonNumericError(f"column {c!r} is not numeric ({dt})", column=c,
                                  expected="numbers (recode text answers first)")
    return items


def sample_moments(data, *, items=None, group: str | None = None, weights: str | None = None,
                   gamma: bool = False, pattern_gamma: bool = False) -> SampleMomentsResult:
    """Per-group counts, (weighted) sums, means and covariances of ``items`` in partition-wise
    passes, with the missing-data patterns and every excluded row counted.

    Parameters
    ----------
    data
        A pandas DataFrame (one partition) or a ``dask.dataframe.DataFrame`` (computed with the
        scheduler in effect: threads by default, a ``dask.distributed.Client`` when one is
        active). The two give the same numbers (to rounding: 1e-12 relative).
    items
        The numeric item columns (default: every column).
    group
        A column: the moments separately per value. Rows whose group is missing are counted in
        ``excluded`` (not analysed).
    weights
        A column of survey weights (finite, above 0: a DataError otherwise). Means and the ML
        covariance are weighted (divisor the sum of weights); ``cov_unbiased`` is the ML
        covariance times ``n / (n - 1)`` with ``n`` the rows (without weights: divisor n - 1).
    gamma
        Also compute, in a second pass, the asymptotic covariance of the listwise sample moments
        per group (lavaan's ``NACOV``, divisor n, engine order): ``result.gamma[group]``.
    pattern_gamma
        Also compute, in a second pass, the same fourth-moment matrix of the observed items of
        every missing-data pattern (centred on the pattern's mean, divisor its weight):
        ``result.pattern_gamma[(group, pattern)]`` (FIML's MLR sandwich and scaled test).

    Returns
    -------
    SampleMomentsResult
        ``n``, ``weight_total``, ``sums``, ``mean``, ``cov`` (ML), ``cov_unbiased`` per group over
        the listwise-complete rows, the ``patterns`` table, ``missing_by_column``, ``excluded``.

    >>> frame = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, None, 5]})
    >>> r = sample_moments(frame)
    >>> r.n[None], r.excluded["listwise"], r.mean[None].round(3).tolist()
    (3, 1, [2.333, 2.667])
    """
    items = _check_columns(data, items, group, weights)
    cols = list(dict.fromkeys(items + [c for c in (group, weights) if c is not None]))
    frame = data[cols]
    reduce = _reduce_dask if is_dask_frame(data) else _reduce_pandas
    raw = reduce(frame, _partition_patterns, _merge_dicts, items, group, weights)
    result = _assemble(raw, items, group, weights)
    if gamma:
        means = {g: m for g, m in result.mean.items()}
        gam = reduce(frame, _partition_gamma, _merge_groups, items, group, weights, means)
        labels = items + [f"{items[i]}~~{items[j]}" for i, j in zip(*np.tril_indices(len(items)))]
        result.gamma = {g: pd.DataFrame(acc[3] / acc[1], index=labels, columns=labels)
                        for g, acc in gam.items()}
    if pattern_gamma:
        means = {(g, np.array([f == "1" for f in pattern]).tobytes()): mom[2]
                 for (g, pattern), mom in result.pattern_moments.items()}
        gam = reduce(frame, _partition_pattern_gamma, _merge_groups, items, group, weights,
                     means)
        result.pattern_gamma = {(g, _pattern_string(key)): acc[3] / acc[1]
                                for (g, key), acc in gam.items()}
    return result


def _pattern_string(key: bytes) -> str:
    return "".join("1" if b else "0" for b in np.frombuffer(key, dtype=bool))


def _assemble(raw: dict, items: list, group, weights) -> SampleMomentsResult:
    excluded = dict(raw.pop("excluded", {}))
    full = np.ones(len(items), dtype=bool).tobytes()
    levels = list(dict.fromkeys(g for g, _ in raw))
    try:
        levels = sorted(levels)
    except TypeError:
        pass
    rows, missing_by_column = [], pd.DataFrame(0, index=levels, columns=items, dtype=np.int64)
    res = SampleMomentsResult(items=items, group=group, weights=weights)
    for (g, key), (n, w, mean, m2) in sorted(raw.items(), key=lambda kv: (levels.index(kv[0][0]),
                                                                           kv[0][1])):
        observed = np.frombuffer(key, dtype=bool)
        rows.append({"group": g, "pattern": _pattern_string(key), "n": n, "weight": w,
                     "observed": int(observed.sum())})
        missing_by_column.iloc[levels.index(g), np.flatnonzero(~observed)] += n
        res.pattern_moments[(g, _pattern_string(key))] = (n, w, mean, m2)
        if key == full:
            res.n[g], res.weight_total[g], res.mean[g] = n, w, mean
            res.sums[g] = mean * w
            res.cov[g] = m2 / w
            res.cov_unbiased[g] = m2 / w * (n / (n - 1)) if n > 1 else np.full_like(m2, np.nan)
    res.patterns = pd.DataFrame(rows, columns=["group", "pattern", "n", "weight", "observed"])
    res.missing_by_column = missing_by_column
    total = dict.fromkeys(levels, 0)
    for (g, _), acc in raw.items():
        total[g] += int(acc[0])
    res.rows = total
    excluded["listwise"] = int(sum(total[g] - res.n.get(g, 0) for g in levels))
    res.excluded = excluded
    return res


@dataclass(repr=False)
class SampleMomentsResult(Reported):
    """What :func:`sample_moments` returns: per group (key ``None`` without ``group``).

    Attributes
    ----------
    n, weight_total, sums, mean, cov, cov_unbiased
        Dicts keyed by group over the listwise-complete rows (``cov`` divisor the total weight,
        ``n`` without weights; ``cov_unbiased`` ``cov * n / (n - 1)``).
    rows
        Rows analysed per group (every pattern, complete or not).
    patterns
        One row per group and missing-data pattern (``pattern``: ``1`` observed, ``0`` missing,
        in the order of ``items``): ``n``, ``weight``, ``observed``.
    pattern_moments
        ``{(group, pattern): (n, weight, mean, M2)}`` of the observed items of each pattern
        (the FIML summary): :meth:`pattern_stats` gives sums and cross-products.
    missing_by_column
        Rows (per group) whose value of each item is missing.
    excluded
        ``"listwise"``: rows left out of the listwise moments (some item missing); ``"group
        missing"``: rows without a group (left out of everything).
    gamma
        With ``gamma=True``: per group, the asymptotic covariance of (means, vech covariance),
        divisor n, labelled ``item`` and ``item~~item``.
    pattern_gamma
        With ``pattern_gamma=True``: ``{(group, pattern): matrix}``, the covariance of
        ``(y - mean, vech((y - mean)(y - mean)'))`` over the rows of each pattern (observed
        items only, engine order, divisor the pattern's weight).
    """

    items: list
    group: str | None = None
    weights: str | None = None
    n: dict = field(default_factory=dict)
    weight_total: dict = field(default_factory=dict)
    sums: dict = field(default_factory=dict)
    mean: dict = field(default_factory=dict)
    cov: dict = field(default_factory=dict)
    cov_unbiased: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    patterns: pd.DataFrame | None = None
    pattern_moments: dict = field(default_factory=dict)
    missing_by_column: pd.DataFrame | None = None
    excluded: dict = field(default_factory=dict)
    gamma: dict | None = None
    pattern_gamma: dict | None = None
    flags: list = field(default_factory=list)

    def pattern_stats(self, group: Any = None) -> list[dict]:
        """Per missing-data pattern of ``group``: the observed ``items``, ``n``, ``weight``,
        ``sums`` (weighted) and ``crossproducts`` (weighted ``sum x x'``) of the observed items."""
        out = []
        for (g, pattern), (n, w, mean, m2) in self.pattern_moments.items():
            if g != group:
                continue
            obs = [it for it, flag in zip(self.items, pattern) if flag == "1"]
            out.append({"pattern": pattern, "items": obs, "n": n, "weight": w,
                        "sums": mean * w, "crossproducts": m2 + w * np.outer(mean, mean)})
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per group and item: listwise ``n``, ``mean``, ``sd`` (ML), ``n_missing``."""
        rows = []
        for g, mean in self.mean.items():
            sd = np.sqrt(np.diag(self.cov[g]))
            for j, item in enumerate(self.items):
                rows.append({"group": g, "item": item, "n": self.n[g], "mean": mean[j],
                             "sd": sd[j], "n_missing": int(self.missing_by_column.iloc[list(self.mean).index(g) if False else
                                                   list(self.missing_by_column.index).index(g), j])})
        return pd.DataFrame(rows, columns=["group", "item", "n", "mean", "sd", "n_missing"])

    def summary(self) -> Report:
        header = [("Items", len(self.items)), ("Groups", len(self.mean) if self.group else 1),
                  ("Rows analysed", sum(self.rows.values())),
                  ("Rows left out listwise", self.excluded.get("listwise", 0)),
                  ("Rows without a group", self.excluded.get("group missing", 0)),
                  ("Missing-data patterns", 0 if self.patterns is None else len(self.patterns)),
                  ("Weights", self.weights or "none")]
        report = Report("Sample moments", header=header, flags=self.flags)
        report.add_table(self.to_frame(), caption="Listwise moments per item")
        if self.patterns is not None:
            report.add_table(self.patterns, caption="Missing-data patterns (1 observed)")
        return report


def first_order_information(gamma, cov, *, meanstructure: bool = True) -> np.ndarray:
    """The unstructured model's first-order information per case (``b1`` of lavaan's MLR,
    :func:`connection.latent.robust.h1_information`) from ``Gamma``: ``L Gamma L'``, ``L`` the
    derivative of the casewise scores in ``d_i`` (``Sigma^-1`` for the means,
    ``0.5 tr(Sigma^-1 B_k Sigma^-1 B_l)`` for the covariances, ``B_k`` the symmetric basis).

    ``cov`` is the ML covariance the scores are evaluated at (that of the same rows).
    """
    gam = np.asarray(gamma, dtype=float)
    sinv = np.linalg.inv(np.asarray(cov, dtype=float))
    sinv = 0.5 * (sinv + sinv.T)
    p = len(sinv)
    r, c = np.tril_indices(p)
    q = len(r)
    basis = np.zeros((q, p, p))
    basis[np.arange(q), r, c] = 1.0
    basis[np.arange(q), c, r] = 1.0
    flat = basis.reshape(q, p * p)
    l_cov = 0.5 * flat @ np.kron(sinv, sinv) @ flat.T
    if not meanstructure:
        g = gam[p:, p:] if gam.shape[0] == p + q else gam
        return l_cov @ g @ l_cov.T
    lmat = np.zeros((p + q, p + q))
    lmat[:p, :p] = sinv
    lmat[p:, p:] = l_cov
    return lmat @ gam @ lmat.T
