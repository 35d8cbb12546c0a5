"""`viarl models`: model utilities; `viarl models tiny DIR --role R` writes a tiny offline model."""

from __future__ import annotations

import argparse

ROLES = ("selector", "answer", "clip")


def register(subparsers) -> None:
    """Add the `models` subcommand and its `tiny` subcommand."""
    p = subparsers.add_parser(
        "models",
        help="model utilities (tiny offline models for tests and CPU runs)",
        description="Model utilities.",
    )
    sub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _no_subcommand(p))
    t = sub.add_parser(
        "tiny",
        help="write a tiny randomly initialised model (Qwen2.5-VL selector/answer, or open_clip)",
        description=(
            "Write a tiny random model to DIR in the same layout as a hub checkpoint: a "
            "Qwen2.5-VL (~0.8 M parameters) with processor, byte-level tokenizer and chat "
            "template for --role selector/answer, or an open_clip model for --role clip. "
            "Same role and seed give byte-identical files. An existing DIR is replaced."
        ),
    )
    t.add_argument("dir", metavar="DIR", help="output folder (created or replaced)")
    t.add_argument("--role", required=True, choices=ROLES,
                   help="selector or answer (Qwen2.5-VL), or clip (open_clip)")
    t.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed for the weights, >= 0 (default: 0)")
    t.set_defaults(func=run_tiny)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_tiny(args: argparse.Namespace) -> int:
    """Write the tiny model and print where it went; returns 0."""
    from viarl.console import console
    from viarl.models.tiny import write_tiny_model

    out = write_tiny_model(args.dir, args.role, seed=args.seed)
    console.print(f"wrote tiny {args.role} model (seed {args.seed}) to {out}")
    return 0
