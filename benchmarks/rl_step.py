"""Benchmark: one RL step at the paper's shapes on the tiny models (CPU), now vs the code before.

The step is the real `RLStage.step` of recipes/needle.yaml (each code version with its own recipe and
reward file, the newer recipe's answer pretraining and final splits turned off) with the paper's
rollout shapes: T=128
candidates at 112 px, N=8 picks, 8 prompts x 8 samples, answer frames at 224 px (the tiny
processor's cap), on tiny random models. Selector completions that name no valid frames are
given a random valid pick in their text (the random tiny selector rarely writes one), so the
rules find valid frames and ask the answer model, as they would for a trained selector; the
run stops if the answer model is never asked. --tokens caps the completions (the paper's 512 would
take minutes per step on a CPU).

Each code version runs in its own process: this checkout, then --baseline (a git revision, by
default the commit before the fast-step issue) checked out into a temporary worktree. Each
builds the stage, takes one warm-up step, then times the next two and keeps the faster. The phase shares are from
this checkout. The last line is this checkout's step time against the baseline's.

    python benchmarks/rl_step.py [--tokens 128] [--baseline ae2c484]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "ae2c484"  # main before the fast-step issue's commits


def run_one(code: Path, work: Path, tokens: int, threads: int) -> dict:
    """Build the RL stage from `code`'s viarl and time one step (after a warm-up step)."""
    sys.path.insert(0, str(code))
    import numpy as np
    import torch
    from paper_shapes import paper_shape_args

    from viarl.config.load import load_recipe
    from viarl.train import rl_stage
    from viarl.train.context import RunContext
    from viarl.train.engine import STAGES, quiet_libraries

    torch.set_num_threads(threads)
    quiet_libraries()
    run = work / f"run-{os.getpid()}"
    args = [*paper_shape_args(work, run, code, tokens, threads, videos=8), "rl.prompts_per_step=8",
            "rl.samples_per_prompt=8", "rl.minibatch_size=null", "models.answer.max_new_tokens=8",
            "evaluation.answer_batch_size=8", "stages.cycle=[rl]"]
    from viarl.errors import UserError

    try:  # fields newer recipes have (answer pretraining, final splits): off, as the older code has none
        recipe = load_recipe(str(code / "recipes" / "needle.yaml"), [*args, "models.answer.pretrain=null",
                                                                      "data.final.test=null", "data.final.shifted=null"])
    except UserError:
        recipe = load_recipe(str(code / "recipes" / "needle.yaml"), args)
    run.mkdir(parents=True, exist_ok=True)
    ctx = RunContext.build(recipe, run)
    stage = STAGES["rl"](ctx, "c1-rl", 1)
    stage.setup()

    rng = np.random.default_rng(0)

    def forcing(real_sample):
        """The sampler, with each completion that names no valid frames given a random valid pick
        in its text (its tokens, which the loss reads, stay as sampled): the rules then find
        valid indices and ask the answer model, as they would for a trained selector."""
        def wrapped(*a, **kw):
            comp = real_sample(*a, **kw)
            count = recipe.frames.candidates
            for i, text in enumerate(comp.texts):
                if rl_stage.parse_selection(text, count, recipe.frames.select) is None:
                    picks = sorted(rng.choice(count, recipe.frames.select, replace=False).tolist())
                    comp.texts[i] = f"<think>{text}</think><index>{', '.join(map(str, picks))}</index>"
            return comp
        return wrapped

    # This checkout samples through its rollout engine's module; the code before the issue called
    # the sampler from the stage.
    import importlib
    for name in ("viarl.policy.engine", "viarl.train.rl_stage"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "sample"):
            module.sample = forcing(module.sample)
    spent: dict[str, float] = defaultdict(float)

    def timer(owner, name: str, phase: str):
        real = getattr(owner, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                spent[phase] += time.perf_counter() - t0
        setattr(owner, name, timed)

    timer(stage, "score", "answer-model reward")
    timer(stage, "rollout", "rollout (with reward)")
    timer(stage, "accumulate", "policy forward and backward")
    timer(stage, "optimizer_step", "optimiser step")
    real_logprobs = rl_stage.completion_logprobs

    def scoring(*a, **k):  # the passes without a gradient: the reference (and pi_old where rescored)
        if torch.is_grad_enabled():
            return real_logprobs(*a, **k)
        t0 = time.perf_counter()
        try:
            return real_logprobs(*a, **k)
        finally:
            spent["no-gradient scoring"] += time.perf_counter() - t0
    rl_stage.completion_logprobs = scoring
    stage.step(0)  # warm-up: first-call allocations, the frame cache
    best = None
    for step in (1, 2):  # the faster of two timed steps: a burst of load elsewhere hits one of them
        spent.clear()
        t0 = time.perf_counter()
        stats = stage.step(step)
        total = time.perf_counter() - t0
        if not stats.get("answer_calls", 0) and not stats.get("answer_calls_saved", 0):
            raise SystemExit(f"{code}: the answer model was never asked; the forced picks did not reach the rules")
        if best is None or total < best["step_s"]:
            best = {"step_s": total, "phases": dict(spent), "answer_calls": stats.get("answer_calls", 0),
                    "response_length": stats.get("response_length")}
    return best


def in_process(code: Path, work: Path, tokens: int, threads: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(code), "--work", str(work), "--tokens", str(tokens),
                          "--threads", str(threads)], capture_output=True, text=True,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    if out.returncode != 0:
        raise SystemExit(f"the step failed with {code}:\n{(out.stdout + out.stderr)[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per run (1: on a shared machine, more threads than idle cores "
                             "make OpenMP wait on itself and the timings meaningless)")
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of both versions (best kept)")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache/viarl/bench/rl_step")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.work, args.tokens, args.threads)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    # Alternating rounds, each version's best: a load that comes and goes on a shared machine then
    # weighs on both versions rather than on whichever ran during it.
    runs: dict[str, list[dict]] = {"now": [], "before": []}
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old_tree), args.baseline],
                       check=True, capture_output=True)
        try:
            for _ in range(args.rounds):
                runs["now"].append(in_process(ROOT, args.work, args.tokens, args.threads))
                runs["before"].append(in_process(old_tree, args.work, args.tokens, args.threads))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], capture_output=True)
    now = min(runs["now"], key=lambda r: r["step_s"])
    before = min(runs["before"], key=lambda r: r["step_s"])
    rounds = {name: ", ".join(f"{r['step_s']:.2f}" for r in rs) for name, rs in runs.items()}
    print(f"step times, round by round: this checkout {rounds['now']} s; before {rounds['before']} s")
    print(f"one RL step: 8 prompts x 8 samples, T=128 at 112 px, N=8, answer frames 224 px, up to {args.tokens} "
          f"tokens, tiny models, {args.threads} thread(s); answer calls {now['answer_calls']}")
    rollout = now["phases"].get("rollout (with reward)", 0.0)
    answer = now["phases"].get("answer-model reward", 0.0)
    shares = {"rollout decode": rollout - answer, "answer-model reward": answer,
              "reference / pi_old passes": now["phases"].get("no-gradient scoring", 0.0),
              "policy forward and backward": now["phases"].get("policy forward and backward", 0.0),
              "optimiser step": now["phases"].get("optimiser step", 0.0)}
    for name, seconds in shares.items():
        print(f"  {name:28s} {seconds:7.2f} s  {seconds / now['step_s']:6.1%}")
    print(f"this checkout: {now['step_s']:.2f} s per step; before ({args.baseline}): {before['step_s']:.2f} s")
    print(f"RL step vs before the fast-step issue: {before['step_s'] / now['step_s']:.2f}x faster")


if __name__ == "__main__":
    main()
