"""The final splits are scored once, after the last cycle, and grouped; the reward reads the
answer model's reply with the evaluation's parser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from viarl.cli import main

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def test_final_splits_are_scored_once_after_the_last_cycle(overrides, tmp_path, needle_test_dir):
    args = overrides(**{"stages.cycles": 1, "data.final.test": f"{{path: {needle_test_dir}}}",
                        "evaluation.selectors": "[trained,uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    run = tmp_path / "run"
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [(e["cycle"], e.get("split"), e["selector"]) for e in evals] == [
        (0, None, "trained"), (0, None, "uniform"), (1, None, "trained"), (1, None, "uniform"),
        (1, "test", "trained"), (1, "test", "pre-rl"), (1, "test", "uniform")]
    final = [e for e in evals if e.get("split")]
    assert all(e["n"] == 4 for e in final)  # the whole split, not evaluation.limit's 2
    rows = [json.loads(x) for x in (run / "eval/final/test/uniform/predictions.jsonl").read_text().splitlines()]
    # no candidate inside the needle's span (the fixture set is not balanced): uniform cannot hit
    assert all(not r["hit"] for r in rows if r["truth_slot"] is None)
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["final_splits"]) == {"test"} and set(summary["final"]) == {"trained", "uniform"}
    assert set(summary["final_splits"]["test"]) == {"trained", "pre-rl", "uniform"}
    cells = summary["final_splits"]["test"]["uniform"]
    answers = {r["options"]["ABCD".index(r["answer"])] for r in rows}
    assert set(cells["by_answer"]) == answers and sum(c["n"] for c in cells["by_answer"].values()) == 4
    assert sum(c["n"] for c in cells["by_slot"].values()) == sum(r["truth_slot"] is not None for r in rows)
    assert "final-eval" in json.loads((run / "state.json").read_text())["done"]


def test_the_reward_reads_the_option_a_reply_names(build_stage, overrides, monkeypatch):
    stage = build_stage(overrides(), "rl")
    s = stage.ctx.train[0]
    right, wrong = s.answer_text, next(o for o in s.options if o != s.answer_text)
    replies = [right, f"{s.answer}. {right}", wrong, s.answer, "no idea"]
    monkeypatch.setattr(stage.ctx.answerer, "answer_with_tokens", lambda reqs: [(r, 1) for r in replies[:len(reqs)]])
    text = "<think>colour</think><index>0, 1</index>"
    masks = [np.ones((1, 5), dtype=bool)] * len(replies)
    import torch
    scores, _ = stage.score([s] * len(replies), [text] * len(replies), [torch.tensor(m) for m in masks])
    assert scores["correct"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
