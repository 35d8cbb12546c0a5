"""Rollout benchmark: k=8 samples of one 128-frame selector prompt.

Shared: one prefill (vision encoding + prompt), one batched decode of the 8 samples over that one
prefill (the prompt's KV cache held once: cascade attention, `viarl/policy/shared_prefix.py`).
Baseline: 8 independent generations, each with its own prefill and decode (the same sampling
loop with k=1, so only the sharing differs). Both on the tiny local selector (created if absent).
The last line is the speed-up of the shared rollout over the baseline.

    python benchmarks/rollout.py [--frames 128] [--k 8] [--tokens 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from viarl.models.loading import load_vlm
from viarl.models.tiny import write_tiny_model
from viarl.policy.sampler import sample, selector_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(tempfile.gettempdir()) / "viarl-bench-selector"
    if not (folder / "config.json").exists():
        write_tiny_model(folder, "selector", seed=0)
    model, proc = load_vlm(str(folder))
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8))
              for _ in range(args.frames)]
    inputs = selector_inputs(proc, "What colour was the large triangle that appeared briefly?", frames, 8, "before")
    print(f"prompt: {args.frames} frames, {inputs['input_ids'].shape[1]} tokens; k={args.k}, "
          f"up to {args.tokens} new tokens; {args.threads} thread(s)")

    def shared():
        return sample(model, proc, inputs, args.k, max_new_tokens=args.tokens,
                      generator=torch.Generator().manual_seed(1))

    def independent():
        g = torch.Generator().manual_seed(1)
        return [sample(model, proc, inputs, 1, max_new_tokens=args.tokens, generator=g) for _ in range(args.k)]

    def best(fn) -> tuple[float, int]:
        times, tokens = [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
            outs = out if isinstance(out, list) else [out]
            tokens = int(sum(o.mask.sum() for o in outs))
        return min(times), tokens

    shared()  # warm-up: first calls pay one-off allocation costs
    t_ind, n_ind = best(independent)
    t_sh, n_sh = best(shared)
    print(f"independent: {t_ind:.3f} s for {n_ind} tokens ({n_ind / t_ind:.0f} tok/s)")
    print(f"shared prefill: {t_sh:.3f} s for {n_sh} tokens ({n_sh / t_sh:.0f} tok/s)")
    # Normalise by tokens generated: samples stop at their own end tokens.
    ratio = (t_ind / max(n_ind, 1)) / (t_sh / max(n_sh, 1))
    print(f"shared prefill vs independent generations (per token): {ratio:.2f}x")


if __name__ == "__main__":
    main()
