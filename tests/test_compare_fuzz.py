"""Fuzz (hypothesis) the analysis functions that take a respondent table -- compare(),
value_ratio(), drivers() (OLS, logit, ordinal), reliability(), htmt(), ConnectionIndex -- with
malformed columns: missing values, infinite values, text, constants, a single segment, too few
rows. Whatever comes in, only the package's own errors may come out, and a result that does come
out must be finite where it claims a number."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connection.errors import ConnectionPackageError, ConnectionWarning
from connection.measurement._index import ConnectionIndex
from connection.measurement._reliability import htmt, reliability
from connection.outcomes._compare import compare, value_ratio
from connection.outcomes._drivers import drivers

# a few hundred analyses on malformed tables (~15 s): run by CI's `-m slow` step
pytestmark = pytest.mark.slow

SPOILERS = ("none", "nan", "all_nan", "inf", "text", "constant", "numeric_text")


def _spoil(col: pd.Series, how: str, rows: list[int]) -> pd.Series:
    col = col.copy()
    if how == "nan":
        col.iloc[rows] = np.nan
    elif how == "all_nan":
        col[:] = np.nan
    elif how == "inf":
        col = col.astype(float)
        col.iloc[rows] = np.inf
    elif how == "text":
        col = col.astype(object)
        col.iloc[rows] = "n/a"
    elif how == "constant":
        col[:] = 3.0
    elif how == "numeric_text":
        col = col.astype(str)
    return col


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    seed = draw(st.integers(min_value=0, max_value=2**16))
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    df = pd.DataFrame({
        "connection": f + rng.normal(size=n),
        "satisfaction": 0.5 * f + rng.normal(size=n),
        "advocacy": f + rng.normal(size=n),
        "spend": rng.gamma(3.0, 20.0, n),
        "post": (rng.random(n) < 0.4).astype(int),
        **{f"c{j}": np.clip(np.round(3 + f + rng.normal(size=n)), 1, 5) for j in range(1, 4)},
        **{f"s{j}": np.clip(np.round(3 + 0.5 * f + rng.normal(size=n)), 1, 5) for j in range(1, 4)},
    })
    n_groups = draw(st.sampled_from([1, 2, 2, 3]))
    df["segment"] = rng.choice(["a", "b", "c"][:n_groups], n) if n else pd.Series(dtype=object)
    if n and draw(st.booleans()):
        df.loc[df.index[: draw(st.integers(1, n))], "segment"] = None
    numeric = [c for c in df.columns if c != "segment"]
    for col in draw(st.lists(st.sampled_from(numeric), max_size=3, unique=True)):
        how = draw(st.sampled_from(SPOILERS))
        rows = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=4)) if n else []
        df[col] = _spoil(df[col], how, rows)
    return df


def _outcome(call, finite: list[str]) -> None:
    """Run ``call``; a package error is a fine answer, a table must be finite in ``finite``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConnectionWarning)
        warnings.simplefilter("error", RuntimeWarning)   # NaN arithmetic leaking out is a bug
        try:
            out = call()
        except ConnectionPackageError:
            return
    table = getattr(out, "table", out)
    assert len(table), "an empty result without an error"
    values = table[finite].to_numpy(dtype=float)
    assert np.isfinite(values).all(), table[finite]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_only_package_errors_come_out_of_the_analysis_functions(df):
    _outcome(lambda: compare(df, "segment", a="a", b="b", equivalence=["satisfaction"], margin=0.5,
                             proportions={"post": None, "c1": 4}),
             ["value_a", "value_b", "difference", "ci_lower", "ci_upper", "pvalue", "p_adjusted"])
    _outcome(lambda: value_ratio(df, "spend", between="segment", a="a", b="b", n_boot=0),
             ["ratio", "mean_a", "mean_b"])   # Fieller may be unbounded on purpose
    _outcome(lambda: drivers(df, ["advocacy"], n_boot=0, group="segment"),
             ["beta", "se", "pvalue", "ci_lower", "ci_upper", "r2"])
    _outcome(lambda: reliability(df, {"con": ["c1", "c2", "c3"], "sat": ["s1", "s2", "s3"]}),
             ["alpha", "alpha_ci_lower", "alpha_ci_upper"])
    _outcome(lambda: htmt(df, {"con": ["c1", "c2", "c3"], "sat": ["s1", "s2", "s3"]}), ["htmt"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_only_package_errors_from_logit_ordinal_drivers_and_the_index(df):
    # found with 300 examples: a singular submodel Hessian in the dominance analysis crashed with
    # statsmodels' ValueError, and the engine's LinAlgError escaped ConnectionIndex.fit on n=4
    _outcome(lambda: drivers(df, ["post"], family="logit", n_boot=0), ["beta", "se", "r2"])
    _outcome(lambda: drivers(df, ["c1"], family="ordinal", n_boot=0), ["beta", "se", "r2"])
    _outcome(lambda: ConnectionIndex({"con": ["c1", "c2", "c3"]}, "con", item_range=(1, 5),
                                     segments=None).fit(df).transform(df).dropna(),
             ["score", "index"])
