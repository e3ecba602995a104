"""Issue 11 in connection.measurement._reliability: inadmissible fits travel with their numbers (flags), an
Instrument's codebook is applied (missing codes, scales, reverse keys) or the data are refused, and
the HTMT verdict says which interval it used (two-sided, or Henseler et al.'s one-sided test).

References: tests/references/reliability/heywood_semtools_psych.json (semTools::compRelSEM/AVE,
psych::omega on reliability/heywood_sim.csv; make_heywood_references.R).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection import errors
from connection.data._instrument import Instrument
from connection.data._survey import read_survey
from connection.measurement._reliability import (
    cronbach_alpha,
    fornell_larcker,
    htmt,
    item_statistics,
    reliability,
)
from connection.stats._bootstrap import bootstrap

REF = Path(__file__).parent / "references" / "reliability"
HEY = {"hey": ["h1", "h2", "h3"], "hey2": ["k1", "k2", "k3"], "good": ["g1", "g2", "g3"]}


def _heywood():
    data = pd.read_csv(REF / "heywood_sim.csv")
    ref = json.loads((REF / "heywood_semtools_psych.json").read_text())["constructs"]
    return data, ref


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.HeywoodCaseWarning)
        return fn(*args, **kwargs)


# ----------------------------------------------------------------------------- 1. flags


def test_heywood_construct_is_flagged_and_kept_as_semtools_reports_it():
    """CUSL-like case: h1's residual variance is negative (-0.80, as R's lavaan); omega .927 used
    to come with an empty note. It is kept (as compRelSEM/AVE report it) but flagged."""
    data, ref = _heywood()
    with pytest.warns(errors.HeywoodCaseWarning):
        tab = reliability(data, HEY).set_index("construct")
    hey = tab.loc["hey"]
    assert ref["hey"]["residual_variances"]["h1"] < 0 and not ref["hey"]["lavaan_post_check"]
    assert hey["omega"] == pytest.approx(ref["hey"]["compRelSEM_omega"], abs=1e-6)
    assert hey["ave"] == pytest.approx(ref["hey"]["AVE"], abs=1e-6)
    assert hey["cr"] == pytest.approx(ref["hey"]["cr_std"], abs=1e-6)
    assert hey["flags"].startswith("heywood: ") and "h1 ~~ h1 = -0.80" in hey["flags"]
    assert "inadmissible one-factor CFA (heywood)" in hey["note"]
    good = tab.loc["good"]
    assert good["flags"] == "" and good["note"] == ""
    assert good["omega"] == pytest.approx(ref["good"]["compRelSEM_omega"], abs=1e-6)
    assert good["ave"] == pytest.approx(ref["good"]["AVE"], abs=1e-6)


def test_impossible_omega_cr_ave_are_na_with_the_value_in_the_note():
    """semTools reports omega 1.044 and AVE 1.092 for k1's Heywood case without a word (and
    psych::omega's bounded ML gives a different .846): no R function offers a citable value, and a
    proportion of variance above 1 is impossible -- NA, the value in the note, the flag beside."""
    data, ref = _heywood()
    assert ref["hey2"]["compRelSEM_omega"] > 1 and ref["hey2"]["AVE"] > 1
    assert ref["hey2"]["compRelSEM_warnings"] == [] and ref["hey2"]["AVE_warnings"] == []
    row = _quiet(reliability, data, HEY).set_index("construct").loc["hey2"]
    assert np.isnan(row["omega"]) and np.isnan(row["cr"]) and np.isnan(row["ave"])
    assert f"omega {ref['hey2']['compRelSEM_omega']:.4g}" in row["note"]
    assert f"AVE {ref['hey2']['AVE']:.4g}" in row["note"] and "outside [0, 1]" in row["note"]
    assert "k1 ~~ k1" in row["flags"]
    # alpha does not come from the fit: unchanged, and equal to the plain formula
    assert row["alpha"] == pytest.approx(cronbach_alpha(data[HEY["hey2"]]), abs=1e-12)


def test_joint_fit_flags_reach_every_construct_it_serves():
    data, _ = _heywood()
    tab = _quiet(reliability, data, HEY, joint=True).set_index("construct")
    assert tab["flags"].str.contains("h1 ~~ h1").all() and tab["flags"].str.contains("k1 ~~ k1").all()
    assert np.isnan(tab.loc["hey2", "omega"])   # 2.37 in the joint fit
    assert "inadmissible joint CFA" in tab.loc["good", "note"]


def test_fornell_larcker_carries_the_joint_fit_flags_and_refuses_impossible_ave():
    data, _ = _heywood()
    fl = _quiet(fornell_larcker, data, HEY)
    assert "flags" in fl.columns and fl["flags"].str.startswith("heywood: ").all()
    with_hey2 = fl[(fl.construct_a == "hey2") | (fl.construct_b == "hey2")]
    assert with_hey2["holds"].isna().all()          # sqrt(AVE 3.66) used to make it "hold"
    other = fl[(fl.construct_a == "hey") & (fl.construct_b == "good")].iloc[0]
    assert other["holds"] is True or bool(other["holds"])
    # an admissible joint fit: empty flags
    rng = np.random.default_rng(0)
    f = rng.normal(size=(400, 2)) @ np.array([[1, .3], [0, .95]])
    x = np.repeat(f, 3, axis=1) + rng.normal(scale=.7, size=(400, 6))
    df = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    assert fornell_larcker(df, {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]})["flags"].eq("").all()


# ----------------------------------------------------------------------------- 2. codebook


def _likert(n=300, seed=11, reverse_item=False):
    """Four 1-5 items of one construct and three 0-10 items of another, rounded to the scale."""
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0], [[1, .4], [.4, 1]], size=n)
    a = np.clip(np.round(3 + 0.9 * f[:, [0]] + 0.8 * rng.normal(size=(n, 4))), 1, 5)
    b = np.clip(np.round(5 + 1.8 * f[:, [1]] + 1.6 * rng.normal(size=(n, 3))), 0, 10)
    df = pd.DataFrame(np.column_stack([a, b]).astype(int), columns=["a1", "a2", "a3", "a4", "b1", "b2", "b3"])
    if reverse_item:
        df["a4"] = 6 - df["a4"]   # raw answers to a reverse-keyed wording
    return df


def _instrument(reverse=False, missing=(-99,)):
    return Instrument.from_dict({"name": "t", "constructs": {
        "agree": {"scale": {"min": 1, "max": 5},
                  "items": [{"id": f"a{j}", "wording": "A", "missing": list(missing),
                             **({"reverse": True} if reverse and j == 4 else {})} for j in range(1, 5)]},
        "rating": {"scale": {"min": 0, "max": 10},
                   "items": [{"id": f"b{j}", "wording": "B", "missing": list(missing)}
                             for j in range(1, 4)]}}})


def _with_codes(df, code=-99, k=10, seed=3):
    rng = np.random.default_rng(seed)
    raw = df.copy()
    cells = rng.choice(len(df) * 2, size=k, replace=False)
    for c in cells:
        raw.loc[c % len(df), "a1" if c < len(df) else "a3"] = code
    return raw


def test_missing_codes_of_the_instrument_are_applied_not_used_as_answers():
    """Ten -99 codes turned alpha .785 into .014 without a word; with the Instrument they are
    missing values, and the table equals the cleaned data's."""
    clean = _likert()
    raw = _with_codes(clean)
    inst = _instrument()
    cleaned = raw.replace(-99, np.nan)
    with pytest.warns(errors.ExclusionWarning, match="10 of 300 rows"):
        got = reliability(raw, inst)
    with pytest.warns(errors.ExclusionWarning):
        want = reliability(cleaned, inst.as_dict())
    pd.testing.assert_frame_equal(got, want)
    assert got.loc[0, "alpha"] > 0.6 and got.loc[0, "n"] == 290
    naive = reliability(raw, inst.as_dict()).loc[0, "alpha"]    # the old, silent result
    assert naive < 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ExclusionWarning)
        pd.testing.assert_frame_equal(item_statistics(raw, inst), item_statistics(cleaned, inst.as_dict()))
        pd.testing.assert_frame_equal(htmt(raw, inst), htmt(cleaned, inst.as_dict()))
        pd.testing.assert_frame_equal(fornell_larcker(raw, inst), fornell_larcker(cleaned, inst.as_dict()))


