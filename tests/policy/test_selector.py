"""The trained selector: greedy completions parsed by the selection rule, uniform fallback on garbage."""

from __future__ import annotations

from viarl.data.sample import Sample
from viarl.policy.selector import TrainedSelector
from viarl.selection import Selection


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
