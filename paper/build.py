#!/usr/bin/env python3
"""Build the manuscript from study outputs: every number, table and figure comes from ``results/``.

::

    python paper/build.py [--results DIR] [--out paper/build] [--source paper/manuscript.md]
    python paper/build.py --check [--results DIR] [--out paper/build]   # is the built paper stale?

The source (``paper/manuscript.md``) is Markdown with four kinds of generated content:

``{{ social_moms:calibration.max_abs_diff | .1f }}``
    a number from ``<results>/social_moms/numbers.json`` (dotted key), formatted by a Python
    format spec or one of ``int``, ``pct``/``pct1`` (a proportion as a percentage), ``p``
    (a p-value as "p = 0.012" / "p < 0.001"), ``times`` ("2.3x"), ``sig2``/``sig3``,
    ``yesno:TEXT_IF_TRUE,TEXT_IF_FALSE``, ``str``; ``... or:TEXT`` prints TEXT for a null value, ``abs SPEC`` the absolute value, and a spec with
    ``{}`` is a template (``"from {:.1f} on or:never"``).
``{{ manifest social_moms:seed }}``
    a value from the study's ``manifest.json`` (seed, git.commit, config.study.n, ...).
``::: figure social_moms:calibration {#fig-calibration width=column}`` ... ``:::``
    a figure from ``<results>/social_moms/figures/calibration.png`` (HTML) / ``.pdf`` (PDF),
    with the enclosed text as its caption; ``figure script:NAME`` runs ``paper/figures/NAME.py``.
``::: table social_moms:calibration {#tab-cal columns="item:Item,published:Published (%)" ...}``
    a table from ``<results>/social_moms/tables/calibration.csv``; attributes ``columns``
    (order and labels), ``formats`` ("col:.1f,col2:pct"), ``format`` (default for floats),
    ``where`` (a pandas query), ``sort`` (column names, comma-separated), ``head`` (a whole
    number of rows, at least 1), ``accept_flags`` (the reason rows with flags may be shown).

``@fig-calibration`` / ``@tab-cal`` become "Figure 1" / "Table 1". ``{{ lit 0-100 }}`` marks a
number that is a definition rather than a result (the source is linted for hand-typed numbers).

Outputs in ``--out``: ``paper.html`` (self-contained: CSS inline, figures embedded),
``paper.md`` (the resolved Markdown), ``paper.pdf`` when pandoc and a LaTeX engine are installed,
``figures/`` and ``provenance.json``: the sha256 of every ``numbers.json``, table and figure used,
and every cited value, so ``--check`` (and the test suite) can tell when the paper is stale.
Missing or inconsistent inputs stop the build with a message naming the key or file. The YAML
of the front matter and the bibliography is read as codebooks are: anchors/aliases, deep
nesting and repeated keys are refused.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAPER_DIR = Path(__file__).resolve().parent
ROOT = PAPER_DIR.parent
DEFAULT_SOURCE = PAPER_DIR / "manuscript.md"
DEFAULT_RESULTS = ROOT / "results"
DEFAULT_OUT = PAPER_DIR / "build"
CSS_FILE = PAPER_DIR / "paper.css"
FIGURE_SCRIPTS = PAPER_DIR / "figures"
# xelatex first: it sets any Unicode character the fonts have; pdflatex (texlive-latex-recommended
# alone) is the fallback
LATEX_ENGINES = ("xelatex", "lualatex", "pdflatex")
PDF_PACKAGES_HINT = ("on Debian/Ubuntu: apt-get install pandoc texlive-xetex "
                     "texlive-latex-recommended texlive-fonts-recommended lmodern")

# which script writes each study's results folder (for the "rerun ..." hints)
STUDY_SCRIPTS = {
    "social_moms": "studies/social_moms.py",
    "power_social_moms": "studies/power_social_moms.py",
    "why_like": "studies/why_like.py",
    "perception_gap": "studies/perception_gap.py",
}

PLACEHOLDER = re.compile(r"\{\{\s*(?P<body>.*?)\s*\}\}")
REFERENCE = re.compile(r"(?<![\w@])@(?P<id>(?:fig|tab)-[A-Za-z0-9_-]*[A-Za-z0-9])")
DIRECTIVE = re.compile(r"^:::\s*(?P<kind>figure|table)\s+(?P<source>\S+)\s*(?:\{(?P<attrs>.*)\})?\s*$")
FENCE_END = re.compile(r"^:::\s*$")
CITE_GROUP = re.compile(r"\[(?P<keys>@[A-Za-z][\w-]*(?:\s*;\s*@[A-Za-z][\w-]*)*)\]")
CITE_INLINE = re.compile(r"(?<![\w@\[])@(?!fig-|tab-)(?P<key>[A-Za-z][\w-]*\d{4}[a-z]?)\b")
NUMBER_LIKE = re.compile(r"(?<![\w.#-])[-+]?\d+(?:,\d{3})*(?:\.\d+)?%?")
YEAR = re.compile(r"^(19|20)\d\d$")


MISSING = type("Missing", (), {"__repr__": lambda self: "MISSING"})()  # an absent key (not null)


try:  # the package's typed-error base class, so one ``except`` catches every refusal
    from connection.errors import ConnectionPackageError as _ErrorBase
except ImportError:  # run as a script from a checkout: the package sits beside paper/
    sys.path.insert(0, str(ROOT))
    from connection.errors import ConnectionPackageError as _ErrorBase


class PaperBuildError(_ErrorBase):
    """The manuscript cannot be built from the results as they are; the message says why."""


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PaperBuildError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as err:
        raise PaperBuildError(f"{what} {path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise PaperBuildError(f"cannot read {what} {path} ({err.strerror or err})") from None


def _load_yaml(text: str, what: str) -> Any:
    """YAML read with the codebook reader's loader (:mod:`connection.data._instrument`): aliases and
    anchors are refused before anything is expanded (a few hundred bytes of nested aliases
    would otherwise cost minutes and gigabytes), nesting is capped, and a key given twice is an
    error; every refusal is a PaperBuildError naming ``what`` (the file)."""
    import yaml

    from connection.data._instrument import MAX_DEPTH, _UniqueKeyLoader
    from connection.errors import InstrumentError

    try:
        return yaml.load(text, Loader=_UniqueKeyLoader.get())  # noqa: S506 (a SafeLoader)
    except InstrumentError as err:
        # its messages speak of codebooks: keep what and where, say it for this file
        detail = err.message.split(": aliases and anchors are not allowed")[0]
        detail = detail.replace("codebook is nested", "nested")
        raise PaperBuildError(
            f"{what} is refused: {detail}; it must be plain YAML: every value written out where "
            f"it is used (no &anchor or *alias), at most {MAX_DEPTH} levels deep, each key once "
            "in a mapping") from None
    except yaml.YAMLError as err:
        raise PaperBuildError(f"{what} is not valid YAML ({' '.join(str(err).split())})") \
            from None


def _read_json(path: Path, what: str) -> Any:
    """A JSON file's content; a missing, unreadable, undecodable or invalid file is a
    PaperBuildError naming it."""
    text = _read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PaperBuildError(f"{what} {path} is not valid JSON ({err.msg}, line {err.lineno} "
                              f"column {err.colno}): rerun the step that writes it") from None


class StaleResultsError(PaperBuildError):
    """Results were produced from another configuration, or mix outputs of different runs."""


__all__ = ["build", "check", "PaperBuildError", "StaleResultsError", "format_value",
           "lint_hand_typed_numbers", "parse_source", "Chunk", "Block"]


# ----------------------------------------------------------------------------- formatting
def _sig(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    return f"{value:,.{decimals}f}"


def format_value(value: Any, spec: str | None = None) -> str:
    """Format a value from numbers.json for the text.

    >>> format_value(0.5432, "pct")
    '54%'
    >>> format_value(0.5432, "pct1")
    '54.3%'
    >>> format_value(0.00004, "p"), format_value(0.0123, "p")
    ('p < 0.001', 'p = 0.012')
    >>> format_value(20000), format_value(12.345), format_value(0.01234)
    ('20,000', '12.3', '0.0123')
    >>> format_value(True, "yesno:holds,does not hold")
    'holds'
    >>> format_value(2.345, "times"), format_value(3.14159, ".2f")
    ('2.3x', '3.14')
    >>> format_value(None, ".1f or:never"), format_value(0.1, ".1f or:never")
    ('never', '0.1')
    >>> format_value(-0.92, "abs .2f"), format_value(0.3, "from {:.1f} or:never")
    ('0.92', 'from 0.3')
    >>> format_value(0.003, "below 0.05:rejects,does not reject")
    'rejects'
    >>> format_value(0.2, "below 0.05:rejects,does not reject")
    'does not reject'
    """
    spec = (spec or "").strip()
    fallback = re.match(r"^(?P<main>.*?)\s*(?<![\w:])or:(?P<text>.*)$", spec)
    if fallback and not spec.startswith(("yesno:", "below ")):
        if _is_null(value):
            return fallback["text"].strip()
        spec = fallback["main"]
    if spec.startswith("abs ") or spec == "abs":
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = abs(value)
        spec = spec[3:].strip()
    if "{" in spec:  # a template: "breaks from {:.1f}"
        try:
            return spec.format(value)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"bad template {spec!r}: {exc}") from None
    below = re.match(r"^below\s+(?P<cut>[-+0-9.eE]+):(?P<text>.*)$", spec)
    if below:  # a verdict worded from a number: "below 0.05:rejects,does not reject"
        if _is_null(value) or isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"format 'below' needs a finite number, got {value!r}")
        yes, _, no = below["text"].partition(",")
        return yes if value < float(below["cut"]) else no
    if spec.startswith("yesno:"):
        yes, _, no = spec[len("yesno:"):].partition(",")
        if not isinstance(value, bool):
            raise ValueError(f"format 'yesno' needs a true/false value, got {value!r}")
        return yes if value else no
    if spec == "str" or isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return ", ".join(format_value(v, spec) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_null(value):
        raise ValueError("the value is null or not finite")
    if not isinstance(value, int | float):
        raise ValueError(f"cannot format a {type(value).__name__} as a number")
    return _format_number(value, spec)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _format_number(value: int | float, spec: str) -> str:
    """A finite number by one of format_value's named specs or a Python format spec."""
    if spec == "":
        if isinstance(value, int):
            return f"{value:,}"
        return _sig(value, 3) if abs(value) < 1000 else f"{value:,.0f}"
    if spec == "int":
        return f"{round(value):,}"
    if spec in {"pct", "pct0", "pct1", "pct2"}:
        decimals = 0 if spec in {"pct", "pct0"} else int(spec[-1])
        return f"{value * 100:.{decimals}f}%"
    if spec in {"pp", "pp0", "pp1"}:  # a difference of proportions, in percentage points
        return f"{value * 100:+.{1 if spec == 'pp1' else 0}f}"
    if spec == "p":
        return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"
    if spec == "pval":  # a p-value in a table cell
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if spec == "times":
        return f"{value:.1f}x"
    if re.fullmatch(r"sig[1-9]", spec):
        return _sig(float(value), int(spec[3:]))
    try:
        return format(value, spec)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad format {spec!r}: {exc}") from None


