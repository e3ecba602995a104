"""Codebook files: YAML/TOML text <-> dictionaries <-> instruments.

The codebook *format* lives here; the model it describes (:class:`Scale`, :class:`Item`,
:class:`Construct`, :class:`Variable`, :class:`Instrument`) lives in
:mod:`connection.data._instrument`, whose ``from_file``/``to_file``/``from_dict``/``to_dict`` are
thin delegations to :func:`read_codebook`, :func:`write_codebook`, :func:`instrument_from_dict`
and :func:`instrument_to_dict`. The classes reach this module as a :class:`Model` (the classes to
build with), so the import graph stays one-way: ``_instrument`` imports this module, never the
reverse. The layout of a codebook is documented in :mod:`connection.data._instrument`.

Reading is defensive:

- a file must be UTF-8 ``.yaml``/``.yml``/``.toml``;
- YAML is read with a safe loader that refuses anchors and aliases (``&name``/``*name``: a few
  hundred bytes of nested aliases expand to gigabytes) before anything is expanded, refuses a key
  given twice in a table, and caps nesting at :data:`MAX_DEPTH` levels (so does the dictionary
  check, for TOML and for dictionaries built in Python);
- every key is checked against the keys its table may have (with a "did you mean");
- every problem is an :class:`~connection.errors.InstrumentError` naming the file and the entry.

Examples
--------
>>> try:
...     _parse_yaml("name: t\\nscale: &s {min: 1, max: 5}\\n", "book.yaml")
... except InstrumentError as err:
...     print(err.message)
YAML anchor (&s) on line 2: aliases and anchors are not allowed in codebooks
>>> print(_to_toml({"name": "t", "constructs": {"c": {"items": [{"id": "a"}, {"id": "b"}]}}}))
name = "t"
<BLANKLINE>
[constructs]
<BLANKLINE>
[constructs.c]
<BLANKLINE>
[[constructs.c.items]]
id = "a"
<BLANKLINE>
[[constructs.c.items]]
id = "b"
<BLANKLINE>
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from connection.errors import InstrumentError

__all__ = ["MAX_DEPTH", "Model", "read_codebook", "write_codebook", "instrument_from_dict",
           "instrument_to_dict", "SUFFIXES"]

MAX_DEPTH = 12   # nesting levels a codebook may use (the documented layout needs 6)
SUFFIXES = (".yaml", ".yml", ".toml")

_INSTRUMENT_KEYS = ("name", "version", "description", "sources", "defaults", "scales", "constructs",
                    "variables", "weights")
_DEFAULT_KEYS = ("missing", "scale")
_CONSTRUCT_KEYS = ("label", "description", "stem", "scale", "missing", "sources", "items")
_ITEM_KEYS = ("id", "wording", "label", "scale", "reverse", "missing", "facet")
_SCALE_KEYS = ("min", "max", "labels", "integer")
_VARIABLE_KEYS = ("type", "role", "label", "missing", "values", "min", "max", "integer")


# --------------------------------------------------------------------------------------------
# small helpers shared with the model classes
# --------------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _clean_number(value: Any) -> int | float:
    """Python int for integral values (1.0 -> 1), float otherwise."""
    value = float(value) if not isinstance(value, int) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _check_depth(spec: Any, file: str | None, limit: int = MAX_DEPTH) -> None:
    """Refuse structures nested deeper than ``limit`` (or cyclic) before anything walks them."""
    stack = [(spec, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children = list(node.values())
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            continue
        if depth > limit:
            raise InstrumentError(f"codebook is nested more than {limit} levels deep", file=file,
                                  expected=f"at most {limit} levels (the codebook layout needs 6)",
                                  hint="Check the indentation, or for a structure that refers to "
                                       "itself")
        stack.extend((child, depth + 1) for child in children)


def _check_keys(entry: str, body: Mapping, allowed: Sequence[str], file: str | None) -> None:
    if not isinstance(body, Mapping):
        raise InstrumentError(f"{entry} must be a table of keys", file=file,
                              values=[type(body).__name__], expected=f"keys among {', '.join(allowed)}")
    for key in body:
        if key not in allowed:
            raise InstrumentError(f"{entry}: unknown key {key!r}", file=file,
                                  expected="one of " + ", ".join(allowed),
                                  hint=_did_you_mean(key, allowed))


def _with_file(err: InstrumentError, file: str | None, message: str | None = None,
               rows: bool = False) -> InstrumentError:
    """``err`` again with the file (and optionally another message) filled in."""
    return InstrumentError(err.message if message is None else message, file=file,
                           rows=err.rows if rows else None, values=err.values,
                           expected=err.expected, hint=err.hint)


class Model(NamedTuple):
    """The classes a codebook dictionary is built into (given by :mod:`._instrument`)."""

    instrument: Callable[..., Any]
    construct: Callable[..., Any]
    item: Callable[..., Any]
    scale: Callable[..., Any]
    variable: Callable[..., Any]
    normalise_missing: Callable[..., tuple]


# --------------------------------------------------------------------------------------------
# the YAML loader
# --------------------------------------------------------------------------------------------
class _UniqueKeyLoader:
    """A PyYAML SafeLoader that refuses duplicate keys (plain PyYAML keeps the last silently)."""

    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import yaml

            class Loader(yaml.SafeLoader):
                # Aliases (*name) and anchors (&name) are refused while the document is composed,
                # before anything is expanded: a few hundred bytes of nested aliases ("billion
                # laughs") would otherwise cost minutes and gigabytes. Nesting is capped too.
                _depth = 0

                def compose_node(self, parent, index):
                    event = self.peek_event()
                    mark = event.start_mark
                    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                        kind = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                        raise InstrumentError(
                            f"YAML {kind} ({'*' if kind == 'alias' else '&'}{event.anchor}) on "
                            f"line {mark.line + 1}: aliases and anchors are not allowed in "
                            "codebooks", expected="every value written out where it is used",
                            hint="Write the shared part out in each place, or use a named scale "
                                 "(scales: ...) and defaults: for what items share")
                    if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                        if self._depth >= MAX_DEPTH:
                            raise InstrumentError(
                                f"codebook is nested more than {MAX_DEPTH} levels deep (line "
                                f"{mark.line + 1})",
                                expected=f"at most {MAX_DEPTH} levels (the codebook layout needs 6)",
                                hint="Check the indentation")
                        self._depth += 1
                        try:
                            return super().compose_node(parent, index)
                        finally:
                            self._depth -= 1
                    return super().compose_node(parent, index)

            def construct_mapping(loader, node, deep=False):
                loader.flatten_mapping(node)
                seen: dict = {}
                for key_node, _value_node in node.value:
                    key = loader.construct_object(key_node, deep=deep)
                    try:
                        hash(key)
                    except TypeError:
                        mark = key_node.start_mark
                        raise InstrumentError(f"a key on line {mark.line + 1} is a "
                                              f"{type(key).__name__}, not text",
                                              expected="names as keys") from None
                    if key in seen:
                        mark = key_node.start_mark
                        raise InstrumentError(
                            f"duplicate key {key!r} (line {mark.line + 1}; first on line "
                            f"{seen[key] + 1})", expected="each key once in a table")
                    seen[key] = key_node.start_mark.line
                return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

            Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
            cls._cls = Loader
        return cls._cls


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InstrumentError("codebook file type not recognised", file=str(path),
                              values=[path.suffix], expected="a .yaml, .yml or .toml file")
    return suffix


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InstrumentError(f"cannot read the codebook ({err.strerror or err})",
                              file=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InstrumentError(f"codebook is not UTF-8 text (byte {err.start})",
                              file=str(path), expected="a UTF-8 encoded file") from None


def _parse_toml(text: str, file: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InstrumentError(f"TOML syntax error: {err}", file=file) from None
    except RecursionError:
        raise InstrumentError("codebook is nested too deeply to read", file=file,
                              expected=f"at most {MAX_DEPTH} levels") from None


def _parse_yaml(text: str, file: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_UniqueKeyLoader.get())  # noqa: S506 (SafeLoader)
    except InstrumentError as err:
        raise _with_file(err, file, rows=True) from None
    except yaml.YAMLError as err:
        raise InstrumentError(f"YAML syntax error: {err}".replace("\n", " "), file=file) from None


def read_codebook_spec(path: str | os.PathLike) -> dict:
    """The dictionary a ``.yaml``/``.yml``/``.toml`` codebook file holds (read, not validated)."""
    path = Path(path)
    suffix = _suffix(path)
    text = _read_text(path)
    parse = _parse_toml if suffix == ".toml" else _parse_yaml
    spec = parse(text, str(path))
    if not isinstance(spec, Mapping):
        raise InstrumentError("codebook is empty or not a table of keys", file=str(path),
                              expected="keys name and constructs at the top level")
    return spec


def read_codebook(path: str | os.PathLike, model: Model) -> Any:
    """Load and validate a codebook file into ``model.instrument`` (see :meth:`Instrument.from_file
    <connection.data.Instrument.from_file>`)."""
    spec = read_codebook_spec(path)
    return instrument_from_dict(spec, model, source=str(path))


def write_codebook(instrument: Any, path: str | os.PathLike) -> Path:
    """Write ``instrument`` as YAML or TOML (by the file suffix), atomically."""
    from connection._io import write_text

    path = Path(path)
    suffix = path.suffix.lower()
    spec = instrument_to_dict(instrument)
    if suffix in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    elif suffix == ".toml":
        text = _to_toml(spec)
    else:
        raise InstrumentError("codebook file type not recognised", file=str(path),
                              values=[path.suffix], expected="a .yaml, .yml or .toml file")
    return write_text(path, text)


# --------------------------------------------------------------------------------------------
# dictionary -> instrument, in named steps
# --------------------------------------------------------------------------------------------
@dataclass
class _Reading:
    """What the steps of building an instrument from a codebook dictionary share."""

    model: Model
    file: str | None
    scales: dict[str, Any] = field(default_factory=dict)   # the named scales
    default_scale: Any = None
    default_missing: Any = None


def instrument_from_dict(spec: Mapping, model: Model, *, source: str | os.PathLike | None = None):
    """Build and validate an instrument from a codebook dictionary; ``source`` (a file name) is
    quoted in error messages."""
    file = None if source is None else str(source)
    _check_keys("instrument", spec, _INSTRUMENT_KEYS, file)
    _check_depth(spec, file)
    try:
        return _build(spec, _Reading(model, file))
    except InstrumentError as err:
        if file is not None and err.file is None:
            raise _with_file(err, file) from None
        raise


def _build(spec: Mapping, reading: _Reading):
    file = reading.file
    name = spec.get("name")
    if name is None:
        raise InstrumentError("instrument has no name", file=file, expected="a 'name' key")
    defaults = spec.get("defaults") or {}
    _check_keys("defaults", defaults, _DEFAULT_KEYS, file)
    sources = _sources(spec, file)
    reading.scales = _named_scales(spec, reading)
    reading.default_scale = _resolve_scale(reading, defaults.get("scale"), "defaults")
    reading.default_missing = defaults.get("missing")
    constructs = [_construct(reading, cname, body)
                  for cname, body in _constructs_spec(spec, name, file).items()]
    variables = [_variable(reading, vname, body)
                 for vname, body in _variables_spec(spec, file).items()]
    version = spec.get("version")
    return reading.model.instrument(
        name=name, constructs=constructs, version=None if version is None else str(version),
        description=spec.get("description"), sources=dict(sources), variables=variables,
        weights=spec.get("weights"))


def _sources(spec: Mapping, file: str | None) -> Mapping:
    sources = spec.get("sources") or {}
    if not isinstance(sources, Mapping):
        raise InstrumentError("sources must be a table of key: citation", file=file,
                              values=[type(sources).__name__])
    return sources


def _named_scales(spec: Mapping, reading: _Reading) -> dict[str, Any]:
    scales_spec = spec.get("scales") or {}
    if not isinstance(scales_spec, Mapping):
        raise InstrumentError("scales must be a table of name: scale", file=reading.file,
                              values=[type(scales_spec).__name__])
    named: dict[str, Any] = {}
    for sname, body in scales_spec.items():
        _check_keys(f"scale {sname!r}", body, _SCALE_KEYS, reading.file)
        named[sname] = _scale(reading, body, f"scale {sname!r}", name=str(sname))
    return named


def _scale(reading: _Reading, body: Mapping, entry: str, name: str | None = None):
    for key in ("min", "max"):
        if key not in body:
            raise InstrumentError(f"{entry} has no {key!r}", file=reading.file,
                                  expected="min and max")
    try:
        return reading.model.scale(min=body["min"], max=body["max"],
                                   labels=body.get("labels") or {},
                                   integer=body.get("integer", True), name=name)
    except InstrumentError as err:
        msg = err.message
        if not msg.startswith(entry):
            msg = f"{entry}: " + msg.split(": ", 1)[-1]
        raise _with_file(err, reading.file, msg) from None


def _resolve_scale(reading: _Reading, value: Any, entry: str):
    """A scale given by name (one of ``scales:``) or as a table; ``None`` when not given."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in reading.scales:
            raise InstrumentError(f"{entry}: unknown scale {value!r}", file=reading.file,
                                  values=[value],
                                  expected="a name under 'scales' or a table with min and max",
                                  hint=_did_you_mean(value, reading.scales))
        return reading.scales[value]
    _check_keys(f"{entry}: scale", value, _SCALE_KEYS, reading.file)
    return _scale(reading, value, f"{entry}: scale")


