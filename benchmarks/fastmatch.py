"""Benchmark: does rewards/fastmatch.py make an RL step faster?

fastmatch answers literal-and-gap regex passes (the default rules' format check) with str.find
instead of `re`. This times, in one run, (1) scoring one RL step's completions with the default
rules, with and without the fast path, and (2) the sampling part of that RL step on the tiny
selector: P prompts x k samples of a T-frame prompt (a lower bound of the step: the reference
pass, the answer model and the backward come on top). The last line is the RL step's time with
fastmatch over its time without it (< 1 means fastmatch makes the step faster).

    python benchmarks/fastmatch.py [--prompts 8] [--k 8] [--frames 128] [--tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from viarl.models.loading import load_vlm
from viarl.models.tiny import write_tiny_model
from viarl.policy.sampler import sample, selector_inputs
from viarl.rewards import load_rules, regexpasses

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rewards import RULES, best_of, make_batch  # noqa: E402 (the sibling benchmark's batch)


def scoring_times(n: int, repeats: int) -> tuple[float, float]:
    """Best-of times (s) of scoring n completions with the fast path and with `re` only."""
    batch = make_batch(n)
    with_fast = load_rules(RULES).compile()
    original = regexpasses.literal_gap_matcher
    regexpasses.literal_gap_matcher = lambda *a, **k: None  # every pass goes through `re`
    try:
        without = load_rules(RULES).compile()
        t_re, ref = best_of(repeats, lambda: without(batch))
    finally:
        regexpasses.literal_gap_matcher = original
    t_fast, got = best_of(repeats, lambda: with_fast(batch))
    for name in ref:
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)
    return t_fast, t_re


def sampling_time(prompts: int, k: int, frames: int, tokens: int) -> float:
    """Seconds to sample k completions of each of `prompts` T-frame prompts on the tiny selector."""
    folder = Path(tempfile.gettempdir()) / "viarl-bench-selector"
    if not (folder / "config.json").exists():
        write_tiny_model(folder, "selector", seed=0)
    model, proc = load_vlm(str(folder))
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (56, 56, 3), dtype=np.uint8)) for _ in range(frames)]
    inputs = selector_inputs(proc, "What colour was the large triangle that appeared briefly?", images, 8, "before")
    start = time.perf_counter()
    for p in range(prompts):
        sample(model, proc, inputs, k, max_new_tokens=tokens, generator=torch.Generator().manual_seed(p))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=8, help="prompts per RL step (recipes/paper.yaml: 8)")
    ap.add_argument("--k", type=int, default=8, help="samples per prompt (recipes/paper.yaml: 8)")
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = args.prompts * args.k
    t_fast, t_re = scoring_times(n, args.repeats)
    t_big_fast, t_big_re = scoring_times(8192, 3)
    t_sample = sampling_time(args.prompts, args.k, args.frames, args.tokens)
    print(f"scoring {n} completions: fastmatch {t_fast * 1e3:.2f} ms, re only {t_re * 1e3:.2f} ms "
          f"(best of {args.repeats})")
    print(f"scoring 8192 completions: fastmatch {t_big_fast * 1e3:.1f} ms, re only {t_big_re * 1e3:.1f} ms")
    print(f"sampling {args.prompts} x {args.k} completions ({args.frames} frames, <= {args.tokens} tokens, "
          f"tiny selector, {args.threads} thread(s)): {t_sample:.2f} s")
    print(f"fastmatch saves {(t_re - t_fast) * 1e3:.2f} ms of an RL step of at least {t_sample:.2f} s")
    print(f"RL step with / without fastmatch: {(t_sample + t_fast) / (t_sample + t_re):.5f}")


if __name__ == "__main__":
    main()
