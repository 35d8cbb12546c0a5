"""How well the answer model's multiple-choice pretraining works, by question kind, colour and
number of frames: pretrain a fresh tiny answer model, then ask 200 fresh stills.

    python experiments/needle/answer_pretrain_probe.py --out results/answer_pretrain_colour.jsonl
    python experiments/needle/answer_pretrain_probe.py --kinds colour,shape --all-colours \
        --out results/answer_pretrain_colour_shape_8.jsonl

One thread. Writes one JSON line per group (kind, colour, frames) with n and accuracy, and a
last line with the pretraining's final loss, held-out accuracy and wall time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from viarl.eval.answer_parse import parse_answer
from viarl.models.loading import load_vlm
from viarl.models.tiny import write_tiny_model
from viarl.policy.answerer import Answerer, AnswerRequest
from viarl.synth.mix import COLOURS
from viarl.train.answer_pretrain import AnswerPretrainSettings, choice_example, pretrain_answer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--kinds", default="colour")
    ap.add_argument("--all-colours", action="store_true", help="black and white too")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    s = AnswerPretrainSettings(steps=args.steps, lr=args.lr, kinds=tuple(args.kinds.split(",")), seed=0,
                               **({"colours": COLOURS} if args.all_colours else {}))
    with tempfile.TemporaryDirectory() as tmp:
        base, out = Path(tmp) / "random", Path(tmp) / "pretrained"
        write_tiny_model(base, "answer", seed=args.seed)
        t0 = time.perf_counter()
        manifest = pretrain_answer(base, out, s)
        wall = time.perf_counter() - t0
        model, processor = load_vlm(str(out), dtype="float32", attn_implementation="sdpa", device="cpu")
        rng = np.random.default_rng(123)
        items = [choice_example(rng, s) for _ in range(200)]
        replies = Answerer(model, processor, max_new_tokens=4).answer(
            [AnswerRequest(i, im, st.question, st.options) for i, (_, im, _, st) in enumerate(items)])
    groups = defaultdict(list)
    for reply, (_, images, _, st) in zip(replies, items):
        ok = parse_answer(reply, st.options) == "ABCD"[st.answer]
        groups["kind", st.kind].append(ok)
        groups["frames", len(images)].append(ok)
        if st.kind == "colour":
            groups["colour", st.answer_text].append(ok)
    lines = [{"group": k, "value": v, "n": len(oks), "accuracy": round(float(np.mean(oks)), 3)}
             for (k, v), oks in sorted(groups.items(), key=str)]
    lines.append({"steps": s.steps, "lr": s.lr, "kinds": list(s.kinds), "colours": list(s.colours),
                  "final_loss": manifest["final_loss"], "held_out_accuracy": manifest["held_out_accuracy"],
                  "wall_s": round(wall, 1)})
    Path(args.out).write_text("".join(json.dumps(x) + "\n" for x in lines))
    for x in lines:
        print(json.dumps(x))


if __name__ == "__main__":
    main()