def _constructs_spec(spec: Mapping, name: Any, file: str | None) -> Mapping:
    constructs_spec = spec.get("constructs")
    if constructs_spec is not None and not isinstance(constructs_spec, Mapping):
        raise InstrumentError("constructs must be a table of name: construct", file=file,
                              values=[type(constructs_spec).__name__],
                              expected="constructs: {connection: {items: [...]}, ...}")
    if not constructs_spec:
        raise InstrumentError(f"instrument {name!r} has no constructs", file=file,
                              expected="a 'constructs' table with at least one construct")
    return constructs_spec


def _construct(reading: _Reading, cname: Any, body: Mapping):
    file = reading.file
    entry = f"construct {cname!r}"
    _check_keys(entry, body, _CONSTRUCT_KEYS, file)
    c_scale = _resolve_scale(reading, body.get("scale"), entry) or reading.default_scale
    c_missing = body.get("missing", reading.default_missing)
    items_spec = body.get("items")
    if items_spec is None or (isinstance(items_spec, Sequence) and not items_spec):
        raise InstrumentError(f"{entry} has no items", file=file, expected="at least one item")
    if isinstance(items_spec, str) or not isinstance(items_spec, Sequence):
        raise InstrumentError(f"{entry}: items must be a list", file=file,
                              values=[type(items_spec).__name__])
    items = [_item(reading, entry, cname, k, ispec, c_scale, c_missing)
             for k, ispec in enumerate(items_spec, start=1)]
    if not isinstance(cname, str):
        raise InstrumentError("construct name is not text", file=file, values=[cname])
    return reading.model.construct(
        name=cname, items=tuple(items), label=body.get("label"),
        description=body.get("description"), stem=body.get("stem"),
        sources=body.get("sources") or ())


