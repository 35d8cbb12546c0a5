"""Learning curve of the selector's grounding pretraining, and its transfer to needle videos.

    python experiments/needle/pretrain_probe.py --steps 1500 --eval-every 250 [--rope-theta 1e4] ...

Every `--eval-every` steps it prints (and appends to --log as JSON) the greedy accuracy on fresh
grounding clips and, on the needle test split (`--needle`, made by `viarl data needle ... --balance 8`),
the hit rate, its 95 % interval and the number of distinct greedy picks. The needle truth is read
here only to score; pretraining never sees it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from viarl.data.loaders import load_dataset
from viarl.data.truth import load_truth
from viarl.eval.content import hit_stats
from viarl.models import tiny
from viarl.train.pretrain import PretrainSettings, held_out_accuracy, pretrain_selector
from viarl.policy.selector import TrainedSelector
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rope-theta", type=float, default=None)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--heads", type=int, default=None)
    ap.add_argument("--tasks", default="large_shape,colour,brightest")
    ap.add_argument("--first-task-steps", type=int, default=300)
    ap.add_argument("--first-task", default="brightest")
    ap.add_argument("--think-words", type=int, default=2)
    ap.add_argument("--index-text", default="after")
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--needle", default="data/needle-s0/val")
    ap.add_argument("--needle-limit", type=int, default=200)
    ap.add_argument("--log", default=None)
    ap.add_argument("--base", default=None, help="start from this model folder instead of a fresh tiny selector")
    ap.add_argument("--save", default=None, help="keep the pretrained selector here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    if args.rope_theta is not None:
        tiny.TEXT_CONFIG["rope_parameters"]["rope_theta"] = args.rope_theta
    if args.layers is not None:
        tiny.TEXT_CONFIG["num_hidden_layers"] = args.layers
    if args.heads is not None:
        tiny.TEXT_CONFIG["num_attention_heads"] = args.heads
    s = PretrainSettings(steps=args.steps, lr=args.lr, batch_size=args.batch, seed=args.seed,
                         tasks=tuple(args.tasks.split(",")), first_task_steps=args.first_task_steps,
                         first_task=args.first_task, think_words=args.think_words, 
                         index_text=args.index_text, selector_size=args.size,
                         warmup_steps=args.warmup_steps)

    loaded = load_dataset("mlvu", args.needle, limit=args.needle_limit)
    truth = load_truth(args.needle)
    cache = FrameCache(".cache/frames")
    cands = [load_candidates(x.video, s.candidates, s.selector_size, 56, cache=cache) for x in loaded.samples]
    t0 = time.time()
    log = open(args.log, "a") if args.log else None

    def on_eval(step, model, processor):
        acc = {t: held_out_accuracy(model, processor, replace(s, tasks=(t,)), n=48) for t in s.tasks}
        picks = TrainedSelector(model, processor, index_text=s.index_text, max_new_tokens=24).select(
            loaded.samples, cands, s.select)
        st = hit_stats([p.indices for p in picks], cands, [truth[Path(x.video).name] for x in loaded.samples])
        row = {"step": step, "stills_acc": acc, **st, "fallbacks": sum(p.fallback for p in picks), "elapsed_s": round(time.time() - t0, 1),
               "args": vars(args)}
        print(json.dumps({k: v for k, v in row.items() if k != "args"}), flush=True)
        print("  raw:", [p.raw for p in picks[:6]], flush=True)
        if log:
            log.write(json.dumps(row) + "\n")
            log.flush()

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.base) if args.base else Path(tmp) / "base"
        if not args.base:
            tiny.write_tiny_model(base, "selector", seed=args.seed)
        pretrain_selector(base, args.save or Path(tmp) / "out", s, on_eval=on_eval,
                          eval_every=args.eval_every)


if __name__ == "__main__":
    main()
