"""Cross-field problems found by `check_*` validators, reported with their own field paths.

A pydantic validator can raise only one error at the model's location. Cross-field checks want
to report every problem at once, each under the field it concerns (`rewards.file`, not
`rewards`), so they collect `Issue`s and raise them together as one error of type
`viarl_issues`; `viarl.config.messages` unpacks it into one line per issue.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError

ISSUES_ERROR_TYPE = "viarl_issues"


@dataclass(frozen=True)
class Issue:
    """One problem: `path` is dotted and relative to the model that found it (may be "")."""

    path: str
    message: str
    fix: str | None = None


def raise_issues(issues: list[Issue]) -> None:
    """Raise every issue as one pydantic error; do nothing when the list is empty."""
    if not issues:
        return
    summary = "; ".join(f"{i.path}: {i.message}" if i.path else i.message for i in issues)
    raise PydanticCustomError(
        ISSUES_ERROR_TYPE, "{summary}", {"summary": summary, "issues": tuple(issues)}
    )
