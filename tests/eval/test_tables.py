"""Accuracy tables against hand counts: MLVU types, VideoMME duration x type, LVBench multi-type."""

import csv
import json

import pytest

from viarl.eval.tables import ResultsTable, row_groups, summarize


def r(qt, correct, hit=None, dur=None, fallback=False):
    return {"question_type": qt, "correct": correct, "hit": hit, "duration_class": dur, "fallback": fallback}


MLVU_ROWS = [r("findNeedle", True, True), r("findNeedle", False, True), r("findNeedle", False, False),
             r("count", True), r("count", True, fallback=True)]


def test_mlvu_hand_count():
    s = summarize("uniform", MLVU_ROWS, skipped={"video missing": 2})
    c = s.cells
    assert (c["overall"].n, c["overall"].correct) == (5, 3)
    assert (c["type=findNeedle"].n, c["type=findNeedle"].correct) == (3, 1)
    assert (c["type=count"].n, c["type=count"].correct) == (2, 2)
    # hit rate only over rows with known truth: 2 of 3
    assert c["overall"].hit_n == 3 and c["overall"].hit_rate == pytest.approx(2 / 3)
    assert c["type=count"].hit_rate is None
    assert s.fallbacks == 1 and s.skipped == {"video missing": 2}


def test_videomme_duration_by_type_hand_count():
    rows = [r("Counting", True, dur="short"), r("Counting", False, dur="short"), r("OCR", True, dur="short"),
            r("Counting", True, dur="long"), r("OCR", False, dur="medium")]
    c = summarize("clip", rows).cells
    assert (c["duration=short"].n, c["duration=short"].correct) == (3, 2)
    assert (c["duration=short/type=Counting"].n, c["duration=short/type=Counting"].correct) == (2, 1)
    assert (c["duration=long/type=Counting"].n, c["duration=long/type=Counting"].correct) == (1, 1)
    assert (c["duration=medium/type=OCR"].n, c["duration=medium/type=OCR"].correct) == (1, 0)
    assert (c["type=Counting"].n, c["type=Counting"].correct) == (3, 2)
    groups = ResultsTable([summarize("clip", rows)]).groups
    # order: overall, types, durations short<medium<long, then crossings
    assert groups[:3] == ["overall", "type=Counting", "type=OCR"]
    assert groups[3:6] == ["duration=short", "duration=medium", "duration=long"]


def test_lvbench_question_counts_in_each_of_its_types():
    rows = [r(["reasoning", "key information retrieval"], True), r(["reasoning"], False), r("entity", True)]
    c = summarize("trained", rows).cells
    assert c["overall"].n == 3 and c["overall"].correct == 2
    assert (c["type=reasoning"].n, c["type=reasoning"].correct) == (2, 1)
    assert (c["type=key information retrieval"].n, c["type=key information retrieval"].correct) == (1, 1)
    assert row_groups(rows[0]) == ["overall", "type=key information retrieval", "type=reasoning"]


def test_side_by_side_csv_json_and_rich(tmp_path):
    t = ResultsTable([summarize("uniform", MLVU_ROWS, skipped={"video missing": 1}),
                      summarize("clip", MLVU_ROWS[:2], skipped={"video unreadable": 3})])
    csv_path, json_path = t.write(tmp_path)
    rows = list(csv.DictReader(open(csv_path)))
    assert [x["selector"] for x in rows] == ["uniform", "clip"]
    assert rows[0]["n"] == "5" and float(rows[0]["accuracy"]) == pytest.approx(0.6)
    assert rows[1]["n:type=count"] == "0" and rows[1]["accuracy:type=count"] == ""
    assert rows[0]["skipped:video missing"] == "1" and rows[1]["skipped:video unreadable"] == "3"
    assert rows[0]["skipped"] == "1" and rows[1]["skipped"] == "3"
    data = json.loads(json_path.read_text())
    assert data["selectors"][1]["cells"]["overall"] == {"n": 2, "correct": 1, "accuracy": 0.5, "hit_n": 2, "hit_rate": 1.0}
    from rich.console import Console

    con = Console(record=True, width=200)
    for tab in t.rich_tables():
        con.print(tab)
    text = con.export_text()
    assert "uniform" in text and "clip" in text and "60.0" in text and "type=findNeedle" in text


def test_many_groups_split_into_several_rich_tables():
    rows = [r(f"t{i}", i % 2 == 0) for i in range(14)]
    tables = ResultsTable([summarize("uniform", rows)]).rich_tables(max_group_cols=6)
    assert len(tables) == 3
