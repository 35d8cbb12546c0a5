"""Tiny synthetic videos whose frames carry their own frame number (8 black/white bars)."""

from __future__ import annotations

import numpy as np
import pytest

from viarl.video.encode import write_video

BARS = 8


def coded_frames(n: int, width: int = 64, height: int = 48) -> np.ndarray:
    """uint8 [n, height, width, 3]: frame i shows i in binary as BARS vertical bars."""
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    bar = width // BARS
    for i in range(n):
        for b in range(BARS):
            if (i >> b) & 1:
                frames[i, :, b * bar : (b + 1) * bar] = 255
    return frames


def read_code(frame: np.ndarray) -> int:
    """The frame number shown by a coded frame (any size, same aspect)."""
    width = frame.shape[1]
    bar = width / BARS
    # Sample each bar's middle half, away from edges blurred by compression and resizing.
    vals = [frame[:, int((b + 0.25) * bar) : int((b + 0.75) * bar)].mean() for b in range(BARS)]
    return sum(1 << b for b, v in enumerate(vals) if v > 128)


@pytest.fixture(scope="session")
def coded_video(tmp_path_factory):
    """A 100-frame 64x48 video at 25 fps whose frame i shows the number i."""
    path = tmp_path_factory.mktemp("videos") / "coded.mp4"
    return write_video(path, coded_frames(100), fps=25, crf=10, gop=12)


@pytest.fixture(scope="session")
def short_video(tmp_path_factory):
    """A 5-frame coded video at 10 fps (fewer frames than most T)."""
    path = tmp_path_factory.mktemp("videos") / "short.mp4"
    return write_video(path, coded_frames(5), fps=10, crf=10)
