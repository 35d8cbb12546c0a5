"""Replacing a checkpoint folder: the name never goes missing, and the fallback still replaces."""

from __future__ import annotations

import sys

import pytest

import viarl.atomic as atomic
from viarl.atomic import WRITTEN_MARK, atomic_dir, exchange_paths


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_exchange_swaps_two_folders_in_place(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("from a")
    (b / "y").write_text("from b")
    assert exchange_paths(a, b)
    assert (a / "y").read_text() == "from b" and (b / "x").read_text() == "from a"


@pytest.mark.parametrize("exchange", [True, False])
def test_replacing_a_folder_leaves_only_the_new_one(tmp_path, monkeypatch, exchange):
    if not exchange:  # a system without renameat2: two renames
        monkeypatch.setattr(atomic, "exchange_paths", lambda a, b: False)
    ckpt = tmp_path / "c1-rl.partial"
    for step in (1, 3):
        with atomic_dir(ckpt) as tmp:
            (tmp / "step").write_text(str(step))
    assert (ckpt / "step").read_text() == "3" and (ckpt / WRITTEN_MARK).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1-rl.partial"]  # no .tmp or .old left
