"""Signatures of the rule language's built-in functions (the checker's view of them).

Types are plain strings: "num", "int" (a num that is a whole number; usable wherever num is),
"bool", "str", "list" (a list of ints) and "regex" (only as a literal argument). The vectorised
implementations live in compiler.py (and the tests' reference interpreter,
tests/rewards/reference_interpreter.py); both call `viarl.rewards.primitives` for anything non-trivial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

TYPES = ("num", "int", "bool", "str")  # declarable types of params and inputs


def assignable(actual: str, expected: str) -> bool:
    """True when a value of type `actual` may be used where `expected` is required."""
    return actual == expected or (actual == "int" and expected == "num")


def join_numeric(types: list[str]) -> str:
    """int if every operand is int, else num (the result type of + - * min max clip abs)."""
    return "int" if all(t == "int" for t in types) else "num"


@dataclass(frozen=True)
class Builtin:
    """One built-in function: argument types (None = variadic over the last), result, doc."""

    name: str
    args: tuple[str, ...]
    result: Callable[[list[str]], str]
    doc: str
    variadic: bool = False
    min_args: int = 0

    def signature(self) -> str:
        shown = ", ".join(self.args) + (", …" if self.variadic else "")
        return f"{self.name}({shown})"


def _fixed(t: str) -> Callable[[list[str]], str]:
    return lambda _args: t


_SIGNATURES = [
    Builtin("strip", ("str",), _fixed("str"), "remove surrounding whitespace"),
    Builtin("lower", ("str",), _fixed("str"), "lower-case (casefold)"),
    Builtin("len", ("str|list",), _fixed("int"), "characters of a str, items of a list"),
    Builtin("search", ("str", "regex"), _fixed("bool"), "the regex matches somewhere (partial match)"),
    Builtin("fullmatch", ("str", "regex"), _fixed("bool"), "the regex matches the whole text"),
    Builtin("count", ("str", "regex"), _fixed("int"), "number of non-overlapping matches"),
    Builtin("index_block", ("str",), _fixed("str"),
            'text inside the first <index>…</index> ("" if none); the engine uses the same code'),
    Builtin("indices", ("str",), _fixed("list"), "the parsed index list ([] if malformed)"),
    Builtin("is_index_list", ("str",), _fixed("bool"), "the text is a well-formed index list"),
    Builtin("valid_indices", ("str", "int", "int"), _fixed("bool"),
            "valid_indices(text, select, candidates): well-formed, exactly select items, "
            "distinct, each < candidates"),
    Builtin("unique", ("list",), _fixed("bool"), "no item repeats"),
    Builtin("answer_match", ("str", "str"), _fixed("bool"),
            "answer_match(prediction, answer): equal after normalisation, never on empty"),
    Builtin("between", ("num", "num", "num"), _fixed("bool"), "between(x, lo, hi): lo <= x <= hi"),
    Builtin("min", ("num", "num"), join_numeric, "smallest argument", variadic=True, min_args=2),
    Builtin("max", ("num", "num"), join_numeric, "largest argument", variadic=True, min_args=2),
    Builtin("clip", ("num", "num", "num"), join_numeric, "clip(x, lo, hi) = min(max(x, lo), hi)"),
    Builtin("abs", ("num",), join_numeric, "absolute value"),
    Builtin("num", ("bool|num",), _fixed("num"), "true → 1, false → 0; numbers unchanged"),
    # Lists (of ints). An empty list reduces to 0, so a reward is always a number.
    Builtin("min", ("list",), _fixed("int"), "smallest item (0 for [])"),
    Builtin("max", ("list",), _fixed("int"), "largest item (0 for [])"),
    Builtin("sum", ("list",), _fixed("int"), "sum of the items (0 for [])"),
    Builtin("mean", ("list",), _fixed("num"), "mean of the items (0 for [])"),
    Builtin("sorted", ("list",), _fixed("list"), "the items in increasing order"),
    Builtin("gaps", ("list",), _fixed("list"),
            "differences of consecutive sorted items ([] for fewer than 2 items)"),
    # Numbers from text (usually a capture).
    Builtin("int", ("str", "int"), _fixed("int"),
            "int(text, default): an optionally signed ASCII integer, else default"),
    Builtin("num", ("str", "num"), _fixed("num"),
            "num(text, default): an ASCII decimal number (1, -2.5, 1e3), else default"),
]

# name -> its signatures; overloads differ in their number of arguments.
BUILTINS: dict[str, tuple[Builtin, ...]] = {}
for _b in _SIGNATURES:
    BUILTINS[_b.name] = BUILTINS.get(_b.name, ()) + (_b,)


def _arg_types(b: Builtin, count: int) -> list[str] | None:
    if b.variadic:
        if count < max(b.min_args, len(b.args)):
            return None
        return list(b.args) + [b.args[-1]] * (count - len(b.args))
    return list(b.args) if count == len(b.args) else None


def arg_types_for(overloads: tuple[Builtin, ...], count: int) -> tuple[Builtin, list[str]] | None:
    """The signature taking `count` arguments and each argument's expected type, or None."""
    for b in overloads:
        wanted = _arg_types(b, count)
        if wanted is not None:
            return b, wanted
    return None


def accepts(expected: str, actual: str) -> bool:
    """Whether an argument slot typed `expected` (maybe "a|b") takes a value of type `actual`."""
    return any(assignable(actual, e) for e in expected.split("|"))


# Names with a fixed meaning: the per-sample inputs every rule file may read without declaring.
BUILTIN_INPUTS: dict[str, str] = {
    "completion": "str",
    "completion_tokens": "int",
    "prediction": "str",  # the option letter the answer model's reply names (as evaluation reads it)
    "reply": "str",  # the answer model's raw reply
    "answer": "str",
    "candidates": "int",
    "select": "int",
    "answer_tokens": "int",
}

# Inputs that are expensive to produce and so must be declared with `needs` before use:
# what `needs NAME` names -> the inputs it provides. The answer model's raw reply and its length
# come with its prediction (one generation gives all three).
LAZY_INPUTS: dict[str, tuple[str, ...]] = {"prediction": ("prediction", "answer_tokens", "reply")}

KEYWORDS = frozenset(
    "param input capture let component needs total match group else weight when "
    "if then and or not true false".split()
)
