"""The one prepared GPU check: the paper's RL path, phase by phase, on one GPU with random models.

Every phase runs in its own process under its own time cap (and the whole run under --budget-s,
12 minutes by default), writes one JSON line, and the run closes with a table. The models are
random Qwen2.5-VL models built from the real 3B (selector) and 7B (answer) configs with viarl's
offline tokenizer, so nothing is downloaded; phases that train scale the text models' depth down
to fit one GPU (see `gpu_smoke_setup.py`). Selector picks are forced valid, so the answer model
runs as it would for a trained selector. The phases:

  versions      library versions, flash-attn, the device; rope positions of a left-padded batch
  decode        batched vs single greedy decode at three aspect ratios: same tokens, log-prob gap
  old_logprobs  π_old from the sampler vs the training forward: gap, share clipped at ε = 0.2
  rollout       8 prompts × 8 samples × 512 tokens through the rollout engine, beside the plan
  answer        the 7B-shaped answer batch (8 × 8 frames at 896 px), sdpa and flash, beside the plan
  reference     the reference pass over the rollout's shape, one prefill per prompt
  train_step    one whole RL step of the real stage, beside the plan's RL peak
  fsdp          FSDP2 at world size 1 (accelerate launch): prepare, refresh, RL step, checkpoint, resume
  evaluation    `evaluate` over needle videos: questions per second

    python benchmarks/gpu_smoke.py --out benchmarks/results/gpu_smoke.jsonl   # CUDA, paper shapes
    python benchmarks/gpu_smoke.py --tiny                                       # CPU, tiny models (the test suite)

The last line is the batched decode's speed-up over decoding the same prompts one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Per-phase caps in seconds on the GPU (the sum stays within the 12-minute budget when all run long).
CAPS = {"versions": 45, "decode": 75, "old_logprobs": 75, "rollout": 100, "answer": 75, "reference": 50,
        "train_step": 110, "fsdp": 120, "evaluation": 60}
TINY_CAP = 240  # on a loaded 2-core CPU


def run_phase(name: str, tiny: bool, tmp: Path) -> dict:
    """In the child: run one phase and return its JSON line."""
    sys.path.insert(0, str(HERE))
    import torch
    from gpu_smoke_phases import PHASES
    from gpu_smoke_setup import PAPER, TINY

    from viarl.train.engine import quiet_libraries

    quiet_libraries()
    torch.manual_seed(0)
    scale = TINY if tiny else PAPER
    t0 = time.perf_counter()
    try:
        out = PHASES[name](scale, tmp)
    except Exception as e:  # the driver reports it and goes on with the next phase
        traceback.print_exc()
        out = {"status": "error", "error": f"{type(e).__name__}: {e}"[:300]}
    return {"phase": name, "scale": scale.name, **out, "wall_s": round(time.perf_counter() - t0, 2)}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(name: str, tiny: bool, tmp: Path, cap: float) -> dict:
    """Run phase `name` in a child process (fsdp under accelerate launch); its last stdout line."""
    me = [str(HERE / "gpu_smoke.py"), "--phase", name, "--tmp", str(tmp)] + (["--tiny"] if tiny else [])
    env = dict(os.environ)
    if tiny:  # the CPU path, even where a GPU is visible
        env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"))
    if name == "fsdp":
        config = ROOT / "configs" / "accelerate" / ("fsdp_cpu.yaml" if tiny else "fsdp_gpu.yaml")
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "--num_processes",
               "1", "--main_process_port", str(_port()), *me]
    else:
        cmd = [sys.executable, *me]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=cap, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"phase": name, "status": "timeout", "cap_s": cap, "wall_s": round(time.perf_counter() - t0, 2)}
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
        return {"phase": name, "status": "error", "error": f"exit {done.returncode}: {tail[0][:300]}",
                "wall_s": round(time.perf_counter() - t0, 2)}
    row = json.loads(lines[-1])
    if row.get("status") == "error":
        sys.stderr.write(done.stderr[-3000:])
    return row


def table(rows: list[dict]) -> None:
    """The closing table: one row per phase, its status, time and the numbers that matter most."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="gpu_smoke")
    for col in ("phase", "status", "wall s", "numbers"):
        t.add_column(col)
    skip = {"phase", "status", "wall_s", "scale"}
    for r in rows:
        numbers = ", ".join(f"{k}={v}" for k, v in r.items() if k not in skip)
        t.add_row(r["phase"], r["status"], str(r.get("wall_s", "")), numbers)
    Console(width=200).print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="the tiny test models on the CPU (the test suite runs this)")
    ap.add_argument("--phases", default=",".join(CAPS), help="comma-separated phases to run (default: all)")
    ap.add_argument("--budget-s", type=float, default=720.0, help="the whole run's time budget (default 12 min)")
    ap.add_argument("--out", type=Path, help="also write the JSON lines to this file")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.tiny, args.tmp)), flush=True)
        return
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in CAPS]
    if unknown:
        raise SystemExit(f"unknown phase(s) {unknown}; choose from {', '.join(CAPS)}")
    if not args.tiny:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: run with --tiny for the CPU path")
    start, rows = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        for name in phases:
            left = args.budget_s - (time.perf_counter() - start)
            cap = min(TINY_CAP if args.tiny else CAPS[name], left)
            row = (launch(name, args.tiny, Path(tmp), cap) if cap >= 10
                   else {"phase": name, "status": "skipped", "why": "the run's budget is spent"})
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table(rows)
    decode = next((r for r in rows if r["phase"] == "decode" and "batched_speedup" in r), None)
    print(f"total {time.perf_counter() - start:.0f} s; failed: "
          f"{[r['phase'] for r in rows if r['status'] not in ('ok',)] or 'none'}")
    if decode:
        print(f"batched decode vs one prompt at a time: {decode['batched_speedup']:.2f}x faster")
    else:
        print("batched decode vs one prompt at a time: not measured (the decode phase did not finish)")


if __name__ == "__main__":
    main()
