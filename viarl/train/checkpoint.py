"""Checkpoints: finished stages' models, and mid-stage training state for `--resume`.

Layout inside a run folder:
    checkpoints/<stage id>/{selector|answer}/   a finished stage's model + processor (save_pretrained)
    checkpoints/<stage id>.partial/             mid-stage state: model, optimizer, scheduler, RNG, step
        model.pt, trainer.pt                        whole weights / optimiser (single process, DDP)
        shards/, trainer.pt                         one shard file per process under FSDP (see
                                                    `sharded_checkpoint`); trainer.pt then has no optimiser
        trainer.json                                step and position, readable without torch
    state.json                                  finished stage ids, where each model now lives
Every folder is written through `viarl.atomic.atomic_dir` (temporary folder, then one rename) and
state.json through an atomic file write, so a `kill -9` at any moment leaves either the old or
the new checkpoint, never a torn one.

A run folder is data, never code: every `.pt` is written with tensors and plain Python values
only (RNG states included, see `rng_state`) and read with `torch.load(weights_only=True)`, which
refuses a pickled call instead of running it.
"""

from __future__ import annotations

import json
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from viarl.atomic import atomic_dir, write_json
from viarl.errors import UserError
from viarl.models.lora import is_peft_model, save_adapter
from viarl.user_files import STATE_BYTES, read_user_text
from viarl.policy.selector import SELECTOR_SETTINGS
from viarl.train.precision import cast_state


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every RNG a run draws from, so a resumed run samples what the original would have.

    Tensors and plain values only (numpy's key array as a tensor), so checkpoints load with
    `weights_only=True`.
    """
    version, words, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def rank_rng_state(saved: dict[str, Any] | list[dict[str, Any]], rank: int, world: int) -> dict[str, Any]:
    """This rank's RNG state from a checkpoint's `rng` entry (one state per rank, rank order).

    Every rank draws its own samples, so each must get its own state back: restoring rank 0's
    everywhere would make the ranks draw identical prompts' samples after a resume. A checkpoint
    from a different world size (or an older single-state one) has no state for this rank; then
    rank 0's is the best there is, and the run continues, though not bit for bit.
    """
    states = saved if isinstance(saved, list) else [saved]
    return states[rank] if len(states) == world else states[0]


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore what `rng_state` saved."""
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(int(w) for w in py["words"].tolist()), py["gauss"]))
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def save_model(model, processor, folder: Path, selector_settings: dict | None = None,
               dtype: str | None = None) -> None:
    """Atomically save a model and its processor in Hugging Face format.

    `dtype` (e.g. "bfloat16"): the weights are written in it, whatever the model holds (fp32
    master weights); config.json names it, so loading with dtype "auto" gives it back.

    A model with LoRA adapters is saved as an adapter folder (see `viarl.models.lora`).

    A selector also gets `viarl_selector.json`: the prompt settings it was trained with (index
    text placement, frame counts), so `viarl eval --selector FOLDER` prompts it the same way.
    """
    with atomic_dir(folder) as tmp:
        if is_peft_model(model):  # LoRA: the adapters and their config (naming the base), no base weights
            save_adapter(model, tmp, dtype)
        elif dtype is None:
            model.save_pretrained(tmp, safe_serialization=True)
        else:
            state = cast_state(model.state_dict(), getattr(torch, dtype))
            model.save_pretrained(tmp, safe_serialization=True, state_dict=state)
            _set_config_dtype(tmp / "config.json", dtype)
        processor.save_pretrained(tmp)
        if selector_settings is not None:
            (tmp / SELECTOR_SETTINGS).write_text(json.dumps(selector_settings, indent=2) + "\n")


def _set_config_dtype(path: Path, dtype: str) -> None:
    """Name `dtype` in a saved config.json (save_pretrained writes the in-memory dtype)."""
    config = json.loads(path.read_text())
    for key in ("dtype", "torch_dtype"):
        if key in config or key == "dtype":
            config[key] = dtype
    for sub in config.values():  # Qwen2.5-VL nests text_config / vision_config
        if isinstance(sub, dict) and ("dtype" in sub or "torch_dtype" in sub):
            sub.update({k: dtype for k in ("dtype", "torch_dtype") if k in sub})
    path.write_text(json.dumps(config, indent=2) + "\n")