def test_values_off_the_scale_without_a_code_are_refused_naming_them():
    raw = _with_codes(_likert(), code=-98, k=3)
    inst = _instrument()
    rows = sorted(int(i) + 1 for i in raw.index[(raw == -98).any(axis=1)])
    for fn in (reliability, htmt, fornell_larcker, item_statistics):
        with pytest.raises(errors.OutOfRangeError) as info:
            fn(raw, inst)
        err = info.value
        assert err.column in ("a1", "a3") and -98 in err.values
        assert set(err.rows) <= set(rows) and err.rows
        assert "missing codes" in str(err) and "1 to 5" in str(err)
    frac = _likert().astype(float)
    frac.loc[7, "b2"] = 4.5
    with pytest.raises(errors.OutOfRangeError, match=r"whole number.*column 'b2', row 8, value 4.5"):
        reliability(frac, inst)


def test_reverse_keyed_item_is_reversed_exactly_once():
    raw = _likert(reverse_item=True)
    inst = _instrument(reverse=True)
    survey = read_survey(raw, inst)
    once = reliability(raw, inst, recoded=False)
    pd.testing.assert_frame_equal(once, reliability(survey))
    pd.testing.assert_frame_equal(once, reliability(survey.data, inst, recoded=True))
    pd.testing.assert_frame_equal(once, reliability(survey, inst))
    pd.testing.assert_frame_equal(once, reliability(raw.assign(a4=6 - raw["a4"]), inst.as_dict()))
    assert once.loc[0, "note"] == ""
    # raw data declared recoded show the unrecoded item in the note
    as_given = reliability(raw, inst, recoded=True)
    assert "a4 reverse-keyed in the instrument" in as_given.loc[0, "note"]
    assert as_given.loc[0, "alpha"] < once.loc[0, "alpha"]
    with pytest.raises(errors.ArgumentError, match="already reverse-coded by read_survey"):
        reliability(survey, recoded=False)
    with pytest.raises(errors.ArgumentError, match="applies to data given with an Instrument"):
        reliability(raw, inst.as_dict(), recoded=False)


