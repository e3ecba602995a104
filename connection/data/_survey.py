"""Reading survey responses: :func:`read_survey` and the validated :class:`Survey`.

``read_survey`` reads CSV, Parquet, SPSS ``.sav``/``.zsav``, Stata ``.dta``, Qualtrics CSV exports
or a DataFrame, checks every item column against the instrument (present, numeric, on the scale),
turns missing-value codes into ``NaN`` (counted), reverse-codes reverse-keyed items, and
records every respondent it excludes (Qualtrics previews and tests, failed attention checks,
straight-liners when asked) in ``survey.exclusions`` with a reason. Problems it cannot resolve
raise a typed error from :mod:`connection.errors` naming the file, column, rows and values
(the first problem found, with the others listed after it); :func:`check_survey` returns all of
them as a table instead. Input files are only read, never written.

What is read is what the file says, or an error:

- a CSV/TSV data row with more fields than the header (a separator at the end of the line) or
  fewer (a truncated file) is refused, naming the rows, instead of shifting columns or reading
  blanks;
- respondent ids of text files (CSV/TSV/Qualtrics) stay text as written (``'001'`` stays
  ``'001'``; ``'1'`` and ``'1.0'`` are different ids); SPSS/Stata/Parquet ids keep their stored
  type, and float ids beyond 2**53 (where distinct ids may have merged) are refused;
- a Parquet index holding a named column (``set_index('id')`` before writing) is restored as a
  column;
- SPSS user-missing codes are applied, except that a code inside an item's scale (or a
  declared variable's valid values) is refused, as the codebook refuses its own;
- the codebook's ``variables`` (demographics, controls, weights, groups) get their missing codes
  applied and their types, ranges and categories checked (:meth:`Survey.variables_report`).

Row numbers in messages and in ``exclusions.row`` count data rows from 1 in file order, header
rows excluded (for a Qualtrics export, row 1 is the first response after its three header rows;
for a DataFrame, row 1 is its first row).

Examples
--------
>>> import pandas as pd
>>> from connection import instruments, read_survey
>>> inst = instruments.default().subset(["loyalty", "repurchase"])
>>> frame = pd.DataFrame({"rid": [1, 2, 3, 4], "loy_stay": [5, 4, -99, 2],
...                       "loy_switch": [1, 2, 4, 5], "rep_more": [5, 4, 3, 1]})
>>> survey = read_survey(frame, inst, id_column="rid")
>>> survey.data["loy_switch"].tolist()     # reverse-coded: 6 - x
[5.0, 4.0, 2.0, 1.0]
>>> survey.missing_report().set_index("item").loc["loy_stay", ["n_missing", "n_coded"]].tolist()
[1, 1]
>>> survey.scores("loyalty").round(2).tolist()   # mean of the answered items; NaN if any missing
[5.0, 4.0, nan, 1.5]
"""

from __future__ import annotations

import csv
import decimal
import difflib
import io
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connection import _common
from connection._common import renamed_keywords
from connection._report import Report
from connection.data._instrument import Instrument, _fmt
from connection.errors import (
    ArgumentError,
    ConnectionPackageError,
    DataError,
    DuplicateIdError,
    EmptyFileError,
    ExclusionWarning,
    GroupError,
    MissingColumnError,
    NonNumericError,
    NoVarianceError,
    OutOfRangeError,
    QualtricsExportError,
    UndecodableFileError,
    UnsupportedFormatError,
)

__all__ = ["read_survey", "check_survey", "Survey", "Labels"]

_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
    ".sav": "sav", ".zsav": "sav", ".dta": "dta",
}
_FORMAT_NAMES = ("csv", "tsv", "qualtrics", "parquet", "sav", "dta")

# Qualtrics' response types (column Status): numeric export codes and choice-text labels.
# 0 IP Address (a real response), 1 Survey Preview, 2 Survey Test, 4 Imported, 8 Spam,
# 9 Survey Preview Spam, 16 Offline, 17 Offline Survey Preview.
_QUALTRICS_PREVIEW = {1, 9, 17, "survey preview", "survey preview spam", "offline survey preview"}
_QUALTRICS_TEST = {2, "survey test"}

REASONS = ("qualtrics_preview", "qualtrics_test", "qualtrics_unfinished", "attention_check",
           "straightline")


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Labels:
    """Variable and value labels carried by the file (SPSS/Stata metadata, Qualtrics question text).

    Attributes
    ----------
    variables : dict
        ``{column: label}`` (SPSS variable labels; the question text row of a Qualtrics export).
    values : dict
        ``{column: {code: label}}`` (SPSS/Stata value labels).
    missing : dict
        ``{column: [codes]}`` user-missing codes declared in the file (SPSS); ranges declared
        as ``lo..hi`` appear as ``(lo, hi)`` tuples.
    """

    variables: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.variables or self.values or self.missing)


# --------------------------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------------------------
@dataclass
class _Loaded:
    frame: pd.DataFrame
    fmt: str
    file: str | None
    labels: Labels = field(default_factory=Labels)


def _detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt == "zsav":
            fmt = "sav"
        if fmt not in _FORMAT_NAMES:
            raise ArgumentError("unknown format", values=[fmt],
                                expected="one of " + ", ".join(_FORMAT_NAMES))
        return fmt
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise UnsupportedFormatError(
            "file format not supported", file=str(path), values=[path.suffix or "(no suffix)"],
            expected="a .csv, .tsv, .txt, .parquet, .sav, .zsav or .dta file, or a DataFrame",
            hint="Pass format='csv' (or another format) if the suffix is misleading; "
                 "for Excel files, save as CSV or read with pandas and pass the DataFrame")
    return _FORMATS[suffix]


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise DataError("path is a folder, not a file", file=str(path)) from None
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror or err})", file=str(path)) from None
    if not data.strip():
        raise EmptyFileError("file is empty", file=str(path), expected="a header and data rows")
    return data


def _decode(data: bytes, path: Path, encoding: str | None) -> str:
    if encoding is None:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        else:
            encoding = "utf-8-sig"
        if b"\x00" in data and encoding != "utf-16":
            raise UndecodableFileError(
                "file is binary, not text", file=str(path),
                expected="a text file (CSV)",
                hint="Is it a .sav, .parquet or Excel file with the wrong suffix? Pass format=...")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UndecodableFileError(
            f"cannot decode the file as {encoding} (byte {err.start}, line {line})",
            file=str(path), values=[data[err.start: err.start + 4]],
            expected=f"{encoding} text",
            hint="Pass encoding= (e.g. encoding='cp1252' or 'latin-1') if the file uses another "
                 "encoding") from None
    except LookupError:
        raise ArgumentError("unknown text encoding", values=[encoding]) from None


def _sniff_sep(first_line: str, fmt: str) -> str:
    if fmt == "tsv":
        return "\t"
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    if counts[","] == 0 and counts["\t"] > 0:
        return "\t"
    if counts[","] == 0 and counts[";"] > 0:
        return ";"
    return ","


def _is_qualtrics(rows: list[list[str]]) -> bool:
    if len(rows) < 3 or not rows[2]:
        return False
    cells = [c.strip() for c in rows[2] if c.strip()]
    return bool(cells) and sum(c.startswith('{"ImportId"') for c in cells) >= max(1, len(cells) // 2)


def _is_blank_row(row: list[str]) -> bool:
    """A line pandas skips: empty, or one field of only spaces."""
    return not row or (len(row) == 1 and not row[0].strip())


def _check_field_counts(rows: list[list[str]], lines: list[int], width: int, path: Path,
                        first_row: int, named: int | None = None) -> None:
    """Refuse data rows whose field count differs from the header's.

    A row with more fields than the header would make pandas shift every column (or use the
    first column as the index); a row with fewer would be read as blanks. Both are refused, naming
    the data rows (from 1, as elsewhere) and the file's line numbers.
    """
    # a header that ends with separators (columns without names) may have rows that stop
    # before those: nothing is shifted or lost
    named = width if named is None else named
    more, fewer = [], []
    for k, row in enumerate(rows):
        if len(row) > width:
            more.append(k)
        elif len(row) < named:
            fewer.append(k)
    if not more and not fewer:
        return
    n = len(rows)
    parts = []
    if more:
        empty = all(not any(c.strip() for c in rows[k][width:]) for k in more)
        what = (f"{len(more)} of {n} data rows have more fields than the header's {width}"
                + (" (the extra fields are empty: a separator at the end of the line?)"
                   if empty else ""))
        parts.append(what)
    if fewer:
        parts.append(f"{len(fewer)} of {n} data rows have fewer fields than the header's {width} "
                     "(a truncated or cut file?)")
    bad = sorted(more + fewer)
    shown_lines = ", ".join(str(lines[k]) for k in bad[:10]) + (", ..." if len(bad) > 10 else "")
    counts = [f"{len(rows[k])} fields" for k in bad]
    hint = ("Reading them would shift values into the wrong columns or turn them into blanks, "
            f"so nothing was read (file lines {shown_lines}). ")
    if more and not fewer and len(more) == n:
        hint += "Remove the separator at the end of every data line (or add a last column name)"
    else:
        hint += "Repair these rows (or the header) so that every row has one field per column"
    raise UndecodableFileError(
        "cannot parse the file as delimited text: " + "; ".join(parts), file=str(path),
        rows=[first_row + k for k in bad], values=counts,
        expected=f"{width} fields on every row, as in the header", hint=hint)


def _read_text_table(path: Path, fmt: str, encoding: str | None, sep: str | None,
                     text_columns: Iterable[str] = ()) -> _Loaded:
    text = _decode(_read_bytes(path), path, encoding)
    first_line = text.split("\n", 1)[0]
    sep = sep or _sniff_sep(first_line, fmt)
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    rows: list[list[str]] = []
    lines: list[int] = []   # file line on which each row starts
    try:
        start = 1
        for row in reader:
            if not _is_blank_row(row) or not rows:
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise UndecodableFileError(f"cannot parse the file as delimited text ({err})",
                                   file=str(path), rows=[max(len(rows), 1)],
                                   hint="Check for unbalanced quotes") from None
    head = rows[:3]
    if not head or not any(c.strip() for c in head[0]):
        raise EmptyFileError("file has no header row", file=str(path),
                             expected="a header row of column names")
    header = [c.strip() for c in head[0]]
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name and name in seen:
            raise DataError("duplicate column name in the header", file=str(path), column=name,
                            values=[f"columns {seen[name]} and {k}"],
                            expected="each column name once")
        seen.setdefault(name, k)
    qualtrics = _is_qualtrics(head)
    if fmt == "qualtrics" and not qualtrics:
        raise QualtricsExportError(
            "not a Qualtrics CSV export: the third row does not hold ImportId tags", file=str(path),
            expected="three header rows (column names, question text, {\"ImportId\": ...})",
            hint="Export from Qualtrics as CSV (not the legacy format), or read it with format='csv'")
    n_head = 3 if qualtrics else 1
    data_rows = rows[n_head:]
    if not data_rows:
        raise EmptyFileError("file has a header but no data rows", file=str(path),
                             expected="at least one response")
    named = len(header)
    while named > 1 and not header[named - 1]:
        named -= 1
    _check_field_counts(data_rows, lines[n_head:], len(head[0]), path, first_row=1, named=named)
    skip = [1, 2] if qualtrics else None
    # respondent ids are text as written ('001' stays '001'; '1' and '1.0' differ)
    as_text = {name: str for name in dict.fromkeys(text_columns) if name in seen}
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skiprows=skip, header=0, low_memory=False,
                            skipinitialspace=False, index_col=False, dtype=as_text or None)
    except pd.errors.EmptyDataError:
        raise EmptyFileError("file has no data rows", file=str(path)) from None
    except (pd.errors.ParserError, ValueError, csv.Error) as err:
        msg = str(err).strip().replace("\n", " ")
        raise UndecodableFileError(f"cannot parse the file as delimited text: {msg}",
                                   file=str(path),
                                   hint="Check for unbalanced quotes or rows with extra fields"
                                   ) from None
    if len(frame) != len(data_rows) or frame.shape[1] != len(header):
        raise UndecodableFileError(  # the two parsers disagree: trust neither
            "cannot parse the file as delimited text: the rows are ambiguous "
            f"({len(data_rows)} rows of {len(header)} fields by one reading, {len(frame)} rows of "
            f"{frame.shape[1]} by another)", file=str(path),
            hint="Check for unbalanced quotes, embedded line breaks or stray separators")
    frame.columns = [str(c).strip() for c in frame.columns]
    labels = Labels()
    if qualtrics:
        question = head[1] if len(head) > 1 else []
        labels = Labels(variables={name: q for name, q in zip(header, question) if name and q})
    return _Loaded(frame, "qualtrics" if qualtrics else fmt, str(path), labels)


