"""The reward primitives, as plain per-sample Python functions.

These are the single source of truth for index parsing and answer matching: the rule language's
built-ins call them, the training engine calls `parse_index_list(first_index_block(completion))`
to turn a completion into frames, and the benchmark's hand-written scorer calls them too. Keeping
one copy is the point (the paper's code had drifted copies).
"""

from __future__ import annotations

import math
import re

# The first `<index>…</index>` block; `.` matches newlines so a multi-line list still counts.
INDEX_BLOCK = re.compile(r"<index>(.*?)</index>", re.DOTALL)

# A comma-separated list of ASCII decimal integers, whitespace allowed around items. `[0-9]`
# rather than `\d` so that non-ASCII digits ('٣', '３') are rejected.
_INDEX_LIST = re.compile(r"\s*[0-9]+\s*(?:,\s*[0-9]+\s*)*")


def first_index_block(completion: str | None) -> str | None:
    """The text inside the first `<index>…</index>` block of `completion`, or None if there is none.

    Same answer as ``INDEX_BLOCK.search(completion).group(1)`` (the first `<index>` with a
    `</index>` after it, non-greedy), computed with `str.find`, which is several times faster.
    """
    if completion is None:
        return None
    start = completion.find("<index>")
    if start < 0:
        return None
    end = completion.find("</index>", start + 7)
    return completion[start + 7 : end] if end >= 0 else None


# Characters of an ASCII index list: digits, commas and the ASCII characters `\s` matches.
_ASCII_LIST_CHARS = frozenset("0123456789," + "".join(chr(c) for c in range(128) if chr(c).isspace()))


def parse_index_list(text: str | None) -> list[int] | None:
    """Parse an index list such as ``" [3, 17 ,42] "``; None when malformed.

    Rules: strip surrounding whitespace, then remove one optional surrounding ``[ ]`` pair; what
    is left must be a non-empty comma-separated list of non-negative decimal integers written with
    ASCII digits (no signs, no decimal points, no exponents), whitespace allowed around items.
    Duplicates and ranges are *not* checked here (see `indices_valid`).
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


def indices_valid(text: str | None, select: int, candidates: int) -> bool:
    """True when `text` parses as exactly `select` distinct indices, each in [0, candidates)."""
    idx = parse_index_list(text)
    if not idx or len(idx) != select:
        return False
    return len(set(idx)) == len(idx) and max(idx) < candidates


def normalize_answer(text: str | None) -> str:
    """Normalise a multiple-choice answer for comparison.

    Steps, in order: strip whitespace and trailing periods; remove one pair of surrounding
    parentheses; strip whitespace and trailing periods again; casefold. So ``" (b). "`` and
    ``"(B.)"`` → ``"b"`` while ``"A or B"`` stays ``"a or b"`` (it will not match ``"A"``).
    """
    if text is None:
        return ""
    s = text.strip().rstrip(".").strip()
    if len(s) >= 2 and s.startswith("(") and s.endswith(")"):
        s = s[1:-1].strip().rstrip(".").strip()
    return s.casefold()


def answer_matches(prediction: str | None, answer: str | None) -> bool:
    """True when the normalised prediction equals the normalised answer, and is not empty.

    An empty prediction never matches (an empty answer field must not reward an empty reply).
    """
    p = normalize_answer(prediction)
    return p != "" and p == normalize_answer(answer)


# Numbers written in ASCII only, as for index lists: `int("٣", 0)` must not quietly read 3.
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUM_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_EXACT = 2**53  # numbers are float64 in the scorer; larger whole numbers would change value


def text_to_int(text: str, default: float) -> float:
    """The integer `text` spells (surrounding whitespace allowed), else `default`.

    Returned as a float, the scorer's number type; beyond 2**53 in size counts as unparsable.
    """
    body = text.strip()
    if _INT_TEXT.fullmatch(body):
        value = int(body)
        if abs(value) <= _MAX_EXACT:
            return float(value)
    return default


def text_to_num(text: str, default: float) -> float:
    """The decimal number `text` spells (`1`, `-2.5`, `.5`, `1e3`), else `default`.

    `inf`, `nan` and numbers that overflow to infinity count as unparsable (a reward is finite).
    """
    body = text.strip()
    if _NUM_TEXT.fullmatch(body):
        value = float(body)
        if math.isfinite(value):
            return value
    return default
