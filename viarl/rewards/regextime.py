"""Regexes that never finish become a clear error, not a hung run.

Python's `re` can backtrack for ever on patterns such as `^(a+)+$`. The language keeps `re`'s
syntax (the checker compiles every literal with `re`, and the documented syntax is Python's),
but the scorer matches with the `regex` engine (mrab-regex: `re`-compatible in its VERSION0
mode, maintained, and already a dependency of transformers), whose calls take a time limit. A
call that runs past `TIME_LIMIT_S` on one sample is a BatchError naming that sample and the
pattern. RE2 was the other choice; it lacks backreferences and lookarounds, which `re`
syntax has, so rule files that use them would stop compiling.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

import regex

from viarl.rewards.columns import BatchError
from viarl.rewards.vectorops import column, is_column

TIME_LIMIT_S = 2.0  # per call on one sample; real completions match in microseconds


class RegexTimeout(BatchError):
    """A regex ran past its time limit on one sample."""

    def __init__(self, pattern: str, sample: int | None, source: str):
        super().__init__(f"the regex re\"{pattern}\" did not finish within {TIME_LIMIT_S:g} s on this "
                         "sample (it backtracks without end)", sample=sample, column=source,
                         fix="rewrite it without a repeat inside a repeat, e.g. `^a+$` for `^(a+)+$`")


class _Timeout(Exception):
    pass


@lru_cache(maxsize=None)
def _engine(pattern: str, flags: int):
    return regex.compile(pattern, flags | regex.VERSION0)


def limited(pattern: re.Pattern, op: str) -> Callable[[str], Any]:
    """`op` (search, fullmatch, search?, fullmatch?, count) of `pattern` with the time limit."""
    p = _engine(pattern.pattern, pattern.flags)

    def call(s: str) -> Any:
        try:
            if op == "count":
                return sum(1 for _ in p.finditer(s, timeout=TIME_LIMIT_S))
            m = (p.search if op.startswith("search") else p.fullmatch)(s, timeout=TIME_LIMIT_S)
            return m is not None if op.endswith("?") else m
        except TimeoutError:
            raise _Timeout from None

    return call


def apply(fn: Callable[[str], Any], values: Any, B: int, pattern: str, source: str) -> Any:
    """`fn` over one value or a column of them; a time-out names its sample."""
    if not is_column(values):
        try:
            return fn(values)
        except _Timeout:
            raise RegexTimeout(pattern, None, source) from None
    out = []
    for i, s in enumerate(column(values, B)):
        try:
            out.append(fn(s))
        except _Timeout:
            raise RegexTimeout(pattern, i, source) from None
    return out
