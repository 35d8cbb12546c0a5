"""The same `viarl run` under `accelerate launch` with 2 CPU processes (DDP over gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from pathlib import Path

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "needle.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_run(tmp_path, overrides):
    args = overrides(**{"stages.cycles": 1, "run.device": "cpu", "evaluation.selectors": "[trained,uniform]"})
    # --multi_gpu with no visible GPU makes accelerate start torchrun; the ranks then use gloo.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--main_process_port", str(_free_port()), "-m", "viarl.cli", "run", str(RECIPE), *args]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "accelerate: 2 process(es), MULTI_CPU" in out
    run = tmp_path / "run"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    # Only the main process logs: each step once.
    keys = [(r["stage_id"], r["step"]) for r in rows]
    assert len(keys) == len(set(keys)) and ("c1-rl", 2) in keys
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["final"]) == {"trained", "uniform"}
    assert (run / "checkpoints" / "c1-rl" / "selector" / "model.safetensors").exists()
