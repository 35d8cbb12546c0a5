"""A fast path for "did it match" regex passes made of literals and gaps.

Format rules are typically literal tags separated by `.*?` (with the s flag) and `\\s*`, e.g.
`<think>.*?</think>\\s*<index>.*?</index>`. Python's `re` steps through every character of the
`.*?` gaps; here such a pattern is matched with `str.find` / `str.startswith`, which scan at
memchr speed, with exactly the same yes/no answer as `re.fullmatch` / `re.search`.

`literal_gap_matcher(pattern, flags, op)` returns a per-string `str -> bool` function when the
pattern fits (literals; `.*`, `.*?` with DOTALL; `\\s*`, `\\s*?`; no groups, anchors, classes or
other flags), or None, in which case the caller uses `re`. The tests compare it with `re` on
random patterns and strings.
"""

from __future__ import annotations

import re
from typing import Callable

try:  # Python >= 3.11
    import re._parser as _sre_parse
    from re._constants import ANY, CATEGORY, CATEGORY_SPACE, IN, LITERAL, MAX_REPEAT, MAXREPEAT, MIN_REPEAT
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]
    from sre_constants import (  # type: ignore[no-redef]
        ANY, CATEGORY, CATEGORY_SPACE, IN, LITERAL, MAX_REPEAT, MAXREPEAT, MIN_REPEAT,
    )

_WS = object()   # a `\s*` gap: any run of whitespace
_ANY = object()  # a `.*` gap with DOTALL: anything


def _elements(pattern: str, flags: int) -> list | None:
    """The pattern as literal strings, _WS and _ANY gaps; None if it has anything else."""
    if flags & ~(re.DOTALL | re.UNICODE):
        return None
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except re.error:
        return None
    out: list = []
    for op, arg in parsed:
        if op is LITERAL:
            if out and isinstance(out[-1], str):
                out[-1] += chr(arg)
            else:
                out.append(chr(arg))
        elif op in (MIN_REPEAT, MAX_REPEAT) and arg[0] == 0 and arg[1] == MAXREPEAT:
            body = list(arg[2])
            if body == [(ANY, None)] and flags & re.DOTALL:
                out.append(_ANY)
            elif body == [(IN, [(CATEGORY, CATEGORY_SPACE)])]:
                out.append(_WS)
            else:
                return None
        else:
            return None
    return out


def _merge_gaps(elements: list) -> list:
    """`.*` absorbs any neighbouring gap; consecutive `\\s*` are one."""
    out: list = []
    for el in elements:
        if el is _ANY and out and out[-1] in (_ANY, _WS):
            out[-1] = _ANY
        elif el is _WS and out and out[-1] in (_ANY, _WS):
            pass
        else:
            out.append(el)
    return out


def _unit_end(s: str, q: int, unit: list) -> int | None:
    """End of `unit` (literals joined by \\s* gaps) matched at q, or None. Deterministic because
    no literal after a gap starts with whitespace (checked when building)."""
    n = len(s)
    for item in unit:
        if item is _WS:
            while q < n and s[q].isspace():
                q += 1
        elif s.startswith(item, q):
            q += len(item)
        else:
            return None
    return q


def literal_gap_matcher(pattern: str, flags: int, op: str) -> Callable[[str], bool] | None:
    """A `str -> bool` equal to `bool(re.<op>(pattern, s, flags))` (op: fullmatch | search)."""
    elements = _elements(pattern, flags)
    if elements is None:
        return None
    if op == "search":  # search == fullmatch of .*? pattern .*? (with DOTALL)
        elements = [_ANY] + elements + [_ANY]
    elements = _merge_gaps(elements)
    units: list[list] = [[]]  # runs separated by _ANY
    for el in elements:
        if el is _ANY:
            units.append([])
        else:
            units[-1].append(el)
    for unit in units:
        for a, b in zip(unit, unit[1:]):
            if a is _WS and (b[:1].isspace()):
                return None  # greedy skipping would be wrong; let `re` do it
    if len(units) == 1:
        only = units[0]
        return lambda s: _unit_end(s, 0, only) == len(s)
    first, middle, last = units[0], units[1:-1], units[-1]
    for unit in middle:
        if not unit:
            return None  # cannot happen after merging; be safe
    return lambda s: _match(s, first, middle, last)


def _match(s: str, first: list, middle: list[list], last: list) -> bool:
    pos = _unit_end(s, 0, first) if first else 0
    if pos is None:
        return False
    for unit in middle:  # the earliest end of each unit leaves the most room for the rest
        head, best, q = unit[0], None, s.find(unit[0], pos)
        while q >= 0 and (best is None or q < best):
            end = _unit_end(s, q, unit)
            if end is not None and (best is None or end < best):
                best = end
            q = s.find(head, q + 1)
        if best is None:
            return False
        pos = best
    if not last:
        return True
    q = s.find(last[0], pos)
    while q >= 0:  # the last unit must end exactly at the end of the text
        if _unit_end(s, q, last) == len(s):
            return True
        q = s.find(last[0], q + 1)
    return False
