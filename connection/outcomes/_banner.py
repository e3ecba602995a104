"""Banner tables: row variables by the categories of column variables, with significance letters.

:func:`banner` crosses each *row* variable (categorical: the column proportion of each category;
numeric: the column mean) with the categories of each *column* variable, plus a Total column.
The columns of the whole banner are lettered A, B, C, ... in order; within one column variable,
every pair of columns is tested on each row, and a cell carries the letter of each column it is
significantly *higher* than (after the multiplicity correction), as market-research banners do.

Tests
    Proportions: the pooled two-proportion z test (statsmodels ``proportions_ztest`` with its
    default pooled variance; R ``prop.test(correct = FALSE)``). Means: Welch's t test
    (statsmodels ``ttest_ind(usevar="unequal")``).
Multiplicity
    ``correction`` (``connection.outcomes.adjust_pvalues``) is applied within each row of the
    table and each column variable: the ``k (k - 1) / 2`` pairwise tests of one row category (or
    one mean) among the ``k`` tested columns of one column variable form one family.
Weights
    Proportions and means are weighted; each column's base in the tests is Kish's effective
    sample size ``n_eff = (sum w)**2 / sum w**2`` of the respondents in it with an answer: the
    z test uses ``p * n_eff`` "events" out of ``n_eff``, the t test the weighted variance
    ``sum w (y - m)**2 / sum w * n_eff / (n_eff - 1)`` over ``n_eff`` with Welch's degrees of
    freedom from ``n_eff``. With equal weights this is the unweighted test.
Low bases
    A column whose base (respondents with an answer to the row variable) is below ``min_base``
    is flagged (``low_base``) and left out of that row's tests (no letters given or received).

:func:`write_excel` writes any set of frames to a formatted .xlsx (openpyxl): bold headers,
percentages, widths; :meth:`BannerResult.to_excel` writes the banner itself (value and letters
side by side), its tidy frame and its tests.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"buy": ["yes"] * 60 + ["no"] * 40 + ["yes"] * 30 + ["no"] * 70,
...                   "region": ["north"] * 100 + ["south"] * 100})
>>> b = banner(d, "buy", "region")
>>> t = b.to_frame()
>>> yes = t[t.row_category == "yes"]
>>> list(zip(yes.column_category, yes.letter, yes.value.round(2), yes.letters))
[('Total', '', 0.45, ''), ('north', 'A', 0.6, 'B'), ('south', 'B', 0.3, '')]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _sps

from connection import _common
from connection._report import Report, Reported
from connection.errors import ArgumentError, ExclusionWarning, MissingColumnError
from connection.stats._describe import _categories, _kinds
from connection.stats._multiplicity import adjust_pvalues, check_correction
from connection.stats._proportions import pooled_z_test
from connection.stats._weights import UNSET, as_frame, resolve_weights

__all__ = ["banner", "BannerResult", "write_excel", "BANNER_COLUMNS", "TEST_COLUMNS"]

TOTAL = "Total"

BANNER_COLUMNS = ["row_variable", "row_category", "statistic", "column_variable",
                  "column_category", "letter", "base", "n_eff", "value", "se", "letters",
                  "low_base"]
"""Columns of :meth:`BannerResult.to_frame` (one row per row-category by banner column):

row_variable, row_category, statistic
    The row variable, its category (``None`` for a mean) and ``"proportion"`` or ``"mean"``.
column_variable, column_category, letter
    The column variable (``""`` for the Total column), its category (``"Total"``) and the
    column's letter (``""`` for Total).
base, n_eff
    Respondents in the column with an answer to the row variable; Kish's effective n.
value, se
    The (weighted) proportion (0-1) or mean, and its standard error (``sqrt(p (1 - p) / n_eff)``
    or ``s / sqrt(n_eff)``).
letters
    Letters of the columns of the same column variable this cell is significantly higher than.
