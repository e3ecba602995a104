"""The one vocabulary (issue 13, DESIGN.md section 3a): a walk over the public API.

Every public function and every public method of the public classes is checked against
``connection._common``'s table: no retired keyword in a signature, the role words that must be
keyword-only are, ``model`` only ever means lavaan syntax, and the old names still work for one
release with a FutureWarning. Every result's ``summary()`` is a Report and it has ``to_frame()``.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import connection as cx
from connection._common import KEYWORD_ONLY, RETIRED, VOCABULARY
from connection._report import Report

ROOT = Path(__file__).resolve().parents[1]


def _public_callables():
    """(qualified name, callable) for every public function and public method of a public class."""
    out = []
    for name in sorted(cx.__all__):
        if name in cx._MODULES or name in ("errors", "__version__"):
            continue
        obj = getattr(cx, name)
        if inspect.isfunction(obj):
            out.append((name, obj))
        elif inspect.isclass(obj) and not issubclass(obj, BaseException):
            for meth_name, meth in vars(obj).items():
                if meth_name.startswith("_") and meth_name != "__init__":
                    continue
                fn = meth.__func__ if isinstance(meth, classmethod | staticmethod) else meth
                if inspect.isfunction(fn):
                    out.append((f"{name}.{meth_name}", fn))
    return out


CALLABLES = _public_callables()
# the engine follows lavaan (model first); the reader takes its source; lrt takes fits
DATA_NOT_FIRST = {"cfa", "sem", "invariance", "parse_model", "lrt", "read_survey", "check_survey",
                  "bootstrap", "simulate", "adjust_pvalues", "monte_carlo"}


@pytest.mark.parametrize("qualname,fn", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_no_public_signature_uses_a_retired_word(qualname, fn):
    params = inspect.signature(fn).parameters
    retired = [p for p in params if p in RETIRED]
    assert not retired, f"{qualname} still takes {retired}: use {[RETIRED[p] for p in retired]}"
    if "model" in params:  # model means lavaan syntax, and is then the first argument
        assert list(params)[0] in ("model", "self", "cls"), qualname


# a method whose subject is the level itself takes it first (boot.ci(0.9), as statsmodels'
# conf_int(alpha)); result and data containers are built by the package, not by users
LEVEL_IS_THE_SUBJECT = {"ci", "parameter_estimates"}
CONTAINERS = ("Result", "Fit", "Simulation", "Survey")


USER_CALLED = [(q, fn) for q, fn in CALLABLES
               if not (q.endswith(".__init__") and q.rpartition(".")[0].endswith(CONTAINERS))]


@pytest.mark.parametrize("qualname,fn", USER_CALLED, ids=[q for q, _ in USER_CALLED])
def test_role_words_after_the_data_are_keyword_only(qualname, fn):
    meth = qualname.rpartition(".")[2]
    params = dict(inspect.signature(fn).parameters)
    if meth in LEVEL_IS_THE_SUBJECT:
        params.pop("level", None)
    positional = [p for p, v in params.items()
                  if v.kind in (v.POSITIONAL_ONLY, v.POSITIONAL_OR_KEYWORD)]
    bad = [p for p in positional if p in KEYWORD_ONLY]
    assert not bad, f"{qualname}: {bad} must be keyword-only"


@pytest.mark.parametrize("name", [q for q, fn in CALLABLES
                                  if "." not in q and q not in DATA_NOT_FIRST])
def test_analyses_take_data_first(name):
    params = list(inspect.signature(getattr(cx, name)).parameters)
    assert params[0] == "data", f"cx.{name} takes {params[0]!r} first"


def test_the_vocabulary_table_in_design_md_is_the_codes():
    text = (ROOT / "DESIGN.md").read_text()
    section = text[text.index("## 3a."):text.index("## 4.")]
    words = set(re.findall(r"`([a-z_]+)=?`", section))
    for word in VOCABULARY:
        assert word in words, f"DESIGN.md 3a does not list {word!r}"
    for old, new in RETIRED.items():
        assert f"`{old}=" in section, f"DESIGN.md 3a does not say {old}= is retired for {new}="


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    s = 0.6 * f + rng.normal(scale=0.8, size=n)
    df = pd.DataFrame({f"c{i}": np.clip(np.round(3 + f + rng.normal(size=n)), 1, 5)
                       for i in range(1, 5)})
    df["connection"] = df[[f"c{i}" for i in range(1, 5)]].mean(axis=1)
    df["satisfaction"] = np.clip(np.round(3 + s), 1, 5)
    df["advocacy"] = 0.5 * f + 0.2 * s + rng.normal(size=n)
    df["post"] = (rng.random(n) < 0.3 + 0.2 * (f > 0)).astype(int)
    df["segment"] = np.where(f > 0, "connected", "not")
    df["spend"] = np.exp(0.3 * f + rng.normal(scale=0.5, size=n))
    return df


def test_old_keyword_names_still_work_for_one_release_with_a_future_warning():
    df = _frame()
    new = cx.drivers(df, "advocacy", group="segment", family="ols", n_boot=0)
    with pytest.warns(FutureWarning, match="by= is renamed group="):
        old = cx.drivers(df, "advocacy", by="segment", n_boot=0)
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(FutureWarning, match="segment= is renamed between="):
        cx.compare(df, segment="segment", a="connected", b="not", proportions=["post"])
    with pytest.warns(FutureWarning, match="method= is renamed correction="):
        cx.adjust_pvalues([0.01, 0.04], method="holm")


def _results():
    df = _frame()
    items = {"f": ["c1", "c2", "c3", "c4"]}
    fit = cx.cfa("f =~ c1 + c2 + c3 + c4", df)
    yield "Fit", fit
    yield "InvarianceResult", cx.invariance("f =~ c1 + c2 + c3 + c4", df, group="segment",
                                            partial=None, levels=("configural", "metric"))
    yield "PolychoricResult", cx.polychoric(df, items["f"], gamma=False)
    yield "CollapseResult", cx.collapse_categories(df, items["f"], group="segment",
                                                   min_count=40)
    yield "DriversResult", cx.drivers(df, "advocacy", n_boot=0)
    yield "CompareResult", cx.compare(df, "segment", a="connected", b="not", proportions=["post"])
    yield "BootstrapResult", cx.bootstrap(lambda d: d["spend"].mean(), df, n_boot=50, seed=1)
    yield "EFAResult", cx.efa(df, 1, items["f"])
    yield "ParallelAnalysisResult", cx.parallel_analysis(df, items["f"], n_iter=20, seed=1)
    yield "RakeResult", cx.rake(df, {"segment": {"connected": 0.5, "not": 0.5}})
    yield "BannerResult", cx.banner(df, ["post"], ["segment"])
    yield "IPMAResult", cx.importance_performance(df, "advocacy", ["connection", "satisfaction"],
                                                  scale=(1, 5))
    yield "PredictiveComparisonResult", cx.predictive_comparison(
        df, "advocacy", base=["satisfaction"], added=["connection"], folds=3, repeats=1, seed=1)
    yield "RelativeWeightsResult", cx.relative_weights(df, "advocacy",
                                                       ["connection", "satisfaction"],
                                                       n_boot=20, seed=1, progress=False)
    nps_frame = df.assign(rec=np.clip(np.round(7 + 2 * df["advocacy"]), 0, 10))
    yield "SampleMomentsResult", cx.sample_moments(df, items=items["f"], group="segment")
    yield "MonteCarloResult", cx.monte_carlo(lambda s: float(np.random.default_rng(s).normal()),
                                             5, seed=1)
    yield "NPSDriversResult", cx.nps_drivers(nps_frame, "rec", ["connection", "satisfaction"],
                                             importance=None)


@pytest.fixture(scope="module")
def results():
    return dict(_results())


@pytest.mark.parametrize("name", ["Fit", "InvarianceResult", "PolychoricResult", "DriversResult",
                                  "CompareResult", "BootstrapResult", "EFAResult",
                                  "ParallelAnalysisResult", "RelativeWeightsResult",
                                  "RakeResult", "BannerResult", "IPMAResult",
                                  "PredictiveComparisonResult", "NPSDriversResult",
                                  "SampleMomentsResult", "MonteCarloResult", "CollapseResult"])
def test_every_result_summarises_as_a_report_and_has_a_frame(results, name):
    res = results[name]
    assert type(res).__name__ == name
    report = res.summary()
    assert isinstance(report, Report)
    assert report.as_text() == str(report) and "<" in res._repr_html_()
    assert report.as_latex().startswith("\\begin{center}")
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
