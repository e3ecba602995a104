"""Instruments (codebooks): constructs, their items, scales, reverse keys and missing-value codes.

An :class:`Instrument` is the single description of a questionnaire that the rest of the package
relies on: which columns belong to which construct, what range each answer may take, which items
are reverse-keyed and which codes mean "no answer". It is loaded from a YAML or TOML codebook,
validated on construction (every problem raises :class:`~connection.errors.InstrumentError` naming
the entry), and is immutable.

Codebook layout (YAML; TOML has the same structure)::

    name: my_study
    version: "1.0"
    description: What the questionnaire measures.
    sources:                        # citation keys -> references (optional)
      acsi: Fornell, C. et al. (1996). The American Customer Satisfaction Index. J. Marketing 60(4).
    defaults:                       # applied to every item unless it says otherwise (optional)
      missing: [-99]
    scales:                         # named scales that items refer to (optional)
      agree5:
        min: 1
        max: 5
        labels: {1: Strongly disagree, 3: Neither, 5: Strongly agree}
    constructs:
      satisfaction:
        label: Satisfaction
        scale: {min: 1, max: 10}    # default scale of the construct's items: a name or a table
        sources: [acsi]
        items:
          - id: sat_overall
            wording: Overall, how satisfied are you with {brand}?
          - id: sat_switch
            wording: I would switch to another brand for a better deal.
            scale: agree5
            reverse: true
            missing: [-99, 9]
          - id: sat_nps             # wording may be left out or empty
    variables:                      # data columns that are not items (optional)
      age:
        type: numeric               # numeric | categorical | text
        role: demographic           # demographic | control | weight | group | id | other
        min: 16                     # numeric: optional range (either end may stay open)
        max: 99
        integer: true
        missing: [-99]              # default: defaults.missing (numeric and categorical)
      education:
        type: categorical
        role: control
        values: {1: School, 2: College, 3: University}   # or a list [1, 2, 3]
        missing: [-99, -98]
      region:
        type: text                  # any text; only missing codes apply
        role: group
        missing: ["n/a"]
      weight:
        role: weight                # numeric, never negative
        missing: []
    weights: weight                 # the survey weight: a variable with role weight (optional)

Items must have an ``id``; wording is optional. An item may not share its construct's name (model
syntax could not tell the latent construct from the observed column): rename the construct.
Missing-value codes may not lie inside an item's scale, nor inside a variable's range or among
its ``values``. :func:`connection.read_survey` turns the codes of items *and* variables into
``NaN`` (so ``-99`` in ``age`` is never used as an age, e.g. as a control in
:func:`connection.outcomes._drivers`) and checks each variable's type, range and values. Codebooks without
``variables`` stay valid; their non-item columns are read as they are.

``weights:`` names the survey weight: one of the ``variables``, declared with ``role: weight``
(a codebook may declare several weight columns, e.g. a design weight and a raked weight; the
one named here is the analysis weight). :func:`connection.read_survey` then requires it to be a
finite number above 0 for every analysed respondent (not missing) and the survey carries it as
:attr:`Survey.weights <connection.data._survey.Survey.weights>`.

YAML codebooks may not use anchors or aliases (``&name``/``*name``: a few hundred bytes of nested
aliases expand to gigabytes) and may nest at most ``MAX_DEPTH`` levels; both raise
:class:`~connection.errors.InstrumentError` before anything is expanded.

Examples
--------
>>> from connection.data import Instrument
>>> inst = Instrument.from_dict({
...     "name": "tiny",
...     "constructs": {
...         "connection": {"scale": {"min": 1, "max": 5}, "items": [
...             {"id": "c1", "wording": "I feel close to {brand}."},
...             {"id": "c2", "wording": "{brand} means nothing to me.", "reverse": True},
...             {"id": "c3", "wording": "{brand} is part of who I am."}]},
...         "loyalty": {"scale": {"min": 1, "max": 5}, "items": [
...             {"id": "l1", "wording": "I will keep buying {brand}."}]},
...     },
... })
>>> inst.item_ids("connection")
['c1', 'c2', 'c3']
>>> print(inst.model_syntax())
connection =~ c1 + c2 + c3
loyalty =~ l1
l1 ~~ 0*l1
>>> import pandas as pd
>>> inst.reverse_code(pd.DataFrame({"c2": [1, 2, 5]}))["c2"].tolist()
[5, 4, 1]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connection.data import _codebook
from connection.data._codebook import (  # noqa: F401 - MAX_DEPTH, _UniqueKeyLoader: paper/build.py
    MAX_DEPTH,
    _clean_number,
    _did_you_mean,
    _fmt,
    _is_number,
    _UniqueKeyLoader,
)
from connection.errors import ArgumentError, InstrumentError, NonNumericError, OutOfRangeError

if TYPE_CHECKING:
    from connection._report import Report

__all__ = ["Instrument", "Construct", "Item", "Scale", "Variable"]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME_EXPECTED = "a name that starts with a letter and has only letters, digits, '_' and '.'"

VARIABLE_TYPES = ("numeric", "categorical", "text")
VARIABLE_ROLES = ("demographic", "control", "weight", "group", "id", "other")


# --------------------------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------------------------
def _rename_hint(item_id: str, construct: str) -> str:
    return (f"In model syntax {construct!r} would name both the latent construct and the observed "
            f"column {item_id!r}. Rename the construct in the codebook (e.g. {construct + '_f'!r}: "
            "construct names are not data columns), or rename the item and map the data column "
            f"to it with read_survey(..., rename={{{item_id!r}: {item_id + '_1'!r}}})")


# --------------------------------------------------------------------------------------------
# Scale
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """The answer range of an item.

    Parameters
    ----------
    min, max
        Lowest and highest valid answer (``min < max``).
    labels
        Point labels, ``{value: text}``, e.g. ``{1: "Strongly disagree", 5: "Strongly agree"}``;
        any subset of the points.
    integer
        Answers are whole numbers (the default, for rating scales).
    name
        The codebook's name for the scale when it is a named, shared scale (else ``None``).

    Examples
    --------
    >>> s = Scale(1, 5, {1: "Strongly disagree", 5: "Strongly agree"})
    >>> s.points
    (1, 2, 3, 4, 5)
    >>> s.reverse(2)
    4
    >>> s.top_box(2)
    (4, 5)
    """

    min: int | float
    max: int | float
    labels: Mapping[int | float, str] = field(default_factory=dict)
    integer: bool = True
    name: str | None = None

    def __post_init__(self) -> None:
        entry = f"scale {self.name!r}" if self.name else "scale"
        for key in ("min", "max"):
            value = getattr(self, key)
            if not _is_number(value) or not math.isfinite(value):
                raise InstrumentError(f"{entry}: {key} is not a finite number", values=[value],
                                      expected="a number")
            if self.integer and not float(value).is_integer():
                raise InstrumentError(f"{entry}: {key} is not a whole number on an integer scale",
                                      values=[value], expected="whole-number bounds, or integer: false")
            object.__setattr__(self, key, _clean_number(value))
        if not isinstance(self.integer, bool):
            raise InstrumentError(f"{entry}: integer must be true or false", values=[self.integer])
        if self.min >= self.max:
            raise InstrumentError(f"{entry}: impossible scale, min is not below max",
                                  values=[self.min, self.max], expected="min < max")
        if not isinstance(self.labels, Mapping):
            raise InstrumentError(f"{entry}: labels must be a table of value: text",
                                  values=[type(self.labels).__name__])
        labels = {}
        for point, text in self.labels.items():
            number = point
            if isinstance(point, str):  # TOML keys are strings
                try:
                    number = float(point.strip())
                except ValueError:
                    number = None
            if number is None or not _is_number(number) or not math.isfinite(number):
                raise InstrumentError(f"{entry}: label key is not a number", values=[point],
                                      expected="a scale point")
            number = _clean_number(number)
            if not (self.min <= number <= self.max) or (self.integer and not float(number).is_integer()):
                raise InstrumentError(f"{entry}: label for a value that is not a point of the scale",
                                      values=[point],
                                      expected=f"a point from {_fmt(self.min)} to {_fmt(self.max)}")
            if not isinstance(text, str) or not text.strip():
                raise InstrumentError(f"{entry}: label of point {_fmt(number)} is empty or not text",
                                      values=[text])
            labels[number] = text
        object.__setattr__(self, "labels", MappingProxyType(dict(sorted(labels.items()))))

    def __hash__(self) -> int:
        return hash((self.min, self.max, tuple(self.labels.items()), self.integer, self.name))

    def __reduce__(self):  # read-only mappings do not pickle; rebuild from plain values
        return (Scale, (self.min, self.max, dict(self.labels), self.integer, self.name))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scale):
            return NotImplemented
        return (self.min, self.max, dict(self.labels), self.integer, self.name) == (
            other.min, other.max, dict(other.labels), other.integer, other.name)

    @property
    def points(self) -> tuple:
        """All valid answers of an integer scale (``()`` for a continuous one)."""
        if not self.integer:
            return ()
        return tuple(range(int(self.min), int(self.max) + 1))

    @property
    def n_points(self) -> int | None:
        """Number of answer points (``None`` for a continuous scale)."""
        return len(self.points) if self.integer else None

    def reverse(self, value):
        """Reverse-code a value (or array): ``min + max - value``."""
        return self.min + self.max - value

    def top_box(self, k: int = 2) -> tuple:
        """The ``k`` highest points (``top_box(2)`` on 1-5 is ``(4, 5)``: "agree")."""
        if not self.integer:
            raise ArgumentError("top-box needs an integer scale", values=[self.min, self.max])
        n = len(self.points)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k < n:
            raise ArgumentError("k, the number of top points counted, is out of range", values=[k],
                                expected=f"a whole number from 1 to {n - 1} on the {self.describe()} scale")
        return self.points[-k:]

    def describe(self) -> str:
        """Short text such as ``'1-5 (1 = Strongly disagree, 5 = Strongly agree)'``."""
        text = f"{_fmt(self.min)}-{_fmt(self.max)}"
        if not self.integer:
            text += " (continuous)"
        if self.labels:
            ends = [p for p in (self.min, self.max) if p in self.labels]
            shown = ends or list(self.labels)[:2]
            text += " (" + ", ".join(f"{_fmt(p)} = {self.labels[p]}" for p in shown) + ")"
        return text

    def expected(self) -> str:
        """What a valid answer looks like, for error messages."""
        kind = "an integer" if self.integer else "a number"
        return f"{kind} from {_fmt(self.min)} to {_fmt(self.max)}"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"min": self.min, "max": self.max}
        if self.labels:
            out["labels"] = dict(self.labels)
        if not self.integer:
            out["integer"] = False
        return out


# --------------------------------------------------------------------------------------------
# Item and Construct
# --------------------------------------------------------------------------------------------
def _normalise_missing(codes: Any, entry: str, scale: Scale | None, file: str | None = None) -> tuple:
    if codes is None:
        return ()
    if _is_number(codes):
        codes = [codes]
    if isinstance(codes, str) or not isinstance(codes, Iterable):
        raise InstrumentError(f"{entry}: missing must be a list of numeric codes", file=file,
                              values=[codes], expected="a list such as [-99, 9]")
    out: list = []
    for code in codes:
        if not _is_number(code) or math.isnan(code):
            raise InstrumentError(f"{entry}: missing-value code is not a number", file=file,
                                  values=[code], expected="numeric codes such as -99")
        code = _clean_number(code)
        if scale is not None and scale.min <= code <= scale.max:
            raise InstrumentError(
                f"{entry}: missing-value code lies inside the answer scale", file=file, values=[code],
                expected=f"a code outside {_fmt(scale.min)}-{_fmt(scale.max)}",
                hint="A code inside the scale would turn real answers into missing values")
        if code not in out:
            out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class Item:
    """One question: a column of the survey data.

    Parameters
    ----------
    id
        Column name in the data (and variable name in model syntax).
    wording
        The question text; ``{brand}`` (and ``{category}``) are placeholders, see :meth:`text`.
    scale
        The answer :class:`Scale`.
    reverse
        ``True`` when agreeing means *less* of the construct; :func:`connection.read_survey`
        reverse-codes such items (``min + max - x``) so that high always means more.
    missing
        Codes that mean "no answer" (e.g. ``-99``); they become ``NaN`` when data are read.
    construct
        Name of the construct the item measures (set by :class:`Construct`).
    label
        Short label for tables and figures (defaults to the id).
    facet
        Optional first-order facet of the construct (for second-order models).
    """

    id: str
    wording: str
    scale: Scale
    reverse: bool = False
    missing: tuple = ()
    construct: str = ""
    label: str | None = None
    facet: str | None = None

    def __post_init__(self) -> None:
        entry = f"item {self.id!r}"
        if not isinstance(self.id, str) or not _NAME_RE.match(self.id):
            raise InstrumentError("item id is not a valid variable name", values=[self.id],
                                  expected=_NAME_EXPECTED)
        if self.wording is None:
            object.__setattr__(self, "wording", "")
        if not isinstance(self.wording, str):
            raise InstrumentError(f"{entry}: wording is not text", values=[self.wording],
                                  expected="the question text (may be empty)")
        if not isinstance(self.scale, Scale):
            raise InstrumentError(f"{entry}: scale is not a Scale", values=[type(self.scale).__name__])
        if not isinstance(self.reverse, bool):
            raise InstrumentError(f"{entry}: reverse must be true or false", values=[self.reverse])
        object.__setattr__(self, "missing", _normalise_missing(self.missing, entry, self.scale))
        if self.label is not None and (not isinstance(self.label, str) or not self.label.strip()):
            raise InstrumentError(f"{entry}: label is empty or not text", values=[self.label])
        if self.facet is not None and (not isinstance(self.facet, str) or not _NAME_RE.match(self.facet)):
            raise InstrumentError(f"{entry}: facet is not a valid name", values=[self.facet],
                                  expected=_NAME_EXPECTED)

    def text(self, brand: str = "the brand", category: str = "product", **fields: str) -> str:
        """The wording with its placeholders filled in.

        Only plain ``{name}`` placeholders are filled (``{brand}``, ``{category}`` and the names
        passed as ``fields``); ``{{`` and ``}}`` stand for single braces. Anything else in braces
        (unknown names, attribute access such as ``{brand.__class__}``, indexing, format specs)
        is left as written, so a wording can never reach into Python objects.

        >>> Item("x1", "I trust {brand}.", Scale(1, 5)).text(brand="Acme")
        'I trust Acme.'
        >>> Item("x2", "{brand.__class__} {brand:>9} {{brand}} {city}", Scale(1, 5)).text(brand="Acme")
        '{brand.__class__} {brand:>9} {brand} {city}'
        """
        values = {"brand": brand, "category": category, **fields}

        def fill(match: re.Match) -> str:
            token = match.group(0)
            if token == "{{":
                return "{"
            if token == "}}":
                return "}"
            name = match.group(1)
            return str(values[name]) if name in values else token

        return _PLACEHOLDER.sub(fill, self.wording)

    @property
    def short(self) -> str:
        """``label`` if set, else the id."""
        return self.label or self.id

    def to_dict(self, scale_as: Any = None, missing_default: tuple | None = None) -> dict:
        out: dict[str, Any] = {"id": self.id, "wording": self.wording}
        if self.label is not None:
            out["label"] = self.label
        if self.facet is not None:
            out["facet"] = self.facet
        if scale_as is not False:
            out["scale"] = scale_as if scale_as is not None else (
                self.scale.name if self.scale.name else self.scale.to_dict())
        if self.reverse:
            out["reverse"] = True
        if missing_default is None or tuple(self.missing) != tuple(missing_default):
            out["missing"] = list(self.missing)
        return out


def _checked_source_keys(sources: Any, entry: str) -> tuple[str, ...]:
    """A construct's citation keys: one key (text) or a list of keys, as a tuple."""
    if sources is None:
        return ()
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, Iterable) or isinstance(sources, Mapping) or any(
            not isinstance(key, str) or not key.strip() for key in sources):
        raise InstrumentError(f"{entry}: sources must be a list of source keys", values=[sources],
                              expected="keys of the instrument's sources, such as [acsi]")
    return tuple(sources)


