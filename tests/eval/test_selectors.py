"""Selectors: uniform spacing, CLIP similarity with a temporal gap, CLIP pre-filter, the factory."""

import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.models.clip import clip_identity, clip_prefilter, load_clip
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates
from viarl.video.prefilter import load_prefiltered
from viarl.eval.selectors import (ClipSelector, UniformSelector, clip_scores,
                                  make_selector, spread_top_n)


@settings(max_examples=150, deadline=None)
@given(scores=st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=40),
       n=st.integers(1, 12), d=st.floats(0, 1))
def test_spread_top_n_is_a_valid_choice(scores, n, d):
    got = spread_top_n(scores, n, d)
    assert got == sorted(set(got)) and len(got) == min(n, len(scores))
    assert all(0 <= i < len(scores) for i in got)


def test_diversity_zero_is_top_n_and_one_spreads():
    scores = np.zeros(32)
    scores[10:16] = [0.9, 0.95, 1.0, 0.97, 0.93, 0.91]  # one bright shot
    scores[28] = 0.5
    assert spread_top_n(scores, 4, 0.0) == [11, 12, 13, 14]
    spread = spread_top_n(scores, 4, 1.0)
    assert 12 in spread and 28 in spread
    assert min(np.diff(spread)) >= 4  # not adjacent frames of one shot


def test_uniform_selector_uses_candidate_count():
    class C:
        count = 10

    assert UniformSelector().select([None], [C()], 3)[0].indices == (1, 5, 8)


@pytest.fixture(scope="module")
def cands(eval_layouts):

    return load_candidates(eval_layouts["mlvu"] / "video/1_needle/vA.mp4", 8, 32, 32)


def test_clip_selector_on_real_frames_ignores_overlay(clip_bundle, cands):
    from viarl.data.sample import make_sample

    s = make_sample("q", "v.mp4", "a bright square", ["x", "y"], "A", "t")
    sims = clip_scores(clip_bundle, s.question, cands.all_answer_images(), batch_size=3)  # several batches
    assert sims.shape == (8,) and np.all(np.abs(sims) <= 1.0 + 1e-5)
    # the answer view is what is scored: the same number with one batch
    assert np.allclose(sims, clip_scores(clip_bundle, s.question, cands.all_answer_images(), batch_size=64), atol=1e-5)
    sel = ClipSelector(clip_bundle, diversity=0.0).select([s], [cands], 3)[0]
    assert list(sel.indices) == sorted(np.argsort(-sims, kind="stable")[:3].tolist())
    assert sel.raw is None and not sel.fallback


def test_clip_prefilter_keeps_the_most_similar_frames_in_time_order(clip_bundle, eval_layouts, tmp_path):

    video, question = eval_layouts["mlvu"] / "video/1_needle/vA.mp4", "a bright square"
    pool = load_candidates(video, 16, 32, 32)
    sims = clip_scores(clip_bundle, question, pool.all_answer_images())  # [16]
    pre = clip_prefilter(clip_bundle, 16, batch_size=5)
    assert pre.scorer_id == clip_bundle.identity and pre.scorer_id is not None
    cache = FrameCache(tmp_path / "cache")
    kept = load_prefiltered(video, question, 5, 32, 32, pre, cache=cache)
    best = sorted(np.argsort(-sims, kind="stable")[:5].tolist())
    assert kept.count == 5 and kept.frame_indices.tolist() == [int(pool.frame_indices[i]) for i in best]
    assert kept.frame_indices.tolist() == sorted(kept.frame_indices.tolist())
    again = load_prefiltered(video, question, 5, 32, 32, pre, cache=cache)  # from the cache entry
    assert np.array_equal(again.selector_frames, kept.selector_frames)


def test_clip_identity_changes_with_the_weights(tiny_clip_dir, tmp_path):

    copy = shutil.copytree(tiny_clip_dir, tmp_path / "clip")
    first = clip_identity(str(copy))
    assert clip_identity(str(copy)) == first and clip_identity(str(tiny_clip_dir)) != first
    assert load_clip(str(copy)).identity == first
    weights = next(p for p in copy.iterdir() if p.suffix == ".safetensors")
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert clip_identity(str(copy)) != first
    assert clip_identity("ViT-B-32", "openai") != clip_identity("ViT-B-32", "laion2b_s34b_b79k")
    assert clip_identity("ViT-B-32", None) is None  # random weights each load: nothing to cache by


def test_make_selector_specs(clip_bundle, tmp_path):
    assert make_selector("uniform").name == "uniform"
    assert make_selector("clip", clip=clip_bundle).name == "clip"
    assert make_selector("clip", clip=lambda: clip_bundle).name == "clip"
    with pytest.raises(UserError, match="CLIP model"):
        make_selector("clip")
    with pytest.raises(UserError, match="not uniform, clip"):
        make_selector(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="diversity"):
        ClipSelector(clip_bundle, diversity=1.5)


def test_clip_scores_are_float32_when_evaluation_autocasts_to_bf16(clip_bundle, cands):
    """Evaluation runs in the recipe's compute dtype; CLIP's similarities still come back as
    float32 numbers (numpy has no bfloat16)."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        sims = clip_scores(clip_bundle, "a bright square", cands.all_answer_images())
    assert sims.dtype == np.float32 and sims.shape == (8,)
    assert np.allclose(sims, clip_scores(clip_bundle, "a bright square", cands.all_answer_images()), atol=0.05)
