"""One report object for every ``summary()``: text, HTML and LaTeX from the same content.

A :class:`Report` is what statsmodels' ``Summary`` is to its results: a title, a header of
labelled settings, tables with captions, notes, and the admissibility flags of the result. It is
rendered as plain text (``str(report)``, ``print(report)``, ``as_text()``), HTML (Jupyter shows it
through ``_repr_html_``) or LaTeX (``as_latex()``, ``_repr_latex_``); every result class builds
one in its ``summary()`` and nothing else writes its own layout.

>>> import pandas as pd
>>> r = Report("Reliability", header=[("Respondents", 120), ("Level", "95%")])
>>> _ = r.add_table(pd.DataFrame({"construct": ["connection"], "alpha": [0.8412]}), caption="Alpha")
>>> print(r.as_text())
Reliability
===========
Respondents: 120
Level:       95%
<BLANKLINE>
Alpha
construct   alpha
connection  0.841
>>> "<table" in r.as_html() and r.as_latex().startswith("\\\\begin{center}")
True
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Report", "ReportTable", "Reported"]


@dataclass
class ReportTable:
    """One table of a report: a frame, its caption and how many decimals its numbers show."""

    frame: pd.DataFrame
    caption: str = ""
    digits: int = 3
    index: bool = False


@dataclass
class Report:
    """A result's summary: title, header (label, value) pairs, tables, notes and flags.

    Parameters
    ----------
    title
        First line (e.g. ``"CFA (ML), 1 group"``).
    header
        ``(label, value)`` pairs shown under the title: settings and sample sizes.
    tables
        :class:`ReportTable` objects (or add them with :meth:`add_table`).
    notes
        Sentences shown after the tables (method notes, warnings).
    flags
        Admissibility flags of the result (:class:`connection._flags.Flag` or strings); shown
        first, under the header, so an inadmissible solution cannot be missed.
    """

    title: str
    header: Sequence[tuple[str, Any]] = ()
    tables: list[ReportTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: Sequence[Any] = ()

    def __post_init__(self):
        self.header = [(str(k), v) for k, v in self.header]
        self.tables = list(self.tables)
        self.notes = [str(n) for n in self.notes]
        self.flags = [f for f in self.flags if str(f)]

    # ------------------------------------------------------------------------------ building
    def add_table(self, frame: pd.DataFrame, caption: str = "", *, digits: int = 3,
                  index: bool = False) -> Report:
        """Append a table (returns the report, so calls chain)."""
        self.tables.append(ReportTable(frame, caption, digits, index))
        return self

    def add_note(self, note: str) -> Report:
        self.notes.append(str(note))
        return self

    # ----------------------------------------------------------------------------- rendering
    def as_text(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        if self.header:
            width = max(len(k) for k, _ in self.header) + 1
            lines += [f"{k + ':':<{width}} {_cell(v)}" for k, v in self.header]
        if self.flags:
            lines.append("")
            lines.append("NOT ADMISSIBLE: read these numbers with care:")
            lines += [f"  - {f}" for f in self.flags]
        for t in self.tables:
            lines.append("")
            if t.caption:
                lines.append(t.caption)
            lines.append(_text_table(t))
        if self.notes:
            lines.append("")
            lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        e = _html.escape
        parts = [f"<div class='connection-report'><h4>{e(self.title)}</h4>"]
        if self.header:
            rows = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(_cell(v))}</td></tr>"
                           for k, v in self.header)
            parts.append(f"<table>{rows}</table>")
        if self.flags:
            items = "".join(f"<li>{e(str(f))}</li>" for f in self.flags)
            parts.append(f"<p style='color:#b00'><b>Not admissible</b>: read these numbers with "
                         f"care</p><ul>{items}</ul>")
        for t in self.tables:
            if t.caption:
                parts.append(f"<p><b>{e(t.caption)}</b></p>")
            parts.append(_formatted(t).to_html(index=t.index, escape=True, na_rep=""))
        if self.notes:
            parts.append("".join(f"<p><i>Note</i>: {e(n)}</p>" for n in self.notes))
        parts.append("</div>")
        return "\n".join(parts)

    def as_latex(self) -> str:
        parts = ["\\begin{center}", f"\\textbf{{{_tex(self.title)}}}\\\\"]
        for k, v in self.header:
            parts.append(f"{_tex(k)}: {_tex(_cell(v))}\\\\")
        for f in self.flags:
            parts.append(f"\\textbf{{Not admissible}}: {_tex(str(f))}\\\\")
        for t in self.tables:
            frame = _formatted(t)
            if t.index:
                frame = frame.reset_index()
            cols = list(frame.columns)
            parts.append("\\medskip")
            if t.caption:
                parts.append(f"{_tex(t.caption)}\\\\")
            parts.append("\\begin{tabular}{" + "l" * len(cols) + "}")
            parts.append("\\hline")
            parts.append(" & ".join(_tex(str(c)) for c in cols) + " \\\\")
            parts.append("\\hline")
            for row in frame.itertuples(index=False):
                parts.append(" & ".join(_tex(str(v)) for v in row) + " \\\\")
            parts.append("\\hline")
            parts.append("\\end{tabular}\\\\")
        for n in self.notes:
            parts.append(f"\\textit{{Note}}: {_tex(n)}\\\\")
        parts.append("\\end{center}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()

    def _repr_latex_(self) -> str:
        return self.as_latex()


# ---------------------------------------------------------------------------------- formatting
def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 1e7):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ", ".join(_cell(v, digits) for v in value)
    return str(value)


def _whole_column(values: pd.Series) -> bool:
    """A float column whose every finite value is a whole number (df, counts): shown as integers."""
    if not pd.api.types.is_float_dtype(values):
        return False
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    return len(finite) > 0 and bool((finite == np.round(finite)).all()) and \
        bool((finite.abs() < 1e15).all())


def _formatted(table: ReportTable) -> pd.DataFrame:
    """Every cell as text: floats with ``digits`` decimals (whole-number columns as integers),
    NaN blank, bools yes/no."""
    frame = table.frame
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if _whole_column(values):
            out[str(col)] = ["" if not np.isfinite(v) else str(int(v)) for v in values.tolist()]
        else:
            out[str(col)] = [_cell(v, table.digits) for v in values.tolist()]
    return out


def _text_table(table: ReportTable) -> str:
    """The table as aligned text: numbers right-aligned, text left-aligned (readable labels)."""
    cells = _formatted(table)
    frame = table.frame
    columns = list(cells.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    rows = [list(r) for r in cells.itertuples(index=False)]
    if table.index:
        columns = [str(frame.index.name or "")] + columns
        numeric = [False] + numeric
        rows = [[str(i)] + r for i, r in zip(frame.index, rows)]
    widths = [max([len(str(c))] + [len(r[j]) for r in rows]) for j, c in enumerate(columns)]

    def line(values):
        parts = [(v.rjust(w) if num else v.ljust(w))
                 for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line([str(c) for c in columns])] + [line(r) for r in rows])


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


class Reported:
    """Mixin of every result class: its text, HTML and LaTeX views are its ``summary()``
    Report's (a dataclass result says ``@dataclass(repr=False)`` so that this ``__repr__``
    stands)."""

    def __repr__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def _repr_latex_(self) -> str:
        return self.summary().as_latex()
