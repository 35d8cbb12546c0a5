"""Candidate frames of a video in the two views the pipeline needs.

* selector view: long side exactly `selector_size` (default 112), the candidate's position
  0..count-1 drawn in the bottom-right corner (overlay.draw_index);
* answer view: long side `answer_size` (default 896) at most, no drawing. A video smaller than
  that is kept at its own size: upscaling adds no information, only memory.

Both keep the aspect ratio. Candidates are T frames at segment centres over the whole video
(decode.candidate_indices); a video with fewer than T frames gives all of them, and
`Candidates.count` is the true number, which the selector prompt must use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from viarl.errors import UserError
from viarl.video.decode import VideoInfo, candidate_indices, fit_size, probe, read_frames
from viarl.video.overlay import draw_index

if TYPE_CHECKING:
    from viarl.video.cache import FrameCache

MIN_SIZE = 16


@dataclass(frozen=True, eq=False)
class Candidates:
    """The candidate frames of one video.

    frame_indices: int64 [count], source frame numbers, increasing.
    selector_frames: uint8 [count, h, w, 3], index drawn; answer_frames: uint8 [count, H, W, 3].
    `selector` / `answer` are the same frames as PIL RGB images (made on first use).
    """

    frame_indices: np.ndarray
    info: VideoInfo
    selector_frames: np.ndarray
    answer_frames: np.ndarray

    @property
    def count(self) -> int:
        """How many candidates there really are (<= T for short videos)."""
        return int(self.frame_indices.shape[0])

    @cached_property
    def selector(self) -> list[Image.Image]:
        """Selector view as PIL images, position i carrying the drawn index i."""
        return [Image.fromarray(f) for f in self.selector_frames]

    @cached_property
    def answer(self) -> list[Image.Image]:
        """Answer view as PIL images."""
        return [Image.fromarray(f) for f in self.answer_frames]


def _check_args(num_candidates: int, selector_size: int, answer_size: int) -> None:
    if int(num_candidates) < 1:
        raise UserError(
            f"number of candidate frames must be >= 1, got {num_candidates}",
            where="candidates",
            fix="ask for at least one candidate frame (the paper uses 128)",
        )
    for name, value in (("selector_size", selector_size), ("answer_size", answer_size)):
        if int(value) < MIN_SIZE:
            raise UserError(
                f"{name} must be >= {MIN_SIZE} px, got {value}",
                where=name,
                fix=f"use a long side of at least {MIN_SIZE} px (defaults: 112 and 896)",
            )


def selector_view(frames: np.ndarray, selector_size: int) -> np.ndarray:
    """Resize uint8 [n, H, W, 3] frames to long side `selector_size` and draw each position."""
    if frames.shape[0] == 0:
        return np.zeros((0, 1, 1, 3), dtype=np.uint8)
    height, width = frames.shape[1:3]
    size = fit_size(width, height, selector_size)
    out = [
        np.asarray(draw_index(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR), i))
        for i, f in enumerate(frames)
    ]
    return np.stack(out)  # [n, h, w, 3]


def decode_candidates(
    path: str | os.PathLike, num_candidates: int, selector_size: int, answer_size: int
) -> Candidates:
    """Decode and build both views, without any cache."""
    _check_args(num_candidates, selector_size, answer_size)
    info = probe(path)
    indices = candidate_indices(info.num_frames, int(num_candidates))
    answer = read_frames(path, indices, max_side=int(answer_size))  # [count, H, W, 3]
    return Candidates(indices, info, selector_view(answer, int(selector_size)), answer)


def load_candidates(
    path: str | os.PathLike,
    T: int,
    selector_size: int = 112,
    answer_size: int = 896,
    cache: FrameCache | None = None,
) -> Candidates:
    """T candidate frames of `path` in both views, from `cache` when it holds them.

    UserError if the video is missing, empty or undecodable, or an argument is out of range.
    """
    _check_args(T, selector_size, answer_size)
    if cache is not None:
        hit = cache.get(path, T, selector_size, answer_size)
        if hit is not None:
            return hit
    cands = decode_candidates(path, T, selector_size, answer_size)
    if cache is not None:
        cache.put(path, T, selector_size, answer_size, cands)
    return cands
