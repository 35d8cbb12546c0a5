"""Frames that carry their own frame number (8 black/white bars), and reading it back."""

from __future__ import annotations

import numpy as np

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
