"""`reply`, the answer model's raw reply, is a lazy input that comes with `needs prediction`."""

from __future__ import annotations

import numpy as np
import pytest

from viarl.rewards import RuleError, load_rules

RULES = """
needs prediction when search(completion, re"ok")
component polite = num(search(reply, re"(?i)please"))
component right = answer_match(prediction, answer)
"""


def test_reply_is_read_where_the_answer_model_was_asked(tmp_path):
    (tmp_path / "r.rules").write_text(RULES)
    scorer = load_rules(tmp_path / "r.rules").compile()
    batch = {"completion": ["ok", "ok", "no"], "answer": ["B", "B", "B"],
             "prediction": ["B", "", None], "reply": ["red please", "no idea", None]}
    out = scorer(batch)
    assert out["polite"].tolist() == [1.0, 0.0, 0.0] and out["right"].tolist() == [1.0, 0.0, 0.0]


def test_reply_without_needs_prediction_is_refused(tmp_path):
    (tmp_path / "r.rules").write_text('component polite = num(search(reply, re"please"))\n')
    with pytest.raises(RuleError, match="needs prediction"):
        load_rules(tmp_path / "r.rules")
