"""π_old at `epochs: 1` with one minibatch: what each RL step logs now, and before the fast-step issue.

Runs the same short needle run twice, in this checkout and in the code before issue 21 (checked
out into a temporary worktree): tiny random models given a format warm-up, `run.precision=bf16`,
`rl.epochs=1`, and one minibatch holding the whole rollout, so the policy that is updated IS the
policy that sampled. Every importance ratio should then be exactly 1 and nothing clipped. Prints
each RL step's `ratio_max_dev` (the largest |ratio − 1| over its first minibatch's tokens; the
old code does not log it) and `clip_fraction`, and writes both runs' metrics.jsonl beside the
output (`--out`).

    python experiments/fast_step/pi_old.py [--steps 6] [--out experiments/fast_step/results/pi_old]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "ae2c484"  # main before the fast-step issue's commits


def overrides(work: Path, code: Path, steps: int) -> list[str]:
    o = {
        "output_dir": work / "run", "frames.cache_dir": work / "cache", "run.threads": 1,
        "models.selector.path": work / "selector", "models.answer.path": work / "answer",
        "models.selector.tiny_seed": 0, "models.selector.pretrain": "null", "models.answer.tiny_seed": 0,
        "data.train.path": work / "data" / "train", "data.eval.path": work / "data" / "test",
        "data.synthetic.train_videos": 16, "data.synthetic.test_videos": 4,
        "warmup.steps": 30, "warmup.lr": 0.003, "warmup.think_words": 1, "warmup.batch_size": 4,
        "answer_warmup.steps": 5, "answer_warmup.batch_size": 2, "stages.before": "[warmup,answer_warmup]",
        "stages.cycle": "[rl]", "stages.cycles": 1, "evaluation.limit": 2, "evaluation.selectors": "[uniform]",
        "rl.steps": steps, "rl.prompts_per_step": 4, "rl.samples_per_prompt": 4, "rl.minibatch_size": 16,
        "rl.epochs": 1, "run.precision": "bf16", "models.selector.max_new_tokens": 16,
        "rewards.file": code / "rewards" / "viarl.rules", "evaluation.prefilter": "null",
    }
    return [f"{k}={v}" for k, v in o.items()]


def run(code: Path, work: Path, steps: int) -> list[dict]:
    args = overrides(work, code, steps)
    newer = ["models.answer.pretrain=null", "data.final.test=null", "data.final.shifted=null"]
    env = {**os.environ, "PYTHONPATH": str(code), "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "viarl.cli", "run", str(code / "recipes" / "needle.yaml")]
    done = subprocess.run(cmd + args + newer, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # the older recipe has no answer pretraining or final splits
        done = subprocess.run(cmd + args, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the run failed with {code}:\n{(done.stdout + done.stderr)[-3000:]}")
    rows = [json.loads(x) for x in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r.get("stage") == "rl"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "fast_step" / "results" / "pi_old")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old_tree), args.baseline],
                       check=True, capture_output=True)
        try:
            for name, code in (("now", ROOT), ("before", old_tree)):
                work = Path(tmp) / name
                work.mkdir()
                found[name] = run(code, work, args.steps)
                shutil.copy(work / "run" / "metrics.jsonl", args.out / f"metrics-{name}.jsonl")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], capture_output=True)
    print("bf16, rl.epochs=1, one minibatch of 16 (4 prompts x 4 samples), tiny models")
    print(f"{'step':>4}  {'now: ratio_max_dev':>18}  {'now: clip_fraction':>18}  {'now: kl':>10}  "
          f"{'before: clip_fraction':>21}  {'before: kl':>10}")
    for a, b in zip(found["now"], found["before"]):
        print(f"{a['step']:>4}  {a.get('ratio_max_dev', float('nan')):>18.3g}  {a['clip_fraction']:>18.4f}  "
              f"{a['kl']:>10.3g}  {b['clip_fraction']:>21.4f}  {b['kl']:>10.3g}")
    worst = max(r.get("ratio_max_dev", float("nan")) for r in found["now"])
    print(f"largest ratio_max_dev now: {worst}; steps with clipped tokens now "
          f"{sum(r['clip_fraction'] > 0 for r in found['now'])}/{len(found['now'])}, before "
          f"{sum(r['clip_fraction'] > 0 for r in found['before'])}/{len(found['before'])}")


if __name__ == "__main__":
    main()
