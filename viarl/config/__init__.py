"""Validated recipes: one pydantic model per topic, `Recipe` on top, YAML loading with overrides."""

from viarl.config.load import load_recipe, resolved_yaml
from viarl.config.recipe import Recipe

__all__ = ["Recipe", "load_recipe", "resolved_yaml"]
