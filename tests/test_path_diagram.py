"""Path diagrams (issue 16): the DOT text's nodes and edges against the fit's estimates
(standardized std_all to two decimals, raw est on request), multi-group clusters, rendering by
graphviz when it is installed (valid SVG XML; graphviz's own parse of the DOT text), and the
typed error without it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import connection as cx
from connection.errors import ArgumentError
from connection.latent.datasets import holzinger_swineford
from connection.plots import diagram
from connection.plots.diagram import GraphvizNotFoundError, PathDiagram, path_diagram

HAS_DOT = shutil.which("dot") is not None
MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
speed ~ visual + textual
x1 ~~ x4"""

EDGE = re.compile(r'^\s*"(?P<tail>[^"]+)" -> "(?P<head>[^"]+)" \[label="(?P<label>[^"]*)", '
                  r'tooltip="(?P<tooltip>[^"]+)"(?P<style>[^\]]*)\];$')
NODE = re.compile(r'^\s*"(?P<id>[^"]+)" \[label="(?P<label>[^"]+)", shape=(?P<shape>\w+)\];$')


@pytest.fixture(scope="module")
def fit():
    return cx.sem(MODEL, holzinger_swineford())


@pytest.fixture(scope="module")
def mg_fit():
    return cx.cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", holzinger_swineford(),
                  group="school")


def _parse(dot):
    edges = [m.groupdict() for m in map(EDGE.match, dot.splitlines()) if m]
    nodes = {m["id"]: m.groupdict() for m in map(NODE.match, dot.splitlines()) if m}
    return edges, nodes


def _expected(est, value="std_all", residuals=False):
    """(tail, head, label, tooltip) of every edge, straight from the estimates table."""
    out = set()
    for r in est.itertuples(index=False):
        if r.op not in ("=~", "~", "~~") or (r.op == "~~" and r.lhs == r.rhs and not residuals):
            continue
        tail, head = (r.rhs, r.lhs) if r.op == "~" else (r.lhs, r.rhs)
        out.add((tail, head, f"{getattr(r, value):.2f}", f"{r.lhs} {r.op} {r.rhs}"))
    return out


def test_edges_and_labels_equal_the_standardized_estimates(fit):
    d = path_diagram(fit)
    assert isinstance(d, PathDiagram)
    edges, nodes = _parse(d.dot)
    got = {(e["tail"], e["head"], e["label"], e["tooltip"]) for e in edges}
    assert got == _expected(fit.estimates)
    assert len(edges) == 9 + 2 + 2            # loadings, regressions, covariances
    # shapes: latent ovals, observed boxes
    assert {k for k, v in nodes.items() if v["shape"] == "ellipse"} == {"visual", "textual",
                                                                        "speed"}
    assert {k for k, v in nodes.items() if v["shape"] == "box"} == {f"x{i}" for i in range(1, 10)}
    # covariances two-headed dashed; loadings and regressions plain arrows
    for e in edges:
        if "~~" in e["tooltip"]:
            assert "dir=both" in e["style"] and "style=dashed" in e["style"]
        else:
            assert e["style"] == ""
    # the regression arrow points from the predictor to the outcome
    assert ("visual", "speed") in {(e["tail"], e["head"]) for e in edges if " ~ " in e["tooltip"]}
    # the tidy edges hold the unrounded values
    row = d.edges.query("lhs == 'visual' and rhs == 'x2'").iloc[0]
    want = fit.estimates.query("lhs == 'visual' and op == '=~' and rhs == 'x2'").std_all.iloc[0]
    assert row["value"] == want and row["kind"] == "loading"