def _item(reading: _Reading, entry: str, cname: Any, k: int, ispec: Any, c_scale: Any,
          c_missing: Any):
    file = reading.file
    ientry = f"{entry}, item {k}"
    if isinstance(ispec, Mapping) and "id" in ispec:
        ientry = f"{entry}, item {ispec['id']!r}"
    _check_keys(ientry, ispec, _ITEM_KEYS, file)
    if "id" not in ispec:
        raise InstrumentError(f"{ientry} has no 'id'", file=file,
                              expected="an 'id' key (the data column)")
    scale = _resolve_scale(reading, ispec.get("scale"), ientry) or c_scale
    if scale is None:
        raise InstrumentError(f"{ientry} has no scale", file=file,
                              expected="a scale on the item, its construct or in defaults")
    try:
        return reading.model.item(
            id=ispec["id"], wording=ispec.get("wording", ""), scale=scale,
            reverse=ispec.get("reverse", False),
            missing=reading.model.normalise_missing(ispec.get("missing", c_missing), ientry,
                                                    scale, file),
            construct=str(cname), label=ispec.get("label"), facet=ispec.get("facet"))
    except InstrumentError as err:
        if err.message.startswith(("item ", ientry)):
            raise
        raise _with_file(err, file, f"{ientry}: {err.message}") from None


