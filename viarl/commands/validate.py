"""`viarl validate RECIPE [overrides…]`: check a recipe and print it fully resolved."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `validate` subcommand."""
    p = subparsers.add_parser(
        "validate",
        help="check a recipe (every error at once) and print it resolved",
        description="Load RECIPE with its base: chain and the overrides, validate every field and "
        "cross-field rule (the reward file compiles, select <= candidates, …), and print the "
        "resolved recipe as a tree. Exit 2 with every problem listed when it is invalid.",
    )
    p.add_argument("recipe", metavar="RECIPE", help="recipe YAML file, e.g. recipes/needle.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotted overrides, e.g. rl.kl_coef=0.01 frames.select=16")
    p.add_argument("--yaml", action="store_true", help="print the resolved recipe as YAML instead of a tree")
    p.set_defaults(func=handle)


def _branch(tree: Any, data: dict, defaults: dict | None) -> None:
    from rich.markup import escape

    for key, value in data.items():
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(value, dict) and value:
            _branch(tree.add(f"[bold]{escape(str(key))}[/]"), value, default if isinstance(default, dict) else None)
            continue
        # Values that differ from the built-in default stand out; defaults are dimmed.
        style = "dim" if isinstance(defaults, dict) and key in defaults and default == value else "cyan"
        tree.add(f"{escape(str(key))}: [{style}]{escape(_show(value))}[/]")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def handle(args: argparse.Namespace) -> int:
    """Validate and print; a bad recipe raises UserError (exit 2)."""
    from rich.tree import Tree

    from viarl.config import load_recipe, resolved_yaml
    from viarl.console import console, shown

    recipe = load_recipe(args.recipe, args.overrides)
    if args.yaml:
        console.print(resolved_yaml(recipe), end="", markup=False)
        return 0
    defaults = _defaults()
    tree = Tree(f"[bold green]✓[/] {shown(args.recipe)} is valid (dimmed values are defaults)")
    _branch(tree, recipe.model_dump(mode="json"), defaults)
    console.print(tree)
    return 0


def _defaults() -> dict:
    from viarl.config.docs import default_tree
    from viarl.config.recipe import Recipe

    return default_tree(Recipe)
