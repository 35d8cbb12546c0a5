"""SkipLog: what a loader skipped, where, and why.

Loaders never crash on one bad entry or one bad video: they call `SkipLog.skip(...)`, which
records (file, entry, reason, detail) and counts by reason. With `strict=True` the first skip
raises UserError instead, naming the file and entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from viarl.errors import UserError

# Annotation problems (video problems use viarl.video.decode's reason keys).
MISSING_FIELD = "missing field"
BAD_FIELD = "malformed field"
BAD_OPTIONS = "malformed options"
ANSWER_NOT_IN_OPTIONS = "answer not among options"
DUPLICATE_ID = "duplicate id"
TOO_LONG = "text too long"
VIDEO_OUTSIDE = "video outside video_dir"


@dataclass(frozen=True)
class Skip:
    """One skipped entry: annotation file, entry (index or id), reason key, human detail."""

    file: str
    entry: str
    reason: str
    detail: str = ""

    def render(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.file} [{self.entry}] {self.reason}{tail}"


@dataclass
class SkipLog:
    """Skipped entries of one load, counted by reason."""

    strict: bool = False
    skips: list[Skip] = field(default_factory=list)

    def skip(self, file: object, entry: object, reason: str, detail: str = "") -> None:
        """Record a skipped entry; in strict mode raise UserError instead."""
        item = Skip(str(file), str(entry), reason, detail)
        if self.strict:
            raise UserError(
                f"entry {item.entry}: {reason}" + (f" ({detail})" if detail else ""),
                where=item.file,
                fix="fix or remove this entry, or load without --strict to skip bad entries",
            )
        self.skips.append(item)

    @property
    def counts(self) -> Counter:
        """Reason -> number of skipped entries."""
        return Counter(s.reason for s in self.skips)

    @property
    def total(self) -> int:
        """Number of skipped entries."""
        return len(self.skips)

    def __len__(self) -> int:
        return len(self.skips)

    def lines(self, limit: int = 10) -> list[str]:
        """One line per skipped entry, the first `limit` of them, then how many more there are."""
        out = [f"skipped {s.render()}" for s in self.skips[:limit]]
        if self.total > limit:
            out.append(f"... and {self.total - limit} more skipped entries")
        return out
