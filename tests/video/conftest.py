"""Tiny synthetic videos whose frames carry their own frame number."""

from __future__ import annotations

import pytest
from video_codes import coded_frames

from viarl.video.encode import write_video


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