def _alpha_by_hand(x):
    """Cronbach's alpha as psych::alpha's raw_alpha: k/(k-1) (1 - sum of item variances / variance
    of the sum), variances with divisor n - 1."""
    x = np.asarray(x, dtype=float)
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_a_dataframe_with_reverse_keyed_items_must_say_whether_recoded():
    """Raw answers without missing codes were taken as recoded: alpha came out low (-0.06 on the
    README's data instead of .842) without a word. A DataFrame does not say, so the call is
    refused until recoded= says; a Survey is known to be recoded."""
    raw = _likert(reverse_item=True)
    inst = _instrument(reverse=True)
    survey = read_survey(raw, inst)
    for fn in (reliability, item_statistics, fornell_larcker,
               lambda d, i: htmt(d, i, absolute=False)):
        with pytest.raises(errors.ArgumentError, match=r"recoded=False.*recoded=True") as info:
            fn(raw, inst)
        assert info.value.column == "a4" and "reverse-keyed items (a4)" in str(info.value)
        assert "survey" in info.value.hint
        with pytest.raises(errors.ArgumentError):
            fn(survey.data, inst)            # a plain DataFrame, whichever its origin
    by_hand = _alpha_by_hand(raw[["a1", "a2", "a3"]].assign(a4=6 - raw["a4"]))
    naive = _alpha_by_hand(raw[["a1", "a2", "a3", "a4"]])
    assert by_hand > 0.6 and naive < by_hand - 0.2     # the silent wrong number it was
    got = reliability(raw, inst, recoded=False).set_index("construct")
    assert got.loc["agree", "alpha"] == pytest.approx(by_hand, abs=1e-12)
    assert reliability(survey).set_index("construct").loc["agree", "alpha"] == pytest.approx(
        by_hand, abs=1e-12)
    assert reliability(survey, inst).set_index("construct").loc["agree", "alpha"] == pytest.approx(
        by_hand, abs=1e-12)
    # constructs without reverse-keyed items need no answer; absolute HTMT does not depend on it
    rating = reliability(raw, inst.subset(["rating"])).loc[0, "alpha"]
    assert rating == pytest.approx(_alpha_by_hand(raw[["b1", "b2", "b3"]]), abs=1e-12)
    pd.testing.assert_frame_equal(htmt(raw, inst), htmt(survey))


