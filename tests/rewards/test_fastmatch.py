"""The literal-and-gap fast path answers exactly like `re` (fullmatch and search)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.rewards.fastmatch import literal_gap_matcher
from viarl.rewards.primitives import INDEX_BLOCK, first_index_block

PIECES = ["<a>", "</a>", "<b>", "a", "ab", " ", "x y", ".*?", ".*", r"\s*", r"\s*?", " a"]
TEXT = ["<a>", "</a>", "<b>", "a", "b", " ", "\n", "\u00a0", "x", "y", "ab"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=6).map("".join),
       st.lists(st.sampled_from(TEXT), max_size=12).map("".join),
       st.sampled_from([re.DOTALL, 0]), st.sampled_from(["fullmatch", "search"]))
def test_fast_path_agrees_with_re(pattern, text, flags, op):
    fast = literal_gap_matcher(pattern, flags, op)
    expected = getattr(re.compile(pattern, flags), op)(text) is not None
    if fast is not None:
        assert fast(text) == expected, (pattern, text, op)


def test_fast_path_covers_the_default_format_and_declines_the_rest():
    assert literal_gap_matcher(r"<think>.*?</think>\s*<index>.*?</index>", re.DOTALL, "fullmatch")
    assert literal_gap_matcher(r"<think>.*?</think>", 0, "search") is None  # `.` without s
    assert literal_gap_matcher(r"(a)", 0, "search") is None  # a group
    assert literal_gap_matcher(r"^a", 0, "search") is None  # an anchor
    assert literal_gap_matcher(r"a", re.IGNORECASE, "search") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<index>", "</index>", "<index", "1", ",", "\n", "x"]),
                max_size=10).map("".join))
def test_first_index_block_is_the_index_block_regex(text):
    m = INDEX_BLOCK.search(text)
    assert first_index_block(text) == (m.group(1) if m else None)
