"""Tests for connection.measurement._index: factor-score weights vs lavaan's lavPredict, the 0-100 scaling,
the JSON round trip, and the segment rule, on reference data and simulated known truth."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection import instruments
from connection._flags import format_flags
from connection._report import Report
from connection.errors import (
    ArgumentError,
    ConfigError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
)
from connection.measurement._index import SEGMENTS, ConnectionIndex, SegmentRule

REF = Path(__file__).parent / "references"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
EC = ["ec_belong", "ec_accomplish", "ec_goals", "ec_express", "ec_family", "ec_parent",
      "ec_closer", "ec_fitin"]


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "HolzingerSwineford1939.csv")


def survey(n: int, seed: int = 0, loadings=(0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.7, 0.6)):
    """Connection items (1-5) from one latent factor through thresholds, plus satisfaction (1-10)
    and a differentiation item (1-5); returns the data and the true latent values."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    cols = {}
    cuts5 = np.array([-1.2, -0.3, 0.5, 1.3])
    for item, lam in zip(EC, loadings):
        latent = lam * eta + np.sqrt(1 - lam**2) * rng.normal(size=n)
        cols[item] = np.searchsorted(cuts5, latent) + 1
    sat = 0.4 * eta + np.sqrt(0.84) * rng.normal(size=n)
    for item in ("sat_overall", "sat_expect", "sat_ideal"):
        x = 0.85 * sat + np.sqrt(1 - 0.85**2) * rng.normal(size=n)
        cols[item] = np.clip(np.round(7.5 + 1.6 * x), 1, 10)
    cols["feat_better"] = np.clip(np.round(3.3 + 0.9 * rng.normal(size=n) + 0.3 * eta), 1, 5)
    return pd.DataFrame(cols).astype(float), eta


# ---------------------------------------------------------------------------- weights vs lavaan

@pytest.mark.parametrize("factor", ["visual", "textual", "speed"])
def test_regression_scores_match_lavpredict(hs, factor):
    ref = pd.read_csv(REF / "lavaan" / "hs_factor_scores_regression_all.csv")
    ci = ConnectionIndex(HS_MODEL, factor, scaling="zscore", segments=None).fit(hs)
    got = ci.transform(hs)["score"].to_numpy()
    assert got == pytest.approx(ref[factor].to_numpy(), abs=1e-5)


@pytest.mark.parametrize("factor", ["visual", "textual", "speed"])
def test_bartlett_scores_match_lavpredict(hs, factor):
    ref = pd.read_csv(REF / "lavaan" / "hs_factor_scores_bartlett_first10.csv")
    ci = ConnectionIndex(HS_MODEL, factor, method="bartlett", scaling="zscore", segments=None).fit(hs)
    got = ci.transform(hs.iloc[:10])["score"].to_numpy()
    assert got == pytest.approx(ref[factor].to_numpy(), abs=1e-5)


def test_weights_agree_with_engine_predict(hs):
    from connection.latent import cfa

    fit = cfa(HS_MODEL, hs)
    pred = fit.predict(hs)
    ci = ConnectionIndex(HS_MODEL, "visual", scaling="zscore", segments=None).fit(hs)
    assert ci.transform(hs)["score"].to_numpy() == pytest.approx(pred["visual"].to_numpy(), abs=1e-8)


# ---------------------------------------------------------------------------- 0-100 scaling

def test_range_scaling_is_linear_in_a_constant_answer():
    df, _ = survey(800, seed=1)
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None).fit(df)
    for v in (1, 2, 3, 4, 5, 2.5):
        row = pd.DataFrame({c: [v] for c in EC})
        assert ci.transform(row)["index"].iloc[0] == pytest.approx(100 * (v - 1) / 4, abs=1e-9)
    out = ci.transform(df)["index"]
    assert out.between(0, 100).all()
    assert ci.score_min_ < 0 < ci.score_max_


