"""Ground-truth needle spans of a synthetic dataset (`<root>/truth.json`). Evaluation only.

    {"version": 1, "videos": {"<video file name>": {"num_frames": F, "fps": R,
                                                    "spans": [[start, end_exclusive], ...]}}}

Training never reads this file: the selector must find needles from answer rewards alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from viarl.data.files import read_json
from viarl.errors import UserError
from viarl.video.decode import slot_in_spans

TRUTH_NAME = "truth.json"
TRUTH_VERSION = 1


def _bad(where: str, message: str) -> UserError:
    return UserError(message, where=where, fix="regenerate the synthetic dataset's truth.json")


def load_truth(dataset_root: str | os.PathLike) -> dict[str, list[tuple[int, int]]] | None:
    """Video file name -> its needle spans [(start, end_exclusive)], or None without truth.json."""
    path = Path(dataset_root) / TRUTH_NAME
    if not path.is_file():
        return None
    return _parse(read_json(path, "truth file"), path)


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
    slot inside a span counts), or None without truth.json. A flat histogram means a pick that
    ignores the frames hits about N / T of the time."""
    path = Path(dataset_root) / TRUTH_NAME
    if not path.is_file():
        return None
    data = read_json(path, "truth file")  # read once: spans and frame counts
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
