"""The trained selector: index lists parsed by the one selection rule, uniform fallback on garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.data.sample import Sample
from viarl.policy.selector import TrainedSelector
from viarl.selection import Selection, parse_selection


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


def test_trained_selector_falls_back_to_uniform_on_garbage(selector, frames):
    model, proc = selector
    s = Sample(id="q1", video="v.mp4", question="Q?", options=("a", "b"), answer="A",
               question_type="findNeedle", duration=None, meta={})

    class Cands:
        count, selector = 16, frames

    out = TrainedSelector(model, proc, max_new_tokens=6).select([s], [Cands()], 4)
    assert len(out) == 1 and isinstance(out[0], Selection)
    # A random 6-token completion is never a valid index list: the fallback is uniform spacing.
    assert out[0].fallback and out[0].indices == (2, 6, 10, 14) and out[0].raw is not None
