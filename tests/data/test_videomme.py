import json

import pytest

from viarl.data import load_dataset
from viarl.errors import UserError

VIDEOS = ["videos/vmA.mp4", "videos/vmB.mp4"]
EXPECTED_SKIPS = {
    "video missing": 1,
    "malformed options": 1,
    "answer not among options": 1,
    "missing field": 1,
    "video unreadable": 1,
}


def _check(loaded, root):
    assert [s.id for s in loaded.samples] == ["001-1", "001-2", "003-4"]
    s = loaded.samples[0]
    assert s.question == "How many planets are shown?"
    assert s.options == ("3.", "5.", "8.", "9.") and s.answer == "C"
    assert s.question_type == "Counting Problem" and s.duration is None
    assert s.meta["duration_class"] == "short" and s.meta["domain"] == "Knowledge"
    assert s.video == root / "videos/vmA.mp4"
    assert loaded.samples[2].options[3] == "(a) trip"
    assert dict(loaded.skips.counts) == EXPECTED_SKIPS
    entries = sorted(k.entry for k in loaded.skips.skips)
    assert entries == ["002-1", "003-1", "003-2", "003-3", "004-1"]


def test_videomme_json_export(fixture_copy):
    root = fixture_copy("videomme", VIDEOS)
    _check(load_dataset("videomme", root / "videomme.json"), root)
    _check(load_dataset("videomme", root), root)  # the folder holding it


def test_videomme_parquet(fixture_copy):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    root = fixture_copy("videomme", VIDEOS)
    rows = json.loads((root / "videomme.json").read_text())
    (root / "videomme.json").unlink()
    pq.write_table(pa.Table.from_pylist(rows), root / "test-00000-of-00001.parquet")
    _check(load_dataset("videomme", root), root)


def test_videomme_video_dir(fixture_copy, tmp_path, tiny_video):
    root = fixture_copy("videomme", [])
    other = tmp_path / "elsewhere"
    other.mkdir()
    for name in ("vmA.mp4", "vmB.mp4"):
        (other / name).write_bytes(tiny_video.read_bytes())
    loaded = load_dataset("videomme", root / "videomme.json", video_dir=other)
    assert [s.video for s in loaded.samples] == [other / "vmA.mp4"] * 2 + [other / "vmB.mp4"]
    assert loaded.skips.counts["video missing"] == 2  # vmMissing and vmCorrupt are not there
    without = load_dataset("videomme", root / "videomme.json")
    assert without.samples == [] and without.skips.counts["video missing"] == 4


def test_videomme_bad_files(tmp_path):
    bad = tmp_path / "v.json"
    bad.write_text('[{"videoID": "x",}]')
    with pytest.raises(UserError) as e:
        load_dataset("videomme", bad)
    assert e.value.where == f"{bad}:1:18"
    broken = tmp_path / "v.parquet"
    broken.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(UserError):
        load_dataset("videomme", broken)
    with pytest.raises(UserError):
        load_dataset("videomme", tmp_path / "empty_dir_missing")
