"""Benchmark: the default rules on 8192 completions, two ways, in one run.

1. the compiled (vectorised) scorer, 2. a hand-written per-sample Python function with the same
semantics. Both must agree. The LAST line is the hand-written/compiled ratio: > 1 means the
compiled scorer is faster. Run: python benchmarks/rewards.py [--n 8192]
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import numpy as np

from viarl.rewards import load_rules
from viarl.rewards.primitives import answer_matches, first_index_block, indices_valid

RULES = Path(__file__).resolve().parents[1] / "rewards" / "viarl.rules"
FORMAT = re.compile(r"<think>.*?</think>\s*<index>.*?</index>", re.DOTALL)


def hand_written(completion, tokens, prediction, answer, candidates, select):
    """The default rules written by hand for one sample (the baseline)."""
    fmt = 1.0 if FORMAT.fullmatch(completion.strip()) else 0.0
    valid = 1.0 if indices_valid(first_index_block(completion), select, candidates) else 0.0
    correct = 1.0 if valid and answer_matches(prediction, answer) else 0.0
    lo = 80 if select <= 8 else 110
    length = 0.2 if lo <= tokens <= 512 else 0.0
    return fmt, valid, correct, length, 2 * correct * valid + valid + fmt + length


def make_batch(n: int, seed: int = 0) -> dict:
    """Realistic selector outputs: mostly well-formed, with the usual ways of going wrong."""
    rng = random.Random(seed)
    words = "the red car appears near the door when the man opens it frame shows".split()
    rows = {k: [] for k in ("completion", "completion_tokens", "prediction", "answer",
                            "candidates", "select")}
    for _ in range(n):
        T, N = rng.choice([(32, 4), (64, 8), (128, 8), (256, 16)])
        idx = rng.sample(range(T), N)
        kind = rng.random()
        if kind < 0.1:
            idx[0] = idx[-1]  # duplicate
        elif kind < 0.15:
            idx[0] = T  # out of range
        body = ", ".join(map(str, idx))
        if rng.random() < 0.2:
            body = f"[{body}]"
        think = " ".join(rng.choice(words) for _ in range(rng.randint(20, 200)))
        text = f"<think>{think}</think>\n<index>{body}</index>"
        if rng.random() < 0.05:
            text = text.replace("</index>", "")
        if rng.random() < 0.05:
            text = "Sure! " + text
        rows["completion"].append(text)
        rows["completion_tokens"].append(len(text) // 4)
        rows["answer"].append(rng.choice("ABCD"))
        rows["prediction"].append(rng.choice(["A", "B", "(C)", "D.", " a "]))
        rows["candidates"].append(T)
        rows["select"].append(N)
    return rows


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    batch = make_batch(args.n)
    rules = load_rules(RULES)
    scorer = rules.compile()
    cols = [batch[k] for k in ("completion", "completion_tokens", "prediction", "answer",
                               "candidates", "select")]

    t_comp, compiled = best_of(args.repeats, lambda: scorer(batch))
    t_hand, hand = best_of(args.repeats, lambda: [hand_written(*row) for row in zip(*cols)])

    hand = np.array(hand)
    for j, name in enumerate(rules.components + ["total"]):
        np.testing.assert_array_equal(compiled[name], hand[:, j], err_msg=name)
    print(f"samples: {args.n}; mean total {compiled['total'].mean():.3f}; both agree")
    print(f"compiled:     {t_comp * 1e3:8.1f} ms  (best of {args.repeats})")
    print(f"hand-written: {t_hand * 1e3:8.1f} ms  (best of {args.repeats})")
    print(f"hand-written / compiled: {t_hand / t_comp:.2f}x")


if __name__ == "__main__":
    main()