def test_raw_estimates_and_residual_variances(fit):
    d = path_diagram(fit, standardized=False, residuals=True)
    edges, _ = _parse(d.dot)
    got = {(e["tail"], e["head"], e["label"], e["tooltip"]) for e in edges}
    assert got == _expected(fit.estimates, "est", residuals=True)
    loops = [e for e in edges if e["tail"] == e["head"]]
    assert len(loops) == 12 and all("dir=both" in e["style"] for e in loops)
    marker = [e for e in edges if e["tooltip"] == "visual =~ x1"]
    assert marker[0]["label"] == "1.00"                   # the fixed marker loading, raw
    no_cov = path_diagram(fit, covariances=False)
    assert not any("~~" in e["tooltip"] for e in _parse(no_cov.dot)[0])
    text = no_cov.summary().as_text()
    assert "standardized (std_all)" in text and "Latent variables:   3" in text
    assert no_cov.to_frame().equals(no_cov.edges)
    three = path_diagram(fit, digits=3)
    assert {e["label"] for e in _parse(three.dot)[0]} >= {
        f"{v:.3f}" for v in fit.estimates.query("op == '=~'").std_all}


def test_multi_group_one_cluster_per_group_and_group_argument(mg_fit):
    est = mg_fit.estimates
    d = path_diagram(mg_fit)
    assert d.dot.count("subgraph ") == 2
    edges, nodes = _parse(d.dot)
    for g in ("Pasteur", "Grant-White"):
        mine = {(e["tail"].split("::", 1)[1], e["head"].split("::", 1)[1], e["label"],
                 e["tooltip"]) for e in edges if e["tail"].startswith(f"{g}::")}
        assert mine == _expected(est[est.group == g])
        assert f'label="group: {g}";' in d.dot
    # the two groups' loadings differ, and each cluster shows its own
    assert not np.allclose(est.query("group == 'Pasteur' and op == '=~'").std_all,
                           est.query("group == 'Grant-White' and op == '=~'").std_all)
    one = path_diagram(mg_fit, group="Grant-White")
    assert "subgraph" not in one.dot and 'label="group: Grant-White"' in one.dot
    edges1, _ = _parse(one.dot)
    assert {(e["tail"], e["head"], e["label"], e["tooltip"]) for e in edges1} == \
        _expected(est[est.group == "Grant-White"])
    with pytest.raises(ArgumentError, match="group"):
        path_diagram(mg_fit, group="Nowhere")


def test_input_errors(fit):
    with pytest.raises(ArgumentError, match="cfa"):
        path_diagram(holzinger_swineford())
    with pytest.raises(ArgumentError, match="rankdir"):
        path_diagram(fit, rankdir="up")
    with pytest.raises(ArgumentError, match="digits"):
        path_diagram(fit, digits=-1)
    with pytest.raises(ArgumentError, match="suffix"):
        path_diagram(fit).save("diagram.jpeg")


def test_without_graphviz_a_typed_error_names_the_install(fit, monkeypatch, tmp_path):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    d = path_diagram(fit)
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        d.to_svg()
    with pytest.raises(GraphvizNotFoundError):
        d.save(tmp_path / "d.svg")
    assert d._repr_svg_() is None
    # the DOT text needs nothing
    out = d.save(tmp_path / "d.dot")
    assert out.read_text() == d.dot


@pytest.mark.skipif(not HAS_DOT, reason="graphviz's dot is not installed")
def test_rendered_svg_is_valid_xml_with_every_label(fit, mg_fit, tmp_path):
    for f in (fit, mg_fit):
        d = path_diagram(f)
        svg = d.to_svg()
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        texts = {t.text for t in root.iter() if t.tag.endswith("text")}
        assert {lab for lab in d.edges.label} <= texts
        assert d._repr_svg_() == svg
    path = path_diagram(fit).save(tmp_path / "diagram.svg")
    ET.parse(path)
    png = path_diagram(fit).save(tmp_path / "diagram.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not HAS_DOT, reason="graphviz's dot is not installed")
def test_graphviz_parses_the_dot_text_to_the_same_edges(fit):
    d = path_diagram(fit)
    run = subprocess.run(["dot", "-Tjson"], input=d.dot.encode(), capture_output=True,
                         check=True)
    graph = json.loads(run.stdout)
    names = {o["_gvid"]: o["name"] for o in graph["objects"]}
    got = {(names[e["tail"]], names[e["head"]], e["label"], e["tooltip"]) for e in graph["edges"]}
    assert got == _expected(fit.estimates)
    shapes = {o["name"]: o["shape"] for o in graph["objects"]}
    assert shapes["speed"] == "ellipse" and shapes["x9"] == "box"