def test_range_scaling_with_mixed_ranges_hits_0_and_100_at_the_extremes(hs):
    ranges = {f"x{j}": (0.0, 10.0) for j in range(1, 10)}
    ranges["x1"] = (-2.0, 12.0)
    ci = ConnectionIndex(HS_MODEL, "textual", item_range=ranges, segments=None).fit(hs)
    w = ci.weights_
    lo = pd.DataFrame([{i: (ranges[i][0] if wi > 0 else ranges[i][1]) for i, wi in zip(ci.items_, w)}])
    hi = pd.DataFrame([{i: (ranges[i][1] if wi > 0 else ranges[i][0]) for i, wi in zip(ci.items_, w)}])
    assert ci.transform(lo)["index"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert ci.transform(hi)["index"].iloc[0] == pytest.approx(100.0, abs=1e-9)
    # random answer patterns inside the box stay inside 0-100
    rng = np.random.default_rng(3)
    pats = pd.DataFrame({i: rng.uniform(*ranges[i], 500) for i in ci.items_})
    assert ci.transform(pats)["index"].between(0, 100).all()


def test_zscore_scaling_has_mean_50_sd_10_in_calibration():
    df, _ = survey(600, seed=2)
    ci = ConnectionIndex({"connection": EC}, scaling="zscore", segments=None).fit(df)
    idx = ci.transform(df)["index"]
    assert idx.mean() == pytest.approx(50.0, abs=1e-9)
    assert idx.std() == pytest.approx(10.0, abs=1e-9)


def test_known_truth_scores_track_the_latent_and_loadings_are_recovered():
    df, eta = survey(4000, seed=3)
    ci = ConnectionIndex(instruments.default(), "connection", segments=None).fit(df)
    out = ci.transform(df)
    assert np.corrcoef(out["score"], eta)[0, 1] > 0.9
    # thresholded items attenuate loadings a little; the order and size are recovered
    loads = np.array([ci.loadings_[i] for i in EC])
    assert np.corrcoef(loads, [0.8, 0.75, 0.7, 0.7, 0.65, 0.6, 0.7, 0.6])[0, 1] > 0.8
    assert np.all((loads > 0.5) & (loads < 0.85))
    assert ci.fit_measures_["cfi"] > 0.95
    assert ci.n_calibration_ == 4000
    assert (ci.item_min_ == 1).all() and (ci.item_max_ == 5).all()  # from the instrument


# ---------------------------------------------------------------------------- persistence

def test_save_load_round_trip_scores_a_new_wave_identically(tmp_path):
    wave1, _ = survey(700, seed=4)
    wave2, _ = survey(300, seed=5)
    ci = ConnectionIndex(instruments.default(), "connection").fit(wave1)
    path = ci.save(tmp_path / "index.json")
    assert path.stat().st_size < 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]  # atomic: no temp file left
    loaded = ConnectionIndex.load(path)
    a, b = ci.segment(wave2), loaded.segment(wave2)
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert np.array_equal(a["index"].to_numpy(), b["index"].to_numpy())
    assert a["segment"].equals(b["segment"])
    assert loaded.rule == ci.rule
    d = json.loads(path.read_text())
    assert d["format"] == "connection-index" and d["items"] == EC
    assert d["rule"]["segments"]["fully_connected"] == "index >= 75"
    # saving the loaded index again gives the same bytes
    again = loaded.save(tmp_path / "again.json")
    assert again.read_bytes() == path.read_bytes()


def test_load_rejects_foreign_or_broken_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(ConfigError, match="not a connection-index file"):
        ConnectionIndex.load(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        ConnectionIndex.load(broken)
    wave, _ = survey(300, seed=6)
    d = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None).fit(wave).to_dict()
    good = json.loads(json.dumps(d))
    d["weights"] = d["weights"][:-1]
    with pytest.raises(ConfigError, match="does not match its checksum"):
        ConnectionIndex.from_dict(d)
    with pytest.raises(ConfigError, match="'weights': has the wrong length"):
        ConnectionIndex.from_dict(resign(d))
    edited = json.loads(json.dumps(good))
    edited["weights"][0] *= 2          # a hand edit would silently move every index value
    with pytest.raises(ConfigError, match="checksum"):
        ConnectionIndex.from_dict(edited)
    with pytest.raises(ConfigError, match="'score_min': does not follow from the weights"):
        ConnectionIndex.from_dict(resign(edited))
    text = json.loads(json.dumps(good))
    text["means"][1] = "n/a"
    with pytest.raises(ConfigError, match="'means': entry 2 is not a finite number"):
        ConnectionIndex.from_dict(resign(text))
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        ConnectionIndex.load(listed)
    assert ConnectionIndex.from_dict(good).transform(wave)["index"].equals(
        ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None).fit(wave).transform(wave)["index"])


