"""Decoding with decord: probe a video, choose candidate frames, read them in one batch.

Everything about a video (frame count, fps, duration, size) is read from the container, never
assumed. A video that is missing, empty or undecodable is a user problem: `probe` raises
`UserError`, `video_problem` returns the reason (a short key that `SkipLog` counts) and
`video_problem_detail` the decoder's own words for it (decord's C++ error lines are caught, never
printed: see `native_log`). Both share one check per file and process, keyed by (absolute path,
mtime, size), so a dataset that names the same video for many questions opens it once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viarl.errors import UserError
from viarl.user_files import is_regular_file
from viarl.video.native_log import DecoderError, decoder_errors

# Reasons a video is unusable (the keys SkipLog counts), with a fix for each.
VIDEO_MISSING = "video missing"
VIDEO_EMPTY = "video empty"
VIDEO_UNREADABLE = "video unreadable"
VIDEO_NO_FRAMES = "video has no frames"
VIDEO_NOT_FILE = "video not a regular file"
VIDEO_BAD_PATH = "video path has a NUL byte"
_FIXES = {
    VIDEO_NOT_FILE: "name a video file: a FIFO or a device such as /dev/zero is not one",
    VIDEO_BAD_PATH: "remove the \\0 from the video's name in the annotation",
    VIDEO_MISSING: "check the dataset root / video folder, or download the video",
    VIDEO_EMPTY: "the file has 0 bytes; download it again",
    VIDEO_UNREADABLE: "the file is corrupt or not a video decord can open; download it again",
    VIDEO_NO_FRAMES: "the container holds no video frames; download it again",
}


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    num_frames: decodable frames; fps: average frame rate; duration: seconds (end of the last
    frame's timestamp); width, height: pixels of the decoded frames.
    """

    num_frames: int
    fps: float
    duration: float
    width: int
    height: int


_checked: dict[tuple[str, int, int], VideoInfo | str] = {}
_reasons: dict[tuple[str, int, int], str] = {}  # the decoder's words for an unreadable file


def open_reader(path: str | os.PathLike, width: int = -1, height: int = -1):
    """Open a decord VideoReader (resized by ffmpeg when width/height are given).

    The single place viarl opens videos, so tests can count decodes.
    """
    import decord
    import decord.logging

    # ffmpeg's own log lines ("moov atom not found") would interleave with viarl's report of
    # the same problem; viarl names every unusable video itself.
    decord.logging.set_level(decord.logging.QUIET)
    with decoder_errors():  # decord's C++ error lines become the DecoderError's one-line reason
        return decord.VideoReader(str(path), width=width, height=height, num_threads=0)


def _file_key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def _read_info(path: Path) -> VideoInfo | str:
    """Open `path` and read what the container says (DecoderError when decord cannot)."""
    with decoder_errors():
        reader = open_reader(path)
        n = len(reader)
        if n <= 0:
            return VIDEO_NO_FRAMES
        fps = float(reader.get_avg_fps())
        # The container's timestamp for the end of the last frame; fall back to n / fps
        # only when the timestamps are unusable (some streams carry none).
        end = float(reader.get_frame_timestamp(n - 1)[1])
        duration = end if end > 0 else (n / fps if fps > 0 else 0.0)
        height, width = reader[0].shape[:2]
        return VideoInfo(n, fps, duration, int(width), int(height))


def _inspect(path: Path) -> VideoInfo | str:
    """VideoInfo of a readable video, else the reason it is unusable (cached per file version)."""
    if "\0" in str(path):
        return VIDEO_BAD_PATH
    key = _file_key(path)
    if key is None or path.is_dir():  # a folder where the video should be: the video is missing
        return VIDEO_MISSING
    if not is_regular_file(path):  # a FIFO would block the decoder forever; /dev/zero never ends
        return VIDEO_NOT_FILE
    if key in _checked:
        return _checked[key]
    if key[2] == 0:
        result: VideoInfo | str = VIDEO_EMPTY
    else:
        try:
            result = _read_info(path)
        except DecoderError as e:
            result = VIDEO_UNREADABLE
            _reasons[key] = str(e)
    _checked[key] = result
    return result


def video_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be used as a video (a reason key), or None when it decodes."""
    result = _inspect(Path(path))
    return result if isinstance(result, str) else None


def video_problem_detail(path: str | os.PathLike) -> str | None:
    """The decoder's own words for why `path` is unreadable (one clean line), or None."""
    return _reasons.get(_file_key(Path(path)) or ("", 0, 0))


def probe(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps, duration and size of a video; UserError if it is unusable."""
    result = _inspect(Path(path))
    if isinstance(result, str):
        detail = video_problem_detail(path)
        raise UserError(f"{result} ({detail})" if detail else result, where=str(path), fix=_FIXES[result])
    return result


def candidate_indices(num_frames: int, count: int) -> np.ndarray:
    """`count` frame numbers spread uniformly over the whole video: segment centres.

    Frame i of `count` is floor((i + 0.5) * num_frames / count). With fewer frames than asked
    for, every frame is a candidate, so the result can be shorter than `count`. Returns int64
    [min(count, num_frames)], strictly increasing.
    """
    if num_frames <= 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    if num_frames <= count:
        return np.arange(num_frames, dtype=np.int64)
    # Segments are >= 1 frame long here, so the floors are distinct.
    return np.floor((np.arange(count) + 0.5) * num_frames / count).astype(np.int64)


def slot_in_spans(spans, num_frames: int, count: int) -> int | None:
    """The first of `count` uniform candidate slots whose frame lies in a [start, end) span, or None."""
    for slot, frame in enumerate(candidate_indices(num_frames, count)):
        if any(a <= frame < b for a, b in spans):
            return slot
    return None


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled so the long side is `long_side`, aspect ratio kept (>= 1 px)."""
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_frames(
    path: str | os.PathLike, indices: np.ndarray, max_side: int | None = None
) -> np.ndarray:
    """Decode frames `indices` in one decord `get_batch` call: uint8 [n, H, W, 3] RGB.

    With `max_side`, a video whose long side is larger is decoded already downscaled by ffmpeg
    (much cheaper than decoding full size and resizing). A video that fails mid-way raises
    UserError naming it.
    """
    info = probe(path)
    width = height = -1
    if max_side is not None and max(info.width, info.height) > max_side:
        width, height = fit_size(info.width, info.height, max_side)
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= info.num_frames):
        raise ValueError(f"frame indices out of range [0, {info.num_frames}) for {path}")
    try:
        with decoder_errors():
            reader = open_reader(path, width=width, height=height)
            frames = reader.get_batch(idx.tolist()).asnumpy()  # [n, H, W, 3]
    except DecoderError as e:
        raise UserError(
            f"decoding failed: {e}",
            where=str(path),
            fix=_FIXES[VIDEO_UNREADABLE],
        ) from None
    return np.ascontiguousarray(frames, dtype=np.uint8)
