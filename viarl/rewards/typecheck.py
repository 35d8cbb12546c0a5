"""Type inference for rule expressions.

`ExprTyper.type_of(expr)` returns "num", "int", "bool", "str" or "list", or raises a located
`RuleError` (type mismatch, unknown function, wrong number of arguments, bad regex).
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Callable

from viarl.rewards import ast
from viarl.rewards.builtins import BUILTINS, accepts, arg_types_for, join_numeric
from viarl.rewards.errors import RuleError
from viarl.rewards.printer import print_expr

NUMERIC = ("num", "int")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def regex_flags(flags: str) -> int:
    """The `re` flag bits of a regex literal's suffix letters (i m s x)."""
    bits = 0
    for letter in flags:
        bits |= _FLAGS[letter]
    return bits


def _show(expr: ast.Expr) -> str:
    text = print_expr(expr)
    return text if len(text) <= 40 else text[:37] + "…"


class ExprTyper:
    """Infers expression types given the type of every name (`name_type`)."""

    def __init__(
        self,
        name_type: Callable[[ast.Name], str],
        fail: Callable[..., RuleError],
        regexes: dict[tuple[str, str], re.Pattern],
    ):
        self.name_type = name_type
        self.fail = fail
        self.regexes = regexes
        # id → (expression, type): `call` asks an argument's type twice, so without the memo
        # nested calls (`min(min(min(…)))`) would take 2**depth steps.
        self._known: dict[int, tuple[ast.Expr, str]] = {}

    def compile_regex(self, r: ast.Regex) -> re.Pattern:
        """Compile a regex literal once (cached by pattern and flags); bad regex → RuleError."""
        key = (r.pattern, r.flags)
        if key not in self.regexes:
            try:
                self.regexes[key] = re.compile(r.pattern, regex_flags(r.flags))
            except re.error as e:
                raise self.fail(r.pos, f"bad regex: {e.msg} (at character {e.pos} of the pattern)",
                                "fix the pattern; Python `re` syntax, flags i m s x after the quote"
                                ) from None
        return self.regexes[key]

    def expect(self, expr: ast.Expr, wanted: str, role: str) -> str:
        t = self.type_of(expr)
        if not accepts(wanted, t):
            fix = None
            if t == "str" and "num" in wanted:
                fix = f"use len({_show(expr)}) for its length"
            elif t == "bool" and "num" in wanted:
                fix = f"turn it into a number with num({_show(expr)})"
            elif wanted == "int" and t == "num":
                fix = "use a whole number: an int literal, param or input, or len(…)"
            elif wanted == "bool" and t in NUMERIC:
                fix = f"compare it, e.g. `{_show(expr)} > 0`"
            raise self.fail(expr.pos, f"type mismatch: {role} must be "
                            f"{wanted.replace('|', ' or ')}, but `{_show(expr)}` is {t}", fix)
        return t

    def type_of(self, e: ast.Expr) -> str:
        """The type of `e` ("num", "int", "bool", "str", "list"); RuleError where it has none."""
        known = self._known.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        t = self._type_of(e)
        self._known[id(e)] = (e, t)
        return t

    def _type_of(self, e: ast.Expr) -> str:
        if isinstance(e, ast.Number):
            if self.fail is not None and not math.isfinite(e.value):
                raise self.fail(e.pos, f"this number is too large: it reads as {e.value}",
                                "a reward is never inf or nan; use a number below 1e308")
            return "int" if isinstance(e.value, int) else "num"
        if isinstance(e, ast.String):
            return "str"
        if isinstance(e, ast.Bool):
            return "bool"
        if isinstance(e, ast.Regex):
            self.compile_regex(e)
            raise self.fail(e.pos, "a regex can only be used as the second argument of "
                            "search, fullmatch or count, or in a capture",
                            'e.g. search(completion, re"…")')
        if isinstance(e, ast.Name):
            return self.name_type(e)
        if isinstance(e, ast.Unary):
            if e.op == "not":
                self.expect(e.operand, "bool", "the operand of `not`")
                return "bool"
            return self.expect(e.operand, "num", "the operand of unary `-`")
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.IfElse):
            self.expect(e.cond, "bool", "an `if` condition")
            a, b = self.type_of(e.then), self.type_of(e.orelse)
            if a in NUMERIC and b in NUMERIC:
                return join_numeric([a, b])
            if a != b:
                raise self.fail(e.pos, f"type mismatch: the branches of `if` are {a} and {b}",
                                "make both branches the same type")
            return a
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Index):
            self.expect(e.target, "list", "an indexed value")
            self.expect(e.index, "int", "a list index")
            return "int"
        raise TypeError(f"not an expression: {e!r}")  # internal bug, not user input

    def binary(self, e: ast.Binary) -> str:
        if e.op in ("and", "or"):
            self.expect(e.left, "bool", f"each side of `{e.op}`")
            self.expect(e.right, "bool", f"each side of `{e.op}`")
            return "bool"
        if e.op in ("==", "!="):
            a, b = self.type_of(e.left), self.type_of(e.right)
            if not (a == b or (a in NUMERIC and b in NUMERIC)) or a == "list":
                raise self.fail(e.pos, f"type mismatch: cannot compare {a} with {b} using "
                                f"`{e.op}`", "compare values of the same type")
            return "bool"
        role = f"each side of `{e.op}`"
        a = self.expect(e.left, "num", role)
        b = self.expect(e.right, "num", role)
        if e.op in ("<", "<=", ">", ">="):
            return "bool"
        return "num" if e.op == "/" else join_numeric([a, b])

    def call(self, e: ast.Call) -> str:
        overloads = BUILTINS.get(e.func)
        if overloads is None:
            close = difflib.get_close_matches(e.func, sorted(BUILTINS), n=1)
            fix = f"did you mean `{close[0]}`?" if close else (
                "built-ins: " + ", ".join(sorted(BUILTINS)))
            raise self.fail(e.pos, f"unknown function `{e.func}`", fix)
        found = arg_types_for(overloads, len(e.args))
        if found is None:
            shown = " or ".join(b.signature() for b in overloads)
            counts = " or ".join(f"{len(b.args)}{' or more' if b.variadic else ''}"
                                 for b in sorted(overloads, key=lambda o: len(o.args)))
            plural = "s" if len(overloads) > 1 or len(overloads[0].args) != 1 else ""
            raise self.fail(e.pos, f"`{e.func}` takes {counts} argument{plural}, "
                            f"got {len(e.args)}", f"call it as {shown}")
        b, wanted = found
        types = []
        for i, (arg, w) in enumerate(zip(e.args, wanted)):
            if w == "regex":
                if not isinstance(arg, ast.Regex):
                    raise self.fail(arg.pos, f"type mismatch: argument {i + 1} of `{e.func}` "
                                    'must be a regex literal re"…"', f"call it as {b.signature()}")
                self.compile_regex(arg)
                types.append("regex")
                continue
            if len(overloads) > 1 and not accepts(w, self.type_of(arg)):
                # The argument count picked the overload; say which others exist.
                raise self.fail(arg.pos, f"type mismatch: argument {i + 1} of `{e.func}` must be "
                                f"{w.replace('|', ' or ')}, but `{_show(arg)}` is "
                                f"{self.type_of(arg)}", "call it as " + " or ".join(
                                    o.signature() for o in overloads))
            types.append(self.expect(arg, w, f"argument {i + 1} of `{e.func}`"))
        return b.result(types)
