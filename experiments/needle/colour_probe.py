"""Per-colour grounding accuracy of a pretrained selector on fresh generic stills.

    python experiments/needle/colour_probe.py models/needle-s1/selector [LABEL=FOLDER ...] [--n 48] [--out FILE]
    python experiments/needle/colour_probe.py --summary experiments/needle/results/issue22-s9/colour-probe.jsonl

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


def summary(path: str) -> None:
    """Print the committed rows as a table."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    colours = list(rows[0]["accuracy"])
    print("| selector | pretrained from | steps | " + " | ".join(colours) + " |")
    print("|---|---|---|" + "---|" * len(colours))
    for r in rows:
        s = r["settings"]
        print(f"| {r['selector']} | {r['base']} | {s['steps']} | "
              + " | ".join(f"{r['accuracy'][c]:.2f}" for c in colours) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*")
    ap.add_argument("--summary", default=None, help="print the table of a file this script wrote, and stop")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return
    torch.set_num_threads(1)
    for arg in args.folders:
        label, _, folder = arg.rpartition("=") if "=" in arg else (arg, "", arg)
        acc = colour_accuracy(folder, args.n)
        made = read_manifest(folder)
        row = {"selector": label, "n": args.n, "accuracy": acc, "base": made["base"], "settings": made["settings"],
               "held_out_accuracy": made["held_out_accuracy"]}
        print(label, " ".join(f"{c}:{a:.2f}" for c, a in acc.items()), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
