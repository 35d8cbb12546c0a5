"""Checked rules → a vectorised scorer over a whole batch.

Every expression compiles to a closure `f(ctx) -> value`, where a value is a scalar (for
params and literals) or a column: float64/bool arrays of shape [B] for numbers and truth values,
Python lists of length B for strings and index lists. Identical sub-expressions (same printed
text) are evaluated once per batch, and each regex pass is keyed by (operation, pattern, flags,
source text), so a regex runs at most once per completion however many rules use it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from viarl.rewards import ast
from viarl.rewards import primitives as prim
from viarl.rewards.checker import Checked
from viarl.rewards.columns import batch_size, check_finite, convert_column, missing
from viarl.rewards.lazy import lazy_column, lazy_names
from viarl.rewards.listops import LIST_FUNCS, list_at
from viarl.rewards.primitives import text_to_int, text_to_num
from viarl.rewards.regexpasses import RegexPasses
from viarl.rewards.typecheck import ExprTyper
from viarl.rewards.vectorops import (
    ARITH, COMPARE, STR_FUNCS, as_array, column, is_column, map_samples, to_array, as_ints,
)
from viarl.rewards.printer import print_expr

Fn = Callable[["_Ctx"], Any]


class _Ctx:
    """Per-batch evaluation state: the raw batch, converted columns and shared results."""

    __slots__ = ("batch", "B", "cache", "passes")

    def __init__(self, batch: Mapping[str, Any], B: int):
        self.batch, self.B = batch, B
        self.cache: dict[Any, Any] = {}
        self.passes: list[tuple] = []  # regex passes run on this batch (for tests and stats)


class Scorer(RegexPasses):
    """A compiled rule program with bound parameters; call it on a batch."""

    def __init__(self, checked: Checked, params: Mapping[str, Any], ablate: Sequence[str] = ()):
        self.checked = checked
        self.params = dict(params)
        self.ablate = tuple(ablate)
        self._memo: dict[str, Fn] = {}
        self._defs = {name: self._compile_def(d) for name, d in checked.defs.items()}
        # An ablated component reads as 0 everywhere; its real value is only reported.
        self._would_be = {name: self._defs[name] for name in self.ablate}
        self._defs.update({name: (lambda ctx: 0.0) for name in self.ablate})
        self._lazy = lazy_names(checked.needs, checked.inputs_used)
        self._needs = {k: (self.expr(w) if w is not None else None)
                       for k, w in checked.needs.items()}
        self._total = self.expr(checked.total) if checked.total is not None else None
        self.last_regex_passes: list[tuple] = []

    # ---- public
    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Score a batch: every component and "total", each float64 of shape [B].

        NonFiniteScore (a BatchError) names the first sample whose score overflowed to inf or nan.
        """
        # An overflow is reported as NonFiniteScore for its sample, not as numpy's bare warning.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._score(batch)

    def _score(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        ctx = _Ctx(batch, batch_size(batch))
        for need, names in self._lazy.items():
            mask = self._need_mask(ctx, need).tolist() if names else []
            for name in names:
                ctx.cache[("input", name)] = lazy_column(name, self.checked.inputs[name],
                                                         batch.get(name), mask)
        out = {name: self._number(self.def_value(ctx, name), ctx.B)
               for name in self.checked.components}
        if self._total is not None:
            total = self._number(self._total(ctx), ctx.B)
        else:
            total = np.zeros(ctx.B)
            for name in self.checked.components:
                weight = self.checked.defs[name].weight
                w = self.expr(weight)(ctx) if weight is not None else 1.0
                total = total + np.asarray(w, np.float64) * out[name]
            total = self._number(total, ctx.B)
        out["total"] = total
        for name in self.ablate:
            out[f"ablated/{name}"] = self._number(self._would_be[name](ctx), ctx.B)
        check_finite(out)
        self.last_regex_passes = ctx.passes
        return out

    def prediction_needed(self, batch: Mapping[str, Any]) -> np.ndarray:
        """bool [B]: where the answer model's prediction can change the total."""
        ctx = _Ctx(batch, batch_size(batch))
        return self._need_mask(ctx, "prediction")

    # ---- lazily computed inputs
    def _need_mask(self, ctx: _Ctx, lazy: str) -> np.ndarray:
        if lazy not in self._needs:
            return np.zeros(ctx.B, dtype=bool)
        cond = self._needs[lazy]
        mask = True if cond is None else cond(ctx)
        return np.broadcast_to(np.asarray(mask, dtype=bool), (ctx.B,)).copy()

    # ---- values
    @staticmethod
    def _number(v: Any, B: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (B,)).copy()

    def def_value(self, ctx: _Ctx, name: str) -> Any:
        key = ("def", name)
        if key not in ctx.cache:
            ctx.cache[key] = self._defs[name](ctx)
        return ctx.cache[key]

    def _compile_def(self, d: ast.Stmt) -> Fn:
        if isinstance(d, ast.Capture):
            return self._capture(d)
        value = self.expr(d.value)
        if isinstance(d, ast.Component):  # components are numbers: true → 1, false → 0
            return lambda ctx: np.asarray(value(ctx), dtype=np.float64)
        return value

    def expr(self, e: ast.Expr) -> Fn:
        """The closure computing `e`; one per distinct printed expression."""
        key = print_expr(e)
        if key not in self._memo:
            fn = self._build(e)
            if isinstance(e, (ast.Call, ast.Binary, ast.Unary, ast.IfElse, ast.Index)):
                inner, ck = fn, ("expr", key)

                def fn(ctx: _Ctx, inner=inner, ck=ck) -> Any:  # noqa: E731 - memo per batch
                    if ck not in ctx.cache:
                        ctx.cache[ck] = inner(ctx)
                    return ctx.cache[ck]

            self._memo[key] = fn
        return self._memo[key]

    def _build(self, e: ast.Expr) -> Fn:
        if isinstance(e, (ast.Number, ast.String, ast.Bool)):
            value = float(e.value) if isinstance(e, ast.Number) else e.value
            return lambda ctx: value
        if isinstance(e, ast.Name):
            return self._name(e.name)
        if isinstance(e, ast.Unary):
            f = self.expr(e.operand)
            op = np.logical_not if e.op == "not" else np.negative
            return lambda ctx: op(f(ctx))
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.IfElse):
            return self._if(e)
        if isinstance(e, ast.Index):
            xs, i = self.expr(e.target), self.expr(e.index)
            return lambda ctx: to_array(map_samples(list_at, xs(ctx), i(ctx), B=ctx.B), np.float64)
        return self._call(e)

    def _name(self, name: str) -> Fn:
        if name in self.params:
            value = self.params[name]
            value = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
            return lambda ctx: value
        if name in self.checked.defs:
            return lambda ctx: self.def_value(ctx, name)
        kind = self.checked.inputs[name]

        def column(ctx: _Ctx) -> Any:
            key = ("input", name)
            if key not in ctx.cache:
                if name not in ctx.batch:
                    raise missing(name)
                ctx.cache[key] = convert_column(name, kind, ctx.batch[name])
            return ctx.cache[key]

        return column

    def _binary(self, e: ast.Binary) -> Fn:
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op in ARITH:
            op = ARITH[e.op]
            return lambda ctx: op(a(ctx), b(ctx))
        if e.op in ("and", "or"):
            op = np.logical_and if e.op == "and" else np.logical_or
            return lambda ctx: op(a(ctx), b(ctx))
        op = COMPARE[e.op]
        if self._type(e.left) in ("num", "int", "bool"):
            return lambda ctx: op(a(ctx), b(ctx))
        eq = e.op == "=="

        def compare_str(ctx: _Ctx) -> Any:
            x, y = a(ctx), b(ctx)
            if not (is_column(x) or is_column(y)):
                return (x == y) == eq
            return as_array([(p == q) == eq for p, q in zip(column(x, ctx.B), column(y, ctx.B))], bool)

        return compare_str

    def _if(self, e: ast.IfElse) -> Fn:
        c, a, b = self.expr(e.cond), self.expr(e.then), self.expr(e.orelse)
        if self._type(e.then) in ("num", "int", "bool"):
            return lambda ctx: np.where(c(ctx), a(ctx), b(ctx))

        def pick(ctx: _Ctx) -> Any:
            cond = c(ctx)
            if not is_column(cond):
                return a(ctx) if cond else b(ctx)
            x, y = column(a(ctx), ctx.B), column(b(ctx), ctx.B)
            return [p if k else q for k, p, q in zip(column(cond, ctx.B), x, y)]

        return pick

    def _type(self, e: ast.Expr) -> str:
        typer = ExprTyper(lambda n: self.checked.types[n.name], None, self.checked.regexes)
        return typer.type_of(e)

    def _call(self, e: ast.Call) -> Fn:
        if e.func in ("search", "fullmatch", "count"):
            return self._regex_call(e.func, e.args[1], e.args[0])
        args = [self.expr(a) for a in e.args]
        if e.func == "valid_indices":  # select and candidates as ints: int/float compares are slower
            text, sel, cand = args
            return lambda ctx: to_array(map_samples(prim.indices_valid, text(ctx), as_ints(sel(ctx)),
                                                  as_ints(cand(ctx)), B=ctx.B), bool)
        if e.func in LIST_FUNCS and len(args) == 1:  # min and max of one argument take a list
            f, xs = LIST_FUNCS[e.func], args[0]
            if e.func in ("sorted", "gaps"):  # lists stay Python lists of tuples
                return lambda ctx: map_samples(f, xs(ctx), B=ctx.B)
            return lambda ctx: to_array(map_samples(f, xs(ctx), B=ctx.B), np.float64)
        if e.func == "int" or (e.func == "num" and len(args) == 2):
            f, (text, default) = (text_to_int if e.func == "int" else text_to_num), args
            return lambda ctx: to_array(map_samples(f, text(ctx), default(ctx), B=ctx.B), np.float64)
        if e.func in STR_FUNCS:
            f, dtype = STR_FUNCS[e.func]
            if dtype is None:
                return lambda ctx: map_samples(f, *(g(ctx) for g in args), B=ctx.B)
            return lambda ctx: to_array(map_samples(f, *(g(ctx) for g in args), B=ctx.B), dtype)
        if e.func in ("min", "max"):
            op = np.minimum if e.func == "min" else np.maximum
            return lambda ctx: functools.reduce(op, (g(ctx) for g in args))
        if e.func == "clip":
            x, lo, hi = args
            return lambda ctx: np.minimum(np.maximum(x(ctx), lo(ctx)), hi(ctx))
        if e.func == "between":
            x, lo, hi = args
            return lambda ctx: np.logical_and(lo(ctx) <= x(ctx), x(ctx) <= hi(ctx))
        if e.func == "abs":
            return lambda ctx: np.abs(args[0](ctx))
        if e.func == "num":
            return lambda ctx: np.asarray(args[0](ctx), dtype=np.float64)
        raise KeyError(f"no implementation for built-in {e.func}")  # internal: checker passed it
