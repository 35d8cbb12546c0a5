"""The needle generator's mix: every look renders, options are shuffled, lengths and rates vary,
and a mix limits what is drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.synth.mix import BACKGROUNDS, SHAPE_WORDS, WORDINGS, NeedleMix
from viarl.synth.needle import make_needle_dataset
from viarl.synth.scene import PALETTE, Renderer, make_plan


@pytest.mark.parametrize("kind", BACKGROUNDS)
def test_every_background_kind_renders_low_saturation_and_differs(kind):
    mix = NeedleMix(backgrounds=(kind,))
    plan = make_plan(np.random.default_rng(5), width=64, height=64, num_frames=40, difficulty=1, mix=mix)
    assert plan.background_kind == kind
    bg = Renderer(plan).background(0).astype(int)
    assert bg.min() >= 60 and bg.max() <= 196
    assert (bg.max(-1) - bg.min(-1)).mean() < 40  # greyish: no background pixel names a colour
    others = [Renderer(make_plan(np.random.default_rng(5), width=64, height=64, num_frames=40, difficulty=1,
                                 mix=NeedleMix(backgrounds=(k,)))).background(0).astype(int)
              for k in BACKGROUNDS if k != kind]
    assert all(np.abs(bg - o).mean() > 1 for o in others)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_shuffled_options_hold_the_answer_once_in_a_random_place(seed):
    plan = make_plan(np.random.default_rng(seed), width=64, height=64, num_frames=48, difficulty=1)
    assert len(set(plan.candidates)) == 4 and plan.answer in plan.candidates
    assert plan.needle.color == plan.answer
    # the question names the shape (or a synonym) in one of the wordings
    assert any(plan.question == w.format(shape=s) for w in WORDINGS for s in SHAPE_WORDS[plan.shape])
    for d in plan.distractors:  # colour distractors: never an option; grey ones: achromatic
        assert d.color not in plan.candidates


def test_answers_and_their_places_spread_over_colours_and_letters():
    plans = [make_plan(np.random.default_rng(s), width=64, height=64, num_frames=48, difficulty=1) for s in range(400)]
    places = np.bincount([p.candidates.index(p.answer) for p in plans], minlength=4)
    assert places.min() > 70  # about 100 each: the letter says nothing
    assert {p.answer for p in plans} == set(PALETTE)


def test_a_mix_limits_shapes_colours_wordings_and_distractors():
    mix = NeedleMix(shapes=("circle",), colours=("red", "green", "blue", "yellow"), wordings=(5,),
                    distractors=(), backgrounds=("flat",))
    for s in range(30):
        p = make_plan(np.random.default_rng(s), width=64, height=64, num_frames=48, difficulty=1, mix=mix)
        assert p.shape == "circle" and set(p.candidates) == {"red", "green", "blue", "yellow"}
        assert p.question in {WORDINGS[5].format(shape=w) for w in SHAPE_WORDS["circle"]}
        assert not p.distractors and p.background_kind == "flat"


def test_bad_mixes_are_named():
    assert [f for f, *_ in NeedleMix(backgrounds=("lava",)).problems()] == ["backgrounds"]
    assert [f for f, *_ in NeedleMix(colours=("red", "green", "blue")).problems()] == ["colours"]
    assert [f for f, *_ in NeedleMix(wordings=(99,)).problems()] == ["wordings"]
    with pytest.raises(UserError) as e:
        make_needle_dataset("/tmp/never-written", videos=1, frames=48, mix=NeedleMix(needle_size=(0.5, 0.2)))
    assert e.value.where == "needle_size"


def test_lengths_and_rates_vary_per_video_and_the_truth_follows(tmp_path):
    import decord

    root = make_needle_dataset(tmp_path / "d", videos=8, frames=(48, 96), fps=(8, 24), size=(64, 64), balance=8)
    truth = json.loads((root / "truth.json").read_text())["videos"]
    entries = json.loads((root / "json" / "1_needle.json").read_text())
    assert len({v["num_frames"] for v in truth.values()}) > 1 and len({v["fps"] for v in truth.values()}) > 1
    for e in entries:
        t = truth[e["video"]]
        assert 48 <= t["num_frames"] <= 96 and 8 <= t["fps"] <= 24
        assert e["duration"] == pytest.approx(t["num_frames"] / t["fps"], abs=1e-3)
        vr = decord.VideoReader(str(root / "video" / "1_needle" / e["video"]))
        assert len(vr) == t["num_frames"]
