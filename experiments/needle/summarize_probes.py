"""Tables of the issue-22 probes, from the files committed in results/issue22-probes/.

    python experiments/needle/summarize_probes.py
    python experiments/needle/summarize_probes.py --pretrain DIR   # only the pretraining probes in DIR/*.jsonl

1. Selector pretraining probes (`pretrain_probe.py`, one JSON line per evaluation): held-out
   accuracy per grounding task on fresh stills (48 each), and on the seed-0 validation split (100
   needle videos): hit rate, fallbacks (unparseable or repeated picks) and distinct picks.
2. Short runs of needle.yaml (`runs/t*` and `runs/s7-*`: the overrides each used are in its recipe.yaml);
   t1-t7 from the selector of probe j, s7-t08 and s7-t09 from that of probe s7-tf, s7-t10 from s7-tf15; t1 and t2 from an answer model pretrained without absent examples
   (`pretrain-answer-no-absent.json`), t3-t7 from one with 20 % (`pretrain-answer-absent0.2.json`): trained hit
   per evaluated cycle (val), accuracy on misses, and per answer colour the accuracy on misses.
4. Wording (`wording/`): the pretrained selectors of probes s7-tf15 and s7-fill16 (`viarl eval -T 8 -N 2
   --selector-size 56 --index-text before --selector-tokens 40`, seed-0 answer model) on the validation
   split, and on the same videos asked in longer sentences (`long_wording.py`).
3. The pretrained answer model alone (`viarl eval` on the validation split, no warm-up): accuracy
   on hits and on misses, and how often a miss is answered with the first option.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent / "results" / "issue22-probes"


def _f(v, d=2) -> str:
    return "-" if v is None else f"{v:.{d}f}"


def pretrain_table(folder: Path = ROOT / "pretrain") -> None:
    print("### Selector pretraining probes (step: stills accuracy per task | val hit, fallbacks, distinct picks)\n")
    for path in sorted(folder.glob("*.jsonl")):
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        a = rows[0]["args"]
        keys = ("steps", "lr", "batch", "layers", "tasks", "think_words", "think_frames", "first_task_steps",
                "index_text", "question_position", "size", "base", "vision_depth", "vision_width", "large_from", "schedule", "filler_words",
                "needle")
        print(f"- probe {path.stem}: " + ", ".join(f"{k}={a.get(k)}" for k in keys if a.get(k) is not None))
        for r in rows:
            acc = " ".join(f"{t} {_f(v)}" for t, v in r["stills_acc"].items())
            print(f"  - step {r['step']}: {acc} | hit {_f(r['hit_rate'])}, {r.get('fallbacks', '-')} fb, "
                  f"{r['distinct_picks']} picks")


def _median_entropy(run: Path) -> str:
    path = run / "metrics.jsonl.gz"
    if not path.is_file():
        return "-"
    with gzip.open(path, "rt") as f:
        values = sorted(r["entropy"] for r in map(json.loads, filter(str.strip, f)) if "entropy" in r)
    return _f(values[len(values) // 2], 3) if values else "-"


def runs_table() -> None:
    print("\n### Short runs (val split; trained hit per cycle, fallbacks; accuracy on misses; "
          "colours whose misses are answered right >= 0.8)\n")
    print("| run | selector | stages | rl | cycle 0 | cycle 1 | cycle 2 | blind colours (cycle: colour acc-on-misses) | test trained / pre-RL / uniform hit | wall s | median token entropy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in sorted((ROOT / "runs").iterdir()):
        s = json.loads((d / "summary.json").read_text())
        r = yaml.safe_load((d / "recipe.yaml").read_text())
        st = r["stages"]
        rl = r["rl"]
        cells, blind = {}, []
        for c in s["cycles"]:
            if c["selector"] != "trained":
                continue
            cells[c["cycle"]] = f"{_f(c['hit_rate'])} ({c['fallbacks']} fb; miss acc {_f(c['accuracy_on_misses'])})"
            for colour, g in c["by_answer"].items():
                if (g.get("accuracy_on_misses") or 0) >= 0.8:
                    blind.append(f"{c['cycle']}: {colour} {_f(g['accuracy_on_misses'])}")
        test = (s.get("final_splits") or {}).get("test", {})
        t = " / ".join(_f(test.get(k, {}).get("hit_rate")) for k in ("trained", "pre-rl", "uniform")) if test else "-"
        print(f"| {d.name} | {Path(r['models']['selector']['path']).name} | before {st['before']}, cycle {st['cycle']} x{st['cycles']} | {rl['steps']} steps, "
              f"lr {rl['lr']}, T {rl['temperature']}, kl {rl['kl_coef']}, ent {rl['index_entropy_coef']}, "
              f"{rl['prompts_per_step']}x{rl['samples_per_prompt']}, baseline {rl['baseline']} | "
              + " | ".join(cells.get(i, "-") for i in range(3)) + f" | {'; '.join(blind) or '-'} | {t} | "
              f"{s['wall_s']:.0f} | {_median_entropy(d)} |")


def answer_alone() -> None:
    print("\n### The pretrained answer model alone (val split, no warm-up)\n")
    d = ROOT / "answer-alone"
    for sel in ("uniform", "clip", "trained"):
        with gzip.open(d / f"{sel}-predictions.jsonl.gz", "rt") as f:
            rows = [json.loads(x) for x in f if x.strip()]
        hits = [r for r in rows if r["hit"]]
        miss = [r for r in rows if r["hit"] is False]
        print(f"- {sel}: hit {_f(len(hits) / len(rows))}, accuracy on hits {_f(sum(r['correct'] for r in hits) / len(hits))}, "
              f"on misses {_f(sum(r['correct'] for r in miss) / len(miss))}, misses answered A "
              f"{_f(sum(r['parsed'] == 'A' for r in miss) / len(miss))}")
    for p in sorted(d.glob("pretrain-answer-*.json")):
        m = json.loads(p.read_text())
        print(f"- {p.stem}: steps {m['settings']['steps']}, absent {m['settings'].get('absent', 0)}: held-out "
              f"{_f(m['held_out_accuracy'], 3)}, absent -> first option {_f(m.get('held_out_absent_first_option'), 3)}")


def wording_table() -> None:
    print("\n### Wording: pretrained selectors on the validation split as asked, and rewritten as longer "
          "sentences (`long_wording.py`)\n")
    for path in sorted((ROOT / "wording").glob("*-predictions.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            rows = [json.loads(x) for x in f if x.strip()]
        split, probe = path.name.split("-")[:2]
        print(f"- {probe} on {'val' if split == 'val' else 'val, long wording'}: hit {_f(sum(bool(r['hit']) for r in rows) / len(rows))}, "
              f"{sum(r['fallback'] for r in rows)} of {len(rows)} fall back")


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["--pretrain"]:
        pretrain_table(Path(sys.argv[2]))
        sys.exit(0)
    pretrain_table()
    runs_table()
    answer_alone()
    wording_table()
