"""Checks before work starts: problems a run would otherwise meet only after minutes of work.

`viarl validate` and `viarl run` (through the recipe's validators, before any model is loaded)
catch here: a rule-file `input` the data format does not provide, a local-looking model path
that does not exist, and an output folder that is an existing file. Each check reads the disk
only, never the network.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from viarl.errors import UserError

# The per-sample fields (Sample.meta) each annotation format fills, which a rule file's
# `input NAME: TYPE` can read. None: the format carries free-form meta, known only per file.
FORMAT_FIELDS: dict[str, frozenset[str] | None] = {
    "mlvu": frozenset({"task", "file", "index"}),
    "videomme": frozenset({"duration_class", "domain", "sub_category", "video_id", "videoID"}),
    "lvbench": frozenset({"key", "type", "question_types", "time_reference"}),
    "jsonl": None,
    "paper": None,
}


# The package each experiment tracker (`logging.report_to`) imports, as pip names it.
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


def missing_tracker_package(tracker: str) -> str | None:
    """The pip package `tracker` needs when it is not installed here, else None (nothing imported)."""
    package = TRACKER_PACKAGES[tracker]
    return package if importlib.util.find_spec(package) is None else None


def missing_inputs(inputs: set[str], data_format: str) -> list[str]:
    """The rule inputs a data format does not provide (sorted; [] when the format is free-form)."""
    fields = FORMAT_FIELDS.get(data_format)
    return [] if fields is None else sorted(inputs - fields)


def output_folder_problem(path: str | Path) -> str | None:
    """Why `path` cannot be made a folder (it or a parent is an existing file), or None."""
    if "\0" in str(path):
        return "the path contains a NUL byte (\\0)"
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists():
            return None if q.is_dir() else (f"`{q}` is an existing file" if q == p
                                            else f"`{q}`, a folder above it, is an existing file")
    return None


def require_output_folder(path: str | Path, where: str) -> None:
    """UserError (exit 2) when `path` cannot be made a folder; checked before any work starts."""
    problem = output_folder_problem(path)
    if problem:
        raise UserError(f"the output folder cannot be made: {problem}", where=where,
                        fix="name a folder (new or existing), not a file")


def local_looking(path: str) -> bool:
    """True when a missing `org/name` path is surely meant as local: its first folder exists here.

    `models/nope` is a hub id by shape, but next to a local `models/` folder it is a typo of a
    local model, and asking the hub for it would only retry for half a minute and leave an
    empty run folder.
    """
    parts = Path(path).expanduser().parts
    return bool(parts) and Path(parts[0]).is_dir()
