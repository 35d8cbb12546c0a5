"""Does a selector read the frames? Hit rates with their uncertainty, and how much picks vary.

A selector that ignores the video picks the same indices for every question; its hit rate is then
just the share of needles that happen to sit in those slots. So next to the hit rate we report:
- `distinct_picks`: how many different index sets the greedy selector chose over the set;
- `off_mode_share`: the share of questions whose pick differs from the most common one;
- a 95 % Wilson interval on every rate, since with 100-200 questions ±7-10 points is noise.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a proportion (None for n = 0).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or n successes.
    """
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding would leave 1e-17 there.
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == n else min(1.0, centre + half))


def pick_spread(picks: Sequence[Sequence[int]]) -> dict:
    """`distinct_picks` and `off_mode_share` of a list of index sets (order inside a set ignored)."""
    keys = [tuple(sorted(int(i) for i in p)) for p in picks]
    if not keys:
        return {"distinct_picks": 0, "off_mode_share": None}
    counts = Counter(keys)
    mode = counts.most_common(1)[0][1]
    return {"distinct_picks": len(counts), "off_mode_share": 1 - mode / len(keys)}


def hit_stats(picks: Sequence[Sequence[int]], cands: Sequence, spans: Sequence) -> dict:
    """Hit rate of candidate-position picks against needle spans (source frame numbers), with its
    95 % interval and the pick spread. `cands[i].frame_indices` maps positions to frame numbers."""
    hits = []
    for pick, c, sp in zip(picks, cands, spans):
        frames = [int(c.frame_indices[i]) for i in pick]
        hits.append(any(a <= f < b for f in frames for a, b in sp))
    n, k = len(hits), sum(hits)
    ci = wilson_interval(k, n)
    return {"hit_rate": k / n if n else None, "hit_ci95": list(ci) if ci else None,
            "questions": n, **pick_spread(picks)}
