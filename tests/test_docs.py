"""The documentation site's configuration, the citation metadata and the licence (issue 17).

The site itself is built with warnings as errors by ``python3 make.py test`` (and ``make.py
docs``), after the test suite; these tests check what that build relies on without building it.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from pathlib import Path

import yaml

import connection

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mkdocs() -> dict:
    # mkdocs.yml holds no python tags; BaseLoader reads it as plain text values
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)  # noqa: S506


def test_citation_file_is_cff_1_2_with_the_package_version_and_licence():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license", "type"):
        assert cff.get(key), key
    assert cff["version"] == PYPROJECT["version"] == connection.__version__
    declared = PYPROJECT["license"]
    declared = declared["text"] if isinstance(declared, dict) else declared
    assert cff["license"] == declared == "BSD-3-Clause"
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))


def test_licence_file_is_the_declared_bsd_3_clause_text():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder nor the names of its" in text
    assert "The connection developers" in text


def test_every_api_page_documents_a_public_module_and_is_in_the_navigation():
    config = _mkdocs()
    assert config["strict"] == "true" and config["docs_dir"] == "docs"
    nav_pages = {p for section in config["nav"] if isinstance(section, dict)
                 for value in section.values()
                 for p in (value if isinstance(value, list) else [value]) if isinstance(p, str)}
    pages = sorted((ROOT / "docs" / "api").glob("*.md"))
    assert len(pages) >= 11
    for page in pages:
        assert f"api/{page.name}" in nav_pages, page.name
        for module in re.findall(r"^::: (\S+)$", page.read_text(), re.M):
            importlib.import_module(module)  # a misspelt module would fail the strict build
    # every layer of connection/__init__ has its page
    documented = {m for p in pages for m in re.findall(r"^::: connection\.(\w+)", p.read_text(), re.M)}
    assert set(connection._MODULES) <= documented | {"instruments"}


def test_the_tutorials_are_every_notebook_in_file_name_order():
    hooks = _hooks()
    config = {"nav": [{"Home": "index.md"}, {"Tutorials": []}, {"API reference": ["api/index.md"]}]}
    tutorials = hooks.on_config(config)["nav"][1]["Tutorials"]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [next(iter(t.values())) for t in tutorials] == [f"tutorials/{n}" for n in notebooks]
    assert next(iter(tutorials[0])) == "Quickstart"  # the title is the notebook's first heading


def test_a_notebook_counts_as_stored_executed_when_every_code_cell_ran():
    hooks = _hooks()
    code = {"cell_type": "code", "source": ["x = 1"], "outputs": [], "execution_count": None}
    assert not hooks._has_outputs({"cells": [code]})
    # a cell that displays nothing has no outputs, but it ran
    assert not hooks._has_outputs({"cells": [{**code, "execution_count": 1}, code]})
    assert hooks._has_outputs({"cells": [{**code, "execution_count": 1},
                                         {**code, "execution_count": 2,
                                          "outputs": [{"output_type": "stream", "text": "1"}]},
                                         {"cell_type": "code", "source": [""], "outputs": []},
                                         {"cell_type": "markdown", "source": ["# T"]}]})


def test_stored_outputs_are_made_portable():
    hooks = _hooks()
    root = str(hooks.ROOT)
    nb = {"cells": [{"cell_type": "code", "source": ["x"], "execution_count": 1,
                     "metadata": {"execution": {"iopub.status.busy": "2026-01-01T00:00:00"}},
                     "outputs": [{"output_type": "stream", "name": "stderr",
                                  "text": [f"read {root}/notebooks/data/a.csv\n",
                                           f"config {root}/studies/s.toml"]},
                                 {"output_type": "execute_result", "execution_count": 1,
                                  "metadata": {}, "data": {"text/plain": f"<x {root}>"}}]}]}
    nb["cells"][0]["outputs"].insert(1, {"output_type": "stream", "name": "stderr", "text": "more"})
    cell = hooks._portable(nb)["cells"][0]
    assert len(cell["outputs"]) == 2  # one stream, however the kernel split it
    assert "execution" not in cell["metadata"]
    assert cell["outputs"][0]["text"] == "read data/a.csv\nconfig ../studies/s.tomlmore"
    assert cell["outputs"][1]["data"]["text/plain"] == "<x ..>"
    # the key of the stored outputs changes with any cell's source, not with outputs
    a = {"cells": [{"cell_type": "code", "source": "x = 1", "outputs": []}]}
    b = {"cells": [{"cell_type": "code", "source": ["x = 1"], "outputs": [{"text": "1"}]}]}
    c = {"cells": [{"cell_type": "code", "source": "x = 2", "outputs": []}]}
    assert hooks.cells_key(a) == hooks.cells_key(b) != hooks.cells_key(c)


def test_readme_links_the_docs_the_citation_and_the_pdf_packages():
    readme = (ROOT / "README.md").read_text()
    assert "$ python3 make.py docs" in readme and "build/docs/index.html" in readme
    assert "CITATION.cff" in readme and "LICENSE" in readme
    assert "pandoc texlive-xetex" in readme
    # the docs build runs in CI: make.py test builds the site, and CI runs the README's test line
    make = (ROOT / "make.py").read_text()
    assert "return docs([])" in make and '"mkdocs", "build", "--strict"' in make
    assert "$ python3 make.py test" in readme
    extras = PYPROJECT["optional-dependencies"]
    assert any(d.startswith("mkdocstrings[python]") for d in extras["docs"])
    assert ".[dev,notebooks,paper,docs]" in make


def test_sphinx_roles_in_docstrings_show_as_code():
    hooks = _hooks()
    html = (":func:<code>reliability</code> and :class:<code>~connection.Instrument</code>, "
            ":py:meth:<code>Fit.summary</code>")
    assert hooks.on_page_content(html) == ("<code>reliability</code> and <code>Instrument</code>, "
                                           "<code>Fit.summary</code>")