# ----------------------------------------------------------------------------- source parsing
@dataclass
class Block:
    """A figure or table directive in the source."""

    kind: str  # "figure" | "table"
    source: str
    attrs: dict[str, str]
    caption: str
    line: int
    ident: str | None = None
    number: int = 0


@dataclass
class Chunk:
    """Markdown text between directives, with the source line it starts on."""

    text: str
    line: int


@dataclass
class Source:
    path: Path
    meta: dict[str, Any]
    body: list[Chunk | Block]  # markdown text chunks and directive blocks, in order
    text: str


def _parse_attrs(text: str, where: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise PaperBuildError(f"{where}: cannot parse the attributes {{{text}}}: {exc}") from None
    for token in tokens:
        if token.startswith("#"):
            attrs["id"] = token[1:]
        elif "=" in token:
            key, _, value = token.partition("=")
            attrs[key.strip()] = value
        else:
            raise PaperBuildError(f"{where}: attribute {token!r} is not '#id' or 'key=value'")
    return attrs


def parse_source(path: str | os.PathLike) -> Source:
    """Split the manuscript into front matter, Markdown chunks and figure/table blocks."""

    path = Path(path)
    if not path.exists():
        raise PaperBuildError(f"manuscript source {path} does not exist")
    text = _read_text(path, "manuscript source")
    lines = text.split("\n")
    meta: dict[str, Any] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise PaperBuildError(f"{path}: front matter opened with '---' on line 1 is never "
                                  "closed") from None
        # a blank first line, so that the loader's line numbers are the file's
        meta = _load_yaml("\n" + "\n".join(lines[1:end]), f"the front matter of {path}") or {}
        if not isinstance(meta, dict):
            raise PaperBuildError(f"{path}: the front matter is not a mapping of keys to values")
        start = end + 1
    body: list[Chunk | Block] = []
    chunk: list[str] = []
    chunk_line = start + 1
    i = start
    while i < len(lines):
        match = DIRECTIVE.match(lines[i])
        if match is None:
            if lines[i].startswith(":::"):
                raise PaperBuildError(f"{path} line {i + 1}: {lines[i]!r} is not "
                                      "'::: figure SOURCE {...}' or '::: table SOURCE {...}'")
            chunk.append(lines[i])
            i += 1
            continue
        where = f"{path} line {i + 1}"
        caption_lines = []
        j = i + 1
        while j < len(lines) and not FENCE_END.match(lines[j]):
            caption_lines.append(lines[j])
            j += 1
        if j == len(lines):
            raise PaperBuildError(f"{where}: the {match['kind']} block is never closed by ':::'")
        attrs = _parse_attrs(match["attrs"] or "", where)
        body.append(Chunk("\n".join(chunk), chunk_line))
        chunk = []
        body.append(Block(match["kind"], match["source"], attrs,
                          "\n".join(caption_lines).strip(), i + 2, attrs.get("id")))
        i = j + 1
        chunk_line = i + 1
    body.append(Chunk("\n".join(chunk), chunk_line))
    return Source(path, meta, body, text)


def lint_hand_typed_numbers(text: str) -> list[tuple[int, str]]:
    """Numbers typed into the prose rather than pulled from results.

    Ignored: placeholders, ``{{ lit ... }}``, code, front-matter keys, HTML comments, years
    (1900-2099), ordinals inside words, and everything after a ``# References`` heading.

    >>> lint_hand_typed_numbers("The mean was 4.2 in 2011 and {{ s:x }} later.")
    [(1, '4.2')]
    """
    found = []
    in_front = text.startswith("---\n")
    in_code = False
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for lineno, line in enumerate(text.split("\n"), start=1):
        if lineno == 1 and in_front:
            continue
        if in_front:
            if line.strip() == "---":
                in_front = False
                continue
            line = re.sub(r"^\s*-?\s*[\w-]+:", " ", line)  # keys are names, not numbers
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if re.match(r"^#+\s*References\s*$", line):
            break
        stripped = PLACEHOLDER.sub(" ", line)
        stripped = re.sub(r"`[^`]*`", " ", stripped)
        stripped = REFERENCE.sub(" ", stripped)
        stripped = CITE_GROUP.sub(" ", stripped)
        stripped = CITE_INLINE.sub(" ", stripped)
        stripped = DIRECTIVE.sub(" ", stripped)
        for match in NUMBER_LIKE.finditer(stripped):
            token = match.group(0)
            if YEAR.match(token):
                continue
            found.append((lineno, token))
    return found


# ----------------------------------------------------------------------------- results access
@dataclass
class Results:
    """Read access to ``results/`` that records every value and file the paper uses."""

    root: Path
    repo_root: Path = ROOT
    strict_config: bool = True
    numbers_cache: dict[str, Any] = field(default_factory=dict)
    manifests: dict[str, dict] = field(default_factory=dict)
    used_numbers: dict[str, Any] = field(default_factory=dict)
    used_manifest: dict[str, Any] = field(default_factory=dict)
    used_files: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bibliography: dict[str, dict[str, str]] = field(default_factory=dict)
    bibliography_path: Path | None = None
    cited: list[str] = field(default_factory=list)
    used_flags: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _hint(self, study: str) -> str:
        script = STUDY_SCRIPTS.get(study)
        return f"run `python {script}`" if script else f"run the study that writes {study}/"

    def study_dir(self, study: str) -> Path | None:
        folder = self.root / study
        if not folder.is_dir():
            self.errors.append(f"results folder {folder} does not exist ({self._hint(study)}, "
                               "or pass --results)")
            return None
        return folder

    def manifest(self, study: str) -> dict | None:
        if study in self.manifests:
            return self.manifests[study]
        folder = self.study_dir(study)
        if folder is None:
            return None
        path = folder / "manifest.json"
        if not path.exists():
            self.errors.append(f"{path} is missing: the run of {study} did not finish "
                               f"({self._hint(study)})")
            self.manifests[study] = None
            return None
        try:
            manifest = _read_json(path, "the manifest")
        except PaperBuildError as exc:
            self.errors.append(f"{exc} ({self._hint(study)})")
            manifest = None
        if manifest is not None and not (isinstance(manifest, dict)
                                         and isinstance(manifest.get("outputs"), dict)):
            self.errors.append(f"{path} is not a study manifest (it has no 'outputs' mapping of "
                               f"file -> sha256; {self._hint(study)})")
            manifest = None
        self.manifests[study] = manifest
        if manifest is not None:
            self._check_config(study, manifest)
        return manifest

    def _check_config(self, study: str, manifest: dict) -> None:
        config_path = manifest.get("config_path")
        if not config_path:
            return
        candidate = Path(config_path)
        if not candidate.is_absolute():
            candidate = self.repo_root / candidate
        if not candidate.exists():
            return
        from connection._io import sha256_file

        now = sha256_file(candidate)
        if now != manifest.get("config_sha256"):
            message = (f"results/{study} is stale: it was produced from a configuration with "
                       f"sha256 {str(manifest.get('config_sha256'))[:12]}..., but {candidate} now "
                       f"has sha256 {now[:12]}... ({self._hint(study)} again)")
            (self.errors if self.strict_config else self.warnings).append(message)

    def file(self, study: str, rel: str) -> Path | None:
        """A results file, checked against its study's manifest; its hash is recorded."""
        from connection._io import sha256_file

        folder = self.study_dir(study)
        if folder is None:
            return None
        path = folder / rel
        if not path.exists():
            listing = sorted(p.name for p in path.parent.glob("*")) if path.parent.exists() else []
            self.errors.append(f"{path} does not exist ({self._hint(study)}; files there: "
                               f"{', '.join(listing) if listing else 'none'})")
            return None
        digest = sha256_file(path)
        manifest = self.manifest(study)
        if manifest is not None:
            recorded = manifest["outputs"].get(rel)
            if recorded is None:
                self.errors.append(f"{path} is not listed in {folder / 'manifest.json'}: it was "
                                   f"not written by the run recorded there ({self._hint(study)})")
            elif recorded != digest:
                raise StaleResultsError(
                    f"{path} does not match its manifest (sha256 {digest[:12]}... vs recorded "
                    f"{recorded[:12]}...): results/{study} mixes outputs of different runs; "
                    f"{self._hint(study)} again")
        self.used_files[f"{study}/{rel}"] = digest
        return path

    def numbers(self, study: str) -> dict | None:
        if study not in self.numbers_cache:
            path = self.file(study, "numbers.json")
            numbers = None
            if path is not None:
                try:
                    numbers = _read_json(path, "the numbers file")
                except PaperBuildError as exc:
                    self.errors.append(f"{exc} ({self._hint(study)})")
                if numbers is not None and not isinstance(numbers, dict):
                    self.errors.append(f"{path} does not hold a mapping of numbers "
                                       f"({self._hint(study)})")
                    numbers = None
            self.numbers_cache[study] = numbers
        return self.numbers_cache[study]

    def _flag_check(self, study: str, key: str, numbers: dict, where: str) -> bool:
        """False (and an error) when ``key`` is flagged and the study did not accept it."""
        flags = numbers.get("_flags")
        entry = flags.get(key) if isinstance(flags, dict) else None
        if not isinstance(entry, dict) or not entry.get("flags"):
            return True
        script = STUDY_SCRIPTS.get(study, f"the script that writes {study}/")
        if not entry.get("accepted"):
            self.errors.append(
                f"{where} cites {study}:{key}, which comes from a doubtful solution (flags: "
                f"{entry['flags']}); it may be cited only once the study accepts it: inspect the "
                f"solution, then add study.accept({key!r}, \"why it can be cited\") to {script} "
                "(or do not cite the number)")
            return False
        self.used_flags[f"{study}:{key}"] = {"flags": entry["flags"],
                                             "accepted": entry["accepted"]}
        return True

    def value(self, study: str, key: str, where: str) -> Any:
        numbers = self.numbers(study)
        if numbers is None:
            return MISSING
        node: Any = numbers
        walked = []
        for part in key.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                options = sorted(node) if isinstance(node, dict) else []
                at = ".".join(walked) or "the top level"
                self.errors.append(
                    f"{where} cites {study}:{key}, but {self.root / study / 'numbers.json'} has "
                    f"no key {part!r} under {at}" +
                    (f" (keys there: {', '.join(options[:20])}{', ...' if len(options) > 20 else ''})"
                     if options else ""))
                return MISSING
            walked.append(part)
        if isinstance(node, dict):
            self.errors.append(f"{where} cites {study}:{key}, which is a group of numbers, not one "
                               f"(keys: {', '.join(sorted(node)[:20])})")
            return MISSING
        if not self._flag_check(study, key, numbers, where):
            return MISSING
        self.used_numbers[f"{study}:{key}"] = node
        return node

    def manifest_value(self, study: str, key: str, where: str) -> Any:
        manifest = self.manifest(study)
        if manifest is None:
            return MISSING
        node: Any = manifest
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                self.errors.append(f"{where} cites manifest {study}:{key}, which is not in "
                                   f"{self.root / study / 'manifest.json'}")
                return MISSING
            node = node[part]
        self.used_manifest[f"{study}:{key}"] = node
        return node


# ----------------------------------------------------------------------------- rendering
def _resolve_inline(text: str, results: Results, where: str | tuple[str, int],
                    refs: dict[str, str], draft: bool) -> str:
    """Replace placeholders and references; ``where`` is a label or (file name, first line)."""

    def at(match: re.Match) -> str:
        if isinstance(where, str):
            return where
        name, first = where
        return f"{name} line {first + text.count(chr(10), 0, match.start())}"

    def number(match: re.Match) -> str:
        where = at(match)
        body = match.group("body")
        if body.startswith("lit "):
            return body[4:].strip()
        expr, _, spec = body.partition("|")
        expr = expr.strip()
        manifest = expr.startswith("manifest ")
        if manifest:
            expr = expr[len("manifest "):].strip()
        study, sep, key = expr.partition(":")
        if not sep or not study or not key:
            results.errors.append(f"{where}: placeholder {{{{ {body} }}}} is not 'study:key' "
                                  "(or 'manifest study:key', 'lit TEXT')")
            return "??"
        value = (results.manifest_value(study.strip(), key.strip(), where) if manifest
                 else results.value(study.strip(), key.strip(), where))
        if value is MISSING:
            return f"[missing {study}:{key}]" if draft else "??"
        try:
            return format_value(value, spec)
        except ValueError as exc:
            results.errors.append(f"{where}: {study}:{key} = {value!r}: {exc}")
            return "??"

    def reference(match: re.Match) -> str:
        where = at(match)
        ident = match.group("id")
        if ident not in refs:
            results.errors.append(f"{where}: @{ident} refers to no figure or table "
                                  f"(known: {', '.join(sorted(refs)) or 'none'})")
            return "??"
        return refs[ident]

    def cite_one(key: str, where: str, inline: bool) -> str:
        entry = results.bibliography.get(key)
        if entry is None:
            results.errors.append(f"{where}: @{key} is not in the bibliography "
                                  f"({results.bibliography_path or 'none given'})")
            return "??"
        if key not in results.cited:
            results.cited.append(key)
        return f"{entry['cite']} ({entry['year']})" if inline else f"{entry['cite']}, {entry['year']}"

    def cite_group(match: re.Match) -> str:
        keys = [k.strip().lstrip("@") for k in match.group("keys").split(";")]
        return "(" + "; ".join(cite_one(k, at(match), False) for k in keys) + ")"

    def cite_inline(match: re.Match) -> str:
        return cite_one(match.group("key"), at(match), True)

    text_out = PLACEHOLDER.sub(number, text)
    text_out = CITE_GROUP.sub(cite_group, text_out)
    text_out = CITE_INLINE.sub(cite_inline, text_out)
    return REFERENCE.sub(reference, text_out)


def load_bibliography(path: Path) -> dict[str, dict[str, str]]:
    """``references.yaml``: key -> {cite: "Thomson et al.", year: 2005, text: full reference,
    doi: "10.1207/...", url: "https://...", no_address: why neither is known}; ``doi``, ``url``
    and ``no_address`` are optional, and the reference list links each entry to its DOI
    (``https://doi.org/...``), else its URL."""

    if not path.exists():
        raise PaperBuildError(f"bibliography {path} does not exist")
    data = _load_yaml(_read_text(path, "bibliography"), f"the bibliography {path}") or {}
    if not isinstance(data, dict):
        raise PaperBuildError(f"bibliography {path} is not a mapping of keys to entries")
    out: dict[str, dict[str, str]] = {}
    for key, entry in data.items():
        missing = [f for f in ("cite", "year", "text") if not isinstance(entry, dict) or f not in entry]
        if missing:
            raise PaperBuildError(f"{path}: entry {key!r} lacks {', '.join(missing)}")
        doi, url = str(entry.get("doi") or "").strip(), str(entry.get("url") or "").strip()
        if doi and not re.fullmatch(r"10\.\d{4,9}/\S+", doi):
            raise PaperBuildError(f"{path}: entry {key!r}: doi {doi!r} is not a DOI (10.NNNN/...; "
                                  "without https://doi.org/)")
        if url and not re.fullmatch(r"https?://\S+", url):
            raise PaperBuildError(f"{path}: entry {key!r}: url {url!r} is not an http(s) address")
        out[str(key)] = ({f: str(entry[f]) for f in ("cite", "year", "text")}
                         | {"doi": doi, "url": url,
                            "no_address": " ".join(str(entry.get("no_address") or "").split())})
    return out


def _reference_link(entry: dict[str, str]) -> str:
    if entry.get("doi"):
        return f" <https://doi.org/{entry['doi']}>"
    return f" <{entry['url']}>" if entry.get("url") else ""


def _references_md(results: Results) -> str:
    if not results.cited:
        return ""
    entries = sorted(results.cited, key=lambda k: (results.bibliography[k]["text"].lower()))
    return "\n## References\n\n" + "\n\n".join(
        results.bibliography[k]["text"].rstrip() + _reference_link(results.bibliography[k])
        for k in entries) + "\n"


def _split_pairs(text: str, what: str, where: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, label = item.partition(":")
        if not sep:
            label = key
        pairs.append((key.strip(), label.strip()))
    if not pairs:
        raise PaperBuildError(f"{where}: {what} is empty")
    return pairs


def _table_frame(block: Block, path: Path, labels: dict[str, str], where: str):
    import pandas as pd

    frame = pd.read_csv(path)
    attrs = block.attrs
    if "where" in attrs:
        try:
            frame = frame.query(attrs["where"])
        except Exception as exc:  # noqa: BLE001 - report any query failure with its context
            raise PaperBuildError(f"{where}: where={attrs['where']!r} fails on {path}: "
                                  f"{exc}") from None
    what = f"table {block.source}"
    if "sort" in attrs:
        keys = [c.strip() for c in attrs["sort"].split(",")]
        unknown = [c for c in keys if c not in frame.columns]
        if unknown:
            raise PaperBuildError(
                f"{where}: {what}: sort={attrs['sort']!r}: {path} has no column "
                f"{', '.join(repr(c) for c in unknown)}; sort= takes column names separated by "
                f"commas, from: {', '.join(map(str, frame.columns))}")
        frame = frame.sort_values(keys, kind="stable")
    if "head" in attrs:
        text = attrs["head"].strip()
        if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
            raise PaperBuildError(
                f"{where}: {what}: head={attrs['head']!r} is not a number of rows; head= takes "
                "a whole number of at least 1 (e.g. head=10: the first 10 rows)")
        frame = frame.head(int(text))
    if "flags" in frame.columns and not attrs.get("accept_flags", "").strip():
        # an all-empty flags column is read as float NaN: no fillna("") on it (pandas 4)
        flagged = pd.Series([not pd.isna(v) and str(v).strip() != "" for v in frame["flags"]],
                            index=frame.index, dtype=bool)
        if flagged.any():
            shown = "; ".join(sorted(set(frame.loc[flagged, "flags"].astype(str))))[:300]
            raise PaperBuildError(
                f"{where}: {path} shows {int(flagged.sum())} row(s) from a doubtful solution "
                f"(flags: {shown}); leave them out (e.g. where=\"flags != flags\") or, once "
                "the solution is inspected, say why they may be shown with "
                "accept_flags=\"reason\" on the table block")
    columns = (_split_pairs(attrs["columns"], "columns", where) if "columns" in attrs
               else [(c, c) for c in frame.columns])
    missing = [c for c, _ in columns if c not in frame.columns]
    if missing:
        raise PaperBuildError(f"{where}: {path} has no column(s) {', '.join(missing)} "
                              f"(columns: {', '.join(frame.columns)})")
    formats = dict(_split_pairs(attrs["formats"], "formats", where)) if "formats" in attrs else {}
    default = attrs.get("format", "")
    cells = []
    for _, row in frame.iterrows():
        out = []
        for col, _label in columns:
            value = row[col]
            if isinstance(value, float) and math.isnan(value):
                out.append("–")
            elif isinstance(value, str):
                out.append(labels.get(value, value))
            elif isinstance(value, bool):
                out.append("yes" if value else "no")
            else:
                value = value.item() if hasattr(value, "item") else value
                spec = formats.get(col, default if isinstance(value, float) else "")
                try:
                    out.append(format_value(value, spec))
                except ValueError as exc:
                    raise PaperBuildError(f"{where}: column {col!r} of {path}: {exc}") from None
        cells.append(out)
    header = [labels.get(label, label) for _, label in columns]
    numeric = [frame[c].dtype.kind in "iuf" for c, _ in columns]
    return header, cells, numeric


def _html_table(header, cells, numeric, caption_html, ident) -> str:
    def cls(i):
        return ' class="num"' if numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(header))
    rows = "\n".join("<tr>" + "".join(f"<td{cls(i)}>{html.escape(c)}</td>"
                                      for i, c in enumerate(r)) + "</tr>" for r in cells)
    anchor = f' id="{html.escape(ident)}"' if ident else ""
    return (f'<div class="table-wrap"{anchor}><table>\n<caption>{caption_html}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody></table></div>")


def _md_table(header, cells, numeric, caption_md) -> str:
    def esc(text):
        return text.replace("|", "\\|")

    # pandoc sizes the columns of a wide pipe table by the dashes of the separator line
    columns = list(zip(*cells, strict=False)) if cells else [()] * len(header)
    widths = [max([len(h)] + [len(c) for c in col]) + 3 for h, col in zip(header, columns)]
    widths = [max(w + 2, 11) if n else min(w, 22) for w, n in zip(widths, numeric)]  # text wraps
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join(("-" * (w - 1) + ":") if n else (":" + "-" * (w - 1))
                            for w, n in zip(widths, numeric)) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n\n: " + " ".join(caption_md.split()) + "\n"


def _run_figure_script(name: str, out: Path, results: Results, where: str,
                       scripts: Path = FIGURE_SCRIPTS) -> Path | None:
    """Run ``paper/figures/<name>.py`` (``INPUTS`` = list of "study:relative/path"; ``make(paths)``)."""
    import importlib.util

    script = scripts / f"{name}.py"
    if not script.exists():
        results.errors.append(f"{where}: figure script {script} does not exist")
        return None
    spec = importlib.util.spec_from_file_location(f"paper_figure_{name}", script)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(scripts))  # scripts share helpers in paper/figures/_common.py
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(scripts))
    paths = {}
    for item in getattr(module, "INPUTS", []):
        study, _, rel = item.partition(":")
        path = results.file(study, rel)
        if path is None:
            return None
        paths[item] = path
    from connection.plots import save_figure

    fig = module.make(paths)
    from connection._io import sha256_file

    stem = out / "figures" / f"script-{name}"
    written = save_figure(fig, stem)
    results.used_files[f"@script/{name}.py"] = sha256_file(script)
    common = scripts / "_common.py"
    if common.exists():
        results.used_files["@script/_common.py"] = sha256_file(common)
    return written[0].with_suffix("")


