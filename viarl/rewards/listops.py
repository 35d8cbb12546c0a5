"""The rule language's list operations, one sample at a time.

Lists are index lists (ints). The compiler maps these over a column and the interpreter calls
them directly, so both agree by construction. Every reduction of an empty list is 0 and an
out-of-range index reads 0: a reward is always a number, never an exception mid-training.
"""

from __future__ import annotations

from typing import Sequence


def list_min(xs: Sequence[int]) -> int:
    """Smallest item; 0 for an empty list."""
    return min(xs) if xs else 0


def list_max(xs: Sequence[int]) -> int:
    """Largest item; 0 for an empty list."""
    return max(xs) if xs else 0


def list_sum(xs: Sequence[int]) -> int:
    """Sum of the items; 0 for an empty list."""
    return sum(xs)


def list_mean(xs: Sequence[int]) -> float:
    """Mean of the items; 0 for an empty list."""
    return sum(xs) / len(xs) if xs else 0.0


def list_sorted(xs: Sequence[int]) -> tuple[int, ...]:
    """The items in increasing order."""
    return tuple(sorted(xs))


def list_gaps(xs: Sequence[int]) -> tuple[int, ...]:
    """Differences of consecutive sorted items: (3, 10, 4) → (1, 6); () for fewer than 2 items."""
    s = sorted(xs)
    return tuple(b - a for a, b in zip(s, s[1:]))


def list_at(xs: Sequence[int], i: float) -> int:
    """xs[i] for 0 <= i < len(xs), else 0 (negative indices do not count from the end)."""
    i = int(i)
    return xs[i] if 0 <= i < len(xs) else 0


# Built-in name -> per-sample function (the list overloads of min and max included).
LIST_FUNCS = {"min": list_min, "max": list_max, "sum": list_sum, "mean": list_mean,
              "sorted": list_sorted, "gaps": list_gaps}
