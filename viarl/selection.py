"""What every frame selector returns, and uniform spacing (the baseline and the fallback).

Indices here are candidate positions (0..count-1), not source frame numbers; map them through
`Candidates.frame_indices` to reach the video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Selection:
    """One selector decision for one question.

    indices: chosen candidate positions, sorted ascending, distinct.
    raw: the selector's raw text output (None for selectors that write none).
    fallback: True when the selector's output was unusable and uniform spacing was used instead.
    """

    indices: tuple[int, ...]
    raw: str | None = None
    fallback: bool = False


def uniform_indices(count: int, n: int, offset: float = 0.5) -> list[int]:
    """N evenly spaced positions among `count` candidates (segment centres by default).

    With n >= count every candidate is returned. `offset` in [0, 1) shifts the positions inside
    their segments; the selector warm-up draws it at random so the format it learns is not tied
    to one fixed set of indices.
    """
    if count <= 0 or n <= 0:
        return []
    if n >= count:
        return list(range(count))
    pos = np.floor((np.arange(n) + offset) * count / n).astype(int)
    return sorted(set(int(p) for p in np.clip(pos, 0, count - 1)))
