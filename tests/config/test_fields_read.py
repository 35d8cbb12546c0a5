"""Every recipe field is read by the code: no field a user can set and nothing reads.

Walks the recipe's pydantic models (Recipe and every model nested in it) and looks for each
field name as an attribute read (`.name`) in viarl/ outside viarl/config/, where the models
are only declared and validated. A field read only by name (getattr, model_dump) would go in
READ_BY_NAME with the place that reads it. Short names (`path`, `seed`) match reads of other
objects too, so this is a floor: it catches a field whose name nothing reads at all, such as
`run.keep_last` was.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from viarl.config.recipe import Recipe

PACKAGE = Path(__file__).resolve().parents[2] / "viarl"

# field path ("Model.field") -> where it is read by name (getattr, model_dump) instead of as
# `.field`. Empty today: every field is read as an attribute.
READ_BY_NAME: dict[str, str] = {}


def _models(annotation) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (X, X | None, list[X], ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, (types.UnionType, typing._GenericAlias, types.GenericAlias)) or \
            typing.get_origin(annotation) is not None:
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def recipe_fields() -> list[tuple[str, str]]:
    """(Model.field, field name) for every field of Recipe and the models nested in it."""
    out, seen, todo = [], set(), [Recipe]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            out.append((f"{model.__name__}.{name}", name))
            todo.extend(_models(info.annotation))
    return sorted(out)


def _code_outside_config() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))
                     if "config" not in p.relative_to(PACKAGE).parts[:1])


def unread(fields: list[tuple[str, str]], code: str) -> list[str]:
    """The fields of `fields` that `code` never reads as `.name` (and that are not allowed)."""
    return [path for path, name in fields
            if path not in READ_BY_NAME and not re.search(rf"\.{re.escape(name)}\b", code)]


def test_the_walk_sees_nested_models():
    fields = {path for path, _ in recipe_fields()}
    assert {"Recipe.rl", "RL.minibatch_size", "Frames.select", "DataSplit.video_dir",
            "GroundingPretrain.steps", "Synthetic.balance_positions", "ClipModel.tiny_seed"} <= fields


def test_every_recipe_field_is_read_outside_config():
    assert unread(recipe_fields(), _code_outside_config()) == []


def test_a_field_nothing_reads_is_reported():
    code = "cfg.save_every\nrecipe.run.keep_lastish\n"
    assert unread([("Run.save_every", "save_every"), ("Run.keep_last", "keep_last")], code) == ["Run.keep_last"]


def test_allowlist_names_real_fields_that_need_it():
    assert set(READ_BY_NAME) <= {path for path, _ in recipe_fields()}
    code = _code_outside_config()
    for path, name in recipe_fields():
        if path in READ_BY_NAME:  # an entry the attribute search finds on its own is stale
            assert not re.search(rf"\.{re.escape(name)}\b", code), path
