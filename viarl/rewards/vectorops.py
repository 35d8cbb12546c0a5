"""Column operations the compiled scorer is built from.

A value is a scalar (params, literals) or a column of length B: float64/bool numpy arrays for
numbers and truth values, Python lists for strings and index lists (index lists themselves are
tuples, so that a list always means "a column").
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from viarl.rewards import primitives as prim


def is_column(v: Any) -> bool:
    return isinstance(v, list) or (isinstance(v, np.ndarray) and v.ndim == 1)


def column(v: Any, B: int) -> list:
    """A per-sample Python list for any value (scalars and 0-d arrays repeated)."""
    if isinstance(v, list):
        return v
    if isinstance(v, np.ndarray):
        return v.tolist() if v.ndim == 1 else [v.item()] * B
    return [v] * B


def map_samples(f: Callable, *vals: Any, B: int) -> Any:
    """Apply a per-sample Python function; stays scalar when every argument is scalar."""
    if not any(is_column(v) for v in vals):
        return f(*vals)
    return list(map(f, *(column(v, B) for v in vals)))


def as_array(values: list, dtype) -> np.ndarray:
    return np.fromiter(values, dtype=dtype, count=len(values))


def divide(a: Any, b: Any) -> Any:
    """a / b with 0 where b == 0 (a reward must never be inf or nan)."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.zeros(a.shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": divide}
COMPARE = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal}


def index_block_or_empty(text: str) -> str:
    return prim.first_index_block(text) or ""


def as_ints(v: Any) -> Any:
    """An int-typed value as Python ints (stored as float64; per-sample code wants ints)."""
    if isinstance(v, np.ndarray):
        return v.astype(np.int64) if v.ndim == 1 else int(v)
    return int(v)


STR_FUNCS: dict[str, tuple[Callable, Any]] = {  # per-sample function, result dtype (None: list)
    "strip": (str.strip, None),
    "lower": (str.casefold, None),
    "index_block": (index_block_or_empty, None),
    # A tuple, not a list: Python lists are how the compiler stores columns.
    "indices": (lambda t: tuple(prim.parse_index_list(t) or ()), None),
    "is_index_list": (lambda t: prim.parse_index_list(t) is not None, bool),
    "unique": (lambda xs: len(set(xs)) == len(xs), bool),
    "len": (len, np.float64),
    "answer_match": (prim.answer_matches, bool),
}


def is_match(m: Any) -> bool:
    return m is not None


def to_array(v: Any, dtype) -> Any:
    return as_array(v, dtype) if isinstance(v, list) else v
