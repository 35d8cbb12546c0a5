"""run.log: what `viarl run` showed on the console, as plain text in the run folder.

Opened by the engine once the run folder is known, on the main process only. Everything printed
through `viarl.console` is copied here without colours; a progress bar leaves only its final line
(see `LoggedProgress`), never its redraws; runs of blank lines shrink to one. A resumed run
appends to the same file, after a line that says where it restarted. How the run ended (done,
a user error, an interruption) is the last line.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from rich.console import Console

from viarl.console import console, err_console
from viarl.errors import UserError

RUN_LOG = "run.log"
WIDTH = 160  # tables and bars are laid out for this width; text lines are never wrapped


class PlainLines(io.TextIOBase):
    """A text file that receives whole lines only: a carriage-return redraw keeps its last
    state, trailing spaces go, and a blank line that follows a blank line is dropped."""

    def __init__(self, file):
        self.file = file
        self.pending = ""
        self.blank = True  # no blank line at the very top either

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1].rstrip()
            if not line and self.blank:
                continue
            self.blank = not line
            self.file.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        if self.closed:
            return
        if self.pending:
            self.write("\n")
        super().close()  # flushes first
        self.file.close()


def launched_as_main() -> bool:
    """True in the process that writes the run's files: the only one, or rank 0 of a launch
    (read from the launcher's environment, since the process group does not exist yet)."""
    return os.environ.get("RANK", "0") == "0"


def resume_line(stage_id: str, cycle: int, step: int, global_step: int, checkpoint: str | None) -> str:
    """The console line that says where a resumed run restarted."""
    source = f"checkpoint {checkpoint}" if checkpoint else "the last finished stage"
    return f"resumed from {source}: cycle {cycle}, stage {stage_id}, step {step} (global step {global_step})"


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def ending(error: BaseException | None) -> str:
    """The log's last line for a run that ended with `error` (None: finished)."""
    if error is None:
        return f"finished {_stamp()}"
    if isinstance(error, UserError):
        return f"stopped {_stamp()} by an error: {error.render()}"
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted {_stamp()} (resume with --resume)"
    first = (str(error).splitlines() or [""])[0]
    return f"stopped {_stamp()} by {type(error).__name__}: {first}"


class RunLog:
    """Copy the console to `<run_dir>/run.log` for the `with` block (appending on resume)."""

    def __init__(self, run_dir: Path, *, enabled: bool = True, resumed: bool = False):
        self.path = Path(run_dir) / RUN_LOG
        self.enabled, self.resumed = enabled, resumed
        self.log: Console | None = None

    def __enter__(self) -> "RunLog":
        if not self.enabled:
            return self
        lines = PlainLines(open(self.path, "a", encoding="utf-8", buffering=1))
        self.log = Console(file=lines, width=WIDTH, color_system=None, force_terminal=False,
                           highlight=False, soft_wrap=True, emoji=False)
        if self.resumed:
            lines.blank = False  # one blank line between the old run's lines and the resumed one's
            self.log.print()
        self.log.print(f"{'resumed' if self.resumed else 'started'} {_stamp()}: run folder {self.path.parent}",
                       markup=False)
        console.copies.append(self.log)
        err_console.copies.append(self.log)
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if self.log is None:
            return False
        for c in (console, err_console):
            c.copies.remove(self.log)
        self.log.print(ending(error), markup=False)
        self.log.file.close()
        self.log = None
        return False  # the error goes on to the command line, which prints it as usual
