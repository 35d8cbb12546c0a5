"""The committed JSON Schema and docs/recipes.md match the models; the schema accepts real recipes."""

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from viarl.config import Recipe, load_recipe
from viarl.config.docs import recipe_docs_markdown
from viarl.config.schema import recipe_json_schema, recipe_json_schema_text

REPO = Path(__file__).resolve().parents[2]


def test_committed_schema_is_up_to_date():
    assert (REPO / "schema" / "recipe.schema.json").read_text() == recipe_json_schema_text(), \
        "schema/recipe.schema.json is stale: run `viarl schema`"


def test_committed_docs_are_up_to_date():
    assert (REPO / "docs" / "recipes.md").read_text() == recipe_docs_markdown(), \
        "docs/recipes.md is stale: run `viarl schema`"


def _walk(model: type[BaseModel], prefix: str = ""):
    for name, info in model.model_fields.items():
        yield f"{prefix}{name}", info
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _walk(arg, f"{prefix}{name}.")


def test_every_field_is_described_and_documented():
    docs = recipe_docs_markdown()
    for path, info in _walk(Recipe):
        assert info.description, f"{path} has no description"
        assert f"| `{path}` |" in docs


def test_every_model_forbids_extra_keys():
    schema = recipe_json_schema()
    assert schema["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values() if "properties" in d)


def test_schema_accepts_resolved_recipes_and_rejects_typos():
    jsonschema = pytest.importorskip("jsonschema")
    schema = recipe_json_schema()
    for path in sorted((REPO / "recipes").glob("*.yaml")):
        jsonschema.validate(load_recipe(path).model_dump(mode="json"), schema)
    data = load_recipe("recipes/needle.yaml").model_dump(mode="json")
    data["rl"]["kl_cof"] = 0.1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_schema_text_is_stable_json():
    text = recipe_json_schema_text()
    assert text.endswith("}\n") and json.loads(text) == recipe_json_schema()
    assert recipe_json_schema_text() == text