def _theme_css() -> str:
    return CSS_FILE.read_text(encoding="utf-8") if CSS_FILE.exists() else ""


@dataclass
class Built:
    html: Path
    markdown: Path
    pdf: Path | None
    provenance: Path
    warnings: list[str]


def _pdf_tools() -> tuple[str, str] | None:
    pandoc = shutil.which("pandoc")
    if not pandoc:
        return None
    for engine in LATEX_ENGINES:
        if shutil.which(engine):
            return pandoc, engine
    return None


@dataclass
class _Render:
    """What rendering the body needs: the results, the output folder and the Markdown renderer."""

    results: Results
    out: Path
    labels: dict[str, str]
    refs: dict[str, str]
    draft: bool
    md: Any
    figure_scripts: Path
    name: str  # the source's file name, for messages

    def inline_html(self, text: str) -> str:
        rendered = self.md(text).strip()
        if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
            rendered = rendered[3:-4]
        return rendered

    def resolve(self, text: str, where: str | tuple[str, int]) -> str:
        return _resolve_inline(text, self.results, where, self.refs, self.draft)


def _number_blocks(src: Source) -> tuple[dict[str, str], dict[str, int]]:
    """Number figures and tables in order of appearance; ``@id`` -> a link "Figure N"."""
    refs: dict[str, str] = {}
    counts = {"figure": 0, "table": 0}
    for part in src.body:
        if not isinstance(part, Block):
            continue
        counts[part.kind] += 1
        part.number = counts[part.kind]
        if part.ident:
            if part.ident in refs:
                raise PaperBuildError(f"{src.path} line {part.line}: id #{part.ident} is used "
                                      "twice")
            refs[part.ident] = f"[{_kind_label(part.kind)} {part.number}](#{part.ident})"
    return refs, counts


