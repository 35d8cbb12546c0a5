"""Numbers checked where they enter: finite floats, seeds in range, sizes and counts with an upper bound.

Every command-line flag that takes a number uses one of the argparse types here, and the recipe
scans every value with `number_problem`: an `inf` learning rate, a `nan` flag, a seed torch cannot
take or a 100000-pixel frame is refused with a message before any work, never met as a crash (or
an exhausted machine) later.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

#: Seeds are 63-bit: every random stream here (torch, numpy, Python) takes them.
SEED_LIMIT = 2**63
#: The longest side of any frame, in pixels (a 4096 x 4096 RGB frame is 48 MiB).
MAX_SIDE = 4096
#: The most frames in a video, candidates or a pre-filter pool.
MAX_FRAMES = 100_000
#: The highest frame rate of a synthetic video.
MAX_FPS = 1000.0
#: The most videos a synthetic dataset holds.
MAX_VIDEOS = 100_000

#: Recipe fields (by their last key) that are seeds.
SEED_KEYS = ("seed", "tiny_seed")


#: The largest magnitude of a float in a recipe: training computes in float32 (max ~3.4e38).
MAX_FLOAT = 1e38
#: The largest learning rate (`lr` of any stage); far above any that trains.
MAX_LR = 1000.0


def number_problem(value: Any, key: str = "") -> str | None:
    """Why a recipe value cannot be used (inf or nan, beyond float32, a seed out of range), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in SEED_KEYS:
        if isinstance(value, int) and abs(value) >= 2**63:
            return f"{value} does not fit in 64 bits (torch and numpy integers)"
        if abs(value) > MAX_FLOAT:
            return f"{value:g} is beyond the float32 range training computes in (at most {MAX_FLOAT:g})"
        if key == "lr" and value > MAX_LR:
            return f"a learning rate of {value:g} is above the limit of {MAX_LR:g}"
    if key in SEED_KEYS and isinstance(value, int) and not isinstance(value, bool) and not 0 <= value < SEED_LIMIT:
        return f"a seed is in [0, 2**63), got {value}"
    return None


def _type(name: str, check: Callable[[str], Any]) -> Callable[[str], Any]:
    check.__name__ = name  # argparse names the type in some of its messages
    return check


def finite_float(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable:
    """An argparse type: a finite float in [low, high] (low excluded when `low_open`)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"{text} must be {'>' if low_open else '>='} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is above the limit of {high:g}")
        return value
    return _type("number", parse)


def int_in(low: int | None, high: int) -> Callable:
    """An argparse type: an integer in [low, high] (no lower bound when `low` is None: the command
    checks it with its own message)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{value} must be >= {low}")
        if value > high:
            raise argparse.ArgumentTypeError(f"{value} is above the limit of {high}")
        return value
    return _type("integer", parse)


#: An argparse type for seeds (the upper bound; commands say themselves that a seed is >= 0).
seed = int_in(None, SEED_LIMIT - 1)
