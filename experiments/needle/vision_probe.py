"""Is the tiny selector's vision tower what stops it finding the large shape? Train it alone.

    python experiments/needle/vision_probe.py [--size 56] [--steps 600] [--log FILE]

The selector's vision tower (random tiny init, frames shown exactly as the selector sees them,
index drawn) plus one linear head on its merged tokens (max over a frame's tokens) is trained to
score the frame of a `large_shape` grounding clip that holds the large object. Every 100 steps it
prints the share of 16 fresh clips whose top-scored frame is that one (chance 1/8). If this
reaches ~1.0 in a few hundred steps while the whole selector's pretraining stalls near 0.5 on the
same clips, the vision features are not the bottleneck: the language model's binding of a
frame's content to its index is.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from viarl.models import tiny
from viarl.models.loading import load_vlm
from viarl.synth.stills import make_clip
from viarl.video.candidates import selector_view


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tiny.write_tiny_model(tmp, "selector", seed=0)
        model, proc = load_vlm(tmp, dtype="float32", attn_implementation="sdpa", device="cpu")
    vis = model.model.visual
    width = vis.merger.mlp[-1].out_features
    head = torch.nn.Linear(width, 1)
    opt = torch.optim.AdamW(list(vis.parameters()) + list(head.parameters()), lr=2e-3)
    rng = np.random.default_rng(0)

    def frame_scores(clips: int):
        images, labels = [], []
        for _ in range(clips):
            c = make_clip(rng, 8, 112, task="large_shape")
            images += [Image.fromarray(f) for f in selector_view(c.frames, args.size)]
            labels += [float(t == c.target) for t in range(8)]
        x = proc.image_processor(images=images, return_tensors="pt")
        merged = vis(x["pixel_values"], grid_thw=x["image_grid_thw"]).pooler_output  # [frames*tokens, width]
        per_frame = merged.view(len(labels), -1, width)  # [frames, tokens per frame, width]
        return head(per_frame).squeeze(-1).max(1).values, torch.tensor(labels)  # [frames], [frames]

    t0 = time.time()
    log = open(args.log, "a") if args.log else None
    for step in range(args.steps):
        score, y = frame_scores(8)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(score, y, pos_weight=torch.tensor(7.0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0:
            with torch.no_grad():
                score, y = frame_scores(16)
                acc = float((score.view(16, 8).argmax(1) == y.view(16, 8).argmax(1)).float().mean())
            row = {"step": step + 1, "loss": round(float(loss.detach()), 4), "top1_of_8": acc,
                   "elapsed_s": round(time.time() - t0, 1), "size": args.size}
            print(json.dumps(row), flush=True)
            if log:
                log.write(json.dumps(row) + "\n")
                log.flush()


if __name__ == "__main__":
    main()