def _kind_label(kind: str) -> str:
    return "Figure" if kind == "figure" else "Table"


def _figure_files(part: Block, study: str, name: str, ctx: _Render, where: str):
    """The figure's PNG (for the HTML) and PDF (for the PDF) copied into ``out/figures``."""
    if study == "script":
        stem = _run_figure_script(name, ctx.out, ctx.results, where, ctx.figure_scripts)
        png = None if stem is None else stem.with_suffix(".png")
        vector = None if stem is None else stem.with_suffix(".pdf")
    else:
        png = ctx.results.file(study, f"figures/{name}.png")
        vector = ctx.results.file(study, f"figures/{name}.pdf")
    if png is None:
        return None
    local = ctx.out / "figures" / f"{study}-{name}.png"
    if png.resolve() != local.resolve():
        shutil.copyfile(png, local)
    if vector is not None and vector.exists():
        local_pdf = local.with_suffix(".pdf")
        if vector.resolve() != local_pdf.resolve():
            shutil.copyfile(vector, local_pdf)
    return png, local


def _render_figure(part: Block, caption: str, ctx: _Render, where: str) -> tuple[str, str]:
    study, _, name = part.source.partition(":")
    files = _figure_files(part, study, name, ctx, where)
    if files is None:
        return f'<p class="missing">[missing figure {html.escape(part.source)}]</p>', ""
    png, local = files
    encoded = base64.b64encode(png.read_bytes()).decode("ascii")
    width = part.attrs.get("width", "column")
    if width not in {"column", "page"}:
        ctx.results.errors.append(f"{where}: width={width!r}; use 'column' or 'page'")
    anchor = f' id="{html.escape(part.ident)}"' if part.ident else ""
    alt = html.escape(re.sub(r"<[^>]+>", "", ctx.inline_html(caption)), quote=True)
    label = f"{_kind_label(part.kind)} {part.number}."
    figure_html = (f'<figure class="{html.escape(width)}"{anchor}>\n'
                   f'<img src="data:image/png;base64,{encoded}" alt="{alt}">\n'
                   f"<figcaption><strong>{label}</strong> {ctx.inline_html(caption)}</figcaption>\n"
                   "</figure>\n")
    # natural size (a column figure is drawn 3.5 in wide); pandoc shrinks wider ones to the text
    # width, so figure text stays at the size it was drawn. LaTeX numbers the figure ("Figure N:")
    # in the same order as the HTML; the id is its link target.
    ident = f"{{#{part.ident}}}" if part.ident else ""
    figure_md = (f"![{' '.join(caption.split())}](figures/{local.with_suffix('.pdf').name})"
                 f"{ident}\n")
    return figure_html, figure_md


