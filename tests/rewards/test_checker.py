"""Load errors: one RuleError type, rendered exactly as the golden files say.

Each tests/fixtures/rewards/errors/NAME.rules must fail to load with the message in NAME.txt
(file:line:col, the source line, a caret under the problem, and a fix hint).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from viarl.errors import UserError
from viarl.rewards import RuleError, load_rules, parse_rules

ERRORS = Path(__file__).parents[1] / "fixtures" / "rewards" / "errors"
CASES = sorted(p.stem for p in ERRORS.glob("*.rules"))


def test_every_error_kind_has_a_golden_file():
    needed = {"unknown_name", "type_mismatch", "bad_regex", "unclosed_paren", "unmatched_paren",
              "duplicate_name", "cycle", "unexpected_token", "unexpected_eof", "include_cycle",
              "include_duplicate", "include_missing", "include_param_type", "index_not_int",
              "list_reduce_number", "answer_tokens_without_needs"}
    assert needed <= set(CASES)
    assert all((ERRORS / f"{c}.txt").exists() for c in CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden_error_message(case, monkeypatch):
    monkeypatch.chdir(ERRORS)  # includes are relative to the file: keep the shown paths short
    source = (ERRORS / f"{case}.rules").read_text(encoding="utf-8")
    with pytest.raises(RuleError) as e:
        parse_rules(source, f"{case}.rules")
    assert isinstance(e.value, UserError)
    assert e.value.render() + "\n" == (ERRORS / f"{case}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("source, message", [
    ("component x = 1\ntotal = x\ntotal = x\n", "`total` is defined twice"),
    ("param completion: num = 1\ncomponent x = completion\n", "`completion` is a built-in input"),
    ("input select: str\ncomponent x = 1\n", "built-in input `select` has type int"),
    ("let len = 1\ncomponent x = len\n", "`len` is a built-in function"),
    ("let then = 1\ncomponent x = then\n", "`then` is a keyword"),
    ("needs answer_tokens\ncomponent x = answer_tokens\n", "write `needs prediction`: it provides"),
    ("needs answer\ncomponent x = 1\n", "only prediction is computed on demand"),
    ("needs prediction\ncomponent x = 1\n", "no rule reads `prediction`"),
    ("let a = 1\n", "the rules define no component"),
    ("component a = 1 weight 2\ntotal = a\n", "the weight would be ignored"),
    ('capture t = completion match re"x" group 1\ncomponent x = len(t)\n', "the regex has 0 groups"),
    ('component x = re"a"\n', "a regex can only be used"),
    ('component x = search(completion, "a")\n', 'must be a regex literal'),
    ("component x = clip(1, 2)\n", "`clip` takes 3 arguments, got 2"),
    ("component x = min(1)\n", "argument 1 of `min` must be list, but `1` is int"),
    ("component x = min()\n", "`min` takes 1 or 2 or more arguments, got 0"),
    ("component x = sum(1, 2)\n", "`sum` takes 1 argument, got 2"),
    ("component x = indices(completion)[1.5]\n", "a list index must be int, but `1.5` is num"),
    ("component x = select[0]\n", "an indexed value must be list, but `select` is int"),
    ('component x = int(completion, 0.5)\n', "argument 2 of `int` must be int"),
    ("component x = answer_tokens > 3\n", "`answer_tokens` is used but not declared with `needs`"),
    ('component x = if select > 1 then "a" else 1\n', "the branches of `if` are str and int"),
    ('component x = completion\n', "component `x` must be num or bool"),
    ("component x = select == completion\n", "cannot compare int with str"),
    ('component x = completion == "\\q"\n', "bad escape in string"),
    ("component x = extra > 1\n", "unknown name `extra`"),
])
def test_semantic_errors(source, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rules(source, "t.rules")


def test_forward_references_are_allowed():
    rules = parse_rules("component x = y + 1\nlet y = z * 2\nlet z = select\n")
    assert rules.compile()({"select": [1, 2]})["x"].tolist() == [3.0, 5.0]


def test_extra_inputs_are_declared_with_a_type():
    rules = parse_rules("input difficulty: num\ncomponent x = difficulty * 2\n")
    assert rules.inputs == {"difficulty"}
    assert rules.compile()({"difficulty": [0.25]})["total"].tolist() == [0.5]


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(RuleError, match="rule file not found"):
        load_rules(tmp_path / "nope.rules")


@pytest.mark.parametrize("path", sorted(Path(__file__).parents[2].glob("rewards/**/*.rules")))
def test_shipped_rule_files_load(path):
    rules = load_rules(path)
    assert rules.components


def test_shaped_example_weights():
    rules = load_rules(Path(__file__).parents[2] / "rewards" / "shaped.rules")
    batch = {"completion": ["<think>" + "x" * 1100 + "</think><index>1, 2</index><index>3</index>"],
             "completion_tokens": [100], "prediction": ["A"], "answer": ["A"], "candidates": [8],
             "select": [2], "difficulty": [0.5]}
    out = rules.compile()(batch)
    # 1 (format) + 1 (valid) + 3 * 1 (correct, weight 2 * 1.5) + 0.2 * 0.5 (reasoning) - 1 (hedging)
    assert out["total"][0] == pytest.approx(4.1)
    assert rules.inputs >= {"difficulty"} and rules.needs == {"prediction"}
