import numpy as np
import pytest

from viarl.errors import UserError
from viarl.video.candidates import load_candidates
from viarl.video.encode import write_video

from video_codes import coded_frames, read_code


def _red_fraction(frame: np.ndarray) -> float:
    f = frame.astype(int)
    return float(((f[..., 0] > 180) & (f[..., 1] < 80) & (f[..., 2] < 80)).mean())


def test_candidates_views_and_frames(coded_video):
    c = load_candidates(coded_video, 16, selector_size=112, answer_size=896)
    assert c.count == 16
    assert c.frame_indices.tolist() == [int((i + 0.5) * 100 / 16) for i in range(16)]
    assert c.info.num_frames == 100 and c.info.fps == 25.0
    # selector: long side 112, aspect 4:3 kept, index drawn in red
    assert c.selector_frames.shape == (16, 84, 112, 3)
    assert [im.size for im in c.selector] == [(112, 84)] * 16
    assert all(_red_fraction(f) > 0.002 for f in c.selector_frames)
    # answer: never upscaled (source is 64x48), no drawing, the right frames
    answer = c.answer_view.frames(range(16))
    assert answer.shape == (16, 48, 64, 3)
    assert all(_red_fraction(f) == 0 for f in answer)
    assert [read_code(f) for f in answer] == c.frame_indices.tolist()
    assert all(im.mode == "RGB" for im in c.all_answer_images())


def test_short_video_gives_all_frames(short_video):
    c = load_candidates(short_video, 128)
    assert c.count == 5 and c.frame_indices.tolist() == [0, 1, 2, 3, 4]
    assert len(c.selector) == len(c.all_answer_images()) == 5


def test_large_video_is_downscaled_to_answer_size(tmp_path):
    path = write_video(tmp_path / "wide.mp4", coded_frames(6, width=960, height=540), fps=30)
    c = load_candidates(path, 3, selector_size=56, answer_size=480)
    answer = c.answer_view.frames([0, 1, 2])
    assert answer.shape == (3, 270, 480, 3)
    assert c.selector_frames.shape == (3, 32, 56, 3)  # 56 * 540 / 960 = 31.5 -> 32
    assert [read_code(f) for f in answer] == c.frame_indices.tolist() == [1, 3, 5]


def test_bad_arguments_and_videos_are_user_errors(coded_video, tmp_path):
    with pytest.raises(UserError):
        load_candidates(coded_video, 0)
    with pytest.raises(UserError):
        load_candidates(coded_video, 8, selector_size=4)
    with pytest.raises(UserError) as e:
        load_candidates(tmp_path / "nope.mp4", 8)
    assert "missing" in e.value.message


def test_answer_frames_are_decoded_only_where_asked_for(tmp_path, monkeypatch):
    """At the paper's settings a whole answer view is ~170 MB per video; a request needs N frames."""
    from viarl.video import candidates

    path = write_video(tmp_path / "wide.mp4", coded_frames(40, width=960, height=540), fps=30)
    c = load_candidates(path, 16, selector_size=112, answer_size=896)
    assert c.answer_view.nbytes == 0  # nothing at answer size yet
    asked = []
    real = candidates.read_frames
    monkeypatch.setattr(candidates, "read_frames", lambda p, idx, **kw: asked.append(list(idx)) or real(p, idx, **kw))
    picked = c.answer_view.frames([9, 2, 5])  # in the order asked
    assert [read_code(f) for f in picked] == [int(c.frame_indices[i]) for i in (9, 2, 5)]
    assert asked == [[int(c.frame_indices[i]) for i in (2, 5, 9)]]  # one decode for the three
    assert c.answer_view.nbytes == 3 * 504 * 896 * 3
    c.answer_images([2, 9])  # held: no decoding
    assert len(asked) == 1
