"""A per-sample tree-walking reference interpreter for checked rules (the compiler's test oracle).

Deliberately simple and slow: plain Python values, one sample at a time, straight from the
AST. Tests use it as the specification the vectorised compiler must agree with.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np

from viarl.rewards import ast
from viarl.rewards import primitives as prim
from viarl.rewards.checker import Checked
from viarl.rewards.columns import batch_size, convert_column, missing
from viarl.rewards.lazy import lazy_column, lazy_names
from viarl.rewards.listops import LIST_FUNCS, list_at
from viarl.rewards.primitives import text_to_int, text_to_num


class Interpreter:
    """Evaluates a checked program on one sample at a time."""

    def __init__(self, checked: Checked, params: Mapping[str, Any], ablate: Sequence[str] = ()):
        self.checked = checked
        self.ablate = tuple(ablate)
        self.params = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                       for k, v in params.items()}

    def score(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every component and "total" for each sample, as float64 arrays [B]."""
        B = batch_size(batch)
        rows = [self.score_sample(self._row(batch, i), i) for i in range(B)]
        names = self.checked.components + ["total"] + [f"ablated/{c}" for c in self.ablate]
        return {n: np.array([r[n] for r in rows], dtype=np.float64).reshape(B) for n in names}

    def needed(self, batch: Mapping[str, Any]) -> np.ndarray:
        """bool [B]: where `prediction` is needed."""
        B = batch_size(batch)
        return np.array([self._needs(self._row(batch, i)) for i in range(B)], dtype=bool)

    # ---- one sample
    def _row(self, batch: Mapping[str, Any], i: int) -> dict[str, Any]:
        return {k: (v[i] if not isinstance(v, np.ndarray) else v[i].item()) for k, v in batch.items()}

    def _needs(self, row: dict[str, Any], need: str = "prediction") -> bool:
        if need not in self.checked.needs:
            return False
        cond = self.checked.needs[need]
        return True if cond is None else bool(self.eval(cond, {}, row))

    def score_sample(self, row: dict[str, Any], index: int = 0) -> dict[str, float]:
        """Score one sample given as a dict of raw values."""
        env: dict[str, Any] = {}
        for need, names in lazy_names(self.checked.needs, self.checked.inputs_used).items():
            needed = [self._needs(row, need)]
            for name in names:
                raw = [row[name]] if name in row else None
                value = lazy_column(name, self.checked.inputs[name], raw, needed, offset=index)[0]
                env[name] = value if isinstance(value, str) else float(value)
        out = {c: float(self.eval(ast.Name(c), env, row)) for c in self.checked.components}
        if self.checked.total is not None:
            total = float(self.eval(self.checked.total, env, row))
        else:
            total = 0.0
            for c in self.checked.components:
                w = self.checked.defs[c].weight
                total += (float(self.eval(w, env, row)) if w is not None else 1.0) * out[c]
        out["total"] = total
        for c in self.ablate:  # the value the ablated component would have had
            out[f"ablated/{c}"] = float(self.eval(self.checked.defs[c].value, env, row))
        return out

    def _input(self, name: str, env: dict[str, Any], row: dict[str, Any]) -> Any:
        if name not in row:
            raise missing(name)
        # Reuse the column checks on a one-element column so errors read the same.
        value = convert_column(name, self.checked.inputs[name], [row[name]])[0]
        return float(value) if isinstance(value, (np.floating, float, int)) and not isinstance(
            value, (bool, np.bool_)) else (bool(value) if isinstance(value, np.bool_) else value)

    def eval(self, e: ast.Expr, env: dict[str, Any], row: dict[str, Any]) -> Any:
        """The value of `e` for one sample; `env` memoises names already computed."""
        if isinstance(e, ast.Number):
            return float(e.value)
        if isinstance(e, (ast.String, ast.Bool)):
            return e.value
        if isinstance(e, ast.Name):
            if e.name not in env:
                env[e.name] = self._name(e.name, env, row)
            return env[e.name]
        if isinstance(e, ast.Unary):
            v = self.eval(e.operand, env, row)
            return (not v) if e.op == "not" else -v
        if isinstance(e, ast.Binary):
            a, b = self.eval(e.left, env, row), self.eval(e.right, env, row)
            return _binary(e.op, a, b)
        if isinstance(e, ast.IfElse):
            if self.eval(e.cond, env, row):
                return self.eval(e.then, env, row)
            return self.eval(e.orelse, env, row)
        if isinstance(e, ast.Index):
            return float(list_at(self.eval(e.target, env, row), self.eval(e.index, env, row)))
        assert isinstance(e, ast.Call)
        return self._call(e, env, row)

    def _name(self, name: str, env: dict[str, Any], row: dict[str, Any]) -> Any:
        if name in self.params:
            return self.params[name]
        d = self.checked.defs.get(name)
        if d is None:
            return self._input(name, env, row)
        if isinstance(d, ast.Capture):
            m = self._regex(d.regex).search(self.eval(d.source, env, row))
            got = m.group(d.group or 0) if m else None
            if got is not None:
                return got
            return self.eval(d.default, env, row) if d.default is not None else ""
        if isinstance(d, ast.Component):
            if name in self.ablate:
                return 0.0  # an ablated component reads as 0 everywhere
            v = self.eval(d.value, env, row)
            return float(v)  # true → 1.0, false → 0.0
        return self.eval(d.value, env, row)

    def _regex(self, r: ast.Regex) -> re.Pattern:
        return self.checked.regexes[(r.pattern, r.flags)]

    def _call(self, e: ast.Call, env: dict[str, Any], row: dict[str, Any]) -> Any:
        f = e.func
        if f in ("search", "fullmatch", "count"):
            text, pattern = self.eval(e.args[0], env, row), self._regex(e.args[1])
            if f == "count":
                return float(len(pattern.findall(text)))
            return (pattern.search if f == "search" else pattern.fullmatch)(text) is not None
        a = [self.eval(x, env, row) for x in e.args]
        if f in LIST_FUNCS and len(a) == 1:  # min and max of one argument take a list
            out = LIST_FUNCS[f](a[0])
            return out if isinstance(out, tuple) else float(out)
        if f == "int" or (f == "num" and len(a) == 2):
            return (text_to_int if f == "int" else text_to_num)(a[0], a[1])
        if f == "strip":
            return a[0].strip()
        if f == "lower":
            return a[0].casefold()
        if f == "len":
            return float(len(a[0]))
        if f == "index_block":
            block = prim.first_index_block(a[0])
            return "" if block is None else block
        if f == "indices":
            return prim.parse_index_list(a[0]) or []
        if f == "is_index_list":
            return prim.parse_index_list(a[0]) is not None
        if f == "valid_indices":
            return prim.indices_valid(a[0], a[1], a[2])
        if f == "unique":
            return len(set(a[0])) == len(a[0])
        if f == "answer_match":
            return prim.answer_matches(a[0], a[1])
        if f == "between":
            return a[1] <= a[0] <= a[2]
        if f == "min":
            return min(a)
        if f == "max":
            return max(a)
        if f == "clip":
            return min(max(a[0], a[1]), a[2])
        if f == "abs":
            return abs(a[0])
        if f == "num":
            return float(a[0])
        raise KeyError(f"no implementation for built-in {f}")


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "and":
        return a and b
    if op == "or":
        return a or b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b != 0 else 0.0
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
