"""viarl's own JSONL format: one Sample per line.

Each line is a JSON object with exactly the Sample fields:

    {"id": "q1",                      unique string
     "video": "videos/a.mp4",         relative to the file's folder (or video_dir), or absolute
     "question": "What is ...?",      the stem, no options
     "options": ["red", "blue"],      option texts WITHOUT letters (A, B, ... follow the order)
     "answer": "B",                   the correct letter
     "question_type": "needle",       any task / type name
     "duration": 12.5,                seconds, or null
     "meta": {}}                      anything else (optional)

`write_jsonl` writes this format atomically (videos under the file's folder become relative),
and `load_jsonl` reads it back into the same Samples.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from viarl import atomic
from viarl.data.collect import BadEntry, Collector, need
from viarl.data.files import read_jsonl
from viarl.data.sample import Sample


def sample_to_dict(sample: Sample, base: Path | None = None) -> dict:
    """One JSONL line's object; the video path is made relative to `base` when inside it."""
    video = Path(sample.video)
    if base is not None:
        try:
            video = video.resolve().relative_to(Path(base).resolve())
        except ValueError:
            pass
    return {
        "id": sample.id,
        "video": video.as_posix(),
        "question": sample.question,
        "options": list(sample.options),
        "answer": sample.answer,
        "question_type": sample.question_type,
        "duration": sample.duration,
        "meta": sample.meta,
    }


def write_jsonl(path: str | os.PathLike, samples: Iterable[Sample]) -> Path:
    """Write `samples` as viarl JSONL (atomically)."""
    path = Path(path)
    lines = [
        json.dumps(sample_to_dict(s, path.parent), ensure_ascii=False) for s in samples
    ]
    atomic.write_text(path, "".join(line + "\n" for line in lines))
    return path


def _line(col: Collector, file: Path, videos: Path, lineno: int, obj: object) -> None:
    video = Path(need(obj, "video", str))
    duration = need(obj, "duration", (int, float), optional=True)
    col.add(
        file,
        f"line {lineno}",
        id=need(obj, "id", (str, int)),
        video=video if video.is_absolute() else videos / video,
        question=need(obj, "question", str),
        options=need(obj, "options", list),
        answer=need(obj, "answer", str),
        question_type=need(obj, "question_type", str),
        duration=duration,
        meta=need(obj, "meta", dict, optional=True) or {},
    )


def load_lines(path: Path, col: Collector, video_dir: Path | None, add_line) -> None:
    """Feed each line of a JSONL file to `add_line(col, file, videos, lineno, obj)`; bad entries are skipped."""
    file = Path(path)
    videos = Path(video_dir) if video_dir is not None else file.parent
    for lineno, obj in read_jsonl(file):
        if col.full:
            return
        try:
            add_line(col, file, videos, lineno, obj)
        except BadEntry as e:
            col.skip(file, f"line {lineno}", e.reason, e.detail)


def load_jsonl(path: Path, col: Collector, video_dir: Path | None = None) -> None:
    """Add every line of the viarl JSONL file at `path` to `col`."""
    load_lines(path, col, video_dir, _line)
