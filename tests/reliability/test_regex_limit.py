"""Issue 14, point 6: a regex that backtracks without end is a clear per-sample error, not a hang."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viarl.cli import main
from viarl.rewards import parse_rules
from viarl.rewards.regextime import RegexTimeout

RUNAWAY = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"


def test_rewards_score_names_the_line_and_the_pattern(tmp_path, capsys):
    rules, rows = tmp_path / "slow.rules", tmp_path / "in.jsonl"
    rules.write_text('component slow = search(completion, re"^(a|aa)+$")\n')
    rows.write_text(json.dumps({"completion": "fine"}) + "\n" + json.dumps({"completion": RUNAWAY}) + "\n")
    assert main(["rewards", "score", str(rules), str(rows)]) == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert f"{rows}:2: field `completion`" in err and 're"^(a|aa)+$" did not finish' in err and "fix:" in err
    assert "Traceback" not in err and captured.out == ""


@pytest.mark.parametrize("rule", ['component c = count(completion, re"(a|aa)+$")',
                                  'capture g = completion match re"^(a|aa)+$"\ncomponent c = len(g)'])
def test_every_kind_of_regex_pass_is_limited(rule):
    scorer = parse_rules(rule + "\n").compile()
    with pytest.raises(RegexTimeout) as e:
        scorer({"completion": ["ok", RUNAWAY]})
    assert e.value.sample == 1


def test_the_issue_pattern_is_scored():
    scorer = parse_rules('component c = search(completion, re"^(a+)+$")\n').compile()
    out = scorer({"completion": ["a" * 40 + "b", "aaa"]})
    assert np.array_equal(out["c"], [0.0, 1.0])
