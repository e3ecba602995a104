"""Path diagrams of fitted CFA/SEM models: graphviz DOT text always, SVG when graphviz is installed.

:func:`path_diagram` draws a :class:`~connection.latent.fit.Fit` as analysts draw one (RAM
notation, as lavaan's companion ``semPlot::semPaths``): latent variables are ovals, observed
variables boxes; a loading (``=~``) is an arrow from the factor to its indicator, a regression
(``~``) an arrow from the predictor to the outcome, a covariance between two variables
(``~~``) a two-headed dashed edge, and (``residuals=True``) a variance or residual variance a
two-headed loop on its variable. Every edge is labelled with its standardized estimate
(``std_all``, lavaan's ``standardizedSolution``: loadings and paths of the completely
standardized solution, covariances between residuals as correlations) to two decimals, or with
the raw estimate (``standardized=False``). Each edge's ``tooltip`` names its parameter
(``"connection =~ c1"``), so the diagram can be checked against the estimates table, and
:attr:`PathDiagram.edges` holds the same edges as a tidy frame.

The DOT text (:attr:`PathDiagram.dot`) needs nothing installed; :meth:`PathDiagram.to_svg`,
:meth:`PathDiagram.save` and the Jupyter view (``_repr_svg_``) run graphviz's ``dot`` program
(``apt-get install graphviz``, ``brew install graphviz`` or ``conda install graphviz``); without
it they raise :class:`GraphvizNotFoundError` (the notebook view falls back to the text). A
multi-group fit gives one cluster (subgraph) per group, or the group named by ``group=``.

Examples
--------
>>> import connection as cx
>>> from connection.latent.datasets import holzinger_swineford
>>> fit = cx.cfa("visual =~ x1 + x2 + x3", holzinger_swineford())
>>> d = path_diagram(fit)
>>> print(d.edges[["tail", "head", "label"]].to_string(index=False))
  tail head label
visual   x1  0.62
visual   x2  0.48
visual   x3  0.71
>>> d.dot.splitlines()[0]
'digraph "path_diagram" {'
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connection._report import Report
from connection.errors import ArgumentError, ConnectionPackageError

__all__ = ["path_diagram", "PathDiagram", "GraphvizNotFoundError", "EDGE_COLUMNS"]

EDGE_COLUMNS = ["group", "kind", "lhs", "op", "rhs", "tail", "head", "value", "label"]
"""Columns of :attr:`PathDiagram.edges` (one row per drawn edge): the group; ``kind``
(``loading``, ``regression``, ``covariance``, ``variance``); the parameter (``lhs op rhs``); the
edge's ``tail`` and ``head`` (the arrow points at ``head``; two-headed edges keep lavaan's
order); the ``value`` drawn (``std_all``, or ``est`` with ``standardized=False``) and its
``label`` as printed."""

_KINDS = {"=~": "loading", "~": "regression", "~~": "covariance"}


class GraphvizNotFoundError(ConnectionPackageError, RuntimeError):
    """Graphviz's ``dot`` program is needed to render a diagram and is not installed."""