def _variables_spec(spec: Mapping, file: str | None) -> Mapping:
    variables_spec = spec.get("variables")
    if variables_spec is None:
        variables_spec = {}
    if not isinstance(variables_spec, Mapping):
        raise InstrumentError("variables must be a table of name: variable", file=file,
                              values=[type(variables_spec).__name__],
                              expected="variables: {age: {type: numeric, missing: [-99]}, ...}")
    return variables_spec


def _variable(reading: _Reading, vname: Any, body: Mapping):
    entry = f"variable {vname!r}"
    _check_keys(entry, body, _VARIABLE_KEYS, reading.file)
    vtype = body.get("type", "numeric")
    missing = body.get("missing")
    if missing is None and "missing" not in body and vtype in ("numeric", "categorical"):
        missing = reading.default_missing   # defaults: missing applies unless the entry says
    try:
        return reading.model.variable(
            name=vname, type=vtype, missing=missing, role=body.get("role"),
            label=body.get("label"), values=body.get("values"), min=body.get("min"),
            max=body.get("max"), integer=body.get("integer", False))
    except InstrumentError as err:
        msg = err.message if err.message.startswith(entry) else f"{entry}: {err.message}"
        raise _with_file(err, reading.file, msg) from None


# --------------------------------------------------------------------------------------------
# instrument -> dictionary
# --------------------------------------------------------------------------------------------
def instrument_to_dict(instrument: Any) -> dict:
    """The codebook as a plain dictionary; ``instrument_from_dict(instrument_to_dict(i)) == i``."""
    named = _named_scales_of(instrument)
    missing_sets = {tuple(i.missing) for i in instrument.items.values()}
    common_missing = next(iter(missing_sets)) if len(missing_sets) == 1 else None
    out: dict[str, Any] = {"name": instrument.name}
    if instrument.version is not None:
        out["version"] = instrument.version
    if instrument.description is not None:
        out["description"] = instrument.description
    if instrument.sources:
        out["sources"] = dict(instrument.sources)
    if common_missing:
        out["defaults"] = {"missing": list(common_missing)}
    if named:
        out["scales"] = {n: s.to_dict() for n, s in named.items()}
    default = common_missing if common_missing is not None else ()
    out["constructs"] = {cname: _construct_dict(c, default)
                         for cname, c in instrument.constructs.items()}
    if instrument.variables:
        out["variables"] = {n: v.to_dict() for n, v in instrument.variables.items()}
    if instrument.weights is not None:
        out["weights"] = instrument.weights
    return out


