"""How well the answer model reads the needle from N frames after its warm-up, with and without it.

    python experiments/needle/answer_probe.py --steps 500 [--rope-theta 1e6] [--pretrain-steps 0]

Trains a fresh tiny answer model as the `answer_warmup` stage does (SFT on the correct letter
given all T candidate frames of a training video; no frame labels), then asks it each test
question twice: with N frames holding the needle (a truth diagnostic, never used in training)
and with N frames that miss it. The gap is the signal the selector's RL reward carries.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from viarl.data.loaders import load_dataset
from viarl.data.truth import load_truth
from viarl.eval.answer_parse import parse_answer
from viarl.models import tiny
from viarl.models.loading import load_vlm
from viarl.policy.answerer import Answerer, AnswerRequest
from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step
from viarl.policy.prompts import answer_messages
from viarl.train.supervised import supervised_batch, supervised_loss
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rope-theta", type=float, default=None)
    ap.add_argument("--select", type=int, default=2)
    ap.add_argument("--train", default="data/needle/train")
    ap.add_argument("--test", default="data/needle/test")
    ap.add_argument("--log", default=None)
    ap.add_argument("--answer", default=None, help="evaluate this answer model instead of training one")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.rope_theta is not None:
        tiny.TEXT_CONFIG["rope_parameters"]["rope_theta"] = args.rope_theta
    cache = FrameCache(".cache/frames")
    train = load_dataset("mlvu", args.train).samples
    test = load_dataset("mlvu", args.test).samples
    truth = load_truth(args.test)
    cands = lambda s: load_candidates(s.video, 8, 56, 56, cache=cache)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        tiny.write_tiny_model(Path(tmp) / "a", "answer", seed=1)
        model, proc = load_vlm(args.answer or str(Path(tmp) / "a"))
    if args.answer:
        args.steps = 0
    opt = build_optimizer(model, args.lr, 0.01)
    sched = build_scheduler(opt, "constant", args.steps, 0.0)
    rng = np.random.default_rng(0)
    for step in range(args.steps):
        model.train()
        batch = [train[i] for i in rng.integers(0, len(train), args.batch)]
        ex = [(answer_messages(s.question, s.options, 8), cands(s).all_answer_images(), s.answer) for s in batch]
        loss, _ = supervised_loss(model, supervised_batch(proc, ex))
        loss.backward()
        clip_and_step(model, opt, sched, 20.0)
    model.eval()
    ans = Answerer(model, proc, max_new_tokens=4, batch_size=8)
    res = {}
    for case in ("with_needle", "without_needle"):
        reqs = []
        for s in test:
            c = cands(s)
            (a, b), = truth[Path(s.video).name]
            inside = [i for i, f in enumerate(c.frame_indices) if a <= f < b]
            outside = [i for i in range(c.count) if i not in inside]
            pool = outside if case == "without_needle" else inside
            first = int(rng.choice(pool))
            rest = [int(i) for i in rng.permutation(outside) if i != first][: args.select - 1]
            idx = sorted([first, *rest])
            reqs.append(AnswerRequest((s.id, case), c.answer_images(idx), s.question, tuple(s.options)))
        preds = ans.answer(reqs)
        res[case] = float(np.mean([parse_answer(p, s.options) == s.answer for p, s in zip(preds, test)]))
    row = {"args": vars(args), **res}
    print(json.dumps(row))
    if args.log:
        with open(args.log, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
