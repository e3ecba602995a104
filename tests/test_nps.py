"""Net Promoter Score: the multinomial standard error, the weighted (linearized) one against R's
survey package, coverage of the interval in simulation, groups and input errors."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connection.errors import (
    ArgumentError,
    ExclusionWarning,
    MissingColumnError,
    NonNumericError,
    OutOfRangeError,
)
from connection.outcomes import _nps
from connection.outcomes._nps import NPS_COLUMNS, nps

REF = json.loads((Path(__file__).parent / "references" / "nps" / "nps_weighted.json").read_text())


def test_se_equals_the_multinomial_formula():
    rng = np.random.default_rng(1)
    scores = rng.choice(11, size=537, p=np.r_[np.full(7, 0.04), 0.1, 0.12, 0.25, 0.25])
    t = nps(pd.DataFrame({"rec": scores}), "rec")
    row = t.iloc[0]
    p_p = np.mean(scores >= 9)
    p_d = np.mean(scores <= 6)
    assert row["pct_promoters"] == pytest.approx(100 * p_p, abs=1e-12)
    assert row["pct_detractors"] == pytest.approx(100 * p_d, abs=1e-12)
    assert row["pct_passives"] == pytest.approx(100 * np.mean((scores == 7) | (scores == 8)), abs=1e-12)
    assert row["nps"] == pytest.approx(100 * (p_p - p_d), abs=1e-12)
    se = 100 * np.sqrt((p_p + p_d - (p_p - p_d) ** 2) / scores.size)
    assert row["se"] == pytest.approx(se, abs=1e-12)
    assert row["ci_lower"] == pytest.approx(row["nps"] - 1.959963984540054 * se, abs=1e-9)
    assert row["ci_upper"] == pytest.approx(row["nps"] + 1.959963984540054 * se, abs=1e-9)
    assert row["n"] == 537 and row["n_eff"] == 537 and not row["weighted"]
    assert list(t.columns) == NPS_COLUMNS


def test_weighted_se_is_the_linearization_of_r_survey():
    df = pd.DataFrame(REF["data"])
    t = nps(df, "recommend", group="region", weights="w")
    n = len(df)
    factor = np.sqrt(n / (n - 1))  # survey::svymean's with-replacement n/(n-1)
    overall = t.iloc[0]
    assert overall["nps"] == pytest.approx(100 * REF["overall"]["mean"], abs=1e-10)
    assert overall["se"] * factor == pytest.approx(100 * REF["overall"]["se"], abs=1e-10)
    g = t.iloc[1:].set_index("group")
    for region, mean, se in zip(*REF["by_region"].values()):
        assert g.loc[region, "nps"] == pytest.approx(100 * mean, abs=1e-10)
        assert g.loc[region, "se"] * factor == pytest.approx(100 * se, abs=1e-10)
    w = df["w"].to_numpy()
    assert overall["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)


def test_equal_weights_give_the_unweighted_numbers():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"rec": rng.integers(0, 11, size=300), "w": 2.5})
    a = nps(df, "rec")
    b = nps(df, "rec", weights="w")
    for col in ("nps", "se", "ci_lower", "ci_upper", "n_eff"):
        assert b[col].iloc[0] == pytest.approx(a[col].iloc[0], abs=1e-12)
    assert bool(b["weighted"].iloc[0])


def test_interval_covers_the_true_nps_at_about_the_nominal_rate():
    rng = np.random.default_rng(2026)
    probs = np.r_[np.full(7, 0.3 / 7), 0.15, 0.15, 0.2, 0.2]   # P = .4, D = .3
    truth = 100 * (0.4 - 0.3)
    reps, n = 400, 300
    hits = 0
    for _ in range(reps):
        row = nps(pd.DataFrame({"rec": rng.choice(11, size=n, p=probs)}), "rec").iloc[0]
        hits += row["ci_lower"] <= truth <= row["ci_upper"]
    assert 0.92 <= hits / reps <= 0.98


def test_groups_and_missing_values():
    df = pd.DataFrame({"rec": [10, 9, np.nan, 6, 8, 2, 10, 9], "seg": list("aabbbb") + [None, "a"]})
    with pytest.warns(ExclusionWarning) as rec:
        t = nps(df, "rec", group="seg")
    messages = " ".join(str(w.message) for w in rec)
    assert "1 of 8 rows have no answer" in messages and "no 'seg'" in messages
    assert t["group"].tolist() == ["all", "a", "b"]
    assert t["n"].tolist() == [7, 3, 3]
    assert t.set_index("group").loc["a", "nps"] == pytest.approx(100.0)
    assert t.set_index("group").loc["b", "nps"] == pytest.approx(-200 / 3)
    # an interval never leaves [-100, 100]
    assert t.set_index("group").loc["a", "ci_upper"] == 100.0


def test_errors_name_the_problem():
    df = pd.DataFrame({"rec": [10, 9, 11, 3], "w": [1, 1, -1, 1], "txt": ["a", "b", "c", "d"]})
    with pytest.raises(OutOfRangeError, match="0 to 10") as e:
        nps(df, "rec")
    assert "column 'rec', row 3, value 11.0" in str(e.value)
    ok = df.assign(rec=[10, 9, 8, 3])
    with pytest.raises(OutOfRangeError, match="non-negative"):
        nps(ok, "rec", weights="w")
    with pytest.raises(NonNumericError):
        nps(ok, "txt")
    with pytest.raises(OutOfRangeError, match="whole numbers"):
        nps(ok.assign(rec=[9.5, 9, 8, 3]), "rec")
    with pytest.raises(MissingColumnError):
        nps(ok, "rec", group="nope")
    with pytest.raises(ArgumentError, match="level"):
        nps(ok, "rec", level=95)
    with pytest.raises(ArgumentError, match="one weight per row"):
        nps(ok, "rec", weights=[1, 1, 1])
    with pytest.raises(OutOfRangeError, match="above 0"):
        nps(ok, "rec", weights=[1, 1, -1, 1])
    pd.testing.assert_frame_equal(nps(ok, "rec", weights=[1, 1, 2, 1]),
                                  nps(ok.assign(w=[1, 1, 2, 1]), "rec", weights="w"))


def test_module_doctests():
    assert doctest.testmod(_nps).failed == 0


def test_weights_as_a_series_or_a_rake_result_equal_the_same_weights_as_a_column():
    import connection as cx

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"rec": rng.integers(0, 11, 300), "g": rng.choice(["a", "b"], 300)})
    raked = cx.rake(frame, {"g": {"a": 0.3, "b": 0.7}})
    by_column = cx.nps(frame.assign(w=raked.weights.to_numpy()), "rec", group="g", weights="w")
    for given in (raked, raked.weights, raked.weights.to_numpy()):
        pd.testing.assert_frame_equal(cx.nps(frame, "rec", group="g", weights=given), by_column)
    assert not by_column["nps"].equals(cx.nps(frame, "rec", group="g")["nps"])
