"""Issue 14, point 5: a reward is never inf or nan — the checker, the overrides and the scorer
refuse non-finite values with a clear exit-2 message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]
OVERFLOW = "param big: num = 1e308\ncomponent boom = big * 10 - big * 10\ncomponent ok = 1\n"


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


@pytest.mark.parametrize("text", ["param big: num = 1e309\ncomponent x = big\n",
                                  "component x = 1e309 * 2\n",
                                  "param big: num = -1e400\ncomponent x = big\n"])
def test_the_checker_refuses_numbers_that_read_as_inf(tmp_path, capsys, text):
    rules = tmp_path / "big.rules"
    rules.write_text(text)
    assert main(["rewards", "check", str(rules)]) == 2
    err = _err(capsys)
    assert f"{rules}:" in err and "inf" in err and "fix:" in err


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e309"])
def test_set_refuses_non_finite_parameters(tmp_path, capsys, value):
    rows = tmp_path / "in.jsonl"
    rows.write_text(json.dumps({"completion": "x", "completion_tokens": 1, "prediction": "A", "answer": "A",
                                "candidates": 8, "select": 2}) + "\n")
    assert main(["rewards", "score", "rewards/viarl.rules", str(rows), f"--set=length_bonus={value}"]) == 2
    err = _err(capsys)
    assert "--set" in err and "length_bonus" in err and "finite" in err
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1.0e309"])
def test_validate_refuses_non_finite_recipe_params(capsys, value):
    assert main(["validate", "recipes/needle.yaml", f"rewards.params.length_bonus={value}"]) == 2
    err = _err(capsys)
    assert "params.length_bonus" in err and "finite" in err


def test_overflow_is_a_per_sample_error_naming_file_line_and_component(tmp_path, capsys):
    rules, rows = tmp_path / "of.rules", tmp_path / "in.jsonl"
    rules.write_text(OVERFLOW)
    rows.write_text('{"completion": "a"}\n\n{"completion": "b"}\n')
    assert main(["rewards", "score", str(rules), str(rows)]) == 2
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert f"{rows}:1:" in err and "component `boom` scored nan" in err and "fix:" in err
    assert "Warning" not in captured.err and captured.out == ""
