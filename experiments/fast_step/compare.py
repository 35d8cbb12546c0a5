"""Compare two needle runs copied by needle_same.sh: evaluation rows, RL metrics, wall time.

    python experiments/fast_step/compare.py experiments/fast_step/results/needle_same
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

KEYS = ("accuracy", "hit_rate", "distinct_picks", "fallbacks")


def rows(folder: Path) -> dict:
    out = {}
    for line in (folder / "eval.jsonl").read_text().splitlines():
        r = json.loads(line)
        out[(r.get("split") or f"cycle {r.get('cycle')}", r["selector"])] = r
    return out


def metrics(folder: Path) -> list[dict]:
    with gzip.open(folder / "metrics.jsonl.gz", "rt") as f:
        return [json.loads(x) for x in f]


def main() -> None:
    out = Path(sys.argv[1])
    now, before = rows(out / "now"), rows(out / "before")
    print(f"{'where':>12} {'selector':>10} " + " ".join(f"{k + ' now/before':>26}" for k in KEYS))
    same = True
    for key in sorted(set(now) | set(before), key=str):
        a, b = now.get(key, {}), before.get(key, {})
        cells = []
        for k in KEYS:
            cells.append(f"{str(a.get(k)):>12} / {str(b.get(k)):<11}")
            same &= a.get(k) == b.get(k)
        print(f"{key[0]:>12} {key[1]:>10} " + " ".join(cells))
    ma, mb = metrics(out / "now"), metrics(out / "before")
    for stage in ("rl", "sft"):
        ra = [r for r in ma if r.get("stage") == stage]
        rb = [r for r in mb if r.get("stage") == stage]
        for k in ("reward/total", "loss"):
            pairs = [(x[k], y[k]) for x, y in zip(ra, rb) if k in x and k in y]
            if pairs:
                gap = max(abs(x - y) for x, y in pairs)
                print(f"{stage} {k}: largest per-step difference {gap:.3g} over {len(pairs)} steps")
        sa, sb = sum(r.get("step_s", 0) for r in ra), sum(r.get("step_s", 0) for r in rb)
        print(f"{stage}: {sa:.0f} s of steps now, {sb:.0f} s before")
    wall = {n: float((out / n / f"{n}.wall").read_text()) for n in ("now", "before")}
    print(f"evaluation rows identical: {same}")
    print(f"wall time now {wall['now']:.0f} s, before {wall['before']:.0f} s: {wall['before'] / wall['now']:.2f}x")


if __name__ == "__main__":
    main()