@dataclass(eq=False, repr=False)
class PathDiagram:
    """A path diagram (what :func:`path_diagram` returns).

    Attributes
    ----------
    dot : str
        The graphviz DOT text (always available).
    edges : pandas.DataFrame
        The edges drawn, columns :data:`EDGE_COLUMNS`.
    nodes : pandas.DataFrame
        ``group, name, latent``: every variable drawn.
    standardized : bool
        Whether the labels are standardized estimates (``std_all``).
    """

    dot: str
    edges: pd.DataFrame
    nodes: pd.DataFrame
    standardized: bool = True

    def to_frame(self) -> pd.DataFrame:
        """The edges (a copy)."""
        return self.edges.copy()

    def summary(self) -> Report:
        """The edges as a Report."""
        kind = "standardized (std_all)" if self.standardized else "unstandardized"
        report = Report("Path diagram", header=[
            ("Latent variables", int(self.nodes["latent"].sum())),
            ("Observed variables", int((~self.nodes["latent"]).sum())),
            ("Edge labels", kind)])
        report.add_table(self.edges, caption="Edges")
        return report

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return (f"<PathDiagram: {len(self.nodes)} variables, {len(self.edges)} edges; "
                ".dot for the DOT text, .to_svg() or .save(path) to render>")

    def to_svg(self) -> str:
        """The diagram rendered as SVG text by graphviz's ``dot`` program."""
        return self._render("svg").decode("utf-8")

    def save(self, path: str | os.PathLike, *, format: str | None = None) -> Path:  # noqa: A002
        """Write the diagram to ``path``: ``.dot``/``.gv`` writes the DOT text (no graphviz
        needed); ``.svg``, ``.png``, ``.pdf`` render it with ``dot``. ``format`` overrides the
        suffix. Returns the path."""
        from connection._io import atomic_write

        target = Path(path)
        fmt = (format or target.suffix.lstrip(".")).lower()
        if fmt in ("dot", "gv"):
            payload = self.dot.encode("utf-8")
        elif fmt in ("svg", "png", "pdf"):
            payload = self._render(fmt)
        else:
            raise ArgumentError("a path diagram is saved as .dot, .gv, .svg, .png or .pdf",
                                values=[str(path)], expected="one of those suffixes, or format=")
        return atomic_write(target, lambda tmp: Path(tmp).write_bytes(payload))

    def _repr_svg_(self) -> str | None:
        # Jupyter: the rendered diagram when graphviz is installed, else the text repr
        if shutil.which("dot") is None:
            return None
        try:
            return self.to_svg()
        except (GraphvizNotFoundError, RuntimeError):
            return None

    def _render(self, fmt: str) -> bytes:
        exe = shutil.which("dot")
        if exe is None:
            raise GraphvizNotFoundError(
                "rendering a path diagram needs graphviz's 'dot' program, which is not on PATH",
                expected="graphviz installed", hint="Install it (apt-get install graphviz; "
                "brew install graphviz; conda install graphviz), or use the DOT text in .dot "
                "(save(path.dot)) with any graphviz viewer")
        run = subprocess.run([exe, f"-T{fmt}"], input=self.dot.encode("utf-8"),
                             capture_output=True, check=False, timeout=120)
        if run.returncode != 0:
            raise GraphvizNotFoundError(
                f"graphviz's dot failed to render the diagram as {fmt}: "
                + run.stderr.decode("utf-8", "replace").strip(), expected="valid DOT text",
                hint="Report this with the diagram's .dot text")
        return run.stdout


def path_diagram(fit: Any, *, standardized: bool = True, residuals: bool = False,
                 covariances: bool = True, group: Any = None, digits: int = 2,
                 rankdir: str = "LR") -> PathDiagram:
    """A path diagram of a fitted CFA/SEM with its (standardized) estimates on the edges.

    Parameters
    ----------
    fit
        A :class:`~connection.latent.fit.Fit` (from :func:`connection.cfa` / :func:`connection.sem`).
    standardized
        Label edges with ``std_all`` (default) or with the raw estimates ``est``.
    residuals
        Also draw every variance and residual variance as a two-headed loop on its variable.
    covariances
        Draw the covariances (``~~`` between two variables) as two-headed dashed edges.
    group
        A multi-group fit: the group label to draw (as in ``fit.estimates.group``); ``None``
        draws every group, one cluster each.
    digits
        Decimals of the edge labels.
    rankdir
        Graphviz's layout direction (``"LR"`` left to right, or ``"TB"``, ``"RL"``, ``"BT"``).

    Returns
    -------
    PathDiagram
        ``.dot`` (DOT text), ``.edges``, ``.to_svg()``, ``.save(path)``.
    """
    est = _estimates(fit)
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ArgumentError("rankdir must be a graphviz direction", values=[rankdir],
                            expected='"LR", "TB", "RL" or "BT"')
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or digits < 0:
        raise ArgumentError("digits must be a whole number >= 0", values=[digits],
                            expected="e.g. 2")
    groups = _groups(est, group)
    multi = len(groups) > 1
    title = f"group: {groups[0]}" if group is not None else None
    value_col = "std_all" if standardized else "est"
    edges, nodes = [], []
    for g in groups:
        rows = est[est["group"] == g]
        g_nodes = _nodes(rows)
        nodes += [{"group": g, "name": n, "latent": lat} for n, lat in g_nodes]
        edges += _edges(rows, g, value_col, int(digits), residuals=residuals,
                        covariances=covariances)
    edge_frame = pd.DataFrame(edges, columns=EDGE_COLUMNS)
    node_frame = pd.DataFrame(nodes, columns=["group", "name", "latent"])
    dot = _dot_text(node_frame, edge_frame, multi=multi, rankdir=rankdir, title=title)
    return PathDiagram(dot, edge_frame, node_frame, bool(standardized))


