"""parse_answer: the documented reply shapes, ambiguity, and out-of-range letters."""

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from viarl.eval.answer_parse import parse_answer

OPTIONS = ("red", "blue", "green", "yellow")


@pytest.mark.parametrize("text, letter", [
    ("The answer is (B).", "B"), ("B. red", "B"), ("b", "B"), ("(c)", "C"), ("Answer: D", "D"),
    ("answer is c", "C"), ("The correct option is C.", "C"), ("  d  ", "D"), ("[A].", "A"),
    ("B) blue", "B"), ("Answer: (C) green", "C"), ("I think (B) here", "B"),
    ("GREEN", "C"), ("yellow.", "D"), ("Blue", "B"),
])
def test_documented_shapes(text, letter):
    assert parse_answer(text, OPTIONS) == letter


@pytest.mark.parametrize("text", [
    "", None, "E", "(E)", "Answer: F", "A red car", "answer: a cat", "The answer is A or B",
    "(A) or (B)", "The answer is (A) or (B)", "purple", "I cannot tell",
])
def test_unusable_or_ambiguous_gives_none(text):
    assert parse_answer(text, OPTIONS) is None


option_text = st.text(alphabet=string.ascii_lowercase + " ", min_size=1, max_size=12).filter(
    lambda s: s.strip() and len(s.strip()) > 1)


@settings(max_examples=150, deadline=None)
@given(options=st.lists(option_text, min_size=2, max_size=6, unique_by=lambda s: " ".join(s.split())),
       pick=st.integers(0, 5), template=st.sampled_from(
           ["{L}", "{l}", "({L})", "({l})", "{L}.", "Answer: {L}", "The answer is ({L}).",
            "{L}. {T}", "({L}) {T}", "answer is {l}", "{T}", "{TU}"]))
@example(options=["aa", "ora"], pick=1, template="{L}. {T}")  # option text starting with "or"
def test_formatted_replies_round_trip(options, pick, template):
    pick = pick % len(options)
    letter = string.ascii_uppercase[pick]
    text = options[pick]
    reply = template.format(L=letter, l=letter.lower(), T=text, TU=text.upper())
    assert parse_answer(reply, tuple(options)) == letter


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), n=st.integers(2, 6))
def test_never_crashes_and_stays_in_range(text, n):
    options = tuple(f"option {i}" for i in range(n))
    got = parse_answer(text, options)
    assert got is None or got in string.ascii_uppercase[:n]
