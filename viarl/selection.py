"""The selection rule: what a selector returns, how many frames it picks, how its text is parsed.

`Selection` is what every frame selector returns; `effective_select` and `select_problem` say how
many of T candidates are picked; `parse_selection` turns a selector's `<index>…</index>` text
into candidate positions; `uniform_indices` is the baseline and the fallback.

Indices here are candidate positions (0..count-1), not source frame numbers; map them through
`Candidates.frame_indices` to reach the video. This module is the only parser of index lists:
the rule language's primitives, the trained selector and the RL reward all call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Selection:
    """One selector decision for one question.

    indices: chosen candidate positions, sorted ascending, distinct.
    raw: the selector's raw text output (None for selectors that write none).
    fallback: True when the selector's output was unusable and uniform spacing was used instead.
    """

    indices: tuple[int, ...]
    raw: str | None = None
    fallback: bool = False


def uniform_indices(count: int, n: int, offset: float = 0.5) -> list[int]:
    """N evenly spaced positions among `count` candidates (segment centres by default).

    With n >= count every candidate is returned. `offset` in [0, 1) shifts the positions inside
    their segments; the selector warm-up draws it at random so the format it learns is not tied
    to one fixed set of indices.
    """
    if count <= 0 or n <= 0:
        return []
    if n >= count:
        return list(range(count))
    pos = np.floor((np.arange(n) + offset) * count / n).astype(int)
    return sorted(set(int(p) for p in np.clip(pos, 0, count - 1)))


def effective_select(select: int, count: int) -> int:
    """How many frames a selector picks among `count` candidates: N, or every candidate of a
    video shorter than N candidates (the prompt asks for this many, the reward checks it)."""
    return max(0, min(select, count))


def select_problem(select: int, candidates: int) -> str | None:
    """Why N frames cannot be picked from T candidates, or None when they can (1 <= N <= T)."""
    if select < 1:
        return f"select must be >= 1, got {select}"
    if select > candidates:
        return f"select ({select}) is larger than candidates ({candidates})"
    return None


def pool_problem(pool: int, candidates: int) -> str | None:
    """Why a pre-filter pool of M frames cannot fill T candidates usefully, or None (M > T)."""
    if pool <= candidates:
        return (f"the pre-filter pool ({pool} frames) is not larger than the {candidates} candidates, "
                "so it would keep every frame")
    return None


def best_positions(scores: Sequence[float], n: int) -> list[int]:
    """Positions of the n highest scores, in increasing (time) order; all of them if n >= len.

    Ties go to the earlier position, so the result is deterministic.
    """
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return sorted(order[: max(0, int(n))])


# A comma-separated list of ASCII decimal integers, whitespace allowed around items. `[0-9]`
# rather than `\d` so that non-ASCII digits ('٣', '３') are rejected.
_INDEX_LIST = re.compile(r"\s*[0-9]+\s*(?:,\s*[0-9]+\s*)*")
# Characters of an ASCII index list: digits, commas and the ASCII characters `\s` matches.
_ASCII_LIST_CHARS = frozenset("0123456789," + "".join(chr(c) for c in range(128) if chr(c).isspace()))


def first_index_block(completion: str | None) -> str | None:
    """The text inside the first `<index>…</index>` block of `completion`, or None if there is none.

    Same answer as ``re.search(r"<index>(.*?)</index>", completion, re.DOTALL).group(1)`` (the
    first `<index>` with a `</index>` after it, non-greedy), computed with `str.find`, which is
    several times faster.
    """
    if completion is None:
        return None
    start = completion.find("<index>")
    if start < 0:
        return None
    end = completion.find("</index>", start + 7)
    return completion[start + 7 : end] if end >= 0 else None


def parse_index_list(text: str | None) -> list[int] | None:
    """Parse an index list such as ``" [3, 17 ,42] "``; None when malformed.

    Rules: strip surrounding whitespace, then remove one optional surrounding ``[ ]`` pair; what
    is left must be a non-empty comma-separated list of non-negative decimal integers written with
    ASCII digits (no signs, no decimal points, no exponents), whitespace allowed around items.
    Duplicates and ranges are *not* checked here (see `checked_indices`).
    """
    if text is None:
        return None
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if _ASCII_LIST_CHARS.issuperset(body):
        # Fast path: with only digits, commas and whitespace, int() accepts exactly an item
        # `\s*[0-9]+\s*` (it rejects "", "1 2"); same answer as the regex below.
        try:
            return list(map(int, body.split(",")))
        except ValueError:
            return None
    if not _INDEX_LIST.fullmatch(body):
        return None
    return [int(item) for item in body.split(",")]


def checked_indices(indices: Sequence[int] | None, count: int, select: int) -> list[int] | None:
    """`indices` sorted when they are exactly `select` distinct positions in [0, count), else None."""
    if not indices or len(indices) != select or len(set(indices)) != len(indices):
        return None
    if min(indices) < 0 or max(indices) >= count:
        return None
    return sorted(indices)


def parse_selection(text: str | None, count: int, select: int) -> list[int] | None:
    """The candidate positions a selector completion chooses (sorted), or None when its first
    `<index>` block is not exactly `effective_select(select, count)` distinct positions < count."""
    return checked_indices(parse_index_list(first_index_block(text)), count, effective_select(select, count))


def selection_or_uniform(text: str | None, count: int, select: int) -> tuple[list[int], bool]:
    """The positions a completion chooses (`parse_selection`), or uniformly spaced ones where it
    names no valid selection; and whether it fell back to those."""
    chosen = parse_selection(text, count, select)
    return (chosen, False) if chosen is not None else (uniform_indices(count, select), True)
