"""evaluate() and compare_selectors() on the MLVU / VideoMME / LVBench fixture layouts with a
real tiny answer model: rows, tables recounted independently, skipped videos counted."""

import json

import pytest

from viarl.data.loaders import load_dataset
from viarl.eval.compare import compare_selectors
from viarl.eval.evaluate import evaluate, result_from_predictions
from viarl.eval.selectors import UniformSelector

FRAMES = dict(candidates=6, select=2, selector_size=32, answer_size=32)


def recount(rows):
    """The table, counted the plain way: {group: (n, correct)}."""
    out = {}

    def add(g, ok):
        n, c = out.get(g, (0, 0))
        out[g] = (n + 1, c + int(ok))

    for row in rows:
        add("overall", row["correct"])
        types = row["question_type"] if isinstance(row["question_type"], list) else [row["question_type"]]
        for t in types:
            add(f"type={t}", row["correct"])
            if row["duration_class"]:
                add(f"duration={row['duration_class']}/type={t}", row["correct"])
        if row["duration_class"]:
            add(f"duration={row['duration_class']}", row["correct"])
    return out


EXPECTED = {  # usable questions and loader skips per layout (see tests/fixtures/eval/README.md)
    "mlvu": (4, {"video unreadable": 1, "video missing": 1}),
    "videomme": (3, {"video unreadable": 1, "video missing": 1}),
    "lvbench": (3, {"video unreadable": 1, "video missing": 1}),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["mlvu", "videomme", "lvbench"])
def test_layouts_tables_match_recount(layout, eval_layouts, answerer, tmp_path):
    loaded = load_dataset(layout, eval_layouts[layout])
    n, skips = EXPECTED[layout]
    assert len(loaded.samples) == n and dict(loaded.skips.counts) == skips
    table, (res,) = compare_selectors(loaded.samples, [UniformSelector()], answerer, out_dir=tmp_path,
                                      loader_skips=loaded.skips.counts, progress=False, **FRAMES)
    assert res.n == n and res.skipped == skips
    rows = [json.loads(line) for line in (tmp_path / "uniform" / "predictions.jsonl").read_text().splitlines()]
    assert rows == res.rows
    cells = {g: (c.n, c.correct) for g, c in res.summary().cells.items()}
    assert cells == recount(rows)
    assert res.accuracy == pytest.approx(sum(r["correct"] for r in rows) / n)
    for row in rows:
        assert row["chosen"] == [1, 4] and row["candidates"] == 6  # uniform over 6 candidates (12 frames)
        assert row["chosen_frames"] == [row["candidate_frames"][i] for i in row["chosen"]]
        assert row["correct"] == (row["parsed"] == row["answer"])
        assert row["hit"] is None and row["selector_raw"] is None and row["fallback"] is False
    assert (tmp_path / "results.csv").is_file() and (tmp_path / "results.json").is_file()
    # grouped by the true answer's text (no truth file here: no slot groups, no hit rates)
    groups = json.loads((tmp_path / "groups.json").read_text())["uniform"]
    assert sum(c["n"] for c in groups["by_answer"].values()) == n and groups["by_slot"] == {}
    for text, c in groups["by_answer"].items():
        mine = [r for r in rows if r["options"]["ABCDEFGHIJ".index(r["answer"])].strip().casefold() == text]
        assert c["n"] == len(mine) and c["accuracy"] == pytest.approx(sum(r["correct"] for r in mine) / len(mine))
        assert c["hit_rate"] is None
    if layout == "videomme":
        assert cells["duration=short"][0] == 2 and cells["duration=medium/type=Counting Problem"][0] == 1
    if layout == "lvbench":
        assert cells["type=reasoning"][0] == 2 and cells["type=key information retrieval"][0] == 1
    again = result_from_predictions(tmp_path / "uniform" / "predictions.jsonl")
    assert (again.n, again.accuracy, again.selector) == (res.n, res.accuracy, "uniform")


def test_bad_videos_reaching_evaluate_are_skipped_and_counted(eval_layouts, answerer):
    # the loader's video check is off, so the corrupt and the missing video reach evaluate()
    loaded = load_dataset("mlvu", eval_layouts["mlvu"], check_videos=False)
    assert len(loaded.samples) == 6
    res = evaluate(loaded.samples, UniformSelector(), answerer, progress=False, **FRAMES)
    assert res.n == 4 and res.skipped == {"video unreadable": 1, "video missing": 1}
    assert {r["id"] for r in res.rows} == {s.id for s in loaded.samples if "corrupt" not in str(s.video)
                                           and "missing" not in str(s.video)}


def test_needle_hits_and_answer_keys(needle_test_dir, answerer):
    from viarl.data.truth import load_truth

    loaded = load_dataset("mlvu", needle_test_dir, limit=2)
    truth = load_truth(needle_test_dir)
    seen = []

    class Spy:  # records the requests a real answerer gets, answers with the real model
        def answer(self, requests):
            seen.extend(requests)
            return answerer.answer(requests)

    res = evaluate(loaded.samples, UniformSelector(), Spy(), truth=truth, progress=False, **FRAMES)
    for row, req in zip(res.rows, seen):
        # the memo key names what the model sees: video, question, options and source frames
        assert req.key == (row["video"], row["question"], tuple(row["options"]), tuple(row["chosen_frames"]))
        assert len(req.images) == 2
        spans = truth[row["video"].split("/")[-1]]
        assert row["hit"] == any(a <= f < b for f in row["chosen_frames"] for a, b in spans)
    known = [r["hit"] for r in res.rows]
    assert res.hit_rate == pytest.approx(sum(known) / len(known))


def test_select_larger_than_candidates_is_a_user_error(answerer):
    from viarl.errors import UserError

    with pytest.raises(UserError, match="larger than candidates"):
        evaluate([], UniformSelector(), answerer, candidates=2, select=3, selector_size=32, answer_size=32)