low_base
    ``base < min_base`` (the column is left out of this row's tests).
"""

TEST_COLUMNS = ["row_variable", "row_category", "column_variable", "column_a", "column_b",
                "letter_a", "letter_b", "difference", "statistic", "df", "p_value", "p_adjusted",
                "significant"]


# --------------------------------------------------------------------------------- arguments
def _names(frame: pd.DataFrame, names: Any, what: str) -> list[str]:
    out = [names] if isinstance(names, str) else list(names) if names is not None else []
    if not out or not all(isinstance(n, str) for n in out):
        raise ArgumentError(f"{what} must be a column name or a list of column names",
                            values=[names], expected='e.g. ["satisfaction", "buy"]')
    for n in out:
        if n not in frame.columns:
            raise MissingColumnError(f"{what}: column {n!r} is not in the data", column=n,
                                     expected="one of: " + ", ".join(map(str, frame.columns[:20])))
    return out


def _letters(k: int) -> list[str]:
    """A, B, ..., Z, AA, AB, ... (as spreadsheet columns)."""
    out = []
    for i in range(k):
        s, j = "", i
        while True:
            s = chr(ord("A") + j % 26) + s
            j = j // 26 - 1
            if j < 0:
                break
        out.append(s)
    return out


@dataclass
class _Column:
    variable: str
    category: Any
    letter: str
    mask: np.ndarray


def _banner_columns(frame: pd.DataFrame, columns: list[str]) -> list[_Column]:
    cols = [_Column("", TOTAL, "", np.ones(len(frame), bool))]
    specs = []
    for var in columns:
        s = frame[var]
        if s.isna().any():
            _common.warn(f"banner: {int(s.isna().sum())} of {len(frame)} respondents have no "
                         f"{var!r} and are only in the Total column", ExclusionWarning)
        cats = _categories(s)
        if not cats:
            raise ArgumentError(f"banner: the column variable {var!r} has no values",
                                values=[var], expected="a column with categories")
        specs += [(var, c, (s == c).to_numpy(dtype=bool)) for c in cats]
    for (var, cat, mask), letter in zip(specs, _letters(len(specs))):
        cols.append(_Column(var, cat, letter, mask))
    return cols


# --------------------------------------------------------------------------------- estimates
def _cell(y: np.ndarray, w: np.ndarray, mask: np.ndarray, mean: bool) -> dict:
    used = mask & ~np.isnan(y)
    base = int(used.sum())
    if base == 0:
        return {"base": 0, "n_eff": 0.0, "value": np.nan, "se": np.nan, "var": np.nan}
    wu, yu = w[used], y[used]
    total = wu.sum()
    n_eff = float(total ** 2 / (wu ** 2).sum())
    m = float((wu * yu).sum() / total)
    if mean:
        var = float((wu * (yu - m) ** 2).sum() / total * n_eff / (n_eff - 1)) if n_eff > 1 \
            else np.nan
    else:
        var = m * (1 - m)
    return {"base": base, "n_eff": n_eff, "value": m, "se": float(np.sqrt(var / n_eff)),
            "var": var}


def _pair_test(a: dict, b: dict, mean: bool) -> tuple[float, float, float]:
    """``(statistic, df, p)`` of column a against column b (df NaN for the z test)."""
    if not mean:
        z, p = pooled_z_test(a["value"] * a["n_eff"], a["n_eff"], b["value"] * b["n_eff"],
                             b["n_eff"])
        return float(z), np.nan, float(p)
    va, vb = a["var"] / a["n_eff"], b["var"] / b["n_eff"]
    se = np.sqrt(va + vb)
    if not np.isfinite(se) or se == 0:
        return 0.0, np.nan, 1.0
    t = (a["value"] - b["value"]) / se
    df = (va + vb) ** 2 / (va ** 2 / (a["n_eff"] - 1) + vb ** 2 / (b["n_eff"] - 1))
    return float(t), float(df), float(2 * _sps.t.sf(abs(t), df))


def _row_tests(cells: list[dict], cols: list[_Column], key: dict, mean: bool,
               min_base: int) -> list[dict]:
    tests = []
    by_var: dict[str, list[int]] = {}
    for i, c in enumerate(cols):
        if c.variable and cells[i]["base"] >= max(min_base, 2 if mean else 1):
            by_var.setdefault(c.variable, []).append(i)
    for var, idx in by_var.items():
        for x, i in enumerate(idx):
            for j in idx[x + 1:]:
                stat, df, p = _pair_test(cells[i], cells[j], mean)
                tests.append({**key, "column_variable": var, "column_a": cols[i].category,
                              "column_b": cols[j].category, "letter_a": cols[i].letter,
                              "letter_b": cols[j].letter,
                              "difference": cells[i]["value"] - cells[j]["value"],
                              "statistic": stat, "df": df, "p_value": p, "_i": i, "_j": j})
    return tests


# ------------------------------------------------------------------------------------ result
@dataclass(eq=False, repr=False)
class BannerResult(Reported):
    """A banner table (:func:`banner`).

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy, one row per row category (or mean) by banner column: :data:`BANNER_COLUMNS`.
    tests : pandas.DataFrame
        Every pairwise test: :data:`TEST_COLUMNS` (``statistic`` is z or t; ``df`` NaN for z).
    rows, columns : list of str
    weighted : bool
    level, correction, min_base
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    rows: list[str]
    columns: list[str]
    weighted: bool
    level: float
    correction: str | None
    min_base: int
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (:data:`BANNER_COLUMNS`)."""
        return self.table.copy()

    def wide(self, variable: str) -> pd.DataFrame:
        """One row variable as the banner shows it: a Base row, then one row per category (or
        the Mean), one text column per banner column (``"45.0% B"``, ``"3.42 AC"``; a low base
        is marked ``*``)."""
        t = self.table[self.table.row_variable == variable]
        heads = _headers(t)
        out = {}
        first = t[t.row_category.isna()] if t.statistic.iloc[0] == "mean" else \
            t[t.row_category == t.row_category.iloc[0]]
        out["Base"] = [f"{b}{'*' if lb else ''}" for b, lb in zip(first.base, first.low_base)]
        for cat, g in t.groupby("row_category", sort=False, dropna=False):
            label = "Mean" if g.statistic.iloc[0] == "mean" else str(cat)
            out[label] = [_text(v, s, lt) for v, s, lt in zip(g.value, g.statistic, g.letters)]
        return pd.DataFrame(out, index=heads).T.rename_axis(variable).reset_index()

    def summary(self) -> Report:
        rep = Report("Banner table", header=[
            ("Rows", ", ".join(self.rows)), ("Columns", ", ".join(self.columns)),
            ("Weights", "yes (Kish n_eff in the tests)" if self.weighted else "none"),
            ("Level", f"{self.level:.0%}"), ("Correction", self.correction or "none"),
            ("Minimum base", self.min_base)])
        for var in self.rows:
            rep.add_table(self.wide(var), caption=var)
        rep.add_note("A letter marks a column this cell is significantly higher than (same "
                     f"column variable, {self.level:.0%} level, {self.correction or 'no'} "
                     "correction within each row); * marks a base below the minimum (not tested).")
        for n in self.notes:
            rep.add_note(n)
        return rep

    def to_excel(self, path: str | os.PathLike) -> str:
        """Write the banner to a formatted .xlsx: sheet ``Banner`` (one block per row variable:
        a Base row, then each category's percentage or mean with its letters in the next
        column; headers bold, percentages as %), ``Table`` (:meth:`to_frame`) and ``Tests``.
        Returns the path."""
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "Banner"
        _write_banner_sheet(ws, self)
        _frame_sheet(wb.create_sheet("Table"), self.table, percent=())
        _frame_sheet(wb.create_sheet("Tests"), self.tests, percent=())
        return _save(wb, path)


def _headers(t: pd.DataFrame) -> list[str]:
    first = t.drop_duplicates(["column_variable", "column_category"])
    return [TOTAL if not v else f"{v}: {c} ({lt})"
            for v, c, lt in zip(first.column_variable, first.column_category, first.letter)]


def _text(value: float, statistic: str, letters: str) -> str:
    if not np.isfinite(value):
        return ""
    v = f"{100 * value:.1f}%" if statistic == "proportion" else f"{value:.2f}"
    return f"{v} {letters}".rstrip()


# ------------------------------------------------------------------------------------- banner
def banner(data: Any, rows: str | Sequence[str], columns: str | Sequence[str], *,
           weights: Any = UNSET, level: float = _common.DEFAULT_LEVEL,
           correction: str | None = "holm", min_base: int = 30,
           categorical: str | Sequence[str] | None = None) -> BannerResult:
    """Row variables by the categories of column variables, with significance letters.

    Parameters
    ----------
    data
        The respondents: a DataFrame or a Survey (its weights are used unless ``weights=None``;
        its codebook says which variables are categorical).
    rows
        Row variable(s): categorical ones (text, categorical, boolean, declared categorical, or
        named in ``categorical``) show each category's column proportion; numeric ones the
        column mean. Respondents without an answer are left out of that row variable's bases.
    columns
        Column variable(s): each category is a banner column (lettered A, B, ... across the
        banner), after the Total column.
    weights
        A column, array or Series of weights, or ``None``; default a Survey's weights. Tests use
        Kish's effective n (module docstring).
    level
        ``1 - level`` is the size of each (corrected) test.
    correction
        ``"holm"``, ``"bh"``, ``"bonferroni"`` or ``None``, within each row and column variable.
    min_base
        Columns with fewer respondents (answering the row variable) are flagged and not tested.
    categorical
        Numeric row variables to show as proportions (codes such as 1/2).

    Returns
    -------
    BannerResult
    """
    frame, survey_weights = as_frame(data)
    level = _common.check_level(level)
    check_correction(correction)
    min_base = _common.check_int(min_base, "min_base", minimum=0)
    row_names = _names(frame, rows, "rows")
    col_names = _names(frame, columns, "columns")
    w = resolve_weights(frame, weights, survey_weights)
    weighted = w is not None
    w = np.ones(len(frame)) if w is None else w
    kinds = _kinds(data, frame, row_names, categorical)
    cols = _banner_columns(frame, col_names)
    unanswered = {v: int(frame[v].isna().sum()) for v in row_names if frame[v].isna().any()}
    if unanswered:
        _common.warn("banner: respondents without an answer are left out of that row "
                     "variable's bases: " + ", ".join(f"{v} ({k} of {len(frame)})"
                                                      for v, k in unanswered.items()),
                     ExclusionWarning)
    cells_out, tests = [], []
    for var in row_names:
        for key, y, mean in _row_targets(frame[var], var, kinds[var]):
            cells = [_cell(y, w, c.mask, mean) for c in cols]
            row_id = len(cells_out) // len(cols)
            tests += _row_tests(cells, cols, {**key, "_row": row_id}, mean, min_base)
            for c, cell in zip(cols, cells):
                cells_out.append({**key, "column_variable": c.variable,
                                  "column_category": c.category, "letter": c.letter,
                                  **{k: cell[k] for k in ("base", "n_eff", "value", "se")},
                                  "low_base": cell["base"] < min_base})
    table, test_frame = _assemble(cells_out, tests, 1 - level, correction, len(cols))
    return BannerResult(table, test_frame, row_names, col_names, weighted, level, correction,
                        min_base)


def _row_targets(series: pd.Series, var: str, kind: str):
    present = series.notna().to_numpy()
    if kind == "mean":
        y = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        yield {"row_variable": var, "row_category": None, "statistic": "mean"}, y, True
        return
    for cat in _categories(series):
        y = np.where(present, (series == cat).to_numpy(dtype=float), np.nan)
        yield {"row_variable": var, "row_category": cat, "statistic": "proportion"}, y, False


def _assemble(cells: list[dict], tests: list[dict], alpha: float, correction: str | None,
              n_cols: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    tf = pd.DataFrame(tests, columns=[*TEST_COLUMNS[:-2], "_row", "_i", "_j"])
    tf["row_category"] = pd.Series([t["row_category"] for t in tests], dtype=object)
    families = [f"{r}\x00{v}" for r, v in zip(tf._row, tf.column_variable)]
    tf["p_adjusted"] = adjust_pvalues(tf.p_value.to_numpy(dtype=float), correction=correction,
                                      families=families) if len(tf) else []
    tf["significant"] = tf.p_adjusted < alpha
    higher: dict[tuple, set] = {}
    sig = tf[tf.significant]
    for row, i, j, la, lb, diff in zip(sig._row, sig._i, sig._j, sig.letter_a, sig.letter_b,
                                       sig.difference):
        win, loser_letter = (i, lb) if diff > 0 else (j, la)
        higher.setdefault((int(row), int(win)), set()).add(loser_letter)
    for k, cell in enumerate(cells):
        cell["letters"] = "".join(sorted(higher.get(divmod(k, n_cols), set()),
                                         key=lambda s: (len(s), s)))
    table = pd.DataFrame(cells, columns=BANNER_COLUMNS)
    table["row_category"] = pd.Series([c["row_category"] for c in cells], dtype=object)
    return table, tf.drop(columns=["_row", "_i", "_j"]).reindex(columns=TEST_COLUMNS)


# -------------------------------------------------------------------------------------- excel
def _save(wb, path) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(".xlsx"):
        raise ArgumentError("to_excel writes .xlsx files", values=[path],
                            expected='a path ending in ".xlsx"')
    wb.save(path)
    return path


def _frame_sheet(ws, frame: pd.DataFrame, percent: Sequence[str]) -> None:
    from openpyxl.styles import Font

    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        ws.append([_excel_value(v) for v in row])
    for j, col in enumerate(frame.columns, start=1):
        letter = ws.cell(row=1, column=j).column_letter
        if col in percent:
            for cell in ws[letter][1:]:
                cell.number_format = "0.0%"
        width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
        ws.column_dimensions[letter].width = min(max(8, width + 2), 50)
    ws.freeze_panes = "A2"


def _excel_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, int | str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def write_excel(path: str | os.PathLike, sheets: Mapping[str, pd.DataFrame] | pd.DataFrame, *,
                percent: Sequence[str] = ()) -> str:
    """Write frames to a formatted .xlsx (openpyxl): one sheet per frame, bold header row,
    frozen header, column widths from the contents, columns named in ``percent`` (holding
    0-1 shares) formatted as percentages. Any result's ``to_frame()`` can go through it.
    Returns the path."""
    from openpyxl import Workbook

    if isinstance(sheets, pd.DataFrame):
        sheets = {"Table": sheets}
    if not sheets or not all(isinstance(f, pd.DataFrame) for f in sheets.values()):
        raise ArgumentError("sheets must be a DataFrame or a mapping sheet name -> DataFrame",
                            values=[type(sheets).__name__], expected='{"Table": frame}')
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        _frame_sheet(wb.create_sheet(str(name)[:31]), frame, percent)
    return _save(wb, path)


def _write_banner_sheet(ws, res: BannerResult) -> None:
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    first = res.table[res.table.row_variable == res.rows[0]].drop_duplicates(
        ["column_variable", "column_category"])
    heads = list(zip(first.column_variable, first.column_category, first.letter))
    ws.cell(row=1, column=1, value="").font = bold
    for k, (var, cat, letter) in enumerate(heads):
        col = 2 + 2 * k
        ws.cell(row=1, column=col, value=var or TOTAL).font = bold
        ws.cell(row=2, column=col, value=str(cat)).font = bold
        ws.cell(row=2, column=col + 1, value=letter or None).font = bold
        ws.cell(row=1, column=col).alignment = Alignment(horizontal="center")
    r = 3
    for var in res.rows:
        t = res.table[res.table.row_variable == var]
        ws.cell(row=r, column=1, value=var).font = bold
        r += 1
        r = _banner_block(ws, t, r, len(heads))
    ws.column_dimensions["A"].width = 28
    ws.freeze_panes = "B3"


def _banner_block(ws, t: pd.DataFrame, r: int, n_cols: int) -> int:
    from openpyxl.styles import Font

    base = t.iloc[:n_cols]
    ws.cell(row=r, column=1, value="Base")
    for k, (b, low) in enumerate(zip(base.base, base.low_base)):
        cell = ws.cell(row=r, column=2 + 2 * k, value=int(b))
        if low:
            cell.font = Font(italic=True, color="B00000")
            ws.cell(row=r, column=3 + 2 * k, value="low base")
    r += 1
    for start in range(0, len(t), n_cols):
        g = t.iloc[start:start + n_cols]
        mean = g.statistic.iloc[0] == "mean"
        ws.cell(row=r, column=1, value="Mean" if mean else str(g.row_category.iloc[0]))
        for k, (v, letters) in enumerate(zip(g.value, g.letters)):
            cell = ws.cell(row=r, column=2 + 2 * k, value=_excel_value(v))
            cell.number_format = "0.00" if mean else "0.0%"
            ws.cell(row=r, column=3 + 2 * k, value=letters or None)
        r += 1
    return r