def test_raw_data_with_codes_and_reverse_keys_must_say_whether_recoded():
    raw = _with_codes(_likert(reverse_item=True))
    inst = _instrument(reverse=True)
    with pytest.raises(errors.ArgumentError, match="recoded=False") as info:
        reliability(raw, inst)
    assert info.value.column in ("a1", "a3") and -99 in info.value.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ExclusionWarning)
        got = reliability(raw, inst, recoded=False)
        want = reliability(raw.replace(-99, np.nan).assign(a4=lambda d: 6 - d["a4"]), inst.as_dict())
        pd.testing.assert_frame_equal(got, want)
        # HTMT on absolute correlations does not depend on the keying: no question asked
        pd.testing.assert_frame_equal(htmt(raw, inst), htmt(raw.replace(-99, np.nan), inst.as_dict()))
    with pytest.raises(errors.ArgumentError):
        htmt(raw, inst, absolute=False)


def test_input_is_not_changed():
    raw = _with_codes(_likert(reverse_item=True))
    before = raw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ExclusionWarning)
        reliability(raw, _instrument(reverse=True), recoded=False)
    pd.testing.assert_frame_equal(raw, before)


# ----------------------------------------------------------------------------- 3. HTMT sidedness


def test_htmt_one_sided_upper_bound_is_the_level_percentile_of_the_replicates():
    rng = np.random.default_rng(8)
    f = rng.multivariate_normal([0, 0], [[1, .7], [.7, 1]], size=250)
    x = np.repeat(f, 3, axis=1) + rng.normal(scale=.8, size=(250, 6))
    df = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    cmap = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}
    one = htmt(df, cmap, n_boot=300, seed=21, progress=False, alternative="less").iloc[0]
    two = htmt(df, cmap, n_boot=300, seed=21, progress=False).iloc[0]
    # direct: the same seeded replicates (rows mode), their 95th / 2.5th-97.5th percentiles
    res = bootstrap(lambda d: htmt(pd.DataFrame(d, columns=df.columns), cmap)["htmt"].to_numpy(),
                    df.to_numpy(), n_boot=300, seed=21, progress=False)
    reps = res.replicates.to_numpy()[:, 0]
    assert one["ci_upper"] == pytest.approx(np.quantile(reps, 0.95), abs=1e-10)
    assert np.isnan(one["ci_lower"])
    assert two["ci_upper"] == pytest.approx(np.quantile(reps, 0.975), abs=1e-10)
    assert two["ci_lower"] == pytest.approx(np.quantile(reps, 0.025), abs=1e-10)
    assert one["ci_upper"] < two["ci_upper"]
    assert (one["ci_sides"], two["ci_sides"]) == ("one-sided", "two-sided")
    assert one["ci_level"] == two["ci_level"] == 0.95
    assert "one-sided 95% upper bound" in one["finding"] and "95th bootstrap percentile" in one["finding"]
    assert "two-sided 95% bootstrap percentile CI" in two["finding"]
    # the verdict follows the chosen bound: a threshold between the two upper bounds
    cut = (one["ci_upper"] + two["ci_upper"]) / 2
    assert htmt(df, cmap, n_boot=300, seed=21, progress=False, alternative="less",
                threshold=cut)["distinct"].iloc[0]
    assert not htmt(df, cmap, n_boot=300, seed=21, progress=False, threshold=cut)["distinct"].iloc[0]
    with pytest.raises(errors.ArgumentError, match="alternative"):
        htmt(df, cmap, alternative="greater")
    plain = htmt(df, cmap).iloc[0]
    assert plain["ci_sides"] == "" and np.isnan(plain["ci_level"])
