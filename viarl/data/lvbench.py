"""LVBench loader (`video_info.meta.jsonl`).

One video per line: key, type, qa: [{uid, question, answer (letter), question_type (list),
time_reference}], video_info. The options are written inside the question text as "(A) ..."
(split by options.split_paren_options). The video of a line is `<root>/videos/<key>.mp4`, or
`<video_dir>/<key>.mp4`.

A question can have several types; Sample.question_type is the first and meta["question_types"]
keeps them all (LVBench reports per type, counting a question under each of its types).
"""

from __future__ import annotations

from pathlib import Path

from viarl.data.collect import BadEntry, Collector, need
from viarl.data.files import read_jsonl
from viarl.data.options import split_paren_options
from viarl.data.skips import BAD_FIELD, BAD_OPTIONS

ANNOTATION_NAME = "video_info.meta.jsonl"


def _duration(video_info: object) -> float | None:
    """Seconds, if the line's video_info carries them."""
    if not isinstance(video_info, dict):
        return None
    seconds = video_info.get("duration")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return float(seconds)
    minutes = video_info.get("duration_minutes")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool):
        return float(minutes) * 60.0
    return None


def _entry_label(lineno: int, j: int, qa: object) -> str:
    uid = qa.get("uid") if isinstance(qa, dict) else None
    return f"line {lineno} uid {uid}" if uid is not None else f"line {lineno} qa {j}"


def _question(
    col: Collector, file: Path, entry: str, key: str, video: Path, line: dict, qa: object
) -> None:
    uid = need(qa, "uid", (str, int))
    text = need(qa, "question", str)
    answer = need(qa, "answer", str).strip().strip("()")
    types = need(qa, "question_type", (list, str))
    types = [types] if isinstance(types, str) else types
    if not types or not all(isinstance(t, str) for t in types):
        raise BadEntry(BAD_FIELD, f"'question_type' should be a list of names, got {types!r}")
    split = split_paren_options(text)
    if split is None:
        raise BadEntry(BAD_OPTIONS, "question text holds no '(A) ...' '(B) ...' options")
    stem, options = split
    col.add(
        file,
        entry,
        id=str(uid),
        video=video,
        question=stem,
        options=options,
        answer=answer,
        question_type=types[0],
        duration=_duration(line.get("video_info")),
        meta={
            "key": key,
            "type": line.get("type"),
            "question_types": list(types),
            "time_reference": qa.get("time_reference"),
        },
    )


def load_lvbench(path: Path, col: Collector, video_dir: Path | None = None) -> None:
    """Add every question of the LVBench annotation at `path` (file or root folder) to `col`."""
    path = Path(path)
    file = path / ANNOTATION_NAME if path.is_dir() else path
    videos = Path(video_dir) if video_dir is not None else file.parent / "videos"
    for lineno, line in read_jsonl(file):
        try:
            key = need(line, "key", str)
            qas = need(line, "qa", list)
        except BadEntry as e:
            col.skip(file, f"line {lineno}", e.reason, e.detail)
            continue
        video = videos / f"{key}.mp4"
        for j, qa in enumerate(qas):
            if col.full:
                return
            entry = _entry_label(lineno, j, qa)
            try:
                _question(col, file, entry, key, video, line, qa)
            except BadEntry as e:
                col.skip(file, entry, e.reason, e.detail)
