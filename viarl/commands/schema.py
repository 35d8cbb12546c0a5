"""`viarl schema`: regenerate the recipe JSON Schema and docs/recipes.md from the models."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `schema` subcommand."""
    from viarl.config.docs import DOCS_PATH
    from viarl.config.schema import SCHEMA_PATH

    p = subparsers.add_parser(
        "schema",
        help="write the recipe JSON Schema and docs/recipes.md",
        description="Write the JSON Schema of recipes and the recipe reference (docs/recipes.md), "
        "both generated from the pydantic models. With --check, write nothing and exit 1 when "
        "either file is out of date.",
    )
    p.add_argument("--out", default=SCHEMA_PATH, help=f"JSON Schema file (default: {SCHEMA_PATH})")
    p.add_argument("--docs", default=DOCS_PATH, help=f"Markdown reference file (default: {DOCS_PATH})")
    p.add_argument("--no-docs", action="store_true", help="write only the JSON Schema")
    p.add_argument("--check", action="store_true", help="only check that the files are up to date")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Write (or check) the generated files; returns 1 when --check finds a stale one."""
    from viarl.atomic import write_text
    from viarl.config.preflight import require_output_folder
    from viarl.config.docs import recipe_docs_markdown
    from viarl.config.schema import recipe_json_schema_text
    from viarl.console import console, shown

    outputs = [(Path(args.out), recipe_json_schema_text())]
    if not args.no_docs:
        outputs.append((Path(args.docs), recipe_docs_markdown()))
    for path, flag in zip([p for p, _ in outputs], ("--out", "--docs")):
        require_output_folder(path.parent, flag)
    stale = 0
    for path, text in outputs:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            console.print(f"[green]up to date[/] {shown(path)}")
        elif args.check:
            stale += 1
            console.print(f"[red]out of date[/] {shown(path)}  (run `viarl schema` to regenerate)")
        else:
            write_text(path, text)
            console.print(f"[bold]wrote[/] {shown(path)}")
    return 1 if stale else 0
