"""Property tests (hypothesis) for connection.outcomes._compare: symmetries every correct interval obeys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connection.outcomes._compare import proportion_difference, risk_ratio, tost, value_ratio

counts = st.integers(min_value=5, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(min_value=1, max_value=n - 1), st.just(n)))


@settings(max_examples=60, deadline=None)
@given(counts, counts, st.sampled_from([0.9, 0.95, 0.99]))
def test_risk_ratio_swapping_groups_inverts_estimate_and_interval(x, y, level):
    (a, na), (c, nb) = x, y
    ab = risk_ratio(a, na, c, nb, level=level).iloc[0]
    ba = risk_ratio(c, nb, a, na, level=level).iloc[0]
    assert ab["risk_ratio"] == pytest.approx(1 / ba["risk_ratio"])
    assert ab["ci_lower"] == pytest.approx(1 / ba["ci_upper"])
    assert ab["ci_upper"] == pytest.approx(1 / ba["ci_lower"])
    assert ab["ci_lower"] < ab["risk_ratio"] < ab["ci_upper"]


@settings(max_examples=60, deadline=None)
@given(counts, counts, st.sampled_from(["newcombe", "wald"]))
def test_difference_swapping_groups_negates_interval_and_keeps_p(x, y, method):
    (a, na), (c, nb) = x, y
    ab = proportion_difference(a, na, c, nb, method=method).iloc[0]
    ba = proportion_difference(c, nb, a, na, method=method).iloc[0]
    assert ab["difference"] == pytest.approx(-ba["difference"])
    assert ab["ci_lower"] == pytest.approx(-ba["ci_upper"])
    assert ab["pvalue"] == pytest.approx(ba["pvalue"])
    assert -1 <= ab["ci_lower"] <= ab["difference"] <= ab["ci_upper"] <= 1 or method == "wald"


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0.05, max_value=2.0))
def test_tost_is_symmetric_in_its_samples(seed, margin):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 1, 40), rng.normal(0.1, 1.5, 55)
    xy, yx = tost(x, y, margin).iloc[0], tost(y, x, margin).iloc[0]
    assert xy["pvalue"] == pytest.approx(yx["pvalue"])
    assert xy["difference"] == pytest.approx(-yx["difference"])
    assert xy["equivalent"] == yx["equivalent"]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_value_ratio_delta_and_fieller_invert_when_groups_swap(seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"seg": np.repeat(["a", "b"], 60),
                       "v": np.r_[rng.gamma(3, 40, 60), rng.gamma(3, 30, 60)]})
    ab = value_ratio(df, "v", between="seg", a="a", b="b", n_boot=0).set_index("method")
    ba = value_ratio(df, "v", between="seg", a="b", b="a", n_boot=0).set_index("method")
    for m in ("delta_log", "fieller"):
        assert ab.loc[m, "ratio"] == pytest.approx(1 / ba.loc[m, "ratio"])
        assert ab.loc[m, "ci_lower"] == pytest.approx(1 / ba.loc[m, "ci_upper"])
        assert ab.loc[m, "ci_upper"] == pytest.approx(1 / ba.loc[m, "ci_lower"])
