"""`viarl rewards`: reward rule files; `check` validates and shows one, `score` scores a JSONL file."""

from __future__ import annotations

import argparse
import json

from viarl.commands._rewards_score import add_arguments, run_score


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
            "answer, candidates, select, answer_tokens and any extra fields the rules declare) and "
            "write, in input order, one JSON object per line: its `id` if it has one, every "
            "component, `total`, and ablated/NAME for each --ablate."
        ),
    )
    add_arguments(s)
    s.set_defaults(func=run_score)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    """Validate a rule file and pretty-print it, with the file and line of every name."""
    from viarl.console import console, shown
    from viarl.rewards import ast, load_rules
    from viarl.rewards.builtins import LAZY_INPUTS
    from viarl.rewards.printer import print_expr

    rules = load_rules(args.file)
    origin = _origins(rules.ast)
    console.print(f"[bold green]ok[/] {shown(args.file)}: {len(rules.components)} components")
    table = _table("components", "rule", "from")
    for name in rules.components:
        d = rules.checked.defs[name]
        text = print_expr(d.value) + (f"  weight {print_expr(d.weight)}" if d.weight else "")
        table.add_row(*map(shown, (name, text, origin[name])))
    total = rules.checked.total
    weights = " + ".join(f"{n}" for n in rules.components)
    table.add_row(*map(shown, ("total", print_expr(total) if total is not None else f"{weights} (weighted sum)",
                               origin.get("total", ""))))
    console.print(table)

    inputs = _table("inputs", "type", "needed", "from")
    for name, kind in rules.input_types.items():
        need = next((k for k, names in LAZY_INPUTS.items() if name in names), None)
        when = rules.checked.needs.get(need, False) if need else False
        needed = "always" if when is False else ("when " + print_expr(when) if when else "always (declared)")
        inputs.add_row(*map(shown, (name, kind, needed, origin.get(name, "built-in"))))
    console.print(inputs)

    params = _table("parameters", "type", "default", "from")
    for name, value in rules.params.items():
        params.add_row(*map(shown, (name, rules.param_types[name], json.dumps(value), origin[name])))
    console.print(params if rules.params else "[dim]no parameters[/]")

    others = _table("captures and lets", "rule", "from")
    for s in rules.ast.stmts:
        if isinstance(s, (ast.Capture, ast.Let)):
            others.add_row(*map(shown, (s.name, _rule_text(s), origin[s.name])))
    if others.row_count:
        console.print(others)
    return 0


def _origins(program) -> dict[str, str]:
    """name (and "total") -> `file:line` of its definition, noting what it redefined."""
    from viarl.rewards import ast

    def where(pos) -> str:
        return f"{pos.file.path if pos.file else program.path}:{pos.line}"

    out = {}
    for s in program.stmts:
        if isinstance(s, ast.Total):
            out["total"] = where(s.pos)
        elif not isinstance(s, ast.Needs) and hasattr(s, "name"):
            out[s.name] = where(s.pos)
    for name, pos in program.redefined:
        out[name] += f" (redefines {where(pos)})"
    return out


def _rule_text(s) -> str:
    """A capture or let without its `capture NAME =` / `let NAME =` head."""
    from viarl.rewards.printer import print_stmt

    return print_stmt(s).split(" = ", 1)[1]


def _table(title: str, *columns: str):
    """A left-titled rich table whose first column is the bold `name`."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("name", style="bold")
    for column in columns:
        table.add_column(column)
    return table
