"""Locks between viarl processes: one process per run folder, one maker per shared folder.

Run folders: an exclusive lock that `viarl run` (new or `--resume`) holds.

The lock is `flock` on `<run>/.viarl.lock`, which holds the holder's pid. The kernel drops a
flock when its process dies, however it dies, so a lock file left by a killed run is stale by
construction: the next run takes it over. A second live run is refused (exit 2), naming the pid
that holds the folder.

Shared folders (a recipe's models and synthetic data, which several runs may name): `making_lock`
makes the runs that miss one wait for the one making it.
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from viarl.errors import UserError

LOCK_NAME = ".viarl.lock"


def _recorded_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


def lock_holder(folder: str | os.PathLike) -> str | None:
    """The pid (as written) of the live process that holds `folder`'s run lock, or None."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        return _recorded_pid(fd) if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
    finally:
        os.close(fd)  # closing also drops the shared lock taken to test it
    return None


def busy_error(folder: Path, pid: str, where: str) -> UserError:
    """The error for a run folder whose lock another live process (`pid`) holds."""
    return UserError(f"run folder {folder} is in use by another viarl process (pid {pid})", where=where,
                     fix=f"wait for it to finish (or stop it: kill {pid}), or use another output_dir")


@contextmanager
def run_lock(folder: str | os.PathLike, where: str) -> Iterator[Path]:
    """Hold `folder`'s run lock (creating the folder) for the `with` block; UserError if a live
    process holds it. A lock file whose process is gone is taken over."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            pid = _recorded_pid(fd)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise busy_error(folder, pid, where) from None
            raise
        # The holder before us may have removed the file between our open and our flock: then we
        # hold a lock on a file no one else can see, and must lock the one at the path instead.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield folder
    finally:
        try:
            path.unlink()  # while still locked, so no one locks the old file after us
        except OSError:
            pass
        os.close(fd)


@contextmanager
def making_lock(target: str | os.PathLike) -> Iterator[None]:
    """Wait for, then hold, the lock on making `target` (a model or data folder several runs may
    share): two runs started together that both miss it make it once, the second waiting and
    then finding it made, rather than both writing it, or one reading it half-written.

    The lock is a flock on a hidden sibling, `.<name>.making`, left in place (its inode must stay
    the one every waiter locks); the kernel drops it when its holder dies.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target.with_name(f".{target.name}.making"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks while another process makes it
        except OSError as e:
            # Some cluster filesystems (Lustre, NFS without lockd) refuse flock: make it unlocked,
            # as before this lock existed, rather than fail a run that is likely alone.
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
        yield
    finally:
        os.close(fd)  # closing drops the lock
