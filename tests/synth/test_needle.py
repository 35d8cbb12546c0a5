"""make_needle_dataset: real mp4 files in MLVU layout, truth kept apart, splits disjoint, deterministic."""

from __future__ import annotations

import json

import decord
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.errors import UserError
from viarl.synth.needle import make_needle_dataset, parse_size
from viarl.synth.scene import PALETTE

MLVU_FIELDS = {"video", "duration", "question", "candidates", "answer", "question_type"}


def _load(root):
    entries = json.loads((root / "json" / "1_needle.json").read_text())
    truth = json.loads((root / "truth.json").read_text())
    return entries, truth


def test_annotation_has_exactly_mlvu_fields(needle_train_dir):
    entries, truth = _load(needle_train_dir)
    assert len(entries) == 4
    for e in entries:
        assert set(e) == MLVU_FIELDS
        assert e["question_type"] == "findNeedle"
        assert len(e["candidates"]) == 4 and e["answer"] in e["candidates"]
        assert e["duration"] == pytest.approx(96 / 24)
        assert (needle_train_dir / "video" / "1_needle" / e["video"]).is_file()
    assert truth["version"] == 1 and set(truth["videos"]) == {e["video"] for e in entries}
    # The truth never leaks into the annotation.
    text = (needle_train_dir / "json" / "1_needle.json").read_text()
    assert "span" not in text and "num_frames" not in text


def test_videos_decode_to_promised_frames_with_needle_where_truth_says(needle_train_dir):
    entries, truth = _load(needle_train_dir)
    for e in entries:
        t = truth["videos"][e["video"]]
        vr = decord.VideoReader(str(needle_train_dir / "video" / "1_needle" / e["video"]))
        assert len(vr) == t["num_frames"] == 96
        assert vr.get_avg_fps() == pytest.approx(24)
        frames = vr.get_batch(list(range(len(vr)))).asnumpy()  # (96, 128, 128, 3)
        assert frames.shape == (96, 128, 128, 3)
        color = np.array(PALETTE[e["answer"]], dtype=np.int16)
        share = (np.abs(frames.astype(np.int16) - color).max(axis=-1) <= 48).mean(axis=(1, 2))  # (96,)
        (start, end), = t["spans"]
        inside = np.zeros(96, bool)
        inside[start:end] = True
        # The large needle survives H.264: its colour covers several % more of every span frame.
        assert share[inside].min() > share[~inside].max() + 0.03, e["video"]


def test_train_and_test_are_disjoint(needle_train_dir, needle_test_dir):
    train, _ = _load(needle_train_dir)
    test, _ = _load(needle_test_dir)
    assert not {e["video"] for e in train} & {e["video"] for e in test}
    assert all("_train_" in e["video"] for e in train) and all("_test_" in e["video"] for e in test)
    a = decord.VideoReader(str(needle_train_dir / "video" / "1_needle" / train[0]["video"]))[0].asnumpy()
    b = decord.VideoReader(str(needle_test_dir / "video" / "1_needle" / test[0]["video"]))[0].asnumpy()
    assert not np.array_equal(a, b)


def test_same_arguments_give_identical_files(tmp_path, needle_train_dir):
    again = make_needle_dataset(tmp_path / "again", videos=4, frames=96, fps=24, seed=0, split="train",
                                size=(128, 128))
    files = sorted(p.relative_to(needle_train_dir) for p in needle_train_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:  # json and mp4: libx264 with one thread and fixed options is byte-stable
        assert (again / rel).read_bytes() == (needle_train_dir / rel).read_bytes(), rel


def test_fewer_videos_are_a_prefix_and_other_seeds_differ(tmp_path, needle_train_dir):
    small = make_needle_dataset(tmp_path / "small", videos=1, frames=96, seed=0, size=(128, 128))
    other = make_needle_dataset(tmp_path / "other", videos=1, frames=96, seed=1, size=(128, 128))
    full, _ = _load(needle_train_dir)
    assert _load(small)[0] == full[:1]
    assert _load(other)[0][0]["video"] != full[0]["video"]


def test_non_integer_fps_and_wide_size(tmp_path):
    root = make_needle_dataset(tmp_path / "d", videos=1, frames=30, fps=12.5, size=(96, 64))
    entries, truth = _load(root)
    assert truth["videos"][entries[0]["video"]]["fps"] == 12.5
    vr = decord.VideoReader(str(root / "video" / "1_needle" / entries[0]["video"]))
    assert len(vr) == 30 and vr[0].shape == (64, 96, 3)
    assert vr.get_avg_fps() == pytest.approx(12.5)
    assert not list(root.rglob(".*tmp*"))  # temp files renamed away


@pytest.mark.parametrize("kwargs", [
    {"videos": 0}, {"videos": -1}, {"frames": 0}, {"frames": 7}, {"fps": 0}, {"fps": -24},
    {"fps": float("nan")}, {"seed": -1}, {"difficulty": 0}, {"split": "dev"}, {"size": (63, 64)},
    {"size": (16, 16)}, {"size": "12x"}, {"size": (1.5, 64)}, {"videos": 2.0}, {"frames": (96, 48)},
    {"fps": (24, 8)}, {"frames": (48.5, 96)},
])
def test_bad_arguments_raise_user_error(tmp_path, kwargs):
    with pytest.raises(UserError) as e:
        make_needle_dataset(tmp_path / "d", **kwargs)
    assert e.value.where and e.value.fix
    assert not (tmp_path / "d").exists()


def test_folder_under_a_file_is_a_user_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        make_needle_dataset(tmp_path / "f" / "d", videos=1, frames=8)


@settings(max_examples=100, deadline=None)
@given(st.integers(32, 4096).filter(lambda v: v % 2 == 0), st.integers(32, 4096).filter(lambda v: v % 2 == 0))
def test_parse_size_accepts_even_sides(w, h):
    assert parse_size(f"{w}x{h}") == (w, h) == parse_size((w, h))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=12))
def test_parse_size_rejects_junk_with_user_error(text):
    try:
        w, h = parse_size(text)
    except UserError as e:
        assert e.where == "size"
    else:
        assert 32 <= w <= 4096 and 32 <= h <= 4096 and w % 2 == h % 2 == 0