def _read_parquet(path: Path) -> _Loaded:
    _read_bytes(path)
    try:
        frame = pd.read_parquet(path)
    except ImportError as err:  # pragma: no cover - pyarrow is a dependency
        raise UnsupportedFormatError(f"reading Parquet needs pyarrow ({err})",
                                     file=str(path)) from None
    except Exception as err:  # noqa: BLE001 - pyarrow raises many types for corrupt files
        raise UndecodableFileError(f"cannot read the file as Parquet ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''})",
                                   file=str(path)) from None
    if len(frame) == 0:
        raise EmptyFileError("file has no data rows", file=str(path))
    # pandas writes a named index (e.g. the respondent ids after set_index) into the file's
    # metadata, and reads it back as the index - even as a RangeIndex when the ids are
    # consecutive numbers. A named index is data: restore it as a column. An unnamed index
    # (row positions of a filtered frame) is dropped as before.
    names = [n for n in frame.index.names if n is not None]
    if names:
        clash = [str(n) for n in names if n in frame.columns]
        if clash:
            raise DataError("the file's index has the name of a column", file=str(path),
                            column=clash[0], expected="index names distinct from column names",
                            hint="Write the file with index=False or rename the index")
        frame = frame.reset_index(level=None if len(names) == frame.index.nlevels else names)
        if frame.index.nlevels > 1 or not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index(drop=True)
    elif not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index(drop=True)
    return _Loaded(frame, "parquet", str(path))


def _read_stat(path: Path, fmt: str, encoding: str | None) -> _Loaded:
    import pyreadstat

    _read_bytes(path)
    try:
        if fmt == "sav":
            frame, meta = pyreadstat.read_sav(str(path), user_missing=True, encoding=encoding)
        else:
            frame, meta = pyreadstat.read_dta(str(path), encoding=encoding)
    except Exception as err:  # noqa: BLE001 - pyreadstat raises its own and OSError/ValueError
        raise UndecodableFileError(
            f"cannot read the file as {'SPSS' if fmt == 'sav' else 'Stata'} data "
            f"({type(err).__name__}: {err})", file=str(path)) from None
    if len(frame) == 0:
        raise EmptyFileError("file has no data rows", file=str(path))
    variables = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    values = {k: dict(v) for k, v in (getattr(meta, "variable_value_labels", None) or {}).items()}
    missing: dict[str, list] = {}
    for col, codes in (getattr(meta, "missing_user_values", None) or {}).items():
        missing.setdefault(col, []).extend(codes)
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        for rng in ranges:
            lo, hi = rng.get("lo"), rng.get("hi")
            entry = lo if lo == hi else (lo, hi)
            if entry not in missing.get(col, []):
                missing.setdefault(col, []).append(entry)
    return _Loaded(frame, fmt, str(path), Labels(variables, values, missing))


def _load(source, fmt, encoding, sep, text_columns=()) -> _Loaded:
    if isinstance(source, pd.DataFrame):
        if isinstance(source.columns, pd.MultiIndex):
            raise DataError("the DataFrame has multi-level column names",
                            expected="one level of column names")
        dup = source.columns[source.columns.duplicated()]
        if len(dup):
            raise DataError("duplicate column name", column=str(dup[0]),
                            expected="each column name once")
        if len(source) == 0:
            raise EmptyFileError("the DataFrame has no rows", expected="at least one response")
        return _Loaded(source.copy(), "dataframe", None,
                       Labels(variables=dict(source.attrs.get("variable_labels", {}) or {})))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        kind = _detect_format(path, fmt)
        if kind in ("csv", "tsv", "qualtrics"):
            return _read_text_table(path, kind, encoding, sep, text_columns)
        if kind == "parquet":
            return _read_parquet(path)
        return _read_stat(path, kind, encoding)
    raise ArgumentError("source must be a file path or a pandas DataFrame",
                        values=[type(source).__name__])


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _rows(mask: np.ndarray, rownum: np.ndarray) -> list[int]:
    return [int(r) for r in rownum[np.flatnonzero(mask)]]


def _shown(values: Iterable) -> list:
    out = []
    for v in values:
        if isinstance(v, float | np.floating) and float(v).is_integer():
            v = int(v)
        elif isinstance(v, np.generic):
            v = v.item()
        out.append(v)
    return out


def _exclusion_id(ids: pd.Series, pos: int):
    """An id for the exclusions table: as stored (text stays text, 1.0 in a mixed column stays
    1.0); whole numbers of a float column (SPSS/Stata numeric ids) shown as integers."""
    value = ids.iloc[pos]
    if pd.api.types.is_float_dtype(ids.dtype):
        return _shown([value])[0]
    return value.item() if isinstance(value, np.generic) else value


