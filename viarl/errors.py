"""User-facing errors.

Anything a user can fix (a recipe, a rule file, an annotation, a video, an argument) raises
`UserError`. The CLI prints it as one message and exits 2 without a traceback; `VIARL_DEBUG=1`
shows the traceback too. Internal bugs stay ordinary exceptions.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem in the user's input: says what is wrong, where, and how to fix it.

    `where` is a location such as `recipe.yaml:3:5` or a dotted field path; `fix` is a hint.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  fix: {self.fix}" if self.fix else head
