"""Ground-truth needle spans of a synthetic dataset (`<root>/truth.json`). Evaluation only.

    {"version": 1, "videos": {"<video file name>": {"num_frames": F, "fps": R,
                                                    "spans": [[start, end_exclusive], ...]}}}

Training never reads this file: the selector must find needles from answer rewards alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from viarl.errors import UserError
from viarl.video.decode import slot_in_spans

TRUTH_NAME = "truth.json"
TRUTH_VERSION = 1


def _bad(where: str, message: str) -> UserError:
    return UserError(message, where=where, fix="regenerate the synthetic dataset's truth.json")


def dataset_root(path: str | os.PathLike) -> Path:
    """The folder whose truth.json belongs to the dataset at `path`: the folder itself, or the
    folder holding an annotation file. Its parents never count: a truth.json there belongs to
    something else (another tool's, or a larger collection's)."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def read_truth(dataset_root: str | os.PathLike) -> tuple[dict | None, Path | None, str | None]:
    """(JSON data, its path, None) for the dataset's own viarl truth.json; (None, None, note) when
    the truth.json there is of another format (the note says so; the caller ignores it), and
    (None, None, None) without one.

    A viarl truth file is a JSON object with `version` and `videos`; one that is, but has a wrong
    version or bad spans, is a broken viarl file and a UserError in `_parse`.
    """
    path = Path(dataset_root) / TRUTH_NAME
    if not path.is_file():
        return None, None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, None, f"{path} is not a viarl truth file (not JSON: {e}); ignored"
    if not (isinstance(data, dict) and "version" in data and "videos" in data):
        return None, None, (f"{path} is not a viarl truth file (no `version` and `videos` keys: another "
                            "tool's?); ignored, so no needle hit rates")
    return data, path, None


def load_truth(dataset_root: str | os.PathLike) -> dict[str, list[tuple[int, int]]] | None:
    """Video file name -> its needle spans [(start, end_exclusive)], or None without a viarl
    truth.json in `dataset_root` (a truth.json of another format there is ignored: `read_truth`)."""
    data, path, _ = read_truth(dataset_root)
    return None if data is None else _parse(data, path)


def _parse(data, path: Path) -> dict[str, list[tuple[int, int]]]:
    """Spans of a truth file's JSON `data`, validated (UserErrors name `path` and the field)."""
    if not isinstance(data, dict) or data.get("version") != TRUTH_VERSION:
        raise _bad(f"{path}:version", f"expected version {TRUTH_VERSION}")
    videos = data.get("videos")
    if not isinstance(videos, dict):
        raise _bad(f"{path}:videos", "'videos' should map video file names to spans")
    truth: dict[str, list[tuple[int, int]]] = {}
    for name, entry in videos.items():
        spans = entry.get("spans") if isinstance(entry, dict) else None
        where = f"{path}:videos.{name}.spans"
        if not isinstance(spans, list):
            raise _bad(where, "missing 'spans' list")
        parsed = []
        for span in spans:
            ok = (
                isinstance(span, list)
                and len(span) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
                and 0 <= span[0] < span[1]
            )
            if not ok:
                raise _bad(where, f"span {span!r} is not [start, end_exclusive] with start < end")
            parsed.append((span[0], span[1]))
        truth[name] = parsed
    return truth


def slot_histogram(dataset_root: str | os.PathLike, candidates: int) -> list[int] | None:
    """How many videos hold their needle at each of `candidates` uniform candidate slots (the first
    slot inside a span counts), or None without a viarl truth.json. A flat histogram means a pick that
    ignores the frames hits about N / T of the time."""
    data, path, _ = read_truth(dataset_root)  # read once: spans and frame counts
    if data is None:
        return None
    counts = [0] * candidates
    for name, spans in _parse(data, path).items():
        num = data["videos"][name].get("num_frames")
        if not isinstance(num, int) or isinstance(num, bool) or num <= 0:
            raise _bad(f"{path}:videos.{name}.num_frames", "missing or not a positive integer")
        slot = slot_in_spans(spans, num, candidates)
        if slot is not None:
            counts[slot] += 1
    return counts


def hit(frame_numbers: Iterable[int], spans: Iterable[tuple[int, int]]) -> bool:
    """True if any frame number lies inside any span [start, end_exclusive)."""
    spans = list(spans)
    return any(start <= int(f) < end for f in frame_numbers for start, end in spans)
