"""The shipped rules/viarl.rules against an independent, regex-free reading of the spec."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.rewards import RuleError, load_rules
from viarl.rewards.primitives import first_index_block, parse_index_list

RULES = load_rules("rewards/viarl.rules")


def spec_index_list(body: str) -> list[int] | None:
    body = body.strip()
    if len(body) >= 2 and body[0] == "[" and body[-1] == "]":
        body = body[1:-1]
    items = [item.strip() for item in body.split(",")]
    if not all(item and all(ch in "0123456789" for ch in item) for item in items):
        return None
    return [int(item) for item in items]


def spec_block(text: str) -> str | None:
    start = text.find("<index>")
    end = text.find("</index>", start + 7) if start >= 0 else -1
    return text[start + 7 : end] if end >= 0 else None


def spec_format(text: str) -> bool:
    s = text.strip()
    if not (s.startswith("<think>") and s.endswith("</index>")):
        return False
    i = s.find("</think>", 7)
    while i >= 0:
        j = i + 8
        while j < len(s) and s[j].isspace():
            j += 1
        if s.startswith("<index>", j) and j + 7 <= len(s) - 8:
            return True
        i = s.find("</think>", i + 1)
    return False


def spec_norm(a: str) -> str:
    a = a.strip()
    while a.endswith("."):
        a = a[:-1]
    a = a.strip()
    if len(a) >= 2 and a[0] == "(" and a[-1] == ")":
        a = a[1:-1].strip()
        while a.endswith("."):
            a = a[:-1]
        a = a.strip()
    return a.casefold()


def spec_total(c: str, tokens: int, pred: str, ans: str, T: int, N: int) -> dict[str, float]:
    block = spec_block(c)
    idx = spec_index_list(block) if block is not None else None
    valid = float(idx is not None and len(idx) == N and len(set(idx)) == N and max(idx) < T)
    correct = float(spec_norm(pred) != "" and spec_norm(pred) == spec_norm(ans)) if valid else 0.0
    fmt = float(spec_format(c))
    lo = 80 if N <= 8 else 110
    length = 0.2 if lo <= tokens <= 512 else 0.0
    return {"format": fmt, "valid": valid, "correct": correct, "length": length,
            "total": 2 * correct * valid + valid + fmt + length}


PIECES = ["<think>", "</think>", "<index>", "</index>", "0", "1", "2", "7", "12", ",", ", ", " ",
          "\n", "\t", "[", "]", "-", "+", ".", "1.5", "٣", "１", "a", "<index>", "x</index>", "\u00a0"]
completions = st.lists(st.sampled_from(PIECES), max_size=16).map("".join)
predictions = st.sampled_from(["A", "a", "(A)", " (a). ", "A.", "A..", "(A.)", "A or B", "", "B",
                               "AA", "(A", "Ａ", "((A))", "( a . ).", " (A.) "])


def test_contract():
    assert RULES.components == ["format", "valid", "correct", "length"]
    assert RULES.params == {"min_tokens_small": 80, "min_tokens_large": 110, "max_tokens": 512,
                            "length_bonus": 0.2}
    assert RULES.needs == {"prediction"}
    assert RULES.inputs == {"completion", "completion_tokens", "prediction", "answer",
                            "candidates", "select"}


@pytest.mark.parametrize("body, parsed", [
    ("1,2,3", [1, 2, 3]), (" [ 3 , 17 ,42 ] ", [3, 17, 42]), ("\n4,\n5\n", [4, 5]), ("007", [7]),
    ("[1,2", None), ("1,2]", None), ("[[1,2]]", None), ("1,,2", None), ("1,2,", None), ("", None),
    ("[]", None), ("-1,2", None), ("+1", None), ("1.0,2", None), ("1e3", None), ("٣,1", None),
    ("１,2", None), ("1 2", None), ("a", None), ("(1,2)", None),
])
def test_parse_index_list_cases(body, parsed):
    assert parse_index_list(body) == parsed == spec_index_list(body)


def _score(c, tokens=100, pred="A", ans="A", T=16, N=2, params=None):
    batch = {"completion": [c], "completion_tokens": [tokens], "prediction": [pred],
             "answer": [ans], "candidates": [T], "select": [N]}
    return {k: float(v[0]) for k, v in RULES.compile(params)(batch).items()}


def test_paper_examples():
    good = "<think>look for the red car</think><index>3, 5</index>"
    assert _score(good) == {"format": 1, "valid": 1, "correct": 1, "length": 0.2, "total": 4.2}
    assert _score(good, pred="B")["total"] == pytest.approx(2.2)
    assert _score("<think>x</think><index>3, 3</index>")["valid"] == 0  # duplicate
    assert _score("<think>x</think><index>3, 16</index>")["valid"] == 0  # out of range
    assert _score("<think>x</think><index>3</index>")["valid"] == 0  # too few
    assert _score("<think>x</think><index>٣, 1</index>")["valid"] == 0  # Arabic-Indic digit
    # an invalid index list never earns `correct`, even with the right letter
    assert _score("<index>1, 2, 3</index>")["correct"] == 0
    assert _score("note <think>x</think><index>1,2</index>")["format"] == 0  # text before
    assert _score("<think>x</think><index>1,2</index> ok")["format"] == 0  # text after
    assert _score("<think>x</think><index>1,2</index><index>4,5</index>")["format"] == 1
    assert _score(good, tokens=79)["length"] == 0 and _score(good, tokens=80)["length"] == 0.2
    assert _score(good, tokens=100, N=9)["length"] == 0  # 110 tokens needed when select > 8
    assert _score(good, tokens=512)["length"] == 0.2 and _score(good, tokens=513)["length"] == 0


def test_params_override_and_validation():
    good = "<think>x</think><index>3, 5</index>"
    assert _score(good, tokens=10, params={"min_tokens_small": 5, "length_bonus": 1})["length"] == 1
    with pytest.raises(RuleError, match="unknown reward parameter `min_tokens`"):
        RULES.compile({"min_tokens": 5})
    with pytest.raises(RuleError, match="parameter `max_tokens` is int"):
        RULES.compile({"max_tokens": 5.5})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(completions, st.integers(0, 600), predictions, predictions,
                          st.integers(1, 14), st.integers(1, 10)), min_size=1, max_size=8))
def test_default_rules_match_the_spec(rows):
    batch = {k: [r[i] for r in rows] for i, k in enumerate(
        ["completion", "completion_tokens", "prediction", "answer", "candidates", "select"])}
    out = RULES.compile()(batch)
    for i, row in enumerate(rows):
        expected = spec_total(*row)
        assert {k: float(v[i]) for k, v in out.items()} == pytest.approx(expected), row
    # The engine's frame parser is the validity check's code.
    for c in batch["completion"]:
        assert first_index_block(c) == spec_block(c)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(completions, st.integers(1, 14), st.integers(1, 10)), min_size=1, max_size=8))
def test_prediction_needed_exactly_where_the_indices_are_valid(rows):
    batch = {"completion": [r[0] for r in rows], "candidates": [r[1] for r in rows],
             "select": [r[2] for r in rows], "completion_tokens": [0] * len(rows)}
    mask = RULES.compile().prediction_needed(batch)
    expected = [spec_total(c, 0, "", "A", T, N)["valid"] == 1 for c, T, N in rows]
    np.testing.assert_array_equal(mask, expected)


def test_parse_override_uses_the_declared_type():
    assert RULES.parse_override("max_tokens=256") == ("max_tokens", 256)
    assert RULES.parse_override(" length_bonus = 0.5") == ("length_bonus", 0.5)
    with pytest.raises(RuleError, match="parameter `max_tokens` is int, got `2.5`"):
        RULES.parse_override("max_tokens=2.5")
    with pytest.raises(RuleError, match="write NAME=VALUE"):
        RULES.parse_override("max_tokens")