def resign(d: dict) -> dict:
    """``d`` with a recomputed checksum: what a tool that edits index files would produce."""
    from connection.measurement._index import _checksum

    d = json.loads(json.dumps(d))
    d["checksum"] = _checksum(d)
    return d


# ---------------------------------------------------------------------------- segments

def test_segment_rule_by_hand():
    df, _ = survey(1500, seed=7)
    ci = ConnectionIndex(instruments.default(), "connection").fit(df)
    seg = ci.segment(df)
    idx = seg["index"].to_numpy()
    sat = df[["sat_overall", "sat_expect", "sat_ideal"]].mean(axis=1).to_numpy()
    dif = df["feat_better"].to_numpy()
    expected = np.where(idx >= 75, "fully_connected",
                        np.where(sat >= 8, np.where(dif >= 4, "perceives_differentiation",
                                                    "highly_satisfied"), "unconnected"))
    assert (seg["segment"].astype(str).to_numpy() == expected).all()
    assert (seg["connected"].to_numpy(dtype=bool) == (idx >= 75)).all()
    assert list(seg["segment"].cat.categories) == list(SEGMENTS) and seg["segment"].cat.ordered
    assert set(expected) == set(SEGMENTS)  # every stage occurs in this sample


def test_segment_rule_parameters_and_skipped_stages():
    df, _ = survey(500, seed=8)
    rule = SegmentRule(connected_min=60, satisfaction="sat_overall", satisfied_min=9,
                       differentiation=None)
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=rule).fit(df)
    seg = ci.segment(df)
    assert "differentiation" not in seg.columns
    assert "perceives_differentiation" not in set(seg["segment"].astype(str))
    exp = np.where(seg["index"] >= 60, "fully_connected",
                   np.where(df["sat_overall"] >= 9, "highly_satisfied", "unconnected"))
    assert (seg["segment"].astype(str).to_numpy() == exp).all()
    assert ci.rule["parameters"]["connected_min"] == 60
    assert "perceives_differentiation" not in ci.rule["segments"]
    with pytest.raises(ConfigError, match="unknown segment-rule keys"):
        SegmentRule.from_dict({"connected_min": 70, "cutoff": 3})
    with pytest.raises(ArgumentError):
        SegmentRule(connected_min=170)


def test_missing_items_give_nan_never_imputed():
    df, _ = survey(400, seed=9)
    ci = ConnectionIndex(instruments.default(), "connection").fit(df)
    wave = df.iloc[:20].copy()
    wave.loc[wave.index[3], "ec_goals"] = np.nan
    wave.loc[wave.index[5], "sat_ideal"] = np.nan
    with pytest.warns(ExclusionWarning, match="1 of 20"):
        seg = ci.segment(wave)
    assert np.isnan(seg["index"].iloc[3]) and pd.isna(seg["segment"].iloc[3])
    assert pd.isna(seg["connected"].iloc[3])
    assert not np.isnan(seg["index"].iloc[5])
    if seg["index"].iloc[5] < 75:
        assert pd.isna(seg["segment"].iloc[5])
    assert seg["segment"].notna().sum() >= 18


# ---------------------------------------------------------------------------- errors, API

def test_errors_name_the_problem():
    df, _ = survey(300, seed=10)
    with pytest.raises(ArgumentError, match="not fitted"):
        ConnectionIndex({"connection": EC}).transform(df)
    with pytest.raises(ArgumentError, match="scale range"):
        ConnectionIndex({"connection": EC}, segments=None).fit(df)
    with pytest.raises(MissingColumnError, match="ec_goals"):
        ConnectionIndex({"connection": EC}, item_range=(1, 5)).fit(df.drop(columns="ec_goals"))
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None).fit(df)
    bad = df.iloc[:5].copy()
    bad.loc[bad.index[2], "ec_family"] = 7
    with pytest.raises(OutOfRangeError, match="row 3"):
        ci.transform(bad)
    text = df.iloc[:5].astype(object)
    text.loc[text.index[1], "ec_belong"] = "agree"
    with pytest.raises(NonNumericError, match="ec_belong"):
        ci.transform(text)
    with pytest.raises(ArgumentError, match="factor-score method"):
        ConnectionIndex({"connection": EC}, method="ridge", item_range=(1, 5)).fit(df)
    with pytest.raises(ArgumentError, match="no construct"):
        ConnectionIndex(instruments.default(), "passion").fit(df)
    with pytest.raises(ArgumentError, match="no segment rule"):
        ci.segment(df)


