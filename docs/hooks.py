"""MkDocs hook: put the executed tutorial notebooks into the site.

Before every build, each ``notebooks/NN_*.ipynb`` is executed in a fresh kernel (in ``notebooks/``,
so its relative paths hold, two at a time) into ``docs/tutorials/NN_*.ipynb`` (git-ignored), which
``mkdocs-jupyter`` renders; an error in any cell stops the build. The site therefore always shows
what the current package computes. An executed copy is reused while the notebook and the package
source (``connection/``) are unchanged: the sha256 of both is kept in its metadata.

The notebooks in the repository are stored executed too, so they can be read with their results
without running them. ``python docs/hooks.py`` re-executes them in place, the same way (seeded,
``PYTHONHASHSEED=0``, no timings, the repository's path written as a relative one) and stamps each
with the sha256 of its cells' sources; ``tests/test_notebooks.py`` fails when a notebook's cells
have changed since its outputs were stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "docs" / "tutorials"
KEY = "connection_docs"
TIMEOUT = 600  # seconds per cell, as the test suite's nbmake run

log = logging.getLogger("mkdocs.hooks.notebooks")


def _source_key(notebook: Path) -> str:
    digest = hashlib.sha256(notebook.read_bytes())
    for path in sorted((ROOT / "connection").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cells_key(nb: dict) -> str:
    """The sha256 of a notebook's cells (type and source): what its stored outputs were made from."""
    cells = [[c.get("cell_type"), "".join(c.get("source", ""))] for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _has_outputs(nb: dict) -> bool:
    """Every non-empty code cell was executed (a cell that displays nothing has no outputs)."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and "".join(c["source"]).strip()]
    return bool(code) and all(c.get("execution_count") is not None for c in code)


def _portable(nb: dict) -> dict:
    """Outputs without timings and without this machine's paths (the repository's root is written
    as a relative path, its parent and the home folder are removed)."""
    root = str(ROOT)
    swaps = [(root + os.sep + "notebooks" + os.sep, ""), (root + os.sep, "../"), (root, ".."),
             (str(Path.home()), "~")]

    def scrub(text: str) -> str:
        for old, new in swaps:
            text = text.replace(old, new)
        return text

    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
        # consecutive stream outputs as one (how the kernel splits a stream depends on timing)
        merged = []
        for out in cell.get("outputs", []):
            if (merged and out.get("output_type") == "stream" == merged[-1].get("output_type")
                    and out.get("name") == merged[-1].get("name")):
                merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(out["text"])
            else:
                merged.append(out)
        if "outputs" in cell:
            cell["outputs"] = merged
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = scrub("".join(out["text"]))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    out["data"][mime] = scrub(value if isinstance(value, str) else "".join(value))
            if "traceback" in out:
                out["traceback"] = [scrub(t) for t in out["traceback"]]
    return nb


def _execute(notebook: str, key: str, target: str) -> str:
    """Run one notebook in a fresh kernel (nbconvert in a subprocess) and stamp its key."""
    out = Path(target)
    cmd = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
           f"--ExecutePreprocessor.timeout={TIMEOUT}", "--ExecutePreprocessor.record_timing=False",
           "--output-dir", str(out.parent),
           "--output", out.name, notebook]
    # the kernel imports this checkout's package, whatever is installed
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # figures are displayed inline (an Agg backend would draw them and show nothing)
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYTHONHASHSEED": "0", "PYTHONPATH": path}
    proc = subprocess.run(cmd, cwd=NOTEBOOKS, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        out.unlink(missing_ok=True)
        raise RuntimeError(f"notebook {notebook} failed to execute:\n{proc.stderr[-4000:]}")
    nb = _portable(json.loads(out.read_text(encoding="utf-8")))
    nb.setdefault("metadata", {})[KEY] = {"sha256": key, "executed": True}
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def _prepare() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        target = OUT / notebook.name
        key = _source_key(notebook)
        if target.exists():
            try:
                if json.loads(target.read_text(encoding="utf-8")).get("metadata", {}).get(KEY, {}).get("sha256") == key:
                    continue
            except (OSError, json.JSONDecodeError):
                pass
        wanted[str(notebook)] = (key, str(target))
    for stale in set(OUT.glob("*.ipynb")) - {OUT / n.name for n in NOTEBOOKS.glob("*.ipynb")}:
        stale.unlink()
    if not wanted:
        return
    log.info("executing %d notebook(s): %s", len(wanted),
             ", ".join(Path(n).name for n in wanted))
    with ThreadPoolExecutor(max_workers=min(2, len(wanted))) as pool:
        jobs = [pool.submit(_execute, nb, key, target) for nb, (key, target) in wanted.items()]
        for job in jobs:
            job.result()


def _title(notebook: Path) -> str:
    """The notebook's first Markdown heading (its title in the navigation)."""
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].split(":")[0].strip()
    return notebook.stem


# Docstrings that the numpydoc parser misreads, in files whose owners are changing them now: their
# warnings are reported (at INFO, marked) instead of failing the strict build. Remove an entry once
# its docstring is fixed (a free paragraph after "Parameters" belongs under "Notes").
KNOWN_DOCSTRING_PROBLEMS: tuple[str, ...] = ()


class _Known(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.levelno == logging.WARNING and any(k in text for k in KNOWN_DOCSTRING_PROBLEMS):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = f"known docstring problem (docs/hooks.py), not an error: {text}", ()
        return True


def on_config(config, **kwargs):  # noqa: ARG001 - the MkDocs hook signature
    """Every notebook in notebooks/ is a page under "Tutorials", in file-name order."""
    logger = logging.getLogger("mkdocs.plugins.griffe")
    if not any(isinstance(f, _Known) for f in logger.filters):
        logger.addFilter(_Known())
    pages = [{_title(nb): f"tutorials/{nb.name}"} for nb in sorted(NOTEBOOKS.glob("*.ipynb"))]
    for section in config["nav"] or []:
        if isinstance(section, dict) and "Tutorials" in section:
            section["Tutorials"] = pages
    return config


def on_pre_build(config, **kwargs) -> None:  # noqa: ARG001 - the MkDocs hook signature
    _prepare()


# the docstrings' Sphinx roles (:func:`x`, :class:`~pkg.X`) arrive as ":func:<code>x</code>"
_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|ref):<code>(~?)([^<]*)</code>")


def _code(match: re.Match) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"<code>{name}</code>"


def on_page_content(html, **kwargs):  # noqa: ARG001 - the MkDocs hook signature
    """Show a Sphinx role as the code it names (``~pkg.X`` as ``X``, as Sphinx does)."""
    return _ROLE.sub(_code, html)


def store(names: list[str] | None = None) -> None:
    """Execute notebooks (all, or those named) and store them executed in ``notebooks/``."""
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    if names:
        notebooks = [n for n in notebooks if n.name in names or n.stem in names]
    out = ROOT / "build" / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=min(2, max(1, len(notebooks)))) as pool:
        jobs = {nb: pool.submit(_execute, str(nb), "", str(out / nb.name)) for nb in notebooks}
    for notebook, job in jobs.items():
        executed = json.loads(Path(job.result()).read_text(encoding="utf-8"))
        meta = executed.setdefault("metadata", {})
        meta.pop(KEY, None)
        meta[KEY] = {"cells_sha256": cells_key(executed)}
        notebook.write_text(json.dumps(executed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"stored {notebook.relative_to(ROOT)}")


if __name__ == "__main__":  # python docs/hooks.py [NOTEBOOK ...]: store the notebooks executed
    store(sys.argv[1:])