def _plain_ids(values: Iterable) -> list:
    """Ids as stored, numpy scalars made Python values (1.0 stays 1.0)."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values (NaN for blanks) and a mask of entries that are not numbers."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = np.full(len(series), np.nan)
        return values, np.array(series.notna(), dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        if pd.api.types.is_complex_dtype(dtype):
            return np.full(len(series), np.nan), np.array(series.notna(), dtype=bool)
        values = np.array(series.to_numpy(dtype="float64", na_value=np.nan), dtype=float)
        return values, np.zeros(len(series), bool)
    objects = series.astype(object).to_numpy()
    values = np.full(len(objects), np.nan)
    bad = np.zeros(len(objects), bool)
    for k, v in enumerate(objects):
        if v is None or v is pd.NA or v is pd.NaT:
            continue
        if isinstance(v, bool | np.bool_):
            bad[k] = True
        elif isinstance(v, numbers.Real | decimal.Decimal):
            try:
                f = float(v)
            except (ValueError, OverflowError):  # signalling NaN, ints beyond float range
                bad[k] = True
                continue
            if not math.isnan(f):
                values[k] = f
        elif isinstance(v, str):
            s = v.strip()
            if not s or s.lower() in ("nan", "na", "n/a", "null", "none", "#n/a"):
                continue
            if "_" in s:
                bad[k] = True
                continue
            try:
                values[k] = float(s)
            except ValueError:
                bad[k] = True
            else:
                if math.isnan(values[k]):
                    values[k] = np.nan
        else:
            bad[k] = True
    return values, bad


@dataclass
class _Problem:
    cls: type
    message: str
    kwargs: dict

    def build(self, file: str | None, extra: list[_Problem] | None = None) -> ConnectionPackageError:
        kwargs = dict(self.kwargs)
        if extra:
            by_message: dict[str, list[str]] = {}
            for p in extra:
                cols = by_message.setdefault(p.message, [])
                if p.kwargs.get("column") is not None:
                    cols.append(repr(p.kwargs["column"]))
            also = "; ".join(f"{', '.join(cols)}: {msg}" if cols else msg
                             for msg, cols in by_message.items())
            note = f"Also: {also}"
            kwargs["hint"] = f"{kwargs['hint']}. {note}" if kwargs.get("hint") else note
        return self.cls(self.message, file=file, **kwargs)


def _code_matches(values: np.ndarray, code) -> np.ndarray:
    if isinstance(code, tuple):
        lo, hi = code
        return (values >= float(lo)) & (values <= float(hi))
    try:
        return values == float(code)
    except (TypeError, ValueError):
        return np.zeros(len(values), bool)


# --------------------------------------------------------------------------------------------
# read_survey
# --------------------------------------------------------------------------------------------
@renamed_keywords(group_columns="group")
def read_survey(
    source: str | os.PathLike | pd.DataFrame,
    instrument: Instrument | None = None,
    *,
    id_column: str | None = None,
    group: str | Sequence[str] = (),
    attention_checks: Mapping[str, Any] | None = None,
    straightline: bool | Sequence[str] = False,
    constructs: str | Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    format: str | None = None,  # noqa: A002 - the natural name
    encoding: str | None = None,
    sep: str | None = None,
    check_variance: bool = True,
    exclude_unfinished: bool = False,
    warn: bool = True,
) -> Survey:
    """Read and validate survey responses against an instrument.

    Parameters
    ----------
    source
        A file path (``.csv``/``.tsv``/``.txt``, Qualtrics CSV export, ``.parquet``,
        ``.sav``/``.zsav``, ``.dta``) or a DataFrame. The file is only read. A directory of
        Parquet/CSV/TSV files (hidden files and names starting with ``_`` are not data) is
        checked lazily with Dask (``pip install connection[dask]``), one task per file: every
        check of one file, then the ids repeated across files and the variance over all files;
        the Survey's ``data`` and ``raw`` are then Dask DataFrames (one partition per file, read
        and checked again when computed), ``exclusions`` gains the ``file`` column, ``n``, the
        reports and ``survey.files`` (rows read and kept per file) are in memory.
    instrument
        The codebook; default :func:`connection.instruments.default`.
    id_column
        Column of respondent ids (must be unique and complete). For Qualtrics exports,
        ``ResponseId`` is used when not given. For a DataFrame, the index name may be given.
        Ids in CSV/TSV/Qualtrics files are read as text, exactly as written.
    group
        Grouping column(s) (e.g. segment); they must exist and have no missing values, and
        every item must vary within each group (see ``check_variance``). (Called
        ``group_columns`` before; that name works one more release, with a FutureWarning.)
    attention_checks
        ``{column: accepted}`` where accepted is a value, a list of values, or a function
        taking the column and returning a boolean Series (``True`` = passed). Respondents
        who fail (or skip) a check are excluded (reason ``attention_check``).
    straightline
        ``True`` (all constructs) or a list of construct names: exclude respondents who gave
        the same answer to every item of every block of items that share a scale (blocks with
        at least three answered items; judged on the answers as given, before reverse-coding).
        Reason ``straightline``.
    constructs
        Validate and keep only these constructs of the instrument (the others' columns may be
        absent); ``survey.instrument`` is then the subset.
    rename
        ``{column in file: item id}`` for data whose columns are named differently
        (e.g. Qualtrics ``Q5_1``).
    format
        Override the format detected from the suffix: ``csv``, ``tsv``, ``qualtrics``,
        ``parquet``, ``sav``, ``dta``. CSV files with Qualtrics' three header rows are
        recognised automatically.
    encoding, sep
        Text encoding (default UTF-8, with or without BOM; UTF-16 by BOM) and field separator
        (default: detected from the header among ``,``, tab and ``;``).
    check_variance
        Refuse items that do not vary (overall, and within each group of ``group``).
    exclude_unfinished
        Qualtrics exports only: also exclude responses with ``Finished`` = 0 (partial
        responses; reason ``qualtrics_unfinished``). By default they are kept, with their
        unanswered items missing.
    warn
        Issue an :class:`~connection.errors.ExclusionWarning` when respondents are excluded.

    Returns
    -------
    Survey

    Raises
    ------
    EmptyFileError, UndecodableFileError, UnsupportedFormatError, MissingColumnError,
    NonNumericError, OutOfRangeError, DuplicateIdError, NoVarianceError, QualtricsExportError,
    DataError
        Each names the file, column, rows and values concerned.

    Notes
    -----
    Order of work: read (refusing rows with more or fewer fields than the header); drop Qualtrics
    preview and test responses (``Status`` 1, 2, 9, 17 or ``DistributionChannel``
    ``preview``/``test``); apply the missing codes of the codebook's ``variables`` and check
    their values; check ids and groups; check each item
    (numeric, on its scale or a missing-value code: the instrument's codes and, for SPSS files,
    the user-missing codes declared in the file); turn missing codes into ``NaN``; exclude
    attention-check failures and straight-liners; check variance; reverse-code.
    """
    result, problems = _read_survey(
        source, instrument, id_column=id_column, group=group,
        attention_checks=attention_checks, straightline=straightline, constructs=constructs,
        rename=rename, fmt=format, encoding=encoding, sep=sep, check_variance=check_variance,
        exclude_unfinished=exclude_unfinished, warn=warn)
    if problems:
        file = result if isinstance(result, str) else None
        raise problems[0].build(file, problems[1:])
    return result


@renamed_keywords(group_columns="group")
def check_survey(
    source: str | os.PathLike | pd.DataFrame,
    instrument: Instrument | None = None,
    *,
    id_column: str | None = None,
    group: str | Sequence[str] = (),
    attention_checks: Mapping[str, Any] | None = None,
    straightline: bool | Sequence[str] = False,
    constructs: str | Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    format: str | None = None,  # noqa: A002 - the natural name
    encoding: str | None = None,
    sep: str | None = None,
    check_variance: bool = True,
    exclude_unfinished: bool = False,
    warn: bool = False,
) -> pd.DataFrame:
    """Every problem :func:`read_survey` would raise, as a table, instead of the first one.

    Takes the same arguments as :func:`read_survey` (``warn`` is off by default here). Problems
    with the file itself (empty, undecodable, unsupported) are one row; otherwise all column,
    id, group, value and variance problems are listed. An empty table means ``read_survey``
    would succeed.

    Returns
    -------
    DataFrame with columns ``problem`` (the error class ``read_survey`` raises), ``column``,
    ``n_rows``, ``rows`` (1-based data rows), ``values`` and ``message``.

    Examples
    --------
    >>> import pandas as pd
    >>> from connection import instruments
    >>> inst = instruments.default().subset("loyalty")
    >>> frame = pd.DataFrame({"loy_stay": [1, 7, 3, 4], "loy_switch": ["2", "x", "3", "4"]})
    >>> check_survey(frame, inst)[["problem", "column", "rows", "values"]].values.tolist()
    [['OutOfRangeError', 'loy_stay', [2], [7]], ['NonNumericError', 'loy_switch', [2], ['x']]]
    """
    try:
        result, problems = _read_survey(
            source, instrument, id_column=id_column, group=group,
            attention_checks=attention_checks, straightline=straightline, constructs=constructs,
            rename=rename, fmt=format, encoding=encoding, sep=sep, check_variance=check_variance,
            exclude_unfinished=exclude_unfinished, warn=warn)
    except DataError as err:  # the file itself (empty, undecodable, ...): nothing more to check
        errors = [err]
    else:
        file = result if isinstance(result, str) else None
        errors = [p.build(file) for p in problems]
    return pd.DataFrame({
        "problem": pd.Series([type(e).__name__ for e in errors], dtype=object),
        "column": pd.Series([e.column for e in errors], dtype=object),
        "n_rows": pd.Series([len(e.rows) if e.rows else 0 for e in errors], dtype="int64"),
        "rows": pd.Series([list(e.rows or []) for e in errors], dtype=object),
        "values": pd.Series([list(e.values or []) for e in errors], dtype=object),
        "message": pd.Series([str(e) for e in errors], dtype=object),
    })


def _read_survey(source, instrument, *, id_column=None, group=(), attention_checks=None,
                 straightline=False, constructs=None, rename=None, fmt=None, encoding=None,
                 sep=None, check_variance=True, exclude_unfinished=False, warn=True):
    """Read and check; returns ``(Survey, [])``, or ``(file, problems)`` when there are any.

    Problems that stop the reading (unreadable or empty file, bad arguments) are raised
    directly. Each step below reads and adds to one :class:`_ReadState`, in this order.
    """
    instrument = _resolve_instrument(instrument, constructs)
    options = dict(id_column=id_column, group=group, attention_checks=attention_checks,
                   straightline=straightline, rename=rename, fmt=fmt, encoding=encoding, sep=sep,
                   exclude_unfinished=exclude_unfinished)
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        return _read_directory(Path(source), instrument, options, check_variance, warn)
    state = _checked_state(source, instrument, **options)
    if not _check_someone_left(state):
        return state.file, state.problems
    if check_variance:                                   # 8. variance
        state.problems.extend(_check_variance(state.instrument, state.clean, state.work,
                                              state.keep, state.group))
    if state.problems:
        return state.file, state.problems
    return _build_survey(state, warn), []                # 9. the analysed data


def _checked_state(source, instrument: Instrument, *, id_column, group, attention_checks,
                   straightline, rename, fmt, encoding, sep, exclude_unfinished) -> _ReadState:
    """Steps 1 to 7b of :func:`read_survey` (all but the variance) on one source."""
    state = _load_state(source, instrument, id_column=id_column, group=group, rename=rename,
                        fmt=fmt, encoding=encoding, sep=sep)
    _exclude_qualtrics(state, exclude_unfinished)        # 1. previews, tests (unfinished)
    _check_columns(state, attention_checks)              # 2. columns that must exist
    _check_variables(state)                              # 2b. the codebook's variables
    _check_ids(state)                                    # 3. ids
    _check_groups(state)                                 # 4. groups
    _check_items(state)                                  # 5. items
    _exclude_attention(state, attention_checks)          # 6. attention checks
    _exclude_straightliners(state, straightline)         # 7. straight-lining
    _check_weights(state)                                # 7b. the survey weight
    return state


# --------------------------------------------------------------------------------------------
# the steps of read_survey
# --------------------------------------------------------------------------------------------
@dataclass
class _ReadState:
    """What the steps of :func:`read_survey` share: the data being checked and what they found.

    ``keep`` marks the respondents not (yet) excluded; ``excluded`` maps a row position to its
    ``(reason, detail)``; ``problems`` collects what would be raised. ``clean`` holds the item
    columns that passed their checks, as floats with missing codes turned into ``NaN``.
    """

    instrument: Instrument
    loaded: _Loaded
    raw: pd.DataFrame
    work: pd.DataFrame
    id_column: str | None = None
    group: list[str] = field(default_factory=list)
    keep: np.ndarray = field(init=False)
    rownum: np.ndarray = field(init=False)
    problems: list[_Problem] = field(default_factory=list)
    excluded: dict[int, tuple[str, str]] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)           # named columns not in the data
    missing_items: list[str] = field(default_factory=list)  # item columns not in the data
    ids: pd.Series | None = None
    clean: dict[str, np.ndarray] = field(default_factory=dict)
    missing_rows: list[dict] = field(default_factory=list)
    variable_rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keep = np.ones(self.n_read, bool)
        self.rownum = np.arange(1, self.n_read + 1)

    @property
    def file(self) -> str | None:
        return self.loaded.file

    @property
    def fmt(self) -> str:
        return self.loaded.fmt

    @property
    def n_read(self) -> int:
        return len(self.work)

    def exclude(self, mask: np.ndarray, reason: str, detail: Callable[[int], str] | str) -> None:
        """Exclude the kept respondents of ``mask`` for ``reason`` (a detail per position)."""
        for pos in np.flatnonzero(mask & self.keep):
            self.excluded[int(pos)] = (reason, detail(int(pos)) if callable(detail) else detail)
        self.keep[mask] = False

    def problem(self, cls: type, message: str, **kwargs: Any) -> None:
        self.problems.append(_Problem(cls, message, kwargs))

    def rows(self, mask: np.ndarray) -> list[int]:
        return _rows(mask, self.rownum)


def _resolve_instrument(instrument: Instrument | None, constructs) -> Instrument:
    """The instrument given (default: the package's), restricted to ``constructs``."""
    if instrument is None:
        from connection import instruments

        instrument = instruments.default()
    if not isinstance(instrument, Instrument):
        raise ArgumentError("instrument must be an Instrument",
                            values=[type(instrument).__name__],
                            hint="Load one with Instrument.from_file(path) or instruments.default()")
    if constructs is not None:
        instrument = instrument.subset(constructs)
    return instrument


def _load_state(source, instrument: Instrument, *, id_column, group, rename, fmt, encoding,
                sep) -> _ReadState:
    """Read the source (ids as text from text files), rename its columns, take an id from a
    DataFrame's index or a Qualtrics export's ``ResponseId``."""
    group = [group] if isinstance(group, str) else list(group)
    # the id column is read as text from text formats (named as in the file, before renaming)
    id_in_file = id_column
    for before, after in (rename or {}).items():
        if after == id_column:
            id_in_file = before
    text_columns = [c for c in (id_in_file, "ResponseId") if isinstance(c, str)]
    loaded = _load(source, fmt, encoding, sep, text_columns)
    raw = loaded.frame
    work = _renamed(raw, rename, loaded.file)
    if (id_column is not None and id_column not in work.columns
            and isinstance(source, pd.DataFrame) and work.index.name == id_column):
        work = work.reset_index()
        raw = raw.reset_index()
    if id_column is None and loaded.fmt == "qualtrics" and "ResponseId" in work.columns:
        id_column = "ResponseId"
    return _ReadState(instrument, loaded, raw, work, id_column, group)


def _renamed(raw: pd.DataFrame, rename: Mapping[str, str] | None, file: str | None) -> pd.DataFrame:
    if not rename:
        return raw
    missing = [c for c in rename if c not in raw.columns]
    if missing:
        raise MissingColumnError("rename names a column that is not in the data", file=file,
                                 column=str(missing[0]), values=missing,
                                 hint=_close_hint(missing[0], raw.columns))
    work = raw.rename(columns=dict(rename))
    dup = work.columns[work.columns.duplicated()]
    if len(dup):
        raise DataError("rename gives two columns the same name", file=file,
                        column=str(dup[0]), expected="distinct names after renaming")
    return work


def _exclude_qualtrics(state: _ReadState, exclude_unfinished: bool) -> None:
    """Step 1: exclude Qualtrics previews and tests (and, when asked, unfinished responses)."""
    if state.fmt != "qualtrics":
        if exclude_unfinished:
            raise ArgumentError("exclude_unfinished applies to Qualtrics exports only",
                                values=[state.fmt], hint="Use attention_checks={'Finished': 1} "
                                "or filter the DataFrame first")
        return
    work, n_read = state.work, state.n_read
    status = work["Status"] if "Status" in work.columns else pd.Series([None] * n_read)
    channel = (work["DistributionChannel"] if "DistributionChannel" in work.columns
               else pd.Series([None] * n_read))
    norm = [_norm_status(v) for v in status]
    chan = [str(v).strip().lower() if isinstance(v, str) else None for v in channel]
    preview = np.array([s in _QUALTRICS_PREVIEW or c == "preview" for s, c in zip(norm, chan)])
    test = np.array([s in _QUALTRICS_TEST or c == "test" for s, c in zip(norm, chan)])
    state.exclude(preview, "qualtrics_preview", "Qualtrics survey preview response")
    state.exclude(test, "qualtrics_test", "Qualtrics test response")
    if exclude_unfinished and "Finished" in work.columns:
        finished = [_norm_status(v) for v in work["Finished"]]
        unfinished = np.array([f in (0, "false") for f in finished])
        progress = work["Progress"].to_numpy(dtype=object) if "Progress" in work.columns else [
            None] * n_read
        state.exclude(unfinished, "qualtrics_unfinished",
                      lambda pos: f"unfinished response (Progress {progress[pos]})")


def _check_columns(state: _ReadState, attention_checks: Mapping | None) -> None:
    """Step 2: every item, the id, group and attention-check columns are in the data. An absent
    id or group column is reported once and left out of the later steps."""
    instrument, work = state.instrument, state.work
    state.missing_items = [c for c in instrument.item_ids() if c not in work.columns]
    if state.missing_items:
        needed = state.missing_items
        state.problem(MissingColumnError,
                      f"{len(needed)} item column(s) of instrument {instrument.name!r} are not in "
                      "the data", column=needed[0], values=needed,
                      expected="a column for every item id",
                      hint=_missing_hint(needed, work.columns, instrument))
    for role, cols in (("id column", [state.id_column] if state.id_column else []),
                       ("group column", state.group),
                       ("attention-check column", list(attention_checks or {}))):
        for col in cols:
            if col not in work.columns:
                state.absent.add(col)
                state.problem(MissingColumnError, f"{role} not in the data", column=str(col),
                              hint=_close_hint(col, work.columns))
    if state.id_column in state.absent:
        state.id_column = None
    state.group = [g for g in state.group if g not in state.absent]


def _check_variables(state: _ReadState) -> None:
    """Step 2b: declared variables (demographics, controls, weights, groups, ids): their
    missing-value codes (and codes the file declares as user-missing, SPSS) become NaN, their
    values are checked."""
    state.work, state.variable_rows = _apply_variables(
        state.instrument, state.work, state.loaded, state.keep, state.rownum, state.problems,
        state.id_column)


def _check_ids(state: _ReadState) -> None:
    """Step 3: every kept respondent has an id, ids are exact (no float beyond 2**53) and
    unique."""
    if state.id_column is None:
        return
    id_column, keep = state.id_column, state.keep
    ids = state.ids = state.work[id_column]
    blank = ids.isna().to_numpy() & keep
    if ids.dtype == object or pd.api.types.is_string_dtype(ids.dtype):
        blank |= ids.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool) & keep
    if blank.any():
        state.problem(DataError, "respondent id is missing", column=id_column,
                      rows=state.rows(blank), expected="an id on every row")
    if pd.api.types.is_float_dtype(ids.dtype):
        # a float cannot hold every whole number beyond 2**53: distinct ids may have become
        # the same number when the file was written
        big = (np.abs(ids.to_numpy(dtype=float, na_value=np.nan)) > 2.0 ** 53) & keep
        if big.any():
            state.problem(DataError, "respondent ids are stored as floating-point numbers too "
                          "large to be exact (beyond 2**53): distinct ids may have become equal",
                          column=id_column, rows=state.rows(big),
                          values=_shown(ids[big].head(10)),
                          expected="ids stored as text or as integers",
                          hint="Store the id column as text (a string variable) in the file")
    dup_mask = np.zeros(state.n_read, bool)
    present = keep & ~blank
    dup_mask[np.flatnonzero(present)] = ids[present].duplicated(keep=False).to_numpy()
    if dup_mask.any():
        _report_duplicate_ids(state, ids, dup_mask)