def _render_table(part: Block, caption: str, ctx: _Render, where: str) -> tuple[str, str]:
    study, _, name = part.source.partition(":")
    path = ctx.results.file(study, f"tables/{name}.csv")
    if path is None:
        return f'<p class="missing">[missing table {html.escape(part.source)}]</p>', ""
    header, cells, numeric = _table_frame(part, path, ctx.labels, where)
    label = f"{_kind_label(part.kind)} {part.number}."
    table_html = _html_table(header, cells, numeric,
                             f"<strong>{label}</strong> {ctx.inline_html(caption)}", part.ident)
    # pandoc (2.x) gives tables no id: a hyperlink target in front of it takes the references
    target = f"`\\hypertarget{{{part.ident}}}{{}}`{{=latex}}\n\n" if part.ident else ""
    return table_html, target + _md_table(header, cells, numeric, caption)


def _render_body(src: Source, ctx: _Render) -> tuple[list[str], list[str]]:
    """The body as HTML parts and as pandoc Markdown parts, in order."""
    html_parts: list[str] = []
    md_parts: list[str] = []
    for part in src.body:
        if isinstance(part, Chunk):
            resolved = ctx.resolve(part.text, (ctx.name, part.line))
            html_parts.append(ctx.md(resolved))
            md_parts.append(resolved)
            continue
        where = f"{ctx.name} line {part.line - 1}"
        caption = ctx.resolve(part.caption, (ctx.name, part.line))
        study, sep, name = part.source.partition(":")
        if not sep:
            ctx.results.errors.append(f"{where}: {part.kind} source {part.source!r} is not "
                                      "'study:name'")
            continue
        render = _render_figure if part.kind == "figure" else _render_table
        part_html, part_md = render(part, caption, ctx, where)
        html_parts.append(part_html)
        if part_md:
            md_parts.append(part_md)
    return html_parts, md_parts


