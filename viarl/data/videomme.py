"""VideoMME loader (its parquet file or the JSON export of it).

One row per question: video_id, videoID, question_id, duration (short|medium|long), domain,
sub_category, task_type, question, options (["A. ...", ...]), answer (a letter). The video of
a row is `<videoID>.mp4` in `video_dir` when given, else in `<root>/videos`, where root is the
folder given (or the annotation file's folder, or its parent when that holds `videos/`).

Sample.question_type is task_type; meta keeps the duration class, domain, sub_category and
video_id, since results are reported by duration x task type.
"""

from __future__ import annotations

from pathlib import Path

from viarl.data.collect import BadEntry, Collector, need
from viarl.data.files import read_json_list, read_parquet_rows
from viarl.data.options import strip_letters
from viarl.data.skips import BAD_OPTIONS
from viarl.errors import UserError


def annotation_file(path: Path) -> Path:
    """The parquet / JSON file for `path` (a file, or a folder holding one)."""
    if path.is_file():
        return path
    for folder in (path, path / "videomme"):
        for pattern in ("*.parquet", "*.json"):
            hits = sorted(folder.glob(pattern)) if folder.is_dir() else []
            if hits:
                return hits[0]
    raise UserError(
        "no VideoMME annotation file (.parquet or .json) found",
        where=str(path),
        fix="pass the parquet file, its JSON export, or the folder holding it",
    )


def default_video_dir(path: Path, file: Path) -> Path:
    """Where the videos are when no video_dir is given."""
    root = path if path.is_dir() else file.parent
    for candidate in (root / "videos", root.parent / "videos"):
        if candidate.is_dir():
            return candidate
    return root / "videos"


def _rows(file: Path) -> list:
    if file.suffix == ".parquet":
        return read_parquet_rows(file)
    return read_json_list(file, "rows", fix="export the parquet with orient='records' (a list of row objects)")


def _row(col: Collector, file: Path, videos: Path, row: object) -> None:
    video_id = need(row, "videoID", str)
    qid = need(row, "question_id", (str, int))
    question = need(row, "question", str)
    raw_options = need(row, "options", (list, tuple))
    answer = need(row, "answer", str).strip()
    task_type = need(row, "task_type", str)
    options = strip_letters(list(raw_options))
    if options is None:
        detail = f"options are not 'A. ...' items in order: {raw_options!r}"
        raise BadEntry(BAD_OPTIONS, detail[:200])
    col.add(
        file,
        qid,
        id=str(qid),
        video=videos / f"{video_id}.mp4",
        question=question,
        options=options,
        answer=answer,
        question_type=task_type,
        meta={
            "duration_class": need(row, "duration", str, optional=True),
            "domain": need(row, "domain", str, optional=True),
            "sub_category": need(row, "sub_category", str, optional=True),
            "video_id": need(row, "video_id", (str, int), optional=True),
            "videoID": video_id,
        },
    )


def load_videomme(path: Path, col: Collector, video_dir: Path | None = None) -> None:
    """Add every row of the VideoMME annotation at `path` to `col`."""
    path = Path(path)
    file = annotation_file(path)
    videos = Path(video_dir) if video_dir is not None else default_video_dir(path, file)
    for i, row in enumerate(_rows(file)):
        if col.full:
            return
        entry = row.get("question_id", i) if isinstance(row, dict) else i
        try:
            _row(col, file, videos, row)
        except BadEntry as e:
            col.skip(file, entry, e.reason, e.detail)
