"""`viarl rewards`: reward rule files; `check` validates and shows one, `score` scores a JSONL file."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    """Add the `rewards` subcommand with `check` and `score`."""
    p = subparsers.add_parser(
        "rewards",
        help="reward rule files: check one, score completions with one",
        description="Reward rule files (rewards/*.rules; the language is described in docs/rewards.md).",
    )
    sub = p.add_subparsers(dest="rewards_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _no_subcommand(p))

    c = sub.add_parser(
        "check",
        help="validate a rule file and show its components, inputs, parameters and needs",
        description="Parse and type-check FILE; print what it computes. Exit 2 on any error.",
    )
    c.add_argument("file", metavar="FILE", help="rule file, e.g. rewards/viarl.rules")
    c.set_defaults(func=run_check)

    s = sub.add_parser(
        "score",
        help="score completions from a JSONL file; one JSON object per line on stdout",
        description=(
            "Read INPUT (one JSON object per line with completion, completion_tokens, prediction, "
            "answer, candidates, select and any extra fields the rules declare) and write, in "
            "input order, one JSON object per line with every component and `total`."
        ),
    )
    s.add_argument("file", metavar="FILE", help="rule file")
    s.add_argument("input", metavar="INPUT.jsonl", help="samples to score, one JSON object per line")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter of the rules (repeatable)")
    s.set_defaults(func=run_score)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    """Validate a rule file and pretty-print it."""
    from rich.syntax import Syntax

    from viarl.console import console
    from viarl.rewards import load_rules
    from viarl.rewards.printer import print_expr, print_stmt
    from viarl.rewards import ast

    rules = load_rules(args.file)
    console.print(f"[bold green]ok[/] {args.file}: {len(rules.components)} components")
    table = _table("components", "rule")
    for name in rules.components:
        d = rules.checked.defs[name]
        text = print_expr(d.value) + (f"  weight {print_expr(d.weight)}" if d.weight else "")
        table.add_row(name, text)
    total = rules.checked.total
    weights = " + ".join(f"{n}" for n in rules.components)
    table.add_row("total", print_expr(total) if total is not None else f"{weights} (weighted sum)")
    console.print(table)

    inputs = _table("inputs", "type", "needed")
    for name, kind in rules.input_types.items():
        when = rules.checked.needs.get(name, False)
        need = "always" if when is False else ("when " + print_expr(when) if when else "always (declared)")
        inputs.add_row(name, kind, need)
    console.print(inputs)

    params = _table("parameters", "type", "default")
    for name, value in rules.params.items():
        params.add_row(name, rules.param_types[name], json.dumps(value))
    console.print(params if rules.params else "[dim]no parameters[/]")

    others = [s for s in rules.ast.stmts if isinstance(s, (ast.Capture, ast.Let))]
    if others:
        console.print(Syntax("\n".join(print_stmt(s) for s in others), "python",
                             theme="ansi_dark", background_color="default"))
    return 0


def _table(title: str, *columns: str):
    """A left-titled rich table whose first column is the bold `name`."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("name", style="bold")
    for column in columns:
        table.add_column(column)
    return table


def _read_jsonl(path: str) -> list[tuple[int, dict]]:
    """(line number, object) of every input line; bad JSON is reported at file:line:col."""
    from viarl.data.files import read_json_objects

    return read_json_objects(path, "input file")


def run_score(args: argparse.Namespace) -> int:
    """Score every line of a JSONL file with the rules; JSONL to stdout."""
    from viarl.console import console
    from viarl.errors import UserError
    from viarl.rewards import load_rules
    from viarl.rewards.columns import BatchError

    rules = load_rules(args.file)
    params = dict(rules.parse_override(o) for o in args.overrides)
    scorer = rules.compile(params)
    rows = _read_jsonl(args.input)
    names = sorted(rules.inputs | {k for _, r in rows for k in r})
    batch = {n: [r.get(n) for _, r in rows] for n in names}
    for n in rules.inputs - {"prediction"}:  # a missing field is an error, not None
        for lineno, r in rows:
            if n not in r:
                raise UserError(f"missing field `{n}` (the rules read it)",
                                where=f"{args.input}:{lineno}", fix=f"add `{n}` to this line")
    try:
        out = scorer(batch)
    except BatchError as e:
        if e.sample is None:
            raise
        lineno = rows[e.sample][0]
        raise UserError(e.message, where=f"{args.input}:{lineno}: field `{e.column}`",
                        fix=e.fix) from None
    keys = rules.components + ["total"]
    for i in range(len(rows)):
        console.out(json.dumps({k: float(out[k][i]) for k in keys}), highlight=False)
    return 0