def _licence(meta: dict[str, Any]) -> str:
    """The licence: the front matter's ``license``, else pyproject.toml's ``project.license``."""
    if meta.get("license"):
        return str(meta["license"])
    try:
        import tomllib

        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, ValueError):
        return "see the LICENSE file"
    licence = project.get("license")
    if isinstance(licence, dict):
        licence = licence.get("text") or licence.get("file")
    return str(licence) if licence else "see the LICENSE file"


def _build_date() -> str:
    """The build date (UTC), or that of ``SOURCE_DATE_EPOCH`` (reproducible builds)."""
    import datetime as dt

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch.isdigit()
            else dt.datetime.now(dt.UTC))
    return when.date().isoformat()


def title_block(results: Results, meta: dict[str, Any]) -> dict[str, str]:
    """Date, package version, commit(s) of the code the studies ran, and licence."""
    from connection import __version__

    commits: list[str] = []
    dirty = False
    for manifest in results.manifests.values():
        git = (manifest or {}).get("git") or {}
        if git.get("commit") and git["commit"][:10] not in commits:
            commits.append(git["commit"][:10])
        dirty = dirty or bool(git.get("dirty"))
    commit = ", ".join(commits) if commits else "unknown (no study manifest records one)"
    if dirty:
        commit += " with uncommitted changes"
    return {"date": _build_date(), "version": str(__version__), "commit": commit,
            "licence": _licence(meta)}


def _title_line(block: dict[str, str]) -> str:
    return (f"{block['date']} · connection {block['version']} · commit {block['commit']} · "
            f"licence {block['licence']}")


def _yaml_str(text: str) -> str:
    """A YAML double-quoted string (JSON's syntax), non-ASCII characters kept as they are."""
    return json.dumps(text, ensure_ascii=False)


def _front_matter_md(title, subtitle, authors, abstract, block) -> str:
    front = ["---", f"title: {_yaml_str(title)}"]
    if subtitle:
        front.append(f"subtitle: {_yaml_str(subtitle)}")
    if authors:
        front.append("author:")
        front += [f"  - {_yaml_str(str(a))}" for a in authors]
    front.append(f"date: {_yaml_str(_title_line(block))}")
    if abstract:
        front.append(f"abstract: {_yaml_str(' '.join(abstract.split()))}")
    front += ["geometry: margin=1in", "fontsize: 11pt", "colorlinks: true", "linkcolor: blue",
              "urlcolor: blue", "---", ""]
    return "\n".join(front)


def _make_pdf(md_path: Path, out: Path, pdf: bool | None, results: Results,
              verbose: bool) -> Path | None:
    """The PDF when asked (``pdf=True``: required) or when the tools are there (``None``)."""
    tools = _pdf_tools()
    explicit = bool(pdf)
    if pdf is None:
        pdf = tools is not None
        if tools is None and verbose:
            print(f"paper: no pandoc + TeX engine found; HTML only ({PDF_PACKAGES_HINT})",
                  flush=True)
    if not pdf:
        return None
    if tools is None:
        raise PaperBuildError(f"--pdf needs pandoc and a TeX engine (xelatex, lualatex or "
                              f"pdflatex); {PDF_PACKAGES_HINT}")
    try:
        return _build_pdf(md_path, out / "paper.pdf", *tools)
    except PaperBuildError as exc:
        if explicit:
            raise
        # the HTML is the guaranteed output; a broken TeX installation must not stop it
        results.warnings.append(f"no PDF: {exc}")
        return None


