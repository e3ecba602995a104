"""One look for every figure: the package's seaborn theme and deterministic saving.

Figure functions live in submodules by area (:mod:`connection.plots.measurement`,
:mod:`connection.plots.drivers`, :mod:`connection.plots.studies`, :mod:`connection.plots.context`);
each takes tidy DataFrames and an optional ``ax=``, and returns the Figure (or the Axes it drew on).
:func:`path_diagram` (:mod:`connection.plots.diagram`) draws a fitted SEM as graphviz DOT text.

>>> from connection import plots
>>> plots.COLUMN_WIDTH, plots.PAGE_WIDTH
(3.5, 7.2)
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

__all__ = ["theme", "save_figure", "new_figure", "COLUMN_WIDTH", "PAGE_WIDTH", "PALETTE",
           "path_diagram", "PathDiagram", "GraphvizNotFoundError"]

COLUMN_WIDTH = 3.5  # inches: one journal column
PAGE_WIDTH = 7.2  # inches: full page width

# Okabe-Ito colour-blind-safe colours, named by what they mean throughout the package
PALETTE = {
    "connection": "#D55E00",  # vermillion
    "satisfaction": "#0072B2",  # blue
    "connected": "#D55E00",
    "not_connected": "#999999",
    "social_moms": "#CC79A7",  # reddish purple
    "other_moms": "#009E73",  # bluish green
    "banking": "#56B4E9",  # sky blue
    "ereaders": "#E69F00",  # orange
    "consumers": "#0072B2",
    "marketers": "#D55E00",
    "neutral": "#4D4D4D",
}

_SUBMODULES = {"measurement", "drivers", "studies", "context", "diagram"}
_DIAGRAM = {"path_diagram", "PathDiagram", "GraphvizNotFoundError"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"connection.plots.{name}")
    if name in _DIAGRAM:
        return getattr(importlib.import_module("connection.plots.diagram"), name)
    raise AttributeError(f"module 'connection.plots' has no attribute {name!r}")


def theme() -> None:
    """Apply the package's theme: seaborn "paper" context, white grid, colour-blind palette.

    Sizes are chosen to stay legible at :data:`COLUMN_WIDTH`.
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font="DejaVu Sans",
                  rc={
                      "figure.dpi": 100,
                      "savefig.dpi": 200,
                      "font.size": 8,
                      "axes.titlesize": 9,
                      "axes.labelsize": 8,
                      "xtick.labelsize": 7,
                      "ytick.labelsize": 7,
                      "legend.fontsize": 7,
                      "legend.title_fontsize": 7,
                      "axes.spines.top": False,
                      "axes.spines.right": False,
                      "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF
                      "svg.hashsalt": "connection",
                  })
    mpl.rcParams["path.simplify"] = True


def new_figure(width: float = COLUMN_WIDTH, height: float | None = None, **kwargs):
    """A themed ``(fig, ax)`` pair sized for a column (or ``width`` inches)."""
    import matplotlib

    if os.environ.get("MPLBACKEND") is None and matplotlib.get_backend().lower() not in {"agg"}:
        # scripts and tests run headless; notebooks set their own inline backend
        import sys

        if "ipykernel" not in sys.modules:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    theme()
    return plt.subplots(figsize=(width, height if height is not None else width * 0.75), **kwargs)


def save_figure(fig, path_stem: str | os.PathLike, formats=("png", "pdf"), dpi: int = 200,
                close: bool = True) -> list[Path]:
    """Save ``fig`` as ``<path_stem>.png`` and ``.pdf`` with reproducible bytes, atomically.

    Dates and software versions are left out of the file metadata, so the same figure gives the
    same bytes on every run.
    """
    from connection._io import atomic_write

    stem = Path(path_stem)
    written = []
    for fmt in formats:
        metadata = {"pdf": {"CreationDate": None, "ModDate": None, "Producer": None,
                            "Creator": "connection"},
                    "png": {"Software": None},
                    "svg": {"Date": None, "Creator": "connection"}}.get(fmt)
        target = stem.with_suffix(f".{fmt}")

        def _write(tmp: Path, fmt=fmt, metadata=metadata) -> None:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)

        written.append(atomic_write(target, _write))
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written
