"""Files viarl saves honour the process umask, as a plain `open()` would (issue 14, point 7)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from viarl.atomic import atomic_dir, write_json, write_text
from viarl.video.encode import write_video


@pytest.fixture
def umask():
    """Run the test under a chosen umask, then put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750),
                                                     (0o077, 0o600, 0o700)])
def test_atomic_writes_keep_the_umask_mode(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    write_text(tmp_path / "a.txt", "x")
    write_json(tmp_path / "b.json", {"a": 1})
    with atomic_dir(tmp_path / "ckpt") as tmp:
        (tmp / "model.pt").write_bytes(b"w")
    assert _mode(tmp_path / "a.txt") == file_mode
    assert _mode(tmp_path / "b.json") == file_mode
    assert _mode(tmp_path / "ckpt") == dir_mode
    assert _mode(tmp_path / "ckpt" / "model.pt") == file_mode


def test_a_rewritten_file_keeps_the_umask_mode(tmp_path, umask):
    umask(0o022)
    write_text(tmp_path / "state.json", "{}")
    write_text(tmp_path / "state.json", "{\"done\": []}")
    assert _mode(tmp_path / "state.json") == 0o644


def test_videos_keep_the_umask_mode(tmp_path, umask):
    umask(0o022)
    write_video(tmp_path / "v.mp4", [np.zeros((16, 16, 3), np.uint8)] * 2, fps=2)
    assert _mode(tmp_path / "v.mp4") == 0o644