def _report_duplicate_ids(state: _ReadState, ids: pd.Series, dup_mask: np.ndarray) -> None:
    if ids.dtype == object:   # ids as stored: 1 and 1.0 are shown apart
        dvals = list({(type(v).__name__, repr(v)): v for v in _plain_ids(ids[dup_mask])}.values())
    else:
        dvals = list(dict.fromkeys(_shown(ids[dup_mask])))
    kinds = {type(v) for v in dvals}
    hint = None
    if len(kinds) > 1 and any(isinstance(v, numbers.Number) for v in dvals):
        hint = ("Ids of different types that are the same number (such as 1 and 1.0) "
                "count as the same id; store ids as text to keep them apart")
    state.problem(DuplicateIdError, "respondent ids repeat", column=state.id_column,
                  rows=state.rows(dup_mask), values=dvals, expected="each id once", hint=hint)


def _check_groups(state: _ReadState) -> None:
    """Step 4: every kept respondent has a label in each group column."""
    for col in state.group:
        blank = state.work[col].isna().to_numpy() & state.keep
        if blank.any():
            state.problem(GroupError, "group label is missing", column=col,
                          rows=state.rows(blank), expected="a group label on every row",
                          hint="Label these respondents (e.g. 'unknown') or drop them first")


def _check_items(state: _ReadState) -> None:
    """Step 5: each item present is numeric, on its scale or a missing-value code; the items
    that pass go into ``state.clean`` (codes turned into NaN)."""
    for col in state.instrument.item_ids():
        if col not in state.missing_items:
            _check_item(state, col)


def _check_item(state: _ReadState, col: str) -> None:
    item = state.instrument.items[col]
    keep = state.keep
    values, bad = _to_float(state.work[col])
    bad = bad & keep
    if bad.any():
        _report_text_in_item(state, col, bad)
        return
    declared = state.loaded.labels.missing.get(col, [])
    inside = [c for c in declared if _code_in_range(c, item.scale.min, item.scale.max)]
    if inside:
        # the rule the codebook applies to its own codes (see instrument._normalise_missing)
        state.problem(DataError, "the file declares a user-missing code inside the item's "
                      "answer scale", column=col, values=[_code_text(c) for c in inside],
                      expected=f"user-missing codes outside {_fmt(item.scale.min)}-"
                               f"{_fmt(item.scale.max)}",
                      hint="A code inside the scale would turn real answers into missing values. "
                           "Remove the declaration in the file (SPSS: MISSING VALUES "
                           f"{col} ().) or correct the item's scale in the codebook")
        return
    codes = list(item.missing) + [c for c in declared if c not in item.missing]
    is_code = np.zeros(state.n_read, bool)
    for code in codes:
        is_code |= _code_matches(values, code) & keep
    finite = ~np.isnan(values) & ~is_code & keep
    if not _item_values_on_scale(state, col, values, finite, codes):
        return
    cleaned = values.copy()
    cleaned[is_code] = np.nan
    state.clean[col] = cleaned
    state.missing_rows.append({"item": col, "_blank": np.isnan(values) & keep, "_codes": {
        c: _code_matches(values, c) & keep for c in codes}})


def _report_text_in_item(state: _ReadState, col: str, bad: np.ndarray) -> None:
    item = state.instrument.items[col]
    shown = _shown(state.work[col][bad].head(10))
    exp = f"numbers ({item.scale.expected()}) or a missing-value code"
    if state.fmt == "qualtrics":
        state.problem(QualtricsExportError,
                      "item column holds text: the export has choice text, not numeric values",
                      column=col, rows=state.rows(bad), values=shown, expected=exp,
                      hint="Export the data again from Qualtrics with 'Use numeric values' "
                           "(Data & Analysis > Export data > CSV > Use numeric values)")
        return
    labels = set(item.scale.labels.values()) | set(
        state.loaded.labels.values.get(col, {}).values())
    looks = any(isinstance(v, str) and v.strip() in labels for v in shown)
    state.problem(NonNumericError, "item column holds values that are not numbers", column=col,
                  rows=state.rows(bad), values=shown, expected=exp,
                  hint=("They look like answer labels: export numeric codes instead"
                        if looks else None))


def _item_values_on_scale(state: _ReadState, col: str, values: np.ndarray, finite: np.ndarray,
                          codes: list) -> bool:
    """Whether the answers (``finite``: not blank, not a code) lie on the item's scale (and are
    whole numbers on an integer scale); reports the first problem when not."""
    scale = state.instrument.items[col].scale
    off = finite & ((values < scale.min) | (values > scale.max) | np.isinf(values))
    if off.any():
        labelled = state.loaded.labels.values.get(col, {})
        named = {_fmt(float(v)): labelled.get(v) for v in np.unique(values[off])
                 if labelled.get(v) is not None}
        hint = None
        if named:
            hint = ("The file labels " + ", ".join(f"{k} {v!r}" for k, v in named.items())
                    + ": if these mean 'no answer', add them to the item's missing codes")
        state.problem(OutOfRangeError, "value outside the item's scale", column=col,
                      rows=state.rows(off), values=_shown(values[off][:10]),
                      expected=scale.expected() + _codes_text(codes), hint=hint)
        return False
    if scale.integer:
        frac = finite & (values != np.round(values))
        if frac.any():
            state.problem(OutOfRangeError, "value is not a whole number on an integer scale",
                          column=col, rows=state.rows(frac), values=_shown(values[frac][:10]),
                          expected=scale.expected() + _codes_text(codes))
            return False
    return True


