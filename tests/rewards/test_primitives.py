"""Index-list parsing and answer matching: the code the engine and the rules share."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.rewards.primitives import (
    answer_matches, first_index_block, indices_valid, normalize_answer, parse_index_list,
)

spaces = st.sampled_from(["", " ", "  ", "\n", "\t"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20), st.data())
def test_formatted_lists_parse_back(values, data):
    items = [data.draw(spaces) + str(v) + data.draw(spaces) for v in values]
    text = ",".join(items)
    if data.draw(st.booleans()):
        text = "[" + text + "]"
    text = data.draw(spaces) + text + data.draw(spaces)
    assert parse_index_list(text) == values


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789,[] -+.e٣１\u0663", max_size=12))
def test_parse_never_accepts_signs_floats_or_unicode_digits(text):
    parsed = parse_index_list(text)
    if parsed is not None:
        assert not any(ch in text for ch in "-+.e٣１\u0663")
        assert all(isinstance(v, int) and v >= 0 for v in parsed)


def test_first_index_block():
    assert first_index_block("<index>1</index><index>2</index>") == "1"
    assert first_index_block("<index>\n1,\n2</index>") == "\n1,\n2"
    assert first_index_block("<index>1") is None and first_index_block(None) is None


def test_indices_valid():
    assert indices_valid("[0, 3]", 2, 4)
    assert not indices_valid("[0, 4]", 2, 4)  # out of range
    assert not indices_valid("1, 1", 2, 4)  # duplicate
    assert not indices_valid("1", 2, 4)  # wrong count
    assert not indices_valid(None, 1, 4)


def test_answer_normalisation():
    assert normalize_answer(" (b). ") == "b"
    assert answer_matches("(A)", "A") and answer_matches("a.", "A") and answer_matches("A..", "(a)")
    assert answer_matches("(A.)", "A") and answer_matches(" ( a ) .", "A")
    assert not answer_matches("((A))", "A")  # one pair of parentheses only
    assert not answer_matches("A or B", "A")
    assert not answer_matches("", "") and not answer_matches(None, "A")
    assert not answer_matches("AB", "A")
