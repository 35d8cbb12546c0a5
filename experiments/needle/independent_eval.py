"""Score collected needle runs on a needle set from another generator (not in this repository).

    python experiments/needle/independent_eval.py DIR runs/needle-s0 [runs/needle-s1 ...]
    python experiments/needle/independent_eval.py --summary [RESULTS]   # print from the committed files
    python experiments/needle/independent_eval.py --out RESULTS DIR runs/...   # elsewhere than results/independent

DIR is an MLVU-layout needle set with a truth.json (made by a generator outside viarl). Each run's
final selector (`checkpoints/c<last>-rl/selector`), uniform spacing and CLIP are scored with the
run's answer model by `viarl eval`, twice: on the questions as asked, and on the same videos
asked in the recipe's first wording ("What colour was the large <shape> that appeared
briefly?"), which tells the videos' look from the questions' wording. Predictions go to
results/independent/<run>/<asked|our-wording>/<selector>.jsonl.gz.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent / "results" / "independent"
# a question's shape noun, whatever the wording calls it
NOUNS = {"circle": ("circle", "disc", "disk", "round", "ball"), "square": ("square", "box", "block"),
         "triangle": ("triangle",), "diamond": ("diamond",)}


def _our_wording(src: Path, dst: Path) -> None:
    (dst / "json").mkdir(parents=True)
    (dst / "video").symlink_to(src.resolve() / "video")
    shutil.copyfile(src / "truth.json", dst / "truth.json")
    ann = sorted((src / "json").glob("*.json"))[0]
    rows = json.loads(ann.read_text())
    for row in rows:
        q = row["question"].lower()
        shape = next((s for s, words in NOUNS.items() if any(re.search(rf"\b{w}", q) for w in words)), "shape")
        row["question"] = f"What colour was the large {shape} that appeared briefly?"
    (dst / "json" / ann.name).write_text(json.dumps(rows))


def _score(data: Path, run: Path, out: Path) -> None:
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    last = max(int(p.name[1:].split("-")[0]) for p in (run / "checkpoints").glob("c*-rl"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["viarl", "eval", "--data", f"mlvu:{data}", "--selector", str(run / "checkpoints" / f"c{last}-rl" / "selector"),
                        "--selector", "uniform", "--selector", "clip", "--clip", recipe["models"]["clip"]["model"],
                        "--answer", recipe["models"]["answer"]["path"], "--answer-size", str(recipe["frames"]["answer_size"]),
                        "--out", tmp, "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
        for pred in Path(tmp).glob("*/predictions.jsonl"):
            out.mkdir(parents=True, exist_ok=True)
            with open(pred, "rb") as f, open(out / f"{pred.parent.name}.jsonl.gz", "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as z:
                shutil.copyfileobj(f, z)


def summary(out: Path = OUT) -> None:
    """Each run's rows, then the mean over runs of each (questions, selector) pair."""
    print("| run | questions | selector | hit | accuracy | fallbacks |\n|---|---|---|---|---|---|")
    pooled: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for path in sorted(out.glob("*/*/*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            rows = [json.loads(x) for x in f if x.strip()]
        hit = sum(bool(r["hit"]) for r in rows) / len(rows)
        acc = sum(bool(r["correct"]) for r in rows) / len(rows)
        questions, selector = path.parts[-2], path.stem.split('.')[0]
        pooled.setdefault((questions, selector), []).append((hit, acc))
        print(f"| {path.parts[-3]} | {questions} | {selector} | {hit:.3f} | {acc:.3f} | "
              f"{sum(bool(r['fallback']) for r in rows)} of {len(rows)} |")
    print("\n| questions | selector | runs | mean hit (worst) | mean accuracy |\n|---|---|---|---|---|")
    for (questions, selector), vals in sorted(pooled.items()):
        hits, accs = [h for h, _ in vals], [a for _, a in vals]
        print(f"| {questions} | {selector} | {len(vals)} | {sum(hits) / len(hits):.3f} ({min(hits):.3f}) | "
              f"{sum(accs) / len(accs):.3f} |")


def main(args: list[str]) -> None:
    if args[:1] == ["--summary"]:
        return summary(Path(args[1]) if len(args) > 1 else OUT)
    out = OUT
    if args[:1] == ["--out"]:
        out, args = Path(args[1]).resolve(), args[2:]
    data = Path(args[0])
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "our-wording"
        _our_wording(data, ours)
        for run in map(Path, args[1:]):
            _score(data, run, out / run.name / "asked")
            _score(ours, run, out / run.name / "our-wording")
    summary(out)


if __name__ == "__main__":
    main(sys.argv[1:])
