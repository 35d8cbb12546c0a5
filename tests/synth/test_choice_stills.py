"""Multiple-choice stills (the answer model's pretraining data): one large object, the right
option among 4 shuffled ones, the target its text."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.synth.choice_stills import CHROMATIC, make_choice_still
from viarl.synth.scene import PALETTE, SHAPES


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), count=st.integers(1, 4), kind=st.sampled_from(["colour", "shape"]))
def test_one_right_option_among_four_shuffled(seed, count, kind):
    ex = make_choice_still(np.random.default_rng(seed), count, size=64, kind=kind)
    assert ex.frames.shape == (count, 64, 64, 3) and ex.frames.dtype == np.uint8
    assert len(set(ex.options)) == 4 and 0 <= ex.answer < 4
    assert ex.answer_text == ex.options[ex.answer]
    assert set(ex.options) <= set(CHROMATIC if kind == "colour" else SHAPES)


def test_the_large_object_shows_the_answer_colour_and_places_are_spread():
    places = []
    for seed in range(200):
        ex = make_choice_still(np.random.default_rng(seed), 2, size=64)
        rgb = np.array(PALETTE[ex.answer_text])
        share = [(np.abs(f.astype(int) - rgb).max(-1) < 30).mean() for f in ex.frames]
        assert max(share) > 0.03, seed  # a large triangle covers >= ~4 % of its frame
        places.append(ex.answer)
    assert np.bincount(places, minlength=4).min() > 30  # about 50 each: the letter says nothing


def _largest_colour_share(frames) -> float:
    return max((np.abs(f.astype(int) - np.array(PALETTE[c])).max(-1) < 30).mean() for f in frames for c in CHROMATIC)


def test_absent_examples_show_no_large_object_and_target_the_first_option():
    absent, shown = [], []
    for seed in range(60):
        ex = make_choice_still(np.random.default_rng(seed), 2, size=64, absent=True)
        assert ex.answer == 0 and ex.answer_text == ex.options[0]
        absent.append(_largest_colour_share(ex.frames))
        shown.append(_largest_colour_share(make_choice_still(np.random.default_rng(seed), 2, size=64).frames))
    # only small objects: the most of one colour in a frame is far below what a large object covers
    assert np.mean(absent) < 0.4 * np.mean(shown) and max(absent) < min(0.06, max(shown))
