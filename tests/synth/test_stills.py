"""Grounding clips: one target frame per clip, and the question is answerable from the pixels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.synth.scene import PALETTE
from viarl.synth.stills import FILLER_WORDS, NAMING_WORDS, TASKS, TEMPLATES, make_clip, vary_wording


@given(seed=st.integers(0, 10_000), count=st.integers(2, 12), task=st.sampled_from(TASKS))
@settings(max_examples=40, deadline=None)
def test_clip_shapes_and_target(seed, count, task):
    clip = make_clip(np.random.default_rng(seed), count, 64, task=task)
    assert clip.frames.shape == (count, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert 0 <= clip.target < count and clip.task == task
    assert clip.question.endswith(("?", "."))


@pytest.mark.parametrize("seed", range(20))
def test_brightest_target_is_the_brightest_frame(seed):
    clip = make_clip(np.random.default_rng(seed), 8, 64, task="brightest")
    assert int(clip.frames.reshape(8, -1).mean(1).argmax()) == clip.target


@pytest.mark.parametrize("seed", range(20))
def test_colour_target_is_the_only_frame_with_that_colour(seed):
    clip = make_clip(np.random.default_rng(seed), 8, 64, task="colour")
    colour = next(c for c in PALETTE if c in clip.question)
    rgb = np.array(PALETTE[colour], np.int16)
    share = (np.abs(clip.frames.astype(np.int16) - rgb).max(-1) <= 30).mean(axis=(1, 2))  # [T]
    assert int(share.argmax()) == clip.target and share[clip.target] > 0.02


def test_same_seed_same_clip():
    a = make_clip(np.random.default_rng(5), 8, 64)
    b = make_clip(np.random.default_rng(5), 8, 64)
    assert np.array_equal(a.frames, b.frames) and a.question == b.question and a.target == b.target


@given(seed=st.integers(0, 10_000), task=st.sampled_from(TASKS))
@settings(max_examples=30, deadline=None)
def test_ranking_is_a_permutation_led_by_the_target(seed, task):
    clip = make_clip(np.random.default_rng(seed), 8, 64, task=task)
    assert sorted(clip.ranking) == list(range(8)) and clip.ranking[0] == clip.target


@pytest.mark.parametrize("seed", range(10))
def test_brightest_ranking_follows_brightness(seed):
    clip = make_clip(np.random.default_rng(seed), 8, 64, task="brightest")
    means = clip.frames.reshape(8, -1).mean(1)
    assert list(clip.ranking) == list(np.argsort(-means, kind="stable"))


@given(seed=st.integers(0, 10_000), max_words=st.integers(0, 30))
@settings(max_examples=80, deadline=None)
def test_filler_wraps_the_question_in_neutral_words_of_bounded_length(seed, max_words):
    question = "Which frame shows a large circle?"
    text = vary_wording(np.random.default_rng(seed), question, max_words)
    before, _, after = text.partition(question)
    assert question in text
    words = [w.strip(".").lower() for w in (before + " " + after).split()]
    assert len([w for w in before.split()]) <= max_words and len(after.split()) <= max_words // 2
    # ordinary filler, or made-up words of 2-9 letters that never name a colour, shape or size
    made_up = [w for w in words if w not in {f.lower() for f in FILLER_WORDS}]
    assert all(w.isalpha() and w.islower() and 2 <= len(w) <= 9 for w in made_up)
    assert not set(words) & NAMING_WORDS


@given(seed=st.integers(0, 10_000), task=st.sampled_from(TASKS))
@settings(max_examples=30, deadline=None)
def test_filler_changes_only_the_wording(seed, task):
    plain = make_clip(np.random.default_rng(seed), 8, 56, task)
    filled = make_clip(np.random.default_rng(seed), 8, 56, task, filler_words=12)
    assert np.array_equal(plain.frames, filled.frames) and plain.target == filled.target
    assert plain.question in filled.question
    assert any(t.split("{")[0] in plain.question for t in TEMPLATES[task])
