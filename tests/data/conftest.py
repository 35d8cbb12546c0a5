"""Copies of the annotation fixtures with small real videos written next to them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from viarl.video.encode import write_video

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> Path:
    """A real 12-frame 32x24 video at 6 fps (2 s)."""
    frames = np.zeros((12, 24, 32, 3), dtype=np.uint8)
    frames[:, :, :, 1] = np.arange(12, dtype=np.uint8)[:, None, None] * 20
    return write_video(tmp_path_factory.mktemp("tiny") / "tiny.mp4", frames, fps=6)


@pytest.fixture
def fixture_copy(tmp_path, tiny_video):
    """fixture_copy(topic, videos) -> a copy of tests/fixtures/<topic> with `videos` written."""

    def make(topic: str, videos: list[str]) -> Path:
        root = tmp_path / topic
        shutil.copytree(FIXTURES / topic, root)
        for rel in videos:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tiny_video, root / rel)
        return root

    return make
