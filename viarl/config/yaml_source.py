"""Read one recipe YAML file: plain data plus the `file:line:col` of every key.

YAML 1.1 (PyYAML) reads `1e-3` as a string and silently keeps the last of two equal keys; a
recipe reads `1e-3` as a number (as OmegaConf does) and rejects duplicate keys, because a typo
must never pass silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from viarl.config.yaml_limits import check_expanded, check_yaml_text
from viarl.errors import UserError
from viarl.user_files import RECIPE_BYTES, nul_problem, read_user_text

# YAML 1.2 floats: `1e-3`, `.5`, `-2.0E+4`, `inf`, `nan` (PyYAML's 1.1 rule needs a dot).
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats and an error on duplicate keys."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` merges a mapping in; its keys may be overridden here
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"duplicate key `{key}` (first at line {seen[key].start_mark.line + 1})",
                    key_node.start_mark,
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_RecipeLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:float"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RecipeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


class RecipeDumper(yaml.SafeDumper):
    """Writes recipes that `_RecipeLoader` reads back unchanged: text that the loader would take
    for a number (e.g. "0e0", which plain YAML 1.1 calls text) is quoted."""


RecipeDumper.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


@dataclass
class YamlSource:
    """A parsed recipe file: its data (None when empty) and where each key was written."""

    path: Path
    data: Any
    locations: dict[tuple[str, ...], str] = field(default_factory=dict)


def _walk(node: yaml.Node, prefix: tuple[str, ...], where: str, out: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = prefix + (str(key_node.value),)
            out[key] = f"{where}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}"
            _walk(value_node, key, where, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = prefix + (str(i),)
            out[key] = f"{where}:{item.start_mark.line + 1}:{item.start_mark.column + 1}"
            _walk(item, key, where, out)


def load_yaml_value(text: str, where: str) -> Any:
    """`text` read as one YAML value (an override), within the nesting and alias caps."""
    check_yaml_text(text, where, _RecipeLoader)
    loader = _RecipeLoader(text)
    try:
        node = loader.get_single_node()
        check_expanded(node, where)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> YamlSource:
    """Parse `path`; a syntax error becomes a `UserError` at `file:line:col`."""
    path = Path(path)
    if not nul_problem(path) and path.is_dir():
        raise UserError("this is a folder, not a recipe file", where=str(path),
                        fix="name a .yaml recipe file, e.g. recipes/needle.yaml")
    text = read_user_text(path, "recipe file", RECIPE_BYTES,
                          fix="check the path; shipped recipes live in recipes/ (e.g. recipes/needle.yaml)")
    check_yaml_text(text, str(path), _RecipeLoader)
    loader = _RecipeLoader(text)
    try:
        node = loader.get_single_node()
        check_expanded(node, str(path))
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = e.problem or e.context or "invalid YAML"
        context = ""
        if e.context and e.problem:
            cm = e.context_mark
            started = f" at {cm.line + 1}:{cm.column + 1}" if cm and cm is not mark else ""
            context = f" ({e.context}{started})"
        fix = ("keep one of the two keys" if "duplicate key" in problem else
               "fix the YAML at that position (indentation, a missing `:`, an unclosed bracket or quote)")
        raise UserError(f"YAML syntax error: {problem}{context}", where=where, fix=fix) from None
    except yaml.YAMLError as e:
        raise UserError(f"YAML error: {e}", where=str(path)) from None
    finally:
        loader.dispose()
    locations: dict[tuple[str, ...], str] = {}
    if node is not None:
        _walk(node, (), str(path), locations)
    return YamlSource(path=path, data=data, locations=locations)
