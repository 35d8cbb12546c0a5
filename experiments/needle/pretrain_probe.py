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
from viarl.train.pretrain import PretrainSettings, held_out_accuracy, pretrain_selector, target_tokens
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
    ap.add_argument("--large-from", type=float, default=None,
                    help="curriculum: the large shape starts this big and shrinks to 0.33-0.5 by --large-steps")
    ap.add_argument("--large-steps", type=int, default=600)
    ap.add_argument("--schedule", default=None)
    ap.add_argument("--think-frames", action="store_true",
                    help="the <think> marks every frame y/n (the asked-about frame y): dense reasoning")
    ap.add_argument("--filler-words", type=int, default=0)
    ap.add_argument("--vision-depth", type=int, default=None)
    ap.add_argument("--vision-width", type=int, default=None)
    ap.add_argument("--tasks", default="large_shape,colour,brightest")
    ap.add_argument("--first-task-steps", type=int, default=300)
    ap.add_argument("--first-task", default="brightest")
    ap.add_argument("--think-words", type=int, default=2)
    ap.add_argument("--index-text", default="after")
    ap.add_argument("--question-position", default="after", choices=["after", "before"])
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
    if args.vision_depth is not None:
        tiny.VISION_CONFIG["depth"] = args.vision_depth
        tiny.VISION_CONFIG["fullatt_block_indexes"] = list(range(1, args.vision_depth, 2))
    if args.vision_width is not None:
        w = args.vision_width
        tiny.VISION_CONFIG.update(hidden_size=w, intermediate_size=2 * w, num_heads=w // 32)
    s = PretrainSettings(steps=args.steps, lr=args.lr, batch_size=args.batch, seed=args.seed,
                         tasks=tuple(args.tasks.split(",")), first_task_steps=args.first_task_steps,
                         first_task=args.first_task, think_words=args.think_words, 
                         index_text=args.index_text, question_position=args.question_position,
                         selector_size=args.size,
                         warmup_steps=args.warmup_steps, think_frames=args.think_frames,
                         filler_words=args.filler_words)

    if args.large_from is not None:
        import viarl.synth.stills as stills
        import viarl.train.pretrain as pre
        base_example = pre.clip_example

        def clip_example(rng, s_, step=None):
            if step is not None:
                f = min(1.0, step / args.large_steps)
                lo = args.large_from + f * (0.33 - args.large_from)
                stills.LARGE_SCALE = (lo, lo + 0.17)
            else:
                stills.LARGE_SCALE = (0.33, 0.5)
            return base_example(rng, s_, step)
        pre.clip_example = clip_example
    if args.schedule:
        import viarl.train.pretrain as pre
        base_sched = pre.build_scheduler
        pre.build_scheduler = lambda o, kind, n, w: base_sched(o, args.schedule, n, w)
    max_new = target_tokens(s)
    loaded = load_dataset("mlvu", args.needle, limit=args.needle_limit)
    truth = load_truth(args.needle)
    cache = FrameCache(".cache/frames")
    cands = [load_candidates(x.video, s.candidates, s.selector_size, 56, cache=cache) for x in loaded.samples]
    t0 = time.time()
    log = open(args.log, "a") if args.log else None

    def on_eval(step, model, processor):
        acc = {t: held_out_accuracy(model, processor, replace(s, tasks=(t,)), n=48) for t in s.tasks}
        picks = TrainedSelector(model, processor, index_text=s.index_text, max_new_tokens=max_new,
                                question_position=s.question_position).select(
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
