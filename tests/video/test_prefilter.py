"""CLIP pre-filtering: time order, true counts for short videos, redrawn indices, cache keys."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates, selector_view
from viarl.selection import best_positions
from viarl.video.prefilter import Prefilter, load_prefiltered

from video_codes import read_code


class CodeScorer:
    """Scores a frame by the number it shows (a real function of the pixels); counts its calls."""

    def __init__(self, weight=lambda code: (code * 37) % 101):
        self.weight, self.calls = weight, []

    def __call__(self, question, images):
        self.calls.append(question)
        return np.array([self.weight(read_code(np.asarray(im))) for im in images], dtype=float)


@given(st.lists(st.floats(-10, 10, allow_nan=False), max_size=40), st.integers(0, 45))
def test_best_positions_keep_the_top_in_time_order(scores, T):
    kept = best_positions(scores, T)
    assert kept == sorted(set(kept))  # time order, no repeats
    assert len(kept) == min(T, len(scores))
    dropped = set(range(len(scores))) - set(kept)
    if kept and dropped:
        assert min(scores[i] for i in kept) >= max(scores[i] for i in dropped)


def test_prefilter_keeps_best_frames_in_time_order(coded_video):
    scorer = CodeScorer()
    pre = Prefilter(frames=40, score=scorer, scorer_id="codes")
    c = load_prefiltered(coded_video, "which frame?", 8, 112, 896, pre)
    pool = load_candidates(coded_video, 40, 112, 896)
    weights = [scorer.weight(int(i)) for i in pool.frame_indices]
    best = sorted(np.argsort(-np.array(weights), kind="stable")[:8])
    assert c.count == 8
    assert c.frame_indices.tolist() == [int(pool.frame_indices[i]) for i in best]
    assert c.frame_indices.tolist() == sorted(c.frame_indices.tolist())
    # The answer view shows the source frames it claims; the selector view is renumbered 0..7.
    answer = c.answer_view.frames(range(c.count))
    assert [read_code(f) for f in answer] == c.frame_indices.tolist()
    assert np.array_equal(c.selector_frames, selector_view(answer, 112))
    moved = [k for k, i in enumerate(best) if i != k]
    assert moved and not np.array_equal(c.selector_frames[moved[0]], pool.selector_frames[best[moved[0]]])


def test_short_video_keeps_its_true_count_and_skips_scoring(short_video):
    scorer = CodeScorer()
    c = load_prefiltered(short_video, "q", 8, 112, 896, Prefilter(32, scorer, "codes"))
    assert c.count == 5 and c.frame_indices.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(c.selector_frames, load_candidates(short_video, 8, 112, 896).selector_frames)
    assert scorer.calls == []


def test_a_scorer_without_identity_is_never_cached(coded_video, tmp_path):
    cache, scorer = FrameCache(tmp_path / "cache"), CodeScorer()
    pre = Prefilter(40, scorer, None)  # e.g. a named CLIP without pretrained weights: random each load
    first = load_prefiltered(coded_video, "q", 8, 112, 896, pre, cache=cache)
    again = load_prefiltered(coded_video, "q", 8, 112, 896, pre, cache=cache)
    assert scorer.calls == ["q", "q"] and first.frame_indices.tolist() == again.frame_indices.tolist()
    assert [json.loads(m.read_text())["variant"] for m in cache.directory.glob("*/*/meta.json")] == [None]


@pytest.mark.parametrize("pool", [4, 8])
def test_a_pool_not_larger_than_the_candidates_is_refused(coded_video, pool):
    with pytest.raises(UserError) as e:
        load_prefiltered(coded_video, "q", 8, 112, 896, Prefilter(pool, CodeScorer(), "codes"))
    assert e.value.where == "frames.prefilter.frames" and "not larger than the 8 candidates" in str(e.value)


def test_cache_keys_include_the_prefilter(coded_video, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    scorer = CodeScorer()
    pre = Prefilter(frames=40, score=scorer, scorer_id="codes")
    first = load_prefiltered(coded_video, "q1", 8, 112, 896, pre, cache=cache)
    again = load_prefiltered(coded_video, "q1", 8, 112, 896, pre, cache=cache)
    assert scorer.calls == ["q1"]  # the second load came from the cache
    assert np.array_equal(first.selector_frames, again.selector_frames)
    assert first.frame_indices.tolist() == again.frame_indices.tolist()

    plain = cache.key(coded_video, 8, 112, 896)
    keys = {
        plain,
        cache.key(coded_video, 8, 112, 896, pre.cache_variant("q1")),
        cache.key(coded_video, 8, 112, 896, pre.cache_variant("q2")),
        cache.key(coded_video, 8, 112, 896, Prefilter(48, scorer, "codes").cache_variant("q1")),
        cache.key(coded_video, 8, 112, 896, Prefilter(40, scorer, "other-clip").cache_variant("q1")),
    }
    assert len(keys) == 5
    # The plain uniform entry is untouched by the pre-filter: it still holds uniform frames.
    uniform = load_candidates(coded_video, 8, 112, 896, cache=cache)
    assert uniform.frame_indices.tolist() == [int((i + 0.5) * 100 / 8) for i in range(8)]
    # Another question is scored anew.
    load_prefiltered(coded_video, "q2", 8, 112, 896, pre, cache=cache)
    assert scorer.calls == ["q1", "q2"]