def _exclude_attention(state: _ReadState, attention_checks: Mapping | None) -> None:
    """Step 6: exclude respondents who fail (or skip) an attention check."""
    for col, accepted in (attention_checks or {}).items():
        if col in state.absent:
            continue
        passed = _attention(state.work[col], accepted, col, state.file)
        failed = ~passed & state.keep
        answers = state.work[col].to_numpy(dtype=object)
        state.exclude(failed, "attention_check",
                      lambda pos, col=col, accepted=accepted, answers=answers:
                      f"{col}: answered {_answer_text(answers[pos])}, expected "
                      f"{_accepted_text(accepted)}")


def _exclude_straightliners(state: _ReadState, straightline) -> None:
    """Step 7: exclude respondents who gave one answer throughout every block of at least three
    answered items sharing a scale (of the constructs asked for)."""
    if not straightline:
        return
    instrument, clean, n_read = state.instrument, state.clean, state.n_read
    names = list(instrument.constructs) if straightline is True else (
        [straightline] if isinstance(straightline, str) else list(straightline))
    sub = instrument.subset(names)
    blocks: dict[tuple, list[str]] = {}
    for item in sub.items.values():
        if item.id not in clean:  # a column with problems (already reported)
            continue
        blocks.setdefault((item.scale.min, item.scale.max, item.scale.integer), []).append(item.id)
    flagged = np.ones(n_read, bool)
    any_block = np.zeros(n_read, bool)
    described: list[list[str]] = [[] for _ in range(n_read)]
    for (lo, hi, _), cols in blocks.items():
        if len(cols) < 3:
            continue
        mat = np.column_stack([clean[c] for c in cols])
        answered = (~np.isnan(mat)).sum(axis=1)
        usable = answered >= 3
        with np.errstate(all="ignore"):
            same = np.nanmax(np.where(usable[:, None], mat, 0), axis=1) == np.nanmin(
                np.where(usable[:, None], mat, 0), axis=1)
        block_same = usable & same
        flagged &= block_same | ~usable
        any_block |= usable
        for pos in np.flatnonzero(block_same):
            value = np.nanmin(mat[pos])
            described[pos].append(f"{_fmt(float(value))} on all {answered[pos]} "
                                  f"{_fmt(lo)}-{_fmt(hi)} items")
    flagged &= any_block
    state.exclude(flagged, "straightline",
                  lambda pos: "same answer throughout: " + "; ".join(described[pos]))


def _check_weights(state: _ReadState) -> None:
    """Step 7b: the codebook's survey weight (``weights:``) is in the data and, for every
    analysed respondent, a finite number above 0 (after its missing codes were applied: a coded
    or blank weight is a missing weight). Problems already found in the column (text, a value
    outside the variable's range) are not repeated."""
    col = state.instrument.weights
    if col is None:
        return
    todo = ("Every analysed respondent needs a weight above 0: correct the weights, exclude "
            "these respondents before reading, or remove weights: from the codebook for an "
            "unweighted analysis")
    if col not in state.work.columns:
        state.problem(MissingColumnError, "the survey weight named by the codebook (weights:) "
                      "is not in the data", column=col, hint=_close_hint(col, state.work.columns))
        return
    if any(p.kwargs.get("column") == col for p in state.problems):
        return
    values, bad = _to_float(state.work[col])
    keep = state.keep
    missing = (np.isnan(values) & ~bad | bad) & keep
    if missing.any():
        state.problem(DataError, "survey weight is missing", column=col,
                      rows=state.rows(missing), expected="a finite number above 0", hint=todo)
    off = ~np.isnan(values) & ~bad & keep & ~(np.isfinite(values) & (values > 0))
    if off.any():
        state.problem(OutOfRangeError, "survey weight is not a finite number above 0",
                      column=col, rows=state.rows(off), values=_shown(values[off][:10]),
                      expected="a finite number above 0", hint=todo)


def _check_someone_left(state: _ReadState) -> bool:
    """Whether any respondent remains after the exclusions; reports the problem when not."""
    if state.keep.any():
        return True
    counts = pd.Series([r for r, _ in state.excluded.values()]).value_counts()
    state.problem(EmptyFileError, "no responses remain after exclusions (" + ", ".join(
        f"{n} {r}" for r, n in counts.items()) + ")",
        expected="at least one response that is kept")
    return False


def _build_survey(state: _ReadState, warn: bool) -> Survey:
    """Step 9: the analysed data (items as floats, reverse-coded; other columns as read), the
    exclusions table and the reports; an ExclusionWarning when respondents were excluded."""
    instrument, keep = state.instrument, state.keep
    kept_pos = np.flatnonzero(keep)
    data = state.work.iloc[kept_pos].copy()
    for col in instrument.item_ids():
        values = state.clean[col][kept_pos]
        item = instrument.items[col]
        data[col] = item.scale.reverse(values) if item.reverse else values
    exclusions = _exclusions_table(state)
    if warn and len(exclusions):
        counts = exclusions["reason"].value_counts()
        _common.warn(
            f"{len(exclusions)} of {state.n_read} responses excluded ("
            + ", ".join(f"{n} {r}" for r, n in counts.items())
            + "); see survey.exclusions", ExclusionWarning)
    return Survey(
        data=data, instrument=instrument, raw=state.raw, exclusions=exclusions,
        source=state.file if state.file is not None else "<DataFrame>", format=state.fmt,
        labels=state.loaded.labels, id_column=state.id_column, group=tuple(state.group),
        missing=_missing_report(instrument, state.missing_rows, keep, state.clean),
        n_read=state.n_read, variables=_variables_report(state.variable_rows, keep),
        weights=instrument.weights)


def _exclusions_table(state: _ReadState) -> pd.DataFrame:
    rows = sorted(state.excluded)
    ids = state.ids
    return pd.DataFrame({
        "row": pd.Series([int(state.rownum[p]) for p in rows], dtype="int64"),
        "id": pd.Series([_exclusion_id(ids, p) for p in rows] if ids is not None
                        else [None] * len(rows), dtype=object),
        "reason": pd.Series([state.excluded[p][0] for p in rows], dtype=object),
        "detail": pd.Series([state.excluded[p][1] for p in rows], dtype=object),
    })


def _apply_variables(instrument, work, loaded, keep, rownum, problems, id_column=None):
    """Missing codes of the codebook's variables (and SPSS user-missing codes of columns that are
    not items) to NaN; check declared types, ranges and categories. Returns the new frame and
    one record per column treated (for :meth:`Survey.variables_report`)."""
    from connection.data._instrument import Variable, _value_key

    declared = loaded.labels.missing
    items = set(instrument.items)
    columns = [c for c in work.columns if c not in items]
    records = []
    changed: dict[str, pd.Series] = {}
    for col in columns:
        var = instrument.variables.get(col) if isinstance(col, str) else None
        file_codes = [] if col not in declared else list(declared[col])
        if var is None and not file_codes:
            continue
        in_codebook = var is not None
        if var is None:   # a column the file declares user-missing codes for: apply them
            var = Variable(str(col), "numeric" if pd.api.types.is_numeric_dtype(work[col].dtype)
                           else "categorical")
        series = work[col]
        objects = series.to_numpy(dtype=object)
        blank = np.array([v is None or v is pd.NA or v is pd.NaT
                          or (isinstance(v, float) and math.isnan(v))
                          or (isinstance(v, str) and not v.strip()) for v in objects], bool)
        lo, hi = var.min, var.max
        inside = [c for c in file_codes if (lo is not None or hi is not None) and _code_in_range(
            c, -math.inf if lo is None else lo, math.inf if hi is None else hi)]
        inside += [c for c in file_codes if not isinstance(c, tuple) and var.values is not None
                   and _value_key(c) in {_value_key(v) for v in var.values}]
        if inside:
            problems.append(_Problem(DataError, "the file declares a user-missing code inside the "
                "variable's valid values", dict(
                    column=str(col), values=[_code_text(c) for c in inside],
                    expected="user-missing codes outside " + var.expected().split(" or ")[0],
                    hint="A code among the valid values would turn real answers into missing "
                         "values; remove the declaration in the file or correct the codebook")))
            continue
        codes = list(var.missing) + [c for c in file_codes if c not in var.missing]
        numbers_ = np.full(len(objects), np.nan)
        if var.type == "numeric":
            numbers_, bad = _to_float(series)
            bad = bad & keep
            # text codes cannot occur in a numeric variable (the codebook refuses them)
            if bad.any():
                problems.append(_Problem(NonNumericError, "variable holds values that are not "
                    "numbers", dict(column=str(col), rows=_rows(bad, rownum),
                                    values=_shown(series[bad].head(10)), expected=var.expected(),
                                    hint=f"The codebook declares {col!r} numeric; declare it "
                                         "categorical or text, or recode these values")))
                continue
        else:
            for k, v in enumerate(objects):
                if not blank[k] and not isinstance(v, str) and isinstance(v, numbers.Real):
                    numbers_[k] = float(v)
                elif isinstance(v, str):
                    try:
                        numbers_[k] = float(v.strip())
                    except ValueError:
                        pass
        keys = [None if blank[k] else _value_key(v) for k, v in enumerate(objects)]
        counts = {}
        is_code = np.zeros(len(objects), bool)
        for code in codes:
            if isinstance(code, tuple):
                m = _code_matches(numbers_, code)
            else:
                key = _value_key(code)
                m = np.array([k == key for k in keys], bool)
            m &= ~blank
            is_code |= m
            counts[code] = m
        present = ~blank & ~is_code & keep
        off = np.array([present[k] and var.check_value(v) == "off"
                        for k, v in enumerate(objects)], bool)
        if off.any():
            problems.append(_Problem(OutOfRangeError, f"value not valid for {var.type} variable "
                f"{col!r} as the codebook declares it", dict(
                    column=str(col), rows=_rows(off, rownum),
                    values=_shown(series[off].head(10)), expected=var.expected(),
                    hint="Add the value to the variable's values or range, or to its missing "
                         "codes if it means 'no answer'")))
            continue
        gone = is_code | (blank if in_codebook else False)   # blank text of a declared variable
        if var.type == "numeric" and col != id_column and (  # ids keep their stored form
                is_code.any() or not pd.api.types.is_numeric_dtype(series.dtype)):
            changed[col] = pd.Series(np.where(gone, np.nan, numbers_), index=series.index,
                                     name=series.name)
        elif gone.any() and not series[gone].isna().all():
            changed[col] = series.mask(pd.Series(gone, index=series.index))
        records.append({"variable": str(col), "type": var.type, "role": var.role,
                        "_blank": blank, "_codes": counts})
    if changed:
        work = work.copy()
        for col, values in changed.items():
            work[col] = values
    return work, records