def test_bad_ranges_files_and_values_are_refused(tmp_path):
    df, _ = survey(300, seed=12)
    for bad in [(5, 1), (3, 3), (1, np.nan), {"ec_goals": (1, np.inf)}]:
        with pytest.raises(ArgumentError, match="min < max"):
            ConnectionIndex({"connection": EC}, item_range=bad, segments=None).fit(df)
    with pytest.raises(ArgumentError, match="item_range"):
        ConnectionIndex({"connection": EC}, item_range=5, segments=None).fit(df)
    # a calibration answer off the scale is refused at fit (it would move 0 and 100 otherwise)
    off = df.copy()
    off.loc[4, "ec_family"] = 6
    with pytest.raises(OutOfRangeError, match="column 'ec_family', row 5, value 6"):
        ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None).fit(off)
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=None,
                         scaling="zscore").fit(df)
    inf = df.iloc[:5].copy()
    inf.loc[inf.index[2], "ec_goals"] = np.inf
    with pytest.raises(OutOfRangeError, match="infinite.*row 3"):
        ci.transform(inf)
    with pytest.raises(ConfigError, match="cannot read the index file"):
        ConnectionIndex.load(tmp_path / "missing.json")


def test_rows_without_a_segment_are_counted():
    df, _ = survey(400, seed=13)
    ci = ConnectionIndex(instruments.default(), "connection").fit(df)
    wave = df.iloc[:30].copy()
    wave["sat_overall"] = np.nan   # satisfaction unknown: only the fully connected get a segment
    with pytest.warns(ExclusionWarning, match="have an index but no segment"):
        seg = ci.segment(wave)
    assert (seg["segment"].notna() == (seg["index"] >= 75)).all()
    assert 0 < (seg["segment"] == "fully_connected").sum() < 30


def test_package_entry_point_and_fit_transform():
    df, _ = survey(300, seed=11)
    ci = cx.ConnectionIndex(instruments.default())
    out = ci.fit_transform(df)
    assert list(out.columns) == ["score", "index"] and out.index.equals(df.index)
    assert "fitted on 300 rows" in repr(ci)


# ---------------------------------------------------------------------------- second-order (R reference)

@pytest.fixture(scope="module")
def attachment() -> pd.DataFrame:
    return pd.read_csv(REF / "index" / "attachment_sim.csv")


def test_second_order_regression_scores_match_lavpredict(attachment):
    ref = pd.read_csv(REF / "index" / "attachment_scores.csv")
    fit_ref = json.loads((REF / "index" / "attachment_fit.json").read_text())
    ci = ConnectionIndex(instruments.default(), "attachment", facets=True, segments=None).fit(attachment)
    assert "affection =~" in ci.model_ and "attachment =~ affection" in ci.model_
    assert ci.transform(attachment)["score"].to_numpy() == pytest.approx(
        ref["attachment"].to_numpy(), abs=1e-5)
    assert ci.fit_measures_["chisq"] == pytest.approx(fit_ref["chisq"], rel=1e-4)
    assert set(ci.loadings_) == {"affection", "passion", "bonding"}
    # 1-7 items: answering 6 everywhere is 100 * 5 / 6 whatever the structure
    six = pd.DataFrame({c: [6] for c in ci.items_})
    assert ci.transform(six)["index"].iloc[0] == pytest.approx(500 / 6, abs=1e-9)


