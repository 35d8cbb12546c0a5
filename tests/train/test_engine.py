"""End to end on tiny models and real synthetic videos: cycles, run folder, resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viarl.cli import main
from viarl.config.load import load_recipe
from viarl.train.stage_plan import plan

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def test_plan_orders_stages_and_cycles():
    r = load_recipe(RECIPE, ["stages.cycles=3", "stages.before=[warmup,answer_warmup]", "stages.cycle=[rl,sft]"])
    ids = [p.id for p in plan(r)]
    assert ids == ["pre0-warmup", "pre1-answer_warmup", "c0-eval", "c1-rl", "c1-sft", "c1-eval",
                   "c2-rl", "c2-sft", "c2-eval", "c3-rl", "c3-sft", "c3-eval", "final-eval"]
    no_final = load_recipe(RECIPE, ["data.final.test=null", "data.final.shifted=null"])
    assert "final-eval" not in [p.id for p in plan(no_final)]


@pytest.mark.slow
def test_two_cycles_leave_a_complete_run_folder(overrides, tmp_path, capsys):
    # An ablation study's run: `length` scores 0 but is still logged as ablated/length.
    assert main(["run", str(RECIPE), *overrides(**{"rewards.ablate": "[length]"})]) == 0
    run = tmp_path / "run"
    assert (run / "recipe.yaml").exists() and load_recipe(run / "recipe.yaml").stages.cycles == 2
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    stages = [(r["stage_id"], r["step"]) for r in rows]
    assert stages == ([("pre0-warmup", i) for i in range(3)] + [("pre1-answer_warmup", i) for i in range(2)]
                      + [("c1-rl", i) for i in range(3)] + [("c1-sft", i) for i in range(2)]
                      + [("c2-rl", i) for i in range(3)] + [("c2-sft", i) for i in range(2)])
    rl = [r for r in rows if r["stage"] == "rl"]
    for key in ("reward/format", "reward/valid", "reward/correct", "reward/length", "reward/total", "kl",
                "loss", "grad_norm", "entropy", "response_length", "answer_calls", "answer_calls_saved",
                "samples_per_s", "cycle", "ablated/length"):
        assert all(key in r for r in rl), key
    assert all(r["reward/length"] == 0 for r in rl)
    # The answer warm-up shows every candidate; cycle SFT shows the selector's N picks.
    shown = {r["stage"]: r["frames_per_example"] for r in rows if "frames_per_example" in r}
    fr = load_recipe(RECIPE).frames
    assert shown == {"answer_warmup": fr.candidates, "sft": fr.select}
    for stage in ("pre0-warmup", "pre1-answer_warmup", "c1-rl", "c1-sft", "c2-rl", "c2-sft"):
        role = "answer" if stage.endswith(("sft", "answer_warmup")) else "selector"
        assert (run / "checkpoints" / stage / role / "model.safetensors").exists()
    assert not list((run / "checkpoints").glob("*.partial")) and not list((run / "checkpoints").glob(".*"))
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["final"]) == {"trained", "uniform", "clip"} and summary["final_cycle"] == 2
    assert all(0.0 <= v["hit_rate"] <= 1.0 for v in summary["final"].values())
    # The content metrics and the pre-RL row the issue asks every evaluation to carry.
    for v in summary["final"].values():
        lo, hi = v["hit_ci95"]
        assert lo <= v["hit_rate"] <= hi and 1 <= v["distinct_picks"] <= v["n"]
        assert 0.0 <= v["off_mode_share"] < 1.0
    assert set(summary["pre_rl"]) == {"trained", "uniform", "clip"}
    assert sorted({r["cycle"] for r in summary["cycles"]}) == [0, 1, 2]
    assert set(summary["models"]) == {"selector", "answer"}
    assert summary["rewards"]["ablate"] == ["length"] and summary["rewards"]["params"]["max_tokens"] == 40
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [(e["cycle"], e["selector"]) for e in evals] == [
        (c, s) for c in (0, 1, 2) for s in ("trained", "uniform", "clip")]
    assert (run / "eval" / "cycle_2" / "trained" / "predictions.jsonl").exists()
    # A trained selector carries the prompt settings it was trained with, for `viarl eval`.
    settings = json.loads((run / "checkpoints" / "c2-rl" / "selector" / "viarl_selector.json").read_text())
    fr = load_recipe(run / "recipe.yaml").frames  # the run's own prompt settings
    assert (settings["index_text"], settings["question_position"], settings["candidates"], settings["select"]) == (
        fr.index_text, fr.question_position, fr.candidates, fr.select)
    # The state names where each model now lives: the last stage that trained it.
    state = json.loads((run / "state.json").read_text())
    assert state["models"]["selector"].endswith("c2-rl/selector")
    assert state["models"]["answer"].endswith("c2-sft/answer")
    # Starting the same run folder again is refused (exit 2), and nothing is touched.
    before = (run / "metrics.jsonl").read_text()
    assert main(["run", str(RECIPE), *overrides()]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (run / "metrics.jsonl").read_text() == before


def _viarl(args, **kw):
    env = dict(os.environ, VIARL_DEBUG="1")
    return subprocess.Popen([sys.executable, "-m", "viarl.cli", *args], env=env, cwd=kw.get("cwd"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.slow
def test_resume_after_kill_matches_an_uninterrupted_run(overrides, tmp_path):
    # Two optimiser steps per RL step and accumulated SFT: resume restores the schedule's position.
    extra = dict(**{"rl.steps": 6, "stages.cycles": 1, "evaluation.selectors": "[trained,uniform]",
                    "rl.minibatch_size": 2, "sft.grad_accum": 2})
    ref_dir, cut_dir = tmp_path / "straight", tmp_path / "killed"
    p = _viarl(["run", str(RECIPE), *overrides(**extra), f"output_dir={ref_dir}"])
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-3000:]
    # Kill -9 once the RL stage has logged step 3 (a checkpoint was written after step 2).
    p = _viarl(["run", str(RECIPE), *overrides(**extra), f"output_dir={cut_dir}"])
    deadline = time.time() + 600
    while time.time() < deadline:
        rows = _rows(cut_dir / "metrics.jsonl")
        if any(r["stage_id"] == "c1-rl" and r["step"] >= 3 for r in rows):
            break
        if p.poll() is not None:
            pytest.fail("the run ended before it could be killed:\n" + p.stdout.read()[-3000:])
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert (cut_dir / "checkpoints" / "c1-rl.partial").exists()
    p = _viarl(["run", str(RECIPE), *overrides(**extra), f"output_dir={cut_dir}", "--resume", str(cut_dir)])
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out[-3000:]
    straight, resumed = _rows(ref_dir / "metrics.jsonl"), _rows(cut_dir / "metrics.jsonl")
    assert [(r["stage_id"], r["step"]) for r in resumed] == [(r["stage_id"], r["step"]) for r in straight]
    for a, b in zip(straight, resumed):
        for key in ("loss", "reward/total", "kl", "grad_norm", "lr"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (a["stage_id"], a["step"], key)
    s1 = json.loads((ref_dir / "summary.json").read_text())["final"]
    s2 = json.loads((cut_dir / "summary.json").read_text())["final"]
    assert s1 == s2


@pytest.mark.slow
def test_log_every_thins_metrics_but_keeps_each_stage_end(overrides, tmp_path, capsys):
    args = overrides(**{"stages.cycles": 1, "logging.log_every": 2, "logging.sample_every": 1,
                        "evaluation.selectors": "[uniform]"})
    assert main(["run", str(RECIPE), *args]) == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage_id"], r["step"]) for r in rows] == [
        ("pre0-warmup", 1), ("pre0-warmup", 2), ("pre1-answer_warmup", 1), ("c1-rl", 1), ("c1-rl", 2), ("c1-sft", 1)]
    assert [r["global_step"] for r in rows] == [2, 3, 5, 7, 8, 10]
    assert "c1-rl step 0 sample:" in capsys.readouterr().out