def _variables_report(records, keep) -> pd.DataFrame:
    n = int(keep.sum())
    rows = []
    for r in records:
        n_blank = int((r["_blank"] & keep).sum())
        codes = {c: int((m & keep).sum()) for c, m in r["_codes"].items()}
        n_coded = sum(codes.values())
        rows.append({"variable": r["variable"], "type": r["type"], "role": r["role"], "n": n,
                     "n_missing": n_blank + n_coded, "n_blank": n_blank, "n_coded": n_coded,
                     "codes": ", ".join(f"{_code_text(c)}: {k}" for c, k in codes.items() if k)})
    return pd.DataFrame(rows, columns=["variable", "type", "role", "n", "n_missing", "n_blank",
                                       "n_coded", "codes"])


def _norm_status(value):
    if isinstance(value, str):
        s = value.strip().lower()
        try:
            number = float(s)
        except ValueError:
            return s
        return int(number) if math.isfinite(number) else s
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def _code_in_range(code, lo, hi) -> bool:
    """Whether a missing code (a value or a ``(lo, hi)`` range) touches ``lo..hi``."""
    try:
        if isinstance(code, tuple):
            return float(code[0]) <= hi and float(code[1]) >= lo
        return lo <= float(code) <= hi
    except (TypeError, ValueError):
        return False


def _code_text(code) -> str:
    return f"{_fmt(code[0])}..{_fmt(code[1])}" if isinstance(code, tuple) else _fmt(code)


def _codes_text(codes: Sequence) -> str:
    if not codes:
        return ""
    shown = ", ".join(f"{_fmt(c[0])}..{_fmt(c[1])}" if isinstance(c, tuple) else _fmt(c)
                      for c in codes)
    return f", or a missing-value code ({shown})"


def _close_hint(name, columns) -> str | None:
    close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _missing_hint(missing: list[str], columns, instrument: Instrument) -> str:
    lowered = {str(c).lower(): str(c) for c in columns}
    case = {lowered[m.lower()]: m for m in missing if m.lower() in lowered}
    parts = []
    if case:
        shown = ", ".join(f"{k!r}: {v!r}" for k, v in list(case.items())[:5])
        parts.append(f"Some columns differ only in case: pass rename={{{shown}}}")
    else:
        close = _close_hint(missing[0], columns)
        if close:
            parts.append(f"For {missing[0]!r}, {close}")
    constructs = sorted({instrument.construct_of(m) for m in missing})
    parts.append(("M" if not parts else "m") + "ap file columns to item ids with "
                 f"rename={{'Q5_1': {missing[0]!r}, ...}}, or read only the constructs the "
                 f"survey asked with constructs=[...] (the missing items belong to: "
                 f"{', '.join(constructs)})")
    return "; ".join(parts)


def _attention(series: pd.Series, accepted, col: str, file: str | None) -> np.ndarray:
    if callable(accepted):
        try:
            result = accepted(series)
        except ConnectionPackageError:
            raise
        except Exception as err:  # noqa: BLE001 - user callback
            raise ArgumentError(f"attention check function failed ({type(err).__name__}: {err})",
                                file=file, column=col) from None
        mask = np.asarray(result)
        if mask.shape != (len(series),) or mask.dtype != bool:
            raise ArgumentError("attention check function must return one True/False per row",
                                file=file, column=col, values=[getattr(mask, "shape", None)])
        return mask
    options = list(accepted) if isinstance(accepted, list | tuple | set | frozenset) else [accepted]
    if all(isinstance(o, numbers.Real) and not isinstance(o, bool) for o in options):
        values, _ = _to_float(series)
        return np.isin(values, np.asarray(options, dtype=float))
    text = series.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                      else str(v).strip())
    wanted = {str(o).strip() for o in options}
    return text.map(lambda v: v in wanted).to_numpy(bool)


def _answer_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "nothing"
    return repr(_shown([value])[0])


def _accepted_text(accepted) -> str:
    if callable(accepted):
        return "a pass of the check function"
    if isinstance(accepted, list | tuple | set | frozenset):
        return "one of " + ", ".join(repr(v) for v in accepted)
    return repr(accepted)


def _check_variance(instrument, clean, work, keep, group) -> list[_Problem]:
    problems = []
    for col in instrument.item_ids():
        if col not in clean:  # a column with problems (already reported)
            continue
        v = clean[col][keep]
        answered = v[~np.isnan(v)]
        if len(answered) == 0:
            problems.append(_Problem(NoVarianceError, "item has no answers: every value is "
                                     "missing", dict(column=col, expected="some answers",
                                                     hint="If the survey did not ask it, read "
                                                     "only the constructs it did ask with "
                                                     "constructs=[...]")))
            continue
        if np.all(answered == answered[0]):
            problems.append(_Problem(NoVarianceError, "item has no variance: every respondent "
                                     "gave the same answer", dict(
                                         column=col, values=_shown([answered[0]]),
                                         expected="answers that vary",
                                         hint="Drop the item (constructs=...) or check the export")))
            continue
        for gcol in group:
            labels = work[gcol].to_numpy(dtype=object)[keep]
            for g in pd.unique(labels):
                gv = v[labels == g]
                gv = gv[~np.isnan(gv)]
                if len(gv) >= 2 and np.all(gv == gv[0]):
                    problems.append(_Problem(NoVarianceError,
                        f"item has no variance in group {_shown([g])[0]!r} of {gcol!r} "
                        f"({len(gv)} answers, all the same)", dict(
                            column=col, values=_shown([gv[0]]), expected="answers that vary "
                            "within each group", hint="Pass check_variance=False to read anyway "
                            "(group comparisons of this item will fail)")))
                    break
    return problems


def _missing_report(instrument, missing_rows, keep, clean) -> pd.DataFrame:
    n = int(keep.sum())
    rows = []
    for entry in missing_rows:
        col = entry["item"]
        n_blank = int(entry["_blank"].sum())
        codes = {c: int(m.sum()) for c, m in entry["_codes"].items()}
        n_coded = sum(codes.values())
        n_missing = int(np.isnan(clean[col][keep]).sum())
        rows.append({
            "construct": instrument.construct_of(col), "item": col, "n": n,
            "n_answered": n - n_missing, "n_missing": n_missing, "n_blank": n_blank,
            "n_coded": n_coded, "pct_missing": 100.0 * n_missing / n if n else float("nan"),
            "codes": ", ".join(f"{_fmt(c) if not isinstance(c, tuple) else f'{_fmt(c[0])}..{_fmt(c[1])}'}"
                               f": {k}" for c, k in codes.items() if k),
        })
    return pd.DataFrame(rows, columns=["construct", "item", "n", "n_answered", "n_missing",
                                       "n_blank", "n_coded", "pct_missing", "codes"])


# --------------------------------------------------------------------------------------------
# a directory of files, validated lazily (issue 18)
# --------------------------------------------------------------------------------------------
_DIRECTORY_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt")


def _directory_files(path: Path, fmt: str | None) -> list[Path]:
    """The data files of a directory, sorted by name. Hidden files and names starting with
    ``_`` (``_SUCCESS``, ``_metadata`` of Spark/Dask writers) are not data; any other file
    that is not Parquet/CSV/TSV is an error (nothing is passed over unseen)."""
    files, odd = [], []
    for p in sorted(path.iterdir()):
        if p.name.startswith((".", "_")) or p.is_dir():
            continue
        (files if fmt is not None or p.suffix.lower() in _DIRECTORY_SUFFIXES else odd).append(p)
    if odd:
        raise UnsupportedFormatError(
            "the directory holds files that are not Parquet, CSV or TSV", file=str(path),
            values=[p.name for p in odd[:10]], expected="only .parquet, .csv, .tsv, .txt files",
            hint="Move the other files out of the directory, or pass format=... to read every "
                 "file in one format")
    if not files:
        raise EmptyFileError("the directory holds no Parquet, CSV or TSV files", file=str(path),
                             expected="one or more data files")
    return files


@dataclass
class _FileProblem(_Problem):
    """A problem found in one file of a directory (or across its files: ``file`` the
    directory); ``raised`` a file-level error (empty, undecodable) kept as it was raised."""

    file: str | None = None
    raised: Exception | None = None

    def build(self, file, extra=None):
        if self.raised is not None:
            return self.raised
        return super().build(self.file, extra)


def _item_ranges(state: _ReadState) -> dict:
    """``{(group column, label, item): (answers, min, max)}`` over the kept respondents (the
    label ``None``: every respondent): what the variance check needs, merged across files."""
    out = {}
    keep = state.keep
    for col, values in state.clean.items():
        v = values[keep]
        parts = [(None, None, v)]
        for gcol in state.group:
            labels = state.work[gcol].to_numpy(dtype=object)[keep]
            parts += [(gcol, g, v[labels == g]) for g in pd.unique(labels)]
        for gcol, g, x in parts:
            x = x[~np.isnan(x)]
            out[(gcol, g, col)] = (len(x), float(x.min()) if len(x) else np.nan,
                                   float(x.max()) if len(x) else np.nan)
    return out


def _file_summary(file: Path, instrument: Instrument, options: dict) -> dict:
    """One file checked (steps 1 to 7b): its problems, exclusions, kept ids, item ranges,
    reports and the schema of its analysed rows; the rows themselves are not kept."""
    name = str(file)
    try:
        state = _checked_state(file, instrument, **options)
    except DataError as err:
        return {"file": name, "problems": [_FileProblem(type(err), str(err), {}, name, err)]}
    problems = [_FileProblem(p.cls, p.message, p.kwargs, name) for p in state.problems]
    out = {"file": name, "problems": problems, "n_read": state.n_read,
           "n_kept": int(state.keep.sum()), "fmt": state.fmt, "labels": state.loaded.labels,
           "id_column": state.id_column,
           "exclusions": _exclusions_table(state).assign(file=name),
           "ranges": _item_ranges(state), "raw_meta": state.raw.iloc[:0]}
    if state.id_column is not None and state.ids is not None:
        out["ids"] = pd.DataFrame({"id": state.ids[state.keep].to_numpy(dtype=object),
                                   "row": state.rownum[state.keep], "file": name})
    if not problems and out["n_kept"]:
        survey = _build_survey(state, warn=False)
        out["meta"] = survey._data.iloc[:0]
        out["missing"], out["variables"] = survey._missing, survey._variables
    return out


