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
import os
from pathlib import Path
from typing import Any

import yaml

from viarl.config.yaml_limits import check_expanded, check_yaml_text
from viarl.config.yaml_source import _RecipeLoader
from viarl.errors import UserError
from viarl.user_files import METRICS_BYTES, RECIPE_BYTES, STATE_BYTES, not_regular, read_user_text

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


def check_no_special_files(run_dir: Path, limit: int = 100_000) -> None:
    """UserError naming the first FIFO, device or socket in the run folder (followed through links):
    reading one would block forever or never end."""
    for seen, (folder, dirs, files) in enumerate(os.walk(run_dir)):
        for name in dirs + files:
            path = Path(folder) / name
            try:
                kind = not_regular(path.stat().st_mode)
            except OSError:
                continue  # a dangling link: the reader that needs it says it is missing
            if kind and kind != "a folder":
                raise UserError(f"{path} is {kind}, which a run folder never holds", where=str(path),
                                fix="remove it, or restore the run folder from a copy")
        if seen > limit:
            return


def check_recipe_yaml(path: Path) -> None:
    """The nesting and alias caps of a recipe, for a run folder's recipe.yaml / recipe.changes.yaml
    (syntax errors are left to the resume reader, which names the file)."""
    text = read_user_text(path, path.name, RECIPE_BYTES)
    check_yaml_text(text, str(path), _RecipeLoader)
    loader = _RecipeLoader(text)
    try:
        check_expanded(loader.get_single_node(), str(path))
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()


def check_run_files(run_dir: str | Path) -> None:
    """Check a run folder before a resume reads it: no FIFOs or devices, recipe files within the
    YAML caps, state.json and metrics.jsonl by type (see the module docstring)."""
    run_dir = Path(run_dir)
    check_no_special_files(run_dir)
    for name in ("recipe.yaml", "recipe.changes.yaml"):
        if (run_dir / name).exists():
            check_recipe_yaml(run_dir / name)
    state_path = run_dir / "state.json"
    if state_path.exists():
        try:
            state = json.loads(read_user_text(state_path, "state.json", STATE_BYTES))
        except json.JSONDecodeError:
            state = None  # not JSON: the resume reader says so, with the checkpoint to fall back to
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
