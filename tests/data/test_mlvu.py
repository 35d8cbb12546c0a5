from pathlib import Path

import pytest

from viarl.data import load_dataset
from viarl.errors import UserError

GOOD = ["video/1_needle/needle_a.mp4", "video/1_needle/needle_b.mp4", "video/2_plotQA/plot_a.mp4"]


def test_mlvu_all_tasks(fixture_copy):
    root = fixture_copy("mlvu", GOOD)
    loaded = load_dataset("mlvu", root)
    assert [s.id for s in loaded.samples] == [
        "1_needle/0", "1_needle/1", "1_needle/8", "2_plotQA/0", "2_plotQA/1"
    ]  # fmt: skip
    first = loaded.samples[0]
    assert first.question == "What colour is the square that appears?"
    assert first.options == ("red", "green", "blue", "yellow") and first.answer == "A"
    assert first.video == root / "video/1_needle/needle_a.mp4"
    assert first.question_type == "findNeedle" and first.duration == 4.0
    assert first.meta == {"task": "needle", "file": "1_needle.json", "index": 0}
    assert loaded.samples[1].answer == "D"
    assert loaded.samples[2].question == "What is written on the card?"  # trimmed
    assert loaded.samples[2].answer == "B" and loaded.samples[2].answer_text == "dog"
    assert loaded.samples[4].question_type == "plotQA"  # absent: the task name
    assert dict(loaded.skips.counts) == {
        "video missing": 1,
        "video unreadable": 1,
        "video empty": 1,
        "missing field": 1,
        "answer not among options": 1,
        "malformed field": 2,
    }
    entries = sorted((Path(s.file).name, s.entry) for s in loaded.skips.skips)
    assert entries == [("1_needle.json", str(i)) for i in range(2, 8)] + [("2_plotQA.json", "2")]
    assert sum(p is None for p in loaded.videos.values()) == 3


def test_mlvu_task_subset_and_limit(fixture_copy):
    root = fixture_copy("mlvu", GOOD)
    needle = load_dataset("mlvu", root, tasks=["needle"])
    assert {s.meta["task"] for s in needle.samples} == {"needle"} and len(needle.samples) == 3
    assert len(load_dataset("mlvu", root, tasks=["plotQA"]).samples) == 2
    assert len(load_dataset("mlvu", root, limit=2).samples) == 2
    with pytest.raises(UserError) as e:
        load_dataset("mlvu", root, tasks=["needl"])
    assert "needle" in e.value.fix


def test_mlvu_strict_raises_at_first_bad_entry(fixture_copy):
    root = fixture_copy("mlvu", GOOD)
    with pytest.raises(UserError) as e:
        load_dataset("mlvu", root, tasks=["needle"], strict=True)
    assert "video missing" in e.value.message and e.value.where.endswith("1_needle.json")


def test_malformed_annotation_file_points_at_line_and_column(fixture_copy):
    root = fixture_copy("mlvu", GOOD)
    (root / "json/3_count.json").write_text('[\n  {"video": "a.mp4",\n   "question" "x"}\n]\n')
    with pytest.raises(UserError) as e:
        load_dataset("mlvu", root, tasks=["count"])
    assert e.value.where.endswith("3_count.json:3:15")
    (root / "json/3_count.json").write_text('{"video": "a.mp4"}')
    with pytest.raises(UserError) as e:
        load_dataset("mlvu", root, tasks=["count"])
    assert e.value.message == "expected a JSON list of entries, got dict"
    assert e.value.where.endswith("3_count.json") and "list of objects" in e.value.fix


def test_not_an_mlvu_root(tmp_path):
    with pytest.raises(UserError):
        load_dataset("mlvu", tmp_path)
    with pytest.raises(UserError):
        load_dataset("mlvu", tmp_path / "absent")
    with pytest.raises(UserError):
        load_dataset("nope", tmp_path)