def _analysed_file(file: Path, instrument: Instrument, options: dict, meta: pd.DataFrame):
    """One partition of a directory's analysed data: the file read and checked again (the same
    steps), its kept respondents, in the directory's common column types."""
    state = _checked_state(file, instrument, **options)
    return _build_survey(state, warn=False)._data.astype(meta.dtypes.to_dict())


def _raw_file(file: Path, instrument: Instrument, options: dict, meta: pd.DataFrame):
    loaded = _load(file, options["fmt"], options["encoding"], options["sep"])
    return loaded.frame.astype(meta.dtypes.to_dict())


def _common_meta(metas: list[pd.DataFrame], files: list[str], what: str) -> pd.DataFrame:
    """The schema every file's frame is cast to: a column's type where the files agree, float
    where they differ among numbers, text otherwise. The files must have the same columns."""
    first = list(metas[0].columns)
    for m, f in zip(metas[1:], files[1:]):
        if list(m.columns) != first:
            extra = sorted(set(m.columns) ^ set(first), key=str)
            raise DataError(f"the files of the directory have different columns ({what})",
                            file=f, column=str(extra[0]) if extra else None, values=extra[:10],
                            expected=f"the columns of {Path(files[0]).name}, in that order",
                            hint="Give every file the same columns before reading the directory")
    dtypes = {}
    for col in first:
        kinds = {m[col].dtype for m in metas}
        if len(kinds) == 1:
            dtypes[col] = kinds.pop()
        elif all(pd.api.types.is_numeric_dtype(k) and not pd.api.types.is_bool_dtype(k)
                 for k in kinds):
            dtypes[col] = np.dtype(float)
        else:
            dtypes[col] = np.dtype(object)
    return metas[0].astype(dtypes)


def _across_files(summaries: list[dict], directory: str, group: list,
                  check_variance: bool) -> list[_FileProblem]:
    """What no single file can tell: ids repeated in two files, items that do not vary over
    all files (or within a group), no respondent left at all."""
    problems = []
    ids = [s["ids"] for s in summaries if "ids" in s]
    if ids:
        frame = pd.concat(ids, ignore_index=True)
        files_of = frame.groupby("id", sort=False)["file"].nunique()
        repeated = files_of[files_of > 1]
        if len(repeated):
            where = frame[frame["id"].isin(repeated.index)]
            problems.append(_FileProblem(DuplicateIdError, "respondent ids repeat across the "
                                         "files of the directory", dict(
                                             values=_shown(list(repeated.index[:10])),
                                             expected="each id once over all files",
                                             hint="In files " + ", ".join(sorted(
                                                 Path(f).name for f in where["file"].unique()))),
                                         directory))
    if sum(s["n_kept"] for s in summaries) == 0:
        problems.append(_FileProblem(EmptyFileError, "no responses remain after exclusions in "
                                     "any file of the directory", {}, directory))
    elif check_variance:
        problems += _variance_across_files(summaries, directory, group)
    return problems


def _variance_across_files(summaries: list[dict], directory: str, group: list) -> list:
    merged: dict = {}
    for s in summaries:
        for key, (n, lo, hi) in s["ranges"].items():
            m = merged.get(key, (0, np.inf, -np.inf))
            merged[key] = (m[0] + n, min(m[1], lo) if n else m[1], max(m[2], hi) if n else m[2])
    problems = []
    for (gcol, g, col), (n, lo, hi) in merged.items():
        if gcol is None and n == 0:
            problems.append(_FileProblem(NoVarianceError, "item has no answers: every value is "
                                         "missing", dict(column=col, expected="some answers"),
                                         directory))
        elif gcol is None and lo == hi:
            problems.append(_FileProblem(NoVarianceError, "item has no variance: every "
                                         "respondent gave the same answer", dict(
                                             column=col, values=_shown([lo]),
                                             expected="answers that vary"), directory))
        elif gcol is not None and n >= 2 and lo == hi and merged[(None, None, col)][1] < \
                merged[(None, None, col)][2]:
            problems.append(_FileProblem(NoVarianceError, f"item has no variance in group "
                                         f"{_shown([g])[0]!r} of {gcol!r} ({n} answers, all the "
                                         "same)", dict(column=col, values=_shown([lo]),
                                                       expected="answers that vary within each "
                                                       "group"), directory))
    return problems


def _merged_report(frames: list[pd.DataFrame], key: list[str], counts: list[str]) -> pd.DataFrame:
    """Per-file missing-value reports summed over the files (codes counted over all files)."""
    table = pd.concat(frames, ignore_index=True)
    rows = []
    for _, part in table.groupby(key, sort=False):
        row = part.iloc[0].to_dict()
        for c in counts:
            row[c] = int(part[c].sum())
        codes: dict[str, int] = {}
        for text in part["codes"]:
            for entry in filter(None, str(text).split(", ")):
                code, k = entry.rsplit(": ", 1)
                codes[code] = codes.get(code, 0) + int(k)
        row["codes"] = ", ".join(f"{c}: {k}" for c, k in codes.items() if k)
        rows.append(row)
    out = pd.DataFrame(rows, columns=table.columns)
    if "pct_missing" in out:
        out["pct_missing"] = 100.0 * out["n_missing"] / out["n"].where(out["n"] > 0)
    return out


def _map_files(fn, files: list[Path], *args) -> list:
    """``fn(file, *args)`` for every file, as Dask tasks (the scheduler in effect: threads by
    default, a distributed Client when one is active); at most the files in flight are held."""
    try:
        import dask
    except ImportError as err:
        raise ArgumentError("reading a directory of files needs dask",
                            hint="pip install 'connection[dask]' (or read one file)") from err
    return list(dask.compute(*[dask.delayed(fn, pure=False)(f, *args) for f in files]))


def _read_directory(path: Path, instrument: Instrument, options: dict, check_variance: bool,
                    warn: bool):
    """``read_survey`` of a directory: every file checked in a first, lazy pass (Dask tasks,
    one file each, nothing kept but the findings), the cross-file checks, then a Survey whose
    ``data`` and ``raw`` are Dask frames (one partition per file, read and checked again when
    computed) and whose exclusions, reports and ``n`` are in memory."""
    files = _directory_files(path, options["fmt"])
    summaries = _map_files(_file_summary, files, instrument, options)
    problems = [p for s in summaries for p in s["problems"]]
    if problems:
        return str(path), problems
    group = [options["group"]] if isinstance(options["group"], str) else list(options["group"])
    problems = _across_files(summaries, str(path), group, check_variance)
    if problems:
        return str(path), problems
    return _directory_survey(path, files, summaries, instrument, options, warn), []


def _directory_survey(path, files, summaries, instrument, options, warn) -> Survey:
    import dask
    import dask.dataframe as dd

    names = [s["file"] for s in summaries]
    used = [(f, s) for f, s in zip(files, summaries) if s["n_kept"]]
    meta = _common_meta([s["meta"] for _, s in used], [s["file"] for _, s in used], "analysed")
    raw_meta = _common_meta([s["raw_meta"] for s in summaries], names, "as read")
    data = dd.from_delayed([dask.delayed(_analysed_file, pure=True)(f, instrument, options, meta)
                            for f, _ in used], meta=meta)
    raw = dd.from_delayed([dask.delayed(_raw_file, pure=True)(f, instrument, options, raw_meta)
                           for f in files], meta=raw_meta)
    exclusions = pd.concat([s["exclusions"] for s in summaries], ignore_index=True)
    exclusions = exclusions[["file", "row", "id", "reason", "detail"]]
    n_read = sum(s["n_read"] for s in summaries)
    if warn and len(exclusions):
        counts = exclusions["reason"].value_counts()
        _common.warn(f"{len(exclusions)} of {n_read} responses excluded in {len(files)} files ("
                     + ", ".join(f"{n} {r}" for r, n in counts.items())
                     + "); see survey.exclusions", ExclusionWarning)
    fmts = {s["fmt"] for s in summaries}
    group = options["group"]
    survey = Survey(
        data=data, instrument=instrument, raw=raw, exclusions=exclusions, source=str(path),
        format=fmts.pop() if len(fmts) == 1 else "mixed", labels=summaries[0]["labels"],
        id_column=used[0][1]["id_column"], group=(group,) if isinstance(group, str) else tuple(group),
        missing=_merged_report([s["missing"] for _, s in used], ["item"],
                               ["n", "n_answered", "n_missing", "n_blank", "n_coded"]),
        n_read=n_read,
        variables=_merged_report([s["variables"] for _, s in used], ["variable"],
                                 ["n", "n_missing", "n_blank", "n_coded"]),
        weights=instrument.weights)
    survey._n = sum(s["n_kept"] for s in summaries)
    survey.files = pd.DataFrame({"file": names, "n_read": [s["n_read"] for s in summaries],
                                 "n_kept": [s["n_kept"] for s in summaries]})
    return survey


