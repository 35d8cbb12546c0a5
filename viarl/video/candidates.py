"""Candidate frames of a video in the two views the pipeline needs.

* selector view: long side exactly `selector_size` (default 112), the candidate's position
  0..count-1 drawn in the bottom-right corner (overlay.draw_index); decoded for all T at once,
  already downscaled by ffmpeg;
* answer view: long side `answer_size` (default 896) at most, no drawing. A video smaller than
  that is kept at its own size: upscaling adds no information, only memory. It is decoded only
  for the frames someone asks for (`AnswerView`): an answer request needs N of the T, and at the
  paper's settings all T would be about 170 MB per 16:9 video.

Both keep the aspect ratio. Candidates are T frames at segment centres over the whole video
(decode.candidate_indices); a video with fewer than T frames gives all of them, and
`Candidates.count` is the true number, which the selector prompt must use.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from viarl.atomic import honour_umask
from viarl.errors import UserError
from viarl.video.decode import VideoInfo, candidate_indices, fit_size, probe, read_frames
from viarl.video.overlay import draw_index

if TYPE_CHECKING:
    from viarl.video.cache import FrameCache

MIN_SIZE = 16


# np.load parses the .npy header with ast.literal_eval, and CPython 3.11's AST constructor is not
# safe across threads (SystemError "AST constructor recursion depth mismatch", seen in
# tests/video/test_cache.py's concurrent readers): loads from several threads take turns.
_NPY_LOCK = threading.Lock()


def load_npy(path) -> np.ndarray:
    """np.load of a cached array (no pickles), safe to call from several threads."""
    with _NPY_LOCK:
        return np.load(path, allow_pickle=False)


class AnswerView:
    """The answer-size frames of one candidate set, decoded only where asked for.

    `frames(positions)` decodes what it does not hold yet in one decord call, keeps it (the
    candidate set's owner bounds what it keeps, see `video.memo`), and writes each new frame
    into the disk-cache entry when there is one (`store`), so a later run reads only the frames
    it uses. `held` is what was decoded already (a pre-filter's pool view, say).
    """

    def __init__(self, path: str | os.PathLike, frame_indices: np.ndarray, answer_size: int,
                 held: dict[int, np.ndarray] | None = None, store: Path | None = None):
        self.path, self.frame_indices, self.answer_size = path, frame_indices, int(answer_size)
        self.held: dict[int, np.ndarray] = dict(held or {})  # position -> uint8 [H, W, 3]
        self.store = store
        self.on_grow = None  # called after frames were added (the memo holding this set re-checks its bound)

    def __len__(self) -> int:
        return int(self.frame_indices.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the frames held in memory."""
        return sum(f.nbytes for f in self.held.values())

    def frames(self, positions) -> np.ndarray:
        """uint8 [n, H, W, 3]: the answer view of candidate positions `positions`, in that order."""
        positions = [int(p) for p in positions]
        missing = sorted({p for p in positions if p not in self.held})
        grew = bool(missing)
        if missing and self.store is not None:
            for p in missing:
                frame = _read_frame(self.store / f"{int(self.frame_indices[p])}.npy")
                if frame is not None:
                    self.held[p] = frame
            missing = [p for p in missing if p not in self.held]
        if missing:
            decoded = read_frames(self.path, self.frame_indices[missing], max_side=self.answer_size)  # [m, H, W, 3]
            for p, frame in zip(missing, decoded):
                self.held[p] = frame
                if self.store is not None:
                    _write_frame(self.store / f"{int(self.frame_indices[p])}.npy", frame)
        out = np.stack([self.held[p] for p in positions]) if positions else np.zeros((0, 1, 1, 3), dtype=np.uint8)
        if grew and self.on_grow is not None:
            self.on_grow()
        return out

    def images(self, positions) -> list[Image.Image]:
        """The answer view of `positions` as PIL RGB images."""
        return [Image.fromarray(f) for f in self.frames(positions)]


def _read_frame(path: Path) -> np.ndarray | None:
    """A cached answer frame, or None when it is absent or damaged (then it is decoded again)."""
    try:
        frame = load_npy(path)
    except (OSError, ValueError, EOFError):
        return None
    return frame if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 else None


def _write_frame(path: Path, frame: np.ndarray) -> None:
    """Best effort: a full disk or a racing writer never fails the caller, who has the frame.

    Written only into an entry that exists (never re-creating one a writer is replacing, which
    would leave a folder without its meta.json), through a temporary file and one rename.
    """
    import io
    import tempfile

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(frame))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        honour_umask(tmp, folder=False)  # mkstemp makes 0600 files; cache files are as readable as others
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@dataclass(frozen=True, eq=False)
class Candidates:
    """The candidate frames of one video.

    frame_indices: int64 [count], source frame numbers, increasing.
    selector_frames: uint8 [count, h, w, 3], index drawn; answer_view: the answer-size frames,
    decoded on demand. `selector` is the selector view as PIL RGB images (made on first use).
    """

    frame_indices: np.ndarray
    info: VideoInfo
    selector_frames: np.ndarray
    answer_view: AnswerView

    @property
    def count(self) -> int:
        """How many candidates there really are (<= T for short videos)."""
        return int(self.frame_indices.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held in memory: the selector view and the answer frames decoded so far."""
        return int(self.selector_frames.nbytes) + self.answer_view.nbytes

    @cached_property
    def selector(self) -> list[Image.Image]:
        """Selector view as PIL images, position i carrying the drawn index i."""
        return [Image.fromarray(f) for f in self.selector_frames]

    def answer_images(self, positions) -> list[Image.Image]:
        """The answer view of candidate positions `positions` (decoded if not held yet)."""
        return self.answer_view.images(positions)

    def all_answer_images(self) -> list[Image.Image]:
        """The answer view of every candidate (for CLIP scoring): all of them get decoded."""
        return self.answer_view.images(range(self.count))


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
    """Decode the selector view (the answer view waits until it is asked for), without any cache."""
    _check_args(num_candidates, selector_size, answer_size)
    info = probe(path)
    indices = candidate_indices(info.num_frames, int(num_candidates))
    small = read_frames(path, indices, max_side=int(selector_size))  # [count, h, w, 3]
    return Candidates(indices, info, selector_view(small, int(selector_size)), AnswerView(path, indices, answer_size))


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
