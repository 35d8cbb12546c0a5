"""Meaning checks: names, types, cycles, regexes and the `needs` contract.

The checker turns a parsed `ast.Program` into a `Checked` program (every name's type and
definition, evaluation order, inputs read) or raises the first `RuleError` in file order.
Declarations may come in any order; a name may be used before the line that defines it.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from viarl.rewards import ast
from viarl.rewards.builtins import (
    BUILTIN_INPUTS, BUILTINS, KEYWORDS, LAZY_INPUTS, TYPES, assignable,
)
from viarl.rewards.errors import RuleError, error_at, where_of
from viarl.rewards.includes import Reader, flatten, read_rule_text
from viarl.rewards.typecheck import ExprTyper

Def = ast.Capture | ast.Let | ast.Component


@dataclass
class Checked:
    """A type-checked program: what the compiler and the interpreter consume."""

    program: ast.Program
    params: dict[str, ast.Param]
    inputs: dict[str, str]            # every input in scope (built-in and declared) -> type
    defs: dict[str, Def]              # captures, lets and components by name
    types: dict[str, str]             # type of every name in scope
    order: list[str]                  # defs in dependency order
    components: list[str]             # component names in file order
    total: ast.Expr | None            # explicit total, or None for the weighted sum
    needs: dict[str, ast.Expr | None]  # lazy input -> `when` condition (None: always)
    inputs_used: set[str] = field(default_factory=set)
    regexes: dict[tuple[str, str], re.Pattern] = field(default_factory=dict)


def names_in(expr: ast.Expr | None) -> list[ast.Name]:
    """Every Name node in `expr`, left to right."""
    if expr is None:
        return []
    if isinstance(expr, ast.Name):
        return [expr]
    if isinstance(expr, ast.Call):
        return [n for a in expr.args for n in names_in(a)]
    if isinstance(expr, ast.Unary):
        return names_in(expr.operand)
    if isinstance(expr, ast.Binary):
        return names_in(expr.left) + names_in(expr.right)
    if isinstance(expr, ast.IfElse):
        return names_in(expr.cond) + names_in(expr.then) + names_in(expr.orelse)
    if isinstance(expr, ast.Index):
        return names_in(expr.target) + names_in(expr.index)
    return []


def def_exprs(d: ast.Stmt) -> list[ast.Expr]:
    """The expressions a statement evaluates (source, default, value, weight, condition)."""
    if isinstance(d, ast.Capture):
        return [d.source] + ([d.default] if d.default is not None else [])
    if isinstance(d, ast.Let):
        return [d.value]
    if isinstance(d, ast.Component):
        return [d.value] + ([d.weight] if d.weight is not None else [])
    if isinstance(d, ast.Needs):
        return [d.when] if d.when is not None else []
    if isinstance(d, ast.Total):
        return [d.value]
    return []


class _Checker:
    def __init__(self, program: ast.Program):
        self.p = program
        self.params: dict[str, ast.Param] = {}
        self.inputs: dict[str, str] = dict(BUILTIN_INPUTS)
        self.defs: dict[str, Def] = {}
        self.types: dict[str, str] = dict(BUILTIN_INPUTS)
        self.needs: dict[str, ast.Expr | None] = {}
        self.total: ast.Total | None = None
        self.regexes: dict[tuple[str, str], re.Pattern] = {}

    def fail(self, pos: ast.Pos, message: str, fix: str | None = None) -> RuleError:
        return error_at(self.p.path, self.p.source, pos, message, fix)

    # ---- pass 1: declarations
    def declare(self) -> None:
        seen: dict[str, ast.Pos] = {}
        for s in self.p.stmts:
            if isinstance(s, ast.Total):
                if self.total is not None:
                    raise self.fail(s.pos, "`total` is defined twice",
                                    "keep one (the first is at "
                                    f"{where_of(self.total.pos, self.p.path)})")
                self.total = s
                continue
            if isinstance(s, ast.Needs):
                self.declare_needs(s)
                continue
            self.check_new_name(s, seen)
            if isinstance(s, ast.Param):
                self.declare_param(s)
            elif isinstance(s, ast.Input):
                self.inputs[s.name] = self.types[s.name] = s.type
            else:
                self.defs[s.name] = s
        if not any(isinstance(d, ast.Component) for d in self.defs.values()):
            raise self.fail(ast.Pos(1, 1, 1, 2), "the rules define no component",
                            "add at least one line `component NAME = expression`")

    def check_new_name(self, s, seen: dict[str, ast.Pos]) -> None:
        if s.name in KEYWORDS or s.name == "total":
            raise self.fail(s.pos, f"`{s.name}` is a keyword and cannot be a name", "rename it")
        if s.name in BUILTINS:
            raise self.fail(s.pos, f"`{s.name}` is a built-in function and cannot be a name",
                            "rename it")
        if isinstance(s, ast.Input) and s.type not in TYPES:
            raise self.fail(s.pos, f"unknown type `{s.type}`", "use num, int, bool or str")
        if s.name in BUILTIN_INPUTS:
            if isinstance(s, ast.Input):
                if s.type != BUILTIN_INPUTS[s.name]:
                    raise self.fail(s.pos, f"built-in input `{s.name}` has type "
                                    f"{BUILTIN_INPUTS[s.name]}, not {s.type}",
                                    f"write `input {s.name}: {BUILTIN_INPUTS[s.name]}` or drop it")
                if s.name not in seen:
                    seen[s.name] = s.pos
                    return
            else:
                raise self.fail(s.pos, f"`{s.name}` is a built-in input and cannot be redefined",
                                "pick another name")
        if s.name in seen:
            raise self.fail(s.pos, f"duplicate name `{s.name}`",
                            f"it is already defined at {where_of(seen[s.name], self.p.path)}; "
                            "rename one")
        seen[s.name] = s.pos

    def declare_param(self, s: ast.Param) -> None:
        value = s.default
        actual = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int)
                  else "num" if isinstance(value, float) else "str")
        if not assignable(actual, s.type):
            raise self.fail(s.default_pos, f"type mismatch: param `{s.name}` is {s.type} "
                            f"but its default is {actual}", f"give {'an' if s.type == 'int' else 'a'} {s.type} default")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(s.default_pos, f"param `{s.name}` defaults to {value}",
                            "a reward is never inf or nan; give a finite default (below 1e308)")
        self.params[s.name] = s
        self.types[s.name] = s.type

    def declare_needs(self, s: ast.Needs) -> None:
        if s.name not in LAZY_INPUTS:
            provider = [k for k, names in LAZY_INPUTS.items() if s.name in names]
            fix = (f"write `needs {provider[0]}`: it provides `{s.name}` too" if provider
                   else "remove this line")
            raise self.fail(s.pos, f"`needs {s.name}`: only {', '.join(LAZY_INPUTS)} "
                            "is computed on demand", fix)
        if s.name in self.needs:
            raise self.fail(s.pos, f"`needs {s.name}` is declared twice", "keep one")
        self.needs[s.name] = s.when

    # ---- pass 2: name resolution and cycles
    def resolve(self) -> list[str]:
        in_scope = set(self.types) | set(self.defs)
        for s in self.p.stmts:
            for e in def_exprs(s):
                for n in names_in(e):
                    if n.name not in in_scope:
                        close = difflib.get_close_matches(n.name, sorted(in_scope), n=1)
                        fix = (f"did you mean `{close[0]}`?" if close else
                               f"declare it, e.g. `input {n.name}: num` for a per-sample field")
                        raise self.fail(n.pos, f"unknown name `{n.name}`", fix)
        return self.order_defs()

    def order_defs(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for e in def_exprs(self.defs[name]):
                for n in names_in(e):
                    if n.name not in self.defs:
                        continue
                    if state.get(n.name) == 1:
                        cycle = path[path.index(n.name):] + [n.name]
                        raise self.fail(self.defs[n.name].pos,
                                        "cycle between names: " + " → ".join(cycle),
                                        "a name cannot depend on itself; break the loop")
                    if n.name not in state:
                        visit(n.name)
            path.pop()
            state[name] = 2
            order.append(name)

        for name in self.defs:
            if name not in state:
                visit(name)
        return order

    # ---- pass 3: types
    def check_types(self, order: list[str]) -> None:
        typer = ExprTyper(lambda n: self.types[n.name], self.fail, self.regexes)
        for name in order:  # dependencies first, so every referenced name already has a type
            d = self.defs[name]
            if isinstance(d, ast.Capture):
                typer.expect(d.source, "str", f"the source of capture `{name}`")
                pattern = typer.compile_regex(d.regex)
                if d.group is not None and d.group > pattern.groups:
                    raise self.fail(d.regex.pos, f"capture `{name}` asks for group {d.group} but "
                                    f"the regex has {pattern.groups} group"
                                    f"{'s' if pattern.groups != 1 else ''}",
                                    "add parentheses around the part to capture, or fix `group`")
                if d.default is not None:
                    typer.expect(d.default, "str", f"the `else` value of capture `{name}`")
                self.types[name] = "str"
            elif isinstance(d, ast.Let):
                self.types[name] = typer.type_of(d.value)
            else:
                typer.expect(d.value, "num|bool", f"component `{name}`")
                if d.weight is not None:
                    typer.expect(d.weight, "num", f"the weight of `{name}`")
                self.types[name] = "num"
        if self.total is not None:
            typer.expect(self.total.value, "num|bool", "`total`")
            weighted = [d for d in self.defs.values()
                        if isinstance(d, ast.Component) and d.weight is not None]
            if weighted:
                raise self.fail(weighted[0].weight.pos, f"component `{weighted[0].name}` has a "
                                "weight, but `total` is written out, so the weight would be ignored",
                                "put the weight into the `total` expression, or remove `total`")
        for when in self.needs.values():
            if when is not None:
                typer.expect(when, "bool", "a `needs … when` condition")

    # ---- pass 4: lazily computed inputs
    def check_needs(self) -> None:
        reads = self.reads()
        for need, provided in LAZY_INPUTS.items():
            users = [n for n in self.all_names() if n.name in provided]
            when = self.needs.get(need, False)
            if users and need not in self.needs:
                raise self.fail(users[0].pos, f"`{users[0].name}` is used but not declared with "
                                "`needs`", f"add `needs {need} when CONDITION` (or `needs {need}`) "
                                "so the answer model is asked only where it matters")
            if need in self.needs and not users:
                raise self.fail(ast.Pos(1, 1, 1, 2), f"`needs {need}` is declared but no rule "
                                f"reads {' or '.join(f'`{n}`' for n in provided)}",
                                "remove the `needs` line")
            for n in (names_in(when) if when else []):
                lazy = next((p for p in provided if n.name == p or p in reads.get(n.name, ())), None)
                if lazy is not None:
                    raise self.fail(n.pos, f"the condition of `needs {need}` depends on "
                                    f"`{lazy}` itself", f"decide from values computed without "
                                    f"`{lazy}` (e.g. index validity)")

    def all_names(self) -> list[ast.Name]:
        return [n for s in self.p.stmts for e in def_exprs(s) for n in names_in(e)]

    def reads(self) -> dict[str, set[str]]:
        """Inputs each def reads, transitively."""
        out: dict[str, set[str]] = {}

        def of(name: str) -> set[str]:
            if name not in self.defs:
                return {name} if name in self.inputs else set()
            if name not in out:
                out[name] = set()
                for e in def_exprs(self.defs[name]):
                    for n in names_in(e):
                        out[name] |= of(n.name)
            return out[name]

        for name in self.defs:
            of(name)
        return out


def check(program: ast.Program, read: Reader = read_rule_text) -> Checked:
    """Check `program` (includes read with `read`); the first problem raises a RuleError."""
    program = flatten(program, read)
    c = _Checker(program)
    c.declare()
    order = c.resolve()
    c.check_types(order)
    c.check_needs()
    used = {n.name for n in c.all_names() if n.name in c.inputs}
    components = [s.name for s in program.stmts if isinstance(s, ast.Component)]
    return Checked(
        program=program, params=c.params, inputs=c.inputs, defs=c.defs, types=c.types,
        order=order, components=components, total=c.total.value if c.total else None,
        needs=c.needs, inputs_used=used, regexes=c.regexes,
    )
