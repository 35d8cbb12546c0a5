"""Checks of every value in a recipe tree, whatever field it sits in.

Run on the plain data before the section models see it: no float anywhere is inf or nan, seeds
fit in 63 bits, no text holds a NUL byte (no file or folder can be named by it), and no
`${oc.env:…}` or other resolver call is left for OmegaConf (it would copy environment secrets
into recipe.yaml and the trackers' run names).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from viarl.config.issues import Issue
from viarl.numbers import number_problem

# `${name:…}`: a resolver call (oc.env, oc.decode, …), as opposed to `${dotted.path}`
_RESOLVER = re.compile(r"\$\{\s*[A-Za-z_][\w.]*\s*:")


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    stack = [(path, tree)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((where + (str(k),), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((where + (str(i),), v) for i, v in enumerate(value))
        else:
            yield where, value


def value_issues(tree: Any) -> list[Issue]:
    """One Issue per value that no field may hold (see the module docstring), in path order."""
    issues = []
    for path, value in _leaves(tree):
        dotted = ".".join(path)
        problem = number_problem(value, path[-1] if path else "")
        if problem:
            fix = ("use a seed between 0 and 2**63 - 1" if "seed" in problem else
                   "give a smaller learning rate" if "learning rate" in problem else
                   "give a finite number" if "finite" in problem else "give a smaller number")
            issues.append(Issue(dotted, problem, fix))
        elif isinstance(value, str) and "\0" in value:
            issues.append(Issue(dotted, "the text contains a NUL byte (\\0)", "remove the NUL byte"))
    return sorted(issues, key=lambda i: i.path)


#: Deepest `${…${…}}` nesting OmegaConf is given (its parser recurses on each level).
MAX_INTERPOLATION_DEPTH = 10


def _nesting(text: str) -> int:
    depth = deepest = 0
    for i, char in enumerate(text):
        if char == "$" and text[i + 1:i + 2] == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}" and depth:
            depth -= 1
    return deepest


def interpolation_problems(tree: Any) -> list[tuple[tuple[str, ...], str, str]]:
    """(path, text, problem) of every value OmegaConf must not resolve: a resolver call such as
    `${oc.env:HOME}`, or interpolations nested deeper than MAX_INTERPOLATION_DEPTH."""
    out = []
    for path, value in _leaves(tree):
        if not isinstance(value, str) or "${" not in value:
            continue
        if _RESOLVER.search(value):
            out.append((path, value, "calls a resolver"))
        elif _nesting(value) > MAX_INTERPOLATION_DEPTH:
            out.append((path, value, f"nests interpolations more than {MAX_INTERPOLATION_DEPTH} deep"))
    return sorted(out)
