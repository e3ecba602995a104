"""Sparse categories of ordinal items: merge them, the same way in every group.

A threshold of an ordinal item is estimable only where both of its neighbouring categories are
observed; a multi-group ordinal fit (and the invariance ladder, whose thresholds are equal
across groups) needs every category of an item observed in every group, as lavaan does ("some
categories of variable ... are empty in group ..."). With 10- or 11-point items and a few hundred
respondents per group, the extreme categories are often empty somewhere. The usual remedy is to
merge a sparse category with its neighbour, the same way in every group, and to say so:
:func:`collapse_categories` does that and returns the merges as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connection._common import check_int
from connection._report import Report, Reported
from connection.errors import ArgumentError, DataError, MissingColumnError, NonNumericError

__all__ = ["CollapseResult", "collapse_categories"]

#: Columns of :attr:`CollapseResult.table`: one row per merged category.
COLLAPSE_COLUMNS = ("item", "category", "into", "min_count", "group")


@dataclass(repr=False)
class CollapseResult(Reported):
    """The data with sparse categories merged, and what was merged.

    Attributes
    ----------
    data : pandas.DataFrame
        A copy of the input with the merged categories recoded (the input is not changed);
        an item whose categories were all kept is as it was.
    table : pandas.DataFrame
        One row per merged category: ``item``, ``category`` (the original code), ``into`` (the
        code it now has), ``min_count`` (the count below ``min_count`` that made it merge: the
        smallest count over the groups of the sparse category, or block of categories, it was
        merged with or was) and ``group`` (the group of that count, ``""`` without groups). Empty when nothing
        was merged.
    items : list of str
        The items checked.
    min_count : int
        The smallest count every kept category has in every group.
    """

    data: pd.DataFrame
    table: pd.DataFrame
    items: list[str]
    min_count: int

    @property
    def collapsed(self) -> list[str]:
        """The items with at least one merged category, in the order checked."""
        merged = set(self.table["item"])
        return [i for i in self.items if i in merged]

    def to_frame(self) -> pd.DataFrame:
        """:attr:`table`."""
        return self.table.copy()

    def summary(self) -> Report:
        r = Report("Sparse categories merged",
                   header=[("Items checked", len(self.items)),
                           ("Items with merged categories", len(self.collapsed)),
                           ("Smallest count kept", self.min_count)])
        if len(self.table):
            r.add_table(self.table, caption="Merged categories (original code -> new code)")
        else:
            r.add_note("every category of every item has at least min_count responses in every "
                       "group: nothing was merged")
        return r


def _counts(codes: pd.Series, groups: pd.Series | None) -> pd.DataFrame:
    """Category (rows, sorted) x group (columns) counts of one item's non-missing codes."""
    ok = codes.notna()
    if groups is None:
        return codes[ok].value_counts().sort_index().to_frame("")
    return pd.crosstab(codes[ok], groups[ok]).sort_index()


def _merge_step(counts: pd.DataFrame, blocks: list[list[float]], min_count: int):
    """Merge the sparsest block below ``min_count`` with its smaller neighbour (ties: the
    neighbour nearer the middle of the scale). Returns ``(merged, block index, min, group)`` or
    ``None`` when every block has ``min_count`` in every group."""
    sums = np.array([counts.loc[b].sum(axis=0).to_numpy() for b in blocks], dtype=float)
    low = sums.min(axis=1)
    k = int(np.argmin(low))
    if low[k] >= min_count or len(blocks) < 2:
        return None
    where = str(counts.columns[int(np.argmin(sums[k]))])
    if k == 0:
        j = 1
    elif k == len(blocks) - 1:
        j = k - 1
    else:
        left, right = sums[k - 1].sum(), sums[k + 1].sum()
        j = k - 1 if (left, abs(k - 1 - (len(blocks) - 1) / 2)) < (
            right, abs(k + 1 - (len(blocks) - 1) / 2)) else k + 1
    return j, k, float(low[k]), where


