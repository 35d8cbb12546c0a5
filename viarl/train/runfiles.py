"""Damaged run files explain themselves: check a run folder before `--resume` loads anything.

A run killed mid-write cannot tear a file (every save is atomic), but a disk that filled up, a
copy that stopped half-way or a hand edit can. Each file a resume reads is checked without
loading a model: state.json parses, each finished model's weights hold every byte their header
promises, and a mid-stage checkpoint's `model.pt` / `trainer.pt` are complete torch archives.
A problem is a UserError naming the file, what is wrong and the fix; where an older complete
checkpoint exists it is named, with `--from-checkpoint STAGE/STEP` to resume from it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from viarl.atomic import recover_interrupted
from viarl.console import console
from viarl.errors import UserError
from viarl.train import checkpoint as ckpt
from viarl.train.stage_plan import plan

STEPS_SECTION = {"warmup": "warmup", "answer_warmup": "answer_warmup", "rl": "rl", "sft": "sft"}


@dataclass(frozen=True)
class Checkpoint:
    """A finished stage's model folder (`partial` False) or a mid-stage checkpoint (True)."""

    stage: str
    step: int
    folder: Path
    partial: bool
    problem: str | None  # None: complete

    @property
    def name(self) -> str:
        return f"{self.stage}/{self.step}"


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a .safetensors file (None: every byte its header promises is there)."""
    size = path.stat().st_size
    if size < 8:
        return f"it holds {size} bytes, not even a header"
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        if 8 + n > size:
            return f"it is cut short: {size} bytes, less than its {n}-byte header"
        try:
            header = json.loads(f.read(n))
            end = max([v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"] or [0])
        except (ValueError, TypeError, KeyError, AttributeError):
            return "its header is not valid safetensors JSON"
    if 8 + n + end > size:
        return f"it is cut short: {size:,} bytes of the {8 + n + end:,} its header promises"
    return None


def torch_file_problem(path: Path) -> str | None:
    """What is wrong with a `torch.save` file (None: a complete archive)."""
    if not path.is_file():
        return "it is missing"
    size = path.stat().st_size
    if size == 0:
        return "it is empty (0 bytes)"
    try:
        with zipfile.ZipFile(path) as z:  # the archive's directory sits at its very end
            z.namelist()
    except (zipfile.BadZipFile, OSError):
        return f"it is cut short or damaged ({size:,} bytes, not a complete torch.save archive)"
    return None


def model_folder_problem(folder: Path) -> tuple[Path, str] | None:
    """(file, what is wrong) for a saved model folder, or None when it is complete."""
    if not folder.is_dir():
        return folder, "the model folder is missing"
    adapter = folder / "adapter_config.json"  # a LoRA checkpoint: adapters on a base named there
    config = adapter if adapter.is_file() else folder / "config.json"
    try:
        json.loads(config.read_text())
    except (OSError, ValueError):
        return config, "it is missing or not valid JSON"
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return folder, "the folder holds no *.safetensors weights"
    for w in weights:
        problem = safetensors_problem(w)
        if problem:
            return w, problem
    return None


def read_state(run_dir: Path) -> dict:
    """state.json, checked: a UserError naming the file when it is missing or damaged."""
    path = run_dir / "state.json"
    if not path.is_file():
        raise UserError(f"{run_dir} is not a viarl run folder (no state.json)", where="--resume",
                        fix="pass the folder a previous `viarl run` wrote (its output_dir)")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(state, dict) and isinstance(state.get("done"), list) and isinstance(state.get("models"), dict)
    except (ValueError, UnicodeDecodeError) as e:
        raise DamagedState(path, f"it is not valid JSON ({e})") from None
    if not ok:
        raise DamagedState(path, "it lacks the `done` list or the `models` mapping")
    return state


class DamagedState(Exception):
    """state.json cannot be read; the caller names the checkpoints to rebuild it from."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


def stage_steps(recipe, kind: str) -> int:
    """How many steps a stage of `kind` runs (its finished checkpoint is at that step)."""
    return getattr(recipe, STEPS_SECTION[kind]).steps


