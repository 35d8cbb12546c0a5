"""The report: plots, contact sheets and index.html from a run folder whose predictions come from
real evaluate() runs on tiny models and a needle dataset."""

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from viarl.errors import UserError
from viarl.report.build import build_report
from viarl.report.run_files import load_run, read_jsonl
from viarl.report.sheets import needle_positions


def fake_metrics():
    """Two cycles of warm-up / RL / SFT lines in the engine's metrics.jsonl shape."""
    lines, g = [], 0
    for cycle in (1, 2):
        stages = (["warmup"] if cycle == 1 else []) + ["rl", "sft"]
        for stage in stages:
            for step in range(12 if stage == "rl" else 4):
                g += 1
                line = {"stage": stage, "cycle": cycle, "step": step, "global_step": g,
                        "loss": 1.0 / (step + 1), "grad_norm": 0.5, "lr": 1e-3, "samples_per_s": 2.0}
                if stage == "rl":
                    fmt, valid = float(step % 3 != 0), float(step % 2 == 0)
                    line.update({"reward/format": fmt, "reward/valid": valid, "reward/correct": 0.0,
                                 "reward/length": 0.2 * (step % 4 == 0), "reward/total": fmt + valid,
                                 "kl": 0.001 * step, "entropy": 2.0 - 0.1 * step,
                                 "response_length": 20.0 + step, "answer_calls": 8, "answer_calls_saved": 0})
                lines.append(line)
    return lines


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, needle_test_dir, tiny_answer_dir, tiny_selector_dir):
    from viarl.data.loaders import load_dataset
    from viarl.data.truth import load_truth
    from viarl.eval.evaluate import evaluate
    from viarl.eval.selectors import UniformSelector, make_selector
    from viarl.models.loading import load_vlm
    from viarl.policy.answerer import Answerer

    root = tmp_path_factory.mktemp("run")
    samples = load_dataset("mlvu", needle_test_dir, limit=3).samples
    truth = load_truth(needle_test_dir)
    answerer = Answerer(*load_vlm(str(tiny_answer_dir)), max_new_tokens=4)
    trained = make_selector(str(tiny_selector_dir), max_new_tokens=8)
    evals = []
    for cycle, selectors in ((0, [UniformSelector(), trained]), (1, [trained])):
        for sel in selectors:
            res = evaluate(samples, sel, answerer, candidates=8, select=2, selector_size=32, answer_size=56,
                           truth=truth, out_dir=root / "eval" / f"cycle_{cycle}" / sel.name, progress=False)
            assert res.n == 3 and res.hit_rate is not None
            evals.append({"cycle": cycle, **{k: v for k, v in res.to_json().items() if k != "skipped"}})
    (root / "eval.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evals))
    (root / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in fake_metrics()))
    (root / "summary.json").write_text(json.dumps({"eval_data": {"format": "mlvu", "path": str(needle_test_dir)}}))
    return root


@pytest.mark.slow
def test_report_writes_plots_sheets_and_index(run_dir, tmp_path):
    index = build_report(run_dir, tmp_path / "rep", sheets=2)
    plots = {p.name for p in (tmp_path / "rep" / "plots").glob("*.png")}
    assert {"rewards.png", "kl.png", "response_length.png", "loss.png", "eval_accuracy.png",
            "eval_hit_rate.png"} <= plots
    sheets = sorted((tmp_path / "rep" / "sheets").rglob("*.png"))
    assert len(sheets) == 3 * 2  # (cycle 0: uniform, trained; cycle 1: trained) x 2 questions
    for png in list((tmp_path / "rep" / "plots").glob("*.png")) + sheets:
        with Image.open(png) as im:
            assert im.format == "PNG" and im.width > 300 and im.height > 200
    html = index.read_text()
    links = re.findall(r"src='([^']+)'", html)
    assert len(links) == len(plots) + len(sheets)
    assert all(not Path(link).is_absolute() and (index.parent / link).is_file() for link in links)
    assert "needle" in html and "cycle 1, trained" in html


def test_needle_positions_mark_candidates_inside_spans():
    assert needle_positions([3, 9, 15, 21, 27], [(9, 16)]) == {1, 2}
    assert needle_positions([3, 9], None) == set()


def test_run_folder_errors_name_file_and_line(tmp_path):
    with pytest.raises(UserError, match="run folder not found"):
        load_run(tmp_path / "nope")
    with pytest.raises(UserError, match="no metrics.jsonl"):
        load_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"stage": "rl"}\n{oops\n')
    with pytest.raises(UserError) as e:
        read_jsonl(tmp_path / "metrics.jsonl")
    assert e.value.where.endswith("metrics.jsonl:2:2")


def test_report_from_metrics_only(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in fake_metrics()))
    index = build_report(tmp_path)
    assert (tmp_path / "report" / "plots" / "rewards.png").is_file()
    assert "no eval.jsonl" in index.read_text()
