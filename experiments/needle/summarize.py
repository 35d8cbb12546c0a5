"""The needle study's tables and acceptance checks, recomputed from the committed predictions.

    python experiments/needle/summarize.py                      # results/needle-s* + the ablation
    python experiments/needle/summarize.py DIR [DIR ...]        # other collected run folders (a folder
                                                                # named needle-ablate-* is read as the ablation)

Every number printed here is computed from the prediction rows that `collect.py` copied out of
each run (eval/.../predictions.jsonl.gz) and from metrics.jsonl.gz: summary.json is read only for
the seed and the wall time. Splits: `val` (data.eval, every cycle: the split decisions are made
on), `test` (scored once, after the last cycle), `shifted` (another look, scored once). "hit" is
the share of questions whose picked frames hold the needle (truth read for scoring only).
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SELECTORS = ("trained", "pre-rl", "uniform", "clip")


def _rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def cell(rows: list[dict]) -> dict:
    """hit, accuracy, accuracy on hits / misses, n of some prediction rows."""
    return {"n": len(rows), "hit": _mean(bool(r["hit"]) for r in rows if r["hit"] is not None),
            "acc": _mean(bool(r["correct"]) for r in rows),
            "acc_hits": _mean(bool(r["correct"]) for r in rows if r["hit"] is True),
            "acc_misses": _mean(bool(r["correct"]) for r in rows if r["hit"] is False),
            "picks": len({tuple(r["chosen"]) for r in rows})}


def answer_text(row: dict) -> str:
    return row["options"]["ABCDEFGH".index(row["answer"])].strip().casefold()


class Run:
    """One collected run: its prediction rows by (split, cycle, selector)."""

    def __init__(self, folder: Path):
        self.name, self.folder = folder.name, folder
        summary = json.loads((folder / "summary.json").read_text())
        self.seed, self.wall_s = summary["seed"], summary["wall_s"]
        self.preds: dict[tuple[str, int | None, str], list[dict]] = {}
        for p in sorted((folder / "eval").glob("cycle_*/*/predictions.jsonl.gz")):
            self.preds["val", int(p.parts[-3].split("_")[1]), p.parts[-2]] = _rows(p)
        for p in sorted((folder / "eval" / "final").glob("*/*/predictions.jsonl.gz")):
            self.preds[p.parts[-3], None, p.parts[-2]] = _rows(p)
        self.cycles = sorted({c for s, c, _ in self.preds if s == "val"})
        metrics = folder / "metrics.jsonl.gz"
        self.metrics = _rows(metrics) if metrics.exists() else []

    def get(self, split: str, selector: str, cycle: int | None = None) -> list[dict]:
        return self.preds.get((split, cycle, selector), [])

    def collapses(self) -> list[int]:
        """Evaluated cycles (val) whose trained hit is below uniform's + 0.05."""
        out = []
        for c in self.cycles:
            t, u = cell(self.get("val", "trained", c))["hit"], cell(self.get("val", "uniform", c))["hit"]
            if t is not None and u is not None and t < u + 0.05:
                out.append(c)
        return out

    def reward_correct(self) -> list[str]:
        """Mean `correct` reward (scored or ablated) of each RL stage."""
        by_stage = defaultdict(list)
        for m in self.metrics:
            if m.get("stage") == "rl":
                v = m.get("reward/correct", m.get("ablated/correct"))
                if v is not None:
                    by_stage[m["stage_id"]].append(v)
        return [f"{k}: {_mean(v):.3f}" for k, v in by_stage.items()]


