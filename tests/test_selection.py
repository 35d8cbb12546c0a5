"""The selection rule: how many frames are picked, the one index-list parser, uniform spacing."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.selection import effective_select, first_index_block, parse_selection, select_problem

INDEX_BLOCK = re.compile(r"<index>(.*?)</index>", re.DOTALL)


@given(idx=st.lists(st.integers(0, 30), min_size=0, max_size=6), count=st.integers(1, 20),
       select=st.integers(1, 6))
@settings(max_examples=150, deadline=None)
def test_parse_selection_accepts_exactly_valid_choices(idx, count, select):
    text = "<think>x</think><index>" + ", ".join(map(str, idx)) + "</index>"
    got = parse_selection(text, count, select)
    ok = len(idx) == min(select, count) and len(set(idx)) == len(idx) and all(i < count for i in idx)
    assert (got is not None) == ok
    if ok:
        assert got == sorted(idx)


@given(st.lists(st.sampled_from(["<index>", "</index>", "<ind", "ex>", "1, 2", "\n", "x", " "]), max_size=8))
@settings(max_examples=200, deadline=None)
def test_first_index_block_is_the_first_regex_match(parts):
    text = "".join(parts)
    m = INDEX_BLOCK.search(text)
    assert first_index_block(text) == (m.group(1) if m else None)


@given(st.integers(-2, 20), st.integers(0, 20))
def test_select_rule(select, count):
    assert effective_select(select, count) == max(0, min(select, count))
    assert (select_problem(select, count) is None) == (1 <= select <= count)
