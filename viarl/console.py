"""One rich console for the whole package, and the progress bar every long loop uses.

While a run log is open (`viarl.train.runlog`), both consoles copy what they print to it, and
each progress bar adds its final line when it stops (its redraws stay on the terminal).
"""

from __future__ import annotations

from rich.console import Console
from rich.control import Control
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)



class TeeConsole(Console):
    """A rich Console that also prints to the consoles in `copies` (the open run logs)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.copies: list[Console] = []

    def print(self, *objects, **kwargs) -> None:  # type: ignore[override]
        super().print(*objects, **kwargs)
        shown = [o for o in objects if not isinstance(o, Control)]
        if shown or not objects:  # a bare Control is a live display's redraw: the terminal's alone
            for copy in self.copies:
                copy.print(*shown, **kwargs)


class LoggedProgress(Progress):
    """A Progress that prints its tasks' final state to the run logs when it stops."""

    _logged = False

    def stop(self) -> None:
        copies = getattr(self.console, "copies", [])
        held, copies[:] = copies[:], []  # the blank line rich prints after a bar off a terminal is not log text
        try:
            super().stop()
        finally:
            copies[:] = held
        if copies and self.tasks and not self._logged:
            self._logged = True
            table = self.make_tasks_table(self.tasks)
            for copy in copies:
                copy.print(table)


# emoji off: `:x:` in a path or a question is text, never a picture
console = TeeConsole(highlight=False, emoji=False)
err_console = TeeConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def shown(value: object) -> str:
    """`value` as text safe to put inside a rich markup string: `exp[lr=1e-3]` prints as written.

    Every piece of user text (a path, a name, a question) echoed in a markup string goes through
    here; rich would otherwise read its brackets as styles and drop them.
    """
    return escape(str(value))


def progress(transient: bool = False, disable: bool = False) -> Progress:
    """A rich progress bar with count, elapsed and remaining time (on stderr).

    `disable` hides it (other processes than the main one under accelerate).
    """
    return LoggedProgress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=err_console,
        transient=transient,
        disable=disable,
    )
