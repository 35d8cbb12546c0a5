"""AST → canonical rule text. `parse_program(print_program(p)) == p` for every program.

Parentheses are added exactly where precedence needs them, so the output is also the key the
compiler uses to share identical sub-expressions between rules.
"""

from __future__ import annotations

import json

from viarl.rewards import ast

# Binding strength, loosest first (mirrors grammar.lark).
_LEVEL = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6,
          "neg": 7, "atom": 8}


def _level(e: ast.Expr) -> int:
    if isinstance(e, ast.IfElse):
        return _LEVEL["if"]
    if isinstance(e, ast.Binary):
        return _LEVEL["cmp"] if e.op in ast.COMPARE_OPS else _LEVEL[e.op]
    if isinstance(e, ast.Unary):
        return _LEVEL["not" if e.op == "not" else "neg"]
    return _LEVEL["atom"]


def _wrap(e: ast.Expr, min_level: int) -> str:
    text = print_expr(e)
    return f"({text})" if _level(e) < min_level else text


def print_number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def print_expr(e: ast.Expr) -> str:
    """Canonical text of one expression."""
    if isinstance(e, ast.Number):
        return print_number(e.value)
    if isinstance(e, ast.String):
        return json.dumps(e.value, ensure_ascii=False)
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.Regex):
        return f're"{e.pattern}"{e.flags}'
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(print_expr(a) for a in e.args)})"
    if isinstance(e, ast.Index):
        return f"{_wrap(e.target, _LEVEL['atom'])}[{print_expr(e.index)}]"
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return f"not {_wrap(e.operand, _LEVEL['not'])}"
        return f"-{_wrap(e.operand, _LEVEL['neg'])}"
    if isinstance(e, ast.Binary):
        lvl = _level(e)
        if e.op in ast.COMPARE_OPS:  # non-associative: both sides one level tighter
            return f"{_wrap(e.left, lvl + 1)} {e.op} {_wrap(e.right, lvl + 1)}"
        return f"{_wrap(e.left, lvl)} {e.op} {_wrap(e.right, lvl + 1)}"  # left-associative
    if isinstance(e, ast.IfElse):
        return (f"if {print_expr(e.cond)} then {print_expr(e.then)} "
                f"else {print_expr(e.orelse)}")
    raise TypeError(f"not an expression: {e!r}")


def print_stmt(s: ast.Stmt) -> str:
    """Canonical text of one statement (one line)."""
    if isinstance(s, ast.Include):
        return f"include {json.dumps(s.path, ensure_ascii=False)}"
    if isinstance(s, ast.Param):
        value = s.default
        text = ("true" if value is True else "false" if value is False
                else json.dumps(value, ensure_ascii=False) if isinstance(value, str)
                else print_number(value))
        return f"param {s.name}: {s.type} = {text}"
    if isinstance(s, ast.Input):
        return f"input {s.name}: {s.type}"
    if isinstance(s, ast.Capture):
        text = f"capture {s.name} = {_wrap(s.source, _LEVEL['atom'])} match {print_expr(s.regex)}"
        if s.group is not None:
            text += f" group {s.group}"
        return text + (f" else {print_expr(s.default)}" if s.default is not None else "")
    if isinstance(s, ast.Let):
        return f"let {s.name} = {print_expr(s.value)}"
    if isinstance(s, ast.Component):
        text = f"component {s.name} = {print_expr(s.value)}"
        return text + (f" weight {print_expr(s.weight)}" if s.weight is not None else "")
    if isinstance(s, ast.Needs):
        return f"needs {s.name}" + (f" when {print_expr(s.when)}" if s.when is not None else "")
    if isinstance(s, ast.Total):
        return f"total = {print_expr(s.value)}"
    raise TypeError(f"not a statement: {s!r}")


def print_program(p: ast.Program) -> str:
    """Canonical text of a whole program, one statement per line."""
    return "".join(print_stmt(s) + "\n" for s in p.stmts)
