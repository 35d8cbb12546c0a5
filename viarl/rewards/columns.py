"""Batch columns: check and convert the per-sample inputs a scorer reads.

A batch is `dict[name -> list | np.ndarray]`, every column of the same length B. Numbers become
float64 arrays (an `int` input must hold whole numbers), bools become bool arrays, strings stay
Python lists of str. Bad values raise `BatchError` (a RuleError) naming the sample, so the CLI
can point at the input line.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from viarl.rewards.errors import RuleError


# Whole numbers are stored as float64: beyond 2**53 they would silently change value.
_MAX_EXACT = 2**53


class BatchError(RuleError):
    """A batch value the rules cannot use; `sample` is its 0-based row (None: whole column)."""

    def __init__(self, message: str, *, sample: int | None, column: str, fix: str | None = None):
        self.sample, self.column = sample, column
        where = f"batch[{sample}].{column}" if sample is not None else f"batch.{column}"
        super().__init__(message, where=where, fix=fix)


class NonFiniteScore(BatchError):
    """A component (or the total) came out inf or nan for one sample: arithmetic overflowed."""

    def __init__(self, name: str, value: float, sample: int):
        self.value = value
        super().__init__(f"component `{name}` scored {value}: its arithmetic overflowed "
                         "(a reward is never inf or nan)", sample=sample, column=name,
                         fix=f"keep the numbers `{name}` combines below about 1e308 (check its params), "
                             "or clamp them with min()/max()")


def check_finite(scores: Mapping[str, np.ndarray]) -> None:
    """NonFiniteScore for the first sample (and first component, in file order) that is inf or nan."""
    for name, values in scores.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise NonFiniteScore(name, float(values[bad[0]]), int(bad[0]))


def batch_size(batch: Mapping[str, Any]) -> int:
    """The common length B of every column; BatchError if they differ."""
    sizes = {name: len(col) for name, col in batch.items()}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
        raise BatchError(f"batch columns have different lengths ({shown})", sample=None,
                         column=next(iter(sizes)), fix="give every column one value per sample")
    return next(iter(sizes.values()), 0)


def _bad(values: list, i: int, name: str, kind: str) -> BatchError:
    return BatchError(f"`{name}` must be {kind}, got {values[i]!r}", sample=i, column=name)


def convert_column(name: str, kind: str, column: Any, allow_none: bool = False) -> Any:
    """Convert one column to the runtime form of type `kind` (num, int, bool, str).

    With `allow_none` (lazy inputs), None entries are kept as None for the caller to resolve.
    """
    if isinstance(column, np.ndarray) and kind in ("num", "int") and column.dtype.kind in "iuf":
        out = column.astype(np.float64, copy=False)
        whole = (np.isfinite(out) & (np.mod(out, 1) == 0) & (np.abs(out) <= _MAX_EXACT)
                 if kind == "int" else None)
        if whole is not None and not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise _bad(list(column), i, name, "a whole number")
        return out
    if isinstance(column, np.ndarray) and kind == "bool" and column.dtype == np.bool_:
        return column
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    if kind == "str":
        if all(type(v) is str for v in values):
            return values
        for i, v in enumerate(values):
            if not isinstance(v, str) and not (allow_none and v is None):
                raise _bad(values, i, name, "a string")
        return [v if v is None or type(v) is str else str(v) for v in values]
    if kind == "bool":
        for i, v in enumerate(values):
            if not isinstance(v, bool):
                raise _bad(values, i, name, "true or false")
        return np.array(values, dtype=bool)
    kinds = set(map(type, values))  # C-level pass; the slow loop below only finds the culprit
    if kinds <= {int, float}:
        out = np.array(values, dtype=np.float64)
        if kind == "num" or kinds == {int}:
            if kind == "num" or np.all(np.abs(out) <= _MAX_EXACT):
                return out
    for i, v in enumerate(values):  # num / int
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(values, i, name, "a number")
        if kind == "int" and isinstance(v, float) and not v.is_integer():
            raise _bad(values, i, name, "a whole number")
        if kind == "int" and abs(v) > _MAX_EXACT:
            raise _bad(values, i, name, "a whole number of magnitude <= 2**53")
    return np.array(values, dtype=np.float64)


def missing(name: str) -> BatchError:
    return BatchError(f"the batch has no `{name}` column, but the rules read it", sample=None,
                      column=name, fix=f"add `{name}` to every sample")
