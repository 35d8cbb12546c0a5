import pytest

from viarl.data import load_dataset
from viarl.data.jsonl import write_jsonl
from viarl.errors import UserError


def test_viarl_jsonl(fixture_copy):
    root = fixture_copy("jsonl", ["videos/jA.mp4"])
    loaded = load_dataset("jsonl", root / "samples.jsonl")
    assert [s.id for s in loaded.samples] == ["s1", "s2"]
    s1 = loaded.samples[0]
    assert s1.options == ("red", "green") and s1.answer == "B" and s1.duration == 4.0
    assert s1.meta == {"split": "test"} and s1.video == root / "videos/jA.mp4"
    assert dict(loaded.skips.counts) == {
        "duplicate id": 1,
        "missing field": 1,
        "answer not among options": 1,
        "malformed field": 1,
        "video missing": 1,
    }
    assert sorted(s.entry for s in loaded.skips.skips) == [f"line {i}" for i in (3, 4, 5, 6, 8)]


def test_jsonl_round_trip(fixture_copy, tmp_path):
    root = fixture_copy("jsonl", ["videos/jA.mp4"])
    loaded = load_dataset("jsonl", root / "samples.jsonl")
    out = write_jsonl(root / "again.jsonl", loaded.samples)
    assert '"video": "videos/jA.mp4"' in out.read_text()  # relative to the file's folder
    again = load_dataset("jsonl", out)
    assert again.samples == loaded.samples and again.skips.total == 0
    assert [s.meta for s in again.samples] == [s.meta for s in loaded.samples]


def test_paper_jsonl(fixture_copy):
    root = fixture_copy("jsonl", ["paper/videos/pA.mp4"])
    loaded = load_dataset("paper", root / "paper/train.jsonl")
    assert [s.id for s in loaded.samples] == ["p1", "train.jsonl:6"]
    p1, p6 = loaded.samples
    assert p1.question == "What colour is the needle?"
    assert p1.options == ("red", "green", "blue", "white") and p1.answer == "B"
    assert p1.question_type == "findNeedle" and p1.duration == 4.0
    assert p1.video == root / "paper/videos/pA.mp4"
    assert p6.options == ("once", "twice", "three times") and p6.answer == "C"
    assert dict(loaded.skips.counts) == {
        "malformed options": 1,
        "answer not among options": 1,
        "malformed field": 1,
        "video missing": 1,
    }


def test_paper_video_dir_and_strict(fixture_copy, tmp_path):
    root = fixture_copy("jsonl", ["elsewhere/videos/pA.mp4"])
    loaded = load_dataset("paper", root / "paper/train.jsonl", video_dir=root / "elsewhere")
    assert len(loaded.samples) == 2
    with pytest.raises(UserError) as e:
        load_dataset("paper", root / "paper/train.jsonl", strict=True, video_dir=root / "elsewhere")
    assert "line 2" in e.value.message and "malformed options" in e.value.message


def test_options_only_for_mlvu(fixture_copy):
    root = fixture_copy("jsonl", [])
    with pytest.raises(UserError):
        load_dataset("jsonl", root / "samples.jsonl", tasks=["needle"])
    with pytest.raises(UserError):
        load_dataset("jsonl", root / "samples.jsonl", limit=0)
