"""Banner tables (issue 16): letters equal statsmodels' pairwise tests with the stated correction."""

from __future__ import annotations

import itertools

import numpy as np
import openpyxl
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.weightstats import ttest_ind

from connection.errors import ArgumentError, ExclusionWarning, MissingColumnError
from connection.outcomes._banner import BannerResult, banner, write_excel


def _data(n=900, seed=3):
    rng = np.random.default_rng(seed)
    region = rng.choice(["east", "north", "south", "west"], n, p=[0.3, 0.3, 0.25, 0.15])
    shift = pd.Series(region).map({"east": 0.0, "north": 0.5, "south": 1.0, "west": 0.2}).to_numpy()
    brand = np.where(rng.random(n) < 0.25 + 0.2 * shift, "ours",
                     np.where(rng.random(n) < 0.5, "theirs", "none"))
    score = rng.normal(3 + 0.4 * shift, 1.0 + 0.3 * shift)
    sex = rng.choice(["f", "m"], n)
    return pd.DataFrame({"brand": brand, "score": score, "region": region, "sex": sex,
                         "w": rng.uniform(0.3, 3.0, n)})


def _expected_letters(values, tests, alpha, correction):
    """{(row, column): letters} from statsmodels' p-values adjusted with multipletests."""
    p = [t[2] for t in tests]
    adj = multipletests(p, method=correction)[1] if p else []
    out = {c: set() for c in values}
    for (a, b, _), padj in zip(tests, adj):
        if padj < alpha:
            hi, lo = (a, b) if values[a] > values[b] else (b, a)
            out[hi].add(lo)
    return out


@pytest.mark.parametrize("correction,sm", [("holm", "holm"), ("bonferroni", "bonferroni"),
                                           ("bh", "fdr_bh")])
def test_proportion_letters_equal_statsmodels_pooled_z_tests(correction, sm):
    d = _data()
    res = banner(d, "brand", "region", correction=correction, level=0.95)
    t = res.to_frame()
    regions = sorted(d.region.unique())
    letter = dict(zip(regions, "ABCD"))
    n_significant = 0
    for cat in sorted(d.brand.unique()):
        counts = {r: int(((d.region == r) & (d.brand == cat)).sum()) for r in regions}
        nobs = {r: int((d.region == r).sum()) for r in regions}
        tests = [(a, b, proportions_ztest([counts[a], counts[b]], [nobs[a], nobs[b]])[1])
                 for a, b in itertools.combinations(regions, 2)]
        exp = _expected_letters({r: counts[r] / nobs[r] for r in regions}, tests, 0.05, sm)
        rows = t[(t.row_category == cat) & (t.column_variable == "region")]
        for r in regions:
            got = rows[rows.column_category == r].letters.iloc[0]
            assert got == "".join(sorted(letter[x] for x in exp[r])), (cat, r)
            assert rows[rows.column_category == r].value.iloc[0] == pytest.approx(
                counts[r] / nobs[r], abs=1e-12)
            n_significant += len(got)
        # the test frame has the statsmodels p-values
        tf = res.tests[(res.tests.row_category == cat)]
        np.testing.assert_allclose(tf.p_value.to_numpy(), [x[2] for x in tests], rtol=1e-10)
    assert n_significant > 0   # the data differ: letters are not all empty


def test_mean_letters_equal_statsmodels_welch_t_tests():
    d = _data()
    res = banner(d, "score", ["region", "sex"])
    t = res.to_frame()
    regions = sorted(d.region.unique())
    letter = dict(zip(regions, "ABCD"))
    groups = {r: d.score[d.region == r].to_numpy() for r in regions}
    tests = [(a, b, ttest_ind(groups[a], groups[b], usevar="unequal")[1])
             for a, b in itertools.combinations(regions, 2)]
    exp = _expected_letters({r: groups[r].mean() for r in regions}, tests, 0.05, "holm")
    rows = t[t.column_variable == "region"]
    for r in regions:
        row = rows[rows.column_category == r].iloc[0]
        assert row.value == pytest.approx(groups[r].mean(), abs=1e-12)
        assert row.se == pytest.approx(groups[r].std(ddof=1) / np.sqrt(len(groups[r])))
        assert row.letters == "".join(sorted(letter[x] for x in exp[r]))
    assert "".join(rows.letters) != ""
    # sex columns are lettered after the region columns, tested among themselves only
    assert t[t.column_variable == "sex"].letter.tolist() == ["E", "F"]
    assert set(res.tests.column_variable) == {"region", "sex"}
    assert len(res.tests) == 6 + 1


def test_all_ones_weights_equal_unweighted():
    d = _data()
    d["one"] = 1.0
    a = banner(d, ["brand", "score"], "region", weights=None).to_frame()
    b = banner(d, ["brand", "score"], "region", weights="one").to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_weighted_uses_weighted_shares_and_kish_n_eff():
    d = _data()
    res = banner(d, "brand", "region", weights="w")
    t = res.to_frame()
    tests = []
    vals = {}
    for r in sorted(d.region.unique()):
        sel = d.region == r
        w = d.w[sel]
        p = float(w[d.brand[sel] == "ours"].sum() / w.sum())
        n_eff = float(w.sum() ** 2 / (w ** 2).sum())
        row = t[(t.row_category == "ours") & (t.column_category == r)].iloc[0]
        assert row.value == pytest.approx(p, abs=1e-12)
        assert row.n_eff == pytest.approx(n_eff, rel=1e-12)
        assert row.base == int(sel.sum())
        vals[r] = (p, n_eff)
    for a, b in itertools.combinations(sorted(vals), 2):
        (pa, na), (pb, nb) = vals[a], vals[b]
        tests.append(proportions_ztest([pa * na, pb * nb], [na, nb])[1])
    got = res.tests[res.tests.row_category == "ours"].p_value.to_numpy()
    np.testing.assert_allclose(got, tests, rtol=1e-10)
    assert res.weighted and "Kish" in res.summary().as_text()


