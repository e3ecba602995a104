"""The package's exception and warning classes: one hierarchy.

Every error says what was wrong, where (file, column, row, value) and what to do about it.
Catch :class:`ConnectionPackageError` to catch everything this package raises on purpose;
filter :class:`ConnectionWarning` (or one of its subclasses) to silence its warnings.

Examples
--------
>>> import warnings
>>> from connection.errors import OutOfRangeError, ConvergenceWarning
>>> err = OutOfRangeError("value outside the item's scale", file="w1.csv", column="sat_1",
...                       rows=[4, 9], values=[11, 0], expected="an integer from 1 to 10")
>>> print(err)
value outside the item's scale [file 'w1.csv', column 'sat_1', rows 4, 9, values 11, 0; expected an integer from 1 to 10]
>>> isinstance(err, ValueError)
True
>>> warnings.simplefilter("ignore", ConvergenceWarning)  # what users do to silence one class
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ConnectionPackageError",
    "InstrumentError",
    "DataError",
    "EmptyFileError",
    "UndecodableFileError",
    "UnsupportedFormatError",
    "MissingColumnError",
    "NonNumericError",
    "OutOfRangeError",
    "DuplicateIdError",
    "NoVarianceError",
    "QualtricsExportError",
    "GroupError",
    "ModelSyntaxError",
    "ModelSpecificationError",
    "EstimationError",
    "ConfigError",
    "ResultsFolderError",
    "ConnectionWarning",
    "ConvergenceWarning",
    "InadmissibleSolutionWarning",
    "HeywoodCaseWarning",
    "NotPositiveDefiniteWarning",
    "IdentificationWarning",
    "PoorFitWarning",
    "BootstrapWarning",
    "ExclusionWarning",
    "ArgumentError",
    "NotFittedError",
]

_MAX_SHOWN = 10          # values and rows shown in a message (the rest are counted)
MAX_VALUE_CHARS = 80     # characters of one quoted value (column name, value) in a message
MAX_FILE_CHARS = 300     # characters of a file name in a message
MAX_PART_CHARS = 1000    # characters of the message, expected and hint parts
MAX_MESSAGE_CHARS = 2000  # characters of a whole message

# numpy scalars that reach a message through repr() or an f-string: np.int64(0) -> 0
_NUMPY_REPR = re.compile(r"\bnp\.(?:u?int\d*|float\d*|complex\d*|bool_?|str_|bytes_|"
                         r"longdouble|clongdouble|datetime64|timedelta64)\(([^()]*)\)")


def _cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and the full length when longer."""
    text = str(text)
    if len(text) <= limit:
        return text
    tail = f"... ({len(text):,} characters)"
    return text[: max(limit - len(tail), 1)] + tail


def _plain(value: Any) -> Any:
    """Python values for numpy scalars (recursively in tuples and lists), for display."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _shown_value(value: Any) -> str:
    value = _plain(value)
    text = repr(value) if isinstance(value, str | bytes) else str(value)
    return _cap(text, MAX_VALUE_CHARS)


def _show(items: Iterable[Any], limit: int = _MAX_SHOWN) -> str:
    items = list(items)
    text = ", ".join(_shown_value(v) for v in items[:limit])
    if len(items) > limit:
        text += f", ... ({len(items)} in all)"
    return text


def plain_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message as shown: numpy scalar reprs made plain, capped at ``limit`` characters.

    >>> plain_text("value np.int64(0) and np.float64(1.5)")
    'value 0 and 1.5'
    """
    return _cap(_NUMPY_REPR.sub(r"\1", str(text)), limit)