@pytest.mark.parametrize("method, column", [("regression", "regression"), ("bartlett", "bartlett")])
def test_one_factor_scores_match_lavpredict(attachment, method, column):
    ref = pd.read_csv(REF / "index" / "attachment_onefactor_scores.csv")
    ci = ConnectionIndex(instruments.default(), "attachment", method=method, segments=None).fit(attachment)
    assert ci.transform(attachment)["score"].to_numpy() == pytest.approx(ref[column].to_numpy(), abs=1e-5)


def test_summary_weights_frame_and_html():
    df, _ = survey(400, seed=12)
    ci = ConnectionIndex(instruments.default()).fit(df)
    w = ci.weights_frame()
    assert list(w.columns) == ["item", "weight", "calibration_mean", "item_min", "item_max",
                               "loading_std", "flags"]
    assert (w["flags"] == "").all() and ci.admissible_ and ci.flags_ == ()
    assert w["weight"].to_numpy() == pytest.approx(ci.weights_)
    assert (w["weight"] > 0).all() and w["loading_std"].between(0.3, 0.95).all()
    report = ci.summary()
    assert isinstance(report, Report) and not report.flags
    text = str(report)
    assert "Calibration fit:" in text and "cfi 0.9" in text
    rule = report.tables[1].frame.set_index("segment")["rule"]
    assert rule["fully_connected"] == "index >= 75"
    pd.testing.assert_frame_equal(report.tables[0].frame, w.drop(columns="flags"))
    assert ci._repr_html_() == report.as_html() and "<table" in ci._repr_html_()
    pd.testing.assert_frame_equal(ci.to_frame(), w)
    assert "not fitted" in ConnectionIndex()._repr_html_()


# ---------------------------------------------------------------------------- issue 11: exact cut-offs

