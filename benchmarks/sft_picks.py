"""Benchmark: one answer-SFT step with `sft.picks: sample` vs `sft.picks: rollout` (tiny models, CPU).

The step is the real `SFTStage.step` of recipes/needle.yaml at the paper's selector shapes: T=128
candidates at 112 px, N=8 picks, answer frames at 224 px (the tiny processor's cap), batch 8, up
to --tokens selector tokens. `sample` decodes a selector completion for every example of the
step; `rollout` reads each question's pick from the cycle's RL picks file (written here with
random valid picks for every training question, as an RL stage would leave it). Both run in this
process on the same stage settings and data, each after one warm-up step; the last line is the
sample step's time over the rollout step's.

    python benchmarks/sft_picks.py [--tokens 128] [--steps 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from viarl.atomic import write_json
from viarl.config.load import load_recipe
from viarl.train.context import RunContext
from viarl.train.engine import STAGES, quiet_libraries
from viarl.train.rl_picks import picks_file

from paper_shapes import paper_shape_args

ROOT = Path(__file__).resolve().parents[1]


def build(work: Path, picks: str, tokens: int, threads: int):
    run = work / f"run-{picks}"
    args = [*paper_shape_args(work, run, ROOT, tokens, threads, videos=16), "models.answer.pretrain=null",
            "data.final.test=null", "data.final.shifted=null", f"sft.picks={picks}", "sft.batch_size=8",
            "stages.cycle=[sft]"]
    recipe = load_recipe(str(ROOT / "recipes" / "needle.yaml"), args)
    run.mkdir(parents=True, exist_ok=True)
    ctx = RunContext.build(recipe, run)
    if picks == "rollout":  # what the cycle's RL stage would have left: one valid pick per question
        rng = np.random.default_rng(0)
        write_json(picks_file(run, "c1-rl"), {s.id: sorted(rng.choice(128, 8, replace=False).tolist())
                                              for s in ctx.train})
    stage = STAGES["sft"](ctx, "c1-sft", 1)
    stage.setup()
    return stage


def timed(stage, steps: int) -> float:
    stage.step(0)  # warm-up: first-call allocations, the frame cache
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        stage.step(i)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache/viarl/bench/sft_picks")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    quiet_libraries()
    args.work.mkdir(parents=True, exist_ok=True)
    times = {}
    for picks in ("rollout", "sample"):
        times[picks] = timed(build(args.work, picks, args.tokens, args.threads), args.steps)
        print(f"sft.picks: {picks:8s} {times[picks]:.2f} s per step (batch 8, T=128 at 112 px, N=8, "
              f"up to {args.tokens} selector tokens, {args.threads} thread(s))")
    print(f"SFT step with rollout picks vs sampled picks: {times['sample'] / times['rollout']:.2f}x faster")


if __name__ == "__main__":
    main()