def fmt(v, digits=3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def seeds_table(runs: list[Run]) -> dict:
    print("\n### Test split (scored once, after the last cycle), per seed\n")
    print("| run | seed | pre-RL hit | trained hit | uniform hit | CLIP hit | trained acc | uniform acc "
          "| acc on hits | acc on misses | shifted: trained / uniform hit | val collapses | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    agg = defaultdict(list)
    for r in runs:
        t, p, u, c = (cell(r.get("test", s)) for s in ("trained", "pre-rl", "uniform", "clip"))
        st, su = cell(r.get("shifted", "trained")), cell(r.get("shifted", "uniform"))
        col = r.collapses()
        for k, v in (("t", t["hit"]), ("p", p["hit"]), ("u", u["hit"]), ("c", c["hit"]), ("ta", t["acc"]),
                     ("ua", u["acc"]), ("st", st["hit"]), ("su", su["hit"]), ("col", len(col))):
            agg[k].append(v)
        print(f"| {r.name} | {r.seed} | {fmt(p['hit'])} | {fmt(t['hit'])} | {fmt(u['hit'])} | {fmt(c['hit'])} | "
              f"{fmt(t['acc'])} | {fmt(u['acc'])} | {fmt(t['acc_hits'])} | {fmt(t['acc_misses'])} | "
              f"{fmt(st['hit'])} / {fmt(su['hit'])} | {col or '-'} | {r.wall_s:.0f} |")
    m = {k: _mean(v for v in vals if v is not None) for k, vals in agg.items()}
    print(f"| mean | | {fmt(m['p'])} | {fmt(m['t'])} | {fmt(m['u'])} | {fmt(m['c'])} | {fmt(m['ta'])} | "
          f"{fmt(m['ua'])} | | | {fmt(m['st'])} / {fmt(m['su'])} | {sum(agg['col'])} | |")
    margins = [(a - b, r) for a, b, r in zip(agg["t"], agg["u"], runs) if a is not None and b is not None]
    m["worst_margin"] = min((x for x, _ in margins), default=None)
    if margins:
        margin, worst = min(margins, key=lambda x: x[0])
        print(f"\nworst seed: {worst.name} (trained {fmt(cell(worst.get('test', 'trained'))['hit'])} vs uniform "
              f"{fmt(cell(worst.get('test', 'uniform'))['hit'])}, margin {fmt(margin)})")
    return m


def cycles_table(runs: list[Run]) -> None:
    print("\n### Validation split, every cycle (trained hit; uniform in brackets; trained fallbacks; "
          "share of the most common pick)\n")
    cycles = sorted({c for r in runs for c in r.cycles})
    print("| run | " + " | ".join(f"cycle {c}" for c in cycles) + " | mean reward/correct per RL stage |")
    print("|---|" + "---|" * len(cycles) + "---|")
    for r in runs:
        cells = []
        for c in cycles:
            rows = r.get("val", "trained", c)
            top = Counter(tuple(x["chosen"]) for x in rows).most_common(1)
            cells.append(f"{fmt(cell(rows)['hit'])} ({fmt(cell(r.get('val', 'uniform', c))['hit'], 2)}; "
                         f"{sum(x['fallback'] for x in rows)} fb; {top[0][1] / len(rows):.2f} on {top[0][0]})"
                         if rows else "-")
        print(f"| {r.name} | " + " | ".join(cells) + f" | {'; '.join(r.reward_correct())} |")


def grouped(runs: list[Run], split: str, key, title: str) -> dict:
    """Pooled over the runs: a row per group with trained, pre-RL and uniform hit, trained accuracy."""
    rows = defaultdict(lambda: defaultdict(list))
    for r in runs:
        for sel in ("trained", "pre-rl", "uniform"):
            for row in r.get(split, sel):
                k = key(row)
                if k is not None:
                    rows[k][sel].append(row)
    print(f"\n### {title} ({split} split, pooled over {len(runs)} runs)\n")
    print("| group | n | trained hit | pre-RL hit | uniform hit | trained acc | acc on hits | acc on misses |")
    print("|---|---|---|---|---|---|---|---|")
    out = {}
    for k in sorted(rows, key=lambda x: (isinstance(x, str), x)):
        t, u = cell(rows[k]["trained"]), cell(rows[k]["uniform"])
        p = cell(rows[k]["pre-rl"]) if rows[k]["pre-rl"] else {"hit": None}
        out[k] = (t, u)
        print(f"| {k} | {t['n']} | {fmt(t['hit'])} | {fmt(p['hit'])} | {fmt(u['hit'])} | {fmt(t['acc'])} | {fmt(t['acc_hits'])} "
              f"| {fmt(t['acc_misses'])} |")
    return out


def main(dirs: list[str]) -> int:
    given = [Path(d) for d in dirs]
    folders = [f for f in given if not f.name.startswith("needle-ablate")] if dirs else sorted(RESULTS.glob("needle-s[0-9]*"))
    runs = [Run(f) for f in folders if (f / "summary.json").exists()]
    if not runs:
        print("no collected runs found", file=sys.stderr)
        return 1
    m = seeds_table(runs)
    print("\n### Pretraining (held-out accuracy on fresh generic stills, from each model's manifest)\n")
    for r in runs:
        made = {role: json.loads(p.read_text()) for role in ("selector", "answer")
                if (p := r.folder / f"pretrain-{role}.json").exists()}
        print(f"- {r.name}: " + ", ".join(f"{role} {fmt(m_['held_out_accuracy'])} (final loss {fmt(m_['final_loss'])})"
                                           for role, m_ in made.items()))
    cycles_table(runs)
    colours = grouped(runs, "test", answer_text, "By true answer")
    slots = grouped(runs, "test", lambda r: r.get("truth_slot"), "By candidate slot of the truth")
    pooled = cell([row for r in runs for row in r.get("test", "trained")])
    print(f"\npooled test, trained: accuracy on hits {fmt(pooled['acc_hits'])}, on misses {fmt(pooled['acc_misses'])}")
    if m["t"] is None:  # validation-only runs (probes): no test split to check
        return 0
    checks = [
        ("mean final trained hit >= uniform + 0.25", m["t"] >= m["u"] + 0.25),
        ("every seed >= uniform + 0.15", m["worst_margin"] >= 0.15),
        ("mean >= pre-RL + 0.10", m["p"] is not None and m["t"] >= m["p"] + 0.10),
        ("at most one collapse (val, all cycles, all seeds)", sum(len(r.collapses()) for r in runs) <= 1),
        ("every answer colour: trained hit >= uniform + 0.15",
         all(t["hit"] >= u["hit"] + 0.15 for t, u in colours.values())),
        ("every answer colour: accuracy on hits >= 0.8", all((t["acc_hits"] or 0) >= 0.8 for t, _ in colours.values())),
        ("accuracy on misses <= 0.35", (pooled["acc_misses"] or 0) <= 0.35),
        ("every candidate slot: trained hit >= 0.4", all(t["hit"] >= 0.4 for t, _ in slots.values())),
        ("shifted: mean trained hit >= uniform + 0.15", m["st"] is not None and m["st"] >= m["su"] + 0.15),
    ]
    ablation = ([f for f in given if f.name.startswith("needle-ablate")] if dirs
                else sorted(RESULTS.glob("needle-ablate-correct*")))
    for f in ablation:
        a = Run(f)
        t, u = cell(a.get("test", "trained")), cell(a.get("test", "uniform"))
        pre = cell(a.get("test", "pre-rl"))
        full = [r for r in runs if r.seed == a.seed]  # the same seed with the whole reward
        print(f"\nablation {a.name} (seed {a.seed}, reward without `correct`): test trained hit {fmt(t['hit'])}, "
              f"pre-RL {fmt(pre['hit'])}, uniform {fmt(u['hit'])}"
              + (f", with `correct` {fmt(cell(full[0].get('test', 'trained'))['hit'])}" if full else "")
              + "; val by cycle " + ", ".join(fmt(cell(a.get('val', 'trained', c))['hit']) for c in a.cycles))
        checks.append((f"ablation {a.name} ends within 0.05 of uniform", abs(t["hit"] - u["hit"]) <= 0.05))
    print(f"\n### Acceptance ({len(runs)} seeds)\n")
    for name, ok in checks:
        print(f"- {'PASS' if ok else 'FAIL'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
