"""`viarl report RUN_DIR`: plots, contact sheets and index.html for a run folder."""

from __future__ import annotations

import argparse

from viarl.numbers import int_in


def register(subparsers) -> None:
    """Add the `report` subcommand."""
    p = subparsers.add_parser(
        "report", help="plot a run's training curves and evaluations, with contact sheets, into index.html",
        description="Read RUN_DIR (metrics.jsonl, eval.jsonl, eval/cycle_*/*/predictions.jsonl, "
                    "summary.json) and write PNG plots, per-question contact sheets and index.html.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run's output_dir")
    p.add_argument("--out", metavar="DIR", help="report folder (default: RUN_DIR/report)")
    p.add_argument("--sheets", type=int_in(None, 10_000), default=3, metavar="K",
                   help="contact sheets per (cycle, selector); 0 for none (default: 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print where index.html is."""
    from viarl.console import console, shown
    from viarl.errors import UserError
    from viarl.config.preflight import require_output_folder
    from viarl.atomic import claim_folder
    from viarl.report.build import build_report

    if args.sheets < 0:
        raise UserError(f"--sheets must be >= 0, got {args.sheets}", where="--sheets", fix="use 0 for no sheets")
    if args.out is not None:
        require_output_folder(args.out, "--out")
        claim_folder(args.out, "--out")
    index = build_report(args.run_dir, args.out, sheets=args.sheets)
    console.print(f"report written: [bold]{shown(index)}[/]")
    return 0
