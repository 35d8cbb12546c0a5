"""The typed AST of a rule file: frozen dataclasses, each with its source position.

Positions (`pos`) are excluded from equality so that a program and its pretty-printed re-parse
compare equal. Expression nodes are hashable; the compiler uses their printed form as a key for
sharing work between rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, eq=False)
class SourceFile:
    """The text of one rule file and the path it is shown under (compared by identity)."""

    path: str
    text: str


@dataclass(frozen=True)
class Pos:
    """A source span: 1-based line and column of the first character, and of one past the last.

    `file` is the rule file the span is in (None for generated ASTs); with includes, one checked
    program holds statements of several files and each error must point into the right one.
    """

    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    file: SourceFile | None = field(default=None, compare=False)


NOPOS = Pos()


def _pos() -> Pos:
    return field(default=NOPOS, compare=False, repr=False)


# ---- expressions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: float | int
    pos: Pos = _pos()


@dataclass(frozen=True)
class String:
    value: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: Pos = _pos()


@dataclass(frozen=True)
class Regex:
    """A regex literal `re"pattern"flags`; `pattern` is the raw text between the quotes."""

    pattern: str
    flags: str = ""
    pos: Pos = _pos()


@dataclass(frozen=True)
class Name:
    name: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple["Expr", ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Unary:
    """`-x` (op "-") or `not x` (op "not")."""

    op: str
    operand: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (== != < <= > >=) or logic (and, or)."""

    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class IfElse:
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Index:
    """`target[index]`: one item of a list (0 when out of range)."""

    target: "Expr"
    index: "Expr"
    pos: Pos = _pos()


Expr = Union[Number, String, Bool, Regex, Name, Call, Unary, Binary, IfElse, Index]

ARITH_OPS = ("+", "-", "*", "/")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
LOGIC_OPS = ("and", "or")


# ---- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Include:
    """`include "FILE"` — the statements of FILE (relative to this file), see includes.py."""

    path: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Param:
    """`param NAME: TYPE = literal` — a scalar a recipe or `--set` can override."""

    name: str
    type: str
    default: float | int | bool | str
    pos: Pos = _pos()
    default_pos: Pos = _pos()


@dataclass(frozen=True)
class Input:
    """`input NAME: TYPE` — a per-sample field (required for extra fields beyond the built-ins)."""

    name: str
    type: str
    pos: Pos = _pos()


@dataclass(frozen=True)
class Capture:
    """`capture NAME = SOURCE match re"…" [group G] [else DEFAULT]` — first regex match of SOURCE."""

    name: str
    source: Expr
    regex: Regex
    group: int | None = None
    default: Expr | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Let:
    """`let NAME = expr` — a named intermediate value."""

    name: str
    value: Expr
    pos: Pos = _pos()


@dataclass(frozen=True)
class Component:
    """`component NAME = expr [weight expr]` — a reward output, logged on its own."""

    name: str
    value: Expr
    weight: Expr | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Needs:
    """`needs NAME [when cond]` — NAME (only `prediction`) is computed only where cond holds."""

    name: str
    when: Expr | None = None
    pos: Pos = _pos()


@dataclass(frozen=True)
class Total:
    """`total = expr`; without it the total is the weighted sum of the components."""

    value: Expr
    pos: Pos = _pos()


Stmt = Union[Include, Param, Input, Capture, Let, Component, Needs, Total]


@dataclass(frozen=True)
class Program:
    """A parsed rule file: its statements in file order, and where it came from.

    After include flattening (includes.py), `stmts` holds every file's statements and
    `redefined` maps each name an including file redefined (a param, or "total") to the
    position of the statement it replaced.
    """

    stmts: tuple[Stmt, ...]
    source: str = field(default="", compare=False, repr=False)
    path: str = field(default="<rules>", compare=False, repr=False)
    redefined: tuple[tuple[str, Pos], ...] = field(default=(), compare=False, repr=False)
