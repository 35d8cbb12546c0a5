"""The cookbook of docs/rewards.md: each rule file under rewards/cookbook/ on hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viarl.cli import main
from viarl.rewards import load_rules

COOKBOOK = Path(__file__).parents[2] / "rewards" / "cookbook"
PAPER = load_rules(Path(__file__).parents[2] / "rewards" / "viarl.rules")


def _batch(rows: list[dict]) -> dict:
    base = {"completion": "<think>x</think><index>3, 5</index>", "completion_tokens": 100,
            "prediction": "A", "answer": "A", "candidates": 16, "select": 2, "answer_tokens": 1}
    rows = [base | r for r in rows]
    return {k: [r[k] for r in rows] for k in rows[0]}


def _score(name: str, rows: list[dict], **kw) -> dict[str, list[float]]:
    out = load_rules(COOKBOOK / name).compile(**kw)(_batch(rows))
    return {k: v.tolist() for k, v in out.items()}


@pytest.mark.parametrize("path", sorted(COOKBOOK.glob("*.rules")), ids=lambda p: p.name)
def test_every_cookbook_rule_checks(path, monkeypatch, capsys):
    monkeypatch.chdir(COOKBOOK.parents[1])
    assert main(["rewards", "check", str(path.relative_to(COOKBOOK.parents[1]))]) == 0
    assert "viarl.rules" in capsys.readouterr().out  # where the included names come from


def test_spread_bonus():
    out = _score("spread.rules", [
        {"completion": "<think>x</think><index>0, 15</index>"},             # the whole video
        {"completion": "<think>x</think><index>5, 3</index>"},              # 2 of 15 frames
        {"completion": "<think>x</think><index>5, 3</index>", "prediction": "B"},
        {"completion": "<think>x</think><index>3, 3</index>"},              # invalid: no bonus
        {"completion": "no indices", "prediction": None},
    ])
    assert out["spread"] == [1.0, 2 / 15, 2 / 15, 0.0, 0.0]
    assert out["total"] == [2 + 1 + 1 + 0.2 + 0.5, 2 + 1 + 1 + 0.2 + 0.5 * (2 / 15),
                            0 + 1 + 1 + 0.2 + 0.5 * (2 / 15), 1 + 0.2, 0.2]


def test_long_answer_penalty():
    out = _score("long_answer.rules", [
        {"answer_tokens": 1}, {"answer_tokens": 4}, {"answer_tokens": 5},
        {"completion": "<index>3, 3</index>", "answer_tokens": None, "prediction": None},
    ])
    assert out["long_answer"] == [0.0, 0.0, -0.5, 0.0]  # not asked: answer_tokens reads 0
    assert out["total"] == [4.2, 4.2, 3.7, 0.2]


def test_hacking_guard():
    preds = ["A", "(a).", "", "A B", "ABCD", " a "]
    out = _score("hacking_guard.rules", [{"prediction": p, "answer": a} for p, a in zip(
        preds, ["A", "A", "", "A B", "ABCD", "A"])])
    assert out["single_letter"] == [1, 1, 0, 0, 0, 1]
    assert out["total"] == [4.2, 4.2, 2.2, 2.2, 2.2, 4.2]
    assert out["correct"] == [1, 1, 0, 1, 1, 1]  # the paper's own check would pay "A B"


def test_coverage_bonus():
    out = _score("coverage.rules", [
        {"completion": "<think>x</think><index>4, 11</index>"},   # gaps: 4 before, 7, 4 after
        {"completion": "<think>x</think><index>15, 0</index>"},   # one gap of 15
        {"completion": "<think>x</think><index>1, 1</index>"},    # invalid
    ], params={"coverage_weight": 1})
    assert out["coverage"] == [1 - 7 / 15, 0.0, 0.0]
    assert out["total"] == [4.2 + (1 - 7 / 15), 4.2, 1.2]


def test_difficulty_weighted():
    out = _score("difficulty.rules", [
        {"level": "4"}, {"level": " 2 "}, {"level": "hard"}, {"level": "9"},
        {"level": "4", "prediction": "B"},
    ])
    assert out["hard_bonus"] == [2.0, 1.0, 0.0, 2.0, 0.0]  # unreadable → 0; clipped to 1
    assert out["total"] == [6.2, 5.2, 4.2, 6.2, 2.2]


def test_ablated_paper_reward_equals_the_ablate_option():
    rows = [{"completion": c, "completion_tokens": t, "prediction": p} for c, t, p in [
        ("<think>x</think><index>3, 5</index>", 100, "A"), ("junk <index>3, 5</index>", 10, "B"),
        ("<think>x</think><index>3, 3</index>", 90, None), ("", 0, None)]]
    written = _score("ablated_paper.rules", rows)
    ablated = PAPER.compile(ablate=["format"])(_batch(rows))
    np.testing.assert_array_equal(written["total"], ablated["total"])
    assert written["total"] == [3.2, 1.0, 0.2, 0.0]
    assert ablated["format"].tolist() == [0, 0, 0, 0]
    assert ablated["ablated/format"].tolist() == [1, 0, 1, 0]


def test_confidence_calibration():
    out = _score("confidence.rules", [
        {"completion": "<think>x</think><index>3, 5</index><confidence>1</confidence>"},
        {"completion": "<think>x</think><index>3, 5</index><confidence>0.8</confidence>",
         "prediction": "B"},
        {"completion": "<think>x</think><index>3, 5</index><confidence>sure</confidence>"},
    ])
    assert out["calibration"] == [0.5, 0.5 * (1 - 0.8 * 0.8), 0.5 * (1 - 0.5 * 0.5)]


def test_the_docs_show_each_cookbook_file():
    import re

    from viarl.rewards.parser import parse_program

    docs = (COOKBOOK.parents[1] / "docs" / "rewards.md").read_text(encoding="utf-8")
    cookbook = docs[docs.index("## Cookbook"):]
    shown = re.findall(r"\(`(\w+\.rules)`\):.*?```\n(.*?)```", cookbook, re.S)
    assert len(shown) >= 6
    for name, text in shown:
        assert parse_program(text) == parse_program((COOKBOOK / name).read_text()), name
