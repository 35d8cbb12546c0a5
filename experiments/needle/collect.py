"""Copy a needle run's evidence into experiments/needle/results/<run>/, compressed.

    python experiments/needle/collect.py runs/needle-s0 [runs/needle-s1 ...]

Keeps what summarize.py reads: summary.json, recipe.yaml, eval.jsonl, metrics.jsonl.gz and every
evaluation's predictions (eval/cycle_<c>/<selector>/predictions.jsonl.gz for data.eval, the
validation split; eval/final/<split>/<selector>/predictions.jsonl.gz for test and shifted).
With them, pretrain-<role>.json: the manifest of each pretrained model the run started from.
Run from the repository root (model paths are relative to it). Checkpoints, caches and the
console log stay in the run folder.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import yaml

RESULTS = Path(__file__).resolve().parent / "results"


def _gzip(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same file always compresses to the same bytes, so a re-collect shows no diff
    with open(src, "rb") as f, open(dst, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        shutil.copyfileobj(f, out)


def collect(run: Path, out: Path) -> None:
    """Copy one run folder's evidence to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "recipe.yaml", "eval.jsonl"):
        shutil.copyfile(run / name, out / name)
    _gzip(run / "metrics.jsonl", out / "metrics.jsonl.gz")
    for pred in sorted((run / "eval").rglob("predictions.jsonl")):
        _gzip(pred, out / pred.relative_to(run).with_suffix(".jsonl.gz"))
    # how the run's pretrained models were made (settings, final loss, held-out accuracy)
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    for role in ("selector", "answer"):
        manifest = Path(recipe["models"][role]["path"]) / "viarl_pretrain.json"
        if manifest.is_file():
            shutil.copyfile(manifest, out / f"pretrain-{role}.json")


def main(runs: list[str]) -> int:
    for r in runs:
        collect(Path(r), RESULTS / Path(r).name)
        print(f"collected {r} -> {RESULTS / Path(r).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
