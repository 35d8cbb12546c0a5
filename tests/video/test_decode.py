import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.video import decode
from viarl.video.decode import candidate_indices, probe, read_frames, video_problem

from video_codes import read_code


@settings(max_examples=200, deadline=None)
@given(num_frames=st.integers(0, 20000), count=st.integers(1, 512))
def test_candidate_indices_are_segment_centres(num_frames, count):
    idx = candidate_indices(num_frames, count)
    assert idx.dtype == np.int64
    assert len(idx) == min(num_frames, count)
    assert np.all(np.diff(idx) > 0)
    if len(idx):
        assert idx[0] >= 0 and idx[-1] < num_frames
    if num_frames > count:
        # candidate i lies in segment i of `count` equal segments, near its centre
        seg = num_frames / count
        i = np.arange(count)
        assert np.all(idx >= np.floor(i * seg)) and np.all(idx < (i + 1) * seg)
        assert np.all(np.abs(idx + 0.5 - (i + 0.5) * seg) <= 0.5 + 1e-9)


def test_candidate_indices_cover_whole_video():
    idx = candidate_indices(5400, 128)
    assert idx[0] == 21 and idx[-1] == 5378  # first and last segment centres


def test_probe_reads_the_container(coded_video, short_video):
    info = probe(coded_video)
    assert (info.num_frames, info.fps, info.width, info.height) == (100, 25.0, 64, 48)
    assert info.duration == pytest.approx(4.0)
    short = probe(short_video)
    assert (short.num_frames, short.fps) == (5, 10.0)
    assert short.duration == pytest.approx(0.5)


def test_read_frames_returns_the_asked_frames(coded_video):
    idx = np.array([0, 7, 13, 50, 99])
    frames = read_frames(coded_video, idx)
    assert frames.shape == (5, 48, 64, 3) and frames.dtype == np.uint8
    assert [read_code(f) for f in frames] == idx.tolist()


def test_read_frames_downscales_while_decoding(coded_video):
    frames = read_frames(coded_video, np.array([3, 77]), max_side=32)
    assert frames.shape == (2, 24, 32, 3)
    assert [read_code(f) for f in frames] == [3, 77]


def test_read_frames_rejects_out_of_range(coded_video):
    with pytest.raises(ValueError):
        read_frames(coded_video, np.array([100]))


def test_unusable_videos_are_reported(tmp_path, coded_video):
    missing = tmp_path / "missing.mp4"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(coded_video.read_bytes()[:1500])
    assert video_problem(missing) == decode.VIDEO_MISSING
    assert video_problem(tmp_path) == decode.VIDEO_MISSING  # a folder is not a video
    assert video_problem(empty) == decode.VIDEO_EMPTY
    assert video_problem(garbage) == decode.VIDEO_UNREADABLE
    assert video_problem(truncated) == decode.VIDEO_UNREADABLE
    assert video_problem(coded_video) is None
    with pytest.raises(UserError) as e:
        probe(garbage)
    assert e.value.where == str(garbage) and e.value.fix


def test_video_check_opens_each_file_once(tmp_path, coded_video, monkeypatch):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(coded_video.read_bytes())
    opened = []
    real = decode.open_reader
    monkeypatch.setattr(decode, "open_reader", lambda *a, **k: opened.append(a) or real(*a, **k))
    for _ in range(3):
        assert video_problem(copy) is None
        probe(copy)
    assert len(opened) == 1
    # A changed file (new size) is checked again.
    copy.write_bytes(b"")
    assert video_problem(copy) == decode.VIDEO_EMPTY
