"""`viarl run RECIPE [overrides…] [--resume RUN_DIR]`: train as the recipe says."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a recipe: its stages, for its cycles (REINFORCE++ selector, answer SFT, evaluation)",
        description=(
            "Run the stages a recipe lists, for the cycles it asks, and write a run folder "
            "(resolved recipe, metrics.jsonl, eval.jsonl, checkpoints, summary.json). "
            "Example: viarl run recipes/needle.yaml rl.steps=50 seed=1"
        ),
    )
    p.add_argument("recipe", help="recipe YAML file, e.g. recipes/needle.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotted overrides applied after the YAML, e.g. rl.kl_coef=0.01 frames.select=16")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run from its last complete checkpoint")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from viarl.config.load import load_recipe, resolved_yaml
    from viarl.train.engine import run_recipe

    recipe = load_recipe(args.recipe, list(args.overrides))
    run_recipe(recipe, resolved_yaml(recipe), resume=args.resume)
    return 0
