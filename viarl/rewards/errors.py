"""`RuleError`: the one error type of the rule language, rendered like a compiler message.

    rewards/bad.rules:3:15: unknown name `vald`
        3 | component x = vald + 1
          |               ^^^^
      fix: did you mean `valid`?
"""

from __future__ import annotations

from viarl.errors import UserError
from viarl.rewards.ast import Pos


class RuleError(UserError):
    """A problem in a rule file (syntax or meaning), in a parameter override, or in a batch.

    `where` is `file:line:col` when the problem has a source position; `snippet` then holds the
    offending source line with a caret underneath.
    """

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        fix: str | None = None,
        snippet: str | None = None,
    ):
        self.snippet = snippet
        super().__init__(message, where=where, fix=fix)

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        parts = [head]
        if self.snippet:
            parts.append(self.snippet)
        if self.fix:
            parts.append(f"  fix: {self.fix}")
        return "\n".join(parts)


#: The most characters of a source line shown under a message.
SNIPPET_CHARS = 120


def snippet_at(source: str, pos: Pos) -> str | None:
    """The source line at `pos` with a caret line under the span (or one caret)."""
    lines = source.splitlines()
    if not (1 <= pos.line <= len(lines)):
        return None
    text = lines[pos.line - 1].expandtabs(1)
    col = max(pos.col, 1)
    width = pos.end_col - pos.col if pos.end_line == pos.line and pos.end_col > pos.col else 1
    if len(text) > SNIPPET_CHARS:  # a window of a long line: a 10 MB line must not make a 20 MB message
        start = max(0, min(col - 1 - SNIPPET_CHARS // 3, len(text) - SNIPPET_CHARS))
        head, tail = ("…" if start else ""), ("…" if start + SNIPPET_CHARS < len(text) else "")
        text = head + text[start:start + SNIPPET_CHARS] + tail
        col = col - start + len(head)
        width = min(width, SNIPPET_CHARS - (col - 1 - len(head)))
    width = max(1, min(width, len(text) - col + 1)) if len(text) >= col else 1
    gutter = f"{pos.line:>5} | "
    blank = " " * (len(gutter) - 2) + "| "
    return f"{gutter}{text}\n{blank}{' ' * (col - 1)}{'^' * width}"


def error_at(
    path: str, source: str, pos: Pos, message: str, fix: str | None = None
) -> RuleError:
    """A RuleError located at `pos` in `source` (a file read from `path`).

    A position that knows its own file (`pos.file`, set by the parser) wins over `path` and
    `source`: with includes, the statement may come from another file.
    """
    if pos.file is not None:
        path, source = pos.file.path, pos.file.text
    where = f"{path}:{pos.line}:{pos.col}" if pos.line else path
    return RuleError(message, where=where, fix=fix, snippet=snippet_at(source, pos))


def where_of(pos: Pos, path: str = "<rules>") -> str:
    """`file:line:col` of a position (for messages that mention a second location)."""
    return f"{pos.file.path if pos.file is not None else path}:{pos.line}:{pos.col}"
