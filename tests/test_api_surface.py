"""The public surface (issue 13): every public name is a plain function or class with its real
signature, ``help()`` shows it, it pickles, and calling it leaves the warning filters alone."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pydoc
import subprocess
import sys
import warnings

import pytest

import connection as cx

PUBLIC = [n for n in cx.__all__ if n not in cx._MODULES and n not in ("errors", "__version__")
          and not (inspect.isclass(getattr(cx, n)) and issubclass(getattr(cx, n), BaseException))]
CALLABLES = [n for n in PUBLIC if inspect.isfunction(getattr(cx, n))]


def test_the_public_functions_are_the_ones_expected():
    expected = {"read_survey", "check_survey", "bootstrap", "cfa", "sem", "parse_model", "lrt",
                "polychoric", "invariance", "reliability", "item_statistics", "htmt",
                "fornell_larcker", "parallel_analysis", "efa", "drivers", "compare",
                "value_ratio", "adjust_pvalues", "simulate", "relative_weights", "nps", "nps_drivers",
                "rake", "describe", "banner", "importance_performance",
                "predictive_comparison", "sample_moments",
                "monte_carlo", "collapse_categories"}
    assert set(CALLABLES) == expected


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_is_a_plain_function_or_class(name):
    obj = getattr(cx, name)
    assert inspect.isfunction(obj) or inspect.isclass(obj), f"cx.{name} is a {type(obj).__name__}"
    assert obj.__doc__ and len(obj.__doc__.strip()) > 20, f"cx.{name} has no docstring"


@pytest.mark.parametrize("name", CALLABLES)
def test_signature_shows_the_real_parameters_and_help_shows_the_function(name):
    fn = getattr(cx, name)
    params = inspect.signature(fn).parameters
    kinds = {p.kind for p in params.values()}
    assert inspect.Parameter.VAR_POSITIONAL not in kinds or name == "lrt", params
    assert params, name
    text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
    assert text.startswith(f"Python Library Documentation: function {name} in module connection.")


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_pickles_as_itself(name):
    obj = getattr(cx, name)
    assert pickle.loads(pickle.dumps(obj)) is obj


def test_calling_a_public_function_leaves_the_warning_filters_alone():
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(0)
    f = rng.normal(size=300)
    df = pd.DataFrame({f"x{i}": f + rng.normal(size=300) for i in range(1, 4)})
    before = list(warnings.filters)
    cx.reliability(df, {"f": ["x1", "x2", "x3"]})
    assert warnings.filters == before


def test_import_is_light_and_names_resolve_lazily():
    code = ("import sys, connection as cx; heavy = [m for m in ('statsmodels', 'matplotlib', "
            "'seaborn') if m in sys.modules]; print(heavy); print(cx.sem.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")
    assert lines[0] == "[]" and lines[1] == "connection.latent.fit"


def test_type_checkers_and_ides_see_every_public_name():
    """connection/__init__.py's TYPE_CHECKING block imports every lazily exported name."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(cx.__file__).read_text())
    seen = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in ast.walk(node):
                if isinstance(imp, ast.ImportFrom):
                    for alias in imp.names:
                        seen.add(alias.asname or alias.name)
                        if imp.module != "connection":
                            assert getattr(importlib.import_module(imp.module), alias.name) is \
                                getattr(cx, alias.name)
    missing = (set(cx._LAZY) | set(cx._MODULES)) - seen - {"data"}
    assert not missing, missing