def _provenance(src: Source, results: Results, figure_scripts, outputs: dict[str, str],
                counts: dict[str, int], draft: bool, block: dict[str, str]) -> dict[str, Any]:
    from connection._io import sha256_file

    return {
        "source": {"path": _rel(src.path), "sha256": sha256_file(src.path)},
        "builder": {"path": _rel(Path(__file__)), "sha256": sha256_file(Path(__file__))},
        "bibliography": (None if results.bibliography_path is None else
                         {"path": _rel(results.bibliography_path),
                          "sha256": sha256_file(results.bibliography_path)}),
        "results_dir": str(results.root),
        "figure_scripts": str(Path(figure_scripts).resolve()),
        "numbers": dict(sorted(results.used_numbers.items())),
        # cited numbers whose solution is flagged, with the study's reason for accepting them
        "flagged_numbers": dict(sorted(results.used_flags.items())),
        "manifest_values": dict(sorted(results.used_manifest.items())),
        "files": dict(sorted(results.used_files.items())),
        "studies": {study: {"seed": m.get("seed"), "git": m.get("git"),
                            "config_sha256": m.get("config_sha256")}
                    for study, m in sorted(results.manifests.items()) if m},
        "title_block": block,
        "outputs": outputs,
        "figures": counts["figure"], "tables": counts["table"],
        "draft": draft,
    }


def build(results_dir: str | os.PathLike = DEFAULT_RESULTS, out_dir: str | os.PathLike = DEFAULT_OUT,
          source: str | os.PathLike = DEFAULT_SOURCE, *, pdf: bool | None = None,
          draft: bool = False, strict_config: bool = True, verbose: bool = True,
          figure_scripts: str | os.PathLike = FIGURE_SCRIPTS) -> Built:
    """Build the paper; raise :class:`PaperBuildError` listing every missing or stale input."""
    try:
        import mistune
    except ImportError:
        raise PaperBuildError("the HTML build needs the pure-Python Markdown renderer mistune "
                              "(pip install 'mistune>=3'); python3 make.py reproduce installs "
                              "it") from None

    src = parse_source(source)
    results = Results(Path(results_dir).resolve(), strict_config=strict_config)
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if src.meta.get("bibliography"):
        results.bibliography_path = (src.path.parent / str(src.meta["bibliography"])).resolve()
        results.bibliography = load_bibliography(results.bibliography_path)
    refs, counts = _number_blocks(src)
    md = mistune.create_markdown(escape=False, plugins=["table", "footnotes", "strikethrough"])
    ctx = _Render(results, out, {str(k): str(v) for k, v in (src.meta.get("labels") or {}).items()},
                  refs, draft, md, Path(figure_scripts), src.path.name)

    # front matter: title, authors, abstract (which may cite numbers too)
    meta_where = f"{src.path.name} front matter"
    title = ctx.resolve(str(src.meta.get("title", "Untitled")), meta_where)
    subtitle = ctx.resolve(str(src.meta.get("subtitle", "")), meta_where)
    authors = src.meta.get("authors") or []
    abstract = ctx.resolve(str(src.meta.get("abstract", "")), meta_where)
    html_parts, md_parts = _render_body(src, ctx)
    references = _references_md(results)
    if references:
        html_parts.append(md(references))
        md_parts.append(references)

    if results.errors and not draft:
        listing = "\n  - ".join(dict.fromkeys(results.errors))
        raise PaperBuildError(f"cannot build the paper from {results.root}; "
                              f"{len(dict.fromkeys(results.errors))} problem(s):\n  - {listing}")

    block = title_block(results, src.meta)
    colophon = _colophon(results, block)
    page = _html_page(title, subtitle, authors, md(abstract) if abstract else "",
                      "\n".join(html_parts), md(colophon), _title_line(block))
    from connection._io import sha256_file, write_json, write_text

    html_path = write_text(out / "paper.html", page)
    md_path = write_text(out / "paper.md", _front_matter_md(title, subtitle, authors, abstract, block)
                         + "\n".join(md_parts) + "\n\n" + colophon + "\n")
    pdf_path = _make_pdf(md_path, out, pdf, results, verbose)
    outputs = {"paper.html": sha256_file(html_path), "paper.md": sha256_file(md_path)}
    prov_path = write_json(out / "provenance.json", _provenance(
        src, results, figure_scripts, outputs, counts, draft, block))
    if verbose:
        print(f"paper: {len(results.used_numbers)} numbers, {counts['figure']} figures, "
              f"{counts['table']} tables from {results.root}", flush=True)
        for message in results.warnings:
            print(f"paper: warning: {message}", flush=True)
        print(f"paper: wrote {html_path}" + (f" and {pdf_path}" if pdf_path else ""), flush=True)
    return Built(html_path, md_path, pdf_path, prov_path, results.warnings)


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _colophon(results: Results, block: dict[str, str]) -> str:
    lines = ["---", "", "*How this document was made.* Every number, table and figure above was "
             "generated by `paper/build.py` from study outputs; none was typed by hand. Built on "
             f"{block['date']} with connection {block['version']} (licence {block['licence']}). "
             "Inputs:"]
    lines.append("")
    for study, manifest in sorted(results.manifests.items()):
        if not manifest:
            continue
        git = manifest.get("git") or {}
        commit = (git.get("commit") or "unknown")[:10]
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        seed = manifest.get("seed")
        seed_text = "no random numbers" if seed is None else f"seed {seed}"
        lines.append(f"- `results/{study}`: {seed_text}, code at commit "
                     f"`{commit}`{dirty}, configuration sha256 "
                     f"`{str(manifest.get('config_sha256'))[:12]}`.")
    lines.append("")
    lines.append("Rebuild with `python3 make.py reproduce`; `python paper/build.py --check` "
                 "reports whether this document is stale against `results/`.")
    return "\n".join(lines)


def _html_page(title, subtitle, authors, abstract_html, body_html, colophon_html,
               title_line="") -> str:
    author_html = "".join(f'<p class="author">{html.escape(str(a))}</p>' for a in authors)
    sub = f'<p class="subtitle">{html.escape(subtitle)}</p>' if subtitle else ""
    meta = f'<p class="title-block">{html.escape(title_line)}</p>' if title_line else ""
    abstract = (f'<section class="abstract"><h2>Abstract</h2>{abstract_html}</section>'
                if abstract_html else "")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{_theme_css()}\n</style>\n</head>\n<body>\n"
        f"<article>\n<header>\n<h1 class=\"title\">{html.escape(title)}</h1>\n{sub}\n"
        f"{author_html}\n{meta}\n</header>\n{abstract}\n{body_html}\n"
        f"<footer class=\"colophon\">{colophon_html}</footer>\n</article>\n</body>\n</html>\n")


def _has_font(name: str) -> bool:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    proc = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, timeout=60)
    return name in proc.stdout


