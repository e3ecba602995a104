"""Issue 15, step 1: weighted means and shares (connection.stats.describe) against R's
survey::svymean, svyby and confint (weighted, unweighted and on a raked design)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.data import Instrument, read_survey
from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    MissingColumnError,
    OutOfRangeError,
)
from connection.stats import describe, rake

REFS = json.loads((Path(__file__).parent / "references" / "weights" /
                   "describe_references.json").read_text())
DATA = pd.DataFrame(REFS["data"])


@pytest.fixture(scope="module")
def raked():
    result = rake(DATA, REFS["margins"], base_weights="pw", tol=1e-13)
    np.testing.assert_allclose(result.weights, REFS["raked_weights"], rtol=1e-12)
    return result


def _row(table, ref):
    sel = table
    if ref["group"] is not None:
        sel = sel[sel[ref["group"]] == ref["group_value"]]
    if ref["level"] is not None:
        sel = sel[sel["category"] == ref["level"]]
    assert len(sel) == 1
    return sel.iloc[0]


ROWS = REFS["rows"]


@pytest.mark.parametrize("ref", ROWS, ids=[
    f"{r['design']}-{r['group'] or 'all'}{'=' + r['group_value'] if r['group'] else ''}-"
    f"{r['variable']}{'=' + r['level'] if r['level'] else ''}" for r in ROWS])
def test_estimates_ses_and_intervals_equal_svymean_and_svyby(ref, raked):
    weights = {"pw": "pw", "unweighted": None, "raked": raked}[ref["design"]]
    for level, suffix in ((0.95, ""), (0.90, "_90")):
        table = describe(DATA, ref["variable"], weights=weights, group=ref["group"], level=level)
        row = _row(table, ref)
        in_group = DATA if ref["group"] is None else DATA[DATA[ref["group"]] == ref["group_value"]]
        empty = in_group[ref["variable"]].notna().sum() == 0
        for column in ("estimate", "se", "ci_lower", "ci_upper"):
            expected = ref[column + suffix if column.startswith("ci") else column]
            if empty:   # a group without values (acs.k3 of high and middle schools): svyby says
                # NA on the raked design but 0 (SE 0) on the others; no estimate is the answer
                assert expected in (None, 0) and np.isnan(row[column]) and row["n"] == 0
            else:
                assert row[column] == pytest.approx(expected, rel=1e-9, abs=1e-9), column


def test_table_layout_kinds_and_effective_n():
    table = describe(DATA, ["api00", "stype"], weights="pw", group="awards")
    assert list(table.columns) == ["awards", "variable", "category", "statistic", "n",
                                   "n_missing", "n_eff", "estimate", "se", "ci_lower",
                                   "ci_upper"]
    assert table["awards"].tolist() == ["No"] * 4 + ["Yes"] * 4
    assert table["statistic"].tolist() == ["mean", "share", "share", "share"] * 2
    assert table["category"].tolist()[:4] == [None, "E", "H", "M"]
    for award, part in table.groupby("awards"):
        w = DATA.loc[DATA["awards"] == award, "pw"].to_numpy()
        assert part["n"].tolist() == [len(w)] * 4
        np.testing.assert_allclose(part["n_eff"], w.sum() ** 2 / (w ** 2).sum(), rtol=1e-12)
        assert part["estimate"].iloc[1:].sum() == pytest.approx(1.0)
    assert table.attrs["weights"] == "pw" and table.attrs["level"] == 0.95
    missing = describe(DATA, "acs.k3", weights="pw")
    assert missing[["n", "n_missing"]].iloc[0].tolist() == [
        int(DATA["acs.k3"].notna().sum()), int(DATA["acs.k3"].isna().sum())]


def test_with_weights_of_one_describe_is_the_unweighted_mean_and_its_usual_se():
    rng = np.random.default_rng(15)
    n = 137
    data = pd.DataFrame({"y": rng.normal(50, 10, n), "g": rng.choice(["a", "b", "c"], n),
                         "yes": rng.random(n) < 0.3})
    data.loc[[3, 40], "y"] = np.nan
    ones = describe(data, ["y", "yes"], weights=np.ones(n))
    none = describe(data, ["y", "yes"], weights=None)
    pd.testing.assert_frame_equal(ones, none, check_exact=True)
    y = data["y"].dropna().to_numpy()
    mean = ones.iloc[0]
    assert mean["estimate"] == np.mean(y)
    # SE^2 = n/(n-1) * sum((y - ybar)^2) / n^2 = sd^2 / n: over the whole sample, the two
    # missing values are a domain of the n rows, hence the (n_all/(n_all-1)) * ((m-1)/m) factor
    m, n_all = len(y), n
    factor = n_all / (n_all - 1) * (m - 1) / m
    assert mean["se"] == pytest.approx(np.sqrt(factor) * np.std(y, ddof=1) / np.sqrt(m),
                                       rel=1e-12)
    assert mean["n_eff"] == pytest.approx(m, rel=1e-12)
    share = ones[(ones["variable"] == "yes") & (ones["category"] == True)].iloc[0]  # noqa: E712
    p = data["yes"].mean()
    assert share["estimate"] == pytest.approx(p, rel=1e-14)
    assert share["se"] == pytest.approx(np.sqrt(p * (1 - p) / (n - 1)), rel=1e-12)
    # without missing values: exactly sd / sqrt(n)
    full = describe(data.dropna(), "y", weights=None).iloc[0]
    assert full["se"] == pytest.approx(np.std(y, ddof=1) / np.sqrt(m), rel=1e-12)
    # per group (domains of the whole sample): sqrt(N/(N-1) * (n_g-1)/n_g) * sd_g / sqrt(n_g)
    clean = data.dropna()
    by = describe(clean, "y", weights=None, group="g")
    for _, row in by.iterrows():
        yg = clean.loc[clean["g"] == row["g"], "y"].to_numpy()
        k = len(yg)
        assert row["estimate"] == pytest.approx(np.mean(yg), rel=1e-14)
        expected = np.sqrt(m / (m - 1) * (k - 1) / k) * np.std(yg, ddof=1) / np.sqrt(k)
        assert row["se"] == pytest.approx(expected, rel=1e-12)


SPEC = {"name": "w", "constructs": {"c": {"scale": {"min": 1, "max": 5},
                                          "items": [{"id": "c1"}, {"id": "c2"}]}},
        "variables": {"w": {"type": "numeric", "role": "weight", "missing": []},
                      "gender": {"type": "categorical", "values": [1, 2]}},
        "weights": "w"}


def _survey():
    rng = np.random.default_rng(3)
    n = 80
    data = pd.DataFrame({"c1": rng.integers(1, 6, n), "c2": rng.integers(1, 6, n),
                         "gender": rng.integers(1, 3, n), "w": rng.uniform(0.3, 3, n)})
    return data, read_survey(data, Instrument.from_dict(SPEC))


def test_a_survey_uses_its_weights_unless_weights_none_is_passed():
    data, survey = _survey()
    from_survey = describe(survey, ["c1", "gender"])
    pd.testing.assert_frame_equal(from_survey, describe(data, ["c1", "gender"], weights="w",
                                                        categorical="gender"),
                                  check_dtype=False)
    assert from_survey.attrs["weights"] == "the survey's weights (w)"
    assert from_survey["statistic"].tolist() == ["mean", "share", "share"]  # declared categorical
    unweighted = describe(survey, "c1", weights=None)
    assert unweighted["estimate"].iloc[0] == pytest.approx(data["c1"].mean(), rel=1e-14)
    assert unweighted.attrs["weights"] == "none"
    assert from_survey["estimate"].iloc[0] == pytest.approx(np.average(data["c1"],
                                                                       weights=data["w"]))


def test_numeric_codes_as_shares_and_groups_without_a_value():
    data = pd.DataFrame({"gender": [1, 2, 2, 1, 2], "g": ["a", "a", None, "b", "b"],
                         "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    shares = describe(data, "gender", weights=None, categorical="gender")
    assert shares["category"].tolist() == [1, 2]
    assert shares["estimate"].tolist() == [0.4, 0.6]
    with pytest.warns(ExclusionWarning, match="1 of 5 respondents have no value in 'g'"):
        by = describe(data, "y", weights=None, group="g")
    assert by["g"].tolist() == ["a", "b"] and by["estimate"].tolist() == [1.5, 4.5]


@pytest.mark.parametrize("kwargs,cls,fragment", [
    ({"variables": "nope"}, MissingColumnError, "not in the data"),
    ({"variables": []}, ArgumentError, "variables is empty"),
    ({"group": "nope"}, MissingColumnError, "group names a column"),
    ({"level": 95}, ArgumentError, "level"),
    ({"weights": "nope"}, MissingColumnError, "weights names a column"),
    ({"weights": np.r_[0.0, np.ones(199)]}, OutOfRangeError, "finite numbers above 0"),
    ({"categorical": "nope"}, MissingColumnError, "categorical names a column"),
])
def test_bad_arguments_are_typed_errors(kwargs, cls, fragment):
    args = {"variables": "api00", **kwargs}
    with pytest.raises(cls) as info:
        describe(DATA, **args)
    assert fragment in str(info.value)


def test_raked_weights_of_other_data_are_refused(raked):
    with pytest.raises(ArgumentError, match="not those of this data"):
        describe(DATA.iloc[:100], "api00", weights=raked)


def test_a_group_named_like_an_output_column_keeps_both():
    """A group column called 'category' (the social-moms data has one) used to be overwritten
    by the share column of the same name: every group label was lost."""
    import connection as cx

    frame = pd.DataFrame({"category": ["banking"] * 4 + ["ereaders"] * 4,
                          "x": [1.0, 2, 3, 4, 5, 6, 7, 9], "y": list("abababab")})
    table = cx.describe(frame, ["x", "y"], weights=None, group="category")
    assert table["category_group"].tolist() == ["banking"] * 3 + ["ereaders"] * 3
    means = table[table["statistic"] == "mean"].set_index("category_group")["estimate"]
    assert means.to_dict() == {"banking": 2.5, "ereaders": 6.75}
    assert table.loc[table["statistic"] == "share", "category"].tolist() == ["a", "b"] * 2