@dataclass(frozen=True)
class Construct:
    """A latent construct and the items that measure it.

    Parameters
    ----------
    name
        Variable name of the construct (e.g. ``"connection"``).
    items
        Its :class:`Item` objects, in questionnaire order (at least one).
    label, description, stem
        Human name, what it means, and the instruction shown before its items.
    sources
        Citation keys (see :attr:`Instrument.sources`).
    """

    name: str
    items: tuple[Item, ...]
    label: str | None = None
    description: str | None = None
    stem: str | None = None
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        entry = f"construct {self.name!r}"
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise InstrumentError("construct name is not a valid variable name", values=[self.name],
                                  expected=_NAME_EXPECTED)
        items = tuple(self.items) if isinstance(self.items, Iterable) else None
        if not items:
            raise InstrumentError(f"{entry} has no items", expected="at least one item")
        fixed = []
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, Item):
                raise InstrumentError(f"{entry}: an item is not an Item", values=[type(item).__name__])
            if item.id in seen:
                raise InstrumentError(f"{entry}: duplicate item id {item.id!r}", values=[item.id],
                                      expected="each item id once")
            seen.add(item.id)
            if item.construct in ("", self.name):
                item = dataclasses.replace(item, construct=self.name) if not item.construct else item
            else:
                raise InstrumentError(f"{entry}: item {item.id!r} says it belongs to construct "
                                      f"{item.construct!r}", values=[item.construct],
                                      expected=repr(self.name))
            if item.id == self.name:
                raise InstrumentError(
                    f"{entry}: an item has the construct's own name", values=[item.id],
                    expected="distinct item and construct names",
                    hint=_rename_hint(item.id, self.name))
            fixed.append(item)
        object.__setattr__(self, "items", tuple(fixed))
        for key in ("label", "description", "stem"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise InstrumentError(f"{entry}: {key} must be text", values=[value])
        object.__setattr__(self, "sources", _checked_source_keys(self.sources, entry))

    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def facets(self) -> dict[str, list[str]]:
        """``{facet: [item ids]}`` for items that name a facet (empty if none do)."""
        out: dict[str, list[str]] = {}
        for item in self.items:
            if item.facet is not None:
                out.setdefault(item.facet, []).append(item.id)
        return out

    def __len__(self) -> int:
        return len(self.items)



# --------------------------------------------------------------------------------------------
# Variable: a data column that is not an item
# --------------------------------------------------------------------------------------------
def _value_key(value: Any) -> str | None:
    """How a data value or a code is compared: numbers by value (1, 1.0 and '1' alike), text
    stripped. ``None`` for blanks."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return text
        return _fmt(_clean_number(number)) if math.isfinite(number) else text
    if _is_number(value):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return str(value)
        if math.isnan(number):
            return None
        return _fmt(_clean_number(number)) if math.isfinite(number) else str(number)
    return str(value)


def _number_key(key: Any) -> Any:
    """A key of a ``values`` table: text that writes a number ('1', TOML keys) as the number."""
    if isinstance(key, str):
        try:
            number = float(key.strip())
        except ValueError:
            return key
        if math.isfinite(number) and _fmt(_clean_number(number)) == key.strip():
            return _clean_number(number)
    return key


@dataclass(frozen=True)
class Variable:
    """A data column that is not an item: a demographic, control, weight, group or id.

    Declared under ``variables:`` in the codebook so that its missing-value codes are applied
    (they become ``NaN`` in :attr:`Survey.data <connection.data._survey.Survey.data>`) and its values
    are checked when data are read, as they are for items.

    Parameters
    ----------
    name
        The data column.
    type
        ``"numeric"`` (numbers; optional ``min``/``max``, ``integer`` and allowed ``values``),
        ``"categorical"`` (numbers or text codes; optional allowed ``values``) or ``"text"``
        (free text: only missing codes apply).
    missing
        Codes that mean "no answer" (numbers, or text for categorical and text variables). They
        may not lie inside ``min..max`` or among the allowed ``values``.
    role
        What the column is for: ``demographic``, ``control``, ``weight`` (numeric, never
        negative), ``group``, ``id`` or ``other`` (documentation; weights are checked).
    label
        Short label for tables.
    values
        Allowed values (a list; or a table ``{value: label}``, whose labels are kept in
        ``labels``).
    min, max
        Numeric range (either may be left open).
    integer
        Numeric values must be whole numbers.

    Examples
    --------
    >>> age = Variable("age", "numeric", missing=[-99], min=16, max=99, integer=True)
    >>> age.check_value(-99), age.check_value(34), age.check_value(7)
    ('missing', 'ok', 'off')
    """

    name: str
    type: str = "numeric"
    missing: tuple = ()
    role: str | None = None
    label: str | None = None
    values: tuple | None = None
    min: int | float | None = None
    max: int | float | None = None
    integer: bool = False
    labels: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        # named validation steps, in this order (the first problem found is the one raised)
        entry = self._check_kind()
        self._check_range(entry)
        values, labels = self._checked_values(entry)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "labels", MappingProxyType(self._checked_labels(entry, labels)))
        object.__setattr__(self, "missing", self._checked_missing(entry, values))

    def _check_kind(self) -> str:
        """Name, type, role, label and ``integer``; returns the entry named in messages."""
        if not isinstance(self.name, str) or not self.name.strip() or self.name != self.name.strip():
            raise InstrumentError("variable name is empty or not text", values=[self.name],
                                  expected="the data column's name")
        entry = f"variable {self.name!r}"
        if self.type not in VARIABLE_TYPES:
            raise InstrumentError(f"{entry}: unknown type", values=[self.type],
                                  expected="one of " + ", ".join(VARIABLE_TYPES),
                                  hint=_did_you_mean(str(self.type), VARIABLE_TYPES))
        if self.role is not None and self.role not in VARIABLE_ROLES:
            raise InstrumentError(f"{entry}: unknown role", values=[self.role],
                                  expected="one of " + ", ".join(VARIABLE_ROLES),
                                  hint=_did_you_mean(str(self.role), VARIABLE_ROLES))
        if self.label is not None and not isinstance(self.label, str):
            raise InstrumentError(f"{entry}: label must be text", values=[self.label])
        if not isinstance(self.integer, bool):
            raise InstrumentError(f"{entry}: integer must be true or false", values=[self.integer])
        if self.integer and self.type != "numeric":
            raise InstrumentError(f"{entry}: integer applies to numeric variables only",
                                  values=[self.type])
        return entry

    def _check_range(self, entry: str) -> None:
        """``min``/``max`` (numeric only, finite, min < max; a weight is numeric with min >= 0,
        0 unless given)."""
        numeric = self.type == "numeric"
        if self.role == "weight":
            if not numeric:
                raise InstrumentError(f"{entry}: a weight must be numeric", values=[self.type],
                                      expected="type: numeric")
            if self.min is None:
                object.__setattr__(self, "min", 0)
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is None:
                continue
            if not numeric:
                raise InstrumentError(f"{entry}: {key} applies to numeric variables only",
                                      values=[self.type], hint="Use values: [...] for categories")
            if not _is_number(value) or not math.isfinite(value):
                raise InstrumentError(f"{entry}: {key} is not a finite number", values=[value])
            object.__setattr__(self, key, _clean_number(value))
        if self.role == "weight" and self.min < 0:
            raise InstrumentError(f"{entry}: a weight's min is negative", values=[self.min],
                                  expected="min >= 0")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise InstrumentError(f"{entry}: impossible range, min is not below max",
                                  values=[self.min, self.max], expected="min < max")

    def _checked_values(self, entry: str) -> tuple[tuple | None, dict]:
        """The allowed values (a tuple, or None) and the value labels (a table ``{value:
        label}`` gives both)."""
        values, labels = self.values, dict(self.labels or {})
        if isinstance(values, Mapping):   # {value: label}; TOML keys are text: '1' -> 1
            values = {_number_key(k): v for k, v in values.items()}
            labels = {**values, **{_number_key(k): v for k, v in labels.items()}}
            values = list(values)
        if values is None:
            return None, labels
        if self.type == "text":
            raise InstrumentError(f"{entry}: a text variable has no list of values",
                                  expected="type: categorical for a fixed set of values")
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise InstrumentError(f"{entry}: values must be a list", values=[values],
                                  expected="a list such as [1, 2, 3]")
        values = list(values)
        if not values:
            raise InstrumentError(f"{entry}: values is empty", expected="allowed values")
        cleaned: list = []
        for v in values:
            cleaned.append(self._checked_value(entry, v, cleaned))
        return tuple(cleaned), labels

    def _checked_value(self, entry: str, v: Any, before: list) -> Any:
        """One allowed value: a finite number (numeric: inside min..max) or text, not repeated."""
        numeric = self.type == "numeric"
        ok = _is_number(v) and math.isfinite(v) if numeric else (
            (_is_number(v) and math.isfinite(v)) or (isinstance(v, str) and v.strip()))
        if not ok:
            raise InstrumentError(f"{entry}: allowed value is not a "
                                  + ("finite number" if numeric else "number or text"),
                                  values=[v])
        v = _clean_number(v) if _is_number(v) else v
        if numeric and not self._in_range(v):
            raise InstrumentError(f"{entry}: allowed value outside min..max", values=[v])
        if _value_key(v) in {_value_key(c) for c in before}:
            raise InstrumentError(f"{entry}: allowed value listed twice", values=[v])
        return v

    @staticmethod
    def _checked_labels(entry: str, labels: dict) -> dict:
        for key, text in labels.items():
            if not isinstance(text, str):
                raise InstrumentError(f"{entry}: label of value {key!r} is not text", values=[text])
        return labels

    def _checked_missing(self, entry: str, values: tuple | None) -> tuple:
        """The missing-value codes: numbers (or text for categorical and text variables),
        outside the range and the allowed values, each once."""
        codes = self.missing
        if codes is None:
            codes = ()
        if _is_number(codes) or isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, Iterable):
            raise InstrumentError(f"{entry}: missing must be a list of codes", values=[codes],
                                  expected="a list such as [-99, -98]")
        out: list = []
        keys = {_value_key(v) for v in values or ()}
        for code in codes:
            code = self._checked_code(entry, code, keys)
            if _value_key(code) not in {_value_key(c) for c in out}:
                out.append(code)
        return tuple(out)

    def _checked_code(self, entry: str, code: Any, value_keys: set) -> Any:
        numeric = self.type == "numeric"
        if isinstance(code, bool) or not (
                (_is_number(code) and math.isfinite(code))
                or (not numeric and isinstance(code, str) and code.strip())):
            raise InstrumentError(f"{entry}: missing-value code is not a "
                                  + ("finite number" if numeric else "number or text"),
                                  values=[code], expected="codes such as -99")
        code = _clean_number(code) if _is_number(code) else code
        if numeric and (self.min is not None or self.max is not None) and self._in_range(code):
            raise InstrumentError(
                f"{entry}: missing-value code lies inside the variable's range", values=[code],
                expected=f"a code outside {self._range_text()}",
                hint="A code inside the range would turn real values into missing values "
                     "(set missing: [] on the variable if defaults: missing does not apply)")
        if _value_key(code) in value_keys:
            raise InstrumentError(
                f"{entry}: missing-value code is also an allowed value", values=[code],
                hint="A code among the values would turn real answers into missing values")
        return code

    def __hash__(self) -> int:
        return hash((self.name, self.type, self.missing, self.role, self.values))

    def __reduce__(self):
        return (Variable, (self.name, self.type, self.missing, self.role, self.label, self.values,
                           self.min, self.max, self.integer, dict(self.labels)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Variable):
            return NotImplemented
        return self.__reduce__()[1] == other.__reduce__()[1]

    def _in_range(self, value) -> bool:
        return ((self.min is None or value >= self.min) and (self.max is None or value <= self.max))

    def _range_text(self) -> str:
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "inf" if self.max is None else _fmt(self.max)
        return f"{lo}..{hi}"

    def expected(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.type == "text":
            return "text"
        parts = []
        if self.values is not None:
            parts.append("one of " + ", ".join(_fmt(v) if _is_number(v) else repr(v)
                                               for v in self.values[:20]))
        elif self.type == "numeric":
            kind = "a whole number" if self.integer else "a number"
            if self.min is not None or self.max is not None:
                kind += f" in {self._range_text()}"
            parts.append(kind)
        else:
            parts.append("a category")
        if self.missing:
            parts.append("a missing-value code (" + ", ".join(
                _fmt(c) if _is_number(c) else repr(c) for c in self.missing) + ")")
        return " or ".join(parts)

    def check_value(self, value) -> str:
        """``'missing'`` (a blank or a missing code), ``'ok'`` or ``'off'`` for one value."""
        key = _value_key(value)
        if key is None or key in {_value_key(c) for c in self.missing}:
            return "missing"
        if self.type == "text":
            return "ok"
        if self.values is not None:
            return "ok" if key in {_value_key(v) for v in self.values} else "off"
        if self.type == "categorical":
            return "ok"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return "off"
        if not math.isfinite(number) or not self._in_range(number):
            return "off"
        if self.integer and not number.is_integer():
            return "off"
        return "ok"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for key in ("role", "label"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["missing"] = list(self.missing)   # always written: defaults do not apply on re-read
        if self.values is not None:
            if self.labels:
                out["values"] = {v: self.labels.get(v, _fmt(v)) for v in self.values}
            else:
                out["values"] = list(self.values)
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.integer:
            out["integer"] = True
        return out

# --------------------------------------------------------------------------------------------
# Instrument
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Instrument:
    """A questionnaire's codebook: constructs, items, scales, reverse keys and missing codes.

    Build one with :meth:`from_file` (YAML or TOML), :meth:`from_dict`, or directly from
    :class:`Construct` objects; the package's default is :func:`connection.instruments.default`.

    Parameters
    ----------
    name
        Name of the instrument.
    constructs
        :class:`Construct` objects (a sequence, or a mapping name -> Construct).
    version, description
        Free text.
    sources
        ``{key: citation}`` for the references the constructs cite.
    variables
        :class:`Variable` objects (a sequence, or a mapping name -> Variable): data columns
        that are not items (demographics, controls, weights, groups, ids) with their types and
        missing-value codes.
    weights
        Name of the survey weight: one of ``variables``, declared with ``role="weight"``
        (``None``: unweighted). :func:`connection.read_survey` checks its values (finite, above
        0, not missing).

    Attributes
    ----------
    constructs : mapping
        ``{name: Construct}`` in questionnaire order (read-only).
    items : mapping
        ``{item id: Item}`` over all constructs, in order (read-only).
    variables : mapping
        ``{name: Variable}`` (read-only; empty when the codebook declares none).
    """

    name: str
    constructs: Mapping[str, Construct]
    version: str | None = None
    description: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Variable] = field(default_factory=dict)
    weights: str | None = None

    def __post_init__(self) -> None:
        # named validation steps, in this order (the first problem found is the one raised)
        if not isinstance(self.name, str) or not self.name.strip():
            raise InstrumentError("instrument name is empty or not text", values=[self.name])
        values = self._construct_list()
        by_name, owner = _index_constructs(values)
        _check_item_and_facet_names(values, set(by_name), owner)
        sources = _checked_sources(self.sources, values)
        by_var = _index_variables(self.variables, set(owner) | set(by_name))
        _check_weights_variable(self.weights, by_var)
        object.__setattr__(self, "constructs", MappingProxyType(by_name))
        object.__setattr__(self, "variables", MappingProxyType(by_var))
        object.__setattr__(self, "sources", MappingProxyType(sources))
        object.__setattr__(self, "_items", MappingProxyType(
            {item.id: item for c in values for item in c.items}))

    def _construct_list(self) -> list:
        """The constructs as a list (a mapping's keys must be the constructs' names); not empty."""
        constructs = self.constructs
        if isinstance(constructs, Mapping):
            values = list(constructs.values())
            for key, c in constructs.items():
                if isinstance(c, Construct) and key != c.name:
                    raise InstrumentError(f"construct stored under {key!r} is named {c.name!r}",
                                          values=[key, c.name])
        else:
            values = list(constructs)
        if not values:
            raise InstrumentError(f"instrument {self.name!r} has no constructs",
                                  expected="at least one construct")
        return values

    # -- identity ------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instrument):
            return NotImplemented
        return (self.name, self.version, self.description, dict(self.sources),
                list(self.constructs.values()), list(self.variables.values()), self.weights) == (
            other.name, other.version, other.description, dict(other.sources),
            list(other.constructs.values()), list(other.variables.values()), other.weights)

    def __hash__(self) -> int:
        return hash((self.name, self.version, tuple(self.constructs.values())))

    def __reduce__(self):  # picklable (process pools, deepcopy) despite read-only mappings
        return (Instrument, (self.name, list(self.constructs.values()), self.version,
                             self.description, dict(self.sources),
                             list(self.variables.values()), self.weights))

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}[{len(c)}]" for n, c in self.constructs.items())
        return f"Instrument({self.name!r}, {len(self.items)} items: {parts})"

    # -- access --------------------------------------------------------------------------------
    @property
    def items(self) -> Mapping[str, Item]:
        """``{item id: Item}`` over all constructs, in order."""
        return self._items  # type: ignore[attr-defined]

    def _construct_names(self, constructs: str | Iterable[str] | None) -> list[str]:
        if constructs is None:
            return list(self.constructs)
        names = [constructs] if isinstance(constructs, str) else list(constructs)
        for name in names:
            if name not in self.constructs:
                raise ArgumentError(f"instrument {self.name!r} has no construct {name!r}",
                                    values=[name], expected="one of " + ", ".join(self.constructs),
                                    hint=_did_you_mean(name, self.constructs))
        return names

    def item_ids(self, construct: str | Iterable[str] | None = None) -> list[str]:
        """Item ids of one construct, several, or (``None``) all, in questionnaire order."""
        return [i for name in self._construct_names(construct) for i in self.constructs[name].item_ids]

    def construct_of(self, item_id: str) -> str:
        """Name of the construct an item belongs to."""
        try:
            return self.items[item_id].construct
        except KeyError:
            raise ArgumentError(f"instrument {self.name!r} has no item {item_id!r}",
                                values=[item_id], hint=_did_you_mean(item_id, self.items)) from None

    @property
    def reverse_items(self) -> list[str]:
        """Ids of the reverse-keyed items."""
        return [i for i, item in self.items.items() if item.reverse]

    def subset(self, constructs: str | Iterable[str]) -> Instrument:
        """A new instrument with only the named constructs (sources kept)."""
        names = self._construct_names(constructs)
        return Instrument(self.name, [self.constructs[n] for n in names], version=self.version,
                          description=self.description, sources=dict(self.sources),
                          variables=list(self.variables.values()), weights=self.weights)

    def as_dict(self) -> dict[str, list[str]]:
        """``{construct: [item ids]}``, the form other functions of the package accept."""
        return {name: c.item_ids for name, c in self.constructs.items()}

    # -- model syntax --------------------------------------------------------------------------
    def ordered_items(self, constructs: str | Iterable[str] | None = None) -> list[str]:
        """Ids of the items that are ordinal: on an integer scale of at most 20 points (what
        ``cfa(..., ordered=)`` accepts), in questionnaire order.

        >>> from connection import instruments
        >>> instruments.default().ordered_items("advocacy")
        ['adv_recommend', 'adv_social']
        """
        return [i for i in self.item_ids(constructs)
                if self.items[i].scale.integer
                and self.items[i].scale.max - self.items[i].scale.min + 1 <= 20]

    def model_syntax(self, constructs: str | Iterable[str] | None = None, *, facets: bool = False,
                     fix_single: bool = True, ordered: bool = False) -> str:
        """The lavaan-style measurement model, one ``=~`` line per construct.

        Parameters
        ----------
        constructs
            Which constructs (default: all), by name.
        facets
            If ``True``, constructs whose items name facets get a second-order structure:
            ``facet =~ items`` lines, then ``construct =~ facet1 + facet2 + ...``.
        fix_single
            For a construct with a single item, add ``item ~~ 0*item`` (the item *is* the
            construct; lavaan does the same implicitly).
        ordered
            The syntax for a fit with the items ordinal (``cfa(..., ordered=)``): a single-item
            construct gets ``construct ~~ 1*construct`` instead of ``item ~~ 0*item``. Under the
            delta parameterization the latent response's residual variance is not a parameter
            (it is 1 minus the explained variance), so fixing it leaves the construct's
            variance unidentified; fixing the variance at 1 makes the construct the item's
            standardized latent response.

        Examples
        --------
        >>> from connection import instruments
        >>> print(instruments.default().model_syntax(["advocacy", "loyalty"]))
        advocacy =~ adv_recommend + adv_social
        loyalty =~ loy_stay + loy_switch
        """
        lines = []
        for name in self._construct_names(constructs):
            c = self.constructs[name]
            groups = c.facets if facets else {}
            if groups:
                for facet, ids in groups.items():
                    lines.append(f"{facet} =~ " + " + ".join(ids))
                direct = [i.id for i in c.items if i.facet is None]
                lines.append(f"{name} =~ " + " + ".join([*groups, *direct]))
            else:
                lines.append(f"{name} =~ " + " + ".join(c.item_ids))
                if fix_single and len(c.items) == 1:
                    only = c.items[0].id
                    lines.append(f"{name} ~~ 1*{name}" if ordered else f"{only} ~~ 0*{only}")
        return "\n".join(lines)

    # -- recoding ------------------------------------------------------------------------------
    def reverse_code(self, frame, *, columns: Iterable[str] | None = None):
        """Return a copy of ``frame`` with reverse-keyed item columns recoded (``min + max - x``).

        Reverse-keyed items absent from ``frame`` are skipped; ``NaN`` stays ``NaN``. Values off
        the item's scale (e.g. a missing-value code not yet turned into ``NaN``) raise
        :class:`~connection.errors.OutOfRangeError`: apply missing codes first
        (:func:`connection.read_survey` does both, in that order).

        Parameters
        ----------
        frame : pandas.DataFrame
        columns
            Restrict to these reverse-keyed items (default: all that are present).
        """
        import numpy as np
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise ArgumentError("reverse_code needs a pandas DataFrame",
                                values=[type(frame).__name__])
        out = frame.copy()
        wanted = self.reverse_items if columns is None else list(columns)
        for col in wanted:
            if col not in self.items:
                raise ArgumentError(f"{col!r} is not an item of instrument {self.name!r}",
                                    column=str(col), hint=_did_you_mean(str(col), self.items))
            item = self.items[col]
            if not item.reverse or col not in out.columns:
                continue
            values = pd.to_numeric(out[col], errors="coerce")
            text = values.isna() & out[col].notna()
            if bool(text.any()):   # coercion would turn a text answer into a missing value
                pos = np.flatnonzero(text.to_numpy())
                raise NonNumericError("cannot reverse-code values that are not numbers", column=col,
                                      rows=[int(p) + 1 for p in pos], values=out[col].iloc[pos].tolist(),
                                      expected=item.scale.expected(),
                                      hint="Recode answer labels to scale points first")
            bad = values.notna() & ~values.between(item.scale.min, item.scale.max)
            if bool(bad.any()):
                pos = np.flatnonzero(bad.to_numpy())
                raise OutOfRangeError("cannot reverse-code values off the item's scale", column=col,
                                      rows=[int(p) + 1 for p in pos],
                                      values=[_clean_number(v) for v in values.iloc[pos]],
                                      expected=item.scale.expected(),
                                      hint="Turn missing-value codes into NaN first")
            out[col] = item.scale.reverse(values) if not pd.api.types.is_integer_dtype(
                out[col].dtype) else item.scale.reverse(out[col])
        return out

    # -- serialisation (connection.data._codebook) ---------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping, *, source: str | os.PathLike | None = None) -> Instrument:
        """Build and validate an instrument from a codebook dictionary (see the module docs).

        ``source`` (a file name) is quoted in error messages.
        """
        return _codebook.instrument_from_dict(spec, _model(cls), source=source)

    def to_dict(self) -> dict:
        """The codebook as a plain dictionary; ``Instrument.from_dict(i.to_dict()) == i``."""
        return _codebook.instrument_to_dict(self)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Instrument:
        """Load and validate a codebook from ``.yaml``/``.yml`` or ``.toml``.

        Errors (unreadable file, syntax errors, duplicate keys, invalid entries) raise
        :class:`~connection.errors.InstrumentError` naming the file and the entry.
        """
        return _codebook.read_codebook(path, _model(cls))

    def to_file(self, path: str | os.PathLike) -> Path:
        """Write the codebook as YAML or TOML (by the file suffix), atomically."""
        return _codebook.write_codebook(self, path)

    # -- display -------------------------------------------------------------------------------
    def to_frame(self):
        """One row per item: construct, item, label, wording, scale_min, scale_max, reverse,
        missing, facet.

        >>> from connection import instruments
        >>> instruments.default().to_frame().query("reverse")["item"].tolist()
        ['loy_switch']
        """
        import pandas as pd

        rows = [{
            "construct": item.construct, "item": item.id, "label": item.short,
            "wording": item.wording, "scale_min": item.scale.min, "scale_max": item.scale.max,
            "reverse": item.reverse, "missing": ", ".join(_fmt(m) for m in item.missing),
            "facet": item.facet,
        } for item in self.items.values()]
        return pd.DataFrame(rows, columns=["construct", "item", "label", "wording", "scale_min",
                                           "scale_max", "reverse", "missing", "facet"])

    def summary(self) -> Report:
        """An overview as a :class:`~connection._report.Report`: size, then one row per
        construct (number of items, scale range, reverse-keyed items, item ids), the scales with
        their labels, the variables that are not items and the cited sources (``print()`` it;
        Jupyter shows it as HTML)."""
        import pandas as pd

        from connection._report import Report

        head = f"Instrument {self.name!r}" + (f" (version {self.version})" if self.version else "")
        report = Report(head, header=[
            ("Constructs", len(self.constructs)), ("Items", len(self.items)),
            ("Reverse-keyed", ", ".join(self.reverse_items) or "none"),
            *([("Survey weight", self.weights)] if self.weights else [])])
        report.add_table(pd.DataFrame([{
            "construct": name, "n_items": len(c),
            "scale": ", ".join(dict.fromkeys(_range_text(i.scale) for i in c.items)),
            "reverse": ", ".join(i.id for i in c.items if i.reverse),
            "items": ", ".join(c.item_ids)}
            for name, c in self.constructs.items()],
            columns=["construct", "n_items", "scale", "reverse", "items"]), caption="Constructs")
        scales: dict[str, list[str]] = {}
        for name, c in self.constructs.items():
            for item in c.items:
                users = scales.setdefault(item.scale.describe(), [])
                if name not in users:
                    users.append(name)
        report.add_table(pd.DataFrame({"scale": list(scales),
                                       "constructs": [", ".join(v) for v in scales.values()]}),
                         caption="Scales")
        if self.variables:
            report.add_table(pd.DataFrame([{
                "variable": n, "type": v.type, "role": v.role or "",
                "missing": ", ".join(_fmt(c) for c in v.missing)}
                for n, v in self.variables.items()],
                columns=["variable", "type", "role", "missing"]), caption="Variables (not items)")
        if self.sources:
            report.add_table(pd.DataFrame({"source": list(self.sources),
                                           "citation": list(self.sources.values())}),
                             caption="Sources")
        return report

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


# --------------------------------------------------------------------------------------------
# the validation steps of Instrument
# --------------------------------------------------------------------------------------------
def _index_constructs(values: list) -> tuple[dict[str, Construct], dict[str, str]]:
    """``{name: Construct}`` and ``{item id: construct name}``; every construct and item once."""
    by_name: dict[str, Construct] = {}
    owner: dict[str, str] = {}
    for c in values:
        if not isinstance(c, Construct):
            raise InstrumentError("a construct is not a Construct", values=[type(c).__name__])
        if c.name in by_name:
            raise InstrumentError(f"duplicate construct name {c.name!r}", values=[c.name],
                                  expected="each construct once")
        by_name[c.name] = c
        for item in c.items:
            if item.id in owner:
                raise InstrumentError(
                    f"duplicate item id {item.id!r} in constructs {owner[item.id]!r} and {c.name!r}",
                    values=[item.id], expected="each item id once in the instrument")
            owner[item.id] = c.name
    return by_name, owner


def _check_item_and_facet_names(values: list, names: set[str], owner: dict[str, str]) -> None:
    """No item is named like a construct; a facet is named like no construct or item, and lies
    within one construct."""
    facets: dict[str, str] = {}
    for c in values:
        for item in c.items:
            if item.id in names:
                raise InstrumentError(f"item id {item.id!r} (construct {c.name!r}) is also a "
                                      "construct name", values=[item.id],
                                      expected="distinct item and construct names",
                                      hint=_rename_hint(item.id, item.id))
            if item.facet is None:
                continue
            if item.facet in names or item.facet in owner:
                raise InstrumentError(
                    f"item {item.id!r}: facet {item.facet!r} is also a construct or item name",
                    values=[item.facet], expected="a distinct facet name")
            if facets.setdefault(item.facet, c.name) != c.name:
                raise InstrumentError(
                    f"facet {item.facet!r} is used in constructs {facets[item.facet]!r} "
                    f"and {c.name!r}", values=[item.facet], expected="a facet within one construct")


def _checked_sources(sources: Mapping | None, values: list) -> dict[str, str]:
    """``{key: citation}`` with text citations; every key a construct cites is there."""
    sources = dict(sources or {})
    for key, text in sources.items():
        if not isinstance(key, str) or not isinstance(text, str) or not text.strip():
            raise InstrumentError(f"source {key!r}: citation is empty or not text", values=[text])
    for c in values:
        for key in c.sources:
            if key not in sources:
                raise InstrumentError(f"construct {c.name!r} cites unknown source {key!r}",
                                      values=[key], expected="a key of the instrument's sources",
                                      hint=_did_you_mean(key, sources))
    return sources


def _check_weights_variable(weights: Any, variables: Mapping[str, Variable]) -> None:
    """``weights`` (the survey weight) is None or names a declared variable with role weight."""
    if weights is None:
        return
    if not isinstance(weights, str) or not weights.strip():
        raise InstrumentError("weights must name a variable (text)", values=[weights],
                              expected="the name of a variable declared with role: weight")
    var = variables.get(weights)
    if var is None:
        raise InstrumentError(f"weights names {weights!r}, which is not declared under "
                              "variables", values=[weights],
                              expected="one of the variables with role: weight",
                              hint=f"Declare it: variables: {{{weights}: {{type: numeric, role: "
                                   "weight}}}" + (f" ({_did_you_mean(weights, variables)})"
                                                   if _did_you_mean(weights, variables) else ""))
    if var.role != "weight":
        raise InstrumentError(f"weights names variable {weights!r}, whose role is not weight",
                              values=[var.role], expected="role: weight",
                              hint=f"Give {weights!r} role: weight in the codebook")


def _index_variables(variables: Any, taken: set[str]) -> dict[str, Variable]:
    """``{name: Variable}``: each once, none named like an item or construct (``taken``)."""
    variables = variables if variables is not None else {}
    if isinstance(variables, Mapping):
        for key, v in variables.items():
            if isinstance(v, Variable) and key != v.name:
                raise InstrumentError(f"variable stored under {key!r} is named {v.name!r}",
                                      values=[key, v.name])
        variables = list(variables.values())
    by_var: dict[str, Variable] = {}
    for v in variables:
        if not isinstance(v, Variable):
            raise InstrumentError("a variable is not a Variable", values=[type(v).__name__])
        if v.name in by_var:
            raise InstrumentError(f"duplicate variable name {v.name!r}", values=[v.name])
        if v.name in taken:
            raise InstrumentError(
                f"variable {v.name!r} is also an item or construct name", values=[v.name],
                expected="variables that are not items",
                hint="Items get their scale and missing codes under constructs: remove the "
                     "variable entry")
        by_var[v.name] = v
    return by_var


def _range_text(scale: Scale) -> str:
    return f"{_fmt(scale.min)}-{_fmt(scale.max)}" + ("" if scale.integer else " (continuous)")


def _model(instrument_class: type[Instrument]) -> _codebook.Model:
    """The classes :mod:`connection.data._codebook` builds a codebook into."""
    return _codebook.Model(instrument=instrument_class, construct=Construct, item=Item,
                           scale=Scale, variable=Variable, normalise_missing=_normalise_missing)
