"""Candidate sets kept in memory while a run uses them, bounded by size (least recently used out).

Training returns to the same videos within a step (k samples share a prompt; the answer model
is asked about several picks of one video) and, with a small training set, across steps. An
unbounded memo of every video seen grows until host memory is gone at the paper's settings
(every video's selector view plus the answer frames its requests decoded, up to ~170 MB each),
so the memo keeps the most recently used sets within `max_bytes`, counting what each holds now
(`Candidates.nbytes`: answer frames a set decodes after it was stored count as they are decoded,
through its view's `on_grow`). A set evicted here is read again from the disk cache, not decoded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import OrderedDict
from typing import Callable, Hashable

from viarl.video.candidates import Candidates

MIB = 2**20
# Share of `max_bytes` the held frames may fill: the rest is left to what the process allocates
# around them (the set in use's request images, decoder buffers), so that the process's growth,
# not only the memo's, stays within the configured bound.
FILL = 0.95


class CandidateMemo:
    """Least-recently-used candidate sets within `max_bytes` (the one in use is never evicted)."""

    def __init__(self, max_bytes: int):
        _fixed_mmap_threshold()
        self.max_bytes = int(max_bytes)
        self._sets: OrderedDict[Hashable, Candidates] = OrderedDict()
        self.loads = 0  # sets loaded (a miss)

    def __len__(self) -> int:
        return len(self._sets)

    @property
    def nbytes(self) -> int:
        """Bytes the held candidate sets hold now."""
        return sum(c.nbytes for c in self._sets.values())

    def get(self, key: Hashable, load: Callable[[], Candidates]) -> Candidates:
        """The set under `key`, loaded with `load()` on a miss; then the oldest go while over the bound.

        Answer frames the set decodes later count at once: its view calls back into the memo.
        """
        if key in self._sets:
            self._sets.move_to_end(key)
        else:
            cands = load()
            cands.answer_view.on_grow = lambda key=key: self._evict(keep=key)
            self._sets[key] = cands
            self.loads += 1
        self._evict(keep=key)
        return self._sets[key]

    def _evict(self, keep: Hashable) -> None:
        """Drop the least recently used sets, never `keep`, until the held bytes fit the bound."""
        total, evicted = self.nbytes, False
        for old in list(self._sets):
            if total <= FILL * self.max_bytes:
                break
            if old == keep:
                continue
            total -= self._sets.pop(old).nbytes
            evicted = True
        if evicted:
            release_freed_memory()


def _libc_trim():
    """glibc's malloc_trim, or None elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim") if name else None
    except (OSError, AttributeError):
        return None


_TRIM = _libc_trim()
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
FRAME_MMAP_BYTES = 128 * 1024


def _fixed_mmap_threshold() -> None:
    """Serve every allocation over 128 KB (a frame) from its own mmap, returned to the OS when freed.

    glibc raises its mmap threshold each time such a block is freed (up to 32 MB), after which
    frames come from the heap, whose freed holes stay in the process: RSS then creeps past what
    the memo holds. Setting the threshold once turns that adjustment off (no effect elsewhere).
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = getattr(ctypes.CDLL(name), "mallopt") if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, FRAME_MMAP_BYTES)


def release_freed_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps freed frames of a few MB in its heap,
    so without this the process's RSS stays at its high-water mark after evictions)."""
    if _TRIM is not None:
        _TRIM(0)
