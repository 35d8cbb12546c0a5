"""Reading a run folder for the report: metrics.jsonl, eval.jsonl, summary.json, predictions.

A run folder (written by `viarl run`) holds:

* ``metrics.jsonl``: one JSON object per training step (stage, cycle, step, global_step, the
  reward components ``reward/<name>``, kl, loss, ...);
* ``eval.jsonl``: one object per (cycle, selector) with accuracy, hit_rate, n, fallbacks;
* ``eval/cycle_<c>/<selector>/predictions.jsonl``: per-question rows of `viarl.eval.evaluate`;
* ``summary.json``: with ``eval_data = {"format": ..., "path": ...}`` naming the eval set.

Every file is optional except that at least one must exist; a malformed line is a user error
naming the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viarl.data.files import read_json_objects
from viarl.errors import UserError
from viarl.train.run_checks import check_metrics_row, eval_row_problem
from viarl.user_files import STATE_BYTES, read_user_text

_CYCLE_DIR = re.compile(r"^cycle_(\d+)$")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file (blank lines ignored); bad JSON is a UserError."""
    return [obj for _, obj in read_json_objects(path, "run file")]


def _checked_rows(path: Path, check) -> list[dict[str, Any]]:
    rows = read_json_objects(path, "run file")
    for lineno, row in rows:
        check(row, f"{path}:{lineno}")
    return [row for _, row in rows]


@dataclass
class RunFiles:
    """What a run folder holds, parsed. `predictions` maps (cycle, selector) to its JSONL path."""

    root: Path
    metrics: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    predictions: dict[tuple[int, str], Path] = field(default_factory=dict)


def load_run(root: str | Path) -> RunFiles:
    """Parse the run folder `root` (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise UserError("run folder not found", where=str(root),
                        fix="give the output_dir of a `viarl run`, e.g. runs/needle")
    run = RunFiles(root)
    if (root / "metrics.jsonl").exists():
        run.metrics = _checked_rows(root / "metrics.jsonl", check_metrics_row)
    if (root / "eval.jsonl").exists():
        run.evals = _checked_rows(root / "eval.jsonl", lambda row, where: eval_row_problem(
            row, where, "the line is damaged: delete it, or run `viarl run … --resume` to write it again"))
    if (root / "summary.json").exists():
        try:
            run.summary = json.loads(read_user_text(root / "summary.json", "summary.json", STATE_BYTES))
        except json.JSONDecodeError as e:
            raise UserError(f"not valid JSON: {e.msg}", where=f"{root / 'summary.json'}:{e.lineno}:{e.colno}",
                            fix="repair or delete summary.json") from None
    eval_dir = root / "eval"
    if eval_dir.is_dir():
        for cdir in sorted(eval_dir.iterdir()):
            m = _CYCLE_DIR.match(cdir.name)
            if not m or not cdir.is_dir():
                continue
            for sdir in sorted(cdir.iterdir()):
                if (sdir / "predictions.jsonl").is_file():
                    run.predictions[(int(m.group(1)), sdir.name)] = sdir / "predictions.jsonl"
    if not (run.metrics or run.evals or run.predictions):
        raise UserError("no metrics.jsonl, eval.jsonl or eval/cycle_*/*/predictions.jsonl in this folder",
                        where=str(root), fix="point `viarl report` at a run's output_dir")
    return run
