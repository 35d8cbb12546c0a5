"""Content metrics: Wilson intervals, distinct picks, off-mode share, hit statistics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from viarl.eval.content import hit_stats, pick_spread, wilson_interval


@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_interval_contains_the_rate_and_stays_in_unit_range(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert hi - lo <= 2 * 1.96 * math.sqrt(0.25 / n) + 1e-9  # never wider than the worst case


def test_wilson_interval_known_values_and_empty():
    lo, hi = wilson_interval(50, 200)  # 0.25 of 200: the textbook interval is about [0.195, 0.314]
    assert round(lo, 3) == 0.195 and round(hi, 3) == 0.314
    assert wilson_interval(0, 0) is None


def test_pick_spread_counts_sets_not_orders():
    spread = pick_spread([(1, 3), (3, 1), (2, 5), (1, 3)])
    assert spread == {"distinct_picks": 2, "off_mode_share": 0.25}
    assert pick_spread([]) == {"distinct_picks": 0, "off_mode_share": None}


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=50))
def test_a_constant_pick_has_one_distinct_and_no_off_mode(picks):
    spread = pick_spread([picks[0]] * len(picks))
    assert spread == {"distinct_picks": 1, "off_mode_share": 0.0}
    assert 1 <= pick_spread(picks)["distinct_picks"] <= len(picks)


def test_hit_stats_maps_positions_to_source_frames():
    cands = [SimpleNamespace(frame_indices=np.array([3, 9, 15, 21]))] * 3
    spans = [[(8, 14)], [(0, 4)], [(16, 30)]]
    st_ = hit_stats([(1, 2), (1, 2), (0, 3)], cands, spans)
    assert st_["hit_rate"] == 2 / 3 and st_["questions"] == 3
    assert st_["distinct_picks"] == 2 and abs(st_["off_mode_share"] - 1 / 3) < 1e-12