# ----------------------------------------------------------------------------------- steps
def _estimates(fit: Any) -> pd.DataFrame:
    est = getattr(fit, "estimates", None)
    if not isinstance(est, pd.DataFrame) or not {"lhs", "op", "rhs", "group", "est",
                                                 "std_all"} <= set(est.columns):
        raise ArgumentError("path_diagram draws a fitted model: pass what cfa() or sem() "
                            "returned", values=[type(fit).__name__],
                            expected="a connection Fit (cx.cfa / cx.sem)")
    return est[est["op"].isin(list(_KINDS))].reset_index(drop=True)


def _groups(est: pd.DataFrame, group: Any) -> list:
    labels = list(pd.unique(est["group"]))
    if group is None:
        return labels
    for lab in labels:
        if lab == group or str(lab) == str(group):
            return [lab]
    raise ArgumentError("group= names no group of the fit", values=[group],
                        expected="one of: " + ", ".join(map(str, labels)))


def _nodes(rows: pd.DataFrame) -> list[tuple[str, bool]]:
    """Every variable of the group's rows in order of appearance, and whether it is latent."""
    latent = set(rows.loc[rows["op"] == "=~", "lhs"])
    seen: dict[str, bool] = {}
    for lhs, rhs in zip(rows["lhs"], rows["rhs"], strict=True):
        for name in (lhs, rhs):
            if name not in seen:
                seen[name] = name in latent
    return list(seen.items())


def _edges(rows: pd.DataFrame, group: Any, value_col: str, digits: int, *, residuals: bool,
           covariances: bool) -> list[dict]:
    out = []
    for r in rows.itertuples(index=False):
        kind = _KINDS[r.op]
        if r.op == "~~":
            if r.lhs == r.rhs:
                if not residuals:
                    continue
                kind = "variance"
            elif not covariances:
                continue
        tail, head = (r.rhs, r.lhs) if r.op == "~" else (r.lhs, r.rhs)
        value = float(getattr(r, value_col))
        label = "" if not np.isfinite(value) else f"{value:.{digits}f}"
        out.append({"group": group, "kind": kind, "lhs": r.lhs, "op": r.op, "rhs": r.rhs,
                    "tail": tail, "head": head, "value": value, "label": label})
    return out


def _quote(text: Any) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node_id(group: Any, name: str, multi: bool) -> str:
    return _quote(f"{group}::{name}" if multi else name)


_EDGE_STYLE = {
    "loading": "",
    "regression": "",
    "covariance": ", dir=both, style=dashed, constraint=false",
    "variance": ", dir=both",
}


def _dot_text(nodes: pd.DataFrame, edges: pd.DataFrame, *, multi: bool, rankdir: str,
              title: str | None) -> str:
    label = "" if title is None else f", label={_quote(title)}, labelloc=t"
    lines = ['digraph "path_diagram" {',
             f"  graph [rankdir={rankdir}, nodesep=0.3, ranksep=0.8{label}];",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];']
    for k, g in enumerate(pd.unique(nodes["group"])):
        indent = "  "
        if multi:
            lines.append(f"  subgraph {_quote(f'cluster_{k + 1}')} {{")
            lines.append(f"    label={_quote(f'group: {g}')};")
            indent = "    "
        for n in nodes[nodes["group"] == g].itertuples(index=False):
            shape = "ellipse" if n.latent else "box"
            lines.append(f"{indent}{_node_id(g, n.name, multi)} [label={_quote(n.name)}, "
                         f"shape={shape}];")
        for e in edges[edges["group"] == g].itertuples(index=False):
            tooltip = f"{e.lhs} {e.op} {e.rhs}"
            lines.append(f"{indent}{_node_id(g, e.tail, multi)} -> {_node_id(g, e.head, multi)} "
                         f"[label={_quote(e.label)}, tooltip={_quote(tooltip)}"
                         f"{_EDGE_STYLE[e.kind]}];")
        if multi:
            lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
