"""The in-memory candidate memo: bounded by bytes, least recently used out, answer frames counted."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from viarl.video.candidates import AnswerView, Candidates
from viarl.video.decode import VideoInfo
from viarl.video.memo import CandidateMemo

INFO = VideoInfo(num_frames=8, fps=8.0, duration=1.0, width=4, height=4)


def _set(nbytes: int) -> Candidates:
    frames = np.zeros((1, 1, nbytes // 3, 3), dtype=np.uint8)
    return Candidates(np.arange(1), INFO, frames, AnswerView("unused.mp4", np.arange(1), 16))


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(3, 300), min_size=1, max_size=40), bound=st.integers(3, 600),
       order=st.lists(st.integers(0, 39), max_size=80))
def test_the_memo_never_holds_more_than_its_bound_but_the_set_in_use(sizes, bound, order):
    bound = (bound // 3) * 3
    memo = CandidateMemo(bound)
    made = {}
    for i in [*range(len(sizes)), *[o % len(sizes) for o in order]]:
        got = memo.get(i, lambda i=i: made.setdefault(i, _set(sizes[i] // 3 * 3)))
        assert got is made[i]  # the set asked for, loaded once per stay in the memo
        assert memo.nbytes <= max(bound, got.nbytes)


def test_answer_frames_decoded_later_count_at_the_next_touch():
    memo = CandidateMemo(1000)
    a = memo.get("a", lambda: _set(300))
    memo.get("b", lambda: _set(300))
    a.answer_view.held[0] = np.zeros((10, 20, 3), dtype=np.uint8)  # 600 bytes decoded for a request
    memo.get("b", lambda: _set(300))  # touching b counts a's frames: a, the oldest, goes
    assert len(memo) == 1 and memo.loads == 2
    memo.get("a", lambda: _set(300))
    assert memo.loads == 3  # read again (from the disk cache in a run)