def _named_scales_of(instrument: Any) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for item in instrument.items.values():
        s = item.scale
        if s.name is not None:
            if s.name in named and named[s.name] != s:
                raise InstrumentError(f"two different scales are both named {s.name!r}",
                                      values=[s.name])
            named[s.name] = s
    return named


def _construct_dict(c: Any, default_missing: tuple) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in ("label", "description", "stem"):
        if getattr(c, key) is not None:
            body[key] = getattr(c, key)
    if c.sources:
        body["sources"] = list(c.sources)
    scales = {i.scale for i in c.items}
    shared = next(iter(scales)) if len(scales) == 1 else None
    if shared is not None:
        body["scale"] = shared.name if shared.name else shared.to_dict()
    body["items"] = [i.to_dict(scale_as=False if shared is not None else None,
                               missing_default=default_missing) for i in c.items]
    return body


# --------------------------------------------------------------------------------------------
# a small TOML writer for codebooks (tomllib reads TOML; the standard library cannot write it)
# --------------------------------------------------------------------------------------------
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: Any) -> str:
    key = _fmt(key) if _is_number(key) else str(key)
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_table_array(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and bool(value)
            and all(isinstance(v, Mapping) for v in value))


def _toml_table(path: list[str], table: Mapping, out: list[str]) -> None:
    simple = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    for key, value in simple:
        out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        sub = [*path, _toml_key(key)]
        if isinstance(value, Mapping):
            out.extend(["", "[" + ".".join(sub) + "]"])
            _toml_table(sub, value, out)
        elif _is_table_array(value):
            for element in value:
                out.extend(["", "[[" + ".".join(sub) + "]]"])
                for k, v in element.items():  # nested tables inside array elements stay inline
                    out.append(f"{_toml_key(k)} = {_toml_value(v)}")


def _to_toml(spec: Mapping) -> str:
    out: list[str] = []
    _toml_table([], spec, out)
    return "\n".join(out).lstrip("\n") + "\n"
