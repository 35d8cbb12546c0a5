"""Reading a file a user named: a regular file only, up to a size cap, and never a hang.

Recipes, rule files, includes, annotations and run-folder files all come through here. A FIFO
would block `open()` forever and `/dev/zero` would fill memory; a path with a NUL byte makes the
OS calls raise ValueError. Each becomes a `UserError` naming the path instead.
"""

from __future__ import annotations

import os
import stat

from viarl.errors import UserError

MiB = 1 << 20

#: Size caps: far above any real file of the kind, far below what would exhaust memory.
RECIPE_BYTES = 4 * MiB
RULES_BYTES = 4 * MiB
ANNOTATION_BYTES = 2048 * MiB
STATE_BYTES = 64 * MiB
METRICS_BYTES = 2048 * MiB

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def nul_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot name a file at all (a NUL byte in it), or None."""
    return "the path contains a NUL byte (\\0)" if "\0" in os.fspath(path) else None


def not_regular(mode: int) -> str | None:
    """What a file of `mode` is when it is not a regular file ("a FIFO (named pipe)"), else None."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_user_bytes(path: str | os.PathLike, what: str, limit: int, fix: str | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; UserError otherwise.

    `what` names the file in messages ("rule file"); `fix` replaces the hint for a missing file.
    """
    shown = os.fspath(path)
    problem = nul_problem(shown)
    if problem:
        raise UserError(f"cannot read {what}: {problem}", where=repr(shown), fix="remove the NUL byte from the path")
    try:
        # O_NONBLOCK: opening a FIFO for reading never waits for a writer.
        fd = os.open(shown, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{what} not found", where=shown, fix=fix or f"check the path of the {what}") from None
    except OSError as e:
        raise UserError(f"cannot read {what}: {e.strerror or e}", where=shown,
                        fix=f"name a readable {what}") from None
    try:
        info = os.fstat(fd)
        kind = not_regular(info.st_mode)
        if kind:
            raise UserError(f"cannot read {what}: `{shown}` is {kind}, not a regular file", where=shown,
                            fix=f"name a regular {what}")
        if info.st_size > limit:
            raise _too_large(what, shown, info.st_size, limit)
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 22, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # grew while we read it
            raise _too_large(what, shown, total, limit)
        return b"".join(chunks)
    except OSError as e:
        raise UserError(f"cannot read {what}: {e.strerror or e}", where=shown, fix=f"name a readable {what}") from None
    finally:
        os.close(fd)


def read_user_text(path: str | os.PathLike, what: str, limit: int, fix: str | None = None,
                   encoding: str = "utf-8") -> str:
    """`read_user_bytes` decoded as UTF-8 (`encoding`); UserError naming the byte that is not."""
    data = read_user_bytes(path, what, limit, fix)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise UserError(f"cannot read {what}: not UTF-8 text ({e.reason} at byte {e.start})",
                        where=os.fspath(path), fix=f"save the {what} as UTF-8") from None


def _too_large(what: str, shown: str, size: int, limit: int) -> UserError:
    return UserError(f"{what} is too large ({size / MiB:.1f} MiB; at most {limit / MiB:.0f} MiB)", where=shown,
                     fix=f"name the right file: a {what} is never this large")


def is_regular_file(path: str | os.PathLike) -> bool:
    """True when `path` is an existing regular file (False for NUL bytes, FIFOs, devices, folders)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False

