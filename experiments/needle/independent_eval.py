"""Score collected needle runs on a needle set from another generator (not in this repository).

    python experiments/needle/independent_eval.py DIR runs/needle-s0 [runs/needle-s1 ...]
    python experiments/needle/independent_eval.py --summary     # print from the committed files

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


def summary() -> None:
    print("| run | questions | selector | hit | accuracy | fallbacks |\n|---|---|---|---|---|---|")
    for path in sorted(OUT.glob("*/*/*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            rows = [json.loads(x) for x in f if x.strip()]
        hit = sum(bool(r["hit"]) for r in rows) / len(rows)
        acc = sum(bool(r["correct"]) for r in rows) / len(rows)
        print(f"| {path.parts[-3]} | {path.parts[-2]} | {path.stem.split('.')[0]} | {hit:.3f} | {acc:.3f} | "
              f"{sum(bool(r['fallback']) for r in rows)} of {len(rows)} |")


def main(args: list[str]) -> None:
    if args[:1] == ["--summary"]:
        return summary()
    data = Path(args[0])
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "our-wording"
        _our_wording(data, ours)
        for run in map(Path, args[1:]):
            _score(data, run, OUT / run.name / "asked")
            _score(ours, run, OUT / run.name / "our-wording")
    summary()


if __name__ == "__main__":
    main(sys.argv[1:])