class ConnectionPackageError(Exception):
    """Base class of every error this package raises on purpose.

    Parameters
    ----------
    message
        What was wrong, in a sentence.
    file, column, rows, values, expected, hint
        Where it was and what was expected; each appears in the message when given.
        ``rows`` are 1-based data rows as a researcher would count them in the file
        (header rows excluded) unless the message says otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        rows: Sequence[int] | int | None = None,
        values: Sequence[Any] | Any = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        if rows is not None and not isinstance(rows, Sequence | range):
            rows = [rows]
        if values is not None and (isinstance(values, str) or not isinstance(values, Sequence)):
            values = [values]
        self.message = message
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = None if rows is None else list(rows)
        self.values = None if values is None else list(values)
        self.expected = expected
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        # Every quoted value is capped (MAX_VALUE_CHARS), numpy scalars are shown as plain
        # numbers, and the whole message is capped (MAX_MESSAGE_CHARS); the attributes keep the
        # full values for programs.
        where = []
        if self.file is not None:
            where.append(f"file {_cap(repr(self.file), MAX_FILE_CHARS)}")
        if self.column is not None:
            where.append(f"column {_shown_value(str(self.column))}")
        if self.rows:
            where.append(("row " if len(self.rows) == 1 else "rows ") + _show(self.rows))
        if self.values:
            where.append(("value " if len(self.values) == 1 else "values ") + _show(self.values))
        text = _cap(self.message, MAX_PART_CHARS)
        detail = ", ".join(where)
        if self.expected:
            expected = _cap(self.expected, MAX_PART_CHARS)
            detail = f"{detail}; expected {expected}" if detail else f"expected {expected}"
        if detail:
            text += f" [{detail}]"
        if self.hint:
            text += f". {_cap(self.hint, MAX_PART_CHARS)}"
        return plain_text(text)


class InstrumentError(ConnectionPackageError, ValueError):
    """A codebook (instrument) is malformed: duplicate ids, empty constructs, impossible scales."""


class ConfigError(ConnectionPackageError, ValueError):
    """A study or simulation configuration is malformed or inconsistent."""


class ResultsFolderError(ConnectionPackageError, RuntimeError):
    """A results folder cannot be written safely (locked by another run, holds the input, or
    holds files that are not this study's outputs)."""


class DataError(ConnectionPackageError, ValueError):
    """Survey data cannot be used as given."""


class EmptyFileError(DataError):
    """The file has no data rows."""


class UndecodableFileError(DataError):
    """The file cannot be decoded or parsed in its format."""


class UnsupportedFormatError(DataError):
    """The file's format is not one the package reads."""


class MissingColumnError(DataError, KeyError):
    """An item column named by the instrument is not in the data."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self.args[0] if self.args else ""


class NonNumericError(DataError):
    """An item column holds values that are not numbers."""


class OutOfRangeError(DataError):
    """Values lie outside the item's scale (and are not declared missing-value codes)."""


class DuplicateIdError(DataError):
    """Respondent ids repeat."""


class NoVarianceError(DataError):
    """An item has the same value for every respondent (in a group, when grouped)."""


class QualtricsExportError(DataError):
    """A Qualtrics export is not in the expected shape (e.g. exported as choice text)."""


class GroupError(DataError):
    """A grouping cannot support the analysis (too few cases, a constant or empty item)."""


class ModelSyntaxError(ConnectionPackageError, ValueError):
    """Model text outside the documented lavaan subset; names the line and operator."""

    def __init__(self, message: str, *, line: int | None = None, text: str | None = None,
                 operator: str | None = None, hint: str | None = None) -> None:
        self.line = line
        self.text = text
        self.operator = operator
        parts = []
        if line is not None:
            parts.append(f"line {line}")
        if operator is not None:
            parts.append(f"operator {operator!r}")
        if text is not None:
            parts.append(f"text {_cap(repr(text), MAX_PART_CHARS)}")
        full = _cap(message, MAX_PART_CHARS) + (f" [{', '.join(parts)}]" if parts else "")
        super().__init__(full, hint=hint)


class ModelSpecificationError(ConnectionPackageError, ValueError):
    """The model is well-formed text but cannot be fitted as specified (unknown variables, ...)."""


class EstimationError(ConnectionPackageError, RuntimeError):
    """Estimation could not produce a result at all (as opposed to a questionable one, a warning)."""


class ConnectionWarning(UserWarning):
    """Base class of every warning this package issues."""


class ConvergenceWarning(ConnectionWarning):
    """The optimiser stopped before converging; estimates are not trustworthy."""


class InadmissibleSolutionWarning(ConnectionWarning):
    """The solution is outside the admissible parameter space."""


class HeywoodCaseWarning(InadmissibleSolutionWarning):
    """A variance estimate is negative (a Heywood case)."""


class NotPositiveDefiniteWarning(InadmissibleSolutionWarning):
    """A latent or residual covariance matrix is not positive definite."""


class IdentificationWarning(ConnectionWarning):
    """The model looks under-identified (singular information matrix or negative df)."""


class PoorFitWarning(ConnectionWarning):
    """A model fits the data poorly (e.g. the latent version of :func:`~connection.drivers`
    with CFI < .90 or RMSEA > .10): its coefficients describe a model the data reject. The same
    problem is recorded as a ``poor_fit`` flag (:mod:`connection._flags`) in the result."""


class BootstrapWarning(ConnectionWarning):
    """Some bootstrap replicates failed; the count is in the message and the result."""


class ExclusionWarning(ConnectionWarning):
    """Rows were excluded from an analysis; how many and why is in the message."""


class ArgumentError(ConnectionPackageError, ValueError):
    """A function argument is invalid or inconsistent with the others (names it and what is allowed)."""


class NotFittedError(ArgumentError, AttributeError):
    """a fitted-state attribute or method was used before fit()"""
