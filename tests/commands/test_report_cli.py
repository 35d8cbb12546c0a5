"""`viarl report`: a run folder in, plots and index.html out; bad folders exit 2."""

import json

from viarl.cli import main


def test_report_cli_on_metrics_and_eval(tmp_path, capsys):
    lines = [{"stage": "rl", "cycle": 1, "step": i, "global_step": i + 1, "reward/format": float(i % 2),
              "reward/total": float(i % 3), "kl": 0.01 * i, "loss": 1.0 - 0.05 * i, "response_length": 10.0 + i}
             for i in range(10)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    evals = [{"cycle": c, "selector": s, "accuracy": 0.25 * c, "hit_rate": None, "n": 4, "fallbacks": 0}
             for c in (0, 1) for s in ("trained", "uniform")]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(x) + "\n" for x in evals))
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "rep")]) == 0
    assert "index.html" in capsys.readouterr().out
    html = (tmp_path / "rep" / "index.html").read_text()
    for png in ("plots/rewards.png", "plots/kl.png", "plots/response_length.png", "plots/loss.png",
                "plots/eval_accuracy.png"):
        assert png in html and (tmp_path / "rep" / png).is_file()
    assert "eval_hit_rate.png" not in html  # no hit rate known: no empty plot


def test_report_cli_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    (tmp_path / "eval.jsonl").write_text("[1, 2]\n")
    assert main(["report", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "run folder not found" in err and "eval.jsonl:1:1" in err and "Traceback" not in err
