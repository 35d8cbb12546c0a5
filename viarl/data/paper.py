"""Loader for the ViaRL paper's training JSONL.

Each line: {"messages": [{"role": "user", "content": "<video>...question...\\nOptions:\\nA. x\\n
B. y ..."}, {"role": "assistant", "content": "B"}], "videos": ["path.mp4"], "meta": {...}}.
The stem is the user text before "Options:" (options.split_options_block); the answer is the
assistant's letter. Relative video paths resolve against `video_dir`, else the file's folder.
The id is meta's "id" or "uid" when present, else "<file name>:<line>".
"""

from __future__ import annotations

import re
from pathlib import Path

from viarl.data.collect import BadEntry, Collector, need
from viarl.data.jsonl import load_lines
from viarl.data.options import split_options_block
from viarl.data.skips import BAD_FIELD, BAD_OPTIONS, MISSING_FIELD

_LETTER = re.compile(r"^\(?([A-Z])\)?[.:]?$")


def _message(messages: list, role: str) -> str:
    for m in messages:
        if isinstance(m, dict) and m.get("role") == role:
            content = m.get("content")
            if not isinstance(content, str):
                raise BadEntry(BAD_FIELD, f"the {role} message's content is not text")
            return content
    raise BadEntry(MISSING_FIELD, f"no {role} message")


def _line(col: Collector, file: Path, videos: Path, lineno: int, obj: object) -> None:
    messages = need(obj, "messages", list)
    paths = need(obj, "videos", list)
    meta = need(obj, "meta", dict, optional=True) or {}
    if not paths or not isinstance(paths[0], str) or not paths[0]:
        raise BadEntry(BAD_FIELD, "'videos' should hold one video path")
    split = split_options_block(_message(messages, "user"))
    if split is None:
        raise BadEntry(BAD_OPTIONS, "user text has no 'Options:' block of 'A. ...' lines")
    stem, options = split
    m = _LETTER.match(_message(messages, "assistant").strip())
    answer = m.group(1) if m else _message(messages, "assistant").strip()
    video = Path(paths[0])
    qtype = meta.get("question_type", meta.get("task", "unknown"))
    if isinstance(qtype, list) and qtype and all(isinstance(t, str) and t.strip() for t in qtype):
        qtype = qtype[0]  # several types, as LVBench writes them: the first names the table column
    if not isinstance(qtype, str) or not qtype.strip():
        raise BadEntry(BAD_FIELD, f"meta.question_type should be a name or a list of names, got {qtype!r}"[:200])
    duration = meta.get("duration")
    col.add(
        file,
        f"line {lineno}",
        id=str(meta.get("id", meta.get("uid", f"{file.name}:{lineno}"))),
        video=video if video.is_absolute() else videos / video,
        question=stem,
        options=options,
        answer=answer,
        question_type=qtype,
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        meta=dict(meta),
    )


def load_paper(path: Path, col: Collector, video_dir: Path | None = None) -> None:
    """Add every line of the paper-format JSONL at `path` to `col`."""
    load_lines(path, col, video_dir, _line)
