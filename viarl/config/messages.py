"""Turn pydantic's validation errors into one readable line each: path, value, problem, fix."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from viarl.config.issues import ISSUES_ERROR_TYPE, Issue

#: Locates a dotted field path in the sources (e.g. "recipes/a.yaml:3:5"), or None.
Locator = Callable[[tuple[str, ...]], "str | None"]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _model_at(root: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """The pydantic model class found at `path` under `root` (None when it is not a model)."""
    model: Any = root
    for key in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
            return None
        model = model.model_fields[key].annotation
        if isinstance(model, types.UnionType) or typing.get_origin(model) is typing.Union:
            members = [a for a in typing.get_args(model) if a is not type(None)]
            model = members[0] if len(members) == 1 else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


_TYPE_FIXES = {
    "int": "write a whole number, e.g. 8",
    "float": "write a number, e.g. 0.001",
    "bool": "write true or false",
    "string": "write text (quote it if it looks like a number, e.g. \"2024\")",
    "model": "write a mapping here (indented `key: value` lines or {key: value}), not a list or a single value",
    "dict": "write a mapping here (indented `key: value` lines or {key: value}), not a list or a single value",
    "list": "write a list here, e.g. [a, b]",
    "tuple": "write a list here, e.g. [128, 128]",
}


def _fix_for(err: dict, root: type[BaseModel], path: tuple[str, ...]) -> tuple[str, str | None]:
    """(problem, fix) for one pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = _model_at(root, path[:-1])
        allowed = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1, cutoff=0.6)
        where = _dotted(path[:-1]) or "the top level"
        hint = f"did you mean `{_dotted(path[:-1] + (close[0],))}`? " if close else ""
        return "unknown key", f"{hint}keys allowed in {where}: {', '.join(allowed)}"
    if kind == "missing":
        return "required key is missing", f"add `{_dotted(path)}`"
    if kind == "literal_error":
        options = [o.strip().strip("'") for o in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        options = [o for o in options if o]
        close = difflib.get_close_matches(str(err.get("input")), options, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        return "not an allowed value", f"{hint}use one of: {', '.join(options)}"
    for bound, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
        if bound in ctx and kind.startswith(("greater_than", "less_than")):
            return f"out of range (must be {sign} {ctx[bound]})", f"use a value {sign} {ctx[bound]}"
    if kind in ("too_short", "too_long"):
        return err["msg"].lower(), None
    prefix = kind.split("_")[0]
    if prefix in _TYPE_FIXES and kind.endswith(("_type", "_parsing", "_from_float", "_attributes_type")):
        expected = {"model": "mapping", "dict": "mapping", "string": "text", "int": "whole number",
                    "float": "number", "bool": "true/false", "list": "list", "tuple": "list"}[prefix]
        return f"expected a {expected}", _TYPE_FIXES[prefix]
    message = err["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return message, None


def error_lines(error: ValidationError, root: type[BaseModel], locate: Locator) -> list[str]:
    """One line per problem: ``- `path` = value (at WHERE): problem; fix: …`` (pydantic's order)."""
    lines: list[str] = []
    for err in error.errors():
        loc = tuple(str(p) for p in err["loc"])
        if err["type"] == ISSUES_ERROR_TYPE:
            issues: tuple[Issue, ...] = err["ctx"]["issues"]
            for issue in issues:
                path = loc + tuple(p for p in issue.path.split(".") if p)
                lines.append(_line(path, None, issue.message, issue.fix, locate))
            continue
        problem, fix = _fix_for(err, root, loc)
        value = err.get("input")
        shown = None if err["type"] == "missing" else value
        lines.append(_line(loc, shown, problem, fix, locate))
    return lines


def _line(path: tuple[str, ...], value: Any, problem: str, fix: str | None, locate: Locator) -> str:
    where = locate(path)
    at = "" if not where else f" ({where})" if where.startswith("override") else f" (at {where})"
    got = f" = {_short(value)}" if value is not None and not isinstance(value, (dict, list)) else ""
    if isinstance(value, (dict, list)):
        got = f" = {type(value).__name__} {_short(value, 40)}"
    text = f"- `{_dotted(path) or '(recipe)'}`{got}{at}: {problem}"
    if fix:
        # A multi-line problem (a rule file's own error) gets its fix on a line of its own.
        text += f"\nfix: {fix}" if "\n" in problem else f"; fix: {fix}"
    return text.replace("\n", "\n    ")
