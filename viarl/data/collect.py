"""Collecting validated samples: the part every loader shares.

A loader walks its annotation format and hands each entry's fields to `Collector.add`, which
checks them (question, options, answer letter, unique id), checks the video once per path
(exists, size > 0, decord opens it, > 0 frames), and either keeps a Sample or records a skip.
`need` pulls a typed field out of an entry or raises `BadEntry`, which loaders turn into a skip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viarl.data.sample import Sample, make_sample, sample_problem
from viarl.data.skips import BAD_FIELD, DUPLICATE_ID, MISSING_FIELD, VIDEO_OUTSIDE, SkipLog
from viarl.video.decode import video_problem, video_problem_detail


@dataclass
class Loaded:
    """What `load_dataset` returns.

    samples: the usable questions; skips: what was skipped and why; videos: every video path
    referenced by a well-formed entry -> its problem (a reason key) or None if it decodes.
    """

    samples: list[Sample]
    skips: SkipLog
    videos: dict[str, str | None] = field(default_factory=dict)


class BadEntry(Exception):
    """An annotation entry lacks a field or has one of the wrong type."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def need(entry: Any, key: str, types: type | tuple[type, ...], optional: bool = False) -> Any:
    """entry[key] if present and of `types` (None when optional and absent), else BadEntry."""
    if not isinstance(entry, dict):
        raise BadEntry(BAD_FIELD, f"entry is a {type(entry).__name__}, not an object")
    if key not in entry or entry[key] is None:
        if optional:
            return None
        raise BadEntry(MISSING_FIELD, f"no '{key}'")
    value = entry[key]
    # bool is an int in Python; a true/false where a number belongs is still malformed.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
        names = "/".join(t.__name__ for t in _tuple(types))
        raise BadEntry(BAD_FIELD, f"'{key}' should be {names}, got {type(value).__name__}")
    return value


def _tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _inside(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class Collector:
    """Accumulates samples and skips for one load; stops accepting at `limit` samples."""

    def __init__(self, strict: bool = False, limit: int | None = None, check_videos: bool = True,
                 video_root: Path | None = None):
        self.skips = SkipLog(strict=strict)
        # With `data.video_dir`, every video must be inside it: `..` and absolute paths that
        # lead elsewhere are skipped, never opened.
        self.video_root = os.path.realpath(video_root) if video_root is not None else None
        self.samples: list[Sample] = []
        self.videos: dict[str, str | None] = {}
        self.limit = limit
        self.check_videos = check_videos
        self._ids: set[str] = set()

    @property
    def full(self) -> bool:
        """True once `limit` samples are in; loaders stop reading then."""
        return self.limit is not None and len(self.samples) >= self.limit

    def skip(self, file: object, entry: object, reason: str, detail: str = "") -> None:
        """Record a skipped entry (raises UserError in strict mode)."""
        self.skips.skip(file, entry, reason, detail)

    def video_ok(self, file: object, entry: object, video: Path) -> bool:
        """Check `video` (once per path); on a problem, skip this entry and return False."""
        key = str(video)
        if self.video_root is not None and "\0" not in key and not _inside(key, self.video_root):
            self.skip(file, entry, VIDEO_OUTSIDE, f"{video} is not inside {self.video_root}")
            return False
        if key not in self.videos:
            self.videos[key] = video_problem(video) if self.check_videos else None
        problem = self.videos[key]
        if problem is not None:
            why = video_problem_detail(video)  # the decoder's words, e.g. "Invalid data found …"
            self.skip(file, entry, problem, f"{video} ({why})" if why else str(video))
            return False
        return True

    def add(
        self,
        file: object,
        entry: object,
        *,
        id: str,
        video: Path,
        question: Any,
        options: Any,
        answer: Any,
        question_type: Any,
        duration: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Sample | None:
        """Validate one entry's fields and its video; keep the Sample or record why not."""
        problem = sample_problem(question, options, answer)
        if problem is None and (not isinstance(question_type, str) or not question_type.strip()):
            problem = BAD_FIELD, f"the question type should be a name, got {question_type!r}"[:200]
        if problem is not None:
            self.skip(file, entry, *problem)
            return None
        if str(id) in self._ids:
            self.skip(file, entry, DUPLICATE_ID, f"id {id!r} appeared before")
            return None
        if not self.video_ok(file, entry, video):
            return None
        sample = make_sample(id, video, question, options, answer, question_type, duration, meta)
        self._ids.add(sample.id)
        self.samples.append(sample)
        return sample

    def result(self) -> Loaded:
        """The finished load."""
        return Loaded(self.samples, self.skips, self.videos)
