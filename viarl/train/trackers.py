"""Experiment trackers (`logging.report_to`): TensorBoard, W&B or MLflow, through accelerate.

Each value a step writes to metrics.jsonl goes to the trackers under the same name (`loss`,
`kl`, `reward/format`, …) at step `global_step`. Each evaluation adds one scalar per selector and
number, `eval/<selector>/<metric>` (e.g. `eval/trained/accuracy`), plus `eval/cycle`, at the
global step the evaluation ran: a tracker's x axis must only grow (W&B drops older steps), and
so the evaluation points line up with the training curves. Tracker files go to
`<run folder>/trackers/` (`tensorboard --logdir runs/needle/trackers`).

W&B: without WANDB_API_KEY or WANDB_MODE in the environment the run logs offline (WANDB_MODE=
offline), so a machine with no account or network still gets its files; `wandb sync` uploads
them later. A resumed run opens a new run in each tracker; its steps continue the old ones, and
TensorBoard drops the points the interrupted run logged past the checkpoint (they come again).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from accelerate.utils import ProjectConfiguration

from viarl.console import console, shown
from viarl.config.load import flatten

TRACKERS_DIR = "trackers"
# Row fields of eval.jsonl that are scalars (the rest: the selector's name, per-reason skip counts).
EVAL_SCALARS = ("accuracy", "hit_rate", "n", "fallbacks", "distinct_picks", "off_mode_share",
                "accuracy_on_hits", "accuracy_on_misses")
EVAL_INTERVALS = ("accuracy_ci95", "hit_ci95")


def accelerator_options(report_to: list[str], run_dir: Path) -> dict:
    """Accelerator keyword arguments that turn the recipe's trackers on ({} when there are none)."""
    if not report_to:
        return {}
    return {"log_with": list(report_to),
            "project_config": ProjectConfiguration(project_dir=str(run_dir),
                                                   logging_dir=str(run_dir / TRACKERS_DIR))}


def _number(value) -> float | int | None:
    """`value` as a tracker scalar, or None for what is not a finite number (text, lists, null)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    return None


def _hparams(recipe) -> dict:
    """The resolved recipe, flat, as trackers store a run's configuration (TensorBoard's hparams
    take only numbers, strings and booleans)."""
    out = {}
    for key, value in flatten(recipe.model_dump(mode="json")).items():
        out[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return out


def start_trackers(accelerator, recipe, run_dir: Path, resume_step: int | None = None) -> None:
    """Open the recipe's trackers (main process only) with the resolved recipe as their config.

    resume_step: the global step a resumed run continues after. TensorBoard then drops the
    points the interrupted run logged past it, since the resumed run logs those steps again.
    """
    report_to = recipe.logging.report_to
    if not report_to or not accelerator.is_main_process:
        return
    folder = run_dir / TRACKERS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if "wandb" in report_to and not (os.environ.get("WANDB_MODE") or os.environ.get("WANDB_API_KEY")):
        os.environ["WANDB_MODE"] = "offline"
        console.print(f"wandb: offline (no WANDB_API_KEY); upload later with `wandb sync {shown(folder)}/wandb/offline-*`",
                      soft_wrap=True)
    init = {"wandb": {"dir": str(folder), "name": run_dir.name}, "mlflow": {"run_name": run_dir.name},
            "tensorboard": {} if resume_step is None else {"purge_step": resume_step + 1}}
    accelerator.init_trackers(recipe.name, config=_hparams(recipe), init_kwargs=init)
    console.print(f"trackers: {', '.join(report_to)} → [bold]{shown(folder)}[/]")


def log_step(accelerator, record: dict) -> None:
    """Send one metrics.jsonl line to the trackers: every number under its own name, at global_step."""
    if not accelerator.trackers:
        return
    values = {k: v for k, v in ((k, _number(v)) for k, v in record.items() if k != "global_step") if v is not None}
    accelerator.log(values, step=int(record["global_step"]))


def log_eval(accelerator, rows: list[dict], cycle: int, step: int) -> None:
    """Send an evaluation's table to the trackers: `eval/<selector>/<metric>` per row, at `step`."""
    if not accelerator.trackers:
        return
    values: dict = {"eval/cycle": cycle}
    for row in rows:
        prefix = f"eval/{row['selector']}"
        for key in EVAL_SCALARS:
            number = _number(row.get(key))
            if number is not None:
                values[f"{prefix}/{key}"] = number
        for key in EVAL_INTERVALS:
            bounds = row.get(key)
            if isinstance(bounds, (list, tuple)) and len(bounds) == 2 and None not in bounds:
                values[f"{prefix}/{key}_low"], values[f"{prefix}/{key}_high"] = bounds
    accelerator.log(values, step=step)


def close_trackers(accelerator) -> None:
    """Flush and close the trackers (on success and on error alike).

    Not `accelerator.end_training()`: that also destroys the process group, which a failing
    process must not do while the others may still wait in a collective.
    """
    for tracker in accelerator.trackers:
        tracker.finish()
    accelerator.trackers.clear()