def _agreeing_sample(n: int, k: int, lo: int, hi: int, seed: int) -> pd.DataFrame:
    """``k`` items on a ``lo``-``hi`` scale from one factor (a calibration sample)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    mid, spread = (lo + hi) / 2, (hi - lo) / 4
    return pd.DataFrame({f"c{j}": np.clip(np.round(mid + spread * (f + 0.8 * rng.normal(size=n))),
                                          lo, hi) for j in range(1, k + 1)})


@pytest.mark.parametrize("seed", range(12))
def test_agree_on_every_item_lands_exactly_on_the_cut_off(seed):
    # 6 items on 1-6: answering 5 everywhere is exactly 100 * 4 / 5 = 80 whatever the weights.
    # In float arithmetic the old index came out as 79.99999999999999 for 12 of 40 calibrations
    # (seeds 0-11 include such cases), leaving every such respondent out of "fully connected".
    calib = _agreeing_sample(300, 6, 1, 6, seed)
    items = list(calib.columns)
    rule = SegmentRule(connected_min=80, satisfaction=None, differentiation=None)
    ci = ConnectionIndex({"c": items}, "c", item_range=(1, 6), segments=rule).fit(calib)
    wave = pd.DataFrame({c: np.full(344, 5.0) for c in items})
    seg = ci.segment(wave)
    assert (seg["index"] == 80.0).all()
    assert int((seg["segment"] == "fully_connected").sum()) == 344
    assert int(seg["connected"].sum()) == 344
    # one step lower on one item is below the cut-off
    wave.loc[0, "c3"] = 4
    assert ci.segment(wave)["segment"].iloc[0] == "unconnected"


@pytest.mark.parametrize("v", [1, 2, 3, 4, 5, 6, 7])
def test_constant_answers_give_the_documented_index_exactly(v):
    calib = _agreeing_sample(400, 5, 1, 7, 21)
    ci = ConnectionIndex({"c": list(calib.columns)}, "c", item_range=(1, 7), segments=None).fit(calib)
    out = ci.transform(pd.DataFrame({c: [float(v)] for c in calib.columns}))
    assert out["index"].iloc[0] == 100 * (v - 1) / 6      # correctly rounded, not approximately


def test_a_cut_off_written_as_a_fraction_means_that_fraction():
    # 100 * 2 / 3 rounds UP to 66.66666666666667 > 200/3: read as the float, answering 3 on a
    # 1-4 scale (exactly 200/3) would fall below it; the cut-off is read as 200/3
    calib = _agreeing_sample(300, 4, 1, 4, 5)
    rule = SegmentRule(connected_min=100 * 2 / 3, satisfaction=None, differentiation=None)
    ci = ConnectionIndex({"c": list(calib.columns)}, "c", item_range=(1, 4), segments=rule).fit(calib)
    seg = ci.segment(pd.DataFrame({c: [3.0, 3.0] for c in calib.columns}))
    assert (seg["segment"] == "fully_connected").all()
    assert rule.cut("connected_min") == Fraction(200, 3)
    assert ci.rule["segments"]["fully_connected"] == "index >= 66.6667 (exactly 200/3)"


def test_satisfaction_and_differentiation_cut_offs_are_exact():
    df, _ = survey(400, seed=14)
    rule = SegmentRule(connected_min=100, satisfied_min=25 / 3, differentiated_min=4)
    ci = ConnectionIndex({"connection": EC}, item_range=(1, 5), segments=rule).fit(df)
    wave = df.iloc[:4].copy()
    wave[EC] = 1.0                                    # nobody is connected
    wave[["sat_overall", "sat_expect", "sat_ideal"]] = [[8, 8, 9], [9, 8, 8], [8, 8, 8], [10, 7, 8]]
    wave["feat_better"] = [4, 3, 4, 4]
    seg = ci.segment(wave)
    assert seg["segment"].astype(str).tolist() == ["perceives_differentiation", "highly_satisfied",
                                                   "unconnected", "perceives_differentiation"]
    assert seg["satisfaction"].tolist() == [25 / 3, 25 / 3, 8.0, 25 / 3]


def test_zscore_segments_decide_exactly_too():
    df, _ = survey(500, seed=15)
    ci = ConnectionIndex({"connection": EC}, scaling="zscore",
                         segments=SegmentRule(connected_min=50, satisfaction=None,
                                              differentiation=None)).fit(df)
    seg = ci.segment(df)
    exact = [Fraction(ci.score_mean_) <= sum(Fraction(w) * (Fraction(x) - Fraction(m))
                                             for w, x, m in zip(ci.weights_, row, ci.means_))
             for row in df[ci.items_].to_numpy()]
    assert seg["connected"].to_numpy(dtype=bool).tolist() == exact
    assert seg["index"].to_numpy() == pytest.approx(ci.transform(df)["index"].to_numpy())


def test_exact_cut_reads_the_simplest_fraction():
    from connection.measurement._index import _exact_cut

    for num, den in [(250, 3), (200, 3), (70, 1), (1, 10), (7, 9), (500, 7), (0, 1), (100, 1)]:
        c = num / den
        x = _exact_cut(c)
        assert float(x) == c and x == Fraction(num, den)
    assert _exact_cut(72.3456789) == Fraction("72.3456789")


# ---------------------------------------------------------------------------- issue 11: the default rule

def _instrument_with(connection_scale=None, drop=()):
    import copy

    from connection.data._instrument import Instrument

    spec = copy.deepcopy(instruments.default().to_dict())
    if connection_scale is not None:
        spec["constructs"]["connection"]["scale"] = connection_scale
    for c in drop:
        del spec["constructs"][c]
    return Instrument.from_dict(spec)


def test_segment_rule_is_public_and_the_default_follows_the_scales():
    assert cx.SegmentRule is SegmentRule
    assert "SegmentRule" in dir(cx)
    five = SegmentRule.for_instrument(instruments.default())
    assert five == SegmentRule()   # the class defaults are the default instrument's rule
    seven = SegmentRule.for_instrument(_instrument_with({"min": 1, "max": 7}))
    assert seven.connected_min == 100 * 5 / 6 and seven.cut("connected_min") == Fraction(250, 3)
    att = SegmentRule.for_instrument(instruments.default(), "attachment")
    assert att.connected_min == 100 * 5 / 6 and att.satisfied_min == 8 and att.differentiated_min == 4
    assert SegmentRule.for_range(1, 5).connected_min == 75
    assert SegmentRule.for_range(0, 10).connected_min == 90


def test_the_default_rule_on_a_seven_point_instrument_classifies_agreement_exactly():
    inst = _instrument_with({"min": 1, "max": 7})
    df, _ = survey(600, seed=16)
    df[EC] = np.clip(np.round(1 + (df[EC] - 1) * 1.5), 1, 7)     # 1-5 answers spread over 1-7
    ci = ConnectionIndex(inst, "connection").fit(df)
    assert ci.rule_.connected_min == 100 * 5 / 6
    wave = df.iloc[:344].copy()
    wave[EC] = 6.0                        # "agree" on every item
    seg = ci.segment(wave)
    assert (seg["index"] == 100 * 5 / 6).all()
    assert int(seg["connected"].sum()) == 344
    assert int((seg["segment"] == "fully_connected").sum()) == 344


def test_the_default_rule_names_the_constructs_it_needs():
    inst = _instrument_with(drop=("satisfaction",))
    df, _ = survey(300, seed=17)
    ci = ConnectionIndex(inst, "connection").fit(df)     # scoring needs no rule
    assert ci.rule_ is None and np.isfinite(ci.transform(df)["index"]).all()
    with pytest.raises(ArgumentError, match="needs the scored construct, the construct "
                                            "'satisfaction'.*lacks satisfaction"):
        ci.segment(df)
    with pytest.raises(ArgumentError, match="lacks satisfaction"):
        SegmentRule.for_instrument(inst)
    with pytest.raises(ArgumentError, match="lacks passion, satisfaction"):
        SegmentRule.for_instrument(inst, "passion")
    # an explicit rule is used as given
    ok = ConnectionIndex(inst, "connection", segments=SegmentRule(satisfaction=None,
                                                                  differentiation=None)).fit(df)
    assert set(ok.segment(df)["segment"].astype(str)) <= {"fully_connected", "unconnected"}


def test_segment_rule_refuses_bad_values():
    for kw in [{"connected_min": float("nan")}, {"connected_min": True}, {"satisfied_min": "8"},
               {"satisfaction": [""]}, {"differentiation": 3}, {"satisfaction": []}]:
        with pytest.raises(ArgumentError):
            SegmentRule(**kw)


# ---------------------------------------------------------------------------- issue 11: flags

def _heywood_data(n=400, seed=18):
    """Three indicators whose correlations force a loading above 1 (r12 r13 > r23): the
    one-factor model has a negative residual variance of a."""
    rng = np.random.default_rng(seed)
    R = np.array([[1, 0.85, 0.85], [0.85, 1, 0.6], [0.85, 0.6, 1]])
    X = rng.multivariate_normal(np.zeros(3), R, size=n)
    return pd.DataFrame(X, columns=["a", "b", "c"])


def test_an_inadmissible_calibration_fit_is_flagged_on_the_index(tmp_path):
    from connection.errors import HeywoodCaseWarning

    df = _heywood_data()
    with pytest.warns(HeywoodCaseWarning):
        ci = ConnectionIndex({"f": ["a", "b", "c"]}, "f", scaling="zscore", segments=None).fit(df)
    codes = [f.code for f in ci.flags_]
    assert codes.count("heywood") == 1 and not ci.admissible_
    assert ci.flags_[0].parameters == ("a ~~ a",)
    w = ci.weights_frame()
    # the engine's Heywood flag names the parameter
    assert (w["flags"].str.startswith("heywood: negative variance estimate")).all()
    assert w["flags"].str.contains("a ~~ a", regex=False).all()
    report = ci.summary()
    assert list(report.flags) == list(ci.flags_)   # the flags show first in the report
    assert "NOT ADMISSIBLE" in str(report) and "heywood: negative variance" in str(report)
    loaded = ConnectionIndex.load(ci.save(tmp_path / "i.json"))
    assert loaded.flags_ == ci.flags_ and not loaded.admissible_
    assert json.loads((tmp_path / "i.json").read_text())["flags"][0]["code"] == "heywood"


def test_the_index_flags_are_the_engines():
    """One implementation: the index records the calibration fit's own flags (Fit.flags), not a
    second reading of its estimates."""
    with pytest.warns(Warning):
        ci = ConnectionIndex({"f": ["a", "b", "c"]}, "f", scaling="zscore", segments=None).fit(
            _heywood_data())
    assert ci.flags_ == ci.fit_.flags and ci.flags_
    assert (ci.weights_frame()["flags"] == format_flags(ci.fit_.flags)).all()
