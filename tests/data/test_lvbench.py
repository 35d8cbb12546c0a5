import pytest

from viarl.data import load_dataset
from viarl.errors import UserError


def test_lvbench(fixture_copy):
    root = fixture_copy("lvbench", ["videos/lvA.mp4", "videos/lvB.mp4"])
    for path in (root, root / "video_info.meta.jsonl"):
        loaded = load_dataset("lvbench", path)
        assert [s.id for s in loaded.samples] == ["101", "102", "401"]
        a, b, c = loaded.samples
        assert a.question == "What animal crosses the river?"
        assert a.options == ("zebra", "lion", "elephant", "crocodile") and a.answer == "C"
        assert a.question_type == "entity recognition"
        assert a.duration == pytest.approx(0.066 * 60)
        assert a.meta["key"] == "lvA" and a.meta["time_reference"] == "00:01-00:03"
        assert b.question == "Why does f(A) matter?"
        assert b.options == ("speed", "size", "colour", "sound")
        assert b.meta["question_types"] == ["reasoning", "key information retrieval"]
        assert c.answer == "B" and c.duration == 2.0 and c.video == root / "videos/lvB.mp4"
        assert dict(loaded.skips.counts) == {
            "malformed options": 1,
            "missing field": 2,
            "video missing": 2,
        }
        assert sorted(s.entry for s in loaded.skips.skips) == [
            "line 1 uid 103", "line 1 uid 104", "line 2 uid 201", "line 2 uid 202", "line 3"
        ]  # fmt: skip


def test_lvbench_bad_line_is_located(tmp_path):
    f = tmp_path / "video_info.meta.jsonl"
    f.write_text('{"key": "a", "qa": []}\n{"key": "b", "qa": [}\n')
    with pytest.raises(UserError) as e:
        load_dataset("lvbench", tmp_path)
    assert e.value.where == f"{f}:2:21"  # the "}" after "["
