"""CLIP pre-filtering: the T candidates the selector sees, chosen from M uniform frames.

The seed's pipeline is video → pre-filter → selector over T candidates → N frames → answer model.
Without a pre-filter the T candidates are spread uniformly over the video. With one, M > T frames
are spread uniformly, each is scored against the question (CLIP similarity, or any scorer with
the same signature), and the best T are kept **in time order**: the selector still reads a
story that runs forward, only with the dull stretches thinned out.

The kept frames are renumbered 0..count-1 and their index overlay is redrawn, so position i in
the prompt, the digit drawn on the frame and `Candidates.frame_indices[i]` (the source frame
number) always agree. A video shorter than T frames keeps all of them: `count` stays the true
number the prompt must use.

Cache: the M-frame pool is an ordinary entry (key T = M); the filtered result is its own entry,
keyed also by the question and the scorer's identity, so a changed CLIP model, M or question
never reads a stale selection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from viarl.errors import UserError
from viarl.selection import best_positions, pool_problem
from viarl.video.cache import FrameCache
from viarl.video.candidates import AnswerView, Candidates, load_candidates, selector_view

# (question text, PIL images) -> similarity per image, float [len(images)]
Scorer = Callable[[str, Sequence], np.ndarray]


@dataclass(frozen=True)
class Prefilter:
    """How to pre-filter: M pool frames, a scorer, and the scorer's identity for cache keys
    (None when it has none, e.g. a randomly initialised CLIP: then filtered sets are not cached)."""

    frames: int
    score: Scorer
    scorer_id: str | None

    def cache_variant(self, question: str) -> dict:
        """What, besides the video and sizes, decides the filtered candidates."""
        return {"prefilter": int(self.frames), "scorer": self.scorer_id, "question": question}


def subset(pool: Candidates, keep: Sequence[int], selector_size: int) -> Candidates:
    """The candidates at positions `keep` of `pool`, renumbered 0..len(keep)-1 (overlay redrawn)."""
    idx = np.asarray(list(keep), dtype=np.int64)  # [count]
    answer = pool.answer_view.frames(idx)  # [count, H, W, 3], decoded already for scoring
    frames = pool.frame_indices[idx]
    view = AnswerView(pool.answer_view.path, frames, pool.answer_view.answer_size, held=dict(enumerate(answer)))
    # The pool's selector view carries pool positions; the selector must see its own 0..count-1.
    return Candidates(frames, pool.info, selector_view(answer, selector_size), view)


def load_prefiltered(
    path: str | os.PathLike,
    question: str,
    T: int,
    selector_size: int,
    answer_size: int,
    prefilter: Prefilter,
    cache: FrameCache | None = None,
) -> Candidates:
    """T candidates of `path` chosen by `prefilter` for `question` (see the module docstring).

    UserError if M <= T, or the video is missing or undecodable.
    """
    problem = pool_problem(int(prefilter.frames), int(T))
    if problem:
        raise UserError(problem, where="frames.prefilter.frames", fix=f"use more pool frames, e.g. {4 * int(T)}")
    variant = prefilter.cache_variant(question) if prefilter.scorer_id is not None else None
    if cache is not None and variant is not None:
        hit = cache.get(path, T, selector_size, answer_size, variant=variant)
        if hit is not None:
            return hit
    pool = load_candidates(path, prefilter.frames, selector_size, answer_size, cache=cache)
    if pool.count <= T:
        return pool  # a short video: every frame is a candidate already, numbered 0..count-1
    scores = np.asarray(prefilter.score(question, pool.all_answer_images()), dtype=np.float64)  # [M]
    cands = subset(pool, best_positions(scores, T), selector_size)
    if cache is not None and variant is not None:
        cache.put(path, T, selector_size, answer_size, cands, variant=variant)
    return cands
