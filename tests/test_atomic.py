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


def _killed_between_renames(tmp_path, monkeypatch):
    """Save step 1, then die while saving step 3 right after the first of the two renames (a kill
    runs no cleanup, so the temporary folders stay)."""
    monkeypatch.setattr(atomic, "exchange_paths", lambda a, b: False)
    ckpt = tmp_path / "c1-rl.partial"
    with atomic_dir(ckpt) as tmp:
        (tmp / "step").write_text("1")
    real_replace = atomic.os.replace

    def replace(src, dst):
        if str(src).endswith(".tmp"):
            raise KeyboardInterrupt  # the second rename never happens
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(ckpt) as tmp:
            (tmp / "step").write_text("3")
    monkeypatch.undo()
    assert not ckpt.exists()
    return ckpt


def test_a_save_killed_between_its_renames_is_restored_to_the_new_folder(tmp_path, monkeypatch):
    ckpt = _killed_between_renames(tmp_path, monkeypatch)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".old", ".tmp"]
    assert atomic.recover_interrupted(tmp_path) == ["c1-rl.partial"]
    assert (ckpt / "step").read_text() == "3"
    assert atomic.recover_interrupted(tmp_path) == []  # nothing more to do; the .old stays for the next save


def test_without_a_complete_new_folder_the_previous_one_comes_back(tmp_path, monkeypatch):
    ckpt = _killed_between_renames(tmp_path, monkeypatch)
    new = next(tmp_path.glob("*.tmp"))
    (new / WRITTEN_MARK).unlink()  # as if killed before the folder was complete
    assert atomic.recover_interrupted(tmp_path) == ["c1-rl.partial"]
    assert (ckpt / "step").read_text() == "1" and new.exists()


def test_unfinished_or_foreign_folders_are_left_alone(tmp_path):
    (tmp_path / ".c2-rl.abc.tmp").mkdir()  # unfinished: no mark
    kept = tmp_path / "c3-rl"
    kept.mkdir()
    stale = tmp_path / ".c3-rl.def.old"  # the name exists: nothing is missing
    stale.mkdir()
    (stale / WRITTEN_MARK).write_text("")
    assert atomic.recover_interrupted(tmp_path) == [] and atomic.recover_interrupted(tmp_path / "none") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c2-rl.abc.tmp", ".c3-rl.def.old", "c3-rl"]
