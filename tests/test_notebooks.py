"""The tutorial notebooks as stored: executed from their current cells, portable, explained, and on
the paper's definitions (issue 17).

The notebooks are stored with their outputs (``python docs/hooks.py`` executes and stores them);
the docs build executes them again. These tests read the stored files only, so they are fast.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STUDY = tomllib.loads((ROOT / "studies" / "social_moms.toml").read_text())["study"]
PAPER = (ROOT / "paper" / "manuscript.md").read_text()

# an absolute path of this or any machine, or the kernel's temporary cell file
MACHINE_PATH = re.compile(r"(?:/home/|/work/|/tmp/|/Users/|/private/|/var/folders/|[A-Za-z]:\\\\|"
                          r"ipykernel_\d+)")
MAX_OUTPUT_LINES = 40  # a longer text output is a dump
MAX_TABLE_ROWS = 20    # a longer displayed table is a dump


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell.get("source", ""))


def _texts(cell: dict) -> list[str]:
    """Every text an output shows: streams, plain text, HTML, tracebacks."""
    out = []
    for o in cell.get("outputs", []):
        if "text" in o:
            out.append("".join(o["text"]))
        for mime, value in o.get("data", {}).items():
            if mime.startswith("text/"):
                out.append(value if isinstance(value, str) else "".join(value))
        out.extend(o.get("traceback", []))
    return out


def _output_text(nb: dict) -> str:
    return "\n".join(t for c in nb["cells"] for t in _texts(c))


def _markdown(nb: dict) -> str:
    return "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request) -> tuple[str, dict]:
    return request.param.name, _load(request.param)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


def test_each_notebook_is_stored_executed_from_its_current_cells(notebook):
    name, nb = notebook
    hooks = _hooks()
    assert hooks._has_outputs(nb), f"{name}: a code cell was never executed"
    counts = [c["execution_count"] for c in nb["cells"]
              if c["cell_type"] == "code" and _source(c).strip()]
    # run once, top to bottom, in a fresh kernel
    assert counts == list(range(1, len(counts) + 1)), name
    stamp = nb["metadata"].get(hooks.KEY, {}).get("cells_sha256")
    assert stamp == hooks.cells_key(nb), (
        f"{name}: its cells changed after its outputs were stored; run python docs/hooks.py {name}")


def test_stored_outputs_hold_no_machine_paths_timings_or_errors(notebook):
    name, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        assert "execution" not in cell.get("metadata", {}), f"{name} cell {i}: timings stored"
        assert not [o for o in cell.get("outputs", []) if o["output_type"] == "error"], (name, i)
        for text in _texts(cell):
            assert not MACHINE_PATH.search(text), (name, i, MACHINE_PATH.search(text)[0])
            assert "Traceback" not in text, (name, i)


def test_every_shown_result_has_a_markdown_cell_next_to_it(notebook):
    name, nb = notebook
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or not cell.get("outputs"):
            continue
        neighbours = [cells[j]["cell_type"] for j in (i - 1, i + 1) if 0 <= j < len(cells)]
        assert "markdown" in neighbours, f"{name} cell {i} shows a result that no text explains"


def test_no_output_is_a_dump(notebook):
    name, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        for o in cell.get("outputs", []):
            plain = "".join(o.get("text", "")) or "".join(o.get("data", {}).get("text/plain", ""))
            assert len(plain.splitlines()) <= MAX_OUTPUT_LINES, (name, i)
            assert not re.search(r"\[\d+ rows x \d+ columns\]", plain), (name, i)
            html = "".join(o.get("data", {}).get("text/html", ""))
            if "<table" in html and "dataframe" in html:
                body = html.split("<tbody>", 1)[-1]
                assert body.count("<tr") <= MAX_TABLE_ROWS, (name, i)


def test_figures_have_a_title_and_axis_labels(notebook):
    name, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            src = _source(cell)
            assert "set_title(" in src and "set_xlabel(" in src and "set_ylabel(" in src, (name, i)


def test_seeds_are_printed_without_thousands_separators(notebook):
    name, nb = notebook
    text = _output_text(nb) + "\n" + _markdown(nb)
    assert not re.search(r"seed\W{0,3}\d{1,3}(?:,\d{3})+", text), name
    assert f"{STUDY['seed']:,}" not in text, name
    for seed in re.findall(r"\bSEED\s*=\s*(\d+)|seed\s*=\s*(\d+)",
                           "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "code")):
        value = int(next(s for s in seed if s))
        if value >= 1000:
            assert f"{value:,}" not in text, (name, value)


def test_the_notebooks_use_the_papers_cut_off():
    """Every notebook that segments respondents prints the rule it used: the paper's cut-off."""
    cut = f"index >= {STUDY['connected_min']:g}"
    for name in ("01_quickstart.ipynb", "02_social_moms_study.ipynb",
                 "04_connection_vs_satisfaction.ipynb"):
        nb = _load(ROOT / "notebooks" / name)
        assert cut in _output_text(nb), name
        assert "connected_min=75" not in "".join(_source(c) for c in nb["cells"]), name


