"""The `viarl` command line.

Each subcommand lives in its own module under `viarl.commands`; every such module defines
`register(subparsers)`, which adds its parser and sets `func` to the handler. Handlers import
heavy libraries (torch, transformers) lazily so `viarl --help` stays instant.

User errors (`viarl.errors.UserError`) print one message and exit 2 with no traceback;
`VIARL_DEBUG=1` prints the traceback as well.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import pkgutil
import sys

from viarl import __version__
from viarl.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors go through rich and name the subcommand's --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from viarl.console import err_console

        # markup off for the message: it quotes the user's argv, and `[uniform]` is not a style
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(f"{self.prog}: {message}\n  fix: see `{self.prog} --help`", markup=False)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand found in `viarl.commands`."""
    parser = _Parser(
        prog="viarl",
        description="Train video frame selectors with reinforcement learning (ViaRL).",
    )
    parser.add_argument("--version", action="version", version=f"viarl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    import viarl.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"viarl.commands.{info.name}")
        module.register(sub)
    return parser


# Commands whose KEY=VALUE recipe overrides may also come after their options.
OVERRIDES_ANYWHERE = ("run", "validate", "eval")


#: OS errors that mean the disk, not viarl: full, over quota, file too large, read-only, failing.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)

#: The longest error message printed: quoted user text (a 10 MB line) is cut in the middle.
MAX_MESSAGE = 16_000


def clipped(text: str) -> str:
    """`text`, or its start and end around a note of how much was cut when over MAX_MESSAGE."""
    if len(text) <= MAX_MESSAGE:
        return text
    half = MAX_MESSAGE // 2
    return f"{text[:half]}… ({len(text) - 2 * half} characters cut) …{text[-half:]}"


def _debug() -> bool:
    return os.environ.get("VIARL_DEBUG", "") not in ("", "0", "false", "no")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `viarl` console script; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command in OVERRIDES_ANYWHERE and not any(e.startswith("-") for e in extra):
        # `viarl run R --resume RUN rl.lr=0.5`: overrides after an option are still overrides
        # (argparse alone stops collecting positionals at the first option).
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
        return int(rc or 0)
    except UserError as e:
        from viarl.console import err_console

        if _debug():
            import traceback

            traceback.print_exc()
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(clipped(e.render()), markup=False)
        return 2
    except ValueError as e:
        if "null byte" not in str(e):
            raise
        # A path with a NUL byte reached the OS (os.stat and open refuse them with ValueError).
        from viarl.console import err_console

        err_console.print("[bold red]error:[/] ", end="")
        err_console.print("a path contains a NUL byte (\\0), which no file name can hold\n  fix: remove it from "
                          "the argument, recipe value or annotation that names the path", markup=False)
        return 2
    except OSError as e:
        if e.filename is None and e.errno not in DISK_ERRNOS:  # no file named: a bug to show whole
            raise
        # A path that is a file where a folder must be, a full disk, no permission: the user's to
        # fix, and a traceback would hide the one line that says which path.
        from viarl.console import err_console

        if _debug():
            import traceback

            traceback.print_exc()
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(f"{e.filename or 'a write failed'}: {e.strerror or e}\n  fix: check this path (a folder where a folder is "
                          "needed, writable, space left on its disk)", markup=False)
        return 2
    except KeyboardInterrupt:
        return 130


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