def collapse_categories(data: pd.DataFrame, items: Sequence[str] | None = None, *,
                        group: str | Sequence[str] | None = None,
                        min_count: int = 1) -> CollapseResult:
    """Merge the sparse categories of ordinal items into their neighbours, the same way in every
    group, until every category left has at least ``min_count`` responses in every group.

    Repeatedly, the category (or block of already merged categories) with the smallest count
    in some group is merged with its adjacent block that has fewer responses overall (ties: the
    one nearer the middle of the scale); the merged block takes the code of the block it joins
    nearest the middle (so codes stay integers on the item's scale and in order). Missing
    values stay missing. A category never observed in any group is not an issue (it has no
    threshold) and is left alone.

    Parameters
    ----------
    data
        One row per respondent, the items as integer codes.
    items
        Columns to check (default: every column with integer codes, other than ``group``).
    group
        Group column, or several whose combinations form the groups (as ``invariance()``):
        counts are taken in every group. ``None``: over all rows.
    min_count
        Smallest count a category keeps in every group (lavaan needs 1; a larger value
        steadies thresholds estimated from a handful of responses).

    Returns
    -------
    CollapseResult
        ``data`` (a recoded copy) and ``table`` (one row per merged category).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q": [1, 2, 2, 3, 3, 3, 2, 2, 3, 3], "g": ["a"] * 6 + ["b"] * 4})
    >>> res = collapse_categories(df, ["q"], group="g")
    >>> res.table.to_dict("records")
    [{'item': 'q', 'category': 1, 'into': 2, 'min_count': 0, 'group': 'b'}]
    >>> res.data["q"].tolist()
    [2, 2, 2, 3, 3, 3, 2, 2, 3, 3]
    """
    if not isinstance(data, pd.DataFrame):
        raise ArgumentError("data must be a pandas DataFrame", values=[type(data).__name__])
    min_count = check_int(min_count, "min_count", minimum=1)
    gcols = [] if group is None else ([group] if isinstance(group, str) else list(group))
    for c in [*gcols, *(items or [])]:
        if c not in data.columns:
            raise MissingColumnError(f"column {c!r} is not in the data", column=c,
                                      expected="a column of the data frame")
    if items is None:
        items = [c for c in data.columns if c not in gcols
                 and pd.api.types.is_numeric_dtype(data[c])
                 and np.all(np.mod(data[c].dropna().to_numpy(dtype=float), 1) == 0)]
    items = list(items)
    groups = None
    if gcols:
        groups = data[gcols].astype(str).agg(" / ".join, axis=1)
        groups[data[gcols].isna().any(axis=1)] = np.nan
    out = data.copy()
    rows = []
    for item in items:
        col = data[item]
        if not pd.api.types.is_numeric_dtype(col):
            raise NonNumericError("an ordinal item must hold integer codes", column=item,
                            values=list(col.dropna().unique()[:5]),
                            expected="integer category codes (e.g. 1-5)")
        values = col.dropna().to_numpy(dtype=float)
        bad = values[np.mod(values, 1) != 0]
        if len(bad):
            raise DataError("an ordinal item holds codes that are not integers", column=item,
                            values=list(bad[:5]), expected="integer category codes (e.g. 1-5)")
        counts = _counts(col, groups)
        blocks = [[c] for c in counts.index]
        merged_from: dict[float, tuple[float, str]] = {}
        while (step := _merge_step(counts, blocks, min_count)) is not None:
            j, k, low, where = step
            for code in blocks[k] + blocks[j]:
                merged_from.setdefault(code, (low, where))
            blocks[j] = sorted(blocks[j] + blocks[k])
            del blocks[k]
        if not merged_from:
            continue
        mid = (counts.index.min() + counts.index.max()) / 2
        mapping = {}
        for b in blocks:
            target = min(b, key=lambda c: (abs(c - mid), c))
            mapping.update({c: target for c in b})
        out[item] = col.map(lambda v, m=mapping: m.get(v, v) if pd.notna(v) else v).astype(
            col.dtype)
        for code, (low, where) in sorted(merged_from.items()):
            into = mapping[code]
            if into == code:
                continue
            rows.append({"item": item, "category": _as_int(code), "into": _as_int(into),
                         "min_count": int(low), "group": where})
    table = pd.DataFrame(rows, columns=list(COLLAPSE_COLUMNS))
    return CollapseResult(data=out, table=table, items=items, min_count=min_count)


def _as_int(code: float):
    return int(code) if float(code).is_integer() else code