def checkpoints(run_dir: Path, recipe) -> list[Checkpoint]:
    """Every checkpoint on disk for the recipe's stages, in plan order, each checked."""
    out = []
    for item in plan(recipe):
        if item.kind == "eval":
            continue
        folder = run_dir / "checkpoints" / item.id
        role_dirs = [folder / r for r in ("selector", "answer") if (folder / r).exists()]
        if role_dirs:
            bad = model_folder_problem(role_dirs[0])
            problem = f"{bad[0]}: {bad[1]}" if bad else None
            out.append(Checkpoint(item.id, stage_steps(recipe, item.kind), role_dirs[0], False, problem))
        partial = run_dir / "checkpoints" / f"{item.id}.partial"
        if partial.is_dir():
            out.append(_partial(item.id, partial))
    return out


def _partial(stage: str, folder: Path) -> Checkpoint:
    sharded = (folder / "shards").is_dir()  # FSDP: one shard file per process, no model.pt
    names = ("trainer.pt",) if sharded else ("model.pt", "trainer.pt")
    for name in names:
        problem = torch_file_problem(folder / name)
        if problem:
            return Checkpoint(stage, -1, folder, True, f"{folder / name}: {problem}")
    if sharded and not (folder / "shards" / ".metadata").is_file():
        return Checkpoint(stage, -1, folder, True, f"{folder / 'shards'}: its .metadata is missing")
    try:
        # Read as the resume will (tensors and plain data only; mmap: no weights are copied in).
        saved = [ckpt.load_torch_file(folder / name, mmap=True) for name in names]
        step = saved[-1]["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step {step!r} is not a step number")
    except ckpt.UnsafeFile as e:
        return Checkpoint(stage, -1, folder, True, f"{e}: refused, nothing in it was run")
    except Exception as e:  # noqa: BLE001 - any reading failure means the same: damaged
        return Checkpoint(stage, -1, folder, True, f"{folder / 'trainer.pt'}: it cannot be read ({type(e).__name__})")
    return Checkpoint(stage, step, folder, True, None)


def damaged(where: Path | str, problem: str, good: list[Checkpoint], run_dir: Path) -> UserError:
    """The error for a damaged run file, offering the newest complete checkpoint."""
    if good:
        last = good[-1]
        fix = (f"resume from the newest complete checkpoint, {last.name} ({last.folder}): "
               f"`viarl run RECIPE --resume {run_dir} --from-checkpoint {last.name}`; "
               "the damaged files are set aside, not deleted")
    else:
        fix = f"no complete checkpoint is left in {run_dir}: start the run again in a new output_dir"
    return UserError(f"{problem}", where=str(where), fix=fix)


def check_run_folder(run_dir: Path, recipe) -> dict:
    """state.json and every checkpoint the resume will read, checked; returns the state."""
    # Partial checkpoints sit in checkpoints/, a stage's models one level down.
    top = Path(run_dir) / "checkpoints"
    for parent in [top, *sorted(p for p in (top.iterdir() if top.is_dir() else ()) if p.is_dir())]:
        for name in recover_interrupted(parent):
            console.print(f"restored {(parent / name).relative_to(run_dir)}: a save was interrupted between "
                          "its two renames")
    found = checkpoints(run_dir, recipe)
    good = [c for c in found if c.problem is None]
    try:
        state = read_state(run_dir)
    except DamagedState as e:
        raise damaged(e.path, f"the run's state is damaged: {e.problem}", good, run_dir) from None
    wanted = {ckpt.in_run(run_dir, p).resolve() for p in state["models"].values()}
    for role, stored in state["models"].items():
        if not ckpt.in_run(run_dir, stored).is_dir():
            raise damaged(run_dir / "state.json", f"the {role} model it names, {stored}, is not in the run "
                          "folder", good, run_dir)
    done = set(state["done"])
    for c in found:
        used = c.folder.resolve() in wanted if not c.partial else c.stage not in done
        if used and c.problem is not None:
            file, _, problem = c.problem.partition(": ")
            older = [g for g in good if found.index(g) < found.index(c)]
            raise damaged(file, f"checkpoint {c.stage} is damaged: {problem}", older, run_dir)
    return state
