"""MLVU (dev) loader.

Layout under the dataset root:

    json/<n>_<task>.json        a list of entries: video, duration, question, candidates
                                (option texts), answer (the correct candidate's TEXT),
                                question_type
    video/<n>_<task>/<video>    the videos

The task of a file is its stem after `<n>_` (`1_needle.json` -> `needle`); `tasks=["needle"]`
loads Needle QA alone. Letters follow the candidate order. The synthetic needle datasets use
this layout too.
"""

from __future__ import annotations

import re
from pathlib import Path

from viarl.data.collect import BadEntry, Collector, need
from viarl.data.files import read_json_list
from viarl.data.sample import LETTERS
from viarl.data.skips import ANSWER_NOT_IN_OPTIONS
from viarl.errors import UserError

_TASK_FILE = re.compile(r"^(\d+)_(.+)$")


def task_files(root: Path) -> dict[str, Path]:
    """Task name -> its annotation file, in file-number order."""
    json_dir = root / "json"
    if not json_dir.is_dir():
        raise UserError(
            "no json/ folder: not an MLVU-layout dataset root",
            where=str(root),
            fix="pass the folder that holds json/<n>_<task>.json and video/<n>_<task>/",
        )
    found = []
    for path in json_dir.glob("*.json"):
        m = _TASK_FILE.match(path.stem)
        if m:
            found.append((int(m.group(1)), m.group(2), path))
    return {task: path for _, task, path in sorted(found)}


def _select(files: dict[str, Path], tasks: list[str] | None, root: Path) -> dict[str, Path]:
    if tasks is None:
        return files
    unknown = [t for t in tasks if t not in files]
    if unknown:
        raise UserError(
            f"unknown MLVU task(s): {', '.join(unknown)}",
            where=str(root / "json"),
            fix=f"choose among: {', '.join(files) or '(no <n>_<task>.json files found)'}",
        )
    return {t: files[t] for t in tasks}


def _entry(col: Collector, root: Path, task: str, path: Path, i: int, entry: object) -> None:
    video_name = need(entry, "video", str)
    question = need(entry, "question", str)
    candidates = need(entry, "candidates", list)
    answer_text = need(entry, "answer", str)
    duration = need(entry, "duration", (int, float), optional=True)
    question_type = need(entry, "question_type", str, optional=True) or task
    matches = [k for k, c in enumerate(candidates) if isinstance(c, str) and c == answer_text]
    if not matches:  # tolerate stray whitespace, nothing looser
        matches = [
            k for k, c in enumerate(candidates)
            if isinstance(c, str) and c.strip() == answer_text.strip()
        ]  # fmt: skip
    if not matches or matches[0] >= len(LETTERS):
        raise BadEntry(ANSWER_NOT_IN_OPTIONS, f"answer {answer_text!r} is not a candidate")
    col.add(
        path,
        i,
        id=f"{path.stem}/{i}",
        video=root / "video" / path.stem / video_name,
        question=question,
        options=candidates,
        answer=LETTERS[matches[0]],
        question_type=question_type,
        duration=duration,
        meta={"task": task, "file": path.name, "index": i},
    )


def load_mlvu(root: Path, col: Collector, tasks: list[str] | None = None) -> None:
    """Add every entry of the chosen tasks (default: all) under `root` to `col`."""
    root = Path(root)
    for task, path in _select(task_files(root), tasks, root).items():
        entries = read_json_list(path, "entries",
                                 fix="an MLVU task file is a list of objects with video, question, candidates...")
        for i, entry in enumerate(entries):
            if col.full:
                return
            try:
                _entry(col, root, task, path, i, entry)
            except BadEntry as e:
                col.skip(path, i, e.reason, e.detail)
