"""lavaan-style model syntax -> flat list of formula statements.

The documented subset (anything else raises :class:`~connection.errors.ModelSyntaxError`
naming the line and the operator):

========================  ===============================================================
``f =~ x1 + x2 + x3``     latent variable ``f`` measured by ``x1``, ``x2``, ``x3``
``y ~ f1 + x4``           regression of ``y`` on ``f1`` and ``x4``
``x1 ~~ x2``              (residual) variance or covariance
``x1 ~ 1``                intercept (observed) or mean (latent)
``a*x``                   label ``a`` (parameters sharing a label are equal)
``0.8*x``, ``1*x``        fixed value
``NA*x``                  free the parameter (e.g. the first loading)
``c(a, b)*x``             one modifier per group (labels, numbers or ``NA``)
``start(0.5)*x``          starting value
``ab := a*b``             defined parameter (delta-method standard error)
``a == b``                equality of two labelled parameters
``# text``, ``! text``    comments
========================  ===============================================================

Statements are separated by new lines or ``;``; a line without an operator continues the
previous statement (so long right-hand sides can be broken over lines).

Examples
--------
>>> from connection.latent.syntax import parse_statements
>>> [(s.lhs, s.op, s.rhs) for s in parse_statements("f =~ x1 + a*x2  # loadings")]
[('f', '=~', 'x1'), ('f', '=~', 'x2')]
>>> parse_statements("f =~ x1 + a*x2")[1].modifiers[0].label
('a',)
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

from connection.errors import ModelSyntaxError

__all__ = ["Modifier", "Statement", "parse_statements", "parse_expression"]

# operators in the order they must be searched for (longer first)
_SUPPORTED = ("=~", "~~", ":=", "==", "~")
_UNSUPPORTED = ("~*~", "<~", "|~", "<=", ">=", "<", ">", "|", "%")
_OP_RE = re.compile(r"~\*~|<~|\|~|=~|~~|:=|==|<=|>=|~|<|>|\||%")
_NAME_RE = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class Modifier:
    """Per-group modifier values; each tuple has one entry per group (or one for all)."""

    fixed: tuple | None = None  # float or None (NA = free) per group
    label: tuple | None = None  # str or None per group
    start: tuple | None = None  # float per group


@dataclass
class Statement:
    """One parsed formula element: ``lhs op rhs`` with its modifiers."""

    lhs: str
    op: str
    rhs: str
    line: int
    text: str
    modifiers: list = field(default_factory=list)
    expression: str | None = None  # for ':='


def _strip_comment(line: str) -> str:
    out = []
    in_quote = None
    for ch in line:
        if in_quote:
            if ch == in_quote:
                in_quote = None
        elif ch in "\"'":
            in_quote = ch
        elif ch in "#!":
            break
        out.append(ch)
    return "".join(out)


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Physical lines -> statements (line number of the first physical line, text)."""
    out: list[list] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        for piece in _split_top(line, ";"):
            piece = piece.strip()
            if not piece:
                continue
            has_op = _OP_RE.search(piece) is not None
            previous_open = bool(out) and (
                out[-1][1].rstrip().endswith(("+", "*", "(", ",", "~", "=", "-"))
                or out[-1][1].count("(") > out[-1][1].count(")")
            )
            if out and (not has_op or previous_open or piece.startswith(("+", "*", ")"))):
                out[-1][1] = out[-1][1] + " " + piece
            else:
                out.append([number, piece])
    return [(n, t) for n, t in out]


def _parse_value_list(token: str, line: int, text: str, op: str) -> list:
    """Parse 'c(a, 1, NA)' or a scalar token -> list of python values (str label, float, None)."""
    token = token.strip()
    if token.startswith("c(") and token.endswith(")"):
        items = [t.strip() for t in _split_top(token[2:-1], ",")]
    else:
        items = [token]
    values = []
    for item in items:
        if item in ("NA", "NA_real_"):
            values.append(None)
        elif _NUM_RE.match(item):
            values.append(float(item))
        elif (item.startswith('"') and item.endswith('"')) or (
            item.startswith("'") and item.endswith("'")
        ):
            values.append(item[1:-1])
        elif _NAME_RE.match(item):
            values.append(item)
        else:
            raise ModelSyntaxError(
                f"cannot read modifier {item!r}", line=line, text=text, operator=op,
                hint="use a number, NA, a label, or c(...) with one of these per group",
            )
    return values


def _parse_modifier(token: str, line: int, text: str, op: str) -> Modifier:
    token = token.strip()
    m = re.match(r"^(start|label|equal)\((.*)\)$", token)
    if m:
        kind, inner = m.group(1), m.group(2).strip()
        vals = _parse_value_list(
            f"c({inner[2:-1]})" if inner.startswith("c(") else inner, line, text, op
        )
        if kind == "start":
            if not all(isinstance(v, float) for v in vals):
                raise ModelSyntaxError("start() needs numbers", line=line, text=text, operator=op)
            return Modifier(start=tuple(vals))
        if not all(isinstance(v, str) for v in vals):
            raise ModelSyntaxError(f"{kind}() needs quoted labels", line=line, text=text,
                                   operator=op)
        return Modifier(label=tuple(vals))
    vals = _parse_value_list(token, line, text, op)
    if all(isinstance(v, str) for v in vals):
        for v in vals:
            if not _NAME_RE.match(v):
                raise ModelSyntaxError(f"invalid label {v!r}", line=line, text=text, operator=op)
        return Modifier(label=tuple(vals))
    if all(v is None or isinstance(v, float) for v in vals):
        return Modifier(fixed=tuple(vals))
    raise ModelSyntaxError(
        "a modifier vector mixes labels with numbers", line=line, text=text, operator=op,
        hint="write the labels and the fixed values as two modifiers, e.g. c(a, b)*c(1, NA)*x",
    )


