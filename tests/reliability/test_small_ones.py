"""Issue 14, point 8: argparse errors keep bracketed text, an empty JSONL is reported, a huge
question is skipped and counted, an empty evaluation reports accuracy null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


def test_argparse_errors_keep_bracketed_text(capsys):
    with pytest.raises(SystemExit) as e:
        main(["rewards", "check", "rewards/viarl.rules", "evaluation.selectors=[uniform]"])
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "evaluation.selectors=[uniform]" in err
    assert "fix: see `viarl --help`" in err


def test_an_empty_jsonl_is_reported_on_stderr(capsys, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["rewards", "score", "rewards/viarl.rules", str(empty)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "no samples to score" in err and "empty.jsonl" in " ".join(err.split())


def test_a_huge_question_is_skipped_and_counted(tmp_path, capsys):
    row = {"id": "big", "video": "videos/jA.mp4", "question": "x" * 2_000_000, "options": ["a", "b"],
           "answer": "A", "question_type": "needle"}
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert main(["data", "check", str(path), "--format", "jsonl"]) == 2  # nothing usable is left
    out = " ".join(capsys.readouterr().out.split())
    assert "skipped: text too long │ 1" in out
    assert main(["data", "check", str(path), "--format", "jsonl", "--strict"]) == 2
    assert "text too long" in " ".join(capsys.readouterr().err.split())


def test_an_empty_evaluation_reports_null_accuracy():
    from viarl.eval.evaluate import _result

    res = _result("uniform", [], {}).to_json()
    assert res["accuracy"] is None and res["hit_rate"] is None and res["n"] == 0
