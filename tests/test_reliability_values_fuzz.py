"""Property tests ("values" class of issue 11): missing codes and off-scale values injected into item
data given with an Instrument are either applied (the very numbers of the cleaned data) or refused
with the package's error naming the column -- never silently used as answers."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection import errors
from connection.data._instrument import Instrument
from connection.measurement._reliability import fornell_larcker, htmt, item_statistics, reliability

CODES = (-99, 98)
INST = Instrument.from_dict({"name": "fuzz", "defaults": {"missing": list(CODES)}, "constructs": {
    "agree": {"scale": {"min": 1, "max": 5},
              "items": [{"id": f"a{j}", "wording": "A"} for j in range(1, 5)]},
    "rating": {"scale": {"min": 0, "max": 10},
               "items": [{"id": f"b{j}", "wording": "B"} for j in range(1, 4)]}}})
SCALE = {c: (INST.items[c].scale.min, INST.items[c].scale.max) for c in INST.items}
COLS = list(INST.items)
N = 200

_HUNT = os.environ.get("CONNECTION_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_HUNT or 40), derandomize=_HUNT is None, database=None,
                deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _base() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    f = rng.multivariate_normal([0, 0], [[1, .4], [.4, 1]], size=N)
    a = np.clip(np.round(3 + 0.9 * f[:, [0]] + 0.8 * rng.normal(size=(N, 4))), 1, 5)
    b = np.clip(np.round(5 + 1.8 * f[:, [1]] + 1.6 * rng.normal(size=(N, 3))), 0, 10)
    return pd.DataFrame(np.column_stack([a, b]), columns=COLS)


BASE = _base()

values = st.one_of(
    st.sampled_from(CODES),                                   # declared codes: applied
    st.sampled_from([-98, -9, 99, 0, 6, 11, 12, 1e9, -1]),   # undeclared, some on b's scale
    st.integers(-3, 13),
    st.sampled_from([2.5, 0.5, np.inf, -np.inf, np.nan]),
)
# valid entries only: codes, answers on every item's scale, blanks -- these must be applied
valid = st.one_of(st.sampled_from(CODES), st.integers(1, 5), st.just(np.nan))


def _cells(entry):
    return st.lists(st.tuples(st.integers(0, N - 1), st.sampled_from(COLS), entry),
                    min_size=1, max_size=12)


injections = st.one_of(_cells(valid), _cells(values))   # about half of the examples are valid


def _expected(raw: pd.DataFrame) -> tuple[pd.DataFrame | None, set[str]]:
    """The cleaned data (codes -> NaN), or None and the columns that must be refused."""
    clean = raw.copy()
    refused = set()
    for c in COLS:
        v = np.array(clean[c], dtype=float)
        code = np.isin(v, CODES)
        lo, hi = SCALE[c]
        bad = ~np.isnan(v) & ~code & ((v < lo) | (v > hi) | (v != np.round(v)) | np.isinf(v))
        if bad.any():
            refused.add(c)
        v[code] = np.nan
        clean[c] = v
    return (None if refused else clean), refused


def _check(fn, raw: pd.DataFrame) -> None:
    clean, refused = _expected(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ExclusionWarning)
        warnings.simplefilter("ignore", errors.InadmissibleSolutionWarning)
        if clean is None:
            try:
                fn(raw, INST)
            except errors.OutOfRangeError as exc:
                assert exc.column in refused, (exc.column, refused)
                assert exc.rows and exc.values
                return
            raise AssertionError(f"off-scale values in {sorted(refused)} were used as answers")
        got = fn(raw, INST)
        want = fn(clean, INST.as_dict())
    pd.testing.assert_frame_equal(got, want)


def _inject(cells) -> pd.DataFrame:
    raw = BASE.copy()
    for row, col, value in cells:
        raw.loc[row, col] = value
    return raw


@FUZZ
@given(injections)
def test_reliability_applies_codes_or_refuses(cells):
    _check(reliability, _inject(cells))


@FUZZ
@given(injections)
def test_item_statistics_and_htmt_apply_codes_or_refuse(cells):
    raw = _inject(cells)
    _check(item_statistics, raw)
    _check(htmt, raw)


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 4))
@given(injections)
def test_fornell_larcker_applies_codes_or_refuses(cells):
    _check(fornell_larcker, _inject(cells))


def test_the_generator_reaches_both_outcomes():
    """The properties above are not vacuous: the fixed examples include both branches."""
    applied = _inject([(0, "a1", -99), (3, "b2", 98)])
    refused = _inject([(0, "a1", 6)])
    assert _expected(applied)[0] is not None and _expected(refused)[0] is None
    _check(reliability, applied)
    _check(reliability, refused)