def save_partial(folder: Path, model, optimizer, scheduler, step: int,
                 generator: torch.Generator | None, extra: dict[str, Any], *,
                 model_state: dict | None = None, rng_states: list[dict[str, Any]] | None = None,
                 written: Path | None = None) -> None:
    """Atomically save mid-stage state: the model, optimiser, scheduler, RNG and position.

    The weights go in as a plain state dict (exact parameter names, tied weights kept), since
    they are loaded back into the very model object the optimiser holds. `model_state` replaces
    the model's own state dict (a LoRA model's adapters). `rng_states` holds every rank's RNG
    state in rank order (default: this process's only).

    written: a folder the processes already filled (FSDP's `shards/`, see `sharded_checkpoint`);
    it becomes the checkpoint, with the trainer state added and no whole model or optimiser.
    """
    trainer = {"scheduler": scheduler.state_dict(), "rng": rng_states or [rng_state(generator)], "step": step,
               "extra": extra}
    with atomic_dir(folder, prepared=written) as tmp:
        if written is None:
            torch.save(model.state_dict() if model_state is None else model_state, tmp / "model.pt")
            trainer["optimizer"] = optimizer.state_dict()
        torch.save(trainer, tmp / "trainer.pt")
        (tmp / TRAINER_JSON).write_text(json.dumps({"step": step, "extra": extra}, indent=2) + "\n")


TRAINER_JSON = "trainer.json"


class UnsafeFile(Exception):
    """A checkpoint file holds something other than tensors and plain data."""


def load_torch_file(path: Path, **kwargs):
    """`torch.load(path, weights_only=True)`: tensors and plain data; a pickled call is refused
    (UnsafeFile), never run."""
    try:
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as e:
        raise UnsafeFile(f"{path} holds more than tensors and plain data ({str(e).splitlines()[0][:200]})") from None


def read_partial(folder: Path) -> tuple[dict[str, torch.Tensor] | None, dict[str, Any]]:
    """The weights (None for a sharded checkpoint) and the trainer state saved by `save_partial`."""
    weights = None if (folder / "shards").is_dir() else load_torch_file(folder / "model.pt")
    return weights, load_torch_file(folder / "trainer.pt")


def load_state(run_dir: Path) -> dict[str, Any]:
    """The run's state.json, or an empty state for a new run."""
    path = run_dir / "state.json"
    if path.exists():
        fix = "restore state.json from a backup, or start the run in a new output_dir"
        try:
            return json.loads(read_user_text(path, "run state (state.json)", STATE_BYTES, fix))
        except json.JSONDecodeError as e:
            raise UserError(f"{path} is not JSON: {e.msg} at line {e.lineno}, column {e.colno}",
                            where=f"{path}:{e.lineno}:{e.colno}", fix=fix) from None
    return {"done": [], "models": {}}


def save_state(run_dir: Path, state: dict[str, Any]) -> None:
    """Write state.json atomically."""
    write_json(run_dir / "state.json", state)


def run_relative(run_dir: Path, path: str | Path) -> str:
    """`path` as state.json stores it: relative to the run folder, so a copied or moved run
    resumes from its own files (a path outside the run folder stays as given)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path(run_dir).resolve()).as_posix()
    except ValueError:
        return str(path)


def in_run(run_dir: Path, stored: str) -> Path:
    """The file a state.json path means for this run folder.

    Relative paths are inside the run folder. An absolute one written by an older viarl that
    points into some run's `checkpoints/` is read from THIS folder's checkpoints, never from the
    folder it was copied from.
    """
    path = Path(stored)
    if not path.is_absolute():
        return Path(run_dir) / path
    parts = path.parts
    if "checkpoints" in parts:
        return Path(run_dir).joinpath(*parts[len(parts) - 1 - parts[::-1].index("checkpoints"):])
    return path


def prune_partials(run_dir: Path, keep: str | None = None) -> None:
    """Remove mid-stage checkpoints other than `keep` (their stage finished or was superseded)."""
    for p in (run_dir / "checkpoints").glob("*.partial"):
        if p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
