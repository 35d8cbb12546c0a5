"""The previous recipe's tables, from summary.json files only (no predictions were kept then).

    python experiments/needle/summarize_summaries.py experiments/needle/results/before-issue-22/needle-s0 \
        experiments/needle/results/before-issue-22/needle-s1 experiments/needle/results/before-issue-22/needle-s2

Prints the markdown tables of docs/needle-cpu-findings.md's history sections, and the bars that
recipe was built to clear. The current study's tables come from summarize.py, which recomputes
them from the committed predictions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(dirs: list[str]) -> int:
    runs = [json.loads((Path(d) / "summary.json").read_text()) for d in dirs]
    print()
    print("| run | seed | trained hit (cycle 0 → final) | uniform hit | CLIP hit | trained acc | uniform acc "
          "| distinct picks (final) | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    keys = []
    for d, s in zip(dirs, runs):
        f, pre = s["final"], s.get("pre_rl", {})
        tr, un, cl = f["trained"], f["uniform"], f.get("clip", {})
        p0 = pre.get("trained", {}).get("hit_rate")
        keys.append((tr["hit_rate"], un["hit_rate"], p0, tr["accuracy"], un["accuracy"], tr["distinct_picks"]))
        print(f"| {Path(d).name} | {s['seed']} | {p0:.3f} → {tr['hit_rate']:.3f} | {un['hit_rate']:.3f} | "
              f"{cl.get('hit_rate', float('nan')):.3f} | {tr['accuracy']:.3f} | {un['accuracy']:.3f} | "
              f"{tr['distinct_picks']} | {s['wall_s']:.0f} |")
    mean = [sum(k[i] for k in keys) / len(keys) for i in range(6)]
    print(f"| mean | | {mean[2]:.3f} → {mean[0]:.3f} | {mean[1]:.3f} | | {mean[3]:.3f} | {mean[4]:.3f} | "
          f"{mean[5]:.1f} | |")
    checks = [
        ("mean trained hit >= uniform + 0.20", mean[0] >= mean[1] + 0.20),
        ("mean trained hit >= cycle-0 trained + 0.10", mean[0] >= mean[2] + 0.10),
        ("every run trained hit >= uniform + 0.10", all(k[0] >= k[1] + 0.10 for k in keys)),
        ("mean trained accuracy > uniform accuracy", mean[3] > mean[4]),
        ("mean distinct greedy picks >= 8", mean[5] >= 8),
        ("every run >= 8 distinct greedy picks", all(k[5] >= 8 for k in keys)),
    ]
    print()
    for name, ok in checks:
        print(f"- {'PASS' if ok else 'FAIL'}  {name}")
    prefilter_table(dirs, runs)
    return 0


def prefilter_table(dirs: list[str], runs: list[dict]) -> None:
    """The `+prefilter` rows (evaluation.prefilter) beside the plain ones, when the runs have them."""
    with_rows = [(d, s) for d, s in zip(dirs, runs) if "trained+prefilter" in s["final"]]
    if not with_rows:
        return
    print()
    print("| run | trained hit | trained+prefilter hit | uniform+prefilter hit | trained acc "
          "| trained+prefilter acc | uniform+prefilter acc |")
    print("|---|---|---|---|---|---|---|")
    for d, s in with_rows:
        f = s["final"]
        tr, tp, up = f["trained"], f["trained+prefilter"], f.get("uniform+prefilter", {})
        print(f"| {Path(d).name} | {tr['hit_rate']:.3f} | {tp['hit_rate']:.3f} | {up.get('hit_rate', float('nan')):.3f} | "
              f"{tr['accuracy']:.3f} | {tp['accuracy']:.3f} | {up.get('accuracy', float('nan')):.3f} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
