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
                   "give a smaller learning rate" if "learning rate" in problem else "give a finite number")
            issues.append(Issue(dotted, problem, fix))
        elif isinstance(value, str) and "\0" in value:
            issues.append(Issue(dotted, "the text contains a NUL byte (\\0)", "remove the NUL byte"))
    return sorted(issues, key=lambda i: i.path)


def resolver_paths(tree: Any) -> list[tuple[tuple[str, ...], str]]:
    """(path, text) of every value that calls a resolver such as `${oc.env:HOME}`."""
    return sorted((path, value) for path, value in _leaves(tree)
                  if isinstance(value, str) and _RESOLVER.search(value))