# --------------------------------------------------------------------------------------------
# Survey
# --------------------------------------------------------------------------------------------
class Survey:
    """Validated survey responses and the instrument that describes them.

    Made by :func:`read_survey`; not meant to be constructed directly.

    Attributes
    ----------
    data : pandas.DataFrame
        The analysed respondents: item columns as floats with missing codes turned into ``NaN``
        and reverse-keyed items reverse-coded; the codebook's ``variables`` with their missing
        codes (and blanks) turned into ``NaN`` (numeric ones as floats), as are codes a SPSS file
        declares user-missing; every other column as read (ids of text files as text). The index is that
        of :attr:`raw`, so ``survey.raw.loc[survey.data.index]`` gives the rows as read.
    raw : pandas.DataFrame
        The data as read (before renaming, exclusions and recoding).
    instrument : Instrument
    exclusions : pandas.DataFrame
        One row per excluded respondent: ``row`` (data row number in the file, from 1),
        ``id``, ``reason`` (``qualtrics_preview``, ``qualtrics_test``, ``qualtrics_unfinished``,
        ``attention_check``, ``straightline``) and ``detail``.
    source : str
        The file read, or ``"<DataFrame>"``.
    format : str
        ``csv``, ``tsv``, ``qualtrics``, ``parquet``, ``sav``, ``dta`` or ``dataframe``.
    labels : Labels
        Variable and value labels and declared user-missing codes from the file.
    id_column, group
        As passed to :func:`read_survey` (``ResponseId`` for Qualtrics by default; ``group``
        as a tuple of column names).
    n_read : int
        Rows read from the source.
    weights : pandas.Series or None
        The survey weight named by the codebook (``weights:``), aligned with :attr:`data`
        (checked by :func:`read_survey`: finite and above 0 for every analysed respondent);
        ``None`` when the codebook names none. Analyses given the survey use it unless told
        ``weights=None``.
    """

    def __init__(self, *, data: pd.DataFrame, instrument: Instrument, raw: pd.DataFrame,
                 exclusions: pd.DataFrame, source: str, format: str,  # noqa: A002
                 labels: Labels, id_column: str | None, group: tuple[str, ...],
                 missing: pd.DataFrame, n_read: int,
                 variables: pd.DataFrame | None = None, weights: str | None = None) -> None:
        self._variables = variables if variables is not None else _variables_report([], np.ones(
            len(data), bool))
        self._data = data
        self._raw = raw
        self._exclusions = exclusions
        self._missing = missing
        self.instrument = instrument
        self.source = source
        self.format = format
        self.labels = labels
        self.id_column = id_column
        self.group = tuple(group)
        self.n_read = int(n_read)
        self._weights = weights

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The old name of :attr:`group` (works one more release, with a FutureWarning)."""
        _common.warn("Survey.group_columns is renamed Survey.group; group_columns will stop "
                     "working in the next release", FutureWarning)
        return self.group

    # frames are handed out as shallow copies: with pandas copy-on-write, changing them never
    # changes the survey
    @property
    def data(self) -> pd.DataFrame:
        return self._data.copy(deep=False)

    @property
    def raw(self) -> pd.DataFrame:
        return self._raw.copy(deep=False)

    @property
    def exclusions(self) -> pd.DataFrame:
        return self._exclusions.copy(deep=False)

    @property
    def weights(self) -> pd.Series | None:
        """The survey weight (a float Series aligned with :attr:`data`, named after its
        column), or ``None`` when the codebook names none."""
        if self._weights is None:
            return None
        return self._data[self._weights].astype(float)

    @property
    def n(self) -> int:
        """Number of analysed respondents."""
        n = getattr(self, "_n", None)  # a directory's Dask data: counted when it was checked
        return len(self._data) if n is None else n

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (f"<Survey n={self.n} of {self.n_read} read, {len(self.instrument.items)} items, "
                f"{len(self._exclusions)} excluded, source={self.source!r}>")

    # -- access --------------------------------------------------------------------------------
    def items(self, construct: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Item columns (reverse-coded) of one construct, several, or all."""
        return self._data[self.instrument.item_ids(construct)].copy()

    def scores(self, construct: str | Sequence[str] | None = None, *, method: str = "mean",
               min_items: int | None = None) -> pd.Series | pd.DataFrame:
        """Observed (unit-weighted) construct scores.

        Parameters
        ----------
        construct
            A construct name (returns a Series named after it), a list, or ``None`` for all
            constructs (returns a DataFrame).
        method
            ``"mean"`` of the items, ``"sum"`` of the items, or ``"pomp"``: each item rescaled
            to 0-100 (percent of maximum possible) then averaged, which also works for
            constructs whose items use different scales. ``mean`` and ``sum`` refuse those.
        min_items
            Least number of answered items for a score; default all of the construct's items,
            so a respondent with any missing item gets ``NaN`` (nothing is filled in). With a
            smaller value, ``mean``/``pomp`` average the answered items and ``sum`` is the
            prorated sum (mean x number of items).
        """
        if method not in ("mean", "sum", "pomp"):
            raise ArgumentError("unknown scoring method", values=[method],
                                expected="'mean', 'sum' or 'pomp'")
        if construct is None or not isinstance(construct, str):
            names = self.instrument._construct_names(construct)
            return pd.DataFrame({n: self.scores(n, method=method, min_items=min_items)
                                 for n in names})
        cons = self.instrument.constructs.get(construct)
        if cons is None:
            self.instrument._construct_names(construct)  # raises with the names that exist
        frame = self._data[cons.item_ids].astype(float)
        k = len(cons.items)
        if min_items is not None and (isinstance(min_items, bool)
                                      or not isinstance(min_items, numbers.Integral)):
            raise ArgumentError("min_items must be a whole number of items", values=[min_items],
                                expected=f"an integer from 1 to {k} for construct {construct!r}")
        need = k if min_items is None else int(min_items)
        if not 1 <= need <= k:
            raise ArgumentError("min_items out of range", values=[min_items],
                                expected=f"1 to {k} for construct {construct!r}")
        if method == "pomp":
            for item in cons.items:
                frame[item.id] = 100.0 * (frame[item.id] - item.scale.min) / (
                    item.scale.max - item.scale.min)
        else:
            scales = {(i.scale.min, i.scale.max) for i in cons.items}
            if len(scales) > 1:
                raise ArgumentError(
                    f"items of {construct!r} use different scales; a {method} would mix them",
                    values=sorted(f"{_fmt(a)}-{_fmt(b)}" for a, b in scales),
                    hint="Use method='pomp' (each item rescaled to 0-100)")
        answered = frame.notna().sum(axis=1)
        score = frame.mean(axis=1, skipna=True)
        if method == "sum":
            score = score * k
        score[answered < need] = np.nan
        score.name = construct
        return score

    @renamed_keywords(by="group")
    def top_box(self, items: str | Sequence[str] | None = None, *, k: int = 2,
                group: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Percent choosing one of the top ``k`` points ("percent agreeing" for ``k=2`` on 1-5).

        Judged on the item *as worded* (reverse-keyed items are un-reversed first), among
        respondents who answered it.

        Parameters
        ----------
        items
            Item ids and/or construct names (default: all items).
        k
            Number of top points counted (2 = top-2 box: 4-5 on a 1-5 agreement scale,
            9-10 = "promoters" on the 0-10 recommend scale).
        group
            Optional grouping column(s): one row per group and item. (Called ``by`` before;
            that name works one more release, with a FutureWarning.)

        Returns
        -------
        DataFrame with columns ``[*group,] construct, item, n, n_top, percent``.

        Examples
        --------
        >>> import pandas as pd
        >>> from connection import instruments, read_survey
        >>> inst = instruments.default().subset("loyalty")
        >>> s = read_survey(pd.DataFrame({"loy_stay": [5, 4, 2, 1], "loy_switch": [1, 5, 4, 2]}), inst)
        >>> s.top_box()[["item", "n_top", "percent"]].values.tolist()
        [['loy_stay', 2, 50.0], ['loy_switch', 2, 50.0]]
        """
        wanted = self._resolve_items(items)
        by_cols = [] if group is None else ([group] if isinstance(group, str) else list(group))
        for col in by_cols:
            if col not in self._data.columns:
                raise MissingColumnError("grouping column not in the data", column=str(col),
                                         hint=_close_hint(col, self._data.columns))
        if by_cols:
            no_group = self._data[by_cols].isna().any(axis=1)
            if no_group.any():
                _common.warn(f"top_box: {int(no_group.sum())} of {len(no_group)} respondents have "
                             f"no value in {', '.join(map(repr, by_cols))} and are left out",
                             ExclusionWarning)
            groups = [((g,) if not isinstance(g, tuple) else g, frame)
                      for g, frame in self._data.groupby(by_cols, sort=True)]
        else:
            groups = [((), self._data)]
        rows = []
        for g, frame in groups:
            for col in wanted:
                item = self.instrument.items[col]
                values = frame[col].to_numpy(dtype=float)
                if item.reverse:
                    values = item.scale.reverse(values)
                values = values[~np.isnan(values)]
                top = np.isin(values, np.asarray(item.scale.top_box(k), dtype=float))
                row = {"construct": item.construct, "item": col, "n": len(values),
                       "n_top": int(top.sum()),
                       "percent": 100.0 * top.mean() if len(values) else float("nan")}
                rows.append(dict(zip(by_cols, g)) | row)
        return pd.DataFrame(rows, columns=[*by_cols, "construct", "item", "n", "n_top",
                                           "percent"])

    def _resolve_items(self, items) -> list[str]:
        if items is None:
            return self.instrument.item_ids()
        names = [items] if isinstance(items, str) else list(items)
        out = []
        for name in names:
            if name in self.instrument.constructs:
                out.extend(self.instrument.item_ids(name))
            elif name in self.instrument.items:
                out.append(name)
            else:
                raise ArgumentError("not an item or construct of the survey's instrument",
                                    values=[name], hint=_close_hint(
                                        name, [*self.instrument.items, *self.instrument.constructs]))
        return out

    def missing_report(self) -> pd.DataFrame:
        """Missing values per item among the analysed respondents.

        Columns: ``construct, item, n, n_answered, n_missing, n_blank`` (empty in the file),
        ``n_coded`` (missing-value codes turned into ``NaN``), ``pct_missing``, ``codes``
        (e.g. ``"-99: 3, -98: 1"``).
        """
        return self._missing.copy()

    def variables_report(self) -> pd.DataFrame:
        """Missing values of the columns that are not items but whose codes were applied: the
        codebook's ``variables`` and columns with user-missing codes declared in the file (SPSS),
        among the analysed respondents.

        Columns: ``variable, type, role, n, n_missing, n_blank, n_coded, codes``.
        """
        return self._variables.copy()

    # -- display -------------------------------------------------------------------------------
    def _exclusion_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._exclusions["reason"].value_counts().items()}

    def summary(self) -> Report:
        """An overview as a :class:`~connection._report.Report`: rows read, excluded (by
        reason) and analysed, the instrument, group sizes, missing answers and the items most
        often missing (``print()`` it; Jupyter shows it as HTML)."""
        counts = self._exclusion_counts()
        miss = self._missing
        cells = int(miss["n"].sum()) if len(miss) else 0
        n_missing = int(miss["n_missing"].sum()) if len(miss) else 0
        inst = self.instrument
        excluded = str(len(self._exclusions)) + (
            " (" + ", ".join(f"{r} {n}" for r, n in counts.items()) + ")" if counts else "")
        header: list[tuple[str, Any]] = [
            ("Rows read", self.n_read), ("Excluded", excluded), ("Analysed", self.n),
            ("Instrument", f"{inst.name!r}: {len(inst.constructs)} constructs, "
                           f"{len(inst.items)} items"),
            ("Reverse-coded", ", ".join(inst.reverse_items) or "none")]
        if self.id_column:
            header.append(("Id column", self.id_column))
        for g in self.group:
            sizes = self._data[g].value_counts(sort=False).sort_index()
            header.append((f"Groups of {g}", ", ".join(f"{k} {v}" for k, v in sizes.items())))
        weights = self.weights
        if weights is not None:
            w = weights.to_numpy()
            header.append(("Survey weight", f"{weights.name} (sum {w.sum():.6g}; Kish effective "
                           f"n {w.sum() ** 2 / (w ** 2).sum():.1f})"))
        pct = 100.0 * n_missing / cells if cells else 0.0
        header.append(("Missing answers", f"{n_missing} of {cells} ({pct:.1f}%; blank "
                       f"{int(miss['n_blank'].sum())}, missing-value codes "
                       f"{int(miss['n_coded'].sum())})"))
        report = Report(f"Survey from {self.source!r} ({self.format})", header=header)
        worst = miss[miss["n_missing"] > 0].sort_values("pct_missing", ascending=False,
                                                        kind="stable").head(5)
        if len(worst):
            report.add_table(worst[["item", "construct", "n_missing", "pct_missing"]]
                             .reset_index(drop=True), caption="Most missing answers", digits=1)
        return report

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

