"""The reward primitives, as plain per-sample Python functions.

Index lists are parsed by `viarl.selection` (the one parser, shared with the trained selector
and the RL step); answer matching and number parsing live here. The rule language's built-ins
and the benchmark's hand-written scorer call these. Keeping one copy is the point (the paper's
code had drifted copies).
"""

from __future__ import annotations

import math
import re

from viarl.selection import checked_indices, first_index_block, parse_index_list  # noqa: F401 (the built-ins' names)


def indices_valid(text: str | None, select: int, candidates: int) -> bool:
    """True when `text` parses as exactly `select` distinct indices, each in [0, candidates)."""
    return checked_indices(parse_index_list(text), candidates, select) is not None


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
