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


def test_answer_frames_decoded_later_count_as_they_are_decoded(tmp_path):
    """A set that decodes answer frames after it was stored pushes the oldest sets out at once."""
    from viarl.video.encode import write_video

    video = write_video(tmp_path / "v.mp4", (np.full((48, 64, 3), i * 20, dtype=np.uint8) for i in range(8)), fps=8)
    memo = CandidateMemo(1000)
    memo.get("old", lambda: _set(300))
    cands = Candidates(np.arange(4), INFO, np.zeros((1, 1, 100, 3), dtype=np.uint8), AnswerView(video, np.arange(4), 64))
    memo.get("new", lambda: cands)
    assert len(memo) == 2 and memo.nbytes == 600
    cands.answer_view.frames([0, 2])  # 2 x 48 x 64 x 3 bytes: over the bound until "old" goes
    assert len(memo) == 1 and memo.nbytes == cands.nbytes
    memo.get("old", lambda: _set(300))
    assert memo.loads == 3  # read again (from the disk cache in a run)
