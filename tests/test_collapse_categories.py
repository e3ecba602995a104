"""collapse_categories: sparse ordinal categories merged the same way in every group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection.errors import DataError, GroupError, MissingColumnError, NonNumericError


def _sparse_frame(seed=3, n=240):
    """Two groups, 10-point items whose low categories are rare (empty in one group)."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    data = {"g": np.repeat(["a", "b"], n // 2)}
    for j in range(4):
        y = 0.75 * f + np.sqrt(1 - 0.75 ** 2) * rng.standard_normal(n)
        data[f"s{j + 1}"] = np.clip(np.digitize(y, np.linspace(-2.6, 1.6, 9)) + 1, 1, 10)
    return pd.DataFrame(data)


def _counts(frame, item, group):
    return pd.crosstab(frame[item], frame[group])


def test_every_kept_category_has_min_count_in_every_group_and_order_is_kept():
    df = _sparse_frame()
    before = df.copy()
    for m in (1, 5, 15):
        res = cx.collapse_categories(df, ["s1", "s2", "s3", "s4"], group="g", min_count=m)
        pd.testing.assert_frame_equal(df, before)  # the input is not changed
        for item in ["s1", "s2", "s3", "s4"]:
            assert _counts(res.data, item, "g").to_numpy().min() >= m
            # a monotone recoding: the order of respondents on the item is kept (ties may merge)
            old, new = df[item].to_numpy(), res.data[item].to_numpy()
            order = np.argsort(old, kind="stable")
            assert np.all(np.diff(new[order]) >= 0)
            # every row of the table is a code that is gone; every code gone has a row
            gone = set(df[item]) - set(res.data[item])
            assert gone == set(res.table.loc[res.table["item"] == item, "category"])
        assert (res.table["category"] != res.table["into"]).all()
    assert len(cx.collapse_categories(df, ["s1"], group="g", min_count=15).table) > len(
        cx.collapse_categories(df, ["s1"], group="g", min_count=1).table)


def test_the_multigroup_ordinal_fit_refused_before_runs_after():
    df = _sparse_frame()
    items = ["s1", "s2", "s3", "s4"]
    counts = _counts(df, "s1", "g")
    assert (counts == 0).to_numpy().any()  # the premise: an empty category in one group
    with pytest.raises(GroupError, match="has no response in category") as info:
        cx.cfa("f =~ s1 + s2 + s3 + s4", df, group="g", ordered=items,
               group_equal=["thresholds", "loadings"])
    assert "cx.collapse_categories(data, items, group=...)" in str(info.value)
    res = cx.collapse_categories(df, items, group="g")
    fit = cx.cfa("f =~ s1 + s2 + s3 + s4", res.data, group="g", ordered=items,
                 group_equal=["thresholds", "loadings"])
    assert fit.converged
    # one threshold per kept category boundary, the same number in both groups
    th = fit.estimates[fit.estimates["op"] == "|"]
    for item in items:
        k = res.data[item].nunique()
        assert (th["lhs"] == item).sum() == 2 * (k - 1)


def test_merge_goes_to_the_smaller_neighbour_and_takes_the_middle_code():
    # item on 1..5: category 3 is rare (2 and 4 hold 10 and 50 responses): it joins 2, and the
    # block {2, 3} keeps code 3 (nearer the middle of the scale)
    q = [1] * 20 + [2] * 10 + [3] * 1 + [4] * 50 + [5] * 20
    res = cx.collapse_categories(pd.DataFrame({"q": q}), ["q"], min_count=5)
    assert res.table.to_dict("records") == [
        {"item": "q", "category": 2, "into": 3, "min_count": 1, "group": ""}]
    assert sorted(res.data["q"].unique()) == [1, 3, 4, 5]
    assert (res.data["q"] == 3).sum() == 11
    # an extreme category empty in one group joins its only neighbour
    df = pd.DataFrame({"q": [1, 2, 3, 4, 5] * 4 + [2, 3, 4, 5] * 4,
                       "g": ["a"] * 20 + ["b"] * 16})
    res = cx.collapse_categories(df, ["q"], group="g")
    assert res.table.to_dict("records") == [
        {"item": "q", "category": 1, "into": 2, "min_count": 0, "group": "b"}]
    assert res.collapsed == ["q"]


def test_missing_values_stay_missing_and_groups_from_two_columns():
    df = _sparse_frame()
    df["c"] = np.tile(["x", "y"], len(df) // 2)
    df.loc[[0, 5, 9], "s2"] = np.nan
    res = cx.collapse_categories(df, ["s2"], group=["g", "c"])
    assert res.data["s2"].isna().sum() == 3 and res.data.loc[[0, 5, 9], "s2"].isna().all()
    cells = df["g"] + " / " + df["c"]
    assert pd.crosstab(res.data["s2"], cells).to_numpy().min() >= 1
    assert set(res.table["group"]) <= set(cells)


def test_nothing_to_merge_gives_an_empty_table_and_the_same_data():
    df = pd.DataFrame({"q": [1, 2, 3] * 10, "g": ["a", "b"] * 15})
    res = cx.collapse_categories(df, group="g")
    assert res.items == ["q"] and res.table.empty and res.collapsed == []
    pd.testing.assert_frame_equal(res.data, df)
    assert "nothing was merged" in str(res)


def test_bad_input_gets_typed_errors():
    df = pd.DataFrame({"q": [1.0, 2.5, 3.0], "t": ["a", "b", "c"], "g": ["a", "a", "b"]})
    with pytest.raises(DataError, match="not integers"):
        cx.collapse_categories(df, ["q"])
    with pytest.raises(NonNumericError, match="integer codes"):
        cx.collapse_categories(df, ["t"])
    with pytest.raises(MissingColumnError, match="'nope'"):
        cx.collapse_categories(df, ["nope"])
    with pytest.raises(MissingColumnError, match="'grp'"):
        cx.collapse_categories(df, ["q"], group="grp")
