"""Per-colour grounding accuracy of a pretrained selector on fresh generic stills.

    python experiments/needle/colour_probe.py models/needle-s1/selector [more folders] [--n 48] [--out FILE]

For each palette colour, `--n` fresh `large_shape` clips (the stills of `viarl.synth.stills`, drawn
with the settings in the selector's own pretraining manifest) have their large shape forced to that
colour; the selector's greedy pick is right when it holds the target frame. This is how the needle
study's colour bias (blue, green and cyan needles found near chance) was traced to the pretraining:
it reads stills only, never needle data. One JSON line per folder goes to --out (appended).
"""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

import viarl.synth.stills as stills
from viarl.models.loading import load_vlm
from viarl.policy.selector import TrainedSelector
from viarl.synth.scene import PALETTE
from viarl.train.pretrain import PretrainSettings, read_manifest, target_tokens
from viarl.video.candidates import selector_view


def colour_accuracy(folder: str, n: int, seed: int = 123) -> dict[str, float]:
    """{colour: share of n large_shape clips, large shape in that colour, whose pick holds the target}."""
    made = read_manifest(folder)["settings"]
    s = PretrainSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in made.items()})
    model, processor = load_vlm(folder, dtype="float32", attn_implementation="sdpa", device="cpu")
    sel = TrainedSelector(model, processor, index_text=s.index_text, max_new_tokens=target_tokens(s),
                          question_position=s.question_position)
    draw_objects = stills._objects
    forced = {}

    def objects(draw, rng, size, count, shapes, colours, scale=(0.07, 0.16)):
        # only the target's large shape is drawn at LARGE_SCALE: that one takes the forced colour
        return draw_objects(draw, rng, size, count, shapes, [forced["c"]] if scale == stills.LARGE_SCALE else colours, scale)

    stills._objects = objects
    try:
        out = {}
        for colour in PALETTE:
            forced["c"] = colour
            rng = np.random.default_rng(seed)  # the same clips for every colour, bar the shape's colour
            clips = [stills.make_clip(rng, s.candidates, s.clip_size, task="large_shape", filler_words=s.filler_words)
                     for _ in range(n)]
            views = [SimpleNamespace(selector=[Image.fromarray(f) for f in selector_view(c.frames, s.selector_size)],
                                     count=s.candidates) for c in clips]
            picks = sel.select([SimpleNamespace(question=c.question) for c in clips], views, s.select)
            out[colour] = float(np.mean([c.target in p.indices for p, c in zip(picks, clips)]))
        return out
    finally:
        stills._objects = draw_objects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for folder in args.folders:
        acc = colour_accuracy(folder, args.n)
        row = {"folder": folder, "n": args.n, "accuracy": acc,
               "start_from": read_manifest(folder)["settings"].get("start_from", "random")}
        print(folder, " ".join(f"{c}:{a:.2f}" for c, a in acc.items()), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
