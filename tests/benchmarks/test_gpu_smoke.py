"""benchmarks/gpu_smoke.py --tiny: the GPU smoke benchmark's code path, on CPU with the tiny config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_smoke_runs_one_rl_and_one_sft_step_on_cpu():
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_smoke.py"), "--tiny"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert "bf16 compute" in lines[0] and "T=8 N=2" in lines[0]
    for kind, samples in (("rl", 8), ("sft", 2)):
        line = next(x for x in lines if x.startswith(f"{kind} step:"))
        assert f"{samples} samples" in line and "samples/s" in line and "peak RSS" in line
        assert re.search(r"grad norm [0-9.e+-]+", line) and "nan" not in line
    # Like every benchmark here: the last line is a ratio against a baseline from the same run.
    assert re.fullmatch(r"RL samples/s vs SFT samples/s: [0-9.]+x", lines[-1])