def _build_pdf(md_path: Path, pdf_path: Path, pandoc: str, engine: str) -> Path:
    cmd = [pandoc, md_path.name, "-o", "paper.pdf.tmp.pdf", f"--pdf-engine={engine}",
           "--resource-path=.", "-V", "documentclass=article"]
    if engine != "pdflatex" and _has_font("DejaVu Serif"):
        cmd += ["-V", "mainfont=DejaVu Serif", "-V", "monofont=DejaVu Sans Mono"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TEXMFVAR": tmp, "SOURCE_DATE_EPOCH": "0"}
        proc = subprocess.run(cmd, cwd=md_path.parent, capture_output=True, text=True, env=env,
                              timeout=600)
    tmp_pdf = md_path.parent / "paper.pdf.tmp.pdf"
    if proc.returncode != 0:
        tmp_pdf.unlink(missing_ok=True)
        raise PaperBuildError(f"pandoc ({engine}) failed on {md_path}:\n{proc.stderr[-3000:]}")
    os.replace(tmp_pdf, pdf_path)
    return pdf_path


# ----------------------------------------------------------------------------- staleness check
def _validate_provenance(prov: Any, prov_path: Path) -> None:
    """Refuse a provenance file without the entries check() reads (edited, or another tool's)."""
    needed = {"results_dir": str, "files": dict, "numbers": dict, "source": dict, "outputs": dict}
    wrong = [repr(k) for k, kind in needed.items() if not isinstance(
        prov.get(k) if isinstance(prov, dict) else None, kind)]
    if not wrong:  # the entries inside them that check() reads
        wrong = [repr(f"source.{sub}") for sub in ("path", "sha256")
                 if not isinstance(prov["source"].get(sub), str)]
        bib = prov.get("bibliography")
        if bib is not None and not (isinstance(bib, dict) and isinstance(bib.get("path"), str)
                                    and isinstance(bib.get("sha256"), str)):
            wrong.append("'bibliography.path' and 'bibliography.sha256'")
        wrong += [f"a sha256 for {k} entry {name!r} (has {type(digest).__name__})"
                  for k in ("files", "outputs") for name, digest in prov[k].items()
                  if not isinstance(digest, str)][:3]
    if wrong:
        raise PaperBuildError(f"the provenance file {prov_path} lacks {', '.join(wrong)} (each "
                              "file's sha256 is a text of 64 hex digits; the file was not written "
                              "by this build, or was edited): rebuild the paper with python "
                              "paper/build.py, then --check compares against the new provenance")


def _lookup(node: Any, key: str) -> Any:
    """The value at a dotted key of numbers.json (list items by index); KeyError if absent."""
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return KeyError
    return node


def _stale_numbers(cited_numbers: dict[str, Any], root: Path) -> list[str]:
    """Cited numbers that are missing from, or differ in, the studies' numbers.json now."""
    problems: list[str] = []
    numbers: dict[str, Any] = {}
    for cited, value in cited_numbers.items():
        study, _, key = cited.partition(":")
        if study not in numbers:
            path = root / study / "numbers.json"
            try:
                numbers[study] = _read_json(path, "the numbers file") if path.exists() else None
            except PaperBuildError as exc:
                problems.append(str(exc))
                numbers[study] = None
        node = _lookup(numbers[study], key)
        if node is KeyError:
            problems.append(f"the paper cites {cited}, which is missing from "
                            f"{root / study / 'numbers.json'}")
        elif node != value:
            problems.append(f"the paper cites {cited} = {value!r}, but results now have {node!r}")
    return problems


def check(out_dir: str | os.PathLike = DEFAULT_OUT, results_dir: str | os.PathLike | None = None,
          source: str | os.PathLike | None = None) -> list[str]:
    """Problems that make the built paper stale against ``results/`` (empty list = up to date).

    Compares, against ``provenance.json``: the sha256 of every results file used (numbers.json,
    tables, figures), every cited value, the manuscript source, and the built outputs.
    """
    from connection._io import sha256_file

    out = Path(out_dir)
    prov_path = out / "provenance.json"
    if not prov_path.exists():
        return [f"{prov_path} does not exist: the paper was never built (run python paper/build.py)"]
    prov = _read_json(prov_path, "the provenance file")
    _validate_provenance(prov, prov_path)
    root = Path(results_dir) if results_dir is not None else Path(prov["results_dir"])
    problems = []
    for rel, digest in prov["files"].items():
        if rel.startswith("@script/"):
            path = Path(prov.get("figure_scripts", FIGURE_SCRIPTS)) / rel[len("@script/"):]
        else:
            path = root / rel
        if not path.exists():
            problems.append(f"{path} is cited by the paper but no longer exists")
        elif sha256_file(path) != digest:
            problems.append(f"{path} changed since the paper was built (stale)")
    problems += _stale_numbers(prov["numbers"], root)
    src = Path(source) if source is not None else ROOT / prov["source"]["path"]
    if src.exists() and sha256_file(src) != prov["source"]["sha256"]:
        problems.append(f"{src} changed since the paper was built")
    bib = prov.get("bibliography")
    if bib is not None:
        bib_path = Path(bib["path"]) if Path(bib["path"]).is_absolute() else ROOT / bib["path"]
        if not bib_path.exists() or sha256_file(bib_path) != bib["sha256"]:
            problems.append(f"{bib_path} is missing or changed since the paper was built")
    for name, digest in prov["outputs"].items():
        path = out / name
        if not path.exists() or sha256_file(path) != digest:
            problems.append(f"{path} is missing or was changed after the build")
    return problems


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    """The command line: 0 built (or up to date), 1 stale (--check) or hand-typed numbers
    (--lint), 2 any failure, reported as one line on stderr (no traceback)."""
    from connection.study import run_cli

    return run_cli(_main, argv, prog="paper/build.py")


def _main(argv: list[str] | None = None) -> int:
    from connection.study import ArgumentParser  # usage errors raise ArgumentError: one line

    parser = ArgumentParser(prog="paper/build.py", description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(DEFAULT_RESULTS), help="results folder (results/)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (paper/build/)")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE), help="manuscript source")
    pdf = parser.add_mutually_exclusive_group()
    pdf.add_argument("--pdf", dest="pdf", action="store_true", default=None,
                     help="require the PDF (fails without pandoc + LaTeX)")
    pdf.add_argument("--no-pdf", dest="pdf", action="store_false", help="HTML only")
    parser.add_argument("--draft", action="store_true",
                        help="build despite missing inputs, marking them [missing ...] in the text")
    parser.add_argument("--allow-stale-config", action="store_true",
                        help="warn instead of failing when a study's config changed after its run")
    parser.add_argument("--check", action="store_true",
                        help="do not build; report whether the built paper is stale")
    parser.add_argument("--lint", action="store_true",
                        help="do not build; list numbers typed into the source by hand")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out, args.results, args.source)
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        print("paper is up to date with results" if not problems else
              f"paper is stale: {len(problems)} problem(s)")
        return 1 if problems else 0
    if args.lint:
        try:
            text = Path(args.source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise PaperBuildError(f"cannot read the manuscript source {args.source} "
                                  f"({getattr(err, 'strerror', None) or err})") from None
        found = lint_hand_typed_numbers(text)
        for lineno, token in found:
            print(f"{args.source}:{lineno}: hand-typed number {token!r}")
        return 1 if found else 0
    os.environ.setdefault("MPLBACKEND", "Agg")
    build(args.results, args.out, args.source, pdf=args.pdf, draft=args.draft,
          strict_config=not args.allow_stale_config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
