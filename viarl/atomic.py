"""Atomic writes: a reader sees the old file or the new one, never half of one.

Everything viarl saves (checkpoints, caches, annotations, run summaries) goes through here so a
`kill -9` at any moment loses nothing already saved.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it: put it straight back
    os.umask(mask)
    return mask


def honour_umask(path: str | os.PathLike, folder: bool) -> None:
    """Give a temporary file or folder the mode a plain `open()`/`mkdir()` would have."""
    # mkstemp/mkdtemp create 0600 files and 0700 folders whatever the umask; a file saved through
    # here should be as readable as one `open()` would have made (teammates, web servers).
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        honour_umask(tmp, folder=False)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Atomically write JSON."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


@contextmanager
def atomic_dir(path: str | os.PathLike, prepared: Path | None = None) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `path` in one rename.

    Used for checkpoints: a folder that exists under its final name is always complete.
    prepared: a temporary sibling folder the caller made and partly filled (the shards every
    process of a sharded checkpoint wrote); it is used instead of a new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = prepared or Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        honour_umask(tmp, folder=True)
        yield tmp
        # Some writers (safetensors) create 0600 files whatever the umask; a checkpoint's files
        # should all be as readable as the folder that holds them.
        for item in tmp.rglob("*"):
            if not item.is_symlink():
                honour_umask(item, folder=item.is_dir())
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
