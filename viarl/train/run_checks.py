"""Type checks of a run folder's own JSON files, before anything reads a field of them.

Run folders are shared, copied and downloaded: a `state.json` whose `global_step` is text or a
`metrics.jsonl` line whose `loss` is a list would otherwise crash deep inside a resume or a
report. `check_state` and `check_metrics_rows` give one UserError naming the file, the line and
the field. Files that are not valid JSON at all are left to their readers (`--resume` names the
checkpoint to fall back to); these checks judge only what parses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from viarl.errors import UserError
from viarl.user_files import METRICS_BYTES, STATE_BYTES, read_user_text

_INT_FIELDS = ("cycle", "step", "global_step")
_TEXT_FIELDS = ("stage", "stage_id")
# eval rows (state.json's `eval`, eval.jsonl): field → the types it may hold
_EVAL_FIELDS: dict[str, tuple[type, ...]] = {
    "cycle": (int,), "selector": (str,), "split": (str,), "n": (int,), "fallbacks": (int,),
    "accuracy": (int, float, type(None)), "hit_rate": (int, float, type(None)), "skipped": (dict,),
    "accuracy_ci95": (list, type(None)), "hit_ci95": (list, type(None)),
}


def _name(types: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "text", dict: "a JSON object", list: "a list",
             bool: "true/false", type(None): "null"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # JSON true is not a step number
        return bool in types
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, types)


def _fail(where: str, field: str, value: Any, types: tuple[type, ...], fix: str) -> UserError:
    shown = json.dumps(value)[:80] if not isinstance(value, float) else repr(value)
    return UserError(f"field `{field}` should be {_name(types)}, got {shown}", where=where, fix=fix)


def eval_row_problem(row: Any, where: str, fix: str) -> None:
    """UserError if an evaluation row has a field of the wrong type."""
    if not isinstance(row, dict):
        raise UserError(f"an evaluation row should be a JSON object, got {json.dumps(row)[:80]}", where=where, fix=fix)
    for key, types in _EVAL_FIELDS.items():
        if key in row and not _is(row[key], types):
            raise _fail(where, key, row[key], types, fix)


def check_state(state: Any, where: str) -> None:
    """UserError if a parsed state.json (`where` names it) holds a field of the wrong type."""
    fix = "the run folder is damaged: restore state.json from a copy, or start the run again in a new output_dir"
    if not isinstance(state, dict):
        return  # the resume reader explains what a state.json must be
    done, models = state.get("done", []), state.get("models", {})
    if not isinstance(done, list) or not all(isinstance(d, str) for d in done):
        raise UserError(f"field `done` should be a list of stage ids (text), got {json.dumps(done)[:80]}",
                        where=where, fix=fix)
    if not isinstance(models, dict) or not all(isinstance(v, str) for v in models.values()):
        raise UserError(f"field `models` should map roles to folders (text), got {json.dumps(models)[:80]}",
                        where=where, fix=fix)
    if "global_step" in state and not (_is(state["global_step"], (int,)) and state["global_step"] >= 0):
        raise _fail(where, "global_step", state["global_step"], (int,), fix)
    rows = state.get("eval", [])
    if not isinstance(rows, list):
        raise _fail(where, "eval", rows, (list,), fix)
    for i, row in enumerate(rows):
        eval_row_problem(row, f"{where} `eval.{i}`", fix)
    ref = state.get("rl_reference")
    if ref is not None and not (isinstance(ref, dict) and isinstance(ref.get("path", ""), str)
                                and isinstance(ref.get("in_run", False), bool)):
        raise UserError(f"field `rl_reference` should be {{\"path\": text, \"in_run\": true/false}}, got "
                        f"{json.dumps(ref)[:80]}", where=where, fix=fix)


def check_metrics_row(row: Any, where: str) -> None:
    """UserError if one metrics.jsonl line holds a field of the wrong type (steps are integers,
    stages text, every other value a number or null)."""
    fix = "the line is damaged: delete it (a resumed run logs the steps after its checkpoint again)"
    if not isinstance(row, dict):
        raise UserError(f"each line should be a JSON object, got {json.dumps(row)[:80]}", where=where, fix=fix)
    for key, value in row.items():
        types: tuple[type, ...] = ((int,) if key in _INT_FIELDS else (str,) if key in _TEXT_FIELDS
                                   else (int, float, bool, type(None)))
        if not _is(value, types) and not (value is None and types == (int, float, bool, type(None))):
            raise _fail(where, key, value, types, fix)


def check_run_files(run_dir: str | Path) -> None:
    """Check state.json and metrics.jsonl of `run_dir` by type (see the module docstring)."""
    run_dir = Path(run_dir)
    state_path = run_dir / "state.json"
    if state_path.exists():
        try:
            state = json.loads(read_user_text(state_path, "state.json", STATE_BYTES))
        except (json.JSONDecodeError, UserError):
            state = None  # not JSON, or unreadable: the resume reader says so, with its fallback
        check_state(state, str(state_path))
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        text = read_user_text(metrics, "metrics.jsonl", METRICS_BYTES)
        for lineno, line in enumerate(text.splitlines(), start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by kill -9: the metrics reader drops it
            check_metrics_row(row, f"{metrics}:{lineno}")
