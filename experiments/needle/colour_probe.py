"""Per-colour grounding accuracy of a pretrained selector on fresh generic stills.

    python experiments/needle/colour_probe.py models/needle-s1/selector [LABEL=FOLDER ...] [--n 48] [--out FILE]
    python experiments/needle/colour_probe.py --summary experiments/needle/results/issue22-s9/colour-probe.jsonl

For each palette colour, `--n` fresh `large_shape` clips (`held_out_accuracy`'s stills, drawn with
the settings in the selector's own pretraining manifest) have their large shape forced to that
colour; the selector's greedy pick is right when it holds the target frame. This is how the needle
study's colour bias (blue, green and cyan needles found near chance) was traced to the pretraining:
it reads stills only, never needle data. One JSON line per folder goes to --out (appended).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import torch

import viarl.synth.stills as stills
from viarl.models.loading import load_vlm
from viarl.synth.scene import PALETTE
from viarl.train.pretrain import PretrainSettings, held_out_accuracy, read_manifest


def colour_accuracy(folder: str, n: int) -> dict[str, float]:
    """{colour: `held_out_accuracy` on n large_shape clips whose large shape has that colour}."""
    made = read_manifest(folder)["settings"]
    s = PretrainSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in made.items()})
    model, processor = load_vlm(folder, dtype="float32", attn_implementation="sdpa", device="cpu")
    draw_objects = stills._objects
    forced = {}

    def objects(draw, rng, size, count, shapes, colours, scale=(0.07, 0.16)):
        # only the target's large shape is drawn at LARGE_SCALE: that one takes the forced colour
        return draw_objects(draw, rng, size, count, shapes, [forced["c"]] if scale == stills.LARGE_SCALE else colours, scale)

    stills._objects = objects
    try:
        out = {}
        for colour in PALETTE:
            forced["c"] = colour  # held_out_accuracy draws the same clips each call, bar this colour
            out[colour] = held_out_accuracy(model, processor, replace(s, tasks=("large_shape",)), n=n)
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
