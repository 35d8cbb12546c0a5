"""`load_dataset`: one entry point for every annotation format.

Formats: mlvu (dataset root; `tasks` picks task files), videomme (parquet / JSON export or its
folder), lvbench (video_info.meta.jsonl or its folder), jsonl (viarl's own, see data.jsonl) and
paper (the ViaRL paper's training JSONL). Bad entries and bad videos are skipped and counted in
`Loaded.skips` (UserError instead with strict=True); a file that cannot be parsed at all is a
UserError at file:line:col.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from viarl.data.collect import Collector, Loaded
from viarl.data.jsonl import load_jsonl
from viarl.data.lvbench import load_lvbench
from viarl.data.mlvu import load_mlvu
from viarl.data.paper import load_paper
from viarl.data.videomme import load_videomme
from viarl.errors import UserError

FORMATS = ("mlvu", "videomme", "lvbench", "jsonl", "paper")

_LOADERS: dict[str, Callable[..., None]] = {
    "videomme": load_videomme,
    "lvbench": load_lvbench,
    "jsonl": load_jsonl,
    "paper": load_paper,
}


def load_dataset(
    format: str,
    path: str | os.PathLike,
    *,
    tasks: list[str] | None = None,
    strict: bool = False,
    limit: int | None = None,
    video_dir: str | os.PathLike | None = None,
    check_videos: bool = True,
) -> Loaded:
    """Load the questions of one dataset as Samples.

    tasks: MLVU task names (e.g. ["needle"]); strict: raise UserError on the first bad entry
    or video instead of skipping it; limit: stop after this many usable samples; video_dir:
    where the videos are, for formats that name videos relative to a folder, and the only folder
    videos may come from when given (any format: others are skipped as outside it); check_videos:
    open every video once with decord (turn off only when the caller checks them itself).
    """
    if format not in FORMATS:
        raise UserError(
            f"unknown dataset format {format!r}",
            where="format",
            fix=f"use one of: {', '.join(FORMATS)}",
        )
    if limit is not None and int(limit) < 1:
        raise UserError(f"limit must be >= 1, got {limit}", where="limit", fix="drop it or use 1+")
    if tasks is not None and format != "mlvu":
        raise UserError(
            "tasks only applies to the mlvu format", where="tasks", fix="drop tasks"
        )
    root = Path(path)
    if not root.exists():
        raise UserError(
            "dataset path does not exist", where=str(root), fix="check the path you passed"
        )
    video_folder = Path(video_dir) if video_dir is not None else None
    col = Collector(strict=strict, limit=limit, check_videos=check_videos, video_root=video_folder)
    if format == "mlvu":
        if not root.is_dir():
            raise UserError(
                "the mlvu format takes the dataset root folder, not a file",
                where=str(root),
                fix="pass the folder holding json/ and video/",
            )
        load_mlvu(root, col, tasks=list(tasks) if tasks is not None else None)
    else:
        _LOADERS[format](root, col, video_dir=video_folder)
    return col.result()
