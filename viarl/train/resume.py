"""Guarded resume: a run continues under the recipe it started with, unless told otherwise.

`viarl run RECIPE --resume RUN` compares the newly resolved recipe with the one the run holds
(RUN/recipe.yaml, with any changes accepted before applied over it). A difference stops the
resume with every changed field listed; `--allow-changes` accepts them on purpose: recipe.yaml
stays the original and the changes are appended to recipe.changes.yaml with the global step
where they start. `--from-checkpoint STAGE/STEP` rewinds the run to a complete checkpoint (e.g.
when a newer one is damaged): state.json is rebuilt from the checkpoints on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from viarl.atomic import write_text
from viarl.config.load import flatten
from viarl.errors import UserError
from viarl.train import checkpoint as ckpt
from viarl.train.stage_plan import plan
from viarl.train.runfiles import check_run_folder, checkpoints

CHANGES = "recipe.changes.yaml"
# The run folder is named by --resume itself, so the recipe's output_dir may differ freely
# (a copied or moved run is resumed where it now is).
IGNORED = {"output_dir"}


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise UserError(f"{what} cannot be read: {str(e).splitlines()[0]}", where=str(path),
                        fix="restore it from a copy of the run; it is written once, when the run starts") from None


def recorded_recipe(run_dir: Path) -> dict[str, Any] | None:
    """The recipe the run is under now, flattened: recipe.yaml with accepted changes applied."""
    path = run_dir / "recipe.yaml"
    if not path.is_file():
        return None
    base = _read_yaml(path, "the run's recipe")
    if not isinstance(base, dict):
        raise UserError("the run's recipe is not a mapping", where=str(path),
                        fix="restore it from a copy of the run")
    flat = flatten(base)
    for entry in accepted_changes(run_dir):
        flat.update({k: v.get("new") for k, v in entry.get("changes", {}).items()})
    return flat


def accepted_changes(run_dir: Path) -> list[dict]:
    """The entries of recipe.changes.yaml, oldest first ([] when there is none)."""
    path = run_dir / CHANGES
    if not path.is_file():
        return []
    entries = _read_yaml(path, CHANGES) or []
    if not isinstance(entries, list):
        raise UserError(f"{CHANGES} is not a list of changes", where=str(path),
                        fix="restore it from a copy of the run")
    return entries


def recipe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(dotted path, old, new) for every field that differs, in the new recipe's order."""
    missing = object()
    keys = list(new) + [k for k in old if k not in new]
    return [(k, old.get(k), new.get(k)) for k in keys
            if k.split(".")[0] not in IGNORED and old.get(k, missing) != new.get(k, missing)]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def guard_resume(run_dir: Path, resolved: str, allow: bool) -> list[tuple[str, Any, Any]]:
    """The changes of `resolved` (the new recipe as YAML) against the run's; UserError unless allowed."""
    old = recorded_recipe(run_dir)
    if old is None:
        return []
    changes = recipe_changes(old, flatten(yaml.safe_load(resolved)))
    if changes and not allow:
        listed = "\n".join(f"  {k}: {_show(a)} → {_show(b)}" for k, a, b in changes)
        raise UserError(f"the recipe differs from the one the run was started with "
                        f"({len(changes)} field{'s' if len(changes) != 1 else ''}):\n{listed}",
                        where=f"--resume {run_dir}",
                        fix="resume with the same recipe and overrides, or accept the changes on purpose "
                            f"with --allow-changes (they are recorded in {run_dir / CHANGES})")
    return changes


def record_changes(run_dir: Path, changes: list[tuple[str, Any, Any]], global_step: int, stage: str | None) -> None:
    """Append one entry to recipe.changes.yaml: the changes and the global step they start at."""
    if not changes:
        return
    entries = accepted_changes(run_dir)
    entries.append({"global_step": global_step, "stage": stage,
                    "changes": {k: {"old": a, "new": b} for k, a, b in changes}})
    write_text(run_dir / CHANGES, yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))


def resume_point(run_dir: Path, recipe, state: dict) -> tuple[int, str | None]:
    """(global step, stage) where the resumed run continues."""
    current = next((s.id for s in plan(recipe) if s.id not in state["done"]), None)
    partial = next((c for c in checkpoints(run_dir, recipe) if c.partial and c.stage == current
                    and c.problem is None), None)
    if partial is None:
        return int(state.get("global_step", 0)), current
    saved = ckpt.load_torch_file(partial.folder / "trainer.pt", mmap=True)  # reads only what it uses
    return int(saved["extra"]["global_step"]), f"{current} step {saved['step']}"


def _rows(path: Path) -> list[dict]:
    """The JSON objects of a JSONL file, skipping lines that do not parse (a damaged tail)."""
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                out.append(row)
    return out


def _set_aside(path: Path) -> None:
    """Rename `path` to `<name>.set-aside` (then .set-aside-2, …): out of the resume's way, kept."""
    target, n = path.with_name(path.name + ".set-aside"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.set-aside-{n}")
    path.rename(target)


def rewind(run_dir: Path, recipe, spec: str) -> None:
    """Rebuild state.json so the run resumes from checkpoint `spec` (STAGE/STEP).

    The stages up to that checkpoint count as done and their models are the run's; the later
    stages' checkpoints, other mid-stage checkpoints and the old state.json are set aside
    (renamed `….set-aside`), not deleted.
    """
    found = checkpoints(run_dir, recipe)
    good = [c for c in found if c.problem is None]
    chosen = next((c for c in good if c.name == spec), None)
    if chosen is None:
        listed = ", ".join(c.name for c in good) or "none"
        raise UserError(f"no complete checkpoint `{spec}` in {run_dir}", where="--from-checkpoint",
                        fix=f"name one as STAGE/STEP; the complete ones are: {listed}")
    ids = [s.id for s in plan(recipe)]
    upto = ids.index(chosen.stage) + (0 if chosen.partial else 1)
    done = ids[:upto]
    models: dict[str, str] = {}
    for stage in done:
        for role in ("selector", "answer"):
            if (run_dir / "checkpoints" / stage / role).is_dir():
                models[role] = f"checkpoints/{stage}/{role}"
    metrics = [r for r in _rows(run_dir / "metrics.jsonl") if r.get("stage_id") in done]
    evals = [r for r in _rows(run_dir / "eval.jsonl")
             if ("final-eval" if r.get("split") else f"c{r.get('cycle')}-eval") in done]
    for c in found:
        if c.partial and c is not chosen:
            _set_aside(c.folder)
    for stage in ids[upto:]:  # run again from the chosen checkpoint; the old results stay readable
        if (run_dir / "checkpoints" / stage).is_dir():
            _set_aside(run_dir / "checkpoints" / stage)
    if (run_dir / "state.json").exists():
        _set_aside(run_dir / "state.json")
    ckpt.save_state(run_dir, {"done": done, "models": models, "eval": evals,
                              "global_step": max([int(r.get("global_step", 0)) for r in metrics] or [0])})
    write_text(run_dir / "eval.jsonl", "".join(json.dumps(r) + "\n" for r in evals))


def prepare_resume(run_dir: Path, recipe, resolved: str, *, allow_changes: bool,
                   from_checkpoint: str | None) -> None:
    """Every check of a resume, before anything is loaded: the recipe guard, then the run's files
    (rewound first with --from-checkpoint); accepted changes are recorded last."""
    changes = guard_resume(run_dir, resolved, allow_changes)
    if from_checkpoint:
        rewind(run_dir, recipe, from_checkpoint)
    state = check_run_folder(run_dir, recipe)
    step, stage = resume_point(run_dir, recipe, state)
    record_changes(run_dir, changes, step, stage)