def test_low_base_columns_are_flagged_and_not_tested():
    d = _data()
    small = d.region == "west"
    res = banner(d, "brand", "region", min_base=int(small.sum()) + 1)
    t = res.to_frame()
    west = t[t.column_category == "west"]
    assert west.low_base.all() and (west.letters == "").all()
    assert not t[t.column_category == "east"].low_base.any()
    assert "west" not in set(res.tests.column_a) | set(res.tests.column_b)
    assert len(res.tests) == 3 * 3          # 3 tested regions, 3 brand categories
    assert "*" in res.wide("brand").iloc[0].to_string()


def test_missing_answers_and_columns():
    d = _data()
    d.loc[:9, "score"] = np.nan
    d.loc[10:14, "region"] = None
    with pytest.warns(ExclusionWarning) as record:
        res = banner(d, "score", "region")
    messages = " ".join(str(w.message) for w in record)
    assert "only in the Total column" in messages and "score (10 of 900)" in messages
    t = res.to_frame()
    assert t[t.column_category == "Total"].base.iloc[0] == len(d) - 10
    assert t[t.column_variable == "region"].base.sum() == len(d) - 10 - 5
    with pytest.raises(MissingColumnError, match="nope"):
        banner(d, "nope", "region")
    with pytest.raises(ArgumentError):
        banner(d, "score", "region", correction="sidak")


def test_summary_is_a_report_and_numeric_codes_can_be_categorical():
    d = _data()
    d["code"] = (d.brand == "ours").astype(int) + 1
    res = banner(d, "code", "sex", categorical="code")
    assert isinstance(res, BannerResult)
    assert set(res.to_frame().row_category) == {1, 2}
    text = res.summary().as_text()
    assert "Banner table" in text and "sex: f (A)" in text and "%" in text


def test_a_survey_brings_its_weights_and_categorical_codes():
    from connection.data import Instrument, read_survey

    spec = {"name": "b", "constructs": {"c": {"scale": {"min": 1, "max": 5},
                                              "items": [{"id": "c1"}]}},
            "variables": {"w": {"type": "numeric", "role": "weight", "missing": []},
                          "gender": {"type": "categorical", "values": [1, 2]},
                          "region": {"type": "text"}},
            "weights": "w"}
    d = _data(n=300)
    data = pd.DataFrame({"c1": np.random.default_rng(0).integers(1, 6, 300),
                         "gender": (d.brand == "ours").astype(int) + 1,
                         "region": d.region, "w": d.w})
    survey = read_survey(data, Instrument.from_dict(spec))
    got = banner(survey, ["gender", "c1"], "region").to_frame()
    want = banner(data, ["gender", "c1"], "region", weights="w", categorical="gender").to_frame()
    pd.testing.assert_frame_equal(got, want)
    assert set(got.statistic) == {"proportion", "mean"}
    unweighted = banner(survey, "c1", "region", weights=None).to_frame()
    assert unweighted.value.iloc[0] == pytest.approx(data.c1.mean())


def test_to_excel_round_trip(tmp_path):
    d = _data()
    res = banner(d, ["brand", "score"], ["region", "sex"], min_base=200)
    path = res.to_excel(tmp_path / "banner.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Banner", "Table", "Tests"]
    ws = wb["Banner"]
    assert ws.cell(row=1, column=2).value == "Total" and ws.cell(row=1, column=2).font.bold
    assert ws.cell(row=2, column=4).value == "east" and ws.cell(row=2, column=5).value == "A"
    assert ws.cell(row=3, column=1).value == "brand" and ws.cell(row=4, column=1).value == "Base"
    t = res.to_frame()
    # the first brand category, region east: value as a percentage, letters in the next column
    first = t[(t.row_variable == "brand") & (t.column_category == "east")].iloc[0]
    assert ws.cell(row=5, column=1).value == first.row_category
    assert ws.cell(row=5, column=4).value == pytest.approx(first.value)
    assert ws.cell(row=5, column=4).number_format == "0.0%"
    assert (ws.cell(row=5, column=5).value or "") == first.letters
    low = t[(t.row_variable == "brand")].iloc[:7]
    for k, flag in enumerate(low.low_base):
        assert (ws.cell(row=4, column=3 + 2 * k).value == "low base") == flag
    back = pd.read_excel(path, sheet_name="Table")
    np.testing.assert_allclose(back.value.to_numpy(), t.value.to_numpy(), rtol=1e-12)
    assert back.letters.fillna("").tolist() == t.letters.tolist()
    tests = pd.read_excel(path, sheet_name="Tests")
    np.testing.assert_allclose(tests.p_adjusted, res.tests.p_adjusted, rtol=1e-12)


def test_write_excel_any_frame(tmp_path):
    f = pd.DataFrame({"driver": ["a", "b"], "share": [0.25, 0.75], "n": [10, 20]})
    path = write_excel(tmp_path / "x.xlsx", {"Shares": f}, percent=["share"])
    ws = openpyxl.load_workbook(path)["Shares"]
    assert [c.value for c in ws[1]] == ["driver", "share", "n"] and ws["A1"].font.bold
    assert ws["B2"].value == 0.25 and ws["B2"].number_format == "0.0%"
    pd.testing.assert_frame_equal(pd.read_excel(path, sheet_name="Shares"), f)
    with pytest.raises(ArgumentError, match="xlsx"):
        write_excel(tmp_path / "x.csv", f)
