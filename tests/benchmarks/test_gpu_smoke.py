"""benchmarks/gpu_smoke.py --tiny: every phase of the prepared GPU check, on CPU with the tiny models."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PHASES = ["versions", "decode", "old_logprobs", "rollout", "answer", "reference", "train_step", "fsdp", "evaluation"]


@pytest.mark.slow
def test_gpu_smoke_tiny_runs_every_phase_and_writes_one_json_line_each(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "smoke.jsonl"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_smoke.py"), "--tiny", "--out", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["phase"] for r in rows] == PHASES
    bad = {r["phase"]: r.get("error", r) for r in rows if r["status"] != "ok"}
    assert not bad, bad
    by = {r["phase"]: r for r in rows}
    assert by["versions"]["rope_padded_vs_alone_max_diff"] == 0
    assert all(v for k, v in by["decode"].items() if k.endswith("_same_tokens"))
    assert len([k for k in by["decode"] if k.endswith("_same_tokens")]) == 6  # 3 aspect ratios × 2 rows
    # The forced picks reach the answer model, in the plain step and under FSDP2.
    assert by["train_step"]["answer_calls"] > 0 and by["fsdp"]["answer_calls"] > 0
    assert by["fsdp"]["next_step"] == 1 and by["fsdp"]["resumed_max_weight_diff"] == 0.0
    for phase, key in (("rollout", "plan_phase_gib"), ("answer", "plan_phase_gib"), ("train_step", "plan_rl_peak_gib")):
        assert by[phase][key] >= 0, phase
    assert by["evaluation"]["questions"] == 4 and by["evaluation"]["questions_per_s"] > 0
    assert 0 <= by["old_logprobs"]["clipped_share_at_0.2"] <= 1 and by["old_logprobs"]["tokens"] > 0
    lines = run.stdout.strip().splitlines()
    # Like every benchmark here: the last line is a ratio against a baseline from the same run.
    assert re.fullmatch(r"batched decode vs one prompt at a time: [0-9.]+x faster", lines[-1])


def test_an_unknown_phase_is_refused_before_anything_runs():
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_smoke.py"), "--tiny", "--phases", "nope"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "unknown phase" in run.stderr


@pytest.mark.slow
def test_a_phase_that_fails_reports_an_error_line_instead_of_dying(tmp_path):
    """The fsdp phase outside `accelerate launch` cannot shard: its line says so, with status error."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_smoke.py"), "--tiny", "--phase", "fsdp",
                          "--tmp", str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    row = json.loads(run.stdout.strip().splitlines()[-1])
    assert row["phase"] == "fsdp" and row["status"] == "error" and "not under FSDP" in row["error"]
