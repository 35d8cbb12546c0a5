"""Load a recipe: YAML → `base:` inheritance → command-line overrides → `${…}` interpolation → `Recipe`.

Every problem is a `UserError`; pydantic errors are gathered into ONE error listing each of
them on its own line, with the key's `file:line:col` (or the override that set it).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from viarl.config.messages import error_lines
from viarl.config.recipe import Recipe
from viarl.config.values import interpolation_problems
from viarl.config.rewards import Rewards
from viarl.config.yaml_source import RecipeDumper, load_yaml_value, read_yaml
from viarl.errors import UserError

_OVERRIDE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
Locations = dict[tuple[str, ...], str]


def merge_over(base: Any, top: Any) -> Any:
    """`top` merged over `base`: mappings merge key by key; anything else replaces.

    A mapping of digit keys over a list sets those list items (`stages.cycle.0=sft`).
    """
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            out[key] = merge_over(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(top, dict) and all(
        isinstance(k, str) and k.isdigit() and int(k) < len(base) for k in top
    ):
        out_list = list(base)
        for key, value in top.items():
            out_list[int(key)] = merge_over(out_list[int(key)], value)
        return out_list
    return top


def _read_tree(path: Path, chain: tuple[Path, ...]) -> tuple[dict, Locations]:
    """The recipe at `path` with its `base:` chain merged under it (no interpolation yet)."""
    source = read_yaml(path)
    data = source.data
    if data is None:
        raise UserError("the recipe file is empty", where=str(path),
                        fix="write the recipe's sections (name:, models:, …); start from recipes/needle.yaml")
    if not isinstance(data, dict):
        raise UserError(f"a recipe is a mapping of sections (name:, models:, …), not a {type(data).__name__}",
                        where=f"{path}:1:1", fix="write `key: value` lines at the top level")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise UserError(f"keys must be text, not {bad[0]!r}", where=str(path), fix="use names such as `seed`")
    base = data.pop("base", None)
    if base is None:
        return data, source.locations
    where = source.locations.get(("base",), str(path))
    if not isinstance(base, str):
        raise UserError(f"base must be a path to a recipe, not {base!r}", where=where,
                        fix="write base: other.yaml (relative to this file)")
    if "\0" in base:
        raise UserError("the base path contains a NUL byte (\\0)", where=where, fix="remove it from `base:`")
    base_path = (path.parent / base).resolve()
    if base_path in chain or base_path == path.resolve():
        raise UserError(f"`base: {base}` makes a cycle of recipes", where=where,
                        fix="remove one of the base: lines in the cycle")
    if not base_path.is_file():
        found = "is not a regular file" if base_path.exists() else "not found"
        raise UserError(f"base recipe `{base}` {found} (looked at {base_path})", where=where,
                        fix="base is relative to the recipe file that names it")
    base_data, base_locations = _read_tree(base_path, chain + (path.resolve(),))
    merged = drop_stale_reward_params(base_data, merge_over(base_data, data), data)
    return merged, {**base_locations, **source.locations}


def _parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    where = f"override `{text}`"
    if not sep or not _OVERRIDE_KEY.match(key):
        raise UserError("an override is `dotted.key=value`", where=where,
                        fix="write e.g. rl.kl_coef=0.01 frames.select=16")
    try:
        value = load_yaml_value(raw, where) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise UserError(f"the value is not valid YAML: {getattr(e, 'problem', e)}", where=where,
                        fix="quote the value, e.g. name='my run'") from None
    return tuple(key.split(".")), value


def _rewards_file(data: Any) -> str:
    rewards = data.get("rewards") if isinstance(data, dict) else None
    if isinstance(rewards, dict) and "file" in rewards and rewards["file"] is None:
        return ""  # no rule file: none of a previous file's parameters apply
    file = rewards.get("file") if isinstance(rewards, dict) else None
    file = str(file) if file is not None else Rewards.model_fields["file"].default
    # One file under any spelling: ./rewards/x.rules, rewards/x.rules, /abs/path/rewards/x.rules
    return os.path.realpath(file)


def drop_stale_reward_params(before: dict, after: dict, top: Any) -> dict:
    """`after` without the previous rule file's `rewards.params` if `top` changed `rewards.file`.

    `before` is the recipe under `top` (its base, or the recipe under the overrides) and `after`
    the two merged. Parameters belong to one rule file: carried over to another they would be
    reported as unknown there. Only the parameters `top` itself sets are kept.
    """
    rewards = after.get("rewards")
    if _rewards_file(before) == _rewards_file(after) or not isinstance(rewards, dict):
        return after
    params = rewards.get("params")
    top_rewards = top.get("rewards") if isinstance(top, dict) else None
    kept = top_rewards.get("params") if isinstance(top_rewards, dict) else None
    if not isinstance(params, dict):
        return after
    kept = kept if isinstance(kept, dict) else {}
    return {**after, "rewards": {**rewards, "params": {k: v for k, v in params.items() if k in kept}}}


def _apply_overrides(data: dict, overrides: Iterable[str], locations: Locations,
                     origins: dict[str, str] | None = None) -> dict:
    before, top = data, {}
    for text in overrides:
        path, value = _parse_override(text)
        nested: Any = value
        for key in reversed(path):
            nested = {key: nested}
        data, top = merge_over(data, nested), merge_over(top, nested)
        if value == {}:  # `key={}` empties the mapping (merging nothing would keep it as it was)
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = {}
        # An override replaces the whole subtree, so keys below it now come from the override.
        for known in [k for k in locations if k[: len(path)] == path]:
            del locations[known]
        locations[path] = (origins or {}).get(text, f"override `{text}`")
    return drop_stale_reward_params(before, data, top)


def _interpolate(data: dict, path: Path | str, locations: Locations | None = None) -> dict:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    refused = interpolation_problems(data)
    if refused:
        key, text, problem = refused[0]
        where = _locator(locations or {})(key) or f"{path} `{'.'.join(key)}`"
        raise UserError(f"`{'.'.join(key)}` {problem} (`{text[:80]}`); a recipe may only refer to its "
                        "own keys, as ${dotted.path}", where=where,
                        fix="write the value itself: the resolved recipe is saved in recipe.yaml and tracker "
                            "names, so ${oc.env:…} would copy environment secrets into them")

    try:
        return OmegaConf.to_container(OmegaConf.create(data), resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        full_key = getattr(e, "full_key", None)
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        where = f"{path} `{full_key}`" if full_key else str(path)
        raise UserError(f"cannot resolve the value: {first}", where=where,
                        fix="an interpolation is ${dotted.path} to another key of the recipe; ??? means a value must be given") from None


def _locator(locations: Locations):
    def locate(path: tuple[str, ...]) -> str | None:
        # The deepest written key at or above `path`: a key the user did not write is shown at its block.
        for n in range(len(path), 0, -1):
            if path[:n] in locations:
                return locations[path[:n]]
        return None

    return locate


def load_recipe(path: str | Path, overrides: Iterable[str] = (), origins: dict[str, str] | None = None) -> Recipe:
    """Read, merge, override, interpolate and validate the recipe at `path`.

    origins: where an override came from, shown instead of the override itself in error
    messages (e.g. {"frames.select=3": "flag `--select 3`"} for a command that maps flags).
    """
    path = Path(path)
    data, locations = _read_tree(path, ())
    return _resolve(data, dict(locations), overrides, origins, path)


def recipe_from_data(data: dict, overrides: Iterable[str] = (), origins: dict[str, str] | None = None,
                     where: str = "the command's recipe") -> Recipe:
    """A recipe from plain data (a command's built-in defaults) with overrides, validated like a file."""
    return _resolve(copy.deepcopy(data), {}, overrides, origins, where)


def _resolve(data: dict, locations: Locations, overrides: Iterable[str], origins: dict[str, str] | None,
             path: Path | str) -> Recipe:
    data = _apply_overrides(data, list(overrides), locations, origins)
    data = _interpolate(data, path, locations)
    if not isinstance(data, dict):
        raise UserError("the overrides replaced the whole recipe", where=str(path))
    data["base"] = None  # merged in already; a resolved recipe stands alone
    try:
        return Recipe.model_validate(data)
    except ValidationError as e:
        lines = error_lines(e, Recipe, _locator(locations))
    count = f"{len(lines)} problem{'s' if len(lines) != 1 else ''}"
    raise UserError(f"{count} in the recipe:\n" + "\n".join(f"  {line}" for line in lines),
                    where=str(path), fix="every field is described in docs/recipes.md")


def resolved_yaml(recipe: Recipe) -> str:
    """The recipe as standalone YAML (base merged, overrides applied, every default written out)."""
    return yaml.dump(recipe.model_dump(mode="json"), Dumper=RecipeDumper, sort_keys=False, allow_unicode=True,
                     width=100)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path → value for every leaf of a nested mapping (lists are leaves)."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out