def test_notebook_04_states_the_papers_cut_off_and_its_grid():
    nb = _load(ROOT / "notebooks" / "04_connection_vs_satisfaction.ipynb")
    text = _output_text(nb)
    assert (f"cut-off for 'connected' (studies/social_moms.toml, connected_min): "
            f"{STUDY['connected_min']:g}") in text
    assert f"equivalence margin: {STUDY['equivalence_margin']:g} pooled SD" in text
    # the cut-off grid shows every cut-off of the config, the paper's marked
    grid = next(c for c in nb["cells"] if "def at_cutoff" in _source(c))
    plain = "".join(grid["outputs"][0]["data"]["text/plain"])
    rows = {int(m[0]): m[1] for m in re.findall(r"^\d+\s+(\d+)\s+(True|False)", plain, re.M)}
    assert sorted(rows) == sorted(int(c) for c in STUDY["cutoff_grid"])
    assert [c for c, paper in rows.items() if paper == "True"] == [int(STUDY["connected_min"])]


def _conclusion(nb: dict, marker: str, variable: str) -> str:
    cell = next(c for c in nb["cells"] if marker in _source(c))
    plain = "".join(cell["outputs"][-1]["data"]["text/plain"])
    hits = re.findall(rf"^\d+\s+(?:\w+\s+)?{variable}\s.*?((?:not shown )?equivalent)\s*$", plain, re.M)
    if hits:
        return hits[0]
    # a wide table wraps: the conclusion column is printed last, in row order
    rows = re.findall(rf"^(\d+)\s+(?:\w+\s+)?{variable}\s", plain, re.M)
    verdicts = dict(re.findall(r"^(\d+)\s.*?((?:not shown )?equivalent)\s*$", plain, re.M))
    return verdicts[rows[0]]


def test_notebook_04_explains_its_satisfaction_verdict():
    nb = _load(ROOT / "notebooks" / "04_connection_vs_satisfaction.ipynb")
    verdict = _conclusion(nb, "result = cx.compare(", "satisfaction")
    said_not = "Satisfaction is not shown equivalent here" in _markdown(nb)
    assert said_not == (verdict == "not shown equivalent")


def test_notebook_02_says_how_many_equivalence_tests_hold():
    nb = _load(ROOT / "notebooks" / "02_social_moms_study.ipynb")
    shown, total = map(int, re.search(r"equivalence shown in (\d+) of (\d+) tests",
                                      _output_text(nb)).groups())
    assert total == 6
    text = _markdown(nb)
    assert ("None of the six equivalence tests holds" in text) == (shown == 0)
    assert "Power and sensitivity" in text


def test_the_paper_sections_the_notebooks_name_exist(notebook):
    name, nb = notebook
    headings = {h.strip() for h in re.findall(r"^#{2,4} (.+)$", PAPER, re.M)}
    for section in re.findall(r"section\s+\*([^*]+)\*", _markdown(nb)):
        assert " ".join(section.split()) in headings, (name, section)
