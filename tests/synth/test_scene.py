"""Needle scene plans and rendering: the needle is obvious, and nothing else gives the answer away."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.synth.scene import PALETTE, SHAPES, Renderer, _bounce, make_plan


def color_share(frame: np.ndarray, color: str, tol: int = 40) -> float:
    """Fraction of pixels within `tol` (max channel difference) of a palette colour."""
    diff = np.abs(frame.astype(np.int16) - np.array(PALETTE[color], dtype=np.int16)).max(axis=-1)
    return float((diff <= tol).mean())


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(8, 400), difficulty=st.floats(0.1, 10),
       width=st.sampled_from([32, 56, 64, 128, 160]), height=st.sampled_from([32, 64, 96, 128]))
def test_plans_are_well_formed(seed, frames, difficulty, width, height):
    plan = make_plan(np.random.default_rng(seed), width=width, height=height, num_frames=frames,
                     difficulty=difficulty)
    start, end = plan.span
    assert 0 <= start < end <= frames and end - start >= 2
    assert plan.shape in SHAPES
    assert len(plan.candidates) == 4 == len(set(plan.candidates)) and plan.answer in plan.candidates
    short = min(width, height)
    assert 0.30 * short <= plan.needle.size <= 0.5 * short
    assert (plan.needle.start, plan.needle.end, plan.needle.color) == (start, end, plan.answer)
    greys = [d for d in plan.distractors if d.color.startswith("grey")]
    for d in greys:  # achromatic, never an option, in every frame, never needle-sized
        assert (d.start, d.end) == (0, frames) and d.size <= 0.2 * short
    for d in (d for d in plan.distractors if d not in greys):
        assert d.shape == plan.shape and d.size < 0.2 * short
        # Distractor colours are never candidates: they cannot rule a candidate in or out.
        assert d.color not in plan.candidates
        # Distractors never show with the needle.
        assert d.end <= start or d.start >= end
    for c in plan.clutter:
        assert c.size < 0.1 * short and (c.start, c.end) == (0, frames)


def test_higher_difficulty_shortens_the_needle_and_adds_clutter():
    easy = make_plan(np.random.default_rng(1), width=64, height=64, num_frames=400, difficulty=0.5)
    hard = make_plan(np.random.default_rng(1), width=64, height=64, num_frames=400, difficulty=2.0)
    assert hard.span[1] - hard.span[0] < easy.span[1] - easy.span[0]
    assert len(hard.clutter) > len(easy.clutter)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e4, 1e4), st.floats(0, 100), st.floats(0, 100))
def test_bounce_stays_inside(v, lo, width):
    hi = lo + width
    assert lo - 1e-6 <= _bounce(v, lo, hi) <= hi + 1e-6


def test_rendering_is_deterministic_and_background_moves():
    plan = make_plan(np.random.default_rng(3), width=64, height=48, num_frames=40, difficulty=1)
    a, b = Renderer(plan), Renderer(plan)
    f0 = a.frame(0)
    assert f0.shape == (48, 64, 3) and f0.dtype == np.uint8
    assert np.array_equal(f0, b.frame(0))
    assert np.abs(a.background(0).astype(int) - a.background(10).astype(int)).mean() > 2


def test_needle_is_large_in_its_span_and_answer_is_not_visible_elsewhere():
    """The answer colour's pixel share jumps inside the span, and only there; predicting the answer
    from frames outside the span is at chance, inside it is perfect."""
    hits_inside = hits_outside = 0
    n = 48
    for seed in range(n):
        plan = make_plan(np.random.default_rng(seed), width=56, height=56, num_frames=32, difficulty=1)
        r = Renderer(plan)
        start, end = plan.span
        inside = [r.frame(t) for t in range(start, end)]
        outside = [r.frame(t) for t in range(32) if not start <= t < end]
        share_in = np.mean([color_share(f, plan.answer) for f in inside])
        share_out = np.mean([color_share(f, plan.answer) for f in outside])
        assert share_in - share_out > 0.04, seed  # the needle covers >= ~6 % of the frame
        pick = lambda frames: max(plan.candidates, key=lambda c: np.mean([color_share(f, c) for f in frames]))
        hits_inside += pick(inside) == plan.answer
        hits_outside += pick(outside) == plan.answer
    assert hits_inside == n
    assert hits_outside / n < 0.5  # chance is 0.25; colour presence alone must not tell the answer


@given(seed=st.integers(0, 2**31), difficulty=st.floats(0.3, 2.0))
@settings(max_examples=50, deadline=None)
def test_fixed_options_keep_every_other_object_out_of_the_candidate_colours(seed, difficulty):
    from viarl.synth.scene import FIXED_CANDIDATES

    p = make_plan(np.random.default_rng(seed), width=96, height=96, num_frames=48,
                  difficulty=difficulty, fixed_options=True)
    assert p.candidates == FIXED_CANDIDATES and p.answer in FIXED_CANDIDATES
    assert p.needle.color == p.answer
    others = [s.color for s in (*p.distractors, *p.clutter)]
    assert others and not set(others) & set(FIXED_CANDIDATES)
