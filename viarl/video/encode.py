"""Write uint8 frames to an H.264 MP4 with PyAV (synthetic videos, tests, benchmarks).

Decoding is decord's job (decode.py); encoding only exists so viarl can make its own videos.
The encoder runs on one thread without B-frames: the same frames give the same bytes, and
decoders count exactly the frames written.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np

from viarl.atomic import honour_umask


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float = 30.0,
    *,
    crf: int = 23,
    gop: int = 250,
) -> Path:
    """Encode `frames` (each uint8 [H, W, 3] RGB, even H and W) as H.264 at `fps`.

    The file appears atomically: it is encoded into a temporary sibling file (same suffix, so the
    container format is still guessed from it) and renamed, so a reader never opens half a video.
    `gop` is the key-frame interval (x264's default is 250); it decides how costly seeking is.
    """
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix or ".mp4"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    honour_umask(tmp, folder=False)
    try:
        _encode(tmp, frames, rate, crf, gop)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _encode(out: str, frames: Iterable[np.ndarray], rate: Fraction, crf: int, gop: int) -> None:
    with av.open(out, mode="w") as container:
        stream = None
        for frame in frames:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)  # [H, W, 3]
            if stream is None:
                height, width = frame.shape[:2]
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height = width, height
                stream.pix_fmt = "yuv420p"
                stream.codec_context.thread_count = 1
                stream.options = {"crf": str(crf), "g": str(gop), "preset": "veryfast", "bf": "0", "threads": "1"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        if stream is None:
            raise ValueError("write_video needs at least one frame")
        for packet in stream.encode():
            container.mux(packet)
