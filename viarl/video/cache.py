"""On-disk cache of decoded candidate frames.

One entry per (absolute path, mtime, size, T, selector_size, answer_size, overlay version, and a
`variant`: what else chose the frames, e.g. the CLIP pre-filter and its question),
stored as a folder `<dir>/<key[:2]>/<key>/` holding `meta.json`, `selector.npy` (raw .npy: a
reload is one sequential read, no zip layer) and `answer/<frame number>.npy`, one file per
answer-size frame, written only for the frames some request decoded (`candidates.AnswerView`):
at the paper's settings a whole answer view would be about 170 MB per video, of which an
answer request reads N frames.

The folder is written under a temporary name and renamed into place (viarl.atomic.atomic_dir),
so a reader sees a whole entry or none. Any entry that fails to load or does not match its
meta.json (truncated, corrupt, wrong shape) counts as a miss and is rewritten by the next put.
Writing is best-effort: a full disk or a racing writer never fails the caller's load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from viarl import atomic
from viarl.video.candidates import AnswerView, Candidates, load_npy
from viarl.video.decode import VideoInfo
from viarl.video.overlay import OVERLAY_VERSION

CACHE_FORMAT = 2  # 2: answer frames one file each, only those used
ANSWERS = "answer"  # folder of an entry's answer frames


class FrameCache:
    """Decoded candidates on disk under `directory` (created on first write)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def key(self, path: str | os.PathLike, T: int, selector_size: int, answer_size: int,
            variant: dict | None = None) -> str:
        """Hex key of one entry; changes when the video file changes (mtime or size).

        variant: JSON-able facts beyond the sizes that decide which frames an entry holds (the
        pre-filter's pool size, scorer and question); None for plain uniform candidates.
        """
        p = Path(path).resolve()
        st = p.stat()
        parts = [
            CACHE_FORMAT, str(p), st.st_mtime_ns, st.st_size,
            int(T), int(selector_size), int(answer_size), OVERLAY_VERSION,
        ]  # fmt: skip
        if variant is not None:
            parts.append(variant)  # appended only when set, so plain entries keep their old keys
        return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()

    def entry_dir(self, key: str) -> Path:
        """Folder of one entry."""
        return self.directory / key[:2] / key

    def get(
        self, path: str | os.PathLike, T: int, selector_size: int, answer_size: int,
        variant: dict | None = None,
    ) -> Candidates | None:
        """The cached candidates, or None on a miss (absent, stale or corrupt entry)."""
        try:
            entry = self.entry_dir(self.key(path, T, selector_size, answer_size, variant))
        except OSError:
            return None  # the video itself is gone: let the decoder report it
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            indices = np.asarray(meta["frame_indices"], dtype=np.int64)  # [count]
            selector = load_npy(entry / "selector.npy")  # [count, h, w, 3]
            if (
                list(selector.shape) != meta["selector_shape"]
                or selector.dtype != np.uint8
                or len(indices) != selector.shape[0]
            ):
                return None
            info = VideoInfo(**meta["info"])
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None
        return Candidates(indices, info, selector, AnswerView(path, indices, answer_size, store=entry / ANSWERS))

    def put(
        self,
        path: str | os.PathLike,
        T: int,
        selector_size: int,
        answer_size: int,
        cands: Candidates,
        variant: dict | None = None,
    ) -> bool:
        """Store `cands`; returns False (and leaves the cache as it was) if writing failed."""
        try:
            entry = self.entry_dir(self.key(path, T, selector_size, answer_size, variant))
            view = cands.answer_view
            with atomic.atomic_dir(entry) as tmp:
                np.save(tmp / "selector.npy", np.ascontiguousarray(cands.selector_frames))
                (tmp / ANSWERS).mkdir()
                for position, frame in view.held.items():
                    np.save(tmp / ANSWERS / f"{int(cands.frame_indices[position])}.npy", np.ascontiguousarray(frame))
                meta = {
                    "video": str(Path(path).resolve()),
                    "frame_indices": [int(i) for i in cands.frame_indices],
                    "selector_shape": list(cands.selector_frames.shape),
                    "info": vars(cands.info),
                    "overlay_version": OVERLAY_VERSION,
                    "variant": variant,
                }
                (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            view.store = entry / ANSWERS  # answer frames decoded later go there too
        except OSError:
            # A racing writer renamed its own complete entry first, or the disk is full;
            # either way the caller already has its frames.
            return False
        return True

    def clear(self) -> None:
        """Remove every entry."""
        shutil.rmtree(self.directory, ignore_errors=True)
