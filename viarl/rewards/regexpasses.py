"""Regex passes of the compiled scorer: each (operation, pattern, flags, source) runs once per batch.

A mixin of `compiler.Scorer` (it uses the scorer's `checked` program and `expr`): captures keep
their match objects, and `search(x, re)` on the same source and regex as a capture reuses
them; yes/no passes keep only booleans, through `str.find` when the pattern allows it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from viarl.rewards import ast
from viarl.rewards.printer import print_expr
from viarl.rewards.regextime import apply, limited
from viarl.rewards.typecheck import regex_flags
from viarl.rewards.vectorops import column, is_column, is_match, map_samples, to_array

Fn = Callable[[Any], Any]


class RegexPasses:
    """Compiles captures and search/fullmatch/count calls into shared per-batch passes."""

    def _capture(self, d: ast.Capture) -> Fn:
        matches = self._regex_pass("search", d.regex, d.source)
        group = d.group or 0
        default = self.expr(d.default) if d.default is not None else (lambda ctx: "")

        def run(ctx) -> Any:
            ms = matches(ctx)
            if not is_column(ms):
                got = ms.group(group) if ms is not None else None
                return default(ctx) if got is None else got
            dflt = column(default(ctx), ctx.B)
            out = [m.group(group) if m is not None else None for m in ms]
            return [x if x is not None else y for x, y in zip(out, dflt)]

        return run

    def _regex_pass(self, op: str, regex: ast.Regex, source: ast.Expr) -> Fn:
        """Match objects (or counts) of one regex over one source, computed once per batch."""
        pattern = self.checked.regexes[(regex.pattern, regex.flags)]
        key = ("regex", op, regex.pattern, regex_flags(regex.flags), print_expr(source))
        src = self.expr(source)
        # Every pass runs under a time limit (see regextime.py); "?" passes keep only whether
        # it matched (no match objects to keep alive).
        method = limited(pattern, op)
        where = print_expr(source)

        def run(ctx) -> Any:
            if key not in ctx.cache:
                ctx.cache[key] = apply(method, src(ctx), ctx.B, pattern.pattern, where)
                ctx.passes.append(key)
            return ctx.cache[key]

        return run

    def _captured(self, regex: ast.Regex, source: ast.Expr) -> bool:
        """Whether some capture runs this regex on this source (so its matches are kept)."""
        return any(isinstance(d, ast.Capture) and d.regex == regex and d.source == source
                   for d in self.checked.defs.values())

    def _regex_call(self, op: str, regex: ast.Regex, source: ast.Expr) -> Fn:
        """search / fullmatch (bool) or count (number) of `regex` over `source`."""
        if op == "search" and self._captured(regex, source):
            run = self._regex_pass("search", regex, source)  # share the capture's pass
            return lambda ctx: to_array(map_samples(is_match, run(ctx), B=ctx.B), bool)
        run = self._regex_pass(op if op == "count" else op + "?", regex, source)
        return lambda ctx: to_array(run(ctx), np.float64 if op == "count" else bool)
