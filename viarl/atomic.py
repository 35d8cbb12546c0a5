"""Atomic writes: a reader sees the old file or the new one, never half of one.

Everything viarl saves (checkpoints, caches, annotations, run summaries) goes through here so a
`kill -9` at any moment loses nothing already saved.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from viarl.errors import UserError


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


class SaveError(UserError, OSError):
    """A save that cannot be done or failed on the disk: a UserError (exit 2, one message) that
    code which tolerates failed writes (a cache) still catches as the OSError it is."""


# Words in the messages of savers that wrap an OS error in their own type (safetensors'
# SafetensorError, torch's RuntimeError "PytorchStreamWriter failed writing file").
_IO_WORDS = ("no space", "file too large", "permission denied", "read-only file system", "quota", "ioerror",
             "os error", "failed writing", "write failed", "input/output error")


def save_error(path: Path, error: BaseException) -> SaveError | None:
    """The one message for a save that failed on the disk (full, too large, no permission), or
    None when `error` is not a disk problem (a bug, shown whole)."""
    if isinstance(error, UserError):
        return None
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
    elif isinstance(error, Exception) and any(w in str(error).lower() for w in _IO_WORDS):
        reason = str(error).splitlines()[0][:300]
    else:
        return None
    return SaveError(f"cannot save {path}: {reason}; nothing of it was kept", where=str(path),
                     fix="free space on its disk (or raise the file size limit), or save to a folder you can write to")


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
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        problem = save_error(path, e)
        if problem is not None:
            raise problem from None
        raise
    _fsync_dir(path.parent)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Atomically write JSON."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


#: Written into every folder `atomic_dir` makes: only a folder holding it may be replaced.
WRITTEN_MARK = ".viarl-written"
MARK_TEXT = "written by viarl: a folder holding this file may be replaced by it\n"


def replaceable(path: str | os.PathLike) -> bool:
    """May viarl replace the folder `path`? Only when it is missing, empty, or one viarl wrote."""
    path = Path(path)
    if not path.is_dir():
        return not path.exists()
    return (path / WRITTEN_MARK).is_file() or not any(path.iterdir())


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux `renameat2(RENAME_EXCHANGE)`); False where the
    system or file system cannot. Replacing a folder otherwise takes two renames, and a process
    killed between them leaves no folder under the name at all."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def atomic_dir(path: str | os.PathLike, prepared: Path | None = None) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `path` in one rename.

    Used for checkpoints: a folder that exists under its final name is always complete. It never
    removes what it did not create: an existing `path` is replaced only if it is empty or was
    written here (it holds WRITTEN_MARK); any other is a UserError, checked before any work.
    prepared: a temporary sibling folder the caller made and partly filled (the shards every
    process of a sharded checkpoint wrote); it is used instead of a new one.
    """
    path = Path(path)
    if not replaceable(path):
        raise SaveError(f"{path} already exists and holds files viarl did not write", where=str(path),
                        fix="move them away, or write to a new or empty folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = prepared or Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        honour_umask(tmp, folder=True)
        yield tmp
        (tmp / WRITTEN_MARK).write_text(MARK_TEXT)
        # Some writers (safetensors) create 0600 files whatever the umask; a checkpoint's files
        # should all be as readable as the folder that holds them.
        for item in tmp.rglob("*"):
            if not item.is_symlink():
                honour_umask(item, folder=item.is_dir())
        old = None
        if path.exists():
            if not replaceable(path):  # filled by someone else while we wrote
                raise SaveError(f"{path} now holds files viarl did not write", where=str(path),
                                fix="move them away, or write to a new or empty folder")
            if exchange_paths(tmp, path):
                old = tmp  # it now holds the previous folder; `path` existed throughout
            else:
                # A fresh empty name of our own to move the old folder to (rename onto an empty folder).
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
                os.replace(path, old)
        if old is not tmp:
            os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(path.parent)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        problem = save_error(path, e)
        if problem is not None:
            raise problem from None
        raise


def recover_interrupted(parent: str | os.PathLike) -> list[str]:
    """Put back, under its own name, each folder of `parent` that a killed `atomic_dir` left only
    as hidden siblings; returns the names restored.

    Where the one-step exchange is not available, replacing a folder takes two renames, and a
    process killed between them leaves the new folder as `.NAME.*.tmp` (or a prepared
    `.NAME.writing`) and the previous one as `.NAME.*.old`, with nothing under NAME. Both hold
    WRITTEN_MARK, which `atomic_dir` writes only once a folder is complete: the new one is
    preferred, the previous one is the fallback. A sibling without the mark is unfinished work
    and is left alone."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    found: dict[str, list[tuple[int, float, Path]]] = {}
    for item in parent.iterdir():
        name, kind = item.name, None
        if not (name.startswith(".") and item.is_dir() and (item / WRITTEN_MARK).is_file()):
            continue
        if name.endswith(".writing"):
            base, kind = name[1:-len(".writing")], 0
        elif name.endswith((".tmp", ".old")) and name.count(".") >= 3:
            base, kind = name[1:].rsplit(".", 2)[0], 0 if name.endswith(".tmp") else 1
        if kind is not None and base and not (parent / base).exists():
            found.setdefault(base, []).append((kind, -item.stat().st_mtime, item))
    restored = []
    for base, options in sorted(found.items()):
        best = min(options)[2]  # a complete new folder first, the newest of a kind first
        os.replace(best, parent / base)
        restored.append(base)
    if restored:
        _fsync_dir(parent)
    return restored


def claim_folder(path: str | os.PathLike, where: str, create: bool = True) -> Path:
    """Create (or reuse) the output folder `path` of a command that writes files into it.

    Refused (UserError, exit 2) when `path` holds files viarl did not write there: its files of
    the same names would be overwritten. The folder is marked as viarl's, so the same command
    may write into it again. `create=False` only checks (before the work, so a refusal costs none).
    """
    path = Path(path)
    if not replaceable(path):
        what = "is not a folder" if not path.is_dir() else "is a non-empty folder that viarl did not make"
        raise UserError(f"{path} {what}: writing there could overwrite files that are not viarl's",
                        where=where, fix="name a new or empty folder")
    if not create:
        return path
    return mark_folder(path)


def mark_folder(path: str | os.PathLike) -> Path:
    """Create `path` if needed and mark it as written by viarl (see `replaceable`)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / WRITTEN_MARK).exists():
        write_text(path / WRITTEN_MARK, MARK_TEXT)
    return path
