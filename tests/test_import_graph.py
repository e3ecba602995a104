"""The import graph of ``connection/`` is acyclic and respects the layer order (issue 12).

Every ``import`` / ``from ... import`` statement of every module counts, at module level or
inside a function, a method or an ``if``; relative imports are resolved. ``from pkg import
name`` is an edge to the module ``pkg.name`` when that is a module, else to ``pkg``. A
package's lazy ``__getattr__`` loader (``importlib.import_module`` over a name table, as in
``connection/__init__.py`` and ``connection/plots/__init__.py``) is the package's public face,
not an import statement, and is not an edge; importing ``a.b.c`` is an edge to ``a.b.c``
only (Python runs the parent packages' ``__init__`` first, as for any import).

The layers, lowest first: a module may import modules of its own layer or of lower layers,
never of a higher one (and, within a layer, the graph is acyclic). A new module must be given
a layer here.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "connection"

LAYERS = [
    # 0 foundations: no import of the package (shared primitives, flags, files, reports)
    ("foundations", ["connection.errors", "connection._flags", "connection._io",
                     "connection._common", "connection._report"]),
    # 1 shared statistics: the one bootstrap engine (used by the engine's bootstrap and the analyses)
    ("stats", ["connection.stats._dask", "connection.stats._weights", "connection.stats._describe",
               "connection.stats._proportions", "connection.stats._effect_sizes",
               "connection.stats._multiplicity", "connection.stats._bootstrap", "connection.stats"]),
    # 2 engine numerics: model syntax, moments and the discrepancy functions, fit-measure
    #   formulas, the BLAS limiter, factor scores, text reports (functions of a Fit passed in)
    ("latent numerics", ["connection.latent.syntax", "connection.latent.estimate",
                         "connection.latent.measures", "connection.latent.blas",
                         "connection.latent.datasets", "connection.latent.scores",
                         "connection.latent.report", "connection.latent.standardize"]),
    # 3 the model: parameter table, matrix structure, starting values
    ("latent model", ["connection.latent.partable", "connection.latent.model",
                      "connection.latent.start", "connection.latent.defined"]),
    # 4 data -> statistics: sample statistics and the FIML likelihood
    ("latent statistics", ["connection.latent.samplestats", "connection.latent.missing",
                           "connection.latent._polychoric", "connection.latent._categories"]),
    # 5 the estimation steps -> the frozen Estimation record
    ("latent estimation", ["connection.latent.checks", "connection.latent.engine"]),
    # 5 test statistics and score tests over a fit: scaling traces, FIML fit measures, MIs
    ("latent tests", ["connection.latent.robust", "connection.latent.teststats",
                      "connection.latent.fiml_measures", "connection.latent.model_tests"]),
    # 6 the bootstrap of a fit (refits through the public Fit.refit it is handed)
    ("latent bootstrap", ["connection.latent.boot"]),
    # 7 the estimation and its view
    ("latent fit", ["connection.latent.fit"]),
    # 8 what is built on a fit, and the engine's public face
    ("latent analyses", ["connection.latent._invariance"]),
    ("latent package", ["connection.latent"]),
    # 9 instruments and survey data
    ("data", ["connection.data._codebook", "connection.data._instrument", "connection.instruments", "connection.data._survey",
              "connection.data", "connection.context"]),
    # 10 measurement: reliability, validity, the index
    ("measurement", ["connection.measurement._reliability", "connection.measurement._index",
                     "connection.measurement"]),
    # 11 outcomes: comparisons and drivers
    ("outcomes", ["connection.outcomes._importance", "connection.outcomes._compare",
                  "connection.outcomes._nps", "connection.outcomes._drivers",
                  "connection.outcomes._banner", "connection.outcomes._ipma",
                  "connection.outcomes._predictive",
                  "connection.outcomes"]),
    # 12 simulation with known truth
    ("simulation", ["connection.simulation._montecarlo", "connection.simulation._config", "connection.simulation._population",
                    "connection.simulation"]),
    # 13 figures and studies
    ("plots", ["connection.plots", "connection.plots.measurement", "connection.plots.drivers",
               "connection.plots.studies", "connection.plots.context",
               "connection.plots.diagram"]),
    ("studies", ["connection.study"]),
    # 14 the package's public face
    ("package", ["connection"]),
]


def _modules(root: Path) -> dict[str, Path]:
    mods = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _resolve(name: str, mods) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


@functools.lru_cache(maxsize=4)
def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package modules its import statements name (at any nesting level)."""
    mods = _modules(root)
    graph = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "connection" or alias.name.startswith("connection."):
                        deps.add(_resolve(alias.name, mods))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[:len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                if not (base == "connection" or base.startswith("connection.")):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    deps.add(full if full in mods else _resolve(base, mods))
        deps.discard(None)
        deps.discard(mod)
        graph[mod] = deps
    return graph


def _cycle(graph) -> list[str] | None:
    """One cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "connection"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from connection.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import a\nfrom . import c\n")
    (pkg / "sub" / "c.py").write_text("import numpy\n")
    graph = import_graph(pkg)
    assert graph["connection.a"] == {"connection.sub.b"}
    assert graph["connection.sub.b"] == {"connection.a", "connection.sub.c"}
    assert graph["connection.sub.c"] == set()
    assert _cycle(graph) in (["connection.a", "connection.sub.b", "connection.a"],
                             ["connection.sub.b", "connection.a", "connection.sub.b"])


def test_no_import_cycle_in_the_package():
    cycle = _cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer():
    placed = [m for _, mods in LAYERS for m in mods]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    missing = sorted(set(import_graph()) - set(placed))
    assert not missing, f"give these modules a layer in LAYERS: {missing}"
    stale = sorted(set(placed) - set(import_graph()))
    assert not stale, f"LAYERS names modules that do not exist: {stale}"


@pytest.mark.parametrize("layer", [name for name, _ in LAYERS])
def test_no_module_imports_a_higher_layer(layer):
    rank = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
    graph = import_graph()
    mine = dict(LAYERS)[layer]
    upward = sorted(f"{m} -> {d} ({LAYERS[rank[d]][0]})"
                    for m in mine for d in graph.get(m, ()) if d in rank and rank[d] > rank[m])
    assert not upward, f"layer {layer!r} imports upward: {upward}"


def test_no_module_outside_the_view_reads_private_fields_of_a_fit():
    """Fit is a view over its Estimation: other modules read ``fit.estimation`` (a public,
    frozen record) and Fit's public attributes, never ``fit._...``."""
    import re

    pattern = re.compile(r"\b(?:fit|f|self\.fit)\._(?!repr_)[A-Za-z]")
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == ROOT / "sem" / "fit.py":
            continue
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{k}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
