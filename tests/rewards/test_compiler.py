"""The vectorised scorer agrees with the reference interpreter; regex passes are shared."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_interpreter import Interpreter
from rule_strategies import batches, programs
from viarl.rewards import RuleError, parse_rules
from viarl.rewards.checker import check
from viarl.rewards.parser import parse_program
from viarl.rewards.printer import print_program
from viarl.rewards.program import RuleProgram


def reference_interpreter(rules, params=None, ablate=()):
    """The per-sample reference interpreter of `rules` with `params` bound (the compiler's oracle)."""
    return Interpreter(rules.checked, rules.bind(params), rules.check_ablate(ablate))


def _load(program):
    return RuleProgram(check(parse_program(print_program(program), "gen.rules")))


@settings(max_examples=150, deadline=None)
@given(programs(), batches(), st.data())
def test_compiled_scorer_equals_interpreter(program, batch, data):
    rules = _load(program)
    ablate = data.draw(st.lists(st.sampled_from(rules.components), unique=True, max_size=2))
    compiled = rules.compile(ablate=ablate)(batch)
    reference = reference_interpreter(rules, ablate=ablate).score(batch)
    assert set(compiled) == set(rules.components) | {"total"} | {f"ablated/{c}" for c in ablate}
    for name, values in reference.items():
        assert compiled[name].dtype == np.float64 and compiled[name].shape == (len(batch["select"]),)
        np.testing.assert_array_equal(compiled[name], values, err_msg=f"{name}\n{print_program(program)}")
    without = {k: v for k, v in batch.items() if k not in ("prediction", "answer_tokens")}
    np.testing.assert_array_equal(rules.compile().prediction_needed(without),
                                  reference_interpreter(rules).needed(without))


@settings(max_examples=60, deadline=None)
@given(programs(), batches())
def test_prediction_outside_the_need_mask_changes_nothing(program, batch):
    rules = _load(program)
    scorer = rules.compile()
    mask = scorer.prediction_needed({k: v for k, v in batch.items() if k != "prediction"})
    other = dict(batch, prediction=[p if m else None for p, m in zip(batch["prediction"], mask)],
                 answer_tokens=[t if m else None for t, m in zip(batch["answer_tokens"], mask)])
    a, b = scorer(batch), scorer(other)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


SHARED = """
capture think = completion match re"<think>(.*?)</think>"s group 1
capture whole = completion match re"<think>(.*?)</think>"s
component has_think = search(completion, re"<think>(.*?)</think>"s)
component think_len = len(think) + len(whole)
component strict = fullmatch(strip(completion), re"<think>(.*?)</think>"s)
component strict_again = fullmatch(strip(completion), re"<think>(.*?)</think>"s) and true
"""


def test_each_regex_runs_once_per_source():
    scorer = parse_rules(SHARED).compile()
    out = scorer({"completion": ["<think>ab</think>", "no", " <think>\n</think> "]})
    # one search pass shared by two captures and search(); one fullmatch pass on strip(completion)
    assert sorted((k[1], k[4]) for k in scorer.last_regex_passes) == [
        ("fullmatch?", "strip(completion)"), ("search", "completion")]
    np.testing.assert_array_equal(out["think_len"], [2 + 17, 0, 1 + 16])
    np.testing.assert_array_equal(out["strict"], [1, 0, 1])


def test_capture_default_and_group():
    rules = parse_rules('capture t = completion match re"<t>(x)?(.*?)</t>" group 1 else "none"\n'
                        'component ok = t == "none"\n')
    out = rules.compile()({"completion": ["<t>x</t>", "<t>y</t>", ""]})
    np.testing.assert_array_equal(out["ok"], [0, 1, 1])  # an unmatched group takes the default


def test_default_total_is_the_weighted_sum():
    rules = parse_rules("param w: num = 0.5\ncomponent a = 2 weight w\ncomponent b = select > 1\n")
    out = rules.compile({"w": 3})({"select": np.array([1, 2])})
    np.testing.assert_array_equal(out["total"], [6.0, 7.0])


def test_division_by_zero_is_zero():
    out = parse_rules("component q = select / (select - 2)\n").compile()({"select": [1, 2, 4]})
    np.testing.assert_array_equal(out["q"], [-1.0, 0.0, 2.0])


def test_batch_errors_name_the_sample():
    scorer = parse_rules("component q = completion_tokens > 3\n").compile()
    with pytest.raises(RuleError) as e:
        scorer({"completion_tokens": [1, 2.5]})
    assert e.value.where == "batch[1].completion_tokens" and "whole number" in e.value.message
    with pytest.raises(RuleError, match="no `completion_tokens` column"):
        scorer({"select": [1]})
    with pytest.raises(RuleError, match="different lengths"):
        scorer({"completion_tokens": [1], "select": [1, 2]})


def test_missing_prediction_where_needed_is_an_error():
    rules = parse_rules("needs prediction when select > 1\n"
                        "component c = answer_match(prediction, answer)\n")
    scorer = rules.compile()
    ok = scorer({"select": [1, 2], "answer": ["A", "A"], "prediction": [None, "a"]})
    np.testing.assert_array_equal(ok["c"], [0, 1])
    with pytest.raises(RuleError) as e:
        scorer({"select": [1, 2], "answer": ["A", "A"], "prediction": ["A", None]})
    assert e.value.where == "batch[1].prediction"


def test_an_ablated_component_reads_as_zero_everywhere():
    rules = parse_rules("component a = select\ncomponent b = a * 2 + 1\ntotal = a + b\n")
    out = rules.compile(ablate=["a", "a"])({"select": [1, 3]})
    assert out["a"].tolist() == [0, 0] and out["ablated/a"].tolist() == [1, 3]
    assert out["b"].tolist() == [1, 1] and out["total"].tolist() == [1, 1]
    assert list(out) == ["a", "b", "total", "ablated/a"]
    with pytest.raises(RuleError, match="has no component `total` to ablate"):
        rules.compile(ablate=["total"])


def test_list_operations_on_edge_cases():
    rules = parse_rules("let xs = indices(completion)\n"
                        "component lo = min(xs)\ncomponent hi = max(xs)\ncomponent s = sum(xs)\n"
                        "component m = mean(xs)\ncomponent g = max(gaps(xs))\n"
                        "component first = sorted(xs)[0]\ncomponent out = xs[select]\n"
                        'component n = num(completion, -1)\ncomponent i = int(completion, -1)\n')
    out = rules.compile()({"completion": ["9, 2, 4", "", "7", "1e3"], "select": [2, -1, 5, 0]})
    got = {k: v.tolist() for k, v in out.items()}
    assert got["lo"] == [2, 0, 7, 0] and got["hi"] == [9, 0, 7, 0] and got["s"] == [15, 0, 7, 0]
    assert got["m"] == [5, 0, 7, 0] and got["g"] == [5, 0, 0, 0] and got["first"] == [2, 0, 7, 0]
    assert got["out"] == [4, 0, 0, 0]  # out of range (negative included) reads 0
    assert got["n"] == [-1, -1, 7, 1000] and got["i"] == [-1, -1, 7, -1]
