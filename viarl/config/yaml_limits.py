"""Caps on a recipe's YAML shape, checked before anything recursive reads it.

PyYAML composes nested nodes recursively, and OmegaConf, pydantic and `copy.deepcopy` expand
every alias into a copy: 3000 nested brackets raise RecursionError, and nine levels of aliases
that each repeat the previous one nine times ("billion laughs") expand to 10**9 values. Nesting
is counted from the event stream (which PyYAML produces without recursion) and the expanded size
and depth from the composed graph, so either shape is a `UserError` at its `file:line:col`.
"""

from __future__ import annotations

import yaml

from viarl.errors import UserError

#: Deepest nesting of mappings and lists a recipe may have (real ones stay under 8).
MAX_DEPTH = 64
#: Most values a recipe may hold once every alias is expanded (real ones hold a few hundred).
MAX_VALUES = 100_000


def _at(where: str, mark) -> str:
    return f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else where


def check_yaml_text(text: str, where: str, loader: type) -> None:
    """UserError if `text` nests deeper than MAX_DEPTH (syntax errors are left to the loader)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise UserError(f"the YAML nests deeper than {MAX_DEPTH} levels", where=_at(where, event.start_mark),
                                    fix="a recipe is a few levels of sections; flatten this value")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader reports it with its position


def check_expanded(node: yaml.Node | None, where: str) -> None:
    """UserError if the composed `node`, with every alias expanded, holds more than MAX_VALUES
    values or nests deeper than MAX_DEPTH (computed once per shared node, without recursion)."""
    if node is None:
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are still being sized: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        key = id(current)
        if key in size:
            continue
        children = _children(current)
        if not expanded:
            if key in open_:
                raise UserError("the YAML holds an alias to a value that contains it (a cycle)",
                                where=_at(where, current.start_mark), fix="an alias must name a finished value")
            open_.add(key)
            stack.append((current, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        open_.discard(key)
        size[key] = 1 + sum(size[id(c)] for c in children)
        depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
        if size[key] > MAX_VALUES:
            raise UserError(f"the YAML expands to more than {MAX_VALUES} values (aliases repeat aliases)",
                            where=_at(where, current.start_mark),
                            fix="write the values out, or use fewer `*alias` references")
        if depth[key] > MAX_DEPTH + 1:
            raise UserError(f"the YAML nests deeper than {MAX_DEPTH} levels once its aliases are expanded",
                            where=_at(where, current.start_mark), fix="use fewer nested `*alias` references")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
