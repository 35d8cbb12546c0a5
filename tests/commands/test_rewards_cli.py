"""`viarl rewards check|score` through the real CLI: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]

GOOD = {"completion": "<think>a</think><index>1, 2</index>", "completion_tokens": 100,
        "prediction": "(a).", "answer": "A", "candidates": 8, "select": 2}
BAD_INDEX = {"completion": "<think>a</think><index>1, 1</index>", "completion_tokens": 10,
             "prediction": None, "answer": "B", "candidates": 8, "select": 2}


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO)


def _jsonl(tmp_path, rows, extra_lines=()):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(extra_lines))
    return str(path)


def test_check_shows_components_inputs_params_needs(capsys):
    assert main(["rewards", "check", "rewards/viarl.rules"]) == 0
    out = capsys.readouterr().out
    for word in ("format", "valid", "correct", "length", "min_tokens_small", "when indices_ok",
                 "completion_tokens", "2 * correct * valid"):
        assert word in out


def test_check_reports_a_located_error(capsys, tmp_path):
    bad = tmp_path / "bad.rules"
    bad.write_text("component x = vald\n")
    assert main(["rewards", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    # rich may wrap long lines of stderr; compare with whitespace collapsed
    assert f"{bad}:1:15: unknown name `vald`" in " ".join(err.split())
    assert "^^^^" in err and "Traceback" not in err


def test_score_writes_one_line_per_input_in_order(capsys, tmp_path):
    path = _jsonl(tmp_path, [GOOD, BAD_INDEX, GOOD])
    assert main(["rewards", "score", "rewards/viarl.rules", path]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["total"] for x in lines] == [4.2, 1.0, 4.2]  # 1.0: format only
    assert list(lines[0]) == ["format", "valid", "correct", "length", "total"]


def test_score_set_overrides_a_param(capsys, tmp_path):
    path = _jsonl(tmp_path, [BAD_INDEX])
    assert main(["rewards", "score", "rewards/viarl.rules", path, "--set", "min_tokens_small=5",
                 "--set", "length_bonus=0.5"]) == 0
    assert json.loads(capsys.readouterr().out)["length"] == 0.5


def test_score_unknown_param_lists_the_params(capsys, tmp_path):
    path = _jsonl(tmp_path, [GOOD])
    assert main(["rewards", "score", "rewards/viarl.rules", path, "--set", "min_tokens=5"]) == 2
    err = capsys.readouterr().err
    assert "unknown reward parameter `min_tokens`" in " ".join(err.split()) and "min_tokens_small" in err


@pytest.mark.parametrize("line, message", [
    ("{not json\n", "3:2: not valid JSON"),
    ("[1, 2]\n", "3:1: each line must be a JSON object"),
    (json.dumps(dict(GOOD, completion_tokens=1.5)) + "\n", "3: field `completion_tokens`"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "answer"}) + "\n", "3: missing field `answer`"),
])
def test_score_malformed_line_names_its_number(capsys, tmp_path, line, message):
    path = _jsonl(tmp_path, [GOOD, GOOD], [line])
    assert main(["rewards", "score", "rewards/viarl.rules", path]) == 2
    err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert f"{path}:{message}" in flat or f"{path}:{message}" in err.replace("\n", "")
    assert "Traceback" not in err


def test_score_needs_prediction_only_where_valid(capsys, tmp_path):
    no_pred = dict(GOOD)
    del no_pred["prediction"]
    path = _jsonl(tmp_path, [BAD_INDEX, no_pred])
    assert main(["rewards", "score", "rewards/viarl.rules", path]) == 2
    assert "prediction" in capsys.readouterr().err


def test_console_script_exit_code(tmp_path):
    bad = tmp_path / "bad.rules"
    bad.write_text("component x = (1\n")
    r = subprocess.run([sys.executable, "-m", "viarl.cli", "rewards", "check", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unclosed `(`" in r.stderr and "Traceback" not in r.stderr


def _score_lines(capsys, *argv) -> list[dict]:
    assert main(["rewards", "score", *argv]) == 0
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def test_score_ablate_length_gives_total_minus_length(capsys, tmp_path):
    rows = [GOOD, BAD_INDEX, dict(GOOD, completion_tokens=10), dict(GOOD, prediction="B", select=9),
            dict(BAD_INDEX, completion_tokens=300)]
    path = _jsonl(tmp_path, rows)
    full = _score_lines(capsys, "rewards/viarl.rules", path)
    ablated = _score_lines(capsys, "rewards/viarl.rules", path, "--ablate", "length")
    assert [a["total"] for a in ablated] == [f["total"] - f["length"] for f in full]
    assert [a["ablated/length"] for a in ablated] == [f["length"] for f in full]
    assert all(a["length"] == 0 for a in ablated)


def test_score_ablate_unknown_component(capsys, tmp_path):
    path = _jsonl(tmp_path, [GOOD])
    assert main(["rewards", "score", "rewards/viarl.rules", path, "--ablate", "lenght"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--ablate: `rewards/viarl.rules` has no component `lenght`" in err
    assert "did you mean `length`?" in err


def test_score_echoes_ids_and_summarises(capsys, tmp_path):
    path = _jsonl(tmp_path, [dict(GOOD, id="q1"), dict(BAD_INDEX, id=7)])
    assert main(["rewards", "score", "rewards/viarl.rules", path, "--summary"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    assert [x["id"] for x in lines] == ["q1", 7] and list(lines[0])[0] == "id"
    for word in ("2 samples", "mean", "min", "max", "total", "2.6", "4.2"):
        assert word in captured.err  # mean total (4.2 + 1) / 2; max 4.2


def test_score_missing_completion_tokens_needs_a_tokenizer(capsys, tmp_path):
    line = {k: v for k, v in GOOD.items() if k != "completion_tokens"}
    path = _jsonl(tmp_path, [GOOD, line])
    assert main(["rewards", "score", "rewards/viarl.rules", path]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}:2: missing field `completion_tokens`" in err and "--tokenizer PATH" in err


def test_score_counts_completion_tokens_with_a_tokenizer(capsys, tmp_path, tiny_selector_dir):
    from transformers import AutoTokenizer

    long = "<think>" + "the red car " * 30 + "</think><index>1, 2</index>"
    path = _jsonl(tmp_path, [{k: v for k, v in dict(GOOD, completion=c).items()
                              if k != "completion_tokens"} for c in (GOOD["completion"], long)])
    lines = _score_lines(capsys, "rewards/viarl.rules", path, "--tokenizer", str(tiny_selector_dir))
    tok = AutoTokenizer.from_pretrained(tiny_selector_dir)
    counts = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in (GOOD["completion"], long)]
    assert counts[0] < 80 <= counts[1] <= 512  # the length bonus tells them apart
    assert [x["length"] for x in lines] == [0.0, 0.2]
    assert main(["rewards", "score", "rewards/viarl.rules", path, "--tokenizer", str(tmp_path)]) == 2
    assert "cannot load a tokenizer" in " ".join(capsys.readouterr().err.split())


def test_check_shows_where_included_names_come_from(capsys, tmp_path, monkeypatch):
    (tmp_path / "viarl.rules").write_text((REPO / "rewards" / "viarl.rules").read_text())
    (tmp_path / "mine.rules").write_text('include "viarl.rules"\nparam max_tokens: int = 300\n'
                                         "total = valid\n")
    monkeypatch.chdir(tmp_path)
    assert main(["rewards", "check", "mine.rules"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "mine.rules:2 (redefines viarl.rules:7)" in out and "viarl.rules:16" in out


def test_score_answer_tokens_where_the_prediction_is_needed(capsys, tmp_path):
    rules = tmp_path / "short.rules"
    rules.write_text(f'include "{REPO / "rewards" / "viarl.rules"}"\n'
                     "component short = answer_tokens <= 2\n"
                     "total = 2 * correct * valid + valid + format + length + short\n")
    path = _jsonl(tmp_path, [dict(GOOD, answer_tokens=2), dict(GOOD, answer_tokens=9), BAD_INDEX])
    lines = _score_lines(capsys, str(rules), path)
    assert [x["short"] for x in lines] == [1, 0, 1]  # not asked on line 3: answer_tokens reads 0
    path = _jsonl(tmp_path, [GOOD])
    assert main(["rewards", "score", str(rules), path]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}:1: field `answer_tokens`: `answer_tokens` is needed here but missing" in err
    assert "add `answer_tokens` to this line" in err