def _check_name(name: str, line: int, text: str, op: str, what: str) -> None:
    if not _NAME_RE.match(name):
        raise ModelSyntaxError(f"invalid {what} {name!r}", line=line, text=text, operator=op,
                               hint="variable names start with a letter and contain letters, "
                                    "digits, '_' and '.'")


def parse_statements(text: str) -> list[Statement]:
    """Parse model text into a flat list of statements (one per ``lhs op rhs``)."""
    if not isinstance(text, str):
        raise ModelSyntaxError(f"model must be a string of lavaan syntax, got {type(text).__name__}")
    out: list[Statement] = []
    lines = _logical_lines(text)
    if not lines:
        raise ModelSyntaxError("the model text is empty", hint="write e.g. 'f =~ x1 + x2 + x3'")
    for line, stmt in lines:
        match = _OP_RE.search(stmt)
        if match is None:
            raise ModelSyntaxError("no operator found", line=line, text=stmt,
                                   hint="each statement needs one of =~ ~ ~~ := ==")
        op = match.group(0)
        if op in _UNSUPPORTED:
            raise ModelSyntaxError(
                "operator outside the supported lavaan subset", line=line, text=stmt, operator=op,
                hint="supported operators: =~ ~ ~~ (~ 1) := ==",
            )
        lhs_text, rhs_text = stmt[: match.start()].strip(), stmt[match.end():].strip()
        if not lhs_text:
            raise ModelSyntaxError("missing left-hand side", line=line, text=stmt, operator=op)
        if not rhs_text:
            raise ModelSyntaxError("missing right-hand side", line=line, text=stmt, operator=op)
        if op == ":=":
            _check_name(lhs_text, line, stmt, op, "name of a defined parameter")
            parse_expression(rhs_text, line=line, text=stmt)  # validates
            out.append(Statement(lhs_text, op, "", line, stmt,
                                 expression=re.sub(r"\s+", "", rhs_text)))
            continue
        if op == "==":
            for side in (lhs_text, rhs_text):
                if not (_NAME_RE.match(side) or _NUM_RE.match(side)):
                    raise ModelSyntaxError(
                        "only simple equality constraints 'label == label' (or "
                        "'label == number') are supported", line=line, text=stmt, operator=op)
            out.append(Statement(lhs_text, op, rhs_text, line, stmt))
            continue
        if _OP_RE.search(rhs_text):
            extra = _OP_RE.search(rhs_text).group(0)
            raise ModelSyntaxError("more than one operator in a statement", line=line, text=stmt,
                                   operator=extra,
                                   hint="put each formula on its own line or separate with ';'")
        lhs_names = [s.strip() for s in lhs_text.split("+")]
        for name in lhs_names:
            _check_name(name, line, stmt, op, "left-hand side")
        if op == "=~" and len(lhs_names) > 1:
            raise ModelSyntaxError("one latent variable per '=~' statement", line=line,
                                   text=stmt, operator=op)
        terms = _split_top(rhs_text, "+")
        for term in terms:
            term = term.strip()
            if not term:
                raise ModelSyntaxError("empty term (two '+' in a row?)", line=line, text=stmt,
                                       operator=op)
            pieces = [p.strip() for p in _split_top(term, "*")]
            var = pieces[-1]
            mods = [_parse_modifier(p, line, stmt, op) for p in pieces[:-1]]
            if op == "~" and var in ("1", "1.0"):
                rop, rvar = "~1", ""
            elif var == "1":
                raise ModelSyntaxError("'1' is an intercept only after '~'", line=line,
                                       text=stmt, operator=op)
            else:
                _check_name(var, line, stmt, op, "variable name")
                rop, rvar = op, var
            for lhs in lhs_names:
                out.append(Statement(lhs, rop, rvar, line, stmt, modifiers=list(mods)))
    return out


_ALLOWED_FUNCS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs,
                  "tanh": math.tanh}


def parse_expression(expr: str, *, line: int | None = None, text: str | None = None):
    """Validate an arithmetic expression of a defined parameter; return (ast, names)."""
    src = expr.replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise ModelSyntaxError(f"cannot read the expression {expr!r}", line=line, text=text,
                               operator=":=") from exc
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _ALLOWED_FUNCS):
                raise ModelSyntaxError(
                    f"unsupported function in {expr!r}", line=line, text=text, operator=":=",
                    hint="allowed: " + ", ".join(sorted(_ALLOWED_FUNCS)))
        elif not isinstance(node, ast.Expression | ast.BinOp | ast.UnaryOp | ast.Constant
                            | ast.operator | ast.unaryop | ast.Load):
            raise ModelSyntaxError(f"unsupported element in {expr!r}", line=line, text=text,
                                   operator=":=")
    names = [n for n in names if n not in _ALLOWED_FUNCS]
    return compile(tree, "<defined parameter>", "eval"), names


def evaluate_expression(code, values: dict) -> float:
    """Evaluate a compiled defined-parameter expression with label values."""
    return float(eval(code, {"__builtins__": {}}, {**_ALLOWED_FUNCS, **values}))  # noqa: S307
