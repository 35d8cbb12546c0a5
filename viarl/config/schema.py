"""The recipe's JSON Schema (for editors and CI), generated from the pydantic models."""

from __future__ import annotations

import json

from viarl.config.recipe import Recipe

SCHEMA_PATH = "schema/recipe.schema.json"


def recipe_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of `Recipe`, in the models' field order."""
    schema = Recipe.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def recipe_json_schema_text() -> str:
    """The schema as the committed file holds it: 2-space JSON, trailing newline."""
    return json.dumps(recipe_json_schema(), indent=2, ensure_ascii=False) + "\n"
